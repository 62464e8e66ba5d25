"""Learning-rate schedules, per step (docs/paper.md "Limits": the paper analyses a constant rate only).

Step t = 1, 2, ..., T (T = total steps) uses eta_t = eta * factor(t), with W = warm-up steps
(warmup_epochs * steps per epoch) and k = t - W - 1 the steps since warm-up ended:

    warm-up (t <= W):   factor = t / W                      (linear, reaches 1 at step W)
    constant:           factor = 1
    cosine:             factor = (1 + cos(pi * k / (T - W))) / 2            (to 0 at the end)
    step:               factor = gamma ^ floor(k / S)       (S = step_epochs * steps per epoch)

The schedule's clock starts after the warm-up, so warm-up combines with every schedule. These
are torch.optim.lr_scheduler's LinearLR(start_factor=1/W, total_iters=W-1), CosineAnnealingLR
(T_max=T-W, eta_min=0) and StepLR(step_size=S, gamma) chained by SequentialLR(milestones=[W]),
stepped once per optimiser step; tests/test_schedule.py checks that step by step. The schedule is
per step, not per epoch: settings in epochs are converted to the steps those epochs take
(`cfg.steps_after(epochs)`: floor(n/B) per epoch, or floor(epochs*n/B) with shuffle-carry).
Decoupled weight decay follows the schedule too (W *= 1 - eta_t * lambda), as in torch.

`lr_factor` is compiled (numba) so that the fast engine's loop computes each step's rate inside
its compiled loop; the reference and batched engines call the same function.
"""
from __future__ import annotations

import math

from numba import njit

SCHEDULES = ("constant", "cosine", "step")
CONSTANT, COSINE, STEP = range(3)


@njit(cache=True, inline="always")
def lr_factor(t, code, warmup, total, step_size, gamma):
    """The factor multiplying the base learning rate at step t (1-based); see the module doc."""
    if t <= warmup:
        return t / warmup
    k = t - warmup - 1
    if code == COSINE:
        return 0.5 * (1.0 + math.cos(math.pi * k / (total - warmup)))
    if code == STEP:
        return gamma ** (k // step_size)
    return 1.0


class Schedule:
    """A config's schedule in steps: factor(t) for the engines, args() for the compiled loop."""

    def __init__(self, cfg):
        self.code = SCHEDULES.index(cfg.schedule)
        self.warmup = cfg.steps_after(cfg.warmup_epochs)
        self.total = cfg.total_steps
        self.step_size = cfg.steps_after(cfg.step_epochs or 1)
        self.gamma = 1.0 if cfg.step_gamma is None else float(cfg.step_gamma)

    @property
    def constant(self) -> bool:
        return self.code == CONSTANT and self.warmup == 0

    @property
    def reads_total(self) -> bool:
        """Whether a step's factor depends on the run's total steps T (cosine): such a run cannot
        be continued to more epochs and equal an uninterrupted run of that length."""
        return self.code == COSINE

    def args(self) -> tuple:
        return self.code, self.warmup, self.total, self.step_size, self.gamma

    def factor(self, t: int) -> float:
        return 1.0 if self.constant else lr_factor(t, *self.args())


__all__ = ["SCHEDULES", "Schedule", "lr_factor"]
