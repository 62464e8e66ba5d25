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
from ..context import (Context, at_horizon, budget_note, budget_tables, caption_config, config_of,
                       fmt, stats_of)
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
    for horizon, hruns in ctx.horizons(runs):
        for opt in ("adam", "adamw"):
            for large in (True, False):
                rs = [r for r in hruns if r["config"]["optimizer"] == opt
                      and (r["config"]["batch_size"] > MINI_BATCH_MAX) == large]
                findings.append(at_horizon(
                    replace(judge_table(opt, large, rs),
                            claim_id=f"table.{opt}.{'large' if large else 'mini'}"), horizon, rs))
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
        verdict(k, len(judged), len(moving)), still_moving=len(moving), decided=len(judged))


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


# The trajectory claims, per side: the regime a seed must be in, the gap its final trajectory
# quantities must show (a, b: a - b > 0), and how they read.
TRAJECTORY_SIDES = {
    True: ("memorises_noise", "noise_memorisation_min", "feature_learning",
           "final min-over-examples noise memorisation minus the weaker class's feature learning"),
    False: ("learns_feature", "feature_learning", "noise_memorisation_max",
            "final feature learning (weaker class) minus the max-over-examples noise "
            "memorisation")}


def trajectory_gap(run: dict, large: bool) -> float | None:
    """The side's final gap (noise ahead of the feature for large batch, the feature ahead of
    the noise for mini batch); None for a run that did not finish."""
    _, a, b, _ = TRAJECTORY_SIDES[large]
    if run["status"] != "ok" or run["final"].get(a) is None or run["final"].get(b) is None:
        return None
    return run["final"][a] - run["final"][b]


def judge_trajectories(runs: list[dict], large: bool) -> tuple[str, str, int]:
    """(observed text, verdict, still moving) of the trajectory claim for one side's runs. Each
    settled seed is judged by its own regime: it agrees only when its regime is the side's
    ("memorises_noise" for large batch, "learns_feature" for mini batch) and its trajectory gap
    is positive. A large-batch seed that learned the feature (test error 0.0001) does not count
    as memorising however its noise memorisation ended; the text gives each regime's share and
    the gaps of its seeds, so such seeds are visible."""
    want, _, _, what = TRAJECTORY_SIDES[large]
    judged, moving = split_moving(runs)
    regimes = [observed_regime(r) for r in judged]
    gaps = [trajectory_gap(r, large) for r in judged]
    k = sum(g is not None and g > 0 and reg == want for reg, g in zip(regimes, gaps))
    positive = sum(g is not None and g > 0 for g in gaps)
    other = positive - k
    stats = Stats.of(gaps)
    text = (f"{what} {mean_ci(stats)}{straddles(stats, 0.0, 'its')}; above 0 in {positive} of "
            f"{len(judged)} settled runs"
            + (f", {other} of them in another regime than {REGIME_WORDS[want]} (not counted)"
               if other else "")
            + f"; {agrees(k, len(judged), 'runs')} (regime {REGIME_WORDS[want]} and gap above 0)"
            + (f"; regimes: {shares(regimes, gaps, REGIME_WORDS, 'gap')}" if judged else "")
            + ".")
    return text, verdict(k, len(judged), len(moving)), len(moving)


def item_trajectories(ctx: Context, findings: list[Finding]) -> list[Section]:
    runs, _ = ctx.runs("table")
    for horizon, hruns in ctx.horizons(runs):
        for side, claim in (
                (True, "Large batch: noise memorisation outpaces feature learning (every "
                 "example's noise is memorised: the min over examples ends above the feature)."),
                (False, "Mini batch: the feature is learned and noise memorisation stays "
                 "behind (even the most memorised example's, the max over examples the paper "
                 "plots for mini batches).")):
            rs = [r for r in hruns if (r["config"]["batch_size"] > MINI_BATCH_MAX) == side]
            observed, word, still = judge_trajectories(rs, side)
            findings.append(at_horizon(Finding(
                claim, observed, word, still_moving=still, decided=len(rs) - still,
                claim_id=f"trajectories.{'large' if side else 'mini'}"), horizon, rs))
    text = ["Feature learning max_r ⟨w_{j,r}, j·v⟩ for both classes and noise memorisation "
            "max_r ⟨w_{y_i,r}, ξ_i⟩ (min and max over training examples) against epoch, for the "
            "table's four cells (paper Figs 3-4).",
            "Each seed is judged by its own regime: a large-batch seed counts as memorising "
            "only when it memorised noise (train error ≤ 0.05, test error ≥ 0.3) and its noise "
            "memorisation ends above the feature; a large-batch seed that learned the feature "
            "counts against the claim, whatever its curves did. The findings give each regime's "
            "share of the seeds with their gaps."]
    return [trajectory_section(ctx, runs, "Trajectories: large vs mini batch (Figs 3-4)",
                                "trajectories", text)]

