"""A synthetic run's observed regime (learns the feature, memorises noise, stuck at
initialisation, mixed) from its final errors, and whether its trajectories have settled enough for
that regime to be read (`settling`). Shared by the report items and `adamlab critical-batch`.

A run whose feature learning or noise memorisation is still moving at the end is "still_moving"
and counts neither for nor against a claim.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from ..core.verdicts import FIT_TRAIN_ERROR

# Thresholds that turn final errors into an observed regime (stated in the report).
LEARNS_TEST_ERROR = 0.1      # test error below this: the feature was learned
MEMORISES_TEST_ERROR = 0.3   # train error ~0 and test error at least this: noise was memorised
STUCK_TRAIN_ERROR = 0.25     # train error above this: the model never fit the training set

OBSERVED = ("learns_feature", "memorises_noise", "stuck_at_init", "mixed", "diverged",
            "still_moving")
# How each regime reads in findings (core/verdicts.py `shares`).
REGIME_WORDS = {"learns_feature": "learns the feature", "memorises_noise": "memorises noise",
                "stuck_at_init": "stuck at initialisation", "mixed": "mixed",
                "diverged": "diverged", "still_moving": "still moving"}


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
# First measured on 10^4-epoch runs of the App. D.2 setting (seeds 0-1, fast engine; a 2000-epoch
# run is the first fifth of the same trajectory). "moved": max - min of a quantity over the last
# tenth of the run, as a fraction of the run's scale (the largest |feature learning| or |noise
# memorisation| at the end: the quantities compete on that scale in the margin).
# * Moving, at 2000 epochs: the table's large batch 4.9-8.4% (noise memorisation still rising;
#   Adam's test error 0.67-0.69 there, 0.48-0.49 at 10^4); (beta1, beta2) = (0, 0.5) at B = 100
#   8.5-9.4%, its test error 0.18-0.28 (mixed) there and 0.000-0.013 (learns the feature) at
#   10^4; AdamW lambda = 1 at B = 200 5.9-6.2%; AdamW B = 50 10-13%.
# * Settled, at 10^4 epochs: at most 3.2% (AdamW B = 100, test error 0.76: 2.1-2.9%; AdamW
#   B = 2, Stage II eroding the memorised noise: 2.8-2.9%; AdamW lambda = 1 at B = 10 and 200:
#   at most 3.2%; Adam B = 2: 0.0%).
# * Stuck runs (Adam lambda = 0.05) keep every quantity below 1e-5: flat at zero under the floor.
# What the first rule missed: it had a "fitted, margin growing" branch that let a fitted run's
# features keep growing (Adam lambda = 1e-5 at B = 100: one class's feature 0.75 -> 0.86 over
# the last tenth of 10^4 epochs). Continued from its saved state (`adamlab endstate table --only
# batch_size=100`), the table's Adam B = 100 seed 0 went on: feature 0.86 -> 1.93 -> 4.22 ->
# 6.29, smallest noise memorisation 1.35 -> 0.75 -> 0 -> 0, test error 0.487 -> 0.370 -> 0.202
# -> 0.261 at 10^4, 2x10^4, 5x10^4, 10^5 epochs (seed 1 alike): it left the memorising regime.
# So the rule now reads both features without exemption, and the test error itself; the
# measured out-of-sample error rates are in docs/results.md
# ("Settling rule": benchmarks/settling_validation.py).
SETTLE_WINDOW = 0.1        # the last tenth of the run's epochs
SETTLE_FRACTION = 0.04     # moved less than 4% of the run's scale: settled (between the
                           # settled runs' <= 3.2% and the moving ones' >= 4.9% above)
SETTLE_FLOOR = 0.1         # the scale is at least 0.1: five times the initial value of every
                           # quantity (sigma0 = 0.01: max over m = 20 filters of N(0, 1e-4) ~ 0.02)
SETTLE_TEST_ERROR = 0.01   # the test error moved less than 0.01 (absolute) over the window: a
                           # tenth of the gap between 0 and LEARNS_TEST_ERROR, and a twentieth of
                           # the gap between it and MEMORISES_TEST_ERROR, so a run that settles
                           # keeps its regime unless the drift is sustained for tens of windows.
                           # Not read while every quantity is under SETTLE_FLOOR: a model at its
                           # initialisation outputs ~0 and its test error is sign noise (Adam
                           # lambda = 0.05, `adamlab reproduce --quick`: test error jumping by
                           # 0.58-0.66 within the window while every quantity stays at 0)
MARGIN_GROWTH = 0.01       # "fitted, margin growing": the train loss falls by at least 1% over
                           # the last tenth (its mean margin, about -log(loss), grows by >= 0.01)

FEATURE_METRICS = ("feature_learning_pos", "feature_learning_neg")
NOISE_METRICS = ("noise_memorisation_min", "noise_memorisation_max")
SETTLE_METRICS = FEATURE_METRICS + NOISE_METRICS
REQUIRED = SETTLE_METRICS + ("test_error",)  # settling cannot be judged without these
TRAJECTORY_NAMES = REQUIRED + ("train_error", "train_loss")
# With K > 2 classes (SyntheticConfig.classes) each class's feature is logged as
# feature_learning_class<j> instead of the pos/neg pair: those are the run's features then.
CLASS_FEATURE = re.compile(r"feature_learning_class\d+")


def feature_metrics(names) -> tuple[str, ...]:
    """The feature-learning trajectories among `names`: every class's for K classes, else the
    two-class pair."""
    per_class = sorted((k for k in names if CLASS_FEATURE.fullmatch(k)),
                       key=lambda k: int(k[len("feature_learning_class"):]))
    return tuple(per_class) or FEATURE_METRICS


@dataclass(frozen=True)
class Settling:
    """Whether a run's trajectories have settled over the last SETTLE_WINDOW of its epochs.

    how: "flat" (every feature and noise quantity moved less than SETTLE_FRACTION of the scale
    and the test error less than SETTLE_TEST_ERROR), "fitted, margin growing" (flat as well, with
    train error 0 and the train loss still falling by MARGIN_GROWTH: the fit only grows more
    confident), "still moving", or "no trajectories" (nothing to judge: not settled, so its
    regime is never read from numbers that were not checked).
    moved: quantity -> how far it moved over the window, as a fraction of `scale` (test_error:
    in absolute units)."""

    settled: bool
    how: str
    scale: float = math.nan
    window: tuple = (math.nan, math.nan)
    moved: dict = field(default_factory=dict)

    def describe(self) -> str:
        if not self.moved:
            return self.how
        # the quantity furthest past (or closest to) its threshold
        ratio = {k: v / (SETTLE_TEST_ERROR if k == "test_error" else SETTLE_FRACTION)
                 for k, v in self.moved.items()}
        top = max(ratio, key=ratio.get)
        if top == "test_error":
            return (f"{self.how}: over epochs {self.window[0]:g}-{self.window[1]:g} the test "
                    f"error moved {self.moved[top]:.3f}")
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
    """Has the run settled? `trajectories`: name -> [(epoch, value), ...] for REQUIRED
    (both features, or every class's with K classes: `feature_metrics`; both noise
    memorisations; the test error) and "train_error", "train_loss"
    (as logged; report/context.py reads them from the store).

    Settled when, over the last SETTLE_WINDOW of the epochs, every quantity of SETTLE_METRICS
    moved (max - min) by less than SETTLE_FRACTION x scale, where scale = max(SETTLE_FLOOR, the
    largest |final value| among them), and the test error moved by less than SETTLE_TEST_ERROR
    (unless every quantity is under SETTLE_FLOOR: a model at initialisation, whose test error
    is sign noise).
    A settled run that fits its training set (train error 0 at every log of the window) while
    its train loss still falls by MARGIN_GROWTH is labelled "fitted, margin growing". A run
    missing any REQUIRED trajectory (fewer than two logs) is not settled ("no trajectories")."""
    settle = feature_metrics(trajectories) + NOISE_METRICS
    required = settle + ("test_error",)
    series = {k: list(trajectories.get(k) or ()) for k in required + ("train_error", "train_loss")}
    if any(len(series[k]) < 2 for k in required):
        return Settling(False, "no trajectories")
    end = max(float(e) for k in required for e, _ in series[k])
    start = end * (1.0 - SETTLE_WINDOW)
    windows = {k: _window(series[k], start) for k in required}
    if any(not all(math.isfinite(v) for v in w) for w in windows.values()):
        return Settling(False, "still moving (non-finite values)", window=(start, end))
    scale = max([SETTLE_FLOOR] + [abs(windows[k][-1]) for k in settle])
    moved = {k: (max(windows[k]) - min(windows[k])) / scale for k in settle}
    moved["test_error"] = max(windows["test_error"]) - min(windows["test_error"])
    common = dict(scale=scale, window=(start, end), moved=moved)
    at_init = scale == SETTLE_FLOOR  # every quantity under the floor: its errors are sign noise
    flat = (all(moved[k] < SETTLE_FRACTION for k in settle)
            and (at_init or moved["test_error"] < SETTLE_TEST_ERROR))
    if not flat:
        return Settling(False, "still moving", **common)
    errors = _window(series["train_error"], start) if series["train_error"] else []
    loss = _window(series["train_loss"], start) if series["train_loss"] else []
    fitted = bool(errors) and all(e == 0 for e in errors)
    growing = len(loss) >= 2 and loss[-1] <= (1.0 - MARGIN_GROWTH) * loss[0]
    return Settling(True, "fitted, margin growing" if fitted and growing else "flat", **common)


def settling_of(store, run: dict) -> Settling | None:
    """`settling` of a stored run's trajectories; None for a run with no regime to settle
    (not a finished synthetic run: other tasks log other metrics, and a diverged or failed run
    has no regime). Shared by the report items (Context.attach_settling) and `adamlab
    critical-batch` (adamlab/sweep/critical.py)."""
    if run["status"] != "ok" or run["config"].get("task", "synthetic") != "synthetic":
        return None
    traj: dict = {}
    for _, epoch, split, name, value in store.metrics(run["id"]):
        key = f"{split}_{name}" if name in ("error", "loss") else name
        if key in TRAJECTORY_NAMES or CLASS_FEATURE.fullmatch(key):
            traj.setdefault(key, []).append((epoch, value))
    return settling(traj)


