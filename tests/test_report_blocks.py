"""Report building blocks: every figure renders to a non-empty PNG and SVG, tables show mean, std,
n and per-seed values, and the page is self-contained with every section, table and figure."""
import csv
import math
import re

import numpy as np
import pytest

from adamlab.synthetic import theory
from adamlab.synthetic.config import SyntheticConfig
from adamlab.report import figures as F
from adamlab.report import tables as T
from adamlab.report.page import FigureItem, Section, TableItem, slug, write_report

EPOCHS = np.linspace(0, 100, 21)


def _curve(scale, rate, seeds=3):
    return [scale * (1 + 0.1 * k) * (1 - np.exp(-EPOCHS / rate)) for k in range(seeds)]


SERIES = [
    {"label": "Adam, B = 100", "epochs": EPOCHS, "feature_learning_pos": _curve(-0.2, 10),
     "feature_learning_neg": _curve(-0.1, 10), "noise_memorisation_max": _curve(2.0, 8),
     "noise_memorisation_min": _curve(1.0, 8)},
    {"label": "Adam, B = 2", "epochs": EPOCHS, "feature_learning_pos": _curve(2.0, 20),
     "feature_learning_neg": _curve(1.8, 20), "noise_memorisation_max": _curve(0.3, 5)[0],
     "stage_boundary": 40.0},  # one seed for this metric, a missing metric, a given boundary
]


def _written(paths):
    png, svg = paths
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    text = svg.read_text()
    assert "<svg" in text and text.rstrip().endswith("</svg>")
    return png, svg


@pytest.mark.parametrize("layout,log_x", [("condition", False), ("metric", True)])
def test_trajectory_figure(tmp_path, layout, log_x):
    fig = F.trajectory_figure(SERIES, "large vs mini batch", layout=layout, log_x=log_x)
    _written(F.save(fig, tmp_path / "traj"))
    texts = " ".join(t.get_text() for ax in fig.axes for t in
                     [ax.title, ax.xaxis.label, ax.yaxis.label])
    assert "epoch" in texts and ("log scale" in texts) == log_x
    legend = " ".join(t.get_text() for t in fig.legends[0].get_texts())
    if layout == "condition":
        assert "noise memorisation, max over examples" in legend and "class -1" in legend
    else:
        assert "Adam, B = 100" in legend and "Adam, B = 2" in legend


@pytest.mark.parametrize("layout", ["condition", "metric"])
def test_trajectory_figure_draws_the_step_ratio_when_a_series_has_it(tmp_path, layout):
    """The mechanism panel (model/step_ratio_noise_feature) appears only when some condition
    logged it, with one line per such condition on a log axis."""
    plain = F.trajectory_figure(SERIES, layout=layout)
    ratio = [1 + np.asarray(c) for c in _curve(5.0, 10)]
    with_ratio = [{**SERIES[0], F.MECHANISM_METRIC: ratio}, SERIES[1]]
    fig = F.trajectory_figure(with_ratio, layout=layout, log_x=True)
    _written(F.save(fig, tmp_path / "ratio"))
    panels = [ax for ax in fig.axes if ax.get_visible() and "noise / feature" in
              ax.get_ylabel()]
    assert len(panels) == 1 and panels[0].get_yscale() == "log"
    assert [ln.get_label() for ln in panels[0].get_lines() if not ln.get_label().startswith("_")] \
        == ["Adam, B = 100"]
    assert not any("noise / feature" in ax.get_ylabel() for ax in plain.axes)


def test_stage_boundary_estimate():
    x = np.arange(101.0)
    rising_then_flat = np.minimum(x, 50.0)  # the pattern grows until epoch 50, then stays
    assert F.estimate_stage_boundary(x, {"a": rising_then_flat, "b": 0.1 * x / 100}) == 45.0
    assert F.estimate_stage_boundary(x, {"a": x}) is None  # still growing: no Stage II yet
    assert F.estimate_stage_boundary(x, {"a": np.zeros(101)}) is None
    # feature learning turning negative counts by its size, as in the paper's large-batch runs
    assert F.estimate_stage_boundary(x, {"fl": -rising_then_flat}) == 45.0


def test_phase_heatmap(tmp_path):
    bs, wds = [1, 2, 10, 100, 200], [1e-6, 1e-5, 1e-3, 1e-1]
    base = SyntheticConfig(optimizer="adam")
    regimes = theory.regime_grid(base, bs, wds)
    err = np.full((len(wds), len(bs)), 0.3)
    err[1, 0], err[2, 3] = 0.01, np.nan
    fig = F.phase_heatmap(bs, wds, err, regimes, "Adam", lines=theory.boundary_lines(base, bs, wds))
    _written(F.save(fig, tmp_path / "phase"))
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "10", "100", "200"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["1e-6", "1e-5", "0.001", "0.1"]
    assert "test error" in fig.axes[1].get_ylabel()  # the colour bar
    cells = [t.get_text() for t in ax.texts]
    assert "0.01" in cells and "n/a" in cells and "F" in cells and "S" in cells
    legend = " ".join(t.get_text() for t in fig.legends[0].get_texts())
    assert "Cor 4.3" in legend and "stuck at initialisation" in legend
    assert "still moving" not in legend
    moving = np.zeros(err.shape, bool)
    moving[0, :2] = True
    fig = F.phase_heatmap(bs, wds, err, regimes, "Adam", still_moving=moving)
    hatched = [p for p in fig.axes[0].patches if p.get_hatch() == "\\\\"]
    assert len(hatched) == 2  # one hatched rectangle per still-moving cell
    legend = " ".join(t.get_text() for t in fig.legends[0].get_texts())
    assert "still moving (not counted)" in legend
    with pytest.raises(ValueError, match="still_moving"):
        F.phase_heatmap(bs, wds, err, still_moving=moving.T)
    with pytest.raises(ValueError, match="shape"):
        F.phase_heatmap(bs, wds, err.T)
    with pytest.raises(ValueError, match="positive"):
        F.phase_heatmap([0, 1], [1e-3], [[0.1, 0.2]])


