"""`adamlab reproduce images-anchor images-fig1 images-fig2 --quick` on generated
Fashion-MNIST-format files, the ImageNet-subset item on a generated ImageFolder, and the rule that
adds the image items to the default report when Fashion-MNIST is on disk."""
import re
from html import unescape

import numpy as np

from adamlab.cli import main
from adamlab.report.items import IMAGE_DEFAULT_ITEMS, SYNTHETIC_ITEMS, default_items

from image_files import write_idx_set, write_image


def test_image_items_add_their_figures_tables_and_findings(tmp_path, capsys):
    data = tmp_path / "fmnist"
    write_idx_set(data, n_train=300, n_test=520, side=28, gz=True, seed=3)
    out = tmp_path / "report"
    assert main(["reproduce", "images-anchor", "images-fig1", "images-fig2", "--quick",
                 "--data-dir", str(data), "--out", str(out), "--workers", "2",
                 "--no-progress"]) == 0
    html = unescape((out / "index.html").read_text())
    for title in ("Real images: test error vs batch size (Fig 1)",
                  "Real images: test error vs weight decay (Fig 2)",
                  "Real images: the anchor (full Fashion-MNIST)"):
        assert title in html
    for stem in ("images-fig1", "images-fig2"):
        assert (out / "figures" / f"{stem}.png").stat().st_size > 5000
        # the scale-down table: quantity | paper | this run | kept, the paper read from -full
        protocol = (out / "data" / f"{stem}-protocol.csv").read_text().splitlines()
        assert protocol[0] == "quantity,paper,this run,kept"
        assert any(line.startswith("steps at B_ref,\"312,500\",64,") for line in protocol)
        table = (out / "data" / f"{stem}-table.csv").read_text().splitlines()
        header = table[0].split(",")
        for col in ("train_error_mean", "test_error_mean", "test_error_ci95_lo",
                    "test_error_per_seed", "fitted (seeds)"):
            assert col in header, col
    # Fig 1 keeps the best lr per (optimizer, batch size): one row per cell, seeds inside.
    fig1 = (out / "data" / "images-fig1-table.csv").read_text().strip().splitlines()
    assert len(fig1) == 1 + 2 * 2
    assert all(";" in row for row in fig1[1:])  # two seeds per cell, joined by ';'
    md = (out / "report.md").read_text()
    verdicts = re.findall(r"^\| Real images.* \(`images\.fig[12]\.[a-z]+`\) \| [^|]+ \| "
                          r"reproduction \| \*\*(reproduced|partly reproduced|not reproduced|"
                          r"not observed at CPU scale)\*\* \| — \|", md, re.M)
    assert len(verdicts) == 2 + 3  # Fig 1: one per optimiser; Fig 2: Adam, AdamW, the contrast
    # a scaled-down run that does not show a claim says so, not that the paper is refuted
    assert "not reproduced" not in verdicts and "not observed at CPU scale" in verdicts
    # random images: nothing is learned, and the verdicts say so rather than reading noise
    assert md.count("Nothing was learned") >= 3
    # a 2-epoch smoke run on a subset cannot test the 91% level, and the report says so
    assert re.search(r"^\| Anchor: .* \(`images\.anchor`\) \| [^|]+ \| check \| "
                     r"\*\*not measured\*\* \| — \|", md, re.M)
    anchor = md.split("## Real images: the anchor (full Fashion-MNIST)")[1]
    assert "small-vgg on 256 fashion-mnist training images" in anchor
    assert "a cut-down smoke version, not the anchor" in md
    assert str(data) in html  # the data folder is part of the recorded config
    # image items alone: the lead says there is no synthetic run, not "all 0 ... settled"
    found = md.split("## What we found")[1].split("\n## ")[0]
    assert "These items have no synthetic runs, so no end state." in found
    assert "finished synthetic runs" not in found


def test_imagenet_item_end_to_end_on_a_tiny_image_folder(tmp_path):
    """The ImageNet-subset presets' quick variants: ResNet-50 with the ImageNet stem, top-5
    error, batch sweep and weight-decay sweep, on 12 generated classes."""
    rng = np.random.default_rng(0)
    for split, per_class in (("train", 4), ("val", 2)):
        for c in range(12):
            for i in range(per_class):
                write_image(tmp_path / "inet" / split / f"n{c:08d}" / f"{i}.png",
                            rng.integers(0, 256, (80, 96, 3), dtype=np.uint8))
    out = tmp_path / "report"
    assert main(["reproduce", "images-imagenet", "--quick", "--data-dir", str(tmp_path / "inet"),
                 "--out", str(out), "--workers", "2", "--no-progress"]) == 0
    md = (out / "report.md").read_text()
    assert "ImageNet subset: top-5 error vs batch size" in md
    assert "ImageNet subset: top-5 error vs weight decay" in md
    table = (out / "data" / "images-imagenet-table.csv").read_text().splitlines()
    assert "test_error_top5_mean" in table[0] and len(table) == 1 + 2 * 2
    protocol = (out / "data" / "images-imagenet-protocol.csv").read_text()
    assert "training examples n,\"100,000\",24," in protocol  # paper: 100 a class x 1,000
    assert (out / "figures" / "images-imagenet-wd.png").is_file()


def test_default_items_add_the_image_items_when_fashion_mnist_is_there(tmp_path):
    write_idx_set(tmp_path / "fm", n_train=20, n_test=10, seed=1)
    items, note = default_items(str(tmp_path / "fm"))
    assert items == SYNTHETIC_ITEMS + IMAGE_DEFAULT_ITEMS
    assert note.startswith("real-image items images-anchor, images-fig1, images-fig2 included")
    items, note = default_items(str(tmp_path / "empty"))
    assert items == SYNTHETIC_ITEMS
    assert "skipped: no Fashion-MNIST files in" in note and "make data" in note
    assert "images-imagenet" not in SYNTHETIC_ITEMS + IMAGE_DEFAULT_ITEMS  # only when named
