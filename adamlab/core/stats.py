"""Statistics over seeds: the one place every table, verdict, figure and store aggregate gets its
numbers (docs/contributing.md: statistics are part of the output; tables show mean, spread and seeds).

    summary = summarise([0.48, 0.49, 0.96, 0.96, 0.0001])
    summary.mean, summary.std, summary.ci95, summary.n       # std: sample (n - 1); None for n = 1
    summary.interval_text()                                  # "range 0.0001–0.96" below 10 seeds
    agreement(4, 5).ci95                                     # Clopper-Pearson interval, 4 in 5
    difference(worse, better).ci95                           # bootstrap interval of a mean gap
    permutation_test(worse, better).p_value                  # two-sided p of the mean gap
    regime_shares(["memorises_noise"] * 3 + ["learns_feature"] * 2)   # k of n per regime
    power_law_fit(x, y).slope_ci95                           # log-log slope, bootstrap interval

Conventions, stated once:
* Non-finite or missing values (a diverged seed) are kept in `values`, so they stay visible, but
  every statistic is over the finite ones; `n` counts those.
* `std` is the sample standard deviation (n - 1 in the denominator): None for fewer than two
  values, rendered "–". No spread is claimed from one seed.
* `ci95` is a seeded percentile bootstrap of the mean (RESAMPLES resamples, seed BOOTSTRAP_SEED, so
  the same numbers always give the same interval); None for fewer than two values.
  tests/test_stats.py checks it against scipy.stats.bootstrap(method="percentile").
* Below MIN_CI_SEEDS (10) values no 95% interval is claimed: the percentile bootstrap of a mean
  of n values only reaches n^n equally likely resample means, and with 3 seeds its 2.5%/97.5%
  quantiles are min and max themselves (each has probability 1/27 > 2.5%), so the "95%"
  interval is [min, max], which holds the true mean of a symmetric law only 1 - 2/2^3 = 75% of
  the time. Text then shows the range min–max and calls it "range" (`Summary.interval_text`).
* A claim "A is larger than B" holds only when the bootstrap interval of mean(A) - mean(B) lies
  above zero (`difference(...).clearly_positive`); overlapping seeds never make a finding.
* Whether two groups of per-seed values differ is a two-sided permutation test of the gap of
  their means (`permutation_test`): exact over every split when there are at most EXACT_SPLITS,
  else PERMUTATIONS seeded random splits. Its p-value cannot go below 1 / C(na + nb, na), nor
  below 2 / C(2n, n) for n seeds a side (a split and its mirror have the same |gap|): with 3
  seeds a side that is 0.1, so three seeds each can never show a gap at the 5% level.
* Agreement of k of n seeds with a claim carries the exact Clopper-Pearson interval (95%), so
  "4 of 5" reads as "somewhere between 28% and 99.5% of seeds", which one seed could flip; a
  bimodal cell is reported as such shares per regime (`regime_shares`), not only as a mean.
"""
from __future__ import annotations

import functools
import itertools
import math
import statistics
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np

from .formatting import fmt_mean_std, fmt_number

RESAMPLES = 10_000
BOOTSTRAP_SEED = 0
# Fewer values than this: no 95% interval is claimed, the range is shown (module docstring).
MIN_CI_SEEDS = 10
# Permutation test: exact up to this many splits (C(20, 10) = 184,756 for 10 seeds a side), else
# PERMUTATIONS seeded random ones (the p-value's Monte-Carlo error is then at most
# sqrt(0.25 / 10^4) = 0.005).
EXACT_SPLITS = 200_000
PERMUTATIONS = 10_000
PERMUTATION_SEED = 0


def is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.floating, np.integer)) and not isinstance(v, bool)


def finite_values(values: Iterable[Any]) -> list[float]:
    return [float(v) for v in values if is_number(v) and math.isfinite(float(v))]


