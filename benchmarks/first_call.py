"""What a fresh process pays before its first fast-engine step: importing adamlab, then the first
tiny run of each activation (numba compiling its kernels, or loading them from the disk cache).

Every sweep worker and every test process is such a process. Each measurement is a new Python
process (CPU time, so other jobs on the machine matter less), in three settings:

  * cold:  an empty numba cache (NUMBA_CACHE_DIR set to a new folder): the first process ever;
  * warm:  a second process on that cache: what every later process pays;
  * per-process: the same activations registered again at run time under new names, which the
    kernels receive as numba functions and compile in every process (synthetic/jit.py): what every
    process paid for every activation before the built-ins were cached.

    .venv/bin/python benchmarks/first_call.py [--repeats 3] [--activations relu-power,gelu]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = r"""
import json, sys, time
c0 = time.process_time()
import adamlab
from adamlab import SyntheticConfig, train
from adamlab.synthetic import activations
out = {"import": time.process_time() - c0}
for name in sys.argv[2].split(","):
    if sys.argv[1] == "per-process":  # the same functions, registered at run time
        a = activations.get(name)
        name = activations.register(activations.Activation(
            name + "-again", a.value, a.derivative, a.torch, a.help, a.params)).name
    c = time.process_time()
    train(SyntheticConfig(d=50, n=8, s=5, width=2, n_test=8, epochs=2, activation=name))
    out[name.removesuffix("-again")] = time.process_time() - c
print(json.dumps(out))
"""


def probe(mode: str, activations: str, cache_dir: str) -> dict:
    env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir, "NUMBA_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", PROBE, mode, activations], env=env,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3,
                    help="fresh caches (and processes) per setting")
    ap.add_argument("--activations", default="relu-power,gelu",
                    help="comma-separated activations, each trained once per process in this order")
    args = ap.parse_args(argv)
    runs: dict[str, list[dict]] = {"cold": [], "warm": [], "per-process": []}
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory(prefix="adamlab-numba-") as cache:
            runs["cold"].append(probe("cached", args.activations, cache))
            runs["warm"].append(probe("cached", args.activations, cache))
            runs["per-process"].append(probe("per-process", args.activations, cache))
    keys = ["import"] + args.activations.split(",")
    print(f"CPU seconds per fresh process (median of {args.repeats}); each activation's first "
          f"tiny run, in order")
    print(f"{'setting':>12}  " + "  ".join(f"{k:>10}" for k in keys))
    medians = {}
    for mode, rows in runs.items():
        medians[mode] = {k: statistics.median(r[k] for r in rows) for k in keys}
        print(f"{mode:>12}  " + "  ".join(f"{medians[mode][k]:>10.2f}" for k in keys))
    return medians


if __name__ == "__main__":
    main()
