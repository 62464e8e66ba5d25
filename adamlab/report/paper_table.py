"""The paper's synthetic table (App. D.2): {Adam wd 1e-5, AdamW wd 0.01} x {B = 100, B = 2}.

Paper's claim: large batch (B = 100, n/B = 2 steps per epoch) reaches zero training error but test
error about 1/2 or worse for both optimisers; mini batch (B = 2) reaches near-zero test error. The
paper ran one seed per cell; we run several (default 0-4) and report each seed, mean and std.
"""
from __future__ import annotations

import csv
import statistics
import sys
from pathlib import Path

from ..config import SyntheticConfig

CELLS = (("adam", 1e-5, 100), ("adam", 1e-5, 2), ("adamw", 1e-2, 100), ("adamw", 1e-2, 2))
PAPER_CLAIM = {100: "train 0, test >= ~0.5", 2: "train 0, test ~0"}


def table_configs(seeds, epochs=None, n_test=None, quick=False) -> list[SyntheticConfig]:
    base = SyntheticConfig()
    epochs = epochs or (500 if quick else base.epochs)
    n_test = n_test or (2000 if quick else base.n_test)
    return [SyntheticConfig(optimizer=opt, weight_decay=wd, batch_size=b, seed=seed,
                            epochs=epochs, n_test=n_test)
            for (opt, wd, b) in CELLS for seed in seeds]


def _mean_std(values):
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def table_rows(results) -> list[dict]:
    rows = []
    for opt, wd, b in CELLS:
        rs = [r for r in results if r.config["optimizer"] == opt and r.config["batch_size"] == b]
        ok = [r for r in rs if r.status == "ok"]
        row = {"optimizer": opt, "weight_decay": wd, "batch_size": b, "n_seeds": len(rs),
               "diverged": len(rs) - len(ok), "paper": PAPER_CLAIM[b],
               "seeds": [r.config["seed"] for r in rs]}
        for key in ("train_error", "test_error", "feature_learning", "noise_memorisation"):
            vals = [r.summary[key] for r in ok]
            row[key + "_per_seed"] = vals
            row[key + "_mean"], row[key + "_std"] = _mean_std(vals) if vals else (None, None)
        rows.append(row)
    return rows


def format_table(rows) -> str:
    head = ("| optimizer | weight_decay | B | seeds | train error (mean ± std) | test error "
            "(mean ± std) | test error per seed | paper |")
    lines = [head, "|" + "---|" * 8]
    for r in rows:
        per = ", ".join(f"{v:.3f}" for v in r["test_error_per_seed"])
        tr = f"{r['train_error_mean']:.3f} ± {r['train_error_std']:.3f}" \
            if r["train_error_mean"] is not None else "n/a"
        te = f"{r['test_error_mean']:.3f} ± {r['test_error_std']:.3f}" \
            if r["test_error_mean"] is not None else "n/a"
        lines.append(f"| {r['optimizer']} | {r['weight_decay']:g} | {r['batch_size']} | "
                     f"{r['n_seeds']} | {tr} | {te} | {per} | {r['paper']} |")
    return "\n".join(lines)


def plot_trajectories(results, path: Path) -> None:
    """Feature learning (both classes) and noise memorisation (min / max over examples) against
    epoch for each cell; line = mean over seeds, band = min..max over seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5), sharex=False)
    colours = {"feature_learning_pos": "#0072B2", "feature_learning_neg": "#56B4E9",
               "noise_memorisation_min": "#D55E00", "noise_memorisation_max": "#E69F00"}
    labels = {"feature_learning_pos": "feature learning, class +1",
              "feature_learning_neg": "feature learning, class -1",
              "noise_memorisation_min": "noise memorisation, min over i",
              "noise_memorisation_max": "noise memorisation, max over i"}
    for ax, (opt, wd, b) in zip(axes.flat, CELLS):
        rs = [r for r in results if r.config["optimizer"] == opt and r.config["batch_size"] == b]
        for name, colour in colours.items():
            curves = [r.series(name) for r in rs]
            curves = [c for c in curves if c[0]]
            if not curves:
                continue
            length = min(len(c[0]) for c in curves)
            x = np.asarray(curves[0][0][:length], dtype=float)
            ys = np.array([c[1][:length] for c in curves])
            ax.plot(x, ys.mean(0), color=colour, label=labels[name])
            ax.fill_between(x, ys.min(0), ys.max(0), color=colour, alpha=0.2, linewidth=0)
        ax.axhline(0, color="grey", linewidth=0.5)
        ax.set_title(f"{'Adam' if opt == 'adam' else 'AdamW'} (weight decay {wd:g}), "
                     f"batch size {b}, {len(rs)} seeds")
        ax.set_xlabel("epoch")
        ax.set_ylabel("inner product with the filter")
    axes.flat[0].legend(fontsize=8, loc="best")
    fig.suptitle("Feature learning max_r <w_j,r, j v> vs noise memorisation max_r <w_y,r, xi> "
                 "(mean over seeds, band = min..max)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def reproduce_table(seeds=(0, 1, 2, 3, 4), epochs=None, n_test=None, quick=False, out="report",
                    workers=None, stream=sys.stdout) -> list[dict]:
    from .parallel import train_many

    configs = table_configs(seeds, epochs, n_test, quick)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"reproduce table: {len(configs)} runs ({len(seeds)} seeds x 4 cells, "
          f"{configs[0].epochs} epochs)", file=sys.stderr)

    def done(r):
        c = r.config
        print(f"  {c['optimizer']:5s} B={c['batch_size']:<3d} seed={c['seed']}: train error "
              f"{r.summary['train_error']}, test error {r.summary['test_error']} "
              f"[{r.status}, {r.seconds:.1f} s]", file=sys.stderr)

    results = train_many(configs, workers, on_done=done)
    rows = table_rows(results)
    text = format_table(rows)
    print(text, file=stream)
    (out / "table.md").write_text(text + "\n")
    with open(out / "table.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["optimizer", "weight_decay", "batch_size", "seed", "status", "train_error",
                    "test_error", "feature_learning", "noise_memorisation", "seconds"])
        for r in results:
            c, s = r.config, r.summary
            w.writerow([c["optimizer"], c["weight_decay"], c["batch_size"], c["seed"], r.status,
                        s["train_error"], s["test_error"], s["feature_learning"],
                        s["noise_memorisation"], f"{r.seconds:.3f}"])
    plot_trajectories(results, out / "trajectories.png")
    print(f"wrote {out / 'table.md'}, {out / 'table.csv'}, {out / 'trajectories.png'}",
          file=sys.stderr)
    return rows
