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


@pytest.mark.parametrize("k,n", [(0, 5), (4, 5), (5, 5), (3, 5), (7, 18), (1, 1), (0, 1),
                                 (1, 2000), (500, 1000), (999, 1000)])
def test_agreement_is_clopper_pearson_as_scipy(k, n):
    ours = stats.agreement(k, n)
    # The beta quantiles of the definition, and scipy's exact binomial interval.
    lo = 0.0 if k == 0 else scipy_stats.beta.ppf(0.025, k, n - k + 1)
    hi = 1.0 if k == n else scipy_stats.beta.ppf(0.975, k + 1, n - k)
    assert ours.ci95 == pytest.approx((lo, hi), abs=1e-9)
    ref = scipy_stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    assert ours.ci95 == pytest.approx((ref.low, ref.high), abs=1e-9)
    assert ours.rate == k / n and ours.all == (k == n)
    assert f"{k} of {n} (Clopper-Pearson 95% CI " in str(ours)
    with pytest.raises(ValueError, match="0 <= k <= n"):
        stats.agreement(6, 5)


def test_clopper_pearson_is_wider_than_wilson_where_wilson_undercovers():
    # 4 of 5: Wilson 38%-96%, exact 28%-99.5%; the exact interval contains Wilson's here.
    lo, hi = stats.clopper_pearson(4, 5)
    assert lo == pytest.approx(0.2836, abs=1e-4) and hi == pytest.approx(0.975 ** 0.2, abs=1e-12)
    wilson = scipy_stats.binomtest(4, 5).proportion_ci(method="wilson")
    assert lo < wilson.low and hi > wilson.high
    assert stats.clopper_pearson(0, 5)[1] == pytest.approx(1 - 0.025 ** 0.2, abs=1e-12)
    assert stats.clopper_pearson(1, 1) == pytest.approx((0.025, 1.0), abs=1e-12)
    with pytest.raises(ValueError, match="n > 0"):
        stats.clopper_pearson(0, 0)
    assert stats.agreement(0, 0).ci95 is None and str(stats.agreement(0, 0)) == "0 of 0"


@pytest.mark.parametrize("a,b", [([0.5, 0.55, 0.6], [0.0, 0.01, 0.02]),
                                 ([0.2, 0.5, 0.8], [0.3, 0.4, 0.5]),
                                 ([0.48, 0.49, 0.96, 0.96, 0.0001], [0.0, 0.01, 0.0, 0.02]),
                                 ([1.0, 2.0], [1.0, 2.0, 3.0, 3.5, 4.0])])
def test_exact_permutation_test_matches_scipy(a, b):
    ours = stats.permutation_test(a, b)
    # Two-sided as P(|gap| >= |observed gap|) (scipy's "two-sided" doubles the smaller tail
    # instead, which differs for unequal group sizes): scipy with |gap| and "greater".
    ref = scipy_stats.permutation_test((a, b), lambda x, y: abs(np.mean(x) - np.mean(y)),
                                       permutation_type="independent", alternative="greater",
                                       n_resamples=np.inf)
    assert ours.exact and ours.splits == math.comb(len(a) + len(b), len(a))
    assert ours.gap == pytest.approx(np.mean(a) - np.mean(b))
    assert ours.p_value == pytest.approx(ref.pvalue, abs=1e-12)


def test_permutation_test_floors_and_monte_carlo():
    # Three seeds a side: the two most extreme of 20 splits, p = 0.1 at best. Never "p < 0.05".
    best = stats.permutation_test([0.5, 0.55, 0.6], [0.0, 0.01, 0.02])
    assert best.p_value == pytest.approx(2 / 20) and "exact over all 20 splits" in str(best)
    assert stats.permutation_test([1.0, 1.0], [1.0, 1.0]).p_value == 1.0  # no gap at all
    # Above EXACT_SPLITS splits: seeded Monte-Carlo, (1 + extreme) / (1 + permutations).
    rng = np.random.default_rng(2)
    a, b = rng.normal(0.3, 1, 12), rng.normal(0, 1, 12)
    assert math.comb(24, 12) > stats.EXACT_SPLITS
    mc = stats.permutation_test(a, b)
    assert not mc.exact and mc.splits == stats.PERMUTATIONS
    assert mc == stats.permutation_test(a, b)  # seeded
    assert (mc.p_value * (stats.PERMUTATIONS + 1)) == pytest.approx(
        round(mc.p_value * (stats.PERMUTATIONS + 1)))
    ref = scipy_stats.permutation_test((a, b), lambda x, y: abs(np.mean(x) - np.mean(y)),
                                       alternative="greater", n_resamples=20000,
                                       rng=np.random.default_rng(0))
    assert mc.p_value == pytest.approx(ref.pvalue, abs=0.02)  # two Monte-Carlo estimates
    assert "Monte-Carlo, 10,000 permutations, seed 0" in str(mc)
    far = stats.permutation_test(np.arange(15.0), np.arange(15.0) + 100)
    assert far.p_value == pytest.approx(1 / (stats.PERMUTATIONS + 1))  # never 0
    none = stats.permutation_test([], [1.0])
    assert none.p_value is None and none.gap is None


