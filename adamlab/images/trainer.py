"""Training on real images: the trainer of task "images" (docs/paper.md "Experiments", App. D.1).

The paper's protocol: VGG16 / ResNet18 on CIFAR-10, no augmentation, a constant learning rate,
100 epochs, betas (0.9, 0.99), one epoch = floor(n/B) steps over a fresh random order. After every
`eval_every` epochs (and at epoch 0) the train, validation and test loss and error are measured
in eval mode (BatchNorm running statistics) and logged in long form with the parameter norm.

Speed without a second code path: the whole dataset lives on the device as uint8 tensors (no
DataLoader, no worker processes); each batch is gathered by index and normalised there. On CUDA
the defaults add channels_last and bf16 autocast (loss in fp32); both can be chosen on a CPU too,
which is how the tests cover them. The only host-device synchronisation is once per epoch, when
the batch losses are checked for a non-finite value (status `diverged` at that step, reported,
never raised).

Resumable: with `checkpoint_dir`, model, optimiser, metrics and timings are written atomically
after every epoch to <checkpoint_dir>/<run id>.pt; a rerun of the same config continues from the
last completed epoch and ends with exactly the numbers of an uninterrupted run, because each
epoch's order is drawn from (seed, epoch) alone and the initialisation from seed alone.
"""
from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from ..core.errors import ConfigError
from ..core.result import Result, make_meta
from ..optim.registry import get as get_optimizer
from .config import ImageConfig
from .datasets import Splits, load_splits
from .models import build_model, count_parameters

CHECKPOINT_FORMAT = 1
SPLITS = ("train", "val", "test")


# ---- runtime choices -------------------------------------------------------------------------

def resolve_runtime(cfg: ImageConfig) -> tuple[torch.device, torch.dtype | None,
                                                torch.memory_format]:
    """(device, autocast dtype or None, memory format) for a config ("auto" means: on cuda)."""
    if cfg.device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device: cuda is not available to this torch build or machine, "
                          "got 'cuda'")
    cuda = cfg.device == "cuda"
    bf16 = cfg.precision == "bf16" or (cfg.precision == "auto" and cuda)
    channels_last = cfg.memory_format == "channels_last" or (cfg.memory_format == "auto" and cuda)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    return torch.device(cfg.device), (torch.bfloat16 if bf16 else None), fmt


def autocast(device: torch.device, dtype: torch.dtype | None):
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


# ---- data on the device ----------------------------------------------------------------------

class DeviceData:
    """The run's examples as uint8 tensors on the device; `batch` gathers and normalises.

    Normalisation: per-channel mean and standard deviation of the run's training images (so
    every dataset and subset is treated alike); recorded with the run."""

    def __init__(self, splits: Splits, device: torch.device, memory_format=torch.contiguous_format):
        self.memory_format = memory_format
        self.classes = len(splits.classes)
        self.x, self.y = {}, {}
        for split in SPLITS:
            x, y = getattr(splits, f"x_{split}"), getattr(splits, f"y_{split}")
            self.x[split] = torch.from_numpy(np.ascontiguousarray(x)).to(device)
            self.y[split] = torch.from_numpy(np.ascontiguousarray(y)).to(device)
        mean, std = channel_stats(splits.x_train)
        self.mean_std = (mean.tolist(), std.tolist())
        shape = (1, -1, 1, 1)
        self.mean = torch.tensor(mean, dtype=torch.float32, device=device).reshape(shape)
        self.std = torch.tensor(std, dtype=torch.float32, device=device).reshape(shape)

    def size(self, split: str) -> int:
        return len(self.y[split])

    def batch(self, split: str, idx: torch.Tensor | slice) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.x[split][idx].float().sub_(self.mean).div_(self.std)
        return x.contiguous(memory_format=self.memory_format), self.y[split][idx]


