"""Real images (PAPER.md "Experiments", App. D.1): test error against batch size (Fig 1) and
against weight decay (Fig 2) at the size the scale-down rule gives a CPU (adamlab/scaledown.py),
the real-data anchor, and the ImageNet-subset version for users with the data and a GPU.

Every cell shows its seeds: mean ± std, the 95% bootstrap interval of the mean, the train error
beside the test error, and how many seeds fitted the training set. A claim "A is worse than B"
holds only when the bootstrap interval of mean(A) - mean(B) lies above zero
(`stats.difference(...).clearly_positive`), and the text says when leaving out one seed would
undo it (`stats.survives_leaving_out_one`). Every section opens with the scale-down table:
quantity | paper | this run, computed from the runs that were actually made.
"""
from __future__ import annotations

import dataclasses

from ... import scaledown
from ...config import IMAGE_TEST_SIZES
from ...stats import agreement, difference, summarise, survives_leaving_out_one
from .. import figures as F
from ..context import Context, caption_config, group_runs, label
from ..page import FigureItem, Section, TableItem
from ..regimes import FIT_TRAIN_ERROR, Finding
from ..tables import Stats, fmt_number

# Fig 2: a weight decay "breaks" training when its test error is above the optimiser's best cell
# by more than this beyond the seeds' spread (the lower end of the 95% interval of the gap). At
# n_test = 2,000 one seed's test error has a binomial sd of about 0.009 at error 0.2, so 0.05 is
# well clear of evaluation noise and small next to the paper's breakdown (Adam at 0.1: chance).
BREAK_MARGIN = 0.05
# The paper's Fig 2 statements (PAPER.md "Experiments"): Adam breaks above about 0.05, AdamW
# stays good up to 0.5; "about" is read as: the first broken value is 0.05 or 0.1.
ADAM_BREAKS_ABOUT = (0.05, 0.1)
ADAMW_GOOD_UP_TO = 0.5
# The paper's protocol for each CPU preset: its full-size preset (one source of the numbers).
PAPER_PRESET = {"images-fig1": "images-fig1-full", "images-fig2": "images-fig2-full",
                "images-imagenet": "images-imagenet", "images-imagenet-wd": "images-imagenet-wd"}
ANCHOR_ACCURACY = 0.91  # public small CNNs without augmentation on Fashion-MNIST: about 0.90-0.925
# Classes of the datasets with fixed files, for the chance level (1 - k/classes for top-k error):
# a cell that did not beat chance learned nothing, and no claim about it is a finding.
CLASSES = {"fashion-mnist": 10, "mnist": 10, "cifar10": 10}


def chance_error(runs: list[dict], metric: str) -> float | None:
    classes = CLASSES.get(runs[0]["config"]["dataset"])
    return None if classes is None else 1 - (5 if metric.endswith("top5") else 1) / classes


def learned_nothing(runs: list[dict], metric: str, all_runs: list[dict]) -> str | None:
    """A sentence when the cell's mean error is not below chance by BREAK_MARGIN, else None."""
    chance = chance_error(all_runs, metric)
    mean = summarise(_values(runs, metric)).mean
    if chance is None or mean is None or mean < chance - BREAK_MARGIN:
        return None
    return (f"Nothing was learned: the best cell's {metric.replace('_', ' ')} {mean:.3f} is not "
            f"below chance ({chance:.2f}) by {BREAK_MARGIN}. ")


def _ylabel(metric: str) -> str:
    return ("top-5 error" if metric.endswith("top5") else "error") + \
        " (fraction of examples; solid: test, dashed: train)"


def _command(ctx: Context, item: str) -> str:
    """The command that rebuilds one item's figure (the item alone, the same flags)."""
    flags = ctx.command.split(" --", 1)
    return f"adamlab reproduce {item}" + (f" --{flags[1]}" if len(flags) > 1 else "")


# ---- runs -> cells ---------------------------------------------------------------------------

def _values(runs: list[dict], metric: str) -> list:
    """Per-seed final values (None for a run that did not finish ok), in seed order."""
    return [r["final"].get(metric) if r["status"] == "ok" else None
            for r in sorted(runs, key=lambda r: r["config"]["seed"])]


def _ci(s: Stats) -> str:
    return "–" if s.ci95 is None else f"[{fmt_number(s.ci95[0])}, {fmt_number(s.ci95[1])}]"


