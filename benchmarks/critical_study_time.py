"""What a critical-batch study cost, read from its store: the CPU time of every probe its searches
judged, of every run on its curve grids, and of each one's end-state continuations, per
configuration and in all, and that total over two cores (what the study takes from an empty
store on an idle 2-core machine).

    .venv/bin/python benchmarks/critical_study_time.py --store OUT/runs.sqlite --variant reduced

Each run records its own process CPU time (`meta.cpu_seconds`; a continuation only its extra
epochs), so the sum counts exactly the work a from-scratch study does, whatever an earlier call
reused: a probe an earlier, abandoned search path ran, or another study's run in the same store, is
not counted. The searches are replayed against the store alone (adamlab.sweep.critical.search_many
with the report's settings and compute=False): a study not yet complete is reported as such, with
the CPU time its configurations' stored runs took so far, and nothing is computed.
"""
from __future__ import annotations

import argparse

from adamlab.optim.registry import label
from adamlab.report.items.critical_batch import PRESET, RESOLUTION, study_seeds
from adamlab.sweep import Store
from adamlab.sweep.critical import CURVE_POINTS, configurations, search_many
from adamlab.sweep.endstate import STAGES, at_epochs, cap_epochs, stage_epochs
from adamlab.sweep.runner import MissingRuns
from adamlab.sweep.spec import load_spec

_STAGED = ("batch_size", "epochs", "log_every")  # what a study's runs of one setting differ in


def chain_ids(cfg) -> list[str]:
    """The run ids of a probe and of every end-state stage it may have been continued to."""
    return [cfg.run_id()] + [at_epochs(cfg, e, cfg.log_interval).run_id()
                             for e in stage_epochs(cfg.epochs, STAGES, cap_epochs(cfg))]


def so_far(store, configs, seeds) -> tuple[int, float]:
    """(runs, CPU s) of every stored run of the study's settings (a configuration and seed, at
    any batch size or epochs)."""
    def key(d):
        return tuple(sorted((k, str(v)) for k, v in d.items() if k not in _STAGED))

    wanted = {key(c.replace(seed=s).to_dict()) for c in configs for s in seeds}
    found = [r for r in store.runs(full=True) if key(r["config"]) in wanted]
    return len(found), sum((r["meta"] or {}).get("cpu_seconds") or 0.0 for r in found)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--store", required=True, help="the study's results store (runs.sqlite)")
    ap.add_argument("--variant", default=None, help="the preset's variant (e.g. reduced)")
    args = ap.parse_args(argv)
    spec = load_spec(PRESET, variant=args.variant)
    configs, seeds = configurations(spec)
    bisect, grid_seeds = study_seeds(seeds)
    with Store(args.store) as store:
        try:
            results = search_many(configs, bisect, store, workers=1, progress=False,
                                  name=spec.name, resolution=RESOLUTION, keep_states=True,
                                  horizon="end", curve_seeds=grid_seeds,
                                  curve_points=CURVE_POINTS, compute=False)
        except MissingRuns as e:
            n, cpu = so_far(store, configs, bisect + grid_seeds)
            variant = f" --variant {args.variant}" if args.variant else ""
            print(f"{spec.name}: not complete in this store: its replay needs "
                  f"{len(e.run_ids)} run{'s' if len(e.run_ids) != 1 else ''} the store lacks "
                  f"(sweep {e.sweep}); nothing was computed. So far: {n} stored runs of its "
                  f"configurations, {cpu:.0f} CPU s ({cpu / 2 / 60:.1f} min over two cores; "
                  f"every batch size and stage, any an abandoned path ran included). Finish it "
                  f"with `adamlab reproduce critical-batch{variant} --out OUT` (it resumes).")
            return 1
        total, budget_total, probes, gridded = 0.0, 0.0, 0, 0
        print(f"{spec.name}: {len(configs)} configurations x {len(seeds)} seeds")
        print(f"{'configuration':44s} {'probes':>6s} {'grid':>5s} {'budget CPU s':>12s} "
              f"{'end CPU s':>10s}")
        for res in results:
            c = res.config
            chains = {}  # a probe's or grid run's id -> its chain (the run, then its stages)
            for s in res.seeds:
                for p in s.search.result().probes:
                    chain = chain_ids(s.candidate(p.batch_size))
                    chains[chain[0]] = chain
            n_probes = len(chains)
            for seed, b in (res.grid.run_ids if res.grid else {}):
                chain = chain_ids(c.replace(seed=seed, batch_size=b))
                chains[chain[0]] = chain
            ids = list(chains)
            runs = store.runs_by_id([j for ch in chains.values() for j in ch], full=True)
            cpu = {j: r["meta"].get("cpu_seconds") or 0.0 for j, r in runs.items()}
            budget = sum(cpu.get(i, 0.0) for i in ids)
            end = sum(cpu.get(j, 0.0) for ch in chains.values() for j in ch[1:])
            total += budget + end
            budget_total += budget
            probes += n_probes
            gridded += len(ids) - n_probes
            name = (f"{label(c.optimizer)} n={c.n} d={c.d} lr={c.lr:g} "
                    f"wd={c.weight_decay:g}")
            print(f"{name:44s} {n_probes:6d} {len(ids) - n_probes:5d} {budget:12.0f} "
                  f"{end:10.0f}")
        print(f"in all: {probes} probes and {gridded} curve-grid runs, {budget_total:.0f} CPU s "
              f"at the budget, "
              f"{total - budget_total:.0f} CPU s of end-state continuations, {total:.0f} CPU s: "
              f"{total / 2 / 60:.1f} min over two cores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
