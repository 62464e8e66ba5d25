"""Interactive figures for index.html: Plotly figures whose cells and points open the stored runs
behind them, next to the static PNG/SVG (kept for report.md and for printing).

    ix = phase_interactive(store, "phase-adam", title, batch_sizes, weight_decays, cells,
                           mean_grid, predicted, moving_grid)
    FigureItem("phase-adam", fig, ..., interactive=ix)

A phase-diagram cell shows its seeds' outcomes on hover (regime, test error, train error per
seed); clicking it (or its button in the keyboard list below the diagram) opens, below the
diagram, that cell's per-seed trajectories read from the store: feature learning of each class,
noise memorisation (min / mean / max over examples), test error and, where logged, the step-ratio
mechanism metric (synthetic/mechanism.py), each labelled with its run id and the commands that
rerun it (`adamlab train ...`, `adamlab runs STORE --open RUN_ID`). The optimisers item's
curves over batch size (`batch_size_interactive`) and the critical-batch study's B* per
configuration (`critical_batch_interactive`: the runs at each seed's bracket ends) open the same
way.

Size: plotly.min.js (about 4.8 MB, Plotly's whole bundle as the plotly package ships it) is
inlined once per page by write_report (adamlab/report/page.py), never per figure, so the page
works offline from a file. Trajectories are drawn at DISPLAY_POINTS log-spaced epochs (about 100
are logged per run: SyntheticConfig.log_epochs) to 4 significant digits; every logged epoch is
in the figure's trajectories CSV (data/NAME-trajectories.csv). docs/report.md measures the page.
"""
from __future__ import annotations

import html
import json
import math
import shlex
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Sequence

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from ..synthetic.mechanism import STEP_RATIO
from ..synthetic.regimes import REGIME_WORDS, observed_regime
from ..tasks import train_command
from . import figures as F

# At most this many epochs of a trajectory are drawn (log-spaced, first and last kept): the
# shape of a 10^4-epoch run on a log axis needs no more. Of the ~107 epochs such a run logs,
# about 40 fall on distinct log-spaced places, so a full phase diagram (144 runs x 8 series)
# embeds about 0.36 MB (benchmarks/report_size.py).
DISPLAY_POINTS = 60
SIGNIFICANT = 4  # digits of a drawn value (the CSVs keep every digit)
# One colour per run of a cell, per line of a figure: Okabe & Ito (figures.PALETTE).
SEED_COLOURS = tuple(F.PALETTE)
# The panels of a cell's trajectories: title, then (split, metric, label, dash) per series.
PANELS = (
    ("feature learning", (("model", "feature_learning_pos", "class +1", "solid"),
                          ("model", "feature_learning_neg", "class −1", "dash"))),
    ("noise memorisation", (("train", "noise_memorisation_max", "max", "solid"),
                            ("train", "noise_memorisation_mean", "mean", "dash"),
                            ("train", "noise_memorisation_min", "min", "dot"))),
    ("test error", (("test", "error", "test error", "solid"),)),
    ("step ratio, noise / feature", ((*STEP_RATIO, "step ratio", "solid"),)),
)
# The theory's regimes as the static phase diagram writes them: a letter, and its words.
REGIME_LETTERS = F.REGIME_CODES
PREDICTED_WORDS = {regime: F.REGIME_WORDS[code] for regime, code in F.REGIME_CODES.items()}
PLOT_CONFIG = {"responsive": True, "displaylogo": False, "scrollZoom": False,
               "displayModeBar": "hover",
               "modeBarButtonsToRemove": ["select2d", "lasso2d"]}

CSS = """
.ix-plot { width: 100%; min-height: 360px; }
.print-only { display: none; }
.ix-cells { margin: .4rem 0; font-size: .9rem; }
.ix-note { font-size: .88rem; color: #444; margin: .3rem 0; }
.ix-cells button { margin: .15rem; font: inherit; font-size: .85rem; cursor: pointer; }
.ix-cells button[aria-pressed="true"] { font-weight: 700; }
.ix-panel { border-top: 1px solid #ddd; margin-top: .6rem; }
.ix-panel h3 { font-size: 1.05rem; margin: .6rem 0 .3rem; }
.ix-panel .ix-traj { width: 100%; min-height: 640px; }
.ix-runs { padding-left: 1.2rem; font-size: .9rem; }
.ix-runs pre { margin: .2rem 0 .5rem; }
.ix-swatch { display: inline-block; width: .8em; height: .8em; margin-right: .35em;
             border-radius: 2px; vertical-align: baseline; }
@media print { .print-only { display: block; } .ix-live { display: none; } }
"""

