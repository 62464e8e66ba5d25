"""Statistics over seeds: the one place every table, verdict, figure and store aggregate gets its
numbers (docs/contributing.md: statistics are part of the output; tables show mean, spread and seeds).

    summary = summarise([0.48, 0.49, 0.96, 0.96, 0.0001])
    summary.mean, summary.std, summary.ci95, summary.n       # std: sample (n - 1); None for n = 1
    agreement(4, 5).ci95                                     # Wilson interval of 4 seeds in 5
    difference(worse, better).ci95                           # bootstrap interval of a mean gap
    power_law_fit(x, y).slope_ci95                           # log-log slope, bootstrap interval

Conventions, stated once:
* Non-finite or missing values (a diverged seed) are kept in `values`, so they stay visible, but
  every statistic is over the finite ones; `n` counts those.
* `std` is the sample standard deviation (n - 1 in the denominator): None for fewer than two
  values, rendered "–". No spread is claimed from one seed.
* `ci95` is a seeded percentile bootstrap of the mean (RESAMPLES resamples, seed BOOTSTRAP_SEED, so
  the same numbers always give the same interval); None for fewer than two values. With 3-5
  seeds it is close to [min, max] of the seeds: an honest "we cannot say more" at this size.
  tests/test_stats.py checks it against scipy.stats.bootstrap(method="percentile").
* A claim "A is larger than B" holds only when the bootstrap interval of mean(A) - mean(B) lies
  above zero (`difference(...).clearly_positive`); overlapping seeds never make a finding.
* Agreement of k of n seeds with a claim carries a Wilson score interval (95%), so "4 of 5" reads
  as "somewhere between 38% and 96% of seeds", which one seed could flip.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np

from .formatting import fmt_mean_std

RESAMPLES = 10_000
BOOTSTRAP_SEED = 0
Z95 = 1.959963984540054  # the 97.5% quantile of the standard normal


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
class Agreement:
    """k of n seeds agree with a claim, with the Wilson score 95% interval of the rate."""

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
        return f"{self.k} of {self.n} (95% CI {lo:.0%}–{hi:.0%})"


def agreement(k: int, n: int) -> Agreement:
    """"k of n agree" with its Wilson 95% interval; ValueError unless 0 <= k <= n."""
    if n < 0 or not 0 <= k <= n:
        raise ValueError(f"agreement: need 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return Agreement(0, 0, None)
    p, z2 = k / n, Z95 * Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return Agreement(k, n, (max(0.0, centre - half), min(1.0, centre + half)))


def survives_leaving_out_one(a: Iterable[Any], b: Iterable[Any]) -> bool:
    """Does "mean(a) > mean(b)" (difference(a, b).clearly_positive) still hold when any one value
    of a, or any one of b, is left out? False means one seed could flip the claim, and the report
    says so. Needs three values in each group (two left after dropping one)."""
    xa, xb = finite_values(a), finite_values(b)
    if len(xa) < 3 or len(xb) < 3 or not difference(xa, xb).clearly_positive:
        return False
    drops = [(xa[:i] + xa[i + 1:], xb) for i in range(len(xa))] + \
        [(xa, xb[:i] + xb[i + 1:]) for i in range(len(xb))]
    return all(difference(da, db).clearly_positive for da, db in drops)




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
           "agreement", "survives_leaving_out_one", "PowerLaw", "power_law_fit", "RESAMPLES",
           "BOOTSTRAP_SEED", "group_runs"]
