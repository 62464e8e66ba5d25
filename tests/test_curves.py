"""core/curves.py on made-up data whose answers are known: the logistic curve's midpoint and
slope, separable outcomes as a bracket, censored points in the power-law fit, and B* = c n."""
import math

import numpy as np
import pytest
from scipy import stats

from adamlab.core.curves import (censored_power_law, compare_scaling, fixed_fraction,
                                 log_norm_sf, logistic_curve, separation)
from adamlab.core.stats import power_law_fit

B_GRID = sorted({int(round(b)) for b in np.geomspace(4, 400, 16)})


def _outcomes(b_star, slope, seeds, rng, grid=B_GRID):
    """Per seed and B: learns with probability 1 / (1 + exp(slope * (log B - log b_star)))."""
    return [(s, b, bool(rng.random() < 1 / (1 + math.exp(slope * (math.log(b)
                                                                   - math.log(b_star))))))
            for s in range(seeds) for b in grid]


def test_the_logistic_fit_recovers_a_known_midpoint_and_slope():
    curve = logistic_curve(_outcomes(40.0, 4.0, 80, np.random.default_rng(0)))
    assert not curve.censored and curve.bracket is None
    assert curve.b_star == pytest.approx(40.0, rel=0.08)
    assert curve.slope == pytest.approx(-4.0, rel=0.15)
    lo, hi = curve.interval
    assert lo < 40.0 < hi and hi / lo < 1.3
    # Width: P = 3/4 and 1/4 lie log(3)/|slope| either side of B* on a log scale.
    w75, w25 = curve.width
    assert w75 < curve.b_star < w25
    assert math.log(w25 / w75) == pytest.approx(2 * math.log(3) / abs(curve.slope))
    assert sum(m for _, _, m in curve.counts) == 80 * len(B_GRID)
    # A sharper transition has a narrower width; fewer seeds a wider interval.
    sharp = logistic_curve(_outcomes(40.0, 12.0, 80, np.random.default_rng(1)))
    assert sharp.width[1] / sharp.width[0] < w25 / w75
    few = logistic_curve(_outcomes(40.0, 4.0, 8, np.random.default_rng(2)))
    assert few.interval[1] / few.interval[0] > hi / lo


def test_the_bootstrap_is_seeded_and_resamples_seeds():
    data = _outcomes(20.0, 3.0, 10, np.random.default_rng(3))
    a, b = logistic_curve(data), logistic_curve(data)
    assert a.interval == b.interval and a.resamples == 2000 and a.seeds == 10
    assert logistic_curve(data, seed=1).interval != a.interval
    assert logistic_curve(data[:len(B_GRID)]).interval is None  # one seed: no interval


def test_separable_outcomes_give_the_bracket_not_a_point():
    # Every seed learns up to 10 and memorises from 13 on: the MLE slope diverges.
    data = [(s, b, b <= 10) for s in range(3) for b in (2, 5, 10, 13, 20, 50)]
    curve = logistic_curve(data)
    assert curve.censored and curve.b_star is None and curve.slope is None
    assert curve.bracket == (10, 13) and curve.interval is None
    assert curve.to_json()["bracket"] == [10, 13]
    # One batch size with both outcomes between them is still separable (quasi-separation):
    # B* lies between the all-learn and all-memorise batch sizes around it.
    mixed = data + [(0, 11, True), (1, 11, False)]
    assert logistic_curve(mixed).bracket == (10, 13)
    # Overlap (one seed learns above a B where another memorises) has a finite fit.
    overlap = data + [(0, 11, False), (1, 12, True)]
    fit = logistic_curve(overlap)
    assert not fit.censored and 10 < fit.b_star < 13
    # Never memorised / never learned: an open end.
    assert logistic_curve([(0, b, True) for b in (2, 5, 9)]).bracket == (9, None)
    assert logistic_curve([(0, b, False) for b in (2, 5, 9)]).bracket == (None, 2)
    assert separation(np.array([2.0, 5.0]), np.array([1.0, 0.0]), np.array([1.0, 1.0])) == (2, 5)


