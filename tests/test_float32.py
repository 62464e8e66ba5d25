"""The fast engine's float32 mode: it follows the float64 engine step by step
within float32's rounding, reaches the same regime on every seed of the paper's table, and is
refused, with the field named, where it does not exist."""
import json

import numpy as np
import pytest
from numba import njit

from adamlab import ConfigError, SyntheticConfig, train
from adamlab.cli import main
from adamlab.synthetic.data import make_dataset
from adamlab.synthetic.engines import fast
from adamlab.synthetic.engines.fast import FastEngine
from adamlab.synthetic.update_kernel import apply_update, kernel_for
from adamlab.synthetic.sampler import BatchSampler
from adamlab.synthetic.subnormals import X86, flush_subnormals, restore_fp_mode
from adamlab.synthetic.model import init_weights
from adamlab.optim import get, list_optimizers
from adamlab.synthetic.regimes import observed_regime

EPS32 = float(np.finfo(np.float32).eps)  # 2^-23 = 1.2e-7: float32's rounding is half of it
SMALL = SyntheticConfig(d=150, n=24, s=12, width=5, sigma0=0.05, n_test=100, epochs=10,
                        lr=3e-3, weight_decay=0.05)


def _small(optimizer, batch_size):
    extra = {}
    if optimizer == "sgd":
        extra = dict(lr=0.5, momentum=0.9)
    elif "momentum" in get(optimizer).options:
        extra = dict(momentum=0.9)
    if optimizer == "nadam":  # its L2 term is ill-conditioned near eps (tests/test_engines.py)
        extra["eps"] = 1e-4
    return SMALL.replace(optimizer=optimizer, batch_size=batch_size, **extra)


# ---- per step: float32 follows float64 within float32's rounding -------------------------------
@pytest.mark.parametrize("batch_size", [1, 24])
@pytest.mark.parametrize("optimizer", list_optimizers(kernel=True))
def test_float32_follows_float64_step_by_step(optimizer, batch_size):
    """After every step k, max |W32 - W64| <= 4 k eps32 (max|W| + lr).

    Why this bound: a step rounds the weights (relative error eps32/2 of |W|) and computes an
    update no larger than about lr (Adam-type steps are normalised; SGD's and RMSprop's are of
    that size here) to a relative eps32 or so; in the worst case these errors add up over k
    steps. The factor 4 covers the several roundings per step (gradient, m, v, W). Measured on
    these configs: at most 1.9 of the bound without the factor, typically 0.6 (the first step's
    error is just the rounding of W0 to float32)."""
    cfg = _small(optimizer, batch_size)
    data, W0 = make_dataset(cfg), init_weights(cfg)
    e64, e32 = FastEngine(cfg, data, W0), FastEngine(cfg.replace(dtype="float32"), data, W0)
    assert e32.WT.dtype == np.float32 and e32.S.dtype == np.float32
    assert e32.noise_val.dtype == np.float32 and e64.WT.dtype == np.float64
    batches = BatchSampler(cfg.n, cfg.batch_size, cfg.sampler, cfg.seed).epochs(cfg.epochs)
    worst = 0.0
    for k in range(len(batches)):
        assert e64.run(batches[k:k + 1]) is None and e32.run(batches[k:k + 1]) is None
        w64, w32 = e64.weights(), e32.weights()
        assert w32.dtype == np.float64  # metrics are computed in float64 from the float32 W
        bound = 4 * (k + 1) * EPS32 * (np.abs(w64).max() + cfg.lr)
        gap = np.abs(w32 - w64).max()
        assert gap <= bound, f"step {k + 1}: |W32 - W64| = {gap:.3g} > {bound:.3g}"
        worst = max(worst, gap)
    assert worst > 0  # float32 really ran (not float64 under another name) ...
    assert np.abs(e64.weights() - W0).max() > 1e3 * worst  # ... on a run that moved


def test_float32_run_records_its_dtype_and_id(tmp_path):
    cfg = SMALL.replace(epochs=3)
    r64, r32 = train(cfg), train(cfg.replace(dtype="float32"), out=tmp_path / "run")
    assert r64.meta["dtype"] == "float64" and r32.meta["dtype"] == "float32"
    assert r32.config["dtype"] == "float32" and r32.run_id != r64.run_id
    assert json.loads((tmp_path / "run" / "meta.json").read_text())["dtype"] == "float32"
    # float64 is the default and stays out of the id, so stored runs keep theirs
    assert "dtype" not in SyntheticConfig().id_fields()
    assert SyntheticConfig(dtype="float64").run_id() == SyntheticConfig().run_id()
    # the metrics are float64 numbers and close to float64's
    np.testing.assert_allclose([row[4] for row in r32.metrics], [row[4] for row in r64.metrics],
                               rtol=1e-4, atol=1e-7)


# ---- the paper's table: the same regime on every seed -------------------------------------------
# A reduced budget that still decides every run, with 500 test examples: B = 100 for 300 epochs
# (600 steps), where the large-batch runs fit their training set (train error <= 0.02) with test
# error 0.37-0.69 (float64, seeds 0-4; at 150 epochs some were still "mixed", test error
# 0.11-0.26); B = 2 for 100 epochs (10,000 steps), where every mini-batch run has test error 0.
TABLE_EPOCHS = {100: 300, 2: 100}


