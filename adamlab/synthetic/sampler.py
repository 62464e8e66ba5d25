"""Batch order (docs/paper.md "Optimisers", Sampling).

One epoch is floor(n/B) steps and each example appears at most once per epoch.
  * shuffle: a fresh permutation every epoch (what the experiments presumably do; the default);
  * cyclic:  the fixed order 0..n-1 every epoch (what the proofs assume).
Every engine draws its batches here, so all engines see identical batches for the same seed.
"""
from __future__ import annotations

import numpy as np


class BatchSampler:
    def __init__(self, n: int, batch_size: int, sampler: str, seed: int):
        self.n, self.batch_size, self.kind = n, batch_size, sampler
        self.steps_per_epoch = n // batch_size
        self._rng = np.random.default_rng(np.random.SeedSequence([seed, 3]))

    def epochs(self, k: int) -> np.ndarray:
        """Batches for the next k epochs: (k * steps_per_epoch, batch_size) int64 indices."""
        used = self.steps_per_epoch * self.batch_size
        if self.kind == "cyclic":
            one = np.arange(used, dtype=np.int64)
            order = np.tile(one, k)
        else:
            order = np.concatenate([self._rng.permutation(self.n)[:used] for _ in range(k)])
        return order.astype(np.int64).reshape(k * self.steps_per_epoch, self.batch_size)
