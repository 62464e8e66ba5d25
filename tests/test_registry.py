"""The optimiser registry is the one list: unknown names raise one-line ConfigErrors everywhere,
an optimiser registered in a test file goes through every parameterised test, and any torch
optimiser can train the paper's model (adamlab.train(config, optimizer=...))."""
import ast
import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import adamlab
from adamlab import ConfigError, ImageConfig, SyntheticConfig, train
from adamlab.synthetic import theory
from adamlab.synthetic.train import EngineFallbackWarning
from adamlab.optim import get, label, list_optimizers, make_optimizer, register
from adamlab.optim.registry import OptimizerSpec, unregister
from toy_optimizer import NAME as TOY

ROOT = Path(__file__).resolve().parents[1]
LIB = Path(adamlab.__file__).resolve().parent
SMALL = SyntheticConfig(d=150, n=24, s=12, width=5, sigma0=0.05, n_test=100, epochs=4,
                        log_every=2, lr=3e-3, batch_size=4, weight_decay=0.05)


def _values(result):
    return np.array([row[4] for row in result.metrics])


# ---- the one list ------------------------------------------------------------------------------

# Where a registered name may appear as a string in the library, and why (not as a list of what
# exists: that is the registry's job).
ALLOWED = {
    "optim/registry.py": "the registry itself",
    "synthetic/config.py": "the default optimiser, 'adam' (the paper's)",
    "images/config.py": "the default optimiser, 'adam' (the paper's)",
    "synthetic/theory.py": "the theorems' two optimisers, 'adam' and 'adamw' (registry `theory` values)",
    "report/items/": "the paper's report items are about Adam and AdamW (a folder: every item)",
    "images/rules.py": "the real-image verdicts are the paper's Fig 2 claims about Adam "
                             "and AdamW",
}


def test_no_other_module_spells_out_optimiser_names():
    names = set(list_optimizers())
    found = {}
    for path in LIB.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in names:
                found.setdefault(str(path.relative_to(LIB)), set()).add(node.value)
    extra = {p for p in found if not any(p == a or (a.endswith("/") and p.startswith(a))
                                         for a in ALLOWED)}
    assert not extra, sorted(extra)
    assert found["synthetic/theory.py"] <= {"adam", "adamw"}
    assert found["synthetic/config.py"] == found["images/config.py"] == {"adam"}


def test_unknown_names_raise_one_line_config_errors_naming_the_field():
    known = ", ".join(list_optimizers())
    expected = f"optimizer: must be one of {known}, got 'adamz'"
    checks = [lambda: SyntheticConfig(optimizer="adamz"), lambda: ImageConfig(optimizer="adamz"),
              lambda: get("adamz"), lambda: theory.treated_as("adamz")]
    for check in checks:
        with pytest.raises(ConfigError) as e:
            check()
        assert str(e.value).startswith("optimizer: must be one of") and "\n" not in str(e.value)
        assert known in str(e.value)
    with pytest.raises(ConfigError, match=expected.replace("(", r"\(")):
        SyntheticConfig(optimizer="adamz")
    # the engines: no silent fallback to SGD for a name they do not know
    from adamlab.images import trainer as images

    fake = type("Cfg", (), {"optimizer": "adamz"})()
    for build in (lambda: make_optimizer(fake), lambda: images.make_optimizer(fake, [])):
        with pytest.raises(ConfigError) as e:
            build()
        assert str(e.value).startswith("optimizer: ") and "\n" not in str(e.value)


def test_images_task_refuses_optimisers_without_a_torch_class():
    for name in list_optimizers(torch=False):
        with pytest.raises(ConfigError) as e:
            ImageConfig(optimizer=name)
        assert str(e.value).startswith(f"optimizer: {name} has no torch.optim class")
    for name in list_optimizers(torch=True):
        cfg = ImageConfig(optimizer=name)
        assert cfg.weight_decay == (1e-2 if get(name).decoupled else 5e-4)


def test_labels_and_theory_families_come_from_the_registry():
    assert [label(n) for n in ("adam", "adamw", "rmsprop", "lion")] == \
        ["Adam", "AdamW", "RMSprop", "Lion"]
    assert label("custom") == "custom"
    assert {n: theory.treated_as(n) for n in list_optimizers()} == \
        {n: get(n).theory for n in list_optimizers()}
    for name in list_optimizers():
        r = theory.predict(SyntheticConfig(optimizer=name, batch_size=100))
        assert r.treated_as == get(name).theory
        assert (r.regime == "outside_theory") == (get(name).theory is None)


