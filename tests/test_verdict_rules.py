"""Every threshold of the verdict layer on made-up inputs just either side of it (and exactly at
it, matching the documented < or <=): the per-run regime and settling rules
(adamlab/synthetic/regimes.py), a cell's regime (adamlab/report/regimes.py), the verdict words
(adamlab/core/verdicts.py) and the judging functions of the table, betas, large weight decay
and phase report items."""
import math

import pytest

from adamlab.core import verdicts as V
from adamlab.core.verdicts import FIT_TRAIN_ERROR
from adamlab.report import regimes as R
from adamlab.report.items import betas, phase, table, weight_decay
from adamlab.synthetic import regimes as S
from adamlab.synthetic.regimes import (LEARNS_TEST_ERROR, MARGIN_GROWTH, MEMORISES_TEST_ERROR,
                                       SETTLE_FLOOR, SETTLE_FRACTION, STUCK_TRAIN_ERROR)

EPS = 1e-9


def run(train, test, settled=True, status="ok", optimizer="adam", batch_size=100, seed=0):
    """A stored run as the report items read it (report/context.py attaches `settling`)."""
    r = {"status": status, "final": {"train_error": train, "test_error": test},
         "config": {"optimizer": optimizer, "batch_size": batch_size, "seed": seed,
                    "weight_decay": 0.01}}
    if settled is not None:
        r["settling"] = S.Settling(settled, "flat" if settled else "still moving")
    return r


# ---- observed_regime ----------------------------------------------------------------------
@pytest.mark.parametrize("train,want", [
    (STUCK_TRAIN_ERROR + EPS, "stuck_at_init"),   # train error above 0.25: stuck
    (STUCK_TRAIN_ERROR, "learns_feature"),        # at 0.25: not stuck (strict >)
    (STUCK_TRAIN_ERROR - EPS, "learns_feature")])
def test_stuck_train_error_is_strict(train, want):
    assert S.observed_regime(run(train, 0.0)) == want


@pytest.mark.parametrize("test,want", [
    (LEARNS_TEST_ERROR - EPS, "learns_feature"),  # test error below 0.1: learns the feature
    (LEARNS_TEST_ERROR, "mixed"),                 # at 0.1: not (strict <), below 0.3: mixed
    (LEARNS_TEST_ERROR + EPS, "mixed")])
def test_learns_test_error_is_strict(test, want):
    assert S.observed_regime(run(0.0, test)) == want


@pytest.mark.parametrize("test,want", [
    (MEMORISES_TEST_ERROR - EPS, "mixed"),
    (MEMORISES_TEST_ERROR, "memorises_noise"),    # at 0.3: memorises (>=)
    (MEMORISES_TEST_ERROR + EPS, "memorises_noise")])
def test_memorises_test_error_is_inclusive(test, want):
    assert S.observed_regime(run(0.0, test)) == want


@pytest.mark.parametrize("train,want", [
    (FIT_TRAIN_ERROR - EPS, "memorises_noise"),
    (FIT_TRAIN_ERROR, "memorises_noise"),         # at 0.05: fits the training set (<=)
    (FIT_TRAIN_ERROR + EPS, "mixed")])
def test_fit_train_error_is_inclusive(train, want):
    assert S.observed_regime(run(train, 0.6)) == want


def test_learning_is_read_before_fitting_and_stuck_before_learning():
    # A learner need not fit: train error 0.2 (above FIT, below STUCK) with test error 0.05.
    assert S.observed_regime(run(0.2, 0.05)) == "learns_feature"
    assert S.observed_regime(run(0.3, 0.05)) == "stuck_at_init"
    assert S.observed_regime(run(0.0, 0.6, status="diverged")) == "diverged"
    assert S.observed_regime(run(0.0, None)) == "diverged"  # no final error: not a regime
    assert S.observed_regime(run(0.0, 0.6, settled=False)) == "still_moving"


# ---- settling -----------------------------------------------------------------------------
EPOCHS = 1000
LOGGED = list(range(0, EPOCHS + 1, 10))


def trajectories(feature, noise=2.0, train_error=0.0, train_loss=1e-3, test_error=0.5):
    """Logged every 10 epochs; each argument a constant or a function of the epoch."""
    def series(f):
        return [(e, float(f(e)) if callable(f) else float(f)) for e in LOGGED]

    return {"feature_learning_pos": series(feature), "feature_learning_neg": series(feature),
            "noise_memorisation_min": series(noise), "noise_memorisation_max": series(noise),
            "train_error": series(train_error), "train_loss": series(train_loss),
            "test_error": series(test_error)}


def step(size, at=950, base=0.0):
    return lambda e: base + size * (e >= at)


@pytest.mark.parametrize("fraction,settled", [
    (SETTLE_FRACTION - EPS, True), (SETTLE_FRACTION, False), (SETTLE_FRACTION + EPS, False)])
