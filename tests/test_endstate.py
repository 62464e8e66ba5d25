"""The end-state driver (adamlab/sweep/endstate.py) on tiny runs: it stops a run where the settling
rule says settled, stops at the cap saying "still moving at the cap", and continues each stage
from the one before; the settling rule's out-of-sample check runs end to end in --quick mode."""
import importlib.util
import json
from pathlib import Path

import pytest

from adamlab import SyntheticConfig, train
from adamlab.sweep import Store
from adamlab.sweep import endstate as E
from adamlab.synthetic.regimes import Settling

ROOT = Path(__file__).resolve().parents[1]
TINY = SyntheticConfig(d=100, n=20, s=10, width=5, n_test=200, sigma0=0.05, lr=3e-3,
                       batch_size=10, epochs=10)


def judge_by_epochs(settled_from: float | None):
    """A settling rule that says settled once a run reaches `settled_from` epochs (None:
    never), so the driver's stopping is tested apart from the rule's thresholds."""
    def fake(store, run):
        ok = settled_from is not None and run["epochs"] >= settled_from
        return Settling(ok, "flat" if ok else "still moving")
    return fake


def test_a_replay_without_compute_reads_every_stage_from_the_store(tmp_path, monkeypatch):
    from adamlab.sweep.runner import MissingRuns
    monkeypatch.setattr(E, "settling_of", judge_by_epochs(20))
    db = tmp_path / "s.sqlite"
    with pytest.raises(MissingRuns, match=r"endstate:T: 1 run not in the store"):
        E.end_states([TINY], db, cap=50, workers=1, compute=False)
    with Store(db) as store:
        assert store.runs() == []
        store.put(train(TINY.replace(log_every=1)))
    # The budget is stored, its first stage (20 epochs) is not: the replay stops there.
    with pytest.raises(MissingRuns, match=r"endstate:20: 1 run not in the store"):
        E.end_states([TINY], db, cap=50, workers=1, compute=False)
    first = E.end_states([TINY], db, cap=50, workers=1)
    again = E.end_states([TINY], db, cap=50, workers=1, compute=False)
    assert [(e.end_run_id, e.end_epochs, e.settled_at) for e in again] == \
        [(e.end_run_id, e.end_epochs, e.settled_at) for e in first] and first[0].end_epochs == 20


@pytest.mark.parametrize("settled_from, end, settled_at, stored", [
    (None, 50, None, {10, 20, 50}),   # never settles: the cap (50 < 10 x 10)
    (20, 20, 20, {10, 20}),           # settles at the first stage: no later run
    (10, 10, 10, {10}),               # settled at the budget: not continued
])
def test_the_driver_stops_where_the_rule_says_or_at_the_cap(tmp_path, monkeypatch, settled_from,
                                                             end, settled_at, stored):
    monkeypatch.setattr(E, "settling_of", judge_by_epochs(settled_from))
    db = tmp_path / "s.sqlite"
    cfgs = [TINY, TINY.replace(optimizer="adamw", weight_decay=0.05)]
    ends = E.end_states(cfgs, db, cap=50, workers=1)
    assert [e.run_id for e in ends] == [c.replace(log_every=1).run_id() for c in cfgs]
    for e in ends:
        assert (e.budget, e.end_epochs, e.settled_at) == (10, end, settled_at)
        if settled_from != 10:
            assert e.regime_at_budget == "still_moving"
        if settled_at is None:
            assert e.outcome == "still moving at the cap (50 epochs)"
            assert e.regime_at_end == "still_moving"
        else:
            assert e.outcome == f"settled at {settled_at} epochs"
            assert e.regime_at_end != "still_moving"
    with Store(db) as store:
        runs = store.runs(full=True)
        assert {r["epochs"] for r in runs} == stored and len(runs) == 2 * len(stored)
        for r in runs:  # every stage after the budget continued the stage before it
            if r["epochs"] > 10:
                assert r["meta"]["continued_from"]["epochs"] == max(
                    e for e in stored if e < r["epochs"])
    text = E.end_state_table(ends)
    assert text.count("\n") == 2 and ends[0].outcome in text


