"""Which stored run a sweep's missing run can continue from, so a longer run costs only its extra
epochs (synthetic/continuation.py makes the continued run equal the uninterrupted one bit for bit).

A base is a finished (`ok`) synthetic run with a kept state (store.put_state) whose config equals
the requested one except `epochs` (fewer) and the bookkeeping fields, and which
synthetic/continuation.py `check_start` accepts (no schedule that reads the total length). Among
several, the longest wins. A base is used only when its logged epochs include every epoch the
requested run logs up to the base's end: the stored result then holds exactly the rows a fresh
run would (run ids leave `log_every` out, so a base logged at another cadence is skipped and the
run is computed from the start; give both runs the same `log_every` to continue).
"""
from __future__ import annotations

import dataclasses
import json

from ..core.errors import ConfigError
from ..core.state import RunState
from ..synthetic.config import SyntheticConfig
from ..synthetic.continuation import check_start


@dataclasses.dataclass(frozen=True)
class Base:
    """A stored run to continue from: its id, its epochs, the epochs its metrics logged."""

    run_id: str
    epochs: int
    logged: frozenset


def setting_key(config: dict) -> str | None:
    """The config's settings except epochs and bookkeeping, as a string (None: not a synthetic
    config that can continue)."""
    if config.get("task", SyntheticConfig.task) != SyntheticConfig.task:
        return None
    try:
        cfg = SyntheticConfig.from_dict(config)
    except ConfigError:
        return None
    if cfg.optimizer == "custom":
        return None
    keep = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg)
            if f.name != "epochs" and not f.metadata.get("bookkeeping")}
    return json.dumps(keep, sort_keys=True, default=repr)


def can_keep_state(config: dict) -> bool:
    """Whether a run of this config can keep its final state (a synthetic run with a built-in
    optimiser)."""
    return setting_key(config) is not None


class Bases:
    """The store's runs that can be continued, indexed by setting_key (built once per sweep:
    one read of the runs table and one listing of the states folder)."""

    def __init__(self, store):
        self.store = store
        self.by_key: dict[str, list] = {}
        kept = ({p.stem for p in store.states_dir.glob("*.npz")}
                if store.states_dir.is_dir() else set())
        if not kept:
            return
        for run in store.runs():
            if run["id"] in kept and run["status"] == "ok":
                key = setting_key(run["config"])
                if key is not None:
                    self.by_key.setdefault(key, []).append(run)

    def find(self, config: dict) -> Base | None:
        """The longest stored run `config` can continue from exactly, or None."""
        key = setting_key(config)
        if key is None or key not in self.by_key:
            return None
        cfg = SyntheticConfig.from_dict(config)
        wanted = {0, *cfg.log_epochs()}
        for run in sorted(self.by_key[key], key=lambda r: -r["epochs"]):
            epochs = int(run["epochs"])
            if epochs >= cfg.epochs or epochs < 1:  # a longer one is a different run's prefix
                continue
            try:
                check_start(cfg, RunState(config=run["config"], run_id=run["id"], epochs=epochs,
                                          step=0, weights=None))
            except ConfigError:
                continue
            logged = frozenset(float(r[1]) for r in self.store.metrics(run["id"], split="train",
                                                                      name="loss"))
            if {float(e) for e in wanted if e <= epochs} <= logged:
                return Base(run["id"], epochs, logged)
        return None

    def prefix(self, base: Base, config: dict) -> list:
        """The base's metric rows that the requested run logs up to the base's end (the
        continued run logs only the epochs after it)."""
        wanted = {0.0, *(float(e) for e in SyntheticConfig.from_dict(config).log_epochs())}
        return [r for r in self.store.metrics(base.run_id)
                if float(r[1]) <= base.epochs and float(r[1]) in wanted]
