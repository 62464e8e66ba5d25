"""The fast engine: the whole training loop compiled with numba, on sparse patches.

Per step it costs O(B * m * s) for the forward and backward passes (a signal patch has one
non-zero, a noise patch s + 1; synthetic/kernels.py, shared with the metrics) plus one fused pass over
the 2*m*d weights for the update, with no Python between steps. Weights are held coordinate-major,
WT[c, f] = W[j, r, c] with f = j*m + r, so the 2m filter values of one noise coordinate are
contiguous and the inner loops vectorise.

Each optimiser with a `kernel` in its registry entry has a branch of the fused update (`update`);
the learning-rate schedule (optim/schedule.py) is evaluated per step inside the compiled loop, and
gradient clipping by global norm sums the rows the batch touched (the gradient is zero elsewhere).
Optimisers without a kernel run on the reference engine (synthetic/train.py says so).

It computes the reference engine's maths on the same batches in float64, up to summation order,
with one deliberate difference: optimiser moments below 1e-150 (first moments and momentum
buffers: Adam/NAdam m, SGD and RMSprop momentum) and 1e-280 (decaying second moments: Adam/NAdam/
RMSprop v) are flushed to zero. A coordinate that left the batches decays geometrically into
subnormal floats, which are ~50x slower on x86 and dominated the step time (measured: 220 vs 25
us/step at B=2); the flushed contribution to W is below 1e-140 relative, far under float64 epsilon.
Lion's momentum is not flushed (its step is sign(c): a tiny momentum still moves W by lr), nor is
Adagrad's sum (it never decays).

With `dtype = "float32"` the weights, moments, patches and gradient are float32 and the same
kernels run in float32 (numba compiles them per dtype): the update pass moves half the bytes
and its SIMD lanes hold twice the values (docs/speed.md: 2-3x faster a step). Its flush
thresholds are float32's (TINY), subnormals are zero while its loop runs (synthetic/subnormals.py),
the loss and margins are still accumulated in float64, and the metrics are computed in float64
from the float32 weights. It follows the float64 engine within float32's rounding
(tests/test_float32.py); float64 stays the default, the reference's precision.
"""
from __future__ import annotations

import math
import time

import numpy as np
import torch

from ...core.errors import ConfigError
from ...optim.clip import CLIP_EPS
from ...optim.nadam import MOMENTUM_DECAY
from ...optim.registry import get
from ...optim.schedule import Schedule, lr_factor
from ..activations import sigma_of
from ..data import SIGNAL_COORD
from ..jit import activation_kernel, cached_njit
from ..kernels import batch_gradient, from_coordinate_major, to_coordinate_major
from ..mechanism import noise_coordinates, step_ratio_metrics
from ..subnormals import flush_subnormals, restore_fp_mode

# The fused-update kernels (an optimiser's registry entry names its kernel; the registry's
# `decoupled` picks the decay convention, so e.g. adam and adamw share one kernel).
KERNELS = {"adam": 0, "sign": 1, "sgd": 2, "rmsprop": 3, "adagrad": 4, "nadam": 5, "lion": 6}
ADAM, SIGN, SGD, RMSPROP, ADAGRAD, NADAM, LION = (KERNELS[k] for k in (
    "adam", "sign", "sgd", "rmsprop", "adagrad", "nadam", "lion"))
