"""The rules that turn runs into observed regimes and claims into verdicts: one place, stated in
the report ("How to read this report"), shared by every report item and by `adamlab
critical-batch`.
"""
from __future__ import annotations

from dataclasses import dataclass

# Thresholds that turn final errors into an observed regime (stated in the report).
LEARNS_TEST_ERROR = 0.1      # test error below this: the feature was learned
MEMORISES_TEST_ERROR = 0.3   # train error ~0 and test error at least this: noise was memorised
STUCK_TRAIN_ERROR = 0.25     # train error above this: the model never fit the training set
FIT_TRAIN_ERROR = 0.05

# The presets compare mini batch (B = 2, n/B = 100 steps an epoch) with large batch (B = 100,
# n/B = 2); a batch size above this counts as "large" in the verdicts.
MINI_BATCH_MAX = 10

OBSERVED = ("learns_feature", "memorises_noise", "stuck_at_init", "mixed", "diverged")


def observed_regime(run: dict) -> str:
    if run["status"] != "ok":
        return "diverged"
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


def majority(labels: list[str]) -> str:
    """The label of most seeds; 'mixed' when no label has a strict majority."""
    if not labels:
        return "mixed"
    top = max(set(labels), key=labels.count)
    return top if labels.count(top) * 2 > len(labels) else "mixed"




# ---- findings --------------------------------------------------------------------------------
@dataclass
class Finding:
    claim: str
    observed: str
    verdict: str  # "reproduced", "partly reproduced", "not reproduced"

    def line(self) -> str:
        return f"- **{self.verdict}**: {self.claim} Observed: {self.observed}"


def verdict(k: int, n: int) -> str:
    if n == 0:
        return "not measured"
    return "reproduced" if k == n else ("partly reproduced" if k > 0 else "not reproduced")



def how_to_read() -> str:
    return (f"Observed regime of a run: **stuck at initialisation** when its train error is above "
            f"{STUCK_TRAIN_ERROR}; else **learns the feature** when its test error is below "
            f"{LEARNS_TEST_ERROR}; else **memorises noise** when its train error is at most "
            f"{FIT_TRAIN_ERROR} and its test error at least {MEMORISES_TEST_ERROR}; otherwise "
            f"**mixed**. A cell's observed regime is the majority of its seeds. Predicted regimes "
            f"come from `adamlab theory` (orders of magnitude: hidden constants set to 1).")

