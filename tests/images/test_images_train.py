"""The image trainer: a one-epoch run, determinism, resume == uninterrupted, divergence, the
optimiser semantics against adamlab's reference update rules, the bf16/channels_last path."""
import copy
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from image_files import cifar_arrays, idx_bytes, write_cifar, write_image

import adamlab
from adamlab.core.errors import ConfigError
from adamlab.images.config import ImageConfig
from adamlab.images.datasets import load_splits
from adamlab.images import trainer as engine
from adamlab.core.result import write_run_dir
from adamlab.images.models import build_model
from adamlab.optim import get, list_optimizers
from adamlab.optim import make_optimizer as reference_rule


def config(folder, **kw):
    base = dict(dataset="mnist", data_dir=str(folder), batch_size=8, epochs=2, lr=1e-3,
                eval_batch_size=16)
    return ImageConfig(**{**base, **kw})


@pytest.fixture(scope="session")
def easy_dir(tmp_path_factory):
    """An MNIST-format task a small net learns in a few steps: class 0 images are dark (mean
    brightness 60), class 1 images bright (180), pixel noise sd 30; the other 8 classes unused."""
    folder = tmp_path_factory.mktemp("easy")
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 100), ("t10k", 50)):
        y = np.arange(n) % 2
        x = np.clip(60 + 120 * y[:, None, None] + rng.normal(0, 30, (n, 28, 28)), 0, 255)
        (folder / f"{prefix}-images-idx3-ubyte").write_bytes(idx_bytes(x.astype(np.uint8)))
        (folder / f"{prefix}-labels-idx1-ubyte").write_bytes(idx_bytes(y.astype(np.uint8)))
    return folder


def test_one_epoch_run_on_a_tiny_subset(mnist_dir, tmp_path):
    folder, _ = mnist_dir
    cfg = config(folder, epochs=1, subset=40, val_size=10, test_subset=20)
    r = adamlab.train(cfg.to_dict(), out=tmp_path / "run")
    assert r.status == "ok" and r.reason is None
    assert (r.steps, r.epochs) == (40 // 8, 1)
    assert r.run_id == cfg.run_id() and r.config == cfg.to_dict()
    for key in ("train_loss", "train_error", "test_loss", "test_error", "val_loss", "val_error",
                "best_test_error", "weight_norm", "batch_loss"):
        assert r.summary[key] is not None and np.isfinite(r.summary[key]), key
    assert {(e, sp, nm) for _, e, sp, nm, _ in r.metrics} == {
        (e, sp, nm) for e in (0, 1) for sp in ("train", "val", "test") for nm in ("loss", "error")
    } | {(0, "model", "weight_norm"), (1, "model", "weight_norm"), (1, "train", "batch_loss")}
    errors = [v for _, _, sp, nm, v in r.metrics if nm == "error"]
    assert all(0 <= v <= 1 for v in errors)
    # errors are multiples of 1/n of their split
    assert r.summary["test_error"] * 20 == pytest.approx(round(r.summary["test_error"] * 20))
    assert r.meta["data"]["n_train"] == 40 and r.meta["model"]["parameters"] == 70_538
    assert r.meta["decay"] == {"kind": "l2_in_gradient", "l2_coefficient": 5e-4}
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["test_error"] == r.summary["test_error"] and summary["status"] == "ok"
    json.dumps(r.final())  # what --json prints


def test_cifar_trains_end_to_end(tmp_path):
    write_cifar(tmp_path, "binary", cifar_arrays(per_batch=4), archive=True)
    r = adamlab.train(ImageConfig(dataset="cifar10", data_dir=str(tmp_path), arch="resnet18",
                                  batch_size=5, epochs=1, optimizer="adamw"))
    assert r.status == "ok" and r.steps == 20 // 5
    assert r.meta["data"]["image_shape"] == [3, 32, 32]
    assert r.meta["model"]["parameters"] == 11_173_962


def test_image_folder_trains_end_to_end_with_top5(tmp_path):
    rng = np.random.default_rng(0)
    for split, n in (("train", 2), ("val", 1)):
        for k in range(12):  # more than 10 classes: the top-5 error is logged too
            for i in range(n):
                write_image(tmp_path / split / f"class{k:02d}" / f"{i}.png",
                            rng.integers(0, 256, (10, 14, 3), dtype=np.uint8))
    r = adamlab.train(ImageConfig(dataset="imagefolder", data_dir=str(tmp_path), image_size=8,
                                  batch_size=6, epochs=1))
    assert r.status == "ok" and r.steps == 24 // 6
    assert r.meta["data"]["image_shape"] == [3, 8, 8] and r.meta["data"]["classes"] == 12
    top5 = {(e, sp): v for _, e, sp, nm, v in r.metrics if nm == "error_top5"}
    assert set(top5) == {(e, sp) for e in (0, 1) for sp in ("train", "test")}
    assert r.summary["test_error_top5"] <= r.summary["test_error"]
    assert r.summary["test_error_top5"] * 12 == pytest.approx(round(r.summary["test_error_top5"]
                                                                     * 12))


def test_top5_error_counts():
    data = engine.DeviceData.__new__(engine.DeviceData)  # a hand-made split of 3 examples
    data.memory_format, data.classes = torch.contiguous_format, 12
    data.x = {"test": torch.zeros(3, 1, 1, 1, dtype=torch.uint8)}
    data.y = {"test": torch.tensor([0, 5, 11])}
    data.mean, data.std = torch.zeros(1, 1, 1, 1), torch.ones(1, 1, 1, 1)
    logits = torch.tensor([[9.0, 8, 7, 6, 5, 4, 3, 2, 1, 0, -1, -2]] * 3)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(1, 12))
    with torch.no_grad():
        model[1].weight.zero_()
        model[1].bias.copy_(logits[0])
    got = engine.evaluate(model, data, "test", 2, None, top5=True)
    # class 0 is the top-1 guess; 0 is in the top 5, 5 and 11 are not
    assert got["error"] == pytest.approx(2 / 3) and got["error_top5"] == pytest.approx(2 / 3)
    data.y["test"] = torch.tensor([0, 4, 11])
    got = engine.evaluate(model, data, "test", 2, None, top5=True)
    assert got["error"] == pytest.approx(2 / 3) and got["error_top5"] == pytest.approx(1 / 3)


