"""Loaders on generated files in each official format, malformed files, splits, and the download
path against a local HTTP server."""
import gzip
import hashlib
import os
import pickle
import tarfile

import numpy as np
import pytest
from image_files import (cifar_arrays, cifar_binary_bytes, expected_cifar, idx_bytes,
                         py2_pickle, write_cifar, write_idx_set, write_image)

from adamlab.images.config import ImageConfig
from adamlab.images import datasets as images
from adamlab.images.datasets import DataError, cifar, download, idx, load_raw, load_splits
from adamlab.images.datasets.folder import load_folder
from adamlab.images.datasets.splits import heldout_test_indices, train_val_indices


def one_line_error(excinfo, *needles):
    msg = str(excinfo.value)
    assert "\n" not in msg, msg
    for needle in needles:
        assert str(needle) in msg, msg
    return msg


def same(ds, want):
    for key, value in want.items():
        got = getattr(ds, key)
        assert got.shape == value.shape, key
        np.testing.assert_array_equal(got, value, err_msg=key)


# ---- IDX --------------------------------------------------------------------------------------

@pytest.mark.parametrize("gz", [True, False])
def test_idx_loads_exactly_what_was_written(tmp_path, gz):
    want = write_idx_set(tmp_path, n_train=30, n_test=10, side=8, gz=gz, seed=1)
    ds = idx.load_idx("fashion-mnist", tmp_path)
    same(ds, want)
    assert ds.x_train.dtype == np.uint8 and ds.y_train.dtype == np.int64
    assert ds.shape == (1, 8, 8) and ds.classes[9] == "Ankle boot"


@pytest.mark.parametrize("corrupt, needle", [
    (lambda raw: b"\x01" + raw[1:], "bad magic"),
    (lambda raw: raw[:2] + b"\x07" + raw[3:], "type code 0x07"),
    (lambda raw: raw[:-5], "expected 1920 data bytes"),
    (lambda raw: raw[:6], "truncated IDX header"),
])
def test_malformed_idx_names_the_file(tmp_path, corrupt, needle):
    write_idx_set(tmp_path, n_train=30, n_test=10, side=8, gz=False)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(corrupt(path.read_bytes()))
    with pytest.raises(DataError) as e:
        idx.load_idx("mnist", tmp_path)
    one_line_error(e, path, needle)


def test_idx_inconsistent_files(tmp_path):
    write_idx_set(tmp_path, n_train=30, n_test=10, side=8, gz=False)
    labels = tmp_path / "train-labels-idx1-ubyte"
    labels.write_bytes(idx_bytes(np.zeros(29, np.uint8)))
    with pytest.raises(DataError) as e:
        idx.load_idx("mnist", tmp_path)
    one_line_error(e, labels, "29 labels for 30 images")
    labels.write_bytes(idx_bytes(np.full(30, 10, np.uint8)))
    with pytest.raises(DataError) as e:
        idx.load_idx("mnist", tmp_path)
    one_line_error(e, labels, "label 10 outside [0, 9]")
    (tmp_path / "t10k-images-idx3-ubyte").unlink()
    with pytest.raises(DataError) as e:
        idx.load_idx("mnist", tmp_path)
    one_line_error(e, "t10k-images-idx3-ubyte", "missing")


def test_bad_gzip_names_the_file(tmp_path):
    write_idx_set(tmp_path, n_train=30, n_test=10, side=8, gz=True)
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:12])
    with pytest.raises(DataError) as e:
        idx.load_idx("mnist", tmp_path)
    one_line_error(e, path, "cannot read")


def test_missing_dataset_says_how_to_get_it(tmp_path):
    cfg = ImageConfig(dataset="fashion-mnist", data_dir=str(tmp_path / "nothing"))
    with pytest.raises(DataError) as e:
        load_raw(cfg)
    one_line_error(e, "nothing", "dataset-fashion-mnist", "--download", "train-images-idx3-ubyte")
    cfg = ImageConfig(dataset="cifar10", data_dir=str(tmp_path))
    with pytest.raises(DataError) as e:
        load_raw(cfg)
    one_line_error(e, tmp_path, "cifar-10-batches-py")


