"""The paper's signal / feature-noise patch data (docs/paper.md "Data model", Definition 3.1).

One example is x = [x1, x2], two patches in R^d, with label y in {-1, +1}:
  * the signal patch is y * v with v = e_0 (coordinate 0 here; e_1 in the paper's one-based maths);
  * the noise patch xi has s Gaussian N(0, sigma_p^2) values on coordinates drawn uniformly among
    1..d-1, plus feature noise xi[0] = -alpha * y;
  * which patch comes first is uniform at random.

The patches are stored sparsely (the signal patch has one non-zero, the noise patch s + 1), which is
what lets the fast engine cost O(B*m*s) per step instead of O(B*m*d). `to_dense` gives the plain
(N, 2, d) tensor for the reference model.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SIGNAL_COORD = 0


@dataclass(frozen=True)
class PatchData:
    """N examples in sparse form.

    y:            (N,) labels in {-1, +1} (float64)
    noise_idx:    (N, s) coordinates of the Gaussian part of the noise patch (never SIGNAL_COORD)
    noise_val:    (N, s) its values
    signal_first: (N,) True when x1 is the signal patch (the model is symmetric in the patches, but
                  the data are drawn as the paper defines them)
    alpha:        feature-noise strength; xi[SIGNAL_COORD] = -alpha * y
    d:            patch dimension
    """

    y: np.ndarray
    noise_idx: np.ndarray
    noise_val: np.ndarray
    signal_first: np.ndarray
    alpha: float
    d: int

    def __len__(self) -> int:
        return len(self.y)

    def to_dense(self) -> np.ndarray:
        """(N, 2, d) float64 array [x1, x2] exactly as Definition 3.1 lays it out."""
        n = len(self)
        signal = np.zeros((n, self.d))
        signal[:, SIGNAL_COORD] = self.y
        noise = np.zeros((n, self.d))
        np.put_along_axis(noise, self.noise_idx, self.noise_val, axis=1)
        noise[:, SIGNAL_COORD] = -self.alpha * self.y
        first = self.signal_first[:, None]
        return np.stack([np.where(first, signal, noise), np.where(first, noise, signal)], axis=1)


def draw_patches(rng: np.random.Generator, n: int, d: int, s: int, sigma_p: float, alpha: float,
                 balanced: bool) -> PatchData:
    """Draw n examples. balanced=True gives exactly n//2 of each label (+1 gets the odd one)."""
    if balanced:
        y = np.where(np.arange(n) < (n + 1) // 2, 1.0, -1.0)
        rng.shuffle(y)
    else:
        y = rng.choice([-1.0, 1.0], size=n)
    # s distinct coordinates among 1..d-1 per example: the first s of a random permutation.
    keys = rng.random((n, d - 1))
    noise_idx = np.argpartition(keys, s - 1, axis=1)[:, :s] + 1 if s < d - 1 else \
        np.tile(np.arange(1, d), (n, 1))
    noise_idx = np.sort(noise_idx, axis=1).astype(np.int64)
    noise_val = rng.normal(0.0, sigma_p, size=(n, s))
    signal_first = rng.random(n) < 0.5
    return PatchData(y=y, noise_idx=noise_idx, noise_val=noise_val, signal_first=signal_first,
                     alpha=float(alpha), d=d)


@dataclass(frozen=True)
class SyntheticDataset:
    train: PatchData
    test: PatchData


def make_dataset(cfg) -> SyntheticDataset:
    """Train and test sets for a SyntheticConfig. The seed fixes both; the test set is an
    independent draw (its own random stream) and is never balanced by construction."""
    train_seq, test_seq = np.random.SeedSequence([cfg.seed, 1]).spawn(2)
    train = draw_patches(np.random.default_rng(train_seq), cfg.n, cfg.d, cfg.s, cfg.sigma_p,
                         cfg.alpha, cfg.balanced)
    test = draw_patches(np.random.default_rng(test_seq), cfg.n_test, cfg.d, cfg.s, cfg.sigma_p,
                        cfg.alpha, balanced=False)
    return SyntheticDataset(train=train, test=test)
