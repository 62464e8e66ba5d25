"""`adamlab train --task images`: flags generated from ImageConfig, --json, one-line errors."""
import json

import pytest

from adamlab.cli import main
from adamlab.images.config import ImageConfig
from adamlab.core.fields import field_help


def test_train_images_json(mnist_dir, capsys, tmp_path):
    folder, _ = mnist_dir
    args = ["train", "--task", "images", "--dataset", "mnist", "--data-dir", str(folder),
            "--arch", "small-vgg", "--optimizer", "adamw", "--batch-size", "8",
            "--weight-decay", "0.05", "--lr", "1e-3", "--epochs", "2", "--seed", "1",
            "--subset", "40", "--device", "cpu", "--checkpoint-dir", str(tmp_path / "ck"),
            "--out", str(tmp_path / "run"), "--json"]
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["status"] == "ok" and result["steps"] == 2 * (40 // 8)
    for key in ("train_error", "test_error", "train_loss", "test_loss", "best_test_error"):
        assert 0 <= result[key] < 10, key
    cfg = result["config"]
    assert (cfg["task"], cfg["optimizer"], cfg["weight_decay"], cfg["seed"]) == \
        ("images", "adamw", 0.05, 1)
    assert (cfg["beta1"], cfg["beta2"]) == (0.9, 0.99)  # the images defaults, not the synthetic
    assert list((tmp_path / "ck").glob("*.pt")) and (tmp_path / "run" / "metrics.csv").is_file()


def test_every_image_field_has_a_flag(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = capsys.readouterr().out
    for name in field_help(ImageConfig):
        assert "--" + name.replace("_", "-") in text, name
    assert "--download" in text and "--no-download" in text
    # a shared flag whose default differs by task (and, for synthetic runs, by optimiser) shows
    # each task's default
    assert "(default: synthetic 0.999 (rmsprop, lion 0.99" in " ".join(text.split())
    assert "images 0.99)" in " ".join(text.split())


@pytest.mark.parametrize("args, message", [
    (["--subset", "100", "--batch-size", "200"],
     "batch_size: must be in [1, n=100] (training examples), got 200"),
    (["--arch", "vit"], "arch: must be one of small-vgg, vgg16, resnet18, resnet50, got 'vit'"),
    (["--sigma0", "0.1"], "sigma0: not a setting of task 'images'"),
    (["--dataset", "cifar10", "--data-dir", "/nonexistent/cifar"],
     "/nonexistent/cifar: no cifar10 "),
])
def test_errors_are_one_line(args, message, capsys):
    assert main(["train", "--task", "images", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("adamlab: error: " + message) and "\n" not in err