def test_a_tiny_run_learns(easy_dir):
    # labels misaligned with their images anywhere (subset, order, evaluation) would leave the
    # error near 1/2
    r = adamlab.train(config(easy_dir, epochs=2, batch_size=10, lr=1e-3))
    first = dict(((sp, nm), v) for _, e, sp, nm, v in r.metrics if e == 0)
    assert first[("test", "error")] >= 0.5
    assert r.summary["test_error"] <= 0.1 and r.summary["train_error"] <= 0.1


def test_same_seed_same_numbers(mnist_dir):
    folder, _ = mnist_dir
    a = adamlab.train(config(folder, optimizer="adamw"))
    b = adamlab.train(config(folder, optimizer="adamw"))
    c = adamlab.train(config(folder, optimizer="adamw", seed=1))
    assert a.metrics == b.metrics
    assert a.metrics != c.metrics
    # the data (subset, test set) do not depend on seed, only on data_seed
    assert [r[:4] for r in a.metrics] == [r[:4] for r in c.metrics]


def test_epoch_order():
    o0, o0b, o1 = engine.epoch_order(3, 0, 50), engine.epoch_order(3, 0, 50), \
        engine.epoch_order(3, 1, 50)
    assert sorted(o0.tolist()) == list(range(50))
    assert torch.equal(o0, o0b) and not torch.equal(o0, o1)


def test_eval_every(mnist_dir):
    folder, _ = mnist_dir
    r = adamlab.train(config(folder, epochs=3, eval_every=2))
    assert sorted({e for _, e, sp, nm, _ in r.metrics if nm == "error"}) == [0, 2, 3]
    assert sorted(e for _, e, sp, nm, _ in r.metrics if nm == "batch_loss") == [1, 2, 3]


def final_state(ckpt_dir):
    [path] = list(ckpt_dir.glob("*.pt"))
    return torch.load(path, weights_only=True)


