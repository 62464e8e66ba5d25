"""`ImageConfig`: one run on real images (docs/paper.md "Experiments": CIFAR-10 with VGG16 /
ResNet18, App. D.1; the ImageNet subset with ResNet-50). Trained by adamlab/images/trainer.py."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..core.errors import ConfigError
from ..core.fields import DEVICES, ConfigBase, spec
from ..optim.registry import get, list_optimizers, optimizer_choices

IMAGE_DATASETS = ("fashion-mnist", "mnist", "cifar10", "imagefolder")
IMAGE_ARCHS = ("small-vgg", "vgg16", "resnet18", "resnet50")
PRECISIONS = ("auto", "fp32", "bf16")
MEMORY_FORMATS = ("auto", "contiguous", "channels_last")
# Training-set sizes of the datasets with fixed files (None: known only once the folder is read).
IMAGE_TRAIN_SIZES = {"fashion-mnist": 60000, "mnist": 60000, "cifar10": 50000, "imagefolder": None}
IMAGE_TEST_SIZES = {"fashion-mnist": 10000, "mnist": 10000, "cifar10": 10000, "imagefolder": None}


@dataclass(frozen=True)
class ImageConfig(ConfigBase):
    """One run on real images (defaults: docs/paper.md "Experiments", CIFAR-10 settings of App. D.1,
    on the Fashion-MNIST files Debian ships and a small VGG that trains on a CPU)."""

    task: ClassVar[str] = "images"

    # data
    dataset: str = spec("fashion-mnist", "image dataset", choices=IMAGE_DATASETS)
    data_dir: str | None = spec(
        None, "folder with the dataset files; None = /usr/share/datasets/fashion-mnist for "
        "fashion-mnist when there (Debian's dataset-fashion-mnist), else "
        "~/.cache/adamlab/datasets/<dataset>")
    # download and checkpoint_dir say where files come from and go, not what is computed: left
    # out of the run id, so adding --download or moving a checkpoint folder finds the same run.
    # device stays in: precision "auto" means bf16 on cuda, so the device changes the numbers.
    download: bool = spec(False, "fetch missing files from the official URLs (checksums verified)",
                          bookkeeping=True)
    subset: int | None = spec(None, "training examples to use, class-balanced, chosen by "
                              "data_seed; None = all", lo=1)
    val_size: int = spec(0, "training examples held out for validation, class-balanced, fixed by "
                         "data_seed (not by seed) and disjoint from every subset", lo=0)
    test_subset: int | None = spec(None, "test examples to evaluate, class-balanced, chosen by "
                                   "data_seed; None = the whole test set", lo=1)
    data_seed: int = spec(0, "fixes subset, validation split and test subset (kept apart from "
                          "seed so every run of a sweep sees the same examples)", lo=0)
    image_size: int | None = spec(None, "imagefolder only: images are resized (shorter side) and "
                                  "centre-cropped to this square side; None = 224", lo=8)
    # model
    arch: str = spec("small-vgg", "network: small-vgg (CPU-sized), vgg16 / resnet18 (CIFAR forms), "
                     "resnet50; input channels and size follow the dataset", choices=IMAGE_ARCHS)
    # optimiser
    optimizer: str = spec("adam", "update rule, a name in the optimiser registry with a "
                          "torch.optim class (adamlab.optim)", choices=optimizer_choices)
    lr: float = spec(1e-4, "learning rate eta (paper Fig 2: 1e-4; Fig 1: best of 5e-4, 1e-4, 1e-5)",
                     lo=0.0, lo_open=True)
    weight_decay: float | None = spec(
        None, "lambda on every parameter: an L2 term lambda*W inside the gradient, or for "
        "optimisers with decoupled decay a shrink W *= 1 - lr*lambda per step (torch convention). "
        "Default: the paper's Fig 1 value for the optimiser's convention (L2 5e-4, decoupled 1e-2)",
        lo=0.0)
    batch_size: int = spec(16, "examples per step B (paper Fig 2: 16)", lo=1)
    epochs: int = spec(100, "epochs; one epoch = floor(n/B) steps, no augmentation (paper: 100)",
                       lo=1)
    beta1: float = spec(0.9, "first-moment decay (paper's images: 0.9)", lo=0.0, hi=0.999999)
    beta2: float = spec(0.99, "second-moment decay, torch RMSprop's alpha (paper's images: 0.99)",
                        lo=0.0, hi=0.999999)
    eps: float = spec(1e-8, "added to the root of the second moment (torch default)",
                      lo=0.0, lo_open=True)
    momentum: float = spec(0.0, "momentum of SGD / RMSprop (torch convention, no dampening)",
                           lo=0.0, hi=0.999999)
    seed: int = spec(0, "fixes the initialisation and the batch order", lo=0)
    # hardware and bookkeeping
    device: str = spec("cpu", "where the model and the whole dataset live", choices=DEVICES)
    precision: str = spec("auto", "auto: bf16 autocast on cuda, fp32 on cpu; fp32; bf16 "
                          "(autocast)", choices=PRECISIONS)
    memory_format: str = spec("auto", "auto: channels_last on cuda, contiguous on cpu",
                              choices=MEMORY_FORMATS)
    eval_every: int = spec(1, "epochs between evaluations of the train/val/test loss and error "
                           "(the last epoch is always evaluated)", lo=1)
    eval_batch_size: int = spec(1000, "examples per forward pass when evaluating", lo=1)
    checkpoint_dir: str | None = spec(
        None, "folder for a checkpoint after every epoch (<run id>.pt); a rerun resumes from it",
        bookkeeping=True)

    def __post_init__(self):
        self._validate_fields()
        entry = get(self.optimizer)
        if entry.torch_class is None:
            raise ConfigError(f"optimizer: {self.optimizer} has no torch.optim class, so task "
                              f"'images' cannot run it (one of "
                              f"{', '.join(list_optimizers(torch=True))}), got {self.optimizer!r}")
        self._resolve("weight_decay", entry.paper_weight_decay(self.task))
        if self.image_size is not None and self.dataset != "imagefolder":
            raise ConfigError(f"image_size: only for dataset=imagefolder ({self.dataset} images "
                              f"have a fixed size), got {self.image_size}")
        if self.download and self.dataset == "imagefolder":
            raise ConfigError("download: imagefolder reads a local folder; there is nothing to "
                              "download, got True")
        total = IMAGE_TRAIN_SIZES[self.dataset]
        if total is not None and self.val_size >= total:
            raise ConfigError(f"val_size: must be in [0, {total - 1}] for {self.dataset}, "
                              f"got {self.val_size}")
        if total is not None and self.subset is not None and self.subset > total - self.val_size:
            raise ConfigError(f"subset: must be in [1, {total - self.val_size}] for {self.dataset} "
                              f"with val_size={self.val_size}, got {self.subset}")
        n = self.train_size
        if n is not None and self.batch_size > n:
            raise ConfigError(f"batch_size: must be in [1, n={n}] (training examples), "
                              f"got {self.batch_size}")
        tests = IMAGE_TEST_SIZES[self.dataset]
        if tests is not None and self.test_subset is not None and self.test_subset > tests:
            raise ConfigError(f"test_subset: must be in [1, {tests}] for {self.dataset}, "
                              f"got {self.test_subset}")

    @property
    def train_size(self) -> int | None:
        """Training examples n when known from the config alone (None for imagefolder)."""
        total = IMAGE_TRAIN_SIZES[self.dataset]
        if self.subset is not None:
            return self.subset
        return None if total is None else total - self.val_size

    @property
    def decoupled(self) -> bool:
        """Whether the optimiser's weight decay is decoupled (AdamW) rather than L2 in the gradient (Adam), from the registry."""
        return get(self.optimizer).decoupled


