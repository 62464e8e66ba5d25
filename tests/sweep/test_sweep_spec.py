"""Sweep files: grid expansion, runs as extra points, dedup by run id, errors that name the key
path, presets by name, and run ids that do not depend on how a setting was written."""
import itertools
import subprocess

import pytest

from adamlab.synthetic.config import SyntheticConfig
from adamlab.sweep import SpecError, load_spec, parse_spec, preset_names, run_sweep
from adamlab.sweep import spec as spec_module
from sweep_helpers import ROOT, cli, cli_env

ISSUE_EXAMPLE = """
name = "batch-vs-wd"
[base]
optimizer = "adamw"
epochs = 300
[grid]
batch_size = [4, 20, 100]
weight_decay = [1e-3, 1e-2]
seed = [0, 1, 2]
"""


def test_grid_is_the_cartesian_product_over_base(tmp_path):
    path = tmp_path / "batch-vs-wd.toml"
    path.write_text(ISSUE_EXAMPLE)
    spec = load_spec(path)
    assert spec.name == "batch-vs-wd" and len(spec) == 3 * 2 * 3
    got = [(c.batch_size, c.weight_decay, c.seed) for c in spec.configs]
    assert got == list(itertools.product([4, 20, 100], [1e-3, 1e-2], [0, 1, 2]))
    assert all(c.optimizer == "adamw" and c.epochs == 300 for c in spec.configs)
    assert all(c.d == 1000 and c.n == 200 for c in spec.configs)  # untouched fields: defaults
    assert len(set(spec.run_ids())) == 18


def test_runs_are_cases_crossed_with_the_grid():
    spec = parse_spec({"name": "x", "base": {"epochs": 3},
                       "grid": {"seed": [0, 1]},
                       "runs": [{"optimizer": "adamw", "weight_decay": 0.5}, {"batch_size": 4}]})
    got = [(c.optimizer, c.weight_decay, c.batch_size, c.seed, c.epochs) for c in spec.configs]
    assert got == [("adamw", 0.5, 2, 0, 3), ("adamw", 0.5, 2, 1, 3),
                   ("adam", 1e-5, 4, 0, 3), ("adam", 1e-5, 4, 1, 3)]


def test_base_alone_is_one_run_and_runs_alone_are_just_the_runs():
    assert len(parse_spec({"name": "x", "base": {"epochs": 3}})) == 1
    spec = parse_spec({"name": "x", "base": {"epochs": 3}, "runs": [{"seed": 1}, {"seed": 2}]})
    assert [(c.seed, c.epochs) for c in spec.configs] == [(1, 3), (2, 3)]


def test_duplicate_configs_are_kept_once_first_first():
    spec = parse_spec({"name": "x", "grid": {"seed": [0, 1, 0], "lr": [5e-5, 5e-5]},
                       "runs": [{"batch_size": 2}, {"batch_size": 4},
                                {"batch_size": 4, "momentum": 0.0}]})  # momentum 0 = default
    assert [(c.batch_size, c.seed) for c in spec.configs] == [(2, 0), (2, 1), (4, 0), (4, 1)]
    assert len(set(spec.run_ids())) == 4


VARIANTS = {"name": "v", "base": {"epochs": 300, "optimizer": "adamw"},
            "grid": {"batch_size": [100, 2], "n_test": [1000, 2000], "seed": [0, 1, 2]},
            "quick": {"base": {"epochs": 5, "n_test": 50}, "grid": {"seed": [0]}},
            "tiny": {"grid": {"epochs": [1, 2]}, "runs": [{"weight_decay": 0.1}]}}