def test_register_checks_the_entry():
    with pytest.raises(ValueError, match="per_run: must be among the options"):
        register(OptimizerSpec("broken", get("adam").chain, "B", per_run=("lr", "momentum")))
    with pytest.raises(ValueError, match="chain: must be a chain of transforms"):
        register(OptimizerSpec("broken", object, "B"))
    with pytest.raises(ValueError, match="is registered already"):
        register(get("adam"))
    with pytest.raises(ValueError, match="cannot name an optimiser"):
        register(OptimizerSpec("custom", get("adam").chain, "C"))
    assert "broken" not in list_optimizers()


# ---- an optimiser registered in a test file only ---------------------------------------------

PARAMETERISED = ("test_every_registered_rule_matches_its_torch_class",
                 "test_every_registered_rule_steps_many_runs_at_once",
                 "test_fast_engine_equals_reference", "test_batched_engine_equals_reference",
                 "test_schedules_and_clipping_agree_in_every_engine",
                 "test_step_ratio_is_logged_for_optimisers_with_a_second_moment",
                 "test_optimizers_match_the_reference_rules")


def _missing(ids: list[str]) -> list[str]:
    return [t for t in PARAMETERISED if not any(t in i and f"{TOY}" in i for i in ids)]


def _collected_ids(request, files: list[str]) -> list[str]:
    """Node ids of the tests in `files`: this session's when it collected them all (the whole
    suite, also under xdist), else a --collect-only run of pytest."""
    ids = [item.nodeid for item in request.session.items]
    if not _missing(ids):
        return ids
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                          "-p", "no:cacheprovider", *files], cwd=ROOT, capture_output=True,
                         text=True, env=_env(), timeout=300).stdout
    return out.splitlines()


def test_an_optimiser_registered_in_a_test_file_is_trained_and_checked_everywhere(request):
    """tests/toy_optimizer.py registers Adamax by composition (no library file names it); every
    test parameterised over list_optimizers() collects a case for it, on the fast engine too."""
    assert TOY in list_optimizers() and TOY in list_optimizers(kernel=True, torch=True)
    assert not any(TOY in p.read_text().lower() for p in LIB.rglob("*.py"))
    files = ["tests/test_optim.py", "tests/test_engines.py", "tests/images/test_images_train.py"]
    assert _missing(_collected_ids(request, files)) == []
    # ...and the config, CLI help and images task accept it
    assert SyntheticConfig(optimizer=TOY).weight_decay == 1e-5
    assert ImageConfig(optimizer=TOY).optimizer == TOY


def _env():
    import os

    return {**os.environ, "PYTHONPATH": str(ROOT)}


# ---- any torch optimiser on the paper's model ------------------------------------------------

def test_a_torch_optimizer_through_train_equals_the_builtin_rule():
    """torch.optim.Adam passed to adamlab.train == adamlab's adam on the reference engine, on
    every metric both log; its run is stored apart from the built-in one."""
    cfg = SMALL.replace(engine="reference")
    builtin = train(cfg)
    custom = train(cfg, optimizer=lambda p: torch.optim.Adam(p, lr=3e-3, weight_decay=0.05,
                                                             foreach=False))
    assert custom.config["optimizer"] == "custom" and custom.config["custom_optimizer"]. \
        startswith("torch.optim.adam.Adam: Adam (")
    assert "weight_decay: 0.05" in custom.config["custom_optimizer"]
    assert custom.run_id != builtin.run_id and custom.meta["engine"] == "reference"
    opts = custom.meta["optimizer_options"]
    assert opts["class"] == "torch.optim.adam.Adam" and opts["lr"] == 3e-3
    assert opts["betas"] == [0.9, 0.999] and opts["optimizer"] == "custom"
    assert custom.meta["decay"]["kind"] == "custom"
    both = [r for r in builtin.metrics if r[3] != "step_ratio_noise_feature"]
    assert [r[:4] for r in custom.metrics] == [r[:4] for r in both]
    np.testing.assert_allclose(_values(custom), [r[4] for r in both], rtol=1e-9, atol=1e-12)
    json.dumps(custom.final())
    # a different torch optimiser (or the same with other options) is another run
    other = train(cfg, optimizer=lambda p: torch.optim.Adam(p, lr=1e-3))
    assert len({other.run_id, custom.run_id, builtin.run_id}) == 3


