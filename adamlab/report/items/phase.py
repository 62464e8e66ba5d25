"""Phase diagrams: test error over batch size x weight decay, with the theory's regimes."""
from __future__ import annotations

from ...core.stats import agreement, group_runs
from ...core.verdicts import Finding
from ...optim.registry import label
from ...synthetic import theory
from .. import figures as F
from ..context import Context, budget_note, budget_tables, caption_config, config_of, stats_of
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


def weight_decay_range_verdict(top_adam: float, top_adamw: float) -> str:
    """Cor 4.6: reproduced when AdamW's largest weight decay whose cell mostly learned the
    feature is positive and at least WD_RANGE_FACTOR times Adam's (0 where none learned)."""
    return ("reproduced" if top_adamw > 0 and top_adamw >= WD_RANGE_FACTOR * top_adam
            else "not reproduced")


def item_phase(ctx: Context, findings: list[Finding]) -> list[Section]:
    sections = []
    best_ranges = {}
    moving_cells = 0  # cells of either diagram still moving (counted in no claim)
    for preset in ("phase-adam", "phase-adamw"):
        runs, _ = ctx.runs(preset)
        if not runs:
            continue
        opt = runs[0]["config"]["optimizer"]
        bs = sorted({r["config"]["batch_size"] for r in runs})
        wds = sorted({r["config"]["weight_decay"] for r in runs})
        cells = group_runs(runs, ("weight_decay", "batch_size"))
        base = config_of(runs[0])
        predicted = theory.regime_grid(base, bs, wds)
        grid, moving_grid, rows = [], [], []
        agree = judged = moving = thin = 0
        for i, wd in enumerate(wds):
            line, moving_line = [], []
            for j, b in enumerate(bs):
                rs = cells.get((wd, b), [])
                te = stats_of(rs, "test_error")
                line.append(te.mean if te.n else None)
                obs = cell_regime(rs) if rs else "no runs"
                moving_line.append(obs == "still_moving")
                pred = predicted[i][j]
                counted, still = judge_cell(pred, obs)
                moving += still
                if counted:
                    judged += 1
                    agree += obs == pred
                    thin += one_seed_majority(rs)
                rows.append({"weight_decay": wd, "batch_size": b, "test_error": te,
                             "train_error": stats_of(rs, "train_error"),
                             "settled": f"{settled_share(rs)[0]} of {len(rs)}",
                             "predicted": pred, "observed": obs,
                             "agrees": (obs == pred) if counted else None})
            grid.append(line)
            moving_grid.append(moving_line)
        usable = [wd for wd in wds if any(  # a cell whose settled seeds mostly learned the feature
            cell_regime(rs) == "learns_feature" for (w, _), rs in cells.items() if w == wd)]
        best_ranges[opt] = (min(usable), max(usable)) if usable else None
        moving_cells += sum(map(sum, moving_grid))
        fig = F.phase_heatmap(bs, wds, grid, predicted,
                              f"{label(opt)}: test error over batch size × weight decay",
                              lines=theory.boundary_lines(base, bs, wds),
                              still_moving=moving_grid)
        settled, finished = settled_share(runs)
        share = (f"{settled} of {finished} runs settled ({settled / finished:.0%})" if finished
                 else "no finished runs")
        if judged:
            lo, hi = agreement(agree, judged).ci95
            rate = (f"{agree} of {judged} ({agree / judged:.0%}, Clopper-Pearson 95% CI "
                    f"{lo:.0%}–{hi:.0%})")
            fragile = (f"; the Clopper-Pearson interval straddles the {AGREEMENT_BAR:.0%} bar, "
                       f"so the verdict rests on a few cells" if lo < AGREEMENT_BAR <= hi else "")
            thin_note = (f"; {thin} of these cells' majorities rest on one seed" if thin else "")
        else:
            rate, fragile, thin_note = "no decided, settled cells", "", ""
        findings.append(Finding(
            f"{label(opt)}: the theory's regime (which side of each boundary a cell is on) "
            f"matches what the runs do.",
            f"observed = predicted in {rate} of the settled cells where the theory decides a "
            f"regime (borderline / outside-theory cells are not counted){fragile}{thin_note}; "
            f"{share}.",
            phase_verdict(agree, judged, moving),
            still_moving=moving, unit="decided cells", claim_id=f"phase.{opt}"))
        sections.append(Section(
            f"Phase diagram: {label(opt)}",
            [budget_note(runs),
             f"{len(runs)} runs: batch size {bs} × weight decay {wds} × seeds "
             f"{sorted({r['config']['seed'] for r in runs})}, {runs[0]['config']['epochs']} "
             f"epochs; {share}. Letters: the theory's predicted regime per cell (F learns the "
             f"feature, N memorises noise, S stuck at initialisation, B borderline, ? outside the "
             f"theorems); hatched: still moving ({sum(map(sum, moving_grid))} cells, counted in "
             f"no claim). Agreement: {rate}."],
            budget_tables(runs, preset)
            + [TableItem(f"{preset}-table", rows, caption="Predicted vs observed regime per "
                         "cell (observed: the majority of the settled seeds).")],
            [FigureItem(preset, fig, caption="Mean test error over seeds; lines: the theory's "
                        "boundaries with hidden constants set to 1 (orders of magnitude); "
                        "hatched cells: still moving.",
                        command=ctx.item_command("phase"),
                        config=caption_config(runs, ("batch_size", "weight_decay", "seed")),
                        interactive=phase_interactive(  # hover: seeds; click: trajectories
                            ctx.store, preset, f"{label(opt)}: test error", bs, wds, cells,
                            grid, predicted, moving_grid))]))
    a, w = best_ranges.get("adam"), best_ranges.get("adamw")
    if best_ranges:
        top_a, top_w = (a[1] if a else 0.0), (w[1] if w else 0.0)
        # No cell of either optimiser has learned yet while some still move: nothing to compare.
        undecided = a is None and w is None and moving_cells > 0
        findings.append(Finding(
            "Cor 4.6: AdamW generalises up to a much larger weight decay than Adam (Adam only "
            "below about σ0^(q-2); AdamW up to O(1)).",
            f"largest weight decay at which a cell's settled seeds mostly learned the feature: "
            f"Adam {top_a or 'none'}, AdamW {top_w or 'none'} (grids differ: see the phase "
            f"diagrams; still-moving cells count for neither).",
            "still moving" if undecided else weight_decay_range_verdict(top_a, top_w),
            still_moving=moving_cells if undecided else 0, unit="cells", claim_id="phase.cor46"))
    return sections
