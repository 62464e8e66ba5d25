"""The critical batch size as a curve, and its scaling with n (docs/paper.md "Theorems": below a
critical batch size B* the model learns the feature, above it memorises noise). Pure numpy.

    curve = logistic_curve([(seed, B, learned), ...])   # P(learns | B), B* at 50%, its interval
    fit = censored_power_law(ns, stars)                   # B* = prefactor * n^slope, open brackets
    frac = fixed_fraction(ns, stars)                      # B* = c * n on the same points
    compare_scaling(ns, stars)                            # the two by likelihood

**Logistic curve.** Every seed's decided runs (learns the feature: 1, memorises noise: 0) enter
one maximum-likelihood fit of

    P(learns | B) = 1 / (1 + exp(-(a + b log B))),   B* = exp(-a / b)   (P = 1/2)

by Newton's method (IRLS) on the counts k_B of learns among m_B decided runs at each B:
gradient X^T (k - m p), Hessian X^T diag(m p (1 - p)) X with X = [1, log B]. Its width is the B
range from P = 3/4 to P = 1/4, exp((+-log 3 - a) / b): a sharp transition has a narrow one. The
95% interval of B* is a percentile bootstrap over seeds (a seed's runs are resampled together,
since one seed's runs share its data and initialisation), seeded and with a stated number of
resamples, as in core/stats.py.

Separable data: when every B that learns lies below every B that memorises (at most one B with
both outcomes between them), the likelihood keeps rising as the slope b grows, so no finite
maximum exists and any "B*" would be an artefact of where Newton stopped. The curve then says
`censored` and reports only the bracket [largest B where all runs learn, smallest B where all
memorise] (an end is None when that side was never seen). A bootstrap resample that is
separable contributes its bracket's geometric mean (counted in `separable_resamples`).
A finite fit whose 50% point lies outside the batch sizes run is `extrapolated`: the runs show
P(learns) falling, not where it crosses 1/2 (it may lie past B = n, where no batch size exists).

**Censored power law.** core/stats.py `power_law_fit` fits log B* = log prefactor + slope log n
with closed brackets [lo, hi] counted as sqrt(lo hi); it cannot hold an open one (B* >= n when
every batch size learns, or B* known only above some lo). `censored_power_law` keeps its
conventions for values and closed brackets and adds the open ones as censored observations of a
normal model in log space (Tobit):

    log B*_ij = a + slope log n_i + e_ij,   e_ij ~ N(0, s^2)

an exact (or closed-bracket) value adds log phi(r / s) - log s, a value known to be above lo adds
log Q((log lo - mu) / s), one below hi adds log Q((mu - log hi) / s) (Q: the normal upper tail),
maximised by EM (the E-step replaces a censored value by its conditional mean and variance
under the current fit, the M-step is least squares). With no open brackets it is least squares
over the replicates, `power_law_fit`'s slope when every n has as many seeds. Its bootstrap resamples
each n's replicates and draws closed brackets log-uniformly inside, as `power_law_fit` does.

**Fixed fraction.** B* = c n is the same model with slope fixed at 1: `fixed_fraction` fits log c
on the same observations. `compare_scaling` sets the two side by side: log-likelihoods, AIC
(2k - 2 log L; the power law has one more parameter) and the likelihood-ratio test of slope = 1,
2 (log L_power - log L_fraction) against chi-square with one degree of freedom.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np

from .stats import BOOTSTRAP_SEED, PowerLaw, is_number, power_law_fit

# Each resample is a fit (Newton or EM), so fewer than stats.RESAMPLES: at R = 2000 the 2.5%
# quantile's level has a Monte Carlo error of sqrt(0.025 * 0.975 / R) = 0.35 percentage points.
CURVE_RESAMPLES = 2000
LOG3 = math.log(3.0)
_NEWTON_ITER, _EM_ITER, _TOL = 100, 2000, 1e-10
_S_FLOOR = 1e-6  # log-space spread below which points lie on the line to rounding


# ---- the logistic curve --------------------------------------------------------------------------
@dataclass(frozen=True)
class Curve:
    """P(learns the feature | B) over seeds (module docstring). b_star / slope / width are None
    when `censored`; `bracket` is then where B* lies ([largest all-learn B, smallest all-memorise
    B], None for a side never seen). `interval`: the bootstrap 95% interval of B* (None for a
    censored curve or one seed). `counts`: per B, learns and decided runs."""

    b_star: float | None
    slope: float | None            # b: the change of the log-odds of learning per unit log B
    width: tuple[float, float] | None   # (B at P = 3/4, B at P = 1/4)
    interval: tuple[float, float] | None
    censored: bool
    bracket: tuple[int | None, int | None] | None
    counts: tuple[tuple[int, int, int], ...]   # (batch_size, learns, decided)
    seeds: int
    resamples: int
    separable_resamples: int = 0

    @property
    def extrapolated(self) -> bool:
        """Does the 50% point lie outside the batch sizes run (smallest to largest with a
        decided run)? Then it is the fit's extrapolation, not a switch the runs show: e.g. most
        runs learn up to the largest B and the curve only starts to fall there."""
        return self.b_star is not None and not self.counts[0][0] <= self.b_star \
            <= self.counts[-1][0]

    def nearest_run(self) -> tuple[int, str] | None:
        """For an extrapolated curve, the batch size run nearest its 50% point and which end it
        is ("largest" or "smallest"); None otherwise."""
        if not self.extrapolated:
            return None
        lo, hi = self.counts[0][0], self.counts[-1][0]
        return (hi, "largest") if self.b_star > hi else (lo, "smallest")

    def p_learns(self, batch_size: float) -> float | None:
        """The fitted P(learns | B) at `batch_size` (None for a censored curve)."""
        if self.b_star is None:
            return None
        return 1.0 / (1.0 + math.exp(-self.slope * (math.log(batch_size)
                                                     - math.log(self.b_star))))

    def to_json(self) -> dict:
        return {"b_star": self.b_star, "slope": self.slope,
                "extrapolated": self.extrapolated,
                "width": list(self.width) if self.width else None,
                "interval": list(self.interval) if self.interval else None,
                "censored": self.censored,
                "bracket": list(self.bracket) if self.bracket else None,
                "counts": [{"batch_size": b, "learns": k, "decided": m}
                           for b, k, m in self.counts],
                "seeds": self.seeds, "resamples": self.resamples,
                "separable_resamples": self.separable_resamples,
                "model": "P(learns | B) = 1 / (1 + exp(-slope * (log B - log b_star))); width: "
                         "B at P = 3/4 to B at P = 1/4; interval: bootstrap over seeds"}


def _counts(outcomes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(batch sizes, learns, decided) aggregated over outcomes (B, learned)."""
    by_b: dict[int, list[int]] = {}
    for b, learned in outcomes:
        k_m = by_b.setdefault(int(b), [0, 0])
        k_m[0] += bool(learned)
        k_m[1] += 1
    bs = np.array(sorted(by_b), dtype=float)
    km = np.array([by_b[int(b)] for b in bs], dtype=float).reshape(-1, 2)
    return bs, km[:, 0], km[:, 1]


