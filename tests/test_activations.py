"""The activation registry: every activation's numba derivative is torch's autograd of its torch
version; every engine agrees on every activation; names are checked; a new activation is one
registry entry (one is registered here, in the test file only, and runs through everything)."""
import numpy as np
import pytest
import torch
from numba import njit

from adamlab import ConfigError, SyntheticConfig, train
from adamlab.synthetic import theory
from adamlab.synthetic.train import train_batched
from adamlab.synthetic import activations
from adamlab.synthetic.activations import Activation, register

# ---- an activation that exists only in this file -------------------------------------------------
LEAKY = "leaky-relu-power"  # max(z, 0)^q + 0.1 min(z, 0): a leaky relu-power, not in adamlab


@njit(inline="always", error_model="numpy")
def _leaky(z, power, rho):
    if z <= 0.0:
        return 0.1 * z
    return z ** power


@njit(inline="always", error_model="numpy")
def _leaky_derivative(z, power, rho):
    if z <= 0.0:  # torch: leaky_relu'(0) = 0.1, relu(z)^q has slope 0 there
        return 0.1
    return power * z ** (power - 1.0)


def _leaky_torch(z, power, rho):
    return torch.relu(z) ** power + 0.1 * torch.clamp(z, max=0.0)


@pytest.fixture
def leaky():
    """Registered for one test: the registry is process-wide and other test files expect the
    built-in names only."""
    act = register(Activation(LEAKY, _leaky, _leaky_derivative, _leaky_torch,
                              "max(z, 0)^q + 0.1 min(z, 0)", ("power",)))
    yield act
    activations.unregister(LEAKY)


BUILTIN = activations.names()


# ---- each entry's three functions agree ----------------------------------------------------------
def _points(rho: float) -> np.ndarray:
    """A grid plus the kinks and their neighbourhoods: 0 and rho, exactly and 1e-12 .. 1e-4 away."""
    near = np.array([0.0, 1e-12, 1e-8, 1e-4])
    return np.unique(np.concatenate([np.linspace(-4.0, 4.0, 401), near, -near, rho + near,
                                     rho - near, [rho]]))


