"""The critical batch size of a configuration, seed by seed, through the results store.

`critical_batch(config, seeds, store)` runs one `adamlab.sweep.bisect.BatchSearch` per seed over
the integers 1..n and asks for the runs each search wants in rounds: every search proposes its
next batch size, and the round's runs (all seeds, and with `search_many` all configurations of a
study) go to the store as one `run_sweep` call, so they use the workers, Ray, or the batched
engine (each group of runs with the same batch size stepping together) like any sweep.

What a run did comes from the report's rules (adamlab/report/regimes.py `observed_regime`, with
the settling rule read from the run's stored trajectories): learns the feature / memorises noise
decide a batch size; everything else (stuck at initialisation, mixed, still moving, diverged, a
failed run) is undecided, and the search works around it (bisect.py).

The horizon: `horizon="budget"` judges each probe at its budget (config.epochs); `horizon="end"`
judges it at its end state (sweep/endstate.py): a probe still moving at the budget is continued
from its saved state, stage by stage, until it settles or reaches the cap, and the search's next
batch size follows from that regime. A probe still moving at the cap stays undecided. The end
horizon closes brackets that stay open at the budget because their probes are still moving, at
the cost of each such probe's continuation.

The curve's grid (`curve_seeds`): a bisection's probes crowd each seed's own switch, so a curve of
P(learns | B) fitted to them says little about its width. After the bisection, further seeds run
at a few log-spaced batch sizes spanning the seeds' brackets (`curve_grid`), judged like the
probes, and the logistic fit (core/curves.py) takes every decided run.

Reuse: before the first round every run already in the store whose config differs from a searched
one only in batch_size (the run id is the hash of the config, so the phase diagram's or the
table's runs count when their settings match) is fed to its search, and a round's runs that the
store has are not run again. A killed search therefore resumes where it stopped, and a finished
one, run again, computes nothing new: the search is a function of the runs it has seen.

The theory's critical batch size (docs/paper.md "Theorems"; Thms 4.1/4.2, 4.4/4.5 with hidden
constants 1) is n / log(1/(lambda*eta)): the batch size at which n/B, the iterations between two
visits of an example, equals Adam's memory log(1/(lambda*eta)). `theory_of` (adamlab.synthetic.theory
`critical_batch`) reports it with the other batch-size boundaries `adamlab theory` uses.
"""
from __future__ import annotations

import hashlib
import json
import math
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

from ..core.curves import logistic_curve
from ..core.errors import ConfigError
from ..core.stats import MIN_CI_SEEDS, summarise
from ..synthetic.config import SyntheticConfig
from ..synthetic.regimes import observed_regime, settling_of
from ..synthetic.theory import critical_batch as theory_of
from .bisect import DECIDED, DEFAULT_MAX_UNDECIDED, LEARNS, BatchSearch, SearchResult
from .endstate import end_states
from .runner import BACKENDS, WorkerPool, done_statuses, run_sweep
from .spec import SweepSpec
from .store import Store, json_finite


CURVE_POINTS = 6  # batch sizes of the curve's grid
CURVE_WIDEN = 1.25  # how far the grid reaches beyond the seeds' outermost bracket ends


def observed(run: dict, classify: Callable[[dict], str]) -> str:
    """A stored run's regime; a `failed` run (an exception, a killed worker) says nothing about
    the regime and is its own undecided state."""
    return "failed" if run["status"] == "failed" else classify(run)


def report_rules(store) -> Callable[[dict], str]:
    """The report's rules (report/regimes.py `observed_regime`), with its settling rule: a run
    whose trajectories still moved at the end is "still_moving", an undecided state here."""

    def classify(run: dict) -> str:
        found = settling_of(store, run)
        return observed_regime(run if found is None else {**run, "settling": found})
    return classify


def family_key(config_dict: dict) -> str:
    """Runs of one search differ only in batch_size: this is what they share."""
    d = {k: v for k, v in config_dict.items() if k != "batch_size"}
    return json.dumps(d, sort_keys=True, default=str)


def _searched_dict(config) -> dict:
    return {k: v for k, v in config.to_dict().items() if k not in ("batch_size", "seed")}


