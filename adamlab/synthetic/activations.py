"""The activation sigma of the two-layer CNN (docs/paper.md "Model", Definition 3.2), in one registry.

The paper's sigma is max(z, 0)^q with q >= 3; the alternatives are the activations its theorems
exclude (docs/paper.md "Limits": "q >= 3 excludes ReLU/GELU") and the smoothed ReLU of the neighbouring
work (Allen-Zhu & Li). `SyntheticConfig.activation` names one entry; `power` (q) and `rho` are its
parameters.

Each entry holds the same function three times, side by side:

  value(z, power, rho)       numba scalar function: the fast engine's and the metrics' kernels
  derivative(z, power, rho)  numba scalar function: d value / dz, for the fast gradient
  torch(z, power, rho)       the same function on tensors: synthetic/model.py (the autograd reference,
                             whose gradient checks `derivative`) and the batched engine

Both numba functions are compiled with inline="always" and reach the kernels as arguments
(synthetic/kernels.py), which call them through `call`, so numba specialises each kernel on the
activation and inlines it: no call and no switch per element. A built-in activation reaches them
as two `KernelToken`s naming it (its value and derivative), which numba types by name, so the
specialised kernels are cached on disk across processes (synthetic/jit.py); an activation registered
later reaches them as its numba functions and its kernels are compiled once per process. Adding
an activation is one `builtin(Activation(...))` call here (cached kernels), or one
`register(Activation(...))` call anywhere before the config that names it is built;
tests/test_activations.py registers one in the test file only and runs it through every engine.

At a kink (z = 0 for relu-power with q = 1, relu and smooth-relu with q = 1) `derivative` takes
the value torch's autograd gives (0 at z = 0), so the fast and reference gradients agree exactly.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from numba import njit, types
from numba.extending import NativeValue, models, overload, register_model, typeof_impl, unbox

from ..core.registry import Registry

_JIT = dict(cache=True, inline="always", error_model="numpy")
SQRT_HALF = math.sqrt(0.5)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


@dataclass(frozen=True)
class Activation:
    """One activation: its numba value and derivative, its torch version, and what it is.

    params: the config fields it reads besides z (shown in the CLI help; the others are ignored).
    paper: True only for the paper's sigma = max(z, 0)^q, the one its theorems are about (theory.py
    also needs q >= 3)."""

    name: str
    value: Callable
    derivative: Callable
    torch: Callable
    help: str
    params: tuple[str, ...] = ()
    paper: bool = False

    def bind(self, power: float, rho: float) -> "Sigma":
        return Sigma(self, float(power), float(rho))


@dataclass(frozen=True)
class Sigma:
    """An activation with its parameters fixed: what the models, engines and metrics take.
    Calling it applies the torch version; `kernel_args` are the numba kernels' arguments."""

    activation: Activation
    power: float
    rho: float

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        return self.activation.torch(z, self.power, self.rho)

    @property
    def kernel_args(self) -> tuple:
        """(value, derivative, power, rho), in the order the kernels of synthetic/kernels.py take:
        for a built-in activation, tokens naming its two numba functions (cached kernels); for
        one registered later, the functions themselves (kernels compiled per process)."""
        a = self.activation
        if _BUILTIN.get(a.name) is a:
            return KernelToken(a.name, "value"), KernelToken(a.name, "derivative"), \
                self.power, self.rho
        return a.value, a.derivative, self.power, self.rho


_REGISTRY: Registry[Activation] = Registry("activation")
_BUILTIN: dict[str, Activation] = {}  # the entries registered by this module (`builtin`)


# ---- how the kernels call an activation ----------------------------------------------------------

class KernelToken:
    """Stands for the numba `value` or `derivative` (part) of a built-in activation in a kernel's
    arguments. numba types it by (name, part), the same in every process, so a kernel compiled
    for it can be cached on disk; the token itself carries no data."""

    __slots__ = ("name", "part")

    def __init__(self, name: str, part: str):
        self.name, self.part = name, part

    def __repr__(self) -> str:
        return f"KernelToken({self.name!r}, {self.part!r})"


class KernelTokenType(types.Opaque):
    def __init__(self, activation: str, part: str):
        self.activation, self.part = activation, part
        super().__init__(name=f"ActivationToken({activation}, {part})")

    @property
    def key(self):
        return self.activation, self.part


register_model(KernelTokenType)(models.OpaqueModel)


@typeof_impl.register(KernelToken)
def _typeof_token(token, context):
    return KernelTokenType(token.name, token.part)


@unbox(KernelTokenType)
def _unbox_token(typ, obj, c):
    return NativeValue(c.context.get_dummy_value())


def call(fn, z, power, rho):
    """fn(z, power, rho) inside a kernel, where fn is a KernelToken or a numba function."""
    return fn(z, power, rho)


