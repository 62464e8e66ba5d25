"""`adamlab runs STORE`: list, filter and aggregate the runs in a results store; export them.

Without `--by`, one line per run (id, status, the settings that vary, final metrics). With
`--by KEY ...` (or a bare `--by`: every varying setting but the seed), the final metrics are
summarised over the runs sharing those keys, typically the seeds: mean, sample std and n, with the
number of ok / diverged / failed runs (diverged runs are shown, never dropped).
"""
from __future__ import annotations

import json
import math
import sqlite3
import sys

from ..sweep import MissingExtra, Store, StoreError
from ..sweep.store import varying_keys
from . import UsageError
from .options import train_command


def register(sub) -> None:
    p = sub.add_parser("runs", help="list, filter, aggregate and export the runs of a store",
                       description="List, filter and aggregate the runs in a results store.")
    p.add_argument("store", metavar="STORE", help="SQLite results store written by adamlab sweep")
    p.add_argument("--where", action="append", default=[], metavar="KEY=VALUE",
                   help="keep runs whose KEY (a config field, sweep, status, id, task or "
                   "final.METRIC) equals VALUE; VALUE may be a,b for any of; repeatable")
    p.add_argument("--by", nargs="*", default=None, metavar="KEY",
                   help="aggregate over the runs sharing these keys (bare --by: every varying "
                   "setting except seed)")
    p.add_argument("--metric", dest="metrics", action="append", default=None, metavar="NAME",
                   help="final metric to show / aggregate (repeatable; default: train_error and "
                   "test_error for the listing, every metric for exports)")
    p.add_argument("--json", action="store_true",
                   help="print a JSON list: runs (id, status, reason, config, final metrics), or "
                   "the groups with --by")
    p.add_argument("--csv", metavar="PATH", help="write the table (runs, or groups with --by) as CSV")
    p.add_argument("--parquet", metavar="PATH",
                   help="write the table as Parquet (needs adamlab[parquet])")
    p.add_argument("--open", metavar="RUN_ID",
                   help="show one run (its id, or a unique start of it): status, config, "
                   "summary and the `adamlab train` command that reruns it")
    p.add_argument("--long", action="store_true",
                   help="export the long-form metrics (run_id, step, epoch, split, name, value) "
                   "of the selected runs instead of one row per run")
    p.set_defaults(func=run)


def parse_where(items: list[str]) -> dict:
    """KEY=VALUE strings -> {key: value or [values]}; values parsed as JSON when they are."""

    where = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--where: expected KEY=VALUE, got {item!r}")
        values = [_value(v) for v in raw.split(",")]
        where[key.strip()] = values[0] if len(values) == 1 else values
    return where


def _value(raw: str):
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def run(args) -> int:

    if args.open is not None and (args.by is not None or args.long or args.where or args.csv
                                  or args.parquet or args.metrics):
        raise UsageError("--open: shows one run; it does not combine with --where, --by, "
                         "--metric, --long or the exports")
    if args.long and args.by is not None:
        raise UsageError("--long: exports raw metrics; it does not combine with --by")
    where = parse_where(args.where)
    try:
        with Store(args.store, create=False) as store:
            return _run(args, store, where)
    except (StoreError, MissingExtra) as e:
        raise UsageError(str(e)) from None
    except sqlite3.DatabaseError as e:  # a store damaged inside (malformed pages)
        raise UsageError(f"{args.store}: {e}") from None


def _run(args, store, where) -> int:
    if args.open is not None:
        return _open(args, store)
    kind = "metrics" if args.long else "aggregate" if args.by is not None else "runs"
    by = args.by or None  # bare --by: the store picks the varying keys
    exports = [(p, store.export_csv) for p in [args.csv] if p] + \
        [(p, store.export_parquet) for p in [args.parquet] if p]
    for path, export in exports:
        n = export(path, kind=kind, where=where,
                   **({"by": by, "metrics": args.metrics} if kind == "aggregate" else {}))
        print(f"wrote {n} rows to {path}", file=sys.stderr)
    if exports and not args.json:
        return 0
    if kind == "aggregate":
        groups = store.aggregate(by, args.metrics, where)
        if args.json:
            print(json.dumps(groups, sort_keys=False))
        else:
            _print_groups(groups, args.metrics or ["train_error", "test_error"], by)
        return 0
    runs = store.runs(where)
    if args.json:
        # Flat like `adamlab train --json`; every run has every metric key (null when it has no
        # value, e.g. a failed run), so consumers need no special cases.
        names = list(dict.fromkeys(k for r in runs for k in r["final"]))
        out = [{"id": r["id"], "status": r["status"], "reason": r["reason"], "sweep": r["sweep"],
                "steps": r["steps"], "epochs": r["epochs"], "seconds": r["seconds"],
                "wall_seconds": r["wall_seconds"], "code_commit": r["code_commit"],
                "finished_at": r["finished_at"], **{k: r["final"].get(k) for k in names},
                "config": r["config"]}
               for r in runs]
        print(json.dumps(out))
        return 0
    _print_runs(runs, args.metrics or ["train_error", "test_error"])
    return 0