@pytest.mark.skipif(not (images.DEBIAN_FASHION_MNIST / "train-images-idx3-ubyte.gz").is_file(),
                    reason="Debian's dataset-fashion-mnist is not installed")
def test_debian_fashion_mnist_is_the_default():
    cfg = ImageConfig()
    assert images.data_folder(cfg) == images.DEBIAN_FASHION_MNIST
    ds = load_raw(cfg)
    assert ds.x_train.shape == (60000, 1, 28, 28) and ds.x_test.shape == (10000, 1, 28, 28)
    assert np.bincount(ds.y_train).tolist() == [6000] * 10


def test_default_folder_elsewhere(tmp_path, monkeypatch):
    monkeypatch.setenv(images.DATA_ROOT_ENV, str(tmp_path))
    assert images.data_folder(ImageConfig(dataset="cifar10")) == tmp_path / "cifar10"
    assert images.data_folder(ImageConfig(dataset="mnist", data_dir="/x")) == images.Path("/x")


# ---- CIFAR-10 ---------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, archive, protocol", [
    ("binary", False, None), ("binary", True, None),
    ("python", False, "py2"), ("python", True, "py2"), ("python", False, 2),
    ("python", False, 4), ("python", False, 5),
])
def test_cifar_formats_load_exactly(tmp_path, kind, archive, protocol):
    arrays = cifar_arrays(per_batch=6, seed=3)
    write_cifar(tmp_path, kind, arrays, archive=archive, protocol=protocol)
    ds = cifar.load_cifar10(tmp_path)
    same(ds, expected_cifar(arrays))
    assert ds.shape == (3, 32, 32) and ds.classes[0] == "airplane"
    assert ds.source["format"] == f"cifar-{kind}"


def test_py2_pickle_is_what_python2_wrote():
    # the helper's stream must name numpy.core (as the official files do) and hold no bytes opcode
    raw = py2_pickle({b"data": np.zeros((2, 3), np.uint8), b"labels": [1, 2]})
    assert b"cnumpy.core.multiarray\n_reconstruct\n" in raw and b"_codecs" not in raw
    assert not any(op in raw for op in (b"C\x00", b"B\x00"))
    x = cifar.safe_load(raw, "t")[b"data"]
    assert x.dtype == np.uint8 and x.shape == (2, 3)


class _RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_unpickler_refuses_code_and_objects(tmp_path):
    marker = tmp_path / "pwned"
    evil = pickle.dumps({b"data": _RunsCode(marker), b"labels": []}, protocol=2)
    with pytest.raises(DataError) as e:
        cifar.safe_load(evil, "evil_batch")
    one_line_error(e, "evil_batch", "refusing to load", "system")
    assert not marker.exists()
    for obj in (np.array([1, "a"], dtype=object), {b"x": {1, 2}}, {b"x": 1j}):
        with pytest.raises(DataError):
            cifar.safe_load(pickle.dumps(obj, protocol=4), "odd")
    # and the same refusal when such a file sits in the official layout
    arrays = cifar_arrays(per_batch=4)
    folder = write_cifar(tmp_path, "python", arrays)
    (folder / "data_batch_3").write_bytes(evil)
    with pytest.raises(DataError) as e:
        cifar.load_cifar10(tmp_path)
    one_line_error(e, folder / "data_batch_3", "refusing")
    assert not marker.exists()


@pytest.mark.parametrize("payload, needle", [
    ({b"labels": [1]}, "missing 'data'"),
    ({b"data": np.zeros((2, 3072), np.float32), b"labels": [1, 2]}, "uint8 array"),
    ({b"data": np.zeros((2, 100), np.uint8), b"labels": [1, 2]}, "uint8 array"),
    ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [1]}, "list of 2 ints"),
    ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [1, 12]}, "label 12"),
    ([1, 2], "expected a dict"),
])
def test_malformed_python_batch(tmp_path, payload, needle):
    arrays = cifar_arrays(per_batch=4)
    folder = write_cifar(tmp_path, "python", arrays)
    (folder / "test_batch").write_bytes(pickle.dumps(payload, protocol=2))
    with pytest.raises(DataError) as e:
        cifar.load_cifar10(tmp_path)
    one_line_error(e, folder / "test_batch", needle)


