"""The paper's metrics (PAPER.md "Metrics the paper tracks"), computed on sparse patches.

  feature_learning_pos / _neg:  max_r <w_{j,r}, j v> for j = +1 / -1
  noise_memorisation_{min,mean,max}: max_r <w_{y_i,r}, xi_i>, summarised over training examples i
      (xi_i is the whole noise patch, feature noise -alpha*y_i*v included, as in Definition 3.1)
  loss, error (train and test), weight_norm (Frobenius norm of W)

The compiled kernel computes the pre-activations <w_{j,r}, x_p> of both patches; it is tested
against the dense reference model in models/cnn.py.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ..data.synthetic import SIGNAL_COORD, PatchData


@njit(cache=True, error_model="numpy")
def _preactivations_t(WT, y, noise_idx, noise_val, alpha):
    """Pre-activations from coordinate-major weights WT (d, F), F = 2m filters: for each noise
    coordinate the F filter values are contiguous, so the inner loop vectorises."""
    n, s = noise_idx.shape
    nf = WT.shape[1]
    zs = np.empty((n, nf))
    zn = np.empty((n, nf))
    for i in range(n):
        for f in range(nf):
            zs[i, f] = y[i] * WT[SIGNAL_COORD, f]
            zn[i, f] = -alpha * y[i] * WT[SIGNAL_COORD, f]
        for k in range(s):
            c = noise_idx[i, k]
            v = noise_val[i, k]
            for f in range(nf):
                zn[i, f] += WT[c, f] * v
    return zs, zn


def preactivations(W, y, noise_idx, noise_val, alpha):
    """(N, 2, m) pre-activations <w_{j,r}, x> of the signal patch and of the noise patch."""
    two, m, d = W.shape
    WT = np.ascontiguousarray(W.reshape(two * m, d).T)
    zs, zn = _preactivations_t(WT, y, noise_idx, noise_val, alpha)
    return zs.reshape(-1, two, m), zn.reshape(-1, two, m)


def margins_and_noise(W: np.ndarray, data: PatchData, power: float):
    """Margins y*(F_{+1} - F_{-1}) and the noise memorisation max_r <w_{y_i,r}, xi_i>."""
    zs, zn = preactivations(W, data.y, data.noise_idx, data.noise_val, data.alpha)
    act = np.maximum(zs, 0.0) ** power + np.maximum(zn, 0.0) ** power
    out = act.sum(axis=2)  # (N, 2)
    margin = data.y * (out[:, 0] - out[:, 1])
    own = np.where(data.y > 0, 0, 1)  # the row of W that belongs to the example's class
    noise = zn[np.arange(len(data)), own].max(axis=1)
    return margin, noise


def softplus_neg(margin: np.ndarray) -> np.ndarray:
    """log(1 + exp(-margin)), stable for large |margin|."""
    return np.logaddexp(0.0, -margin)


def error_rate(margin: np.ndarray) -> float:
    """A tie (margin exactly 0) counts as an error: neither class is predicted; so does a NaN
    margin (inf - inf outputs of a blowing-up model), which predicts nothing."""
    return float(np.mean(~(margin > 0)))


def evaluate(W: np.ndarray, train: PatchData, test: PatchData, power: float) -> dict:
    """All logged metrics at one point of training, as {(split, name): value}."""
    with np.errstate(over="ignore", invalid="ignore"):
        m_tr, noise = margins_and_noise(W, train, power)
        m_te, _ = margins_and_noise(W, test, power)
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
