"""The report's items: one module per item (or pair of items that share their runs), listed once
in ITEMS. An item is `build(ctx, findings) -> list[Section]`: it runs (or reuses) its preset
sweeps through `ctx`, appends its findings (verdicts from adamlab/report/regimes.py) and returns
its sections. A new item is one module plus one line here."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .betas import item_betas
from .critical_batch import item_critical_batch
from .images import item_images_fig1, item_images_fig2
from .phase import item_phase
from .table import item_table, item_trajectories
from .weight_decay import item_adam_large_wd, item_adamw_large_wd


@dataclass(frozen=True)
class Item:
    name: str
    description: str
    build: Callable


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
    Item("critical-batch", "critical batch size vs n / log(1/(λη)): bisection over B, scans "
         "of n, lr, weight decay (not in the default set: hours at full size)",
         item_critical_batch),
    Item("images-fig1", "real images: test error vs batch size, best over lr (Fig 1)",
         item_images_fig1),
    Item("images-fig2", "real images: test error vs weight decay at B = 16 (Fig 2)",
         item_images_fig2),
)}
# Not in the default set: real images need data and hours; the critical-batch study ~1.5 h
# on two cores beyond `make reproduce`'s 31 min (README).
DEFAULT_ITEMS = tuple(name for name in ITEMS
                      if not name.startswith("images-") and name != "critical-batch")


__all__ = ["Item", "ITEMS", "DEFAULT_ITEMS"]
