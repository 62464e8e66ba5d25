"""The paper's two-layer CNN (docs/paper.md "Model", Definition 3.2), with K classes and an
optionally trained second layer (docs/implementation.md "More classes, label noise, a trained
second layer").

    F_j(W, x) = sum_{r=1..m} a_{j,r} [ sigma(<w_{j,r}, x1>) + sigma(<w_{j,r}, x2>) ],  j = 0..K-1
    sigma(z)  = max(z, 0)^q  (the paper; other activations: synthetic/activations.py)

The paper's second layer is fixed, a_{j,r} = +1 (no 1/m), and K = 2: W has shape (2, m, d), W[0]
the filters of class +1 and W[1] those of class -1, initialised i.i.d. N(0, sigma0^2). Its loss is
the two-class softmax cross-entropy, log(1 + exp(-y (F_{+1} - F_{-1}))), and the prediction is
sign(F_{+1} - F_{-1}). With K classes W is (K, m, d) (one output group of m filters per class), the
loss is the softmax cross-entropy log sum_c exp(F_c) - F_y and the prediction argmax_c F_c; K = 2
keeps the closed form above, so its numbers are the paper model's. With `second_layer="trained"`
the output weights a (K, m) start at 1 (step 0 is the paper's model) and are trained too; `a=None`
is the fixed layer.

This module is the plain reference: dense torch, autograd does the rest. `sigma` is the configured
activation's torch version (`activations.sigma_of(cfg)`). The sparse kernels (synthetic/kernels.py)
compute the same function and are tested against it.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

CLASS_SIGNS = (1.0, -1.0)  # two classes: row j of W belongs to class CLASS_SIGNS[j]
Activation = Callable[[torch.Tensor], torch.Tensor]


def init_weights(cfg) -> np.ndarray:
    """(K, m, d) float64 Gaussian init; its own random stream of the seed (K = 2 draws the
    paper's numbers)."""
    rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, 2]))
    return rng.normal(0.0, cfg.sigma0, size=(cfg.classes, cfg.width, cfg.d))


def init_second_layer(cfg) -> np.ndarray | None:
    """(K, m) ones for a trained second layer (the paper's fixed weights as its start), else None."""
    if cfg.second_layer == "fixed":
        return None
    return np.ones((cfg.classes, cfg.width))


def outputs(W: torch.Tensor, X: torch.Tensor, sigma: Activation,
            a: torch.Tensor | None = None) -> torch.Tensor:
    """F: (N, K) class outputs for dense inputs X: (N, 2 patches, d); a: (K, m) output weights or
    None (all +1)."""
    z = torch.einsum("jrd,npd->njrp", W, X)
    if a is None:
        return sigma(z).sum(dim=(2, 3))
    return (sigma(z).sum(dim=3) * a).sum(dim=2)


def margins(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, sigma: Activation,
            a: torch.Tensor | None = None) -> torch.Tensor:
    """Two classes: y * (F_{+1} - F_{-1}); positive means correctly classified."""
    out = outputs(W, X, sigma, a)
    return y * (out[:, 0] - out[:, 1])


def loss(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, sigma: Activation,
         a: torch.Tensor | None = None) -> torch.Tensor:
    """Mean cross-entropy over the given examples: softplus of the negative margin for two
    classes (labels +-1), log sum_c exp(F_c) - F_y for K >= 3 (labels the class indices)."""
    if W.shape[0] == 2:
        return F.softplus(-margins(W, X, y, sigma, a)).mean()
    return F.cross_entropy(outputs(W, X, sigma, a), y.long())