def _fits(runs: list[dict]):
    """How many seeds fitted the training set (final train error <= FIT_TRAIN_ERROR)."""
    ok = [r for r in runs if r["status"] == "ok"]
    return agreement(sum(r["final"]["train_error"] <= FIT_TRAIN_ERROR for r in ok), len(ok))


def _fits_text(runs: list[dict]) -> str:
    a = _fits(runs)
    return f"{a.k} of {a.n}"


def best_lr_cells(runs: list[dict], x_key: str, metric: str) -> dict[tuple, list[dict]]:
    """(optimizer, x) -> the runs of the lr whose mean final `metric` over seeds is lowest: the
    paper's "best test result over the lr grid" (Fig 1), chosen on the mean so that each cell's
    seeds share one lr (a per-seed minimum over three lrs would be biased low)."""
    best: dict[tuple, tuple[float, list[dict]]] = {}
    for (opt, x, _lr), rs in group_runs(runs, ("optimizer", x_key, "lr")).items():
        s = summarise(_values(rs, metric))
        if s.n and ((opt, x) not in best or s.mean < best[(opt, x)][0]):
            best[(opt, x)] = (s.mean, rs)
    return {k: v[1] for k, v in sorted(best.items())}


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


# ---- the scale-down table --------------------------------------------------------------------

def paper_protocol(preset: str, reference_batch: int | None = None) -> scaledown.Protocol:
    """The paper's protocol, read from its full-size preset (the numbers of PAPER.md)."""
    from ...sweep.spec import load_spec

    configs = load_spec(preset).configs
    p = scaledown.Protocol.from_configs(configs, reference_batch)
    if p.n_test is None:
        p = dataclasses.replace(p, n_test=IMAGE_TEST_SIZES.get(configs[0].dataset))
    return p


def protocol_table(name: str, preset: str, runs: list[dict], reference_batch=None) -> TableItem:
    paper = paper_protocol(PAPER_PRESET[preset], reference_batch)
    run = scaledown.Protocol.from_configs([r["config"] for r in runs], reference_batch)
    return TableItem(f"{name}-protocol", scaledown.protocol_rows(paper, run), per_seed=False,
                     caption="The scale-down rule (adamlab/scaledown.py): what decides the "
                     "outcome, for the paper's protocol and for these runs. 'kept': within 1% of "
                     "the paper's.")


# ---- Fig 1: test error against batch size ----------------------------------------------------

