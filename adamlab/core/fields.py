"""The config-field machinery every run config is built on: `spec` declares a field with its help
text and allowed range, `ConfigBase` validates a frozen dataclass of such fields, serialises it to
JSON and hashes the settings that change the numbers into a stable run id.

The worlds' configs (adamlab/synthetic/config.py, adamlab/images/config.py) are dataclasses of
`spec` fields; the CLI flags and the sweep files are generated from / validated against them.
"""
from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import math
from dataclasses import field
from typing import Any, Callable, ClassVar

from .errors import ConfigError

# Devices a run can ask for (the synthetic batched engine, the image trainer).
DEVICES = ("cpu", "cuda")


# The version of the run-id rule (ConfigBase.run_id), hashed into every id. Stores written under
# an older rule are migrated once when opened (adamlab/sweep/store.py); bump it only with such a
# migration. 1: hash of the full config; 2: settings that change the numbers, defaults left out.
RUN_ID_VERSION = 2


def spec(default: Any, help: str, *, lo: float | None = None, hi: float | None = None,
         lo_open: bool = False, hi_open: bool = False, choices: tuple | Callable | None = None, flag: str | None = None,
         bookkeeping: bool = False, cli: bool = True):
    """A config field with its help text and allowed range (checked by `validate`).

    choices: a tuple, or a function (config or None) -> tuple read at validation time (a registry
    that can grow at run time). bookkeeping=True: the field says how a run is computed or
    recorded (engine, device, logging cadence, where files live), not what it computes, so it is
    left out of the run id: the same run asked for with another engine is found in the store.
    cli: whether `adamlab train` has a flag for it. lo_open / hi_open: the bound itself is out."""
    meta = {"help": help, "lo": lo, "hi": hi, "lo_open": lo_open, "hi_open": hi_open,
            "choices": choices, "flag": flag,
            "bookkeeping": bookkeeping, "cli": cli}
    return field(default=default, metadata=meta)


def choices_of(meta: dict, cfg=None) -> tuple | None:
    """The allowed values of a field (None: any value of its type)."""
    choices = meta.get("choices")
    return tuple(choices(cfg)) if callable(choices) else choices