def test_variants_override_base_grid_and_runs():
    full = parse_spec(VARIANTS)
    assert (full.name, len(full), full.variants) == ("v", 12, ("quick", "tiny"))
    quick = parse_spec(VARIANTS, variant="quick")
    # base keys replace, grid lists replace, and n_test moved from the grid to the base
    assert quick.name == "v:quick" and quick.variant == "quick"
    assert [(c.batch_size, c.seed, c.epochs, c.n_test, c.optimizer) for c in quick.configs] == \
        [(100, 0, 5, 50, "adamw"), (2, 0, 5, 50, "adamw")]
    tiny = parse_spec(VARIANTS, variant="tiny")  # epochs moved from the base to the grid
    assert len(tiny) == 2 * 2 * 3 * 2
    assert {(c.epochs, c.weight_decay) for c in tiny.configs} == {(1, 0.1), (2, 0.1)}
    with pytest.raises(SpecError, match="variant: v has no variant 'fast' "
                                        r"\(variants: quick, tiny\)"):
        parse_spec(VARIANTS, variant="fast")


def test_every_shipped_preset_loads_with_its_quick_variant():
    names = preset_names()
    assert "table" in names
    for name in names:
        spec = load_spec(name)
        assert spec.name == name and len(spec) > 0
        if "quick" in spec.variants:
            quick = load_spec(name, quick=True)
            assert quick.name == f"{name}:quick" and 0 < len(quick) < len(spec)
            assert max(c.epochs for c in quick.configs) < max(c.epochs for c in spec.configs)


@pytest.mark.parametrize("data, message", [
    ({"base": {"optimiser": "adam"}},
     "base.optimiser: unknown setting for task 'synthetic' (did you mean 'optimizer'?)"),
    ({"base": {"n": 200}, "grid": {"batch_size": [2, 0]}},
     "grid.batch_size[1]: must be in [1, n=200], got 0"),
    ({"grid": {"n": [50, 200], "batch_size": [100]}},
     "grid.batch_size[0]: must be in [1, n=50], got 100"),
    ({"grid": {"epochs": [3, "ten"]}}, "grid.epochs[1]: must be an integer"),
    ({"runs": [{"seed": 1}, {"lr": 0.0}]}, "runs[1].lr: must be > 0.0, got 0.0"),
    ({"base": {"batch_size": 10}, "grid": {"seed": [0, 1]}, "runs": [{"n": 20}, {"n": 4}]},
     "base.batch_size: must be in [1, n=4], got 10 (at runs[1]; grid point seed=0)"),
    ({"grid": {"seed": [0]}, "runs": [{"seed": 1}]}, "runs[0].seed: also a grid key"),
    ({"quick": {"grid": {"seed": [0, -1]}}}, "quick.grid.seed[1]: must be >= 0, got -1"),
    ({"quick": {"base": {"epoch": 5}}}, "quick.base.epoch: unknown setting for task "
     "'synthetic' (did you mean 'epochs'?)"),
    ({"grid": {"seed": [0]}, "quick": {"runs": [{"seed": 3}]}},
     "quick.runs[0].seed: also a grid key in variant 'quick' (grid.seed)"),
    ({"runs": [{"seed": 1}, {"momentun": 0.5}]}, "runs[1].momentun: unknown setting"),
    ({"base": {"optimizer": "adamz"}}, "base.optimizer: must be one of adam, adamw"),
    ({"grid": {"d": [1000, 50]}}, "s: must be in [1, d-1=49]"),
    ({"grid": {"d": [1000, 50]}}, "(at grid point d=50)"),
    ({"grid": {"seed": 3}}, "grid.seed: must be a list of values, got 3"),
    ({"grid": {"seed": []}}, "grid.seed: must be a non-empty list"),
    ({"base": {"seed": 1}, "grid": {"seed": [0, 1]}}, "grid.seed: also set in base"),
    ({"grids": {"seed": [0]}}, "grids: unknown top-level key (did you mean 'grid'?)"),
    ({"base": {"task": "cifar100"}}, "base.task: must be one of synthetic"),
    ({"base": [1, 2]}, "base: must be a table"),
    ({"runs": {"seed": 1}}, "runs: must be an array of tables"),
])
def test_bad_specs_name_the_key_path(data, message):
    with pytest.raises(SpecError) as err:
        parse_spec({"name": "bad", **data})
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_a_dict_spec_needs_a_name():
    with pytest.raises(SpecError, match="name: must be a non-empty string"):
        parse_spec({"grid": {"seed": [0]}})