def bootstrap_ci(values: Iterable[Any], level: float = 0.95, resamples: int = RESAMPLES,
                 seed: int = BOOTSTRAP_SEED) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the mean of the finite values (None for fewer than two)."""
    x = np.asarray(finite_values(values))
    if len(x) < 2:
        return None
    if np.all(x == x[0]):
        return (float(x[0]), float(x[0]))
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, len(x), size=(resamples, len(x)))].mean(axis=1)
    tail = (1.0 - level) / 2.0
    lo, hi = np.quantile(means, [tail, 1.0 - tail])
    return (float(lo), float(hi))


@dataclass(frozen=True)
class Summary:
    """Mean, spread and interval of one quantity over seeds (see the module docstring)."""

    values: tuple
    n: int
    mean: float | None
    std: float | None
    median: float | None
    min: float | None
    max: float | None
    ci95: tuple[float, float] | None

    @classmethod
    def of(cls, values: Iterable[Any]) -> "Summary":
        """The Summary of `values` (same as `summarise(values)`)."""
        return summarise(values)

    def __str__(self) -> str:
        return fmt_mean_std(self.mean, self.std, self.n)

    @property
    def interval(self) -> tuple[float, float] | None:
        """The interval text may show: `ci95` from MIN_CI_SEEDS values on, else (min, max) (no
        coverage claimed); None for fewer than two values."""
        if self.n < 2:
            return None
        return self.ci95 if self.n >= MIN_CI_SEEDS else (self.min, self.max)

    @property
    def interval_name(self) -> str:
        """What `interval` is: "95% CI" (bootstrap, n >= MIN_CI_SEEDS) or "range" (min–max)."""
        return "95% CI" if self.n >= MIN_CI_SEEDS else "range"

    def interval_text(self, digits: int = 3) -> str:
        """'range 0.0001–0.964' below MIN_CI_SEEDS values, '95% CI 0.27–0.88' from there on;
        'no interval' for fewer than two values."""
        if self.interval is None:
            return "no interval"
        lo, hi = self.interval
        return f"{self.interval_name} {fmt_number(lo, digits)}–{fmt_number(hi, digits)}"

    def to_dict(self) -> dict:
        """The summary as a flat dict (mean, std, median, min, max, n, ci95_lo, ci95_hi) for tables and JSON."""
        return {"mean": self.mean, "std": self.std, "median": self.median, "min": self.min,
                "max": self.max, "n": self.n,
                "ci95_lo": None if self.ci95 is None else self.ci95[0],
                "ci95_hi": None if self.ci95 is None else self.ci95[1]}


def summarise(values: Iterable[Any]) -> Summary:
    """Mean, sample std (None for one value), median, min, max, n and the seeded 95% bootstrap
    interval of the mean over the finite numbers in `values` (others are left out)."""
    values = tuple(values)
    x = finite_values(values)
    if not x:
        return Summary(values, 0, None, None, None, None, None, None)
    std = statistics.stdev(x) if len(x) > 1 else None
    return Summary(values, len(x), statistics.fmean(x), std, statistics.median(x), min(x),
                   max(x), bootstrap_ci(x))


@dataclass(frozen=True)
class Difference:
    """mean(a) - mean(b) with a bootstrap interval (each group resampled on its own)."""

    estimate: float | None
    ci95: tuple[float, float] | None

    @property
    def clearly_positive(self) -> bool:
        """True when the gap's 95% interval lies above zero."""
        return self.ci95 is not None and self.ci95[0] > 0.0

    @property
    def clearly_negative(self) -> bool:
        """True when the gap's 95% interval lies below zero."""
        return self.ci95 is not None and self.ci95[1] < 0.0


def difference(a: Iterable[Any], b: Iterable[Any], level: float = 0.95,
               resamples: int = RESAMPLES, seed: int = BOOTSTRAP_SEED) -> Difference:
    """Is A larger than B beyond what the seeds' spread allows? Needs two values in each group
    for an interval (else ci95 is None and neither `clearly_*` holds)."""
    xa, xb = np.asarray(finite_values(a)), np.asarray(finite_values(b))
    if not len(xa) or not len(xb):
        return Difference(None, None)
    est = float(xa.mean() - xb.mean())
    if len(xa) < 2 or len(xb) < 2:
        return Difference(est, None)
    rng = np.random.default_rng(seed)
    da = xa[rng.integers(0, len(xa), size=(resamples, len(xa)))].mean(axis=1)
    db = xb[rng.integers(0, len(xb), size=(resamples, len(xb)))].mean(axis=1)
    tail = (1.0 - level) / 2.0
    lo, hi = np.quantile(da - db, [tail, 1.0 - tail])
    return Difference(est, (float(lo), float(hi)))