def test_a_midpoint_outside_the_batch_sizes_run_is_flagged_as_an_extrapolation():
    from adamlab.report.items.critical_batch import curve_text
    from adamlab.sweep.critical import _curve_line
    # Most runs learn up to the largest B (200); two memorise, one of them below a B that
    # learns: a finite fit whose P = 1/2 lies past 200, where no run (and, at n = 200, no
    # batch size) exists.
    data = [(s, b, True) for s in range(4) for b in (50, 100, 150, 200)]
    data[2] = (0, 150, False)
    data[7] = (1, 200, False)
    curve = logistic_curve(data)
    assert not curve.censored and curve.b_star > 200 and curve.extrapolated
    assert 0.5 < curve.p_learns(200) < 1 and curve.p_learns(curve.b_star) == pytest.approx(0.5)
    assert curve.to_json()["extrapolated"] is True and curve.nearest_run() == (200, "largest")
    text = curve_text(curve)
    assert text.startswith("past the largest B run: P(learns) = ") and "at B = 200" in text
    assert "extrapolation" in text and "P = 3/4" not in text
    assert "largest B run (200)" in _curve_line(curve) and "extrapolated" in _curve_line(curve)
    # A midpoint between runs is no extrapolation; a censored curve has none.
    inside = logistic_curve([(s, b, b <= 10) for s in range(3) for b in (2, 5, 10, 13, 20)]
                            + [(0, 11, False), (1, 12, True)])
    assert not inside.extrapolated and inside.to_json()["extrapolated"] is False
    assert inside.nearest_run() is None
    assert not curve_text(inside).startswith("past")
    assert not logistic_curve([(0, b, True) for b in (2, 5, 9)]).extrapolated


def test_the_normal_tail_matches_scipy_far_out():
    z = np.array([-30.0, -6.0, -1.0, 0.0, 0.3, 2.0, 8.0, 35.0])
    np.testing.assert_allclose(log_norm_sf(z), stats.norm.logsf(z), rtol=1e-6, atol=1e-12)


def _stars(x, c, slope, sd, seeds, rng):
    return [list(c * xi ** slope * np.exp(rng.normal(0, sd, seeds))) for xi in x]


NS = [50.0, 100.0, 200.0, 400.0, 800.0]


def test_without_open_brackets_the_fit_is_power_law_fits():
    ys = _stars(NS, 0.3, 1.0, 0.1, 3, np.random.default_rng(4))
    fit, ref = censored_power_law(NS, ys), power_law_fit(NS, ys)
    assert fit.open == 0 and fit.slope == pytest.approx(ref.slope)
    assert fit.prefactor == pytest.approx(ref.prefactor)
    assert fit.closed.slope == pytest.approx(ref.slope)
    assert fit.slope_ci95[0] < 1.0 < fit.slope_ci95[1]
    frac = fixed_fraction(NS, ys)
    assert frac.slope == 1.0 and frac.prefactor == pytest.approx(ref.constant)


def test_open_brackets_move_the_fit_the_right_way():
    rng = np.random.default_rng(5)
    ys = _stars(NS, 0.3, 1.0, 0.05, 3, rng)
    closed = censored_power_law(NS, ys)
    assert closed.slope == pytest.approx(1.0, abs=0.1)
    # The largest n: B* known only to be above 0.6 n (twice the trend): the slope must rise
    # above the fit that leaves the point out; "below 0.15 n" must lower it.
    above = ys[:-1] + [[(0.6 * NS[-1], None)] * 3]
    below = ys[:-1] + [[(None, 0.15 * NS[-1])] * 3]
    without = censored_power_law(NS[:-1], ys[:-1])
    up, down = censored_power_law(NS, above), censored_power_law(NS, below)
    assert up.open == down.open == 3
    assert up.slope > without.slope + 0.05 and down.slope < without.slope - 0.05
    # An open bracket the trend already satisfies changes nearly nothing.
    loose = censored_power_law(NS, ys[:-1] + [[(0.01 * NS[-1], None)] * 3])
    assert loose.slope == pytest.approx(without.slope, abs=0.02)
    # power_law_fit cannot hold the open bracket: `closed` leaves it out.
    assert up.closed.n == 4


def test_the_fixed_fraction_fit_recovers_c_and_the_comparison_tells_the_laws_apart():
    rng = np.random.default_rng(6)
    linear = _stars(NS, 0.25, 1.0, 0.1, 4, rng)
    frac = fixed_fraction(NS, linear)
    assert frac.prefactor == pytest.approx(0.25, rel=0.05)
    lo, hi = frac.prefactor_ci95
    assert lo < frac.prefactor < hi and 0.2 < lo and hi < 0.3
    same = compare_scaling(NS, linear)
    assert same["p_slope_one"] > 0.05
    sqrt_law = _stars(NS, 2.0, 0.5, 0.1, 4, rng)
    other = compare_scaling(NS, sqrt_law)
    assert other["p_slope_one"] < 1e-3 and other["lower_aic"] == "power_law"
    assert other["power_law"]["slope"] == pytest.approx(0.5, abs=0.1)
    # Brackets (closed and open) enter both models the same way.
    mixed = [[(0.8 * v, 1.2 * v) for v in reps] for reps in linear[:-1]] + [[(0.1 * NS[-1],
                                                                             None)] * 2]
    both = compare_scaling(NS, mixed)
    assert both["power_law"]["open"] == both["fixed_fraction"]["open"] == 2
    assert both["fixed_fraction"]["prefactor"] == pytest.approx(0.25, rel=0.1)
