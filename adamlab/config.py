"""Typed, frozen run configurations with validation that names the field and its allowed range.

Every default is stated once, here. The CLI flags, the sweep files and the result records are all
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


OPTIMIZERS = ("adam", "adamw", "signsgd", "signsgdw", "sgd")
SAMPLERS = ("shuffle", "cyclic")
ENGINES = ("fast", "reference", "batched")
DEVICES = ("cpu", "cuda")


def _activation_names() -> tuple[str, ...]:
    from .models.activations import names  # the registry imports ConfigError from here
    return names()

# The paper's weight decay for each optimiser when none is given (App. D.2: Adam 1e-5, AdamW 0.01).
# Sign methods follow their Adam counterpart; SGD follows the L2 (Adam) convention.
PAPER_WEIGHT_DECAY = {"adam": 1e-5, "adamw": 1e-2, "signsgd": 1e-5, "signsgdw": 1e-2, "sgd": 1e-5}
DECOUPLED = {"adamw", "signsgdw"}


# The version of the run-id rule (ConfigBase.run_id), hashed into every id. Stores written under
# an older rule are migrated once when opened (adamlab/sweep/store.py); bump it only with such a
# migration. 1: hash of the full config; 2: settings that change the numbers, defaults left out.
RUN_ID_VERSION = 2


def spec(default: Any, help: str, *, lo: float | None = None, hi: float | None = None,
         lo_open: bool = False, choices: tuple | Callable[[], tuple] | None = None,
         flag: str | None = None, bookkeeping: bool = False):
    """A config field with its help text and allowed range (checked by `validate`). `choices` may
    be a function returning them, read at each check, for a registry that can grow at run time.

    `bookkeeping=True`: the field says how a run is computed or recorded (engine, device, logging
    cadence, where files live), not what it computes, so it is left out of the run id: the same
    run asked for with another engine is found in the store."""
    meta = {"help": help, "lo": lo, "hi": hi, "lo_open": lo_open, "choices": choices, "flag": flag,
            "bookkeeping": bookkeeping}
    return field(default=default, metadata=meta)


def choices_of(meta: dict) -> tuple | None:
    """The allowed values of a field (None: any value of its type)."""
    choices = meta.get("choices")
    return tuple(choices()) if callable(choices) else choices


def did_you_mean(key: str, known) -> str:
    """' (did you mean 'X'?)' for the known name closest to `key` (its last dotted part), or ''."""
    close = difflib.get_close_matches(str(key).split(".")[-1], sorted(known), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _range_text(meta: dict, cfg=None) -> str:
    if choices_of(meta):
        return "one of " + ", ".join(map(str, choices_of(meta)))
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
                if choices_of(meta) and value not in choices_of(meta):
                    raise ConfigError(f"{f.name}: must be {_range_text(meta)}, got {value!r}")
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
        """What weight_decay means for this optimiser (its `decoupled` property), and the
        effective per-step shrink."""
        if self.decoupled:
            return {"kind": "decoupled", "per_step_shrink": self.lr * self.weight_decay}
        return {"kind": "l2_in_gradient", "l2_coefficient": self.weight_decay}

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
    # optimiser
    optimizer: str = spec("adam", "update rule", choices=OPTIMIZERS)
    lr: float = spec(5e-5, "learning rate eta", lo=0.0, lo_open=True)
    weight_decay: float | None = spec(
        None, "lambda; adam/signsgd/sgd: L2 term lambda*W inside the gradient; adamw/signsgdw: "
        "decoupled shrink W *= 1 - lr*lambda per step (torch convention). Default: the paper's "
        "value for the optimiser (adam 1e-5, adamw 0.01)", lo=0.0)
    batch_size: int = spec(2, "examples per step B; B = n is full batch", lo=1, hi="n")
    epochs: int = spec(10000, "epochs; one epoch = floor(n/B) steps", lo=1)
    beta1: float = spec(0.9, "first-moment decay (adam/adamw)", lo=0.0, hi=0.999999)
    beta2: float = spec(0.999, "second-moment decay (adam/adamw)", lo=0.0, hi=0.999999)
    eps: float = spec(1e-8, "added to sqrt(v_hat) (adam/adamw)", lo=0.0, lo_open=True)
    bias_correction: bool = spec(True, "divide m, v by 1 - beta^t as torch.optim does "
                                 "(the paper's equations show none)")
    momentum: float = spec(0.0, "heavy-ball momentum of sgd (torch convention, no dampening)",
                           lo=0.0, hi=0.999999)
    sampler: str = spec("shuffle", "shuffle: reshuffle each epoch; cyclic: fixed order (the "
                        "proofs)", choices=SAMPLERS)
    seed: int = spec(0, "fixes the train data, test data, initialisation and batch order", lo=0)
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
        if self.weight_decay is None:
            object.__setattr__(self, "weight_decay", PAPER_WEIGHT_DECAY[self.optimizer])
        if self.s >= self.d:
            raise ConfigError(f"s: must be in [1, d-1={self.d - 1}] (the signal coordinate is "
                              f"never noise), got {self.s}")
        if self.engine != "batched" and self.device != "cpu":
            raise ConfigError(f"device: the {self.engine} engine runs on cpu; use "
                              f"engine='batched' for {self.device}, got {self.device!r}")

    # Derived quantities, recorded with every result.
    @property
    def steps_per_epoch(self) -> int:
        return self.n // self.batch_size

    @property
    def total_steps(self) -> int:
        return self.steps_per_epoch * self.epochs

    @property
    def decoupled(self) -> bool:
        return self.optimizer in DECOUPLED

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
IMAGE_OPTIMIZERS = ("adam", "adamw", "sgd")
PRECISIONS = ("auto", "fp32", "bf16")
MEMORY_FORMATS = ("auto", "contiguous", "channels_last")
# Training-set sizes of the datasets with fixed files (None: known only once the folder is read).
IMAGE_TRAIN_SIZES = {"fashion-mnist": 60000, "mnist": 60000, "cifar10": 50000, "imagefolder": None}
IMAGE_TEST_SIZES = {"fashion-mnist": 10000, "mnist": 10000, "cifar10": 10000, "imagefolder": None}
# Fig 1's weight decay per optimiser (PAPER.md "Experiments": Adam 5e-4, AdamW 1e-2); SGD takes
# the L2 value of Adam.
PAPER_IMAGE_WEIGHT_DECAY = {"adam": 5e-4, "adamw": 1e-2, "sgd": 5e-4}


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
    optimizer: str = spec("adam", "update rule", choices=IMAGE_OPTIMIZERS)
    lr: float = spec(1e-4, "learning rate eta (paper Fig 2: 1e-4; Fig 1: best of 5e-4, 1e-4, 1e-5)",
                     lo=0.0, lo_open=True)
    weight_decay: float | None = spec(
        None, "lambda on every parameter; adam/sgd: L2 term lambda*W inside the gradient; adamw: "
        "decoupled shrink W *= 1 - lr*lambda per step (torch convention). Default: the paper's "
        "Fig 1 value (adam 5e-4, adamw 1e-2; sgd 5e-4)", lo=0.0)
    batch_size: int = spec(16, "examples per step B (paper Fig 2: 16)", lo=1)
    epochs: int = spec(100, "epochs; one epoch = floor(n/B) steps, no augmentation (paper: 100)",
                       lo=1)
    beta1: float = spec(0.9, "first-moment decay (adam/adamw; paper's images: 0.9)",
                        lo=0.0, hi=0.999999)
    beta2: float = spec(0.99, "second-moment decay (adam/adamw; paper's images: 0.99)",
                        lo=0.0, hi=0.999999)
    eps: float = spec(1e-8, "added to sqrt(v_hat) (adam/adamw; torch default)",
                      lo=0.0, lo_open=True)
    momentum: float = spec(0.0, "heavy-ball momentum of sgd (torch convention, no dampening)",
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
        if self.weight_decay is None:
            object.__setattr__(self, "weight_decay", PAPER_IMAGE_WEIGHT_DECAY[self.optimizer])
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
        return self.optimizer == "adamw"


register_task(ImageConfig)
