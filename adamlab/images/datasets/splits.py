"""Class-balanced subsets and the fixed validation split, all drawn from `data_seed`.

Within each class the examples are put in one seeded random order. The validation split takes
the first examples of each class's order; a training subset takes the next ones. The order never
depends on the sizes asked for, so the validation split is the same for every subset size and a
smaller subset is contained in a larger one. A total that does not divide by the number of classes
gives one extra example to classes picked in a seeded order.
"""
from __future__ import annotations

import numpy as np

from .base import DataError

# SeedSequence streams of data_seed, one per use, so each draw is independent of the others
_ORDER, _VAL_EXTRA, _SUBSET_EXTRA, _TEST_ORDER, _TEST_EXTRA = 11, 12, 13, 14, 15


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, stream]))


def balanced_counts(total: int, available: list[int], rng: np.random.Generator,
                    field: str) -> list[int]:
    """Per-class counts summing to total: total // C each, the remainder one each to classes in
    a seeded order; an error naming `field` when a class has too few examples."""
    c = len(available)
    counts = [total // c] * c
    for k in rng.permutation(c)[: total % c]:
        counts[k] += 1
    short = [k for k in range(c) if counts[k] > available[k]]
    if short:
        k = short[0]
        raise DataError(f"{field}: class {k} has {available[k]} examples left, fewer than the "
                        f"{counts[k]} a class-balanced {field} of {total} needs")
    return counts


def class_orders(y: np.ndarray, classes: int, rng: np.random.Generator) -> list[np.ndarray]:
    """For each class, its example indices in a seeded random order."""
    return [rng.permutation(np.flatnonzero(y == c)) for c in range(classes)]


def train_val_indices(y: np.ndarray, classes: int, val_size: int, subset: int | None,
                      seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(training indices, validation indices), each sorted."""
    orders = class_orders(y, classes, _rng(seed, _ORDER))
    val_counts = balanced_counts(val_size, [len(o) for o in orders], _rng(seed, _VAL_EXTRA),
                                 "val_size")
    val = [o[:k] for o, k in zip(orders, val_counts)]
    rest = [o[k:] for o, k in zip(orders, val_counts)]
    if subset is None:
        train = rest
    else:
        counts = balanced_counts(subset, [len(r) for r in rest], _rng(seed, _SUBSET_EXTRA),
                                 "subset")
        train = [r[:k] for r, k in zip(rest, counts)]
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))


def heldout_test_indices(y: np.ndarray, classes: int, test_subset: int | None,
                         seed: int) -> np.ndarray:
    """Indices of the test examples a run scores on: all, or a class-balanced subset."""
    if test_subset is None:
        return np.arange(len(y))
    orders = class_orders(y, classes, _rng(seed, _TEST_ORDER))
    counts = balanced_counts(test_subset, [len(o) for o in orders], _rng(seed, _TEST_EXTRA),
                             "test_subset")
    return np.sort(np.concatenate([o[:k] for o, k in zip(orders, counts)]))
