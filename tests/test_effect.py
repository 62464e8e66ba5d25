"""The paper's effect at small scale, over several seeds (robust margins, no tuned seeds).

Same number of steps (2000) for both: large batch B=100 for 1000 epochs vs mini batch B=2 for 20
epochs, on the paper's data and model (d=1000, n=200, s=100, m=20, lr 5e-5).
"""
import numpy as np
import pytest

from adamlab import SyntheticConfig, train

SEEDS = (0, 1, 2)


@pytest.mark.parametrize("optimizer, weight_decay", [("adam", 1e-5), ("adamw", 1e-2)])
def test_mini_batch_generalises_and_large_batch_does_not(optimizer, weight_decay):
    base = SyntheticConfig(optimizer=optimizer, weight_decay=weight_decay, n_test=2000)
    large = [train(base.replace(batch_size=100, epochs=1000, seed=s)).summary for s in SEEDS]
    mini = [train(base.replace(batch_size=2, epochs=20, seed=s)).summary for s in SEEDS]
    # Both fit the training set...
    assert max(r["train_error"] for r in large + mini) <= 0.05
    # ...but only the mini-batch runs generalise, on every seed.
    assert np.mean([r["test_error"] for r in large]) > 0.4
    assert np.mean([r["test_error"] for r in mini]) < 0.1
    assert all(m["test_error"] < l["test_error"] for m, l in zip(mini, large))
    # Large batch memorises noise for every example; mini batch learns the feature.
    assert np.mean([r["noise_memorisation_min"] for r in large]) > \
        np.mean([r["noise_memorisation_min"] for r in mini])
    assert min(r["feature_learning"] for r in mini) > 0.1


def test_adam_with_large_weight_decay_stays_near_initialisation():
    # Cor 4.3 / Fig 5: lambda = 0.05 >> sigma0^(q-2) = 0.01, the L2 term dominates the gradient.
    runs = [train(SyntheticConfig(optimizer="adam", weight_decay=0.05, batch_size=2, epochs=20,
                                  n_test=1000, seed=s)) for s in SEEDS]
    for r in runs:
        init_norm = r.metrics[9][4]
        assert r.metrics[9][3] == "weight_norm"
        assert r.summary["weight_norm"] < 0.1 * init_norm  # shrunk towards zero, not trained
        assert r.summary["train_error"] > 0.3  # never fits the training set
        assert abs(r.summary["feature_learning"]) < 0.01
