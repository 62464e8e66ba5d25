"""Batch order (docs/paper.md "Optimisers", Sampling).

  * shuffle: a fresh permutation every epoch (what the experiments presumably do; the default);
  * cyclic:  the fixed order 0..n-1 every epoch (what the proofs assume);
  * shuffle-carry: a fresh permutation every pass, and the examples a pass leaves over (fewer
    than B) open the next pass's first batch, which takes the rest from that pass's permutation.

shuffle and cyclic make one epoch floor(n/B) steps: each example appears at most once per epoch
and n mod B examples are left out of it, so E epochs are E * floor(n/B) steps. That budget jumps
with B: at n = 200, B = 100 gets 2 steps an epoch and B = 101 one, and leaves 99 examples unseen
each epoch. shuffle-carry makes the budget smooth in B: E epochs (passes) are floor(E * n / B)
steps, every example is used exactly once per pass (the pass's permutation, read as one stream),
and a batch never holds an example twice (the batch that straddles two passes fills up with
examples of the new pass that are not already in it, moved to the front of that permutation).
`steps_after(n, B, sampler, epochs)` is that count; SyntheticConfig.total_steps reads it.

Every engine draws its batches here, so all engines see identical batches for the same seed.
`state()` / `set_state()` carry everything a sampler holds (its generator's state included) into
a run's saved state (core/state.py), so a continued run draws the batches the uninterrupted one
would have.
For shuffle-carry that includes `carry`: the examples drawn for a pass but not yet in a batch.
"""
from __future__ import annotations

import numpy as np

SAMPLERS = ("shuffle", "cyclic", "shuffle-carry")
CARRY = "shuffle-carry"


def steps_after(n: int, batch_size: int, sampler: str, epochs: int) -> int:
    """Steps taken after `epochs` epochs: epochs * floor(n/B), or floor(epochs * n / B) with
    shuffle-carry (integer arithmetic, so exact at any size)."""
    if sampler == CARRY:
        return epochs * n // batch_size
    return epochs * (n // batch_size)


# What fixes a sampler rather than where it stands: a state is only loaded into an equal one.
SETTINGS = ("n", "batch_size", "kind", "steps_per_epoch")


class BatchSampler:
    def __init__(self, n: int, batch_size: int, sampler: str, seed: int):
        if sampler not in SAMPLERS:
            raise ValueError(f"sampler: must be one of {', '.join(SAMPLERS)}, got {sampler!r}")
        self.n, self.batch_size, self.kind = n, batch_size, sampler
        self.steps_per_epoch = n // batch_size   # shuffle, cyclic; shuffle-carry: n / B on average
        self._rng = np.random.default_rng(np.random.SeedSequence([seed, 3]))
        self.carry = np.empty(0, dtype=np.int64)  # shuffle-carry: drawn, not yet in a batch (< B)

    def epochs(self, k: int) -> np.ndarray:
        """Batches for the next k epochs: (steps, batch_size) int64 indices, with steps =
        k * floor(n/B) (shuffle, cyclic) or the carry sampler's floor((r + k n) / B) for the r
        examples it carries in."""
        if self.kind == CARRY:
            return self._carried(k)
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
    def _carried(self, k: int) -> np.ndarray:
        B, parts, tail = self.batch_size, [], self.carry
        for _ in range(k):
            perm = self._rng.permutation(self.n).astype(np.int64)
            if len(tail):
                # The straddling batch is tail + perm[:B - r]: take those B - r among the
                # examples not in tail (n - r >= B - r exist), so no batch repeats an example.
                front = np.flatnonzero(~np.isin(perm, tail))[:B - len(tail)]
                perm = np.concatenate([perm[front], np.delete(perm, front)])
            stream = np.concatenate([tail, perm])
            cut = len(stream) // B * B
            parts.append(stream[:cut])
            tail = stream[cut:]
        self.carry = tail
        order = np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
        return order.reshape(-1, B)
