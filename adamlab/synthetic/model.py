"""The paper's two-layer CNN (docs/paper.md "Model", Definition 3.2).

    F_j(W, x) = sum_{r=1..m} [ sigma(<w_{j,r}, x1>) + sigma(<w_{j,r}, x2>) ],  j in {+1, -1}
    sigma(z)  = max(z, 0)^q  (the paper; other activations: synthetic/activations.py)

The second layer is fixed (+1 weights, no 1/m). W has shape (2, m, d): W[0] are the filters of class
+1 and W[1] those of class -1, initialised i.i.d. N(0, sigma0^2). The loss is the two-class softmax
cross-entropy, log(1 + exp(-y (F_{+1} - F_{-1}))), and the prediction is sign(F_{+1} - F_{-1}).

This module is the plain reference: dense torch, autograd does the rest. `sigma` is the configured
activation's torch version (`activations.sigma_of(cfg)`). The sparse kernels (synthetic/kernels.py)
compute the same function and are tested against it.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

CLASS_SIGNS = (1.0, -1.0)  # row j of W belongs to class CLASS_SIGNS[j]
Activation = Callable[[torch.Tensor], torch.Tensor]


def init_weights(cfg) -> np.ndarray:
    """(2, m, d) float64 Gaussian init; its own random stream of the seed."""
    rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, 2]))
    return rng.normal(0.0, cfg.sigma0, size=(2, cfg.width, cfg.d))


def outputs(W: torch.Tensor, X: torch.Tensor, sigma: Activation) -> torch.Tensor:
    """F: (N, 2) class outputs for dense inputs X: (N, 2 patches, d)."""
    z = torch.einsum("jrd,npd->njrp", W, X)
    return sigma(z).sum(dim=(2, 3))


def margins(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, sigma: Activation) -> torch.Tensor:
    """y * (F_{+1} - F_{-1}); positive means correctly classified."""
    out = outputs(W, X, sigma)
    return y * (out[:, 0] - out[:, 1])


def loss(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, sigma: Activation) -> torch.Tensor:
    """Mean cross-entropy (= softplus of the negative margin) over the given examples."""
    return F.softplus(-margins(W, X, y, sigma)).mean()