def test_runs_still_moving_at_the_cap_are_listed_not_dropped(tmp_path, monkeypatch):
    monkeypatch.setattr(E, "settling_of", judge_by_epochs(None))
    ends = E.end_states([TINY.replace(seed=s) for s in range(3)], tmp_path / "s.sqlite",
                        stages=(2,), cap=1000, workers=1)
    assert [e.outcome for e in ends] == ["still moving at the cap (20 epochs)"] * 3


def test_stage_epochs_and_the_cap():
    assert E.stage_epochs(10_000) == [20_000, 50_000, 100_000]
    assert E.stage_epochs(2000) == [4000, 10_000, 20_000]
    assert E.stage_epochs(30_000) == [60_000, 100_000]  # 150000 capped at 10^5
    assert E.stage_epochs(10_000, cap=10_000) == []
    assert E.CAP_EPOCHS == 100_000


def test_rates_count_each_kind_over_its_own_calls():
    def check(settled, before, after):
        return E.Check("x", {}, settled, "", before, after)

    checks = [check(True, "learns_feature", "learns_feature"),
              check(True, "memorises_noise", "mixed"),         # false settled
              check(False, "mixed", "learns_feature"),
              check(False, "memorises_noise", "memorises_noise")]  # false moving
    r = E.rates(checks)
    assert (r["false_settled"]["k"], r["false_settled"]["n"]) == (1, 2)
    assert (r["false_moving"]["k"], r["false_moving"]["n"]) == (1, 2)
    assert r["false_settled"]["ci95"] == list(E.clopper_pearson(1, 2))
    line = E.validation_line(r, "cmd")
    assert line.startswith("Checked out of sample (cmd): false settled 1 of 2 (50%")


def test_the_validation_script_runs_end_to_end_in_quick_mode(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location(
        "settling_validation", ROOT / "benchmarks" / "settling_validation.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = tmp_path / "v.json"
    assert mod.main(["--quick", "--store", str(tmp_path / "v.sqlite"), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    data = json.loads(out.read_text())
    assert data["runs"] == 8 and data["budget"] == 40 and data["factor"] == 5
    assert data["judged"] == len(data["checks"]) <= 8
    fs, fm = data["rates"]["false_settled"], data["rates"]["false_moving"]
    assert fs["n"] + fm["n"] == data["judged"]
    assert sum(c["settled_at_budget"] for c in data["checks"]) == fs["n"]
    assert "false settled:" in printed and "false moving:" in printed
    assert data["sentence"] in printed
    with Store(tmp_path / "v.sqlite") as store:  # the 5T runs continued the T runs
        long = [r for r in store.runs(full=True) if r["epochs"] == 200]
        assert len(long) == 8
        assert all(r["meta"]["continued_from"]["epochs"] == 40 for r in long)


def test_the_endstate_command_prints_a_run_per_line(tmp_path, capsys):
    from adamlab.cli import main

    spec = tmp_path / "tiny.toml"
    spec.write_text('name = "tiny"\n[base]\nd = 100\nn = 20\ns = 10\nn_test = 200\nwidth = 5\n'
                    'sigma0 = 0.05\nlr = 3e-3\nbatch_size = 10\nepochs = 10\n'
                    '[grid]\noptimizer = ["adam", "adamw"]\n')
    db = tmp_path / "s.sqlite"
    assert main(["endstate", str(spec), "--store", str(db), "--cap", "20", "--workers", "1",
                 "--json"]) == 0
    ends = json.loads(capsys.readouterr().out)
    assert [e["config"].get("optimizer", "adam") for e in ends] == ["adam", "adamw"]
    for e in ends:
        assert e["budget"] == 10 and e["end_epochs"] in (10, 20)
        assert e["outcome"] in ("settled at 10 epochs", "settled at 20 epochs",
                                "still moving at the cap (20 epochs)")
    assert main(["endstate", str(spec), "--store", str(db), "--stages", "1"]) == 2
    assert main(["endstate", str(spec), "--store", str(db), "--cap", "20", "--workers", "1",
                 "--only", "optimizer=adamw", "--json"]) == 0
    assert [e["config"]["optimizer"] for e in json.loads(capsys.readouterr().out)] == ["adamw"]
    assert main(["endstate", str(spec), "--store", str(db), "--only", "nope=1"]) == 2