def channel_stats(x: np.ndarray, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation of uint8 images (N, C, H, W), in float64 over
    chunks (no float copy of the whole set); a constant channel gets std 1 (one grey level)."""
    total = np.zeros((2, x.shape[1]))  # sum, sum of squares
    for start in range(0, len(x), chunk):
        part = x[start:start + chunk].astype(np.float64)
        total[0] += part.sum(axis=(0, 2, 3))
        total[1] += np.square(part).sum(axis=(0, 2, 3))
    count = len(x) * x.shape[2] * x.shape[3]
    mean = total[0] / count
    std = np.sqrt(np.maximum(total[1] / count - mean ** 2, 0.0))
    return mean, np.maximum(std, 1.0)


# ---- model, optimiser, order -----------------------------------------------------------------

def init_model(cfg: ImageConfig, shape: tuple, classes: int) -> torch.nn.Module:
    """The network, initialised from `seed` alone (torch's default init on a forked CPU RNG)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        return build_model(cfg.arch, shape[0], classes, shape[1])


def make_optimizer(cfg: ImageConfig, params, fused: bool = False) -> torch.optim.Optimizer:
    """The torch.optim class of the config's optimiser, from its registry entry (adamlab/optim/
    registry.py), with the entry's weight-decay semantics (an L2 term, or adamw's decoupled
    shrink by lr*weight_decay per step). tests/images checks these against adamlab.optim's rules
    step by step. fused=True where the class has a fused implementation. An optimiser without a
    torch.optim class is a ConfigError (ImageConfig already refuses it)."""
    extra = {"fused": True} if fused else {}
    return get_optimizer(cfg.optimizer).torch_optimizer(cfg, params, **extra)


def epoch_order(seed: int, epoch: int, n: int) -> torch.Tensor:
    """The example order of one epoch, from (seed, epoch) alone (so a resumed run draws the
    same orders as an uninterrupted one)."""
    state = np.random.SeedSequence([seed, epoch, 3]).generate_state(1, np.uint64)[0]
    g = torch.Generator().manual_seed(int(state >> np.uint64(1)))
    return torch.randperm(n, generator=g)


# ---- one epoch, one evaluation ---------------------------------------------------------------

def train_epoch(model, opt, data: DeviceData, order: torch.Tensor, batch_size: int,
                amp: torch.dtype | None, bar=None) -> torch.Tensor:
    """floor(n/B) steps over `order` (each example at most once); returns the batch losses as
    one device tensor, without synchronising."""
    model.train()
    device = order.device
    losses = []
    for k in range(len(order) // batch_size):
        x, y = data.batch("train", order[k * batch_size:(k + 1) * batch_size])
        with autocast(device, amp):
            out = model(x)
        loss = F.cross_entropy(out.float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.detach())
        if bar is not None:
            bar.update(1)
    return torch.stack(losses)


TOP5_ABOVE = 10  # classes above which the top-5 error is logged too (ImageNet: docs/paper.md)


@torch.no_grad()
def evaluate(model, data: DeviceData, split: str, batch_size: int,
             amp: torch.dtype | None, top5: bool = False) -> dict[str, float]:
    """Mean cross-entropy and error rate (and top-5 error) of the model in eval mode on a split."""
    model.eval()
    n = data.size(split)
    device = data.y[split].device
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    wrong = torch.zeros((), dtype=torch.int64, device=device)
    wrong5 = torch.zeros((), dtype=torch.int64, device=device)
    for start in range(0, n, batch_size):
        x, y = data.batch(split, slice(start, start + batch_size))
        with autocast(device, amp):
            out = model(x)
        out = out.float()
        loss_sum += F.cross_entropy(out, y, reduction="sum").double()
        wrong += (out.argmax(1) != y).sum()
        if top5:
            wrong5 += (out.topk(5, dim=1).indices != y[:, None]).all(dim=1).sum()
    out = {"loss": loss_sum.item() / n, "error": wrong.item() / n}
    if top5:
        out["error_top5"] = wrong5.item() / n
    return out


def measure(model, data: DeviceData, cfg: ImageConfig, amp, step: int, epoch: int) -> list:
    """Long-form rows of one evaluation: loss and error (and top-5 error beyond 10 classes) of
    each split, and the parameter norm."""
    rows = []
    top5 = data.classes > TOP5_ABOVE
    for split in SPLITS:
        if data.size(split):
            values = evaluate(model, data, split, cfg.eval_batch_size, amp, top5)
            rows += [(step, epoch, split, name, v) for name, v in values.items()]
    with torch.no_grad():
        norm = math.sqrt(sum(float(p.detach().double().square().sum()) for p in model.parameters()))
    return rows + [(step, epoch, "model", "weight_norm", norm)]


def summarise(rows: list) -> dict:
    """The final summary from the logged rows: last values, and the best test (and validation)
    error over the logged epochs (the paper's Fig 1 reports the best result of each run)."""
    last, series = {}, {}
    for _, epoch, split, name, value in rows:
        last[(split, name)] = value
        series.setdefault((split, name), []).append((epoch, value))

    def best(split):
        pts = [(v, e) for e, v in series.get((split, "error"), []) if math.isfinite(v)]
        return min(pts, key=lambda t: (t[0], t[1])) if pts else (None, None)

    out = {"train_loss": last[("train", "loss")], "train_error": last[("train", "error")],
           "test_loss": last[("test", "loss")], "test_error": last[("test", "error")]}
    out["best_test_error"], out["best_test_epoch"] = best("test")
    if ("test", "error_top5") in last:
        out["test_error_top5"] = last[("test", "error_top5")]
        out["train_error_top5"] = last[("train", "error_top5")]
    if ("val", "error") in last:
        out["val_loss"], out["val_error"] = last[("val", "loss")], last[("val", "error")]
        out["best_val_error"], best_epoch = best("val")
        test_at = dict(series[("test", "error")])
        out["test_error_at_best_val"] = test_at.get(best_epoch)
    out["batch_loss"] = last.get(("train", "batch_loss"))
    out["weight_norm"] = last[("model", "weight_norm")]
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in out.items()}


# ---- checkpoints -----------------------------------------------------------------------------

def checkpoint_path(cfg: ImageConfig) -> Path | None:
    return None if cfg.checkpoint_dir is None else \
        Path(cfg.checkpoint_dir).expanduser() / f"{cfg.run_id()}.pt"


def save_checkpoint(path: Path, state: dict) -> None:
    """torch.save to a temporary file in the same folder, fsync, rename into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        torch.save(state, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_checkpoint(path: Path, cfg: ImageConfig, device: torch.device) -> dict | None:
    if not path.is_file():
        return None
    try:  # weights_only: tensors, dicts, lists, tuples, strings and numbers; never arbitrary code
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as e:  # torch's messages run over many lines: keep the first
        first = (str(e).strip().splitlines() or [""])[0]
        raise ConfigError(f"checkpoint_dir: cannot read {path} ({type(e).__name__}: {first}); "
                          f"delete it to start the run afresh") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT \
            or state.get("run_id") != cfg.run_id():
        raise ConfigError(f"checkpoint_dir: {path} is not a checkpoint of run {cfg.run_id()}; "
                          f"delete it to start the run afresh")
    return state


# ---- the trainer -----------------------------------------------------------------------------

def train_images(cfg: ImageConfig, progress: bool = False) -> Result:
    started, cpu_started = time.time(), time.process_time()
    device, amp, fmt = resolve_runtime(cfg)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick its fastest kernels
    splits = load_splits(cfg, progress)
    data = DeviceData(splits, device, fmt)
    model = init_model(cfg, splits.shape, len(splits.classes)).to(device, memory_format=fmt)
    fused = device.type == "cuda"
    opt = make_optimizer(cfg, model.parameters(), fused=fused)
    n, B = data.size("train"), cfg.batch_size
    spe = n // B

    rows, epoch, steps, loop_seconds = [], 0, 0, 0.0
    status, reason, resumed_from = "ok", None, None
    ckpt = checkpoint_path(cfg)
    state = load_checkpoint(ckpt, cfg, device) if ckpt is not None else None
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        rows = [tuple(r) for r in state["rows"]]
        epoch, steps, loop_seconds = state["epoch"], state["steps"], state["loop_seconds"]
        status, reason, resumed_from = state["status"], state["reason"], state["epoch"]
    else:
        rows += measure(model, data, cfg, amp, 0, 0)

    bar = tqdm(total=cfg.epochs * spe, initial=epoch * spe, unit="step", disable=not progress,
               file=sys.stderr, mininterval=0.5, dynamic_ncols=True,
               desc=f"{cfg.arch} {cfg.optimizer} B={B} wd={cfg.weight_decay:g} seed={cfg.seed}")
    while status == "ok" and epoch < cfg.epochs:
        order = epoch_order(cfg.seed, epoch, n).to(device)
        tic = time.perf_counter()
        losses = train_epoch(model, opt, data, order, B, amp, bar)
        finite = torch.isfinite(losses).cpu()  # the epoch's one synchronisation
        loop_seconds += time.perf_counter() - tic
        epoch += 1
        if not bool(finite.all()):
            bad = (epoch - 1) * spe + int((~finite).nonzero()[0]) + 1
            status, reason, steps = "diverged", f"non-finite loss at step {bad}", bad - 1
        else:
            steps = epoch * spe
            rows.append((steps, epoch, "train", "batch_loss", float(losses.double().mean())))
            if epoch % cfg.eval_every == 0 or epoch == cfg.epochs:
                new = measure(model, data, cfg, amp, steps, epoch)
                rows += new
                bar.set_postfix(refresh=False, **{f"{sp}_error": f"{v:.3f}" for _, _, sp, name, v
                                                  in new if name == "error" and sp != "val"})
        if ckpt is not None:
            save_checkpoint(ckpt, {
                "format": CHECKPOINT_FORMAT, "run_id": cfg.run_id(), "config": cfg.to_dict(),
                "epoch": epoch, "steps": steps, "status": status, "reason": reason,
                "loop_seconds": loop_seconds, "rows": rows,
                "model": model.state_dict(), "optimizer": opt.state_dict()})
    bar.close()

    cfg_dict = cfg.to_dict()
    mean, std = data.mean_std
    meta = make_meta(cfg.device, time.time() - started, started, {
        "steps_per_epoch": spe, "decay": cfg.decay_semantics(),
        "optimizer_options": {"optimizer": cfg.optimizer,
                              **get_optimizer(cfg.optimizer).option_values(cfg)},
        "torch_optimizer": {"class": type(opt).__name__, "fused": bool(opt.defaults.get("fused")),
                            "bias_correction": True,
                            "weight_decay_on": "every parameter (BatchNorm and biases too)"},
        "precision": "bf16 autocast, fp32 loss" if amp is not None else "fp32",
        "memory_format": "channels_last" if fmt == torch.channels_last else "contiguous",
        "augmentation": "none",
        "data": {**splits.info, "normalise_mean": mean, "normalise_std": std},
        "model": {"arch": cfg.arch, "parameters": count_parameters(model)},
        "checkpoint": str(ckpt) if ckpt is not None else None,
        "resumed_from_epoch": resumed_from,
        # CPU seconds of this process for the run (all its threads; this call only, so not the
        # epochs before a resume): on a shared machine wall time counts other people's work,
        # this does not, so the sum over runs / cores estimates a quiet machine's wall time.
        "cpu_seconds": time.process_time() - cpu_started,
    })
    epochs_done = cfg.epochs if status == "ok" else steps / spe
    return Result(run_id=cfg.run_id(), config=cfg_dict, status=status, reason=reason,
                  steps=steps, epochs=epochs_done, seconds=loop_seconds, summary=summarise(rows),
                  metrics=rows, meta=meta)
