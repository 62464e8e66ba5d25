"""Real images (docs/paper.md "Experiments", App. D.1): test error against batch size (Fig 1) and
against weight decay (Fig 2) at the size the scale-down rule gives a CPU (adamlab/images/scaledown.py),
the real-data anchor, and the ImageNet-subset version for users with the data and a GPU.

Every cell shows its seeds: mean ± std, its range (the 95% bootstrap interval of the mean from 10
seeds on), the train error beside the test error, and how many seeds fitted the training set. A
claim "A is worse than B" holds only when `stats.gap_test(A, B).clearly_positive` (a one-sided
exact permutation test below 10 seeds a side, the bootstrap interval of the gap above zero from
10), and the text says when leaving out one seed would
undo it (`stats.survives_leaving_out_one`). Every section opens with the scale-down table:
quantity | paper | this run, computed from the runs that were actually made.
"""
from __future__ import annotations

import dataclasses

from ...core.stats import group_runs, summarise
from ...core.verdicts import FIT_TRAIN_ERROR, Finding
from ...images import scaledown
from ...images.config import IMAGE_TEST_SIZES
from ...images.rules import (ANCHOR_ACCURACY, BREAK_MARGIN, anchor_is_full, anchor_verdict,
                             batch_finding, best_lr_cells, broken, fits, values, wd_cells,
                             wd_findings)
from ...optim.registry import label
from ...sweep.spec import load_spec
from .. import figures as F
from ..context import Context, caption_config
from ..page import FigureItem, Section, TableItem
from ..tables import Stats

# The paper's protocol for each CPU preset: its full-size preset (one source of the numbers).
# Each preset's claims in the ledger: PREFIX.OPTIMIZER (and PREFIX.contrast for weight decay).
CLAIM_PREFIX = {"images-fig1": "images.fig1", "images-fig2": "images.fig2",
                "images-imagenet": "imagenet.fig1", "images-imagenet-wd": "imagenet.fig2"}
PAPER_PRESET = {"images-fig1": "images-fig1-full", "images-fig2": "images-fig2-full",
                "images-betas": "images-fig1-full",
                "images-imagenet": "images-imagenet", "images-imagenet-wd": "images-imagenet-wd"}


def _ylabel(metric: str) -> str:
    return ("top-5 error" if metric.endswith("top5") else "error") + \
        " (fraction of examples; solid: test, dashed: train)"


def _cpu_seconds(ctx: Context, runs: list[dict]) -> dict[str, float]:
    """run id -> CPU seconds of the run, where the trainer recorded them (meta.cpu_seconds;
    runs stored before it was recorded have none)."""
    ids = {r["id"] for r in runs}
    return {r["id"]: r["meta"]["cpu_seconds"] for r in ctx.store.runs(full=True)
            if r["id"] in ids and isinstance(r["meta"].get("cpu_seconds"), (int, float))}


def _time_text(ctx: Context, runs: list[dict]) -> str:
    """The runs' cost: training-loop seconds (wall time, so on a shared machine it counts others'
    work as well) and CPU seconds where recorded; / 2 cores estimates a quiet 2-core machine."""
    loop = [r["seconds"] for r in runs if r.get("seconds") is not None]
    if not loop:
        return ""
    cpu = _cpu_seconds(ctx, runs)
    text = (f" Time: the {len(loop)} runs' training loops took {sum(loop):,.0f} s in all "
            f"(median {sorted(loop)[len(loop) // 2]:,.0f} s a run; wall time of one core, "
            f"inflated when the machine is shared)")
    if cpu:
        c = sorted(cpu.values())
        text += (f"; CPU time recorded for {len(c)} of them: {sum(c):,.0f} s (median "
                 f"{c[len(c) // 2]:,.0f} s a run)")
    return text + "."


# ---- runs -> cells ---------------------------------------------------------------------------

def _ci(s: Stats) -> str:
    """The cell's interval: its range below MIN_CI_SEEDS seeds, the 95% bootstrap CI from
    there on (core/stats.py `Summary.interval_text`)."""
    return "–" if s.interval is None else s.interval_text()


def _fits_text(runs: list[dict]) -> str:
    a = fits(runs)
    return f"{a.k} of {a.n}"


