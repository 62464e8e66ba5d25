"""The one list of tasks: each task's config class and trainer, and the entry point every caller
uses. `train(config) -> Result` is what the CLI, the sweeps and the tests all call;
`config_from_dict` builds any task's config from a plain dict (JSON, TOML, CLI), dispatching on
its `task` field; `train_command` writes the `adamlab train` line that gives a stored config
again (the CLI's `runs --open` and the report's interactive figures print it). A new task
(world) is one config class and one trainer, added here.
"""
from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from typing import Callable

from .core.errors import ConfigError
from .core.fields import ConfigBase, field_help, flag_words
from .core.result import Result, write_run_dir
from .core.state import RunState, read_state
from .images.config import ImageConfig
from .images.trainer import train_images
from .synthetic.config import SyntheticConfig
from .synthetic.train import train_synthetic, with_custom_optimizer


@dataclass(frozen=True)
class Task:
    """A world: its config class and `trainer(config, progress=...) -> Result`. continues: the
    trainer also takes start_from= (a RunState) and save_state= (core/state.py)."""

    config: type
    trainer: Callable[..., Result]
    continues: bool = False


TASKS: dict[str, Task] = {
    SyntheticConfig.task: Task(SyntheticConfig, train_synthetic, continues=True),
    ImageConfig.task: Task(ImageConfig, train_images),
}


def register_task(config: type, trainer: Callable[..., Result]) -> Task:
    """Add (or replace) a task: a config class built on core.fields.ConfigBase with a `task`
    name, and its trainer. A user's own world (or a test's probe task) registers this way."""
    TASKS[config.task] = task = Task(config, trainer)
    return task


def task_names() -> tuple[str, ...]:
    """The names of the registered tasks ("synthetic", "images"), in registration order."""
    return tuple(TASKS)


def task_of(name: str) -> Task:
    """The Task registered under `name`; an unknown name is a ConfigError listing the known ones."""
    if name not in TASKS:
        raise ConfigError(f"task: must be one of {', '.join(TASKS)}, got {name!r}")
    return TASKS[name]


def config_class(task: str) -> type:
    """The config class of task `task` (SyntheticConfig for "synthetic", ImageConfig for "images")."""
    return task_of(task).config


def config_from_dict(d: dict) -> ConfigBase:
    """Build and validate a config of any task from a plain dict (JSON, TOML, CLI)."""
    return config_class(d.get("task", "synthetic")).from_dict(d)


def train(config: ConfigBase | dict, out=None, progress: bool = False,
          optimizer: Callable | None = None, start_from: RunState | str | os.PathLike | None = None,
          save_state: bool = False) -> Result:
    """Train one run. `out`: a folder to write config.json, meta.json, metrics.csv, summary.json
    (and state.npz with save_state). `progress`: show a progress bar on stderr (only once the run
    has taken a couple of seconds). `optimizer`: a torch optimiser class or a function params ->
    optimiser to use instead of the config's (task synthetic: the run records optimizer "custom"
    with the optimiser's class and repr, and runs on the reference engine;
    adamlab/synthetic/train.py). `start_from`: a RunState, a state.npz file or a run folder
    holding one, to continue to config.epochs (its config must equal `config` except epochs and
    the bookkeeping fields; adamlab/synthetic/continuation.py). `save_state`: keep the final state
    in Result.state."""
    if isinstance(config, dict):
        config = config_from_dict(config)
    task = task_of(config.task)
    trainer = task.trainer
    kw = {}
    if start_from is not None or save_state:
        if not task.continues:
            name = "start_from" if start_from is not None else "save_state"
            raise ConfigError(f"{name}: task {config.task!r} runs cannot be saved or "
                              f"continued (task synthetic can)")
        if start_from is not None and not isinstance(start_from, RunState):
            start_from = read_state(start_from)
        kw = {"start_from": start_from, "save_state": save_state}
    if optimizer is not None:
        if config.task != SyntheticConfig.task:
            raise ConfigError(f"optimizer: a torch optimiser object is for task 'synthetic'; "
                              f"task {config.task!r} takes a registry name, got {optimizer!r}")
        config, options = with_custom_optimizer(config, optimizer)
        result = trainer(config, progress=progress, torch_optimizer=(optimizer, options), **kw)
    else:
        result = trainer(config, progress=progress, **kw)
    if out is not None:
        write_run_dir(result, out)
    return result


def train_command(config: dict) -> str | None:
    """The `adamlab train` line that gives a stored config again: a flag for each setting that
    differs from its default, less those the others imply (an optimiser's own default lr or
    weight decay). None when a setting has no flag (a custom torch optimiser's run)."""
    cfg = config_from_dict(config)
    cls, target = type(cfg), cfg.to_dict()
    base = cls.from_dict({"task": cfg.task}).to_dict()
    overrides = {k: v for k, v in target.items() if k != "task" and v != base[k]}
    for name in list(overrides):  # drop what the remaining flags resolve to anyway
        rest = {k: v for k, v in overrides.items() if k != name}
        try:
            if cls.from_dict({"task": cfg.task, **rest}).to_dict() == target:
                overrides = rest
        except ConfigError:  # e.g. step_gamma without schedule "step": keep it
            pass
    flagged = {n for n, (_, meta) in field_help(cls).items() if meta.get("cli", True)}
    if set(overrides) - flagged:
        return None
    words = ["adamlab", "train"] + (["--task", cfg.task] if cfg.task != "synthetic" else [])
    for name, value in overrides.items():
        words += flag_words(name, value)
    return " ".join(shlex.quote(w) for w in words)
