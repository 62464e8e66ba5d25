"""The paper's mechanism as a metric: per-coordinate step sizes on noise vs feature coordinates.

The paper explains large-batch failure by Adam's per-coordinate normalisation (docs/paper.md "Claim"):
a noise coordinate of example i only receives gradient while i is in the batch, so its second
moment stays small and its step eta_t / (sqrt(v_hat) + eps) grows, while the feature coordinate
gets gradient at every step. For every optimiser whose rule has a second moment (its registry
entry's `second_moment`: the rule has a `preconditioner`) the engines log

    model/step_ratio_noise_feature = mean_{f, c in N} P_t[f, c]  /  mean_f P_t[f, 0]

  P_t[f, c]  the rule's preconditioner at coordinate c of filter f (all 2m filters, both classes):
             the step size of that coordinate per unit of learning rate in the update of step t,
             e.g. Adam 1 / (sqrt(v_t / (1 - beta2^t)) + eps) (no bias correction: sqrt(v_t) + eps),
             RMSprop and Adagrad 1 / (sqrt(v_t) + eps), NAdam as Adam. The learning rate eta_t
             (and Adam's 1 / (1 - beta1^t)) multiplies every coordinate alike and cancels.
  N          the noise coordinates: every coordinate in the support of some training example's
             noise patch (its s Gaussian coordinates; the signal coordinate 0 is never one).
  t          the steps taken so far, read from the optimiser state when metrics are logged; at
             t = 0 (no step yet) v = 0, so every P is 1/eps and the ratio is 1.

Above 1: noise coordinates move faster per unit of gradient than the feature coordinate. The
engines compute P with the same rule method (the fast engine hands its moment arrays to it), so
they agree to rounding.
"""
from __future__ import annotations

import numpy as np

from .data import SIGNAL_COORD

STEP_RATIO = ("model", "step_ratio_noise_feature")


def noise_coordinates(train) -> np.ndarray:
    """Sorted coordinates in the support of some training example's noise patch."""
    return np.unique(train.noise_idx)


def step_ratio(P: np.ndarray, coords: np.ndarray, features=(SIGNAL_COORD,)) -> float:
    """mean over filters and noise coordinates of P / mean over filters of P at the feature
    coordinates (the signal coordinate; 0..K-1 with K >= 3 classes); P: (..., d) with every
    leading axis a filter axis."""
    P = np.asarray(P, dtype=np.float64).reshape(-1, P.shape[-1])
    return float(P[:, coords].mean() / P[:, list(features)].mean())


def step_ratio_metrics(rule, state: dict, t: int, coords: np.ndarray,
                       features=(SIGNAL_COORD,)) -> dict:
    """{STEP_RATIO: value} for a rule with a second moment, else {}."""
    if not hasattr(rule, "preconditioner"):
        return {}
    P = rule.preconditioner(state, t)
    return {STEP_RATIO: step_ratio(P.detach().cpu().numpy(), coords, features)}
