"""The fast engine reproduces the reference engine's trajectories; runs are deterministic;
divergence is reported, not raised; results carry their provenance."""
import json
import os
import warnings

import numpy as np
import pytest

from adamlab import SyntheticConfig, train
from adamlab.synthetic.train import EngineFallbackWarning
from adamlab.optim import get, list_optimizers

SMALL = SyntheticConfig(d=150, n=24, s=12, width=5, sigma0=0.05, n_test=100, epochs=6,
                        log_every=2, lr=3e-3)


def _values(result):
    return np.array([row[4] for row in result.metrics])


def _same_metrics(a, b, rtol=1e-9):
    """The same (step, epoch, split, name) rows, values equal to rtol (1e-9 relative: float64,
    different summation order and fused multiply-adds in the fast update)."""
    assert [r[:4] for r in a.metrics] == [r[:4] for r in b.metrics]
    np.testing.assert_allclose(_values(a), _values(b), rtol=rtol, atol=1e-12)


def _reads(optimizer, field):
    return field in get(optimizer).options


# NAdam with an L2 term is unstable on a coordinate near 0 once sqrt(v) falls below eps: its step
# there is about (1 - mu) * lr * lambda * W / eps = 0.55 * 3e-3 * 0.05 / 1e-8 * W, thousands of
# times W, so W overshoots with growing amplitude until v catches up, and rounding differences
# grow with it (measured: fast vs reference and batched vs reference both ~1e-5 after 144 steps at
# B = 1). eps = 1e-4 keeps lr * lambda / eps near 1: the comparison is then well conditioned.
WELL_CONDITIONED = {"nadam": {"eps": 1e-4}}


def _cfg(optimizer, **kw):
    """SMALL for one optimiser: SGD needs a larger rate to move; momentum where it is read."""
    base = dict(optimizer=optimizer, weight_decay=0.05,
                lr=0.5 if optimizer == "sgd" else SMALL.lr,
                momentum=0.9 if _reads(optimizer, "momentum") else 0.0,
                **WELL_CONDITIONED.get(optimizer, {}))
    return SMALL.replace(**{**base, **kw})


# bias correction is an option of some optimisers only (those whose registry entry reads it)
MODES = [(o, True) for o in list_optimizers()] + \
    [(o, False) for o in list_optimizers() if _reads(o, "bias_correction")]


@pytest.mark.parametrize("optimizer, bias_correction", MODES)
@pytest.mark.parametrize("sampler", ["shuffle", "cyclic"])
@pytest.mark.parametrize("batch_size", [1, 5, 24])
def test_fast_engine_equals_reference(optimizer, sampler, batch_size, bias_correction):
    """The fast engine against the reference engine. An optimiser without a fast kernel (the
    test-only Adamax) would run the reference engine twice and compare it with itself; it is
    checked instead against its torch.optim class driving the same model, step for step (the
    metrics logged along the run), so the case can still fail."""
    cfg = _cfg(optimizer, sampler=sampler, batch_size=batch_size,
               bias_correction=bias_correction)
    spec = get(optimizer)
    ref = train(cfg.replace(engine="reference"))
    if spec.kernel:
        fast = train(cfg)
        assert fast.meta["engine"] == "fast"
    else:
        assert spec.torch_class is not None, f"{optimizer}: no kernel and no torch class"
        with warnings.catch_warnings():  # a torch optimiser runs on the reference engine
            warnings.simplefilter("ignore", EngineFallbackWarning)
            fast = train(cfg, optimizer=lambda p: spec.torch_optimizer(cfg, p, foreach=False))
        assert fast.config["optimizer"] == "custom"
        assert fast.meta["optimizer_options"]["class"].endswith(spec.torch_class.__name__)
        # The torch path logs every metric but the preconditioner's step ratio.
        ref.metrics = [r for r in ref.metrics if r[3] != "step_ratio_noise_feature"]
    assert fast.status == ref.status == "ok"
    assert fast.steps == ref.steps == cfg.total_steps
    _same_metrics(fast, ref)
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
    # CPU seconds of the run (not others' work on a shared machine): positive, and within what
    # this machine's cores could spend in the run's wall time.
    assert 0 < meta["cpu_seconds"] <= meta["wall_seconds"] * (os.cpu_count() or 1) + 0.05
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


@pytest.mark.parametrize("optimizer", list_optimizers())
def test_batched_engine_equals_reference_for_each_run(optimizer):
    """K runs with their own seeds, learning rates and weight decays stepping together equal K
    separate reference runs (the GPU path, checked on CPU)."""
    from adamlab.synthetic.train import train_batched

    base = _cfg(optimizer, engine="batched", batch_size=4)
    lr = base.lr
    cfgs = [base.replace(seed=0, lr=lr, weight_decay=0.0),
            base.replace(seed=1, lr=lr / 3, weight_decay=0.05),
            base.replace(seed=2, lr=lr, weight_decay=0.5, beta2=0.99, sampler="cyclic")]
    batched = train_batched(cfgs)
    for cfg, got in zip(cfgs, batched):
        ref = train(cfg.replace(engine="reference"))
        assert got.status == "ok" and got.steps == ref.steps
        assert got.config == cfg.to_dict()
        _same_metrics(got, ref)
    single = train(cfgs[1])  # engine="batched" through the one entry point
    np.testing.assert_allclose(_values(single), _values(batched[1]), rtol=1e-12)


def test_batched_divergence_of_one_run_leaves_the_others_alone():
    from adamlab.synthetic.train import train_batched

    base = SMALL.replace(optimizer="sgd", engine="batched", sigma0=1.0, epochs=20)
    good, bad = base.replace(lr=1e-3), base.replace(lr=1e6)
    out = train_batched([good, bad])
    assert out[0].status == "ok" and out[1].status == "diverged"
    alone = train(good.replace(engine="reference"))
    np.testing.assert_allclose(_values(out[0]), _values(alone), rtol=1e-9, atol=1e-12)


