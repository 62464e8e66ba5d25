"""Any torch optimiser on the paper's model: `adamlab.train(config, optimizer=torch.optim.X)`.

`TorchRule` puts a torch.optim optimiser behind the rule interface (init/step) of adamlab.optim,
so the reference engine steps it like its own rules: the optimiser gets one parameter sharing
W's storage, the engine's gradient (clipped, if the config says so) as that parameter's .grad,
and, under a learning-rate schedule, each step's rate in every parameter group (the schedule's
factor times the group's initial rate). `describe` gives the text that identifies it in the
config (class and repr: its options) and the options recorded in the result's meta.
"""
from __future__ import annotations

import math
from typing import Callable

import torch

from ..core.errors import ConfigError


def _instantiate(factory: Callable, params) -> torch.optim.Optimizer:
    opt = factory(params)
    if not isinstance(opt, torch.optim.Optimizer):
        raise ConfigError(f"optimizer: must be a torch.optim.Optimizer class or a function "
                          f"params -> optimizer, got {factory!r} (which made {type(opt).__name__})")
    return opt


def describe(factory: Callable) -> tuple[str, dict]:
    """(class and repr, JSON-ready options) of the optimiser `factory` makes, from a probe
    instance on a dummy parameter."""
    probe = _instantiate(factory, [torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))])
    cls = type(probe)
    text = f"{cls.__module__}.{cls.__qualname__}: {probe!r}"
    options = {k: _plain(v) for k, v in probe.defaults.items()}
    return text, {"class": f"{cls.__module__}.{cls.__qualname__}", **options}


def _plain(v):
    if isinstance(v, (bool, int, str)) or v is None:
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else repr(v)
    if isinstance(v, (tuple, list)):
        return [_plain(x) for x in v]
    return repr(v)


class TorchRule:
    """A torch optimiser as an adamlab update rule (reference engine only: one run)."""

    def __init__(self, factory: Callable):
        self.factory = factory
        self.lr = None  # the first parameter group's initial rate, known after init

    def init(self, W: torch.Tensor) -> dict:
        param = torch.nn.Parameter(W)  # shares W's storage: the optimiser updates W in place
        opt = _instantiate(self.factory, [param])
        base = [g["lr"] for g in opt.param_groups]
        self.lr = base[0]
        return {"param": param, "optimizer": opt, "base_lr": base}

    def step(self, W: torch.Tensor, grad: torch.Tensor, state: dict, t: int, lr=None) -> None:
        opt, param = state["optimizer"], state["param"]
        if lr is not None:  # the schedule's factor times each group's initial rate
            factor = lr / self.lr
            for group, base in zip(opt.param_groups, state["base_lr"]):
                group["lr"] = base * factor
        # contiguous: torch's fused CPU Adam(W) mis-steps a gradient laid out unlike its parameter
        param.grad = grad.contiguous()
        opt.step()
        param.grad = None


__all__ = ["TorchRule", "describe"]
