"""The real-image sweep presets: every base+grid combination is a valid run config, and the
values are the paper's (docs/paper.md "Experiments", CIFAR-10, App. D.1)."""
import itertools
import tomllib
from pathlib import Path

import pytest

import adamlab
from adamlab.images.config import ImageConfig
from adamlab.tasks import config_from_dict
from adamlab.images.scaledown import Protocol, protocol_rows, scale_down

PRESETS = Path(adamlab.__file__).parent / "presets"
NAMES = ("images-fig1", "images-fig2", "images-fig1-full", "images-fig2-full", "images-anchor",
         "images-imagenet", "images-imagenet-wd")
PAPER_BATCH_SIZES = [16, 32, 64, 256, 1024, 4096, 8192]
PAPER_LRS = [5e-4, 1e-4, 1e-5]
ADAM_WD = [1e-1, 5e-2, 1e-2, 5e-3, 1e-3, 5e-4, 1e-4, 5e-5, 1e-5, 5e-6, 1e-6, 5e-7]
ADAMW_WD = [5e-1, 1e-1, 5e-2, 1e-2, 5e-3, 1e-3, 5e-4, 1e-4]


def load(name):
    return tomllib.loads((PRESETS / f"{name}.toml").read_text())


def expand(spec, quick=False):
    """Run settings of a sweep file (adamlab/sweep/spec.py): every `runs` case merged over base
    and crossed with the grid; quick.base / quick.grid override, quick.runs replaces runs."""
    base, grid, runs = dict(spec["base"]), dict(spec.get("grid", {})), spec.get("runs", [])
    if quick:
        base.update(spec["quick"].get("base", {}))
        grid.update(spec["quick"].get("grid", {}))
        runs = spec["quick"].get("runs", runs)
    keys = list(grid)
    for case in runs or [{}]:
        for values in itertools.product(*(grid[k] for k in keys)):
            yield {**base, **case, **dict(zip(keys, values))}


@pytest.mark.parametrize("name", NAMES)
def test_every_combination_validates(name):
    spec = load(name)
    assert spec["name"] == name
    assert set(spec) <= {"name", "base", "grid", "runs", "quick", "twice"}
    assert all(isinstance(v, list) and v for v in spec["grid"].values())
    for quick in ((False, True) if "quick" in spec else (False,)):
        configs = [config_from_dict(d) for d in expand(spec, quick)]
        assert configs and all(isinstance(c, ImageConfig) for c in configs)
        assert len({c.run_id() for c in configs}) == len(configs)  # no two cells are one run
        for c in configs:
            assert (c.beta1, c.beta2, c.lr > 0) == (0.9, 0.99, True)


def test_cpu_presets_are_cpu_sized():
    for name in ("images-fig1", "images-fig2"):
        configs = [config_from_dict(d) for d in expand(load(name))]
        for c in configs:
            assert (c.dataset, c.arch, c.device) == ("fashion-mnist", "small-vgg", "cpu")
            assert c.subset * c.epochs <= 80_000  # about 30-55 s of small VGG on one core
        # at least 3 seeds in every cell
        cells = {}
        for c in configs:
            cells.setdefault(c.replace(seed=0).run_id(), set()).add(c.seed)
        assert min(len(s) for s in cells.values()) >= 3
    fig1 = {c.run_id() for c in map(config_from_dict, expand(load("images-fig1")))}
    fig2 = {c.run_id() for c in map(config_from_dict, expand(load("images-fig2")))}
    assert (len(fig1), len(fig2), len(fig1 & fig2)) == (72, 60, 6)  # 126 runs in all
    assert len(list(expand(load("images-fig1"), quick=True))) == 16
    assert len(list(expand(load("images-fig2"), quick=True))) == 12


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


def protocol(name, quick=False):
    return Protocol.from_configs([config_from_dict(d) for d in expand(load(name), quick)])


