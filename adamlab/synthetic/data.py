"""The paper's signal / feature-noise patch data (docs/paper.md "Data model", Definition 3.1), and
its K-class and label-noise variants (docs/implementation.md "More classes, label noise, a
trained second layer").

One example is x = [x1, x2], two patches in R^d, with label y in {-1, +1}:
  * the signal patch is y * v with v = e_0 (coordinate 0 here; e_1 in the paper's one-based maths);
  * the noise patch xi has s Gaussian N(0, sigma_p^2) values on coordinates drawn uniformly among
    1..d-1, plus feature noise xi[0] = -alpha * y;
  * which patch comes first is uniform at random.

With K classes the class features are v_c: for K = 2 the paper's pair v_0 = e_0 (label +1),
v_1 = -e_0 (label -1); for K >= 3 the orthogonal v_c = e_c, c = 0..K-1. The signal patch of an
example of class c is v_c; its noise patch carries the feature noise +alpha * v_c' of another
class c' (for K >= 3 drawn uniformly among the K-1 others), which for K = 2 is
+alpha * v_{other} = -alpha * y * e_0, the paper's; the s Gaussian coordinates are drawn among the
coordinates that are no class's feature (1..d-1 for K = 2, K..d-1 for K >= 3). With label noise,
the label the loss sees is flipped for exactly round(p*n) training examples (to a uniformly drawn
other class) while the patches keep the true class.

The patches are stored sparsely (the signal patch has one non-zero, the noise patch s + 1), which is
what lets the fast engine cost O(B*m*s) per step instead of O(B*m*d). `to_dense` gives the plain
(N, 2, d) tensor for the reference model.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SIGNAL_COORD = 0


def feature_coordinates(classes: int) -> int:
    """How many leading coordinates hold class features: 1 for the paper's pair +-e_0, K else."""
    return 1 if classes == 2 else classes


def feature_of(c: np.ndarray, classes: int) -> tuple[np.ndarray, np.ndarray]:
    """(coordinate, sign) of the feature v_c of each class index in c."""
    c = np.asarray(c, dtype=np.int64)
    if classes == 2:
        return np.zeros_like(c), np.where(c == 0, 1.0, -1.0)
    return c, np.ones(c.shape)