def test_resume_equals_uninterrupted(mnist_dir, tmp_path, monkeypatch):
    folder, _ = mnist_dir
    cfg = config(folder, epochs=3, optimizer="adamw", subset=40, val_size=10)
    whole = adamlab.train(cfg.replace(checkpoint_dir=str(tmp_path / "a")))

    real_save = engine.save_checkpoint

    def killed_after_epoch_2(path, state):
        real_save(path, state)
        if state["epoch"] == 2:
            raise KeyboardInterrupt  # as if the process died right after the epoch-2 checkpoint

    monkeypatch.setattr(engine, "save_checkpoint", killed_after_epoch_2)
    with pytest.raises(KeyboardInterrupt):
        adamlab.train(cfg.replace(checkpoint_dir=str(tmp_path / "b")))
    assert final_state(tmp_path / "b")["epoch"] == 2
    monkeypatch.setattr(engine, "save_checkpoint", real_save)
    resumed = adamlab.train(cfg.replace(checkpoint_dir=str(tmp_path / "b")))

    assert resumed.meta["resumed_from_epoch"] == 2 and whole.meta["resumed_from_epoch"] is None
    assert resumed.metrics == whole.metrics
    assert resumed.summary == whole.summary
    assert (resumed.status, resumed.steps, resumed.epochs, resumed.run_id) == \
        (whole.status, whole.steps, whole.epochs, whole.run_id)
    a, b = final_state(tmp_path / "a"), final_state(tmp_path / "b")
    assert a["epoch"] == b["epoch"] == 3
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), key
    for k, st in a["optimizer"]["state"].items():
        for name, value in st.items():
            assert torch.equal(value, b["optimizer"]["state"][k][name]), (k, name)
    assert not list((tmp_path / "b").glob(".*tmp"))  # atomic writes leave no temporary file

    # a finished run is not trained again
    monkeypatch.setattr(engine, "train_epoch", lambda *a, **k: pytest.fail("trained again"))
    again = adamlab.train(cfg.replace(checkpoint_dir=str(tmp_path / "b")))
    assert again.metrics == whole.metrics and again.meta["resumed_from_epoch"] == 3


def test_bad_checkpoint_is_one_line_error(mnist_dir, tmp_path):
    folder, _ = mnist_dir
    cfg = config(folder, checkpoint_dir=str(tmp_path), epochs=1)
    (tmp_path / f"{cfg.run_id()}.pt").write_bytes(b"garbage")
    with pytest.raises(ConfigError) as e:
        adamlab.train(cfg)
    assert str(e.value).startswith("checkpoint_dir: cannot read") and "\n" not in str(e.value)
    torch.save({"format": 1, "run_id": "someone-else"}, tmp_path / f"{cfg.run_id()}.pt")
    with pytest.raises(ConfigError, match="is not a checkpoint of run"):
        adamlab.train(cfg)


def test_checkpoint_location_ignores_bookkeeping(tmp_path):
    a = ImageConfig(checkpoint_dir=str(tmp_path / "x"))
    b = ImageConfig(checkpoint_dir=str(tmp_path / "y"), download=True)
    assert a.run_id() == b.run_id() == ImageConfig().run_id()
    assert a.run_id() != ImageConfig(seed=1).run_id()
    assert engine.checkpoint_path(a) == tmp_path / "x" / f"{a.run_id()}.pt"