# ---- results ------------------------------------------------------------------------------------
@dataclass
class SeedSearch:
    """One seed's search and the runs behind it."""

    config: object                 # the searched config with this seed (batch_size ignored)
    search: BatchSearch
    run_ids: dict = field(default_factory=dict)   # batch size -> run id
    reused: int = 0                # batch sizes answered by runs already in the store
    ran: int = 0                   # runs this call computed

    @property
    def seed(self) -> int:
        return self.config.seed

    def candidate(self, batch_size: int):
        return self.config.replace(batch_size=batch_size)


@dataclass
class CurveGrid:
    """The curve's own runs (`search_many(..., curve_seeds=...)`): every seed of `seeds` at every
    batch size of `batch_sizes`, a log-spaced grid around the switch the bisection found."""

    batch_sizes: list[int]
    seeds: list[int]
    regimes: dict = field(default_factory=dict)   # (seed, batch size) -> regime
    run_ids: dict = field(default_factory=dict)   # (seed, batch size) -> run id
    reused: int = 0
    ran: int = 0
    reason: str | None = None  # why there is no grid (no switch seen), else None

    def to_json(self) -> dict:
        runs = [{"seed": s, "batch_size": b, "regime": self.regimes[s, b],
                 "run_id": self.run_ids[s, b]} for s in self.seeds for b in self.batch_sizes
                if (s, b) in self.regimes]
        return {"batch_sizes": self.batch_sizes, "seeds": self.seeds, "runs": runs,
                "reused": self.reused, "ran": self.ran, "reason": self.reason}

    def line(self) -> str:
        if self.reason:
            return f"curve grid: none ({self.reason})"
        per_b = []
        for b in self.batch_sizes:
            found = [self.regimes[s, b] for s in self.seeds if (s, b) in self.regimes]
            decided = [r for r in found if r in DECIDED]
            per_b.append(f"B={b} {sum(r == LEARNS for r in decided)}/{len(decided)}")
        return (f"curve grid: {len(self.batch_sizes)} batch sizes x {len(self.seeds)} seeds "
                f"({self.reused} runs from the store, {self.ran} run now); learns of decided: "
                + ", ".join(per_b))