def test_every_engine_stops_a_diverged_run_at_the_same_state():
    """The batched engine freezes a diverged run where the others stop it, and no step is
    logged twice (a NaN model counts as misclassifying everything, never as correct)."""
    from adamlab.synthetic.train import train_batched

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
    from adamlab.synthetic.metrics import error_rate

    assert error_rate(np.array([np.nan, 1.0, -1.0, 0.0])) == 0.75


# The paper's named limits as settings: schedules with warm-up, clipping, Nesterov momentum.
SETTINGS = {
    "cosine+warmup": dict(schedule="cosine", warmup_epochs=2),
    "step+warmup": dict(schedule="step", step_epochs=2, step_gamma=0.5, warmup_epochs=1),
    "clip": dict(clip_norm=1e-3),  # the batch gradients of SMALL have norms ~5e-3
}


@pytest.mark.parametrize("setting", list(SETTINGS))
@pytest.mark.parametrize("optimizer", list_optimizers())
def test_schedules_and_clipping_agree_in_every_engine(optimizer, setting):
    """fast == reference == batched (1e-9 relative on every logged metric) under a schedule with
    warm-up, or with gradient clipping."""
    cfg = _cfg(optimizer, batch_size=5, **SETTINGS[setting])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EngineFallbackWarning)
        fast = train(cfg)
    ref, batched = train(cfg.replace(engine="reference")), train(cfg.replace(engine="batched"))
    assert fast.status == ref.status == batched.status == "ok"
    _same_metrics(fast, ref)
    _same_metrics(batched, ref)
    opts = fast.meta["optimizer_options"]
    assert {k: opts[k] for k in SETTINGS[setting]} == SETTINGS[setting]


@pytest.mark.parametrize("setting", list(SETTINGS) + ["nesterov"])
def test_each_setting_changes_the_trajectory(setting):
    """The settings are not no-ops at the tolerance above (so the equalities test something)."""
    extra = dict(SETTINGS.get(setting, {}))
    optimizer = "sgd" if setting == "nesterov" else "adam"
    if setting == "nesterov":
        extra["nesterov"] = True
    base = _cfg(optimizer, batch_size=5)
    a, b = train(base), train(base.replace(**extra))
    assert np.max(np.abs(_values(a) - _values(b)) / (np.abs(_values(a)) + 1e-12)) > 1e-6


def test_nesterov_agrees_in_every_engine():
    cfg = _cfg("sgd", batch_size=5, nesterov=True, schedule="cosine", clip_norm=0.05)
    fast, ref = train(cfg), train(cfg.replace(engine="reference"))
    _same_metrics(fast, ref)
    _same_metrics(train(cfg.replace(engine="batched")), ref)


@pytest.mark.parametrize("optimizer", list_optimizers())
def test_step_ratio_is_logged_for_optimisers_with_a_second_moment(optimizer):
    """model/step_ratio_noise_feature (synthetic/mechanism.py): logged exactly for the optimisers
    whose rule has a second moment, 1 before the first step (P = 1/eps everywhere)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EngineFallbackWarning)
        r = train(_cfg(optimizer, batch_size=5))
    epochs, ratio = r.series("step_ratio_noise_feature")
    if not get(optimizer).second_moment:
        assert ratio == [] and "step_ratio_noise_feature" not in r.summary
        return
    assert len(epochs) == len(r.series("weight_norm")[0]) and ratio[0] == 1.0
    assert all(np.isfinite(ratio)) and ratio[-1] != 1.0
    assert r.summary["step_ratio_noise_feature"] == ratio[-1]


def test_step_ratio_from_the_fast_engines_moments():
    """The metric recomputed by hand from the fast engine's second moments (Adam:
    P = 1/(sqrt(v/(1-beta2^t)) + eps); mean over filters x noise coordinates / mean over filters
    at the signal coordinate)."""
    from adamlab.synthetic.data import make_dataset
    from adamlab.synthetic.engines.fast import FastEngine
    from adamlab.synthetic.sampler import BatchSampler
    from adamlab.synthetic.model import init_weights

    cfg = _cfg("adam", batch_size=3)
    data = make_dataset(cfg)
    engine = FastEngine(cfg, data, init_weights(cfg))
    engine.run(BatchSampler(cfg.n, cfg.batch_size, cfg.sampler, cfg.seed).epochs(3))
    t = 3 * cfg.steps_per_epoch
    P = 1.0 / (np.sqrt(engine.S[1] / (1 - cfg.beta2 ** t)) + cfg.eps)  # v: (d, 2m)
    coords = sorted(set(data.train.noise_idx.ravel().tolist()))
    expected = P[coords].mean() / P[0].mean()
    got = engine.extra_metrics()[("model", "step_ratio_noise_feature")]
    assert got == pytest.approx(expected, rel=1e-12) and got > 1.0


def test_an_optimiser_without_a_fast_kernel_runs_on_the_reference_engine_and_says_so(kernelless):
    name = kernelless
    cfg = _cfg(name, batch_size=5)
    with pytest.warns(EngineFallbackWarning, match=f"{name} has no fast kernel; running it on "
                      "the reference engine"):
        r = train(cfg)
    assert r.config["engine"] == "fast"  # what was asked for (and what the run id hashes)...
    assert r.meta["engine"] == "reference" and "no fast kernel" in r.meta["engine_note"]
    assert np.array_equal(_values(r), _values(train(cfg.replace(engine="reference"))))
    with_kernel = train(_cfg("adam"))
    assert with_kernel.meta["engine"] == "fast" and "engine_note" not in with_kernel.meta
