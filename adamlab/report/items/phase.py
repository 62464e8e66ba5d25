"""Phase diagrams: test error over batch size x weight decay, with the theory's regimes (Thms
4.1-4.5, Cor 4.3), beside a baseline that ignores weight decay, and Cor 4.6 read from each
optimiser's bracket of usable weight decay."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping, Sequence

from ...core.formatting import fmt_number
from ...core.stats import agreement, group_runs
from ...core.verdicts import Finding
from ...optim.registry import label
from ...synthetic import theory
from ...synthetic.regimes import REGIME_WORDS
from .. import figures as F
from ..context import (Context, at_horizon, budget_note, budget_tables, caption_config, config_of,
                       stats_of)
from ..interactive import phase_interactive
from ..page import FigureItem, Section, TableItem
from ..regimes import cell_regime, one_seed_majority, settled_share

# A phase diagram reproduces the theory when the observed regime matches the predicted one in at
# least this share of the cells where the theory decides a regime (and both are settled).
AGREEMENT_BAR = 0.75
DECIDED = ("learns_feature", "memorises_noise", "stuck_at_init")
# Cor 4.6 ("a much larger weight decay"): AdamW's largest learning weight decay at least this
# factor above Adam's, one decade.
WD_RANGE_FACTOR = 10


def judge_cell(predicted: str, observed: str) -> tuple[bool, bool]:
    """(counted, still moving) for one cell: counted when the theory decides its regime (one of
    DECIDED) and the cell has settled runs; still moving when decided but most seeds still move.
    A cell without runs ("no runs") is neither."""
    decided = predicted in DECIDED
    return (decided and observed not in ("still_moving", "no runs"),
            decided and observed == "still_moving")


def phase_verdict(agree: int, judged: int, moving: int) -> str:
    """"reproduced" when observed = predicted in at least AGREEMENT_BAR of the judged cells;
    else "partly reproduced" when in any, "not reproduced" when in none; with no judged cell,
    "still moving" (some decided cells still move) or "not measured"."""
    if not judged:
        return "still moving" if moving else "not measured"
    if agree / judged >= AGREEMENT_BAR:
        return "reproduced"
    return "partly reproduced" if agree else "not reproduced"


@dataclass(frozen=True)
class Bracket:
    """Where one optimiser stops generalising on its weight-decay grid: `top`, the largest λ at
    which some cell (any batch size) mostly learned the feature (None: none did); `fail`, the
    smallest λ above `top` at which every cell settled and none learned (None: the bracket is
    open, the grid does not reach where it fails); `moving`: some λ above `top` is undecided
    (a cell still moving, none learned), so an open bracket may close once runs settle."""

    top: float | None
    fail: float | None
    moving: bool = False

    @property
    def closed(self) -> bool:
        return self.fail is not None

    def text(self) -> str:
        """'learns up to 0.001, fails from 0.01' / 'learns up to 5 (the grid's top: open)'."""
        top = "learns nowhere on the grid" if self.top is None else \
            f"learns up to {fmt_number(self.top)}"
        if self.closed:
            return f"{top}, fails from {fmt_number(self.fail)}"
        return f"{top} (bracket open{': larger λ still moving' if self.moving else ''})"


def weight_decay_bracket(regimes: Mapping[float, Sequence[str]]) -> Bracket:
    """The Bracket of one optimiser from λ -> its cells' regimes (report/regimes.py
    `cell_regime` of each batch size): λ works when some cell is "learns_feature", fails when
    it has cells, every one settled ("still_moving" and "no runs" are not), and none learns."""
    lams = sorted(regimes)
    works = [lam for lam in lams if "learns_feature" in regimes[lam]]
    top = max(works) if works else None
    above = [lam for lam in lams if top is None or lam > top]
    decided = lambda lam: regimes[lam] and not any(  # noqa: E731
        r in ("still_moving", "no runs") for r in regimes[lam])
    fails = [lam for lam in above if decided(lam)]
    return Bracket(top, min(fails) if fails else None,
                   moving=any(not decided(lam) for lam in above))


