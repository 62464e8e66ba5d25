"""benchmarks/images_speed.py runs end to end (tiny sizes; no timing is asserted)."""
import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "images_speed.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("images_speed", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_smoke(mnist_dir, capsys):
    folder, _ = mnist_dir
    out = load_bench().main(["--dataset", "mnist", "--data-dir", str(folder), "--subset", "40",
                             "--batch-size", "8", "--steps", "3", "--repeats", "2",
                             "--warmup", "1"])
    text = capsys.readouterr().out
    assert "plain DataLoader" in text and "adamlab / plain:" in text and "mnist files" in text
    assert len(out["rates"]["plain"]) == len(out["rates"]["adamlab"]) == 2
    assert all(v > 0 for v in out["median"].values())


def test_benchmark_without_files_uses_random_images(tmp_path, capsys):
    load_bench().main(["--dataset", "cifar10", "--data-dir", str(tmp_path), "--subset", "32",
                       "--batch-size", "8", "--steps", "2", "--repeats", "1", "--warmup", "1"])
    assert "random uint8 images of cifar10's shape" in capsys.readouterr().out
