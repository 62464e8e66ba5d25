"""MNIST and Fashion-MNIST from their IDX files (LeCun's format), gzipped or raw.

An IDX file is: two zero bytes, a type code (0x08 = unsigned byte, ...), the number of dimensions
k, k big-endian uint32 sizes, then the values in C order (big-endian). Both datasets ship four such
files (60,000 training and 10,000 test 28x28 greyscale images with labels 0-9); Debian's
dataset-fashion-mnist package installs them, gzipped, under /usr/share/datasets/fashion-mnist.
"""
from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from .base import DataError, ImageSet, check_labels

# type code -> numpy dtype (big-endian, as the format specifies)
IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
FILES = {"train_images": "train-images-idx3-ubyte", "train_labels": "train-labels-idx1-ubyte",
         "test_images": "t10k-images-idx3-ubyte", "test_labels": "t10k-labels-idx1-ubyte"}
CLASSES = {
    "mnist": tuple(str(i) for i in range(10)),
    "fashion-mnist": ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                      "Sneaker", "Bag", "Ankle boot"),
}


def find_file(folder: Path, stem: str) -> Path | None:
    """The file `stem` or `stem.gz` in folder (raw first), or None."""
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def read_bytes(path: Path) -> bytes:
    """The file's content, gunzipped when it starts with the gzip magic bytes."""
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"{path}: cannot read ({e})") from None
    return raw


def parse_idx(raw: bytes, where: str) -> np.ndarray:
    """An IDX byte string as a numpy array (native byte order)."""
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DataError(f"{where}: not an IDX file (bad magic number)")
    code, ndim = raw[2], raw[3]
    if code not in IDX_TYPES:
        raise DataError(f"{where}: unknown IDX type code 0x{code:02x}")
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise DataError(f"{where}: truncated IDX header")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(IDX_TYPES[code])
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise DataError(f"{where}: expected {expected} data bytes for shape {dims}, "
                        f"found {len(raw) - header}")
    arr = np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)
    return arr.astype(dtype.newbyteorder("="))


def read_idx(path: Path) -> np.ndarray:
    return parse_idx(read_bytes(path), str(path))


def missing_files(folder: Path) -> list[str]:
    return [stem for stem in FILES.values() if find_file(folder, stem) is None]


def load_idx(name: str, folder: Path) -> ImageSet:
    """The four IDX files of MNIST / Fashion-MNIST in `folder` (each raw or .gz)."""
    arrays, paths = {}, {}
    for key, stem in FILES.items():
        path = find_file(folder, stem)
        if path is None:
            raise DataError(f"{folder / stem}[.gz]: missing ({name} needs "
                            f"{', '.join(FILES.values())} in data_dir)")
        arr = read_idx(path)
        want = 3 if key.endswith("images") else 1
        if arr.ndim != want or arr.dtype != np.uint8:
            raise DataError(f"{path}: expected {want}-d unsigned bytes, "
                            f"got {arr.ndim}-d {arr.dtype}")
        arrays[key], paths[key] = arr, str(path)
    out = {}
    for split in ("train", "test"):
        x, y = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if len(x) != len(y):
            raise DataError(f"{paths[f'{split}_labels']}: {len(y)} labels for {len(x)} images")
        out[f"x_{split}"] = x[:, None]  # one channel
        out[f"y_{split}"] = check_labels(y, 10, paths[f"{split}_labels"])
    if out["x_train"].shape[1:] != out["x_test"].shape[1:]:
        raise DataError(f"{paths['test_images']}: image size {out['x_test'].shape[2:]} differs "
                        f"from the training images' {out['x_train'].shape[2:]}")
    return ImageSet(name=name, classes=CLASSES[name], source={"format": "idx", "files": paths},
                    **out)