NADAM_MOMENTUM_DECAY = MOMENTUM_DECAY
# Flush thresholds (first moments, decaying second moments) per dtype; see the module docstring.
# float64: subnormals start at 2.2e-308; v >= 1e-280 keeps b2*v and sqrt(v) far from them.
# float32: subnormals start at 1.2e-38. |m| >= 1e-30 keeps b1*m normal; v >= 1e-36 keeps b2*v
# normal down to b2 = 0.02, and sqrt(1e-36) = 1e-18 is 1e-10 of Adam's eps = 1e-8, far below
# float32's 6e-8 rounding; a flushed m moves W by at most lr * 1e-30 / eps, ~1e-22 of lr.
TINY = {np.dtype(np.float64): (1e-150, 1e-280), np.dtype(np.float32): (1e-30, 1e-36)}
TINY_M, TINY_V = TINY[np.dtype(np.float64)]
# Let LLVM fuse multiply-adds and turn x / y into x * (1 / y) in the update pass: with the
# "numpy" error model (no ZeroDivisionError check, which blocked vectorisation) this pass is
# SIMD; these two flags take it from ~50 to ~37 us per step at 2m*d = 40,000 weights, within a few
# ulps of the reference. No reassociation: sums keep their order.
UPDATE_FASTMATH = {"arcp", "contract"}
# Modules whose constants the compiled code below freezes in (SIGNAL_COORD, CLIP_EPS,
# MOMENTUM_DECAY): their sources key the disk cache too (synthetic/jit.py).
CONSTANTS_FROM = ("adamlab.synthetic.data", "adamlab.optim.clip", "adamlab.optim.nadam")


@cached_njit(CONSTANTS_FROM, error_model="numpy", fastmath=UPDATE_FASTMATH)
def update(W, M, V, G, t, kernel, lr, wd, decoupled, b1, b2, eps, bias_correction, momentum,
           nesterov, scal, tiny_m, tiny_v):
    """One fused in-place update of the flat arrays by the kernel a registry entry names (the
    equations: the rule modules of adamlab.optim). G is only read: the caller zeroes the few rows
    the batch touched, which is cheaper than a dense store. M and V hold the rule's state "m" and
    "v"; scal[0] NAdam's running product of momentum coefficients. lr is this step's rate.
    decoupled: weight decay as W *= 1 - lr*wd (else wd*W is added to the gradient). tiny_m,
    tiny_v: the flush thresholds of the arrays' dtype (`flush_thresholds`).

    Per-step scalars are computed in float64 and rounded once to the arrays' dtype (`ft`), so
    that in float32 the loop is float32 throughout: a float64 literal or argument would widen
    every operation of the loop to float64 and halve its SIMD width. In float64 `ft` changes
    nothing."""
    ft = W.dtype.type
    n = W.shape[0]
    one, zero = ft(1.0), ft(0.0)
    shrink = ft(1.0 - lr * wd) if decoupled else one
    l2 = zero if decoupled else ft(wd)
    b1_, b2_, c1, c2, eps_ = ft(b1), ft(b2), ft(1.0 - b1), ft(1.0 - b2), ft(eps)
    tm, tv = ft(tiny_m), ft(tiny_v)
    if kernel == ADAM:
        bc1 = 1.0 - b1 ** t if bias_correction else 1.0
        bc2s = ft(math.sqrt(1.0 - b2 ** t)) if bias_correction else one
        step = ft(lr / bc1)
        for e in range(n):
            w = W[e] * shrink
            g = G[e] + l2 * W[e]
            mm = b1_ * M[e] + c1 * g
            vv = b2_ * V[e] + c2 * g * g
            mm = mm if abs(mm) > tm else zero
            vv = vv if vv > tv else zero
            M[e] = mm
            V[e] = vv
            W[e] = w - step * mm / (math.sqrt(vv) / bc2s + eps_)
    elif kernel == SIGN:
        lr_ = ft(lr)
        for e in range(n):
            g = G[e] + l2 * W[e]
            W[e] = W[e] * shrink - lr_ * ((g > zero) * one - (g < zero) * one)
    elif kernel == SGD:
        lr_ = ft(lr)
        mu = zero if t == 1 else ft(momentum)
        mom = ft(momentum)
        for e in range(n):
            w = W[e]
            g = G[e] + l2 * w
            b = mu * M[e] + g
            b = b if abs(b) > tm else zero
            M[e] = b
            d = g + mom * b if nesterov else b
            W[e] = w * shrink - lr_ * d
    elif kernel == RMSPROP:
        lr_ = ft(lr)
        mom = ft(momentum)
        for e in range(n):
            w = W[e]
            g = G[e] + l2 * w
            vv = b2_ * V[e] + c2 * g * g
            vv = vv if vv > tv else zero
            V[e] = vv
            u = g / (math.sqrt(vv) + eps_)
            if momentum > 0.0:
                u = mom * M[e] + u
                u = u if abs(u) > tm else zero
                M[e] = u
            W[e] = w * shrink - lr_ * u
    elif kernel == ADAGRAD:
        lr_ = ft(lr)
        for e in range(n):  # the sum only grows: nothing to flush
            w = W[e]
            g = G[e] + l2 * w
            vv = V[e] + g * g
            V[e] = vv
            W[e] = w * shrink - lr_ * g / (math.sqrt(vv) + eps_)
    elif kernel == NADAM:
        bc2 = ft(1.0 - b2 ** t)
        mu = b1 * (1.0 - 0.5 * 0.96 ** (t * NADAM_MOMENTUM_DECAY))
        mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * NADAM_MOMENTUM_DECAY))
        prod = scal[0] * mu
        scal[0] = prod
        c_g = ft(lr * (1.0 - mu) / (1.0 - prod))
        c_m = ft(lr * mu_next / (1.0 - prod * mu_next))
        for e in range(n):
            w = W[e] * shrink
            g = G[e] + l2 * W[e]
            mm = b1_ * M[e] + c1 * g
            vv = b2_ * V[e] + c2 * g * g
            mm = mm if abs(mm) > tm else zero
            vv = vv if vv > tv else zero
            M[e] = mm
            V[e] = vv
            den = math.sqrt(vv / bc2) + eps_
            W[e] = w - c_g * g / den - c_m * mm / den
    elif kernel == LION:
        # No flush here: Lion steps by sign(c), so a tiny momentum still moves W by lr; zeroing
        # it would change the trajectory, not just its last bits.
        lr_ = ft(lr)
        for e in range(n):
            w = W[e] * shrink
            g = G[e] + l2 * W[e]
            c = b1_ * M[e] + c1 * g
            M[e] = b2_ * M[e] + c2 * g
            W[e] = w - lr_ * ((c > zero) * one - (c < zero) * one)


