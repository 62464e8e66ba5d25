"""Figures for the report: trajectories (paper Figs 3-6), the (batch size x weight decay) phase
diagram, the table's error bars, and test error along one swept hyperparameter (Figs 1-2 style).

Pure functions of plain data (lists of dicts, numpy arrays); each returns a matplotlib `Figure`
built without pyplot (no global state, nothing to close), and `save(fig, stem)` writes stem.png and
stem.svg. Colours: the Okabe-Ito palette (distinguishable with the common colour-vision
deficiencies); heatmaps: viridis. Seeds are always shown: a line is the mean over seeds, its band
the min..max (or mean ± std) and, where there is room, every seed as a point.
"""
from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any, Sequence

import matplotlib
import numpy as np
from matplotlib import patheffects
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import FuncFormatter, NullFormatter

from ..core.stats import MIN_CI_SEEDS, summarise

# Okabe & Ito (2008), "Color universal design".
OKABE_ITO = {"black": "#000000", "orange": "#E69F00", "sky_blue": "#56B4E9",
             "green": "#009E73", "yellow": "#F0E442", "blue": "#0072B2",
             "vermillion": "#D55E00", "purple": "#CC79A7"}
PALETTE = [OKABE_ITO[k] for k in ("blue", "vermillion", "green", "orange", "purple", "sky_blue",
                                  "black", "yellow")]

# The paper's trajectory metrics (synthetic/metrics.py): colour, line style, legend text.
TRAJECTORY_METRICS = {
    "feature_learning_pos": (OKABE_ITO["blue"], "-", "feature learning, class +1"),
    "feature_learning_neg": (OKABE_ITO["sky_blue"], "--", "feature learning, class -1"),
    "noise_memorisation_max": (OKABE_ITO["vermillion"], "-",
                               "noise memorisation, max over examples"),
    "noise_memorisation_min": (OKABE_ITO["orange"], "--", "noise memorisation, min over examples"),
}

MOVING_HATCH = (1.0, 1.0, 1.0, 0.75)  # hatch of still-moving phase cells: visible on any colour
NEAR_HATCH = (1.0, 0.55, 0.0, 0.9)  # borderline phase cells: orange dots and a dashed outline
# The mechanism (synthetic/mechanism.py): mean step size on noise coordinates / on the feature's,
# logged for optimisers with a second moment; drawn in a panel of its own when a series has it.
MECHANISM_METRIC = "step_ratio_noise_feature"

# One-letter codes for predicted regimes drawn on heatmap cells (theory.REGIMES).
REGIME_CODES = {"learns_feature": "F", "memorises_noise": "N", "stuck_at_init": "S",
                "borderline": "B", "outside_theory": "?"}
REGIME_WORDS = {"F": "learns the feature", "N": "memorises noise", "S": "stuck at initialisation",
                "B": "borderline", "?": "outside the theorems"}

STYLE = {"font.size": 10, "axes.titlesize": 11, "axes.labelsize": 10, "legend.fontsize": 9,
         "xtick.labelsize": 9, "ytick.labelsize": 9, "axes.spines.top": False,
         "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.25,
         "svg.hashsalt": "adamlab", "svg.fonttype": "none"}


def save(fig: Figure, path_stem, dpi: int = 150) -> tuple[Path, Path]:
    """Write PATH_STEM.png and PATH_STEM.svg (folders created); returns both paths. The SVG keeps
    text as text and has no date, so the same figure gives the same file."""
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    png, svg = stem.with_name(stem.name + ".png"), stem.with_name(stem.name + ".svg")
    with matplotlib.rc_context({"svg.hashsalt": "adamlab", "svg.fonttype": "none"}):
        fig.savefig(png, dpi=dpi, bbox_inches="tight", metadata={"Software": None})
        fig.savefig(svg, bbox_inches="tight", metadata={"Date": None, "Creator": None})
    return png, svg


def fmt_tick(v: float) -> str:
    """Grid values as people write them: 1e-5, 0.01, 0.5, 100."""
    if v == 0:
        return "0"
    if float(v).is_integer() and abs(v) < 1e5:
        return str(int(v))
    text = f"{v:.3g}"
    if "e" in text:
        mant, exp = text.split("e")
        return f"{mant}e{int(exp)}"
    return text


def _seeds_matrix(values: Any) -> np.ndarray:
    """(seeds, points) float array from a list of per-seed lists or a 1-d/2-d array; None -> NaN."""
    arr = np.array([[np.nan if v is None else v for v in row] for row in values], dtype=float) \
        if len(values) and np.ndim(values[0]) == 1 else np.asarray(
            [np.nan if v is None else v for v in values], dtype=float)
    return arr[None, :] if arr.ndim == 1 else arr


def _mean_band(Y: np.ndarray, band: str):
    with np.errstate(all="ignore"), _quiet():
        mean = np.nanmean(Y, axis=0)
        if band == "std":
            sd = np.nanstd(Y, axis=0, ddof=1) if Y.shape[0] > 1 else np.zeros_like(mean)
            return mean, mean - sd, mean + sd
        if band == "ci95":  # the seeds' interval (adamlab/core/stats.py `Summary.interval`): the
            # 95% bootstrap interval of the mean from MIN_CI_SEEDS seeds, their range below
            cis = [summarise(col).interval or (np.nan, np.nan) for col in Y.T]
            return mean, np.array([c[0] for c in cis]), np.array([c[1] for c in cis])
        if band != "minmax":
            raise ValueError(f"band: must be 'minmax', 'std' or 'ci95', got {band!r}")
        return mean, np.nanmin(Y, axis=0), np.nanmax(Y, axis=0)


class _quiet:
    """Silence numpy's 'mean of empty slice' for all-NaN columns (they stay NaN)."""

    def __enter__(self):
        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        return self._w.__exit__(*exc)


def _line_with_band(ax, x, Y, colour, linestyle, label, band):
    mean, lo, hi = _mean_band(Y, band)
    ax.plot(x, mean, color=colour, linestyle=linestyle, linewidth=1.8, label=label)
    if Y.shape[0] > 1:
        ax.fill_between(x, lo, hi, color=colour, alpha=0.18, linewidth=0)