def test_a_torch_optimizer_class_follows_the_schedule_and_clipping():
    """A class is called with the parameters alone (torch's defaults); the schedule scales its
    rate and the gradient is clipped first, as for the built-in rules."""
    cfg = SMALL.replace(optimizer="sgd", lr=1e-3, weight_decay=0.0, momentum=0.0,
                        schedule="cosine", warmup_epochs=1, clip_norm=1e-3)
    with pytest.warns(EngineFallbackWarning, match="torch optimiser runs on the reference"):
        custom = train(cfg, optimizer=torch.optim.SGD)  # torch's default lr is 1e-3
    builtin = train(cfg.replace(engine="reference"))
    np.testing.assert_allclose(_values(custom), _values(builtin), rtol=1e-9, atol=1e-12)
    assert custom.meta["engine"] == "reference" and custom.config["engine"] == "fast"


def test_custom_runs_need_the_optimizer_object():
    cfg = SMALL.replace(engine="reference")
    r = train(cfg, optimizer=torch.optim.SGD)
    again = adamlab.config_from_dict(r.config)  # the config alone round-trips...
    assert again.run_id() == r.run_id
    with pytest.raises(ConfigError, match="needs the torch optimiser itself"):
        train(again)  # ...but cannot train without the optimiser
    with pytest.raises(ConfigError, match="must be a torch.optim.Optimizer class or a function"):
        train(cfg, optimizer=lambda p: "not an optimiser")
    with pytest.raises(ConfigError, match="custom_optimizer: set \\(only\\) by adamlab.train"):
        SyntheticConfig(custom_optimizer="x")
    with pytest.raises(ConfigError, match="for task 'synthetic'"):
        train(ImageConfig(), optimizer=torch.optim.SGD)


# ---- the CLI on the fast engine ----------------------------------------------------------------

TINY = ["--d", "60", "--n", "12", "--s", "6", "--n-test", "50", "--width", "3", "--epochs", "4",
        "--batch-size", "3", "--json"]


@pytest.mark.parametrize("optimizer", list_optimizers())
def test_cli_trains_every_optimizer(capsys, optimizer):
    from adamlab.cli import main

    assert main(["train", *TINY, "--optimizer", optimizer]) == 0
    out, err = capsys.readouterr()
    result = json.loads(out.strip().splitlines()[-1])
    assert result["status"] == "ok" and result["config"]["optimizer"] == optimizer
    # on the fast engine unless it has no kernel, and then it says so in one line
    fallback = get(optimizer).kernel is None
    assert ("adamlab: warning: engine: " in err) == fallback and "Traceback" not in err
    assert ("step_ratio_noise_feature" in result) == get(optimizer).second_moment


def test_cli_flags_for_schedules_clipping_and_nesterov(capsys):
    from adamlab.cli import main

    args = [*TINY, "--optimizer", "sgd", "--lr", "0.5", "--momentum", "0.9", "--nesterov",
            "--schedule", "cosine", "--warmup-epochs", "1", "--clip-norm", "0.01"]
    assert main(["train", *args]) == 0
    out, err = capsys.readouterr()
    cfg = json.loads(out.strip().splitlines()[-1])["config"]
    assert (cfg["nesterov"], cfg["schedule"], cfg["warmup_epochs"], cfg["clip_norm"]) == \
        (True, "cosine", 1, 0.01) and "warning" not in err
    assert main(["train", *TINY, "--schedule", "step", "--step-epochs", "2",
                 "--step-gamma", "0.5"]) == 0
    cfg = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["config"]
    assert (cfg["step_epochs"], cfg["step_gamma"]) == (2, 0.5)


def test_new_settings_at_their_defaults_keep_stored_run_ids():
    """Fields added with the registry (nesterov, schedule, ...) are left out of the run id while
    at their default: runs stored before they existed are found again."""
    assert not {"schedule", "nesterov", "warmup_epochs", "step_epochs", "step_gamma",
                "clip_norm", "custom_optimizer"} & set(SyntheticConfig().id_fields())
    assert SyntheticConfig(schedule="cosine").run_id() != SyntheticConfig().run_id()
    assert SyntheticConfig.from_dict({k: v for k, v in SyntheticConfig().to_dict().items()
                                      if k not in ("schedule", "nesterov")}) == SyntheticConfig()


def test_engines_warn_once_per_fallback_and_meta_says_so(kernelless):
    cfg = SMALL.replace(optimizer=kernelless)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = train(cfg)
    assert [str(w.message) for w in caught] == [r.meta["engine_note"]]
    unregister("nothing-to-remove")  # unregistering an unknown name is harmless