@dataclass(frozen=True)
class PermutationTest:
    """Two-sided permutation test of gap = mean(a) - mean(b) (see `permutation_test`)."""

    gap: float | None
    p_value: float | None
    splits: int          # splits compared: all of them (exact) or the random permutations
    exact: bool

    def __str__(self) -> str:
        if self.p_value is None:
            return "no test (a group without values)"
        how = (f"exact over all {self.splits:,} splits" if self.exact else
               f"Monte-Carlo, {self.splits:,} permutations, seed {PERMUTATION_SEED}")
        return f"gap {self.gap:+.3g}, permutation p = {self.p_value:.3g} ({how})"


def permutation_test(a: Iterable[Any], b: Iterable[Any], permutations: int = PERMUTATIONS,
                     seed: int = PERMUTATION_SEED,
                     alternative: str = "two-sided") -> PermutationTest:
    """Permutation test of the gap of means of two groups of per-seed values: two-sided, or
    one-sided (`alternative="greater"`: is mean(a) above mean(b)? p counts the splits whose
    gap is at least the observed one, signed).

    Under H0 (the labels a/b are exchangeable) every split of the pooled na + nb finite values
    into groups of na and nb is equally likely. p = P(|gap of a split| >= |observed gap|):
    exact, counting all C(na + nb, na) splits (the observed one among them) when there are at
    most EXACT_SPLITS; else (1 + #{random splits at least as extreme}) / (1 + permutations), the
    Monte-Carlo p-value that never understates the exact one's level (Phipson & Smyth 2010).
    Gaps within 1e-12 of the observed one count as ties (float sums of the same values)."""
    if alternative not in ("two-sided", "greater"):
        raise ValueError(f"alternative: must be 'two-sided' or 'greater', got {alternative!r}")
    xa, xb = np.asarray(finite_values(a)), np.asarray(finite_values(b))
    na, nb = len(xa), len(xb)
    if not na or not nb:
        return PermutationTest(None, None, 0, True)
    size = np.abs if alternative == "two-sided" else (lambda g: g)
    gap = float(xa.mean() - xb.mean())
    pooled, total = np.concatenate([xa, xb]), float(xa.sum() + xb.sum())
    tol = 1e-12 * max(1.0, float(np.abs(pooled).max()))
    splits = math.comb(na + nb, na)
    if splits <= EXACT_SPLITS:
        idx = np.array(list(itertools.combinations(range(na + nb), na)), dtype=np.intp)
        sums_a = pooled[idx].sum(axis=1)
        gaps = sums_a / na - (total - sums_a) / nb
        extreme = int(np.count_nonzero(size(gaps) >= size(gap) - tol))
        return PermutationTest(gap, extreme / splits, splits, True)
    rng = np.random.default_rng(seed)
    perm = rng.permuted(np.broadcast_to(pooled, (permutations, na + nb)), axis=1)
    sums_a = perm[:, :na].sum(axis=1)
    gaps = sums_a / na - (total - sums_a) / nb
    extreme = int(np.count_nonzero(size(gaps) >= size(gap) - tol))
    return PermutationTest(gap, (1 + extreme) / (1 + permutations), permutations, False)


# A gap test's level: one-sided, since every claim declares its direction before the runs.
GAP_ALPHA = 0.05


@dataclass(frozen=True)
class GapTest:
    """Is mean(a) above mean(b) by more than `margin`? From MIN_CI_SEEDS values a side: the 95%
    bootstrap interval of the gap (`difference`) lies above the margin. Below that a bootstrap
    interval is [min, max]-like and claims a coverage it does not have, so: a one-sided exact
    permutation test of a - margin against b at GAP_ALPHA, and the text shows each side's range.
    With 3 seeds a side that needs every seed of a above every seed of b (p = 1/20)."""

    estimate: float | None
    margin: float
    n: tuple[int, int]
    ci95: tuple[float, float] | None  # bootstrap, only from MIN_CI_SEEDS values a side
    p_value: float | None  # one-sided permutation, only below that
    ranges: tuple[tuple[float, float], tuple[float, float]] | None

    @property
    def method(self) -> str:
        return "bootstrap" if min(self.n) >= MIN_CI_SEEDS else "permutation"

    @property
    def clearly_positive(self) -> bool:
        """The gap is above the margin by the test's rule (see the class docstring)."""
        if self.ci95 is not None:
            return self.ci95[0] > self.margin
        return self.p_value is not None and self.p_value <= GAP_ALPHA

    def text(self) -> str:
        """'gap +0.016 (95% bootstrap CI +0.005 to +0.030, 12 and 12 seeds)' or 'gap +0.016
        (ranges 0.10–0.12 vs 0.08–0.10, 3 and 3 seeds; one-sided permutation p = 0.05 that it
        is above 0.05)'."""
        if self.estimate is None:
            return "no gap (a side without values)"
        na, nb = self.n
        above = f" that it is above {self.margin:g}" if self.margin else ""
        if self.ci95 is not None:
            margin = f"; margin {self.margin:g}" if self.margin else ""
            return (f"gap {self.estimate:+.3f} (95% bootstrap CI {self.ci95[0]:+.3f} to "
                    f"{self.ci95[1]:+.3f}, {na} and {nb} seeds{margin})")
        (alo, ahi), (blo, bhi) = self.ranges
        return (f"gap {self.estimate:+.3f} (ranges {fmt_number(alo)}–{fmt_number(ahi)} vs "
                f"{fmt_number(blo)}–{fmt_number(bhi)}, {na} and {nb} seeds; one-sided "
                f"permutation p = {self.p_value:.3g}{above})")


