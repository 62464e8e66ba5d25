"""A test-only task ("critprobe") with a known critical batch size, so the critical-batch search
can be checked against the truth without training. Its runs learn the feature (test error 0) for
batch_size <= b_star + seed and memorise noise (train error 0, test error 0.5) above; optional
bands of undecided runs (mixed, stuck) and one contradicting batch size. Importable by spawned
workers (tests/critical is on their sys.path)."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import ClassVar

from adamlab.core.fields import ConfigBase, spec
from adamlab.core.result import Result, make_meta
from adamlab.tasks import register_task

CALLS: list = []  # (seed, batch_size) of every run trained in this process


@dataclass(frozen=True)
class CritProbeConfig(ConfigBase):
    task: ClassVar[str] = "critprobe"

    n: int = spec(100, "examples", lo=1)
    batch_size: int = spec(1, "batch size", lo=1, hi="n")
    seed: int = spec(0, "seed; the run's critical batch size is b_star + seed", lo=0)
    b_star: int = spec(10, "largest batch size that learns, at seed 0", lo=0)
    mixed_above: int = spec(0, "batch sizes in (B*, B* + mixed_above] are 'mixed'", lo=0)
    stuck_from: int = spec(0, "batch sizes >= this (when > 0) are stuck at initialisation", lo=0)
    learns_at: int = spec(0, "this batch size (when > 0) learns whatever B* says", lo=0)
    cycle: int = spec(0, "when > 0, the run's critical batch size is b_star + seed % cycle",
                      lo=0)

    def __post_init__(self):
        self._validate_fields()


def errors(cfg: CritProbeConfig) -> tuple[float, float]:
    """(train_error, test_error) by the rules above."""
    b, star = cfg.batch_size, cfg.b_star + (cfg.seed % cfg.cycle if cfg.cycle else cfg.seed)
    if cfg.stuck_from and b >= cfg.stuck_from:
        return 0.5, 0.5
    if b == cfg.learns_at or b <= star:
        return 0.0, 0.0
    if b <= star + cfg.mixed_above:
        return 0.0, 0.2
    return 0.0, 0.5


def train_probe(cfg: CritProbeConfig, progress: bool = False) -> Result:
    started = time.time()
    CALLS.append((cfg.seed, cfg.batch_size))
    train_error, test_error = errors(cfg)
    summary = {"train_error": train_error, "test_error": test_error}
    return Result(run_id=cfg.run_id(), config=cfg.to_dict(), status="ok", reason=None, steps=1,
                  epochs=1.0, seconds=0.0, summary=summary,
                  metrics=[(1, 1.0, "test", "error", test_error)],
                  meta=make_meta("cpu", time.time() - started, started, {"pid": os.getpid()}))


register_task(CritProbeConfig, train_probe)
