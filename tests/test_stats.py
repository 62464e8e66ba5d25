"""adamlab.core.stats: the one statistics path (mean, sample std, bootstrap interval, agreement)."""
import math

import numpy as np
import pytest

from adamlab.core import stats

scipy_stats = pytest.importorskip("scipy.stats")


def test_summary_conventions():
    s = stats.summarise([0.1, 0.3, float("nan"), None, 0.2])
    assert s.n == 3 and s.mean == pytest.approx(0.2) and s.median == pytest.approx(0.2)
    assert s.std == pytest.approx(0.1) and (s.min, s.max) == (0.1, 0.3)
    assert len(s.values) == 5  # the diverged seed stays visible
    one = stats.summarise([0.5])
    assert one.std is None and one.ci95 is None and one.mean == 0.5  # no spread from one seed
    none = stats.summarise([None, float("inf")])
    assert none.n == 0 and none.mean is None
    assert stats.summarise([0.4, 0.4, 0.4]).ci95 == (0.4, 0.4)


@pytest.mark.parametrize("values", [[0.0, 0.1, 0.5], [0.48, 0.49, 0.96, 0.96, 0.0001],
                                    list(np.linspace(0, 1, 12) ** 2)])
def test_bootstrap_matches_scipy(values):
    ours = stats.bootstrap_ci(values)
    ref = scipy_stats.bootstrap((np.asarray(values),), np.mean, n_resamples=20000,
                                method="percentile", rng=np.random.default_rng(1))
    lo, hi = ref.confidence_interval
    spread = max(values) - min(values)
    assert ours[0] == pytest.approx(lo, abs=0.03 * spread)
    assert ours[1] == pytest.approx(hi, abs=0.03 * spread)
    assert ours == stats.bootstrap_ci(values)  # seeded: the same numbers every time


def test_bootstrap_interval_shrinks_with_more_seeds():
    rng = np.random.default_rng(5)
    widths = []
    for n in (4, 16, 64):
        lo, hi = stats.bootstrap_ci(rng.normal(0.5, 0.1, size=n))
        widths.append(hi - lo)
    assert widths[0] > widths[1] > widths[2]
    assert widths[2] == pytest.approx(2 * 1.96 * 0.1 / 8, rel=0.35)


@pytest.mark.parametrize("k,n", [(0, 5), (4, 5), (5, 5), (7, 18), (1, 1)])
def test_agreement_wilson_matches_scipy(k, n):
    ours = stats.agreement(k, n)
    ref = scipy_stats.binomtest(k, n).proportion_ci(method="wilson")
    assert ours.ci95 == pytest.approx((ref.low, ref.high), abs=1e-9)
    assert ours.rate == k / n and ours.all == (k == n)
    assert f"{k} of {n}" in str(ours)
    with pytest.raises(ValueError, match="0 <= k <= n"):
        stats.agreement(6, 5)


def test_difference_needs_the_intervals_to_say_so():
    clear = stats.difference([0.5, 0.55, 0.6], [0.0, 0.01, 0.02])
    assert clear.clearly_positive and not clear.clearly_negative
    assert clear.estimate == pytest.approx(0.54)
    overlap = stats.difference([0.2, 0.5, 0.8], [0.3, 0.4, 0.5])
    assert not overlap.clearly_positive and not overlap.clearly_negative
    single = stats.difference([0.9], [0.1])  # one seed each: no interval, no claim
    assert single.ci95 is None and not single.clearly_positive
    assert math.isclose(single.estimate, 0.8)


def test_survives_leaving_out_one():
    from adamlab.core.stats import difference, survives_leaving_out_one

    assert survives_leaving_out_one([0.5, 0.52, 0.51], [0.2, 0.21, 0.19])
    # One seed of A sits among B: the gap holds on all seeds but not without one of the two
    # high seeds, so one seed could flip it.
    a, b = [0.5, 0.52, 0.2], [0.2, 0.21, 0.19, 0.2]
    assert difference(a, b).clearly_positive and not survives_leaving_out_one(a, b)
    assert not survives_leaving_out_one([0.5, 0.52], [0.2, 0.21])  # too few seeds to say
    assert not survives_leaving_out_one([0.2, 0.21, 0.19], [0.5, 0.52, 0.51])
