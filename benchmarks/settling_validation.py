"""Is the settling rule right out of sample? Judge runs at a budget T, continue each to 5T, count.

The rule (adamlab/synthetic/regimes.py `settling`) was tuned on seeds 0-1 of the App. D.2
setting. This script takes other seeds (5-24 by default), both optimisers (each at its paper
weight decay: Adam 1e-5 as L2, AdamW 0.01 decoupled) and three batch sizes (B = 50, 100, 200 of
n = 200: 4, 2 and 1 steps an epoch), judges every run at T = 2000 epochs, continues it from its
saved state to 5T = 10^4 (the paper's budget; sweep/extend.py: only the extra epochs are
computed) and reports
  false settled = called settled at T, but its regime (from its final errors) changed by 5T,
  false moving  = called still moving at T, but the same regime at 5T,
each over the runs of its kind, with its exact (Clopper-Pearson) 95% interval.

Runs log every T/50 epochs and use 2000 test samples (the paper's 10^4 only sharpen the test
error beyond the rule's 0.01 threshold, at 5x the cost of every log).

    PYTHONPATH=. .venv/bin/python benchmarks/settling_validation.py [--workers 1]
    PYTHONPATH=. .venv/bin/python benchmarks/settling_validation.py --quick   # tiny, seconds
    PYTHONPATH=. .venv/bin/python benchmarks/settling_validation.py --budget 10000 \
        --batch-sizes 100 --workers 2      # at the paper's budget, to 5x10^4: ~35 min

Writes the table to stdout and everything (settings, every run's call and regimes, the rates,
the seconds) to --json (default settling_validation.json beside --store).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

from adamlab.synthetic.config import SyntheticConfig  # noqa: E402
from adamlab.sweep.endstate import rates, validate, validation_line  # noqa: E402

# --quick: the paper's shapes shrunk to a few milliseconds a run (tests/test_endstate.py runs it).
QUICK = dict(d=100, n=20, s=10, width=5, n_test=200, sigma0=0.05, lr=3e-3)


def parse_ints(text: str) -> list[int]:
    """'5-24' or '50,100,200' -> a list of ints."""
    out = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        out += list(range(int(a), int(b) + 1)) if b else [int(a)]
    return out


def configs(args) -> list[SyntheticConfig]:
    base = SyntheticConfig(**QUICK) if args.quick else SyntheticConfig(n_test=args.n_test)
    return [base.replace(optimizer=opt, batch_size=b, seed=seed, epochs=args.budget)
            for opt in args.optimizers.split(",") for b in parse_ints(args.batch_sizes)
            for seed in parse_ints(args.seeds)]


def table(checks) -> str:
    """Per (optimiser, B): runs, called settled at T, regime changed by 5T, both wrong calls."""
    cells: dict = {}
    for c in checks:
        key = (c.config.get("optimizer", "adam"), c.config.get("batch_size"))
        cells.setdefault(key, []).append(c)
    lines = [f"{'optimizer':9} {'B':>4} {'runs':>4} {'settled@T':>9} {'changed':>7} "
             f"{'false settled':>13} {'false moving':>12}  regimes at T -> 5T"]
    for (opt, b), cs in sorted(cells.items()):
        moves = {}
        for c in cs:
            moves[f"{c.regime_at_budget}->{c.regime_later}"] = moves.get(
                f"{c.regime_at_budget}->{c.regime_later}", 0) + 1
        lines.append(f"{opt:9} {b:>4} {len(cs):>4} {sum(c.settled_at_budget for c in cs):>9} "
                     f"{sum(c.changed for c in cs):>7} "
                     f"{sum(c.settled_at_budget and c.changed for c in cs):>13} "
                     f"{sum(not c.settled_at_budget and not c.changed for c in cs):>12}  "
                     + ", ".join(f"{k} x{v}" for k, v in sorted(moves.items())))
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny runs (seconds), for the tests")
    p.add_argument("--seeds", default=None, help="default 5-24 (0-1 with --quick)")
    p.add_argument("--batch-sizes", default=None, help="default 50,100,200 (5,10 with --quick)")
    p.add_argument("--optimizers", default="adam,adamw")
    p.add_argument("--budget", type=int, default=None, help="T, epochs (default 2000; 40 quick)")
    p.add_argument("--factor", type=int, default=5, help="continue to factor x T (default 5)")
    p.add_argument("--n-test", type=int, default=2000)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--store", default="settling_validation.sqlite",
                   help="results store (reused: a rerun computes only what is missing)")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    args.seeds = args.seeds or ("0-1" if args.quick else "5-24")
    args.batch_sizes = args.batch_sizes or ("5,10" if args.quick else "50,100,200")
    args.budget = args.budget or (40 if args.quick else 2000)
    store = Path(args.store)
    out = Path(args.json) if args.json else store.with_suffix(".json")
    argv = sys.argv[1:] if argv is None else list(argv)
    # the command that reruns these numbers: the options that change them (not where they go)
    kept, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        if a in ("--store", "--json", "--workers"):
            skip = True
            continue
        if not a.startswith(("--store=", "--json=", "--workers=")):
            kept.append(a)
    command = " ".join(["python benchmarks/settling_validation.py", *kept])

    cfgs = configs(args)
    tic = time.perf_counter()
    checks = validate(cfgs, store, factor=args.factor, workers=args.workers,
                      progress=sys.stderr.isatty(), log_every=max(1, args.budget // 50))
    seconds = time.perf_counter() - tic
    result = rates(checks)
    print(table(checks))
    for key in ("false_settled", "false_moving"):
        r = result[key]
        rate = "n/a" if r["rate"] is None else f"{r['rate']:.3f}"
        print(f"{key.replace('_', ' ')}: {r['k']} of {r['n']} = {rate} "
              f"(Clopper-Pearson 95% CI {r['ci95'][0]:.3f}-{r['ci95'][1]:.3f})")
    print(f"{len(checks)} of {len(cfgs)} runs judged (diverged runs left out); T = "
          f"{args.budget} epochs, continued to {args.factor * args.budget}; {seconds:.0f} s "
          f"with {args.workers} worker(s)")
    line = validation_line(result, command)
    print(line)
    out.write_text(json.dumps({
        "command": command, "argv": argv,
        "budget": args.budget, "factor": args.factor, "seeds": args.seeds,
        "batch_sizes": args.batch_sizes, "optimizers": args.optimizers, "n_test": args.n_test,
        "runs": len(cfgs), "judged": len(checks), "seconds": seconds, "rates": result,
        "sentence": line,
        "checks": [{"run_id": c.run_id, "optimizer": c.config.get("optimizer", "adam"),
                    "batch_size": c.config.get("batch_size"), "seed": c.config.get("seed", 0),
                    "settled_at_budget": c.settled_at_budget, "how": c.how,
                    "regime_at_budget": c.regime_at_budget, "regime_later": c.regime_later}
                   for c in checks]}, indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
