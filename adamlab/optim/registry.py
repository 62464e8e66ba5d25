"""The one list of optimisers (docs/contributing.md "Optimisers"; timm's create_optimizer_v2 / list_optimizers).

Each optimiser is one declaration: its chain of transforms (adamlab/optim/transforms.py,
composed as optax composes them: adamlab/optim/chain.py) and what the rest of adamlab needs to
know about it:

  chain         the transforms, in order. Everything about the update follows from it: the
                config fields it reads (`options`), its state, its decay convention
                (`decoupled`: add_decayed_weights after a stateful transform is AdamW's
                decoupled shrink W *= 1 - lr_t*lambda, before one an L2 term lambda*W in the
                gradient), its torch rule (`build`, for the reference and batched engines) and
                the fast engine's fused kernel (`kernel`: every transform has a compiled form)
  per_run       the options the batched engine may vary between runs stepping together
                (default: every option but the switches such as bias_correction)
  weight_decay  the paper's default lambda per task for its decay convention (docs/paper.md
                "Experiments"; default: L2_DECAY or DECOUPLED_DECAY by `decoupled`)
  defaults      config defaults that differ from the paper's Adam values (config.BASE_DEFAULTS)
  torch_class   the torch.optim class with the same update (task "images"; tests) or None, and
  torch_args    options -> its keyword arguments; torch_fused: whether the class's fused
                implementation runs on CUDA (the images task asks for it there)
  theory        the optimiser the paper's theorems treat it as ("adam", "adamw") or None
  label         how reports name it

Config choices, CLI help, the engines, theory.py, the report's labels and the tests'
parameter lists all read this registry; an unknown name raises a one-line ConfigError that lists
the known names. A new optimiser is one `register` line with its chain (plus a transform, if it
needs one the library lacks); `register` also works from a test file or a user's script.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Mapping

import torch

from ..core.errors import ConfigError
from ..core.registry import Registry
from .chain import Chain, ChainRule, chain
from .transforms import (MOMENTUM_DECAY, add_decayed_weights, scale_by_adagrad, scale_by_adam,
                         scale_by_learning_rate, scale_by_lion, scale_by_nadam, scale_by_rms,
                         scale_by_sign, trace)

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
    chain: Chain
    label: str
    per_run: tuple[str, ...] | None = None
    weight_decay: Mapping[str, float] | None = None
    defaults: Mapping[str, Any] = field(default_factory=dict)
    torch_class: type | None = None
    torch_args: Callable[[dict], dict] | None = None
    torch_fused: bool = False
    theory: str | None = None

    def __post_init__(self):
        if not isinstance(self.chain, Chain):
            raise ValueError(f"chain: must be a chain of transforms (adamlab.optim.chain), got "
                             f"{self.chain!r}")
        if self.per_run is None:
            object.__setattr__(self, "per_run", tuple(o for o in self.chain.options
                                                      if o not in self.chain.switches))
        if self.weight_decay is None:
            object.__setattr__(self, "weight_decay",
                               DECOUPLED_DECAY if self.decoupled else L2_DECAY)

    @property
    def options(self) -> tuple[str, ...]:
        """The config fields the chain reads (same names as the rule's options)."""
        return self.chain.options

    @property
    def decoupled(self) -> bool:
        """Weight decay as a decoupled shrink W *= 1 - lr_t*lambda (True: add_decayed_weights
        sits after a stateful transform) or an L2 term lambda*W in the gradient (False)."""
        return self.chain.decoupled

    @property
    def kernel(self) -> bool:
        """Whether the fast engine compiles this chain (every transform has a compiled form);
        engine="fast" runs the others on the reference engine and says so."""
        return self.chain.compiled

    @property
    def second_moment(self) -> bool:
        """Whether the rule normalises each coordinate by a second moment (has `preconditioner`;
        the step-ratio metric of synthetic/mechanism.py is logged for these)."""
        return self.chain.preconditioner is not None

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
        """The options' values in `cfg`; the chain's default for a field it lacks (an
        ImageConfig has no bias_correction or nesterov)."""
        defaults = self.chain.defaults
        return {o: getattr(cfg, o) if hasattr(cfg, o) else defaults[o] for o in self.options}

    def option_values(self, cfg) -> dict:
        """The exact options a config gives this optimiser: the fields in `options`, `decoupled`,
        and the chain's constants that no config field sets (e.g. NAdam's momentum_decay)."""
        out = {**self._read(cfg), "decoupled": self.decoupled}
        out.update({k: v for k, v in self.chain.defaults.items() if k not in out})
        return out

    def build(self, cfg) -> ChainRule:
        """The update rule for a config (or any object with the option fields; tensors for the
        batched engine's per-run hyperparameters)."""
        return self.chain.rule(**self._read(cfg))

    def make(self, **options) -> ChainRule:
        """The update rule for these options (the others take the chain's defaults)."""
        return self.chain.rule(**options)

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
    """Add an optimiser. Checks its name, that per_run is a subset of its chain's options, and
    its theory family and torch class (the spec itself checks that its chain is one)."""
    if spec.name == CUSTOM or not spec.name.isidentifier():
        raise ValueError(f"name: {spec.name!r} cannot name an optimiser")
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
        if kernel is not None and s.kernel != kernel:
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


# Adam and AdamW: the paper's pair, one transform apart (Sec. 3).
register(OptimizerSpec(
    "adam", chain(add_decayed_weights, scale_by_adam, scale_by_learning_rate), "Adam",
    theory="adam", torch_class=torch.optim.Adam, torch_args=_adam_args, torch_fused=True))
register(OptimizerSpec(
    "adamw", chain(scale_by_adam, add_decayed_weights, scale_by_learning_rate), "AdamW",
    theory="adamw", torch_class=torch.optim.AdamW, torch_args=_adam_args, torch_fused=True))
# Sign methods: the paper's small-step limit of Adam / AdamW (Sec. 4); no torch.optim class.
register(OptimizerSpec(
    "signsgd", chain(add_decayed_weights, scale_by_sign, scale_by_learning_rate), "SignSGD",
    theory="adam"))
register(OptimizerSpec(
    "signsgdw", chain(scale_by_sign, add_decayed_weights, scale_by_learning_rate), "SignSGDW",
    theory="adamw"))
# SGD / GD with torch's L2 term and momentum: the baseline of the earlier (S)GD analyses; full
# batch (B = n) is GD. The paper names momentum as one of the things its theory leaves out.
register(OptimizerSpec(
    "sgd", chain(add_decayed_weights, trace, scale_by_learning_rate), "SGD",
    torch_class=torch.optim.SGD,
    torch_args=lambda o: dict(lr=o["lr"], momentum=o["momentum"], nesterov=o["nesterov"],
                              weight_decay=o["weight_decay"]), torch_fused=True))
# RMSprop ~ Adam with beta1 = 0 (the same per-coordinate normalisation and L2 term): the theory's
# Adam mechanism. Its smoothing constant is torch's `alpha`, here beta2 (the config's alpha is the
# data's feature noise); torch's default 0.99.
register(OptimizerSpec(
    "rmsprop", chain(add_decayed_weights, scale_by_rms, scale_by_learning_rate), "RMSprop",
    defaults={"beta2": 0.99}, theory="adam", torch_class=torch.optim.RMSprop,
    torch_args=lambda o: dict(lr=o["lr"], alpha=o["beta2"], eps=o["eps"],
                              weight_decay=o["weight_decay"], momentum=o["momentum"])))
# Adagrad never forgets (no second-moment decay): outside the theory's memory argument. torch's
# eps default 1e-10.
register(OptimizerSpec(
    "adagrad", chain(add_decayed_weights, scale_by_adagrad, scale_by_learning_rate), "Adagrad",
    defaults={"eps": 1e-10}, torch_class=torch.optim.Adagrad,
    torch_args=lambda o: dict(lr=o["lr"], eps=o["eps"], weight_decay=o["weight_decay"])))
register(OptimizerSpec(
    "nadam", chain(add_decayed_weights, scale_by_nadam, scale_by_learning_rate), "NAdam",
    theory="adam", torch_class=torch.optim.NAdam,
    torch_args=lambda o: dict(**_adam_args(o), momentum_decay=MOMENTUM_DECAY)))
# Lion (Chen et al. 2023): decoupled decay; its paper's defaults betas (0.9, 0.99), a learning
# rate 3-10x below AdamW's and a weight decay 3-10x above it: here lr 1e-5 (the paper's 5e-5 / 5)
# and lambda 0.05 (AdamW's 0.01 x 5), so the per-step shrink lr*lambda = 5e-7 equals AdamW's.
register(OptimizerSpec(
    "lion", chain(scale_by_lion, add_decayed_weights, scale_by_learning_rate), "Lion",
    weight_decay={"synthetic": 5e-2}, defaults={"lr": 1e-5, "beta2": 0.99}, theory="adamw"))


__all__ = ["OptimizerSpec", "register", "unregister", "list_optimizers", "get", "label",
           "CUSTOM", "L2_DECAY", "DECOUPLED_DECAY"]