@dataclass
class CriticalResult:
    """The critical batch size of one configuration over its seeds (`to_json` is what
    `adamlab critical-batch --json` prints)."""

    config: object
    seeds: list[SeedSearch]
    seconds: float = 0.0
    rounds: int = 0
    horizon: str = "budget"  # where each probe was judged: at its budget, or its end state
    grid: CurveGrid | None = None  # the curve's grid of runs, when one was asked for

    def results(self) -> list[SearchResult]:
        return [s.search.result() for s in self.seeds]

    def b_star(self):
        """stats.Summary of the per-seed b_star (seeds without one are left out; see `n`)."""
        return summarise(r.b_star for r in self.results())

    def theory(self) -> dict | None:
        return theory_of(self.config)

    def outcomes(self) -> list[tuple[int, int, bool]]:
        """(seed, batch_size, learned) of every decided run the searches and the curve's grid
        saw, each run once."""
        found = {(s.seed, p.batch_size): p.regime == LEARNS for s in self.seeds
                 for p in s.search.result().probes if p.decided}
        if self.grid is not None:
            found.update({key: r == LEARNS for key, r in self.grid.regimes.items()
                          if r in DECIDED})
        return [(s, b, learned) for (s, b), learned in found.items()]

    def curve(self):
        """The logistic fit of P(learns | B) over every seed's decided runs, the grid's
        included (core/curves.py), or None when no run was decided."""
        found = self.outcomes()
        return logistic_curve(found) if found else None

    def seed_json(self, s: SeedSearch) -> dict:
        r = s.search.result()
        return {"seed": s.seed, "b_low": r.b_low, "b_high": r.b_high, "b_star": r.b_star,
                "status": r.status, "monotone": r.monotone,
                "contradictions": r.contradictions, "undecided_inside": r.undecided_inside,
                "probes": [{"batch_size": p.batch_size, "regime": p.regime, "source": p.source,
                            "run_id": s.run_ids.get(p.batch_size)} for p in r.probes],
                "reused": s.reused, "ran": s.ran, "summary": r.describe()}

    def to_json(self) -> dict:
        """{"config", "horizon", "seeds": [{"seed", "b_low", "b_high", "b_star", ...}],
        "b_star": {"mean", "ci95", ...}, "curve", "censored", "grid", "theory"}. b_star per seed: sqrt(b_low * b_high);
        across seeds: the mean and its 95% bootstrap interval (adamlab/core/stats.py) over the
        seeds that have one (the text, `lines`, shows their range below MIN_CI_SEEDS seeds). curve: the logistic fit of P(learns | B) over the same runs
        (core/curves.py: b_star at 50%, interval, width, per-B counts); censored: whether that
        B* is only a bracket (separable outcomes; curve.bracket), None without a decided run;
        grid: the curve's own runs (CurveGrid), None unless curve seeds were asked for."""
        summ, th, curve = self.b_star(), self.theory(), self.curve()
        ratio = (summ.mean / th["b_star"]) if th and th["b_star"] and summ.mean else None
        return json_finite({
            "config": _searched_dict(self.config),
            "horizon": self.horizon,
            "seeds": [self.seed_json(s) for s in self.seeds],
            "b_star": {"mean": summ.mean, "ci95": list(summ.ci95) if summ.ci95 else None,
                       "std": summ.std, "n": summ.n,
                       "per_seed": "sqrt(b_low * b_high), the bracket's geometric mean",
                       "over_theory": ratio},
            "curve": None if curve is None else curve.to_json(),
            "censored": None if curve is None else curve.censored,
            "grid": None if self.grid is None else self.grid.to_json(),
            "theory": th,
        })

    def lines(self) -> list[str]:
        """The human-readable summary (what `adamlab critical-batch` prints)."""
        out = []
        for s in self.seeds:
            r = s.search.result()
            out.append(f"seed {s.seed}: {r.describe()}; {len(r.probes)} batch sizes seen "
                       f"({s.reused} from runs already stored, {s.ran} run now)")
        epochs = getattr(self.config, "epochs", None)
        out.append(f"probes judged at {'the end state' if self.horizon == 'end' else 'the budget'}"
                   + (f" ({epochs} epochs)" if epochs else "")
                   + ("; a probe still moving there continued until it settles or reaches the "
                      "cap" if self.horizon == "end" else ""))
        summ, th = self.b_star(), self.theory()
        if summ.n:
            # the seeds' range below MIN_CI_SEEDS (a 3-seed "95%" interval would be [min, max])
            ci = f", {summ.interval_text()}" if summ.interval else " (one seed: no interval)"
            out.append(f"B* over {summ.n} seed{'s' if summ.n > 1 else ''}: mean "
                       f"{summ.mean:.3g}{ci}")
        else:
            out.append("B*: no seed has a critical batch size in [1, n]")
        if self.grid is not None:
            out.append(self.grid.line())
        curve = self.curve()
        if curve is not None:
            out.append(_curve_line(curve))
        if th and th["b_star"]:
            line = (f"theory: n / log(1/(lambda*eta)) = {th['n']} / "
                    f"{th['memory_lambda_eta']:.3g} = {th['b_star']:.3g}")
            if summ.n:
                line += f"; measured / theory = {summ.mean / th['b_star']:.3g}"
            if not th["applies"]:
                line += f" ({self.config.optimizer} is outside the paper's theorems)"
            out.append(line)
            for name, b in th["boundaries"].items():
                if name != "memory_lambda_eta" and b["batch_size"] is not None:
                    out.append(f"  {b['statement']} ({b['source']}): B = {b['batch_size']:.3g}")
            if th["stuck_at_init"]:
                out.append(f"  weight_decay above sigma0^(q-2) = "
                           f"{th['adam_weight_decay_ceiling']:.3g}: Cor 4.3 predicts stuck at "
                           f"initialisation at every B")
        return out


