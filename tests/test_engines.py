"""The fast engine reproduces the reference engine's trajectories; runs are deterministic;
divergence is reported, not raised; results carry their provenance."""
import json

import numpy as np
import pytest

from adamlab import SyntheticConfig, train

SMALL = SyntheticConfig(d=150, n=24, s=12, width=5, sigma0=0.05, n_test=100, epochs=6,
                        log_every=2, lr=3e-3)


def _values(result):
    return np.array([row[4] for row in result.metrics])


MODES = [(o, True) for o in ("adam", "adamw", "signsgd", "signsgdw", "sgd")] + \
    [("adam", False), ("adamw", False)]  # bias correction only exists for adam/adamw


@pytest.mark.parametrize("optimizer, bias_correction", MODES)
@pytest.mark.parametrize("sampler", ["shuffle", "cyclic"])
@pytest.mark.parametrize("batch_size", [1, 5, 24])
def test_fast_engine_equals_reference(optimizer, sampler, batch_size, bias_correction):
    cfg = SMALL.replace(optimizer=optimizer, sampler=sampler, batch_size=batch_size,
                        bias_correction=bias_correction, weight_decay=0.05,
                        lr=0.5 if optimizer == "sgd" else SMALL.lr,
                        momentum=0.9 if optimizer == "sgd" else 0.0)
    fast, ref = train(cfg), train(cfg.replace(engine="reference"))
    assert fast.status == ref.status == "ok"
    assert fast.steps == ref.steps == cfg.total_steps
    # Stated tolerance: 1e-9 relative on every logged metric (float64, different summation
    # order and fused multiply-adds in the fast update).
    np.testing.assert_allclose(_values(fast), _values(ref), rtol=1e-9, atol=1e-12)
    # The run moved away from its initialisation (the comparison is not vacuous).
    init_norm = [row[4] for row in fast.metrics if row[0] == 0 and row[3] == "weight_norm"][0]
    assert fast.summary["weight_norm"] != pytest.approx(init_norm, rel=1e-6)


def test_same_config_and_seed_give_identical_numbers():
    a, b = train(SMALL), train(SMALL)
    assert np.array_equal(_values(a), _values(b))
    c = train(SMALL.replace(seed=1))
    assert not np.array_equal(_values(a), _values(c))


def test_divergence_is_reported_with_the_step():
    cfg = SMALL.replace(optimizer="sgd", lr=1e6, sigma0=1.0, epochs=50)
    for engine in ("fast", "reference"):
        r = train(cfg.replace(engine=engine))
        assert r.status == "diverged"
        assert r.reason.startswith("non-finite loss at step ")
        step = int(r.reason.rsplit(" ", 1)[1])
        assert 1 <= step < cfg.total_steps and r.steps == step - 1
        json.dumps(r.final())  # still serialisable (no NaN objects in the summary)


def test_metrics_are_long_form_and_logged_on_schedule():
    r = train(SMALL)
    epochs = sorted({row[1] for row in r.metrics})
    assert epochs == [0, 1, 2, 4, 6]  # every log_every=2 epochs, plus 1 (a power of two below 2)
    names = {(row[2], row[3]) for row in r.metrics}
    assert ("test", "error") in names and ("train", "noise_memorisation_min") in names
    assert ("model", "feature_learning_pos") in names and ("model", "weight_norm") in names
    steps = sorted({row[0] for row in r.metrics})
    assert steps == [e * SMALL.steps_per_epoch for e in (0, 1, 2, 4, 6)]


def test_run_folder_records_config_code_and_environment(tmp_path):
    r = train(SMALL, out=tmp_path / "run")
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert SyntheticConfig.from_dict(config) == SMALL
    meta = json.loads((tmp_path / "run" / "meta.json").read_text())
    assert set(meta["code"]) >= {"commit", "dirty"}
    assert meta["env"]["packages"]["torch"] and meta["env"]["torch_threads"] >= 1
    assert meta["optimizer_options"]["bias_correction"] is True
    assert meta["decay"] == {"kind": "l2_in_gradient", "l2_coefficient": SMALL.weight_decay}
    lines = (tmp_path / "run" / "metrics.csv").read_text().splitlines()
    assert lines[0] == "step,epoch,split,name,value" and len(lines) == len(r.metrics) + 1
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["test_error"] == r.summary["test_error"] and summary["status"] == "ok"
    assert not list((tmp_path / "run").glob(".*.tmp"))


