"""Update rules with explicit state (PAPER.md "Optimisers").

Each rule is a small object with `init(W) -> state` and an in-place `step(W, grad, state, t)`,
written in torch so that hyperparameters may be tensors broadcasting over a leading run axis (many
runs stepping together). The update equations are in each class's docstring; the fast engine's
compiled kernels implement the same equations and are tested against these.
"""
from __future__ import annotations

from .adam import Adam
from .sign import SignSGD
from .sgd import SGD


def make_optimizer(cfg):
    """The update rule a SyntheticConfig (or any config with the same optimiser fields) names."""
    name = cfg.optimizer
    if name in ("adam", "adamw"):
        return Adam(lr=cfg.lr, weight_decay=cfg.weight_decay, beta1=cfg.beta1, beta2=cfg.beta2,
                    eps=cfg.eps, bias_correction=cfg.bias_correction, decoupled=name == "adamw")
    if name in ("signsgd", "signsgdw"):
        return SignSGD(lr=cfg.lr, weight_decay=cfg.weight_decay, decoupled=name == "signsgdw")
    if name == "sgd":
        return SGD(lr=cfg.lr, weight_decay=cfg.weight_decay, momentum=cfg.momentum)
    raise ValueError(f"optimizer: unknown {name!r}")


__all__ = ["Adam", "SignSGD", "SGD", "make_optimizer"]
