"""`adamlab sweep SPEC --store PATH`: run a sweep file (or preset) into a results store, resumably.

Runs already finished in the store are skipped, so the same command after a crash, a SIGKILL or a
reboot finishes only what is missing. Exit status: 0 when every run of the sweep is in the store
as ok or diverged, 1 when some are `failed` (listed on stderr), 2 for a usage error.
"""
from __future__ import annotations

import argparse
import importlib
import json
import sqlite3
import sys
from pathlib import Path

from ..sweep import MissingExtra, Store, StoreError, load_spec, run_sweep
from ..sweep.runner import on_batched_engine
from ..sweep.spec import preset_names
from ..sweep.store import varying_keys
from . import UsageError


def register(sub) -> None:
    p = sub.add_parser("sweep", help="run a grid of runs (TOML sweep file or preset) into a store",
                       description="Run every run of a sweep that the store does not have yet. "
                       "SPEC is a TOML file ([base], [grid], [[runs]] crossed with the grid) or "
                       "a preset name (" + ", ".join(_presets()) + ").")
    p.add_argument("spec", metavar="SPEC", help="sweep file (TOML) or preset name")
    p.add_argument("--store", required=True, metavar="PATH",
                   help="SQLite results store (created if missing; may be shared by sweeps)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="parallel runs (default: the number of cores; with Ray: cluster CPUs)")
    p.add_argument("--backend", choices=("local", "ray", "batched"), default="local",
                   help="local: worker processes on this machine; ray: tasks on a Ray cluster "
                   "(needs adamlab[ray]); batched: synthetic runs stepping together in this "
                   "process on the batched engine, whatever their engine setting (bookkeeping: "
                   "same run ids; the GPU path: set device=cuda)")
    p.add_argument("--address", default=None, metavar="ADDR",
                   help="Ray cluster address (default: start a local Ray on 127.0.0.1)")
    p.add_argument("--variant", default=None, metavar="NAME",
                   help="run the file's variant NAME instead (its [NAME.base], [NAME.grid], "
                   "[[NAME.runs]] override the main tables)")
    p.add_argument("--quick", action="store_true", help="the same as --variant quick")
    p.add_argument("--retry-failed", action="store_true",
                   help="run the store's `failed` runs of this sweep again")
    p.add_argument("--dry-run", action="store_true",
                   help="validate the sweep and list its runs; run nothing")
    p.add_argument("--import", dest="imports", action="append", default=[], metavar="MODULE",
                   help="import MODULE first (one that registers your own task with "
                   "adamlab.tasks.register_task)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True,
                   help="progress bar on stderr (default: on)")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.set_defaults(func=run)


def _presets() -> list[str]:

    return preset_names()


def run(args) -> int:

    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers: must be an integer >= 1, got {args.workers}")
    if args.address is not None and args.backend != "ray":
        raise UsageError("--address: only with --backend ray")
    for name in args.imports:
        try:
            importlib.import_module(name)
        except ImportError as e:
            raise UsageError(f"--import: cannot import {name!r} ({e})") from None
    if args.quick and args.variant not in (None, "quick"):
        raise UsageError(f"--quick: conflicts with --variant {args.variant}")
    spec = load_spec(args.spec, variant="quick" if args.quick else args.variant)
    if args.dry_run and not Path(args.store).exists():  # a dry run creates nothing
        return _dry_run(spec, set(), args)
    if args.backend == "batched" and not args.dry_run:
        on_batched_engine(spec.configs)  # a run it cannot step: an error before the store
        moved = sum(getattr(c, "engine", None) != "batched" for c in spec.configs)
        if moved:
            print(f"adamlab: running {moved} runs on the batched engine (engine is bookkeeping: "
                  f"same run ids)", file=sys.stderr)
    try:
        with Store(args.store) as store:
            if args.dry_run:
                return _dry_run(spec, store.done_ids(("ok", "diverged") if args.retry_failed
                                                     else ("ok", "diverged", "failed")), args)
            summary = run_sweep(spec, store, workers=args.workers, backend=args.backend,
                                address=args.address, progress=args.progress,
                                retry_failed=args.retry_failed)
            ids = set(spec.run_ids())
            failed = [r for r in store.runs({"sweep": spec.name, "status": "failed"})
                      if r["id"] in ids]
    except (MissingExtra, StoreError) as e:
        raise UsageError(str(e)) from None
    except sqlite3.DatabaseError as e:  # a store damaged inside (malformed pages)
        raise UsageError(f"{args.store}: {e}") from None
    if args.json:
        print(json.dumps({"sweep": summary.name, "total": summary.total,
                          "skipped": summary.skipped, "waited": summary.waited,
                          "ran": summary.ran, "ok": summary.ok,
                          "diverged": summary.diverged, "failed": summary.failed,
                          "failed_in_store": len(failed), "seconds": summary.seconds},
                         sort_keys=True))
    else:
        print(summary.line())
    for r in failed:
        print(f"  failed {r['id']}: {r['reason']}", file=sys.stderr)
    if failed:
        print(f"adamlab: {len(failed)} run(s) of sweep {spec.name} failed; rerun with "
              f"--retry-failed, or see: adamlab runs {args.store} --where status=failed",
              file=sys.stderr)
    return 1 if failed else 0


def _dry_run(spec, done: set, args) -> int:

    ids = spec.run_ids()
    configs = [c.to_dict() for c in spec.configs]
    keys = varying_keys([{"config": c} for c in configs])
    print(f"sweep {spec.name}: {len(ids)} runs, {sum(i in done for i in ids)} already in the "
          f"store, {sum(i not in done for i in ids)} to run")
    for rid, cfg in zip(ids, configs):
        mark = "done" if rid in done else "todo"
        print(f"  {rid} {mark} " + " ".join(f"{k}={cfg[k]}" for k in keys))
    return 0
