"""The fast engine: the whole training loop compiled with numba, on sparse patches.

Per step it costs O(B * m * s) for the forward and backward passes (a signal patch has one
non-zero, a noise patch s + 1; models/kernels.py, shared with the metrics) plus one fused pass over
the 2*m*d weights for the update, with no Python between steps. Weights are held coordinate-major,
WT[c, f] = W[j, r, c] with f = j*m + r, so the 2m filter values of one noise coordinate are
contiguous and the inner loops vectorise.

It computes the reference engine's maths on the same batches in float64, up to summation order,
with one deliberate difference: optimiser moments below 1e-150 (momentum m, SGD buffer) and 1e-280
(second moment v) are flushed to zero. A coordinate that left the batches decays geometrically into
subnormal floats, which are ~50x slower on x86 and dominated the step time (measured: 220 vs 25
us/step at B=2); the flushed contribution to W is below 1e-140 relative, far under float64 epsilon.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..data.synthetic import SIGNAL_COORD
from ..models.activations import sigma_of
from ..models.kernels import batch_gradient, from_coordinate_major, to_coordinate_major

OPT_CODES = {"adam": 0, "adamw": 1, "signsgd": 2, "signsgdw": 3, "sgd": 4}
TINY_M = 1e-150
TINY_V = 1e-280
# Let LLVM fuse multiply-adds and turn x / y into x * (1 / y) in the update pass: with the
# "numpy" error model (no ZeroDivisionError check, which blocked vectorisation) this pass is
# SIMD; these two flags take it from ~50 to ~37 us per step at 2m*d = 40,000 weights, within a few
# ulps of the reference. No reassociation: sums keep their order.
UPDATE_FASTMATH = {"arcp", "contract"}


@njit(cache=True, error_model="numpy", fastmath=UPDATE_FASTMATH)
def update(W, M, V, G, t, opt, lr, wd, b1, b2, eps, bias_correction, momentum):
    """One fused in-place update of the flat arrays (equations: adamlab.optim). G is only read:
    the caller zeroes the few rows the batch touched, which is cheaper than a dense store."""
    n = W.shape[0]
    if opt == 0 or opt == 1:
        bc1 = 1.0 - b1 ** t if bias_correction else 1.0
        bc2s = math.sqrt(1.0 - b2 ** t) if bias_correction else 1.0
        step = lr / bc1
        shrink = 1.0 - lr * wd if opt == 1 else 1.0
        l2 = wd if opt == 0 else 0.0
        for e in range(n):
            w = W[e] * shrink
            g = G[e] + l2 * W[e]
            mm = b1 * M[e] + (1.0 - b1) * g
            vv = b2 * V[e] + (1.0 - b2) * g * g
            mm = mm if abs(mm) > TINY_M else 0.0
            vv = vv if vv > TINY_V else 0.0
            M[e] = mm
            V[e] = vv
            W[e] = w - step * mm / (math.sqrt(vv) / bc2s + eps)
    elif opt == 2 or opt == 3:
        shrink = 1.0 - lr * wd if opt == 3 else 1.0
        l2 = wd if opt == 2 else 0.0
        for e in range(n):
            g = G[e] + l2 * W[e]
            W[e] = W[e] * shrink - lr * ((g > 0.0) * 1.0 - (g < 0.0) * 1.0)
    else:
        mu = 0.0 if t == 1 else momentum
        for e in range(n):
            w = W[e]
            g = G[e] + wd * w
            b = mu * M[e] + g
            b = b if abs(b) > TINY_M else 0.0
            M[e] = b
            W[e] = w - lr * b


# Not cached: it takes the activation as a function argument (see models/kernels.py).
@njit(error_model="numpy")
def run_steps(WT, M, V, GT, batches, t0, y, noise_idx, noise_val, alpha, act, dact, power, rho, m,
              opt, lr, wd, b1, b2, eps, bias_correction, momentum):
    """Run len(batches) steps starting after step t0. Returns the (1-based) step whose batch loss
    was not finite, or -1 when all steps were taken. act, dact, power, rho: the activation's
    kernel_args (models/activations.py)."""
    nf = WT.shape[1]
    zs = np.empty(nf, dtype=WT.dtype)
    zn = np.empty(nf, dtype=WT.dtype)
    cs = np.empty(nf, dtype=WT.dtype)
    cn = np.empty(nf, dtype=WT.dtype)
    Wf = WT.reshape(-1)
    Mf = M.reshape(-1)
    Vf = V.reshape(-1)
    Gf = GT.reshape(-1)
    for k in range(batches.shape[0]):
        t = t0 + k + 1
        loss = batch_gradient(WT, GT, batches[k], y, noise_idx, noise_val, alpha, act, dact,
                              power, rho, m, zs, zn, cs, cn)
        if not math.isfinite(loss):
            Gf[:] = 0.0
            return t
        update(Wf, Mf, Vf, Gf, t, opt, lr, wd, b1, b2, eps, bias_correction, momentum)
        clear_rows(GT, batches[k], noise_idx)
    return -1


@njit(cache=True, error_model="numpy")
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


class FastEngine:
    def __init__(self, cfg, data, W0: np.ndarray):
        self.cfg = cfg
        self.train = data.train
        self.sigma = sigma_of(cfg)
        self.WT = to_coordinate_major(W0)
        self.M = np.zeros_like(self.WT)
        self.V = np.zeros_like(self.WT)
        self.G = np.zeros_like(self.WT)
        self.t = 0

    def run(self, batches: np.ndarray) -> int | None:
        c, tr = self.cfg, self.train
        bad = run_steps(self.WT, self.M, self.V, self.G, np.ascontiguousarray(batches), self.t,
                        tr.y, tr.noise_idx, tr.noise_val, tr.alpha, *self.sigma.kernel_args,
                        c.width,
                        OPT_CODES[c.optimizer], c.lr, c.weight_decay, c.beta1, c.beta2, c.eps,
                        c.bias_correction, c.momentum)
        if bad >= 0:
            self.t = bad
            return bad
        self.t += len(batches)
        return None

    def weights(self) -> np.ndarray:
        return from_coordinate_major(self.WT, self.cfg.width)