def batch_finding(opt: str, cells: dict, xs: list, metric: str, what: str) -> Finding:
    """Fig 1's claim for one optimiser: the largest batch fits the training set and generalises
    clearly worse than the smallest. The verdict separates 'fits and generalises worse' from
    'did not fit' and says which it saw."""
    small, large = cells[(opt, xs[0])], cells[(opt, xs[-1])]
    te_small, te_large = _values(small, metric), _values(large, metric)
    gap = difference(te_large, te_small)
    fit = _fits(large)
    worse = [x for x in xs[1:] if difference(_values(cells[(opt, x)], metric),
                                             te_small).clearly_positive]
    wd = small[0]["config"]["weight_decay"]
    claim = (f"{what} ({label(opt)}, λ = {wd:g}): test error rises past a critical batch size "
             f"although large batches fit the training set (Fig 1).")
    ci = "no interval" if gap.ci95 is None else \
        f"95% CI [{gap.ci95[0]:+.3f}, {gap.ci95[1]:+.3f}]"
    observed = (f"best-over-lr test error {summarise(te_small)} at B = {xs[0]} vs "
                f"{summarise(te_large)} at B = {xs[-1]} (gap {gap.estimate:+.3f}, {ci}); "
                f"B = {xs[-1]} fitted the training set (train error <= {FIT_TRAIN_ERROR}) in "
                f"{fit.k} of {fit.n} seeds (train error {summarise(_values(large, 'train_error'))})"
                f"; first batch clearly worse than B = {xs[0]}: "
                f"{'B = ' + str(worse[0]) if worse else 'none'}.")
    if gap.clearly_positive and not survives_leaving_out_one(te_large, te_small):
        observed += " Leaving out one seed would undo the gap: one seed could flip this."
    nothing = learned_nothing(min((cells[(opt, x)] for x in xs), key=lambda rs: summarise(
        _values(rs, metric)).mean), metric, small)
    if nothing:
        return Finding(claim, nothing + observed, "not reproduced")
    if gap.clearly_positive and fit.all:
        return Finding(claim, "fits the training set and generalises worse: " + observed,
                       "reproduced")
    if gap.clearly_positive:
        return Finding(claim, "did not fit the training set, so under-training, not the paper's "
                       "mechanism, may explain the rise: " + observed, "partly reproduced")
    return Finding(claim, ("fits the training set and shows no clear batch-size effect (an "
                           "honest negative on this data): " if fit.all else
                           "no clear batch-size effect, and the largest batch did not fit: ")
                   + observed, "not reproduced")


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
            te = summarise(_values(rs, metric))
            rows.append({"optimizer": label(opt), "batch_size": x, "best lr": c["config"]["lr"],
                         "steps": max(r["steps"] for r in rs),
                         "lr x steps": c["config"]["lr"] * max(r["steps"] for r in rs),
                         train_metric: summarise(_values(rs, train_metric)), metric: te,
                         f"{metric} 95% CI": _ci(te), "fitted (seeds)": _fits_text(rs)})
        wd = cells[(opt, xs[0])][0]["config"]["weight_decay"]
        series.append({"label": f"{label(opt)} (λ = {wd:g})", **_series(cells, opt, xs, metric)})
        if len(xs) > 1:
            findings.append(batch_finding(opt, cells, xs, metric, what))
    every = []
    for (opt, x, lr), rs in group_runs(runs, ("optimizer", "batch_size", "lr")).items():
        every.append({"optimizer": label(opt), "batch_size": x, "lr": lr,
                      train_metric: summarise(_values(rs, train_metric)),
                      metric: summarise(_values(rs, metric)),
                      "not ok": sum(r["status"] != "ok" for r in rs)})
    first = runs[0]["config"]
    fig = F.seed_interval_figure(xs, series, "batch size B", ylabel=_ylabel(metric),
                                 title=f"{first['arch']} on {first['dataset']}: {title}")
    intro = [f"{len(runs)} runs: {first['dataset']} (n = {first.get('subset') or 'all'}), "
             f"{first['arch']}, {first['epochs']} epochs, betas ({first['beta1']}, "
             f"{first['beta2']}); per (optimiser, B) the lr with the lowest mean final "
             f"{metric.replace('_', ' ')} over seeds (the paper: the best over its lr grid). A "
             f"cell 'fitted' the training set when its final train error is at most "
             f"{FIT_TRAIN_ERROR}."]
    return Section(f"{what}: {title}", intro, [
        protocol_table(preset, preset, runs),
        TableItem(f"{preset}-table", rows, caption="Per optimiser and batch size, the best lr's "
                  "seeds: mean ± std (n), per-seed values, 95% bootstrap interval, seeds that "
                  "fitted the training set."),
        TableItem(f"{preset}-every-lr", every, per_seed=False,
                  caption="Every (optimiser, B, lr) cell: mean ± std over seeds.")],
        [FigureItem(preset, fig, caption=f"{metric.replace('_', ' ').capitalize()} and train "
                    f"error against batch size, best lr per point.",
                    command=_command(ctx, item),
                    config=caption_config(runs, ("optimizer", "batch_size", "lr", "seed",
                                                 "weight_decay")))])


# ---- Fig 2: test error against weight decay --------------------------------------------------

def wd_cells(runs: list[dict], opt: str, metric: str) -> list[tuple[float, list, object]]:
    """[(lambda, runs, gap to the best lambda)] in increasing lambda; the gap is
    difference(cell, best cell) over seeds."""
    cells = {wd: rs for (o, wd), rs in group_runs(runs, ("optimizer", "weight_decay")).items()
             if o == opt}
    means = {wd: summarise(_values(rs, metric)).mean for wd, rs in cells.items()}
    known = [wd for wd in cells if means[wd] is not None]
    if not known:
        return []
    best = min(known, key=lambda wd: means[wd])
    return [(wd, cells[wd], difference(_values(cells[wd], metric), _values(cells[best], metric)))
            for wd in sorted(cells)]


def broken(gap) -> bool:
    return gap.ci95 is not None and gap.ci95[0] > BREAK_MARGIN


