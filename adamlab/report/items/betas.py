"""Robustness of the large- vs mini-batch gap to (beta1, beta2) (the paper's Figs 9-10)."""
from __future__ import annotations

from .. import figures as F
from ..context import Context, caption_config, group_runs, label, stats_of
from ..page import FigureItem, Section, TableItem
from ..regimes import (LEARNS_TEST_ERROR, MEMORISES_TEST_ERROR, MINI_BATCH_MAX, Finding,
                       verdict)


def item_betas(ctx: Context, findings: list[Finding]) -> list[Section]:
    runs, _ = ctx.runs("betas")
    rows, figs = [], []
    k = n = 0
    for opt in ("adam", "adamw"):
        bars = []
        mine = [r for r in runs if r["config"]["optimizer"] == opt]
        groups = group_runs(mine, ("beta1", "beta2"))
        for (b1, b2), rs in groups.items():
            by_b = group_runs(rs, ("batch_size",))
            large = [r for (b,), g in by_b.items() if b > MINI_BATCH_MAX for r in g]
            mini = [r for (b,), g in by_b.items() if b <= MINI_BATCH_MAX for r in g]
            te_mini, te_large = stats_of(mini, "test_error"), stats_of(large, "test_error")
            # The gap holds when mini batch generalises and large batch does not (the regime
            # thresholds), not merely when one mean is below the other.
            holds = (te_mini.n > 0 and te_large.n > 0 and te_mini.mean < LEARNS_TEST_ERROR
                     and te_large.mean >= MEMORISES_TEST_ERROR)
            n += 1
            k += bool(holds)
            rows.append({"optimizer": label(opt), "beta1": b1, "beta2": b2,
                         "test_error_large_batch": te_large,
                         "test_error_mini_batch": te_mini,
                         "gap holds": holds})
            bars.append({"label": f"β=({b1:g}, {b2:g})",
                         "test error, large batch": list(te_large.values),
                         "test error, mini batch": list(te_mini.values)})
        if bars:
            figs.append(FigureItem(f"betas-{opt}", F.error_bars_figure(
                bars, f"{label(opt)}: test error across (β1, β2)",
                metrics=("test error, large batch", "test error, mini batch"),
                ylabel="test error"),
                caption=f"{label(opt)}, each (β1, β2) pair with β1² < β2.",
                command=f"{ctx.command} betas",
                config=caption_config(runs, ("optimizer", "beta1", "beta2", "batch_size",
                                              "seed"))))
    findings.append(Finding("The large- vs mini-batch gap holds across (β1, β2) with β1² < β2 "
                            "(robustness, Figs 9-10).",
                            f"mini batch generalises (mean test error < {LEARNS_TEST_ERROR}) and "
                            f"large batch does not (≥ {MEMORISES_TEST_ERROR}) for {k} of {n} "
                            f"(optimiser, β1, β2) combinations.", verdict(k, n)))
    table = TableItem("betas", rows, caption="Test error per (β1, β2), large vs mini batch.")
    return [Section("Robustness to (β1, β2)", [f"{len(runs)} runs."], [table], figs)]

