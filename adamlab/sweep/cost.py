"""How much work a run is, so a sweep's progress bar can estimate the time left from the runs that
remain rather than from their count: at equal epochs a B = 1 run of the synthetic task takes
200x the steps of a B = 200 run (one epoch = floor(n/B) steps), and the phase diagrams mix both.

Model (one core, the fast engine), in seconds:

    steps x (STEP_US + EXAMPLE_US x B) / 1e6            the training loop
  + logs x (LOG_US + EVAL_US x (n + n_test)) / 1e6      evaluating the metrics at every log
  + RUN_S                                               data, start-up, storing

STEP_US and EXAMPLE_US fit the benchmark in docs/speed.md (`benchmarks/synthetic_speed.py --steps 3000
--repeats 5`, quiet 2-core VM: 41.7 us a step at B = 2, 209.1 us at B = 100, so 38.3 us +
1.71 us per example); at 10^4 epochs the loop of a B = 1 run (2 x 10^6 steps, 80 s) is then 21
times that of a B = 200 run (10^4 steps, 3.9 s), and with the ~5 s of evaluation both pay at
n_test = 10^4 (105 logs) the whole runs differ 9-fold: 85 s vs 9 s. EVAL_US and LOG_US:
`adamlab.train` with 100 logs at n_test = 10^4 vs 10^3 (about 45 and 8 ms a log on this machine
under load, so ~4 us per example). Only the proportions matter for the progress bar (its rate
is measured as it goes); docs/report.md's estimate of `make reproduce` uses the absolute values
and says so.
"""
from __future__ import annotations

from typing import Iterable

from ..synthetic.config import SyntheticConfig

STEP_US = 38.3
EXAMPLE_US = 1.71
LOG_US = 3000.0
EVAL_US = 4.0
RUN_S = 0.5


def run_cost(config) -> float | None:
    """Estimated seconds of one run on one core; None when the task has no cost model."""

    if not isinstance(config, SyntheticConfig):
        return None
    steps = config.total_steps
    logs = len(config.log_epochs()) + 1  # epoch 0 is logged too
    return (steps * (STEP_US + EXAMPLE_US * config.batch_size) / 1e6
            + logs * (LOG_US + EVAL_US * (config.n + config.n_test)) / 1e6 + RUN_S)


def run_costs(configs: Iterable) -> list[float]:
    """Each run's estimated seconds; 1 per run for all of them when any lacks a cost model (the
    bar then counts runs)."""
    costs = [run_cost(c) for c in configs]
    return [1.0] * len(costs) if any(c is None for c in costs) else costs


__all__ = ["run_cost", "run_costs"]