def weight_decay_range_verdict(adam: Bracket, adamw: Bracket) -> str:
    """Cor 4.6, read from the two brackets: AdamW's largest working λ at least WD_RANGE_FACTOR
    times Adam's. Adam's largest working λ A lies in [adam.top, adam.fail), AdamW's W in
    [adamw.top, adamw.fail).
    * reproduced: Adam's bracket is closed and adamw.top >= WD_RANGE_FACTOR x adam.top (where
      Adam learns nowhere on its grid: x adam.fail, its smallest λ); AdamW's bracket may be
      open, its W only larger.
    * not reproduced: AdamW learns nowhere on a settled grid, or AdamW's bracket is closed and
      adamw.top < WD_RANGE_FACTOR x adam.top (Adam's may be open: its A only larger).
    * otherwise the grids do not decide it: "still moving" where an open bracket has λ still
      moving, else "not measured" (a bracket open at the grid's top: extend the grid)."""
    if adamw.top is None:
        return "not reproduced" if adamw.closed else "still moving" if adamw.moving \
            else "not measured"
    adam_top = adam.top if adam.top is not None else adam.fail
    if adam_top is None:  # Adam's grid decided nothing
        return "still moving" if adam.moving else "not measured"
    enough = adamw.top >= WD_RANGE_FACTOR * adam_top
    if enough and adam.closed:
        return "reproduced"
    if not enough and adamw.closed:
        return "not reproduced"
    open_one = adam if enough else adamw
    return "still moving" if open_one.moving else "not measured"


def best_threshold(cells: Iterable[tuple[float, str]]) -> tuple[float, int, int]:
    """The baseline that ignores weight decay: over the decided cells (batch size, observed
    regime), the threshold B* among 0 and the cells' batch sizes for which "learns the feature
    iff B <= B*" matches the most cells. (B*, agreeing, cells); ties go to the smallest B*."""
    cells = list(cells)
    best = (0.0, -1, len(cells))
    for b_star in [0.0] + sorted({b for b, _ in cells}):
        k = sum((b <= b_star) == (obs == "learns_feature") for b, obs in cells)
        if k > best[1]:
            best = (b_star, k, len(cells))
    return best[0], max(best[1], 0), best[2]


def learns_agreement(cells: Iterable[tuple[str, str]]) -> int:
    """How many (predicted, observed) cells agree on "learns the feature or not" (the
    baseline's question, asked of the theory)."""
    return sum((p == "learns_feature") == (o == "learns_feature") for p, o in cells)


@dataclass
class PhaseJudgement:
    """One optimiser's phase diagram judged: per-cell rows and grids (for the table and the
    heatmap), the agreement counts, the baseline's cells, the cells near a boundary, and the
    optimiser's weight-decay bracket."""

    bs: list
    wds: list
    cells: dict
    predicted: list
    rows: list = field(default_factory=list)
    grid: list = field(default_factory=list)
    moving_grid: list = field(default_factory=list)
    near_grid: list = field(default_factory=list)
    agree: int = 0
    judged: int = 0
    moving: int = 0
    thin: int = 0
    decided_cells: list = field(default_factory=list)  # (batch size, observed, predicted)
    near_cells: list = field(default_factory=list)
    bracket: Bracket | None = None
    share: str = ""

    def rate(self) -> str:
        """'12 of 16 (75%, Clopper-Pearson 95% CI 48%–93%)' and its notes."""
        if not self.judged:
            return "no decided, settled cells"
        lo, hi = agreement(self.agree, self.judged).ci95
        fragile = (f"; the Clopper-Pearson interval straddles the {AGREEMENT_BAR:.0%} bar, so "
                   f"the verdict rests on a few cells" if lo < AGREEMENT_BAR <= hi else "")
        thin = f"; {self.thin} of these cells' majorities rest on one seed" if self.thin else ""
        return (f"{self.agree} of {self.judged} ({self.agree / self.judged:.0%}, "
                f"Clopper-Pearson 95% CI {lo:.0%}–{hi:.0%}){fragile}{thin}")


