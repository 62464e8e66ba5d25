"""ImageConfig: the paper's defaults, one-line errors naming the field, the run id."""
import json

import pytest

from adamlab.core.errors import ConfigError
from adamlab.images.config import ImageConfig
from adamlab.tasks import config_class, config_from_dict


def test_defaults_are_the_papers():
    c = config_from_dict({"task": "images"})
    assert isinstance(c, ImageConfig) and config_class("images") is ImageConfig
    assert (c.beta1, c.beta2, c.eps) == (0.9, 0.99, 1e-8)  # docs/paper.md, CIFAR-10: betas (0.9, 0.99)
    assert (c.dataset, c.arch, c.optimizer, c.batch_size, c.lr, c.epochs) == \
        ("fashion-mnist", "small-vgg", "adam", 16, 1e-4, 100)
    assert c.weight_decay == 5e-4 and ImageConfig(optimizer="adamw").weight_decay == 1e-2
    assert ImageConfig(optimizer="adamw", weight_decay=0.0).weight_decay == 0.0
    assert c.train_size == 60000 and ImageConfig(dataset="cifar10", val_size=5000).train_size \
        == 45000 and ImageConfig(dataset="imagefolder").train_size is None


def test_json_round_trip():
    c = ImageConfig(dataset="cifar10", arch="resnet18", subset=500, batch_size=32)
    d = json.loads(c.to_json())
    assert d["task"] == "images" and config_from_dict(d) == c and config_from_dict(d).run_id() \
        == c.run_id()


def test_decay_semantics():
    assert ImageConfig(optimizer="adamw", lr=1e-3, weight_decay=0.1).decay_semantics() == \
        {"kind": "decoupled", "per_step_shrink": pytest.approx(1e-4)}
    assert ImageConfig(optimizer="sgd").decay_semantics() == \
        {"kind": "l2_in_gradient", "l2_coefficient": 5e-4}


@pytest.mark.parametrize("change, start", [
    ({"dataset": "svhn"}, "dataset: must be one of fashion-mnist, mnist, cifar10, imagefolder"),
    ({"arch": "vit"}, "arch: must be one of"),
    ({"optimizer": "signsgd"}, "optimizer: signsgd has no torch.optim class, so task 'images'"),
    ({"optimizer": "adamz"}, "optimizer: must be one of adam, adamw, signsgd"),
    ({"lr": 0}, "lr: must be > 0.0"),
    ({"lr": "fast"}, "lr: must be a number"),
    ({"weight_decay": -1}, "weight_decay: must be >= 0.0"),
    ({"beta2": 1.0}, "beta2: must be in [0.0, 0.999999]"),
    ({"batch_size": 0}, "batch_size: must be >= 1, got 0"),
    ({"batch_size": 60001}, "batch_size: must be in [1, n=60000]"),
    ({"subset": 100, "batch_size": 101}, "batch_size: must be in [1, n=100]"),
    ({"subset": 0}, "subset: must be >= 1, got 0"),
    ({"subset": 59000, "val_size": 2000}, "subset: must be in [1, 58000]"),
    ({"val_size": 60000}, "val_size: must be in [0, 59999]"),
    ({"test_subset": 10001}, "test_subset: must be in [1, 10000]"),
    ({"image_size": 64}, "image_size: only for dataset=imagefolder"),
    ({"dataset": "imagefolder", "download": True}, "download: imagefolder reads a local folder"),
    ({"device": "tpu"}, "device: must be one of cpu, cuda"),
    ({"precision": "fp16"}, "precision: must be one of auto, fp32, bf16"),
    ({"download": "yes"}, "download: must be true or false"),
    ({"epochs": 1.5}, "epochs: must be an integer"),
    ({"sigma0": 0.1}, "sigma0: unknown setting for task 'images'"),
])
def test_bad_values_fail_with_one_line_naming_the_field(change, start):
    with pytest.raises(ConfigError) as e:
        config_from_dict({"task": "images", **change})
    assert str(e.value).startswith(start) and "\n" not in str(e.value)


def test_run_id_ignores_only_bookkeeping():
    base = ImageConfig()
    assert ImageConfig(checkpoint_dir="/x", download=True).run_id() == base.run_id()
    for change in ({"seed": 1}, {"data_seed": 1}, {"lr": 2e-4}, {"device": "cuda"},
                   {"precision": "bf16"}, {"data_dir": "/data"}):
        assert ImageConfig(**change).run_id() != base.run_id(), change
