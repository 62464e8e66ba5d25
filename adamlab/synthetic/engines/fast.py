"""The fast engine: the whole training loop compiled with numba, on sparse patches.

Per step it costs O(B * m * s) for the forward and backward passes (a signal patch has one
non-zero, a noise patch s + 1; synthetic/kernels.py, shared with the metrics) plus one fused pass over
the 2*m*d weights for the update, with no Python between steps. Weights are held coordinate-major,
WT[c, f] = W[j, r, c] with f = j*m + r, so the 2m filter values of one noise coordinate are
contiguous and the inner loops vectorise.

The fused update is compiled from the optimiser's chain of transforms (its registry entry;
optim/chain.py writes one loop from each transform's compiled per-element form,
synthetic/update_kernel.py compiles it into `run_steps`): no branch per optimiser, and the engine
resolves the optimiser once, when it is built. The learning-rate schedule (optim/schedule.py) is
evaluated per step inside the compiled loop, and gradient clipping by global norm sums the rows
the batch touched (the gradient is zero elsewhere). Optimisers whose chain has a transform
without a compiled form run on the reference engine (synthetic/train.py says so).

It computes the reference engine's maths on the same batches in float64, up to summation order,
with one deliberate difference: optimiser moments below 1e-150 (first moments and momentum
buffers: Adam/NAdam m, SGD and RMSprop momentum) and 1e-280 (decaying second moments: Adam/NAdam/
RMSprop v) are flushed to zero (each transform's compiled form compares with the thresholds `tm`,
`tv` it is given: TINY). A coordinate that left the batches decays geometrically into
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
from ...optim.registry import get
from ...optim.schedule import Schedule, lr_factor
from ..activations import sigma_of
from ..data import feature_coordinates
from ..general_kernels import clear_rows, clip_rows, run_steps_general
from ..jit import activation_kernel
from ..kernels import batch_gradient, from_coordinate_major, to_coordinate_major
from ..mechanism import noise_coordinates, step_ratio_metrics
from ..model import init_second_layer
from ..subnormals import flush_subnormals, restore_fp_mode
from ..update_kernel import fused_update, kernel_for
from .reference import SECOND_LAYER

# Flush thresholds (first moments, decaying second moments) per dtype; see the module docstring.
# float64: subnormals start at 2.2e-308; v >= 1e-280 keeps b2*v and sqrt(v) far from them.
# float32: subnormals start at 1.2e-38. |m| >= 1e-30 keeps b1*m normal; v >= 1e-36 keeps b2*v
# normal down to b2 = 0.02, and sqrt(1e-36) = 1e-18 is 1e-10 of Adam's eps = 1e-8, far below
# float32's 6e-8 rounding; a flushed m moves W by at most lr * 1e-30 / eps, ~1e-22 of lr.
TINY = {np.dtype(np.float64): (1e-150, 1e-280), np.dtype(np.float32): (1e-30, 1e-36)}
TINY_M, TINY_V = TINY[np.dtype(np.float64)]
# Modules whose constants the compiled code below freezes in (CLIP_EPS, via clip_rows): their
# sources key the disk cache too (synthetic/jit.py). The fused update's source is keyed by its
# token (synthetic/update_kernel.py).
CONSTANTS_FROM = ("adamlab.synthetic.data", "adamlab.optim.clip")


# Cached on disk for the built-in activations, compiled per process for others (synthetic/jit.py).
@activation_kernel(CONSTANTS_FROM, error_model="numpy")
def run_steps(WT, S, GT, batches, t0, y, noise_idx, noise_val, alpha, act, dact, power, rho, m,
              update, lr, hp, scal, sched, clip_norm, rows, stamp, tiny_m, tiny_v, flush):
    """Run len(batches) steps starting after step t0. Returns the (1-based) step whose batch loss
    was not finite, or -1 when all steps were taken. act, dact, power, rho: the activation's
    kernel_args (synthetic/activations.py); update: the optimiser's fused update (an
    UpdateKernel token, synthetic/update_kernel.py) with its state S (k, d, 2m), scalar state
    scal and options hp; sched: (code, warmup, total, step size, gamma) of optim/schedule.py, in
    steps; clip_norm <= 0: no clipping; flush: subnormals are zero while the steps run (float32
    runs; synthetic/subnormals.py)."""
    nf = WT.shape[1]
    zs = np.empty(nf, dtype=WT.dtype)
    zn = np.empty(nf, dtype=WT.dtype)
    cs = np.empty(nf, dtype=WT.dtype)
    cn = np.empty(nf, dtype=WT.dtype)
    Wf = WT.reshape(-1)
    Sf = S.reshape((S.shape[0], Wf.shape[0]))
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
        if clip_norm > 0.0:  # one feature row: SIGNAL_COORD = 0
            clip_rows(GT, batches[k], noise_idx, 1, -1, clip_norm, rows, stamp, t)
        lr_t = lr * lr_factor(t, sched[0], sched[1], sched[2], sched[3], sched[4])
        fused_update(update, Wf, Sf, Gf, t, lr_t, hp, scal, tiny_m, tiny_v)
        clear_rows(GT, batches[k], noise_idx, 1, -1)
    if flush:
        restore_fp_mode(mode)
    return bad


class FastEngine:
    """The fast engine for optimisers whose chain compiles (registry entry `kernel`;
    train.make_engine sends the others to the reference engine). The optimiser is resolved once,
    here: its fused update (a token of synthetic/update_kernel.py), the options it takes and its
    state arrays."""

    def __init__(self, cfg, data, W0: np.ndarray):
        self.cfg = cfg
        self.train = data.train
        self.sigma = sigma_of(cfg)
        entry = get(cfg.optimizer)
        if not entry.kernel:
            raise ConfigError(f"optimizer: {entry.name} has no fast kernel (its chain "
                              f"{entry.chain!r} has a transform without a compiled form)")
        self.chain = entry.chain
        self.update = kernel_for(self.chain)
        self.rule = entry.build(cfg)  # checks the options; its preconditioner: the step ratio
        self.hp = tuple(v if isinstance(v, bool) else float(v) for v in
                        (self.rule.values[o] for o in self.chain.kernel_options()))
        self.dtype = np.dtype(cfg.dtype)
        WT = to_coordinate_major(W0).astype(self.dtype)
        # A trained second layer a (K, m) is one more row of the weights, row d, a[j, r] at
        # f = j*m + r (general_kernels.py): the fused update steps W and a as one parameter
        # group, as the reference engine does, and a state's arrays split it off again.
        a0 = init_second_layer(cfg)
        self.arow = -1 if a0 is None else cfg.d
        self.WT = WT if a0 is None else np.vstack([WT, a0.reshape(1, -1).astype(self.dtype)])
        # The patches in the weights' dtype (float32: the noise rows' multiply-adds stay float32);
        # labels are +-1 and alpha a scalar, exact or harmless in float64.
        self.noise_val = np.ascontiguousarray(data.train.noise_val, dtype=self.dtype)
        self.S = np.zeros((len(self.chain.state), *self.WT.shape), dtype=self.dtype)
        self.G = np.zeros_like(self.WT)
        self.scal = np.ones(len(self.chain.scalars))
        self.sched = Schedule(cfg).args()
        # K classes, label noise or a trained second layer: the general loop
        # (synthetic/general_kernels.py), with each example's feature coordinates; the paper's
        # data and model keep the paper's kernels.
        self.general = not data.train.paper or a0 is not None
        if self.general:
            sc, ss, nc, nv = data.train.features()
            self.examples = (np.ascontiguousarray(data.train.label, dtype=np.int64),
                             sc.astype(np.int64), ss.astype(np.float64), nc.astype(np.int64),
                             nv.astype(np.float64))
        self.features = tuple(range(feature_coordinates(data.train.classes)))
        self.rows = np.empty(len(self.features) + 1 + cfg.batch_size * cfg.s, dtype=np.int64)
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
        clip = -1.0 if c.clip_norm is None else c.clip_norm
        if self.general:
            bad = run_steps_general(self.WT, self.S, self.G, np.ascontiguousarray(batches),
                                    self.t, *self.examples, tr.noise_idx, self.noise_val,
                                    tr.classes, *self.sigma.kernel_args, c.width, self.arow,
                                    self.update,
                                    c.lr, self.hp, self.scal, self.sched, clip, self.rows,
                                    self.stamp, *TINY[self.dtype])
        else:
            bad = run_steps(self.WT, self.S, self.G, np.ascontiguousarray(batches), self.t,
                            tr.y, tr.noise_idx, self.noise_val, tr.alpha, *self.sigma.kernel_args,
                            c.width, self.update, c.lr, self.hp, self.scal, self.sched, clip,
                            self.rows, self.stamp, *TINY[self.dtype], self.dtype == np.float32)
        if bad >= 0:
            self.t = bad
            self.updates = bad - 1
            return bad
        self.t += len(batches)
        self.updates = self.t
        return None

    def _split(self, array: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """A coordinate-major array shaped like self.WT as (W (K, m, d), a (K, m) or None)."""
        d, m = self.cfg.d, self.cfg.width
        a = None if self.arow < 0 else array[d].reshape(-1, m).copy()
        return from_coordinate_major(array[:d], m), a

    def _join(self, W: np.ndarray, a: np.ndarray | None) -> np.ndarray:
        """The inverse of _split, in the engine's dtype."""
        WT = to_coordinate_major(np.asarray(W).astype(self.dtype))
        if self.arow < 0:
            return WT
        return np.vstack([WT, np.asarray(a, dtype=self.dtype).reshape(1, -1)])

    def weights(self) -> np.ndarray:
        """W (K, m, d) in float64, whatever the engine's dtype: the metrics are computed in
        float64 from the (float32) weights."""
        return self._split(self.WT)[0].astype(np.float64, copy=False)

    def second_layer(self) -> np.ndarray | None:
        """The trained output weights a (K, m), or None for the paper's fixed layer."""
        return self._split(self.WT)[1]

    def state(self) -> dict:
        """t, W (K, m, d) and the rule's state (each array of the chain's `state` shaped like W,
        each scalar a 0-d array), copied in the engine's dtype: the layout every engine's
        `state` shares (a trained second layer and its arrays under SECOND_LAYER, as the
        reference engine keeps them)."""
        optimizer = {}
        for i, key in enumerate(self.chain.state):
            W, a = self._split(self.S[i])
            optimizer[key] = W.copy()
            if a is not None:
                optimizer[f"{SECOND_LAYER}.{key}"] = a
        optimizer.update({key: np.array(self.scal[i]) for i, key in enumerate(self.chain.scalars)})
        W, a = self._split(self.WT)
        if a is not None:
            optimizer[SECOND_LAYER] = a
        return {"t": self.t, "weights": W.copy(), "optimizer": optimizer}

    def load_state(self, state: dict) -> None:
        """Continue from `state()` (of any engine, same config): the layout conversions only
        move values, so a fast engine's own state continues bit for bit."""
        opt = state["optimizer"]
        trained = self.arow >= 0
        self.WT = self._join(state["weights"], opt[SECOND_LAYER] if trained else None)
        S = np.zeros((len(self.chain.state), *self.WT.shape), dtype=self.dtype)
        for i, key in enumerate(self.chain.state):
            S[i] = self._join(opt[key], opt[f"{SECOND_LAYER}.{key}"] if trained else None)
        self.S = S
        for i, key in enumerate(self.chain.scalars):
            self.scal[i] = float(np.asarray(opt[key]))
        self.t = self.updates = int(state["t"])

    def rule_state(self) -> dict:
        """The optimiser state of W in the layout of the rule's own state (tensors shaped like W,
        in float64 as the weights: `weights`)."""
        out = {key: torch.from_numpy(self._split(self.S[i])[0].astype(np.float64, copy=False))
               for i, key in enumerate(self.chain.state)}
        out.update({key: torch.tensor(self.scal[i], dtype=torch.float64)
                    for i, key in enumerate(self.chain.scalars)})
        return out

    def extra_metrics(self) -> dict:
        if not hasattr(self.rule, "preconditioner"):
            return {}
        return step_ratio_metrics(self.rule, self.rule_state(), self.updates, self.coords,
                                  self.features)