def judge_phase(runs: list[dict]) -> PhaseJudgement:
    """Judge one optimiser's phase-diagram runs cell by cell against the theory's regimes."""
    bs = sorted({r["config"]["batch_size"] for r in runs})
    wds = sorted({r["config"]["weight_decay"] for r in runs})
    cells = group_runs(runs, ("weight_decay", "batch_size"))
    j = PhaseJudgement(bs, wds, cells, theory.regime_grid(config_of(runs[0]), bs, wds))
    for i, wd in enumerate(wds):
        line, moving_line, near_line = [], [], []
        for jb, b in enumerate(bs):
            rs = cells.get((wd, b), [])
            te = stats_of(rs, "test_error")
            line.append(te.mean if te.n else None)
            obs = cell_regime(rs) if rs else "no runs"
            moving_line.append(obs == "still_moving")
            pred = j.predicted[i][jb]
            near_line.append(pred == "borderline")
            if pred == "borderline" and obs != "no runs":
                j.near_cells.append(obs)
            counted, still = judge_cell(pred, obs)
            j.moving += still
            if counted:
                j.judged += 1
                j.agree += obs == pred
                j.thin += one_seed_majority(rs)
                j.decided_cells.append((b, obs, pred))
            j.rows.append({"weight_decay": wd, "batch_size": b, "test_error": te,
                           "train_error": stats_of(rs, "train_error"),
                           "settled": f"{settled_share(rs)[0]} of {len(rs)}",
                           "predicted": pred, "observed": obs,
                           "agrees": (obs == pred) if counted else None})
        j.grid.append(line)
        j.moving_grid.append(moving_line)
        j.near_grid.append(near_line)
    j.bracket = weight_decay_bracket({wd: [cell_regime(rs) for (w, _), rs in cells.items()
                                           if w == wd] for wd in wds})
    settled, finished = settled_share(runs)
    j.share = (f"{settled} of {finished} runs settled ({settled / finished:.0%})" if finished
               else "no finished runs")
    return j


def phase_finding(opt: str, j: PhaseJudgement) -> Finding:
    """The claim that the theory's regimes match the runs, for one optimiser."""
    return Finding(
        f"{label(opt)}: the theory's regime (which side of each boundary a cell is on) "
        f"matches what the runs do.",
        f"observed = predicted in {j.rate()} of the settled cells where the theory decides a "
        f"regime (borderline / outside-theory cells are not counted); "
        f"{baseline_text(j.decided_cells)}; {near_text(j.near_cells)}; {j.share}.",
        phase_verdict(j.agree, j.judged, j.moving), still_moving=j.moving,
        unit="decided cells", claim_id=f"phase.{opt}", decided=j.judged)


def cor46_finding(brackets: dict[str, Bracket]) -> Finding:
    """Cor 4.6 from the two optimisers' weight-decay brackets."""
    adam = brackets.get("adam", Bracket(None, None))
    adamw = brackets.get("adamw", Bracket(None, None))
    return Finding(
        "Cor 4.6: AdamW generalises up to a much larger weight decay than Adam (Adam only "
        "below about σ0^(q-2); AdamW up to O(1)).",
        f"largest weight decay at which a cell (any batch size) mostly learned the feature, "
        f"bracketed by the next one at which every cell settled without learning: Adam "
        f"{adam.text()}; AdamW {adamw.text()}; the rule asks AdamW's ≥ "
        f"{WD_RANGE_FACTOR} × Adam's with the brackets deciding it (Adam's closed for "
        f"'reproduced', AdamW's for 'not reproduced'; still-moving cells count for "
        f"neither).", weight_decay_range_verdict(adam, adamw), claim_id="phase.cor46",
        decided=sum(b.top is not None or b.closed for b in (adam, adamw)))


