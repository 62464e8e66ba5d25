"""A test-only task ("sweepprobe") whose runs succeed, raise, diverge or kill their own process on
demand, so the sweep machinery can be tested without training. Importable by spawned workers
(tests/sweep is on their sys.path) and by `adamlab sweep --import sweeptask`."""
from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from typing import ClassVar

from adamlab.core.fields import ConfigBase, spec
from adamlab.core.result import Result, make_meta
from adamlab.tasks import register_task

MODES = ("ok", "raise", "diverge", "die", "hang", "hang_once")


@dataclass(frozen=True)
class ProbeConfig(ConfigBase):
    """One probe run: its final `test_error` is `x + seed / 10`, `train_error` is `x`."""

    task: ClassVar[str] = "sweepprobe"

    x: float = spec(0.0, "the run's value", lo=0.0)
    seed: int = spec(0, "seed", lo=0)
    mode: str = spec("ok", "ok, raise (ValueError), diverge, die (SIGKILL itself), hang (touch "
                     "the file $SWEEPPROBE_MARKER, then sleep 10 minutes), or hang_once (hang "
                     "when the marker does not exist yet, else ok)", choices=MODES)
    n: int = spec(10, "examples", lo=1)
    batch_size: int = spec(2, "batch size", lo=1, hi="n")
    rows: int = spec(3, "train metric rows (a large run's write, for the store's fault tests)",
                     lo=1)
    sleep: float = spec(0.0, "seconds each run takes", lo=0.0)

    def __post_init__(self):
        self._validate_fields()


def train_probe(cfg: ProbeConfig, progress: bool = False) -> Result:
    started = time.time()
    if os.environ.get("SWEEPPROBE_LOG"):  # one line per computation: tests count duplicates
        with open(os.environ["SWEEPPROBE_LOG"], "a") as f:
            f.write(f"{cfg.run_id()} {os.getppid()}\n")
    time.sleep(cfg.sleep)
    if cfg.mode == "raise":
        raise ValueError(f"probe asked to fail at x={cfg.x}")
    if cfg.mode == "die":
        os.kill(os.getpid(), signal.SIGKILL)
    if cfg.mode == "hang" or (cfg.mode == "hang_once"
                              and not os.path.exists(os.environ["SWEEPPROBE_MARKER"])):
        open(os.environ["SWEEPPROBE_MARKER"], "w").close()
        time.sleep(600)
    status, reason = ("diverged", "non-finite loss at step 3") if cfg.mode == "diverge" else \
        ("ok", None)
    summary = {"train_error": cfg.x, "test_error": None if status == "diverged" else
               cfg.x + cfg.seed / 10}
    metrics = [(s, s / 5, "train", "error", cfg.x) for s in range(cfg.rows)] + \
        [(2, 0.4, "test", "error", cfg.x + cfg.seed / 10)]
    return Result(run_id=cfg.run_id(), config=cfg.to_dict(), status=status, reason=reason,
                  steps=3, epochs=0.6, seconds=0.0, summary=summary, metrics=metrics,
                  meta=make_meta("cpu", time.time() - started, started, {"pid": os.getpid()}))


register_task(ProbeConfig, train_probe)
