"""The two-layer CNN of synthetic/model.py on sparse patches, compiled with numba: forward, margins and
the gradient of the batch loss. The fast engine's step and the metrics both call these, so the model
is written once here (and once, densely, in synthetic/model.py, the autograd reference they are tested
against).

Weights are coordinate-major, WT[c, f] = W[j, r, c] with filter f = j*m + r (j = 0: class +1), so
the 2m filter values of one noise coordinate are contiguous and the inner loops vectorise. For
example i with label y_i, signal patch y_i v and noise patch xi_i (s Gaussian values plus the
feature noise -alpha y_i v, Definition 3.1):

    zs_f = <w_f, y_i v>  = y_i WT[0, f]
    zn_f = <w_f, xi_i>   = -alpha y_i WT[0, f] + sum_k WT[c_k, f] v_k
    F_{+1} = sum_{f < m} sigma(zs_f) + sigma(zn_f),   F_{-1} = the same over f >= m
    margin = y_i (F_{+1} - F_{-1}),   loss = log(1 + exp(-margin))

`act`, `dact` (sigma and sigma') stand for an activation's numba functions from
synthetic/activations.py, passed with its `power` and `rho` (`Sigma.kernel_args`) and called through
`activations.call`: numba compiles one specialisation of each kernel per activation and inlines
sigma into it. For the built-in activations they are tokens and the specialisations are cached on
disk; for an activation registered at run time they are its numba functions and the kernels are
compiled once per process (synthetic/jit.py).

Every kernel takes the arrays in their own dtype (float64, or float32 for the fast engine's
`dtype = "float32"`): the per-row multiply-adds run in that dtype, while the margin, the loss and
dmargin are accumulated in float64 (the activation's float64 literals and the float64 labels
widen them; 2m values per example, a negligible cost).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from .activations import call
from .data import SIGNAL_COORD
from .jit import activation_kernel


@njit(inline="always", error_model="numpy")
def add_noise_rows(WT, idx, val, zn):
    """zn[f] += sum_k WT[idx[k], f] val[k]: the Gaussian part of a noise patch's
    pre-activations."""
    nf = WT.shape[1]
    for k in range(idx.shape[0]):
        c = idx[k]
        v = val[k]
        for f in range(nf):
            zn[f] += WT[c, f] * v


@njit(inline="always", error_model="numpy")
def scatter_noise(GT, idx, val, cn):
    """GT[idx[k], f] += cn[f] val[k]: the gradient on a noise patch's Gaussian coordinates."""
    nf = GT.shape[1]
    for k in range(idx.shape[0]):
        c = idx[k]
        v = val[k]
        for f in range(nf):
            GT[c, f] += cn[f] * v


@njit(inline="always", error_model="numpy")
def preactivations(WT, yi, idx, val, alpha, zs, zn):
    """Fill zs, zn (2m,) with the pre-activations of one example's signal and noise patches;
    idx, val are its s noise coordinates and values."""
    nf = WT.shape[1]
    for f in range(nf):
        w0 = WT[SIGNAL_COORD, f]
        zs[f] = yi * w0
        zn[f] = -alpha * yi * w0
    add_noise_rows(WT, idx, val, zn)


@njit(inline="always", error_model="numpy")
def margin(zs, zn, yi, act, power, rho, m):
    """y_i (F_{+1} - F_{-1}) from the pre-activations."""
    out0 = 0.0
    out1 = 0.0
    for f in range(zs.shape[0]):
        a = call(act, zs[f], power, rho) + call(act, zn[f], power, rho)
        if f < m:
            out0 += a
        else:
            out1 += a
    return yi * (out0 - out1)


@njit(error_model="numpy")
def batch_gradient(WT, GT, batch, y, noise_idx, noise_val, alpha, act, dact, power, rho, m,
                   zs, zn, cs, cn):
    """Accumulate the gradient of the mean batch loss into GT (zero on entry; same layout as WT)
    and return the mean batch loss. zs, zn, cs, cn are (2m,) scratch buffers.

    d loss_i / d WT[c, f] = dmargin * y_i * (+1 for f < m, -1 else) * (sigma'(zs_f) d zs_f/dWT[c,f]
    + sigma'(zn_f) d zn_f / dWT[c, f]): only the signal row and the example's s noise rows."""
    nf = WT.shape[1]
    inv_b = 1.0 / batch.shape[0]
    loss = 0.0
    for bi in range(batch.shape[0]):
        i = batch[bi]
        yi = y[i]
        preactivations(WT, yi, noise_idx[i], noise_val[i], alpha, zs, zn)
        mi = margin(zs, zn, yi, act, power, rho, m)
        # softplus(-margin) and its derivative -1 / (1 + exp(margin)), both stable.
        loss += max(-mi, 0.0) + math.log1p(math.exp(-abs(mi)))
        dmargin = -1.0 / (1.0 + math.exp(mi)) if mi < 700.0 else 0.0
        for f in range(nf):
            dout = dmargin * yi * inv_b * (1.0 if f < m else -1.0)
            cs[f] = dout * call(dact, zs[f], power, rho)
            cn[f] = dout * call(dact, zn[f], power, rho)
            GT[SIGNAL_COORD, f] += (cs[f] - alpha * cn[f]) * yi
        scatter_noise(GT, noise_idx[i], noise_val[i], cn)
    return loss * inv_b


@activation_kernel(depends=("adamlab.synthetic.data",), error_model="numpy")
def margins_and_noise(WT, y, noise_idx, noise_val, alpha, act, dact, power, rho, m):
    """For every example: its margin, and its noise memorisation max_r <w_{y_i, r}, xi_i> (the
    largest noise pre-activation among the filters of its own class). `dact` is unused; it is
    taken so every kernel takes an activation's `kernel_args` the same way."""
    n = y.shape[0]
    nf = WT.shape[1]
    zs = np.empty(nf, dtype=WT.dtype)
    zn = np.empty(nf, dtype=WT.dtype)
    margins = np.empty(n, dtype=WT.dtype)
    noise = np.empty(n, dtype=WT.dtype)
    for i in range(n):
        yi = y[i]
        preactivations(WT, yi, noise_idx[i], noise_val[i], alpha, zs, zn)
        margins[i] = margin(zs, zn, yi, act, power, rho, m)
        own = 0 if yi > 0 else m  # the filters of the example's class
        noise[i] = zn[own:own + m].max()  # NaN-propagating, as numpy's
    return margins, noise


def to_coordinate_major(W: np.ndarray) -> np.ndarray:
    """(2, m, d) -> (d, 2m), keeping the dtype."""
    two, m, d = W.shape
    return np.ascontiguousarray(W.reshape(two * m, d).T)


def from_coordinate_major(WT: np.ndarray, m: int) -> np.ndarray:
    d, nf = WT.shape
    return np.ascontiguousarray(WT.T).reshape(nf // m, m, d)
