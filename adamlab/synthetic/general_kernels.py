"""The fast engine's training loop for K classes and label noise (synthetic/data.py, model.py),
compiled with numba on sparse patches like the paper's (synthetic/kernels.py, engines/fast.py).

Per example i the patches are described by where its features sit: the signal patch is
ss_i e_{sc_i} (its class's feature), the noise patch nv_i e_{nc_i} (another class's feature,
times alpha) plus its s Gaussian coordinates. With filters f = j*m + r of class j and weights
coordinate-major, WT[c, f] = W[j, r, c]:

    zs_f = ss_i WT[sc_i, f],   zn_f = nv_i WT[nc_i, f] + sum_k WT[c_k, f] v_k
    F_j  = sum_{r} sigma(zs_{j m + r}) + sigma(zn_{j m + r})
    loss = log sum_j exp(F_j) - F_{lab_i}      (lab_i: the label the loss sees, flipped or not)
    d loss / d F_j = softmax_j(F) - [j = lab_i]

For K = 2 the cross-entropy is the paper's softplus(-y (F_{+1} - F_{-1})) (reference engine:
model.py keeps that closed form; the two agree to rounding). On the paper's clean two-class data
these are the paper kernel's numbers to rounding; the fast engine keeps that kernel for it, and
takes this loop only for the variants. float64 only, as the variants are.

A trained second layer a (K, m) rides along as one more row of WT, row `arow` = d (a[j, r] at
f = j*m + r, after the d coordinates; arow < 0: the paper's fixed +1), so the fused update steps
W and a as one parameter group, weight decay included, as the reference engine does:

    F_j = sum_r a_f (sigma(zs_f) + sigma(zn_f)),   d loss / d a_f = dout_j (sigma(zs_f) + sigma(zn_f))
    and every W gradient of filter f carries the factor a_f.

The gradient touches the K feature rows (0..K-1; the paper's single row 0 when K = 2), the
batch's noise rows and the second layer's row, so clipping sums and clearing zeroes those
(`clip_rows`, `clear_rows`, which the paper's loop calls with its one feature row and no
second-layer row).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..optim.clip import CLIP_EPS
from ..optim.schedule import lr_factor
from .activations import call
from .jit import activation_kernel, cached_njit
from .kernels import add_noise_rows, scatter_noise
from .update_kernel import fused_update

CONSTANTS_FROM = ("adamlab.optim.clip",)


@njit(error_model="numpy")
def general_batch_gradient(WT, GT, batch, lab, sc, ss, nc, nv, noise_idx, noise_val, act, dact,
                           power, rho, m, arow, zs, zn, cs, cn, out):
    """Accumulate the gradient of the mean batch loss into GT (zero on entry) and return the
    mean batch loss. arow: the trained second layer's row of WT, or -1 (fixed +1). zs, zn, cs,
    cn (K m,) and out (K,) are scratch buffers."""
    nf = WT.shape[1]
    K = out.shape[0]
    inv_b = 1.0 / batch.shape[0]
    loss = 0.0
    for bi in range(batch.shape[0]):
        i = batch[bi]
        for f in range(nf):
            zs[f] = ss[i] * WT[sc[i], f]
            zn[f] = nv[i] * WT[nc[i], f]
        add_noise_rows(WT, noise_idx[i], noise_val[i], zn)
        top = -math.inf
        for j in range(K):
            total = 0.0
            for f in range(j * m, (j + 1) * m):
                h = call(act, zs[f], power, rho) + call(act, zn[f], power, rho)
                total += h if arow < 0 else WT[arow, f] * h
            out[j] = total
            top = max(top, total)
        norm = 0.0
        for j in range(K):
            norm += math.exp(out[j] - top)
        lse = top + math.log(norm)
        loss += lse - out[lab[i]]
        for j in range(K):  # d loss / d F_j, over the batch
            out[j] = (math.exp(out[j] - lse) - (1.0 if j == lab[i] else 0.0)) * inv_b
        for f in range(nf):
            dout = out[f // m]
            if arow >= 0:
                GT[arow, f] += dout * (call(act, zs[f], power, rho) + call(act, zn[f], power, rho))
                dout *= WT[arow, f]
            cs[f] = dout * call(dact, zs[f], power, rho)
            cn[f] = dout * call(dact, zn[f], power, rho)
            GT[sc[i], f] += cs[f] * ss[i]
            GT[nc[i], f] += cn[f] * nv[i]
        scatter_noise(GT, noise_idx[i], noise_val[i], cn)
    return loss * inv_b


@cached_njit(CONSTANTS_FROM, error_model="numpy")
def clip_counted_rows(GT, rows, nr, max_norm):
    """Clip the gradient, whose non-zero rows are rows[:nr] (each once), to global L2 norm
    max_norm (torch's clip_grad_norm_, its 1e-6 included); return its norm."""
    nf = GT.shape[1]
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


@cached_njit(CONSTANTS_FROM, error_model="numpy")
def clip_rows(GT, batch, noise_idx, nfeat, arow, max_norm, rows, stamp, t):
    """Clip the gradient to global L2 norm max_norm and return its norm. Only the rows the batch
    touched can be non-zero (the nfeat feature rows 0..nfeat-1: the paper's signal row 0 alone,
    or the K classes' features; the batch's noise coordinates; a trained second layer's row
    arow >= 0, past every coordinate), so the norm sums those, each once: stamp[c] == t marks a
    row already counted at step t, rows collects them. The paper's loop (engines/fast.py) calls
    it with nfeat = 1 and arow = -1."""
    nr = 0
    for c in range(nfeat):
        rows[nr] = c
        stamp[c] = t
        nr += 1
    if arow >= 0:
        rows[nr] = arow
        nr += 1
    for bi in range(batch.shape[0]):
        for k in range(noise_idx.shape[1]):
            c = noise_idx[batch[bi], k]
            if stamp[c] != t:
                stamp[c] = t
                rows[nr] = c
                nr += 1
    return clip_counted_rows(GT, rows, nr, max_norm)


@cached_njit(error_model="numpy")
def clear_rows(GT, batch, noise_idx, nfeat, arow):
    """Zero the gradient rows a batch touched: the nfeat feature rows, its noise rows and the
    second layer's row arow when >= 0 (a dense clear when the batch covers about as many rows as
    there are)."""
    if batch.shape[0] * noise_idx.shape[1] >= GT.shape[0] // 2:
        GT[:] = 0.0
        return
    GT[:nfeat, :] = 0.0
    if arow >= 0:
        GT[arow, :] = 0.0
    for bi in range(batch.shape[0]):
        for k in range(noise_idx.shape[1]):
            GT[noise_idx[batch[bi], k], :] = 0.0


@activation_kernel(CONSTANTS_FROM, error_model="numpy")
def run_steps_general(WT, S, GT, batches, t0, lab, sc, ss, nc, nv, noise_idx, noise_val, K,
                      act, dact, power, rho, m, arow, update, lr, hp, scal, sched, clip_norm,
                      rows, stamp, tiny_m, tiny_v):
    """engines/fast.py `run_steps` for K classes, label noise and a trained second layer (row
    arow of WT, or -1): len(batches) steps after step t0; returns the (1-based) step whose batch
    loss was not finite, or -1."""
    nf = WT.shape[1]
    zs = np.empty(nf, dtype=WT.dtype)
    zn = np.empty(nf, dtype=WT.dtype)
    cs = np.empty(nf, dtype=WT.dtype)
    cn = np.empty(nf, dtype=WT.dtype)
    out = np.empty(K, dtype=np.float64)
    nfeat = 1 if K == 2 else K  # data.feature_coordinates
    Wf = WT.reshape(-1)
    Sf = S.reshape((S.shape[0], Wf.shape[0]))
    Gf = GT.reshape(-1)
    bad = -1
    for k in range(batches.shape[0]):
        t = t0 + k + 1
        loss = general_batch_gradient(WT, GT, batches[k], lab, sc, ss, nc, nv, noise_idx,
                                      noise_val, act, dact, power, rho, m, arow, zs, zn, cs, cn,
                                      out)
        if not math.isfinite(loss):
            Gf[:] = 0.0
            bad = t
            break
        if clip_norm > 0.0:
            clip_rows(GT, batches[k], noise_idx, nfeat, arow, clip_norm, rows, stamp, t)
        lr_t = lr * lr_factor(t, sched[0], sched[1], sched[2], sched[3], sched[4])
        fused_update(update, Wf, Sf, Gf, t, lr_t, hp, scal, tiny_m, tiny_v)
        clear_rows(GT, batches[k], noise_idx, nfeat, arow)
    return bad


@activation_kernel(error_model="numpy")
def general_outputs(WT, a, sc, ss, nc, nv, noise_idx, noise_val, label, act, dact, power, rho, m):
    """The general model's class outputs F (N, K) and noise memorisation (N,) on sparse patches,
    the metrics' forward (synthetic/metrics.py `class_outputs`): per example i, with a (K m,) the
    second layer (ones when fixed) and zs, zn as in `general_batch_gradient`,

        F[i, j] = sum_{f of class j} a_f (sigma(zs_f) + sigma(zn_f))
        noise[i] = max_{f of class label_i} zn_f      (NaN-propagating, as torch's amax)

    `dact` is unused; it is taken so every kernel takes an activation's `kernel_args` alike."""
    n = label.shape[0]
    nf = WT.shape[1]
    K = nf // m
    zs = np.empty(nf, dtype=WT.dtype)
    zn = np.empty(nf, dtype=WT.dtype)
    F = np.empty((n, K), dtype=WT.dtype)
    noise = np.empty(n, dtype=WT.dtype)
    for i in range(n):
        for f in range(nf):
            zs[f] = ss[i] * WT[sc[i], f]
            zn[f] = nv[i] * WT[nc[i], f]
        add_noise_rows(WT, noise_idx[i], noise_val[i], zn)
        for j in range(K):
            total = 0.0
            for f in range(j * m, (j + 1) * m):
                total += a[f] * (call(act, zs[f], power, rho) + call(act, zn[f], power, rho))
            F[i, j] = total
        own = label[i] * m
        noise[i] = zn[own:own + m].max()
    return F, noise


__all__ = ["general_batch_gradient", "run_steps_general", "clip_rows", "clear_rows",
           "general_outputs"]