def test_no_95_interval_below_ten_seeds():
    # A 3-seed percentile bootstrap interval is [min, max] itself: each extreme resample
    # (all three draws the same seed) has probability 1/27 > 2.5%.
    three = stats.summarise([0.1, 0.5, 0.9])
    assert three.ci95 == pytest.approx((0.1, 0.9))
    assert three.interval == (0.1, 0.9) and three.interval_name == "range"
    assert three.interval_text() == "range 0.1–0.9"
    nine = stats.summarise(np.linspace(0, 1, 9))
    assert nine.interval == (0.0, 1.0) and nine.interval_name == "range"
    ten = stats.summarise(np.linspace(0, 1, 10))
    assert ten.interval == ten.ci95 and ten.interval_name == "95% CI"
    assert ten.ci95[0] > 0.0 and ten.ci95[1] < 1.0
    assert ten.interval_text().startswith("95% CI ")
    assert stats.summarise([0.3]).interval is None
    assert stats.summarise([0.3]).interval_text() == "no interval"


def test_regime_shares_of_a_bimodal_cell():
    regimes = ["memorises_noise", "learns_feature", "memorises_noise", "memorises_noise",
               "learns_feature"]
    shares = stats.regime_shares(regimes, [0.48, 0.0, 0.96, 0.49, 0.01])
    assert [(s.regime, s.k, s.n) for s in shares] == [("memorises_noise", 3, 5),
                                                        ("learns_feature", 2, 5)]
    assert shares[0].ci95 == pytest.approx(stats.clopper_pearson(3, 5))
    assert shares[0].text() == "memorises_noise 3/5 [15%, 95%]"
    assert shares[1].text("learns the feature") == "learns the feature 2/5 [5%, 85%]"
    assert shares[0].values.values == (0.48, 0.96, 0.49) and shares[1].values.max == 0.01
    assert [s.k for s in stats.regime_shares(["a", "b", "b", "a"])] == [2, 2]  # first seen first
    assert stats.regime_shares([]) == []
    with pytest.raises(ValueError, match="2 values for 1 regimes"):
        stats.regime_shares(["a"], [0.1, 0.2])


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
    from adamlab.core.stats import gap_test, survives_leaving_out_one

    # Four seeds a side, every A above every B: dropping any one leaves 3 against 4, whose
    # one-sided permutation p is 1/35, still below 0.05.
    assert survives_leaving_out_one([0.5, 0.52, 0.51, 0.53], [0.2, 0.21, 0.19, 0.22])
    # Three a side: the gap holds (p = 1/20) but 2 against 3 cannot (p >= 1/10): one seed
    # could flip it, whatever the numbers.
    three = [0.5, 0.52, 0.51], [0.2, 0.21, 0.19]
    assert gap_test(*three).clearly_positive and not survives_leaving_out_one(*three)
    # One seed of A sits among B: no clear gap to begin with.
    a, b = [0.5, 0.52, 0.51, 0.2], [0.2, 0.21, 0.19, 0.2]
    assert not gap_test(a, b).clearly_positive and not survives_leaving_out_one(a, b)
    assert not survives_leaving_out_one([0.5, 0.52], [0.2, 0.21])  # too few seeds to say
    assert not survives_leaving_out_one([0.2, 0.21, 0.19], [0.5, 0.52, 0.51])
