"""An ImageFolder-style directory (one subfolder per class), e.g. a subset of ImageNet-1K.

Layouts accepted:
  data_dir/train/<class>/*.jpg and data_dir/val/<class>/*.jpg (or test/): the given split;
  data_dir/<class>/*.jpg: one pool, of which a fixed class-balanced fifth (drawn with data_seed)
  becomes the test split.
Classes are the sorted subfolder names of the training folder (torchvision's convention). Each
image is decoded with PIL, converted to RGB, resized so its shorter side is `size` and centre-
cropped to size x size (the usual evaluation transform; the paper uses no augmentation).
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from .base import DataError, ImageSet

EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".ppm", ".pgm", ".tif", ".tiff", ".webp")
TEST_FOLDERS = ("val", "test")
POOL_TEST_FRACTION = 0.2


def list_classes(folder: Path) -> list[tuple[str, list[Path]]]:
    """[(class name, sorted image paths)] for each subfolder holding at least one image."""
    out = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = sorted(p for p in sub.rglob("*") if p.is_file() and p.suffix.lower() in EXTENSIONS)
        if files:
            out.append((sub.name, files))
    return out


def decode(path: Path, size: int) -> np.ndarray:
    """One image as uint8 (3, size, size): RGB, shorter side resized to size, centre crop."""

    try:
        with Image.open(path) as im:
            im.draft("RGB", (size, size))  # JPEG: decode at a reduced scale when it is large
            im = im.convert("RGB")
            w, h = im.size
            scale = size / min(w, h)
            if (w, h) != (size, size):
                nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
                im = im.resize((nw, nh), Image.BILINEAR, reducing_gap=None)
                left, top = (nw - size) // 2, (nh - size) // 2
                im = im.crop((left, top, left + size, top + size))
            arr = np.asarray(im, dtype=np.uint8)
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as e:
        raise DataError(f"{path}: cannot decode image ({e})") from None
    return arr.transpose(2, 0, 1)


def decode_all(paths: list[Path], size: int) -> np.ndarray:
    """Decode many images in threads (PIL releases the GIL while decoding)."""
    out = np.empty((len(paths), 3, size, size), np.uint8)
    workers = min(8, os.cpu_count() or 1)

    def one(i):
        out[i] = decode(paths[i], size)

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, range(len(paths))))
    return out


def _split_pool(classes, seed: int):
    """Split one class-per-folder pool into train/test, a fixed fifth of each class for test."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 7]))
    train, test = [], []
    for name, files in classes:
        order = rng.permutation(len(files))
        k = int(round(POOL_TEST_FRACTION * len(files)))
        if len(files) >= 2:
            k = min(max(k, 1), len(files) - 1)
        test.append((name, [files[i] for i in sorted(order[:k])]))
        train.append((name, [files[i] for i in sorted(order[k:])]))
    return train, test


def load_folder(folder: Path, size: int, seed: int = 0) -> ImageSet:
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder (imagefolder needs data_dir with one subfolder "
                        f"per class, or train/ and val/ folders of them)")
    train_dir = folder / "train"
    test_dir = next((folder / t for t in TEST_FOLDERS if (folder / t).is_dir()), None)
    if train_dir.is_dir():
        if test_dir is None:
            raise DataError(f"{folder}: has train/ but no val/ or test/ folder")
        train, test = list_classes(train_dir), list_classes(test_dir)
        layout = "train+" + test_dir.name
    else:
        train, test = _split_pool(list_classes(folder), seed)
        layout = f"pool, {POOL_TEST_FRACTION:g} held out for test"
    if len(train) < 2:
        raise DataError(f"{train_dir if train_dir.is_dir() else folder}: found {len(train)} "
                        f"class folders with images; need at least 2")
    names = [n for n, _ in train]
    index = {n: i for i, n in enumerate(names)}
    unknown = [n for n, _ in test if n not in index]
    if unknown:
        raise DataError(f"{test_dir / unknown[0]}: class {unknown[0]!r} has no training folder")
    arrays = {}
    for split, classes in (("train", train), ("test", test)):
        paths = [p for _, files in classes for p in files]
        labels = [index[n] for n, files in classes for _ in files]
        arrays[f"x_{split}"] = decode_all(paths, size)
        arrays[f"y_{split}"] = np.asarray(labels, np.int64)
    return ImageSet(name="imagefolder", classes=tuple(names),
                    source={"format": "imagefolder", "folder": str(folder), "layout": layout,
                            "image_size": size}, **arrays)
