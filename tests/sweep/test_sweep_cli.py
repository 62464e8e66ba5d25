"""`adamlab sweep` and `adamlab runs`: output, filters, aggregation, exports, one-line errors."""
import csv
import json
import shlex
import subprocess

import pytest

from adamlab import SyntheticConfig, train
from adamlab.cli import build_parser, main
from adamlab.commands.options import config_from_args, train_command
from adamlab.optim import list_optimizers
from adamlab.sweep import Store
from adamlab.tasks import config_from_dict
from sweep_helpers import ROOT, TINY, cli, cli_env, toml

PROBE = {"task": "sweepprobe"}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A store filled by `adamlab sweep`: probe cases x = 1, x = 2 and x = 9 (raises), crossed with
    seeds {0, 1, 2}. test_error = x + seed/10, so per x: mean x + 0.1, sample std 0.1, n 3."""
    tmp = tmp_path_factory.mktemp("cli")
    spec = tmp / "probe.toml"
    spec.write_text('name = "probe"\n[base]\ntask = "sweepprobe"\n[grid]\nseed = [0, 1, 2]\n'
                    '[[runs]]\nx = 1.0\n[[runs]]\nx = 2.0\n[[runs]]\nx = 9.0\nmode = "raise"\n')
    db = tmp / "probe.sqlite"
    proc = subprocess.run(cli("sweep", spec, "--store", db, "--workers", "2", "--import",
                              "sweeptask"), env=cli_env(), cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr  # one run failed: exit status 1, listed
    assert proc.stdout.strip() == ("sweep probe: 9 runs, 0 already in the store, 9 ran (6 ok, "
                                   "0 diverged, 3 failed) in " + proc.stdout.split(" in ")[-1]
                                   .strip())
    assert "failed" in proc.stderr and "ValueError: probe asked to fail at x=9.0" in proc.stderr
    assert "sweep probe: 100%" in proc.stderr and "9/9" in proc.stderr  # the progress bar
    again = subprocess.run(cli("sweep", spec, "--store", db, "--import", "sweeptask", "--json",
                               "--no-progress"), env=cli_env(), cwd=ROOT, capture_output=True,
                           text=True, timeout=300)
    summary = json.loads(again.stdout)
    assert (summary["skipped"], summary["ran"], summary["failed_in_store"]) == (9, 0, 3)
    assert again.returncode == 1 and again.stderr.count("\n") == 4
    return db


def test_runs_json_lists_every_run(store, capsys):
    assert main(["runs", str(store), "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)
    assert len(runs) == 9
    for r in runs:
        assert {"id", "status", "reason", "config", "train_error", "test_error"} <= set(r)
        assert r["config"]["task"] == "sweepprobe"
    ok = sorted(r["test_error"] for r in runs if r["status"] == "ok")
    assert ok == pytest.approx([1.0, 1.1, 1.2, 2.0, 2.1, 2.2])
    failed = [r for r in runs if r["status"] == "failed"]
    assert [r["reason"] for r in failed] == ["ValueError: probe asked to fail at x=9.0"] * 3
    assert all(r["test_error"] is None for r in failed)


def test_runs_where(store, capsys):
    assert main(["runs", str(store), "--where", "x=2", "--where", "seed=0,2", "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)
    assert sorted(r["config"]["seed"] for r in runs) == [0, 2]
    assert main(["runs", str(store), "--where", "status=failed", "--where", "seed=1"]) == 0
    out = capsys.readouterr().out
    assert "failed: ValueError: probe asked to fail at x=9.0" in out and "1 runs" in out


def test_runs_by_aggregates_over_seeds(store, capsys):
    assert main(["runs", str(store), "--by", "x", "--metric", "test_error", "--json"]) == 0
    groups = json.loads(capsys.readouterr().out)
    assert [(g["x"], g["runs"], g["ok"], g["failed"], g["test_error_n"]) for g in groups] == \
        [(1.0, 3, 3, 0, 3), (2.0, 3, 3, 0, 3), (9.0, 3, 0, 3, 0)]
    assert groups[0]["test_error_mean"] == pytest.approx(1.1)
    assert groups[1]["test_error_std"] == pytest.approx(0.1)
    assert groups[2]["test_error_mean"] is None
    assert main(["runs", str(store), "--by", "--where", "status=ok"]) == 0  # bare --by: x, mode
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["x", "runs"]
    assert lines[1].split()[:2] == ["1", "3"] and "1.1 ± 0.1 (3)" in lines[1]


def test_runs_exports(store, tmp_path, capsys):
    parquet = ["--parquet", str(tmp_path / "r.parquet")] if _has_pyarrow() else []
    assert main(["runs", str(store), "--csv", str(tmp_path / "r.csv"), *parquet]) == 0
    rows = list(csv.DictReader(open(tmp_path / "r.csv")))
    assert len(rows) == 9 and {"id", "status", "config.x", "final.test_error"} <= set(rows[0])
    assert main(["runs", str(store), "--by", "x", "--csv", str(tmp_path / "g.csv")]) == 0
    groups = list(csv.DictReader(open(tmp_path / "g.csv")))
    assert [g["x"] for g in groups] == ["1.0", "2.0", "9.0"]
    assert main(["runs", str(store), "--long", "--csv", str(tmp_path / "m.csv")]) == 0
    assert len(open(tmp_path / "m.csv").read().splitlines()) == 1 + 6 * 4
    assert "wrote 24 rows" in capsys.readouterr().err
    if _has_pyarrow():
        import pyarrow.parquet as pq

        table = pq.read_table(tmp_path / "r.parquet").to_pydict()
        assert sorted(table["config.x"]) == [1.0] * 3 + [2.0] * 3 + [9.0] * 3


def _has_pyarrow() -> bool:
    import importlib.util

    return importlib.util.find_spec("pyarrow") is not None


@pytest.mark.parametrize("args, message", [
    (["runs", "{store}", "--where", "sed=1"], "where: unknown key 'sed' (did you mean 'seed'?)"),
    (["runs", "{store}", "--where", "seed"], "--where: expected KEY=VALUE, got 'seed'"),
    (["runs", "{store}", "--by", "y"], "by: unknown key 'y'"),
    (["runs", "{store}", "--long", "--by", "x"], "--long: exports raw metrics"),
    (["runs", "{tmp}/missing.sqlite"], "missing.sqlite: no such store"),
    (["runs", "{tmp}/bad.toml"], "bad.toml: not an adamlab results store"),
    (["sweep", "{tmp}/bad.toml", "--store", "{tmp}/s.sqlite"],
     "grid.batch_size[1]: must be in [1, n=200], got 0"),
    (["sweep", "{tmp}/bad.toml", "--store", "{tmp}/s.sqlite", "--workers", "0"],
     "--workers: must be an integer >= 1, got 0"),
    (["sweep", "{tmp}/bad.toml", "--store", "{tmp}/s.sqlite", "--address", "x:1"],
     "--address: only with --backend ray"),
    (["sweep", "{tmp}/bad.toml", "--store", "{tmp}/s.sqlite", "--import", "no_such_mod"],
     "--import: cannot import 'no_such_mod'"),
    (["sweep", "no-such-preset", "--store", "{tmp}/s.sqlite"],
     "no-such-preset: no such sweep file or preset"),
    (["sweep", "{tmp}/bad.toml"], "the following arguments are required: --store"),
])
def test_errors_are_one_line_and_exit_2(store, tmp_path, capsys, args, message):
    toml(tmp_path / "bad.toml", "bad", {"n": 200}, {"batch_size": [2, 0]})
    args = [a.format(store=store, tmp=tmp_path) for a in args]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("adamlab: error: ") and message in err
    assert not (tmp_path / "s.sqlite").exists()  # nothing ran, nothing was created


def test_errors_from_the_console_entry_point(tmp_path):
    """`python -m adamlab.cli` (a second copy of the cli module) still ends in one line, exit 2."""
    toml(tmp_path / "bad.toml", "bad", {"optimiser": "adam"})
    for args, message in ((["sweep", tmp_path / "bad.toml", "--store", tmp_path / "s.sqlite"],
                           "base.optimiser: unknown setting"),
                          (["runs", tmp_path / "bad.toml"],
                           "bad.toml: not an adamlab results store")):
        proc = subprocess.run(cli(*args), env=cli_env(), cwd=ROOT, capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert proc.stderr.count("\n") == 1 and message in proc.stderr


def test_sweep_dry_run_of_a_variant_creates_nothing(tmp_path, capsys):
    spec = tmp_path / "v.toml"
    spec.write_text('name = "v"\n[base]\nepochs = 300\n[grid]\nseed = [0, 1, 2]\n'
                    'batch_size = [2, 100]\n[quick.base]\nepochs = 3\n[quick.grid]\nseed = [7]\n')
    assert main(["sweep", str(spec), "--store", str(tmp_path / "s.sqlite"), "--quick",
                 "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "sweep v:quick: 2 runs, 0 already in the store, 2 to run"
    assert lines[1].endswith("todo batch_size=2") and lines[2].endswith("todo batch_size=100")
    assert not (tmp_path / "s.sqlite").exists()
    assert main(["sweep", str(spec), "--store", str(tmp_path / "s.sqlite"), "--variant",
                 "slow", "--dry-run"]) == 2
    assert "variant: v has no variant 'slow' (variants: quick)" in capsys.readouterr().err


def _rerun_line(out: str) -> str:
    lines = out.splitlines()
    return lines[lines.index("rerun:") + 1].strip()


def test_runs_open_shows_a_run_and_the_command_that_reruns_it(tmp_path, capsys):
    """`--open` takes an id or a unique start of one; running the printed `adamlab train` line
    gives the same run id (and the same numbers)."""
    configs = [SyntheticConfig(**TINY),  # defaults but the size: the optimiser's own lr, ...
               SyntheticConfig(**TINY, optimizer="adamw", batch_size=4, lr=1e-4, seed=3,
                               bias_correction=False, schedule="step", step_epochs=2,
                               engine="reference")]
    db = tmp_path / "open.sqlite"
    with Store(db) as store:
        stored = [train(c) for c in configs]
        for r in stored:
            store.put(r, sweep="open")
    commands = []
    for r in stored:
        assert main(["runs", str(db), "--open", r.run_id[:6]]) == 0
        out = capsys.readouterr().out
        assert out.startswith(f"run {r.run_id}: ok\n")
        assert "\nconfig:\n" in out and "\nsummary:\n" in out and "test_error" in out
        commands.append(_rerun_line(out))
        assert commands[-1].startswith("adamlab train ")
        assert main([*shlex.split(commands[-1])[1:], "--json"]) == 0
        again = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert again["run_id"] == r.run_id and again["config"] == r.config
        assert again["test_error"] == r.summary["test_error"]
    assert "--lr" not in commands[0]  # a default is no flag
    assert main(["runs", str(db), "--open", stored[1].run_id, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["id"], shown["status"], shown["command"]) == (stored[1].run_id, "ok", commands[1])
    assert shown["config"] == stored[1].config and shown["summary"] == stored[1].summary
    assert shown["compile_seconds"] == stored[1].meta["compile_seconds"] >= 0
    assert "--weight-decay" not in commands[1]  # nor what another flag implies (adamw's 1e-2)
    assert main(["runs", str(db), "--open", "zz"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("adamlab: error: --open: no run 'zz' in ")
    assert main(["runs", str(db), "--open", ""]) == 2  # the start of every id
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--open: '' starts 2 run ids" in err[0]


@pytest.mark.parametrize("config", [
    *({"optimizer": name, "batch_size": 8, "weight_decay": 0.03} for name in list_optimizers()),
    {"sampler": "cyclic", "activation": "gelu", "clip_norm": 1.0, "dtype": "float32"},
    {"schedule": "step", "step_epochs": 3, "step_gamma": 0.5, "nesterov": True,
     "optimizer": "sgd", "momentum": 0.9},
    {"task": "images", "dataset": "cifar10", "subset": 500, "optimizer": "adamw", "lr": 3e-4},
], ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items())[:40])
def test_the_rerun_command_gives_the_same_config(config):
    cfg = config_from_dict(config)
    argv = shlex.split(train_command(cfg.to_dict()))
    assert argv[:2] == ["adamlab", "train"]
    again = config_from_args(build_parser().parse_args(argv[1:]))
    assert again.run_id() == cfg.run_id() and again.to_dict() == cfg.to_dict()


def test_a_torch_optimiser_run_has_no_rerun_command():
    """Its optimiser is Python, not a flag: --open says to rerun it with adamlab.train."""
    cfg = config_from_dict({**TINY, "optimizer": "custom",
                            "custom_optimizer": "torch.optim.SGD(lr=0.1)"})
    assert train_command(cfg.to_dict()) is None
