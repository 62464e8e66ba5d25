"""The benchmark's JAX peer (benchmarks/jax_peer.py) trains the same model with the same Adam as the
reference engine (float64), so its speed column is equal work. Skipped without the optional
`bench` extra. The numbers come from tests/jax_peer_checks.py, run in its own process (see there)."""
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
EPS32 = float(np.finfo(np.float32).eps)

pytestmark = pytest.mark.skipif(importlib.util.find_spec("jax") is None,
                                reason="jax is not installed (optional extra: adamlab[bench])")


@pytest.fixture(scope="module")
def checks():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT)] + sys.path)}
    done = subprocess.run([sys.executable, str(ROOT / "tests" / "jax_peer_checks.py")], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.splitlines()[-1])
    assert out["available"]
    return out


@pytest.mark.parametrize("case", ["B=1", "B=5", "B=n", "paper B=2", "paper B=100"])
def test_jax_peer_follows_the_float64_reference(checks, case):
    c = checks["cases"][case]
    assert c["t"] == c["steps"]
    # float32 tolerance: 16 ulps of the largest weight (measured: at most 4).
    tol = 16 * EPS32 * c["max_abs_w0"]
    assert c["max_err"] <= tol
    # Not vacuous: the weights moved by far more than the tolerance (Adam moves ~lr per step).
    assert c["max_move"] > 1000 * tol


def test_wrong_maths_would_fail(checks):
    """Against a reference without bias correction the same JAX weights are far outside it."""
    c = checks["cases"]["B=5"]
    assert c["max_err_no_bias_correction"] > 100 * 16 * EPS32 * c["max_abs_w0"]


def test_epoch_calls_equal_one_call_and_reset_restarts(checks):
    e = checks["epochs"]
    assert e["programs"] == 1  # one compiled program for every epoch (no recompiles)
    assert e["equal"]  # one call per epoch gives bit for bit the weights of one scan over all
    assert e["reset_t"] == 0 and e["reset_err"] <= EPS32 * e["max_abs_w0"]


def test_only_adam_with_bias_correction(checks):
    for change, message in checks["refused"].items():
        assert message is not None and message.startswith(
            "optimizer: the JAX peer implements adam"), change
