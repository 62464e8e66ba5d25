"""The paper's table under each limit its authors name (docs/paper.md "Limits"):
learning-rate schedules, warm-up, gradient clipping, momentum, and activations beyond ReLU^q with
q >= 3. Per setting and optimiser: does "mini batch generalises, large batch memorises noise"
survive? The settings are the [[runs]] of adamlab/presets/limits.toml; the first changes nothing
(it is the table, the baseline)."""
from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path

from ...core.formatting import fmt_number
from ...core.stats import group_runs
from ...core.verdicts import Finding, agrees, verdict_of_parts
from ...optim.registry import label
from ...optim.schedule import Schedule
from ...synthetic.config import SyntheticConfig
from ...synthetic.gradnorms import gradient_norms
from ...synthetic.regimes import observed_regime
from .. import figures as F
from ..context import (Context, at_horizon, budget_note, budget_tables, caption_config, config_of,
                       stats_of)
from ..page import FigureItem, Section, TableItem
from .optimisers import part, part_text, regime_text
from .stage_one import growth_rows, reading, stage_one_finding

# The settings a run of the limits preset can differ in from the table (everything else is the
# table's). A config's setting is the tuple of these values.
SETTING_KEYS = ("schedule", "warmup_epochs", "step_epochs", "step_gamma", "clip_norm", "beta1",
                "activation")
MINI_B, LARGE_B = 2, 100  # the table's mini and large batch
SURVIVES = {"reproduced": "survives", "partly reproduced": "partly", "not reproduced": "no",
            "still moving": "still moving", "not measured": "not measured"}
GRADNORM_CACHE = "gradnorms.json"  # beside runs.sqlite: clipped-step shares already measured
CACHE_KEYS = ("run", "early", "early_median", "early_epochs")


def setting_label(cfg: dict) -> str:
    """How the report names a setting: what it changes from the table's constant-lr Adam/AdamW."""
    defaults = SyntheticConfig(optimizer=cfg["optimizer"])
    parts = []
    if cfg["warmup_epochs"]:
        parts.append(f"warm-up {cfg['warmup_epochs']} epochs")
    if cfg["schedule"] == "step":
        parts.append(f"step ×{cfg['step_gamma']:g} every {cfg['step_epochs']} epochs")
    elif cfg["schedule"] != "constant" or parts:
        parts.append(cfg["schedule"])
    if cfg["clip_norm"] is not None:
        parts.append(f"clip norm {cfg['clip_norm']:g}")
    if cfg["beta1"] != defaults.beta1:
        parts.append(f"β1 = {cfg['beta1']:g}" + (" (no momentum)" if cfg["beta1"] == 0 else ""))
    if cfg["activation"] != defaults.activation:
        parts.append(f"activation {cfg['activation']}")
    return " + ".join(parts) if parts else "constant lr (the table)"


def setting_id(cfg: dict) -> str:
    """The setting's claim id in the ledger, from what it changes: 'limits.warmup-cosine'."""
    defaults = SyntheticConfig(optimizer=cfg["optimizer"])
    parts = ["warmup"] if cfg["warmup_epochs"] else []
    if cfg["schedule"] != "constant" or parts:
        parts.append(cfg["schedule"])
    if cfg["clip_norm"] is not None:
        parts.append("clip")
    if cfg["beta1"] != defaults.beta1:
        parts.append("no-momentum" if cfg["beta1"] == 0 else f"beta1-{cfg['beta1']:g}")
    if cfg["activation"] != defaults.activation:
        parts.append(cfg["activation"])
    return "limits." + ("-".join(parts) or "table")


def mean_lr_factor(cfg: dict) -> float:
    """The schedule's mean factor over the run's steps (1 for a constant rate): lr x steps, how
    far the weights can travel, and AdamW's decay lr x lambda x steps scale with it."""
    c = config_of({"config": cfg})
    sched = Schedule(c)
    if sched.constant:
        return 1.0
    total = c.total_steps
    return math.fsum(sched.factor(t) for t in range(1, total + 1)) / total