def wd_findings(runs: list[dict], metric: str, what: str) -> list[Finding]:
    out = []
    opts = sorted({r["config"]["optimizer"] for r in runs})
    per = {opt: wd_cells(runs, opt, metric) for opt in opts}
    for opt in opts:
        cells = per[opt]
        if not cells:
            continue
        best = min(cells, key=lambda c: c[2].estimate if c[2].estimate is not None else 9)
        head = (f"best {summarise(_values(best[1], metric))} at λ = {best[0]:g}; a λ breaks when "
                f"its test error is above the best by more than {BREAK_MARGIN} beyond the seeds' "
                f"spread (95% interval of the gap). ")
        per_wd = "; ".join(f"λ = {wd:g}: test {fmt_number(summarise(_values(rs, metric)).mean)}"
                           f", train {fmt_number(summarise(_values(rs, 'train_error')).mean)}"
                           f"{' (breaks)' if broken(gap) else ''}" for wd, rs, gap in cells)
        nothing = learned_nothing(best[1], metric, runs)
        if nothing:
            verdict = "not reproduced"
            claim = (f"{what}: Adam breaks for weight decay above about 0.05 (Fig 2, Cor 4.3)."
                     if opt == "adam" else
                     f"{what}: AdamW stays good up to weight decay 0.5 (Fig 2, Cor 4.6).")
            out.append(Finding(claim, nothing + head + "Per λ (mean over seeds): " + per_wd
                               + ".", verdict))
            continue
        if opt == "adam":
            tail = [wd for wd, _, gap in cells]
            start = next((wd for i, wd in enumerate(tail)
                          if all(broken(g) for _, _, g in cells[i:])), None)
            claim = f"{what}: Adam breaks for weight decay above about 0.05 (Fig 2, Cor 4.3)."
            seen = (f"Adam breaks from λ = {start:g} on. " if start is not None else
                    f"Adam does not break up to λ = {tail[-1]:g}. ")
            verdict = ("reproduced" if start in ADAM_BREAKS_ABOUT else
                       "partly reproduced" if start is not None else "not reproduced")
        elif opt == "adamw":
            good, first_broken = None, None
            for wd, _, gap in cells:
                if broken(gap):
                    first_broken = wd
                    break
                good = wd
            claim = f"{what}: AdamW stays good up to weight decay 0.5 (Fig 2, Cor 4.6)."
            seen = ("AdamW breaks already at its smallest λ. " if good is None else
                    f"AdamW stays good up to λ = {good:g}" + (
                        f" and breaks at λ = {first_broken:g}. " if first_broken is not None
                        else ", its whole grid. "))
            verdict = ("reproduced" if good is not None and good >= ADAMW_GOOD_UP_TO else
                       "partly reproduced" if good is not None and good >= max(ADAM_BREAKS_ABOUT)
                       else "not reproduced")
        else:
            continue
        out.append(Finding(claim, seen + head + "Per λ (mean over seeds): " + per_wd + ".",
                           verdict))
    # Cor 4.6's contrast where both grids meet above Adam's limit: Adam clearly worse there.
    shared = sorted({wd for wd, _, _ in per.get("adam", [])} & {wd for wd, _, _ in
                                                                 per.get("adamw", [])})
    above = [wd for wd in shared if wd > ADAM_BREAKS_ABOUT[0]]
    if above:
        wd = above[0]
        a = _values(next(rs for w, rs, _ in per["adam"] if w == wd), metric)
        w = _values(next(rs for w2, rs, _ in per["adamw"] if w2 == wd), metric)
        gap = difference(a, w)
        ci = "no interval" if gap.ci95 is None else \
            f"95% CI [{gap.ci95[0]:+.3f}, {gap.ci95[1]:+.3f}]"
        note = "" if not gap.clearly_positive or survives_leaving_out_one(a, w) else \
            " Leaving out one seed would undo it: one seed could flip this."
        out.append(Finding(
            f"{what}: at weight decay {wd:g} Adam (L2) generalises worse than AdamW (decoupled) "
            f"(Cor 4.6: AdamW's usable weight decay reaches far above Adam's).",
            f"test error Adam {summarise(a)} vs AdamW {summarise(w)} (gap "
            f"{gap.estimate:+.3f}, {ci}).{note}",
            "reproduced" if gap.clearly_positive else "not reproduced"))
    return out


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
            te = summarise(_values(rs, metric))
            rows.append({"optimizer": label(opt), "weight_decay": wd,
                         train_metric: summarise(_values(rs, train_metric)), metric: te,
                         f"{metric} 95% CI": _ci(te),
                         "gap to best [95% CI]": "–" if gap.ci95 is None else
                         f"{gap.estimate:+.3f} [{gap.ci95[0]:+.3f}, {gap.ci95[1]:+.3f}]",
                         "breaks": broken(gap), "fitted (seeds)": _fits_text(rs)})
        series.append({"label": label(opt), **_series(by_wd, opt, xs, metric)})
    findings += wd_findings(runs, metric, what)
    first = runs[0]["config"]
    fig = F.seed_interval_figure(xs, series, "weight decay λ", ylabel=_ylabel(metric),
                                 title=f"{first['arch']} on {first['dataset']}: {title}, "
                                 f"B = {first['batch_size']}")
    intro = [f"{len(runs)} runs: {first['dataset']} (n = {first.get('subset') or 'all'}), "
             f"{first['arch']}, B = {first['batch_size']}, lr {first['lr']:g}, "
             f"{first['epochs']} epochs. 'breaks': the cell's test error is above its optimiser's "
             f"best by more than {BREAK_MARGIN} beyond the seeds' spread (the lower end of the "
             f"95% bootstrap interval of the gap)."]
    return Section(f"{what}: {title}", intro, [
        protocol_table(preset, preset, runs),
        TableItem(f"{preset}-table", rows, caption="Final errors per optimiser and weight decay: "
                  "mean ± std (n), per-seed values, 95% bootstrap interval, the gap to the "
                  "optimiser's best weight decay, seeds that fitted the training set.")],
        [FigureItem(preset, fig, caption=f"{metric.replace('_', ' ').capitalize()} and train "
                    "error against weight decay.", command=_command(ctx, item),
                    config=caption_config(runs, ("optimizer", "weight_decay", "seed")))])


