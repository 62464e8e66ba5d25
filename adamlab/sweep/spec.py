"""Sweep files: a TOML (or dict) description of many runs, expanded to validated run configs.

The paper's conclusions are statements about grids (batch size x weight decay x optimiser x seed,
docs/paper.md "Experiments"), so a sweep is data, not code (AlgoPerf's search-space files):

    name = "betas"                # required for a dict spec; a file defaults to its stem
    [base]                        # settings shared by every run (any field of the task's config)
    epochs = 2000
    [grid]                        # lists; their cartesian product is swept (seed is a field too)
    optimizer = ["adam", "adamw"]
    seed = [0, 1, 2]
    [[runs]]                      # optional cases: settings that go together, e.g. paired betas
    beta1 = 0.0
    beta2 = 0.5
    [[runs]]
    beta1 = 0.9
    beta2 = 0.99
    [quick.base]                  # optional variants (here `quick`): a smaller version of the
    epochs = 100                  # same sweep, chosen with load_spec(..., variant="quick")
    [quick.grid]
    seed = [0]

How the parts combine: every `[[runs]]` entry is merged over `[base]` and crossed with the grid
(the example: 2 cases x 2 optimisers x 3 seeds = 12 runs); without `[[runs]]` the points are the
grid's product over `[base]`, and without a grid each run entry is one point. Order: runs outer,
grid inner, in the order written. A key may be in `[base]` or `[grid]`, not both; a run may
override `[base]` but not a grid key. Points that are one run (the same run id: equal in every
setting that changes the numbers, adamlab.core.fields.ConfigBase.run_id) are kept once, first first.

A variant `[NAME.base]` / `[NAME.grid]` / `[[NAME.runs]]` overrides the main tables: its base and
grid values replace the main ones wherever the key was (a key the variant sets in `base` leaves
the grid, and the other way round); its runs, if given, replace the runs. The variant's sweep is
named `NAME-of-sweep:VARIANT`, e.g. `table:quick`, so the store keeps the two apart.

Every key and value (of every variant too) is validated against the run config of its task
(`adamlab.core.fields`) before anything runs, and errors name the key path: `grid.batch_size[1]: must
be in [1, n=200], got 0`, `base.optimiser: unknown setting for task 'synthetic' (did you mean
'optimizer'?)`, `quick.grid.seed[0]: ...`. Presets are TOML files in `adamlab/presets/`;
`load_spec("name")` finds them by name.
"""
from __future__ import annotations

import dataclasses
import itertools
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.errors import ConfigError
from ..core.fields import ConfigBase, did_you_mean
from ..tasks import config_class, config_from_dict

PRESETS = Path(__file__).resolve().parent.parent / "presets"
TOP_KEYS = ("name", "description", "base", "grid", "runs")
PARTS = ("base", "grid", "runs")


class SpecError(ConfigError):
    """A bad sweep file; the message names the key path (e.g. `grid.batch_size[1]: ...`)."""


@dataclass(frozen=True)
class SweepSpec:
    """A parsed sweep: its name and the validated, deduplicated run configs in order."""

    name: str
    configs: tuple[ConfigBase, ...]
    description: str = ""
    source: str | None = None  # the file it came from, if any
    variant: str | None = None  # the variant chosen, if any
    variants: tuple[str, ...] = ()  # the variants the file defines

    def run_ids(self) -> list[str]:
        """The run id of every config of the sweep, in expansion order."""
        return [c.run_id() for c in self.configs]

    def __len__(self) -> int:
        return len(self.configs)


def preset_names() -> list[str]:
    """The names of the sweep presets shipped in adamlab/presets/ (without .toml)."""
    return sorted(p.stem for p in PRESETS.glob("*.toml"))


def load_spec(path_or_name: str | Path, variant: str | None = None,
              quick: bool = False) -> SweepSpec:
    """Read a sweep from a TOML file, or from the preset of that name in adamlab/presets/.
    `variant`: one of the file's variants (e.g. "quick"); `quick=True` is variant="quick"."""
    if quick:
        if variant not in (None, "quick"):
            raise SpecError(f"variant: quick=True and variant={variant!r} disagree")
        variant = "quick"
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
    return parse_spec(data, source=str(path), variant=variant)


