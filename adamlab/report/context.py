"""What every report item needs: the results store, the preset sweeps (run or reused), the
trajectories of stored runs, and small helpers to group runs and caption figures."""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..config import SyntheticConfig, config_from_dict
from . import figures as F
from .tables import Stats

@dataclass
class Context:
    """What every item needs: the store, where figures go, how the sweeps were asked for."""

    store: object
    out: Path
    quick: bool
    workers: int | None
    command: str
    progress: bool = True
    seeds: list[int] | None = None
    epochs: int | None = None
    data_dir: str | None = None
    timings: dict = field(default_factory=dict)
    variant: str | None = None  # a preset's variant to run where it defines one (--variant)

    def spec(self, preset: str):
        """The preset's sweep (its quick variant with --quick), with --seeds / --epochs applied
        to every run."""
        from ..sweep.spec import SweepSpec, load_spec

        variant = "quick" if self.quick else None
        if self.variant is not None and self.variant in load_spec(preset).variants:
            variant = self.variant
        spec = load_spec(preset, variant=variant)
        data_dir = self.data_dir if any(hasattr(c, "data_dir") for c in spec.configs) else None
        if self.seeds is None and self.epochs is None and data_dir is None:
            return spec
        configs: dict[str, object] = {}
        for c in spec.configs:
            c = c.replace(epochs=self.epochs) if self.epochs else c
            c = c.replace(data_dir=data_dir) if data_dir and hasattr(c, "data_dir") else c
            for s in (self.seeds if self.seeds is not None else [c.seed]):
                cs = c.replace(seed=s)
                configs.setdefault(cs.run_id(), cs)
        suffix = "".join([f":seeds={','.join(map(str, self.seeds))}" if self.seeds else "",
                          f":epochs={self.epochs}" if self.epochs else "",
                          ":data_dir" if data_dir else ""])
        return SweepSpec(name=spec.name + suffix, configs=tuple(configs.values()),
                         description=spec.description, source=spec.source,
                         variant=spec.variant, variants=spec.variants)

    def runs(self, preset: str) -> tuple[list[dict], object]:
        """Run (or reuse) the preset's sweep; its finished runs in the spec's order."""
        from ..sweep.runner import run_sweep

        spec = self.spec(preset)
        summary = run_sweep(spec, self.store, workers=self.workers, progress=self.progress)
        self.timings.setdefault(preset, summary)  # the first call ran it; later ones reuse
        print(f"  {summary.line()}", file=sys.stderr)
        by_id = {r["id"]: r for r in self.store.runs()}
        return [by_id[i] for i in spec.run_ids() if i in by_id], spec

    def curves(self, runs: list[dict], names=tuple(F.TRAJECTORY_METRICS)) -> dict:
        """{"epochs": [...], name: [[per seed]], ...} over runs that logged the same epochs."""
        out: dict = {}
        for name in names:
            per_run = [self.store.metrics(r["id"], name=name) for r in runs if r["status"] == "ok"]
            per_run = [rows for rows in per_run if rows]
            if not per_run:
                continue
            length = min(len(rows) for rows in per_run)
            out.setdefault("epochs", [row[1] for row in per_run[0][:length]])
            out[name] = [[row[4] for row in rows[:length]] for rows in per_run]
        return out




def group_runs(runs: list[dict], keys: tuple[str, ...]) -> dict[tuple, list[dict]]:
    groups: dict[tuple, list[dict]] = {}
    for r in runs:
        groups.setdefault(tuple(r["config"][k] for k in keys), []).append(r)
    return groups


def stats_of(runs: list[dict], metric: str) -> Stats:
    return Stats.of(r["final"].get(metric) if r["status"] == "ok" else None for r in runs)


def config_of(run: dict) -> SyntheticConfig:
    return config_from_dict(run["config"])


def label(opt: str) -> str:
    return {"adam": "Adam", "adamw": "AdamW"}.get(opt, opt)


def caption_config(runs: list[dict], varying: tuple[str, ...]) -> dict:
    """The settings shared by the runs behind a figure (what varies is named separately)."""
    first = dict(runs[0]["config"])
    shared = {k: v for k, v in first.items()
              if k not in varying and all(r["config"].get(k) == v for r in runs)}
    shared["varies"] = ", ".join(varying)
    return shared


def fmt(x) -> str:
    return "n/a" if x is None or x != x else f"{x:.3f}"