def test_weight_decay_defaults_to_the_papers_value_per_optimizer():
    assert SyntheticConfig(optimizer="adam").weight_decay == 1e-5
    assert SyntheticConfig(optimizer="adamw").weight_decay == 1e-2
    assert SyntheticConfig(optimizer="adamw", weight_decay=0.5).weight_decay == 0.5
    assert SyntheticConfig(optimizer="adamw").decay_semantics() == {
        "kind": "decoupled", "per_step_shrink": 5e-5 * 1e-2}


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "signsgd", "signsgdw", "sgd"])
def test_batched_engine_equals_reference_for_each_run(optimizer):
    """K runs with their own seeds, learning rates and weight decays stepping together equal K
    separate reference runs (the GPU path, checked on CPU)."""
    from adamlab.engine.train import train_batched

    base = SMALL.replace(optimizer=optimizer, engine="batched", batch_size=4,
                         momentum=0.9 if optimizer == "sgd" else 0.0)
    lr = 0.5 if optimizer == "sgd" else SMALL.lr
    cfgs = [base.replace(seed=0, lr=lr, weight_decay=0.0),
            base.replace(seed=1, lr=lr / 3, weight_decay=0.05),
            base.replace(seed=2, lr=lr, weight_decay=0.5, beta2=0.99, sampler="cyclic")]
    batched = train_batched(cfgs)
    for cfg, got in zip(cfgs, batched):
        ref = train(cfg.replace(engine="reference"))
        assert got.status == "ok" and got.steps == ref.steps
        assert got.config == cfg.to_dict()
        np.testing.assert_allclose(_values(got), _values(ref), rtol=1e-9, atol=1e-12)
    single = train(cfgs[1])  # engine="batched" through the one entry point
    np.testing.assert_allclose(_values(single), _values(batched[1]), rtol=1e-12)


def test_batched_divergence_of_one_run_leaves_the_others_alone():
    from adamlab.engine.train import train_batched

    base = SMALL.replace(optimizer="sgd", engine="batched", sigma0=1.0, epochs=20)
    good, bad = base.replace(lr=1e-3), base.replace(lr=1e6)
    out = train_batched([good, bad])
    assert out[0].status == "ok" and out[1].status == "diverged"
    alone = train(good.replace(engine="reference"))
    np.testing.assert_allclose(_values(out[0]), _values(alone), rtol=1e-9, atol=1e-12)


def test_every_engine_stops_a_diverged_run_at_the_same_state():
    """The batched engine freezes a diverged run where the others stop it, and no step is
    logged twice (a NaN model counts as misclassifying everything, never as correct)."""
    from adamlab.engine.train import train_batched

    cfg = SMALL.replace(optimizer="sgd", lr=30.0, power=6.0, sigma0=0.3, epochs=40,
                        momentum=0.9, log_every=1)
    runs = [train(cfg), train(cfg.replace(engine="reference")),
            train_batched([cfg.replace(engine="batched"), cfg.replace(engine="batched",
                                                                      lr=1e-3)])[0]]
    assert all(r.status == "diverged" for r in runs)
    assert len({r.reason for r in runs}) == 1
    for r in runs:
        keys = [(row[0], row[2], row[3]) for row in r.metrics]
        assert len(keys) == len(set(keys))
    last = [r.summary["feature_learning_neg"] for r in runs]  # blown up, still finite
    assert last[1] > 1e100
    assert last[0] == pytest.approx(last[1], rel=1e-9) and last[2] == pytest.approx(last[1],
                                                                                    rel=1e-9)


def test_a_model_with_nan_outputs_counts_as_wrong():
    from adamlab.engine.metrics import error_rate

    assert error_rate(np.array([np.nan, 1.0, -1.0, 0.0])) == 0.75