def test_settle_fraction_is_strict(fraction, settled):
    # The scale is noise memorisation's 2.0; the feature steps by fraction x 2.0 inside the
    # window (the loss flat, so the "margin growing" route is closed).
    s = S.settling(trajectories(step(fraction * 2.0)))
    assert s.scale == 2.0 and s.moved["feature_learning_pos"] == pytest.approx(fraction, abs=1e-15)
    assert s.settled is settled and s.how == ("flat" if settled else "still moving")


@pytest.mark.parametrize("noise,scale", [
    (SETTLE_FLOOR - EPS, SETTLE_FLOOR), (SETTLE_FLOOR, SETTLE_FLOOR),
    (SETTLE_FLOOR + EPS, SETTLE_FLOOR + EPS), (0.0, SETTLE_FLOOR)])
def test_settle_floor_is_the_least_scale(noise, scale):
    assert S.settling(trajectories(0.0, noise=noise)).scale == scale


def test_settle_floor_decides_what_a_small_move_means():
    # A move of 0.0039 is 3.9% of the floor (settled) and 0.0041 is 4.1% (moving) while every
    # quantity ends below the floor; with noise memorisation at 0.2 the scale doubles.
    assert S.settling(trajectories(step(0.0039), noise=0.05)).settled
    assert not S.settling(trajectories(step(0.0041), noise=0.05)).settled
    assert S.settling(trajectories(step(0.0079), noise=0.2)).settled
    assert not S.settling(trajectories(step(0.0081), noise=0.2)).settled


@pytest.mark.parametrize("end,margin", [
    ((1 - MARGIN_GROWTH) - EPS, True), ((1 - MARGIN_GROWTH), True),
    ((1 - MARGIN_GROWTH) + EPS, False)])
def test_margin_growth_only_labels_a_settled_run(end, margin):
    # Fitted (train error 0), every quantity flat: settled either way; "fitted, margin growing"
    # when the train loss fell by at least 1% over the window (from 1.0 at epoch 900).
    loss = lambda e: 1.0 if e <= 900 else (1.0 + end) / 2 if e < EPOCHS else end  # noqa: E731
    s = S.settling(trajectories(1.0, train_loss=loss))
    assert s.settled
    assert s.how == ("fitted, margin growing" if margin else "flat")


def test_a_growing_feature_is_still_moving_whatever_the_margin():
    # The old rule's "fitted, margin growing" route settled this run (noise flat, train error 0,
    # loss falling 50%) while its feature grew 6.7% of the scale: now it is still moving.
    loss = lambda e: 1.0 if e <= 900 else 0.5  # noqa: E731
    growing = lambda e: 1.0 + 2.0 * e / EPOCHS  # noqa: E731
    s = S.settling(trajectories(growing, train_loss=loss))
    assert s.moved["feature_learning_pos"] > SETTLE_FRACTION and not s.settled
    # Flat and falling loss, but a train error above 0 inside the window: settled, not "fitted".
    s = S.settling(trajectories(1.0, train_loss=loss, train_error=lambda e: 0.005 * (e == 990)))
    assert s.settled and s.how == "flat"


# ---- a cell's regime ----------------------------------------------------------------------
LEARN, MEM, MOVING = run(0.0, 0.0), run(0.0, 0.6), run(0.0, 0.6, settled=False)


@pytest.mark.parametrize("cell,want", [
    ([LEARN] * 3 + [MOVING] * 2, "learns_feature"),   # 3 of 5 settled: a strict majority
    ([LEARN] * 2 + [MOVING] * 2, "still_moving"),     # 2 of 4: not a strict majority
    ([LEARN] * 2 + [MOVING] * 3, "still_moving"),
    ([LEARN] * 2 + [MEM] * 2, "mixed"),               # half and half: no majority regime
    ([LEARN] * 3 + [MEM] * 2, "learns_feature"),      # 3 of 5 settled seeds
    ([LEARN] * 2 + [MEM] * 2 + [MOVING], "mixed"),
    ([LEARN, LEARN, MEM, MOVING], "learns_feature"),  # 2 of 3 settled seeds
    ([], "still_moving")])
def test_cell_regime_needs_strict_majorities(cell, want):
    assert R.cell_regime(cell) == want


@pytest.mark.parametrize("cell,fragile", [
    ([LEARN, LEARN, MEM], True),              # one flip: 1 vs 2
    ([LEARN] * 3 + [MEM], True),              # one flip: 2 vs 2, no majority
    ([LEARN] * 3 + [MEM] * 2, True),          # one flip: 2 vs 3
    ([LEARN] * 4 + [MEM], False),             # one flip: 3 vs 2, still a majority
    ([LEARN] * 3, False),                     # one flip: 2 vs 1
    ([LEARN] * 2 + [MEM] * 2, False),         # no majority to lose
    ([LEARN, MOVING, MOVING], False)])        # still moving: no majority to lose