def _series(cells: dict[tuple, list[dict]], opt: str, xs: list, metric: str) -> dict:
    """Per-seed lists aligned with xs (None where a seed has no finished run)."""
    seeds = sorted({r["config"]["seed"] for (o, _), rs in cells.items() if o == opt for r in rs})
    out = {"test": [], "train": []}
    for s in seeds:
        for key, m in (("test", metric), ("train", metric.replace("test_", "train_"))):
            line = []
            for x in xs:
                run = next((r for r in cells.get((opt, x), []) if r["config"]["seed"] == s), None)
                line.append(run["final"].get(m) if run and run["status"] == "ok" else None)
            out[key].append(line)
    return out


def _fit_notes(cells: dict[tuple, list[dict]], opt: str, xs: list) -> list:
    """Per x, "k/n fitted" where not every seed fitted the training set (else None): the
    figure's note on which points are under-trained."""
    out = []
    for x in xs:
        a = fits(cells.get((opt, x), []))
        out.append(None if a.n == 0 or a.k == a.n else f"{a.k}/{a.n} fitted")
    return out


# ---- the scale-down table --------------------------------------------------------------------

def is_scaled(ctx: Context, preset: str) -> bool:
    """Whether the preset's runs are a scaled-down protocol (a CPU preset, or any --quick run):
    its claims then read "not observed at CPU scale" where they would read "not reproduced"."""
    return ctx.quick or PAPER_PRESET.get(preset, preset) != preset


def paper_protocol(preset: str, reference_batch: int | None = None) -> scaledown.Protocol:
    """The paper's protocol, read from its full-size preset (the numbers of docs/paper.md)."""

    configs = load_spec(preset).configs
    p = scaledown.Protocol.from_configs(configs, reference_batch)
    if p.n_test is None:
        p = dataclasses.replace(p, n_test=IMAGE_TEST_SIZES.get(configs[0].dataset))
    return p


def protocol_table(name: str, preset: str, runs: list[dict], reference_batch=None) -> TableItem:
    paper = paper_protocol(PAPER_PRESET[preset], reference_batch)
    run = scaledown.Protocol.from_configs([r["config"] for r in runs], reference_batch)
    return TableItem(f"{name}-protocol", scaledown.protocol_rows(paper, run), per_seed=False,
                     caption="The scale-down rule (adamlab/images/scaledown.py): what decides the "
                     "outcome, for the paper's protocol and for these runs. 'kept': within 1% of "
                     "the paper's.")


# ---- Fig 1: test error against batch size ----------------------------------------------------

def batch_section(ctx: Context, preset: str, findings: list[Finding], metric: str = "test_error",
                  what: str = "Real images", title: str = "test error vs batch size (Fig 1)",
                  item: str | None = None) -> Section:
    item = item or preset
    runs, _ = ctx.runs(preset)
    cells = best_lr_cells(runs, "batch_size", metric)
    xs = sorted({x for _, x in cells})
    opts = sorted({o for o, _ in cells})
    train_metric = metric.replace("test_", "train_")
    rows, series = [], []
    for opt in opts:
        for x in xs:
            rs = cells.get((opt, x))
            if not rs:
                continue
            c = rs[0]
            te = summarise(values(rs, metric))
            rows.append({"optimizer": label(opt), "batch_size": x, "best lr": c["config"]["lr"],
                         "steps": max(r["steps"] for r in rs),
                         "lr x steps": c["config"]["lr"] * max(r["steps"] for r in rs),
                         train_metric: summarise(values(rs, train_metric)), metric: te,
                         f"{metric} interval": _ci(te), "fitted (seeds)": _fits_text(rs)})
        wd = cells[(opt, xs[0])][0]["config"]["weight_decay"]
        series.append({"label": f"{label(opt)} (λ = {wd:g})", **_series(cells, opt, xs, metric),
                       "notes": _fit_notes(cells, opt, xs)})
        if len(xs) > 1:
            findings.append(dataclasses.replace(batch_finding(opt, cells, xs, metric, what),
                                                claim_id=f"{CLAIM_PREFIX[preset]}.{opt}",
                                                scaled=is_scaled(ctx, preset)))
    every = []
    for (opt, x, lr), rs in group_runs(runs, ("optimizer", "batch_size", "lr")).items():
        every.append({"optimizer": label(opt), "batch_size": x, "lr": lr,
                      train_metric: summarise(values(rs, train_metric)),
                      metric: summarise(values(rs, metric)),
                      "not ok": sum(r["status"] != "ok" for r in rs)})
    first = runs[0]["config"]
    fig = F.seed_interval_figure(xs, series, "batch size B", ylabel=_ylabel(metric),
                                 fit_line=FIT_TRAIN_ERROR,
                                 title=f"{first['arch']} on {first['dataset']}: {title}")
    intro = [f"{len(runs)} runs: {first['dataset']} (n = {first.get('subset') or 'all'}), "
             f"{first['arch']}, {first['epochs']} epochs, betas ({first['beta1']}, "
             f"{first['beta2']}); per (optimiser, B) the lr with the lowest mean final "
             f"{metric.replace('_', ' ')} over seeds (the paper: the best over its lr grid). A "
             f"cell 'fitted' the training set when its final train error is at most "
             f"{FIT_TRAIN_ERROR}." + _time_text(ctx, runs)]
    return Section(f"{what}: {title}", intro, [
        protocol_table(preset, preset, runs),
        TableItem(f"{preset}-table", rows, caption="Per optimiser and batch size, the best lr's "
                  "seeds: mean ± std (n), per-seed values, range (95% bootstrap interval from "
                  "10 seeds), seeds that fitted the training set."),
        TableItem(f"{preset}-every-lr", every, per_seed=False,
                  caption="Every (optimiser, B, lr) cell: mean ± std over seeds.")],
        [FigureItem(preset, fig, caption=f"{metric.replace('_', ' ').capitalize()} and train "
                    f"error against batch size, best lr per point.",
                    command=ctx.item_command(item),
                    config=caption_config(runs, ("optimizer", "batch_size", "lr", "seed",
                                                 "weight_decay")))])


