"""Per-step speed of adamlab's fast engine against a plain PyTorch loop, side by side in one run.

The plain loop is what one would write first: an nn.Module holding W (2, m, d), dense (B, 2, d)
batches, autograd, torch.optim.Adam(weight_decay=...), one Python iteration per step, float32,
one torch thread. The fast engine runs the same configuration (the paper's synthetic setting:
d=1000, n=200, s=100, m=20, Adam lr 5e-5, wd 1e-5) for the same number of steps, in float64.
Both are repeated alternately; medians and their ratio are printed. `--kernels` also times the
fast engine's update kernel of every registered optimiser that has one (same steps, B = 2 and 100).
`--clock cpu` measures process CPU time instead of wall time (steadier on a shared machine: other
jobs' time slices are not counted; cache effects still are).

    .venv/bin/python benchmarks/synthetic_speed.py [--steps 3000] [--repeats 5] [--kernels]
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from adamlab import SyntheticConfig  # noqa: E402
from adamlab.data.synthetic import make_dataset  # noqa: E402
from adamlab.engine.fast import FastEngine  # noqa: E402
from adamlab.engine.sampler import BatchSampler  # noqa: E402
from adamlab.models.cnn import init_weights  # noqa: E402


class PlainCNN(torch.nn.Module):
    def __init__(self, W0: np.ndarray, power: float):
        super().__init__()
        self.W = torch.nn.Parameter(torch.tensor(W0, dtype=torch.float32))
        self.power = power

    def forward(self, x):
        z = torch.einsum("jrd,npd->njrp", self.W, x)
        return torch.relu(z).pow(self.power).sum(dim=(2, 3))


CLOCK = time.perf_counter


def plain_loop(cfg, data, W0, batches) -> float:
    X = torch.tensor(data.train.to_dense(), dtype=torch.float32)
    target = torch.tensor((data.train.y < 0).astype(np.int64))  # class 0 = +1, class 1 = -1
    model = PlainCNN(W0, cfg.power)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2),
                           eps=cfg.eps, weight_decay=cfg.weight_decay)
    idx = torch.from_numpy(batches)
    tic = CLOCK()
    for b in idx:
        loss = torch.nn.functional.cross_entropy(model(X[b]), target[b])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return (CLOCK() - tic) / len(batches)


def fast_loop(cfg, data, W0, batches) -> float:
    engine = FastEngine(cfg, data, W0)
    tic = CLOCK()
    engine.run(batches)
    return (CLOCK() - tic) / len(batches)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--kernels", action="store_true",
                    help="also time the fast engine with every registered optimiser's kernel")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    args = ap.parse_args()
    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter
    torch.set_num_threads(1)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"torch {torch.__version__}, 1 thread; {args.steps} steps x {args.repeats} repeats")
    print(f"{'batch':>6} {'plain torch us/step':>20} {'adamlab fast us/step':>21} {'speed-up':>9}")
    for B in (2, 100):
        cfg = SyntheticConfig(batch_size=B, n_test=10)
        data, W0 = make_dataset(cfg), init_weights(cfg)
        spe = cfg.steps_per_epoch
        batches = BatchSampler(cfg.n, B, "shuffle", 0).epochs(-(-args.steps // spe))[:args.steps]
        fast_loop(cfg, data, W0, batches[:10])  # compile (cached on disk after the first run)
        plain, fast = [], []
        for _ in range(args.repeats):
            plain.append(plain_loop(cfg, data, W0, batches))
            fast.append(fast_loop(cfg, data, W0, batches))
        p, f = statistics.median(plain), statistics.median(fast)
        print(f"{B:>6} {p * 1e6:>20.1f} {f * 1e6:>21.1f} {p / f:>8.1f}x")
    if args.kernels:
        kernels(args)


def kernels(args) -> None:
    """The fast engine per optimiser with a kernel (its registry defaults; sgd with momentum)."""
    from adamlab.optim import get, list_optimizers

    names = list_optimizers(kernel=True)
    print(f"\nfast engine us/step by optimiser ({args.clock} clock)")
    print(f"{'optimizer':>10} {'B=2':>8} {'B=100':>8}")
    for name in names:
        row = []
        for B in (2, 100):
            extra = {"momentum": 0.9} if "momentum" in get(name).options else {}
            cfg = SyntheticConfig(optimizer=name, batch_size=B, n_test=10, **extra)
            data, W0 = make_dataset(cfg), init_weights(cfg)
            spe = cfg.steps_per_epoch
            batches = BatchSampler(cfg.n, B, "shuffle", 0).epochs(-(-args.steps // spe))
            batches = batches[:args.steps]
            fast_loop(cfg, data, W0, batches[:10])
            row.append(statistics.median(fast_loop(cfg, data, W0, batches)
                                         for _ in range(args.repeats)))
        print(f"{name:>10} {row[0] * 1e6:>8.1f} {row[1] * 1e6:>8.1f}")


if __name__ == "__main__":
    main()