def _interval_name(n: int) -> str:
    """What a "ci95" band or bar over n seeds is (core/stats.py `Summary.interval`)."""
    return ("95% bootstrap interval of the mean" if n >= MIN_CI_SEEDS else
            f"range (below {MIN_CI_SEEDS} seeds no 95% interval is claimed)")


def _band_text(band: str, n: int) -> str:
    what = {"minmax": "min..max", "std": "mean ± std", "ci95": _interval_name(n)}.get(band, band)
    return f"line: mean over {n} seed{'s' if n != 1 else ''}; band: {what} over seeds"


def estimate_stage_boundary(epochs: Sequence[float], curves: dict, frac: float = 0.9):
    """Epoch where Stage I (pattern learning) ends, estimated from the curves (paper Sec. 5): the
    first epoch at which the dominant pattern, the metric among `curves` whose mean over seeds
    moves furthest from its start, has covered `frac` of that move. None when no curve moves or
    the dominant one still moves by more than 5% of its range over the last tenth of the epochs
    (Stage II not reached). Callers with a better
    estimate (e.g. where the weight norm stops growing) pass `stage_boundary` instead."""
    x = np.asarray(epochs, dtype=float)
    best, best_move = None, 0.0
    for values in curves.values():
        Y = _seeds_matrix(values)
        with _quiet():
            mean = np.nanmean(Y, axis=0)
        if mean.size < 3 or not np.isfinite(mean).any():
            continue
        move = np.abs(mean - mean[0])
        k = int(np.nanargmax(move))
        if move[k] > best_move:
            best, best_move = (mean, move, k), float(move[k])
    if best is None or best_move == 0:
        return None
    mean, move, k = best
    tail = x >= x[0] + 0.9 * (x[-1] - x[0])  # the last tenth of the run
    if move[-1] - move[tail][0] > 0.05 * best_move:
        return None  # still moving by more than 5% of its range at the end: no Stage II yet
    return float(x[int(np.argmax(move >= frac * best_move))])


def _shade_stages(ax, x0, boundary, colour="0.5"):
    ax.axvspan(x0, boundary, color="0.85", alpha=0.45, linewidth=0, zorder=0)
    ax.axvline(boundary, color=colour, linestyle=":", linewidth=1.2)
    trans = ax.get_xaxis_transform()
    ax.text(boundary, 0.98, " Stage II →", transform=trans, ha="left", va="top", fontsize=8,
            color="0.3")
    ax.text(boundary, 0.98, "← Stage I ", transform=trans, ha="right", va="top", fontsize=8,
            color="0.3")


def trajectory_figure(series: Sequence[dict], title: str = "", *, log_x: bool = False,
                      band: str = "minmax", layout: str = "condition",
                      stage_boundary: str | None = "auto") -> Figure:
    """Feature learning (both classes) and noise memorisation (min and max over examples) against
    epoch (paper Figs 3-6), one entry of `series` per condition:

        {"label": "Adam, B = 100", "epochs": [0, 10, ...],
         "feature_learning_pos": [[seed 0 values], [seed 1 values], ...],   # or one list
         "feature_learning_neg": ..., "noise_memorisation_min": ..., "noise_memorisation_max": ...,
         "stage_boundary": 2500.0,                                           # optional
         "step_ratio_noise_feature": [[seed 0 values], ...]}                 # optional

    Missing metrics are skipped; when some entry has the step-size ratio (MECHANISM_METRIC, the
    paper's mechanism) an extra panel draws it for every such condition on a log axis. layout
    "condition": one panel per condition with all four curves
    (the race between feature and noise, as in the paper); "metric": one panel for feature
    learning and one for noise memorisation, a colour per condition. stage_boundary: "auto" uses an
    entry's own "stage_boundary" or else `estimate_stage_boundary`; None draws no stages. Stage I
    is shaded grey. log_x drops epoch 0 (a log axis cannot show it)."""
    if layout not in ("condition", "metric"):
        raise ValueError(f"layout: must be 'condition' or 'metric', got {layout!r}")
    if not series:
        raise ValueError("series: needs at least one condition")
    with matplotlib.rc_context(STYLE):
        n = len(series)
        ratio_ax = None
        with_ratio = any(MECHANISM_METRIC in item for item in series)
        if layout == "condition":
            ncols = 1 if n == 1 else 2
            nrows = math.ceil(n / ncols)
            extra = 3.0 if with_ratio else 0.0
            fig = Figure(figsize=(6.2 * ncols, 3.6 * nrows + 0.9 + extra), layout="constrained")
            top = fig
            if with_ratio:
                top, bottom = fig.subfigures(2, 1, height_ratios=[3.6 * nrows + 0.9, extra])
                ratio_ax = bottom.subplots()
            axes = top.subplots(nrows, ncols, squeeze=False, sharey=True).ravel()
        else:
            fig = Figure(figsize=(12.4 + 6.2 * with_ratio, 4.4), layout="constrained")
            axes = fig.subplots(1, 2 + with_ratio, squeeze=False, sharex=True).ravel()
            if with_ratio:
                axes, ratio_ax = axes[:2], axes[2]
        handles = {}
        n_seeds = 1
        for ci, item in enumerate(series):
            x = np.asarray(item["epochs"], dtype=float)
            keep = x > 0 if log_x else np.ones_like(x, dtype=bool)
            metrics = {k: _seeds_matrix(item[k]) for k in TRAJECTORY_METRICS if k in item}
            if not metrics:
                raise ValueError(f"series[{ci}] ({item.get('label')}): has none of "
                                 f"{', '.join(TRAJECTORY_METRICS)}")
            n_seeds = max(n_seeds, max(Y.shape[0] for Y in metrics.values()))
            boundary = None
            if stage_boundary is not None:
                boundary = item.get("stage_boundary")
                if boundary is None:
                    boundary = estimate_stage_boundary(x, metrics)
            colour_c = PALETTE[ci % len(PALETTE)]
            if ratio_ax is not None and MECHANISM_METRIC in item:
                R = _seeds_matrix(item[MECHANISM_METRIC])
                _line_with_band(ratio_ax, x[keep], R[:, keep], colour_c, "-", item["label"], band)
            for key, Y in metrics.items():
                colour, style, text = TRAJECTORY_METRICS[key]
                if layout == "condition":
                    ax, label = axes[ci], text
                else:
                    ax = axes[0 if key.startswith("feature") else 1]
                    colour, label = colour_c, f"{item['label']}"
                    style = "-" if key.endswith(("pos", "max")) else "--"
                _line_with_band(ax, x[keep], Y[:, keep], colour, style, label, band)
                if layout == "condition":
                    handles.setdefault(label, ax.get_lines()[-1])
                elif style == "-":
                    handles.setdefault(label, ax.get_lines()[-1])
            if layout == "condition":
                axes[ci].set_title(item["label"])
                if boundary is not None:
                    _shade_stages(axes[ci], x[keep][0], boundary)
            elif boundary is not None:
                for ax in axes:
                    ax.axvline(boundary, color=colour_c, linestyle=":", linewidth=1.2)
        for ax in axes[:n] if layout == "condition" else axes:
            ax.axhline(0, color="0.4", linewidth=0.6)
            ax.set_xlabel("epoch (log scale)" if log_x else "epoch")
            if log_x:
                ax.set_xscale("log")
        for ax in axes[n:] if layout == "condition" else []:
            ax.set_visible(False)
        if ratio_ax is not None:
            _ratio_panel(ratio_ax, log_x)
        if layout == "condition":
            for ax in axes[::ncols]:
                ax.set_ylabel("inner product (max over filters r)")
            fig.legend(list(handles.values()), list(handles), loc="outside lower center",
                       ncols=2, frameon=False)
        else:
            axes[0].set_title("feature learning max_r <w_j,r, j v> (solid: class +1, dashed: -1)")
            axes[1].set_title("noise memorisation max_r <w_y,r, xi_i> (solid: max, dashed: min "
                              "over examples)")
            axes[0].set_ylabel("inner product")
            fig.legend(list(handles.values()), list(handles), loc="outside lower center",
                       ncols=min(4, len(handles)), frameon=False)
        stage_note = "; shaded: Stage I (pattern learning)" if layout == "condition" and \
            stage_boundary is not None else ("; dotted: end of Stage I" if stage_boundary
                                             is not None else "")
        fig.suptitle((title + "\n" if title else "") + _band_text(band, n_seeds) + stage_note,
                     fontsize=10)
    return fig