@cached_njit(CONSTANTS_FROM, error_model="numpy")
def clip_rows(GT, batch, noise_idx, max_norm, rows, stamp, t):
    """Clip the gradient to global L2 norm max_norm (torch's clip_grad_norm_, its 1e-6 included)
    and return its norm. Only the rows the batch touched can be non-zero (the signal coordinate
    and the batch's noise coordinates), so the norm sums those, each once: stamp[c] == t marks a
    row already counted at step t, rows collects them."""
    nf = GT.shape[1]
    nr = 1
    rows[0] = SIGNAL_COORD
    stamp[SIGNAL_COORD] = t
    for bi in range(batch.shape[0]):
        for k in range(noise_idx.shape[1]):
            c = noise_idx[batch[bi], k]
            if stamp[c] != t:
                stamp[c] = t
                rows[nr] = c
                nr += 1
    total = 0.0
    for r in range(nr):
        for f in range(nf):
            total += GT[rows[r], f] * GT[rows[r], f]
    norm = math.sqrt(total)
    coef = max_norm / (norm + CLIP_EPS)
    if coef < 1.0:  # torch multiplies by min(coef, 1); times 1.0 changes nothing
        for r in range(nr):
            for f in range(nf):
                GT[rows[r], f] *= coef
    return norm


# Cached on disk for the built-in activations, compiled per process for others (synthetic/jit.py).
@activation_kernel(CONSTANTS_FROM, error_model="numpy")
def run_steps(WT, M, V, GT, batches, t0, y, noise_idx, noise_val, alpha, act, dact, power, rho, m,
              kernel, lr, wd, decoupled, b1, b2, eps, bias_correction, momentum, nesterov, scal,
              sched, clip_norm, rows, stamp, tiny_m, tiny_v, flush):
    """Run len(batches) steps starting after step t0. Returns the (1-based) step whose batch loss
    was not finite, or -1 when all steps were taken. act, dact, power, rho: the activation's
    kernel_args (synthetic/activations.py); sched: (code, warmup, total, step size, gamma) of
    optim/schedule.py, in steps; clip_norm <= 0: no clipping; flush: subnormals are zero while
    the steps run (float32 runs; synthetic/subnormals.py)."""
    nf = WT.shape[1]
    zs = np.empty(nf, dtype=WT.dtype)
    zn = np.empty(nf, dtype=WT.dtype)
    cs = np.empty(nf, dtype=WT.dtype)
    cn = np.empty(nf, dtype=WT.dtype)
    Wf = WT.reshape(-1)
    Mf = M.reshape(-1)
    Vf = V.reshape(-1)
    Gf = GT.reshape(-1)
    mode = flush_subnormals() if flush else 0
    bad = -1
    for k in range(batches.shape[0]):
        t = t0 + k + 1
        loss = batch_gradient(WT, GT, batches[k], y, noise_idx, noise_val, alpha, act, dact,
                              power, rho, m, zs, zn, cs, cn)
        if not math.isfinite(loss):
            Gf[:] = 0.0
            bad = t
            break
        if clip_norm > 0.0:
            clip_rows(GT, batches[k], noise_idx, clip_norm, rows, stamp, t)
        lr_t = lr * lr_factor(t, sched[0], sched[1], sched[2], sched[3], sched[4])
        update(Wf, Mf, Vf, Gf, t, kernel, lr_t, wd, decoupled, b1, b2, eps, bias_correction,
               momentum, nesterov, scal, tiny_m, tiny_v)
        clear_rows(GT, batches[k], noise_idx)
    if flush:
        restore_fp_mode(mode)
    return bad


