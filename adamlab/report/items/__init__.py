"""The report's items: one module per item (or pair of items that share their runs), listed once
in ITEMS. An item is `build(ctx, findings) -> list[Section]`: it runs (or reuses) its preset
sweeps through `ctx`, appends its findings (verdicts from adamlab/report/regimes.py) and returns
its sections. A new item is one module plus one line here."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .betas import item_betas
from .images import item_images_fig1, item_images_fig2
from .limits import item_limits
from .optimisers import item_optimisers
from .phase import item_phase
from .table import item_table, item_trajectories
from .weight_decay import item_adam_large_wd, item_adamw_large_wd


@dataclass(frozen=True)
class Item:
    name: str
    description: str
    build: Callable
    default: bool = True  # part of `adamlab reproduce` without item names (make reproduce)


ITEMS = {i.name: i for i in (
    Item("table", "the synthetic table {Adam, AdamW} x {B=100, B=2}, seeds 0-4", item_table),
    Item("trajectories", "feature learning vs noise memorisation (Figs 3-4)", item_trajectories),
    Item("adam-large-wd", "Adam with weight decay 0.05 fails to train (Fig 5)",
         item_adam_large_wd),
    Item("adamw-large-wd", "AdamW with weight decay 0.5 stays robust (Fig 6)",
         item_adamw_large_wd),
    Item("betas", "robustness over (beta1, beta2)", item_betas),
    Item("phase", "phase diagram: batch size x weight decay, with the theory's regimes",
         item_phase),
    # Beyond the paper (issue 10), run only when named: together they would add ~75% to
    # `make reproduce` (benchmarks/reproduce_time.py: 8431 of 11238 CPU s more at 10^4 epochs).
    Item("optimisers", "SGD/GD, SignSGD, RMSprop, Adam, AdamW, Lion over batch size (issue 10)",
         item_optimisers, default=False),
    Item("limits", "the table under schedules, warm-up, clipping, momentum, other activations",
         item_limits, default=False),
    Item("images-fig1", "real images: test error vs batch size, best over lr (Fig 1)",
         item_images_fig1),
    Item("images-fig2", "real images: test error vs weight decay at B = 16 (Fig 2)",
         item_images_fig2),
)}
DEFAULT_ITEMS = tuple(name for name, item in ITEMS.items()
                      if item.default and not name.startswith("images-"))


__all__ = ["Item", "ITEMS", "DEFAULT_ITEMS"]
