"""The paper's synthetic table (App. D.2) and its trajectories (Figs 3-4)."""
from __future__ import annotations

from ... import theory
from .. import figures as F
from ..context import (Context, caption_config, config_of, fmt, group_runs, label,
                       stats_of)
from ..page import FigureItem, Section, TableItem
from ..regimes import MINI_BATCH_MAX, Finding, majority, observed_regime, verdict


def item_table(ctx: Context, findings: list[Finding]) -> list[Section]:
    runs, spec = ctx.runs("table")
    cells = group_runs(runs, ("optimizer", "weight_decay", "batch_size"))
    rows, bars = [], []
    for (opt, wd, b), rs in cells.items():
        large = b > MINI_BATCH_MAX
        claim = "train ≈ 0, test ≥ ≈ 1/2" if large else "train ≈ 0, test ≈ 0"
        ok_seeds = [r for r in rs if observed_regime(r) ==
                    ("memorises_noise" if large else "learns_feature")]
        rows.append({"optimizer": label(opt), "weight_decay": wd, "batch_size": b,
                     "train_error": stats_of(rs, "train_error"),
                     "test_error": stats_of(rs, "test_error"),
                     "feature_learning": stats_of(rs, "feature_learning"),
                     "noise_memorisation": stats_of(rs, "noise_memorisation"),
                     "paper": claim, "seeds agreeing": f"{len(ok_seeds)} of {len(rs)}"})
        bars.append({"label": f"{label(opt)} λ={wd:g}\nB={b}",
                     "train_error": list(stats_of(rs, "train_error").values),
                     "test_error": list(stats_of(rs, "test_error").values)})
    for opt in ("adam", "adamw"):
        for large in (True, False):
            rs = [r for (o, _, b), group in cells.items() for r in group
                  if o == opt and (b > MINI_BATCH_MAX) == large]
            want = "memorises_noise" if large else "learns_feature"
            k = sum(observed_regime(r) == want for r in rs)
            te = stats_of(rs, "test_error")
            tr = stats_of(rs, "train_error")
            b = rs[0]["config"]["batch_size"] if rs else "?"
            claim = (f"{label(opt)} with large batch (B = {b}) fits the training set but "
                     f"generalises badly (test error ≥ ≈ 1/2)." if large else
                     f"{label(opt)} with mini batch (B = {b}) reaches near-zero test error.")
            findings.append(Finding(claim, f"train error {tr}, test error {te}; {k} of {len(rs)} "
                                    f"seeds as claimed (per seed: "
                                    f"{', '.join(fmt(v) for v in te.values)}).",
                                    verdict(k, len(rs))))
    table = TableItem("table", rows, caption="Final errors per cell: mean ± std over seeds (n), "
                      "per-seed values beside. 'seeds agreeing': seeds whose outcome matches the "
                      "paper's claim (thresholds in 'How to read this report').")
    cmd = f"{ctx.command} table"
    fig = FigureItem("table-errors", F.error_bars_figure(bars, "The paper's synthetic table"),
                     caption="Train and test error per cell; points are seeds, bars mean ± std.",
                     command=cmd, config=caption_config(runs, ("optimizer", "weight_decay",
                                                                "batch_size", "seed")))
    theory_rows = []
    for (opt, wd, b), rs in cells.items():
        rep = theory.predict(config_of(rs[0]))
        theory_rows.append({"optimizer": label(opt), "weight_decay": wd, "batch_size": b,
                            "predicted": rep.regime, "strictly covered": rep.strict_regime,
                            "observed (majority of seeds)": majority(
                                [observed_regime(r) for r in rs]),
                            "theorems": ", ".join(rep.theorems)})
    theory_table = TableItem("table-theory", theory_rows, per_seed=False,
                             caption="What the theory predicts for each cell (`adamlab theory`), "
                             "next to what the seeds did.")
    intro = [f"{len(runs)} runs: {{Adam, AdamW}} × {{B = 100, B = 2}} × seeds "
             f"{sorted({r['config']['seed'] for r in runs})}, {runs[0]['config']['epochs']} "
             f"epochs each (App. D.2 setting; the paper ran one seed per cell)."]
    return [Section("The paper's synthetic table", intro, [table, theory_table], [fig])]


def trajectory_section(ctx: Context, runs: list[dict], title: str, name: str, text: list[str],
                        keys=("optimizer", "weight_decay", "batch_size")) -> Section:
    series = []
    for (opt, wd, b), rs in group_runs(runs, keys).items():
        curves = ctx.curves(rs)
        if curves:
            series.append({"label": f"{label(opt)} (λ = {wd:g}), B = {b}, "
                           f"{len(curves.get('feature_learning_pos', []))} seeds", **curves})
    figs = []
    if series:
        cfg = caption_config(runs, keys + ("seed",))
        figs.append(FigureItem(name + "-log", F.trajectory_figure(series, title, log_x=True),
                               caption="Log-scaled epochs show Stage I (shaded) where the "
                               "patterns are learned; lines are means over seeds, bands min..max.",
                               command=f"{ctx.command} {name}", config=cfg))
        figs.append(FigureItem(name, F.trajectory_figure(series, title, stage_boundary=None),
                               caption="The same runs on a linear epoch axis (Stage II: weight "
                               "decay dominates and the model settles).",
                               command=f"{ctx.command} {name}", config=cfg))
    return Section(title, text, [], figs)


def item_trajectories(ctx: Context, findings: list[Finding]) -> list[Section]:
    runs, _ = ctx.runs("table")
    k_large = k_mini = n_large = n_mini = 0
    for r in runs:  # a run that did not finish counts, as not agreeing
        f, ok = r["final"], r["status"] == "ok"
        if r["config"]["batch_size"] > MINI_BATCH_MAX:
            n_large += 1
            k_large += ok and f["noise_memorisation_min"] > f["feature_learning"]
        else:
            n_mini += 1
            k_mini += ok and f["feature_learning"] > f["noise_memorisation_max"]
    findings.append(Finding(
        "Large batch: noise memorisation outpaces feature learning (every example's noise is "
        "memorised: the min over examples ends above the feature).",
        f"final min-over-examples noise memorisation above the weaker class's feature learning "
        f"in {k_large} of {n_large} large-batch runs.", verdict(k_large, n_large)))
    findings.append(Finding(
        "Mini batch: the feature is learned and noise memorisation stays behind (even the "
        "most memorised example's, the max over examples the paper plots for mini batches).",
        f"final feature learning (weaker class) above the max-over-examples noise memorisation "
        f"in {k_mini} of {n_mini} mini-batch runs.", verdict(k_mini, n_mini)))
    text = ["Feature learning max_r ⟨w_{j,r}, j·v⟩ for both classes and noise memorisation "
            "max_r ⟨w_{y_i,r}, ξ_i⟩ (min and max over training examples) against epoch, for the "
            "table's four cells (paper Figs 3-4)."]
    return [trajectory_section(ctx, runs, "Trajectories: large vs mini batch (Figs 3-4)",
                                "trajectories", text)]

