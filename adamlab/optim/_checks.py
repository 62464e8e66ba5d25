"""Argument checks shared by the update rules (messages name the argument and its range)."""
from __future__ import annotations

import torch


def check_range(name: str, value, lo: float, hi: float | None = None, lo_open: bool = False):
    vals = value.flatten().tolist() if isinstance(value, torch.Tensor) else [value]
    for v in vals:
        bad = (v <= lo if lo_open else v < lo) or (hi is not None and v > hi)
        if bad or v != v:
            left = "(" if lo_open else "["
            rng = f"in {left}{lo}, {hi}]" if hi is not None else f"{'>' if lo_open else '>='} {lo}"
            raise ValueError(f"{name}: must be {rng}, got {v!r}")
