"""Training images/s of adamlab's image loop against a plain PyTorch DataLoader loop, side by side.

adamlab: `adamlab.images.trainer.train_epoch`, the trainer's own inner loop: the dataset lives on
the device as uint8 tensors, each batch is gathered by index and normalised there, one host-device
synchronisation per call; on CUDA by default channels_last and bf16 autocast (ImageConfig's
"auto" precision and memory format).
plain: what one writes first without torchvision: a Dataset returning one normalised float image
and its label per item (ToTensor + Normalize done by hand), a DataLoader (shuffle, drop_last,
default collate, --workers processes), `.to(device)` per batch, fp32, contiguous.
Both train the same architecture from the same initial weights with the same optimiser (Adam,
lr 1e-4, wd 5e-4) and batch size, for the same number of steps; repeats alternate between the two
loops and the medians and their ratio are printed.

    python benchmarks/images_speed.py [--arch small-vgg] [--dataset fashion-mnist]
        [--batch-size 128] [--steps 40] [--repeats 5] [--device cpu] [--workers 0] [--threads 1]

The images are the dataset's when its files are found (`--data-dir`, or the default location),
else random uint8 images of its shape (speed does not depend on the pixels; the output says which).
"""
from __future__ import annotations

import argparse
import copy
import os
import platform
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from adamlab.images.config import ImageConfig  # noqa: E402
from adamlab.images.datasets import DataError, Splits, load_splits  # noqa: E402
from adamlab.images import trainer as engine  # noqa: E402

SHAPES = {"fashion-mnist": (1, 28, 28), "mnist": (1, 28, 28), "cifar10": (3, 32, 32)}


class PlainDataset(torch.utils.data.Dataset):
    """One example at a time, as float in [0, 1] normalised by mean/std (torchvision's ToTensor
    + Normalize, by hand)."""

    def __init__(self, x: np.ndarray, y: np.ndarray, mean, std):
        self.x, self.y = x, y
        self.mean = torch.tensor(mean, dtype=torch.float32).reshape(-1, 1, 1) / 255
        self.std = torch.tensor(std, dtype=torch.float32).reshape(-1, 1, 1) / 255

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        img = torch.from_numpy(self.x[i]).float().div_(255)
        return (img - self.mean) / self.std, int(self.y[i])


def get_splits(cfg: ImageConfig, n: int) -> tuple[Splits, str]:
    try:
        splits = load_splits(cfg)
        return splits, f"{cfg.dataset} files ({splits.info['folder']})"
    except DataError:
        rng = np.random.default_rng(0)
        shape = SHAPES[cfg.dataset]
        x = rng.integers(0, 256, (n, *shape), dtype=np.uint8)
        y = (np.arange(n) % 10).astype(np.int64)
        empty = x[:0], y[:0]
        return Splits(x, y, *empty, x[:10], y[:10], tuple(map(str, range(10)))), \
            f"random uint8 images of {cfg.dataset}'s shape (files not found)"


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def plain_run(model, opt, batches, steps: int, device) -> float:
    """Seconds for `steps` steps of the DataLoader loop."""
    model.train()
    sync(device)
    tic = time.perf_counter()
    it = iter(batches)
    for _ in range(steps):
        try:
            x, y = next(it)
        except StopIteration:
            it = iter(batches)
            x, y = next(it)
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    sync(device)
    return time.perf_counter() - tic


def adamlab_run(model, opt, data, cfg, steps: int, amp, epoch: int) -> float:
    """Seconds for `steps` steps of adamlab's loop (one call of train_epoch)."""
    n = data.size("train")
    order = torch.cat([engine.epoch_order(0, epoch * 100 + k, n)
                       for k in range(-(-steps * cfg.batch_size // n))])
    order = order[:steps * cfg.batch_size].to(data.y["train"].device)
    sync(order.device)
    tic = time.perf_counter()
    engine.train_epoch(model, opt, data, order, cfg.batch_size, amp).cpu()
    sync(order.device)
    return time.perf_counter() - tic


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arch", default="small-vgg")
    p.add_argument("--dataset", default="fashion-mnist", choices=sorted(SHAPES))
    p.add_argument("--data-dir", default=None)
    p.add_argument("--subset", type=int, default=4096, help="training images held (default 4096)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--steps", type=int, default=40, help="steps per timed repeat")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--warmup", type=int, default=5, help="untimed steps of each loop first")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    p.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)

    cfg = ImageConfig(dataset=args.dataset, data_dir=args.data_dir, subset=args.subset,
                      test_subset=10, arch=args.arch, batch_size=args.batch_size,
                      device=args.device, precision=args.precision)
    device, amp, fmt = engine.resolve_runtime(cfg)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    splits, source = get_splits(cfg, args.subset)
    data = engine.DeviceData(splits, device, fmt)
    mean, std = data.mean_std

    base = engine.init_model(cfg, splits.shape, len(splits.classes))
    ours = copy.deepcopy(base).to(device, memory_format=fmt)
    plain = copy.deepcopy(base).to(device)
    ours_opt = engine.make_optimizer(cfg, ours.parameters(), fused=device.type == "cuda")
    plain_opt = torch.optim.Adam(plain.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2),
                                 eps=cfg.eps, weight_decay=cfg.weight_decay)
    loader = torch.utils.data.DataLoader(
        PlainDataset(splits.x_train, splits.y_train, mean, std), batch_size=args.batch_size,
        shuffle=True, drop_last=True, num_workers=args.workers,
        pin_memory=device.type == "cuda", persistent_workers=args.workers > 0)

    plain_run(plain, plain_opt, loader, args.warmup, device)
    adamlab_run(ours, ours_opt, data, cfg, args.warmup, amp, epoch=0)
    rates = {"plain": [], "adamlab": []}
    images = args.steps * args.batch_size
    for r in range(args.repeats):
        rates["plain"].append(images / plain_run(plain, plain_opt, loader, args.steps, device))
        rates["adamlab"].append(images / adamlab_run(ours, ours_opt, data, cfg, args.steps, amp,
                                                     epoch=r + 1))
    med = {k: statistics.median(v) for k, v in rates.items()}

    where = torch.cuda.get_device_name(0) if device.type == "cuda" else \
        f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} thread(s)"
    print(f"training images/s: {args.arch} on {splits.shape[0]}x{splits.shape[1]}x"
          f"{splits.shape[2]} {args.dataset}, batch {args.batch_size}, {args.steps} steps x "
          f"{args.repeats} repeats (alternating), {device.type} ({where}), "
          f"torch {torch.__version__}")
    print(f"data: {source}")
    print(f"  {'loop':40s} {'median':>9s}   {'all repeats'}")
    fmt_name = "channels_last" if fmt == torch.channels_last else "contiguous"
    rows = (("plain", f"plain DataLoader (workers={args.workers}, fp32)"),
            ("adamlab", f"adamlab ({'bf16' if amp else 'fp32'}, {fmt_name}, on-device data)"))
    for key, label in rows:
        print(f"  {label:40s} {med[key]:9.0f}   " + " ".join(f"{v:.0f}" for v in rates[key]))
    print(f"  adamlab / plain: {med['adamlab'] / med['plain']:.2f}x")
    return {"median": med, "rates": rates}


if __name__ == "__main__":
    main()
