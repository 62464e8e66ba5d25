"""Stable run ids: the id hashes what changes a run's numbers and nothing else, a field added later
with a default keeps every stored id, and a run stored by one engine is found by another."""
import dataclasses
import hashlib
import itertools
import json

import pytest

from adamlab import tasks
from adamlab.core import fields as C
from adamlab.synthetic.train import train_synthetic
from adamlab import train
from adamlab.cli import main
from adamlab.images.config import ImageConfig
from adamlab.synthetic.config import SyntheticConfig
from adamlab.core.fields import spec
from adamlab.sweep import Store, load_spec, run_sweep
from sweep_helpers import TINY, toml

# A valid value other than the default for every field of SyntheticConfig that changes numbers.
CHANGED = {"d": 500, "n": 100, "s": 50, "sigma_p": 0.2, "alpha": 0.3, "n_test": 500,
           "balanced": False, "width": 10, "power": 4.0, "sigma0": 0.02, "optimizer": "adamw",
           "lr": 1e-4, "weight_decay": 0.5, "batch_size": 4, "epochs": 7, "beta1": 0.5,
           "beta2": 0.9, "eps": 1e-6, "bias_correction": False, "momentum": 0.5,
           "sampler": "cyclic", "seed": 3, "activation": "gelu", "rho": 0.2, "clip_norm": 1.0,
           "schedule": "cosine", "warmup_epochs": 2, "label_noise": 0.1}
# Settings only read together with others: changed with their companions.
WITH = {"nesterov": {"optimizer": "sgd", "momentum": 0.5, "nesterov": True},
        "step_epochs": {"schedule": "step", "step_epochs": 5},
        "step_gamma": {"schedule": "step", "step_epochs": 5, "step_gamma": 0.5},
        "custom_optimizer": {"optimizer": "custom", "custom_optimizer": "torch.optim.Adam()"}}
BOOKKEEPING = {"log_every": 5, "engine": "reference"}


def _other_value(f):
    """A value other than the field's default, for fields added after CHANGED was written."""
    meta, default = f.metadata, f.default
    if C.choices_of(meta):
        return next(c for c in C.choices_of(meta) if c != default)
    if isinstance(default, bool):
        return not default
    if isinstance(default, (int, float)):
        hi = meta.get("hi")
        up = default + 1 if isinstance(default, int) else (default * 2 or 0.5)
        return up if not isinstance(hi, (int, float)) or up <= hi else type(default)(default / 2)
    raise AssertionError(f"{f.name}: add a value other than its default to CHANGED")


def test_every_setting_that_changes_the_numbers_changes_the_id():
    fields = [f for f in dataclasses.fields(SyntheticConfig) if not f.metadata.get("bookkeeping")]
    changed = {f.name: WITH[f.name] if f.name in WITH else
               {f.name: CHANGED[f.name] if f.name in CHANGED else _other_value(f)}
               for f in fields}
    base = SyntheticConfig()
    ids = {base.run_id()}
    for name, settings in changed.items():
        ids.add(SyntheticConfig(**settings).run_id())
    assert len(ids) == len(changed) + 1  # all different, from the default and from each other


def test_bookkeeping_settings_and_spelled_out_defaults_keep_the_id():
    base = SyntheticConfig(**TINY)
    for name, value in BOOKKEEPING.items():
        assert SyntheticConfig(**TINY, **{name: value}).run_id() == base.run_id(), name
    assert SyntheticConfig(**TINY, engine="batched", device="cuda").run_id() == base.run_id()
    # A default written out, or reached through None, is the same run.
    assert SyntheticConfig(**TINY, lr=5e-5, beta2=0.999, weight_decay=1e-5).run_id() == \
        base.run_id()
    assert SyntheticConfig(optimizer="adamw").run_id() == \
        SyntheticConfig(optimizer="adamw", weight_decay=0.01).run_id()
    # Different numbers never share an id: adamw's resolved 0.01 is hashed, not left out.
    assert SyntheticConfig(optimizer="adamw").run_id() != \
        SyntheticConfig(optimizer="adamw", weight_decay=1e-5).run_id()
    assert ImageConfig(checkpoint_dir="/x", download=True).run_id() == ImageConfig().run_id()
    assert ImageConfig(device="cuda").run_id() != ImageConfig().run_id()  # precision auto: bf16