@overload(call)
def _call(fn, z, power, rho):
    if isinstance(fn, KernelTokenType):  # resolved when the kernel is compiled: no switch
        impl = getattr(_BUILTIN[fn.activation], fn.part)

        def call_builtin(fn, z, power, rho):
            return impl(z, power, rho)
        return call_builtin

    def call_function(fn, z, power, rho):
        return fn(z, power, rho)
    return call_function


def register(activation: Activation) -> Activation:
    """Add (or replace) an activation; config choices, CLI help, engines and tests read this."""
    return _REGISTRY.add(activation.name, activation)


def unregister(name: str) -> None:
    _REGISTRY.remove(name)


def names() -> tuple[str, ...]:
    return _REGISTRY.names()


def get(name: str) -> Activation:
    return _REGISTRY.get(name)


def sigma_of(cfg) -> Sigma:
    """The configured activation of a SyntheticConfig (or anything with activation, power, rho)."""
    return get(cfg.activation).bind(cfg.power, cfg.rho)


# ---- relu-power: the paper's sigma(z) = max(z, 0)^q ----------------------------------------------

@njit(**_JIT)
def relu_power(z, power, rho):
    if z <= 0.0:
        return 0.0
    if power == 3.0:  # the paper's q; pow() is a ~20 ns call, three multiplies are not
        return z * z * z
    return z ** power


@njit(**_JIT)
def relu_power_derivative(z, power, rho):
    if z <= 0.0:
        return 0.0
    if power == 3.0:
        return 3.0 * z * z
    return power * z ** (power - 1.0)


def relu_power_torch(z, power, rho):
    return torch.relu(z) ** power


# ---- relu: max(z, 0) (q = 1) ---------------------------------------------------------------------

@njit(**_JIT)
def relu(z, power, rho):
    if z <= 0.0:  # written this way round so a NaN z stays NaN (divergence is detected by it)
        return 0.0
    return z


@njit(**_JIT)
def relu_derivative(z, power, rho):
    if z <= 0.0:
        return 0.0
    return 1.0


def relu_torch(z, power, rho):
    return torch.relu(z)


# ---- gelu: z * Phi(z), the exact erf form of torch.nn.functional.gelu ----------------------------

@njit(**_JIT)
def gelu(z, power, rho):
    return 0.5 * z * (1.0 + math.erf(z * SQRT_HALF))


@njit(**_JIT)
def gelu_derivative(z, power, rho):
    # Phi(z) + z * phi(z)
    return 0.5 * (1.0 + math.erf(z * SQRT_HALF)) + z * INV_SQRT_2PI * math.exp(-0.5 * z * z)


def gelu_torch(z, power, rho):
    return torch.nn.functional.gelu(z)


# ---- smooth-relu (Allen-Zhu & Li): polynomial z^q / (q rho^(q-1)) up to rho, then linear ---------

@njit(**_JIT)
def smooth_relu(z, power, rho):
    if z <= 0.0:
        return 0.0
    if z < rho:
        return z ** power / (power * rho ** (power - 1.0))
    return z - rho * (1.0 - 1.0 / power)


@njit(**_JIT)
def smooth_relu_derivative(z, power, rho):
    if z <= 0.0:
        return 0.0
    if z < rho:
        return (z / rho) ** (power - 1.0)
    return 1.0


def smooth_relu_torch(z, power, rho):
    # clamp(relu(z), max=rho) carries the polynomial piece, relu(z - rho) the linear one; at
    # z >= rho the first is the constant rho/q, so the sum is z - rho(1 - 1/q). No torch.where:
    # z^q of a negative z in the unused branch would put NaN into the gradient.
    return (torch.clamp(torch.relu(z), max=rho) ** power / (power * rho ** (power - 1.0))
            + torch.relu(z - rho))


def builtin(activation: Activation) -> Activation:
    """Register one of this module's activations: its kernels are cached on disk (KernelToken;
    the cache is keyed on this file's source). Replacing it later with `register` makes the new
    entry an ordinary run-time one."""
    _BUILTIN[activation.name] = activation
    return register(activation)


builtin(Activation(
    "relu-power", relu_power, relu_power_derivative, relu_power_torch,
    "max(z, 0)^q with q = power: the paper's sigma (Definition 3.2)", ("power",), paper=True))
builtin(Activation(
    "relu", relu, relu_derivative, relu_torch, "max(z, 0) (ReLU, q = 1)"))
builtin(Activation(
    "gelu", gelu, gelu_derivative, gelu_torch,
    "z * Phi(z), exact erf form (torch.nn.functional.gelu)"))
builtin(Activation(
    "smooth-relu", smooth_relu, smooth_relu_derivative, smooth_relu_torch,
    "Allen-Zhu & Li's smoothed ReLU: 0 for z <= 0, z^q / (q rho^(q-1)) below rho, "
    "z - rho (1 - 1/q) above", ("power", "rho")))
