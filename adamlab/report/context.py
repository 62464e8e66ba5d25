"""What every report item needs: the results store, the preset sweeps (run or reused) at the
chosen budget, the trajectories of stored runs (and whether they settled), the budget's
arithmetic against the paper's, and small helpers to group runs and caption figures."""
from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..core.formatting import fmt_number
from ..core.verdicts import Finding
from ..sweep.endstate import CAP_EPOCHS, CAP_STEPS, end_states
from ..sweep.runner import run_sweep
from ..sweep.spec import SweepSpec, load_spec
from ..synthetic.config import SyntheticConfig
from ..synthetic.regimes import REGIME_WORDS, settling_of
from ..synthetic.sampler import CARRY, steps_after
from ..tasks import config_from_dict
from . import figures as F
from .page import TableItem
from .tables import Stats

# The paper's budget for every synthetic experiment: 10^4 epochs (App. D.2; docs/paper.md
# "Experiments"). `--budget short` runs each synthetic preset's [short] variant (2000 epochs) for a
# first look; its report says so at the top of every item, with the arithmetic (`budget_rows`).
PAPER_EPOCHS = 10_000
BUDGETS = ("paper", "short")

@dataclass
class Context:
    """What every item needs: the store, where figures go, how the sweeps were asked for."""

    store: object
    out: Path
    quick: bool
    workers: int | None
    command: str
    progress: bool = True
    seeds: list[int] | None = None
    epochs: int | None = None
    data_dir: str | None = None
    timings: dict = field(default_factory=dict)
    budget: str = "paper"
    settled: dict = field(default_factory=dict)  # run id -> Settling, every run an item read
    variant_name: str | None = None  # --variant: a preset's variant to run where it defines one
    # Judge the synthetic claims at the end state too (sweep/endstate.py): runs still moving at
    # the budget are continued from their saved states until they settle or reach the cap.
    end_state: bool = False
    ends: dict = field(default_factory=dict)  # run id at the budget -> its EndState

    def item_command(self, item: str) -> str:
        """The command that rebuilds one item (the item alone, with this call's flags)."""
        flags = self.command.split(" --", 1)
        return f"adamlab reproduce {item}" + (f" --{flags[1]}" if len(flags) > 1 else "")

    def variant(self, preset: str) -> str | None:
        """quick with --quick; --variant NAME where the preset has it; short with --budget short
        where the preset has it; else none."""

        if self.quick:
            return "quick"
        variants = load_spec(preset).variants
        if self.variant_name is not None and self.variant_name in variants:
            return self.variant_name
        if self.budget == "short" and "short" in variants:
            return "short"
        return None

    def spec(self, preset: str):
        """The preset's sweep (its quick variant with --quick, its short variant with --budget
        short), with --seeds / --epochs applied to every run."""

        spec = load_spec(preset, variant=self.variant(preset))
        data_dir = self.data_dir if any(hasattr(c, "data_dir") for c in spec.configs) else None
        if self.seeds is None and self.epochs is None and data_dir is None:
            return spec
        configs: dict[str, object] = {}
        for c in spec.configs:
            c = c.replace(epochs=self.epochs) if self.epochs else c
            c = c.replace(data_dir=data_dir) if data_dir and hasattr(c, "data_dir") else c
            for s in (self.seeds if self.seeds is not None else [c.seed]):
                cs = c.replace(seed=s)
                configs.setdefault(cs.run_id(), cs)
        suffix = "".join([f":seeds={','.join(map(str, self.seeds))}" if self.seeds else "",
                          f":epochs={self.epochs}" if self.epochs else "",
                          ":data_dir" if data_dir else ""])
        return SweepSpec(name=spec.name + suffix, configs=tuple(configs.values()),
                         description=spec.description, source=spec.source,
                         variant=spec.variant, variants=spec.variants)

    def runs(self, preset: str) -> tuple[list[dict], object]:
        """Run (or reuse) the preset's sweep; its finished runs in the spec's order."""
        spec = self.spec(preset)
        return self.run_spec(spec, preset), spec

    def run_configs(self, name: str, configs) -> list[dict]:
        """Run (or reuse) any configs as one sweep named `name`; its finished runs in order."""
        return self.run_spec(SweepSpec(name=name, configs=tuple(configs)), name)

    def run_spec(self, spec: SweepSpec, name: str) -> list[dict]:
        """Run (or reuse) a sweep; its finished runs in the spec's order, settling attached."""
        # keep_states: each synthetic run's final state (~1 MB at d = 1000, m = 20; a full report
        # of ~440 runs: ~0.4 GB beside the store), so the end-state driver (sweep/endstate.py)
        # continues the report's runs past the budget at the cost of the extra epochs only.
        summary = run_sweep(spec, self.store, workers=self.workers, progress=self.progress,
                            keep_states=True)
        self.timings.setdefault(name, summary)  # the first call ran it; later ones reuse
        print(f"  {summary.line()}", file=sys.stderr)
        ids = spec.run_ids()
        by_id = self.store.runs_by_id(ids)
        runs = [by_id[i] for i in ids if i in by_id]
        for r in runs:
            self.attach_settling(r)
        return runs

    def attach_settling(self, run: dict) -> None:
        """run["settling"]: whether its trajectories settled (regimes.settling), which
        regimes.observed_regime consults. Synthetic runs that finished only: other tasks log
        other metrics, and a diverged or failed run has no regime to settle."""
        found = settling_of(self.store, run)
        if found is not None:
            run["settling"] = self.settled[run["id"]] = found

    def end_runs(self, runs: list[dict]) -> list[dict]:
        """The same runs at their end state, in order: each finished synthetic run continued
        (sweep/endstate.py `end_states`, the runs settled at the budget as they are) and read back
        from the store, with its settling and run["end_state"] (its EndState). A run that did
        not finish at the budget is its own end state."""
        todo = [r for r in runs if r["status"] == "ok" and r["id"] not in self.ends
                and r["config"].get("task", "synthetic") == "synthetic"]
        if todo:
            ends = end_states([config_of(r) for r in todo], self.store, workers=self.workers,
                              progress=self.progress, name="endstate")
            self.ends.update((r["id"], e) for r, e in zip(todo, ends))
        by_id = self.store.runs_by_id(self.ends[r["id"]].end_run_id for r in runs
                                      if r["id"] in self.ends)
        out = []
        for r in runs:
            e = self.ends.get(r["id"])
            if e is None:
                out.append(r)
                continue
            end = dict(by_id[e.end_run_id], end_state=e)
            found = settling_of(self.store, end)
            if found is not None:
                end["settling"] = found
            out.append(end)
        return out

    def horizons(self, runs: list[dict]) -> list[tuple[str, list[dict]]]:
        """[("paper", runs)], and ("end", the runs at their end state) when this report judges
        the end state too: an item judges its claims once per pair."""
        return [("paper", runs)] + ([("end", self.end_runs(runs))] if self.end_state else [])

    def curves(self, runs: list[dict],
               names=tuple(F.TRAJECTORY_METRICS) + (F.MECHANISM_METRIC,)) -> dict:
        """{"epochs": [...], name: [[per seed]], ...} over runs that logged the same epochs."""
        out: dict = {}
        for name in names:
            per_run = [self.store.metrics(r["id"], name=name) for r in runs if r["status"] == "ok"]
            per_run = [rows for rows in per_run if rows]
            if not per_run:
                continue
            length = min(len(rows) for rows in per_run)
            out.setdefault("epochs", [row[1] for row in per_run[0][:length]])
            out[name] = [[row[4] for row in rows[:length]] for rows in per_run]
        return out




