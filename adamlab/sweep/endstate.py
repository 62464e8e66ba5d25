"""The end state of synthetic runs: each run judged at the paper's budget T is continued from its
saved state in stages (2T, 5T, 10T by default, capped) until the settling rule
(synthetic/regimes.py `settling`) says it settled, and the settling rule itself checked out of
sample (`validate`: judge at T, continue to 5T, count the calls the continuation contradicts).

Why: the outcome at T is often not the end state. The App. D.2 table's Adam run at B = 100,
seed 0, has test error 0.487 at 10^4 epochs, 0.370 at 2x10^4 and 0.202 at 5x10^4 (its
positive-class feature grows from 0.86 to 4.22 while the smallest noise memorisation falls from
1.35 to 0: it forgets examples it had memorised); `adamlab endstate table --only batch_size=100`
measures it (docs/results.md, "Settling rule").

Every stage is a sweep (sweep/runner.py) with keep_states=True, so a stage costs only its extra
epochs (sweep/extend.py). Runs are logged every T/100 epochs at every stage (the budget run's own
cadence when its log_every is unset), which is what lets a stage continue the one before exactly.
A run still moving at the cap is reported as such ("still moving at the cap"), never dropped.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..core.stats import clopper_pearson
from ..synthetic.config import SyntheticConfig
from ..synthetic.regimes import Settling, observed_regime, settling_of
from ..synthetic.sampler import steps_after
from .runner import run_sweep
from .spec import SweepSpec
from .store import Store

STAGES = (2, 5, 10)  # multiples of the budget T a still-moving run is continued to
# The cap: 10^5 epochs. At B = 100 (n = 200: 2 steps an epoch) that is 2x10^5 steps; the fast
# engine's loop took 23-32 s for each 5x10^4-epoch stage of the table's Adam B = 100 runs (10^5
# steps: 0.25-0.3 ms a step on one core of a 2-core machine shared with other jobs), and the whole
# `adamlab endstate table --only batch_size=100` (10 runs, two of them to the cap) about 12 min
# of wall time with one worker. At B = 50 (4 steps an epoch) twice that a run. A 10x longer cap
# would cost ~10 min of loop a run and still leave Adam seed 0 moving (test error 0.202 at 5x10^4,
# 0.261 at 10^5): the cap is where a run is reported as "still moving at the cap", not a bound
# on its dynamics. Smaller batches (B = 2: 100 steps an epoch) stop at 10T by the stages; the
# table's mini-batch runs settle by T.
CAP_EPOCHS = 100_000
# ... and a cap in steps, so that a mini-batch run is not continued for hours: 2x10^6 steps is
# 10^5 epochs at B = 10 (20 steps an epoch) and 2x10^4 at B = 2, about 80-110 s of loop a run by
# the sweep cost model (sweep/cost.py: 38 us + 1.7 us x B a step), the same order as a large-batch
# run's 10^5 epochs (B = 100: 2x10^5 steps, ~42 s). At B = 1 it equals the paper's budget (10^4
# epochs = 2x10^6 steps): those runs are not continued, and a run still moving there reads
# "still moving at the cap".
CAP_STEPS = 2_000_000


@dataclass
class EndState:
    """One run's end state. regime_at_budget / regime_at_end: observed_regime at T and at the
    last epoch reached (`end_epochs`); settled_at: the first stage's epochs where the rule said
    settled (T itself when it was settled at the budget), None when it never did; how: the
    settling's description at the end."""

    run_id: str
    config: dict
    budget: int
    regime_at_budget: str
    end_epochs: int
    regime_at_end: str
    settled_at: int | None
    how: str
    end_run_id: str = ""  # the stored run at end_epochs (run_id itself when never continued)
    # The regime from the final errors alone (`errors_regime`) at the budget and at the end: what
    # "changed regime" compares (a run still moving at T has an error regime too).
    errors_at_budget: str = ""
    errors_at_end: str = ""

    def __post_init__(self):
        self.end_run_id = self.end_run_id or self.run_id
        self.errors_at_budget = self.errors_at_budget or self.regime_at_budget
        self.errors_at_end = self.errors_at_end or self.regime_at_end

    @property
    def changed(self) -> bool:
        """Did the run's regime, read from its final errors, change between the budget and its
        end state? (A run still moving at T that settles in the regime its errors already showed
        has not changed: it `settled_later`.)"""
        return self.errors_at_budget != self.errors_at_end

    @property
    def settled_later(self) -> bool:
        """Called still moving at the budget, settled by its end state."""
        return self.regime_at_budget == "still_moving" and self.settled_at is not None

    @property
    def outcome(self) -> str:
        """"settled at E epochs", "still moving at the cap (E epochs)" or "diverged at E"."""
        if self.regime_at_end == "diverged":
            return f"diverged by {self.end_epochs} epochs"
        if self.settled_at is not None:
            return f"settled at {self.settled_at} epochs"
        return f"still moving at the cap ({self.end_epochs} epochs)"


