"""Writers of small dataset files in each official format, for the loader and download tests.

Each writer draws random uint8 images and labels from a seed and returns what it wrote, so a test
can compare a loader's output with the truth byte for byte.
"""
from __future__ import annotations

import gzip
import io
import pickle
import struct
import tarfile
from pathlib import Path

import numpy as np

IDX_STEMS = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
             "t10k-labels-idx1-ubyte")


def random_images(n: int, shape: tuple, classes: int, seed: int, balanced: bool = True):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(n, *shape), dtype=np.uint8)
    y = np.arange(n) % classes if balanced else rng.integers(0, classes, n)
    return x, rng.permutation(y).astype(np.int64)


# ---- IDX (MNIST, Fashion-MNIST) ---------------------------------------------------------------

def idx_bytes(arr: np.ndarray) -> bytes:
    """LeCun's IDX format for unsigned bytes: 0, 0, 0x08, ndim, big-endian dims, data."""
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    return bytes([0, 0, 0x08, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes()


def write_idx_set(folder: Path, n_train: int = 40, n_test: int = 20, side: int = 28,
                  gz: bool = True, seed: int = 0) -> dict:
    """The four MNIST-layout files; returns {"x_train", "y_train", "x_test", "y_test"}."""
    folder.mkdir(parents=True, exist_ok=True)
    xtr, ytr = random_images(n_train, (side, side), 10, seed)
    xte, yte = random_images(n_test, (side, side), 10, seed + 1)
    for stem, arr in zip(IDX_STEMS, (xtr, ytr, xte, yte)):
        raw = idx_bytes(arr)
        if gz:
            (folder / (stem + ".gz")).write_bytes(gzip.compress(raw, mtime=0))
        else:
            (folder / stem).write_bytes(raw)
    return {"x_train": xtr[:, None], "y_train": ytr, "x_test": xte[:, None], "y_test": yte}


# ---- CIFAR-10 -----------------------------------------------------------------------------------

CIFAR_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)


def cifar_arrays(per_batch: int = 10, seed: int = 0) -> dict:
    """{batch name: (x uint8 (k, 3, 32, 32), y int64 (k,))}."""
    return {name: random_images(per_batch, (3, 32, 32), 10, seed + i)
            for i, name in enumerate(CIFAR_BATCHES)}


def cifar_binary_bytes(x: np.ndarray, y: np.ndarray) -> bytes:
    rec = np.concatenate([y.astype(np.uint8)[:, None], x.reshape(len(x), -1)], axis=1)
    return rec.tobytes()


def py2_pickle(obj) -> bytes:
    """A protocol-2 pickle as Python 2's cPickle wrote the CIFAR-10 batches: str as
    (SHORT_)BINSTRING, arrays through numpy.core.multiarray._reconstruct and numpy.dtype, their
    state set by BUILD."""
    out = bytearray(b"\x80\x02")

    def save(o):
        if isinstance(o, dict):
            out.extend(b"}(")
            for k, v in o.items():
                save(k)
                save(v)
            out.extend(b"u")
        elif isinstance(o, list):
            out.extend(b"](")
            for v in o:
                save(v)
            out.extend(b"e")
        elif isinstance(o, tuple):
            out.extend(b"(")
            for v in o:
                save(v)
            out.extend(b"t")
        elif isinstance(o, bytes):
            out.extend(b"U" + bytes([len(o)]) + o if len(o) < 256
                       else b"T" + struct.pack("<I", len(o)) + o)
        elif isinstance(o, (int, np.integer)):
            out.extend(b"J" + struct.pack("<i", int(o)))
        elif isinstance(o, np.ndarray):
            out.extend(b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n")
            out.extend(b"K\x00\x85U\x01b\x87R")  # _reconstruct(ndarray, (0,), 'b')
            out.extend(b"(K\x01")  # state: (1, shape, dtype, fortran=False, raw bytes)
            save(tuple(o.shape))
            out.extend(b"cnumpy\ndtype\nU\x02u1K\x00K\x01\x87R")     # dtype('u1', 0, 1)
            out.extend(b"(K\x03U\x01|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb")
            out.extend(b"\x89")
            save(o.tobytes())
            out.extend(b"tb")
        else:
            raise TypeError(type(o))

    save(obj)
    out.extend(b".")
    return bytes(out)


def cifar_python_bytes(name: str, x: np.ndarray, y: np.ndarray, protocol="py2") -> bytes:
    d = {b"batch_label": f"{name} of 6".encode(), b"labels": [int(v) for v in y],
         b"data": x.reshape(len(x), -1),
         b"filenames": [f"img_{i}.png".encode() for i in range(len(x))]}
    return py2_pickle(d) if protocol == "py2" else pickle.dumps(d, protocol=protocol)


def write_cifar(folder: Path, kind: str, arrays: dict, archive: bool = False,
                protocol="py2") -> Path:
    """The official layout cifar-10-batches-{py,bin}/, or its .tar.gz when archive=True."""
    inner = "cifar-10-batches-py" if kind == "python" else "cifar-10-batches-bin"
    files = {}
    for name, (x, y) in arrays.items():
        if kind == "python":
            files[name] = cifar_python_bytes(name, x, y, protocol)
        else:
            files[name + ".bin"] = cifar_binary_bytes(x, y)
    folder.mkdir(parents=True, exist_ok=True)
    if not archive:
        (folder / inner).mkdir(exist_ok=True)
        for name, data in files.items():
            (folder / inner / name).write_bytes(data)
        return folder / inner
    path = folder / ("cifar-10-python.tar.gz" if kind == "python" else "cifar-10-binary.tar.gz")
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"{inner}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def expected_cifar(arrays: dict) -> dict:
    train = [arrays[n] for n in CIFAR_BATCHES[:5]]
    return {"x_train": np.concatenate([a[0] for a in train]),
            "y_train": np.concatenate([a[1] for a in train]),
            "x_test": arrays["test_batch"][0], "y_test": arrays["test_batch"][1]}


# ---- ImageFolder --------------------------------------------------------------------------------

def write_image(path: Path, arr_hwc: np.ndarray, fmt: str = "PNG") -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "L" if arr_hwc.ndim == 2 else "RGB"
    Image.fromarray(arr_hwc, mode).save(path, fmt)
