"""Sweep files: a TOML (or dict) description of many runs, expanded to validated run configs.

The paper's conclusions are statements about grids (batch size x weight decay x optimiser x seed,
PAPER.md "Experiments"), so a sweep is data, not code (AlgoPerf's search-space files):

    name = "batch-vs-wd"          # required for a dict spec; a file defaults to its stem
    [base]                        # settings shared by every run (any field of the task's config)
    optimizer = "adamw"
    epochs = 300
    [grid]                        # lists; their cartesian product is swept (seed is a field too)
    batch_size = [4, 20, 100]
    weight_decay = [1e-3, 1e-2]
    seed = [0, 1, 2]
    [[runs]]                      # optional explicit points, each merged over [base]
    optimizer = "adam"
    batch_size = 100

How the parts combine: the points are the grid's product over `[base]` (just `[base]` when there is
no grid and no runs), followed by each `[[runs]]` entry merged over `[base]`. Runs are extra points;
they are not crossed with the grid. Points with the same config (the same run id, the hash of the
full config) are kept once, first occurrence first.

Every key and value is validated against the run config of its task (`adamlab.config`) before
anything runs, and errors name the key path: `grid.batch_size[1]: must be an integer in [1, n=200],
got 0`, `base.optimiser: unknown setting for task 'synthetic' ...`. Presets are TOML files in
`adamlab/presets/`; `load_spec("name")` finds them by name.
"""
from __future__ import annotations

import difflib
import itertools
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import ConfigBase, ConfigError, config_class, config_from_dict

PRESETS = Path(__file__).resolve().parent.parent / "presets"
TOP_KEYS = ("name", "description", "base", "grid", "runs")


class SpecError(ConfigError):
    """A bad sweep file; the message names the key path (e.g. `grid.batch_size[1]: ...`)."""


@dataclass(frozen=True)
class SweepSpec:
    """A parsed sweep: its name and the validated, deduplicated run configs in order."""

    name: str
    configs: tuple[ConfigBase, ...]
    description: str = ""
    source: str | None = None  # the file it came from, if any

    def run_ids(self) -> list[str]:
        return [c.run_id() for c in self.configs]

    def __len__(self) -> int:
        return len(self.configs)


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESETS.glob("*.toml"))


def load_spec(path_or_name: str | Path) -> SweepSpec:
    """Read a sweep from a TOML file, or from the preset of that name in adamlab/presets/."""
    path = Path(path_or_name)
    if not path.is_file():
        name = path.name[:-5] if path.name.endswith(".toml") else path.name
        preset = PRESETS / f"{name}.toml"
        if str(path) == path.name and preset.is_file():
            path = preset
        else:
            known = ", ".join(preset_names()) or "none"
            raise SpecError(f"{path_or_name}: no such sweep file or preset (presets: {known})")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise SpecError(f"{path}: invalid TOML: {e}") from None
    data.setdefault("name", path.stem)
    return parse_spec(data, source=str(path))


def as_spec(spec: SweepSpec | dict | str | Path) -> SweepSpec:
    """Accept a parsed spec, a dict spec, or a path / preset name."""
    if isinstance(spec, SweepSpec):
        return spec
    if isinstance(spec, dict):
        return parse_spec(spec)
    return load_spec(spec)


def parse_spec(data: dict, source: str | None = None) -> SweepSpec:
    """Validate a dict spec (the TOML's structure) and expand it to run configs."""
    if not isinstance(data, dict):
        raise SpecError(f"spec: must be a table, got {type(data).__name__}")
    unknown = [k for k in data if k not in TOP_KEYS]
    if unknown:
        raise SpecError(f"{unknown[0]}: unknown top-level key{_suggest(unknown[0], TOP_KEYS)} "
                        f"(known: {', '.join(TOP_KEYS)})")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise SpecError(f"name: must be a non-empty string, got {name!r}")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise SpecError(f"description: must be a string, got {description!r}")
    base = data.get("base", {})
    if not isinstance(base, dict):
        raise SpecError(f"base: must be a table of settings, got {base!r}")
    grid = data.get("grid", {})
    if not isinstance(grid, dict):
        raise SpecError(f"grid: must be a table of lists, got {grid!r}")
    for key, values in grid.items():
        if not isinstance(values, list):
            raise SpecError(f"grid.{key}: must be a list of values, got {values!r}")
        if not values:
            raise SpecError(f"grid.{key}: must be a non-empty list (an empty list sweeps nothing)")
        if key in base:
            raise SpecError(f"grid.{key}: also set in base; set it in one place")
    runs = data.get("runs", [])
    if not isinstance(runs, list) or not all(isinstance(r, dict) for r in runs):
        raise SpecError("runs: must be an array of tables ([[runs]])")
    _check_keys(base, grid, runs)
    configs = _expand(base, grid, runs)
    seen: dict[str, ConfigBase] = {}
    for cfg in configs:
        seen.setdefault(cfg.run_id(), cfg)
    return SweepSpec(name=name.strip(), configs=tuple(seen.values()), description=description,
                     source=source)


