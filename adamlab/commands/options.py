"""CLI flags generated from the config dataclasses, so every config field has a flag and the
flag's help, default and range come from the one place they are stated (adamlab/core/fields.py)."""
from __future__ import annotations

import argparse
import dataclasses

from ..core.errors import ConfigError
from ..core.fields import FIELD_TYPES, choices_of, field_help, flag_name
from ..optim.registry import get, list_optimizers
from ..synthetic.config import BASE_DEFAULTS
from ..tasks import config_class, task_names, train_command

_BOOL, _SCALAR = "bool", "scalar"


def _grouped(values: dict) -> str:
    """'5e-05 (lion 1e-05)': the most common value, then the optimisers that differ."""
    by: dict = {}
    for name, v in values.items():
        by.setdefault(v, []).append(name)
    common = max(by, key=lambda v: len(by[v]))
    rest = [f"{', '.join(ns)} {v:g}" for v, ns in by.items() if v != common]
    return f"{common:g}" + (f" ({'; '.join(rest)})" if rest else "")


def _optimizer_help() -> dict[str, tuple[str, str | None]]:
    """field -> (which optimisers read it, their synthetic defaults when they differ), from the
    optimiser registry; the optimizer field itself gets the list of names."""

    names = list_optimizers()
    out = {"optimizer": (f"registered: {', '.join(names)}; no fast kernel: "
                         f"{', '.join(list_optimizers(kernel=False)) or 'none'} (engine fast "
                         f"runs those on the reference engine)", None)}
    fields = {o for n in names for o in get(n).options}
    for field in sorted(fields):
        readers = [n for n in names if field in get(n).options]
        defaults = None
        if field in BASE_DEFAULTS:
            defaults = _grouped({n: get(n).defaults.get(field, BASE_DEFAULTS[field])
                                 for n in readers})
        elif field == "weight_decay":
            defaults = _grouped({n: get(n).weight_decay.get("synthetic") for n in readers})
        out[field] = (f"read by {', '.join(readers)}", defaults)
    decoupled = ", ".join(n for n in names if get(n).decoupled)
    out["weight_decay"] = (out["weight_decay"][0] + f"; decoupled: {decoupled}",
                           out["weight_decay"][1])
    return out


def _all_fields() -> dict[str, tuple[str, str, object]]:
    """field -> (kind, help, default) over every registered task (first definition wins)."""

    out, defaults = {}, {}
    for task in task_names():
        for name, (default, meta) in field_help(config_class(task)).items():
            if not meta.get("cli", True):
                continue
            defaults.setdefault(name, []).append((task, default))
            if name in out:
                continue
            typ = next(f.type for f in dataclasses.fields(config_class(task)) if f.name == name)
            kind = _BOOL if typ in (bool, "bool") else _SCALAR
            text = meta.get("help", "")
            if callable(meta.get("choices")):  # a registry's names, as they are at parse time
                text += " (one of: " + ", ".join(map(str, choices_of(meta))) + ")"
            out[name] = (kind, text, default)
    for name, pairs in defaults.items():  # a shared field whose default differs by task
        if len({repr(d) for _, d in pairs}) > 1:
            out[name] = out[name][:2] + (", ".join(f"{t} {d}" for t, d in pairs),)
    for name, (readers, per_optimizer) in _optimizer_help().items():
        if name in out:
            kind, text, default = out[name]
            if per_optimizer:
                images = str(default).split("images ")[-1] if "images" in str(default) else None
                default = f"synthetic {per_optimizer}" + (f", images {images}" if images else "")
            out[name] = (kind, f"{text} [{readers}]", default)
    return out


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per config field of every task; values are checked later against the task's
    config (so the error names the field and its range)."""
    parser.add_argument("--task", default="synthetic", choices=task_names(),
                        help="which experiment: the paper's synthetic world or real images")
    group = parser.add_argument_group("run settings (defaults: the paper's setting of the task)")
    for name, (kind, help_text, default) in _all_fields().items():
        if name == "task":
            continue
        # argparse %-formats help: a field's "%" (e.g. "seed % 4") is a literal one
        text = f"{help_text} (default: {default})".replace("%", "%%")
        if kind == _BOOL:
            group.add_argument(flag_name(name), dest=f"cfg_{name}", default=None,
                               action=argparse.BooleanOptionalAction, help=text)
        else:
            group.add_argument(flag_name(name), dest=f"cfg_{name}", default=None, metavar="X",
                               help=text)


def _convert(name: str, typ, raw: str):
    typ = FIELD_TYPES.get(typ, typ) if isinstance(typ, str) else typ
    if raw.lower() == "none":
        return None
    if typ is int:
        try:
            return int(raw)
        except ValueError:
            try:
                f = float(raw)
            except ValueError:
                raise ConfigError(f"{name}: must be an integer, got {raw!r}") from None
            return int(f) if f.is_integer() else f
    if typ is float:
        try:
            return float(raw)
        except ValueError:
            raise ConfigError(f"{name}: must be a number, got {raw!r}") from None
    return raw


def overrides_from_args(args: argparse.Namespace) -> dict:
    """The settings given on the command line, typed for the chosen task's config."""
    cls = config_class(args.task)
    types = {f.name: f.type for f in dataclasses.fields(cls)}
    out = {"task": args.task}
    for key, value in vars(args).items():
        if not key.startswith("cfg_") or value is None:
            continue
        name = key[4:]
        if name not in types:
            raise ConfigError(f"{name}: not a setting of task '{args.task}' "
                              f"({flag_name(name)} belongs to another task)")
        out[name] = value if isinstance(value, bool) else _convert(name, types[name], value)
    return out


def config_from_args(args: argparse.Namespace):
    return config_class(args.task).from_dict(overrides_from_args(args))


__all__ = ["add_config_flags", "config_from_args", "flag_name", "overrides_from_args",
           "train_command"]
