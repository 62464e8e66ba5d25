"""The one list of optimisers (docs/contributing.md "Optimisers"; timm's create_optimizer_v2 / list_optimizers).

Each entry says everything the rest of adamlab needs to know about an optimiser:

  rule          the update rule in adamlab.optim (init/step on torch tensors; hyperparameters may
                be per-run tensors), built from the config fields named in `options`
  options       the config fields the rule reads (its constructor arguments, same names)
  per_run       those of the options the batched engine may vary between runs stepping together
                (the rest must be equal within a group)
  decoupled     weight decay as a decoupled shrink W *= 1 - lr_t*lambda (True) or an L2 term
                lambda*W added to the gradient (False); passed to rules that take `decoupled`
  weight_decay  the paper's default lambda per task (docs/paper.md "Experiments")
  defaults      config defaults that differ from the paper's Adam values (config.BASE_DEFAULTS)
  kernel        the fast engine's fused-update kernel (synthetic/engines/fast.py KERNELS) or None: then
                engine="fast" runs the reference engine instead and says so
  torch_class   the torch.optim class with the same update (task "images"; tests) or None, and
  torch_args    options -> its keyword arguments; torch_fused: whether the class's fused
                implementation runs on CUDA (the images task asks for it there)
  theory        the optimiser the paper's theorems treat it as ("adam", "adamw") or None
  label         how reports name it

Config choices, CLI help, the engines, theory.py, the report's labels and the tests'
parameter lists all read this registry; an unknown name raises a one-line ConfigError that lists
the known names. A new optimiser is one rule module plus one `register` line (plus its fast
kernel, if it has one); `register` also works from a test file or a user's script.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Mapping

import torch

from ..core.errors import ConfigError
from ..core.registry import Registry
from .adagrad import Adagrad
from .adam import Adam
from .lion import Lion
from .nadam import MOMENTUM_DECAY, NAdam
from .rmsprop import RMSprop
from .sgd import SGD
from .sign import SignSGD

THEORY_FAMILIES = ("adam", "adamw")
CUSTOM = "custom"  # the config's name for a torch optimiser passed to adamlab.train (not an entry)

# The paper's weight decay when none is given (docs/paper.md "Experiments"): synthetic App. D.2 Adam
# 1e-5, AdamW 0.01; CIFAR-10 Fig 1 Adam 5e-4, AdamW 1e-2. Optimisers the paper did not run take
# the value of their convention (an L2 term like Adam, or a decoupled shrink like AdamW).
L2_DECAY = MappingProxyType({"synthetic": 1e-5, "images": 5e-4})
DECOUPLED_DECAY = MappingProxyType({"synthetic": 1e-2, "images": 1e-2})


@dataclass(frozen=True)
class OptimizerSpec:
    name: str
    rule: type
    options: tuple[str, ...]
    per_run: tuple[str, ...]
    label: str
    decoupled: bool = False
    weight_decay: Mapping[str, float] = field(default_factory=lambda: L2_DECAY)
    defaults: Mapping[str, Any] = field(default_factory=dict)
    kernel: str | None = None
    torch_class: type | None = None
    torch_args: Callable[[dict], dict] | None = None
    torch_fused: bool = False
    theory: str | None = None

    @property
    def second_moment(self) -> bool:
        """Whether the rule normalises each coordinate by a second moment (has `preconditioner`;
        the step-ratio metric of synthetic/mechanism.py is logged for these)."""
        return hasattr(self.rule, "preconditioner")

    def shared(self) -> tuple[str, ...]:
        """Options that runs stepping together in the batched engine must share."""
        return tuple(o for o in self.options if o not in self.per_run)

    def paper_weight_decay(self, task: str) -> float:
        """The paper's weight decay for this optimiser's decay convention on `task`; a ConfigError
        when it has none (set weight_decay explicitly)."""
        if task not in self.weight_decay:
            raise ConfigError(f"optimizer: {self.name} has no default weight decay for task "
                              f"{task!r}; set weight_decay")
        return self.weight_decay[task]

    def _read(self, cfg) -> dict:
        """The options' values in `cfg`; the rule's own default for a field it lacks (an
        ImageConfig has no bias_correction or nesterov)."""
        params = inspect.signature(self.rule).parameters
        return {o: getattr(cfg, o) if hasattr(cfg, o) else params[o].default
                for o in self.options}

    def option_values(self, cfg) -> dict:
        """The exact options a config gives this optimiser: the fields in `options`, `decoupled`,
        and the rule's constants that no config field sets (e.g. NAdam's momentum_decay)."""
        out = {**self._read(cfg), "decoupled": self.decoupled}
        out.update({k: p.default for k, p in inspect.signature(self.rule).parameters.items()
                    if k not in out and p.default is not inspect.Parameter.empty})
        return out

    def build(self, cfg):
        """The update rule for a config (or any object with the option fields; tensors for the
        batched engine's per-run hyperparameters)."""
        kw = self._read(cfg)
        if "decoupled" in inspect.signature(self.rule).parameters:
            kw["decoupled"] = self.decoupled
        return self.rule(**kw)

    def torch_optimizer(self, cfg, params, **extra) -> torch.optim.Optimizer:
        """torch.optim's equivalent of this rule for a config (task "images"). extra: keyword
        arguments such as foreach=False, passed only where the class takes them; fused=True only
        where the entry says torch_fused."""
        if self.torch_class is None:
            have = ", ".join(list_optimizers(torch=True))
            raise ConfigError(f"optimizer: {self.name} has no torch.optim class, so it cannot "
                              f"train task 'images' (optimisers with one: {have})")
        accepted = inspect.signature(self.torch_class).parameters
        if not self.torch_fused:
            extra.pop("fused", None)
        extra = {k: v for k, v in extra.items() if k in accepted}
        return self.torch_class(params, **self.torch_args(self.option_values(cfg)), **extra)


_REGISTRY: Registry[OptimizerSpec] = Registry("optimizer")


def register(spec: OptimizerSpec, replace: bool = False) -> OptimizerSpec:
    """Add an optimiser. Checks that its options are arguments of its rule (same names as the
    config fields) and that per_run is a subset of them."""
    if spec.name == CUSTOM or not spec.name.isidentifier():
        raise ValueError(f"name: {spec.name!r} cannot name an optimiser")
    params = inspect.signature(spec.rule).parameters
    missing = [o for o in spec.options if o not in params]
    if missing:
        raise ValueError(f"options: {spec.rule.__name__} takes no argument {missing[0]!r}")
    if not set(spec.per_run) <= set(spec.options):
        raise ValueError(f"per_run: must be among the options {spec.options}, got {spec.per_run}")
    if spec.theory not in (None, *THEORY_FAMILIES):
        raise ValueError(f"theory: must be one of None, {', '.join(THEORY_FAMILIES)}, "
                         f"got {spec.theory!r}")
    if (spec.torch_class is None) != (spec.torch_args is None):
        raise ValueError("torch_class, torch_args: give both or neither")
    return _REGISTRY.add(spec.name, spec, replace=replace)


def unregister(name: str) -> None:
    """Remove optimiser `name` from the registry (tests that register a temporary one use it)."""
    _REGISTRY.remove(name)


def list_optimizers(*, kernel: bool | None = None, torch: bool | None = None,
                    second_moment: bool | None = None) -> tuple[str, ...]:
    """Registered names in registration order; each filter, when given, keeps the optimisers
    that have (True) or lack (False) a fast kernel / a torch.optim class / a second moment."""
    out = []
    for name, s in _REGISTRY.items():
        if kernel is not None and (s.kernel is not None) != kernel:
            continue
        if torch is not None and (s.torch_class is not None) != torch:
            continue
        if second_moment is not None and s.second_moment != second_moment:
            continue
        out.append(name)
    return tuple(out)


def get(name: str, field: str = "optimizer") -> OptimizerSpec:
    """The entry of `name`; an unknown name is a ConfigError naming `field` and the known names."""
    return _REGISTRY.get(name, field)


def label(name: str) -> str:
    """The report's name for an optimiser (a custom torch optimiser keeps its config name)."""
    spec = _REGISTRY.find(name)
    return spec.label if spec is not None else name


def optimizer_choices(cfg=None) -> tuple[str, ...]:
    """A config's optimizer choices: the registry's names, read at validation time (so an
    optimiser registered later, e.g. in a test file, is accepted), plus "custom" for a config
    that carries a torch optimiser's description (adamlab.train(config, optimizer=...))."""
    custom = cfg is not None and getattr(cfg, "custom_optimizer", None) is not None
    return list_optimizers() + ((CUSTOM,) if custom else ())


def _adam_args(o: dict) -> dict:
    return dict(lr=o["lr"], betas=(o["beta1"], o["beta2"]), eps=o["eps"],
                weight_decay=o["weight_decay"])


ADAM_OPTIONS = ("lr", "weight_decay", "beta1", "beta2", "eps", "bias_correction")
ADAM_PER_RUN = ("lr", "weight_decay", "beta1", "beta2", "eps")

register(OptimizerSpec(
    "adam", Adam, ADAM_OPTIONS, ADAM_PER_RUN, "Adam", kernel="adam", theory="adam",
    torch_class=torch.optim.Adam, torch_args=_adam_args, torch_fused=True))
register(OptimizerSpec(
    "adamw", Adam, ADAM_OPTIONS, ADAM_PER_RUN, "AdamW", decoupled=True,
    weight_decay=DECOUPLED_DECAY, kernel="adam", theory="adamw",
    torch_class=torch.optim.AdamW, torch_args=_adam_args, torch_fused=True))
# Sign methods: the paper's small-step limit of Adam / AdamW (Sec. 4); no torch.optim class.
register(OptimizerSpec(
    "signsgd", SignSGD, ("lr", "weight_decay"), ("lr", "weight_decay"), "SignSGD",
    kernel="sign", theory="adam"))
register(OptimizerSpec(
    "signsgdw", SignSGD, ("lr", "weight_decay"), ("lr", "weight_decay"), "SignSGDW",
    decoupled=True, weight_decay=DECOUPLED_DECAY, kernel="sign", theory="adamw"))
register(OptimizerSpec(
    "sgd", SGD, ("lr", "weight_decay", "momentum", "nesterov"),
    ("lr", "weight_decay", "momentum"), "SGD", kernel="sgd",
    torch_class=torch.optim.SGD,
    torch_args=lambda o: dict(lr=o["lr"], momentum=o["momentum"], nesterov=o["nesterov"],
                              weight_decay=o["weight_decay"]), torch_fused=True))
# RMSprop ~ Adam with beta1 = 0 (the same per-coordinate normalisation and L2 term): the theory's
# Adam mechanism. Its smoothing constant is torch's `alpha`, here beta2 (the config's alpha is the
# data's feature noise); torch's default 0.99.
register(OptimizerSpec(
    "rmsprop", RMSprop, ("lr", "weight_decay", "beta2", "eps", "momentum"),
    ("lr", "weight_decay", "beta2", "eps", "momentum"), "RMSprop", defaults={"beta2": 0.99},
    kernel="rmsprop", theory="adam", torch_class=torch.optim.RMSprop,
    torch_args=lambda o: dict(lr=o["lr"], alpha=o["beta2"], eps=o["eps"],
                              weight_decay=o["weight_decay"], momentum=o["momentum"])))
# Adagrad never forgets (no second-moment decay): outside the theory's memory argument. torch's
# eps default 1e-10.
register(OptimizerSpec(
    "adagrad", Adagrad, ("lr", "weight_decay", "eps"), ("lr", "weight_decay", "eps"), "Adagrad",
    defaults={"eps": 1e-10}, kernel="adagrad", torch_class=torch.optim.Adagrad,
    torch_args=lambda o: dict(lr=o["lr"], eps=o["eps"], weight_decay=o["weight_decay"])))
register(OptimizerSpec(
    "nadam", NAdam, ("lr", "weight_decay", "beta1", "beta2", "eps"),
    ("lr", "weight_decay", "beta1", "beta2", "eps"), "NAdam", kernel="nadam", theory="adam",
    torch_class=torch.optim.NAdam,
    torch_args=lambda o: dict(**_adam_args(o), momentum_decay=MOMENTUM_DECAY)))
# Lion (Chen et al. 2023): decoupled decay; its paper's defaults betas (0.9, 0.99), a learning
# rate 3-10x below AdamW's and a weight decay 3-10x above it: here lr 1e-5 (the paper's 5e-5 / 5)
# and lambda 0.05 (AdamW's 0.01 x 5), so the per-step shrink lr*lambda = 5e-7 equals AdamW's.
register(OptimizerSpec(
    "lion", Lion, ("lr", "weight_decay", "beta1", "beta2"),
    ("lr", "weight_decay", "beta1", "beta2"), "Lion", decoupled=True,
    weight_decay={"synthetic": 5e-2}, defaults={"lr": 1e-5, "beta2": 0.99}, kernel="lion",
    theory="adamw"))


__all__ = ["OptimizerSpec", "register", "unregister", "list_optimizers", "get", "label",
           "CUSTOM", "L2_DECAY", "DECOUPLED_DECAY"]
