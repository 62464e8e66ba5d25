"""The rules that turn runs into observed regimes and claims into verdicts: one place, stated in
the report ("How to read this report"), shared by every report item and by `adamlab
critical-batch`.

A run's regime is read from its final errors, but only once its trajectories have settled
(`settling`): a run whose feature learning or noise memorisation is still moving at the end is
"still_moving" and counts neither for nor against a claim.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from ..stats import Summary, agreement

# Thresholds that turn final errors into an observed regime (stated in the report).
LEARNS_TEST_ERROR = 0.1      # test error below this: the feature was learned
MEMORISES_TEST_ERROR = 0.3   # train error ~0 and test error at least this: noise was memorised
STUCK_TRAIN_ERROR = 0.25     # train error above this: the model never fit the training set
FIT_TRAIN_ERROR = 0.05

# The presets compare mini batch (B = 2, n/B = 100 steps an epoch) with large batch (B = 100,
# n/B = 2); a batch size above this counts as "large" in the verdicts.
MINI_BATCH_MAX = 10

OBSERVED = ("learns_feature", "memorises_noise", "stuck_at_init", "mixed", "diverged",
            "still_moving")


def observed_regime(run: dict) -> str:
    """The run's regime from its final errors; "still_moving" when `run["settling"]` (attached by
    report/context.py from the run's trajectories, see `settling`) says it has not settled."""
    if run["status"] != "ok":
        return "diverged"
    settled = run.get("settling")
    if settled is not None and not settled.settled:
        return "still_moving"
    train, test = run["final"].get("train_error"), run["final"].get("test_error")
    if train is None or test is None:
        return "diverged"
    if train > STUCK_TRAIN_ERROR:
        return "stuck_at_init"
    if test < LEARNS_TEST_ERROR:
        return "learns_feature"
    if train <= FIT_TRAIN_ERROR and test >= MEMORISES_TEST_ERROR:
        return "memorises_noise"
    return "mixed"


# ---- settling: has a run's regime been decided yet? ------------------------------------------
# Measured on 10^4-epoch runs of the App. D.2 setting (seeds 0-1, fast engine; a 2000-epoch run
# is the first fifth of the same trajectory). "moved": max - min of a quantity over the last tenth
# of the run, as a fraction of the run's scale (the largest |feature learning| or |noise
# memorisation| at the end: the quantities compete on that scale in the margin).
# * Moving, at 2000 epochs: the table's large batch 4.9-8.4% (noise memorisation still rising;
#   Adam's test error 0.67-0.69 there, 0.48-0.49 at 10^4); (beta1, beta2) = (0, 0.5) at B = 100
#   8.5-9.4%, its test error 0.18-0.28 (mixed) there and 0.000-0.013 (learns the feature) at
#   10^4; AdamW lambda = 1 at B = 200 5.9-6.2%; AdamW B = 50 10-13%.
# * Settled, at 10^4 epochs: at most 3.2% (AdamW B = 100, test error 0.76: 2.1-2.9%; AdamW
#   B = 2, Stage II eroding the memorised noise: 2.8-2.9%; AdamW lambda = 1 at B = 10 and 200:
#   at most 3.2%; Adam B = 2: 0.0%).
# * Fitted, features still growing: Adam lambda = 1e-5 at B = 100 and 10^4 epochs 5.4-5.5% (one
#   class's feature 0.75 -> 0.86: Adam's L2 decay acts as lr*lambda*steps = 1e-5, nothing stops
#   it), Adam B = 2 at 2000 epochs 10-15% (features towards their 2.34 plateau); train error 0,
#   noise memorisation within 3.7%, train loss falling 6% and 22% over the last tenth: settled,
#   the fit only grows more confident. Not so Adam lambda = 1e-3 at B = 200 and 2000 epochs:
#   features 8.7%, train error 0 but train loss 0.68 falling 0.5% (margins near 0): still moving.
# * Stuck runs (Adam lambda = 0.05) keep every quantity below 1e-5: flat at zero under the floor.
SETTLE_WINDOW = 0.1        # the last tenth of the run's epochs
SETTLE_FRACTION = 0.04     # moved less than 4% of the run's scale: settled (between the
                           # settled runs' <= 3.2% and the moving ones' >= 4.9% above)
