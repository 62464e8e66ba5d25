"""CIFAR-10 from the official binary or python archive, extracted or still in its .tar.gz.

Binary version (cifar-10-batches-bin/): data_batch_1..5.bin and test_batch.bin, each 10,000
records of 1 label byte + 3072 pixel bytes (1024 red, 1024 green, 1024 blue, row-major 32x32).
Python version (cifar-10-batches-py/): data_batch_1..5 and test_batch, each a pickled dict
{b"data": uint8 array (10000, 3072), b"labels": list of ints, ...} written by Python 2.

The python files are pickles, and unpickling runs whatever the file names. `SafeUnpickler` admits
only the few globals a pickled numpy array needs (wrapped so they build nothing but plain
non-object arrays), so a file can yield dicts, lists, tuples, bytes, strings, numbers and arrays,
and nothing else (Python docs, pickle, "Restricting Globals").
"""
from __future__ import annotations

import codecs
import io
import pickle
import tarfile
from pathlib import Path

import numpy as np

from .base import DataError, ImageSet, check_labels

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST = ("test_batch",)
RECORD = 1 + 3 * 32 * 32  # binary version: label byte + pixels
FOLDERS = {"python": "cifar-10-batches-py", "binary": "cifar-10-batches-bin"}
ARCHIVES = {"python": "cifar-10-python.tar.gz", "binary": "cifar-10-binary.tar.gz"}
SUFFIX = {"python": "", "binary": ".bin"}

# ---- the restricted unpickler -----------------------------------------------------------------

try:  # numpy >= 2 moved the module; the CIFAR files (numpy 1, Python 2) name numpy.core
    from numpy._core.multiarray import _reconstruct as _np_reconstruct
except ImportError:  # pragma: no cover - numpy 1
    from numpy.core.multiarray import _reconstruct as _np_reconstruct


def _reconstruct(subtype, shape, dtype):
    if subtype is not np.ndarray:
        raise pickle.UnpicklingError("only plain numpy arrays may be unpickled")
    return _np_reconstruct(np.ndarray, shape, dtype)


def _dtype(spec, align=False, copy=False):
    dt = np.dtype(spec, align, copy)
    if dt.hasobject:
        raise pickle.UnpicklingError("arrays of Python objects may not be unpickled")
    return dt


def _frombuffer(buf, dtype, shape, order):
    # protocol 5 pickles an array as numpy._core.numeric._frombuffer(bytes, dtype, shape, order)
    if not isinstance(buf, (bytes, bytearray, memoryview)) or order not in ("C", "F"):
        raise pickle.UnpicklingError("malformed array buffer")
    return np.frombuffer(buf, dtype=_dtype(dtype)).reshape(shape, order=order).copy()


def _latin1(text, encoding="latin1"):
    # Python 3 writes bytes into a protocol-2 pickle as _codecs.encode(str, "latin1")
    if not isinstance(text, str) or encoding.replace("-", "").lower() != "latin1":
        raise pickle.UnpicklingError("_codecs.encode is admitted for latin1 strings only")
    return codecs.encode(text, "latin1")


ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): _dtype,
    ("_codecs", "encode"): _latin1,
}
PLAIN = (dict, list, tuple, bytes, str, int, float, bool, type(None), np.ndarray)


class SafeUnpickler(pickle.Unpickler):
    """Unpickles plain data only: every global outside ALLOWED_GLOBALS is refused."""

    def find_class(self, module, name):
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name} (only plain arrays, lists, bytes, strings and "
                f"numbers are allowed)") from None

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("refusing a persistent id")


def _check_plain(obj, depth=0):
    if depth > 20 or not isinstance(obj, PLAIN):
        raise pickle.UnpicklingError(f"unexpected {type(obj).__name__} in the file")
    if isinstance(obj, np.ndarray):
        if obj.dtype.hasobject or type(obj) is not np.ndarray:
            raise pickle.UnpicklingError("arrays of Python objects may not be unpickled")
    elif isinstance(obj, dict):
        for k, v in obj.items():
            _check_plain(k, depth + 1)
            _check_plain(v, depth + 1)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _check_plain(v, depth + 1)


def safe_load(data: bytes, where: str):
    """Unpickle `data` with SafeUnpickler (Python 2 strings become bytes, as the CIFAR page says
    to load them); any refusal or corruption becomes a DataError naming `where`."""
    try:
        obj = SafeUnpickler(io.BytesIO(data), encoding="bytes").load()
        _check_plain(obj)
    except DataError:
        raise
    except Exception as e:  # a malformed pickle can raise almost anything; all mean "bad file"
        raise DataError(f"{where}: not a CIFAR-10 python batch ({type(e).__name__}: {e})") from None
    return obj