@dataclass(frozen=True)
class PatchData:
    """N examples in sparse form.

    y:            (N,) the labels the loss sees (float64): {-1, +1} for two classes (class index 0
                  is +1), the class index 0..K-1 for K >= 3; flipped where there is label noise
    noise_idx:    (N, s) coordinates of the Gaussian part of the noise patch (never a feature's)
    noise_val:    (N, s) its values
    signal_first: (N,) True when x1 is the signal patch (the model is symmetric in the patches, but
                  the data are drawn as the paper defines them)
    alpha:        feature-noise strength; xi[SIGNAL_COORD] = -alpha * y for two classes
    d:            patch dimension
    classes:      K
    true_class:   (N,) the class the patches were drawn from, where it can differ from the label
                  (label noise); None: the label's
    noise_class:  (N,) K >= 3: the class c' whose feature the noise patch carries (+alpha v_c');
                  None for two classes (the other class)
    """

    y: np.ndarray
    noise_idx: np.ndarray
    noise_val: np.ndarray
    signal_first: np.ndarray
    alpha: float
    d: int
    classes: int = 2
    true_class: np.ndarray | None = None
    noise_class: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.y)

    @property
    def paper(self) -> bool:
        """The paper's two classes with clean labels: what the sparse kernels compute."""
        return self.classes == 2 and self.true_class is None

    @property
    def label(self) -> np.ndarray:
        """(N,) int class index of the label the loss sees (two classes: +1 -> 0, -1 -> 1)."""
        if self.classes == 2:
            return np.where(self.y > 0, 0, 1)
        return self.y.astype(np.int64)

    @property
    def clean_class(self) -> np.ndarray:
        """(N,) int class the patches were drawn from."""
        return self.label if self.true_class is None else self.true_class

    @property
    def flipped(self) -> np.ndarray:
        """(N,) bool: the label differs from the patches' class."""
        return self.label != self.clean_class

    def features(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(signal coordinate, signal sign, feature-noise coordinate, feature-noise value) of each
        example: x_signal = sign * e_coord, and the noise patch adds value * e_coord'."""
        c = self.clean_class
        sc, ss = feature_of(c, self.classes)
        other = 1 - c if self.classes == 2 else self.noise_class
        nc, ns = feature_of(other, self.classes)
        return sc, ss, nc, self.alpha * ns

    def to_dense(self) -> np.ndarray:
        """(N, 2, d) float64 array [x1, x2] exactly as Definition 3.1 lays it out."""
        n = len(self)
        signal = np.zeros((n, self.d))
        noise = np.zeros((n, self.d))
        np.put_along_axis(noise, self.noise_idx, self.noise_val, axis=1)
        if self.paper:
            signal[:, SIGNAL_COORD] = self.y
            noise[:, SIGNAL_COORD] = -self.alpha * self.y
        else:
            sc, ss, nc, nv = self.features()
            rows = np.arange(n)
            signal[rows, sc] = ss
            noise[rows, nc] += nv  # a feature coordinate is never a Gaussian one
        first = self.signal_first[:, None]
        return np.stack([np.where(first, signal, noise), np.where(first, noise, signal)], axis=1)


def draw_patches(rng: np.random.Generator, n: int, d: int, s: int, sigma_p: float, alpha: float,
                 balanced: bool, classes: int = 2) -> PatchData:
    """Draw n examples. balanced=True gives exactly n//K of each class, the first n mod K classes
    one more (two classes: +1 gets the odd one). Two classes draw exactly the paper's stream."""
    if classes == 2:
        if balanced:
            y = np.where(np.arange(n) < (n + 1) // 2, 1.0, -1.0)
            rng.shuffle(y)
        else:
            y = rng.choice([-1.0, 1.0], size=n)
    elif balanced:
        y = np.sort(np.arange(n) % classes).astype(np.float64)
        rng.shuffle(y)
    else:
        y = rng.integers(0, classes, size=n).astype(np.float64)
    # s distinct coordinates among the non-feature ones per example: the first s of a random
    # permutation of them.
    k = feature_coordinates(classes)
    keys = rng.random((n, d - k))
    noise_idx = np.argpartition(keys, s - 1, axis=1)[:, :s] + k if s < d - k else \
        np.tile(np.arange(k, d), (n, 1))
    noise_idx = np.sort(noise_idx, axis=1).astype(np.int64)
    noise_val = rng.normal(0.0, sigma_p, size=(n, s))
    signal_first = rng.random(n) < 0.5
    noise_class = None
    if classes > 2:  # drawn last, so the draws before it are the two-class stream's
        noise_class = (y.astype(np.int64) + rng.integers(1, classes, size=n)) % classes
    return PatchData(y=y, noise_idx=noise_idx, noise_val=noise_val, signal_first=signal_first,
                     alpha=float(alpha), d=d, classes=classes, noise_class=noise_class)


def flip_labels(rng: np.random.Generator, data: PatchData, p: float) -> PatchData:
    """Flip exactly round(p*N) labels, chosen uniformly without replacement, each to a uniformly
    drawn other class; the patches keep their class (`true_class`)."""
    n, K = len(data), data.classes
    which = rng.choice(n, size=int(round(p * n)), replace=False)
    label = data.label.copy()
    label[which] = (label[which] + rng.integers(1, K, size=len(which))) % K
    y = np.where(label == 0, 1.0, -1.0) if K == 2 else label.astype(np.float64)
    return PatchData(y=y, noise_idx=data.noise_idx, noise_val=data.noise_val,
                     signal_first=data.signal_first, alpha=data.alpha, d=data.d, classes=K,
                     true_class=data.clean_class, noise_class=data.noise_class)


@dataclass(frozen=True)
class SyntheticDataset:
    train: PatchData
    test: PatchData


def make_dataset(cfg) -> SyntheticDataset:
    """Train and test sets for a SyntheticConfig. The seed fixes both; the test set is an
    independent draw (its own random stream) and is never balanced by construction. Label noise
    has its own stream of the seed (4; the sampler's is 3), so which labels flip depends on the
    seed, n, p and K alone and the patches are the clean run's."""
    train_seq, test_seq = np.random.SeedSequence([cfg.seed, 1]).spawn(2)
    train = draw_patches(np.random.default_rng(train_seq), cfg.n, cfg.d, cfg.s, cfg.sigma_p,
                         cfg.alpha, cfg.balanced, cfg.classes)
    test = draw_patches(np.random.default_rng(test_seq), cfg.n_test, cfg.d, cfg.s, cfg.sigma_p,
                        cfg.alpha, balanced=False, classes=cfg.classes)
    if cfg.label_noise > 0:
        rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, 4]))
        train = flip_labels(rng, train, cfg.label_noise)
    return SyntheticDataset(train=train, test=test)
