"""Cost of one metrics log for the data and model variants (K classes, label noise, a trained
second layer): the general model's forward over the training and test sets by the numba kernel
(`class_outputs`, synthetic/general_kernels.py `general_outputs`) against the torch forward it
replaced (`class_outputs_torch`), measured side by side, with the paper's sparse kernel
(`margins_and_noise`) as the yardstick.

The paper's setting (d = 1000, n = 200, s = 100, m = 20, q = 3) and its 10^4 test examples; one
thread; process CPU milliseconds, the median of --repeats alternating repeats. A run at the
default logs evaluates about 105 times, so at B = 100 (2 x 10^4 steps) the logs were most of a
variant's run:

    .venv/bin/python benchmarks/general_metrics.py [--repeats 5] [--n-test 10000]
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
from adamlab.synthetic.activations import sigma_of  # noqa: E402
from adamlab.synthetic.data import make_dataset  # noqa: E402
from adamlab.synthetic.metrics import (class_outputs, class_outputs_torch,  # noqa: E402
                                       margins_and_noise)
from adamlab.synthetic.model import init_weights  # noqa: E402

VARIANTS = {"paper (2 classes)": dict(), "3 classes": dict(classes=3),
            "10 classes": dict(classes=10), "label noise 0.1": dict(label_noise=0.1),
            "trained 2nd layer": dict(second_layer="trained")}


def cpu_ms(fn) -> float:
    t = time.process_time()
    fn()
    return 1e3 * (time.process_time() - t)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--n-test", type=int, default=10_000)
    args = p.parse_args()
    torch.set_num_threads(1)
    print(f"one metrics log: forward over n = 200 + n_test = {args.n_test} examples, CPU ms, "
          f"median of {args.repeats}")
    print(f"{'variant':20} {'paper kernel':>13} {'numba':>8} {'torch':>8} {'torch / numba':>14}")
    for name, kw in VARIANTS.items():
        cfg = SyntheticConfig(n_test=args.n_test, **kw)
        data, sigma = make_dataset(cfg), sigma_of(cfg)
        W = init_weights(cfg) * 30  # activations well away from 0, as after training
        a = np.ones((cfg.classes, cfg.width)) if cfg.second_layer == "trained" else None
        parts = (data.train, data.test)
        forwards = {"numba": lambda: [class_outputs(W, x, sigma, a) for x in parts],
                    "torch": lambda: [class_outputs_torch(W, x, sigma, a) for x in parts]}
        if not kw:
            forwards["paper"] = lambda: [margins_and_noise(W, x, sigma) for x in parts]
        for fn in forwards.values():
            fn()  # compile
        times: dict[str, list[float]] = {k: [] for k in forwards}
        for _ in range(args.repeats):
            for k, fn in forwards.items():
                times[k].append(cpu_ms(fn))
        med = {k: statistics.median(v) for k, v in times.items()}
        paper = f"{med['paper']:13.1f}" if "paper" in med else f"{'':13}"
        print(f"{name:20} {paper} {med['numba']:8.1f} {med['torch']:8.1f} "
              f"{med['torch'] / med['numba']:14.1f}")


if __name__ == "__main__":
    main()