def test_one_seed_majority_either_side(cell, fragile):
    assert R.one_seed_majority(cell) is fragile


# ---- verdict words ------------------------------------------------------------------------
@pytest.mark.parametrize("k,n,moving,want", [
    (5, 5, 0, "reproduced"), (4, 5, 0, "partly reproduced"), (1, 5, 0, "partly reproduced"),
    (0, 5, 0, "not reproduced"), (5, 5, 3, "reproduced"), (0, 0, 1, "still moving"),
    (0, 0, 0, "not measured")])
def test_verdict(k, n, moving, want):
    assert V.verdict(k, n, moving) == want


@pytest.mark.parametrize("parts,want", [
    ([(3, 3, 0), (2, 2, 0)], "reproduced"),
    ([(3, 3, 0), (1, 2, 0)], "partly reproduced"),
    ([(3, 3, 0), (0, 2, 0)], "partly reproduced"),
    ([(0, 3, 0), (0, 2, 0)], "not reproduced"),
    ([(0, 3, 0), (0, 0, 2)], "not reproduced"),
    ([(3, 3, 0), (0, 0, 2)], "still moving"),
    ([(3, 3, 0), (0, 0, 0)], "not measured"),
    ([(0, 0, 1), (0, 0, 2)], "still moving"),
    ([], "not measured")])
def test_verdict_of_parts(parts, want):
    assert V.verdict_of_parts(parts) == want


def test_shares_text_of_a_bimodal_cell():
    regimes = ["memorises_noise"] * 3 + ["learns_feature"] * 2
    text = V.shares(regimes, [0.48, 0.96, 0.49, 0.0, 0.0], S.REGIME_WORDS, "test error")
    assert text == ("memorises noise 3/5 [15%, 95%] (test error range 0.48–0.96), learns the "
                    "feature 2/5 [5%, 85%] (test error 0)")
    assert V.shares([]) == "no seeds"


# ---- report items -------------------------------------------------------------------------
def large(tests, trains=None, moving=0):
    trains = trains or [0.0] * len(tests)
    return [run(tr, te, seed=i) for i, (tr, te) in enumerate(zip(trains, tests))] + \
        [run(0.0, 0.6, settled=False, seed=100 + i) for i in range(moving)]


@pytest.mark.parametrize("tests,want", [
    ([MEMORISES_TEST_ERROR] * 5, "reproduced"),
    ([MEMORISES_TEST_ERROR] * 4 + [MEMORISES_TEST_ERROR - EPS], "partly reproduced"),
    ([MEMORISES_TEST_ERROR - EPS] * 5, "not reproduced")])
def test_table_large_batch_claim_either_side_of_memorising(tests, want):
    f = table.judge_table("adam", True, large(tests))
    assert f.verdict == want and f.still_moving == 0
    assert f.claim.startswith("Adam with large batch (B = 100)")
    k = sum(t >= MEMORISES_TEST_ERROR for t in tests)
    assert f"{k} of 5 seeds as claimed" in f.observed
    if 0 < k < 5:  # the cell reads as shares of its regimes
        assert f"memorises noise {k}/5" in f.observed and f"mixed {5 - k}/5" in f.observed


@pytest.mark.parametrize("test,want", [(LEARNS_TEST_ERROR - EPS, "reproduced"),
                                       (LEARNS_TEST_ERROR, "not reproduced")])
def test_table_mini_batch_claim_either_side_of_learning(test, want):
    runs = [run(0.0, test, optimizer="adamw", batch_size=2, seed=s) for s in range(3)]
    f = table.judge_table("adamw", False, runs)
    assert f.verdict == want and f.claim.startswith("AdamW with mini batch (B = 2)")


def test_table_counts_still_moving_runs_apart():
    f = table.judge_table("adam", True, large([0.6, 0.6], moving=3))
    assert f.verdict == "reproduced" and f.still_moving == 3
    assert "2 of 2 seeds as claimed" in f.observed
    nothing = table.judge_table("adam", True, large([], moving=2))
    assert nothing.verdict == "still moving" and "no settled seeds" in nothing.observed
    # A diverged run is judged, as not agreeing.
    f = table.judge_table("adam", True, large([0.6, 0.6]) + [run(None, None, status="diverged")])
    assert f.verdict == "partly reproduced" and "2 of 3 seeds" in f.observed


