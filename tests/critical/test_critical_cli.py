"""`adamlab critical-batch`: the JSON object of the issue, brackets the stored runs support, a
rerun that computes nothing, and one-line errors."""
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from adamlab.cli import main
from adamlab.synthetic.regimes import observed_regime
from adamlab.sweep import Store

ROOT = Path(__file__).resolve().parents[2]
# The paper's model at a size whose runs take milliseconds (n = 12: at most 6 rounds).
TINY = ["--d", "100", "--n", "12", "--s", "10", "--n-test", "200", "--width", "5",
        "--epochs", "60"]


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "adamlab.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT,
                          env={"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1",
                               "NUMBA_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})


def test_json_object_brackets_supported_by_stored_runs_and_a_rerun_runs_nothing(tmp_path):
    db = tmp_path / "cb.sqlite"
    args = ["critical-batch", "--optimizer", "adam", "--seeds", "0", "1", "2", "--json",
            "--store", db, "--workers", "2", "--no-progress", *TINY]
    first = _cli(*args)
    assert first.returncode == 0, first.stderr
    out = json.loads(first.stdout.strip().splitlines()[-1])
    assert set(out) == {"config", "horizon", "seeds", "b_star", "curve", "censored", "grid",
                        "theory"}
    assert out["horizon"] == "budget" and out["grid"] is None
    assert out["config"]["optimizer"] == "adam" and out["config"]["n"] == 12
    assert [s["seed"] for s in out["seeds"]] == [0, 1, 2]
    assert set(out["b_star"]) >= {"mean", "ci95"}
    assert out["theory"]["b_star"] == pytest.approx(12 / math.log(1 / (1e-5 * 5e-5)))
    assert "memory_eps" in out["theory"]["boundaries"]
    with Store(db) as store:
        runs = {r["id"]: r for r in store.runs()}
    probed = 0
    for entry in out["seeds"]:
        assert set(entry) >= {"seed", "b_low", "b_high", "b_star"}
        regimes = {}
        for p in entry["probes"]:
            run = runs[p["run_id"]]  # every probe is a stored run of this seed and batch size
            assert (run["config"]["seed"], run["config"]["batch_size"]) == \
                (entry["seed"], p["batch_size"])
            assert observed_regime(run) == p["regime"]
            regimes[p["batch_size"]] = p["regime"]
            probed += 1
        if entry["b_low"] is not None:
            assert regimes[entry["b_low"]] == "learns_feature"
        if entry["b_high"] is not None:
            assert regimes[entry["b_high"]] == "memorises_noise"
        if entry["b_star"] is not None:
            assert entry["b_star"] == pytest.approx(math.sqrt(entry["b_low"] * entry["b_high"]))
    assert probed == len(runs)
    # The curve counts the probes' decided runs; censored says whether B* is only a bracket.
    decided = [(p["batch_size"], p["regime"]) for s in out["seeds"] for p in s["probes"]
               if p["regime"] in ("learns_feature", "memorises_noise")]
    if decided:
        curve = out["curve"]
        assert out["censored"] is curve["censored"]
        assert sum(c["decided"] for c in curve["counts"]) == len(decided)
        assert sum(c["learns"] for c in curve["counts"]) == \
            sum(r == "learns_feature" for _, r in decided)
        assert (curve["b_star"] is None) == out["censored"]
        if out["censored"]:
            lo, hi = curve["bracket"]
            assert all(r == "learns_feature" for b, r in decided if lo is not None and b <= lo)
            assert all(r == "memorises_noise" for b, r in decided if hi is not None and b >= hi)
    else:
        assert out["curve"] is None and out["censored"] is None
    stars = [s["b_star"] for s in out["seeds"] if s["b_star"] is not None]
    if stars:
        assert out["b_star"]["mean"] == pytest.approx(sum(stars) / len(stars))
    # The same command again: every answer comes from the store, the same object comes back.
    again = _cli(*args)
    assert again.returncode == 0, again.stderr
    out2 = json.loads(again.stdout.strip().splitlines()[-1])
    with Store(db) as store:
        assert len(store.runs()) == len(runs)
    assert all(p["source"] == "stored" for s in out2["seeds"] for p in s["probes"])
    strip = lambda o: [(s["b_low"], s["b_high"], s["b_star"]) for s in o["seeds"]]  # noqa: E731
    assert strip(out2) == strip(out) and out2["b_star"] == out["b_star"]
    assert out2["curve"] == out["curve"] and out2["censored"] == out["censored"]
    assert "round" not in again.stderr  # no round was needed


def test_curve_seeds_run_the_grid_for_seeds_beyond_the_searched_ones(tmp_path, capsys):
    from adamlab.commands.critical_batch import curve_seeds

    assert curve_seeds([0, 1, 2], 8) == list(range(3, 11))
    assert curve_seeds([5, 0], 4) == [1, 2, 3, 4] and curve_seeds([0, 1, 2], 0) == []
    db = tmp_path / "cb.sqlite"
    assert main(["critical-batch", "--optimizer", "adam", "--seeds", "0", "1", "--json",
                 "--curve-seeds", "2", "--curve-points", "3", "--store", str(db),
                 "--workers", "1", "--no-progress", *TINY]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    grid = out["grid"]
    assert grid["seeds"] == [2, 3]
    with Store(db) as store:
        runs = {r["id"]: r for r in store.runs()}
    if grid["batch_sizes"]:  # the tiny model's seeds switched somewhere in [1, 12]
        assert len(grid["runs"]) == 2 * len(grid["batch_sizes"])
        for r in grid["runs"]:
            run = runs[r["run_id"]]
            assert (run["config"]["seed"], run["config"]["batch_size"]) == \
                (r["seed"], r["batch_size"])
        assert out["curve"]["seeds"] == 4 or out["censored"]  # two searched, two on the grid
    else:
        assert "no switch" in grid["reason"]


def test_text_output_names_the_brackets_and_the_theory(tmp_path, capsys):
    assert main(["critical-batch", "--seeds", "0", "--store", str(tmp_path / "cb.sqlite"),
                 "--backend", "batched", "--engine", "batched", "--no-progress", *TINY]) == 0
    out = capsys.readouterr()
    assert out.out.startswith("seed 0: ")
    assert "theory: n / log(1/(lambda*eta)) = 12 / 21.4 = 0.56" in out.out
    assert "store " + str(tmp_path / "cb.sqlite") in out.err


@pytest.mark.parametrize("args, message", [
    (["--seeds", "-1"], "--seeds: must be distinct integers >= 0, got -1"),
    (["--seeds", "0", "0"], "--seeds: must be distinct integers >= 0, got 0 0"),
    (["--batch-size", "4"], "--batch-size: the batch size is what critical-batch searches"),
    (["--seed", "3"], "--seed: use --seeds"),
    (["--workers", "0"], "--workers: must be an integer >= 1, got 0"),
    (["--lr", "-1"], "lr: must be > 0.0, got -1.0"),
    (["--backend", "batched"], "engine: backend 'batched' steps runs with engine = 'batched'"),
    (["--task", "images"], "task: critical-batch searches the synthetic task"),
    (["--curve-seeds", "-1"], "--curve-seeds: must be an integer >= 0, got -1"),
    (["--curve-points", "1"], "--curve-points: must be an integer >= 2, got 1"),
])
def test_bad_input_is_one_line_naming_the_flag(tmp_path, capsys, args, message):
    assert main(["critical-batch", "--store", str(tmp_path / "cb.sqlite"), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("adamlab: error: ") and message in err[-1]
    assert not any("Traceback" in line for line in err)


def test_a_field_help_with_a_percent_sign_shows_it(capsys):
    # argparse %-formats help texts; a task's field help "seed % cycle" must print as it is.
    import critical_task  # noqa: F401  (registers the fake task and its fields)

    with pytest.raises(SystemExit):
        main(["critical-batch", "--help"])
    assert "b_star + seed % cycle" in " ".join(capsys.readouterr().out.split())
