"""Robustness of the large- vs mini-batch gap to (beta1, beta2) (the paper's Figs 9-10)."""
from __future__ import annotations

from ...core.formatting import fmt_number
from ...core.stats import group_runs
from ...core.verdicts import Finding, agrees, straddles, verdict
from ...optim.registry import label
from ...synthetic.regimes import LEARNS_TEST_ERROR, MEMORISES_TEST_ERROR
from .. import figures as F
from ..context import Context, budget_note, budget_tables, caption_config, stats_of
from ..page import FigureItem, Section, TableItem
from ..tables import Stats
from ..regimes import MINI_BATCH_MAX, cell_regime, settled_share, split_moving


def judge_combination(large: list[dict], mini: list[dict]) -> tuple[bool, bool, Stats, Stats]:
    """One (beta1, beta2) combination: (still moving, gap holds, large-batch and mini-batch test
    error over the settled seeds). Still moving when the large- or mini-batch cell is (most
    seeds did not settle): counted neither for nor against the claim. The gap holds when mini
    batch generalises and large batch does not (the regime thresholds on the settled seeds'
    means: mean < LEARNS_TEST_ERROR and mean >= MEMORISES_TEST_ERROR), not merely when one mean
    is below the other."""
    still = cell_regime(large) == "still_moving" or cell_regime(mini) == "still_moving"
    te_mini = stats_of(split_moving(mini)[0], "test_error")
    te_large = stats_of(split_moving(large)[0], "test_error")
    holds = (not still and te_mini.n > 0 and te_large.n > 0
             and te_mini.mean < LEARNS_TEST_ERROR and te_large.mean >= MEMORISES_TEST_ERROR)
    return still, holds, te_large, te_mini


def item_betas(ctx: Context, findings: list[Finding]) -> list[Section]:
    runs, _ = ctx.runs("betas")
    rows, figs = [], []
    k = n = moving = 0
    fragile, failing, large_means = [], [], []
    for opt in ("adam", "adamw"):
        bars = []
        mine = [r for r in runs if r["config"]["optimizer"] == opt]
        groups = group_runs(mine, ("beta1", "beta2"))
        for (b1, b2), rs in groups.items():
            by_b = group_runs(rs, ("batch_size",))
            large = [r for (b,), g in by_b.items() if b > MINI_BATCH_MAX for r in g]
            mini = [r for (b,), g in by_b.items() if b <= MINI_BATCH_MAX for r in g]
            name = f"{label(opt)} β=({b1:g}, {b2:g})"
            still, holds, te_large, te_mini = judge_combination(large, mini)
            if still:
                moving += 1
            else:
                n += 1
                k += bool(holds)
                large_means.append(te_large.mean)
                if not holds:
                    failing.append(f"{name} (large batch {fmt_number(te_large.mean)})")
                if (straddles(te_large, MEMORISES_TEST_ERROR)
                        or straddles(te_mini, LEARNS_TEST_ERROR)):
                    fragile.append(name)
            rows.append({"optimizer": label(opt), "beta1": b1, "beta2": b2,
                         "test_error_large_batch": stats_of(large, "test_error"),
                         "test_error_mini_batch": stats_of(mini, "test_error"),
                         "settled": f"{settled_share(rs)[0]} of {len(rs)}",
                         "gap holds": "still moving" if still else holds})
            bars.append({"label": f"β=({b1:g}, {b2:g})",
                         "test error, large batch": list(stats_of(large, "test_error").values),
                         "test error, mini batch": list(stats_of(mini, "test_error").values)})
        if bars:
            figs.append(FigureItem(f"betas-{opt}", F.error_bars_figure(
                bars, f"{label(opt)}: test error across (β1, β2)",
                metrics=("test error, large batch", "test error, mini batch"),
                ylabel="test error"),
                caption=f"{label(opt)}, each (β1, β2) pair with β1² < β2.",
                command=ctx.item_command("betas"),
                config=caption_config(runs, ("optimizer", "beta1", "beta2", "batch_size",
                                              "seed"))))
    settled, finished = settled_share(runs)
    share = f"{settled} of {finished} runs settled ({settled / finished:.0%})" if finished \
        else "no finished runs"
    spread = (f"; the settled large-batch means range {fmt_number(min(large_means))}–"
              f"{fmt_number(max(large_means))}" if large_means else "")
    findings.append(Finding(
        "The large- vs mini-batch gap holds across (β1, β2) with β1² < β2 (robustness, Figs "
        "9-10).",
        f"mini batch generalises (settled seeds' mean test error < {LEARNS_TEST_ERROR}) and large "
        f"batch does not (≥ {MEMORISES_TEST_ERROR}) for {agrees(k, n, 'combinations')}{spread}"
        + (f"; not for {', '.join(failing)}" if failing else "")
        + (f"; the settled seeds' test errors straddle a threshold for {', '.join(fragile)}, "
           f"so one seed could flip it" if fragile else "") + f"; {share}.",
        verdict(k, n, moving), still_moving=moving, unit="combinations", claim_id="betas"))
    table = TableItem("betas", rows, caption="Test error per (β1, β2), large vs mini batch "
                      "(all seeds); 'gap holds' is judged on the settled seeds.")
    intro = [budget_note(runs), f"{len(runs)} runs; {share}: a combination whose large- or "
             f"mini-batch seeds mostly did not settle is still moving and not counted."]
    return [Section("Robustness to (β1, β2)", intro, budget_tables(runs, "betas") + [table],
                    figs)]