def clipped_share(ctx: Context, run: dict) -> dict | None:
    """How often clipping changed a clipped run's steps: estimated from a replay of the run
    (synthetic/gradnorms.py: every step of ~90 epochs, dense early, spread over the rest), over the
    run and over its first tenth (where Stage I lies); cached in OUT/gradnorms.json by run id so
    a second report does not replay it."""

    if run["status"] != "ok" or run["config"].get("clip_norm") is None:
        return None
    path = Path(ctx.out) / GRADNORM_CACHE
    try:
        cache = json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, ValueError):  # unreadable: measure again (it is only a cache)
        cache = {}
    if set(CACHE_KEYS) - set(cache.get(run["id"], {})):
        c = run["config"]
        print(f"  limits: replaying run {run['id']} ({label(c['optimizer'])}, B = "
              f"{c['batch_size']}, seed {c['seed']}) to count its clipped steps (about as long "
              f"as the run)", file=sys.stderr)
        g = gradient_norms(config_of(run))
        if g.status != "ok":
            return None
        clip, tenth = run["config"]["clip_norm"], run["config"]["epochs"] / 10
        cache[run["id"]] = {"run": g.fraction_above(clip), "early": g.fraction_above(clip, tenth),
                            "early_median": g.quantiles((0.5,), tenth)[0.5],
                            "early_epochs": int(tenth)}
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(cache, indent=1, sort_keys=True))
        os.replace(tmp, path)  # a report killed here leaves the old cache or the new, whole
    return cache[run["id"]]


def clip_text(share: dict) -> str:
    """'clipped 35% of its steps (88% in epochs 1-1000, median norm 0.021)'"""
    return (f"clipped {share['run']:.0%} of its steps ({share['early']:.0%} in epochs "
            f"1–{share['early_epochs']}, median norm there {fmt_number(share['early_median'])})")


def judge(mini: list[dict], large: list[dict]) -> list[tuple[int, int, int]]:
    """The table's claim in two parts, each (agreeing, settled, still moving): mini batch learns
    the feature, large batch memorises noise."""
    return [part(mini, "learns_feature"), part(large, "memorises_noise")]


def cells_of(runs: list[dict], opt: str) -> tuple[list[dict], list[dict]]:
    """One optimiser's (mini-batch, large-batch) runs of a setting."""
    mine = [r for r in runs if r["config"]["optimizer"] == opt]
    return ([r for r in mine if r["config"]["batch_size"] == MINI_B],
            [r for r in mine if r["config"]["batch_size"] == LARGE_B])


def opt_text(opt: str, mini: list[dict], large: list[dict], parts) -> str:
    """One optimiser's part of a survival finding, in words."""
    return (f"{label(opt)}: mini batch {regime_text(mini)}, {part_text(mini, parts[0])}; large "
            f"batch {regime_text(large)}, {part_text(large, parts[1])}")


def verdict_cells(runs: list[dict], name: str = "") -> dict:
    """A setting's verdict counts, text and table rows ({"text", "parts", "clip", "rows"}, as
    setting_rows gives them, without panels or replays): what the end state reads. Each row is
    cell_row's plus the epochs the large batch's runs ended at."""
    out = {"text": [], "parts": [], "clip": "", "rows": []}
    for opt in ("adam", "adamw"):
        mini, large = cells_of(runs, opt)
        if mini or large:
            parts = judge(mini, large)
            out["parts"] += parts
            out["text"].append(opt_text(opt, mini, large, parts))
            epochs = sorted({int(r["config"]["epochs"]) for r in large})
            out["rows"].append({**cell_row(name, opt, mini, large, parts),
                                "large batch ended at (epochs)": ", ".join(map(str, epochs))})
    return out


def cell_row(name: str, opt: str, mini: list[dict], large: list[dict], parts) -> dict:
    """One setting and optimiser's table row: each batch size's test error and regime, and
    whether the table's verdict survives."""
    return {"setting": name, "optimizer": label(opt),
            "test_error_large_batch": stats_of(large, "test_error"),
            "large batch": regime_text(large),
            "test_error_mini_batch": stats_of(mini, "test_error"),
            "mini batch": regime_text(mini),
            "verdict survives": SURVIVES[verdict_of_parts(parts)]}


def setting_rows(ctx: Context, name: str, runs: list[dict]) -> dict:
    """One setting's table rows (per optimiser), figure panel, verdict counts over both
    optimisers, per-optimiser summary text and, for a clipped setting, how often it clipped."""
    out = {"rows": [], "groups": [], "text": [], "parts": [], "clip": ""}
    for opt in ("adam", "adamw"):
        mini, large = cells_of(runs, opt)
        if not mini and not large:
            continue
        parts = judge(mini, large)
        out["parts"] += parts
        row = cell_row(name, opt, mini, large, parts)
        if runs[0]["config"]["clip_norm"] is not None:  # seed 0's runs, replayed once
            shares = {b: clipped_share(ctx, min(g, key=lambda r: r["config"]["seed"]))
                      for b, g in ((LARGE_B, large), (MINI_B, mini)) if g}
            shares = {b: s for b, s in shares.items() if s}
            row["clipped steps, first seed (whole run / first tenth)"] = ", ".join(
                f"B={b}: {s['run']:.0%} / {s['early']:.0%}" for b, s in shares.items()) or "n/a"
            out["clip"] += "".join(f"; {label(opt)} B = {b}, first seed: {clip_text(s)}"
                                   for b, s in shares.items())
        out["rows"].append(row)
        out["text"].append(opt_text(opt, mini, large, parts))
        for b, cell in ((LARGE_B, large), (MINI_B, mini)):
            out["groups"].append({
                "label": f"{label(opt)}\nB={b}", "colour": 1 if b == LARGE_B else 0,
                "values": list(stats_of(cell, "test_error").values),
                "moving": [observed_regime(r) == "still_moving" for r in cell]})
    return out