# ---- the items -------------------------------------------------------------------------------

def item_images_fig1(ctx: Context, findings: list[Finding]) -> list[Section]:
    return [batch_section(ctx, "images-fig1", findings)]


def item_images_fig2(ctx: Context, findings: list[Finding]) -> list[Section]:
    return [wd_section(ctx, "images-fig2", findings)]


def item_images_imagenet(ctx: Context, findings: list[Finding]) -> list[Section]:
    """The ImageNet subset (PAPER.md: 100 images per class, ResNet-50, 90 epochs, top-5 error):
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
    rows = [{"seed": r["config"]["seed"], "epochs": r["epochs"], "steps": r["steps"],
             "train_error": r["final"].get("train_error"),
             "test_error": r["final"].get("test_error") if r["status"] == "ok" else None,
             "test accuracy": 1 - r["final"]["test_error"] if r["status"] == "ok" else None,
             "training seconds": r.get("seconds"), "status": r["status"]}
            for r in sorted(runs, key=lambda r: r["config"]["seed"])]
    passed = bool(ok) and len(ok) == len(runs) and acc.min >= ANCHOR_ACCURACY
    first = runs[0]["config"]
    timing = ctx.timings.get("images-anchor")
    took = f" The sweep took {timing.seconds:.0f} s here." if timing and timing.ran else ""
    findings.append(Finding(
        f"Anchor: {first['arch']} on the full {first['dataset']} reaches at least "
        f"{ANCHOR_ACCURACY:.0%} test accuracy (public small CNNs without augmentation: about "
        f"90-92.5%), so data, model and optimiser are right.",
        f"test accuracy {acc} (per seed: "
        f"{', '.join(format(1 - r['final']['test_error'], '.4f') for r in ok)}) after "
        f"{first['epochs']} epochs.{took}", "passed" if passed else "failed"))
    intro = [f"{first['arch']} on all {first['dataset']} training images (test: the whole test "
             f"set), {label(first['optimizer'])} lr {first['lr']:g}, λ = "
             f"{first['weight_decay']:g}, B = {first['batch_size']}, {first['epochs']} epochs, no "
             f"augmentation, {len(runs)} seeds. Not a claim of the paper: a check that the "
             f"pipeline under every real-image claim trains a network as well as public code "
             f"does.{took}"]
    return [Section("Real images: the anchor (full Fashion-MNIST)", intro,
                    [TableItem("images-anchor-table", rows, per_seed=False,
                               caption="Final errors per seed; training seconds: the training "
                               "loop on one core.")], [])]
