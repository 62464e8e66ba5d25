"""`adamlab critical-batch`: the critical batch size of one configuration, seed by seed
(adamlab/sweep/critical.py), through a results store so a killed search resumes.

Every config field is a flag (as for `train`) except batch_size, which is what is searched, and
seed (use --seeds). Exit status: 0, or 1 when a run of the search failed (listed on stderr), 2 for a
usage error.
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys

from ..core.errors import ConfigError
from ..sweep import MissingExtra, Store, StoreError
from ..sweep.bisect import DEFAULT_MAX_UNDECIDED
from ..sweep.critical import CURVE_POINTS, HORIZONS, critical_batch
from . import UsageError
from .options import add_config_flags, config_from_args

DEFAULT_STORE = "critical-batch.sqlite"


def register(sub) -> None:

    p = sub.add_parser(
        "critical-batch", help="find the critical batch size B* of a config by bisection",
        description="Find the critical batch size B* (learns the feature below, memorises noise "
        "above) of one configuration for each seed: bisection over the integers 1..n on a log "
        "scale, using the report's regime rules. Per seed: the bracket [largest B that learns, "
        "smallest B that memorises] and B* = its geometric mean; over seeds: the mean with a 95% "
        "bootstrap interval, and a logistic fit of P(learns | B) over all seeds' runs (B* at "
        "1/2; only a bracket when the outcomes are separable); beside it the theory's n / log(1/(lambda*eta)). Runs go through the "
        "store: runs already there (any sweep's) are reused, and a killed search resumes.")
    add_config_flags(p)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], metavar="S",
                   help="seeds to search, one B* each (default: 0 1 2)")
    p.add_argument("--store", default=DEFAULT_STORE, metavar="PATH",
                   help=f"SQLite results store (default: ./{DEFAULT_STORE}; may be shared with "
                   "sweeps and `adamlab reproduce`'s OUT/runs.sqlite, whose runs are reused)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="parallel runs (default: the number of cores)")
    p.add_argument("--backend", choices=("local", "ray", "batched"), default="local",
                   help="local: worker processes; ray: a Ray cluster (adamlab[ray]); batched: "
                   "each round's runs of equal batch size step together in this process (needs "
                   "--engine batched; the GPU path with --device cuda)")
    p.add_argument("--address", default=None, metavar="ADDR",
                   help="Ray cluster address (default: a local Ray on 127.0.0.1)")
    p.add_argument("--max-undecided", type=int, default=DEFAULT_MAX_UNDECIDED, metavar="K",
                   help="stop a seed's search once K undecided batch sizes (stuck, mixed, "
                   f"diverged, failed) lie inside its bracket (default {DEFAULT_MAX_UNDECIDED})")
    p.add_argument("--resolution", type=float, default=1.0, metavar="R",
                   help="stop a seed's search once b_high <= R * b_low (default 1: only when the "
                   "two are adjacent integers)")
    p.add_argument("--curve-seeds", type=int, default=0, metavar="N",
                   help="after the bisection, run N further seeds (the smallest integers "
                   "not in --seeds) at --curve-points log-spaced batch sizes around the switch "
                   "the brackets show, so the logistic curve of P(learns | B) rests on every "
                   "one of them at every grid point, beside the bisection's probes; 8 or more "
                   "for a curve whose width means something (default 0: the bisection's runs "
                   "only)")
    p.add_argument("--curve-points", type=int, default=CURVE_POINTS, metavar="P",
                   help=f"batch sizes of the curve's grid (default {CURVE_POINTS})")
    p.add_argument("--horizon", choices=HORIZONS, default="budget",
                   help="judge each probe at its budget (--epochs), or at its end state: a "
                   "probe still moving at the budget is continued from its saved state until it "
                   "settles or reaches the cap (10^5 epochs / 2x10^6 steps), and the bisection "
                   "follows that regime (default: budget)")
    p.add_argument("--retry-failed", action="store_true",
                   help="run the store's `failed` runs of this search again")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object: config, seeds (b_low, b_high, b_star, ...), "
                   "b_star (mean, ci95), curve (the logistic fit of P(learns | B) over the "
                   "seeds' runs: b_star, interval, width, counts), censored (B* only a bracket), "
                   "grid (the curve's own runs, with --curve-seeds), theory")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True,
                   help="progress bars and a line per round on stderr (default: on)")
    p.set_defaults(func=run)


def curve_seeds(seeds: list[int], count: int) -> list[int]:
    """`count` seeds for the curve's grid: the smallest integers not among the searched seeds
    (whose stored runs feed their bisection; [] for 0)."""
    return list(itertools.islice((s for s in itertools.count() if s not in seeds), count))


def run(args) -> int:

    if args.cfg_batch_size is not None:
        raise UsageError("--batch-size: the batch size is what critical-batch searches "
                         "(over 1..n); leave it out")
    if args.cfg_seed is not None:
        raise UsageError("--seed: use --seeds S [S ...] (one search per seed)")
    if min(args.seeds) < 0 or len(set(args.seeds)) != len(args.seeds):
        raise UsageError(f"--seeds: must be distinct integers >= 0, got "
                         f"{' '.join(map(str, args.seeds))}")
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers: must be an integer >= 1, got {args.workers}")
    if args.max_undecided < 1:
        raise UsageError(f"--max-undecided: must be an integer >= 1, got {args.max_undecided}")
    if not args.resolution >= 1.0 or args.resolution == float("inf"):
        raise UsageError(f"--resolution: must be a finite number >= 1, got {args.resolution}")
    if args.curve_seeds < 0:
        raise UsageError(f"--curve-seeds: must be an integer >= 0, got {args.curve_seeds}")
    if args.curve_points < 2:
        raise UsageError(f"--curve-points: must be an integer >= 2, got {args.curve_points}")
    if args.address is not None and args.backend != "ray":
        raise UsageError("--address: only with --backend ray")
    config = config_from_args(args)
    if config.task != "synthetic":
        raise ConfigError(f"task: critical-batch searches the synthetic task (its n is fixed), "
                          f"got {config.task!r}")
    try:
        store = Store(args.store)
    except StoreError as e:
        raise UsageError(str(e)) from None
    print(f"critical-batch: {config.optimizer}, n={config.n}, lr {config.lr:g}, weight_decay "
          f"{config.weight_decay:g}, {config.epochs} epochs, seeds "
          f"{' '.join(map(str, args.seeds))}; store {args.store}", file=sys.stderr)
    with store:
        try:
            result = critical_batch(config, args.seeds, store, workers=args.workers,
                                    backend=args.backend, address=args.address,
                                    progress=args.progress, retry_failed=args.retry_failed,
                                    max_undecided=args.max_undecided,
                                    resolution=args.resolution, horizon=args.horizon,
                                    curve_seeds=curve_seeds(args.seeds, args.curve_seeds),
                                    curve_points=args.curve_points)
        except (MissingExtra, StoreError) as e:
            raise UsageError(str(e)) from None
    if args.json:
        print(json.dumps(result.to_json(), sort_keys=True, allow_nan=False))
    else:
        print("\n".join(result.lines()))
    failed = [(s.seed, p.batch_size) for s in result.seeds for p in s.search.result().probes
              if p.regime == "failed"]
    for seed, b in failed:
        print(f"  failed: seed {seed}, batch_size {b} (see: adamlab runs {args.store} --where "
              f"status=failed)", file=sys.stderr)
    return 1 if failed else 0