def _ratio_panel(ax, log_x: bool) -> None:
    """Axes, reference line and legend of the step-size ratio panel (MECHANISM_METRIC)."""
    ax.axhline(1.0, color="0.4", linewidth=0.6)
    ax.set_yscale("log")
    ax.set_xlabel("epoch (log scale)" if log_x else "epoch")
    if log_x:
        ax.set_xscale("log")
    ax.set_ylabel("noise / feature step size")
    ax.set_title("mechanism: mean step lr/(sqrt(v)+eps), noise / feature coords")
    ax.legend(fontsize="small", frameon=False)


def _edges(values: Sequence[float], log: bool) -> np.ndarray:
    """Cell edges around grid values: midpoints (geometric on a log axis), ends extrapolated."""
    v = np.asarray(values, dtype=float)
    t = np.log(v) if log else v
    if len(t) == 1:
        mids = np.array([t[0] - 0.5, t[0] + 0.5]) if not log else np.array([t[0] - 0.35,
                                                                             t[0] + 0.35])
    else:
        inner = (t[1:] + t[:-1]) / 2
        mids = np.concatenate([[t[0] - (inner[0] - t[0])], inner, [t[-1] + (t[-1] - inner[-1])]])
    return np.exp(mids) if log else mids


def _check_log(name: str, values) -> None:
    if any(v <= 0 for v in values):
        raise ValueError(f"{name}: a log axis needs positive values, got {list(values)}")


