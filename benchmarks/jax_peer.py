"""The compiled peer of the synthetic benchmark: the paper's training loop as a JAX user would write it.

What a researcher fluent in JAX would write: dense patches, `jax.grad`, the Adam update written
out, one epoch as a `jax.lax.scan` under `jit`, float32, one thread. This module is that program, on adamlab's own data (Definition
3.1, `PatchData.to_dense()`), weights (`init_weights`) and batch order (`BatchSampler`), so the
benchmark compares equal work; `tests/test_jax_peer.py` checks its weights against the reference
engine (float64) within float32 tolerance.

    F_j(W, x) = sum_r relu(<w_jr, x1>)^q + relu(<w_jr, x2>)^q            (Definition 3.2)
    loss      = mean_i softplus(-y_i (F_+1 - F_-1))                      (softmax CE, 2 classes)
    g = grad + lambda*W;  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2     (Adam, L2 in the gradient)
    W -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)          (torch.optim.Adam's order)

Choices a strong JAX user makes, and why:
  * dense (n, 2, d) float32 patches and the weights as one (2m, d) matrix: the forward is a gather
    and one (2B, d) x (d, 2m) matmul, and `jax.grad` adds one more for dW (no gradient for X);
  * one epoch is one call: `lax.scan` over the epoch's (floor(n/B), B) int32 batch order, so every
    epoch of a run reuses one compiled program and no Python runs between steps; the (W, m, v, t)
    state is donated, so XLA updates it in place;
  * the step counter t lives in the scan carry and the bias corrections are computed in-graph as
    -expm1(t * log(beta)): 1 - beta^t without float32 cancellation (at t = 1, 1 - 0.999f has a
    relative error of 1.3e-5);
  * ahead-of-time compilation (`jit(...).lower(...).compile()`), timed on its own, so the
    benchmark's steady-state numbers exclude compile time.

Threads: importing this module before anything else imports jax gives XLA one worker thread
(`_import_jax_on_one_core`); the benchmark checks process CPU time against wall time.
"""
from __future__ import annotations

import os
import time

import numpy as np

XLA_SINGLE_THREAD = "--xla_cpu_multi_thread_eigen=false"


def _import_jax_on_one_core():
    """Import jax and create its CPU client with one worker thread, or return None without jax.

    XLA_FLAGS alone does not do it in jaxlib 0.10.2: with the flag above set (and TensorFlow's
    intra_op_parallelism_threads=1 beside it), four tf_XLAEigen threads were busy and the process
    used 1.9 cores (measured at B = 100). XLA sizes its thread
    pools from the CPU affinity mask when the client is created, so the client is created while
    this thread may run on one CPU only; the mask is then restored on every thread, so no thread
    is pinned to a particular core. Dispatch is synchronous, so a call also runs on the calling
    thread instead of overlapping Python with the computation on a second core.
    """
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_cpu_multi_thread_eigen" not in flags:
        os.environ["XLA_FLAGS"] = (flags + " " + XLA_SINGLE_THREAD).strip()
    pin = hasattr(os, "sched_setaffinity") and os.path.isdir("/proc/self/task")
    mask = os.sched_getaffinity(0) if pin else None
    if pin:
        os.sched_setaffinity(0, {min(mask)})
    try:
        import jax
        jax.config.update("jax_cpu_enable_async_dispatch", False)
        jax.devices("cpu")  # creates the client and its thread pools now, under the mask
    except ImportError:  # the optional `bench` extra is not installed
        return None
    finally:
        if pin:
            for tid in os.listdir("/proc/self/task"):
                try:
                    os.sched_setaffinity(int(tid), mask)
                except OSError:  # the thread has ended
                    pass
    return jax


jax = _import_jax_on_one_core()
jnp = jax.numpy if jax is not None else None

AVAILABLE = jax is not None


def version() -> str | None:
    return jax.__version__ if AVAILABLE else None