def baseline_text(cells: dict) -> str:
    """How the preset's first setting (the table itself) fared: the baseline a finding quotes."""
    k, n, _ = (sum(x) for x in zip(*cells["parts"])) if cells["parts"] else (0, 0, 0)
    return f"{k} of {n} settled seeds as claimed" if n else "no settled seeds"


def survival_finding(name: str, cells: dict, baseline: str, claim_id: str,
                     suffix: str = "") -> Finding:
    """Does the table's verdict survive under setting `name`? Its cells' parts (agreeing,
    judged, still moving) per optimiser and batch size, beside the baseline's."""
    k, n, moving = (sum(x) for x in zip(*cells["parts"])) if cells["parts"] else (0, 0, 0)
    return Finding(
        f"With {name}, the table's verdict survives: mini batch (B = {MINI_B}) learns the "
        f"feature and large batch (B = {LARGE_B}) memorises noise, for Adam and AdamW.",
        "; ".join(cells["text"]) + f"; together {agrees(k, n)} ({baseline}){suffix}.",
        verdict_of_parts(cells["parts"]), still_moving=moving, claim_id=claim_id,
        decided=min((n for _, n, _ in cells["parts"]), default=0))


def end_findings(ctx: Context, settings: dict, baseline: str, label_of=None,
                 id_of=None, rows: list | None = None) -> list[Finding]:
    """The survival findings at the end state (none unless the report judges it): every
    setting's runs continued (sweep/endstate.py), the first setting the baseline again.
    label_of, id_of: the item's setting name and claim id of a config (default: this item's).
    rows: when given, receives the end state's table rows (verdict_cells')."""
    label_of, id_of = label_of or setting_label, id_of or setting_id
    if not ctx.end_state:
        return []
    # every setting's continuations in one call, so the workers share them (per setting, a
    # setting's last long run left the other cores idle); the calls below read the context's cache
    ctx.end_runs([r for rs in settings.values() for r in rs])
    out, base_text = [], None
    for rs in settings.values():
        ends = ctx.end_runs(rs)
        cells = verdict_cells(ends, label_of(rs[0]["config"]))
        if rows is not None:
            rows += cells["rows"]
        if base_text is None:
            base_text = baseline_text(cells)
            continue
        out.append(at_horizon(survival_finding(
            label_of(rs[0]["config"]), cells, f"{baseline}: {base_text}",
            id_of(rs[0]["config"])), "end", ends))
    return out


def end_table(item: str, rows: list[dict]) -> list[TableItem]:
    """The end state's per-setting table (none when the report did not judge it)."""
    return [TableItem(f"{item}-end", rows, caption="The same at the end state: every run still "
                      "moving at the budget continued (to 2, 5, 10 times its epochs, within the "
                      "caps) until it settled; the large batch's end epochs beside.")] \
        if rows else []


def arithmetic_row(name: str, runs: list[dict]) -> dict:
    """The setting's schedule arithmetic at the large batch (AdamW's run: its decay is the one
    that follows the schedule)."""
    cfg = next((r["config"] for r in runs if r["config"]["batch_size"] == LARGE_B
                and r["config"]["optimizer"] == "adamw"), runs[0]["config"])
    factor = mean_lr_factor(cfg)
    steps = config_of({"config": cfg}).total_steps
    b = cfg["batch_size"]
    return {"setting": name, "mean lr factor": factor,
            f"lr × steps at B={b}": cfg["lr"] * steps * factor,
            f"AdamW lr × λ × steps at B={b}": cfg["lr"] * cfg["weight_decay"] * steps * factor}


