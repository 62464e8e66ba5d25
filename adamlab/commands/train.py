"""`adamlab train`: one run, every config field a flag; `--json` prints the result as one line.

`--save-state --out DIR` also writes the run's final state (DIR/state.npz); `--start-from DIR`
continues such a run to `--epochs` with the same settings otherwise (adamlab/synthetic/
continuation.py), e.g. from the paper's 10^4 epochs to 5x10^4 at the cost of the extra epochs."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ..core.state import read_state
from ..tasks import config_class, train
from . import UsageError
from .options import add_config_flags, config_from_args, overrides_from_args


def register(sub) -> None:
    p = sub.add_parser("train", help="train one run (defaults: the paper's synthetic setting)",
                       description="Train one run. Defaults are the paper's synthetic setting "
                       "(App. D.2): d=1000, n=200, s=100, Adam, lr 5e-5, betas 0.9/0.999.")
    add_config_flags(p)
    p.add_argument("--out", help="folder for config.json, meta.json, metrics.csv, summary.json")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object (the result) as the last line of stdout")
    p.add_argument("--progress", action=__import__("argparse").BooleanOptionalAction,
                   default=None, help="progress bar on stderr (default: on, off with --json)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--save-state", action="store_true",
                   help="also write the run's final state to --out as state.npz, so a later "
                   "run can continue it with --start-from")
    p.add_argument("--start-from", metavar="RUN_DIR",
                   help="continue the run saved in RUN_DIR (a --out folder written with "
                   "--save-state) to --epochs; settings not given are the saved run's, and "
                   "only epochs, engine, device and log-every may differ from them")
    p.set_defaults(func=run)


def run(args) -> int:

    if args.save_state and not args.out:
        raise UsageError("save-state: needs --out, the folder state.npz is written to")
    start = None
    if args.start_from:  # settings not given on the command line are the saved run's
        start = read_state(args.start_from, name="start-from")
        config = config_class(args.task).from_dict({**start.config,
                                                    **overrides_from_args(args)})
    else:
        config = config_from_args(args)
    if args.out:  # fail before training, not after it
        out = Path(args.out)
        if out.exists() and not out.is_dir():
            raise UsageError(f"out: {out} exists and is not a folder")
        out.mkdir(parents=True, exist_ok=True)
    progress = args.progress if args.progress is not None else not args.json
    result = train(config, out=args.out, progress=progress, start_from=start,
                   save_state=args.save_state)
    if args.save_state and result.state is None:
        print(f"adamlab: warning: save-state: run {result.status}, no state written (only a "
              f"run that finished can be continued)", file=sys.stderr)
    if args.json:
        print(json.dumps(result.final(), sort_keys=True))
    else:
        s = result.summary
        status = result.status + (f" ({result.reason})" if result.reason else "")
        compiled = result.meta.get("compile_seconds") or 0.0
        kernels = f" (+ {compiled:.1f} s compiling or loading kernels)" if compiled >= 0.05 else ""
        print(f"run {result.run_id}: {status}; {result.steps} steps in {result.seconds:.1f} s"
              f"{kernels}")
        for key in ("train_error", "test_error", "train_loss", "feature_learning",
                    "noise_memorisation"):
            if key in s:
                value = s[key]
                print(f"  {key:20s} {value:.4g}" if isinstance(value, float) else
                      f"  {key:20s} {value}")
        if args.out:
            print(f"  written to {args.out}", file=sys.stderr)
    return 0
