"""Flush-to-zero for the fast engine's float32 runs: subnormal floats are treated as, and rounded
to, zero while the compiled loop runs (x86's MXCSR FTZ and DAZ bits), as XLA's CPU backend
computes float32 (the JAX peer in benchmarks/ gets 0 for 1e-20f * 1e-20f).

Why: late in a float32 run some products fall below float32's smallest normal number, 1.2e-38
(Adam's (1 - beta2) g^2 for a gradient under ~1e-17, e.g. lambda*W of a weight that L2 decay has
driven to 1e-13), and every SIMD instruction with a subnormal result takes a slow microcode path:
measured at B = 2 (Adam, App. D.2 setting, this 2-core AMD EPYC VM) the float32 step went from
17 to 25-30 us/step after 200 epochs without it, and stays flat with it. Flushed values are below
1.2e-38, far under float32's resolution of any quantity they feed (weights ~1e-2, pre-activations
summed from terms ~1e-3).

LLVM orders the mode switch with memory accesses but may move arithmetic on values already in
registers across it; the engine's loop reads every operand from arrays after the switch, so all
of it runs in the flushed mode (tests/test_float32.py checks the switch through arrays).

float64 runs keep IEEE semantics (the fast engine equals the reference engine to 1e-9 and is
bit-identical to its previous releases); their rare subnormal moments are flushed explicitly
(synthetic/engines/fast.py, TINY). On machines other than x86 these functions do nothing.
"""
from __future__ import annotations

import platform

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

MXCSR_FTZ = 1 << 15  # results that would be subnormal become zero
MXCSR_DAZ = 1 << 6   # subnormal inputs are read as zero
X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")


def _mxcsr(builder, name: str, slot):
    i8p = ir.IntType(8).as_pointer()
    fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [i8p]),
                                        name)
    builder.call(fn, [builder.bitcast(slot, i8p)])


@intrinsic
def flush_subnormals(typingctx):
    """Turn on FTZ and DAZ for the calling thread; returns the previous control word for
    `restore_fp_mode` (0 where there is nothing to change)."""
    def codegen(context, builder, signature, args):
        if not X86:
            return context.get_constant(types.int64, 0)
        i32 = ir.IntType(32)
        slot = cgutils.alloca_once(builder, i32)
        _mxcsr(builder, "llvm.x86.sse.stmxcsr", slot)
        old = builder.load(slot)
        builder.store(builder.or_(old, ir.Constant(i32, MXCSR_FTZ | MXCSR_DAZ)), slot)
        _mxcsr(builder, "llvm.x86.sse.ldmxcsr", slot)
        return builder.zext(old, ir.IntType(64))
    return types.int64(), codegen


@intrinsic
def restore_fp_mode(typingctx, word):
    """Put back the control word `flush_subnormals` returned."""
    def codegen(context, builder, signature, args):
        if X86:
            i32 = ir.IntType(32)
            slot = cgutils.alloca_once(builder, i32)
            builder.store(builder.trunc(args[0], i32), slot)
            _mxcsr(builder, "llvm.x86.sse.ldmxcsr", slot)
        return context.get_dummy_value()
    return types.void(types.int64), codegen
