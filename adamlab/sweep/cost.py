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

Two terms scale with the model, fitted to runs' recorded CPU seconds (`meta.cpu_seconds`) on the
same machine, so only their ratios are used:

* The step's fixed part is the optimiser's update of every weight, so STEP_US scales with a
  class's weights, m x d, against the paper's 20 x 1000 (the classes are in the general loop's
  factor below). Critical-batch probes (shuffle-carry, 10^4 epochs, seeds 0-2): n = 400, B = 20
  took 26 s at d = 1000 and 41 s at d = 2000 (x1.58); n = 800, B = 28 took 47 s and 125 s at
  d = 4000 (x2.66); the model gives x1.50 and x2.29, so it still puts large d low by ~15%.
* Settings beyond the paper's data and model (more classes, label noise, a trained second layer:
  `SyntheticConfig.variants()`) run the fast engine's general loop and its general evaluation.
  From the `beyond` item's runs (n = 200, d = 1000, 5 seeds, 10^4 epochs, B = 2 and 100): the loop
  costs GENERAL_LOOP x K times the paper's kernels (1.08 at K = 2, 1.62 at K = 3, 5.9 at
  K = 10 measured). Those runs evaluated by a torch forward, 6x, 9x and 27x the paper's
  kernel per example; its numba kernel since (`benchmarks/general_metrics.py`: 0.9x, 1.2x and
  3.8x) makes an evaluated example GENERAL_EVAL x K times EVAL_US. With the torch forward's
  factor (3 K) the model put a ten-class run at 7.8x the paper's run at the same B (B = 2) and
  17x (B = 100), three classes at 2.4x and 5.1x, label noise or a trained second layer at 1.6x
  and 3.4x, where the runs measured 7.2x and 17x, 2.1x and 5.3x, 1.4x and 3.6x.
"""
from __future__ import annotations

from typing import Iterable

from ..synthetic.config import SyntheticConfig

STEP_US = 38.3
EXAMPLE_US = 1.71
LOG_US = 3000.0
EVAL_US = 4.0
RUN_S = 0.5
PAPER_WEIGHTS = 20 * 1000  # m x d at the paper's size, where STEP_US was measured
GENERAL_LOOP = 0.56  # per class, the general loop against the paper's kernels
GENERAL_EVAL = 0.4  # per class, the general evaluation's example against EVAL_US


def run_cost(config) -> float | None:
    """Estimated seconds of one run on one core; None when the task has no cost model."""

    if not isinstance(config, SyntheticConfig):
        return None
    steps = config.total_steps
    logs = len(config.log_epochs()) + 1  # epoch 0 is logged too
    weights = config.width * config.d / PAPER_WEIGHTS  # per class: the general loop has K
    loop, example = (GENERAL_LOOP * config.classes, GENERAL_EVAL * config.classes) \
        if config.variants() else (1.0, 1.0)
    return (steps * (STEP_US * weights + EXAMPLE_US * config.batch_size) * loop / 1e6
            + logs * (LOG_US + EVAL_US * example * (config.n + config.n_test)) / 1e6 + RUN_S)


def run_costs(configs: Iterable) -> list[float]:
    """Each run's estimated seconds; 1 per run for all of them when any lacks a cost model (the
    bar then counts runs)."""
    costs = [run_cost(c) for c in configs]
    return [1.0] * len(costs) if any(c is None for c in costs) else costs


__all__ = ["run_cost", "run_costs"]
