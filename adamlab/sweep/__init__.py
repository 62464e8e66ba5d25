"""Sweeps as data: TOML grids expanded to run configs (spec), an SQLite results store (store),
and a resumable parallel runner over local processes or Ray (runner).

    from adamlab.sweep import load_spec, run_sweep, Store
    run_sweep(load_spec("sweep.toml"), "results.sqlite", workers=2)
    Store("results.sqlite").aggregate(by=["optimizer", "batch_size"], metrics=["test_error"])
"""
from .runner import SweepSummary, run_sweep
from .spec import SpecError, SweepSpec, as_spec, load_spec, parse_spec, preset_names
from .store import MissingExtra, Store, StoreError

__all__ = ["MissingExtra", "SpecError", "Store", "StoreError", "SweepSpec", "SweepSummary",
           "as_spec", "load_spec", "parse_spec", "preset_names", "run_sweep"]