def end_note(runs: list[dict]) -> str:
    """What the end state changed, in one clause for an end-horizon finding: '; past the budget
    2 of 20 runs changed regime by their final errors (memorises noise → learns the feature 2),
    9 still moving at the budget settled; 11 continued, to at most 20,000 epochs (...), 1 still
    moving at the cap'; '' for runs that carry no end state."""
    ends = [r["end_state"] for r in runs if "end_state" in r]
    if not ends:
        return ""
    changed = [e for e in ends if e.changed]
    moves: dict[str, int] = {}
    for e in changed:
        key = (f"{REGIME_WORDS.get(e.errors_at_budget, e.errors_at_budget)} → "
               f"{REGIME_WORDS.get(e.errors_at_end, e.errors_at_end)}")
        moves[key] = moves.get(key, 0) + 1
    at_cap = sum(e.settled_at is None and e.regime_at_end != "diverged" for e in ends)
    later = sum(e.settled_later for e in ends)
    continued = [e for e in ends if e.end_epochs > e.budget]
    text = (f"; past the budget {len(changed)} of {len(ends)} runs changed regime by their final "
            f"errors" + (f" ({', '.join(f'{k} {v}' for k, v in moves.items())})" if moves else "")
            + (f", {later} still moving at the budget settled" if later else "")
            + (f"; {len(continued)} continued, to at most "
               f"{max(e.end_epochs for e in continued):,} epochs (cap {CAP_EPOCHS:,} epochs or "
               f"{CAP_STEPS:,} steps)" if continued else "; none needed continuing"))
    return text + (f", {at_cap} still moving at the cap" if at_cap else "")