def separation(bs, k, m) -> tuple[int | None, int | None] | None:
    """The bracket [largest B where every run learns, smallest B where every run memorises] when
    no finite maximum-likelihood fit exists, else None. The MLE is finite iff some B learns above
    some B that memorises (the outcomes overlap); else at most one B holds both outcomes."""
    learn_b = bs[k > 0]
    mem_b = bs[k < m]
    if len(learn_b) and len(mem_b) and learn_b.max() > mem_b.min():
        return None
    all_learn = bs[(k == m) & ((bs < mem_b.min()) if len(mem_b) else True)]
    all_mem = bs[(k == 0) & ((bs > learn_b.max()) if len(learn_b) else True)]
    lo = int(all_learn.max()) if len(all_learn) else None
    hi = int(all_mem.min()) if len(all_mem) else None
    return lo, hi


def _newton(lb: np.ndarray, k: np.ndarray, m: np.ndarray,
            start: tuple[float, float] | None = None) -> tuple[float, float]:
    """Maximum-likelihood (a, b) of logit P = a + b log B (data not separable), by Newton's
    method with step halving, from `start` or a midpoint at the mean log B falling with B."""
    a, b = start or (float(lb.mean()), -1.0)

    def loglik(a, b):
        z = a + b * lb
        return float((k * z - m * np.logaddexp(0.0, z)).sum())

    ll = loglik(a, b)
    for _ in range(_NEWTON_ITER):
        p = 1.0 / (1.0 + np.exp(-(a + b * lb)))
        r, w = k - m * p, m * p * (1 - p)
        g0, g1 = r.sum(), (r * lb).sum()
        h00, h01, h11 = w.sum(), (w * lb).sum(), (w * lb * lb).sum()
        det = h00 * h11 - h01 * h01
        if det <= 0:
            break
        da, db = (h11 * g0 - h01 * g1) / det, (h00 * g1 - h01 * g0) / det
        for _ in range(50):  # halve until the likelihood does not fall
            new_ll = loglik(a + da, b + db)
            if new_ll >= ll - 1e-12:
                break
            da, db = da / 2, db / 2
        a, b, ll = a + da, b + db, new_ll
        if max(abs(da), abs(db)) < _TOL:
            break
    return a, b


