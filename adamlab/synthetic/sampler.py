"""Batch order (docs/paper.md "Optimisers", Sampling).

One epoch is floor(n/B) steps and each example appears at most once per epoch.
  * shuffle: a fresh permutation every epoch (what the experiments presumably do; the default);
  * cyclic:  the fixed order 0..n-1 every epoch (what the proofs assume).
Every engine draws its batches here, so all engines see identical batches for the same seed.
`state()` / `set_state()` carry everything a sampler holds (its generator's state included) into
a run's saved state (core/state.py), so a continued run draws the batches the uninterrupted one
would have.
"""
from __future__ import annotations

import numpy as np


# What fixes a sampler rather than where it stands: a state is only loaded into an equal one.
SETTINGS = ("n", "batch_size", "kind", "steps_per_epoch")


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

    def state(self) -> dict:
        """Everything the sampler holds, read generically so that what a sampler mode adds is
        carried too: each attribute by name (a numpy Generator as its bit generator's state,
        arrays copied)."""
        out = {}
        for name, value in vars(self).items():
            if isinstance(value, np.random.Generator):
                value = value.bit_generator.state
            elif isinstance(value, np.ndarray):
                value = value.copy()
            out[name] = value
        return out

    def set_state(self, state: dict) -> None:
        """Continue from `state()` of a sampler with the same settings (ValueError otherwise)."""
        mine = vars(self)
        if set(state) != set(mine):
            raise ValueError(f"sampler state: holds {', '.join(sorted(state))}, this sampler "
                             f"{', '.join(sorted(mine))}")
        for name in SETTINGS:
            if state[name] != mine[name]:
                raise ValueError(f"sampler state: {name} is {state[name]!r}, this sampler's "
                                 f"{mine[name]!r}")
        for name, value in state.items():
            if isinstance(mine[name], np.random.Generator):
                mine[name].bit_generator.state = value
            elif isinstance(value, np.ndarray):
                setattr(self, name, value.copy())
            else:
                setattr(self, name, value)