# Draws every .ix-figure from its JSON (type application/json) and wires its cells: a click on
# the heatmap (Plotly's plotly_click) or a cell's button opens that cell's runs below it.
JS = r"""
(function () {
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in (attrs || {})) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function fmt(v) { return v === null || v === undefined ? "n/a" : Number(v).toFixed(3); }
  function openCell(fig, spec, key) {
    var cell = spec.cells[key];
    if (!cell) return;
    var panel = fig.querySelector(".ix-panel");
    panel.replaceChildren();
    panel.hidden = false;
    panel.setAttribute("data-cell", key);
    fig.querySelectorAll(".ix-cells button").forEach(function (b) {
      b.setAttribute("aria-pressed", String(b.getAttribute("data-cell") === key));
    });
    panel.appendChild(el("h3", {}, cell.title));
    if (!cell.runs.length) { panel.appendChild(el("p", {}, "No runs in this cell.")); return; }
    var list = el("ul", {"class": "ix-runs"});
    var sizes = {};
    cell.runs.forEach(function (r) { sizes[r.batch_size] = true; });
    var mixed = Object.keys(sizes).length > 1;  // name the batch size where runs differ in it
    cell.runs.forEach(function (r) {
      r.name = "seed " + r.seed + (mixed ? ", B " + r.batch_size : "");
    });
    cell.runs.forEach(function (r, i) {
      var li = el("li", {"data-run-id": r.id});
      var swatch = el("span", {"class": "ix-swatch", "aria-hidden": "true"});
      swatch.style.background = spec.colours[i % spec.colours.length];
      li.appendChild(swatch);
      li.appendChild(document.createTextNode(r.name + ", run "));
      li.appendChild(el("code", {}, r.id));
      li.appendChild(document.createTextNode(": " + r.regime + ", test error " +
        fmt(r.test_error) + ", train error " + fmt(r.train_error)));
      var commands = r.open_command + (r.train_command ? "\n" + r.train_command : "");
      li.appendChild(el("pre", {}, commands));
      list.appendChild(li);
    });
    panel.appendChild(list);
    var plot = el("div", {"class": "ix-traj"});
    panel.appendChild(plot);
    var traces = [];
    cell.runs.forEach(function (r, i) {
      var colour = spec.colours[i % spec.colours.length];
      var first = true;
      spec.panels.forEach(function (p, j) {
        var axis = j === 0 ? "" : String(j + 1);
        p.series.forEach(function (s) {
          var y = r.series[s.key];
          if (!y) return;
          traces.push({x: r.epochs, y: y, type: "scatter", mode: "lines", xaxis: "x" + axis,
            yaxis: "y" + axis, name: r.name + " · run " + r.id, legendgroup: r.id,
            showlegend: first, meta: r.id, line: {color: colour, dash: s.dash, width: 1.6},
            hovertemplate: s.label + ", " + r.name + "<br>run " + r.id +
              "<br>epoch %{x}: %{y:.4g}<extra></extra>"});
          first = false;
        });
      });
    });
    Plotly.newPlot(plot, traces, spec.trajectory_layout, spec.config);
  }
  function draw(fig) {
    var spec = JSON.parse(fig.querySelector("script.ix-data").textContent);
    var plot = fig.querySelector(".ix-plot");
    Plotly.newPlot(plot, spec.data, spec.layout, spec.config).then(function () {
      plot.on("plotly_click", function (ev) {
        var p = ev.points && ev.points[0];
        if (!p) return;
        var keys = p.data.meta && p.data.meta.keys;  // a curve's points name their runs
        openCell(fig, spec, keys ? keys[p.pointNumber] : p.x + "|" + p.y);
      });
      fig.setAttribute("data-ready", "true");
    });
    fig.querySelectorAll(".ix-cells button").forEach(function (b) {
      b.addEventListener("click", function () {
        openCell(fig, spec, b.getAttribute("data-cell"));
      });
    });
  }
  function start() { document.querySelectorAll(".ix-figure").forEach(draw); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
"""