def _epoch_fn(power: float, width: int, lr: float, wd: float, b1: float, b2: float, eps: float):
    """The jit-able function (state, batches) -> state that takes one step per row of batches."""
    log_b1, log_b2 = float(np.log(b1)), float(np.log(b2))
    # The fixed second layer as one vector over (patch, filter): +1 for class +1's m filters,
    # -1 for class -1's, for each of the two patches; F_+1 - F_-1 is then one matrix-vector product.
    signs = np.tile(np.r_[np.ones(width), -np.ones(width)], 2).astype(np.float32)

    def loss_fn(W, Xb, yb):
        z = Xb.reshape(-1, Xb.shape[-1]) @ W.T                  # (2B, 2m): <w_f, x_p> per patch
        a = jnp.maximum(z, 0.0)
        a = a * a * a if power == 3.0 else a ** power
        margin = yb * (a.reshape(yb.shape[0], -1) @ signs)      # y (F_+1 - F_-1), (B,)
        return jnp.mean(jax.nn.softplus(-margin))

    grad_fn = jax.grad(loss_fn)

    def step(state, idx, X, y):
        W, m, v, t = state
        t = t + 1
        g = grad_fn(W, X[idx], y[idx]) + wd * W
        m = b1 * m + (1.0 - b1) * g
        v = b2 * v + (1.0 - b2) * g * g
        tf = t.astype(jnp.float32)
        bc1 = -jnp.expm1(tf * log_b1)
        bc2_sqrt = jnp.sqrt(-jnp.expm1(tf * log_b2))
        W = W - (lr / bc1) * m / (jnp.sqrt(v) / bc2_sqrt + eps)
        return (W, m, v, t), None

    def run(state, batches, X, y):
        state, _ = jax.lax.scan(lambda s, idx: step(s, idx, X, y), state, batches)
        return state

    return run


class JaxAdam:
    """The paper's synthetic loop with Adam (L2 weight decay, bias correction), in JAX, float32.

    One call of the compiled scan takes one epoch, floor(n/B) steps (fewer when a run is shorter
    than an epoch); `compile(batches)` compiles every chunk shape a run over `batches` needs and
    returns the seconds it took, `run(batches)` takes one step per row, `reset()` goes back to the
    initial weights (the compiled code is kept), `weights()` gives W as (2, m, d) float64.
    """

    def __init__(self, cfg, data, W0: np.ndarray):
        if not AVAILABLE:
            raise RuntimeError("jax is not installed (pip install 'adamlab[bench]')")
        if cfg.optimizer != "adam" or not cfg.bias_correction:
            raise ValueError("optimizer: the JAX peer implements adam with bias correction only, "
                             f"got {cfg.optimizer!r} (bias_correction={cfg.bias_correction})")
        self.batch_size, self.steps_per_epoch = cfg.batch_size, cfg.steps_per_epoch
        self.W0 = np.asarray(W0)
        two, m, d = self.W0.shape
        self.X = jnp.asarray(data.train.to_dense(), jnp.float32)  # (n, 2, d)
        self.y = jnp.asarray(data.train.y, jnp.float32)
        self._jit = jax.jit(_epoch_fn(float(cfg.power), m, cfg.lr, cfg.weight_decay, cfg.beta1,
                                      cfg.beta2, cfg.eps), donate_argnums=0)
        self._compiled: dict[tuple[int, int], object] = {}
        self.reset()

    def reset(self) -> None:
        two, m, d = self.W0.shape
        W = jnp.asarray(self.W0.reshape(two * m, d), jnp.float32)
        self.state = (W, jnp.zeros_like(W), jnp.zeros_like(W), jnp.zeros((), jnp.int32))

    def _chunks(self, batches: np.ndarray):
        for start in range(0, len(batches), self.steps_per_epoch):
            yield batches[start:start + self.steps_per_epoch]

    def compile(self, batches: np.ndarray) -> float:
        """Compile the scan for every chunk shape of a run over `batches`; returns seconds."""
        tic = time.perf_counter()
        for shape in {c.shape for c in self._chunks(np.asarray(batches))}:
            if shape not in self._compiled:
                spec = jax.ShapeDtypeStruct(shape, jnp.int32)
                self._compiled[shape] = self._jit.lower(self.state, spec, self.X,
                                                        self.y).compile()
        return time.perf_counter() - tic

    def run(self, batches: np.ndarray) -> None:
        batches = np.asarray(batches, dtype=np.int32)
        self.compile(batches)  # a no-op when compile() saw these shapes
        for part in self._chunks(batches):
            self.state = self._compiled[part.shape](self.state, part, self.X, self.y)
        jax.block_until_ready(self.state)

    @property
    def t(self) -> int:
        return int(self.state[3])

    def weights(self) -> np.ndarray:
        return np.asarray(self.state[0], dtype=np.float64).reshape(self.W0.shape)
