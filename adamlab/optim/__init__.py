"""Optimisers composed from transforms (docs/paper.md "Optimisers"), and the registry that lists them.

An optimiser is a chain of transforms (optax's composition): `transforms` holds each transform
in its torch form and its compiled per-element form side by side, `chain` composes them into an
update rule with explicit state (`init(W) -> state` and an in-place `step(W, grad, state, t,
lr)` in torch, whose hyperparameters may be tensors broadcasting over a leading run axis: many
runs stepping together) and into the source of the fast engine's fused update loop. Adam and
AdamW differ only in where `add_decayed_weights` sits. `registry` is the one list of what exists:
one declaration per optimiser.
"""
from __future__ import annotations

from .chain import Chain, ChainRule, Term, Transform, chain
from .registry import OptimizerSpec, get, label, list_optimizers, register, unregister


def make_optimizer(cfg):
    """The update rule a SyntheticConfig (or any object with the same optimiser fields) names;
    an unknown name is a ConfigError listing the known ones."""
    return get(cfg.optimizer).build(cfg)


__all__ = ["Chain", "ChainRule", "OptimizerSpec", "Term", "Transform", "chain", "get", "label",
           "list_optimizers", "make_optimizer", "register", "unregister"]
