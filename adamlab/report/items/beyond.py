"""The paper's table past the first limits its authors name (docs/paper.md "Limits"): three
and ten classes, 10% and 20% label noise, a trained second layer (docs/implementation.md "More classes, label
noise, a trained second layer"). Per setting and optimiser: does "mini batch generalises, large
batch memorises noise" survive? The settings are the [[runs]] of adamlab/presets/beyond.toml; the
first changes nothing (the table, the baseline). The rules are the limits item's
(report/items/limits.py `setting_rows`), so the two items judge alike."""
from __future__ import annotations

from ...core.formatting import fmt_number
from ...core.stats import group_runs
from ...core.verdicts import Finding
from ...synthetic.config import SyntheticConfig
from .. import figures as F
from ..context import Context, budget_note, budget_tables, caption_config, stats_of
from ..page import FigureItem, Section, TableItem
from .limits import (LARGE_B, MINI_B, baseline_text, end_findings, end_table, setting_rows,
                     survival_finding)

# The settings a run of the beyond preset can differ in from the table.
SETTING_KEYS = ("classes", "label_noise", "second_layer")
PAPER = {k: SyntheticConfig.__dataclass_fields__[k].default for k in SETTING_KEYS}


def setting_label(cfg: dict) -> str:
    """How the report names a setting: 'three classes', 'label noise 0.1', 'trained second
    layer', joined by ' + '; the paper's setting is 'the table'."""
    parts = []
    if cfg["classes"] != PAPER["classes"]:
        parts.append(f"{cfg['classes']} classes")
    if cfg["label_noise"] != PAPER["label_noise"]:
        parts.append(f"label noise {cfg['label_noise']:g}")
    if cfg["second_layer"] != PAPER["second_layer"]:
        parts.append(f"{cfg['second_layer']} second layer")
    return " + ".join(parts) if parts else "the paper's (the table)"


def setting_id(cfg: dict) -> str:
    """The setting's claim id in the ledger: 'beyond.classes-3', 'beyond.label-noise-0.1',
    'beyond.second-layer-trained' (joined by '-' when a setting changes several)."""
    parts = []
    if cfg["classes"] != PAPER["classes"]:
        parts.append(f"classes-{cfg['classes']}")
    if cfg["label_noise"] != PAPER["label_noise"]:
        parts.append(f"label-noise-{cfg['label_noise']:g}")
    if cfg["second_layer"] != PAPER["second_layer"]:
        parts.append(f"second-layer-{cfg['second_layer']}")
    return "beyond." + ("-".join(parts) or "table")


def extra_columns(runs: list[dict]) -> dict:
    """Per cell, what the setting adds: the train error on the flipped labels (0: the model fits
    them by memorising their noise patches) and the trained output weights' range."""
    out = {}
    for b, name in ((LARGE_B, "large"), (MINI_B, "mini")):
        cell = [r for r in runs if r["config"]["batch_size"] == b]
        if any("train_error_flipped" in r["final"] for r in cell):
            out[f"train_error_flipped_{name}_batch"] = stats_of(
                cell, "train_error_flipped")
        if any("second_layer_min" in r["final"] for r in cell):
            lo, hi = stats_of(cell, "second_layer_min"), stats_of(cell, "second_layer_max")
            out[f"output weights {name} batch (min / max)"] = \
                f"{fmt_number(lo.mean)} / {fmt_number(hi.mean)}" if lo.values else "n/a"
    return out


def seed_trajectory(ctx: Context, run: dict) -> dict | None:
    """One run's trajectories for trajectory_grid_figure: feature learning of its least-learned
    class (the minimum over the classes' logged curves, two or K) and noise memorisation (max
    and min over examples) against epoch; None when it logged none."""
    def curve(name):
        return ctx.store.metrics(run["id"], name=name)

    classes = run["config"].get("classes", 2)
    names = (("feature_learning_pos", "feature_learning_neg") if classes == 2 else
             tuple(f"feature_learning_class{j}" for j in range(classes)))
    per_class = [curve(n) for n in names]
    noise_max, noise_min = curve("noise_memorisation_max"), curve("noise_memorisation_min")
    length = min(len(rows) for rows in per_class + [noise_max, noise_min])
    if not length:
        return None
    return {"epochs": [row[1] for row in noise_max[:length]],
            "feature": [min(rows[i][4] for rows in per_class) for i in range(length)],
            "noise_max": [row[4] for row in noise_max[:length]],
            "noise_min": [row[4] for row in noise_min[:length]]}