def test_float32_reaches_the_same_regime_as_float64_on_every_seed_of_the_table():
    seen = {}
    for optimizer in ("adam", "adamw"):
        for batch_size in (100, 2):
            for seed in range(5):
                epochs = TABLE_EPOCHS[batch_size]
                cfg = SyntheticConfig(optimizer=optimizer, batch_size=batch_size, seed=seed,
                                      epochs=epochs, log_every=epochs, n_test=500)
                regimes = []
                for dtype in ("float64", "float32"):
                    r = train(cfg.replace(dtype=dtype))
                    regimes.append(observed_regime({"status": r.status, "final": r.summary}))
                assert regimes[0] == regimes[1], (optimizer, batch_size, seed, regimes)
                seen[optimizer, batch_size, seed] = regimes[0]
    # the comparison is between decided regimes, the ones the table is about
    assert {seen[o, 100, s] for o in ("adam", "adamw") for s in range(5)} == {"memorises_noise"}
    assert {seen[o, 2, s] for o in ("adam", "adamw") for s in range(5)} == {"learns_feature"}


# ---- where float32 does not exist: a one-line error naming the field -----------------------------
@pytest.mark.parametrize("engine", ["reference", "batched"])
def test_float32_on_another_engine_is_refused(engine):
    with pytest.raises(ConfigError, match=f"^dtype: must be float64 with engine='{engine}' "
                       r"\(float32 runs on engine='fast' only\), got 'float32'$"):
        SyntheticConfig(dtype="float32", engine=engine)
    with pytest.raises(ConfigError, match="^dtype: must be one of float64, float32, got "
                       "'float16'$"):
        SyntheticConfig(dtype="float16")


def test_float32_without_a_fast_kernel_is_refused(kernelless):
    name = kernelless
    with pytest.raises(ConfigError, match=f"^dtype: must be float64 for optimizer '{name}'"):
        SyntheticConfig(optimizer=name, dtype="float32")
    with pytest.raises(ConfigError, match="^eps: must be >= 1e-10 with dtype float32"):
        SyntheticConfig(dtype="float32", eps=1e-12)
    import torch
    with pytest.raises(ConfigError, match="^dtype: must be float64 for optimizer 'custom'"):
        train(SMALL.replace(dtype="float32"), optimizer=torch.optim.SGD)


def test_cli_trains_in_float32_and_refuses_it_elsewhere(capsys):
    args = ["train", "--d", "100", "--n", "20", "--s", "10", "--width", "4", "--epochs", "3",
            "--n-test", "50", "--dtype", "float32"]
    assert main(args + ["--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["config"]["dtype"] == "float32" and out["status"] == "ok"
    assert main(args + ["--engine", "reference"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == ("adamlab: error: dtype: must be float64 with engine='reference' (float32 "
                       "runs on engine='fast' only), got 'float32'")


# ---- subnormals --------------------------------------------------------------------------------
@njit
def _squares_with(flush, x, out):
    """out = x * x, computed with subnormals flushed or not. Through arrays, as in the engine:
    loads stay after the mode switch (a product of scalar arguments may be computed before)."""
    mode = flush_subnormals() if flush else 0
    for i in range(x.shape[0]):
        out[i] = x[i] * x[i]
    if flush:
        restore_fp_mode(mode)


@pytest.mark.skipif(not X86, reason="flush-to-zero is set through x86's MXCSR")
def test_subnormals_are_zero_inside_a_float32_loop_and_only_there():
    x = np.full(32, 1e-20, np.float32)  # x*x = 1e-40 is subnormal in float32
    out = np.empty_like(x)
    _squares_with(False, x, out)
    assert np.all(out == np.float32(1e-40)) and np.all(out != 0)
    _squares_with(True, x, out)
    assert np.all(out == 0)
    assert np.all(x * x != 0)  # the mode is restored for the rest of the process
    train(SMALL.replace(dtype="float32", epochs=1))
    assert np.all(x * x != 0)


def test_float32_moments_are_flushed_before_they_turn_subnormal():
    """A coordinate that leaves the batches decays geometrically; its float32 moments go to zero
    at the thresholds (1e-30 for m, 1e-36 for v), never through the subnormal range."""
    tiny_m, tiny_v = fast.TINY[np.dtype(np.float32)]
    assert np.finfo(np.float32).tiny < tiny_m and np.finfo(np.float32).tiny / 0.02 < tiny_v
    n = 64
    W = np.full(n, 0.01, np.float32)
    S = np.stack([np.full(n, 1e-3, np.float32), np.full(n, 1e-6, np.float32)])  # m, v
    G = np.zeros(n, np.float32)
    adamw = get("adamw").chain
    assert adamw.state == ("m", "v") and adamw.kernel_options() == (
        "weight_decay", "beta1", "beta2", "eps", "bias_correction")
    kernel = kernel_for(adamw)
    for t in range(1, 3001):  # AdamW: no gradient at all on these coordinates
        apply_update(kernel, W, S, G, t, 5e-5, (0.01, 0.9, 0.9, 1e-8, True), np.ones(0),
                     tiny_m, tiny_v)
        for a in S:
            assert np.all((a == 0) | (np.abs(a) >= np.finfo(np.float32).tiny))
    assert np.all(S == 0)  # 0.9^3000 = 1e-137: both flushed
