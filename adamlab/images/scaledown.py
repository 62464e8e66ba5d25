"""The scale-down rule: a smaller version of a paper experiment that keeps what decides its outcome.

A CPU cannot run the paper's CIFAR-10 protocol (docs/paper.md "Experiments": 50,000 images, 100 epochs,
B = 16 gives 312,500 steps a run). Shrinking the data and the epochs but keeping the paper's
learning rate and weight decay (as earlier presets did) changes the experiment: at 1,920 steps
with lr 1e-4 no weight can move more than 0.19, weight decay never acts, and the claim under test
cannot show. So a scaled protocol keeps these quantities, not the raw hyper-parameters:

1. **The distance a weight can travel, lr x steps at the reference batch size B_ref** (the
   smallest batch: Fig 2's B = 16). Adam's step on one coordinate is at most about lr (the
   normalised step m_hat / sqrt(v_hat) has magnitude <= 1 in the sign-like regime the paper's
   analysis uses: "stochastic Adam behaves like SignSGD"), so lr x steps bounds how far training
   can take the weights from their initialisation. Fewer steps therefore means a larger lr:
   lr_run = lr_paper x steps_paper(B_ref) / steps_run(B_ref), rounded to 3 significant digits.
2. **The decay a run applies, lr x lambda x steps** (decoupled decay, AdamW): each step multiplies
   W by (1 - lr*lambda), so after `steps` steps the initial weights have shrunk by about
   exp(-lr*lambda*steps). Because rule 1 keeps lr x steps, keeping lambda keeps this product.
   The L2 analogue for Adam: lambda*W enters the gradient *before* Adam's normalisation, so there
   is no fixed per-step shrink. What decides the regime (Cor 4.3: above about sigma0^(q-2) Adam is
   stuck at initialisation) is lambda*|W| against the loss gradient |g| inside the normalised
   step; that comparison does not involve lr, so it is kept by keeping lambda. Once lambda*|W|
   dominates, the step is about lr*sign(W) and a weight of size |W| is pulled to zero within
   |W| / lr steps, which rule 1 bounds as it bounds everything else. Not kept: the loss
   gradient's scale itself (it depends on the data and the model), so the lambda at which Adam
   breaks may move with them; the report says what it saw.
3. **The steps the largest batch gets** (a batch-size sweep, Fig 1): a large batch fails in the
   paper although it fits the training set, and a large batch that got too few steps fails for
   the trivial reason that it never fitted. So every batch of the run gets at least the steps the
   paper's largest batch got (50,000 / 8,192 -> 6 steps an epoch x 100 epochs = 600): the run's
   batch sizes are the paper's that meet this, plus, when the paper's largest does not, the
   largest batch that does (floor(n / ceil(S / epochs))). With the paper's epochs this also keeps
   the largest batch's iterations per epoch n/B (6), the quantity the theory compares with
   log(1/(lambda*eta)) (Thm 4.1-4.5).

What cannot be kept at once: with fewer examples the batch range shrinks (B_max / B_ref is 512 in
the paper, 8 at n = 768), so the reference batch's iterations per epoch n/B fall (3125 -> 48) and
the largest batch travels farther than the paper's (lr is raised for all of them). Per-step sizes
grow by the same factor as lr (65x for the CPU presets): each step is noisier, and the per-step
shrink lr*lambda grows with it, which matters for weights followed by BatchNorm: their scale does
not change the output, and under decoupled decay they settle where each step turns them by about
sqrt(2*lr*lambda) radians (Wan et al. 2021, "Spherical motion dynamics"; Kosson et al. 2024,
"Rotational equilibrium"), a quantity of lr*lambda per step, not of totals. `protocol_rows`
shows each quantity for the paper and for the run side by side, marked kept or not, so a reader
sees the arithmetic next to every result. Mapping the paper's protocol onto its own budget returns
it unchanged (tests/test_scaledown.py).

The rule knows nothing about images: a Protocol is plain numbers (the synthetic presets can use
it as well).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping

from ..optim.registry import get, list_optimizers

KEEP_TOLERANCE = 0.01  # a quantity within 1% of the paper's counts as kept (lr is rounded to 3
#                        significant digits, which moves lr x steps by at most 0.5%)


class ScaleError(ValueError):
    """A budget the rule cannot meet; the message names the field and what it needs."""


def steps(n: int, batch_size: int, epochs: int) -> int:
    """Optimiser steps of a run: one epoch = floor(n/B) steps (docs/paper.md "Optimisers")."""
    return (n // batch_size) * epochs


def round_sig(x: float, digits: int = 3) -> float:
    """x to `digits` significant digits (the form a preset writes: 6.51e-3, not 6.5104166e-3)."""
    if x == 0 or not math.isfinite(x):
        return x
    return float(f"{x:.{digits - 1}e}")


def _decoupled_optimizers() -> frozenset:
    """The registry's optimisers with decoupled decay (adamlab/optim/registry.py)."""

    return frozenset(name for name in list_optimizers() if get(name).decoupled)


