"""Where a critical-batch probe spends its time, and what a whole scaling study costs.

A probe of `adamlab critical-batch` is one run at the paper's budget of 10^4 epochs: n/B * 10^4
steps. This script times its phases at the paper's size (d=1000, s=100, m=20), side by side, at a
few (n, B): drawing the data (train + test set), the fast engine's training loop, the metric
evaluations at the logged epochs, and writing the result to a results store, once with the
default logging (about 100 logs, 10^4 test samples) and once with the scaling study's settings
(adamlab/presets/critical-batch.toml: log_every 1000, 2000 test samples). The engine's step cost is
fitted as a + b * B microseconds (per step, and per example in the batch), and the study's cost is
predicted from the bisection's probes of a fake classifier with the B* seen so far (B* ~ n / 3.5
for Adam and AdamW at the paper's lr and weight decay: phase diagram and the study itself).

    .venv/bin/python benchmarks/critical_batch_cost.py [--epochs 10000] [--repeats 1]
    .venv/bin/python benchmarks/critical_batch_cost.py --rounds [--repeats 3]

`--rounds` times the search's own overhead instead: a tiny search (n = 20, 3 seeds, runs of a few
milliseconds, so what is left is starting workers and the store) with one WorkerPool kept for all
rounds (what adamlab.sweep.critical does) against starting the workers afresh every round (a
plain run_sweep per round), alternately, each into a fresh store.

Timings on a machine shared with other jobs vary by a factor 2-3; the ratios between phases of the
same probe are steadier than the seconds.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import adamlab.synthetic.train as T  # noqa: E402
from adamlab.synthetic.config import SyntheticConfig  # noqa: E402
from adamlab.sweep import Store  # noqa: E402
from adamlab.sweep.bisect import LEARNS, MEMORISES, bisect  # noqa: E402

STUDY = {"log_every": 1000, "n_test": 2000}


class Clock:
    """Accumulates the time spent in the trainer's data, evaluation and engine calls."""

    def __init__(self):
        self.t = {"data": 0.0, "evaluate": 0.0}

    def wrap(self, name, fn):
        def timed(*a, **kw):
            tic = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                self.t[name] += time.perf_counter() - tic
        return timed


def probe(cfg: SyntheticConfig, store: Store) -> dict:
    clock = Clock()
    saved = T.make_dataset, T.evaluate
    T.make_dataset, T.evaluate = clock.wrap("data", saved[0]), clock.wrap("evaluate", saved[1])
    try:
        tic = time.perf_counter()
        result = T.train_synthetic(cfg)
        total = time.perf_counter() - tic
    finally:
        T.make_dataset, T.evaluate = saved
    tic = time.perf_counter()
    store.put(result)
    put = time.perf_counter() - tic
    return {"total": total + put, "loop": result.seconds, "data": clock.t["data"],
            "evaluate": clock.t["evaluate"], "store": put, "steps": result.steps,
            "rows": len(result.metrics)}


def rounds(repeats: int) -> None:
    from adamlab.sweep import run_sweep
    from adamlab.sweep.critical import critical_batch

    tiny = SyntheticConfig(d=100, n=20, s=10, n_test=200, width=5, epochs=200)
    times = {"one pool for all rounds": [], "workers started every round": []}
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(repeats):
            for label in times:
                sweep = None if label.startswith("one") else run_sweep
                tic = time.perf_counter()
                res = critical_batch(tiny, [0, 1, 2], Path(tmp) / f"{k}-{len(label)}.sqlite",
                                     workers=2, progress=False, sweep=sweep)
                times[label].append(time.perf_counter() - tic)
    print(f"tiny search (n=20, seeds 0-2, 2 workers): {res.rounds} rounds, "
          f"{sum(s.ran for s in res.seeds)} runs; load average {os.getloadavg()[0]:.1f}")
    for label, ts in times.items():
        print(f"  {label:28s} median {statistics.median(ts):6.1f} s   all: "
              + " ".join(f"{t:.1f}" for t in ts))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=10000)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--points", default="200:14,200:53,200:200,800:28",
                    help="n:B pairs to time")
    ap.add_argument("--rounds", action="store_true",
                    help="time the search's rounds (worker pool vs workers per round) instead")
    args = ap.parse_args()
    if args.rounds:
        return rounds(args.repeats)
    points = [tuple(map(int, p.split(":"))) for p in args.points.split(",")]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f}; {args.epochs} epochs, median of {args.repeats}")
    T.train(SyntheticConfig(epochs=2, n_test=100))  # compile once, outside the timings
    per_step = []
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "s.sqlite")
        print(f"{'n':>4} {'B':>4} {'logging':>8} {'steps':>8} {'total s':>8} {'loop':>6} "
              f"{'eval':>6} {'data':>6} {'store':>6} {'us/step':>8}")
        for n, b in points:
            for label, extra in (("default", {}), ("study", STUDY)):
                cfg = SyntheticConfig(n=n, batch_size=b, epochs=args.epochs, **extra)
                runs = [probe(cfg.replace(seed=100 + k), store) for k in range(args.repeats)]
                med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
                us = 1e6 * med["loop"] / med["steps"]
                if label == "study":
                    per_step.append((b, us))
                print(f"{n:>4} {b:>4} {label:>8} {int(med['steps']):>8} {med['total']:>8.1f} "
                      f"{med['loop']:>6.1f} {med['evaluate']:>6.2f} {med['data']:>6.2f} "
                      f"{med['store']:>6.3f} {us:>8.1f}", flush=True)
        store.close()
    # Step cost a + b*B (least squares over the timed points).
    xs, ys = [p[0] for p in per_step], [p[1] for p in per_step]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    a = my - slope * mx
    print(f"engine step cost here: {a:.0f} us + {slope:.2f} us x B")
    overhead = 1.0  # data, evaluation and store per probe with the study's settings (s)

    def cost(n, b):
        return (n // b) * args.epochs * (a + slope * b) * 1e-6 + overhead

    total = 0.0
    for n in (100, 200, 400, 800):
        star = n / 3.5
        probes = []
        bisect(lambda b: probes.append(b) or (LEARNS if b <= star else MEMORISES), n)
        seconds = sum(cost(n, b) for b in probes)
        total += seconds
        print(f"  n={n}: {len(probes)} probes per seed ({', '.join(map(str, probes))}): "
              f"{seconds:.0f} s")
    n200 = sum(cost(200, b) for b in _probes(200))
    # The preset: per optimiser the n scan (4), 2 more lr and 2 more weight decays at n = 200;
    # SGD at n = 200; 3 seeds each.
    study = 3 * (2 * (total + 4 * n200) + n200)
    print(f"full study (3 seeds, Adam + AdamW: 4 n + 2 lr + 2 weight decay, SGD at n=200): "
          f"{study / 3600:.1f} h of one core, {study / 7200:.1f} h on two workers")


def _probes(n):
    out = []
    bisect(lambda b: out.append(b) or (LEARNS if b <= n / 3.5 else MEMORISES), n)
    return out


if __name__ == "__main__":
    main()