SETTLE_FLOOR = 0.1         # the scale is at least 0.1: five times the initial value of every
                           # quantity (sigma0 = 0.01: max over m = 20 filters of N(0, 1e-4) ~ 0.02)
MARGIN_GROWTH = 0.01       # "margin growing": the train loss falls by at least 1% over the last
                           # tenth (its mean margin, about -log(loss), grows by at least 0.01)

FEATURE_METRICS = ("feature_learning_pos", "feature_learning_neg")
NOISE_METRICS = ("noise_memorisation_min", "noise_memorisation_max")
SETTLE_METRICS = FEATURE_METRICS + NOISE_METRICS
TRAJECTORY_NAMES = SETTLE_METRICS + ("train_error", "train_loss")


@dataclass(frozen=True)
class Settling:
    """Whether a run's trajectories have settled over the last SETTLE_WINDOW of its epochs.

    how: "flat" (every quantity moved less than SETTLE_FRACTION of the scale), "fitted, margin
    growing" (train error 0, noise memorisation flat, train loss still falling), "still moving",
    or "no trajectories" (nothing to judge; counts as settled so a run is never dropped silently).
    moved: quantity -> how far it moved over the window, as a fraction of `scale`."""

    settled: bool
    how: str
    scale: float = math.nan
    window: tuple = (math.nan, math.nan)
    moved: dict = field(default_factory=dict)

    def describe(self) -> str:
        if not self.moved:
            return self.how
        top = max(self.moved, key=self.moved.get)
        return (f"{self.how}: over epochs {self.window[0]:g}-{self.window[1]:g} "
                f"{top.replace('_', ' ')} moved {self.moved[top]:.1%} of the run's scale "
                f"{self.scale:.3g}")


def _window(series: Sequence, start: float) -> list[float]:
    """Values logged after `start`, plus the last one at or before it (the value the window
    starts from, for a window edge that falls between logs)."""
    series = sorted((float(e), float(v)) for e, v in series)
    before = [v for e, v in series if e <= start]
    return before[-1:] + [v for e, v in series if e > start]


def settling(trajectories: Mapping[str, Sequence]) -> Settling:
    """Has the run settled? `trajectories`: name -> [(epoch, value), ...] for SETTLE_METRICS
    and "train_error", "train_loss" (as logged; report/context.py reads them from the store).

    Settled when every quantity of SETTLE_METRICS moved (max - min over the last SETTLE_WINDOW
    of the epochs) by less than SETTLE_FRACTION x scale, where scale = max(SETTLE_FLOOR, the
    largest |final value| among them); or when the run fits its training set (train error 0 at
    every log of the window), its noise memorisation moved less than that, and the train loss
    fell by at least MARGIN_GROWTH over the window (the margin grows, the fit only gets more
    confident). Otherwise "still moving"."""
    series = {k: list(trajectories.get(k) or ()) for k in TRAJECTORY_NAMES}
    if any(len(series[k]) < 2 for k in SETTLE_METRICS):
        return Settling(True, "no trajectories")
    end = max(float(e) for k in SETTLE_METRICS for e, _ in series[k])
    start = end * (1.0 - SETTLE_WINDOW)
    windows = {k: _window(series[k], start) for k in SETTLE_METRICS}
    if any(not all(math.isfinite(v) for v in w) for w in windows.values()):
        return Settling(False, "still moving (non-finite values)", window=(start, end))
    scale = max([SETTLE_FLOOR] + [abs(w[-1]) for w in windows.values()])
    moved = {k: (max(w) - min(w)) / scale for k, w in windows.items()}
    common = dict(scale=scale, window=(start, end), moved=moved)
    if all(m < SETTLE_FRACTION for m in moved.values()):
        return Settling(True, "flat", **common)
    errors = _window(series["train_error"], start)
    loss = _window(series["train_loss"], start)
    fitted = bool(errors) and all(e == 0 for e in errors)
    growing = len(loss) >= 2 and loss[-1] <= (1.0 - MARGIN_GROWTH) * loss[0]
    if fitted and growing and all(moved[k] < SETTLE_FRACTION for k in NOISE_METRICS):
        return Settling(True, "fitted, margin growing", **common)
    return Settling(False, "still moving", **common)


