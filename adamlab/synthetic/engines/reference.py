"""The plain reference engine: dense patches, torch autograd, the update rules of adamlab.optim.

One Python iteration per step, exactly the paper's equations and nothing clever; every fast path is
tested against it. Per step: the batch loss's gradient, clipped to `clip_norm` when set
(optim/clip.py), then the rule's update at the schedule's rate (optim/schedule.py). It also runs
optimisers without a fast kernel and torch optimisers passed to adamlab.train (optim/custom.py).
`state()` / `load_state()` save and continue a run (core/state.py), in the fast engine's layout.

It runs every data and model variant (K classes, label noise, a trained second layer; the fast
engine falls back to it for the trained layer, train.engine_for). A trained second layer a (K, m)
is stepped by the same rule with its own state, as one torch.optim parameter group holding W and a
would (weight decay included), and `clip_norm` clips the joint norm of both gradients.
"""
from __future__ import annotations

import numpy as np
import torch

from ...core.errors import ConfigError
from ...optim import make_optimizer
from ...optim.clip import clip_by_global_norm
from ...optim.custom import TorchRule
from ...optim.schedule import Schedule
from .. import model as cnn
from ..activations import sigma_of
from ..data import feature_coordinates
from ..mechanism import noise_coordinates, step_ratio_metrics

# The key of the trained output weights in a saved state's optimiser arrays (core/state.py keeps
# W alone as `weights`); their rule state follows as "second_layer.<key>".
SECOND_LAYER = "second_layer"


class ReferenceEngine:
    def __init__(self, cfg, data, W0: np.ndarray, torch_optimizer=None):
        self.sigma = sigma_of(cfg)
        self.W = torch.tensor(W0, dtype=torch.float64).requires_grad_(True)
        a0 = cnn.init_second_layer(cfg)
        if a0 is not None and torch_optimizer is not None:
            raise ConfigError("second_layer: a trained second layer runs with the built-in "
                              "optimisers only, not a torch optimiser, got 'trained'")
        self.a = None if a0 is None else torch.tensor(a0).requires_grad_(True)
        self.X = torch.tensor(data.train.to_dense(), dtype=torch.float64)
        self.y = torch.tensor(data.train.y, dtype=torch.float64)
        self.opt = make_optimizer(cfg) if torch_optimizer is None else TorchRule(torch_optimizer)
        self.opt_state = self.opt.init(self.W.detach())
        self.a_state = None if self.a is None else self.opt.init(self.a.detach())
        self.schedule = Schedule(cfg)
        self.clip_norm = cfg.clip_norm
        self.coords = noise_coordinates(data.train)
        self.features = tuple(range(feature_coordinates(data.train.classes)))
        self.t = 0
        self.updates = 0

    def run(self, batches: np.ndarray) -> int | None:
        """Take one step per row of `batches`; return the step at which the batch loss was not
        finite (the run has diverged), else None."""
        for batch in torch.from_numpy(batches):
            self.t += 1
            loss = cnn.loss(self.W, self.X[batch], self.y[batch], self.sigma, self.a)
            if not torch.isfinite(loss):
                return self.t
            lr = None if self.schedule.constant else self.opt.lr * self.schedule.factor(self.t)
            if self.a is None:
                (grad,) = torch.autograd.grad(loss, self.W)
                if self.clip_norm is not None:
                    grad = clip_by_global_norm(grad, self.clip_norm)
                with torch.no_grad():
                    self.opt.step(self.W, grad, self.opt_state, self.t, lr=lr)
            else:
                grad, grad_a = torch.autograd.grad(loss, (self.W, self.a))
                if self.clip_norm is not None:
                    flat = clip_by_global_norm(torch.cat([grad.flatten(), grad_a.flatten()]),
                                               self.clip_norm)
                    k = grad.numel()
                    grad, grad_a = flat[:k].view_as(grad), flat[k:].view_as(grad_a)
                with torch.no_grad():
                    self.opt.step(self.W, grad, self.opt_state, self.t, lr=lr)
                    self.opt.step(self.a, grad_a, self.a_state, self.t, lr=lr)
            self.updates = self.t
        return None

    def weights(self) -> np.ndarray:
        return self.W.detach().numpy().copy()

    def second_layer(self) -> np.ndarray | None:
        """The trained output weights a (K, m), or None for the paper's fixed layer."""
        return None if self.a is None else self.a.detach().numpy().copy()

    def state(self) -> dict:
        """t, W (K, m, d) and the rule's state as numpy copies (the layout of FastEngine.state)."""
        if isinstance(self.opt, TorchRule):
            raise ConfigError("save_state: a run with a torch optimiser (optimizer 'custom') "
                              "keeps its state inside torch; it cannot be saved or continued")
        opt = {k: v.detach().numpy().copy() for k, v in self.opt_state.items()}
        if self.a is not None:  # the output weights and their rule state ride along
            opt[SECOND_LAYER] = self.second_layer()
            opt.update({f"{SECOND_LAYER}.{k}": v.detach().numpy().copy()
                        for k, v in self.a_state.items()})
        return {"t": self.t, "weights": self.weights(), "optimizer": opt}

    def load_state(self, state: dict) -> None:
        """Continue from `state()` of a run with the same config, in place."""
        with torch.no_grad():
            self.W.copy_(torch.from_numpy(np.asarray(state["weights"], dtype=np.float64)))
            for k, v in self.opt_state.items():
                v.copy_(torch.from_numpy(np.asarray(state["optimizer"][k], dtype=np.float64)))
            if self.a is not None:
                self.a.copy_(torch.from_numpy(np.asarray(state["optimizer"][SECOND_LAYER])))
                for k, v in self.a_state.items():
                    v.copy_(torch.from_numpy(np.asarray(state["optimizer"][f"{SECOND_LAYER}.{k}"],
                                                        dtype=np.float64)))
        self.t = self.updates = int(state["t"])

    def extra_metrics(self) -> dict:
        return step_ratio_metrics(self.opt, self.opt_state, self.updates, self.coords,
                                  self.features)