@dataclass
class Interactive:
    """A figure's interactive version for index.html: `html` (its Plotly div, data and cell
    controls), drawn by the page's script and shown on screen in place of the static image;
    `data`: more CSVs {name: rows} written to data/ and linked beside the figure."""

    html: str
    data: dict[str, list[dict]] = field(default_factory=dict)


@lru_cache(maxsize=1)
def page_scripts() -> str:
    """What a page with interactive figures inlines once in its <head>: Plotly's bundle (no
    network needed) and the script that draws the figures."""
    return f"<script>{get_plotlyjs()}</script>\n<script>{JS}</script>"


def display_indices(epochs: Sequence[float], points: int = DISPLAY_POINTS) -> list[int]:
    """Indices of at most `points` log-spaced epochs of a trajectory (its first and last kept);
    epoch 0 has no place on the log axis and is dropped."""
    idx = [i for i, e in enumerate(epochs) if e > 0]
    if len(idx) <= points:
        return idx
    lo, hi = math.log(epochs[idx[0]]), math.log(epochs[idx[-1]])
    chosen, j = [], 0
    for k in range(points):
        target = lo + (hi - lo) * k / (points - 1)
        while j < len(idx) - 1 and math.log(epochs[idx[j]]) < target:
            j += 1
        if not chosen or idx[j] != chosen[-1]:
            chosen.append(idx[j])
    if chosen[-1] != idx[-1]:
        chosen.append(idx[-1])
    return chosen


def _round(v, digits: int = SIGNIFICANT):
    """`v` to `digits` significant digits; None for a missing or non-finite value (JSON has no
    NaN, and a diverged run's last values may be one)."""
    if v is None or not math.isfinite(v):
        return None
    return float(f"{v:.{digits}g}")


def series_key(split: str, name: str) -> str:
    """A series' name in a cell's data and the CSV: the metric's name, `test_error` for the
    test split's `error`."""
    return "test_error" if (split, name) == ("test", "error") else name


def open_command(store, run_id: str) -> str:
    """The line that prints one stored run in full (its config, summary and rerun line)."""
    return " ".join(shlex.quote(w) for w in ("adamlab", "runs", str(store.path), "--open",
                                             run_id))


def run_trajectories(store, run: dict) -> tuple[dict, list[dict]]:
    """(what a cell shows of one run: id, seed, regime, errors, rerun commands and its series at
    the display epochs; every logged row of its series for the CSV)."""
    wanted = {(s[0], s[1]): series_key(s[0], s[1]) for _, series in PANELS for s in series}
    by_epoch: dict[float, dict] = {}
    for step, epoch, split, name, value in store.metrics(run["id"]):
        key = wanted.get((split, name))
        if key is not None:
            by_epoch.setdefault(epoch, {"step": step})[key] = value
    epochs = sorted(by_epoch)
    keep = display_indices(epochs)
    keys = sorted({k for row in by_epoch.values() for k in row} - {"step"})
    shown = {k: [_round(by_epoch[epochs[i]].get(k)) for i in keep] for k in keys}
    final = run["final"] if run["status"] == "ok" else {}
    cell_run = {"id": run["id"], "seed": run["config"].get("seed"),
                "batch_size": run["config"].get("batch_size"),
                "regime": REGIME_WORDS.get(observed_regime(run), observed_regime(run)),
                "test_error": _round(final.get("test_error"), 17),
                "train_error": _round(final.get("train_error"), 17),
                "open_command": open_command(store, run["id"]),
                "train_command": train_command(run["config"]),
                "epochs": [_round(epochs[i]) for i in keep], "series": shown}
    rows = [{"run_id": run["id"], "seed": cell_run["seed"], "epoch": e,
             "step": by_epoch[e]["step"], **{k: by_epoch[e].get(k) for k in keys}}
            for e in epochs]
    return cell_run, rows


def _tick(v: float) -> str:
    return f"{v:g}"