def _fit_or_bracket(bs, k, m, start=None):
    """(B*, a, b) of the fit, or (None, bracket) for separable data (B with m = 0 dropped)."""
    keep = m > 0
    bs, k, m = bs[keep], k[keep], m[keep]
    bracket = separation(bs, k, m)
    if bracket is not None:
        return None, bracket
    a, b = _newton(np.log(bs), k, m, start)
    return (math.exp(-a / b), a, b), None


def logistic_curve(outcomes: Iterable[tuple[Any, int, bool]], level: float = 0.95,
                   resamples: int = CURVE_RESAMPLES, seed: int = BOOTSTRAP_SEED) -> Curve:
    """Fit P(learns | B) to outcomes (seed, batch_size, learned): one per decided run (leave
    undecided runs out). See the module docstring."""
    outcomes = [(s, int(b), bool(learned)) for s, b, learned in outcomes]
    if not outcomes:
        raise ValueError("outcomes: need at least one decided run")
    bs, k, m = _counts([(b, y) for _, b, y in outcomes])
    counts = tuple((int(b), int(ki), int(mi)) for b, ki, mi in zip(bs, k, m))
    seeds = list(dict.fromkeys(s for s, _, _ in outcomes))
    # Per seed and B: learns K[i, j] of decided M[i, j]; a resample's counts are w @ K, w @ M
    # with w the times each seed was drawn.
    row, col = {s: i for i, s in enumerate(seeds)}, {int(b): j for j, b in enumerate(bs)}
    K, M = np.zeros((len(seeds), len(bs))), np.zeros((len(seeds), len(bs)))
    for s, b, y in outcomes:
        K[row[s], col[b]] += y
        M[row[s], col[b]] += 1
    fit, bracket = _fit_or_bracket(bs, k, m)
    if fit is None:
        return Curve(None, None, None, None, True, bracket, counts, len(seeds), 0)
    b_star, a, slope = fit
    width = (math.exp((LOG3 - a) / slope), math.exp((-LOG3 - a) / slope))
    interval, separable = None, 0
    if len(seeds) > 1:
        rng = np.random.default_rng(seed)
        stars = []
        for pick in rng.integers(0, len(seeds), size=(resamples, len(seeds))):
            w = np.bincount(pick, minlength=len(seeds)).astype(float)
            f, br = _fit_or_bracket(bs, w @ K, w @ M, start=(a, slope))
            if f is None:
                separable += 1
                if br[0] is None or br[1] is None:
                    continue  # an open end: no point to count
                stars.append(math.sqrt(br[0] * br[1]))
            else:
                stars.append(f[0])
        if stars:
            tail = (1.0 - level) / 2.0
            lo, hi = np.quantile(np.log(stars), [tail, 1.0 - tail])
            interval = (float(math.exp(lo)), float(math.exp(hi)))
    return Curve(b_star, slope, width, interval, False, None, counts, len(seeds), resamples,
                 separable)


# ---- the normal tail, stably (no scipy in the library) -----------------------------------------
def _log_erfc_pos(x: np.ndarray) -> np.ndarray:
    """log erfc(x) for x >= 0 (Numerical Recipes' erfcc: fractional error < 1.2e-7 everywhere,
    written in logs so the far tail neither underflows nor loses digits)."""
    t = 1.0 / (1.0 + 0.5 * x)
    poly = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (
        -0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (
            -0.82215223 + t * 0.17087277))))))))
    return np.log(t) - x * x + poly


