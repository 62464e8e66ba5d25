"""Runs benchmarks/jax_peer.py against the reference engine and prints the numbers as JSON.

tests/test_jax_peer.py runs this as a script in its own process and asserts on its output: JAX
starts threads that make every later fork of a pytest worker warn of deadlocks (the Ray backend's
test forks), so jax is never imported into the test workers themselves.
"""
import importlib.util
import json
from pathlib import Path

import numpy as np
import torch

from adamlab import SyntheticConfig
from adamlab.synthetic.data import make_dataset
from adamlab.synthetic.engines.reference import ReferenceEngine
from adamlab.synthetic.sampler import BatchSampler
from adamlab.synthetic.model import init_weights

SMALL = SyntheticConfig(d=150, n=24, s=12, width=5, sigma0=0.05, n_test=10, lr=3e-3,
                        weight_decay=0.05)
# (name, config, epochs, steps): steps=None takes whole epochs.
CASES = [
    ("B=1", SMALL.replace(batch_size=1), 2, None),    # 48 steps, 24 per compiled epoch
    ("B=5", SMALL.replace(batch_size=5), 3, None),    # floor(24/5) = 4 steps per epoch
    ("B=n", SMALL.replace(batch_size=24), 10, None),  # full batch
    ("paper B=2", SyntheticConfig(batch_size=2, n_test=10), 1, 30),  # part of an epoch
    ("paper B=100", SyntheticConfig(batch_size=100, n_test=10), 5, None),
]


def load_peer():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "jax_peer.py"
    spec = importlib.util.spec_from_file_location("jax_peer", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def reference(cfg, data, W0, batches):
    ref = ReferenceEngine(cfg, data, W0)
    assert ref.run(batches) is None
    return ref.weights()


def main() -> dict:
    torch.set_num_threads(1)
    jax_peer = load_peer()
    out = {"available": jax_peer.AVAILABLE, "cases": {}}
    if not jax_peer.AVAILABLE:
        return out
    for name, cfg, epochs, steps in CASES:
        data, W0 = make_dataset(cfg), init_weights(cfg)
        batches = BatchSampler(cfg.n, cfg.batch_size, "shuffle", cfg.seed).epochs(epochs)[:steps]
        peer = jax_peer.JaxAdam(cfg, data, W0)
        peer.run(batches)
        ref = reference(cfg, data, W0, batches)
        case = {"steps": len(batches), "t": peer.t, "max_abs_w0": float(np.abs(W0).max()),
                "max_err": float(np.abs(peer.weights() - ref).max()),
                "max_move": float(np.abs(ref - W0).max())}
        if name == "B=5":  # the same JAX weights against a reference without bias correction
            other = reference(cfg.replace(bias_correction=False), data, W0, batches)
            case["max_err_no_bias_correction"] = float(np.abs(peer.weights() - other).max())
        out["cases"][name] = case

    cfg = SMALL.replace(batch_size=2)
    data, W0 = make_dataset(cfg), init_weights(cfg)
    batches = BatchSampler(cfg.n, 2, "shuffle", 0).epochs(3)
    peer = jax_peer.JaxAdam(cfg, data, W0)
    peer.compile(batches)
    peer.compile(batches)
    programs = len(peer._compiled)
    peer.run(batches)
    per_epoch = peer.weights()
    peer.reset()
    reset_t, reset_err = peer.t, float(np.abs(peer.weights() - W0).max())
    whole = jax_peer.JaxAdam(cfg, data, W0)
    whole.steps_per_epoch = len(batches)  # the whole run as one scan
    whole.run(batches)
    out["epochs"] = {"programs": programs, "equal": bool(np.array_equal(per_epoch,
                                                                        whole.weights())),
                     "reset_t": reset_t, "reset_err": reset_err,
                     "max_abs_w0": float(np.abs(W0).max())}

    out["refused"] = {}
    for change in ({"optimizer": "adamw"}, {"bias_correction": False}):
        try:
            c = SMALL.replace(**change)
            jax_peer.JaxAdam(c, make_dataset(c), init_weights(c))
            out["refused"][json.dumps(change)] = None
        except ValueError as e:
            out["refused"][json.dumps(change)] = str(e)
    return out


if __name__ == "__main__":
    print(json.dumps(main()))