def test_divergence_is_reported_not_raised(mnist_dir, tmp_path):
    folder, _ = mnist_dir
    cfg = config(folder, optimizer="sgd", lr=1e30, weight_decay=0.0, epochs=3,
                 checkpoint_dir=str(tmp_path))
    r = adamlab.train(cfg)
    assert r.status == "diverged"
    bad = int(r.reason.rsplit(" ", 1)[1])
    assert r.reason == f"non-finite loss at step {bad}" and r.steps == bad - 1
    assert r.epochs == pytest.approx((bad - 1) / (60 // 8))
    json.dumps(r.final())  # no NaN in what --json prints
    assert all(v is None or np.isfinite(v) for v in r.summary.values())
    again = adamlab.train(cfg)  # from its checkpoint: the same verdict, nothing retrained
    assert (again.status, again.reason, again.steps) == (r.status, r.reason, r.steps)


@pytest.fixture
def float64_scalars():
    """torch.optim.NAdam keeps its running product of momentum coefficients in the default
    dtype (float32 unless float64 is the default): ~1e-7 from exact on its own."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


@pytest.mark.parametrize("name", list_optimizers(torch=True))
def test_optimizers_match_the_reference_rules(name, float64_scalars):
    """torch.optim as the trainer builds it (the registry entry's class) == adamlab.optim's
    update rules (the paper's equations), parameter by parameter, over three steps in float64."""
    extra = {"momentum": 0.9} if "momentum" in get(name).options else {}
    cfg = ImageConfig(optimizer=name, lr=1e-2, weight_decay=0.1, **extra)
    torch.manual_seed(0)
    model = build_model("small-vgg", 1, 10, 8).double()
    twin = copy.deepcopy(model)
    opt = engine.make_optimizer(cfg, model.parameters())
    rule = reference_rule(_RuleCfg(cfg))
    start = [p.detach().clone() for p in model.parameters()]
    states = [rule.init(p.data) for p in twin.parameters()]
    x, y = torch.randn(6, 1, 8, 8, dtype=torch.float64), torch.arange(6) % 10
    for t in range(1, 4):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
        twin.zero_grad()
        F.cross_entropy(twin(x), y).backward()
        with torch.no_grad():
            for p, st in zip(twin.parameters(), states):
                rule.step(p.data, p.grad, st, t)
    # atol: a conv bias before BatchNorm has a zero gradient up to rounding (~1e-17), which Adam
    # turns into steps of lr * 1e-17 / eps ~ 1e-11; a wrong decay convention moves weights ~1e-3
    for (k, a), b in zip(model.named_parameters(), twin.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-9, msg=k)
    assert all(not torch.equal(a, b) for a, b in zip(model.parameters(), start))


class _RuleCfg:
    """An ImageConfig seen through the fields adamlab.optim.make_optimizer reads (images always
    use torch's bias correction)."""

    def __init__(self, cfg):
        self.__dict__.update(cfg.to_dict(), bias_correction=True)


def test_bf16_and_channels_last_path_on_cpu(mnist_dir):
    folder, _ = mnist_dir
    cfg = config(folder, epochs=1, precision="bf16", memory_format="channels_last")
    device, amp, fmt = engine.resolve_runtime(cfg)
    assert (device.type, amp, fmt) == ("cpu", torch.bfloat16, torch.channels_last)
    assert engine.resolve_runtime(config(folder))[1:] == (None, torch.contiguous_format)
    splits = load_splits(cfg)
    data = engine.DeviceData(splits, device, fmt)
    x, _ = data.batch("train", torch.arange(8))
    assert x.is_contiguous(memory_format=torch.channels_last) and x.dtype == torch.float32
    model = engine.init_model(cfg, splits.shape, 10).to(memory_format=fmt)
    with engine.autocast(device, amp):
        assert model(x).dtype == torch.bfloat16
    fast = adamlab.train(cfg)
    plain = adamlab.train(cfg.replace(precision="fp32", memory_format="contiguous"))
    assert fast.status == "ok" and fast.meta["precision"].startswith("bf16")
    assert fast.meta["memory_format"] == "channels_last"
    assert fast.metrics != plain.metrics  # the low-precision path really ran
    assert fast.summary["train_loss"] == pytest.approx(plain.summary["train_loss"], rel=0.05)


def test_normalised_batches(mnist_dir):
    folder, _ = mnist_dir
    splits = load_splits(config(folder))
    data = engine.DeviceData(splits, torch.device("cpu"))
    x, y = data.batch("train", torch.arange(60))
    assert abs(float(x.mean())) < 1e-5 and float(x.std()) == pytest.approx(1.0, rel=1e-3)
    assert torch.equal(y, torch.from_numpy(splits.y_train))
    mean, std = data.mean_std
    assert mean[0] == pytest.approx(splits.x_train.mean())


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_is_a_config_error(mnist_dir):
    folder, _ = mnist_dir
    with pytest.raises(ConfigError, match="^device: cuda is not available"):
        adamlab.train(config(folder, device="cuda"))


def test_run_dir_of_an_image_run(mnist_dir, tmp_path):
    folder, _ = mnist_dir
    r = adamlab.train(config(folder, epochs=1))
    write_run_dir(r, tmp_path)
    lines = (tmp_path / "metrics.csv").read_text().splitlines()
    assert lines[0] == "step,epoch,split,name,value" and len(lines) == len(r.metrics) + 1
    assert json.loads((tmp_path / "config.json").read_text())["task"] == "images"