def trajectory_rows(ctx: Context, settings: dict) -> list[dict]:
    """Per setting, one panel per batch size (large first) with the first seed's run of each
    optimiser: the rows of trajectory_grid_figure."""
    out = []
    for rs in settings.values():
        seed = min(r["config"]["seed"] for r in rs)
        panels = []
        for b in (LARGE_B, MINI_B):
            lines = []
            for opt in ("adam", "adamw"):
                run = next((r for r in rs if r["status"] == "ok" and r["config"]["seed"] == seed
                            and r["config"]["batch_size"] == b
                            and r["config"]["optimizer"] == opt), None)
                found = seed_trajectory(ctx, run) if run else None
                if found:
                    lines.append({"label": "Adam" if opt == "adam" else "AdamW", **found})
            panels.append({"title": f"B = {b}, seed {seed}", "lines": lines})
        out.append({"label": setting_label(rs[0]["config"]), "panels": panels})
    return out


def item_beyond(ctx: Context, findings: list[Finding]) -> list[Section]:
    runs, _ = ctx.runs("beyond")
    settings = group_runs(runs, SETTING_KEYS)
    rows, panels = [], []
    base_text = None
    for rs in settings.values():
        name = setting_label(rs[0]["config"])
        cells = setting_rows(ctx, name, rs)
        # setting_rows makes one row per optimiser present, in the order adam, adamw
        present = [o for o in ("adam", "adamw") if any(r["config"]["optimizer"] == o for r in rs)]
        for row, opt in zip(cells["rows"], present):
            row.update(extra_columns([r for r in rs if r["config"]["optimizer"] == opt]))
        rows += cells["rows"]
        panels.append({"title": name.replace(" + ", "\n+ "), "groups": cells["groups"]})
        if base_text is None:  # the preset's first setting: the table itself, the baseline
            base_text = baseline_text(cells)
            continue
        findings.append(survival_finding(name, cells, f"the paper's setting: {base_text}",
                                         setting_id(rs[0]["config"])))
    end_rows: list[dict] = []
    findings += end_findings(ctx, settings, "the paper's setting", setting_label, setting_id,
                             rows=end_rows)
    figs = [FigureItem("beyond-panels", F.panels_figure(
        panels, "Test error of the table's cells past the authors' limits (one panel per "
        "setting)", chance=None),
        caption=f"Per setting: Adam and AdamW at B = {LARGE_B} (large batch) and B = {MINI_B} "
        f"(mini batch); points are seeds (hollow: still moving, not judged), bars mean ± std. "
        f"Chance is 1/2 with two classes, 2/3 with three and 9/10 with ten.",
        command=ctx.item_command("beyond"),
        config=caption_config(runs, ("optimizer", "batch_size", "seed", "engine")
                              + SETTING_KEYS))]
    grid = trajectory_rows(ctx, settings)
    if any(p["lines"] for row in grid for p in row["panels"]):
        figs.append(FigureItem("beyond-trajectories", F.trajectory_grid_figure(
            grid, "One seed per setting: feature learning against noise memorisation"),
            caption=f"The first seed of each setting at B = {LARGE_B} and B = {MINI_B}, Adam "
            f"and AdamW: feature learning of the least-learned class (solid) against the "
            f"noise memorisation of the most- and least-memorised example (dashed, dotted), "
            f"on log epochs. Mini batch: the feature overtakes the noise; large batch: the "
            f"noise leads, where the table's mechanism survives the setting.",
            command=ctx.item_command("beyond"),
            config=caption_config(runs, ("optimizer", "batch_size", "seed") + SETTING_KEYS)))
    seeds = sorted({r["config"]["seed"] for r in runs})
    intro = [budget_note(runs),
             f"{len(runs)} runs: {len(settings)} settings × {{Adam, AdamW}} × {{B = {LARGE_B}, "
             f"B = {MINI_B}}} × seeds {seeds}. The first setting is the paper's (the table). "
             f"Three classes: features e_0, e_1, e_2, each noise patch carrying +α times another "
             f"class's feature; ten classes likewise with e_0 .. e_9. Label noise: 10% or 20% "
             f"of the training labels flipped, the same ones in every cell of a seed; a model "
             f"that fits them (train error 0 on them) has memorised their noise patches. "
             f"Trained second layer: the output weights start at the paper's 1 and are trained "
             f"by the same optimiser. The regimes use the table's "
             f"thresholds, and the settling check reads every class's feature with K "
             f"classes."]
    tables = budget_tables(runs, "beyond") + [
        TableItem("beyond", rows, caption="Per setting and optimiser: the test error of each "
                  "cell (mean ± std over seeds), its regime (majority of the settled seeds, with "
                  "counts), whether the table's verdict survives, and what the setting adds: the "
                  "train error on the flipped labels (0: fitted, i.e. their noise patches memorised), "
                  "the output weights' range (means over seeds).")
    ] + end_table("beyond", end_rows)
    return [Section("The table past two classes, clean labels and a fixed second layer", intro,
                    tables, figs)]
