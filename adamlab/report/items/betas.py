"""Beyond the paper: the synthetic large- vs mini-batch gap over Adam's second-moment memory
beta2 (x batch size), with SignSGD / SignSGDW beside it, the small-step limit the paper reads
stochastic Adam as (Section 4). The paper's own (beta1, beta2) robustness grid is on real images:
report/items/images_betas.py."""
from __future__ import annotations

from ...core.formatting import fmt_number
from ...core.stats import group_runs
from ...core.verdicts import Finding, agrees, shares, verdict
from ...optim.registry import label
from ...synthetic.regimes import (LEARNS_TEST_ERROR, MEMORISES_TEST_ERROR, REGIME_WORDS,
                                  observed_regime)
from .. import figures as F
from ..context import Context, at_horizon, budget_note, budget_tables, caption_config, stats_of
from ..page import FigureItem, Section, TableItem
from ..tables import Stats
from ..regimes import cell_regime, settled_share, split_moving

# The gap compares the smallest batch (B = 2, n/B = 100 steps an epoch) with every batch of at
# least this size (B = 100 and 200: n/B = 2 and 1, the paper's large batch and full batch).
LARGE_BATCH_MIN = 100
# Each optimiser's sign-method counterpart, drawn beside it (the paper's small-step limit).
SIGN_OF = {"adam": "signsgd", "adamw": "signsgdw"}

MECHANISM = (
    "What this says about the paper's mechanism. Adam's step on a coordinate is "
    "m/√v; v averages g² over about 1/(1 − β2) steps (2 at β2 = 0.5, 1,000 at 0.999, 10^4 at "
    "0.9999), and as β2 shrinks that memory shortens until m/√v is the sign of a short average "
    "of g: Adam becomes SignSGD (AdamW SignSGDW), the limit in which the paper analyses it. "
    "The paper's explanation of the batch-size gap is per-coordinate normalisation: a noise "
    "coordinate of example i receives gradient only when i is in the batch, yet its step is "
    "about lr whenever it does, like the feature's, while weight decay erodes it in the "
    "n/B steps it is absent. If that is the mechanism, the gap should not need a long "
    "second-moment memory: it should hold at small β2 and look like SignSGD(W)'s there. "
    "With a long memory (β2 = 0.9999 spans 100 epochs at B = 2) a noise coordinate's v also "
    "averages the steps in which its example was absent, so its normalised step on each "
    "appearance can grow by up to about √(n/B) over the feature's (a reasoning, not a "
    "result: the grid tests it): the memory, not only the sign, "
    "decides how fast noise is memorised. Where the gap, or the largest batch that still "
    "learns, moves with β2, the sign picture alone does not explain these runs; where it is "
    "flat in β2 and matches SignSGD(W), it does. The table gives the largest batch size that "
    "learns the feature per β2 for that comparison, at the paper's budget (10^4 epochs) and, "
    "when the report judges it, at the end state (each run still moving at the budget "
    "continued until it settles).")


def judge_combination(large: list[dict], mini: list[dict]) -> tuple[bool, bool, Stats, Stats]:
    """One (optimiser, beta2) combination: (still moving, gap holds, large-batch and mini-batch
    test error over the settled seeds). Still moving when the large- or mini-batch cell is (most
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


def large_shares(large: list[dict]) -> str:
    """Each regime's share of the settled large-batch seeds, with their test errors."""
    judged = split_moving(large)[0]
    return shares([observed_regime(r) for r in judged],
                  list(stats_of(judged, "test_error").values), REGIME_WORDS, "test error")


def largest_learning_batch(by_batch: dict[int, list[dict]]) -> int | None:
    """The largest batch size whose cell (its seeds' majority, report/regimes.py `cell_regime`)
    learned the feature; None when none did."""
    learned = [b for b, rs in by_batch.items() if cell_regime(rs) == "learns_feature"]
    return max(learned) if learned else None


def combinations(runs: list[dict]):
    """Each (optimiser, β2) combination and each sign method's runs, with its verdict: yields
    (optimiser, name, β2 or None, runs, runs by batch size, still moving, holds, label)."""
    for opt in ("adam", "adamw"):
        for name in (opt, SIGN_OF[opt]):
            mine = [r for r in runs if r["config"]["optimizer"] == name]
            groups = group_runs(mine, ("beta2",)) if name == opt else ({(None,): mine}
                                                                     if mine else {})
            for (b2,), rs in groups.items():
                by_b = {b: g for (b,), g in sorted(group_runs(rs, ("batch_size",)).items())}
                large = [r for b, g in by_b.items() if b >= LARGE_BATCH_MIN for r in g]
                mini = by_b.get(min(by_b), []) if by_b else []
                still, holds, _, _ = judge_combination(large, mini)
                what = label(name) + (f" β2 = {b2:g}" if b2 is not None else "")
                yield opt, name, b2, rs, by_b, still, holds, what