# ---- Fig 2: test error against weight decay --------------------------------------------------

def wd_section(ctx: Context, preset: str, findings: list[Finding], metric: str = "test_error",
               what: str = "Real images", title: str = "test error vs weight decay (Fig 2)",
               item: str | None = None) -> Section:
    item = item or preset
    runs, _ = ctx.runs(preset)
    xs = sorted({r["config"]["weight_decay"] for r in runs})
    opts = sorted({r["config"]["optimizer"] for r in runs})
    train_metric = metric.replace("test_", "train_")
    rows, series = [], []
    for opt in opts:
        cells = wd_cells(runs, opt, metric)
        by_wd = {(opt, wd): rs for wd, rs, _ in cells}
        for wd, rs, gap in cells:
            te = summarise(values(rs, metric))
            rows.append({"optimizer": label(opt), "weight_decay": wd,
                         train_metric: summarise(values(rs, train_metric)), metric: te,
                         f"{metric} interval": _ci(te),
                         "gap to best": gap.text(),
                         "breaks": broken(gap), "fitted (seeds)": _fits_text(rs)})
        series.append({"label": label(opt), **_series(by_wd, opt, xs, metric),
                       "notes": _fit_notes(by_wd, opt, xs)})
    findings += [dataclasses.replace(f, scaled=is_scaled(ctx, preset))
                 for f in wd_findings(runs, metric, what, claim_prefix=CLAIM_PREFIX[preset])]
    first = runs[0]["config"]
    fig = F.seed_interval_figure(xs, series, "weight decay λ", ylabel=_ylabel(metric),
                                 fit_line=FIT_TRAIN_ERROR,
                                 title=f"{first['arch']} on {first['dataset']}: {title}, "
                                 f"B = {first['batch_size']}")
    intro = [f"{len(runs)} runs: {first['dataset']} (n = {first.get('subset') or 'all'}), "
             f"{first['arch']}, B = {first['batch_size']}, lr {first['lr']:g}, "
             f"{first['epochs']} epochs. 'breaks': the cell's test error is above its optimiser's "
             f"best by more than {BREAK_MARGIN} beyond the seeds' spread (a one-sided exact "
             f"permutation test at 0.05 below 10 seeds a side, where each side's range is shown; "
             f"the 95% bootstrap interval of the gap from 10)." + _time_text(ctx, runs)]
    return Section(f"{what}: {title}", intro, [
        protocol_table(preset, preset, runs),
        TableItem(f"{preset}-table", rows, caption="Final errors per optimiser and weight decay: "
                  "mean ± std (n), per-seed values, its range below 10 seeds (95% bootstrap "
                  "interval from 10), the gap to the optimiser's best weight decay with its "
                  "test, seeds that fitted the training set.")],
        [FigureItem(preset, fig, caption=f"{metric.replace('_', ' ').capitalize()} and train "
                    "error against weight decay.", command=ctx.item_command(item),
                    config=caption_config(runs, ("optimizer", "weight_decay", "seed")))])