def phase_heatmap(batch_sizes: Sequence[float], weight_decays: Sequence[float], test_error_grid,
                  predicted_regime_grid=None, title: str = "", *, lines: Sequence[dict] = (),
                  annotate: bool = True, vmax: float | None = None,
                  colorbar_label: str = "test error (mean over seeds)",
                  still_moving=None, near_boundary=None) -> Figure:
    """Test error over (batch size, weight decay), both on log axes labelled with the grid values.

    test_error_grid[i][j] belongs to weight_decays[i] and batch_sizes[j] (NaN: no finished run,
    hatched). predicted_regime_grid (same shape, theory.REGIMES names, e.g. from
    theory.regime_grid): each cell gets the regime's letter (F/N/S/B/?) in its corner and thick
    lines separate cells whose predicted regime differs. lines: theory boundaries in data
    coordinates, e.g. from theory.boundary_lines: {"label": str, "batch_size": [...],
    "weight_decay": [...]}, drawn as black lines of distinct dash patterns (constants set to 1,
    so they mark orders of magnitude). still_moving (same shape, booleans): cells whose runs had
    not settled (report/regimes.py), hatched "\\\\" and counted in no claim. near_boundary (same
    shape, booleans): cells the theory puts within its margin of a boundary ("borderline"),
    dotted and outlined, shown with their colour rather than dropped. The legend below the axes
    explains every mark."""
    _check_log("batch_sizes", batch_sizes)
    _check_log("weight_decays", weight_decays)
    Z = np.array([[np.nan if v is None else v for v in row] for row in test_error_grid], float)
    if Z.shape != (len(weight_decays), len(batch_sizes)):
        raise ValueError(f"test_error_grid: must have shape (len(weight_decays), len(batch_sizes))"
                         f" = ({len(weight_decays)}, {len(batch_sizes)}), got {Z.shape}")
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(7.6, 5.6), layout="constrained")
        ax = fig.subplots()
        ax.grid(False)
        xe, ye = _edges(batch_sizes, True), _edges(weight_decays, True)
        top = vmax if vmax is not None else max(0.5, float(np.nanmax(Z)) if np.isfinite(Z).any()
                                                else 0.5)
        cmap = matplotlib.colormaps["viridis"].with_extremes(bad="0.9")
        mesh = ax.pcolormesh(xe, ye, np.ma.masked_invalid(Z), cmap=cmap, vmin=0.0, vmax=top,
                             shading="flat")
        missing = ~np.isfinite(Z)
        if missing.any():  # hatch the cells without a finished run
            ax.pcolor(xe, ye, np.ma.masked_where(~missing, np.ones_like(Z)), hatch="///",
                      alpha=0.0, shading="flat")
        moving = np.zeros(Z.shape, bool) if still_moving is None else np.array(still_moving, bool)
        if moving.shape != Z.shape:
            raise ValueError(f"still_moving: must have shape {Z.shape}, got {moving.shape}")
        moving &= ~missing
        for i, j in zip(*np.nonzero(moving)):  # the colour stays (what the runs reached); the
            # hatch, light on any colour, says "not final"
            ax.add_patch(Rectangle((xe[j], ye[i]), xe[j + 1] - xe[j], ye[i + 1] - ye[i],
                                   fill=False, hatch="\\\\", edgecolor=MOVING_HATCH,
                                   linewidth=0.0))
        near = np.zeros(Z.shape, bool) if near_boundary is None else np.array(near_boundary,
                                                                                 bool)
        if near.shape != Z.shape:
            raise ValueError(f"near_boundary: must have shape {Z.shape}, got {near.shape}")
        for i, j in zip(*np.nonzero(near)):  # dotted, with a dashed outline: "near a boundary"
            ax.add_patch(Rectangle((xe[j], ye[i]), xe[j + 1] - xe[j], ye[i + 1] - ye[i],
                                   fill=False, hatch="..", edgecolor=NEAR_HATCH,
                                   linewidth=1.2, linestyle=(0, (3, 2))))
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(xe[0], xe[-1])
        ax.set_ylim(ye[0], ye[-1])
        ax.set_xticks(list(batch_sizes), [fmt_tick(b) for b in batch_sizes])
        ax.set_yticks(list(weight_decays), [fmt_tick(w) for w in weight_decays])
        ax.minorticks_off()
        ax.set_xlabel("batch size B (log scale)")
        ax.set_ylabel("weight decay λ (log scale)")
        cb = fig.colorbar(mesh, ax=ax, pad=0.02)
        cb.set_label(colorbar_label)
        xc, yc = np.asarray(batch_sizes, float), np.asarray(weight_decays, float)
        if annotate:
            norm = mesh.norm
            for i, wd in enumerate(yc):
                for j, b in enumerate(xc):
                    v = Z[i, j]
                    text = "n/a" if not np.isfinite(v) else f"{v:.2f}"
                    dark = np.isfinite(v) and norm(v) < 0.6
                    ax.text(b, wd, text, ha="center", va="center", fontsize=8,
                            color="white" if dark else "black", path_effects=[
                                patheffects.withStroke(linewidth=1.5, foreground="black" if dark
                                                       else "white")])
        handles = []
        if predicted_regime_grid is not None:
            _draw_regimes(ax, predicted_regime_grid, xe, ye, xc, yc)
            codes = sorted({REGIME_CODES.get(r, "?") for row in predicted_regime_grid
                            for r in row}, key=list(REGIME_WORDS).index)
            handles += [Line2D([], [], linestyle="none", marker=f"${c}$", color="black",
                               markersize=7, label=f"predicted: {REGIME_WORDS[c]}")
                        for c in codes]
            handles.append(Line2D([], [], color="white", linewidth=3, path_effects=[
                patheffects.withStroke(linewidth=5, foreground="black")],
                label="predicted regime changes"))
        if missing.any():
            handles.append(Patch(facecolor="0.9", hatch="///", edgecolor="0.4",
                                 label="no finished run"))
        if moving.any():
            handles.append(Patch(facecolor="0.5", hatch="\\\\", edgecolor=MOVING_HATCH,
                                 label="still moving (not counted)"))
        if near.any():
            handles.append(Patch(facecolor="0.5", hatch="..", edgecolor=NEAR_HATCH,
                                 linestyle=(0, (3, 2)),
                                 label="near a theory boundary (shown, not counted)"))
        outline = [patheffects.withStroke(linewidth=3.2, foreground="white")]
        styles = [(0, (6, 2)), (0, (1, 1.5)), (0, (6, 2, 1, 2)), (0, (2, 4)), "-"]
        for k, line in enumerate(lines):
            handles += ax.plot(line["batch_size"], line["weight_decay"], color="black",
                               linestyle=styles[k % len(styles)], linewidth=1.6,
                               label=f"theory: {line['label']}", path_effects=outline)
        if handles:
            fig.legend(handles=handles, loc="outside lower center", ncols=2, frameon=False,
                       fontsize=8)
        ax.set_title(title)
    return fig


def _draw_regimes(ax, grid, xe, ye, xc, yc) -> None:
    R = [[REGIME_CODES.get(r, "?") for r in row] for row in grid]
    if (len(R), len(R[0]) if R else 0) != (len(yc), len(xc)):
        raise ValueError(f"predicted_regime_grid: must have shape ({len(yc)}, {len(xc)})")
    outline = [patheffects.withStroke(linewidth=2.5, foreground="white")]
    for i in range(len(yc)):
        for j in range(len(xc)):
            # lower-right corner of the cell, a fifth of the way in (log axes: geometric)
            x = xe[j + 1] * (xe[j] / xe[j + 1]) ** 0.15
            y = ye[i] * (ye[i + 1] / ye[i]) ** 0.15
            ax.text(x, y, R[i][j], ha="right", va="bottom", fontsize=7, fontweight="bold",
                    color="black", path_effects=outline)
            if j + 1 < len(xc) and R[i][j] != R[i][j + 1]:
                ax.plot([xe[j + 1]] * 2, [ye[i], ye[i + 1]], color="white", linewidth=3,
                        solid_capstyle="butt", path_effects=[patheffects.withStroke(
                            linewidth=5, foreground="black")])
            if i + 1 < len(yc) and R[i][j] != R[i + 1][j]:
                ax.plot([xe[j], xe[j + 1]], [ye[i + 1]] * 2, color="white", linewidth=3,
                        solid_capstyle="butt", path_effects=[patheffects.withStroke(
                            linewidth=5, foreground="black")])