def test_cpu_presets_are_the_scale_down_rules_output():
    """The CPU presets quote scale_down(paper, n=768, epochs=100): lr x 65.1, weight decays
    unchanged, batch sizes up to the largest that gets the paper's largest batch's 600 steps."""
    for cpu, full in (("images-fig1", "images-fig1-full"), ("images-fig2", "images-fig2-full")):
        run, paper = protocol(cpu), protocol(full)
        scaled = scale_down(paper, n=768, epochs=100).run
        assert (run.n, run.epochs, run.seeds) == (768, 100, 3)
        assert run.lrs == scaled.lrs and run.batch_sizes == scaled.batch_sizes
        assert run.weight_decays == {k: v for k, v in paper.weight_decays.items()}
        rows = {r["quantity"].split(" (")[0]: r["kept"] for r in protocol_rows(paper, run)}
        assert rows["distance a weight can travel: lr x steps at B_ref"] == "kept"
        assert rows["adamw: decay lr x lambda x steps at B_ref"] == "kept"
    fig1 = protocol("images-fig1")
    assert fig1.batch_sizes == (16, 32, 64, 128) and fig1.steps(128) == 600
    assert fig1.lrs == (3.26e-2, 6.51e-3, 6.51e-4)
    fig2 = protocol("images-fig2")
    assert fig2.weight_decays == {"adam": tuple(ADAM_WD), "adamw": tuple(ADAMW_WD)}
    assert {(c.batch_size, c.lr) for c in map(config_from_dict, expand(load("images-fig2")))} \
        == {(16, 6.51e-3)}


def test_fig2_second_scale_is_the_rules_output_at_twice_the_images():
    """--variant twice: the same grid and seeds at n = 1536, 100 epochs, at the lr the rule gives
    there (half the main scale's), so lr x steps and lr x lambda x steps are kept at both."""
    from adamlab.sweep.spec import load_spec

    main = load_spec("images-fig2").configs
    twice = load_spec("images-fig2", variant="twice").configs
    run, paper = Protocol.from_configs(twice), protocol("images-fig2-full")
    scaled = scale_down(paper, n=1536, epochs=100).run
    assert (run.n, run.epochs, run.seeds) == (1536, 100, 3)
    assert run.lrs == scaled.lrs == (3.26e-3,) and run.batch_sizes == (16,)
    # the top of each paper grid, where the breaking points are, and low λ below it
    for opt, paper_wd in (("adam", ADAM_WD), ("adamw", ADAMW_WD)):
        kept = set(run.weight_decays[opt])
        assert set(sorted(paper_wd)[-3:]) < kept <= set(paper_wd) and min(kept) <= 1e-4
    cells = {(c.optimizer, c.weight_decay, c.seed) for c in main}
    assert {(c.optimizer, c.weight_decay, c.seed) for c in twice} < cells
    assert {c.seed for c in twice} == {0, 1, 2} and len(twice) == 39
    rows = {r["quantity"].split(" (")[0]: r["kept"] for r in protocol_rows(paper, run)}
    assert rows["distance a weight can travel: lr x steps at B_ref"] == "kept"


def test_anchor_preset_is_the_full_fashion_mnist():
    (c0, c1) = [config_from_dict(d) for d in expand(load("images-anchor"))]
    assert (c0.dataset, c0.subset, c0.test_subset, c0.arch) == ("fashion-mnist", None, None,
                                                                 "small-vgg")
    assert (c0.optimizer, c0.lr, c0.batch_size, c0.device) == ("adamw", 1e-3, 128, "cpu")
    assert c0.train_size == 60_000 and {c0.seed, c1.seed} == {0, 1}


def test_imagenet_presets_are_the_papers():
    """docs/paper.md: 100 images per class, ResNet-50, 90 epochs, B from 64 to 32,768, lr 1e-4,
    lambda 1e-4 (Adam) / 1e-2 (AdamW); the lambda sweep at B = 64, lr 1e-3."""
    batch = [config_from_dict(d) for d in expand(load("images-imagenet"))]
    assert {(c.dataset, c.arch, c.epochs, c.subset, c.image_size, c.lr, c.device)
            for c in batch} == {("imagefolder", "resnet50", 90, 100_000, 224, 1e-4, "cuda")}
    sizes = sorted({c.batch_size for c in batch})
    assert (sizes[0], sizes[-1]) == (64, 32768)
    assert {(c.optimizer, c.weight_decay) for c in batch} == {("adam", 1e-4), ("adamw", 1e-2)}
    assert {c.seed for c in batch} == {0, 1, 2}
    wd = [config_from_dict(d) for d in expand(load("images-imagenet-wd"))]
    assert {(c.batch_size, c.lr, c.epochs, c.arch) for c in wd} == {(64, 1e-3, 90, "resnet50")}
    for opt, grid in (("adam", ADAM_WD), ("adamw", ADAMW_WD)):
        assert {c.weight_decay for c in wd if c.optimizer == opt} == set(grid)
    for name in ("images-imagenet", "images-imagenet-wd"):
        quick = [config_from_dict(d) for d in expand(load(name), quick=True)]
        assert {(c.device, c.arch) for c in quick} == {("cpu", "resnet50")}
        assert all(c.image_size > 64 for c in quick)  # the ImageNet stem, as at 224 pixels