# ---- the items -------------------------------------------------------------------------------

def item_images_fig1(ctx: Context, findings: list[Finding]) -> list[Section]:
    return [batch_section(ctx, "images-fig1", findings)]


def item_images_fig2(ctx: Context, findings: list[Finding]) -> list[Section]:
    return [wd_section(ctx, "images-fig2", findings)]


def item_images_imagenet(ctx: Context, findings: list[Finding]) -> list[Section]:
    """The ImageNet subset (docs/paper.md: 100 images per class, ResNet-50, 90 epochs, top-5 error):
    top-5 error against batch size, and against weight decay at B = 64."""
    what = "ImageNet subset"
    return [batch_section(ctx, "images-imagenet", findings, "test_error_top5", what,
                          "top-5 error vs batch size", "images-imagenet"),
            wd_section(ctx, "images-imagenet-wd", findings, "test_error_top5", what,
                       "top-5 error vs weight decay", "images-imagenet")]


def item_images_anchor(ctx: Context, findings: list[Finding]) -> list[Section]:
    """Small VGG on the full Fashion-MNIST: the data, model and optimiser are right when it
    reaches the test accuracy of public small CNNs without augmentation."""
    runs, _ = ctx.runs("images-anchor")
    ok = [r for r in runs if r["status"] == "ok"]
    acc = summarise(1 - r["final"]["test_error"] for r in ok)
    cpu = _cpu_seconds(ctx, runs)
    rows = [{"seed": r["config"]["seed"], "epochs": r["epochs"], "steps": r["steps"],
             "train_error": r["final"].get("train_error"),
             "test_error": r["final"].get("test_error") if r["status"] == "ok" else None,
             "test accuracy": 1 - r["final"]["test_error"] if r["status"] == "ok" else None,
             "training seconds": r.get("seconds"), "CPU seconds": cpu.get(r["id"]),
             "status": r["status"]}
            for r in sorted(runs, key=lambda r: r["config"]["seed"])]
    first = runs[0]["config"]
    full = anchor_is_full(runs)
    data = (f"all {first['dataset']} training images (test: the whole test set)" if full else
            f"{first.get('subset') or 'all'} {first['dataset']} training images (test: "
            f"{first.get('test_subset') or 'all'}; a cut-down smoke version, not the anchor)")
    timing = ctx.timings.get("images-anchor")
    took = f" The sweep took {timing.seconds:.0f} s here." if timing and timing.ran else ""
    findings.append(Finding(
        f"Anchor: {first['arch']} on {data} reaches at least {ANCHOR_ACCURACY:.0%} test accuracy "
        f"(public small CNNs without augmentation: about 90-92.5%), so data, model and "
        f"optimiser are right.",
        f"test accuracy {acc} (per seed: "
        f"{', '.join(format(1 - r['final']['test_error'], '.4f') for r in ok)}) after "
        f"{first['epochs']} epochs.{took}", anchor_verdict(runs), claim_id="images.anchor",
        decided=len(ok)))
    intro = [f"{first['arch']} on {data}, {label(first['optimizer'])} lr {first['lr']:g}, λ = "
             f"{first['weight_decay']:g}, B = {first['batch_size']}, {first['epochs']} epochs, no "
             f"augmentation, {len(runs)} seed{'s' if len(runs) != 1 else ''}. Not a claim of the "
             f"paper (so no scale-down table): a check that the pipeline under every real-image "
             f"claim trains a network as well as public code does.{took}" + _time_text(ctx, runs)]
    return [Section("Real images: the anchor (full Fashion-MNIST)", intro,
                    [TableItem("images-anchor-table", rows, per_seed=False,
                               caption="Final errors per seed; training seconds: the training "
                               "loop's wall time on one core; CPU seconds: the whole run's "
                               "(with its evaluations), where recorded.")], [])]
