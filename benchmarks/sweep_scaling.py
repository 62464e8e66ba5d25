"""Sweep throughput at 1 and 2 workers, and the results store's cost per run.

1. Throughput: a fixed small sweep (the paper's synthetic size d=1000, n=200, s=100, m=20, B=2,
   `--epochs` epochs, `--runs` seeds) is run by `run_sweep` into a fresh store, once per worker
   count, alternately, `--repeats` times. Wall time includes starting the worker processes
   (spawn + importing torch and numba, about 1-2 s), which is what a user waits for; the ratio of
   the throughputs is the speed-up from the second worker (ideal: 2 on two idle cores). The
   steady rate (results after the first `workers`, over the time they took) leaves it out.
2. Store overhead: `Store.put` of a real result (about 100 metric logs, the default) into a
   growing store, one transaction each (WAL, synchronous=FULL: one fsync per run), `--puts`
   times, each after the claim the runner takes before a run starts (one more short
   transaction); then `done_ids()` and `runs()` over the whole store.

    .venv/bin/python benchmarks/sweep_scaling.py [--runs 12] [--epochs 50] [--repeats 3]
    .venv/bin/python benchmarks/sweep_scaling.py --store-only
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

from adamlab import train  # noqa: E402
from adamlab.synthetic.config import SyntheticConfig  # noqa: E402
from adamlab.sweep import Store, run_sweep  # noqa: E402
from adamlab.sweep.claims import Owner  # noqa: E402


def sweep_spec(runs: int, epochs: int) -> dict:
    return {"name": "scaling", "base": {"epochs": epochs, "batch_size": 2, "n_test": 1000},
            "grid": {"seed": list(range(runs))}}


class TimedStore(Store):
    """Notes when each result arrives, to separate the pool's start-up from its steady rate."""

    def put(self, result, sweep=None):
        super().put(result, sweep=sweep)
        self.arrivals.append(time.perf_counter())


def time_sweep(spec: dict, workers: int, tmp: Path) -> tuple[float, float]:
    """(wall seconds of the whole sweep, steady runs/s after the first `workers` results)."""
    store = TimedStore(tmp / f"w{workers}-{time.perf_counter_ns()}.sqlite")
    store.arrivals = []
    tic = time.perf_counter()
    summary = run_sweep(spec, store, workers=workers, progress=False)
    seconds = time.perf_counter() - tic
    store.close()
    n = len(spec["grid"]["seed"])
    assert summary.ok == n, summary.line()
    # The first `workers` results arrive together once the pool is up; count the rest.
    first, last = store.arrivals[workers - 1], store.arrivals[-1]
    return seconds, (n - workers) / (last - first)


def store_overhead(puts: int, tmp: Path) -> dict:
    cfg = SyntheticConfig(d=100, n=20, s=10, n_test=200, epochs=100)
    result = train(cfg)  # ~100 logs: the default log interval (epochs / 100)
    store = Store(tmp / "overhead.sqlite")
    owner = Owner.here("overhead")
    times, claims = [], []
    for i in range(puts):
        r = dataclasses.replace(result, run_id=f"{i:016x}")
        tic = time.perf_counter()
        assert store.claim(r.run_id, owner) == "ours"  # what the runner does before each run
        claims.append(time.perf_counter() - tic)
        tic = time.perf_counter()
        store.put(r, sweep="overhead")
        times.append(time.perf_counter() - tic)
    tic = time.perf_counter()
    done = store.done_ids()
    t_done = time.perf_counter() - tic
    tic = time.perf_counter()
    runs = store.runs()
    t_runs = time.perf_counter() - tic
    assert len(done) == len(runs) == puts
    store.close()
    return {"put_ms": 1e3 * statistics.median(times), "put_p90_ms":
            1e3 * sorted(times)[int(0.9 * (len(times) - 1))], "metric_rows": len(result.metrics),
            "done_ids_ms": 1e3 * t_done, "runs_ms": 1e3 * t_runs, "puts": puts,
            "claim_ms": 1e3 * statistics.median(claims)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=12, help="runs in the fixed sweep")
    ap.add_argument("--epochs", type=int, default=50, help="epochs per run (B=2: 100 steps each)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--puts", type=int, default=200, help="results written to measure the store")
    ap.add_argument("--store-only", action="store_true", help="measure only the store's costs")
    args = ap.parse_args()

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f} (other processes share these cores)")
    spec = sweep_spec(args.runs, args.epochs)
    one = time.perf_counter()
    train(SyntheticConfig(**spec["base"], seed=0))  # compile / load the numba kernels once
    one = time.perf_counter() - one
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        times = {w: [] for w in args.workers}
        for _ in range(0 if args.store_only else args.repeats):
            for w in args.workers:
                times[w].append(time_sweep(spec, w, tmp))
        if not args.store_only:
            print(f"sweep: {args.runs} runs of d=1000, n=200, B=2, {args.epochs} epochs "
                  f"(one run in this process: {one:.2f} s incl. kernel load); "
                  f"medians of {args.repeats}")
        base = base_steady = None
        for w in ([] if args.store_only else args.workers):
            med = statistics.median(t for t, _ in times[w])
            steady = statistics.median(r for _, r in times[w])
            thr = args.runs / med
            base, base_steady = base or thr, base_steady or steady
            print(f"  workers={w}: {med:6.2f} s  {thr:5.2f} runs/s  x{thr / base:.2f}   "
                  f"steady (after start-up): {steady:5.2f} runs/s  x{steady / base_steady:.2f}   "
                  f"(walls: {', '.join(f'{t:.2f}' for t, _ in times[w])})")
        o = store_overhead(args.puts, tmp)
        print(f"store: put of one run ({o['metric_rows']} metric rows, one transaction): median "
              f"{o['put_ms']:.2f} ms, p90 {o['put_p90_ms']:.2f} ms over {o['puts']} runs; "
              f"done_ids() {o['done_ids_ms']:.2f} ms, runs() {o['runs_ms']:.1f} ms "
              f"at {o['puts']} runs; claiming a run before it starts: median "
              f"{o['claim_ms']:.2f} ms")


if __name__ == "__main__":
    main()
