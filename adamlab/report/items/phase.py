"""Phase diagrams: test error over batch size x weight decay, with the theory's regimes."""
from __future__ import annotations

from ... import theory
from .. import figures as F
from ..context import Context, caption_config, config_of, group_runs, label, stats_of
from ..page import FigureItem, Section, TableItem
from ..regimes import Finding, majority, observed_regime


def item_phase(ctx: Context, findings: list[Finding]) -> list[Section]:
    sections = []
    best_ranges = {}
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
        grid, rows = [], []
        agree = judged = 0
        for i, wd in enumerate(wds):
            line = []
            for j, b in enumerate(bs):
                rs = cells.get((wd, b), [])
                te = stats_of(rs, "test_error")
                line.append(te.mean if te.n else None)
                obs = majority([observed_regime(r) for r in rs]) if rs else "no runs"
                pred = predicted[i][j]
                decided = pred in ("learns_feature", "memorises_noise", "stuck_at_init")
                if decided and rs:
                    judged += 1
                    agree += obs == pred
                rows.append({"weight_decay": wd, "batch_size": b, "test_error": te,
                             "train_error": stats_of(rs, "train_error"), "predicted": pred,
                             "observed": obs,
                             "agrees": (obs == pred) if decided and rs else None})
            grid.append(line)
        usable = [wd for wd in wds if any(  # a cell whose seeds mostly learned the feature
            majority([observed_regime(r) for r in rs]) == "learns_feature"
            for (w, _), rs in cells.items() if w == wd)]
        best_ranges[opt] = (min(usable), max(usable)) if usable else None
        fig = F.phase_heatmap(bs, wds, grid, predicted,
                              f"{label(opt)}: test error over batch size × weight decay",
                              lines=theory.boundary_lines(base, bs, wds))
        rate = f"{agree} of {judged} ({agree / judged:.0%})" if judged else "no decided cells"
        findings.append(Finding(
            f"{label(opt)}: the theory's regime (which side of each boundary a cell is on) "
            f"matches what the runs do.",
            f"observed = predicted in {rate} of the cells where the theory decides a regime "
            f"(borderline / outside-theory cells are not counted).",
            "not measured" if not judged else "reproduced" if agree / judged >= 0.75 else
            ("partly reproduced" if agree else "not reproduced")))
        sections.append(Section(
            f"Phase diagram: {label(opt)}",
            [f"{len(runs)} runs: batch size {bs} × weight decay {wds} × seeds "
             f"{sorted({r['config']['seed'] for r in runs})}, {runs[0]['config']['epochs']} "
             f"epochs. Letters: the theory's predicted regime per cell (F learns the feature, N "
             f"memorises noise, S stuck at initialisation, B borderline, ? outside the "
             f"theorems). Agreement: {rate}."],
            [TableItem(f"{preset}-table", rows, caption="Predicted vs observed regime per cell.")],
            [FigureItem(preset, fig, caption="Mean test error over seeds; lines: the theory's "
                        "boundaries with hidden constants set to 1 (orders of magnitude).",
                        command=f"{ctx.command} phase",
                        config=caption_config(runs, ("batch_size", "weight_decay", "seed")))]))
    a, w = best_ranges.get("adam"), best_ranges.get("adamw")
    if a is not None or w is not None:
        top_a, top_w = (a[1] if a else 0.0), (w[1] if w else 0.0)
        findings.append(Finding(
            "Cor 4.6: AdamW generalises up to a much larger weight decay than Adam (Adam only "
            "below about σ0^(q-2); AdamW up to O(1)).",
            f"largest weight decay at which a cell's seeds mostly learned the feature: Adam "
            f"{top_a or 'none'}, AdamW {top_w or 'none'} (grids differ: see the phase diagrams).",
            "reproduced" if top_w >= 10 * top_a and top_w > 0 else "not reproduced"))
    return sections

