"""The paper's metrics (docs/paper.md "Metrics the paper tracks"), computed on sparse patches.

For the paper's data and model (two classes, clean labels, fixed second layer):

  feature_learning_pos / _neg:  max_r <w_{j,r}, j v> for j = +1 / -1
  noise_memorisation_{min,mean,max}: max_r <w_{y_i,r}, xi_i>, summarised over training examples i
      (xi_i is the whole noise patch, feature noise -alpha*y_i*v included, as in Definition 3.1)
  loss, error (train and test), weight_norm (Frobenius norm of W)

Margins and noise memorisation come from the model's one sparse kernel (synthetic/kernels.py, the
fast engine's forward pass) with the configured activation `sigma` (synthetic/activations.py); it is
tested against the dense reference model in synthetic/model.py.

Beyond the paper (K classes, label noise, a trained second layer; docs/implementation.md "More
classes, label noise, a trained second layer") the same quantities come from `class_outputs`, a
sparse numba forward of the general model (tested against a torch one and the dense model), with

  feature_learning_{pos,neg} (K = 2) or feature_learning_class{j} (K >= 3): max_r <w_{j,r}, v_j>,
      v_j the feature of class j (+-e_0 for K = 2, e_j for K >= 3)
  noise_memorisation_*: max_r <w_{y_i,r}, xi_i> with y_i the label the loss sees (flipped or not:
      fitting a flipped label is memorising the noise patch for the wrong class)
  error: argmax_c F_c != label (a tie or NaN counts as an error); loss: log sum_c exp F_c - F_y
  train/error_flipped, train/error_clean (label noise): the train error on the flipped labels
      (0 = the model fits them) and on the others
  model/second_layer_{min,max} (trained second layer): the output weights a_{j,r}
"""
from __future__ import annotations

import numpy as np
import torch

from . import kernels
from .activations import Sigma
from .data import SIGNAL_COORD, PatchData, feature_of
from .general_kernels import general_outputs


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


CHUNK = 2048  # examples per block of the general forward: (CHUNK, s, K*m) gathered weights


def class_outputs(W: np.ndarray, data: PatchData, sigma: Sigma, a: np.ndarray | None = None):
    """(F: (N, K) class outputs, noise memorisation (N,) max_r <w_{y_i,r}, xi_i>) of the general
    model on sparse patches: F_j = sum_r a_{j,r} [sigma(<w_{j,r}, x_signal>) + sigma(<w_{j,r},
    xi>)], with <w, x_signal> = sign * w[coord] and <w, xi> = value' * w[coord'] + sum_k w[c_k]
    xi_k (PatchData.features). The numba kernel `general_outputs` (synthetic/general_kernels.py),
    about 15x quicker than the torch forward `class_outputs_torch`, which it is tested against."""
    K, m, d = W.shape
    aw = np.ones(K * m) if a is None else np.ascontiguousarray(a, dtype=np.float64).reshape(-1)
    sc, ss, nc, nv = (np.ascontiguousarray(x) for x in data.features())
    return general_outputs(kernels.to_coordinate_major(W), aw, sc.astype(np.int64),
                           ss.astype(W.dtype), nc.astype(np.int64), nv.astype(W.dtype),
                           data.noise_idx, data.noise_val, data.label.astype(np.int64),
                           *sigma.kernel_args, m)


def class_outputs_torch(W: np.ndarray, data: PatchData, sigma: Sigma,
                        a: np.ndarray | None = None):
    """`class_outputs` by a sparse torch forward, gathering (CHUNK, s, K m) weights at a time:
    the plain path the kernel is checked against."""
    K, m, d = W.shape
    Wt = torch.from_numpy(np.ascontiguousarray(W.reshape(K * m, d).T))  # (d, K m)
    sc, ss, nc, nv = (torch.from_numpy(np.asarray(x)) for x in data.features())
    idx, val = torch.from_numpy(data.noise_idx), torch.from_numpy(data.noise_val)
    label = torch.from_numpy(data.label)
    aw = torch.ones(K, m, dtype=torch.float64) if a is None else torch.from_numpy(a)
    outs, noise = [], []
    for lo in range(0, len(data), CHUNK):
        sl = slice(lo, lo + CHUNK)
        zs = Wt[sc[sl]] * ss[sl, None]
        zn = Wt[nc[sl]] * nv[sl, None] + torch.einsum("bsf,bs->bf", Wt[idx[sl]], val[sl])
        act = (sigma(zs) + sigma(zn)).view(-1, K, m)
        outs.append((act * aw).sum(dim=2))
        noise.append(zn.view(-1, K, m)[torch.arange(len(zn)), label[sl]].amax(dim=1))
    return torch.cat(outs).numpy(), torch.cat(noise).numpy()


def class_margins(F: np.ndarray, label: np.ndarray) -> np.ndarray:
    """F_y - max_{c != y} F_c: positive when the label's output is the strict argmax."""
    rows = np.arange(len(label))
    own = F[rows, label]
    rest = F.copy()
    rest[rows, label] = -np.inf
    return own - rest.max(axis=1)


def cross_entropy(F: np.ndarray, label: np.ndarray) -> np.ndarray:
    """log sum_c exp F_c - F_y per example."""
    return np.logaddexp.reduce(F, axis=1) - F[np.arange(len(label)), label]


def features(W: np.ndarray) -> np.ndarray:
    """max_r <w_{j,r}, v_j> for every class j."""
    K = W.shape[0]
    coord, sign = feature_of(np.arange(K), K)
    return np.array([(sign[j] * W[j, :, coord[j]]).max() for j in range(K)])


def evaluate_general(W: np.ndarray, train: PatchData, test: PatchData, sigma: Sigma,
                     a: np.ndarray | None = None) -> dict:
    """The metrics of the general model (module docstring), {(split, name): value}."""
    with np.errstate(over="ignore", invalid="ignore"):
        F_tr, noise = class_outputs(W, train, sigma, a)
        F_te, _ = class_outputs(W, test, sigma, a)
        m_tr = class_margins(F_tr, train.label)
        m_te = class_margins(F_te, test.label)
        fl = features(W)
        names = [f"feature_learning_class{j}" for j in range(len(fl))] if len(fl) > 2 else \
            ["feature_learning_pos", "feature_learning_neg"]
        out = {
            ("train", "loss"): float(cross_entropy(F_tr, train.label).mean()),
            ("train", "error"): error_rate(m_tr),
            ("test", "loss"): float(cross_entropy(F_te, test.label).mean()),
            ("test", "error"): error_rate(m_te),
            **{("model", name): float(v) for name, v in zip(names, fl)},
            ("train", "noise_memorisation_min"): float(noise.min()),
            ("train", "noise_memorisation_mean"): float(noise.mean()),
            ("train", "noise_memorisation_max"): float(noise.max()),
            ("model", "weight_norm"): float(np.sqrt((W * W).sum())),
        }
        flipped = train.flipped
        if flipped.any():
            out[("train", "error_flipped")] = error_rate(m_tr[flipped])
            out[("train", "error_clean")] = error_rate(m_tr[~flipped])
        if a is not None:
            out[("model", "second_layer_min")] = float(a.min())
            out[("model", "second_layer_max")] = float(a.max())
        return out


def evaluate(W: np.ndarray, train: PatchData, test: PatchData, sigma: Sigma,
             a: np.ndarray | None = None) -> dict:
    """All logged metrics at one point of training, as {(split, name): value}: the paper's model
    through the sparse kernel, any other through `evaluate_general`."""
    if a is not None or not (train.paper and test.paper):
        return evaluate_general(W, train, test, sigma, a)
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