def settled_share(runs: Sequence[dict]) -> tuple[int, int]:
    """(settled, finished) over the finished (`ok`) runs; a run without a settling counts as
    settled."""
    done = [r for r in runs if r["status"] == "ok"]
    return sum(observed_regime(r) != "still_moving" for r in done), len(done)


def majority(labels: list[str]) -> str:
    """The label of most seeds; 'mixed' when no label has a strict majority."""
    if not labels:
        return "mixed"
    top = max(set(labels), key=labels.count)
    return top if labels.count(top) * 2 > len(labels) else "mixed"


def cell_regime(runs: Sequence[dict]) -> str:
    """A cell's regime (its seeds): "still_moving" unless a strict majority of its runs settled;
    otherwise the majority of the settled runs' regimes ('mixed' without one)."""
    labels = [observed_regime(r) for r in runs]
    settled = [x for x in labels if x != "still_moving"]
    if not labels or 2 * len(settled) <= len(labels):
        return "still_moving"
    return majority(settled)


def one_seed_majority(runs: Sequence[dict]) -> bool:
    """Would one settled seed changing its regime change the cell's majority?"""
    settled = [x for x in (observed_regime(r) for r in runs) if x != "still_moving"]
    top = cell_regime(runs)
    if top in ("still_moving", "mixed"):
        return False
    return 2 * (settled.count(top) - 1) <= len(settled)


def split_moving(runs: Sequence[dict]) -> tuple[list[dict], list[dict]]:
    """(judged, still moving): runs still moving count neither for nor against a claim; every
    other run is judged (one that did not finish counts, as not agreeing)."""
    moving = [r for r in runs if observed_regime(r) == "still_moving"]
    return [r for r in runs if observed_regime(r) != "still_moving"], moving


# ---- findings --------------------------------------------------------------------------------
VERDICTS = ("reproduced", "partly reproduced", "not reproduced", "still moving")


@dataclass
class Finding:
    claim: str
    observed: str
    verdict: str  # one of VERDICTS, or "not measured"
    still_moving: int = 0  # runs / cells / combinations left out because they were still moving
    unit: str = "runs"

    def line(self) -> str:
        unit = self.unit[:-1] if self.still_moving == 1 and self.unit.endswith("s") else self.unit
        moving = (f" ({self.still_moving} {unit} still moving, counted neither for nor "
                  f"against.)" if self.still_moving else "")
        return f"- **{self.verdict}**: {self.claim} Observed: {self.observed}{moving}"


def verdict(k: int, n: int, moving: int = 0) -> str:
    """k of the n judged (settled) runs agree; with none judged, "still moving" when some runs
    were left out as still moving, else "not measured"."""
    if n == 0:
        return "still moving" if moving else "not measured"
    return "reproduced" if k == n else ("partly reproduced" if k > 0 else "not reproduced")


