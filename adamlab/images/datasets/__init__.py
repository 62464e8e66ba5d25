"""Real image datasets (docs/paper.md "Experiments": CIFAR-10, an ImageNet subset; Fashion-MNIST and
MNIST as CPU-sized stand-ins), one module per file format:

  idx.py       MNIST / Fashion-MNIST IDX files (raw or gzipped)
  cifar.py     CIFAR-10, official binary or python archive (restricted unpickler)
  folder.py    ImageFolder-style directories (one subfolder per class)
  download.py  official URLs, checksum verification, atomic move into place
  splits.py    class-balanced subsets and the fixed validation split

`load_splits(cfg)` is what the trainer calls: uint8 images and int64 labels of the training,
validation and test examples a run uses.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .base import DataError, ImageSet
from .cifar import load_cifar10, locate
from .download import download as fetch
from .folder import load_folder
from .idx import load_idx, missing_files
from .splits import heldout_test_indices, train_val_indices

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")  # Debian: dataset-fashion-mnist
DATA_ROOT_ENV = "ADAMLAB_DATA"
DEFAULT_IMAGE_SIZE = 224  # imagefolder: the ImageNet convention


def default_root() -> Path:
    return Path(os.environ.get(DATA_ROOT_ENV, "~/.cache/adamlab/datasets")).expanduser()


def data_folder(cfg) -> Path:
    """Where a config's dataset files are: data_dir, else Debian's Fashion-MNIST folder when it
    holds the files, else <ADAMLAB_DATA or ~/.cache/adamlab/datasets>/<dataset>."""
    if cfg.data_dir is not None:
        return Path(cfg.data_dir).expanduser()
    if cfg.dataset == "fashion-mnist":

        if DEBIAN_FASHION_MNIST.is_dir() and not missing_files(DEBIAN_FASHION_MNIST):
            return DEBIAN_FASHION_MNIST
    return default_root() / cfg.dataset


def _missing(dataset: str, folder: Path) -> str | None:
    """A one-line description of what is missing, or None when the files seem to be there."""
    if dataset in ("mnist", "fashion-mnist"):

        gone = missing_files(folder)
        return f"{', '.join(m + '[.gz]' for m in gone)}" if gone else None
    if dataset == "cifar10":

        return None if locate(folder) is not None else \
            "cifar-10-batches-py/, cifar-10-batches-bin/ or one of the official .tar.gz archives"
    return None


def load_raw(cfg, progress: bool = False) -> ImageSet:
    """The dataset's official train/test split, downloading first when asked and needed."""
    folder = data_folder(cfg)
    missing = _missing(cfg.dataset, folder)
    if missing and cfg.download:

        fetch(cfg.dataset, folder, progress)
        missing = _missing(cfg.dataset, folder)
    if missing:
        hint = " install Debian's dataset-fashion-mnist," if cfg.dataset == "fashion-mnist" else ""
        raise DataError(f"{folder}: no {cfg.dataset} files (missing {missing});{hint} set data_dir "
                        f"(--data-dir) to a folder holding them, or set download (--download)")
    if cfg.dataset in ("mnist", "fashion-mnist"):

        return load_idx(cfg.dataset, folder)
    if cfg.dataset == "cifar10":

        return load_cifar10(folder)

    return load_folder(folder, cfg.image_size or DEFAULT_IMAGE_SIZE, cfg.data_seed)


@dataclass
class Splits:
    """The examples one run uses: uint8 images (N, C, H, W), int64 labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[str, ...]
    info: dict = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.x_train.shape[1:])


_CACHE: dict = {}  # the last dataset read, so the runs of a sweep in one process read it once


def load_splits(cfg, progress: bool = False) -> Splits:
    key = (cfg.dataset, str(data_folder(cfg)), cfg.image_size, cfg.data_seed)
    raw = _CACHE.get(key)
    if raw is None:
        raw = load_raw(cfg, progress)
        _CACHE.clear()
        _CACHE[key] = raw
    c = len(raw.classes)
    tr, va = train_val_indices(raw.y_train, c, cfg.val_size, cfg.subset, cfg.data_seed)
    te = heldout_test_indices(raw.y_test, c, cfg.test_subset, cfg.data_seed)
    if len(tr) < cfg.batch_size:
        raise DataError(f"batch_size: must be in [1, n={len(tr)}] (training examples of "
                        f"{data_folder(cfg)}), got {cfg.batch_size}")
    info = {"dataset": raw.name, "folder": str(data_folder(cfg)), "source": raw.source,
            "classes": len(raw.classes), "image_shape": list(raw.shape),
            "n_train": int(len(tr)), "n_val": int(len(va)), "n_test": int(len(te))}
    return Splits(raw.x_train[tr], raw.y_train[tr], raw.x_train[va], raw.y_train[va],
                  raw.x_test[te], raw.y_test[te], raw.classes, info)


__all__ = ["DataError", "ImageSet", "Splits", "data_folder", "load_raw", "load_splits"]
