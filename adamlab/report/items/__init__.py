"""The report's items: one module per item (or pair of items that share their runs), listed once
in ITEMS. An item is `build(ctx, findings) -> list[Section]`: it runs (or reuses) its preset
sweeps through `ctx`, appends its findings (verdicts from adamlab/report/regimes.py) and returns
its sections. A new item is one module plus one line here."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ...images.config import ImageConfig
from ...images.datasets import data_folder
from ...images.datasets.idx import missing_files
from .betas import item_betas
from .beyond import item_beyond
from .critical_batch import item_critical_batch
from .images import item_images_anchor, item_images_fig1, item_images_fig2, item_images_imagenet
from .images_betas import item_images_betas
from .limits import item_limits
from .lion import item_lion
from .optimisers import item_optimisers
from .phase import item_phase
from .scaledown_check import item_scaledown_check
from .table import item_table, item_trajectories
from .weight_decay import item_adam_large_wd, item_adamw_large_wd


@dataclass(frozen=True)
class Item:
    name: str
    description: str
    build: Callable
    default: bool = True  # part of `adamlab reproduce` without item names (make reproduce)


ITEMS = {i.name: i for i in (
    Item("table", "the synthetic table {Adam, AdamW} x {B=100 (seeds 0-19), B=2 (seeds 0-9)}",
         item_table),
    Item("trajectories", "feature learning vs noise memorisation (Figs 3-4)", item_trajectories),
    Item("adam-large-wd", "Adam with weight decay 0.05 fails to train (Fig 5)",
         item_adam_large_wd),
    Item("adamw-large-wd", "AdamW with weight decay 0.5 stays robust (Fig 6)",
         item_adamw_large_wd),
    Item("phase", "phase diagram: batch size x weight decay, with the theory's regimes",
         item_phase),
    # Beyond the paper, run only when named (benchmarks/reproduce_time.py gives each one's
    # cost at 10^4 epochs; together they would more than double `make reproduce`).
    Item("betas", "beta2 x batch size on the synthetic data, with SignSGD(W) beside it "
         "(beyond the paper)", item_betas, default=False),
    Item("optimisers", "SGD/GD, SignSGD, RMSprop, Adam, AdamW, Lion over batch size",
         item_optimisers, default=False),
    Item("limits", "the table under schedules, warm-up, clipping, momentum, other activations",
         item_limits, default=False),
    Item("lion", "Lion's momentum at mini batch: beta1 in {0, 0.5, 0.9} and SignSGDW at B = 2, "
         "with the out-of-batch drift of noise memorisation (beyond the paper)", item_lion,
         default=False),
    Item("beyond", "the table with 3 and 10 classes, 10% and 20% label noise, a trained "
         "second layer (beyond the paper; about 3 h on two cores with the end state)", item_beyond,
         default=False),
    Item("scaledown", "the image scale-down rule checked on the synthetic task: the table and an "
         "Adam phase row at a 5x smaller budget beside the paper's (beyond the paper)",
         item_scaledown_check, default=False),
    Item("critical-batch", "critical batch size vs n / log(1/(λη)): bisection over B, scans "
         "of n, lr, weight decay (only when named: hours at full size)",
         item_critical_batch, default=False),
    Item("images-anchor", "real images: small VGG on the full Fashion-MNIST reaches 91% (the "
         "check before any claim)", item_images_anchor),
    Item("images-fig1", "real images: test error vs batch size, best over lr (Fig 1), scaled to "
         "a CPU", item_images_fig1),
    Item("images-fig2", "real images: test error vs weight decay at B = 16 (Fig 2), scaled to a "
         "CPU", item_images_fig2),
    # The paper's robustness grid over (beta1, beta2), on real images: 54 runs, 15-25 min on
    # two cores beyond images-fig1, so only when named.
    Item("images-betas", "real images: Adam's batch-size gap across the paper's (beta1, beta2) "
         "grid (robustness), scaled to a CPU", item_images_betas, default=False),
    # The ImageNet subset needs the user's ImageNet folder and a GPU: only when named.
    Item("images-imagenet", "ImageNet subset, ResNet-50: top-5 error vs batch size and weight "
         "decay (needs the data and a GPU; only when named)", item_images_imagenet,
         default=False),
)}
# Items that run only when named (hours beyond `make reproduce`, or data it cannot fetch).
ON_REQUEST = tuple(name for name, item in ITEMS.items() if not item.default)
SYNTHETIC_ITEMS = tuple(name for name, item in ITEMS.items()
                        if item.default and not name.startswith("images-"))
# The real-image items that run by default when Fashion-MNIST is on disk.
IMAGE_DEFAULT_ITEMS = tuple(name for name, item in ITEMS.items()
                            if item.default and name.startswith("images-"))
DEFAULT_ITEMS = SYNTHETIC_ITEMS


def default_items(data_dir: str | None = None) -> tuple[tuple[str, ...], str]:
    """What `adamlab reproduce` runs when no item is named, and a line saying why: every
    synthetic item, plus IMAGE_DEFAULT_ITEMS when the Fashion-MNIST files are where the image
    runs will look (data_dir, else Debian's folder, else the cache; adamlab/data/images)."""

    folder = data_folder(ImageConfig(data_dir=data_dir))
    if folder.is_dir() and not missing_files(folder):
        return SYNTHETIC_ITEMS + IMAGE_DEFAULT_ITEMS, (
            f"real-image items {', '.join(IMAGE_DEFAULT_ITEMS)} included: Fashion-MNIST found in "
            f"{folder}")
    return SYNTHETIC_ITEMS, (
        f"real-image items {', '.join(IMAGE_DEFAULT_ITEMS)} skipped: no Fashion-MNIST files in "
        f"{folder} (`make data` installs them, or pass --data-dir DIR)")


__all__ = ["Item", "ITEMS", "DEFAULT_ITEMS", "SYNTHETIC_ITEMS", "IMAGE_DEFAULT_ITEMS",
           "default_items"]
