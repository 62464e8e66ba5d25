"""The real-image sweep presets: every base+grid combination is a valid run config, and the
values are the paper's (PAPER.md "Experiments", CIFAR-10, App. D.1)."""
import itertools
import tomllib
from pathlib import Path

import pytest

import adamlab
from adamlab.config import ImageConfig, config_from_dict

PRESETS = Path(adamlab.__file__).parent / "presets"
NAMES = ("images-fig1", "images-fig2", "images-fig1-full", "images-fig2-full")
PAPER_BATCH_SIZES = [16, 32, 64, 256, 1024, 4096, 8192]
PAPER_LRS = [5e-4, 1e-4, 1e-5]
ADAM_WD = [1e-1, 5e-2, 1e-2, 5e-3, 1e-3, 5e-4, 1e-4, 5e-5, 1e-5, 5e-6, 1e-6, 5e-7]
ADAMW_WD = [5e-1, 1e-1, 5e-2, 1e-2, 5e-3, 1e-3, 5e-4, 1e-4]


def load(name):
    return tomllib.loads((PRESETS / f"{name}.toml").read_text())


def expand(spec, quick=False):
    """Run settings of a sweep file: base x grid (+ runs); quick.base and quick.grid override."""
    base, grid = dict(spec["base"]), dict(spec.get("grid", {}))
    if quick:
        base.update(spec["quick"].get("base", {}))
        grid.update(spec["quick"].get("grid", {}))
    keys = list(grid)
    for values in itertools.product(*(grid[k] for k in keys)):
        yield {**base, **dict(zip(keys, values))}
    for run in spec.get("runs", []):
        yield {**base, **run}


@pytest.mark.parametrize("name", NAMES)
def test_every_combination_validates(name):
    spec = load(name)
    assert spec["name"] == name
    assert set(spec) <= {"name", "base", "grid", "runs", "quick"}
    assert all(isinstance(v, list) and v for v in spec["grid"].values())
    for quick in ((False, True) if "quick" in spec else (False,)):
        configs = [config_from_dict(d) for d in expand(spec, quick)]
        assert configs and all(isinstance(c, ImageConfig) for c in configs)
        assert len({c.run_id() for c in configs}) == len(configs)  # no two cells are one run
        for c in configs:
            assert (c.beta1, c.beta2, c.lr > 0) == (0.9, 0.99, True)


def test_cpu_presets_are_cpu_sized():
    for name in ("images-fig1", "images-fig2"):
        for c in map(config_from_dict, expand(load(name))):
            assert (c.dataset, c.arch, c.device) == ("fashion-mnist", "small-vgg", "cpu")
            assert c.subset * c.epochs <= 50_000  # about 30 s of small VGG on one core
    assert len(list(expand(load("images-fig1")))) == 42
    assert len(list(expand(load("images-fig2")))) == 26
    assert len(list(expand(load("images-fig1"), quick=True))) == 12
    assert len(list(expand(load("images-fig2"), quick=True))) == 8


def test_full_presets_are_the_papers():
    fig1 = [config_from_dict(d) for d in expand(load("images-fig1-full"))]
    assert {c.dataset for c in fig1} == {"cifar10"} and {c.epochs for c in fig1} == {100}
    assert {c.arch for c in fig1} == {"vgg16", "resnet18"}
    assert sorted({c.batch_size for c in fig1}) == PAPER_BATCH_SIZES
    assert sorted({c.lr for c in fig1}, reverse=True) == PAPER_LRS
    assert {(c.optimizer, c.weight_decay) for c in fig1} == {("adam", 5e-4), ("adamw", 1e-2)}
    assert {c.subset for c in fig1} == {None} and {c.seed for c in fig1} == set(range(5))

    fig2 = [config_from_dict(d) for d in expand(load("images-fig2-full"))]
    assert {(c.batch_size, c.lr, c.epochs) for c in fig2} == {(16, 1e-4, 100)}
    for opt, paper in (("adam", ADAM_WD), ("adamw", ADAMW_WD)):
        assert set(paper) <= {c.weight_decay for c in fig2 if c.optimizer == opt}


def test_cpu_presets_follow_the_full_ones():
    cpu1 = [config_from_dict(d) for d in expand(load("images-fig1"))]
    assert {c.lr for c in cpu1} == set(PAPER_LRS)
    assert {(c.optimizer, c.weight_decay) for c in cpu1} == {("adam", 5e-4), ("adamw", 1e-2)}
    assert max(c.batch_size for c in cpu1) == cpu1[0].subset  # down to full batch
    cpu2 = [config_from_dict(d) for d in expand(load("images-fig2"))]
    assert {(c.batch_size, c.lr) for c in cpu2} == {(16, 1e-4)}
    assert {c.weight_decay for c in cpu2} == set(ADAM_WD) | set(ADAMW_WD)