@dataclass(frozen=True)
class Protocol:
    """A training protocol as plain numbers.

    n: training examples; epochs; batch_sizes swept (one value: a fixed batch); lrs: the lr grid
    (one value: a fixed lr); weight_decays: optimiser -> lambda values; decoupled: the optimisers
    whose lambda is a decoupled per-step shrink (AdamW; the others add lambda*W to the gradient);
    seeds: seeds per cell; reference_batch: the batch whose lr x steps is kept (default: the
    smallest); n_test: test examples (None: not stated)."""

    n: int
    epochs: int
    batch_sizes: tuple[int, ...]
    lrs: tuple[float, ...]
    weight_decays: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    decoupled: frozenset = field(default_factory=lambda: _decoupled_optimizers())
    seeds: int = 1
    reference_batch: int | None = None
    n_test: int | None = None

    def __post_init__(self):
        for name in ("n", "epochs", "seeds"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ScaleError(f"{name}: must be an integer >= 1, got {getattr(self, name)!r}")
        if not self.batch_sizes or min(self.batch_sizes) < 1 or max(self.batch_sizes) > self.n:
            raise ScaleError(f"batch_sizes: must be integers in [1, n={self.n}], got "
                             f"{list(self.batch_sizes)}")
        if not self.lrs or min(self.lrs) <= 0:
            raise ScaleError(f"lrs: must be numbers > 0, got {list(self.lrs)}")
        object.__setattr__(self, "batch_sizes", tuple(sorted(set(self.batch_sizes))))
        object.__setattr__(self, "lrs", tuple(sorted(set(self.lrs), reverse=True)))
        object.__setattr__(self, "weight_decays", {k: tuple(sorted(set(v), reverse=True))
                                                   for k, v in self.weight_decays.items()})
        ref = self.reference_batch if self.reference_batch is not None else self.batch_sizes[0]
        if ref not in self.batch_sizes:
            raise ScaleError(f"reference_batch: must be one of the batch sizes "
                             f"{list(self.batch_sizes)}, got {ref}")
        object.__setattr__(self, "reference_batch", ref)

    @property
    def largest_batch(self) -> int:
        return self.batch_sizes[-1]

    def steps(self, batch_size: int) -> int:
        return steps(self.n, batch_size, self.epochs)

    @property
    def reference_steps(self) -> int:
        return self.steps(self.reference_batch)

    @classmethod
    def from_configs(cls, configs: Iterable, reference_batch: int | None = None,
                     paper_seeds: int | None = None) -> "Protocol":
        """The protocol a list of run configs follows (SyntheticConfig, ImageConfig or dicts of
        them): n from `n` or `train_size`/`subset`, the swept batch sizes, lrs, weight decays
        per optimiser, and the number of seeds per cell."""
        cfgs = [c if isinstance(c, Mapping) else {**c.to_dict(), "train_size": getattr(
            c, "train_size", None)} for c in configs]
        if not cfgs:
            raise ScaleError("configs: needs at least one run config")

        def one(key, values):
            vals = set(values)
            if len(vals) != 1:
                raise ScaleError(f"{key}: every run must share one value, got {sorted(vals)}")
            return vals.pop()

        n = one("n", (c.get("n") or c.get("train_size") or c.get("subset") for c in cfgs))
        if n is None:
            raise ScaleError("n: unknown for these configs (set subset, or n)")
        wd: dict[str, set] = {}
        for c in cfgs:
            wd.setdefault(c["optimizer"], set()).add(c["weight_decay"])
        cells: dict[tuple, set] = {}
        for c in cfgs:
            key = tuple(sorted((k, str(v)) for k, v in c.items() if k != "seed"))
            cells.setdefault(key, set()).add(c.get("seed"))
        test_size = {c.get("test_subset") or c.get("n_test") for c in cfgs}
        return cls(n=n, epochs=one("epochs", (c["epochs"] for c in cfgs)),
                   batch_sizes=tuple(c["batch_size"] for c in cfgs),
                   lrs=tuple(c["lr"] for c in cfgs),
                   weight_decays={k: tuple(v) for k, v in wd.items()},
                   seeds=paper_seeds or min(len(s) for s in cells.values()),
                   reference_batch=reference_batch,
                   n_test=test_size.pop() if len(test_size) == 1 else None)


@dataclass(frozen=True)
class Scaled:
    """The run's protocol and the arithmetic that produced it."""

    paper: Protocol
    run: Protocol
    lr_factor: float
    notes: tuple[str, ...]

    def rows(self) -> list[dict]:
        return protocol_rows(self.paper, self.run)


def scale_down(paper: Protocol, n: int, epochs: int, seeds: int | None = None,
               n_test: int | None = None) -> Scaled:
    """The paper's protocol at a budget of n training examples and `epochs` epochs (module
    docstring: rules 1-3). Raises ScaleError when even the reference batch cannot get the
    largest batch's steps."""
    if not isinstance(n, int) or n < paper.reference_batch:
        raise ScaleError(f"n: must be an integer >= the reference batch {paper.reference_batch}, "
                         f"got {n!r}")
    if not isinstance(epochs, int) or epochs < 1:
        raise ScaleError(f"epochs: must be an integer >= 1, got {epochs!r}")
    ref = paper.reference_batch
    ref_steps = steps(n, ref, epochs)
    factor = paper.reference_steps / ref_steps                      # rule 1
    lrs = tuple(round_sig(lr * factor) for lr in paper.lrs)
    notes = [f"lr x {factor:.4g} = {paper.reference_steps:,} / {ref_steps:,} steps at B = {ref}: "
             f"keeps lr x steps at the reference batch (rule 1)",
             "weight decay kept, so lr x lambda x steps is kept too (rule 2)"]
    batch_sizes = (ref,)
    if paper.largest_batch != ref:                                  # rule 3: a batch-size sweep
        need = paper.steps(paper.largest_batch)
        batch_sizes = tuple(b for b in paper.batch_sizes if b <= n and steps(n, b, epochs) >= need)
        if ref not in batch_sizes:
            raise ScaleError(f"epochs: n x epochs = {n} x {epochs} gives the reference batch "
                             f"B = {ref} only {ref_steps} steps, fewer than the paper's largest "
                             f"batch's {need}; need epochs >= {math.ceil(need / (n // ref))}")
        if paper.largest_batch not in batch_sizes:
            per_epoch = math.ceil(need / epochs)
            largest = n // per_epoch
            batch_sizes = tuple(sorted(set(batch_sizes) | {largest}))
            notes.append(f"largest batch {largest} = floor({n} / ceil({need} / {epochs})): the "
                         f"largest with at least the paper's {need} steps for its largest batch "
                         f"{paper.largest_batch} (rule 3)")
    run = replace(paper, n=n, epochs=epochs, batch_sizes=batch_sizes, lrs=lrs,
                  seeds=paper.seeds if seeds is None else seeds, reference_batch=ref,
                  n_test=paper.n_test if n_test is None else n_test)
    return Scaled(paper, run, factor, tuple(notes))


# ---- the table every scaled item prints ------------------------------------------------------

def _num(x: float) -> str:
    """Counts as integers (1,000s separated), the rest to 3 significant digits, below 0.01 with a
    compact exponent (5e-4, not 0.0005 or 5e-04)."""
    if isinstance(x, int) or (float(x).is_integer() and abs(x) >= 1):
        return f"{int(x):,}"
    text = f"{x:.2e}" if abs(x) < 0.01 else f"{x:.3g}"
    if "e" in text:
        mant, exp = text.split("e")
        mant = mant.rstrip("0").rstrip(".")
        text = f"{mant}e{int(exp)}"
    return text


def _nums(values: Iterable[float]) -> str:
    return ", ".join(_num(v) for v in values)


def _kept(paper: list[float], run: list[float]) -> str:
    """'kept' when every value is within KEEP_TOLERANCE of the paper's, else the factor."""
    if len(paper) != len(run) or not paper:
        return "not kept"
    ratios = [r / p for p, r in zip(paper, run) if p]
    if ratios and all(abs(x - 1) <= KEEP_TOLERANCE for x in ratios):
        return "kept"
    lo, hi = min(ratios, default=0), max(ratios, default=0)
    return f"not kept (x {lo:.3g})" if math.isclose(lo, hi, rel_tol=KEEP_TOLERANCE) else \
        f"not kept (x {lo:.3g}..{hi:.3g})"


def protocol_rows(paper: Protocol, run: Protocol) -> list[dict]:
    """quantity | paper | this run | kept: the arithmetic of a scaled run beside the paper's.

    The decisive quantities (module docstring) come first; the raw settings follow, marked
    'changed' where the rule changed them on purpose."""
    rows = []

    def row(quantity, p, r, kept):
        rows.append({"quantity": quantity, "paper": p, "this run": r, "kept": kept})

    pr, rr = paper.reference_batch, run.reference_batch
    ps, rs = paper.reference_steps, run.reference_steps
    row(f"distance a weight can travel: lr x steps at B_ref ({pr} | {rr})",
        _nums(lr * ps for lr in paper.lrs), _nums(lr * rs for lr in run.lrs),
        _kept([lr * ps for lr in paper.lrs], [lr * rs for lr in run.lrs]))
    for opt in sorted(set(paper.weight_decays) | set(run.weight_decays)):
        pw, rw = paper.weight_decays.get(opt, ()), run.weight_decays.get(opt, ())
        if opt in paper.decoupled:
            p_decay = [lr * wd * ps for lr in paper.lrs for wd in pw]
            r_decay = [lr * wd * rs for lr in run.lrs for wd in rw]
            row(f"{opt}: decay lr x lambda x steps at B_ref (initial weights shrink by "
                f"exp(-that))", _span(p_decay), _span(r_decay),
                _kept(p_decay, r_decay) if len(pw) == len(rw) else _kept_span(p_decay, r_decay))
        else:
            row(f"{opt}: L2 lambda (inside the gradient, compared with |g| before Adam's "
                f"normalisation; lr-free)", _span(pw), _span(rw),
                _kept(list(pw), list(rw)) if len(pw) == len(rw) else _kept_span(pw, rw))
    if paper.largest_batch != paper.reference_batch or run.largest_batch != run.reference_batch:
        pb, rb = paper.largest_batch, run.largest_batch
        p_steps, r_steps = paper.steps(pb), run.steps(rb)
        row(f"steps of the largest batch ({pb} | {rb})", _num(p_steps), _num(r_steps),
            "kept (at least)" if r_steps >= p_steps else f"not kept ({r_steps} < {p_steps})")
        row("iterations per epoch floor(n/B) of the largest batch", _num(paper.n // pb),
            _num(run.n // rb), _kept([paper.n // pb], [run.n // rb]))
        row("lr x steps at the largest batch", _nums(lr * p_steps for lr in paper.lrs),
            _nums(lr * r_steps for lr in run.lrs),
            _kept([lr * p_steps for lr in paper.lrs], [lr * r_steps for lr in run.lrs]))
    row("iterations per epoch floor(n/B) at B_ref", _num(paper.n // pr), _num(run.n // rr),
        _kept([paper.n // pr], [run.n // rr]))
    for opt in sorted(set(paper.weight_decays) & set(run.weight_decays) & paper.decoupled):
        p_step = [lr * wd for lr in paper.lrs for wd in paper.weight_decays[opt]]
        r_step = [lr * wd for lr in run.lrs for wd in run.weight_decays[opt]]
        row(f"{opt}: per-step shrink lr x lambda", _span(p_step), _span(r_step),
            _kept(p_step, r_step) if len(p_step) == len(r_step) else _kept_span(p_step, r_step))
    row("steps at B_ref", _num(ps), _num(rs), _kept([ps], [rs]))
    row("lr grid", _nums(paper.lrs), _nums(run.lrs), _kept(list(paper.lrs), list(run.lrs)))
    row("batch sizes", ", ".join(map(str, paper.batch_sizes)),
        ", ".join(map(str, run.batch_sizes)),
        "kept" if paper.batch_sizes == run.batch_sizes else "changed")
    row("training examples n", _num(paper.n), _num(run.n), _kept([paper.n], [run.n]))
    row("epochs", _num(paper.epochs), _num(run.epochs), _kept([paper.epochs], [run.epochs]))
    if paper.n_test or run.n_test:
        row("test examples", _num(paper.n_test) if paper.n_test else "n/a",
            _num(run.n_test) if run.n_test else "n/a",
            "kept" if paper.n_test == run.n_test else "changed")
    row("seeds per cell", str(paper.seeds), str(run.seeds),
        "kept" if run.seeds == paper.seeds else ("more" if run.seeds > paper.seeds else "fewer"))
    return rows


def _span(values) -> str:
    values = [v for v in values]
    if not values:
        return "n/a"
    lo, hi = min(values), max(values)
    return _num(lo) if math.isclose(lo, hi, rel_tol=1e-12) else f"{_num(lo)} .. {_num(hi)}"


def _kept_span(paper, run) -> str:
    """For grids of different lengths (a grid cut to fit a budget): kept when the range is."""
    if not paper or not run:
        return "not kept"
    ends = _kept([min(paper), max(paper)], [min(run), max(run)])
    return ends + " (range; fewer grid points)" if ends == "kept" else ends


__all__ = ["Protocol", "Scaled", "ScaleError", "scale_down", "protocol_rows", "steps",
           "round_sig", "KEEP_TOLERANCE"]
