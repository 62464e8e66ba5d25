"""The batch-gradient norms of every run of a sweep preset, over the run and over its first tenth
(weighted quantiles, and the share of steps above each clip level): how the limits preset chose
its clip_norm.

    python benchmarks/gradient_norms.py limits --variant short --seeds 0 --clip 0.5 1
"""
from __future__ import annotations

import argparse

from adamlab.sweep.spec import load_spec
from adamlab.synthetic.gradnorms import gradient_norms


def main(argv=None) -> None:
    """`python benchmarks/gradient_norms.py PRESET [--variant V] [--seeds 0 1] [--clip X ...]`:
    the batch-gradient norms of every run of a sweep preset, over the run and over its first
    tenth (weighted quantiles, and the share of steps above each X): how the limits preset chose
    its clip_norm."""
    p = argparse.ArgumentParser(description=main.__doc__.split("\n")[0])
    p.add_argument("preset")
    p.add_argument("--variant", default=None)
    p.add_argument("--seeds", type=int, nargs="+", default=None)
    p.add_argument("--clip", type=float, nargs="*", default=[])
    args = p.parse_args(argv)
    for cfg in load_spec(args.preset, variant=args.variant).configs:
        if args.seeds is not None and cfg.seed not in args.seeds:
            continue
        g = gradient_norms(cfg)
        print(f"{cfg.optimizer} B={cfg.batch_size} seed={cfg.seed} clip={cfg.clip_norm} "
              f"{g.status}, {len(g.epochs)} epochs sampled:", flush=True)
        for name, until in (("first tenth", cfg.epochs / 10), ("whole run", None)):
            q = g.quantiles((0.1, 0.5, 0.9, 1.0), until)
            above = ", ".join(f"> {c:g}: {g.fraction_above(c, until):.1%}" for c in args.clip)
            print(f"  {name}: norm quantiles 10/50/90/100% " + " ".join(f"{v:.3g}" for v in
                                                                       q.values())
                  + (f"; {above}" if above else ""), flush=True)


if __name__ == "__main__":
    main()