def item_limits(ctx: Context, findings: list[Finding]) -> list[Section]:
    runs, _ = ctx.runs("limits")
    settings = group_runs(runs, SETTING_KEYS)
    rows, arithmetic, panels = [], [], []
    base_text = None
    for rs in settings.values():
        name = setting_label(rs[0]["config"])
        cells = setting_rows(ctx, name, rs)
        rows += cells["rows"]
        panels.append({"title": name.replace(" + ", "\n+ "), "groups": cells["groups"]})
        arithmetic.append(arithmetic_row(name, rs))
        if base_text is None:  # the preset's first setting: the table itself, the baseline
            base_text = baseline_text(cells)
            continue
        findings.append(survival_finding(name, cells, f"the constant-lr table: {base_text}",
                                         setting_id(rs[0]["config"]), cells["clip"]))
    end_rows: list[dict] = []
    findings += end_findings(ctx, settings, "the constant-lr table", rows=end_rows)
    # Stage I growth of the activations against the table's ReLU^3 (the first setting)
    default = SyntheticConfig().activation
    act_runs = [r for i, rs in enumerate(settings.values()) for r in rs
                if i == 0 or rs[0]["config"]["activation"] != default]
    growth = growth_rows(ctx.store, act_runs, setting_label) if act_runs else []
    if growth:
        findings.append(stage_one_finding(growth, LARGE_B))
    if growth and ctx.end_state:  # the same Stage I against each run's end-state regime
        ends = ctx.end_runs(act_runs)
        findings.append(at_horizon(stage_one_finding(growth_rows(
            ctx.store, act_runs, setting_label, dict(zip((r["id"] for r in act_runs), ends))),
            LARGE_B), "end", ends))
    figs = [FigureItem("limits-panels", F.panels_figure(
        panels, "Test error of the table's cells under each setting (one panel per setting)"),
        caption=f"Per setting: Adam and AdamW at B = {LARGE_B} (large batch) and B = {MINI_B} "
        f"(mini batch); points are seeds (hollow: still moving, not judged), bars mean ± std. "
        f"The verdict survives where large batch stays high and mini batch near 0.",
        command=ctx.item_command("limits"),
        config=caption_config(runs, ("optimizer", "batch_size", "seed") + SETTING_KEYS))]
    seeds = sorted({r["config"]["seed"] for r in runs})
    intro = [budget_note(runs),
             f"{len(runs)} runs: {len(settings)} settings × {{Adam, AdamW}} × {{B = {LARGE_B}, "
             f"B = {MINI_B}}} × seeds {seeds}. The first setting is the paper's (constant lr: "
             f"the table). The schedules scale the learning rate per step (the mean factor "
             f"below); AdamW's decoupled decay follows it. Clipping rescales the batch gradient "
             f"to a global L2 norm before Adam's L2 term; Adam's update is nearly invariant to a "
             f"gradient's scale (m / √v), so clipping changes it only by reweighting the steps "
             f"within the moments' memory (about 1/(1 − β2) = 1000 steps). Momentum: Adam's is "
             f"its first moment β1 (0.9 in the paper); β1 = 0 turns it off (the betas item "
             f"varies β1 with smaller β2; SGD's momentum is in the optimisers item). The "
             f"activations other than ReLU^q with q ≥ 3 lie outside the theorems."]
    tables = budget_tables(runs, "limits") + [
        TableItem("limits", rows, caption="Per setting and optimiser: the test error of each cell "
                  "(mean ± std over seeds, per-seed values beside), its regime (majority of the "
                  "settled seeds, with counts), and whether the table's verdict survives "
                  "(judged on the settled seeds: 'partly' when some disagree; 'still moving' "
                  "while one of the two cells has no settled seed)."),
        TableItem("limits-arithmetic", arithmetic, per_seed=False,
                  caption="What each setting does to the budget's arithmetic at the large batch: "
                  "the schedule's mean lr factor, how far weights can travel (lr × steps) and "
                  "how much AdamW's decoupled decay acts (lr × λ × steps).")
    ] + end_table("limits", end_rows)
    if growth:
        intro.append(reading(growth, LARGE_B))
        tables.append(TableItem(
            "limits-stage-one", [{k: v for k, v in r.items() if not k.startswith("_")}
                                 for r in growth], per_seed=False,
            caption="Stage I (the first tenth of the epochs), the table's ReLU^3 and each other "
                    "activation: how much the smaller class's feature learning (dF) and the "
                    "mean noise memorisation (dN) rose, the noise's lead dN - dF, and the "
                    "mechanism metric (noise coordinates' step size over the feature's) at its "
                    "end; medians over seeds."))
    return [Section("The table under the authors' limits", intro, tables, figs)]