def error_bars_figure(rows: Sequence[dict], title: str = "", *,
                      metrics: Sequence[str] = ("train_error", "test_error"),
                      ylabel: str = "error (fraction of examples misclassified)",
                      chance: float | None = 0.5) -> Figure:
    """The table as a picture: per row (a cell of the table), each metric's per-seed values as
    points and their mean ± std as a bar. rows: {"label": "Adam λ=1e-5\\nB=100",
    "train_error": [per-seed values], "test_error": [...]}; None/NaN values are left out."""
    if not rows:
        raise ValueError("rows: needs at least one row")
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(max(5.5, 1.7 * len(rows) + 2), 4.4), layout="constrained")
        ax = fig.subplots()
        width = 0.7 / len(metrics)
        colours = [OKABE_ITO["blue"], OKABE_ITO["vermillion"], OKABE_ITO["green"],
                   OKABE_ITO["purple"]]
        markers = ["o", "s", "D", "^"]
        n_max = 0
        for m, metric in enumerate(metrics):
            label = metric.replace("_", " ") + " (mean ± std)"
            for r, row in enumerate(rows):
                vals = np.array([np.nan if v is None else v for v in row.get(metric, [])], float)
                vals = vals[np.isfinite(vals)]
                if vals.size == 0:
                    continue
                n_max = max(n_max, vals.size)
                x = r + (m - (len(metrics) - 1) / 2) * width
                jitter = np.linspace(-width * 0.25, width * 0.25, vals.size) if vals.size > 1 \
                    else np.zeros(1)
                ax.scatter(x + jitter, vals, s=16, color=colours[m % 4], alpha=0.55,
                           marker=markers[m % 4], linewidths=0, zorder=3)
                sd = vals.std(ddof=1) if vals.size > 1 else 0.0
                ax.errorbar([x], [vals.mean()], yerr=[sd], fmt="_", markersize=14,
                            color=colours[m % 4], ecolor="black", elinewidth=1.2, capsize=4,
                            zorder=4, label=label)
                label = None
        if chance is not None:
            ax.axhline(chance, color="0.4", linestyle=":", linewidth=1.2,
                       label=f"chance level ({fmt_tick(chance)})")
        ax.set_xticks(range(len(rows)), [row["label"] for row in rows])
        ax.set_xlim(-0.6, len(rows) - 0.4)
        ax.set_ylabel(ylabel)
        ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]))
        handles, labels = ax.get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=len(handles),
                   frameon=False)
        ax.set_title((title + "\n" if title else "") + f"points: seeds (up to {n_max}); "
                     "bar: mean ± std over seeds", fontsize=10)
    return fig


def _swept_values(x: Sequence[float], series: Sequence[dict], log_x: bool) -> np.ndarray:
    """The swept setting's values of a figure along one setting (checked: lines to draw, and
    positive values on a log axis)."""
    if not series:
        raise ValueError("series: needs at least one line")
    xv = np.asarray(x, float)
    if log_x:
        _check_log("x", xv)
    return xv


def _swept_axis(ax, xv: np.ndarray, xlabel: str, log_x: bool) -> None:
    """The x axis of a figure along one setting: every swept value is a tick (tilted when there
    are many, which on a log axis would overlap), no minor ticks."""
    if log_x:
        ax.set_xscale("log")
    ax.set_xticks(list(xv), [fmt_tick(v) for v in xv],
                  rotation=45 if len(xv) > 8 else 0, ha="right" if len(xv) > 8 else "center")
    ax.minorticks_off()
    ax.set_xlabel(xlabel + (" (log scale)" if log_x else ""))


def sweep_line_figure(x: Sequence[float], series: Sequence[dict], xlabel: str,
                      log_x: bool = True, *, ylabel: str = "test error", title: str = "",
                      band: str = "minmax", chance: float | None = 0.5,
                      log_y: bool = False) -> Figure:
    """A metric along one swept hyperparameter (test error vs batch size, Fig 1; vs weight
    decay, Fig 2), one line per condition. series: {"label": "AdamW λ=0.01",
    "values": [[seed 0 value per x], [seed 1 ...], ...]} (one list is one seed; NaN/None: no
    run). x ticks are the swept values themselves."""
    xv = _swept_values(x, series, log_x)
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(7.0, 4.4), layout="constrained")
        ax = fig.subplots()
        markers = ["o", "s", "D", "^", "v", "P", "X", "*"]
        n_seeds = 1
        for k, item in enumerate(series):
            Y = _seeds_matrix(item["values"])
            if Y.shape[1] != len(xv):
                raise ValueError(f"series[{k}] ({item.get('label')}): {Y.shape[1]} values per "
                                 f"seed for {len(xv)} x values")
            n_seeds = max(n_seeds, Y.shape[0])
            colour = PALETTE[k % len(PALETTE)]
            mean, lo, hi = _mean_band(Y, band)
            ax.plot(xv, mean, color=colour, marker=markers[k % len(markers)], markersize=5,
                    linewidth=1.8, label=item["label"])
            if Y.shape[0] > 1:
                ax.fill_between(xv, lo, hi, color=colour, alpha=0.18, linewidth=0)
                for row in Y:
                    ax.scatter(xv, row, s=9, color=colour, alpha=0.45, linewidths=0)
        if chance is not None:
            ax.axhline(chance, color="0.4", linestyle=":", linewidth=1.2,
                       label=f"chance level ({fmt_tick(chance)})")
        _swept_axis(ax, xv, xlabel, log_x)
        if log_y:
            ax.set_yscale("log")
        ax.set_ylabel(ylabel)
        if len(series) > 4:  # many lines: a legend inside would cover them
            fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center",
                       ncols=min(4, len(series) + (chance is not None)), frameon=False)
        else:
            ax.legend(frameon=False, loc="best")
        ax.set_title((title + "\n" if title else "") + _band_text(band, n_seeds)
                     + ("; points: seeds" if n_seeds > 1 else ""), fontsize=10)
    return fig


