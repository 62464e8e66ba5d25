"""The "still moving" rule (report/regimes.py `settling`) on made-up trajectories of each kind, and
how a still-moving run or cell enters (or stays out of) verdicts and their statistics."""
import math

import numpy as np
import pytest

from adamlab.core import verdicts as V
from adamlab.report import regimes as R
from adamlab.synthetic import regimes as S
from adamlab.core.stats import summarise

EPOCHS = 1000
LOGGED = sorted({0, 1, 2, 4, 8} | set(range(10, EPOCHS + 1, 10)))  # config.log_epochs() shape


def traj(fl_pos, fl_neg=None, nm_min=None, nm_max=None, train_error=None, train_loss=None,
         test_error=None):
    """Trajectories from functions of the epoch (or constants), logged at LOGGED."""
    def series(f, default):
        f = default if f is None else f
        return [(e, float(f(e)) if callable(f) else float(f)) for e in LOGGED]

    return {"feature_learning_pos": series(fl_pos, 0.0),
            "feature_learning_neg": series(fl_neg, fl_pos),
            "noise_memorisation_min": series(nm_min, 0.0),
            "noise_memorisation_max": series(nm_max, nm_min if nm_min is not None else 0.0),
            "train_error": series(train_error, 0.0),
            "train_loss": series(train_loss, lambda e: math.exp(-e / 100)),
            "test_error": series(test_error, 0.0)}


def saturating(top, rate):
    return lambda e: top * (1 - math.exp(-e / rate))


def linear(top):
    return lambda e: top * e / EPOCHS


def test_settled_learner_is_flat():
    s = S.settling(traj(saturating(2.0, 50), nm_max=0.01))
    # flat, and its train loss still falls (the default exp(-e/100)): the label says so
    assert s.settled and s.how == "fitted, margin growing"
    assert s.scale == pytest.approx(2.0, rel=1e-6) and s.window == (900.0, 1000.0)
    assert max(s.moved.values()) < 1e-6


def test_settled_memoriser_is_flat():
    s = S.settling(traj(saturating(-0.2, 100), nm_min=saturating(1.3, 100),
                        nm_max=saturating(2.0, 100), train_loss=1e-4))
    assert s.settled and s.how == "flat"


def test_still_rising_memoriser_is_still_moving():
    # Noise memorisation still rising linearly: it moves a tenth of its scale over the last tenth,
    # as the table's large batch does at 2000 epochs (7.7-12.5% in real runs).
    s = S.settling(traj(linear(-0.1), nm_min=linear(1.0), nm_max=linear(1.5)))
    assert not s.settled and s.how == "still moving"
    assert s.moved["noise_memorisation_max"] == pytest.approx(0.1, rel=1e-6)
    assert "noise memorisation max moved 10.0%" in s.describe()


