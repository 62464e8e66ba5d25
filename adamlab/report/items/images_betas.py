"""Real images: the paper's robustness check over (beta1, beta2) (its appendix, Figs 9-10): the
batch-size gap of Adam, smallest vs largest batch, per pair of the paper's grid, at the size the
scale-down rule gives a CPU (adamlab/images/scaledown.py; preset images-betas.toml)."""
from __future__ import annotations

from ...core.stats import group_runs, summarise
from ...core.verdicts import Finding, agrees, verdict
from ...images.rules import SHARP_RISE, betas_gap, decided_seeds, values
from ...optim.registry import label
from .. import figures as F
from ..context import Context, caption_config
from ..page import FigureItem, Section, TableItem
from .images import _time_text, protocol_table

# CIFAR's betas (docs/paper.md "Experiments"): the pair the paper's Fig 1 used, shown first.
REFERENCE = (0.9, 0.99)


def judge_betas(pairs: dict[tuple[float, float], tuple[bool, str]]) -> tuple[str, int, int]:
    """(verdict, holding, pairs) over the grid's pairs: every pair holds, reproduced; some,
    partly; none, not reproduced (`verdict`)."""
    k = sum(holds for holds, _ in pairs.values())
    return verdict(k, len(pairs)), k, len(pairs)


def item_images_betas(ctx: Context, findings: list[Finding]) -> list[Section]:
    runs, _ = ctx.runs("images-betas")
    metric = "test_error"
    bs = sorted({r["config"]["batch_size"] for r in runs})
    small_b, large_b = bs[0], bs[-1]
    pairs, rows, series, seeds_per_pair = {}, [], [], []
    groups = group_runs(runs, ("beta1", "beta2"))
    order = sorted(groups, key=lambda p: (p != REFERENCE, p))
    for b1, b2 in order:
        by_b = {b: rs for (b,), rs in group_runs(groups[(b1, b2)], ("batch_size",)).items()}
        small, large = by_b.get(small_b, []), by_b.get(large_b, [])
        holds, why = betas_gap(small, large, metric, runs)
        pairs[(b1, b2)] = (holds, why)
        seeds_per_pair.append(decided_seeds(values(small, metric), values(large, metric)))
        rows.append({"beta1": b1, "beta2": b2,
                     f"test_error B={small_b}": summarise(values(small, metric)),
                     f"test_error B={large_b}": summarise(values(large, metric)),
                     f"train_error B={large_b}": summarise(values(large, "train_error")),
                     "gap holds": holds, "why": why})
        seeds = sorted({r["config"]["seed"] for r in groups[(b1, b2)]})
        series.append({"label": f"β = ({b1:g}, {b2:g})", "values": [
            [next((r["final"].get(metric) for r in by_b.get(b, []) if r["config"]["seed"] == s
                   and r["status"] == "ok"), None) for b in bs] for s in seeds]})
    word, k, n = judge_betas(pairs)
    failing = [f"({b1:g}, {b2:g}): {why}" for (b1, b2), (h, why) in pairs.items()
               if not h and (b1, b2) != REFERENCE]
    ref = pairs.get(REFERENCE)
    ref_text = ("" if ref is None else f"; at CIFAR's betas {REFERENCE} the gap "
                f"{'holds' if ref[0] else 'does not hold'} ({ref[1]})")
    first = runs[0]["config"]
    findings.append(Finding(
        f"Real images ({label(first['optimizer'])}): the batch-size effect (test error higher at "
        f"the largest batch than at the smallest) holds across (β1, β2) ∈ {{0, 0.5, 0.9}} × "
        f"{{0.5, 0.9, 0.95}} with β1² < β2, and (0.9, 0.99) (robustness, Figs 9-10).",
        f"B = {large_b} vs B = {small_b}, per pair: {agrees(k, n, 'pairs')}{ref_text}"
        + (f"; not for {'; '.join(failing)}" if failing else "") + ".",
        word, unit="pairs", claim_id="images.betas", decided=min(seeds_per_pair, default=0),
        scaled=True))  # a CPU scale-down of the paper's CIFAR-10 grid, always
    fig = F.sweep_line_figure(bs, series, "batch size B", ylabel="test error", chance=None,
                              title=f"{first['arch']} on {first['dataset']}: "
                              f"{label(first['optimizer'])} over (β1, β2)")
    intro = [f"{len(runs)} runs: {first['dataset']} (n = {first.get('subset') or 'all'}), "
             f"{first['arch']}, {label(first['optimizer'])} lr {first['lr']:g}, λ = "
             f"{first['weight_decay']:g}, {first['epochs']} epochs, B ∈ {bs}, {len(pairs)} "
             f"(β1, β2) pairs. A pair's gap holds when the test error at B = {large_b} is above "
             f"that at B = {small_b} beyond the seeds' spread (a one-sided exact permutation test "
             f"at 0.05 below 10 seeds a side, the 95% bootstrap interval of the gap from 10) and "
             f"by at least {SHARP_RISE}, Fig 1's bar, and the smaller batch "
             f"learned something." + _time_text(ctx, runs)]
    return [Section("Real images: the batch-size gap across (β1, β2) (robustness)", intro, [
        protocol_table("images-betas", "images-betas", runs),
        TableItem("images-betas-table", rows, caption="Per (β1, β2): test error at the smallest "
                  "and largest batch (mean ± std, per-seed values), the largest batch's train "
                  "error, and whether the gap holds.")],
        [FigureItem("images-betas", fig, caption="Test error against batch size, one line per "
                    "(β1, β2); points are seeds.", command=ctx.item_command("images-betas"),
                    config=caption_config(runs, ("beta1", "beta2", "batch_size", "seed")))])]