@cached_njit(CONSTANTS_FROM, error_model="numpy")
def clear_rows(GT, batch, noise_idx):
    """Zero the gradient rows a batch touched: the signal coordinate and its noise coordinates
    (a dense clear when the batch covers about as many rows as there are)."""
    if batch.shape[0] * noise_idx.shape[1] >= GT.shape[0] // 2:
        GT[:] = 0.0
        return
    GT[SIGNAL_COORD, :] = 0.0
    for bi in range(batch.shape[0]):
        for k in range(noise_idx.shape[1]):
            GT[noise_idx[batch[bi], k], :] = 0.0


def kernel_code(entry) -> int:
    if entry.kernel not in KERNELS:
        raise ConfigError(f"optimizer: {entry.name}'s kernel {entry.kernel!r} is not one of the "
                          f"fast engine's ({', '.join(KERNELS)})")
    return KERNELS[entry.kernel]


class FastEngine:
    """The fast engine for optimisers whose registry entry names a kernel (train.make_engine
    sends the others to the reference engine)."""

    def __init__(self, cfg, data, W0: np.ndarray):
        if cfg.variants():  # train.engine_for sends these to the reference engine
            raise ConfigError(f"engine: the fast kernels are the paper's model only, got "
                              f"{cfg.variants()}")
        self.cfg = cfg
        self.train = data.train
        self.sigma = sigma_of(cfg)
        entry = get(cfg.optimizer)
        self.kernel = kernel_code(entry)
        self.rule = entry.build(cfg)  # its preconditioner defines the step-ratio metric
        self.dtype = np.dtype(cfg.dtype)
        self.WT = to_coordinate_major(W0).astype(self.dtype)
        # The patches in the weights' dtype (float32: the noise rows' multiply-adds stay float32);
        # labels are +-1 and alpha a scalar, exact or harmless in float64.
        self.noise_val = np.ascontiguousarray(data.train.noise_val, dtype=self.dtype)
        self.M = np.zeros_like(self.WT)
        self.V = np.zeros_like(self.WT)
        self.G = np.zeros_like(self.WT)
        self.scal = np.ones(1)
        self.sched = Schedule(cfg).args()
        self.rows = np.empty(1 + cfg.batch_size * cfg.s, dtype=np.int64)
        self.stamp = np.full(cfg.d, -1, dtype=np.int64)
        self.coords = noise_coordinates(data.train)
        self.t = 0
        self.updates = 0

    def compile(self) -> float:
        """Compile the kernels for this run's argument types (or load them from numba's disk
        cache, synthetic/jit.py) by a call with no batches; returns its wall seconds. A fresh
        install spends ~3-4 s here, which would otherwise land in the first segment's time."""
        tic = time.perf_counter()
        self.run(np.empty((0, self.cfg.batch_size), dtype=np.int64))  # the sampler's layout
        return time.perf_counter() - tic

    def run(self, batches: np.ndarray) -> int | None:
        c, tr = self.cfg, self.train
        bad = run_steps(self.WT, self.M, self.V, self.G, np.ascontiguousarray(batches), self.t,
                        tr.y, tr.noise_idx, self.noise_val, tr.alpha, *self.sigma.kernel_args,
                        c.width,
                        self.kernel, c.lr, c.weight_decay, c.decoupled, c.beta1, c.beta2, c.eps,
                        c.bias_correction, c.momentum, c.nesterov, self.scal, self.sched,
                        -1.0 if c.clip_norm is None else c.clip_norm, self.rows, self.stamp,
                        *TINY[self.dtype], self.dtype == np.float32)
        if bad >= 0:
            self.t = bad
            self.updates = bad - 1
            return bad
        self.t += len(batches)
        self.updates = self.t
        return None

    def weights(self) -> np.ndarray:
        """W (2, m, d) in float64, whatever the engine's dtype: the metrics are computed in
        float64 from the (float32) weights."""
        return from_coordinate_major(self.WT, self.cfg.width).astype(np.float64, copy=False)

    def _rule_keys(self) -> list[str]:
        return list(self.rule.init(torch.zeros(2, self.cfg.width, 1, dtype=torch.float64)))

    def state(self) -> dict:
        """t, W (2, m, d) and the rule's state ("m" is M, "v" V, any scalar scal[0], as a 0-d
        array), copied in the engine's dtype: the layout every engine's `state` shares."""
        m = self.cfg.width
        arrays = {"m": self.M, "v": self.V}
        optimizer = {key: from_coordinate_major(arrays[key], m).copy() if key in arrays
                     else np.array(self.scal[0]) for key in self._rule_keys()}
        return {"t": self.t, "weights": from_coordinate_major(self.WT, m).copy(),
                "optimizer": optimizer}

    def load_state(self, state: dict) -> None:
        """Continue from `state()` (of any engine, same config): the layout conversions only
        move values, so a fast engine's own state continues bit for bit."""
        self.WT = to_coordinate_major(np.asarray(state["weights"], dtype=self.dtype))
        arrays = {"m": "M", "v": "V"}
        for key in self._rule_keys():
            value = np.asarray(state["optimizer"][key])
            if key in arrays:
                setattr(self, arrays[key], to_coordinate_major(value.astype(self.dtype)))
            else:
                self.scal[0] = float(value)
        self.t = self.updates = int(state["t"])

    def rule_state(self) -> dict:
        """The optimiser state in the layout of the rule's own state (tensors shaped like W):
        M is its "m", V its "v", scal[0] NAdam's "mu_product"."""

        m = self.cfg.width
        arrays = {"m": self.M, "v": self.V}
        out = {}
        for key, like in self.rule.init(torch.zeros(2, m, 1, dtype=torch.float64)).items():
            if key in arrays:  # in float64, as the weights (`weights`)
                out[key] = torch.from_numpy(
                    from_coordinate_major(arrays[key], m).astype(np.float64, copy=False))
            else:
                out[key] = torch.full_like(like, self.scal[0])
        return out

    def extra_metrics(self) -> dict:
        if not hasattr(self.rule, "preconditioner"):
            return {}
        return step_ratio_metrics(self.rule, self.rule_state(), self.updates, self.coords)