def critical_batch_figure(groups: Sequence[dict], title: str = "", *,
                          family: Sequence[float] = (1, 2, 5, 10, 20)) -> Figure:
    """Measured critical batch size against the theory's n / log(1/(λη)), both axes log.

    groups: one per optimiser, {"label": "Adam", "points": [{"x": theory B*, "seeds": [(b_low,
    b_high), ...], "b_star": geometric mean over seeds or None}], "fit": stats.PowerLaw or None}.
    Each seed's bracket [b_low, b_high] is a vertical bar (an open end reaches the axis edge, drawn
    dotted), the configuration's B* a marker, the fit a solid line over the fitted x range; the
    y = c x family (the theory with its unknown constant c) are thin grey lines, labelled."""
    if not groups:
        raise ValueError("groups: needs at least one group")
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(7.2, 5.4), layout="constrained")
        ax = fig.subplots()
        ax.set_xscale("log")
        ax.set_yscale("log")
        xs = [p["x"] for g in groups for p in g["points"] if p["x"]]
        ys = [b for g in groups for p in g["points"] for s in p["seeds"] for b in s if b]
        if not xs:
            raise ValueError("groups: no point has a theory value x")
        x0, x1 = min(xs) / 1.6, max(xs) * 1.6
        y0 = min(ys + [min(xs)]) / 1.6
        y1 = max(ys + [max(xs) * max(family)]) * 1.3
        markers = ["o", "s", "D", "^", "v"]
        width = (x1 / x0) ** 0.012  # horizontal offset between the seeds' bars
        for k, g in enumerate(groups):
            colour = PALETTE[k % len(PALETTE)]
            for p in g["points"]:
                m = len(p["seeds"])
                for j, (lo, hi) in enumerate(p["seeds"]):
                    xj = p["x"] * width ** (j - (m - 1) / 2)
                    if lo is None and hi is None:
                        continue
                    ax.plot([xj, xj], [lo or y0, hi or y1], color=colour, linewidth=1.4,
                            alpha=0.75, linestyle="-" if lo and hi else ":",
                            solid_capstyle="butt")
                    for end in (lo, hi):
                        if end:
                            ax.plot([xj], [end], marker="_", markersize=7, color=colour)
                if p.get("b_star"):
                    ax.plot([p["x"]], [p["b_star"]], marker=markers[k % len(markers)],
                            markersize=7, color=colour, markeredgecolor="black",
                            linestyle="none", zorder=4)
            fit = g.get("fit")
            label = g["label"]
            if fit is not None and fit.slope is not None:
                fx = [p["x"] for p in g["points"] if p.get("b_star")]
                grid = np.geomspace(min(fx), max(fx), 50)
                ci = (f" [{fit.slope_ci95[0]:.2f}, {fit.slope_ci95[1]:.2f}]"
                      if fit.slope_ci95 else "")
                label += f": slope {fit.slope:.2f}{ci}"
                ax.plot(grid, fit.prefactor * grid ** fit.slope, color=colour, linewidth=2.0)
            ax.plot([], [], marker=markers[k % len(markers)], color=colour,
                    markeredgecolor="black", linewidth=2.0, label=label)
        line = np.geomspace(x0, x1, 20)
        for c in family:
            ax.plot(line, c * line, color="0.55", linewidth=0.8, linestyle="--", zorder=1)
            xe = x1 / 1.05
            if c * xe < y1:
                ax.text(xe, c * xe, f"y = {fmt_tick(c)}x", fontsize=7, color="0.35",
                        ha="right", va="bottom")
        ax.plot([], [], color="0.55", linewidth=0.8, linestyle="--",
                label="y = c·x: the theory, constant c unknown")
        ax.plot([], [], color="0.3", linewidth=1.4, label="bars: each seed's bracket "
                "[largest B that learns, smallest B that memorises]")
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)

        for axis in (ax.xaxis, ax.yaxis):  # 2, 5, 10, 20 rather than 2×10^0
            axis.set_major_formatter(FuncFormatter(lambda v, _: fmt_tick(v)))
            axis.set_minor_formatter(NullFormatter())
        ax.set_xticks([t for t in (1, 2, 3, 5, 10, 20, 30, 50, 100) if x0 <= t <= x1] or
                      [x0, x1])
        ax.set_xlabel("theory: n / log(1/(λη)) (log scale)")
        ax.set_ylabel("measured critical batch size B* (log scale)")
        ax.legend(loc="upper left", frameon=False, fontsize=8)
        ax.set_title(title)
    return fig