def gap_test(a: Iterable[Any], b: Iterable[Any], margin: float = 0.0) -> GapTest:
    """The GapTest of mean(a) - mean(b) > margin over per-seed values (see GapTest)."""
    xa, xb = finite_values(a), finite_values(b)
    n = (len(xa), len(xb))
    if not xa or not xb:
        return GapTest(None, margin, n, None, None, None)
    est = statistics.fmean(xa) - statistics.fmean(xb)
    ranges = ((min(xa), max(xa)), (min(xb), max(xb)))
    if min(n) >= MIN_CI_SEEDS:
        return GapTest(est, margin, n, difference(xa, xb).ci95, None, ranges)
    test = permutation_test([x - margin for x in xa], xb, alternative="greater")
    return GapTest(est, margin, n, None, test.p_value, ranges)


def _binom_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p): sum_{i<=k} C(n, i) p^i (1-p)^(n-i), each term in logs
    (math.comb is exact; its log keeps n in the thousands from overflowing a float)."""
    if k < 0:
        return 0.0
    if k >= n or p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 0.0
    i = np.arange(k + 1)
    terms = np.exp(_log_comb(n)[: k + 1] + i * math.log(p) + (n - i) * math.log1p(-p))
    return min(1.0, math.fsum(terms))


@functools.lru_cache(maxsize=64)
def _log_comb(n: int) -> np.ndarray:
    """log C(n, i) for i = 0..n (cached: a bisection evaluates the CDF ~50 times per bound)."""
    return np.array([math.log(math.comb(n, i)) for i in range(n + 1)])


def _bisect_decreasing(f, target: float, tol: float = 1e-14) -> float:
    """The p in [0, 1] with f(p) = target, for f decreasing in p (a binomial CDF in p)."""
    lo, hi = 0.0, 1.0
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if f(mid) > target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) interval of a binomial rate from k successes in n trials.

    lower = B^-1(a/2; k, n-k+1), upper = B^-1(1-a/2; k+1, n-k) with a = 1 - level and B^-1 the
    beta quantile; equivalently (the beta-binomial identity P(X >= k | p) = I_p(k, n-k+1)) the
    p where P(X >= k | p) = a/2 and the p where P(X <= k | p) = a/2. Found by bisection on
    the binomial CDF; lower = 0 for k = 0, upper = 1 for k = n. Coverage is at least `level`
    for every rate (the Wilson interval's is not: 4 of 5 gives Wilson 38%–96%, exact
    28%–99.5%)."""
    if n <= 0 or not 0 <= k <= n:
        raise ValueError(f"clopper_pearson: need 0 <= k <= n and n > 0, got k={k}, n={n}")
    tail = (1.0 - level) / 2.0
    lower = 0.0 if k == 0 else _bisect_decreasing(
        lambda p: -(1.0 - _binom_cdf(k - 1, n, p)), -tail)  # P(X >= k | p) increases in p
    upper = 1.0 if k == n else _bisect_decreasing(lambda p: _binom_cdf(k, n, p), tail)
    return (lower, upper)


