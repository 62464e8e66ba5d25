"""Typed, frozen run configurations with validation that names the field and its allowed range.

Every default is stated once, here, except what depends on the optimiser: its registry entry
(adamlab/optim/registry.py) holds the paper's weight decay for it and any default that differs
from the paper's Adam settings (BASE_DEFAULTS), e.g. Lion's smaller learning rate. Fields left at
None are resolved from there. The CLI flags, the sweep files and the result records are all
generated from / validated against these dataclasses (STYLE.md, "Configuration").

`SyntheticConfig` is the paper's synthetic world (PAPER.md "Data model", "Model", "Optimisers",
"Experiments"); its defaults are the synthetic setting of App. D.2. Other tasks (real images)
register their own config class with `register_task`; `config_from_dict` dispatches on `task`.
"""
from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar


class ConfigError(ValueError):
    """A bad configuration value; the message names the field and the allowed range."""


SAMPLERS = ("shuffle", "cyclic")
ENGINES = ("fast", "reference", "batched")
DEVICES = ("cpu", "cuda")
DTYPES = ("float64", "float32")
# float32 runs hold no second moment below ~1e-36 (flushed, engine/fast.py; subnormals are zero,
# engine/subnormals.py), so sqrt(v) can read 0 where it was up to 1e-18, and m up to ~3e-18 then
# steps by lr*m/eps instead of ~lr: with eps >= 1e-10 that is at most 3e-8 of lr, under float32's
# own rounding (6e-8).
FLOAT32_MIN_EPS = 1e-10



def _activation_names(cfg=None) -> tuple[str, ...]:
    from .models.activations import names  # the registry imports ConfigError from here
    return names()


# The paper's optimiser settings (App. D.2: eta = 5e-5, betas (0.9, 0.999), torch's eps), the
# defaults of the fields an optimiser's registry entry may override (adamlab/optim/registry.py:
# e.g. Lion's smaller lr, Adagrad's eps). Weight decay defaults live in the registry entries.
BASE_DEFAULTS = {"lr": 5e-5, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}


def optimizer_names(cfg=None) -> tuple[str, ...]:
    """The config's optimizer choices: the registry's names, read at validation time (so an
    optimiser registered later, e.g. in a test file, is accepted), plus "custom" for a config
    that carries a torch optimiser's description (adamlab.train(config, optimizer=...))."""
    from .optim.registry import CUSTOM, list_optimizers

    custom = cfg is not None and getattr(cfg, "custom_optimizer", None) is not None
    return list_optimizers() + ((CUSTOM,) if custom else ())


def schedule_names(cfg=None) -> tuple[str, ...]:
    from .optim.schedule import SCHEDULES

    return SCHEDULES


# The version of the run-id rule (ConfigBase.run_id), hashed into every id. Stores written under
# an older rule are migrated once when opened (adamlab/sweep/store.py); bump it only with such a
# migration. 1: hash of the full config; 2: settings that change the numbers, defaults left out.
RUN_ID_VERSION = 2


