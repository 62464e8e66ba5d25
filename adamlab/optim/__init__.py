"""Update rules with explicit state (docs/paper.md "Optimisers"), and the registry that lists them.

Each rule is a small object with `init(W) -> state` and an in-place `step(W, grad, state, t, lr)`,
written in torch so that hyperparameters may be tensors broadcasting over a leading run axis (many
runs stepping together); `lr` is the step's learning rate when a schedule changes it. The update
equations are in each module's docstring; the fast engine's compiled kernels implement the same
equations and are tested against these. `registry` is the one list of what exists.
"""
from __future__ import annotations

from .adagrad import Adagrad
from .adam import Adam
from .lion import Lion
from .nadam import NAdam
from .registry import OptimizerSpec, get, label, list_optimizers, register, unregister
from .rmsprop import RMSprop
from .sgd import SGD
from .sign import SignSGD


def make_optimizer(cfg):
    """The update rule a SyntheticConfig (or any object with the same optimiser fields) names;
    an unknown name is a ConfigError listing the known ones."""
    return get(cfg.optimizer).build(cfg)


__all__ = ["Adam", "Adagrad", "Lion", "NAdam", "RMSprop", "SignSGD", "SGD", "OptimizerSpec",
           "get", "label", "list_optimizers", "make_optimizer", "register", "unregister"]
