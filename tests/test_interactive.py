"""The interactive figures' plumbing, without a browser (tests/test_report_interactive.py drives
them in Chromium): which epochs are drawn, Plotly inlined once however many figures use it, data
that cannot close its <script>, and the trajectories CSV beside the figure."""
import math

from matplotlib.figure import Figure

from adamlab.report.interactive import (DISPLAY_POINTS, Interactive, _json_for_script,
                                        display_indices, page_scripts)
from adamlab.report.page import FigureItem, Section, write_report
from adamlab.synthetic.config import SyntheticConfig


def test_display_epochs_are_log_spaced_and_keep_both_ends():
    epochs = [0.0, *map(float, SyntheticConfig(epochs=10_000).log_epochs())]
    keep = display_indices(epochs)
    shown = [epochs[i] for i in keep]
    assert 0.0 not in shown  # no place on a log axis
    assert shown[0] == 1.0 and shown[-1] == 10_000.0
    assert len(keep) <= DISPLAY_POINTS + 1 and keep == sorted(set(keep))
    # Log-spaced: each decade gets points, not only the densely logged last one.
    for lo in (1, 10, 100, 1000):
        assert any(lo <= e < 10 * lo for e in shown), lo
    dense = [float(e) for e in range(1, 5001)]
    kept = [dense[i] for i in display_indices(dense)]
    assert DISPLAY_POINTS - 15 <= len(kept) <= DISPLAY_POINTS + 1
    gaps = [math.log(b / a) for a, b in zip(kept[20:], kept[21:])]
    assert max(gaps) < 2.5 * min(gaps)  # even on the log axis where epochs are dense


def test_short_trajectories_are_drawn_whole():
    epochs = [0.0, 1.0, 2.0, 3.0]
    assert display_indices(epochs) == [1, 2, 3]


def test_data_cannot_close_its_script_element():
    text = _json_for_script({"label": "</script><script>alert(1)</script>"})
    assert "</" not in text


def _figure():
    fig = Figure(figsize=(2, 2))
    fig.add_subplot().plot([0, 1], [0, 1])
    return fig


def test_plotly_is_inlined_once_for_two_figures(tmp_path):
    items = [FigureItem(f"f{i}", _figure(), caption="c",
                        interactive=Interactive(f'<div class="ix-figure" id="ix-f{i}"></div>',
                                                {f"f{i}-trajectories": [{"epoch": 1, "v": i}]}))
             for i in range(2)]
    paths = write_report(tmp_path, "t", [Section("s", figures=items)])
    page = paths["html"].read_text()
    assert page.count(page_scripts()) == 1
    assert page.count('class="print-only"') == 2  # the static image prints
    assert (tmp_path / "data" / "f1-trajectories.csv").read_text().splitlines() == ["epoch,v",
                                                                                    "1,1"]
    assert 'href="data/f0-trajectories.csv"' in page


def test_a_page_without_interactive_figures_has_no_plotly(tmp_path):
    paths = write_report(tmp_path, "t", [Section("s", figures=[FigureItem("f", _figure())])])
    assert "Plotly" not in paths["html"].read_text()