@dataclass(frozen=True)
class Agreement:
    """k of n seeds agree with a claim, with the exact Clopper-Pearson 95% interval of the rate."""

    k: int
    n: int
    ci95: tuple[float, float] | None

    @property
    def rate(self) -> float | None:
        """k / n, or None when n = 0."""
        return self.k / self.n if self.n else None

    @property
    def all(self) -> bool:
        """True when every one of n > 0 cases agrees (k == n)."""
        return self.n > 0 and self.k == self.n

    def __str__(self) -> str:
        if not self.n:
            return "0 of 0"
        lo, hi = self.ci95
        return f"{self.k} of {self.n} (Clopper-Pearson 95% CI {lo:.0%}–{hi:.0%})"


def agreement(k: int, n: int) -> Agreement:
    """"k of n agree" with its Clopper-Pearson 95% interval (`clopper_pearson`; none for n = 0);
    ValueError unless 0 <= k <= n."""
    if n < 0 or not 0 <= k <= n:
        raise ValueError(f"agreement: need 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return Agreement(0, 0, None)
    return Agreement(k, n, clopper_pearson(k, n))


@dataclass(frozen=True)
class RegimeShare:
    """One regime's share of a cell's seeds: k of n with its Clopper-Pearson 95% interval, and
    the seeds' values (e.g. test errors) in that regime."""

    regime: str
    k: int
    n: int
    ci95: tuple[float, float]
    values: Summary

    def text(self, name: str | None = None) -> str:
        """"memorises noise 3/5 [15%, 95%]": the regime (or `name`), k of n, its exact interval."""
        lo, hi = self.ci95
        return f"{name or self.regime} {self.k}/{self.n} [{lo:.0%}, {hi:.0%}]"


def regime_shares(regimes: Sequence[str], values: Sequence[Any] | None = None
                  ) -> list[RegimeShare]:
    """Per-seed regimes (and optionally one value per seed) -> each regime's share "k of n"
    with its exact interval, most seeds first (ties in order of first appearance). A bimodal
    cell (Adam B = 100: test errors 0, ~0.48, ~0.96 across seeds) reads as shares, which a mean
    of 0.48 would hide."""
    regimes = list(regimes)
    if values is not None and len(values) != len(regimes):
        raise ValueError(f"regime_shares: {len(values)} values for {len(regimes)} regimes")
    n = len(regimes)
    order = sorted(dict.fromkeys(regimes), key=lambda g: -regimes.count(g))
    return [RegimeShare(g, regimes.count(g), n, clopper_pearson(regimes.count(g), n),
                        summarise([] if values is None else
                                  [v for r, v in zip(regimes, values) if r == g]))
            for g in order]


def survives_leaving_out_one(a: Iterable[Any], b: Iterable[Any], margin: float = 0.0) -> bool:
    """Does "mean(a) > mean(b) + margin" (gap_test(a, b, margin).clearly_positive) still hold
    when any one value of a, or any one of b, is left out? False means one seed could flip the
    claim, and the report says so (with 3 seeds a side it always is: 2 against 3 cannot reach
    the permutation test's level). Needs three values in each group."""
    xa, xb = finite_values(a), finite_values(b)
    if len(xa) < 3 or len(xb) < 3 or not gap_test(xa, xb, margin).clearly_positive:
        return False
    drops = [(xa[:i] + xa[i + 1:], xb) for i in range(len(xa))] + \
        [(xa, xb[:i] + xb[i + 1:]) for i in range(len(xb))]
    return all(gap_test(da, db, margin).clearly_positive for da, db in drops)




@dataclass(frozen=True)
class PowerLaw:
    """y = prefactor * x^slope, fitted by least squares of log y on log x, where each point's y is
    the geometric mean of its replicates (seeds). A replicate may be a value or an interval
    (lo, hi) known to hold it (a bisection's bracket): it counts as sqrt(lo * hi), and each
    resample draws it log-uniformly from [lo, hi]. The 95% intervals are percentile bootstraps
    that keep the design (the x values) fixed and resample each point's replicates with
    replacement (and draw within their intervals), so they carry the seeds' spread and the
    brackets' widths;
    `constant` is c of the slope-1 law y = c * x (the geometric mean of y / x) with its interval
    from the same resamples. `rms_residual`: root mean square of the log residuals, how far the
    points stray from the line beyond what the slope explains (a factor exp(rms) typically).
    Intervals are None with fewer than two distinct x or no point with two replicates."""

    n: int
    slope: float | None
    prefactor: float | None
    slope_ci95: tuple[float, float] | None
    constant: float | None
    constant_ci95: tuple[float, float] | None
    rms_residual: float | None = None

    def slope_covers(self, value: float) -> bool:
        """True when the slope's 95% interval holds `value` (e.g. 1 for a linear law)."""
        return self.slope_ci95 is not None and self.slope_ci95[0] <= value <= self.slope_ci95[1]


def _is_interval(v: Any) -> bool:
    return isinstance(v, tuple) and len(v) == 2 and all(is_number(e) for e in v)


def _loglog_slope(lx: np.ndarray, ly: np.ndarray):
    """Least-squares (slope, intercept) of ly on lx along the last axis (lx not constant)."""
    mx, my = lx.mean(), ly.mean(axis=-1)
    sxx = ((lx - mx) ** 2).sum()
    slope = ((ly - my[..., None]) * (lx - mx)).sum(axis=-1) / sxx
    return slope, my - slope * mx


def power_law_fit(x: Iterable[Any], ys: Iterable[Any], level: float = 0.95,
                  resamples: int = RESAMPLES, seed: int = BOOTSTRAP_SEED) -> PowerLaw:
    """Fit y = prefactor * x^slope. ys[i]: one value or a sequence of replicates of point i, each
    a value or a (lo, hi) interval; only finite positive values count, and points without one (or
    with x not finite and positive) are left out."""
    points = []
    for a, reps in zip(x, ys):
        reps = [reps] if is_number(reps) or reps is None or _is_interval(reps) else list(reps)
        lo_hi = []
        for r in reps:
            lo, hi = (r if _is_interval(r) else (r, r))
            if finite_values([lo, hi]) == [lo, hi] and 0 < lo <= hi:
                lo_hi.append((math.log(lo), math.log(hi)))
        if lo_hi and is_number(a) and math.isfinite(float(a)) and float(a) > 0:
            points.append((math.log(float(a)), np.array(lo_hi)))
    n = len(points)
    if n == 0:
        return PowerLaw(0, None, None, None, None, None)
    lx = np.array([p[0] for p in points])
    ly = np.array([p[1].mean() for p in points])  # mean of (log lo + log hi) / 2 over replicates
    constant = float(np.exp((ly - lx).mean()))
    if np.ptp(lx) == 0:
        return PowerLaw(n, None, None, None, constant, None)
    slope, intercept = _loglog_slope(lx, ly)
    rms = float(np.sqrt(np.mean((ly - (intercept + slope * lx)) ** 2)))
    slope_ci = constant_ci = None
    if any(len(p[1]) > 1 or p[1][0, 0] < p[1][0, 1] for p in points):
        rng = np.random.default_rng(seed)
        cols = []
        for _, reps in points:
            pick = reps[rng.integers(0, len(reps), size=(resamples, len(reps)))]  # (R, k, 2)
            u = rng.random(pick.shape[:2])
            cols.append((pick[..., 0] + u * (pick[..., 1] - pick[..., 0])).mean(axis=1))
        boot = np.stack(cols, axis=1)                                  # (resamples, n)
        slopes, _ = _loglog_slope(lx, boot)
        tail = (1.0 - level) / 2.0
        slope_ci = tuple(float(v) for v in np.quantile(slopes, [tail, 1.0 - tail]))
        consts = np.exp((boot - lx).mean(axis=1))
        constant_ci = tuple(float(v) for v in np.quantile(consts, [tail, 1.0 - tail]))
    return PowerLaw(n, float(slope), float(np.exp(intercept)), slope_ci, constant, constant_ci,
                    rms)


def group_runs(runs: Iterable[dict], keys: tuple[str, ...]) -> dict[tuple, list[dict]]:
    """Run records grouped by the values of config `keys` (a group is one cell's seeds), in the
    order the groups first appear."""
    groups: dict[tuple, list[dict]] = {}
    for r in runs:
        groups.setdefault(tuple(r["config"][k] for k in keys), []).append(r)
    return groups


__all__ = ["Summary", "summarise", "bootstrap_ci", "Difference", "difference", "Agreement",
           "agreement", "clopper_pearson", "PermutationTest", "permutation_test", "RegimeShare",
           "regime_shares", "survives_leaving_out_one", "PowerLaw", "power_law_fit",
           "RESAMPLES", "BOOTSTRAP_SEED", "MIN_CI_SEEDS", "EXACT_SPLITS", "PERMUTATIONS",
           "PERMUTATION_SEED", "group_runs"]
