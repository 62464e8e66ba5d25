"""`adamlab endstate SPEC --store PATH`: the end state of a sweep's synthetic runs
(adamlab/sweep/endstate.py): each run judged at its budget T, the runs still moving continued from
their saved states to 2T, 5T, 10T (capped at --cap epochs or --cap-steps steps) until the settling rule says settled.
Prints, per run, its regime at T, its regime at the end and where it settled, or "still moving at
the cap". Exit status 0, 2 for a usage error.
"""
from __future__ import annotations

import argparse
import json

from ..sweep import MissingExtra, Store, StoreError, load_spec
from ..sweep.endstate import CAP_EPOCHS, CAP_STEPS, STAGES, end_state_table, end_states
from . import UsageError


def register(sub) -> None:
    p = sub.add_parser("endstate", help="continue a sweep's still-moving runs to their end state",
                       description="Judge each synthetic run of SPEC (a TOML sweep or preset) at "
                       "its epochs T with the settling rule, and continue the runs still moving "
                       "from their saved states to 2T, 5T and 10T (at most --cap epochs) until "
                       "they settle. Runs are reused from the store; a run at T with a kept "
                       "state (`adamlab reproduce` keeps them) costs only the extra epochs.")
    p.add_argument("spec", metavar="SPEC", help="sweep file (TOML) or preset name")
    p.add_argument("--store", required=True, metavar="PATH",
                   help="SQLite results store (e.g. adamlab reproduce's OUT/runs.sqlite)")
    p.add_argument("--variant", default=None, metavar="NAME",
                   help="the sweep's variant (e.g. quick, short)")
    p.add_argument("--only", nargs="+", default=[], metavar="FIELD=VALUE",
                   help="keep only the sweep's runs with these settings (e.g. batch_size=100)")
    p.add_argument("--cap", type=int, default=CAP_EPOCHS, metavar="EPOCHS",
                   help=f"stop continuing at this many epochs (default {CAP_EPOCHS})")
    p.add_argument("--cap-steps", type=int, default=CAP_STEPS, metavar="STEPS",
                   help=f"... or at this many steps, whichever comes first (default {CAP_STEPS}: "
                   f"a mini-batch run is not continued for hours)")
    p.add_argument("--stages", type=int, nargs="+", default=list(STAGES), metavar="K",
                   help="continue to K x T for each K (default: "
                   f"{' '.join(map(str, STAGES))})")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="parallel runs (default: the number of cores)")
    p.add_argument("--json", action="store_true", help="print one JSON list, a run per item")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=False,
                   help="progress bars on stderr")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.cap < 1 or args.cap_steps < 1 or any(k <= 1 for k in args.stages):
        raise UsageError("--cap and --cap-steps must be >= 1 and every --stages K > 1")
    spec = load_spec(args.spec, variant=args.variant)
    configs = [c for c in spec.configs if c.task == "synthetic"]
    for item in args.only:
        field, sep, value = item.partition("=")
        if not sep or not configs or not hasattr(configs[0], field):
            raise UsageError(f"--only: expected FIELD=VALUE with a config field, got {item!r}")
        configs = [c for c in configs if str(getattr(c, field)) == value]
    if not configs:
        raise UsageError(f"{args.spec}: no synthetic runs to continue")
    try:
        with Store(args.store) as store:
            ends = end_states(configs, store, stages=tuple(sorted(args.stages)), cap=args.cap,
                              cap_steps=args.cap_steps,
                              workers=args.workers, progress=args.progress,
                              name=f"endstate:{spec.name}")
    except (MissingExtra, StoreError) as e:
        raise UsageError(str(e)) from None
    if args.json:
        print(json.dumps([{"run_id": e.run_id, "config": e.config, "budget": e.budget,
                           "regime_at_budget": e.regime_at_budget, "end_epochs": e.end_epochs,
                           "regime_at_end": e.regime_at_end, "settled_at": e.settled_at,
                           "outcome": e.outcome, "how": e.how} for e in ends]))
    else:
        print(end_state_table(ends))
    return 0