def log_norm_sf(z) -> np.ndarray:
    """log Q(z) = log P(N(0, 1) > z)."""
    z = np.asarray(z, dtype=float)
    x = np.abs(z) / math.sqrt(2.0)
    upper = math.log(0.5) + _log_erfc_pos(x)     # log Q(|z|)
    return np.where(z >= 0, upper, np.log1p(-np.exp(upper)))


def norm_sf(z) -> np.ndarray:
    return np.exp(log_norm_sf(z))


def _log_phi(z):
    return -0.5 * z * z - 0.5 * math.log(2 * math.pi)


# ---- censored power law ------------------------------------------------------------------------
# A value or a closed bracket (its geometric mean, as power_law_fit); known only to be >= lo;
# known only to be <= hi.
EXACT, ABOVE, BELOW = 0, 1, 2


@dataclass(frozen=True)
class CensoredPowerLaw:
    """B* = prefactor * n^slope (or, from `fixed_fraction`, c * n: slope 1, prefactor c) by
    maximum likelihood with censored observations (module docstring). `sigma`: the spread of
    log B* about the line; `loglik`: the maximised log-likelihood; `open`: how many
    replicates were open brackets; `closed`: core/stats.py's `power_law_fit` of the same points
    without the open brackets, for comparison."""

    n: int
    slope: float | None
    prefactor: float | None
    sigma: float | None
    loglik: float | None
    slope_ci95: tuple[float, float] | None
    prefactor_ci95: tuple[float, float] | None
    open: int
    fixed_slope: bool
    closed: PowerLaw | None = None

    @property
    def params(self) -> int:
        return 2 if self.fixed_slope else 3   # (a, s) or (a, slope, s)

    @property
    def aic(self) -> float | None:
        return None if self.loglik is None else 2 * self.params - 2 * self.loglik

    def to_json(self) -> dict:
        return {"n": self.n, "slope": self.slope, "prefactor": self.prefactor,
                "sigma": self.sigma, "loglik": self.loglik, "aic": self.aic,
                "slope_ci95": list(self.slope_ci95) if self.slope_ci95 else None,
                "prefactor_ci95": list(self.prefactor_ci95) if self.prefactor_ci95 else None,
                "open": self.open, "fixed_slope": self.fixed_slope}


def _replicate(r) -> tuple[int, float, float] | None:
    """(kind, log lo, log hi) of one replicate: a value, a (lo, hi) bracket, or an open one with
    hi None/inf (B* >= lo) or lo None/0 (B* <= hi). None: nothing usable."""
    if is_number(r):
        lo = hi = float(r)
    elif isinstance(r, (tuple, list)) and len(r) == 2:
        lo, hi = (None if v is None else float(v) for v in r)
    else:
        return None
    lo = None if lo is None or lo <= 0 else lo
    hi = None if hi is None or math.isinf(hi) else hi
    if lo is not None and not math.isfinite(lo) or hi is not None and not math.isfinite(hi):
        return None
    if lo is None and hi is None or (lo is not None and hi is not None and lo > hi):
        return None
    if lo is None:
        return BELOW, -math.inf, math.log(hi)
    if hi is None:
        return ABOVE, math.log(lo), math.inf
    return EXACT, math.log(lo), math.log(hi)


def _points(x, ys) -> list[tuple[float, list]]:
    points = []
    for a, reps in zip(x, ys):
        if is_number(reps) or reps is None or (isinstance(reps, tuple) and len(reps) == 2
                                              and not isinstance(reps[0], (tuple, list))):
            reps = [reps]
        got = [p for p in (_replicate(r) for r in reps) if p is not None]
        if got and is_number(a) and math.isfinite(float(a)) and float(a) > 0:
            points.append((math.log(float(a)), got))
    return points