@pytest.mark.parametrize("large_tests,mini_tests,holds", [
    ([0.0, 2 * MEMORISES_TEST_ERROR], [0.0, 0.0], True),    # a bimodal large cell, mean 0.3
    ([0.6, 0.6], [0.0, 2 * LEARNS_TEST_ERROR - 4 * EPS], True),   # mini mean 0.1 - 2e-9
    ([0.0, 2 * MEMORISES_TEST_ERROR - 4 * EPS], [0.0, 0.0], False),
    ([0.6, 0.6], [0.0, 2 * LEARNS_TEST_ERROR], False)])      # mini mean exactly 0.1
def test_betas_gap_either_side_of_the_thresholds(large_tests, mini_tests, holds):
    big = [run(0.0, t, seed=i) for i, t in enumerate(large_tests)]
    mini = [run(0.0, t, batch_size=2, seed=i) for i, t in enumerate(mini_tests)]
    still, ok, te_large, te_mini = betas.judge_combination(big, mini)
    assert not still and ok is holds
    assert te_large.n == 2 and te_mini.n == 2


def test_betas_combination_still_moving_when_either_cell_is():
    mini = [run(0.0, 0.0, batch_size=2, seed=i) for i in range(3)]
    big = [run(0.0, 0.6, seed=0)] + [run(0.0, 0.6, settled=False, seed=i) for i in (1, 2)]
    still, ok, _, _ = betas.judge_combination(big, mini)
    assert still and not ok
    still, ok, _, _ = betas.judge_combination(big[:2] + [run(0.0, 0.6, seed=2)], mini)
    assert not still and ok  # 2 of 3 large-batch seeds settled: judged


@pytest.mark.parametrize("train,want", [(STUCK_TRAIN_ERROR + EPS, "reproduced"),
                                        (STUCK_TRAIN_ERROR, "not reproduced")])
def test_adam_large_weight_decay_is_stuck_either_side(train, want):
    runs = [run(train, 0.5, seed=s) for s in range(3)]
    f = weight_decay.judge_large_wd(runs, "stuck_at_init", "Adam is stuck.")
    assert f.verdict == want and f.claim == "Adam is stuck."
    assert "train error" in f.observed and "range" in f.observed  # 3 seeds: a range, no CI


@pytest.mark.parametrize("tests,want", [([LEARNS_TEST_ERROR - EPS] * 3, "reproduced"),
                                        ([LEARNS_TEST_ERROR - EPS] * 2 + [LEARNS_TEST_ERROR],
                                         "partly reproduced")])
def test_adamw_large_weight_decay_still_learns_either_side(tests, want):
    runs = [run(0.0, t, optimizer="adamw", batch_size=2, seed=s) for s, t in enumerate(tests)]
    f = weight_decay.judge_large_wd(runs, "learns_feature", "AdamW learns.")
    assert f.verdict == want
    moving = weight_decay.judge_large_wd([run(0.0, 0.0, settled=False)], "learns_feature", "c")
    assert moving.verdict == "still moving" and moving.still_moving == 1


@pytest.mark.parametrize("agree,judged,moving,want", [
    (3, 4, 0, "reproduced"),            # 75%: at the bar (>=)
    (74, 100, 0, "partly reproduced"),  # just below it
    (76, 100, 0, "reproduced"),
    (1, 4, 0, "partly reproduced"),
    (0, 4, 2, "not reproduced"),
    (0, 0, 2, "still moving"),
    (0, 0, 0, "not measured")])
def test_phase_verdict_either_side_of_the_bar(agree, judged, moving, want):
    assert phase.AGREEMENT_BAR == 0.75
    assert phase.phase_verdict(agree, judged, moving) == want


@pytest.mark.parametrize("predicted,observed,counted,still", [
    ("learns_feature", "learns_feature", True, False),
    ("memorises_noise", "learns_feature", True, False),
    ("stuck_at_init", "mixed", True, False),       # decided and settled: counted, disagreeing
    ("learns_feature", "still_moving", False, True),
    ("borderline", "learns_feature", False, False),
    ("outside", "still_moving", False, False),
    ("learns_feature", "no runs", False, False)])
def test_phase_cell_counting(predicted, observed, counted, still):
    assert phase.judge_cell(predicted, observed) == (counted, still)


@pytest.mark.parametrize("top_adam,top_adamw,want", [
    (1e-3, 1e-3 * phase.WD_RANGE_FACTOR, "reproduced"),       # exactly ten times: enough
    (1e-3, math.nextafter(1e-3 * phase.WD_RANGE_FACTOR, 0), "not reproduced"),
    (0.5, 1.0, "not reproduced")])
def test_weight_decay_range_either_side_of_a_decade(top_adam, top_adamw, want):
    # Both brackets closed (a failing λ above each top): the decade decides.
    adam, adamw = phase.Bracket(top_adam, 2 * top_adam), phase.Bracket(top_adamw, 2 * top_adamw)
    assert phase.weight_decay_range_verdict(adam, adamw) == want
