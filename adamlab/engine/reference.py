"""The plain reference engine: dense patches, torch autograd, the update rules of adamlab.optim.

One Python iteration per step, exactly the paper's equations and nothing clever; every fast path is
tested against it.
"""
from __future__ import annotations

import numpy as np
import torch

from ..models import cnn
from ..models.activations import sigma_of
from ..optim import make_optimizer


class ReferenceEngine:
    def __init__(self, cfg, data, W0: np.ndarray):
        self.sigma = sigma_of(cfg)
        self.W = torch.tensor(W0, dtype=torch.float64).requires_grad_(True)
        self.X = torch.tensor(data.train.to_dense(), dtype=torch.float64)
        self.y = torch.tensor(data.train.y, dtype=torch.float64)
        self.opt = make_optimizer(cfg)
        self.state = self.opt.init(self.W.detach())
        self.t = 0

    def run(self, batches: np.ndarray) -> int | None:
        """Take one step per row of `batches`; return the step at which the batch loss was not
        finite (the run has diverged), else None."""
        for batch in torch.from_numpy(batches):
            self.t += 1
            loss = cnn.loss(self.W, self.X[batch], self.y[batch], self.sigma)
            if not torch.isfinite(loss):
                return self.t
            (grad,) = torch.autograd.grad(loss, self.W)
            with torch.no_grad():
                self.opt.step(self.W, grad, self.state, self.t)
        return None

    def weights(self) -> np.ndarray:
        return self.W.detach().numpy().copy()