def _em(lx, kind, y, fixed_slope):
    """Tobit EM over resamples: lx (N,), kind (N,), y (R, N) (the value, or the censoring
    bound); returns (a, slope, s, loglik), each (R,)."""
    exact, above = kind == EXACT, kind == ABOVE
    # Start from least squares with each censored value at its bound.
    a, b = _ls(lx, y, fixed_slope)
    resid = y - (a[:, None] + b[:, None] * lx)
    s = np.maximum(np.sqrt((resid ** 2).mean(axis=1)), 0.1)
    for _ in range(_EM_ITER):
        mu = a[:, None] + b[:, None] * lx
        alpha = (y - mu) / s[:, None]
        lam_a = np.exp(_log_phi(alpha) - log_norm_sf(alpha))       # above: phi/Q(alpha)
        lam_b = np.exp(_log_phi(alpha) - log_norm_sf(-alpha))      # below: phi/Phi(alpha)
        ey = np.where(exact, y, np.where(above, mu + s[:, None] * lam_a,
                                          mu - s[:, None] * lam_b))
        var = np.where(exact, 0.0, s[:, None] ** 2 * np.where(
            above, 1 + alpha * lam_a - lam_a ** 2, 1 - alpha * lam_b - lam_b ** 2))
        na, nb = _ls(lx, ey, fixed_slope)
        ns = np.maximum(np.sqrt((((ey - (na[:, None] + nb[:, None] * lx)) ** 2)
                                 + np.maximum(var, 0.0)).mean(axis=1)), _S_FLOOR)
        moved = max(np.abs(na - a).max(), np.abs(nb - b).max(), np.abs(ns - s).max())
        a, b, s = na, nb, ns
        if moved < _TOL:
            break
    mu = a[:, None] + b[:, None] * lx
    z = (y - mu) / s[:, None]
    ll = np.where(exact, _log_phi(np.where(exact, z, 0.0)) - np.log(s)[:, None],
                  np.where(above, log_norm_sf(z), log_norm_sf(-z)))
    return a, b, s, ll.sum(axis=1)


def _ls(lx, y, fixed_slope):
    """Least-squares (a, slope) of y (R, N) on lx (N,), or (mean(y - lx), 1)."""
    if fixed_slope:
        return (y - lx).mean(axis=1), np.ones(y.shape[0])
    mx = lx.mean()
    slope = ((y - y.mean(axis=1, keepdims=True)) * (lx - mx)).sum(axis=1) / ((lx - mx) ** 2).sum()
    return y.mean(axis=1) - slope * mx, slope


def _design(points, rng=None, resamples=0):
    """lx (N,), kind (N,), y (R, N): the replicates, or R bootstrap resamples of them (each
    point's replicates drawn with replacement, closed brackets log-uniformly inside)."""
    lx, kind, cols = [], [], []
    for x, reps in points:
        arr = np.array([(kd, lo, hi) for kd, lo, hi in reps])
        if rng is None:
            pick = arr[None]                                              # (1, k, 3)
            u = np.full(pick.shape[:2], 0.5)
        else:
            pick = arr[rng.integers(0, len(arr), size=(resamples, len(arr)))]  # (R, k, 3)
            u = rng.random(pick.shape[:2])
        kd, lo, hi = pick[..., 0], pick[..., 1], pick[..., 2]
        # A closed bracket: its geometric mean (u = 1/2), or a log-uniform draw in a resample.
        # Kinds are per (resample, replicate): a resample may pick an open one or not.
        lo_f, hi_f = np.where(np.isfinite(lo), lo, 0.0), np.where(np.isfinite(hi), hi, 0.0)
        val = np.where(kd == EXACT, lo_f + u * (hi_f - lo_f), np.where(kd == ABOVE, lo, hi))
        for j in range(arr.shape[0]):
            lx.append(x)
            kind.append(kd[:, j])
            cols.append(val[:, j])
    return np.array(lx), np.stack(kind, axis=1).astype(int), np.stack(cols, axis=1)


def _fit(points, fixed_slope, rng=None, resamples=0):
    """(a, slope, s, loglik), each (R,): the fit (R = 1) or its bootstrap resamples. A
    resample's replicates may differ in kind, so rows that share a pattern of kinds are fitted
    together; a resample with no exact value has no finite fit (NaN: any line beyond its open
    brackets maximises the likelihood)."""
    lx, kind, y = _design(points, rng, resamples)
    out = [np.full(len(y), np.nan) for _ in range(4)]
    patterns, inverse = np.unique(kind, axis=0, return_inverse=True)
    for p, pattern in enumerate(patterns):
        if not (pattern == EXACT).any():
            continue
        rows = np.flatnonzero(inverse.ravel() == p)
        for o, v in zip(out, _em(lx, pattern, y[rows], fixed_slope)):
            o[rows] = v
    return out


