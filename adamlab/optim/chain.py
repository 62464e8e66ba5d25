"""Optimisers composed from transforms (optax's `chain`): the algebra that runs a chain, in torch
and as the source of the fast engine's fused loop.

A transform maps the update u (initially the gradient g) to a new update; an optimiser is a
chain of them, applied in order, and W_t = W_{t-1} - u_final. Two transforms are linear and
handled here; the stateful ones (adamlab/optim/transforms.py) bring their own two forms:

    add_decayed_weights      u <- u + lambda * W_{t-1}
    scale_by_learning_rate   u <- eta_t * u
    scale_by_<X>, trace      u <- X(u, state)       (elementwise, with per-weight state)

So the paper's distinction is where one transform sits (docs/paper.md "Optimisers"):

    Adam  (L2)        = chain(add_decayed_weights, scale_by_adam, scale_by_learning_rate)
                        u = eta_t * adam(g + lambda W)
    AdamW (decoupled) = chain(scale_by_adam, add_decayed_weights, scale_by_learning_rate)
                        u = eta_t * (adam(g) + lambda W)
                        i.e. W_t = (1 - eta_t lambda) W_{t-1} - eta_t adam(g)

How a chain runs. Until the first stateful transform the update is a tensor (the gradient plus
any L2 term, computed as g + lambda * W). A stateful transform returns its update as a sum of
`Term`s, coef * num / den, whose scalar coefficient is a function of the scale that later
transforms apply (so Adam's step size is computed as eta_t / (1 - beta1^t), as torch does); a
weight term lambda * W added after it is kept apart and folded into one shrink of the weights,
W <- (1 - eta_t lambda) W, as torch.optim.AdamW applies it. The last step writes

    W_t = shrink * W_{t-1} - coef_1 * num_1 / den_1 - coef_2 * num_2 / den_2 ...

in this order of floating-point operations, the same in torch (`ChainRule`, the reference and
batched engines) and in the fast engine's fused loop (`Chain.kernel_source`, written by
adamlab/optim/chain_source.py and compiled by adamlab/synthetic/update_kernel.py): the per-step
scalars are computed in float64 and rounded once to the weights' dtype, and the weights are
always multiplied by their shrink (1 without decoupled decay), so LLVM's multiply-add
contraction fuses the same product whatever the chain. A stateful transform after another one
sees the sum of the terms as its input.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Callable, Mapping

import torch

from ._checks import check_range
from .chain_source import check_names, render

@dataclass(frozen=True)
class Term:
    """One term of a stateful transform's update: coef(scale) * num / den (den None: no
    division). coef maps the scale later transforms apply (the learning rate) to this term's
    scalar coefficient, computed before it multiplies num (torch's and the kernel's order)."""

    coef: Callable[[Any], Any]
    num: torch.Tensor
    den: torch.Tensor | None = None


@dataclass(frozen=True)
class Transform:
    """One transform of an optimiser's chain, in its two forms side by side.

    options   the config fields it reads -> the value used when a config lacks the field (an
              ImageConfig has no bias_correction); a bool default marks a switch (shared by
              the runs of a batched group, a bool in the kernel)
    ranges    option -> (lo, hi, lo_open): checked when a rule is built (hi None: unbounded)
    state     its per-weight state arrays (zero at the start), e.g. ("m", "v")
    scalars   its per-run scalar state (one at the start), e.g. NAdam's ("mu_product",)
    constants values no config field sets (NAdam's momentum_decay), read like options
    torch     the torch form: torch(g, state, t, o) -> tuple of Terms, updating `state` in
              place; o holds the options and constants (floats, or per-run (K, 1, 1) tensors)
    prelude   the compiled form, per step: numba source run once before the loop over weights
              (options, constants, scalar state and t by name; `ft` rounds to the weights'
              dtype, `one`, `zero`, and the flush thresholds `tm` (first moments), `tv` (second))
    element   the compiled form, per weight e: numba source reading the incoming update `g`
              and the weight `w`, and its state arrays by their upper-case names (M[e]); it
              may assign `g` (the update it passes on) and names of its own
    terms     the compiled update: (coef, expression) pairs, coef with "{s}" for the scale
    preconditioner  (state, t, o) -> each weight's step size per unit of lr, for the step-ratio
              metric (synthetic/mechanism.py), or None
    check     (o) -> None: a check across options beyond `ranges` (raises ValueError)
    linear    "weight_decay" for add_decayed_weights, "lr" for scale_by_learning_rate (the two
              linear transforms, run by the chain itself); None for the stateful ones
    """

    name: str
    options: Mapping[str, Any] = field(default_factory=dict)
    ranges: Mapping[str, tuple] = field(default_factory=dict)
    state: tuple[str, ...] = ()
    scalars: tuple[str, ...] = ()
    constants: Mapping[str, float] = field(default_factory=dict)
    torch: Callable | None = None
    prelude: str = ""
    element: str = ""
    terms: tuple[tuple[str, str], ...] = ()
    preconditioner: Callable | None = None
    check: Callable | None = None
    linear: str | None = None

    @property
    def compiled(self) -> bool:
        """Whether it has a compiled form (a chain runs on the fast engine only if all do)."""
        return self.linear is not None or bool(self.terms)

    def __repr__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Chain:
    """An optimiser: its transforms, applied in order (`chain(...)` builds one)."""

    transforms: tuple[Transform, ...]

    def __post_init__(self):
        if not any(t.linear == "lr" for t in self.transforms):
            raise ValueError("chain: needs scale_by_learning_rate (the step's learning rate)")
        if sum(t.linear == "weight_decay" for t in self.transforms) > 1:
            raise ValueError("chain: add_decayed_weights may appear once")
        seen: dict[str, str] = {}
        for t in self.transforms:
            for key in (*t.state, *t.scalars):
                if key in seen:
                    raise ValueError(f"chain: {t.name} and {seen[key]} both keep state {key!r}")
                seen[key] = t.name
        if self.compiled:
            check_names(self.transforms)

    # ---- what the registry and the engines read ----

    @property
    def options(self) -> tuple[str, ...]:
        """The config fields the chain reads: lr, weight_decay, then the others in chain order."""
        names = [o for t in self.transforms for o in t.options]
        first = [o for o in ("lr", "weight_decay") if o in names]
        return tuple(dict.fromkeys(first + names))

    @property
    def defaults(self) -> dict:
        """Each option's value when a config lacks the field, and the constants."""
        out = {}
        for t in self.transforms:
            out.update(t.options)
            out.update(t.constants)
        return out

    @property
    def switches(self) -> tuple[str, ...]:
        """The options that are switches (bool defaults): never per-run."""
        return tuple(o for o in self.options if isinstance(self.defaults.get(o), bool))

    @property
    def state(self) -> tuple[str, ...]:
        """The per-weight state arrays, in chain order."""
        return tuple(k for t in self.transforms for k in t.state)

    @property
    def scalars(self) -> tuple[str, ...]:
        """The per-run scalar state, in chain order."""
        return tuple(k for t in self.transforms for k in t.scalars)

    @property
    def decoupled(self) -> bool:
        """Whether weight decay comes after a stateful transform (a decoupled shrink
        W *= 1 - lr*lambda, AdamW's) rather than before it (an L2 term in the gradient, Adam's)."""
        stateful = False
        for t in self.transforms:
            if t.linear is None:
                stateful = True
            elif t.linear == "weight_decay":
                return stateful
        return False

    @property
    def preconditioner(self) -> Transform | None:
        """The transform whose preconditioner is the chain's (the last one that has one)."""
        found = [t for t in self.transforms if t.preconditioner is not None]
        return found[-1] if found else None

    @property
    def compiled(self) -> bool:
        """Whether every transform has a compiled form: the fast engine can run the chain."""
        return all(t.compiled for t in self.transforms)

    def rule(self, **options) -> "ChainRule":
        """The torch update rule for these option values (missing ones take their defaults)."""
        return ChainRule(self, **options)

    def __repr__(self) -> str:
        return "chain(" + ", ".join(t.name for t in self.transforms) + ")"

    # ---- the compiled form ----

    def kernel_options(self) -> tuple[str, ...]:
        """The options the fused loop takes in its `hp` tuple, in order (lr comes apart: the
        schedule scales it per step)."""
        return tuple(o for o in self.options if o != "lr")

    def kernel_source(self, name: str = "fused_update") -> str:
        """The source of the fused update loop of this chain (one numba function `name`):
        every transform's prelude, then one loop over the weights running every transform's
        element code and the final write (see the module docstring)."""
        if not self.compiled:
            missing = [t.name for t in self.transforms if not t.compiled]
            raise ValueError(f"chain: {', '.join(missing)} has no compiled form")
        return render(self, name)

    def kernel_key(self) -> str:
        """Names the chain's fused loop: its transforms and a hash of its source (two chains
        with the same source share a compiled kernel; a changed source is a new one)."""
        digest = hashlib.sha256(self.kernel_source().encode()).hexdigest()[:16]
        return "+".join(t.name for t in self.transforms) + "-" + digest


def chain(*transforms: Transform) -> Chain:
    """An optimiser from its transforms, applied in order (optax's `chain`)."""
    return Chain(tuple(transforms))


# ---- the torch form ----------------------------------------------------------------------------

class ChainRule:
    """A chain as an update rule with explicit state: `init(W) -> state` and an in-place
    `step(W, grad, state, t, lr)` on torch tensors (t counts from 1; lr: this step's rate,
    default the rule's). Options may be tensors broadcasting over a leading run axis (the
    batched engine's per-run hyperparameters). Has `preconditioner(state, t)` when the chain
    has a second moment. Arguments are checked against each transform's ranges."""

    def __init__(self, chain: Chain, **options):
        unknown = set(options) - set(chain.options)
        if unknown:
            raise ValueError(f"options: {chain!r} reads no option {sorted(unknown)[0]!r}")
        values = {**chain.defaults, **options}
        if values.get("lr") is None:
            raise ValueError("lr: must be given (the rule's learning rate)")
        for t in chain.transforms:
            for name, bounds in t.ranges.items():
                lo, hi, lo_open = (*bounds, False)[:3]
                check_range(name, values[name], lo, hi, lo_open=lo_open)
        self.chain = chain
        self.lr = values.get("lr")
        self.values = values
        self._o = [SimpleNamespace(**{k: values[k] for k in (*t.options, *t.constants)})
                   for t in chain.transforms]
        for t, o in zip(chain.transforms, self._o):
            if t.check is not None:
                t.check(o)
        pre = chain.preconditioner
        if pre is not None:  # only then: the engines log the step ratio of rules that have one
            o = self._o[chain.transforms.index(pre)]
            self.preconditioner = lambda state, t: pre.preconditioner(state, t, o)

    def init(self, W: torch.Tensor) -> dict:
        """Zero state arrays shaped like W; scalar state one (one per run where a transform's
        options are per-run tensors)."""
        state = {k: torch.zeros_like(W) for k in self.chain.state}
        for t, o in zip(self.chain.transforms, self._o):
            like = next((v for v in vars(o).values() if isinstance(v, torch.Tensor)), None)
            for k in t.scalars:
                state[k] = W.new_ones(()) if like is None else \
                    torch.ones_like(like, dtype=W.dtype, device=W.device)
        return state

    def step(self, W: torch.Tensor, grad: torch.Tensor, state: dict, t: int, lr=None) -> None:
        """One in-place update of W and state (the chain's transforms in order)."""
        lr = self.lr if lr is None else lr
        g, terms, decay = grad, None, None  # the update: g until a stateful transform runs
        for tr, o in zip(self.chain.transforms, self._o):
            if tr.linear == "weight_decay":
                if terms is None:  # before any stateful transform: an L2 term in the gradient
                    g = g + o.weight_decay * W
                else:  # after one: lambda * W joins the update, folded into a shrink at the end
                    decay = _Scaled(lambda s, wd=o.weight_decay: s * wd)
            elif tr.linear == "lr":
                terms = terms if terms is not None else [_Scaled(lambda s: s, g)]
                for x in (*terms, decay):
                    if x is not None:
                        x.scale = lr if x.scale is None else x.scale * lr
            else:
                if terms is not None:  # a second stateful transform: it sees the update's sum
                    g = _total(terms, decay, W)
                    decay = None
                terms = [_Scaled(x.coef, x.num, x.den) for x in tr.torch(g, state, t, o)]
        if decay is not None:
            W.mul_(1 - decay.coefficient())
        for x in terms:
            W.sub_(x.value())


class _Scaled:
    """A term and the scale applied to it since it was made (None: none yet, i.e. 1)."""

    def __init__(self, coef, num=None, den=None):
        self.coef, self.num, self.den, self.scale = coef, num, den, None

    def coefficient(self):
        return self.coef(1.0 if self.scale is None else self.scale)

    def value(self):
        out = self.coefficient() * self.num
        return out if self.den is None else out / self.den


def _total(terms, decay, W):
    out = sum(x.value() for x in terms)
    return out if decay is None else out + decay.coefficient() * W


__all__ = ["Chain", "ChainRule", "Term", "Transform", "chain"]