def test_malformed_binary_and_archives(tmp_path):
    arrays = cifar_arrays(per_batch=4)
    folder = write_cifar(tmp_path / "a", "binary", arrays)
    (folder / "data_batch_2.bin").write_bytes(cifar_binary_bytes(*arrays["data_batch_2"])[:-1])
    with pytest.raises(DataError) as e:
        cifar.load_cifar10(tmp_path / "a")
    one_line_error(e, "data_batch_2.bin", "multiple of the 3073-byte record")

    path = write_cifar(tmp_path / "b", "python", arrays, archive=True)
    with tarfile.open(path, "w:gz") as tar:  # an archive missing one batch
        info = tarfile.TarInfo("cifar-10-batches-py/data_batch_1")
        data = pickle.dumps({b"data": arrays["data_batch_1"][0].reshape(4, -1), b"labels": [0] * 4})
        info.size = len(data)
        import io
        tar.addfile(info, io.BytesIO(data))
    with pytest.raises(DataError) as e:
        cifar.load_cifar10(tmp_path / "b")
    one_line_error(e, path, "lacks cifar-10-batches-py/data_batch_2")

    path.write_bytes(b"not a tarball at all")
    with pytest.raises(DataError) as e:
        cifar.load_cifar10(tmp_path / "b")
    one_line_error(e, path, "cannot read the archive")


# ---- ImageFolder ------------------------------------------------------------------------------

def test_image_folder_train_val_layout(tmp_path):
    rng = np.random.default_rng(0)
    truth = {}
    for split, n in (("train", 3), ("val", 2)):
        for cls in ("b_dog", "a_cat", "c_owl"):
            for i in range(n):
                arr = rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)
                write_image(tmp_path / split / cls / f"{i}.png", arr)
                truth[(split, cls, i)] = arr
    (tmp_path / "train" / "a_cat" / "notes.txt").write_text("not an image")
    ds = load_folder(tmp_path, size=12)
    assert ds.classes == ("a_cat", "b_dog", "c_owl")  # sorted folder names
    assert ds.x_train.shape == (9, 3, 12, 12) and ds.x_test.shape == (6, 3, 12, 12)
    assert ds.y_train.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    np.testing.assert_array_equal(ds.x_train[3], truth[("train", "b_dog", 0)].transpose(2, 0, 1))
    np.testing.assert_array_equal(ds.x_test[5], truth[("val", "c_owl", 1)].transpose(2, 0, 1))


def test_image_folder_resizes_crops_and_converts(tmp_path):
    # a 40x20 greyscale PNG: shorter side 20 -> 8, width 40 -> 16, centre crop = columns 4..12 of
    # the resized image = columns 10..30 of the original, inside the white band 8..32
    img = np.zeros((20, 40), np.uint8)
    img[:, 8:32] = 255
    for cls in ("x", "y"):
        for i in range(5):
            write_image(tmp_path / cls / f"{i}.png", img)
    write_image(tmp_path / "y" / "5.jpg", np.full((30, 30), 128, np.uint8), "JPEG")
    ds = load_folder(tmp_path, size=8, seed=0)  # pool layout: a fifth of each class is test
    assert ds.x_train.shape == (9, 3, 8, 8) and ds.x_test.shape == (2, 3, 8, 8)  # 1 of 5, 1 of 6
    xs = np.concatenate([ds.x_train, ds.x_test])
    grey = [x for x in xs if abs(int(x.mean()) - 128) < 4]
    assert len(grey) == 1  # the JPEG, resized 30 -> 8, still a flat grey in 3 channels
    assert sum(x.min() > 240 for x in xs) == 10  # the PNGs: all white after resize and crop
    assert ds.source["layout"].startswith("pool")
    again = load_folder(tmp_path, size=8, seed=0)
    np.testing.assert_array_equal(again.y_test, ds.y_test)
    np.testing.assert_array_equal(again.x_test, ds.x_test)