def test_the_hashed_payload_of_the_default_run_is_only_its_resolved_optimiser_settings():
    """What a new field must keep: the default config hashes nothing but the task, the rule's
    version and the optimiser settings whose None default __post_init__ resolves from the
    optimiser's registry entry (weight_decay, lr, betas, eps: the numbers are hashed, so runs
    with different numbers never share an id). A new field whose default is resolved in
    __post_init__ would show up here and change every stored id; give it a literal default that
    reproduces the old behaviour instead."""
    resolved = {"weight_decay": 1e-5, "lr": 5e-5, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
    assert SyntheticConfig().id_fields() == resolved
    assert ImageConfig().id_fields() == {"weight_decay": 5e-4}
    payload = {"task": "synthetic", "run_id_version": C.RUN_ID_VERSION, **resolved}
    assert SyntheticConfig().run_id() == \
        hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


# Pinned ids: a change to the rule (or to a field's default) shows up here; such a change needs a
# new RUN_ID_VERSION and a migration (adamlab/sweep/migrate.py), or every stored run is rerun.
PINNED = [(SyntheticConfig, {}, "b0d08104f1271bd8"),
          (SyntheticConfig, {"optimizer": "adamw", "batch_size": 100, "seed": 4},
           "15938583d0491e77"),
          (SyntheticConfig, dict(TINY, seed=1, batch_size=4), "e37400a076e431db"),
          (ImageConfig, {}, "ec8e2c8a02779243"),
          (ImageConfig, {"optimizer": "adamw", "batch_size": 256, "lr": 5e-4}, "c3204012eab5e1c3")]


@pytest.mark.parametrize("cls, settings, want", PINNED)
def test_ids_are_pinned(cls, settings, want):
    assert cls(**settings).run_id() == want


@pytest.fixture
def synthetic_with_a_new_field(monkeypatch):
    """SyntheticConfig as a later adamlab might have it: one more setting, with a default that
    keeps the old behaviour (e.g. a new option whose default is what adamlab did before)."""
    later = dataclasses.make_dataclass(
        "SyntheticConfig",
        [("future_setting", str, spec("off", "a setting of a later adamlab",
                                      choices=("off", "on")))],
        bases=(SyntheticConfig,), frozen=True)
    monkeypatch.setitem(tasks.TASKS, "synthetic", tasks.Task(later, train_synthetic))
    return later


def _store_fast_runs(db, sweep: str, **grid) -> set[str]:
    """Train runs with the fast engine and store them as a sweep would."""
    keys = list(grid)
    with Store(db) as store:
        for values in itertools.product(*grid.values()):
            store.put(train(SyntheticConfig(**TINY, **dict(zip(keys, values)))), sweep=sweep)
        return {r["id"] for r in store.runs()}


def test_a_field_added_with_a_default_keeps_stored_ids_and_reuse(tmp_path, request):
    db = tmp_path / "s.sqlite"
    stored = _store_fast_runs(db, "now", seed=[0, 1], batch_size=[2, 4])
    assert len(stored) == 4
    later = request.getfixturevalue("synthetic_with_a_new_field")
    spec_later = load_spec(toml(tmp_path / "later.toml", "later", TINY,
                                {"seed": [0, 1], "batch_size": [2, 4]}))
    assert all(type(c) is later for c in spec_later.configs)
    assert set(spec_later.run_ids()) == stored  # the same ids, so
    again = run_sweep(spec_later, db, workers=1, progress=False)
    assert (again.skipped, again.ran) == (4, 0)  # nothing is computed again
    # The new setting at another value is another run.
    assert later(**TINY, future_setting="on").run_id() not in stored
    with Store(db) as store:  # stored configs still read back under the later class
        assert {tasks.config_from_dict(r["config"]).run_id() for r in store.runs()} == stored


def test_a_run_stored_by_the_fast_engine_is_reused_by_backend_batched(tmp_path, capsys):
    db = tmp_path / "s.sqlite"
    _store_fast_runs(db, "fast", seed=[0, 1])
    spec = toml(tmp_path / "b.toml", "batched", {**TINY, "engine": "batched"},
                {"seed": [0, 1, 2]})
    assert main(["sweep", str(spec), "--store", str(db), "--backend", "batched",
                 "--no-progress", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["total"], out["skipped"], out["ran"]) == (3, 2, 1)  # only seed 2 is computed
    with Store(db) as store:
        engines = sorted((r["config"]["seed"], r["config"]["engine"]) for r in store.runs())
        assert engines == [(0, "fast"), (1, "fast"), (2, "batched")]  # what computed each
        assert len(store.runs({"sweep": "batched"})) == 3  # listed under both sweeps


def test_backend_batched_runs_a_fast_engine_sweep_under_the_same_ids(tmp_path, capsys):
    """`--backend batched` on a spec that leaves engine at "fast": the runs step on the batched
    engine (one stderr line says so) and are stored under the ids the fast engine gives them."""
    spec = toml(tmp_path / "f.toml", "fast", TINY, {"seed": [0, 1, 2]})
    fast = tmp_path / "fast.sqlite"
    fast_ids = _store_fast_runs(fast, "fast", seed=[0, 1, 2])
    db = tmp_path / "batched.sqlite"
    assert main(["sweep", str(spec), "--store", str(db), "--backend", "batched",
                 "--no-progress", "--json"]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["ran"] == 3
    assert out.err.splitlines() == ["adamlab: running 3 runs on the batched engine (engine is "
                                    "bookkeeping: same run ids)"]
    with Store(db) as store, Store(fast) as ref:
        runs = store.runs()
        assert {r["id"] for r in runs} == fast_ids == set(load_spec(spec).run_ids())
        assert {r["config"]["engine"] for r in runs} == {"batched"}
        by_id = {r["id"]: r["final"]["test_error"] for r in ref.runs()}
        for r in runs:  # the same runs: the engines agree on the numbers
            assert r["final"]["test_error"] == pytest.approx(by_id[r["id"]], abs=1e-9)


@pytest.mark.parametrize("base, why", [
    ({"dtype": "float32"}, "dtype: must be float64 with engine='batched'"),
    ({"task": "images", "epochs": 1}, "(task 'images')"),
])
def test_backend_batched_names_the_runs_it_cannot_step(tmp_path, capsys, base, why):
    spec = toml(tmp_path / "x.toml", "x", base if base.get("task") else {**TINY, **base},
                {"seed": [0, 1]})
    db = tmp_path / "x.sqlite"
    assert main(["sweep", str(spec), "--store", str(db), "--backend", "batched",
                 "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    ids = load_spec(spec).run_ids()
    assert len(err) == 1 and err[0].startswith("adamlab: error: backend: 'batched'")
    assert why in err[0] and all(i in err[0] for i in ids)
    assert not db.exists()  # stopped before the store
