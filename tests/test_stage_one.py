"""Stage I growth of feature and noise (report/items/stage_one.py): the growth rates from made-up
trajectories with known answers, and the ordering rule on both sides of each threshold."""
import math

import pytest

from adamlab.report.items.stage_one import (growth_rows, ordering, stage_one,
                                            stage_one_finding)


class FakeStore:
    """metrics(run_id) rows (step, epoch, split, name, value) from per-run series."""

    def __init__(self, series):
        self.series = series

    def metrics(self, run_id):
        return [(0, e, "x", name, v) for name, points in self.series[run_id].items()
                for e, v in points]


def trajectories(feature_rate, noise_rate, epochs=100):
    """Exponential growth from 0.01 at the given rates per epoch (the smaller class's feature
    grows at feature_rate, the other class faster), logged every 5 epochs."""
    es = range(0, epochs + 1, 5)
    return {"feature_learning_pos": [(e, 0.01 * math.exp(feature_rate * e)) for e in es],
            "feature_learning_neg": [(e, 0.01 * math.exp(2 * feature_rate * e)) for e in es],
            "noise_memorisation_mean": [(e, 0.01 * math.exp(noise_rate * e)) for e in es],
            "step_ratio_noise_feature": [(e, 3.0) for e in es]}


def run(rid, batch_size=100, test=0.5, epochs=100, activation="relu"):
    return {"id": rid, "status": "ok", "final": {"train_error": 0.0, "test_error": test},
            "settling": type("S", (), {"settled": True})(),
            "config": {"epochs": epochs, "optimizer": "adam", "batch_size": batch_size,
                       "activation": activation, "seed": 0}}


def test_stage_one_reads_the_growth_over_the_first_tenth_of_the_epochs():
    store = FakeStore({"a": trajectories(0.1, 0.3)})
    found = stage_one(store, run("a"))
    # the first tenth of 100 epochs ends at the last log within it: epoch 10
    assert found["epoch"] == 10
    dF = 0.01 * (math.exp(0.1 * 10) - 1)  # the smaller class's rise
    dN = 0.01 * (math.exp(0.3 * 10) - 1)
    assert found["feature_growth"] == pytest.approx(dF)
    assert found["noise_growth"] == pytest.approx(dN)
    assert found["lead"] == pytest.approx(dN - dF) and found["step_ratio"] == 3.0
    # a class's feature that turns negative, the signature of a run that memorises, still counts
    flipped = trajectories(0.1, 0.3)
    flipped["feature_learning_pos"] = [(e, 0.01 - 0.001 * e) for e, _ in
                                       flipped["feature_learning_pos"]]
    got = stage_one(FakeStore({"b": flipped}), run("b"))
    assert got["feature_growth"] == pytest.approx(-0.01) and got["lead"] > found["lead"]
    assert stage_one(FakeStore({"c": {}}), run("c")) is None  # no trajectories


@pytest.mark.parametrize("learn, memorise, verdict", [
    ([-0.5, 0.09], [0.11, 2.0], "reproduced"),         # separated, just
    ([-0.5, 0.12], [0.11, 2.0], "partly reproduced"),  # overlapping, medians ordered
    ([1.5, 2.5], [0.5, 1.0], "not reproduced"),        # reversed
    ([0.5, 0.9], [], "not measured")])                 # one side only
def test_ordering_either_side_of_each_threshold(learn, memorise, verdict):
    pairs = [(r, "learns_feature") for r in learn] + [(r, "memorises_noise") for r in memorise]
    got, text = ordering(pairs + [(None, "memorises_noise"), (0.1, "mixed")])
    assert got == verdict, text


def test_the_finding_reads_the_large_batch_runs_of_each_activation():
    rates = {"r3": (0.05, 0.2), "relu": (0.2, 0.1), "r3-mini": (0.3, 0.1)}
    store = FakeStore({k: trajectories(*v) for k, v in rates.items()})
    runs = [run("r3", test=0.5, activation="relu-power"), run("relu", test=0.0),
            run("r3-mini", batch_size=2, test=0.0, activation="relu-power")]
    rows = growth_rows(store, runs, lambda c: c["activation"])
    assert [(r["setting"], r["batch size"]) for r in rows] == [
        ("relu-power", 100), ("relu", 100), ("relu-power", 2)]
    lead = 0.01 * (math.exp(0.2 * 10) - math.exp(0.05 * 10))
    assert rows[0]["noise lead (dN - dF)"] == pytest.approx(lead)
    assert rows[1]["noise lead (dN - dF)"] < 0 and rows[1]["regimes"] == "1 learns_feature"
    f = stage_one_finding(rows, 100)
    assert f.claim_id == "limits.activations.stage-one" and f.verdict == "reproduced"
    assert f.decided == 2 and "separated" in f.observed


def test_at_the_end_state_the_same_growth_meets_the_end_regimes():
    store = FakeStore({"r3": trajectories(0.05, 0.2), "relu": trajectories(0.2, 0.1)})
    runs = [run("r3", test=0.5, activation="relu-power"), run("relu", test=0.0)]
    # at the end state the ReLU^3 run learned after all: both learn, the rule has one side only
    ends = {"r3": run("r3-end", test=0.0), "relu": run("relu-end", test=0.0)}
    rows = growth_rows(store, runs, lambda c: c["activation"], ends)
    assert [r["regimes"] for r in rows] == ["1 learns_feature"] * 2
    assert rows[0]["noise lead (dN - dF)"] > 0  # Stage I is the budget run's
    assert stage_one_finding(rows, 100).verdict == "not measured"
