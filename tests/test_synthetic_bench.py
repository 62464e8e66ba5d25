"""benchmarks/synthetic_speed.py runs end to end and prints its columns (tiny sizes; no timing is
asserted). It runs as a script in its own process, as `make bench` runs it: with jax installed
it imports jax and sets up jax's threads, which a test worker should not inherit."""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks" / "synthetic_speed.py"
COLUMNS = ("plain torch f32", "JAX scan f32", "adamlab fast f64", "adamlab fast f32",
           "torch/f64", "JAX/f64", "JAX/f32", "JAX compile s")
HAS_JAX = importlib.util.find_spec("jax") is not None


def run_bench(*args: str) -> str:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT)] + sys.path)}
    done = subprocess.run([sys.executable, str(BENCH), "--repeats", "1", *args], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def rows(text: str, table: str) -> dict[int, list[str]]:
    """batch size -> cells of one table ("wall time" or "process CPU time")."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(table)) + 2
    out = {}
    for line in lines[start:]:
        cells = line.split()
        if not cells or not cells[0].isdigit():
            break
        out[int(cells[0])] = cells
    return out


def test_benchmark_smoke():
    # B = 1: a run shorter than one epoch (200 steps); B = 200: one step per compiled epoch.
    # One process (imports take most of its few seconds), so --no-jax is not run separately.
    text = run_bench("--steps", "20", "--batch-sizes", "1,200", "--interleave", "2")
    assert all(c in text for c in COLUMNS)
    assert "cores used" in text and "memory floor" in text and "over its floor" in text
    for table in ("wall time", "process CPU time"):
        got = rows(text, table)
        assert sorted(got) == [1, 200]
        for cells in got.values():
            torch_us, jax_us, fast_us, fast32_us = cells[1:5]
            assert float(torch_us) > 0 and float(fast_us) > 0 and float(fast32_us) > 0
            assert (jax_us != "-") == HAS_JAX
            assert cells[5].endswith("x") and (cells[7].endswith("x") == HAS_JAX)
    if not HAS_JAX:
        assert "JAX scan column skipped: jax is not installed" in text
    lines = text.splitlines()  # --interleave: both dtypes at B = 1 and 2, with the ratio
    start = next(i for i, line in enumerate(lines) if "runs in one compiled loop" in line) + 2
    got = [line.split() for line in lines[start:start + 4]]
    assert [(c[0], c[1]) for c in got] == [("float64", "1"), ("float64", "2"), ("float32", "1"),
                                           ("float32", "2")]
    assert all(float(c[2]) > 0 and float(c[3]) > 0 and c[4].endswith("x") for c in got)