def _suggest(key: str, known) -> str:
    close = difflib.get_close_matches(key, list(known), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _check_keys(base: dict, grid: dict, runs: list[dict]) -> None:
    """Unknown keys fail first, before the product is built, naming where the key is."""
    tasks = set()
    for where, value in [("base.task", base.get("task", "synthetic"))] + \
            [(f"grid.task[{i}]", t) for i, t in enumerate(grid.get("task", []))] + \
            [(f"runs[{i}].task", r["task"]) for i, r in enumerate(runs) if "task" in r]:
        tasks.add(_task_class(where, value))
    known = {name for cls in tasks for name in _field_names(cls)} | {"task"}

    def check(prefix: str, table: dict, cls_known: set) -> None:
        for key in table:
            if key not in cls_known:
                task_list = ", ".join(sorted(c.task for c in tasks))
                raise SpecError(f"{prefix}{key}: unknown setting for task '{task_list}'"
                                f"{_suggest(key, cls_known)}")

    check("base.", base, known)
    check("grid.", grid, known)
    for i, run in enumerate(runs):
        run_known = known
        if "task" in run:  # a run of another task may only use that task's settings
            run_known = set(_field_names(_task_class(f"runs[{i}].task", run["task"]))) | {"task"}
        check(f"runs[{i}].", run, run_known)


def _task_class(where: str, task: Any) -> type:
    try:
        return config_class(task)
    except ConfigError as e:
        raise SpecError(f"{where}: {_message(e)}") from None


def _field_names(cls: type) -> list[str]:
    import dataclasses

    return [f.name for f in dataclasses.fields(cls)]


_FIELD = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*): (.*)$", re.S)


def _message(e: ConfigError) -> str:
    """The part of a ConfigError after its leading `field: `."""
    m = _FIELD.match(str(e))
    return m.group(2) if m else str(e)


def _expand(base: dict, grid: dict, runs: list[dict]) -> list[ConfigBase]:
    keys = list(grid)
    out = []
    if grid or not runs:
        for idx in itertools.product(*(range(len(grid[k])) for k in keys)):
            point = {k: grid[k][i] for k, i in zip(keys, idx)}
            out.append(_build({**base, **point}, base, dict(zip(keys, idx)), grid, None))
    for i, run in enumerate(runs):
        out.append(_build({**base, **run}, base, {}, grid, (i, run)))
    return out


def _build(settings: dict, base: dict, grid_idx: dict, grid: dict, run) -> ConfigBase:
    """Validate one point; on failure, name the key path the offending value came from."""
    try:
        return config_from_dict(settings)
    except ConfigError as e:
        m = _FIELD.match(str(e))
        if m is None:
            raise SpecError(str(e)) from None
        field, msg = m.groups()
        if run is not None and field in run[1]:
            where = f"runs[{run[0]}].{field}"
        elif field in grid_idx:
            where = f"grid.{field}[{grid_idx[field]}]"
        elif field in base:
            where = f"base.{field}"
        else:  # a default that clashes with other settings, e.g. s >= d with d from the grid
            where = f"runs[{run[0]}]: {field}" if run is not None else f"{field}"
        context = ""
        if run is None and grid_idx and field not in grid_idx:
            point = ", ".join(f"{k}={grid[k][i]!r}" for k, i in grid_idx.items())
            context = f" (at grid point {point})"
        raise SpecError(f"{where}: {msg}{context}") from None
