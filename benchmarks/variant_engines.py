"""Per-step cost of the data and model variants (K classes, label noise, a trained second layer)
on the engines that run them: the fast engine's general loop (synthetic/general_kernels.py),
the reference engine (dense torch autograd) and the batched engine's sparse general loss, one
run alone and a group of runs stepping together (cost per run). The paper's run on the fast
engine is the yardstick.

The paper's setting (d = 1000, n = 200, s = 100, m = 20, q = 3; Adam lr 1e-4, weight decay 1e-5),
one thread, the same batches for every engine; process CPU seconds (robust to other jobs on the
machine), the median of --repeats alternating repeats:

    .venv/bin/python benchmarks/variant_engines.py [--steps 400] [--repeats 3] [--group 10]
        [--batch-sizes 2,100]
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from adamlab import SyntheticConfig  # noqa: E402
from adamlab.synthetic.data import make_dataset  # noqa: E402
from adamlab.synthetic.engines.batched import BatchedEngine  # noqa: E402
from adamlab.synthetic.engines.fast import FastEngine  # noqa: E402
from adamlab.synthetic.engines.reference import ReferenceEngine  # noqa: E402
from adamlab.synthetic.model import init_weights  # noqa: E402
from adamlab.synthetic.sampler import BatchSampler  # noqa: E402

VARIANTS = {"3 classes": dict(classes=3), "10 classes": dict(classes=10),
            "label noise 0.1": dict(label_noise=0.1),
            "trained 2nd layer": dict(second_layer="trained")}


def cpu_us_per_step(make, batches: np.ndarray, runs: int = 1) -> float:
    """CPU microseconds per step and run of a fresh engine stepping `batches`."""
    engine = make()
    engine.run(batches[..., :2, :])  # warm up (allocations, numba's cache load)
    tic = time.process_time()
    engine.run(batches)
    return (time.process_time() - tic) / batches.shape[-2] / runs * 1e6


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--group", type=int, default=10, help="runs stepping together (batched)")
    p.add_argument("--batch-sizes", default="2,100")
    args = p.parse_args()
    torch.set_num_threads(1)
    print(f"CPU us per step and run, median of {args.repeats}; {args.steps} steps; one thread")
    print(f"{'setting':20} {'B':>4} {'fast, paper':>12} {'fast':>7} {'reference':>10} "
          f"{'batched x1':>11} {'batched x' + str(args.group):>12} {'ref / fast':>11}")
    for B in (int(b) for b in args.batch_sizes.split(",")):
        paper = SyntheticConfig(batch_size=B, lr=1e-4, weight_decay=1e-5)
        for name, kw in VARIANTS.items():
            cfgs = [paper.replace(seed=k, **kw) for k in range(args.group)]
            data = [make_dataset(c) for c in cfgs]
            W0 = [init_weights(c) for c in cfgs]
            epochs = -(-args.steps // paper.steps_per_epoch)
            steps = [BatchSampler(c.n, B, c.sampler, c.seed).epochs(epochs)[:args.steps]
                     for c in cfgs]
            times: dict[str, list[float]] = {}
            for _ in range(args.repeats):  # alternate the engines so drift hits them alike
                if name == next(iter(VARIANTS)):
                    times.setdefault("fast", []).append(cpu_us_per_step(
                        lambda: FastEngine(paper, make_dataset(paper), init_weights(paper)),
                        steps[0]))
                times.setdefault("general", []).append(cpu_us_per_step(  # the general loop
                    lambda: FastEngine(cfgs[0], data[0], W0[0]), steps[0]))
                times.setdefault("reference", []).append(cpu_us_per_step(
                    lambda: ReferenceEngine(cfgs[0], data[0], W0[0]), steps[0]))
                times.setdefault("x1", []).append(cpu_us_per_step(
                    lambda: BatchedEngine(cfgs[:1], data[:1], W0[:1]), np.stack(steps[:1])))
                times.setdefault("xK", []).append(cpu_us_per_step(
                    lambda: BatchedEngine(cfgs, data, W0), np.stack(steps), runs=args.group))
            med = {k: statistics.median(v) for k, v in times.items()}
            fast = f"{med['fast']:12.0f}" if "fast" in med else f"{'':12}"
            general = f"{med['general']:7.0f}"
            ratio = f"{med['reference'] / med['general']:11.1f}"
            print(f"{name:20} {B:4d} {fast} {general} {med['reference']:10.0f} "
                  f"{med['x1']:11.0f} {med['xK']:12.0f} {ratio}")


if __name__ == "__main__":
    main()
