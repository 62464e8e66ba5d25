"""The paper's synthetic table (App. D.2) and its trajectories (Figs 3-4)."""
from __future__ import annotations

from dataclasses import replace

from ...core.stats import group_runs
from ...core.verdicts import Finding, agrees, mean_ci, shares, straddles, verdict
from ...optim.registry import label
from ...synthetic import theory
from ...synthetic.regimes import (LEARNS_TEST_ERROR, MEMORISES_TEST_ERROR, REGIME_WORDS,
                                  observed_regime)
from .. import figures as F
from ..context import Context, budget_note, budget_tables, caption_config, config_of, fmt, stats_of
from ..page import FigureItem, Section, TableItem
from ..regimes import MINI_BATCH_MAX, cell_regime, split_moving
from ..tables import Stats


def item_table(ctx: Context, findings: list[Finding]) -> list[Section]:
    runs, spec = ctx.runs("table")
    cells = group_runs(runs, ("optimizer", "weight_decay", "batch_size"))
    rows, bars = [], []
    for (opt, wd, b), rs in cells.items():
        large = b > MINI_BATCH_MAX
        claim = "train ≈ 0, test ≥ ≈ 1/2" if large else "train ≈ 0, test ≈ 0"
        judged, moving = split_moving(rs)
        ok_seeds = [r for r in judged if observed_regime(r) ==
                    ("memorises_noise" if large else "learns_feature")]
        rows.append({"optimizer": label(opt), "weight_decay": wd, "batch_size": b,
                     "train_error": stats_of(rs, "train_error"),
                     "test_error": stats_of(rs, "test_error"),
                     "feature_learning": stats_of(rs, "feature_learning"),
                     "noise_memorisation": stats_of(rs, "noise_memorisation"),
                     "paper": claim, "settled": f"{len(rs) - len(moving)} of {len(rs)}",
                     "seeds agreeing": f"{len(ok_seeds)} of {len(judged)} settled"})
        bars.append({"label": f"{label(opt)} λ={wd:g}\nB={b}",
                     "train_error": list(stats_of(rs, "train_error").values),
                     "test_error": list(stats_of(rs, "test_error").values)})
    for opt in ("adam", "adamw"):
        for large in (True, False):
            rs = [r for (o, _, b), group in cells.items() for r in group
                  if o == opt and (b > MINI_BATCH_MAX) == large]
            findings.append(replace(judge_table(opt, large, rs),
                                    claim_id=f"table.{opt}.{'large' if large else 'mini'}"))
    table = TableItem("table", rows, caption="Final errors per cell: mean ± std over seeds (n), "
                      "per-seed values beside. 'settled': seeds whose trajectories settled; "
                      "'seeds agreeing': settled seeds whose outcome matches the paper's claim "
                      "(thresholds in 'How to read this report').")
    cmd = ctx.item_command("table")
    fig = FigureItem("table-errors", F.error_bars_figure(bars, "The paper's synthetic table"),
                     caption="Train and test error per cell; points are seeds, bars mean ± std.",
                     command=cmd, config=caption_config(runs, ("optimizer", "weight_decay",
                                                                "batch_size", "seed")))
    theory_rows = []
    for (opt, wd, b), rs in cells.items():
        rep = theory.predict(config_of(rs[0]))
        theory_rows.append({"optimizer": label(opt), "weight_decay": wd, "batch_size": b,
                            "predicted": rep.regime, "strictly covered": rep.strict_regime,
                            "observed (majority of settled seeds)": cell_regime(rs),
                            "theorems": ", ".join(rep.theorems)})
    theory_table = TableItem("table-theory", theory_rows, per_seed=False,
                             caption="What the theory predicts for each cell (`adamlab theory`), "
                             "next to what the seeds did.")
    seeds = {b: sorted({r["config"]["seed"] for r in runs if r["config"]["batch_size"] == b})
             for b in sorted({r["config"]["batch_size"] for r in runs}, reverse=True)}
    intro = [f"{len(runs)} runs: {{Adam, AdamW}} × "
             + ", ".join(f"B = {b} with {len(s)} seeds ({seed_span(s)})" for b, s in seeds.items())
             + f", {runs[0]['config']['epochs']} epochs each (App. D.2 setting; the paper ran "
             f"one seed per cell). Large-batch seeds are cheap (2 steps an epoch against 100), "
             f"so they get more: a bimodal large-batch cell reads as each regime's share of its "
             f"seeds."]
    return [Section("The paper's synthetic table", [budget_note(runs)] + intro,
                    budget_tables(runs, "table") + [table, theory_table], [fig])]


def seed_span(seeds: list[int]) -> str:
    """'0-19' for consecutive seeds, else the list."""
    return (f"{seeds[0]}-{seeds[-1]}" if len(seeds) > 1 and seeds == list(
        range(seeds[0], seeds[-1] + 1)) else ", ".join(map(str, seeds)))