def learning_curve_figure(groups: Sequence[dict], title: str = "") -> Figure:
    """P(learns the feature | B) per configuration, B on a log axis.

    groups: {"label": str, "curve": core.curves.Curve}: each batch size's share of decided runs
    that learned (marker area ~ how many were decided), the fitted logistic curve (solid), its
    50% point B* (dashed vertical) with the seed-bootstrap interval (shaded) and the width, B at
    P = 3/4 and 1/4 (thin ticks). A separable curve shows its bracket instead (shaded, hatched)."""
    groups = [g for g in groups if g.get("curve") is not None]
    if not groups:
        raise ValueError("groups: needs at least one configuration with a curve")
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(7.2, 4.6), layout="constrained")
        ax = fig.subplots()
        ax.set_xscale("log")
        bs = [b for g in groups for b, _, _ in g["curve"].counts]
        x0, x1 = min(bs) / 1.3, max(bs) * 1.3
        for k, g in enumerate(groups):
            colour, curve = PALETTE[k % len(PALETTE)], g["curve"]
            b, learns, decided = (np.array(v, dtype=float) for v in zip(*curve.counts))
            ax.scatter(b, learns / decided, s=12 + 6 * decided, color=colour, alpha=0.75,
                       edgecolor="black", linewidth=0.5, zorder=3)
            label = g["label"]
            if curve.censored:
                lo, hi = curve.bracket
                ax.axvspan(lo or x0, hi or x1, color=colour, alpha=0.12, hatch="//")
                label += f": separable, B* in [{fmt_tick(lo or 0) if lo else '–'}, " \
                         f"{fmt_tick(hi) if hi else '–'}]"
            else:
                grid = np.geomspace(x0, x1, 200)
                ax.plot(grid, 1 / (1 + np.exp(-curve.slope * (np.log(grid)
                                                              - np.log(curve.b_star)))),
                        color=colour, linewidth=2.0)
                ax.axvline(curve.b_star, color=colour, linestyle="--", linewidth=1.0)
                if curve.interval:
                    ax.axvspan(*curve.interval, color=colour, alpha=0.15)
                for w, p in zip(curve.width, (0.75, 0.25)):
                    ax.plot([w], [p], marker="|", markersize=10, color=colour)
                ci = (f" [{curve.interval[0]:.3g}, {curve.interval[1]:.3g}]"
                      if curve.interval else "")
                if curve.extrapolated:  # no B* to mark: it lies outside the runs
                    label += f": P = 1/2 outside the runs (fit: {curve.b_star:.3g})"
                else:
                    label += (f": B* {curve.b_star:.3g}{ci}, P = 3/4..1/4 at "
                              f"{curve.width[0]:.3g}..{curve.width[1]:.3g}")
            ax.plot([], [], marker="o", color=colour, markeredgecolor="black", linewidth=2.0,
                    label=label + f" ({curve.seeds} seeds)")
        ax.set_xlim(x0, x1)
        ax.set_ylim(-0.05, 1.05)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt_tick(v)))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ticks = [v * 10 ** e for e in range(-1, 6) for v in (1, 1.5, 2, 3, 5, 7)]
        ax.set_xticks([v for v in ticks if x0 <= v <= x1] or [x0, x1])
        ax.set_xlabel("batch size B (log scale)")
        ax.set_ylabel("share of decided runs that learn the feature")
        ax.legend(loc="lower left", frameon=False, fontsize=8)
        ax.set_title(title)
    return fig


def seed_interval_figure(x: Sequence[float], series: Sequence[dict], xlabel: str,
                         log_x: bool = True, *, ylabel: str = "error", title: str = "",
                         marks: Sequence[dict] = (), fit_line: float | None = None) -> Figure:
    """Test error (solid) and train error (dashed) along one swept setting, with the seeds'
    statistics drawn as error bars (the real-image Figs 1-2): per condition and x, the mean over
    seeds, its interval (adamlab/core/stats.py `Summary.interval`: the seeds' range below 10
    seeds, the 95% bootstrap interval from 10) as an error bar, and every seed as a small point.

        series: {"label": "AdamW (λ = 0.01)", "test": [[seed 0 value per x], ...],
                 "train": [[...], ...],              # "train" optional; None/NaN: no run
                 "notes": ["2/3 fitted", None, ...]} # optional, per x: written above the
                                                     # condition's test point
        marks:  {"x": 128, "y": 0.2, "text": "did not fit"}   # optional notes at points
        fit_line: a train error drawn as a dotted line, the threshold below which a cell
                  counts as having fitted the training set
    """

    xv = _swept_values(x, series, log_x)
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(7.2, 4.6), layout="constrained")
        ax = fig.subplots()
        markers = ["o", "s", "D", "^", "v", "P"]
        # Conditions side by side at each x, so their bars do not hide each other.
        spread = 1.06 if log_x else 0.02 * (xv.max() - xv.min() or 1.0)
        n_seeds = 1
        for k, item in enumerate(series):
            colour = PALETTE[k % len(PALETTE)]
            offset = (k - (len(series) - 1) / 2)
            xs = xv * spread ** offset if log_x else xv + spread * offset
            for key, style, fill in (("test", "-", colour), ("train", "--", "white")):
                if key not in item:
                    continue
                Y = _seeds_matrix(item[key])
                if Y.shape[1] != len(xv):
                    raise ValueError(f"series[{k}] ({item.get('label')}): {Y.shape[1]} {key} "
                                     f"values per seed for {len(xv)} x values")
                n_seeds = max(n_seeds, Y.shape[0])
                stats = [summarise(Y[:, j]) for j in range(len(xv))]
                mean = np.array([np.nan if s.mean is None else s.mean for s in stats])
                lo = np.array([s.interval[0] if s.interval else np.nan for s in stats])
                hi = np.array([s.interval[1] if s.interval else np.nan for s in stats])
                yerr = np.vstack([np.nan_to_num(mean - lo), np.nan_to_num(hi - mean)])
                ax.errorbar(xs, mean, yerr=yerr, color=colour, linestyle=style,
                            marker=markers[k % len(markers)], markersize=5, markerfacecolor=fill,
                            linewidth=1.6, elinewidth=1.1, capsize=3,
                            label=f"{item['label']}: {key} error")
                for row in Y:
                    ax.scatter(xs, row, s=8, color=colour, alpha=0.4, linewidths=0, zorder=3)
                if key == "test":
                    for j, text in enumerate(item.get("notes") or ()):
                        if text and np.isfinite(mean[j]):
                            ax.annotate(text, (xs[j], hi[j] if np.isfinite(hi[j]) else mean[j]),
                                        textcoords="offset points", xytext=(0, 4), ha="center",
                                        fontsize=7, color=colour)
        if fit_line is not None:
            ax.axhline(fit_line, color="0.45", linestyle=":", linewidth=1.0,
                       label=f"fitted the training set: train error ≤ {fit_line:g}")
        for m in marks:
            ax.annotate(m["text"], (m["x"], m["y"]), textcoords="offset points",
                        xytext=(0, 10), ha="center", fontsize=8, color="0.25")
        _swept_axis(ax, xv, xlabel, log_x)
        ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]))
        ax.set_ylabel(ylabel)
        fig.legend(loc="outside lower center", ncols=2, frameon=False)
        ax.set_title((title + "\n" if title else "") + f"mean over {n_seeds} seed"
                     f"{'s' if n_seeds != 1 else ''}; bars: {_interval_name(n_seeds)}; "
                     "points: seeds; dashed, open: train error", fontsize=10)
    return fig