def test_a_bad_spec_fails_before_anything_runs(tmp_path):
    db = tmp_path / "store.sqlite"
    with pytest.raises(SpecError, match=r"grid\.batch_size\[2\]"):
        run_sweep({"name": "x", "grid": {"batch_size": [2, 4, 999]}}, db, progress=False)
    assert not db.exists()


def test_invalid_toml_and_missing_files(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("name = 'x'\n[grid\nseed = [0]\n")
    with pytest.raises(SpecError, match="bad.toml: invalid TOML"):
        load_spec(bad)
    with pytest.raises(SpecError, match="no such sweep file or preset"):
        load_spec(tmp_path / "missing.toml")


def test_presets_are_found_by_name(tmp_path, monkeypatch):
    (tmp_path / "tiny-table.toml").write_text('# a preset\n[grid]\nseed = [0, 1]\n')
    monkeypatch.setattr(spec_module, "PRESETS", tmp_path)
    spec = load_spec("tiny-table")
    assert spec.name == "tiny-table" and [c.seed for c in spec.configs] == [0, 1]
    assert load_spec("tiny-table.toml").run_ids() == spec.run_ids()
    with pytest.raises(SpecError, match=r"presets: tiny-table\)"):
        load_spec("no-such-preset")


def test_run_ids_do_not_depend_on_how_settings_are_written():
    a = parse_spec({"name": "a", "base": {"epochs": 3},
                    "grid": {"seed": [0, 1], "batch_size": [2, 4]}})
    b = parse_spec({"name": "b", "grid": {"batch_size": [4, 2], "seed": [1, 0]},
                    "base": {"epochs": 3.0, "lr": 5e-5, "weight_decay": 1e-5,
                             "sigma_p": 0.1, "optimizer": "adam"}})
    assert sorted(a.run_ids()) == sorted(b.run_ids())  # order, defaults, 3 vs 3.0: same runs
    assert a.run_ids() == parse_spec({"name": "a", "base": {"epochs": 3},
                                      "grid": {"seed": [0, 1], "batch_size": [2, 4]}}).run_ids()
    # The id is the config hash: the one a direct run of the same config reports.
    assert a.run_ids()[0] == SyntheticConfig(epochs=3, seed=0, batch_size=2).run_id()
    # Any change of value is another run.
    c = parse_spec({"name": "c", "base": {"epochs": 3, "sigma_p": 0.1000001},
                    "grid": {"seed": [0, 1], "batch_size": [2, 4]}})
    assert not set(a.run_ids()) & set(c.run_ids())


def test_run_ids_are_the_same_in_another_process(tmp_path):
    """A fresh interpreter (another hash seed) lists the same ids: resume works across restarts."""
    path = tmp_path / "ids.toml"
    path.write_text(ISSUE_EXAMPLE)
    proc = subprocess.run(cli("sweep", path, "--store", tmp_path / "s.sqlite", "--dry-run"),
                          capture_output=True, text=True, env=cli_env(), cwd=ROOT,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    listed = [line.split()[0] for line in proc.stdout.splitlines()[1:]]
    assert listed == load_spec(path).run_ids()
    assert proc.stdout.splitlines()[0] == ("sweep batch-vs-wd: 18 runs, 0 already in the store, "
                                           "18 to run")


def test_a_variant_is_checked_against_the_task_of_the_main_tables():
    import sweeptask  # noqa: F401  (the test-only task "sweepprobe")

    data = {"name": "p", "base": {"task": "sweepprobe", "x": 1.0}, "grid": {"seed": [0, 1]},
            "quick": {"base": {"mode": "diverge"}, "grid": {"seed": [0]}}}
    quick = parse_spec(data, variant="quick")
    assert [(c.task, c.mode, c.seed, c.x) for c in quick.configs] == [("sweepprobe", "diverge",
                                                                      0, 1.0)]
    data["quick"]["base"] = {"mod": "diverge"}
    with pytest.raises(SpecError, match="quick.base.mod: unknown setting for task 'sweepprobe' "
                                        r"\(did you mean 'mode'\?\)"):
        parse_spec(data)
