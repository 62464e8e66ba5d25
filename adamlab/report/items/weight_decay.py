"""Large weight decay: Adam with 0.05 is stuck (Fig 5, Cor 4.3); AdamW with 0.5 stays robust
(Fig 6)."""
from __future__ import annotations

from dataclasses import replace

from ...core.stats import group_runs
from ...core.verdicts import Finding, agrees, mean_ci, shares, straddles, verdict
from ...optim.registry import label
from ...synthetic import theory
from ...synthetic.regimes import (LEARNS_TEST_ERROR, REGIME_WORDS, STUCK_TRAIN_ERROR,
                                  observed_regime)
from ..context import Context, at_horizon, config_of, stats_of
from ..page import Section, TableItem
from ..regimes import MINI_BATCH_MAX, cell_regime, split_moving
from .table import trajectory_section


def judge_large_wd(runs: list[dict], want: str, claim: str) -> Finding:
    """The claim that every settled run of `runs` is in regime `want` ("stuck_at_init" for
    Adam's Fig 5, "learns_feature" for AdamW's mini batch in Fig 6): k of the settled runs,
    `verdict(k, settled, still moving)`."""
    judged, moving = split_moving(runs)
    regimes = [observed_regime(r) for r in judged]
    k = regimes.count(want)
    # The claim's number: the train error for "stuck" (above STUCK_TRAIN_ERROR), the test error
    # for "still generalises" (below LEARNS_TEST_ERROR).
    metric, threshold = (("train_error", STUCK_TRAIN_ERROR) if want == "stuck_at_init"
                         else ("test_error", LEARNS_TEST_ERROR))
    key = stats_of(judged, metric)
    return Finding(
        claim, f"{agrees(k, len(judged), 'runs')}; settled runs' train error "
        f"{mean_ci(stats_of(judged, 'train_error'))}, test error "
        f"{mean_ci(stats_of(judged, 'test_error'))}"
        f"{straddles(key, threshold, 'the ' + metric.replace('_', ' '))}"
        + "".join(f"; B = {b}: {_shares(rs, regs)}" for b, rs, regs in
                  _by_batch(judged, regimes)) + ".",
        verdict(k, len(judged), len(moving)), still_moving=len(moving), decided=len(judged))


def _by_batch(runs: list[dict], regimes: list[str]):
    """(batch size, its runs, their regimes), largest batch first: each batch size's regime
    shares (a bimodal large-batch cell reads as shares)."""
    sizes = sorted({r["config"]["batch_size"] for r in runs}, reverse=True)
    for b in sizes:
        pick = [i for i, r in enumerate(runs) if r["config"]["batch_size"] == b]
        yield b, [runs[i] for i in pick], [regimes[i] for i in pick]


def _shares(runs: list[dict], regimes: list[str]) -> str:
    return shares(regimes, list(stats_of(runs, "test_error").values), REGIME_WORDS,
                  "test error")


def _large_wd_item(ctx: Context, findings: list[Finding], preset: str, fig: str) -> list[Section]:
    runs, _ = ctx.runs(preset)
    opt = runs[0]["config"]["optimizer"]
    wd = runs[0]["config"]["weight_decay"]
    rows = []
    for (o, w, b), rs in group_runs(runs, ("optimizer", "weight_decay", "batch_size")).items():
        rows.append({"optimizer": label(o), "weight_decay": w, "batch_size": b,
                     "train_error": stats_of(rs, "train_error"),
                     "test_error": stats_of(rs, "test_error"),
                     "weight_norm": stats_of(rs, "weight_norm"),
                     "settled": f"{len(split_moving(rs)[0])} of {len(rs)}",
                     "observed": cell_regime(rs),
                     "predicted": theory.predict(config_of(rs[0])).regime})
    if opt == "adam":  # Fig 5: every run, whatever its batch size, fails to train
        pick, want = (lambda r: True), "stuck_at_init"
        ceiling = theory.quantities(config_of(runs[0]))["adam_weight_decay_ceiling"]
        claim = (f"Adam with weight decay {wd:g} (above σ0^(q-2) = {ceiling:g}) fails to train: "
                 f"it stays near initialisation (Fig 5, Cor 4.3).")
    else:  # Fig 6: mini batch still generalises
        pick, want = (lambda r: r["config"]["batch_size"] <= MINI_BATCH_MAX), "learns_feature"
        claim = (f"AdamW stays robust with weight decay {wd:g}: mini batch still reaches "
                 f"near-zero test error (Fig 6, Thm 4.5).")
    for horizon, hruns in ctx.horizons(runs):
        judged = [r for r in hruns if pick(r)]
        findings.append(at_horizon(replace(judge_large_wd(judged, want, claim), claim_id=preset),
                                   horizon, judged))
    title = f"{label(opt)} with weight decay {wd:g} ({fig})"
    sec = trajectory_section(ctx, runs, title, preset,
                              [f"{len(runs)} runs, batch sizes "
                               f"{sorted({r['config']['batch_size'] for r in runs})}."])
    sec.tables.append(TableItem(f"{preset}-table", rows, caption="Final errors and weight norm "
                                "(mean ± std over seeds); observed: majority outcome of the "
                                "settled seeds ('still_moving' unless most seeds settled)."))
    return [sec]


def item_adam_large_wd(ctx, findings):
    return _large_wd_item(ctx, findings, "adam-large-wd", "Fig 5")


def item_adamw_large_wd(ctx, findings):
    return _large_wd_item(ctx, findings, "adamw-large-wd", "Fig 6")

