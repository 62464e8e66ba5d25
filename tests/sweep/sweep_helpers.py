"""Shared bits of the sweep tests: paths, a tiny synthetic setting, the CLI as a subprocess."""
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent

# Small real runs of the paper's synthetic task: a few milliseconds each once numba is loaded.
TINY = {"d": 100, "n": 20, "s": 10, "n_test": 200, "width": 5, "epochs": 5}


def cli_env() -> dict:
    """Environment for `python -m adamlab.cli` subprocesses: this checkout and the probe task."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(HERE)] +
                                        ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        env[var] = "1"
    return env


def cli(*args) -> list[str]:
    return [sys.executable, "-m", "adamlab.cli", *map(str, args)]


def toml(path: Path, name: str, base: dict, grid: dict | None = None) -> Path:
    """Write a small sweep file (values as TOML literals)."""
    def lit(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return f'"{v}"'
        if isinstance(v, list):
            return "[" + ", ".join(lit(x) for x in v) + "]"
        return repr(v)

    lines = [f'name = "{name}"', "[base]"] + [f"{k} = {lit(v)}" for k, v in base.items()]
    if grid:
        lines += ["[grid]"] + [f"{k} = {lit(v)}" for k, v in grid.items()]
    path.write_text("\n".join(lines) + "\n")
    return path