def test_error_bars_and_sweep_line(tmp_path):
    rows = [{"label": "Adam\nB=100", "train_error": [0, 0, 0], "test_error": [0.5, 0.6, None]},
            {"label": "Adam\nB=2", "train_error": [0, 0, 0], "test_error": [0.0, 0.02, 0.01]}]
    fig = F.error_bars_figure(rows, "table")
    _written(F.save(fig, tmp_path / "bars"))
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["Adam\nB=100", "Adam\nB=2"]
    x = [2, 8, 32, 128]
    fig = F.sweep_line_figure(x, [{"label": "Adam", "values": [[0.1, 0.2, 0.3, 0.5],
                                                                [0.1, 0.3, math.nan, 0.5]]},
                                  {"label": "AdamW", "values": [0.0, 0.1, 0.1, 0.2]}],
                              "batch size B", log_x=True)
    _written(F.save(fig, tmp_path / "sweep"))
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_xlabel() == "batch size B (log scale)"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2", "8", "32", "128"]
    mean_line = ax.get_lines()[0]
    assert np.allclose(mean_line.get_ydata(), [0.1, 0.25, 0.3, 0.5])  # NaN seed left out
    with pytest.raises(ValueError, match="values per seed"):
        F.sweep_line_figure(x, [{"label": "bad", "values": [0.1, 0.2]}], "B")


def test_tables():
    records = [{"optimizer": "adam", "batch_size": b, "seed": s, "test_error": e}
               for b, s, e in [(2, 0, 0.0), (2, 1, 0.1), (2, 2, float("nan")), (100, 0, 0.5)]]
    rows = T.group_rows(records, ["optimizer", "batch_size"], ["test_error"])
    st = rows[0]["test_error"]
    assert st.n == 2 and st.mean == pytest.approx(0.05) and st.std == pytest.approx(0.0707, 1e-3)
    assert rows[0]["seeds"] == [0, 1, 2]
    md = T.markdown_table(rows, headers={"test_error": "test error"})
    assert "| optimizer | batch size | seeds | test error | test error per seed |" in md
    assert "0.05 ± 0.0707 (n=2)" in md and "0, 0.1, n/a" in md and "0.5 ± – (n=1)" in md
    h = T.html_table(rows, caption="a <caption>")
    assert "a &lt;caption&gt;" in h and h.count("<tr>") == 3
    recs = T.csv_records(rows)
    assert recs[0]["test_error_mean"] == pytest.approx(0.05) and recs[0]["test_error_n"] == 2
    assert T.fmt_number(1e-5) == "1e-5" and T.fmt_number(0.123456) == "0.123"
    assert T.fmt_number(None) == "n/a" and T.fmt_number(3) == "3"
    # a decayed residue reads as ≈0, a small setting keeps its digits
    assert T.fmt_number(-9.61e-145) == "≈0" and T.fmt_number(5e-12) == "5e-12"


def test_page(tmp_path):
    fig = F.sweep_line_figure([1, 10], [{"label": "a", "values": [0.1, 0.2]}], "batch size B")
    rows = T.group_rows([{"cell": "adam B=2", "seed": 0, "test_error": 0.01},
                         {"cell": "adam B=2", "seed": 1, "test_error": 0.03}],
                        ["cell"], ["test_error"])
    sections = [
        Section("The paper's table", paragraphs=["Mini batch learns the **feature**.\n\n"
                                                 "- seed 0: `0.01`\n- seed 1: 0.03"],
                tables=[TableItem("table", rows, caption="test error over seeds")]),
        Section("Test error vs batch size", figures=[FigureItem(
            "sweep", fig, caption="mean over seeds", command="adamlab reproduce sweep --quick",
            config={"optimizer": "adam", "lr": 5e-5}, data=[{"B": 1, "err": 0.1}])]),
        Section("What we found", paragraphs=["Shown with <angle> brackets escaped."]),
    ]
    paths = write_report(tmp_path / "out", "Report <title>", sections)
    page = paths["html"].read_text()
    for s in sections:
        title_html = s.title.replace("'", "&#x27;")
        assert title_html in page and f'href="#{slug(s.title)}"' in page
    assert "data:image/png;base64," in page and "<svg" not in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)  # nothing external
    assert "@import" not in page and "<script" not in page and "<link" not in page
    assert "adamlab reproduce sweep --quick" in page and "&quot;lr&quot;: 5e-05" in page
    assert "<strong>feature</strong>" in page and "<li>seed 0: <code>0.01</code></li>" in page
    assert "&lt;angle&gt;" in page and "Report &lt;title&gt;" in page
    md = paths["markdown"].read_text()
    assert "| cell | seeds | test error | test error per seed |" in md
    assert "0.02 ± 0.0141 (n=2)" in md and "figures/sweep.png" in md
    assert "`adamlab reproduce sweep --quick`" in md
    for p in paths["figures"]:
        assert p.exists() and p.stat().st_size > 1000
    with open(paths["data"][0]) as f:
        assert next(csv.DictReader(f))["test_error_mean"] == "0.02"
    assert (tmp_path / "out" / "data" / "sweep.csv").exists()
    inline = write_report(tmp_path / "svg", "t", sections[1:2], embed="svg")["html"].read_text()
    assert "<svg" in inline and "data:image/png" not in inline and "<?xml" not in inline
    with pytest.raises(ValueError, match="used twice"):
        write_report(tmp_path / "dup", "t", [sections[0], sections[0]])