def test_stuck_run_is_flat_at_zero():
    # Adam with lambda = 0.05: every quantity below 1e-5 and the train error at chance, jumping.
    rng = np.random.default_rng(0)
    jitter = {e: v for e, v in zip(LOGGED, rng.normal(0, 1e-6, len(LOGGED)))}
    s = S.settling(traj(lambda e: jitter[e], nm_max=lambda e: 2 * abs(jitter[e]),
                        train_error=lambda e: 0.5 + jitter[e] * 1e5, train_loss=math.log(2)))
    assert s.settled and s.how == "flat" and s.scale == S.SETTLE_FLOOR
    # Its test error is sign noise at initialisation: jumping by 0.6 does not make it move...
    jumping = traj(lambda e: jitter[e], nm_max=lambda e: 2 * abs(jitter[e]),
                   train_error=0.5, train_loss=math.log(2),
                   test_error=lambda e: 0.3 + 0.6 * ((e // 10) % 2))
    assert S.settling(jumping).settled
    # ...but the same jump once a quantity is above the floor does.
    grown = traj(1.0, nm_max=1.0, train_loss=1e-3,
                 test_error=lambda e: 0.3 + 0.6 * ((e // 10) % 2))
    assert not S.settling(grown).settled


def test_flat_at_zero_quantities_do_not_count_as_moving():
    # Features at their initial scale (~0.02) wandering by 0.003: under 4% of the 0.1 floor.
    s = S.settling(traj(lambda e: 0.02 + 0.003 * (e >= 950), nm_max=0.0, train_loss=0.5))
    assert s.settled and s.moved["feature_learning_pos"] == pytest.approx(0.03)
    # ...but the same wander is movement once it is 5% of the floor.
    assert not S.settling(traj(lambda e: 0.02 + 0.005 * (e >= 950), nm_max=0.0,
                               train_loss=0.5)).settled


def test_a_growing_feature_is_still_moving_even_when_the_fit_is_secure():
    # Train error 0, noise flat, the train loss falling, but a feature still growing (Adam B = 2
    # at 2000 epochs: 21%; Adam B = 100 seed 0 at 10^4, whose feature went on from 0.86 to 4.2
    # and took the test error from 0.487 to 0.195 by 5x10^4): not settled.
    grow = dict(fl_pos=lambda e: 1.0 + e / EPOCHS, nm_max=1e-3,
                train_loss=lambda e: math.exp(-(1.0 + e / EPOCHS) ** 3))
    s = S.settling(traj(**grow))
    assert not s.settled and s.how == "still moving"
    assert s.moved["feature_learning_pos"] > S.SETTLE_FRACTION
    assert "feature learning pos moved" in s.describe()
    # the other class's feature counts the same
    neg = dict(fl_pos=1.0, fl_neg=lambda e: -0.5 - e / EPOCHS, nm_max=1e-3,
               train_loss=lambda e: math.exp(-e / 100))
    assert not S.settling(traj(**neg)).settled


def test_fitted_margin_growing_is_a_label_of_a_flat_run():
    # Everything flat, train error 0 and the train loss still falling by 1% or more.
    flat = dict(fl_pos=2.0, nm_max=1e-3, train_loss=lambda e: math.exp(-e / 100))
    s = S.settling(traj(**flat))
    assert s.settled and s.how == "fitted, margin growing"
    # One training error in the window, or a loss no longer falling: still settled, just "flat".
    one_error = S.settling(traj(**{**flat, "train_error": lambda e: 0.005 * (e == 950)}))
    assert one_error.settled and one_error.how == "flat"
    still = S.settling(traj(**{**flat, "train_loss": 1e-3}))
    assert still.settled and still.how == "flat"
    # Noise memorisation still moving: not settled, whatever the margin does.
    assert not S.settling(traj(**{**flat, "nm_max": linear(2.0)})).settled


@pytest.mark.parametrize("quantity", ["fl_pos", "fl_neg", "nm_min", "nm_max"])
def test_each_feature_and_noise_threshold_either_side(quantity):
    # The scale is 2.0 (fl_pos and nm_max both 2.0, so another quantity keeps it when one
    # steps); a step down at the last log of 3.9% or 4.1% of it.
    def step(size):
        values = dict(fl_pos=2.0, fl_neg=-1.0, nm_min=0.5, nm_max=2.0)
        base = values[quantity]
        values[quantity] = lambda e: base - size * (e == EPOCHS)
        return traj(**values, train_loss=1e-3)

    assert S.settling(step(0.078)).settled
    assert not S.settling(step(0.082)).settled


def test_test_error_threshold_either_side():
    # Features and noise flat; the test error alone drifting (the slow take-over of a feature
    # that shows first in the test error).
    def drift(size):
        return traj(2.0, nm_max=1.0, train_loss=1e-3,
                    test_error=lambda e: 0.4 - size * (e - 900) / 100 * (e >= 900))

    below, above = S.settling(drift(0.0099)), S.settling(drift(0.0101))
    assert below.settled and below.moved["test_error"] == pytest.approx(0.0099)
    assert not above.settled and "test error moved 0.010" in above.describe()
    assert S.SETTLE_TEST_ERROR == 0.01


def test_threshold_is_the_stated_fraction_of_the_scale():
    def step_at_end(size):  # the scale is noise memorisation's 2.0
        return traj(lambda e: 1.0 + size * (e == EPOCHS), nm_max=2.0, train_loss=1e-3)

    assert S.settling(step_at_end(0.078)).settled  # 3.9% of 2.0
    assert not S.settling(step_at_end(0.082)).settled  # 4.1%
    # The window starts at the last log at or before 90% of the epochs: a move just before
    # epoch 900 is outside it, one between 900 and 1000 inside.
    early = traj(lambda e: 1.0 + 0.5 * (e >= 890), nm_max=1.0, train_loss=1e-3)
    late = traj(lambda e: 1.0 + 0.5 * (e >= 910), nm_max=1.0, train_loss=1e-3)
    assert S.settling(early).settled and not S.settling(late).settled


def test_missing_or_broken_trajectories():
    # No trajectories: nothing was checked, so the run is not settled (it used to count as
    # settled); the same when one required trajectory (here the test error) is missing.
    assert S.settling({}).how == "no trajectories" and not S.settling({}).settled
    partial = traj(1.0)
    del partial["test_error"]
    assert S.settling(partial).how == "no trajectories" and not S.settling(partial).settled
    assert S.settling(traj(1.0, nm_max=1.0, train_loss=1e-3)).settled  # the same, complete
    bad = traj(lambda e: math.nan if e == EPOCHS else 1.0)
    assert not S.settling(bad).settled


def _run(train, test, settled=True, status="ok"):
    run = {"status": status, "final": {"train_error": train, "test_error": test}}
    if settled is not None:
        run["settling"] = S.Settling(settled, "flat" if settled else "still moving")
    return run


def test_observed_regime_and_cells_with_still_moving_runs():
    assert S.observed_regime(_run(0.0, 0.6, settled=False)) == "still_moving"
    # no settling attached (not a synthetic run): read from its errors
    assert S.observed_regime(_run(0.0, 0.6, settled=None)) == "memorises_noise"
    no_traj = {**_run(0.0, 0.6, settled=None), "settling": S.settling({})}
    assert S.observed_regime(no_traj) == "still_moving"
    assert S.observed_regime(_run(None, None, False, "diverged")) == "diverged"
    learn, mem, moving = _run(0.0, 0.0), _run(0.0, 0.6), _run(0.0, 0.6, settled=False)
    assert R.cell_regime([learn, learn, moving]) == "learns_feature"
    assert R.cell_regime([learn, moving, moving]) == "still_moving"
    assert R.cell_regime([learn, moving]) == "still_moving"  # no settled majority
    assert R.cell_regime([learn, mem, moving]) == "mixed"
    assert R.one_seed_majority([learn, learn, mem]) and not R.one_seed_majority([learn] * 3)
    judged, still = R.split_moving([learn, moving, _run(None, None, None, "failed")])
    assert len(judged) == 2 and still == [moving]  # a failed run is judged (as not agreeing)
    assert R.settled_share([learn, moving, _run(None, None, None, "failed")]) == (1, 2)


def test_verdicts_count_still_moving_apart():
    assert V.verdict(0, 0, moving=3) == "still moving"
    assert V.verdict(0, 0) == "not measured"
    assert V.verdict(4, 5, moving=2) == "partly reproduced"
    f = V.Finding("claim.", "obs.", "partly reproduced", still_moving=1)
    assert f.line().endswith("(1 run still moving, counted neither for nor against.)")
    assert "3 decided cells still moving" in V.Finding("c", "o", "reproduced", 3,
                                                       "decided cells").line()


def test_agreement_text_says_what_one_seed_could_flip():
    assert V.agrees(4, 5) == ("4 of 5 seeds as claimed (Clopper-Pearson 95% CI 28%–99%); one "
                              "seed short of 'reproduced'")
    assert V.agrees(5, 5) == "5 of 5 seeds as claimed (Clopper-Pearson 95% CI 48%–100%)"
    assert "one seed from 'not reproduced'" in V.agrees(1, 3)
    assert "one run only" in V.agrees(1, 1, "runs")
    assert V.agrees(0, 0) == "no settled seeds"


def test_mean_interval_and_threshold_straddle():
    s = summarise([0.487, 0.482, 0.961, 0.964, 0.0001])
    # Five seeds: no 95% interval is claimed, the range is shown.
    assert V.mean_ci(s) == "0.579 (range 0.0001–0.964, n=5)"
    assert V.straddles(s, S.MEMORISES_TEST_ERROR) == (
        "; range straddles the 0.3 threshold: one seed could move the mean across it")
    assert V.straddles(summarise([0.7, 0.75, 0.8]), S.MEMORISES_TEST_ERROR) == ""
    # Ten seeds: the bootstrap interval, called a 95% CI.
    ten = summarise([0.25, 0.3, 0.32, 0.28, 0.35, 0.31, 0.27, 0.33, 0.29, 0.3])
    lo, hi = ten.ci95
    assert V.mean_ci(ten) == f"0.3 (95% CI {lo:.3g}–{hi:.3g}, n=10)"
    assert lo < S.MEMORISES_TEST_ERROR < hi
    assert "; the test error 95% interval straddles the 0.3 threshold" in V.straddles(
        ten, S.MEMORISES_TEST_ERROR, "the test error")
    assert V.straddles(ten, 0.25) == ""  # below the interval, though a seed sits at 0.25
    assert V.mean_ci(summarise([0.5])) == "0.5 (n=1, no interval)"
    assert V.mean_ci(summarise([])) == "n/a (no settled seed)"


def test_how_to_read_states_the_thresholds():
    text = R.how_to_read()
    for number in (f"{S.SETTLE_WINDOW:.0%}", f"{S.SETTLE_FRACTION:.0%}", f"{S.SETTLE_FLOOR:g}",
                   f"test error moved by less than {S.SETTLE_TEST_ERROR:g}"):
        assert number in text
    assert "still moving" in text and "Clopper-Pearson" in text and "Wilson" not in text
    assert "range (min–max) below 10 seeds" in text
    assert "feature is still growing is not settled" in text
    assert "without these trajectories" in text
    assert R.how_to_read("Measured: x.").endswith(" Measured: x.")
