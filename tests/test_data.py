"""The synthetic data follow Definition 3.1 exactly."""
import numpy as np
import pytest

from adamlab import SyntheticConfig
from adamlab.synthetic.data import SIGNAL_COORD, make_dataset

CFG = SyntheticConfig(d=300, n=50, s=20, sigma_p=0.5, alpha=0.3, n_test=400, seed=7)


def test_sparsity_and_support():
    data = make_dataset(CFG)
    for part in (data.train, data.test):
        X = part.to_dense()
        sig = np.where(part.signal_first[:, None], X[:, 0], X[:, 1])
        noise = np.where(part.signal_first[:, None], X[:, 1], X[:, 0])
        # Signal patch is y * e_0 and nothing else.
        assert np.array_equal(sig[:, SIGNAL_COORD], part.y)
        assert np.count_nonzero(sig, axis=1).max() == 1
        # Noise patch: exactly s Gaussian coordinates off the signal coordinate, plus feature noise.
        assert (part.noise_idx != SIGNAL_COORD).all()
        assert all(len(set(row)) == CFG.s for row in part.noise_idx)
        assert np.array_equal(np.count_nonzero(noise[:, 1:], axis=1), np.full(len(part), CFG.s))
        np.testing.assert_allclose(noise[:, SIGNAL_COORD], -CFG.alpha * part.y)


def test_noise_statistics():
    data = make_dataset(CFG.replace(n=400))
    vals = data.train.noise_val.ravel()
    assert abs(vals.mean()) < 0.02 and abs(vals.std() - CFG.sigma_p) < 0.02
    # Coordinates are uniform over 1..d-1: every coordinate is used, none far from s*n/(d-1).
    counts = np.bincount(data.train.noise_idx.ravel(), minlength=CFG.d)
    assert counts[SIGNAL_COORD] == 0
    assert counts[1:].min() > 0 and counts[1:].max() < 4 * counts[1:].mean()


def test_balanced_labels_and_patch_order():
    data = make_dataset(CFG)
    assert (data.train.y == 1).sum() == (data.train.y == -1).sum() == CFG.n // 2
    assert set(np.unique(data.test.y)) == {-1.0, 1.0}
    unbalanced = make_dataset(CFG.replace(balanced=False, n=51))
    assert set(np.unique(unbalanced.train.y)) <= {-1.0, 1.0}
    # Which patch holds the signal is random, about half each way.
    assert 0.35 < data.test.signal_first.mean() < 0.65


def test_seed_determines_everything_and_test_is_independent():
    a, b = make_dataset(CFG), make_dataset(CFG)
    assert np.array_equal(a.train.to_dense(), b.train.to_dense())
    assert np.array_equal(a.test.to_dense(), b.test.to_dense())
    c = make_dataset(CFG.replace(seed=8))
    assert not np.array_equal(a.train.noise_val, c.train.noise_val)
    # The test draw does not depend on the training-set size.
    d = make_dataset(CFG.replace(n=60))
    assert np.array_equal(a.test.noise_val, d.test.noise_val)


@pytest.mark.parametrize("s", [1, 299])
def test_extreme_sparsity(s):
    data = make_dataset(CFG.replace(s=s))
    assert data.train.noise_idx.shape == (CFG.n, s)
    assert (data.train.noise_idx >= 1).all() and (data.train.noise_idx < CFG.d).all()