def _open(args, store) -> int:
    """One run in full: status, config, summary and the command that reruns it."""
    ids = store.ids_starting(args.open)
    if not ids:
        raise UsageError(f"--open: no run {args.open!r} in {args.store} (ids: adamlab runs "
                         f"{args.store})")
    if len(ids) > 1:
        shown = ", ".join(ids[:3]) + (", ..." if len(ids) > 3 else "")
        raise UsageError(f"--open: {args.open!r} starts {len(ids)} run ids ({shown}); give more "
                         f"of it")
    run = store.runs({"id": ids[0]}, full=True)[0]
    command = train_command(run["config"])
    compile_s = run["meta"].get("compile_seconds")
    if args.json:
        print(json.dumps({**{k: run[k] for k in ("id", "status", "reason", "sweep", "steps",
                                                 "epochs", "seconds", "wall_seconds",
                                                 "code_commit", "finished_at")},
                          "compile_seconds": compile_s, "config": run["config"],
                          "summary": run["final"], "command": command}))
        return 0
    print(f"run {run['id']}: {run['status']}" + (f" ({run['reason']})" if run["reason"] else ""))
    timing = f"{_fmt(run['seconds'])} s of steps" + \
        (f" + {_fmt(compile_s)} s compile" if compile_s is not None else "")
    commit = (run["code_commit"] or "")[:12] or None
    print(f"  {run['steps']} steps, {_fmt(run['epochs'])} epochs, {timing}; sweep "
          f"{_fmt(run['sweep'])}; code {_fmt(commit)}; finished {_fmt(run['finished_at'])}")
    for title, values in (("config", run["config"]), ("summary", run["final"])):
        print(f"{title}:")
        width = max(map(len, values), default=0)
        for k, v in values.items():
            print(f"  {k.ljust(width)}  {_fmt(v)}")
    print("rerun:")
    print(f"  {command}" if command else "  no command line sets this run's settings (a custom "
          "torch optimiser: adamlab.train(config, optimizer=...))")
    return 0


def _fmt(v) -> str:
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.4g}"
    return "-" if v is None else str(v)


def _print_table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(header)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip())
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())


def _print_runs(runs: list[dict], metrics: list[str]) -> None:

    if not runs:
        print("no runs")
        return
    keys = varying_keys(runs)
    header = ["id", "status", *keys, *metrics]
    rows = [[r["id"], r["status"], *(_fmt(r["config"].get(k)) for k in keys),
             *(_fmt(r["final"].get(m)) for m in metrics)] for r in runs]
    _print_table(header, rows)
    failed = [r for r in runs if r["status"] != "ok"]
    for r in failed:
        print(f"  {r['id']} {r['status']}: {r['reason']}")
    print(f"{len(runs)} runs")


def _print_groups(groups: list[dict], metrics: list[str], by) -> None:
    if not groups:
        print("no runs")
        return
    counts = ("runs", "ok", "diverged", "failed")
    keys = [k for k in groups[0] if k not in counts and not k.endswith(("_mean", "_std", "_n", "_ci95_lo", "_ci95_hi"))]
    header = [*keys, *counts, *(f"{m} mean ± std (n) [95% CI]" for m in metrics)]
    rows = []
    for g in groups:
        cells = [_fmt(g[k]) for k in keys] + [str(g[c]) for c in counts]
        for m in metrics:
            mean, std, n = g.get(f"{m}_mean"), g.get(f"{m}_std"), g.get(f"{m}_n", 0)
            lo, hi = g.get(f"{m}_ci95_lo"), g.get(f"{m}_ci95_hi")
            ci = "" if lo is None else f" [{lo:.3g}, {hi:.3g}]"
            cells.append("–" if mean is None else
                         f"{mean:.4g} ± {'–' if std is None else f'{std:.2g}'} ({n}){ci}")
        rows.append(cells)
    _print_table(header, rows)