def _curve_line(curve) -> str:
    if curve.censored:
        lo, hi = curve.bracket
        if hi is None:
            return f"logistic curve: every decided run learns (up to B = {lo}): B* > {lo}"
        if lo is None:
            return f"logistic curve: every decided run memorises (from B = {hi}): B* < {hi}"
        return (f"logistic curve: separable (every run learns at B <= {lo}, memorises at "
                f"B >= {hi}): B* only bracketed, [{lo}, {hi}]")
    if curve.extrapolated:
        edge, side = curve.nearest_run()
        return (f"logistic curve: P(learns) = {curve.p_learns(edge):.2f} at the {side} B run "
                f"({edge}); its 1/2 lies outside the runs (B* = {curve.b_star:.3g} "
                f"extrapolated)")
    name = ("95% seed-bootstrap CI" if curve.seeds >= MIN_CI_SEEDS else
            f"seed-bootstrap range (below {MIN_CI_SEEDS} seeds no 95% coverage is claimed)")
    ci = (f", {name} [{curve.interval[0]:.3g}, {curve.interval[1]:.3g}]"
          if curve.interval else "")
    return (f"logistic curve: P(learns) = 1/2 at B* = {curve.b_star:.3g}{ci}; 3/4 at "
            f"B = {curve.width[0]:.3g}, 1/4 at B = {curve.width[1]:.3g}")


def configurations(spec) -> tuple[list, list[int]]:
    """A sweep spec read as a study: its distinct configurations (batch_size and seed aside, the
    first config of each kept) and its seeds, in order. A spec for `search_many`."""
    configs: dict[str, object] = {}
    seeds: list[int] = []
    for c in spec.configs:
        configs.setdefault(json.dumps(_searched_dict(c), sort_keys=True, default=str), c)
        if c.seed not in seeds:
            seeds.append(c.seed)
    return list(configs.values()), seeds


# ---- the driver ---------------------------------------------------------------------------------
def critical_batch(config, seeds, store, **kw) -> CriticalResult:
    """The critical batch size of `config` (any batch_size; it is searched) for each seed in
    `seeds`, through `store` (a Store or a path). Keywords as for `search_many`."""
    return search_many([config], seeds, store, **kw)[0]


def search_many(configs, seeds, store, *, workers: int | None = None, backend: str = "local",
                address: str | None = None, progress: bool = True, retry_failed: bool = False,
                max_undecided: int = DEFAULT_MAX_UNDECIDED, resolution: float = 1.0,
                classify=None, name: str | None = None,
                log: Callable[[str], None] | None = None, sweep=None,
                keep_states: bool = False, horizon: str = "budget",
                curve_seeds=(), curve_points: int = CURVE_POINTS,
                compute: bool = True) -> list[CriticalResult]:
    """Search every config x seed in lockstep: one `run_sweep` per round holds every search's next
    run. Returns one CriticalResult per config, in order. `log(line)`: one line per round (default:
    stderr when `progress`). `name`: the sweep name the rounds' runs are registered under
    (default "critical-batch:" + a hash of the configs and seeds). `max_undecided`, `resolution`:
    as for BatchSearch (bisect.py). `classify(run) -> regime`: default `report_rules(store)`,
    the report's rules. `sweep`: what runs a round (default `run_sweep`; the tests pass an
    in-process one). `keep_states`: keep each probe's final state, so that judging the probes
    at their end state (sweep/endstate.py) continues them instead of rerunning them.
    `horizon`: "budget" judges each probe at its budget, "end" at its end state (the module
    docstring; it keeps the probes' states). `curve_seeds`: after the bisection, run each of
    these seeds at `curve_points` log-spaced batch sizes around the switch the seeds' brackets
    show (`curve_grid`), judged like the probes, so the logistic curve rests on every seed at
    every grid point (CriticalResult.grid); () runs no grid. They must differ from `seeds`: a
    searched seed's stored runs feed its bisection, so its grid runs would move the brackets,
    and with them the grid, on every rerun. `compute=False`: replay a finished study from the
    store alone; MissingRuns (sweep/runner.py) at the first run it lacks, nothing computed."""
    configs, seeds, curve_seeds = list(configs), list(seeds), list(curve_seeds)
    _check(configs, seeds, backend, max_undecided, resolution)
    _check_curve(curve_seeds, curve_points, seeds)
    if horizon not in HORIZONS:
        raise ConfigError(f"horizon: must be one of {', '.join(HORIZONS)}, got {horizon!r}")
    keep_states = keep_states or horizon == "end"
    log = log or ((lambda line: print(line, file=sys.stderr, flush=True)) if progress
                  else (lambda line: None))
    own = not isinstance(store, Store)
    store = Store(store) if own else store
    kw = dict(workers=workers, backend=backend, address=address, progress=progress,
              retry_failed=retry_failed, **({"keep_states": True} if keep_states else {}),
              **({} if compute else {"compute": False}))
    try:
        # One pool of workers (or one Ray) for all rounds: starting them costs seconds a round.
        classify = classify or report_rules(store)
        with WorkerPool() as pool:
            if horizon == "end":
                classify = EndStateJudge(classify, store,
                                         dict(workers=workers, progress=progress, pool=pool,
                                              compute=compute))
            if sweep is None:
                sweep, kw["pool"] = run_sweep, pool
            name = name or _name(configs, seeds)
            results = _search(configs, seeds, store, kw, retry_failed,
                              lambda n: BatchSearch(n, max_undecided, resolution), classify,
                              name, log, sweep)
            if curve_seeds:
                _run_grids(results, curve_seeds, curve_points, store, kw, retry_failed,
                           classify, name, log, sweep)
            return results
    finally:
        if own:
            store.close()


