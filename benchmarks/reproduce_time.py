"""Estimate the wall time of `make reproduce` per item, from the sweep cost model
(adamlab/sweep/cost.py: steps x (38.3 us + 1.71 us x B) + evaluation per log + start-up, one
core, with factors for larger models and the general loop of `beyond`'s settings), divided over
the workers.

    python benchmarks/reproduce_time.py                  # the paper's budget, 2 workers
    python benchmarks/reproduce_time.py --budget short --workers 2

The last column bounds the end state (adamlab/sweep/endstate.py): the extra cost if every run
were still moving at the budget and continued to its cap (10^5 epochs or 2x10^6 steps). Only
the runs still moving are continued, and most stop at 2T or 5T, so the real cost is a fraction
of it that only a run measures.

The model was checked twice on the 2-core VM: the 2000-epoch report of 436 runs measured 1871 s
wall against 2143 s modelled (x0.87, quiet machine), and 12 runs at 10^4 epochs (one AdamW
phase row plus one betas pair) used 325 s of CPU against 309 s modelled (x1.05, machine shared
with other jobs). The range printed is the model times those two factors.
"""
from __future__ import annotations

import argparse

from adamlab.report.context import BUDGETS
from adamlab.sweep.cost import run_costs
from adamlab.sweep.endstate import cap_epochs
from adamlab.sweep.spec import load_spec

ITEMS = {"table (and trajectories)": "table", "adam-large-wd": "adam-large-wd",
         "adamw-large-wd": "adamw-large-wd", "phase: Adam": "phase-adam",
         "phase: AdamW": "phase-adamw"}
# Synthetic items outside `make reproduce` (adamlab reproduce names them); their runs shared with
# the table (the same run ids) are counted once, under the table. images-betas has no cost model
# (real-image runs: 35-55 s of one core each, adamlab/presets/images-fig1.toml).
EXTRA = {"betas (not in default)": "betas", "optimisers (not in default)": "optimisers",
         "limits (not in default)": "limits", "beyond (not in default)": "beyond"}
LOW, HIGH = 0.87, 1.05  # measured / modelled, see the docstring


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--budget", choices=BUDGETS, default="paper")
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args()
    total = 0.0
    print(f"budget {args.budget}, {args.workers} workers (estimate: cost model x {LOW}..{HIGH})")
    print(f"{'item':28} {'runs':>5} {'CPU s':>7} {'wall min':>12} {'end state: at most, min':>24}")
    seen: set[str] = set()
    bound = [0.0]

    def line(item: str, preset: str) -> float:
        spec = load_spec(preset, variant="short" if args.budget == "short" else None)
        configs = [c for c in spec.configs if c.run_id() not in seen]
        seen.update(c.run_id() for c in configs)
        cpu = sum(run_costs(configs))
        capped = [c.replace(epochs=cap_epochs(c)) for c in configs]
        extra = sum(run_costs(capped)) - cpu
        bound[0] += extra
        wall = cpu / args.workers / 60
        print(f"{item:28} {len(configs):5d} {cpu:7.0f} {wall * LOW:5.0f} - {wall * HIGH:4.0f} "
              f"{extra / args.workers / 60 * HIGH:24.0f}")
        return cpu

    for item, preset in ITEMS.items():
        total += line(item, preset)
    wall = total / args.workers / 60
    print(f"{'all default items':28} {'':5} {total:7.0f} {wall * LOW:5.0f} - {wall * HIGH:4.0f} "
          f"{bound[0] / args.workers / 60 * HIGH:24.0f}")
    extra = sum(line(item, preset) for item, preset in EXTRA.items())
    wall = extra / args.workers / 60
    print(f"{'betas, optimisers, limits, beyond':28} {'':5} {extra:7.0f} {wall * LOW:5.0f} - "
          f"{wall * HIGH:4.0f}")


if __name__ == "__main__":
    main()