def test_image_folder_errors(tmp_path):
    for cls in ("a", "b"):
        write_image(tmp_path / "train" / cls / "0.png", np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(DataError) as e:
        load_folder(tmp_path, size=4)
    one_line_error(e, "no val/ or test/")
    write_image(tmp_path / "val" / "zebra" / "0.png", np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(DataError) as e:
        load_folder(tmp_path, size=4)
    one_line_error(e, "zebra", "no training folder")
    (tmp_path / "val" / "zebra" / "0.png").unlink()
    write_image(tmp_path / "val" / "a" / "0.png", np.zeros((4, 4, 3), np.uint8))
    bad = tmp_path / "train" / "b" / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(DataError) as e:
        load_folder(tmp_path, size=4)
    one_line_error(e, bad, "cannot decode")
    with pytest.raises(DataError) as e:
        load_folder(tmp_path / "absent", size=4)
    one_line_error(e, "absent", "no such folder")


# ---- splits -----------------------------------------------------------------------------------

def test_splits_are_balanced_fixed_and_nested():
    y = np.repeat(np.arange(10), 100)
    np.random.default_rng(0).shuffle(y)
    tr_small, va = train_val_indices(y, 10, val_size=50, subset=200, seed=0)
    tr_big, va2 = train_val_indices(y, 10, val_size=50, subset=400, seed=0)
    tr_all, va3 = train_val_indices(y, 10, val_size=50, subset=None, seed=0)
    assert np.bincount(y[tr_small]).tolist() == [20] * 10
    assert np.bincount(y[va]).tolist() == [5] * 10
    np.testing.assert_array_equal(va, va2)  # the validation split does not move with the subset
    np.testing.assert_array_equal(va, va3)
    assert not set(va) & set(tr_all) and len(tr_all) == 950
    assert set(tr_small) <= set(tr_big) <= set(tr_all)
    tr_again, _ = train_val_indices(y, 10, val_size=50, subset=200, seed=0)
    np.testing.assert_array_equal(tr_small, tr_again)
    tr_other, va_other = train_val_indices(y, 10, val_size=50, subset=200, seed=1)
    assert set(tr_other) != set(tr_small) and set(va_other) != set(va)
    # 203 = 20 per class + 3 classes with one more
    tr, _ = train_val_indices(y, 10, val_size=0, subset=203, seed=0)
    assert sorted(np.bincount(y[tr]).tolist()) == [20] * 7 + [21] * 3
    te = heldout_test_indices(y, 10, 30, seed=0)
    assert np.bincount(y[te]).tolist() == [3] * 10
    assert heldout_test_indices(y, 10, None, seed=0).tolist() == list(range(1000))


def test_split_too_large_names_the_field():
    y = np.array([0] * 10 + [1] * 3)
    with pytest.raises(DataError) as e:
        train_val_indices(y, 2, val_size=0, subset=8, seed=0)
    one_line_error(e, "subset:", "class 1 has 3")
    with pytest.raises(DataError) as e:
        train_val_indices(y, 2, val_size=8, subset=None, seed=0)
    one_line_error(e, "val_size:")


def test_load_splits_uses_config(mnist_dir):
    folder, want = mnist_dir
    cfg = ImageConfig(dataset="mnist", data_dir=str(folder), subset=20, val_size=10,
                      test_subset=10, batch_size=4)
    s = load_splits(cfg)
    assert (len(s.y_train), len(s.y_val), len(s.y_test)) == (20, 10, 10)
    assert s.info["n_train"] == 20 and s.info["image_shape"] == [1, 28, 28]
    assert np.bincount(s.y_train, minlength=10).tolist() == [2] * 10
    # each chosen example is the written one
    rows = {want["x_train"][i].tobytes(): want["y_train"][i] for i in range(60)}
    assert all(rows[x.tobytes()] == y for x, y in zip(s.x_train, s.y_train))
    with pytest.raises(DataError) as e:
        load_splits(cfg.replace(subset=None, val_size=0, batch_size=61))
    one_line_error(e, "batch_size:", "n=60")


# ---- download ---------------------------------------------------------------------------------

def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def test_official_resources_are_real():
    assert download.RESOURCES["fashion-mnist"][0].urls[0] == \
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/train-images-idx3-ubyte.gz"
    assert download.RESOURCES["fashion-mnist"][0].md5 == "8d4fb7e6c68d591d4c3dfef9ec88bf0d"
    assert download.RESOURCES["cifar10"][0].urls == (
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",)
    assert download.RESOURCES["cifar10"][0].md5 == "c58f30108f718f92721af3b95e74349a"
    assert "http://yann.lecun.com/exdb/mnist/t10k-labels-idx1-ubyte.gz" in \
        download.RESOURCES["mnist"][3].urls
    for resources in download.RESOURCES.values():
        for r in resources:
            assert len(r.md5) == 32 and all(u.endswith(r.filename) for u in r.urls)


def test_fetch_verifies_and_moves_into_place(tmp_path, http_server):
    www, base = http_server
    (www / "a.bin").write_bytes(b"x" * 3_000_000)  # more than one chunk
    dest = tmp_path / "data"
    r = download.Resource("a.bin", md5(b"x" * 3_000_000), (base + "missing.bin", base + "a.bin"))
    path = download.fetch(r, dest)  # the first mirror 404s, the second serves the file
    assert path == dest / "a.bin" and path.read_bytes() == b"x" * 3_000_000
    assert sorted(p.name for p in dest.iterdir()) == ["a.bin"]  # no temporary file left
    (www / "a.bin").unlink()  # a verified copy in place is kept without asking the server
    assert download.fetch(r, dest) == path


def test_fetch_rejects_a_bad_checksum(tmp_path, http_server):
    www, base = http_server
    (www / "b.bin").write_bytes(b"tampered")
    r = download.Resource("b.bin", md5(b"original"), (base + "b.bin",))
    dest = tmp_path / "data"
    with pytest.raises(DataError) as e:
        download.fetch(r, dest)
    one_line_error(e, "b.bin", "does not match the published", md5(b"original"))
    assert list(dest.iterdir()) == []  # nothing that looks complete, nothing half-written
    r404 = download.Resource("c.bin", md5(b""), (base + "c.bin",))
    with pytest.raises(DataError) as e:
        download.fetch(r404, dest)
    one_line_error(e, "c.bin", "404")


def test_download_then_train_data(tmp_path, http_server, monkeypatch):
    """--download on a missing dataset: the official file names, fetched from the local mirror."""
    www, base = http_server
    want = write_idx_set(www, n_train=20, n_test=10, side=8, gz=True, seed=9)
    fake = tuple(download.Resource(r.filename, md5((www / r.filename).read_bytes()), r.urls)
                 for r in download.RESOURCES["mnist"])
    monkeypatch.setitem(download.RESOURCES, "mnist", fake)
    monkeypatch.setenv(download.MIRROR_ENV, base)
    target = tmp_path / "mnist"
    cfg = ImageConfig(dataset="mnist", data_dir=str(target), download=True, batch_size=4)
    same(load_raw(cfg), want)
    assert sorted(p.name for p in target.iterdir()) == sorted(r.filename for r in fake)
    # the real checksums reject these generated files
    monkeypatch.setitem(download.RESOURCES, "mnist", download.RESOURCES["fashion-mnist"])
    with pytest.raises(DataError) as e:
        load_raw(cfg.replace(data_dir=str(tmp_path / "other")))
    one_line_error(e, "does not match the published")


def test_download_gz_roundtrip_sanity():
    # the generated .gz files decompress to valid IDX (guards the helper used above)
    raw = idx_bytes(np.arange(12, dtype=np.uint8).reshape(3, 4))
    assert idx.parse_idx(gzip.decompress(gzip.compress(raw)), "t").tolist() == \
        np.arange(12).reshape(3, 4).tolist()