def verdict_of_parts(parts: Sequence[tuple[int, int, int]]) -> str:
    """The verdict of a claim made of parts (e.g. "mini batch learns the feature" and "large
    batch memorises noise"), each (agreeing, judged, still moving): reproduced only when every
    part is; still moving when the parts judged so far all agree but some part has no settled
    run; not reproduced when no judged run agrees; otherwise partly reproduced."""
    each = [verdict(k, n, m) for k, n, m in parts]
    if not each:
        return "not measured"
    if all(v == "reproduced" for v in each):
        return "reproduced"
    if sum(k for k, _, _ in parts) == 0 and any(n for _, n, _ in parts):
        return "not reproduced"
    if all(v in ("reproduced", "still moving", "not measured") for v in each):
        return "still moving" if any(v == "still moving" for v in each) else "not measured"
    return "partly reproduced"


def agrees(k: int, n: int, unit: str = "seeds") -> str:
    """'k of n seeds as claimed (Wilson 95% CI lo-hi)', and what one seed could flip."""
    if n == 0:
        return f"no settled {unit}"
    lo, hi = agreement(k, n).ci95
    return f"{k} of {n} {unit} as claimed (Wilson 95% CI {lo:.0%}–{hi:.0%})" + one_seed_note(
        k, n, unit)


def one_seed_note(k: int, n: int, unit: str = "seeds") -> str:
    """Where one seed (or cell) could flip the verdict (k of n agree), say so."""
    one = unit[:-1] if unit.endswith("s") else unit
    if n == 1:
        return f"; one {one} only: it alone decides the verdict"
    notes = []
    if n - k == 1:
        notes.append(f"one {one} short of 'reproduced'")
    if k == 1:
        notes.append(f"one {one} from 'not reproduced'")
    return "; " + " and ".join(notes) if notes else ""


def mean_ci(summary: Summary) -> str:
    """'0.579 (95% CI 0.27–0.88, n=5)': the seeds' mean with its bootstrap interval."""
    from .tables import fmt_number

    if summary.n == 0:
        return "n/a (no settled seed)"
    if summary.ci95 is None:
        return f"{fmt_number(summary.mean)} (n=1, no interval)"
    lo, hi = summary.ci95
    return f"{fmt_number(summary.mean)} (95% CI {fmt_number(lo)}–{fmt_number(hi)}, n={summary.n})"


def straddles(summary: Summary, threshold: float, what: str = "") -> str:
    """A note when the mean's 95% interval straddles a threshold a claim rests on."""
    if summary.ci95 is None or not summary.ci95[0] < threshold <= summary.ci95[1]:
        return ""
    return (f"; {what + ' ' if what else ''}95% interval straddles the {threshold:g} threshold: "
            f"one seed could move the mean across it")


def how_to_read() -> str:
    return (f"Observed regime of a run: **stuck at initialisation** when its train error is above "
            f"{STUCK_TRAIN_ERROR}; else **learns the feature** when its test error is below "
            f"{LEARNS_TEST_ERROR}; else **memorises noise** when its train error is at most "
            f"{FIT_TRAIN_ERROR} and its test error at least {MEMORISES_TEST_ERROR}; otherwise "
            f"**mixed**. A regime is read only from a run that has **settled**: over the last "
            f"{SETTLE_WINDOW:.0%} of its epochs every feature learning (both classes) and noise "
            f"memorisation (min and max over examples) moved by less than {SETTLE_FRACTION:.0%} "
            f"of the run's scale (its largest |feature learning| or |noise memorisation| at the "
            f"end, at least {SETTLE_FLOOR:g}, so quantities that stay near 0 count as settled), "
            f"or its train error stayed 0, its noise memorisation moved less than that and its "
            f"train loss still fell by at least {MARGIN_GROWTH:.0%} (a growing margin). Any other "
            f"run is **still moving** and counts neither for nor against a claim; a cell is "
            f"still moving unless most of its seeds settled, and otherwise takes the majority "
            f"regime of its settled seeds. Statistics over seeds: the mean with its 95% "
            f"bootstrap interval, and 'k of n seeds as claimed' with its Wilson 95% interval; "
            f"where one seed could flip a verdict the finding says so. Predicted regimes come "
            f"from `adamlab theory` (orders of magnitude: hidden constants set to 1).")