def _scaling_fit(x, ys, fixed_slope, level, resamples, seed) -> CensoredPowerLaw:
    points = _points(x, ys)
    n = len(points)
    n_open = sum(kd != EXACT for _, reps in points for kd, _, _ in reps)
    closed = power_law_fit(x, [_closed_only(r) for r in ys]) if not fixed_slope else None
    if n == 0 or (not fixed_slope and len({p[0] for p in points}) < 2):
        return CensoredPowerLaw(n, None, None, None, None, None, None, n_open, fixed_slope,
                                closed)
    if all(kd != EXACT for _, reps in points for kd, _, _ in reps):
        # Only open brackets: the likelihood is maximised by any line beyond them.
        return CensoredPowerLaw(n, None, None, None, None, None, None, n_open, fixed_slope,
                                closed)
    a, b, s, ll = (float(v[0]) for v in _fit(points, fixed_slope))
    slope_ci = pre_ci = None
    if any(len(reps) > 1 or reps[0][1] < reps[0][2] for _, reps in points):
        rng = np.random.default_rng(seed)
        ba, bb, _, _ = _fit(points, fixed_slope, rng, resamples)
        tail = (1.0 - level) / 2.0
        q = lambda v: tuple(float(e) for e in np.nanquantile(v, [tail, 1.0 - tail]))  # noqa: E731
        pre_ci = tuple(math.exp(e) for e in q(ba))
        slope_ci = None if fixed_slope else q(bb)
    return CensoredPowerLaw(n, b, math.exp(a), s, ll, slope_ci, pre_ci, n_open, fixed_slope,
                            closed)


def _closed_only(reps):
    """The replicates power_law_fit can hold (values and closed brackets)."""
    if is_number(reps) or reps is None:
        return reps
    if isinstance(reps, tuple) and len(reps) == 2 and not isinstance(reps[0], (tuple, list)):
        reps = [reps]
    keep = [r for r in reps if (p := _replicate(r)) is not None and p[0] == EXACT]
    return [tuple(r) if isinstance(r, list) else r for r in keep]


def censored_power_law(x: Iterable[Any], ys: Iterable[Any], level: float = 0.95,
                       resamples: int = CURVE_RESAMPLES,
                       seed: int = BOOTSTRAP_SEED) -> CensoredPowerLaw:
    """Fit B* = prefactor * x^slope. ys[i]: one replicate or a sequence of them, each a value, a
    closed bracket (lo, hi) or an open one (lo, None): B* >= lo, (None, hi): B* <= hi."""
    return _scaling_fit(list(x), list(ys), False, level, resamples, seed)


def fixed_fraction(x: Iterable[Any], ys: Iterable[Any], level: float = 0.95,
                   resamples: int = CURVE_RESAMPLES,
                   seed: int = BOOTSTRAP_SEED) -> CensoredPowerLaw:
    """Fit B* = c * x on the same observations (prefactor = c, slope 1 fixed)."""
    return _scaling_fit(list(x), list(ys), True, level, resamples, seed)


def compare_scaling(x: Iterable[Any], ys: Iterable[Any], **kw) -> dict:
    """The power law against the fixed fraction of n, on the same observations: both fits,
    their AIC and the likelihood-ratio test of slope = 1 (p-value: chi-square, one degree of
    freedom, Q(sqrt(LR)) * 2)."""
    x, ys = list(x), list(ys)
    power, frac = censored_power_law(x, ys, **kw), fixed_fraction(x, ys, **kw)
    lr = p = None
    if power.loglik is not None and frac.loglik is not None:
        lr = max(0.0, 2.0 * (power.loglik - frac.loglik))
        p = float(2.0 * norm_sf(math.sqrt(lr)))
    better = None
    if power.aic is not None and frac.aic is not None:
        better = "power_law" if power.aic < frac.aic else "fixed_fraction"
    return {"power_law": power.to_json(), "fixed_fraction": frac.to_json(),
            "likelihood_ratio": lr, "p_slope_one": p, "lower_aic": better}


__all__ = ["Curve", "logistic_curve", "separation", "CensoredPowerLaw", "censored_power_law",
           "fixed_fraction", "compare_scaling", "log_norm_sf", "norm_sf", "CURVE_RESAMPLES"]