HORIZONS = ("budget", "end")
STILL_MOVING = "still_moving"  # synthetic/regimes.py observed_regime's word


class EndStateJudge:
    """A classifier of many runs at once at their end state: `classify` reads each run at its
    budget, and the runs it calls still moving are continued together (sweep/endstate.py
    `end_states`, one sweep per stage) and read again at the epochs where they settled or
    stopped. Called with one run, it judges that run alone."""

    def __init__(self, classify, store, end_kw: dict):
        self.classify, self.store, self.end_kw = classify, store, end_kw

    def __call__(self, run: dict) -> str:
        return self.many([run])[0]

    def many(self, runs: list[dict]) -> list[str]:
        regimes = [self.classify(r) for r in runs]
        moving = [i for i, (r, reg) in enumerate(zip(runs, regimes))
                  if reg == STILL_MOVING and r["status"] == "ok"]
        if moving:
            cfgs = [SyntheticConfig.from_dict(runs[i]["config"]) for i in moving]
            ends = end_states(cfgs, self.store, **self.end_kw, name="critical-batch:end")
            by_id = self.store.runs_by_id(e.end_run_id for e in ends)
            for i, e in zip(moving, ends):
                regimes[i] = observed(by_id[e.end_run_id], self.classify)
        return regimes


def _judge_all(runs: list[dict], classify) -> list[str]:
    """observed() of each run, through `classify.many` when it judges runs together."""
    if hasattr(classify, "many"):
        ok = [i for i, r in enumerate(runs) if r["status"] != "failed"]
        found = dict(zip(ok, classify.many([runs[i] for i in ok]))) if ok else {}
        return [found.get(i, "failed") for i in range(len(runs))]
    return [observed(r, classify) for r in runs]


def _check(configs, seeds, backend, max_undecided, resolution) -> None:
    if isinstance(max_undecided, bool) or not isinstance(max_undecided, int) or max_undecided < 1:
        raise ConfigError(f"max_undecided: must be an integer >= 1, got {max_undecided!r}")
    if isinstance(resolution, bool) or not isinstance(resolution, (int, float)) \
            or not 1 <= resolution < math.inf:
        raise ConfigError(f"resolution: must be a finite number >= 1, got {resolution!r}")
    if not configs:
        raise ConfigError("configs: need at least one configuration to search")
    if not seeds:
        raise ConfigError("seeds: need at least one seed")
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, int) or s < 0:
            raise ConfigError(f"seeds: must be integers >= 0, got {s!r}")
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"seeds: each seed once, got {list(seeds)}")
    if backend not in BACKENDS:
        raise ConfigError(f"backend: must be one of {', '.join(BACKENDS)}, got {backend!r}")
    for c in configs:
        if not hasattr(c, "batch_size") or not isinstance(getattr(c, "n", None), int):
            raise ConfigError(f"task: the critical batch size is searched over batch_size in "
                              f"[1, n]; task {c.task!r} has no fixed n")
        if backend == "batched" and getattr(c, "engine", None) != "batched":
            raise ConfigError("engine: backend 'batched' steps runs with engine = 'batched' "
                              "together; add --engine batched (and --device cuda on a GPU), got "
                              f"engine={getattr(c, 'engine', None)!r}")


