"""The fast engine's fused update, compiled from an optimiser's chain of transforms.

`Chain.kernel_source` (adamlab/optim/chain.py) writes one loop over the weights from each
transform's compiled per-element form; this module compiles it and lets the fast engine's
training loop (engines/fast.py `run_steps`) call it with no switch per optimiser:

* `kernel_for(chain)` runs the source (once per process and chain) and returns an `UpdateKernel`
  token naming it by its transforms and a hash of its source.
* Compiled code calls `fused_update(token, W, states, G, t, lr, hp, scal, tiny_m, tiny_v)`.
  numba types the token by that name, so `run_steps` is specialised on the chain when it is
  compiled and the call resolves to the generated loop then (`_fused_update`, like the
  activations' `call`), and numba's disk cache keys the compiled `run_steps` on the token's
  type like any other argument (synthetic/jit.py): a fresh process loads it instead of
  compiling, and a chain whose source changed is another type, compiled anew (never a stale
  kernel).

The loop is compiled with the "numpy" error model (no division-by-zero check, which blocked
vectorisation) and LLVM's multiply-add contraction and reciprocal division (`UPDATE_FASTMATH`;
docs/speed.md: ~50 -> ~37 us per Adam step at 2m*d = 40,000 weights); no reassociation, so sums
keep their order. Arguments: W, G the flat weights and gradient (G is only read), states the
state arrays (one row per name in `chain.state`), scal the scalar state (`chain.scalars`), hp the
options of `chain.kernel_options()`, lr the step's rate, tiny_m / tiny_v the flush thresholds
of the arrays' dtype.
"""
from __future__ import annotations

import math

from numba import njit, types
from numba.extending import NativeValue, models, overload, register_model, typeof_impl, unbox

from ..optim.chain import Chain

UPDATE_FASTMATH = frozenset({"arcp", "contract"})

_SOURCES: dict[str, object] = {}  # token key -> the chain's generated Python function


class UpdateKernel:
    """Stands for a chain's fused update in the fast engine's arguments; numba types it by
    `key`, so kernels compiled for it are cached on disk. Carries no data."""

    __slots__ = ("key",)

    def __init__(self, key: str):
        self.key = key

    def __repr__(self) -> str:
        return f"UpdateKernel({self.key!r})"


class UpdateKernelType(types.Opaque):
    def __init__(self, key: str):
        self.chain_key = key
        super().__init__(name=f"UpdateKernel({key})")


register_model(UpdateKernelType)(models.OpaqueModel)


@typeof_impl.register(UpdateKernel)
def _typeof_kernel(kernel, context):
    return UpdateKernelType(kernel.key)


@unbox(UpdateKernelType)
def _unbox_kernel(typ, obj, c):
    return NativeValue(c.context.get_dummy_value())


def kernel_for(chain: Chain) -> UpdateKernel:
    """The token of `chain`'s fused update; generates its source in this process the first time
    (compiling waits for the first call of a kernel that uses it, or its disk-cache load)."""
    key = chain.kernel_key()
    if key not in _SOURCES:
        namespace = {"math": math}
        exec(compile(chain.kernel_source(), f"<fused update {key}>", "exec"), namespace)
        _SOURCES[key] = namespace["fused_update"]
    return UpdateKernel(key)


def fused_update(kernel, W, states, G, t, lr, hp, scal, tiny_m, tiny_v):
    """One in-place update of the flat arrays by the chain `kernel` names (compiled code only)."""
    raise NotImplementedError("fused_update runs inside compiled kernels")


@overload(fused_update, jit_options={"error_model": "numpy", "fastmath": set(UPDATE_FASTMATH)})
def _fused_update(kernel, W, states, G, t, lr, hp, scal, tiny_m, tiny_v):
    if isinstance(kernel, UpdateKernelType):  # resolved when the caller is compiled
        return _SOURCES[kernel.chain_key]


@njit(error_model="numpy")
def apply_update(kernel, W, states, G, t, lr, hp, scal, tiny_m, tiny_v):
    """`fused_update` called from Python (tests, benchmarks): one in-place update of W, states
    and scal."""
    fused_update(kernel, W, states, G, t, lr, hp, scal, tiny_m, tiny_v)


__all__ = ["UpdateKernel", "apply_update", "fused_update", "kernel_for", "UPDATE_FASTMATH"]
