"""`adamlab reproduce images-fig1 images-fig2 --quick` on generated Fashion-MNIST-format files."""
import re
from html import unescape

from adamlab.cli import main

from image_files import write_idx_set


def test_image_items_add_their_figures_tables_and_findings(tmp_path, capsys):
    data = tmp_path / "fmnist"
    write_idx_set(data, n_train=300, n_test=520, side=28, gz=True, seed=3)
    out = tmp_path / "report"
    assert main(["reproduce", "images-fig1", "images-fig2", "--quick", "--data-dir", str(data),
                 "--out", str(out), "--workers", "2", "--no-progress"]) == 0
    html = unescape((out / "index.html").read_text())
    assert "Real images: test error vs batch size (Fig 1)" in html
    assert "Real images: test error vs weight decay (Fig 2)" in html
    for stem in ("images-fig1", "images-fig2"):
        assert (out / "figures" / f"{stem}.png").stat().st_size > 5000
        rows = (out / "data" / f"{stem}-table.csv").read_text().strip().splitlines()
        assert len(rows) > 1
    # Fig 1 keeps the best run over the lr grid: one row per (optimizer, batch size, seed).
    fig1 = (out / "data" / "images-fig1-table.csv").read_text().strip().splitlines()
    assert len(fig1) == 1 + 2 * 3
    md = (out / "report.md").read_text()
    assert len(re.findall(r"- \*\*(?:reproduced|not reproduced)\*\*: Real images", md)) == 4
    assert str(data) in html  # the data folder is part of the recorded config