def _name(configs, seeds) -> str:
    text = json.dumps([[_searched_dict(c) for c in configs], list(seeds)], sort_keys=True,
                      default=str)
    return "critical-batch:" + hashlib.sha256(text.encode()).hexdigest()[:10]


def _search(configs, seeds, store, sweep_kw, retry_failed, new_search, classify, name, log,
            sweep) -> list[CriticalResult]:
    started = time.perf_counter()
    results = [CriticalResult(c, [SeedSearch(c.replace(seed=s), new_search(c.n)) for s in seeds])
               for c in configs]
    by_family: dict[str, list[SeedSearch]] = {}
    for res in results:
        for ss in res.seeds:
            by_family.setdefault(family_key(ss.candidate(1).to_dict()), []).append(ss)
    _preload(store, by_family, classify, retry_failed)
    rounds = 0
    while True:
        asks = [(ss, b) for res in results for ss in res.seeds
                if (b := ss.search.next()) is not None]
        if not asks:
            break
        rounds += 1
        tic = time.perf_counter()
        cands = {}
        for ss, b in asks:
            cfg = ss.candidate(b)
            cands.setdefault(cfg.run_id(), cfg)
        had, regimes = _run_and_judge(cands, name, store, sweep, sweep_kw, retry_failed,
                                      classify)
        for ss, b in asks:
            rid = ss.candidate(b).run_id()
            source = "stored" if rid in had else "ran"
            ss.search.add(b, regimes[rid], source)
            ss.run_ids[b] = rid
            if source == "ran":
                ss.ran += 1
            else:
                ss.reused += 1
        fresh = sum(rid not in had for rid in cands)
        log(f"round {rounds}: {len(asks)} probe{'s' if len(asks) != 1 else ''} ("
            + ", ".join(f"seed {ss.seed} B={b}" for ss, b in asks[:12])
            + (", ..." if len(asks) > 12 else "")
            + f"): {len(cands) - fresh} from the store, {fresh} ran, "
              f"{time.perf_counter() - tic:.1f} s; brackets: " + _brackets(results))
    elapsed = time.perf_counter() - started
    for res in results:
        res.seconds, res.rounds = elapsed, rounds
        res.horizon = "end" if isinstance(classify, EndStateJudge) else "budget"
    return results


def curve_grid(results: list[SearchResult], n: int, points: int = CURVE_POINTS) -> list[int]:
    """`points` log-spaced batch sizes (rounded, each once) around the switch the bisection
    found: from the smallest batch size a seed learns at (its b_low; 1 for a seed that memorises
    even there) to the largest it memorises at (its b_high; n for a seed that learns up to n),
    each end widened by CURVE_WIDEN and kept in [1, n]. [] when the seeds show no switch: no
    seed learned anywhere, or none memorised."""
    seen = [r for r in results if r.b_low is not None or r.b_high is not None]
    if not any(r.b_low is not None for r in seen) or not any(r.b_high is not None for r in seen):
        return []
    lo = min(1 if r.b_low is None else r.b_low for r in seen)
    hi = max(n if r.b_high is None else r.b_high for r in seen)
    lo, hi = max(1.0, lo / CURVE_WIDEN), min(float(n), hi * CURVE_WIDEN)
    grid = [round(lo * (hi / lo) ** (i / (points - 1))) for i in range(points)]
    return sorted(set(grid))


def _check_curve(curve_seeds, curve_points, seeds) -> None:
    for s in curve_seeds:
        if isinstance(s, bool) or not isinstance(s, int) or s < 0:
            raise ConfigError(f"curve_seeds: must be integers >= 0, got {s!r}")
    if len(set(curve_seeds)) != len(curve_seeds):
        raise ConfigError(f"curve_seeds: each seed once, got {list(curve_seeds)}")
    both = sorted(set(curve_seeds) & set(seeds))
    if both:
        raise ConfigError(f"curve_seeds: must differ from the searched seeds (a searched "
                          f"seed's grid runs would feed its bisection on a rerun), got "
                          f"{', '.join(map(str, both))} in both")
    if isinstance(curve_points, bool) or not isinstance(curve_points, int) or curve_points < 2:
        raise ConfigError(f"curve_points: must be an integer >= 2, got {curve_points!r}")