def judge_table(opt: str, large: bool, rs: list[dict]) -> Finding:
    """The table's claim for one optimiser's large- (or mini-) batch runs `rs`: each settled seed
    agrees when its regime is "memorises_noise" (large) or "learns_feature" (mini); the verdict
    is `verdict(k, settled, still moving)`. The observed text gives each regime's share of the
    settled seeds (a bimodal cell reads as shares, not only as its mean)."""
    want = "memorises_noise" if large else "learns_feature"
    judged, moving = split_moving(rs)
    regimes = [observed_regime(r) for r in judged]
    k = regimes.count(want)
    te, te_all = stats_of(judged, "test_error"), stats_of(rs, "test_error")
    tr = stats_of(judged, "train_error")
    b = rs[0]["config"]["batch_size"] if rs else "?"
    claim = (f"{label(opt)} with large batch (B = {b}) fits the training set but "
             f"generalises badly (test error ≥ ≈ 1/2)." if large else
             f"{label(opt)} with mini batch (B = {b}) reaches near-zero test error.")
    threshold = MEMORISES_TEST_ERROR if large else LEARNS_TEST_ERROR
    outcomes = (f"; regimes of the settled seeds: "
                f"{shares(regimes, list(te.values), REGIME_WORDS, 'test error')}"
                if judged else "")
    return Finding(
        claim, f"settled seeds' train error {mean_ci(tr)}, test error {mean_ci(te)}"
        f"{straddles(te, threshold, 'the test error')}; {agrees(k, len(judged))}{outcomes} "
        f"(per seed: {', '.join(fmt(v) for v in te_all.values)}).",
        verdict(k, len(judged), len(moving)), still_moving=len(moving))


def trajectory_section(ctx: Context, runs: list[dict], title: str, name: str, text: list[str],
                        keys=("optimizer", "weight_decay", "batch_size")) -> Section:
    """Trajectory figures of `runs` per cell of `keys`, the budget note first."""
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
                               command=ctx.item_command(name), config=cfg))
        figs.append(FigureItem(name, F.trajectory_figure(series, title, stage_boundary=None),
                               caption="The same runs on a linear epoch axis (Stage II: weight "
                               "decay dominates and the model settles).",
                               command=ctx.item_command(name), config=cfg))
    return Section(title, [budget_note(runs)] + text, budget_tables(runs, name), figs)


def item_trajectories(ctx: Context, findings: list[Finding]) -> list[Section]:
    runs, _ = ctx.runs("table")
    judged, moving = split_moving(runs)  # a run that did not finish is judged, as not agreeing
    large = [r for r in judged if r["config"]["batch_size"] > MINI_BATCH_MAX]
    mini = [r for r in judged if r["config"]["batch_size"] <= MINI_BATCH_MAX]
    ok = lambda r: r["status"] == "ok"  # noqa: E731
    gap = lambda r, a, b: r["final"][a] - r["final"][b]  # noqa: E731
    k_large = sum(ok(r) and gap(r, "noise_memorisation_min", "feature_learning") > 0
                  for r in large)
    k_mini = sum(ok(r) and gap(r, "feature_learning", "noise_memorisation_max") > 0 for r in mini)
    m_large = sum(r["config"]["batch_size"] > MINI_BATCH_MAX for r in moving)
    gaps_large = Stats.of(gap(r, "noise_memorisation_min", "feature_learning")
                          for r in large if ok(r))
    gaps_mini = Stats.of(gap(r, "feature_learning", "noise_memorisation_max")
                         for r in mini if ok(r))
    findings.append(Finding(
        "Large batch: noise memorisation outpaces feature learning (every example's noise is "
        "memorised: the min over examples ends above the feature).",
        f"final min-over-examples noise memorisation minus the weaker class's feature learning "
        f"{mean_ci(gaps_large)}{straddles(gaps_large, 0.0, 'its')}; above it in "
        f"{agrees(k_large, len(large), 'runs')}.",
        verdict(k_large, len(large), m_large), still_moving=m_large,
        claim_id="trajectories.large"))
    findings.append(Finding(
        "Mini batch: the feature is learned and noise memorisation stays behind (even the "
        "most memorised example's, the max over examples the paper plots for mini batches).",
        f"final feature learning (weaker class) minus the max-over-examples noise memorisation "
        f"{mean_ci(gaps_mini)}{straddles(gaps_mini, 0.0, 'its')}; above it in "
        f"{agrees(k_mini, len(mini), 'runs')}.",
        verdict(k_mini, len(mini), len(moving) - m_large), still_moving=len(moving) - m_large,
        claim_id="trajectories.mini"))
    text = ["Feature learning max_r ⟨w_{j,r}, j·v⟩ for both classes and noise memorisation "
            "max_r ⟨w_{y_i,r}, ξ_i⟩ (min and max over training examples) against epoch, for the "
            "table's four cells (paper Figs 3-4)."]
    return [trajectory_section(ctx, runs, "Trajectories: large vs mini batch (Figs 3-4)",
                                "trajectories", text)]