def did_you_mean(key: str, known) -> str:
    """' (did you mean 'X'?)' for the known name closest to `key` (its last dotted part), or ''."""
    close = difflib.get_close_matches(str(key).split(".")[-1], sorted(known), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _range_text(meta: dict, cfg=None) -> str:
    choices = choices_of(meta, cfg)
    if choices:
        return "one of " + ", ".join(map(str, choices))
    lo, hi = meta["lo"], meta["hi"]
    if isinstance(hi, str):  # an upper bound given by another field, e.g. batch_size <= n
        hi = f"{hi}={getattr(cfg, hi)}" if cfg is not None else hi
    left = "(" if meta["lo_open"] else "["
    hi_open = meta.get("hi_open", False)
    if lo is not None and hi is not None:
        return f"in {left}{lo}, {hi}{')' if hi_open else ']'}"
    if lo is not None:
        return f"{'>' if meta['lo_open'] else '>='} {lo}"
    if hi is not None:
        return f"{'<' if hi_open else '<='} {hi}"
    return "any value"


def _coerce(name: str, typ: type, value: Any, meta: dict) -> Any:
    """Check the type of one value (ints are accepted for floats, never bools for numbers)."""
    if value is None and meta.get("optional"):
        return None
    if typ is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{name}: must be true or false, got {value!r}")
    if typ is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise ConfigError(f"{name}: must be an integer {_range_text(meta)}, got {value!r}")
        return value
    if typ is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{name}: must be a number {_range_text(meta)}, got {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise ConfigError(f"{name}: must be a finite number {_range_text(meta)}, got {value!r}")
        return value
    if typ is str:
        if not isinstance(value, str):
            raise ConfigError(f"{name}: must be a string ({_range_text(meta)}), got {value!r}")
        return value
    return value


# Field annotations as strings (from __future__ annotations) -> the type a value must have.
FIELD_TYPES = {"int": int, "float": float, "str": str, "bool": bool, "float | None": float,
          "str | None": str, "int | None": int}


class ConfigBase:
    """Shared behaviour of the run configs: validation, JSON, a stable id."""

    task: ClassVar[str]

    def _validate_fields(self) -> None:
        for f in dataclasses.fields(self):
            meta = dict(f.metadata)
            typ = FIELD_TYPES[f.type] if isinstance(f.type, str) else f.type
            meta["optional"] = isinstance(f.type, str) and f.type.endswith("None")
            value = _coerce(f.name, typ, getattr(self, f.name), meta)
            if value is not None:
                choices = choices_of(meta, self)
                if choices and value not in choices:
                    raise ConfigError(f"{f.name}: must be {_range_text(meta, self)}, "
                                      f"got {value!r}")
                lo, hi = meta.get("lo"), meta.get("hi")
                if isinstance(hi, str):
                    hi = getattr(self, hi)
                if typ in (int, float):
                    bad_lo = lo is not None and (value <= lo if meta["lo_open"] else value < lo)
                    bad_hi = hi is not None and isinstance(hi, (int, float)) and (
                        value >= hi if meta.get("hi_open") else value > hi)
                    if bad_lo or bad_hi:
                        raise ConfigError(
                            f"{f.name}: must be {_range_text(meta, self)}, got {value!r}")
            object.__setattr__(self, f.name, value)

    def to_dict(self) -> dict:
        return {"task": self.task, **dataclasses.asdict(self)}

    def decay_semantics(self) -> dict:
        """What weight_decay means for this optimiser (its registry entry's `decoupled`) and the
        decay per step: a decoupled shrink W *= 1 - lr_t*lambda removes lr*lambda of every
        weight per step (times the schedule's factor when one is set); an L2 term adds lambda*W
        to the gradient, which the optimiser then scales like any gradient."""
        if self.optimizer == "custom":
            return {"kind": "custom", "note": "as the torch optimiser defines it "
                    "(see custom_optimizer and meta.optimizer_options)"}
        if self.decoupled:
            out = {"kind": "decoupled", "per_step_shrink": self.lr * self.weight_decay}
            if not self._constant_lr():
                out["per_step_shrink_follows_schedule"] = True
            return out
        return {"kind": "l2_in_gradient", "l2_coefficient": self.weight_decay}

    def _constant_lr(self) -> bool:
        return getattr(self, "schedule", "constant") == "constant" and \
            not getattr(self, "warmup_epochs", 0)

    def _resolve(self, name: str, value) -> None:
        """Set a field left at None to its resolved default, remembering that it was defaulted
        (so `replace(optimizer=...)` picks the new optimiser's default, not the old one's)."""
        if getattr(self, name) is None:
            object.__setattr__(self, name, value)
            object.__setattr__(self, "_defaulted", getattr(self, "_defaulted", frozenset())
                               | {name})

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    def id_fields(self) -> dict:
        """The settings a run's id hashes: every field that can change the run's numbers (not
        the bookkeeping ones), left out where it equals its declared default. So a field added
        later with a default that keeps the old behaviour keeps every stored id. A default of None
        that __post_init__ resolves (weight_decay: the paper's value for the optimiser) never
        equals the resolved number, so that number is always hashed: runs with different numbers
        never share an id, even if the table of paper defaults changes."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.metadata.get("bookkeeping") or (type(value) is type(f.default)
                                                  and value == f.default):
                continue
            out[f.name] = value
        return out

    def run_id(self) -> str:
        """A stable id: the hash of the task, RUN_ID_VERSION and `id_fields()` (docs/sweeps.md,
        "Run ids"), so a rerun of the same run is found in the store."""
        payload = {"task": self.task, "run_id_version": RUN_ID_VERSION, **self.id_fields()}
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]

    def replace(self, **changes):
        """A copy with `changes`; fields that were defaulted (None resolved per optimiser) are
        resolved again for the new settings unless given."""
        for name in getattr(self, "_defaulted", ()):
            changes.setdefault(name, None)
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_dict(cls, d: dict):
        d = dict(d)
        d.pop("task", None)
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ConfigError(f"{unknown[0]}: unknown setting for task '{cls.task}' "
                              f"(known: {', '.join(sorted(names))})")
        return cls(**d)


def field_help(cls: type) -> dict[str, tuple[Any, dict]]:
    """name -> (default, metadata) for generating CLI flags."""
    return {f.name: (f.default, dict(f.metadata)) for f in dataclasses.fields(cls)}


def flag_name(name: str) -> str:
    """The CLI flag of config field `name`: `batch_size` -> `--batch-size`."""
    return "--" + name.replace("_", "-")


def flag_words(name: str, value) -> list[str]:
    """The command-line words that set field `name` to `value` (the CLI reads them back,
    adamlab/commands/options.py)."""
    if isinstance(value, bool):
        return [flag_name(name) if value else "--no-" + name.replace("_", "-")]
    if value is None:
        return [flag_name(name), "none"]
    return [flag_name(name), repr(value) if isinstance(value, float) else str(value)]