def item_phase(ctx: Context, findings: list[Finding]) -> list[Section]:
    sections = []
    brackets: dict[str, dict[str, Bracket]] = {}  # horizon -> optimiser -> bracket
    for preset in ("phase-adam", "phase-adamw"):
        runs, _ = ctx.runs(preset)
        if not runs:
            continue
        opt = runs[0]["config"]["optimizer"]
        for horizon, hruns in ctx.horizons(runs):
            judged = judge_phase(hruns)
            brackets.setdefault(horizon, {})[opt] = judged.bracket
            findings.append(at_horizon(phase_finding(opt, judged), horizon, hruns))
            if horizon == "paper":
                j = judged
        bs, wds = j.bs, j.wds
        fig = F.phase_heatmap(bs, wds, j.grid, j.predicted,
                              f"{label(opt)}: test error over batch size × weight decay",
                              lines=theory.boundary_lines(config_of(runs[0]), bs, wds),
                              still_moving=j.moving_grid, near_boundary=j.near_grid)
        baseline, near = baseline_text(j.decided_cells), near_text(j.near_cells)
        sections.append(Section(
            f"Phase diagram: {label(opt)}",
            [budget_note(runs),
             f"{len(runs)} runs: batch size {bs} × weight decay {wds} × seeds "
             f"{sorted({r['config']['seed'] for r in runs})}, {runs[0]['config']['epochs']} "
             f"epochs; {j.share}. Letters: the theory's predicted regime per cell (F learns the "
             f"feature, N memorises noise, S stuck at initialisation, B borderline, ? outside the "
             f"theorems); hatched: still moving ({sum(map(sum, j.moving_grid))} cells, counted in "
             f"no claim); dotted with an orange outline: near a theory boundary "
             f"({sum(map(sum, j.near_grid))} cells, shown, counted in no claim). Agreement: "
             f"{j.rate()}. Baseline: {baseline}. {near[0].upper() + near[1:]}."
             + (" The figure and table are at the paper's budget; the end state's agreement "
                "is in What we found." if ctx.end_state else "")],
            budget_tables(runs, preset)
            + [TableItem(f"{preset}-table", j.rows, caption="Predicted vs observed regime per "
                         "cell (observed: the majority of the settled seeds).")],
            [FigureItem(preset, fig, caption="Mean test error over seeds; lines: the theory's "
                        "boundaries with hidden constants set to 1 (orders of magnitude); "
                        "hatched cells: still moving; dotted cells: near a boundary.",
                        command=ctx.item_command("phase"),
                        config=caption_config(runs, ("batch_size", "weight_decay", "seed")),
                        interactive=phase_interactive(  # hover: seeds; click: trajectories
                            ctx.store, preset, f"{label(opt)}: test error", bs, wds, j.cells,
                            j.grid, j.predicted, j.moving_grid))]))
    for horizon, by_opt in brackets.items():
        findings.append(replace(cor46_finding(by_opt), horizon=horizon))
    return sections


def baseline_text(cells: Sequence[tuple[float, str, str]]) -> str:
    """The theory's agreement on "learns the feature or not" beside the best batch-size
    threshold that ignores weight decay, over the same decided, settled cells."""
    if not cells:
        return "no decided, settled cells for a baseline"
    b_star, k, n = best_threshold((b, obs) for b, obs, _ in cells)
    theory_k = learns_agreement((pred, obs) for _, obs, pred in cells)
    rule = "nothing learns" if b_star == 0 else f"B ≤ {fmt_number(b_star)} learns"
    beats = ("beats" if theory_k > k else "ties with" if theory_k == k else "trails")
    return (f"on \"learns the feature or not\" the theory matches {theory_k} of {n} cells and "
            f"the best rule that ignores weight decay ({rule}) {k} of {n}: the theory {beats} "
            f"it")


def near_text(observed: Sequence[str]) -> str:
    """What the cells near a theory boundary did (shown, not counted)."""
    if not observed:
        return "no cell lies near a theory boundary"
    counts = {o: observed.count(o) for o in dict.fromkeys(observed)}
    return (f"{len(observed)} cells near a theory boundary (not counted) observed "
            + ", ".join(f"{REGIME_WORDS.get(o, o.replace('_', ' '))} {k}"
                        for o, k in counts.items()))