def as_spec(spec: SweepSpec | dict | str | Path, variant: str | None = None) -> SweepSpec:
    """Accept a parsed spec, a dict spec, or a path / preset name."""
    if isinstance(spec, SweepSpec):
        if variant is not None and variant != spec.variant:
            raise SpecError(f"variant: the spec is already parsed (variant {spec.variant!r})")
        return spec
    if isinstance(spec, dict):
        return parse_spec(spec, variant=variant)
    return load_spec(spec, variant=variant)


# ---- parsing --------------------------------------------------------------------------------------
@dataclass
class _Parts:
    """base / grid / runs with, for each key, the path it came from (for error messages)."""

    base: dict            # key -> value
    grid: dict            # key -> list of values
    runs: list            # list of dicts
    where: dict           # ("base", key) / ("grid", key) -> "base" or "quick.base"; "runs" -> ...


def _is_variant(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and set(value) <= set(PARTS)


def parse_spec(data: dict, source: str | None = None, variant: str | None = None) -> SweepSpec:
    """Validate a dict spec (the TOML's structure) and expand it to run configs."""
    if not isinstance(data, dict):
        raise SpecError(f"spec: must be a table, got {type(data).__name__}")
    variants = [k for k in data if k not in TOP_KEYS and _is_variant(data[k])]
    unknown = [k for k in data if k not in TOP_KEYS and k not in variants]
    if unknown:
        hint = did_you_mean(unknown[0], TOP_KEYS)
        raise SpecError(f"{unknown[0]}: unknown top-level key{hint} "
                        f"(known: {', '.join(TOP_KEYS)}; a variant is a table of "
                        f"{', '.join(PARTS)})")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise SpecError(f"name: must be a non-empty string, got {name!r}")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise SpecError(f"description: must be a string, got {description!r}")
    main = _parts(data, "")
    configs = _expand(main)
    chosen = None
    for v in variants:  # every variant is checked, chosen or not: errors show up at once
        parts = _with_variant(main, _parts(data[v], f"{v}.", check_keys=False), v)
        _check_keys(parts)
        expanded = _expand(parts)
        if v == variant:
            chosen = expanded
    if variant is not None:
        if variant not in variants:
            raise SpecError(f"variant: {name} has no variant {variant!r} (variants: "
                            f"{', '.join(variants) or 'none'})")
        configs, name = chosen, f"{name.strip()}:{variant}"
    seen: dict[str, ConfigBase] = {}
    for cfg in configs:
        seen.setdefault(cfg.run_id(), cfg)
    return SweepSpec(name=name.strip(), configs=tuple(seen.values()), description=description,
                     source=source, variant=variant, variants=tuple(variants))


def _parts(data: dict, prefix: str, check_keys: bool = True) -> _Parts:
    """Structural checks of one set of base / grid / runs tables (and of their keys, unless it is
    a variant: its keys are checked once merged, since its task comes from the main tables)."""
    base = data.get("base", {})
    if not isinstance(base, dict):
        raise SpecError(f"{prefix}base: must be a table of settings, got {base!r}")
    grid = data.get("grid", {})
    if not isinstance(grid, dict):
        raise SpecError(f"{prefix}grid: must be a table of lists, got {grid!r}")
    for key, values in grid.items():
        if not isinstance(values, list):
            raise SpecError(f"{prefix}grid.{key}: must be a list of values, got {values!r}")
        if not values:
            raise SpecError(f"{prefix}grid.{key}: must be a non-empty list (an empty list sweeps "
                            f"nothing)")
        if key in base:
            raise SpecError(f"{prefix}grid.{key}: also set in {prefix}base; set it in one place")
    runs = data.get("runs", [])
    if not isinstance(runs, list) or not all(isinstance(r, dict) for r in runs):
        raise SpecError(f"{prefix}runs: must be an array of tables ([[{prefix}runs]])")
    for i, run in enumerate(runs):
        for key in run:
            if key in grid:
                raise SpecError(f"{prefix}runs[{i}].{key}: also a grid key; the runs are "
                                f"crossed with the grid, so set it in one place")
    where = {("base", k): f"{prefix}base" for k in base}
    where.update({("grid", k): f"{prefix}grid" for k in grid})
    where["runs"] = f"{prefix}runs"
    parts = _Parts(dict(base), dict(grid), [dict(r) for r in runs], where)
    if "runs" not in data:
        parts.runs = None  # "not given" (a variant then keeps the main runs)
    if check_keys:
        _check_keys(parts)
    return parts


def _with_variant(main: _Parts, var: _Parts, name: str) -> _Parts:
    base, grid, where = dict(main.base), dict(main.grid), dict(main.where)
    for key, value in var.base.items():
        base[key] = value
        where[("base", key)] = var.where[("base", key)]
        grid.pop(key, None)
    for key, values in var.grid.items():
        grid[key] = values
        where[("grid", key)] = var.where[("grid", key)]
        base.pop(key, None)
    runs = main.runs
    if var.runs is not None:
        runs, where["runs"] = var.runs, var.where["runs"]
    for i, run in enumerate(runs or []):
        for key in run:
            if key in grid:
                raise SpecError(f"{where['runs']}[{i}].{key}: also a grid key in variant "
                                f"{name!r} ({where[('grid', key)]}.{key})")
    return _Parts(base, grid, runs, where)


def _check_keys(parts: _Parts) -> None:
    """Unknown keys fail first, before the product is built, naming where the key is."""
    base, grid, runs = parts.base, parts.grid, parts.runs or []
    tasks = set()
    if "task" in base or not any("task" in r for r in runs) and "task" not in grid:
        tasks.add(_task_class(f"{parts.where.get(('base', 'task'), 'base')}.task",
                              base.get("task", "synthetic")))
    for i, t in enumerate(grid.get("task", [])):
        tasks.add(_task_class(f"{parts.where[('grid', 'task')]}.task[{i}]", t))
    for i, r in enumerate(runs):
        tasks.add(_task_class(f"{parts.where['runs']}[{i}].task", r.get("task", base.get(
            "task", "synthetic"))))
    known = {name for cls in tasks for name in _field_names(cls)} | {"task"}
    task_list = ", ".join(sorted(c.task for c in tasks))
    for kind, table in (("base", base), ("grid", grid)):
        for key in table:
            if key not in known:
                raise SpecError(f"{parts.where[(kind, key)]}.{key}: unknown setting for task "
                                f"'{task_list}'{did_you_mean(key, known)}")
    for i, run in enumerate(runs):
        for key in run:
            if key not in known:
                raise SpecError(f"{parts.where['runs']}[{i}].{key}: unknown setting for task "
                                f"'{task_list}'{did_you_mean(key, known)}")


def _task_class(where: str, task: Any) -> type:
    try:
        return config_class(task)
    except ConfigError as e:
        raise SpecError(f"{where}: {_message(e)}") from None


def _field_names(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


_FIELD = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*): (.*)$", re.S)


def _message(e: ConfigError) -> str:
    """The part of a ConfigError after its leading `field: `."""
    m = _FIELD.match(str(e))
    return m.group(2) if m else str(e)


def _expand(parts: _Parts) -> list[ConfigBase]:
    keys = list(parts.grid)
    cases = list(enumerate(parts.runs)) if parts.runs else [(None, {})]
    out = []
    for i, run in cases:
        for idx in itertools.product(*(range(len(parts.grid[k])) for k in keys)):
            point = {k: parts.grid[k][j] for k, j in zip(keys, idx)}
            out.append(_build(parts, {**parts.base, **run, **point}, dict(zip(keys, idx)),
                              i, run))
    return out


def _build(parts: _Parts, settings: dict, grid_idx: dict, run_i, run: dict) -> ConfigBase:
    """Validate one point; on failure, name the key path the offending value came from."""
    try:
        return config_from_dict(settings)
    except ConfigError as e:
        m = _FIELD.match(str(e))
        if m is None:
            raise SpecError(str(e)) from None
        field, msg = m.groups()
        if field in run:
            where = f"{parts.where['runs']}[{run_i}].{field}"
        elif field in grid_idx:
            where = f"{parts.where[('grid', field)]}.{field}[{grid_idx[field]}]"
        elif field in parts.base:
            where = f"{parts.where[('base', field)]}.{field}"
        else:  # a default that clashes with other settings, e.g. s >= d with d from the grid
            where = field
        context = []
        if run_i is not None and field not in run:
            context.append(f"{parts.where['runs']}[{run_i}]")
        if grid_idx and field not in grid_idx:
            context.append("grid point " + ", ".join(f"{k}={parts.grid[k][j]!r}"
                                                     for k, j in grid_idx.items()))
        suffix = f" (at {'; '.join(context)})" if context else ""
        raise SpecError(f"{where}: {msg}{suffix}") from None