def at_epochs(cfg: SyntheticConfig, epochs: int, log_every: int) -> SyntheticConfig:
    """The run `cfg` continued to `epochs`, logged every `log_every` epochs."""
    return cfg.replace(epochs=epochs, log_every=log_every)


def cap_epochs(cfg: SyntheticConfig, cap: int = CAP_EPOCHS, cap_steps: int = CAP_STEPS) -> int:
    """The run's cap in epochs: `cap` epochs or `cap_steps` steps, whichever comes first, and
    never below its budget (the sampler decides the steps an epoch: synthetic/sampler.py)."""
    per_epoch = steps_after(cfg.n, cfg.batch_size, cfg.sampler, 1_000_000) / 1_000_000
    return max(cfg.epochs, min(cap, int(cap_steps // per_epoch)))


def stage_epochs(budget: int, stages=STAGES, cap: int = CAP_EPOCHS) -> list[int]:
    """The epochs of each stage past the budget: k x budget for k in stages, capped at `cap`
    (the cap itself is the last stage when a stage passes it)."""
    out = []
    for k in stages:
        e = min(int(k * budget), cap)
        if e > budget and (not out or e > out[-1]):
            out.append(e)
        if e >= cap:
            break
    return out


def _judge(store: Store, run_ids) -> dict[str, tuple[dict, Settling | None]]:
    runs = store.runs_by_id(run_ids)
    out = {}
    for rid, run in runs.items():
        found = settling_of(store, run)
        if found is not None:
            run["settling"] = found
        out[rid] = (run, found)
    return out


def errors_regime(run: dict) -> str:
    """The regime from the run's final errors alone (observed_regime without its settling)."""
    return observed_regime({k: v for k, v in run.items() if k != "settling"})


def end_states(configs, store, stages=STAGES, cap: int = CAP_EPOCHS, workers: int | None = None,
               progress: bool = False, name: str = "endstate",
               log_every: int | None = None, cap_steps: int = CAP_STEPS,
               pool=None, compute: bool = True) -> list[EndState]:
    """Judge each synthetic config (at its budget T = config.epochs) and continue the runs still
    moving, stage by stage, until they settle or reach the cap (`cap_epochs`: `cap` epochs or
    `cap_steps` steps, whichever comes first). `store`: a Store or a path; the
    runs at T are reused from it when stored (with a kept state they are continued, otherwise
    the first stage computes them from the start). `log_every`: the log cadence of every stage
    (default: each run's own at T). `pool`: a sweep/runner.py WorkerPool to run every stage on
    (workers started once). `compute=False`: read every stage from the store, MissingRuns
    (sweep/runner.py) when one is not there. Returns one EndState per config, in order."""
    own = not isinstance(store, Store)
    store = Store(store) if own else store
    try:
        cfgs = [at_epochs(c, c.epochs, log_every or c.log_interval) for c in configs]
        ids = [c.run_id() for c in cfgs]
        run_sweep(SweepSpec(name=f"{name}:T", configs=tuple(cfgs)), store, workers=workers,
                  progress=progress, keep_states=True, pool=pool, compute=compute)
        judged = _judge(store, ids)
        out = {}
        active = []
        for cfg, rid in zip(cfgs, ids):
            run, found = judged[rid]
            regime = observed_regime(run)
            out[rid] = EndState(rid, cfg.to_dict(), cfg.epochs, regime, cfg.epochs, regime,
                                cfg.epochs if found is not None and found.settled else None,
                                found.describe() if found is not None else run["status"],
                                errors_at_budget=errors_regime(run),
                                errors_at_end=errors_regime(run))
            if run["status"] == "ok" and (found is None or not found.settled):
                active.append((rid, cfg))
        plan = {rid: stage_epochs(c.epochs, stages, cap_epochs(c, cap, cap_steps))
                for rid, c in zip(ids, cfgs)}
        for epochs in sorted({e for rid in ids for e in plan[rid]}):
            todo = [(rid, c) for rid, c in active if epochs in plan[rid]]
            if not todo:
                continue
            longer = [at_epochs(c, epochs, c.log_interval) for _, c in todo]
            run_sweep(SweepSpec(name=f"{name}:{epochs}", configs=tuple(longer)), store,
                      workers=workers, progress=progress, keep_states=True, pool=pool,
                      compute=compute)
            judged = _judge(store, [c.run_id() for c in longer])
            for (rid, c), lc in zip(todo, longer):
                run, found = judged[lc.run_id()]
                end = out[rid]
                end.end_epochs, end.regime_at_end = epochs, observed_regime(run)
                end.end_run_id, end.errors_at_end = lc.run_id(), errors_regime(run)
                end.how = found.describe() if found is not None else run["status"]
                if run["status"] != "ok":
                    end.regime_at_end = "diverged"
                    active = [a for a in active if a[0] != rid]
                elif found is not None and found.settled:
                    end.settled_at = epochs
                    active = [a for a in active if a[0] != rid]
        return [out[rid] for rid in ids]
    finally:
        if own:
            store.close()


def end_state_table(ends: list[EndState]) -> str:
    """A plain-text table: optimiser, B, seed, regime at T, at the end, and the outcome."""
    lines = [f"{'optimizer':9} {'B':>4} {'seed':>4} {'T':>6}  {'regime at T':16} "
             f"{'regime at end':16} outcome"]
    for e in ends:
        c = e.config
        lines.append(f"{c['optimizer']:9} {c.get('batch_size', 0):>4} "
                     f"{c.get('seed', 0):>4} {e.budget:>6}  {e.regime_at_budget:16} "
                     f"{e.regime_at_end:16} {e.outcome}")
    return "\n".join(lines)


# ---- validating the settling rule out of sample ---------------------------------------------
@dataclass
class Check:
    """One run of the validation: how the rule called it at T, and its regime at T and at
    factor x T (from the final errors)."""

    run_id: str
    config: dict
    settled_at_budget: bool
    how: str
    regime_at_budget: str
    regime_later: str

    @property
    def changed(self) -> bool:
        """Did the run's regime (from its final errors) change between T and factor x T?"""
        return self.regime_at_budget != self.regime_later


def validate(configs, store, factor: int = 5, workers: int | None = None,
             progress: bool = False, name: str = "settling-validation",
             log_every: int | None = None) -> list[Check]:
    """Judge each config's run at its budget T with the settling rule and continue it (whatever
    the call) to factor x T; a Check per run that finished both (diverged runs are left out of
    the rates and counted by the caller)."""
    own = not isinstance(store, Store)
    store = Store(store) if own else store
    try:
        cfgs = [at_epochs(c, c.epochs, log_every or c.log_interval) for c in configs]
        longer = [at_epochs(c, factor * c.epochs, c.log_interval) for c in cfgs]
        run_sweep(SweepSpec(name=f"{name}:T", configs=tuple(cfgs)), store, workers=workers,
                  progress=progress, keep_states=True)
        run_sweep(SweepSpec(name=f"{name}:{factor}T", configs=tuple(longer)), store,
                  workers=workers, progress=progress, keep_states=True)
        at_t = _judge(store, [c.run_id() for c in cfgs])
        later = _judge(store, [c.run_id() for c in longer])
        out = []
        for c, lc in zip(cfgs, longer):
            (run, found), (run2, _) = at_t[c.run_id()], later[lc.run_id()]
            if run["status"] != "ok" or run2["status"] != "ok" or found is None:
                continue
            out.append(Check(c.run_id(), c.to_dict(), found.settled, found.describe(),
                             errors_regime(run), errors_regime(run2)))
        return out
    finally:
        if own:
            store.close()


def rates(checks: list[Check]) -> dict:
    """false settled: called settled at T but its regime changed by factor x T, over the runs
    called settled; false moving: called still moving at T but the same regime later, over the
    runs called moving. Each with its count and Clopper-Pearson 95% interval."""
    settled = [c for c in checks if c.settled_at_budget]
    moving = [c for c in checks if not c.settled_at_budget]
    out = {}
    for key, group, bad in (("false_settled", settled, lambda c: c.changed),
                            ("false_moving", moving, lambda c: not c.changed)):
        k, n = sum(bad(c) for c in group), len(group)
        lo, hi = clopper_pearson(k, n) if n else (0.0, 1.0)  # no run of that kind: no bound
        out[key] = {"k": k, "n": n, "rate": k / n if n else None, "ci95": [lo, hi]}
    return out


def validation_line(result: dict, command: str) -> str:
    """The sentence how_to_read (report/regimes.py) may append: both rates from `command`."""
    def part(name, r):
        if not r["n"]:
            return f"{name} not measured (no such runs)"
        return (f"{name} {r['k']} of {r['n']} ({r['rate']:.0%}, Clopper-Pearson 95% CI "
                f"{r['ci95'][0]:.0%}-{r['ci95'][1]:.0%})")

    return (f"Checked out of sample ({command}): {part('false settled', result['false_settled'])}; "
            f"{part('false moving', result['false_moving'])}.")
