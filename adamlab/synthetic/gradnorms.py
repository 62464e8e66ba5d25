"""Batch-gradient norms along a run: to choose a clipping threshold that binds, and to say how
often it bound (docs/paper.md "Limits": gradient clipping is not analysed by the paper).

Clipping by global norm (optim/clip.py) changes a step only when the L2 norm of the batch-loss
gradient exceeds `clip_norm`. The engines do not count how often that happens (it would cost the
fast loop a branch and an output), so `gradient_norms` replays a run instead: the same data,
initialisation and batch order as `adamlab.train`, on the same step engine, taking one step at a
time through a sample of its epochs and recording, before each step, the norm the engine's
clipping sees (the dense autograd gradient of synthetic/model.py: the reference definition, which the
fast kernels match to rounding). The other epochs run in bulk. With clipping on, the run replayed
is the clipped run, so `fraction_above(cfg.clip_norm)` estimates the share of its steps that
were clipped.

Which epochs: SAMPLES_LOG spaced geometrically from epoch 1 and SAMPLES_EVEN spread evenly, all
of each sampled epoch's steps. Both are needed: the norms of the two phases differ by orders of
magnitude. On the table's seed 0 at 10^4 epochs, Adam at B = 2 has norms up to ~0.6 in its first
few hundred epochs (Stage I, where the race between feature and noise is decided) and a median of
5e-5 over the rest (margins large, losses tiny); at B = 100 they grow from 8e-4 to ~0.06 during
Stage I. An even sample alone would all but miss Stage I at B = 2; a geometric one alone would
say little about the long rest. Each sampled epoch stands for the epochs around it (half the gap
to each neighbour), so the fractions are estimates over the run's steps, not over the sample.

Cost: one training run plus about 0.3 ms per sampled step (B = 2 at 10^4 epochs: ~80 sampled
epochs of 100 steps, a few seconds on top of the run's ~40 s).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from . import model as cnn
from .activations import sigma_of
from .data import make_dataset
from .sampler import BatchSampler
from .train import engine_for, make_engine, second_layer

SAMPLES_LOG = 40   # epochs spaced geometrically from 1 (dense where Stage I is)
SAMPLES_EVEN = 50  # epochs spread evenly over the run (the last one included)


@dataclass(frozen=True)
class GradientNorms:
    """norms[k]: the norms before each step of epoch epochs[k] (1-based: the epochs[k]-th epoch
    of the run, floor(n/B) steps); weights[k]: how many of the run's epochs that sampled epoch
    stands for; status "ok", or "diverged" when a batch loss was not finite (the norms stop
    there); weight_norm: ||W|| at the end of the replay (the run's summary["weight_norm"]: the
    same run)."""

    epochs: tuple[int, ...]
    norms: tuple[np.ndarray, ...]
    weights: tuple[float, ...]
    status: str = "ok"
    weight_norm: float = float("nan")

    def _select(self, until: float | None):
        return [(e, x, w) for e, x, w in zip(self.epochs, self.norms, self.weights)
                if until is None or e <= until]

    def fraction_above(self, threshold: float, until: float | None = None) -> float:
        """The estimated share of the run's steps (of its epochs up to `until`, or all) whose
        norm exceeded `threshold` (clip_grad_norm_ scales a gradient by min(1, c / (norm +
        1e-6)): below 1 only when norm > c - 1e-6). NaN when nothing was sampled there."""
        sel = self._select(until)
        total = sum(w for _, x, w in sel if x.size)
        if not total:
            return float("nan")
        return float(sum(w * np.mean(x > threshold - 1e-6) for _, x, w in sel if x.size)
                     / total)

    def quantiles(self, qs=(0.1, 0.5, 0.9, 1.0), until: float | None = None) -> dict:
        """Quantiles of the sampled norms (up to `until`), each epoch weighted as above."""
        sel = [(x, w) for _, x, w in self._select(until) if x.size]
        if not sel:
            return {q: float("nan") for q in qs}
        x = np.concatenate([x for x, _ in sel])
        w = np.concatenate([np.full(x.size, w / x.size) for x, w in sel])
        order = np.argsort(x)
        cum = np.cumsum(w[order]) / w.sum()
        return {q: float(x[order][min(np.searchsorted(cum, q), x.size - 1)]) for q in qs}


def sample_epochs(epochs: int, n_log: int = SAMPLES_LOG, n_even: int = SAMPLES_EVEN) -> list[int]:
    """Epochs to sample: n_log spaced geometrically over 1..epochs and n_even spread evenly (the
    first and the last among them), merged; every epoch when there are fewer."""
    geometric = np.geomspace(1, epochs, n_log) if n_log else []
    even = np.linspace(1, epochs, n_even) if n_even else []
    return sorted({int(round(x)) for x in (*geometric, *even)})


def epoch_weights(sampled: list[int], epochs: int) -> list[float]:
    """How many of the run's 1..epochs each sampled epoch stands for: from half-way to the
    previous sample to half-way to the next (the ends to the run's ends); they sum to epochs."""
    edges = [0.5] + [(a + b) / 2 for a, b in zip(sampled, sampled[1:])] + [epochs + 0.5]
    return [hi - lo for lo, hi in zip(edges, edges[1:])]


def gradient_norms(cfg, n_log: int = SAMPLES_LOG, n_even: int = SAMPLES_EVEN) -> GradientNorms:
    """Replay the run of `cfg` (a SyntheticConfig) and return the batch-gradient norms of every
    step of its sampled epochs (see the module docstring)."""

    data = make_dataset(cfg)
    engine = make_engine(cfg, data, cnn.init_weights(cfg), engine=engine_for(cfg)[0])
    sampler = BatchSampler(cfg.n, cfg.batch_size, cfg.sampler, cfg.seed)
    sigma = sigma_of(cfg)
    X = torch.tensor(data.train.to_dense(), dtype=torch.float64)
    y = torch.tensor(data.train.y, dtype=torch.float64)
    sampled = sample_epochs(cfg.epochs, n_log, n_even)
    weights = epoch_weights(sampled, cfg.epochs)
    norms: list[np.ndarray] = []
    done = 0

    def result(status):
        k = len(norms)
        return GradientNorms(tuple(sampled[:k]), tuple(norms), tuple(weights[:k]), status,
                             float(np.linalg.norm(engine.weights())))

    for epoch in sampled:
        if epoch - 1 > done:  # the epochs before it, in bulk (the same batch stream)
            if engine.run(sampler.epochs(epoch - 1 - done)) is not None:
                return result("diverged")
        row = []
        for batch in sampler.epochs(1):
            W = torch.tensor(engine.weights(), dtype=torch.float64, requires_grad=True)
            a = second_layer(engine)  # trained output weights: their gradient is clipped too
            params = (W,) if a is None else (W, torch.tensor(a, requires_grad=True))
            index = torch.from_numpy(batch)
            grads = torch.autograd.grad(cnn.loss(W, X[index], y[index], sigma, *params[1:]),
                                        params)
            row.append(float(torch.linalg.vector_norm(torch.cat([g.flatten() for g in grads]))))
            if engine.run(batch[None, :]) is not None:
                norms.append(np.asarray(row))
                return result("diverged")
        norms.append(np.asarray(row))
        done = epoch
    return result("ok")


__all__ = ["GradientNorms", "gradient_norms", "sample_epochs", "epoch_weights", "SAMPLES_LOG",
           "SAMPLES_EVEN"]

