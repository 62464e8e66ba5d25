"""`--download`: fetch a dataset's official files, verify the published checksums, move into place.

Each file streams into a temporary file beside its destination while being hashed; only when the
checksum matches is it renamed into place (os.replace, atomic on one filesystem), so an interrupted
or corrupted download never leaves a file that looks complete. Mirrors are tried in order.

ADAMLAB_DATA_MIRROR=URL fetches every file as URL/<file name> instead (a local mirror; the tests
serve generated files from 127.0.0.1 this way); the published checksums are still verified.
"""
from __future__ import annotations

import hashlib
import os
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from .base import DataError

MIRROR_ENV = "ADAMLAB_DATA_MIRROR"
CHUNK = 1 << 20


@dataclass(frozen=True)
class Resource:
    filename: str
    md5: str  # as published by the dataset's authors (all three publish md5)
    urls: tuple[str, ...]


_FASHION = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
# yann.lecun.com often refuses scripted downloads; torchvision's mirror holds the same files
_MNIST = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")
_CIFAR = "https://www.cs.toronto.edu/~kriz/"

RESOURCES: dict[str, tuple[Resource, ...]] = {
    # md5s: the Fashion-MNIST README ("Get the Data" table)
    "fashion-mnist": tuple(Resource(f, md5, (_FASHION + f,)) for f, md5 in (
        ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"))),
    # md5s: as torchvision.datasets.MNIST lists them for LeCun's files
    "mnist": tuple(Resource(f, md5, tuple(u + f for u in _MNIST)) for f, md5 in (
        ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
        ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
        ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"))),
    # md5: https://www.cs.toronto.edu/~kriz/cifar.html (the python version; the binary one is
    # c32a1d4ab5d03f1284b67883e8d87530 and loads too when placed in the folder)
    "cifar10": (Resource("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a",
                         (_CIFAR + "cifar-10-python.tar.gz",)),),
}


def file_md5(path: Path) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch(resource: Resource, folder: Path, progress: bool = False, timeout: float = 60.0) -> Path:
    """Download one file into folder (unless a verified copy is there); returns its path."""
    dest = folder / resource.filename
    want = resource.md5
    if dest.is_file() and file_md5(dest) == want:
        return dest
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"{folder}: cannot create the download folder ({e})") from None
    mirror = os.environ.get(MIRROR_ENV)
    urls = (mirror.rstrip("/") + "/" + resource.filename,) if mirror else resource.urls
    errors = []
    for url in urls:
        tmp = folder / f".{resource.filename}.{os.getpid()}.part"
        try:
            got = _stream(url, tmp, timeout, progress)
            if got != want:
                raise DataError(f"{resource.filename}: md5 {got} from {url} does not match the "
                                f"published {want}")
            os.replace(tmp, dest)
            return dest
        except (OSError, urllib.error.URLError, DataError) as e:  # HTTPError is a URLError
            errors.append(f"{url}: {e}")
        finally:
            tmp.unlink(missing_ok=True)
    raise DataError(f"{dest}: download failed ({'; '.join(errors)})")


def _stream(url: str, tmp: Path, timeout: float, progress: bool) -> str:
    """Write url's body to tmp (fsynced), returning its md5."""

    h = hashlib.md5(usedforsecurity=False)
    with urllib.request.urlopen(url, timeout=timeout) as resp, open(tmp, "wb") as out:
        total = int(resp.headers.get("Content-Length") or 0) or None
        with tqdm(total=total, unit="B", unit_scale=True, disable=not progress, file=sys.stderr,
                  desc=tmp.name[1:].rsplit(".", 2)[0]) as bar:
            for chunk in iter(lambda: resp.read(CHUNK), b""):
                out.write(chunk)
                h.update(chunk)
                bar.update(len(chunk))
        out.flush()
        os.fsync(out.fileno())
    return h.hexdigest()


def download(dataset: str, folder: Path, progress: bool = False) -> list[Path]:
    """Fetch every file of `dataset` into folder; files already there and verified are kept."""
    if dataset not in RESOURCES:
        raise DataError(f"download: no official files for {dataset} (it reads a local folder)")
    return [fetch(r, folder, progress) for r in RESOURCES[dataset]]
