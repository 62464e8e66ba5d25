"""A run's saved state, so a run can continue past its budget and cost only the extra epochs
(docs/paper.md judges every claim at the paper's 10^4 epochs and at an end state further on).

A `RunState` holds what the next step needs and nothing that the config already fixes (the data
and the initialisation are drawn again from the seed): the weights, the optimiser's state, the
step counter t, the batch sampler's state, the epoch reached and the config it came from. It is
written as one compressed .npz file (`write_state`, atomically: a temporary file renamed into
place, so a kill never leaves half a state) and read back with `read_state`, which turns a missing
or unreadable file into one StateError line. About 1 MB for the paper's d = 1000, m = 20 (three
arrays of 2*m*d values). Files hold arrays and one JSON text only: no pickles are loaded.
"""
from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import ConfigError

STATE_FILE = "state.npz"  # its name inside a run folder (core/result.py's write_run_dir)
FORMAT = 1  # the layout below; read_state refuses others


class StateError(ConfigError):
    """A run state that cannot be read or used: missing, unreadable, or of another format."""


@dataclass
class RunState:
    """Where a run stands after `epochs` epochs (t = `step` optimiser steps).

    weights: W, (2, m, d), in the run's dtype. optimizer: the update rule's state in the layout
    of its `init` (arrays shaped like W, scalars as 0-d arrays), in the run's dtype. sampler: the
    batch sampler's `state()` (arrays stay arrays, the rest is JSON). config: the run's config as
    a dict (`to_dict`), run_id its id."""

    config: dict
    run_id: str
    epochs: int
    step: int
    weights: np.ndarray
    optimizer: dict = field(default_factory=dict)
    sampler: dict = field(default_factory=dict)


def _json_default(x):
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        return float(x)
    raise TypeError(f"run state: cannot store {type(x).__name__} {x!r}")


def write_state(state: RunState, path: str | os.PathLike) -> Path:
    """Write `state` to `path` (a .npz file) atomically."""
    path = Path(path)
    arrays = {"weights": np.asarray(state.weights)}
    arrays.update({f"optimizer/{k}": np.asarray(v) for k, v in state.optimizer.items()})
    sampler = {}
    for k, v in state.sampler.items():
        if isinstance(v, np.ndarray):
            arrays[f"sampler/{k}"] = v
        else:
            sampler[k] = v
    head = {"format": FORMAT, "config": state.config, "run_id": state.run_id,
            "epochs": state.epochs, "step": state.step, "sampler": sampler}
    arrays["head"] = np.array(json.dumps(head, sort_keys=True, default=_json_default))
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def read_state(path: str | os.PathLike, name: str = "start_from") -> RunState:
    """The state in `path`: a .npz file from `write_state`, or a run folder holding state.npz.
    A missing or unreadable file raises StateError, one line starting with `name` (the setting
    that named the file) and naming the file."""
    path = Path(path)
    if path.is_dir():
        path = path / STATE_FILE
    if not path.is_file():
        raise StateError(f"{name}: no run state at {path} (train with save_state=True, or "
                         f"`adamlab train --save-state --out FOLDER`, to write one)")
    if not zipfile.is_zipfile(path):
        raise StateError(f"{name}: {path} is not a readable run state (not an .npz file)")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        head = json.loads(str(arrays.pop("head")))
        if head.get("format") != FORMAT:
            raise StateError(f"{name}: {path} is a run state of format "
                             f"{head.get('format')!r}; this adamlab reads format {FORMAT}")
        prefixed = lambda p: {k[len(p):]: v for k, v in arrays.items()  # noqa: E731
                              if k.startswith(p)}
        return RunState(config=head["config"], run_id=head["run_id"], epochs=int(head["epochs"]),
                        step=int(head["step"]), weights=arrays["weights"],
                        optimizer=prefixed("optimizer/"),
                        sampler={**head["sampler"], **prefixed("sampler/")})
    except StateError:
        raise
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as e:
        raise StateError(f"{name}: {path} is not a readable run state "
                         f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else e!r})"
                         ) from None