# ---- the two formats --------------------------------------------------------------------------

def parse_python_batch(data: bytes, where: str) -> tuple[np.ndarray, np.ndarray]:
    batch = safe_load(data, where)
    if not isinstance(batch, dict):
        raise DataError(f"{where}: expected a dict, got {type(batch).__name__}")
    batch = {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}
    if "data" not in batch or "labels" not in batch:
        raise DataError(f"{where}: missing 'data' or 'labels' (keys: {sorted(map(str, batch))})")
    x, labels = batch["data"], batch["labels"]
    if not isinstance(x, np.ndarray) or x.dtype != np.uint8 or x.ndim != 2 or x.shape[1] != 3072:
        shape = getattr(x, "shape", None)
        raise DataError(f"{where}: 'data' must be a uint8 array (N, 3072), got "
                        f"{type(x).__name__} {getattr(x, 'dtype', '')} {shape}")
    if not isinstance(labels, (list, tuple, np.ndarray)) or len(labels) != len(x):
        raise DataError(f"{where}: 'labels' must be a list of {len(x)} ints")
    if not all(isinstance(v, (int, np.integer)) for v in labels):
        raise DataError(f"{where}: 'labels' must be ints")
    return x.reshape(-1, 3, 32, 32), check_labels(np.asarray(labels), 10, where)


def parse_binary_batch(data: bytes, where: str) -> tuple[np.ndarray, np.ndarray]:
    if len(data) == 0 or len(data) % RECORD:
        raise DataError(f"{where}: size {len(data)} is not a multiple of the {RECORD}-byte record")
    rec = np.frombuffer(data, np.uint8).reshape(-1, RECORD)
    return rec[:, 1:].reshape(-1, 3, 32, 32), check_labels(rec[:, 0], 10, where)


PARSERS = {"python": parse_python_batch, "binary": parse_binary_batch}


def _from_folder(folder: Path, kind: str):
    names = [n + SUFFIX[kind] for n in TRAIN + TEST]
    if not all((folder / n).is_file() for n in names):
        return None
    def read(n):
        try:
            return (folder / n).read_bytes()
        except OSError as e:
            raise DataError(f"{folder / n}: cannot read ({e})") from None
    return {n: (read(n), str(folder / n)) for n in names}


def _from_archive(path: Path, kind: str):
    """Batch files read straight out of the official .tar.gz (regular members only, nothing
    extracted, so no path in the archive can write anywhere)."""
    names = [n + SUFFIX[kind] for n in TRAIN + TEST]
    out = {}
    try:
        with tarfile.open(path, "r:gz") as tar:
            for member in tar:
                base = member.name.rsplit("/", 1)[-1]
                if member.isfile() and base in names and member.name.startswith(FOLDERS[kind]):
                    out[base] = (tar.extractfile(member).read(), f"{path}:{member.name}")
    except (OSError, EOFError, tarfile.TarError) as e:
        raise DataError(f"{path}: cannot read the archive ({e})") from None
    missing = [n for n in names if n not in out]
    if missing:
        raise DataError(f"{path}: archive lacks {FOLDERS[kind]}/{missing[0]}")
    return out


def locate(folder: Path):
    """(kind, {batch name: (bytes, where)}) from the first layout found in `folder`, or None."""
    for kind in ("python", "binary"):
        for where in (folder / FOLDERS[kind], folder):
            files = _from_folder(where, kind)
            if files is not None:
                return kind, files
    for kind in ("python", "binary"):
        if (folder / ARCHIVES[kind]).is_file():
            return kind, _from_archive(folder / ARCHIVES[kind], kind)
    return None


def load_cifar10(folder: Path) -> ImageSet:
    found = locate(folder)
    if found is None:
        raise DataError(f"{folder}: no CIFAR-10 files (expected {FOLDERS['python']}/, "
                        f"{FOLDERS['binary']}/, {ARCHIVES['python']} or {ARCHIVES['binary']})")
    kind, files = found
    parse = PARSERS[kind]
    splits = {}
    for split, names in (("train", TRAIN), ("test", TEST)):
        parts = [parse(*files[n + SUFFIX[kind]]) for n in names]
        splits[f"x_{split}"] = np.concatenate([p[0] for p in parts])
        splits[f"y_{split}"] = np.concatenate([p[1] for p in parts])
    return ImageSet(name="cifar10", classes=CLASSES,
                    source={"format": f"cifar-{kind}", "files": [w for _, w in files.values()]},
                    **splits)
