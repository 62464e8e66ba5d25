"""`adamlab reproduce`: the paper's experiments. First item: `table` (App. D.2 synthetic table)."""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("reproduce", help="the paper's experiments, figures and tables")
    p.add_argument("items", nargs="*", default=["table"], help="what to reproduce (table)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--epochs", type=int, default=None,
                   help="epochs per run (default: the paper's 10^4)")
    p.add_argument("--n-test", type=int, default=None, help="test examples (default 10^4)")
    p.add_argument("--quick", action="store_true",
                   help="a reduced version that finishes in about a minute")
    p.add_argument("--out", default="report", help="output folder (default: report)")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: cores)")
    p.add_argument("--threads", type=int, default=1, help="torch threads per worker (default 1)")
    p.set_defaults(func=run)


def run(args) -> int:
    from . import UsageError
    from ..report.paper_table import reproduce_table

    unknown = [i for i in args.items if i != "table"]
    if unknown:
        raise UsageError(f"items: unknown item {unknown[0]!r} (available: table)")
    if args.epochs is not None and args.epochs < 1:
        raise UsageError(f"--epochs: must be an integer >= 1, got {args.epochs}")
    reproduce_table(seeds=args.seeds, epochs=args.epochs, n_test=args.n_test, quick=args.quick,
                    out=args.out, workers=args.workers)
    return 0