def _run_grids(results, curve_seeds, points, store, sweep_kw, retry_failed, classify, name, log,
               sweep) -> None:
    """Every configuration's curve grid, all in one sweep (longest runs first), judged together
    (at the end state: one continuation sweep a stage for all of them)."""
    cands, wanted = {}, []  # run id -> config; (result, seed, batch size, run id)
    for res in results:
        grid = curve_grid(res.results(), res.config.n, points)
        res.grid = CurveGrid(grid, list(curve_seeds), reason=None if grid else
                             "the seeds' searches show no switch in [1, n]")
        for s in curve_seeds:
            for b in grid:
                cfg = res.config.replace(seed=s, batch_size=b)
                cands.setdefault(cfg.run_id(), cfg)
                wanted.append((res, s, b, cfg.run_id()))
    if not cands:
        return
    tic = time.perf_counter()
    had, regimes = _run_and_judge(cands, name + ":curve", store, sweep, sweep_kw, retry_failed,
                                  classify)
    for res, s, b, rid in wanted:
        res.grid.regimes[s, b], res.grid.run_ids[s, b] = regimes[rid], rid
        if rid in had:
            res.grid.reused += 1
        else:
            res.grid.ran += 1
    fresh = sum(rid not in had for rid in cands)
    log(f"curve grid: {len(cands)} runs ({len(cands) - fresh} from the store, {fresh} ran), "
        f"{time.perf_counter() - tic:.1f} s")


def _run_and_judge(cands: dict, name: str, store, sweep, sweep_kw, retry_failed,
                   classify) -> tuple[set, dict]:
    """Run the candidates (run id -> config) the store lacks as one sweep, longest first so it
    does not end waiting for one started last, and judge them all: (the ids stored before,
    run id -> regime)."""
    had = store.done_ids(done_statuses(retry_failed))
    sweep(SweepSpec(name=name, configs=tuple(sorted(cands.values(), key=_cost, reverse=True))),
          store, **sweep_kw)
    stored = store.runs_by_id(cands)
    missing = [rid for rid in cands if rid not in stored]
    if missing:  # the runner stores every run it was given, whatever its status
        cfg = cands[missing[0]]
        raise RuntimeError(f"run {missing[0]} (batch_size {cfg.batch_size}, seed {cfg.seed}) is "
                           f"missing from the store after its sweep")
    return had, dict(zip(stored, _judge_all(list(stored.values()), classify)))


def _cost(config) -> float:
    """A run's relative cost: steps x (per-step + per-example cost), the fast engine's ~35 us +
    1.7 us x B per step at the paper's size (docs/speed.md)."""
    b = config.batch_size
    steps = config.total_steps if hasattr(config, "total_steps") else config.n // b
    return steps * (35.0 + 1.7 * b)


def _brackets(results) -> str:
    parts = []
    for res in results[:4]:
        for ss in res.seeds:
            r = ss.search.result()
            parts.append(f"[{'-' if r.b_low is None else r.b_low}, "
                         f"{'-' if r.b_high is None else r.b_high}]")
    more = ", ..." if len(results) > 4 else ""
    return " ".join(parts) + more


def _preload(store, by_family, classify, retry_failed) -> None:
    """Feed every stored run of a searched family (same config but batch_size) to its searches.
    The run id decides: a run counts only if the candidate config at its batch size has its id."""
    found = []  # (search, batch size, run), judged together (at the end state: one sweep a stage)
    for run in store.runs():
        if retry_failed and run["status"] == "failed":
            continue
        cfg = run["config"]
        members = by_family.get(family_key(cfg))
        b = cfg.get("batch_size")
        if not members or isinstance(b, bool) or not isinstance(b, int):
            continue
        for ss in members:
            if not 1 <= b <= ss.search.n or b in ss.run_ids:
                continue
            try:
                same = ss.candidate(b).run_id() == run["id"]
            except ConfigError:
                same = False
            if same:
                found.append((ss, b, run))
                ss.run_ids[b] = run["id"]
    for (ss, b, _), regime in zip(found, _judge_all([r for _, _, r in found], classify)):
        ss.search.add(b, regime, "stored")
        ss.reused += 1


__all__ = ["CriticalResult", "CurveGrid", "SeedSearch", "critical_batch", "configurations",
           "curve_grid", "search_many", "theory_of", "HORIZONS", "CURVE_POINTS",
           "family_key", "observed"]