@pytest.mark.parametrize("name", [*BUILTIN, LEAKY])
@pytest.mark.parametrize("power", [1.0, 2.0, 3.0, 4.5])
@pytest.mark.parametrize("rho", [0.1, 0.7])
def test_numba_value_and_derivative_equal_torch_autograd(name, power, rho, leaky):
    act = activations.get(name)
    z = _points(rho)
    zt = torch.tensor(z, requires_grad=True)
    value = act.torch(zt, power, rho)
    (grad,) = torch.autograd.grad(value.sum(), zt)
    ours = np.array([act.value(x, power, rho) for x in z])
    dours = np.array([act.derivative(x, power, rho) for x in z])
    np.testing.assert_allclose(ours, value.detach().numpy(), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(dours, grad.numpy(), rtol=1e-10, atol=1e-300)
    assert np.isfinite(grad.numpy()).all()  # no NaN from an unused branch
    assert len(set(np.round(dours, 6))) > 1  # the derivative is not a constant


def test_smooth_relu_is_the_allen_zhu_li_formula():
    act = activations.get("smooth-relu")
    q, rho = 3.0, 0.5
    assert act.value(-1.0, q, rho) == 0.0
    assert act.value(0.25, q, rho) == pytest.approx(0.25 ** 3 / (3 * 0.5 ** 2))
    assert act.value(2.0, q, rho) == pytest.approx(2.0 - 0.5 * (1 - 1 / 3))
    # continuous with a continuous derivative at rho
    assert act.value(rho - 1e-9, q, rho) == pytest.approx(act.value(rho, q, rho), abs=1e-8)
    assert act.derivative(rho - 1e-9, q, rho) == pytest.approx(1.0, abs=1e-8)


def test_gelu_is_torchs_exact_gelu():
    z = torch.linspace(-5, 5, 101, dtype=torch.float64)
    exact = 0.5 * z * (1 + torch.erf(z / 2 ** 0.5))
    np.testing.assert_allclose(activations.get("gelu").torch(z, 3.0, 0.1), exact, rtol=1e-15)
    assert activations.get("relu").value(2.5, 3.0, 0.1) == 2.5


# ---- names ---------------------------------------------------------------------------------------
def test_registry_rejects_unknown_names():
    with pytest.raises(ConfigError) as e:
        activations.get("tanh")
    assert str(e.value) == ("activation: must be one of relu-power, relu, gelu, smooth-relu, "
                            "got 'tanh'")
    with pytest.raises(ConfigError, match="^activation: must be one of relu-power, relu, gelu, "
                       "smooth-relu, got 'tanh'$"):
        SyntheticConfig(activation="tanh")
    with pytest.raises(ConfigError, match="^rho: must be > 0.0, got 0.0$"):
        SyntheticConfig(rho=0.0)
    assert SyntheticConfig().activation == "relu-power"  # the paper's sigma by default


def test_new_fields_keep_the_ids_of_stored_runs():
    """activation and rho at their defaults are left out of the run id (the id rule of
    ConfigBase.id_fields), so the runs of a store written before they existed are found again."""
    assert SyntheticConfig(activation="relu-power", rho=0.1).run_id() == SyntheticConfig().run_id()
    assert not {"activation", "rho"} & set(SyntheticConfig().id_fields())
    ids = {SyntheticConfig(activation=a).run_id() for a in BUILTIN}
    assert len(ids) == len(BUILTIN) and SyntheticConfig(rho=0.2).run_id() not in ids


# ---- every engine, every activation --------------------------------------------------------------
# sigma0 = 0.2 and the default rho = 0.1: the noise pre-activations start below rho, the signal's
# above; weight decay 1e-3 is below Adam's ceiling sigma0^(q-2) (above it q = 3 stays stuck).
SMALL = SyntheticConfig(d=150, n=24, s=12, width=5, sigma0=0.2, n_test=100, epochs=6,
                        log_every=2, lr=1e-2, batch_size=5, weight_decay=1e-3)
ENGINE_CASES = [(name, 3.0) for name in BUILTIN] + [("relu-power", 2.5), ("smooth-relu", 2.0),
                                                    (LEAKY, 3.0)]


def _values(result):
    return np.array([row[4] for row in result.metrics])


def check_engines_agree(cfg: SyntheticConfig) -> list:
    """fast == reference == batched to 1e-9 relative on every logged metric; returns the runs."""
    fast, ref = train(cfg), train(cfg.replace(engine="reference"))
    (batched,) = train_batched([cfg.replace(engine="batched")])
    for run in (fast, ref, batched):
        assert run.status == "ok" and run.steps == cfg.total_steps
        assert run.config["activation"] == cfg.activation
    for run in (fast, batched):
        np.testing.assert_allclose(_values(run), _values(ref), rtol=1e-9, atol=1e-12)
    return [fast, ref, batched]


@pytest.mark.parametrize("activation, power", ENGINE_CASES)
def test_every_engine_agrees_for_every_activation(activation, power, leaky):
    cfg = SMALL.replace(activation=activation, power=power)
    fast, _, _ = check_engines_agree(cfg)
    first = {(r[2], r[3]): r[4] for r in fast.metrics if r[0] == 0}
    assert fast.summary["train_loss"] < 0.99 * first[("train", "loss")]  # it trained
    if activation == "smooth-relu":  # both pieces were used: the feature passed rho
        assert fast.summary["feature_learning_pos"] > cfg.rho > 0


def test_the_activation_changes_the_run():
    runs = {a: train(SMALL.replace(activation=a)).summary["train_loss"] for a in BUILTIN}
    assert len({round(v, 9) for v in runs.values()}) == len(runs)


# ---- an activation registered in this file only --------------------------------------------------
def test_a_new_activation_is_one_registry_entry(leaky, capsys):
    from adamlab.cli import main
    from test_model_gradient import check_gradient, check_metrics

    assert LEAKY in activations.names()
    cfg = SMALL.replace(activation=LEAKY)  # the config accepts it ...
    assert cfg.activation == LEAKY and SyntheticConfig.from_dict(cfg.to_dict()) == cfg
    # ... the fast gradient and the metrics equal the dense model's (the configs of
    # test_model_gradient.py) ...
    check_gradient(SyntheticConfig(d=120, n=40, s=15, width=4, sigma0=0.3, activation=LEAKY,
                                   n_test=10), B=5)
    check_metrics(SyntheticConfig(d=80, n=30, s=10, width=3, sigma0=0.5, n_test=50,
                                  activation=LEAKY))
    # ... the general model's metrics forward (numba, compiled per process for it) too ...
    from adamlab.synthetic.activations import sigma_of
    from adamlab.synthetic.data import make_dataset
    from adamlab.synthetic.metrics import class_outputs, class_outputs_torch
    from adamlab.synthetic.model import init_weights

    general = SyntheticConfig(d=60, n=30, s=6, width=3, sigma0=0.5, n_test=20, classes=3,
                              activation=LEAKY)
    W, part = init_weights(general), make_dataset(general).train
    for got, want in zip(class_outputs(W, part, sigma_of(general)),
                         class_outputs_torch(W, part, sigma_of(general))):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    fast, ref, batched = check_engines_agree(cfg)  # ... and every engine runs it
    relu_power = train(SMALL)  # and it is not the paper's sigma in disguise
    assert fast.summary["train_loss"] != pytest.approx(relu_power.summary["train_loss"],
                                                       rel=1e-6)
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert LEAKY in capsys.readouterr().out.replace("\n", "").replace(" ", "")  # CLI help
    assert theory.predict(cfg).regime == "outside_theory"


def test_sweep_workers_import_the_module_that_registers_the_activation(leaky):
    from adamlab.sweep.runner import task_modules
    from adamlab.sweep.spec import SweepSpec

    spec = SweepSpec(name="t", configs=[SMALL.replace(activation=LEAKY), SMALL])
    assert __name__ in task_modules(spec)


# ---- the theory covers the paper's sigma only ----------------------------------------------------
@pytest.mark.parametrize("name", [n for n in BUILTIN if n != "relu-power"])
def test_theory_does_not_cover_other_activations(name):
    r = theory.predict(SyntheticConfig(activation=name, optimizer="adam", batch_size=100))
    assert r.regime == r.strict_regime == "outside_theory" and not r.covered
    assert r.theorems == ()
    assert name in r.reasons[0] and "max(z, 0)^q with q >= 3" in r.reasons[0]


def test_theory_needs_power_at_least_3():
    r = theory.predict(SyntheticConfig(power=2.0, batch_size=100))
    assert r.regime == "outside_theory" and "q >= 3" in r.reasons[0]
    assert theory.predict(SyntheticConfig(power=3.0, batch_size=100)).regime == "memorises_noise"
    assert theory.predict(SyntheticConfig(power=4.0, batch_size=100)).regime == "memorises_noise"
