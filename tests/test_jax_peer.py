"""The benchmark's JAX peer (benchmarks/jax_peer.py) trains the same model with the same Adam as the
reference engine, so its speed column is equal work. Skipped without the optional `bench` extra."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from adamlab import SyntheticConfig
from adamlab.data.synthetic import make_dataset
from adamlab.engine.reference import ReferenceEngine
from adamlab.engine.sampler import BatchSampler
from adamlab.models.cnn import init_weights

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def load_peer():
    spec = importlib.util.spec_from_file_location("jax_peer", BENCH / "jax_peer.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# jax is imported when the first test here runs, not at collection: every xdist worker collects
# every file, and a worker that has jax loaded warns on each fork of later tests.
pytestmark = pytest.mark.skipif(importlib.util.find_spec("jax") is None,
                                reason="jax is not installed (optional extra: adamlab[bench])")


@pytest.fixture(scope="module")
def jax_peer():
    return load_peer()


SMALL = SyntheticConfig(d=150, n=24, s=12, width=5, sigma0=0.05, n_test=10, lr=3e-3,
                        weight_decay=0.05)
EPS32 = float(np.finfo(np.float32).eps)


def _both(jax_peer, cfg, batches):
    data, W0 = make_dataset(cfg), init_weights(cfg)
    ref = ReferenceEngine(cfg, data, W0)
    assert ref.run(batches) is None
    peer = jax_peer.JaxAdam(cfg, data, W0)
    peer.run(batches)
    assert peer.t == len(batches)
    return W0, ref.weights(), peer.weights()


@pytest.mark.parametrize("cfg, epochs, steps", [
    (SMALL.replace(batch_size=1), 2, None),   # 48 steps, 24 per compiled epoch
    (SMALL.replace(batch_size=5), 3, None),   # floor(24/5) = 4 steps per epoch, 4 examples unused
    (SMALL.replace(batch_size=24), 10, None),  # full batch
    (SyntheticConfig(batch_size=2, n_test=10), 1, 30),     # the paper's setting, part of an epoch
    (SyntheticConfig(batch_size=100, n_test=10), 5, None),  # the paper's large batch
])
def test_jax_peer_follows_the_float64_reference(jax_peer, cfg, epochs, steps):
    batches = BatchSampler(cfg.n, cfg.batch_size, "shuffle", cfg.seed).epochs(epochs)[:steps]
    W0, ref, jax_w = _both(jax_peer, cfg, batches)
    # float32 tolerance: a few ulps of the largest weight (measured: at most 4 ulps here).
    tol = 16 * EPS32 * np.abs(W0).max()
    assert np.abs(jax_w - ref).max() <= tol
    # Not vacuous: the weights moved by far more than the tolerance (lr per step, Adam ~ sign).
    assert np.abs(ref - W0).max() > 1000 * tol


def test_wrong_maths_would_fail(jax_peer):
    """Without bias correction the reference moves differently; the tolerance above sees it."""
    cfg = SMALL.replace(batch_size=5)
    batches = BatchSampler(cfg.n, cfg.batch_size, "shuffle", 0).epochs(2)
    W0, _, jax_w = _both(jax_peer, cfg, batches)
    data = make_dataset(cfg)
    ref = ReferenceEngine(cfg.replace(bias_correction=False), data, W0)
    ref.run(batches)
    assert np.abs(jax_w - ref.weights()).max() > 100 * 16 * EPS32 * np.abs(W0).max()


def test_epoch_calls_equal_one_call_and_reset_restarts(jax_peer):
    cfg = SMALL.replace(batch_size=2)
    data, W0 = make_dataset(cfg), init_weights(cfg)
    batches = BatchSampler(cfg.n, 2, "shuffle", 0).epochs(3)
    peer = jax_peer.JaxAdam(cfg, data, W0)
    peer.compile(batches)
    peer.compile(batches)
    assert len(peer._compiled) == 1  # one program for every epoch (no recompiles)
    peer.run(batches)
    per_epoch = peer.weights()
    peer.reset()
    assert peer.t == 0 and np.allclose(peer.weights(), W0, atol=EPS32 * np.abs(W0).max())
    whole = jax_peer.JaxAdam(cfg, data, W0)
    whole.steps_per_epoch = len(batches)  # the whole run as one scan
    whole.run(batches)
    np.testing.assert_array_equal(per_epoch, whole.weights())


@pytest.mark.parametrize("change", [{"optimizer": "adamw"}, {"bias_correction": False}])
def test_only_adam_with_bias_correction(jax_peer, change):
    cfg = SMALL.replace(**change)
    with pytest.raises(ValueError, match="optimizer: the JAX peer implements adam"):
        jax_peer.JaxAdam(cfg, make_dataset(cfg), init_weights(cfg))
