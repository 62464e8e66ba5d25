"""`adamlab theory`: what the paper's theorems predict for one config (adamlab/synthetic/theory.py).

Every config field is a flag (as for `train`); `--json` prints one JSON object."""
from __future__ import annotations

import argparse
import json

from ..core.errors import ConfigError
from ..synthetic.theory import DEFAULT_MARGIN, MEMORY_CHOICES, format_report, predict
from .options import add_config_flags, config_from_args


def _number_above(lo: float):
    def parse(raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            value = float("nan")
        if not value > lo or value == float("inf"):
            raise argparse.ArgumentTypeError(f"must be a finite number > {lo:g}, got {raw!r}")
        return value
    return parse


def register(sub) -> None:

    p = sub.add_parser("theory", help="the paper's boundaries and predicted regime for a config",
                       description="The paper's quantities (Thms 4.1-4.5, Cors 4.3, 4.6) for one "
                       "config: weight-decay ceiling and window, Adam's memory against n/B, noise "
                       "against n/B, and the predicted regime. Constants and log factors are "
                       "unknown: these are orders of magnitude.")
    add_config_flags(p)
    p.add_argument("--margin", type=_number_above(1.0), default=DEFAULT_MARGIN,
                   help="a comparison within this factor of its boundary is 'near' it "
                   f"(default sqrt(10) = {DEFAULT_MARGIN:.3g})")
    p.add_argument("--adamw-upper", type=_number_above(0.0), default=1.0,
                   help="the O(1) upper end of AdamW's weight-decay window (default 1)")
    p.add_argument("--memory", choices=MEMORY_CHOICES, default="lambda_eta",
                   help="Adam's memory: log(1/(lambda*eta)) (default), log(1/eps), or the max")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args) -> int:

    config = config_from_args(args)
    if config.task != "synthetic":
        raise ConfigError(f"task: the theory covers the synthetic task only, got {config.task!r}")
    report = predict(config, margin=args.margin, adamw_upper=args.adamw_upper,
                     memory=args.memory)
    if args.json:
        print(json.dumps(report.to_dict(), sort_keys=True))
    else:
        print(format_report(report))
    return 0
