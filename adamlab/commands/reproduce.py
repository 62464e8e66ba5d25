"""`adamlab reproduce [ITEM...]`: the paper's experiments as a report (adamlab/report/reproduce.py).

Every item runs its preset sweeps through the results store OUT/runs.sqlite, so a second call
reuses finished runs; --quick runs the presets' reduced variants.
"""
from __future__ import annotations

import argparse
import sys

from ..report.context import BUDGETS
from ..report.items import default_items
from ..report.reproduce import ITEMS, reproduce
from ..sweep import StoreError
from ..sweep.spec import load_spec, preset_names
from . import UsageError


def register(sub) -> None:

    items = "; ".join(f"{name}: {item.description}" for name, item in ITEMS.items())
    p = sub.add_parser("reproduce", help="the paper's experiments, figures and tables as a report",
                       description=f"Items (default: every synthetic item of the paper, and "
                       f"images-anchor, images-fig1, images-fig2 when the Fashion-MNIST files are "
                       f"there; optimisers, limits, critical-batch and images-imagenet only when "
                       f"named): {items}.")
    p.add_argument("items", nargs="*", help="what to reproduce (default: every synthetic item, "
                   "plus the Fashion-MNIST image items when the data is there)")
    p.add_argument("--quick", action="store_true",
                   help="reduced presets (fewer epochs, seeds, grid points): about a minute")
    p.add_argument("--budget", default="paper",
                   help="paper: every synthetic item at the paper's 10^4 epochs (about two hours "
                   "on two cores); short: 2000 epochs, a first look whose report says so at the "
                   "top of every item (default: paper)")
    p.add_argument("--variant", default=None, metavar="NAME",
                   help="run each preset's variant NAME where it defines one (e.g. "
                   "critical-batch's 'reduced'); the other presets run in full")
    p.add_argument("--seeds", type=int, nargs="+", default=None,
                   help="override every preset's seeds (default: the presets', 0-4 for the table)")
    p.add_argument("--epochs", type=int, default=None,
                   help="override every preset's epochs (default: the presets', the paper's 10^4)")
    p.add_argument("--data-dir", default=None,
                   help="dataset folder for the real-image items (default: each dataset's own)")
    p.add_argument("--end-state", action=argparse.BooleanOptionalAction, default=None,
                   help="judge every synthetic claim at the end state too: runs still moving at "
                   "the budget continue from their saved states until they settle or reach "
                   "10^5 epochs / 2x10^6 steps (default: on, except with --budget short; "
                   "--no-end-state: the budget only)")
    p.add_argument("--out", default="report", help="output folder (default: report)")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: cores)")
    p.add_argument("--no-progress", dest="progress", action="store_false",
                   help="no progress bars on stderr")
    p.set_defaults(func=run)


def run(args) -> int:

    items, note = (args.items, None) if args.items else default_items(args.data_dir)
    if note:
        print(f"reproduce: {note}", file=sys.stderr)
    unknown = [i for i in items if i not in ITEMS]
    if unknown:
        raise UsageError(f"items: unknown item {unknown[0]!r} (available: {', '.join(ITEMS)})")

    if args.budget not in BUDGETS:
        raise UsageError(f"budget: must be one of {', '.join(BUDGETS)}, got {args.budget!r}")
    if args.quick and args.budget != "paper":
        raise UsageError(f"budget: --quick already runs the reduced presets; drop --budget "
                         f"{args.budget} or --quick")
    if args.epochs is not None and args.epochs < 1:
        raise UsageError(f"epochs: must be an integer >= 1, got {args.epochs}")
    if args.seeds is not None and min(args.seeds) < 0:
        raise UsageError(f"seeds: must be integers >= 0, got {min(args.seeds)}")
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"workers: must be an integer >= 1, got {args.workers}")
    command = "adamlab reproduce " + " ".join(
        list(args.items) + (["--quick"] if args.quick else [])
        + (["--variant", args.variant] if args.variant else [])
        + (["--budget", args.budget] if args.budget != "paper" else [])
        + (["--seeds", *map(str, args.seeds)] if args.seeds else [])
        + (["--epochs", str(args.epochs)] if args.epochs else [])
        + {None: [], True: ["--end-state"], False: ["--no-end-state"]}[args.end_state])
    if args.quick and args.variant not in (None, "quick"):
        raise UsageError(f"--quick: conflicts with --variant {args.variant}")
    if args.variant is not None:

        known = sorted({v for name in preset_names() for v in load_spec(name).variants})
        if args.variant not in known:
            raise UsageError(f"--variant: no preset defines {args.variant!r} (variants: "
                             f"{', '.join(known)})")

    try:
        out = reproduce(items, quick=args.quick, out=args.out, workers=args.workers,
                        progress=args.progress, seeds=args.seeds, epochs=args.epochs,
                        data_dir=args.data_dir, budget=args.budget, variant=args.variant,
                        note=note, command=command.strip(), end_state=args.end_state)
    except StoreError as e:  # OUT/runs.sqlite unusable, or a write to it failed
        raise UsageError(str(e)) from None
    print(out["text"])
    print(f"report: {out['paths']['html']}", file=sys.stderr)
    return 0
