"""What every image loader returns, and the one error they raise.

Loaders hand back uint8 arrays in (N, C, H, W) layout with int64 labels in [0, classes), the
official train/test split untouched; subsets and the validation split are drawn later
(splits.py) so every format is treated alike.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...core.errors import ConfigError


class DataError(ConfigError):
    """A dataset file is missing, malformed or fails its checksum; the message names the file
    (a ConfigError, so the CLI prints it as one line)."""


@dataclass
class ImageSet:
    """One dataset's official split: uint8 images (N, C, H, W) and int64 labels (N,)."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[str, ...]
    source: dict = field(default_factory=dict)  # where the files came from, recorded with runs

    def __post_init__(self):
        for split in ("train", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            assert x.dtype == np.uint8 and x.ndim == 4, (split, x.dtype, x.shape)
            assert y.shape == (len(x),), (split, y.shape, x.shape)
        assert self.x_train.shape[1:] == self.x_test.shape[1:]

    @property
    def shape(self) -> tuple[int, int, int]:
        """(channels, height, width) of one image."""
        return tuple(self.x_train.shape[1:])


def check_labels(y: np.ndarray, classes: int, where: str) -> np.ndarray:
    """Labels as int64, each in [0, classes)."""
    y = np.asarray(y).astype(np.int64)
    if y.size and (y.min() < 0 or y.max() >= classes):
        bad = y[(y < 0) | (y >= classes)][0]
        raise DataError(f"{where}: label {bad} outside [0, {classes - 1}]")
    return y
