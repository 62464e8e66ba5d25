"""Continuing a synthetic run from its saved state (core/state.py), bit for bit.

docs/paper.md judges every claim at the paper's budget (10^4 epochs) and at an end state further
on; continuing a run saved at the budget costs only the extra epochs. A state is taken after a
run's last epoch (`capture`) and continued by a run whose config equals the state's except
`epochs` and the bookkeeping fields (engine, device, log_every), with epochs >= the state's
(`check_start`). The continued run redraws the data and the initialisation from the seed, loads
the weights, the optimiser's state, the step t and the sampler's state (`restore`), and then takes
exactly the steps the uninterrupted run takes after that epoch: the fast engine (float64 and
float32) and the reference engine give the same bits.

Refused, with one line naming why: a different setting (its field, both values), a state past
the run's end, a schedule that reads the total number of steps (cosine: continuing to more epochs
changes every step's rate, so no continued run equals an uninterrupted one), and torch
optimisers (their state lives inside torch).
"""
from __future__ import annotations

import dataclasses

from ..core.errors import ConfigError
from ..core.state import RunState
from ..optim.registry import CUSTOM
from ..optim.schedule import Schedule
from .config import SyntheticConfig
from .sampler import BatchSampler

# Settings a continued run may change: its length, and how it is computed or logged.
MAY_DIFFER = ("epochs",)


def check_start(cfg: SyntheticConfig, state: RunState) -> None:
    """Raise ConfigError (one line) unless `cfg` can continue from `state`."""
    task = state.config.get("task", SyntheticConfig.task)
    if task != cfg.task:
        raise ConfigError(f"start_from: the state is of a {task} run, this run is {cfg.task}")
    if cfg.optimizer == CUSTOM:
        raise ConfigError("start_from: a run with a torch optimiser (optimizer 'custom') keeps "
                          "its state inside torch; it cannot be continued")
    try:
        theirs = SyntheticConfig.from_dict(state.config)
    except ConfigError as e:
        raise ConfigError(f"start_from: its config is not valid here ({e})") from None
    for f in dataclasses.fields(cfg):
        if f.name in MAY_DIFFER or f.metadata.get("bookkeeping"):
            continue
        a, b = getattr(theirs, f.name), getattr(cfg, f.name)
        if a != b:
            raise ConfigError(f"start_from: its config differs in {f.name} ({a!r} vs {b!r})")
    if state.epochs > cfg.epochs:
        raise ConfigError(f"start_from: the state is at epoch {state.epochs}, past this run's "
                          f"epochs={cfg.epochs}")
    if Schedule(cfg).reads_total and theirs.epochs != cfg.epochs:
        raise ConfigError(f"start_from: schedule {cfg.schedule!r} reads the run's total steps, "
                          f"so a run continued from epochs={theirs.epochs} to {cfg.epochs} "
                          f"cannot equal an uninterrupted one; use a schedule that does not "
                          f"(constant, step)")


def capture(cfg: SyntheticConfig, engine, sampler: BatchSampler, epoch: int) -> RunState:
    """The state of a run after `epoch` epochs: the engine's (t, weights, optimiser state) and
    the sampler's."""
    st = engine.state()
    return RunState(config=cfg.to_dict(), run_id=cfg.run_id(), epochs=epoch, step=st["t"],
                    weights=st["weights"], optimizer=st["optimizer"], sampler=sampler.state())


def restore(engine, sampler: BatchSampler, state: RunState) -> None:
    """Put `state` into a fresh engine and sampler of the continuing run."""
    engine.load_state({"t": state.step, "weights": state.weights,
                       "optimizer": state.optimizer})
    try:
        sampler.set_state(state.sampler)
    except ValueError as e:
        raise ConfigError(f"start_from: {e}") from None
