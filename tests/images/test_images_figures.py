"""The real-image figure: mean over seeds with the 95% bootstrap interval of adamlab/core/stats.py as
error bars, train error dashed beside test error."""
import numpy as np
import pytest
from matplotlib.container import ErrorbarContainer

from adamlab.report.figures import seed_interval_figure
from adamlab.core.stats import summarise


def test_error_bars_are_the_seeds_intervals():
    """Below 10 seeds a bar is the seeds' range, and the title calls it that."""
    test = [[0.20, 0.30, 0.5], [0.22, 0.34, None], [0.21, 0.29, 0.55]]
    train = [[0.0, 0.01, 0.2], [0.0, 0.0, 0.3], [0.01, 0.0, 0.25]]
    fig = seed_interval_figure([16, 64, 128], [{"label": "AdamW", "test": test, "train": train},
                                               {"label": "Adam", "test": test}], "batch size B")
    ax = fig.axes[0]
    bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert len(bars) == 3  # AdamW test and train, Adam test
    line, (segments,) = bars[0].lines[0], bars[0].lines[2]
    ys = line.get_ydata()
    for j in range(3):
        s = summarise(row[j] for row in test)
        assert ys[j] == pytest.approx(s.mean)
        lo, hi = np.asarray(segments.get_segments()[j])[:, 1]
        assert s.interval == (s.min, s.max) and (lo, hi) == pytest.approx(s.interval)
    assert "bars: range (below 10 seeds no 95% interval is claimed)" in ax.get_title()
    assert "95% bootstrap" not in ax.get_title()
    assert bars[1].lines[0].get_linestyle() == "--"  # train error dashed


def test_mismatched_series_is_a_clear_error():
    with pytest.raises(ValueError, match=r"series\[0\] \(A\): 2 test values per seed for 3 x"):
        seed_interval_figure([1, 2, 3], [{"label": "A", "test": [[0.1, 0.2]]}], "x")
    with pytest.raises(ValueError, match="x: a log axis needs positive values"):
        seed_interval_figure([0, 1], [{"label": "A", "test": [[0.1, 0.2]]}], "x")


def test_fit_threshold_and_unfitted_cells_are_drawn():
    test = [[0.20, 0.5], [0.22, 0.55]]
    fig = seed_interval_figure([16, 128], [{"label": "Adam", "test": test,
                                            "train": [[0.0, 0.3], [0.0, 0.2]],
                                            "notes": [None, "0/2 fitted"]}], "batch size B",
                               fit_line=0.05)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.texts] == ["0/2 fitted"]
    hi = summarise([0.5, 0.55]).ci95[1]
    assert ax.texts[0].xy[1] == pytest.approx(hi)  # above the unfitted cell's error bar
    assert any(line.get_label().startswith("fitted the training set: train error ≤ 0.05")
               and list(line.get_ydata()) == [0.05, 0.05] for line in ax.get_lines())
