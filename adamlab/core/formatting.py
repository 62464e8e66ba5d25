"""How numbers read in every table, finding and caption: significant digits, 'n/a' for a missing
value, and 'mean ± std (n=k)' for a statistic over seeds."""
from __future__ import annotations

import math
from typing import Any

MISSING = "n/a"
# Below this a float is the residue of a quantity that is zero up to rounding or decay (an output
# weight decayed for 10^5 steps reads -9.6e-145); no setting or metric of the study is this small.
RESIDUE = 1e-30
NO_SPREAD = "–"  # the std of one seed: there is none (adamlab/core/stats.py)


def fmt_number(x: Any, digits: int = 3) -> str:
    """`digits` significant digits (Python's g format, compact exponent); 'n/a' for None/NaN;
    '≈0' for a nonzero float smaller than `RESIDUE` in size."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return MISSING
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        if x == 0:
            return "0"
        if abs(x) < RESIDUE:
            return "≈0"
        text = f"{x:.{digits}g}"
        if "e" in text:  # 1e-05 -> 1e-5, 1.23e+04 -> 1.23e4
            mant, exp = text.split("e")
            text = f"{mant}e{int(exp)}"
        return text
    return str(x)


def fmt_mean_std(mean: float | None, std: float | None, n: int, digits: int = 3) -> str:
    if n == 0:
        return f"{MISSING} (n=0)"
    if std is None:  # one seed: no spread
        return f"{fmt_number(mean, digits)} ± {NO_SPREAD} (n={n})"
    return f"{fmt_number(mean, digits)} ± {fmt_number(std, digits)} (n={n})"