def betas_finding(runs: list[dict]) -> Finding:
    """The extension's claim over every (optimiser, β2) combination: the gap holds in k of the
    n settled ones; the sign methods beside them."""
    k = n = moving = 0
    failing, sign_text = [], []
    for opt, name, _, _, by_b, still, holds, what in combinations(runs):
        if name == opt:
            moving += still
            if not still:
                n += 1
                k += holds
                if not holds:
                    large = [r for b, g in by_b.items() if b >= LARGE_BATCH_MIN for r in g]
                    failing.append(f"{what} (large batch: {large_shares(large)})")
        else:
            sign_text.append(f"{what}: gap " + ("still moving" if still else
                                                "holds" if holds else "does not hold"))
    bs = sorted({r["config"]["batch_size"] for r in runs})
    return Finding(
        "On the synthetic data, Adam's and AdamW's large- vs mini-batch gap holds at every β2 "
        "(β1 = 0.9), as for SignSGD(W).",
        f"mini batch (B = {bs[0] if bs else '?'}) generalises (settled seeds' mean test error < "
        f"{LEARNS_TEST_ERROR}) and large batch (B ≥ {LARGE_BATCH_MIN}) does not (≥ "
        f"{MEMORISES_TEST_ERROR}) for {agrees(k, n, 'combinations')}"
        + (f"; not for {'; '.join(failing)}" if failing else "")
        + (f"; beside them {', '.join(sign_text)}" if sign_text else "")
        + f"; {settled_text(runs)}.",
        verdict(k, n, moving), still_moving=moving, unit="combinations", claim_id="betas",
        decided=n)


def settled_text(runs: list[dict]) -> str:
    settled, finished = settled_share(runs)
    return (f"{settled} of {finished} runs settled ({settled / finished:.0%})" if finished
            else "no finished runs")


def table_rows(runs: list[dict], bs: list[int]) -> list[dict]:
    """One row per (optimiser, β2): test error per batch size, the largest batch that learns,
    how many runs settled and whether the gap holds (at the horizon the runs are read at)."""
    rows = []
    for opt, name, b2, rs, by_b, still, holds, what in combinations(runs):
        top = largest_learning_batch(by_b)
        row = {"optimizer": label(name), "beta2": "—" if b2 is None else b2,
               "memory 1/(1 − β2)": "—" if b2 is None else fmt_number(1 / (1 - b2))}
        for b in bs:
            row[f"test_error B={b}"] = stats_of(by_b.get(b, []), "test_error")
        row.update({"largest B that learns": top if top is not None else "none",
                    "settled": f"{settled_share(rs)[0]} of {len(rs)}",
                    "gap holds": "still moving" if still else holds})
        rows.append(row)
    return rows


TABLE_CAPTION = ("Test error per (optimiser, β2) and batch size (all seeds); 'largest B that "
                 "learns': the largest batch whose settled seeds mostly learned the feature; "
                 "'gap holds' is judged on the settled seeds of B = 2 against B ≥ 100.")


def item_betas(ctx: Context, findings: list[Finding]) -> list[Section]:
    runs, _ = ctx.runs("betas")
    figs, series = [], {"adam": [], "adamw": []}
    bs = sorted({r["config"]["batch_size"] for r in runs})
    for opt, name, b2, rs, by_b, still, holds, what in combinations(runs):
        series[opt].append({"label": what, "values": _per_seed(by_b, bs)})
    for opt, lines in series.items():
        if lines:
            figs.append(FigureItem(
                f"betas-{opt}", F.sweep_line_figure(
                    bs, lines, "batch size B (log scale)",
                    title=f"{label(opt)} over β2 (β1 = 0.9), with {label(SIGN_OF[opt])}"),
                caption=f"Test error over batch size, one line per β2, and "
                        f"{label(SIGN_OF[opt])}, the small-step limit.",
                command=ctx.item_command("betas"),
                config=caption_config(runs, ("optimizer", "beta2", "batch_size", "seed"))))
    share = settled_text(runs)
    tables = []
    for horizon, hruns in ctx.horizons(runs):
        findings.append(at_horizon(betas_finding(hruns), horizon, hruns))
        if horizon == "paper":
            tables.append(TableItem("betas", table_rows(hruns, bs), caption=TABLE_CAPTION))
        else:  # the same runs continued: what the budget's snapshot became
            tables.append(TableItem("betas-end", table_rows(hruns, bs),
                                    caption=TABLE_CAPTION + " At the end state: each run "
                                    "still moving at the budget continued until it settled "
                                    f"({settled_text(hruns)})."))
    b2s = sorted({r["config"]["beta2"] for r in runs if r["config"]["optimizer"] in SIGN_OF})
    intro = [budget_note(runs),
             f"{len(runs)} runs: β2 ∈ {b2s} × B ∈ {bs} for Adam (λ = 1e-5) and AdamW (λ = "
             f"0.01), with SignSGD and SignSGDW beside them; {share}: a combination whose large- or mini-batch seeds mostly did "
             f"not settle is still moving and not counted. Beyond the paper: its (β1, β2) "
             f"robustness grid is on real images (the images-betas item).", MECHANISM]
    return [Section("Beyond the paper: β2 × batch size on the synthetic data", intro,
                    budget_tables(runs, "betas") + tables, figs)]


def _per_seed(by_batch: dict[int, list[dict]], bs: list[int]) -> list[list]:
    """[[test error per batch size] per seed] (None where a seed has no finished run)."""
    seeds = sorted({r["config"]["seed"] for g in by_batch.values() for r in g})
    out = []
    for s in seeds:
        line = []
        for b in bs:
            r = next((r for r in by_batch.get(b, []) if r["config"]["seed"] == s), None)
            line.append(r["final"].get("test_error") if r and r["status"] == "ok" else None)
        out.append(line)
    return out