def at_horizon(finding: Finding, horizon: str, runs: list[dict]) -> Finding:
    """The finding judged at `horizon` on `runs`; at the end state its text says what the
    continuation changed (`end_note`)."""
    if horizon != "end":
        return replace(finding, horizon=horizon)
    return replace(finding, horizon=horizon, observed=finding.observed.rstrip(".")
                   + end_note(runs) + ".")


def budget_rows(runs: list[dict]) -> list[dict]:
    """What decides a synthetic experiment's outcome, at the paper's budget and at these runs':
    epochs; steps at the largest batch (floor(n/B) per epoch, or floor(epochs*n/B) with
    shuffle-carry; the fewest of any run); lr x steps
    (how far weights can travel: Adam's step is about lr per coordinate); lr x lambda x steps (how
    much decay acts; AdamW shrinks W by (1 - lr*lambda) per step). Paper column: the same configs
    at PAPER_EPOCHS. Rows: {"quantity", "paper", "this run"} (swappable for a general scale-down
    table later)."""
    cfgs = [r["config"] for r in runs if "lr" in r["config"] and "batch_size" in r["config"]]
    if not cfgs:
        return []
    big = max(c["batch_size"] for c in cfgs)
    at_big = [c for c in cfgs if c["batch_size"] == big]
    sampler = at_big[0].get("sampler", "shuffle")
    steps = lambda c, e: steps_after(c["n"], big, c.get("sampler", "shuffle"), e)  # noqa: E731
    spe = at_big[0]["n"] / big if sampler == CARRY else at_big[0]["n"] // big

    def num(x) -> str:  # counts in full (10,000 epochs), products to 3 significant digits
        return f"{x:,}" if isinstance(x, int) else fmt_number(float(x))

    def span(values) -> str:
        lo, hi = min(values), max(values)
        return num(lo) if lo == hi else f"{num(lo)}–{num(hi)}"

    def row(quantity, of):
        return {"quantity": quantity, "paper": span([of(c, PAPER_EPOCHS) for c in at_big]),
                "this run": span([of(c, c["epochs"]) for c in at_big])}

    return [row("epochs", lambda c, e: e),
            row(f"steps at the largest batch B = {big} ({num(spe)} per epoch)", steps),
            row("lr × steps (how far weights can travel)", lambda c, e: c["lr"] * steps(c, e)),
            row("lr × λ × steps (how much decay acts)",
                lambda c, e: c["lr"] * c["weight_decay"] * steps(c, e))]


def budget_note(runs: list[dict]) -> str:
    """The first paragraph of a synthetic item: the paper's budget, or how far below it these
    runs are (the table beside it holds the arithmetic)."""
    rows = budget_rows(runs)
    if not rows:
        return ""
    epochs = sorted({r["config"]["epochs"] for r in runs if "epochs" in r["config"]})
    steps, travel, decay = rows[1], rows[2], rows[3]
    if epochs == [PAPER_EPOCHS]:
        return (f"**Budget: the paper's**, {PAPER_EPOCHS:,} epochs per run (App. D.2): "
                f"{steps['quantity']}: {steps['this run']}, lr × steps = {travel['this run']}, "
                f"lr × λ × steps = {decay['this run']}.")
    text = ", ".join(f"{e:,}" for e in epochs)
    return (f"**Budget cut: {text} epochs per run instead of the paper's {PAPER_EPOCHS:,}**, so "
            f"at the largest batch the weights can travel lr × steps = {travel['this run']} "
            f"(paper: {travel['paper']}) and decay acts lr × λ × steps = {decay['this run']} "
            f"(paper: {decay['paper']}); see the budget table. Runs still moving at the end are "
            f"counted apart (How to read this report).")


def budget_tables(runs: list[dict], name: str) -> list:
    """The budget table (only when the runs are off the paper's budget)."""

    epochs = {r["config"].get("epochs") for r in runs}
    rows = budget_rows(runs)
    if not rows or epochs == {PAPER_EPOCHS}:
        return []
    return [TableItem(f"{name}-budget", rows, per_seed=False,
                      caption="Budget: what decides the outcome, the paper's vs these runs'.")]


def stats_of(runs: list[dict], metric: str) -> Stats:
    return Stats.of(r["final"].get(metric) if r["status"] == "ok" else None for r in runs)


def config_of(run: dict) -> SyntheticConfig:
    return config_from_dict(run["config"])


def caption_config(runs: list[dict], varying: tuple[str, ...]) -> dict:
    """The settings shared by the runs behind a figure (what varies is named separately)."""
    first = dict(runs[0]["config"])
    shared = {k: v for k, v in first.items()
              if k not in varying and all(r["config"].get(k) == v for r in runs)}
    shared["varies"] = ", ".join(varying)
    return shared


def fmt(x) -> str:
    return "n/a" if x is None or x != x else f"{x:.3f}"