def panels_figure(panels: Sequence[dict], title: str = "", *, ylabel: str = "test error",
                  chance: float | None = 0.5, ncols: int = 5) -> Figure:
    """Small multiples: one panel per condition (e.g. a setting of the limits item), each with a
    few groups of seeds. panels: {"title": "cosine", "groups": [{"label": "Adam\\nB=100",
    "values": [per-seed values], "moving": [per-seed bool], "colour": 0}, ...]}. Each group
    shows its seeds as points (hollow: still moving) and their mean ± std as a bar; every panel
    shares the y axis, so settings compare at a glance."""
    if not panels:
        raise ValueError("panels: needs at least one panel")
    with matplotlib.rc_context(STYLE):
        ncols = min(ncols, len(panels))
        nrows = math.ceil(len(panels) / ncols)
        fig = Figure(figsize=(2.5 * ncols + 0.6, 2.5 * nrows + 1.0), layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=False, sharey=True).ravel()
        n_max, moving_any = 0, False
        for ax, panel in zip(axes, panels):
            groups = panel["groups"]
            for g, group in enumerate(groups):
                vals = np.array([np.nan if v is None else v for v in group["values"]], float)
                moving = np.array(group.get("moving") or [False] * vals.size, bool)
                ok = np.isfinite(vals)
                n_max = max(n_max, int(ok.sum()))
                colour = PALETTE[group.get("colour", g) % len(PALETTE)]
                jitter = np.linspace(-0.18, 0.18, vals.size) if vals.size > 1 else np.zeros(1)
                for hollow in (False, True):
                    sel = ok & (moving == hollow)
                    moving_any |= hollow and bool(sel.any())
                    ax.scatter(g + jitter[sel], vals[sel], s=18, zorder=3, linewidths=1.0,
                               facecolors="none" if hollow else colour, edgecolors=colour)
                if ok.any():
                    sd = vals[ok].std(ddof=1) if ok.sum() > 1 else 0.0
                    ax.errorbar([g], [vals[ok].mean()], yerr=[sd], fmt="_", markersize=16,
                                color="black", elinewidth=1.1, capsize=3, zorder=4)
            ax.set_xticks(range(len(groups)), [grp["label"] for grp in groups], fontsize=8)
            ax.set_xlim(-0.6, len(groups) - 0.4)
            ax.set_title(panel["title"], fontsize=9)
            if chance is not None:
                ax.axhline(chance, color="0.4", linestyle=":", linewidth=1.0)
        for ax in axes[len(panels):]:
            ax.set_visible(False)
        for ax in axes[::ncols]:
            ax.set_ylabel(ylabel)
        handles = [Line2D([], [], color="black", marker="_", markersize=12, linestyle="none",
                          label="mean ± std over seeds"),
                   Line2D([], [], color="0.3", marker="o", linestyle="none",
                          label=f"a seed (up to {n_max})")]
        if moving_any:
            handles.append(Line2D([], [], color="0.3", marker="o", markerfacecolor="none",
                                  linestyle="none", label="a seed still moving (not judged)"))
        if chance is not None:
            handles.append(Line2D([], [], color="0.4", linestyle=":",
                                  label=f"chance level ({fmt_tick(chance)})"))
        fig.legend(handles=handles, loc="outside lower center", ncols=len(handles),
                   frameon=False)
        if title:
            fig.suptitle(title, fontsize=11)
    return fig


def trajectory_grid_figure(rows: Sequence[dict], title: str = "") -> Figure:
    """One seed's trajectories per setting (a row) and condition (a column, e.g. B = 100 and
    B = 2): feature learning of the least-learned class (solid), noise memorisation max and min
    over examples (dashed, dotted), one colour per line group (e.g. Adam, AdamW), log epochs.
    rows: [{"label": "3 classes", "panels": [{"title": "B = 100", "lines": [{"label": "Adam",
    "epochs": [...], "feature": [...], "noise_max": [...], "noise_min": [...]}, ...]}, ...]}]."""
    if not rows or not any(p["lines"] for r in rows for p in r["panels"]):
        raise ValueError("rows: needs at least one panel with a line")
    with matplotlib.rc_context(STYLE):
        ncols = max(len(r["panels"]) for r in rows)
        fig = Figure(figsize=(3.2 * ncols + 0.8, 2.2 * len(rows) + 1.0), layout="constrained")
        axes = fig.subplots(len(rows), ncols, squeeze=False, sharex=True)
        groups: dict[str, str] = {}
        for r, row in enumerate(rows):
            for c in range(ncols):
                ax = axes[r, c]
                if c >= len(row["panels"]):
                    ax.set_visible(False)
                    continue
                panel = row["panels"][c]
                for line in panel["lines"]:
                    colour = groups.setdefault(line["label"], PALETTE[len(groups) % len(PALETTE)])
                    x = np.asarray(line["epochs"], float)
                    keep = x > 0  # a log axis cannot show epoch 0
                    for key, style in (("feature", "-"), ("noise_max", "--"), ("noise_min", ":")):
                        if line.get(key):
                            ax.plot(x[keep], np.asarray(line[key], float)[keep], style,
                                    color=colour, linewidth=1.3)
                ax.set_xscale("log")
                ax.set_title(f"{row['label']}, {panel['title']}", fontsize=9)
                if c == 0:
                    ax.set_ylabel("inner product")
        for ax in axes[-1]:
            ax.set_xlabel("epoch")
        handles = [Line2D([], [], color=col, label=name) for name, col in groups.items()]
        handles += [Line2D([], [], color="0.3", linestyle=ls, label=text) for ls, text in (
            ("-", "feature learning, least-learned class"),
            ("--", "noise memorisation, max over examples"),
            (":", "noise memorisation, min over examples"))]
        fig.legend(handles=handles, loc="outside lower center", ncols=3, frameon=False)
        if title:
            fig.suptitle(title, fontsize=11)
    return fig