def _json_for_script(obj) -> str:
    """JSON safe inside <script>: no `</` can close the element early."""
    return json.dumps(obj, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")


def trajectory_layout(has: set[str]) -> tuple[list[dict], dict]:
    """(the panels present in `has` with their series, the Plotly layout of their subplots)."""
    panels = []
    for title, series in PANELS:
        present = [{"key": series_key(s[0], s[1]), "label": s[2], "dash": s[3]}
                   for s in series if series_key(s[0], s[1]) in has]
        if present:
            labels = ", ".join(f"{p['label']} {p['dash']}" for p in present) \
                if len(present) > 1 else ""
            panels.append({"title": title + (f" ({labels})" if labels else ""),
                           "series": present})
    fig = make_subplots(rows=max(1, len(panels)), cols=1, shared_xaxes=True,
                        vertical_spacing=0.07, subplot_titles=[p["title"] for p in panels])
    fig.update_xaxes(type="log")
    fig.update_xaxes(title_text="epoch (log scale)", row=max(1, len(panels)), col=1)
    fig.update_layout(height=170 * max(1, len(panels)) + 120, margin=dict(l=50, r=10, t=40,
                                                                          b=50),
                      legend=dict(orientation="h", y=-0.12), template="plotly_white",
                      font=dict(size=12), hovermode="closest")
    fig.update_annotations(font_size=12)
    return panels, json.loads(fig.to_json())["layout"]


@dataclass
class _Cells:
    """The runs behind a figure's clickable places: key -> {title, runs as a cell shows them},
    a label per key for its button, the hover text of each key, every logged row for the CSV."""

    cells: dict = field(default_factory=dict)
    buttons: dict = field(default_factory=dict)
    hover: dict = field(default_factory=dict)
    rows: list = field(default_factory=list)
    has: set = field(default_factory=set)

    def add(self, store, key: str, title: str, button: str, runs: Sequence[dict],
            said: str = "", **columns) -> None:
        """One place of the figure: its runs (by seed), read from the store once."""
        shown = []
        for r in sorted(runs, key=lambda r: r["config"].get("seed", 0)):
            cell_run, rows = run_trajectories(store, r)
            shown.append(cell_run)
            self.has |= set(cell_run["series"])
            self.rows += [{**columns, **row} for row in rows]
        self.cells[key] = {"title": title, "runs": shown}
        self.buttons[key] = button
        seeds = "<br>".join(f"seed {r['seed']} ({r['id'][:8]}): {r['regime']}, test "
                            f"{_fmt(r['test_error'])}, train {_fmt(r['train_error'])}"
                            for r in shown) or "no runs"
        text = f"{said}<br>{seeds}" if said else seeds
        self.hover[key] = html.escape(text).replace("&lt;br&gt;", "<br>")


def _figure(name: str, title: str, fig, places: _Cells, what: str,
            note: str = "") -> Interactive:
    """The HTML of one interactive figure: its plot, a line on how to use it (and `note`, what it
    shows differently from the static image), a button per place (keyboard), the panel a place
    opens into, and its data; `what` names a place in the plot's description."""
    spec = json.loads(fig.to_json())
    panels, layout = trajectory_layout(places.has)
    payload = {"data": spec["data"], "layout": spec["layout"], "config": PLOT_CONFIG,
               "cells": places.cells, "panels": panels, "trajectory_layout": layout,
               "colours": SEED_COLOURS}
    buttons = "".join(f'<button type="button" data-cell="{html.escape(k)}" '
                      f'aria-pressed="false">{html.escape(b)}</button>'
                      for k, b in places.buttons.items())
    body = (f'<div class="ix-figure" id="ix-{name}" data-name="{name}">'
            f'<div class="ix-live"><div class="ix-plot" role="img" '
            f'aria-label="{html.escape(title)}: hover a {what} for its seeds, click it for their '
            f'trajectories"></div>'
            f'<p class="ix-note">Hover a {what} for its seeds; click it, or open it from the '
            f"list below, for their trajectories and the commands that rerun them. "
            f"{html.escape(note)}</p>"
            f'<details class="ix-cells"><summary>Open a {what} from a list (keyboard)</summary>'
            f"{buttons}</details>"
            f'<div class="ix-panel" aria-live="polite" hidden></div></div>'
            f'<script type="application/json" class="ix-data">{_json_for_script(payload)}'
            f"</script></div>")
    return Interactive(body, {f"{name}-trajectories": places.rows})


def phase_interactive(store, name: str, title: str, batch_sizes: Sequence[float],
                      weight_decays: Sequence[float], cells: dict, mean_grid, predicted,
                      moving_grid) -> Interactive:
    """The phase diagram as a Plotly heatmap over (batch size, weight decay) categories: colour
    the mean test error, the letter the theory's predicted regime, hover the cell's seeds;
    cells: {(weight decay, batch size): runs}. A click opens the cell's trajectories."""
    xs, ys = [_tick(b) for b in batch_sizes], [_tick(w) for w in weight_decays]
    places, hover, letters = _Cells(), [], []
    for i, wd in enumerate(weight_decays):
        hover_line, letter_line = [], []
        for j, b in enumerate(batch_sizes):
            runs = cells.get((wd, b), [])
            words = PREDICTED_WORDS.get(predicted[i][j], predicted[i][j])
            key = f"{xs[j]}|{ys[i]}"
            places.add(store, key, f"Batch size {xs[j]}, weight decay {ys[i]}: {len(runs)} "
                       f"run{'s' * (len(runs) != 1)}, predicted: {words}"
                       + (" (still moving)" if moving_grid[i][j] else ""),
                       f"B {xs[j]}, λ {ys[i]}", runs,
                       said=f"predicted: {words}"
                       + ("; most seeds still moving" if moving_grid[i][j] else ""),
                       batch_size=b, weight_decay=wd)
            hover_line.append(places.hover[key])
            letter_line.append(REGIME_LETTERS.get(predicted[i][j], "?")
                               + ("<br>moving" if moving_grid[i][j] else ""))
        hover.append(hover_line)
        letters.append(letter_line)
    fig = go.Figure(go.Heatmap(
        x=xs, y=ys, z=[[_round(v) if v is not None else None for v in line]
                       for line in mean_grid],
        text=letters, texttemplate="%{text}", customdata=hover, colorscale="Viridis",
        zmin=0, zmax=0.5, colorbar=dict(title=dict(text="test error"), thickness=12),
        hovertemplate=("batch size %{x}, weight decay %{y}: mean test error %{z:.3f}<br>"
                       "%{customdata}<extra></extra>"),
        xgap=1, ygap=1))
    fig.update_layout(title=dict(text=title, font=dict(size=14)), template="plotly_white",
                      xaxis=dict(title=dict(text="batch size B"), type="category"),
                      yaxis=dict(title=dict(text="weight decay λ"), type="category"),
                      height=360 + 14 * len(ys), margin=dict(l=60, r=10, t=50, b=50),
                      font=dict(size=12))
    return _figure(name, title, fig, places, "cell",
                   note="Letters: the predicted regime; 'moving': most seeds still moving. "
                        "The theory's boundary lines are drawn in the PNG and SVG.")


def batch_size_interactive(store, name: str, title: str, batch_sizes: Sequence[float],
                           lines: dict, metric: str = "test_error") -> Interactive:
    """Curves over batch size (log axis), one per line of `lines` {label: {batch size: runs}}:
    the mean of `metric` over the finished seeds, every seed as a point; hover a point for the
    seeds there, click it for their trajectories."""
    fig, places = go.Figure(), _Cells()
    for n, (label, cells) in enumerate(lines.items()):
        colour = SEED_COLOURS[n % len(SEED_COLOURS)]
        xs, means, keys, seeds_x, seeds_y, seed_keys = [], [], [], [], [], []
        for b in batch_sizes:
            runs = cells.get(b, [])
            key = f"{label}|{_tick(b)}"
            places.add(store, key, f"{label}, batch size {_tick(b)}: {len(runs)} "
                       f"run{'s' * (len(runs) != 1)}", f"{label}, B {_tick(b)}", runs,
                       said=f"{label}, B = {_tick(b)}", line=label, batch_size=b)
            values = [r["final"].get(metric) for r in runs if r["status"] == "ok"
                      and r["final"].get(metric) is not None]
            xs.append(b)
            keys.append(key)
            means.append(_round(sum(values) / len(values)) if values else None)
            seeds_x += [b] * len(values)
            seeds_y += [_round(v) for v in values]
            seed_keys += [key] * len(values)
        fig.add_trace(go.Scatter(
            x=xs, y=means, mode="lines+markers", name=label, legendgroup=label,
            line=dict(color=colour, width=2), marker=dict(size=8), meta={"keys": keys},
            customdata=[places.hover[k] for k in keys],
            hovertemplate="%{customdata}<extra>mean %{y:.3f}</extra>"))
        fig.add_trace(go.Scatter(
            x=seeds_x, y=seeds_y, mode="markers", name=f"{label}: seeds", legendgroup=label,
            showlegend=False, marker=dict(color=colour, size=5, opacity=0.5),
            meta={"keys": seed_keys}, customdata=[places.hover[k] for k in seed_keys],
            hovertemplate="%{customdata}<extra></extra>"))
    fig.update_layout(title=dict(text=title, font=dict(size=14)), template="plotly_white",
                      xaxis=dict(title=dict(text="batch size B"), type="log",
                                 tickvals=list(batch_sizes),
                                 ticktext=[_tick(b) for b in batch_sizes]),
                      yaxis=dict(title=dict(text=metric.replace("_", " ")), rangemode="tozero"),
                      height=460, margin=dict(l=60, r=10, t=50, b=50), hovermode="closest",
                      legend=dict(orientation="h", y=-0.2), font=dict(size=12))
    return _figure(name, title, fig, places, "point")


def critical_batch_interactive(store, name: str, title: str, groups: Sequence[dict]) -> Interactive:
    """The critical batch size per configuration against the theory's n / log(1/(λη)), log-log,
    one colour per group ({"label", "points", "fit"}; a point: {"x", "b_star", "config",
    "scan", "seeds": [(b_low, b_high)] per seed, "runs": the runs at each seed's bracket ends});
    hover a point for its brackets, click it for the runs on both sides of B*."""
    fig, places = go.Figure(), _Cells()
    for n, group in enumerate(groups):
        colour = SEED_COLOURS[n % len(SEED_COLOURS)]
        label = group["label"]
        xs, ys, keys, lows, highs = [], [], [], [], []
        for i, p in enumerate(group["points"]):
            c, key = p["config"], f"{label}|{i}"
            brackets = ", ".join(f"[{_tick(lo) if lo else '?'}, {_tick(hi) if hi else '?'}]"
                                 for lo, hi in p["seeds"])
            where = (f"n = {c.n}, lr {c.lr:g}, λ {c.weight_decay:g} ({p['scan']} scan)")
            star = f"B* = {p['b_star']:.3g}" if p["b_star"] else "no B*"
            places.add(store, key, f"{label}, {where}: {star}, theory n / log(1/(λη)) = "
                       f"{p['x']:.3g}; the runs at each seed's bracket ends", f"{label}, {where}",
                       p["runs"], said=f"{label}, {where}<br>{star}; brackets per seed "
                       f"{brackets}", line=label, n=c.n, lr=c.lr, weight_decay=c.weight_decay)
            xs.append(p["x"])
            ys.append(p["b_star"])
            keys.append(key)
            seen = [b for s in p["seeds"] for b in s if b]
            lows.append(p["b_star"] - min(seen) if p["b_star"] and seen else None)
            highs.append(max(seen) - p["b_star"] if p["b_star"] and seen else None)
        fig.add_trace(go.Scatter(
            x=xs, y=ys, mode="markers", name=label, marker=dict(color=colour, size=10),
            error_y=dict(type="data", symmetric=False, array=highs, arrayminus=lows,
                         color=colour, thickness=1.2),
            meta={"keys": keys}, customdata=[places.hover[k] for k in keys],
            hovertemplate="%{customdata}<extra></extra>"))
        fit = group.get("fit")
        fitted = [x for x, y in zip(xs, ys) if y]  # the line spans the points it was fitted to
        if fit is not None and fit.slope is not None and len(fitted) > 1:
            lo, hi = min(fitted), max(fitted)
            fig.add_trace(go.Scatter(
                x=[lo, hi], y=[fit.prefactor * lo ** fit.slope, fit.prefactor * hi ** fit.slope],
                mode="lines", name=f"{label}: fit, slope {fit.slope:.2f}", hoverinfo="skip",
                line=dict(color=colour, width=1.5)))
    fig.update_layout(title=dict(text=title, font=dict(size=14)), template="plotly_white",
                      xaxis=dict(title=dict(text="theory: n / log(1/(λη))"), type="log"),
                      yaxis=dict(title=dict(text="measured B*"), type="log"),
                      height=480, margin=dict(l=60, r=10, t=50, b=50), hovermode="closest",
                      legend=dict(orientation="h", y=-0.2), font=dict(size=12))
    return _figure(name, title, fig, places, "point")


def _fmt(x) -> str:
    return "n/a" if x is None or x != x else f"{x:.3f}"
