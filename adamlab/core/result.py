"""What one run produces, and how it is written to disk.

A `Result` holds the full config, the status (ok / diverged at step k / failed with reason), the
training loop's own wall time, long-form metrics (step, epoch, split, name, value), the final
summary and the provenance (code version with dirty flag, package versions, threads, device).
`write_run_dir` writes config.json, meta.json, metrics.csv and summary.json, each atomically (a
temporary file renamed into place), so a kill never leaves a half-written file; and state.npz, the
run's final state (core/state.py), when the trainer was asked to keep it.
"""
from __future__ import annotations

import csv
import io
import json
import os
import platform
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy
import torch

from .state import STATE_FILE, RunState, write_state

STATUSES = ("ok", "diverged", "failed")


@dataclass
class Result:
    run_id: str
    config: dict
    status: str
    reason: str | None
    steps: int
    epochs: float
    seconds: float
    summary: dict
    metrics: list = field(default_factory=list)  # (step, epoch, split, name, value)
    meta: dict = field(default_factory=dict)
    # The final state to continue from (train(..., save_state=True)); not part of equality.
    state: RunState | None = field(default=None, compare=False, repr=False)

    def final(self) -> dict:
        """The headline numbers: what `--json` prints and what the store keeps per run."""
        # compile_seconds (a synthetic run's kernel compile or cache load) is not in `seconds`
        compiled = {k: self.meta[k] for k in ("compile_seconds",) if k in self.meta}
        return {"run_id": self.run_id, "status": self.status, "reason": self.reason,
                "steps": self.steps, "epochs": self.epochs, "seconds": self.seconds,
                **compiled, **self.summary, "config": self.config}

    def series(self, name: str, split: str | None = None) -> tuple[list, list]:
        """(epochs, values) of one logged metric."""
        rows = [(e, v) for (_, e, sp, nm, v) in self.metrics
                if nm == name and (split is None or sp == split)]
        return [r[0] for r in rows], [r[1] for r in rows]


def _git(*args: str) -> str | None:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", *args], cwd=here, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


_CODE_VERSION: dict | None = None


def code_version() -> dict:
    """The git commit of the adamlab source and whether the tree had uncommitted changes."""
    global _CODE_VERSION
    if _CODE_VERSION is None:
        commit = _git("rev-parse", "HEAD")
        dirty = None
        if commit is not None:
            status = _git("status", "--porcelain", "--untracked-files=no")
            dirty = bool(status)
        try:
            version = metadata.version("adamlab")
        except metadata.PackageNotFoundError:
            version = None
        _CODE_VERSION = {"commit": commit, "dirty": dirty, "adamlab": version}
    return dict(_CODE_VERSION)


def environment(device: str = "cpu") -> dict:

    pkgs = {}
    for name in ("torch", "numpy", "numba", "matplotlib"):
        try:
            pkgs[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pkgs[name] = None
    env = {"python": sys.version.split()[0], "platform": platform.platform(),
           "machine": platform.machine(), "host": socket.gethostname(), "packages": pkgs,
           "torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
           "device": device, "numpy_version": numpy.__version__}
    if device == "cuda" and torch.cuda.is_available():
        env["gpu"] = torch.cuda.get_device_name(0)
    return env


def make_meta(device: str, wall_seconds: float, started: float, extra: dict | None = None) -> dict:
    return {"code": code_version(), "env": environment(device), "wall_seconds": wall_seconds,
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
            **(extra or {})}


def atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def metrics_csv(rows) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["step", "epoch", "split", "name", "value"])
    w.writerows(rows)
    return buf.getvalue()


def write_run_dir(result: Result, out: str | os.PathLike) -> Path:
    """Write a run folder: config.json, meta.json, long-form metrics.csv and summary.json, each
    written atomically; returns the folder."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "config.json", json.dumps(result.config, indent=2, sort_keys=True) + "\n")
    atomic_write(out / "meta.json", json.dumps(result.meta, indent=2, sort_keys=True) + "\n")
    atomic_write(out / "metrics.csv", metrics_csv(result.metrics))
    summary = {k: v for k, v in result.final().items() if k != "config"}
    atomic_write(out / "summary.json", json.dumps(summary, indent=2, sort_keys=True) + "\n")
    if result.state is not None:
        write_state(result.state, out / STATE_FILE)
    return out
