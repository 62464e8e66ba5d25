"""The paper's metrics (docs/paper.md "Metrics the paper tracks"), computed on sparse patches.

  feature_learning_pos / _neg:  max_r <w_{j,r}, j v> for j = +1 / -1
  noise_memorisation_{min,mean,max}: max_r <w_{y_i,r}, xi_i>, summarised over training examples i
      (xi_i is the whole noise patch, feature noise -alpha*y_i*v included, as in Definition 3.1)
  loss, error (train and test), weight_norm (Frobenius norm of W)

Margins and noise memorisation come from the model's one sparse kernel (synthetic/kernels.py, the
fast engine's forward pass) with the configured activation `sigma` (synthetic/activations.py); it is
tested against the dense reference model in synthetic/model.py.
"""
from __future__ import annotations

import numpy as np

from . import kernels
from .activations import Sigma
from .data import SIGNAL_COORD, PatchData


def margins_and_noise(W: np.ndarray, data: PatchData, sigma: Sigma):
    """Margins y*(F_{+1} - F_{-1}) and the noise memorisation max_r <w_{y_i,r}, xi_i>."""
    return kernels.margins_and_noise(kernels.to_coordinate_major(W), data.y, data.noise_idx,
                                     data.noise_val, data.alpha, *sigma.kernel_args, W.shape[1])


def softplus_neg(margin: np.ndarray) -> np.ndarray:
    """log(1 + exp(-margin)), stable for large |margin|."""
    return np.logaddexp(0.0, -margin)


def error_rate(margin: np.ndarray) -> float:
    """A tie (margin exactly 0) counts as an error: neither class is predicted; so does a NaN
    margin (inf - inf outputs of a blowing-up model), which predicts nothing."""
    return float(np.mean(~(margin > 0)))


def evaluate(W: np.ndarray, train: PatchData, test: PatchData, sigma: Sigma) -> dict:
    """All logged metrics at one point of training, as {(split, name): value}."""
    with np.errstate(over="ignore", invalid="ignore"):
        m_tr, noise = margins_and_noise(W, train, sigma)
        m_te, _ = margins_and_noise(W, test, sigma)
        feature = np.array([W[0, :, SIGNAL_COORD].max(), (-W[1, :, SIGNAL_COORD]).max()])
        return {
            ("train", "loss"): float(softplus_neg(m_tr).mean()),
            ("train", "error"): error_rate(m_tr),
            ("test", "loss"): float(softplus_neg(m_te).mean()),
            ("test", "error"): error_rate(m_te),
            ("model", "feature_learning_pos"): float(feature[0]),
            ("model", "feature_learning_neg"): float(feature[1]),
            ("train", "noise_memorisation_min"): float(noise.min()),
            ("train", "noise_memorisation_mean"): float(noise.mean()),
            ("train", "noise_memorisation_max"): float(noise.max()),
            ("model", "weight_norm"): float(np.sqrt((W * W).sum())),
        }