def spec(default: Any, help: str, *, lo: float | None = None, hi: float | None = None,
         lo_open: bool = False, choices: tuple | Callable | None = None, flag: str | None = None,
         bookkeeping: bool = False, cli: bool = True):
    """A config field with its help text and allowed range (checked by `validate`).

    choices: a tuple, or a function (config or None) -> tuple read at validation time (a registry
    that can grow at run time). bookkeeping=True: the field says how a run is computed or
    recorded (engine, device, logging cadence, where files live), not what it computes, so it is
    left out of the run id: the same run asked for with another engine is found in the store.
    cli: whether `adamlab train` has a flag for it."""
    meta = {"help": help, "lo": lo, "hi": hi, "lo_open": lo_open, "choices": choices, "flag": flag,
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
    if lo is not None and hi is not None:
        return f"in {left}{lo}, {hi}]"
    if lo is not None:
        return f"{'>' if meta['lo_open'] else '>='} {lo}"
    if hi is not None:
        return f"<= {hi}"
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
                    bad_hi = hi is not None and isinstance(hi, (int, float)) and value > hi
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
        """A stable id: the hash of the task, RUN_ID_VERSION and `id_fields()` (README, "Sweeps
        and the results store"), so a rerun of the same run is found in the store."""
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


@dataclass(frozen=True)
class SyntheticConfig(ConfigBase):
    """One run of the paper's synthetic experiment (defaults: PAPER.md "Experiments", App. D.2)."""

    task: ClassVar[str] = "synthetic"

    # data (Definition 3.1)
    d: int = spec(1000, "dimension of each patch", lo=2)
    n: int = spec(200, "training examples", lo=2)
    s: int = spec(100, "non-zero Gaussian coordinates of the noise patch (< d)", lo=1)
    sigma_p: float = spec(0.1, "standard deviation of the noise patch", lo=0.0)
    alpha: float = spec(0.2, "feature noise: xi[signal coord] = -alpha*y", lo=0.0)
    n_test: int = spec(10000, "fresh test examples", lo=1)
    balanced: bool = spec(True, "exactly balanced training labels (as in the experiments)")
    # model (Definition 3.2)
    width: int = spec(20, "filters per class, m", lo=1)
    activation: str = spec("relu-power", "the activation sigma (models/activations.py); "
                           "relu-power is the paper's max(z, 0)^q", choices=_activation_names)
    power: float = spec(3.0, "activation power q of sigma(z) = max(z, 0)^q (paper: q >= 3); also "
                        "the polynomial degree of smooth-relu", lo=1.0)
    # Pre-activations start near sigma0 = 0.01 and the learned feature reaches order 1 (App. D.2),
    # so rho = 0.1 gives smooth-relu the paper's polynomial regime early and a linear one late.
    rho: float = spec(0.1, "smooth-relu: where the polynomial part z^q / (q rho^(q-1)) turns "
                      "linear", lo=0.0, lo_open=True)
    sigma0: float = spec(0.01, "standard deviation of the Gaussian initialisation", lo=0.0)
    # optimiser (adamlab/optim/registry.py lists the optimisers and which of these fields each
    # reads; `adamlab train --help` prints that next to each flag)
    optimizer: str = spec("adam", "update rule, a name in the optimiser registry (adamlab.optim)",
                          choices=optimizer_names)
    lr: float | None = spec(
        None, "learning rate eta; with a schedule, the base rate it scales. Default: the paper's "
        "5e-5 unless the optimiser's registry entry has its own", lo=0.0, lo_open=True)
    weight_decay: float | None = spec(
        None, "lambda. Optimisers with L2 decay add lambda*W to the gradient (the paper's Adam); "
        "those with decoupled decay shrink W *= 1 - lr_t*lambda every step (the paper's AdamW, "
        "torch convention); meta.decay records which and the per-step amount. Default: the "
        "paper's value for the optimiser (its registry entry)", lo=0.0)
    batch_size: int = spec(2, "examples per step B; B = n is full batch", lo=1, hi="n")
    epochs: int = spec(10000, "epochs; one epoch = floor(n/B) steps", lo=1)
    beta1: float | None = spec(
        None, "first-moment decay: m <- beta1*m + (1-beta1)*g (Lion: its interpolation "
        "c = beta1*m + (1-beta1)*g). Default 0.9", lo=0.0, hi=0.999999)
    beta2: float | None = spec(
        None, "second-moment decay: v <- beta2*v + (1-beta2)*g^2 (torch RMSprop's alpha; Lion: "
        "its momentum decay m <- beta2*m + (1-beta2)*g). Default: the paper's 0.999 unless the "
        "optimiser's registry entry has its own", lo=0.0, hi=0.999999)
    eps: float | None = spec(
        None, "added to the root of the second moment: lr*m/(sqrt(v)+eps). Default: 1e-8 (torch) "
        "unless the optimiser's registry entry has its own", lo=0.0, lo_open=True)
    bias_correction: bool = spec(True, "divide m, v by 1 - beta^t as torch.optim does "
                                 "(the paper's equations show none)")
    momentum: float = spec(0.0, "momentum mu (torch convention, no dampening): SGD's buffer "
                           "m <- mu*m + g; RMSprop's m <- mu*m + g/(sqrt(v)+eps)",
                           lo=0.0, hi=0.999999)
    nesterov: bool = spec(False, "Nesterov momentum: step along g + mu*m instead of m (torch "
                          "SGD; needs momentum > 0)")
    schedule: str = spec("constant", "learning-rate schedule per step after the warm-up: constant; "
                         "cosine (to 0 at the last step); step (times step_gamma every "
                         "step_epochs); adamlab/optim/schedule.py", choices=schedule_names)
    warmup_epochs: int = spec(0, "linear warm-up: step t of the first warmup_epochs*floor(n/B) "
                              "steps uses lr*t/W; the schedule starts after it", lo=0, hi="epochs")
    step_epochs: int | None = spec(None, "schedule 'step': epochs between two decays (required "
                                   "by it, unused otherwise)", lo=1)
    step_gamma: float | None = spec(None, "schedule 'step': factor of each decay; default 0.1",
                                    lo=0.0, hi=1.0, lo_open=True)
    clip_norm: float | None = spec(
        None, "clip the batch-loss gradient to this global L2 norm before the optimiser adds its "
        "L2 term (torch.nn.utils.clip_grad_norm_); None = no clipping", lo=0.0, lo_open=True)
    custom_optimizer: str | None = spec(
        None, "set by adamlab.train(config, optimizer=...) to the torch optimiser's class and "
        "repr (optimizer is then 'custom'; this enters the run id)", cli=False)
    sampler: str = spec("shuffle", "shuffle: reshuffle each epoch; cyclic: fixed order (the "
                        "proofs)", choices=SAMPLERS)
    seed: int = spec(0, "fixes the train data, test data, initialisation and batch order", lo=0)
    # float32 changes the numbers (rounding), so it is part of the run id; float64, the
    # reference's precision, is the default and keeps every stored id (README, "Speed").
    dtype: str = spec("float64", "precision of the weights, moments, patches and gradient: "
                      "float64 (the reference's) or float32 (fast engine only; 2-3x faster a "
                      "step, for long sweeps; README, Speed); metrics are computed in float64 "
                      "either way", choices=DTYPES)
    # bookkeeping: left out of the run id (the engines agree to 1e-9 on every logged metric,
    # tests/test_engines.py; the cadence changes which epochs are logged, not the final numbers)
    log_every: int = spec(0, "epochs between metric logs (plus epochs 1, 2, 4, ... below it, so "
                          "Stage I shows on a log axis); 0 = about 100 logs per run", lo=0,
                          bookkeeping=True)
    engine: str = spec("fast", "fast: compiled sparse loop; reference: plain torch autograd; "
                       "batched: many runs stepping together in torch", choices=ENGINES,
                       bookkeeping=True)
    device: str = spec("cpu", "device of the batched engine", choices=DEVICES, bookkeeping=True)

    def __post_init__(self):
        self._validate_fields()
        self._resolve_optimizer()
        if self.s >= self.d:
            raise ConfigError(f"s: must be in [1, d-1={self.d - 1}] (the signal coordinate is "
                              f"never noise), got {self.s}")
        if self.dtype != "float64" and self.engine != "fast":
            raise ConfigError(f"dtype: must be float64 with engine={self.engine!r} (float32 runs "
                              f"on engine='fast' only), got {self.dtype!r}")
        if self.engine != "batched" and self.device != "cpu":
            raise ConfigError(f"device: the {self.engine} engine runs on cpu; use "
                              f"engine='batched' for {self.device}, got {self.device!r}")

    def _resolve_optimizer(self) -> None:
        """Per-optimiser defaults from its registry entry, and the settings that only some
        optimisers or schedules read."""
        from .optim.registry import CUSTOM, get, list_optimizers

        custom = self.optimizer == CUSTOM
        if custom != (self.custom_optimizer is not None):
            raise ConfigError("custom_optimizer: set (only) by adamlab.train(config, "
                              "optimizer=...) together with optimizer='custom', got "
                              f"optimizer={self.optimizer!r}, "
                              f"custom_optimizer={self.custom_optimizer!r}")
        entry = None if custom else get(self.optimizer)
        for name, base in BASE_DEFAULTS.items():
            self._resolve(name, entry.defaults.get(name, base) if entry else base)
        if entry is not None:
            self._resolve("weight_decay", entry.paper_weight_decay(self.task))
        if self.dtype != "float64" and (entry is None or entry.kernel is None):
            raise ConfigError(f"dtype: must be float64 for optimizer {self.optimizer!r} (float32 "
                              f"runs on the fast engine's kernels: "
                              f"{', '.join(list_optimizers(kernel=True))}), got {self.dtype!r}")
        if self.dtype == "float32" and "eps" in entry.options and self.eps < FLOAT32_MIN_EPS:
            raise ConfigError(f"eps: must be >= {FLOAT32_MIN_EPS:g} with dtype float32 (its "
                              f"moments under ~1e-36 are zero; a smaller eps would let that "
                              f"change a step), got {self.eps!r}")
        if self.nesterov:
            readers = [o for o in list_optimizers() if "nesterov" in get(o).options]
            if entry is not None and "nesterov" not in entry.options:
                raise ConfigError(f"nesterov: {self.optimizer} has no Nesterov option (it is read "
                                  f"by {', '.join(readers)}), got True")
            if self.momentum <= 0:
                raise ConfigError(f"nesterov: needs momentum > 0 (torch convention), got "
                                  f"momentum={self.momentum}")
        if self.schedule == "step":
            if self.step_epochs is None:
                raise ConfigError("step_epochs: schedule 'step' needs the epochs between two "
                                  "decays (an integer >= 1), got None")
            self._resolve("step_gamma", 0.1)
        else:
            for name in ("step_epochs", "step_gamma"):
                if getattr(self, name) is not None:
                    raise ConfigError(f"{name}: only read by schedule 'step', got "
                                      f"{getattr(self, name)!r} with schedule {self.schedule!r}")

    # Derived quantities, recorded with every result.
    @property
    def steps_per_epoch(self) -> int:
        return self.n // self.batch_size

    @property
    def total_steps(self) -> int:
        return self.steps_per_epoch * self.epochs

    @property
    def decoupled(self) -> bool | None:
        """The registry entry's weight-decay convention (None for a custom torch optimiser)."""
        from .optim.registry import CUSTOM, get

        return None if self.optimizer == CUSTOM else get(self.optimizer).decoupled

    @property
    def log_interval(self) -> int:
        return self.log_every or max(1, self.epochs // 100)

    def log_epochs(self) -> list[int]:
        """Epochs after which metrics are logged (epoch 0 is logged too): every log_interval
        epochs, the last epoch, and the powers of two below the interval (early dynamics)."""
        k = self.log_interval
        early = [2 ** i for i in range(k.bit_length()) if 2 ** i < min(k, self.epochs)]
        return sorted(set(early) | set(range(k, self.epochs + 1, k)) | {self.epochs})


_TASKS: dict[str, type] = {"synthetic": SyntheticConfig}


def register_task(cls: type) -> type:
    _TASKS[cls.task] = cls
    return cls


def task_names() -> tuple[str, ...]:
    return tuple(_TASKS)


def config_class(task: str) -> type:
    if task not in _TASKS:  # tasks beyond the synthetic one register when their module loads
        from . import tasks  # noqa: F401
    if task not in _TASKS:
        raise ConfigError(f"task: must be one of {', '.join(_TASKS)}, got {task!r}")
    return _TASKS[task]


def config_from_dict(d: dict):
    """Build and validate a config of any task from a plain dict (JSON, TOML, CLI)."""
    return config_class(d.get("task", "synthetic")).from_dict(d)


def field_help(cls: type) -> dict[str, tuple[Any, dict]]:
    """name -> (default, metadata) for generating CLI flags."""
    return {f.name: (f.default, dict(f.metadata)) for f in dataclasses.fields(cls)}



# ---------------------------------------------------------------------------------------------
# Real images (PAPER.md "Experiments": CIFAR-10 with VGG16/ResNet18, App. D.1; the ImageNet subset
# with ResNet-50). Trained by adamlab/engine/images.py.

IMAGE_DATASETS = ("fashion-mnist", "mnist", "cifar10", "imagefolder")
IMAGE_ARCHS = ("small-vgg", "vgg16", "resnet18", "resnet50")
PRECISIONS = ("auto", "fp32", "bf16")
MEMORY_FORMATS = ("auto", "contiguous", "channels_last")
# Training-set sizes of the datasets with fixed files (None: known only once the folder is read).
IMAGE_TRAIN_SIZES = {"fashion-mnist": 60000, "mnist": 60000, "cifar10": 50000, "imagefolder": None}
IMAGE_TEST_SIZES = {"fashion-mnist": 10000, "mnist": 10000, "cifar10": 10000, "imagefolder": None}


@dataclass(frozen=True)
class ImageConfig(ConfigBase):
    """One run on real images (defaults: PAPER.md "Experiments", CIFAR-10 settings of App. D.1,
    on the Fashion-MNIST files Debian ships and a small VGG that trains on a CPU)."""

    task: ClassVar[str] = "images"

    # data
    dataset: str = spec("fashion-mnist", "image dataset", choices=IMAGE_DATASETS)
    data_dir: str | None = spec(
        None, "folder with the dataset files; None = /usr/share/datasets/fashion-mnist for "
        "fashion-mnist when there (Debian's dataset-fashion-mnist), else "
        "~/.cache/adamlab/datasets/<dataset>")
    # download and checkpoint_dir say where files come from and go, not what is computed: left
    # out of the run id, so adding --download or moving a checkpoint folder finds the same run.
    # device stays in: precision "auto" means bf16 on cuda, so the device changes the numbers.
    download: bool = spec(False, "fetch missing files from the official URLs (checksums verified)",
                          bookkeeping=True)
    subset: int | None = spec(None, "training examples to use, class-balanced, chosen by "
                              "data_seed; None = all", lo=1)
    val_size: int = spec(0, "training examples held out for validation, class-balanced, fixed by "
                         "data_seed (not by seed) and disjoint from every subset", lo=0)
    test_subset: int | None = spec(None, "test examples to evaluate, class-balanced, chosen by "
                                   "data_seed; None = the whole test set", lo=1)
    data_seed: int = spec(0, "fixes subset, validation split and test subset (kept apart from "
                          "seed so every run of a sweep sees the same examples)", lo=0)
    image_size: int | None = spec(None, "imagefolder only: images are resized (shorter side) and "
                                  "centre-cropped to this square side; None = 224", lo=8)
    # model
    arch: str = spec("small-vgg", "network: small-vgg (CPU-sized), vgg16 / resnet18 (CIFAR forms), "
                     "resnet50; input channels and size follow the dataset", choices=IMAGE_ARCHS)
    # optimiser
    optimizer: str = spec("adam", "update rule, a name in the optimiser registry with a "
                          "torch.optim class (adamlab.optim)", choices=optimizer_names)
    lr: float = spec(1e-4, "learning rate eta (paper Fig 2: 1e-4; Fig 1: best of 5e-4, 1e-4, 1e-5)",
                     lo=0.0, lo_open=True)
    weight_decay: float | None = spec(
        None, "lambda on every parameter: an L2 term lambda*W inside the gradient, or for "
        "optimisers with decoupled decay a shrink W *= 1 - lr*lambda per step (torch convention). "
        "Default: the paper's Fig 1 value for the optimiser's convention (L2 5e-4, decoupled 1e-2)",
        lo=0.0)
    batch_size: int = spec(16, "examples per step B (paper Fig 2: 16)", lo=1)
    epochs: int = spec(100, "epochs; one epoch = floor(n/B) steps, no augmentation (paper: 100)",
                       lo=1)
    beta1: float = spec(0.9, "first-moment decay (paper's images: 0.9)", lo=0.0, hi=0.999999)
    beta2: float = spec(0.99, "second-moment decay, torch RMSprop's alpha (paper's images: 0.99)",
                        lo=0.0, hi=0.999999)
    eps: float = spec(1e-8, "added to the root of the second moment (torch default)",
                      lo=0.0, lo_open=True)
    momentum: float = spec(0.0, "momentum of SGD / RMSprop (torch convention, no dampening)",
                           lo=0.0, hi=0.999999)
    seed: int = spec(0, "fixes the initialisation and the batch order", lo=0)
    # hardware and bookkeeping
    device: str = spec("cpu", "where the model and the whole dataset live", choices=DEVICES)
    precision: str = spec("auto", "auto: bf16 autocast on cuda, fp32 on cpu; fp32; bf16 "
                          "(autocast)", choices=PRECISIONS)
    memory_format: str = spec("auto", "auto: channels_last on cuda, contiguous on cpu",
                              choices=MEMORY_FORMATS)
    eval_every: int = spec(1, "epochs between evaluations of the train/val/test loss and error "
                           "(the last epoch is always evaluated)", lo=1)
    eval_batch_size: int = spec(1000, "examples per forward pass when evaluating", lo=1)
    checkpoint_dir: str | None = spec(
        None, "folder for a checkpoint after every epoch (<run id>.pt); a rerun resumes from it",
        bookkeeping=True)

    def __post_init__(self):
        self._validate_fields()
        from .optim.registry import get, list_optimizers

        entry = get(self.optimizer)
        if entry.torch_class is None:
            raise ConfigError(f"optimizer: {self.optimizer} has no torch.optim class, so task "
                              f"'images' cannot run it (one of "
                              f"{', '.join(list_optimizers(torch=True))}), got {self.optimizer!r}")
        self._resolve("weight_decay", entry.paper_weight_decay(self.task))
        if self.image_size is not None and self.dataset != "imagefolder":
            raise ConfigError(f"image_size: only for dataset=imagefolder ({self.dataset} images "
                              f"have a fixed size), got {self.image_size}")
        if self.download and self.dataset == "imagefolder":
            raise ConfigError("download: imagefolder reads a local folder; there is nothing to "
                              "download, got True")
        total = IMAGE_TRAIN_SIZES[self.dataset]
        if total is not None and self.val_size >= total:
            raise ConfigError(f"val_size: must be in [0, {total - 1}] for {self.dataset}, "
                              f"got {self.val_size}")
        if total is not None and self.subset is not None and self.subset > total - self.val_size:
            raise ConfigError(f"subset: must be in [1, {total - self.val_size}] for {self.dataset} "
                              f"with val_size={self.val_size}, got {self.subset}")
        n = self.train_size
        if n is not None and self.batch_size > n:
            raise ConfigError(f"batch_size: must be in [1, n={n}] (training examples), "
                              f"got {self.batch_size}")
        tests = IMAGE_TEST_SIZES[self.dataset]
        if tests is not None and self.test_subset is not None and self.test_subset > tests:
            raise ConfigError(f"test_subset: must be in [1, {tests}] for {self.dataset}, "
                              f"got {self.test_subset}")

    @property
    def train_size(self) -> int | None:
        """Training examples n when known from the config alone (None for imagefolder)."""
        total = IMAGE_TRAIN_SIZES[self.dataset]
        if self.subset is not None:
            return self.subset
        return None if total is None else total - self.val_size

    @property
    def decoupled(self) -> bool:
        from .optim.registry import get

        return get(self.optimizer).decoupled


register_task(ImageConfig)
