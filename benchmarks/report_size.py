"""How big index.html is, and what a full report's will be: Plotly's bundle (inlined once), each
interactive figure's embedded data, and the rest (text, tables, static PNGs).

    python benchmarks/report_size.py REPORT_DIR       # measure a report, predict the full one

Measured: REPORT_DIR/index.html split into the Plotly bundle, each interactive figure's JSON
(and how many runs it holds) and the rest. Predicted: the same page with every phase preset at
its full grid (8 batch sizes x 6 weight decays x 3 seeds, 10^4 epochs logged at
SyntheticConfig.log_epochs), each run's eight series drawn at DISPLAY_POINTS epochs. The runs
are made up (random values from 1e-3 to 10, rounded as the report rounds: what sets the size
is how many numbers there are and their digits), so no training is needed; their configs are the presets' own, so
the rerun commands are as long as the real ones. The rest of the page is taken from REPORT_DIR:
a quick report has the same figures, tables and sections as a full one, only smaller grids.
"""
from __future__ import annotations

import argparse
import random
import re
from pathlib import Path

from adamlab.report.interactive import PANELS, phase_interactive
from adamlab.sweep.spec import load_spec
from adamlab.synthetic import theory

PHASE_PRESETS = ("phase-adam", "phase-adamw")
SCRIPTS = re.compile(r"<script>.*?</script>", re.S)  # Plotly's bundle and the drawing script
DATA = re.compile(r'<script type="application/json" class="ix-data">(.*?)</script>', re.S)


class MadeUpStore:
    """What phase_interactive reads of a store (path, metrics), for runs never trained: each
    logged epoch of a run's config gets a random value per series, between 1e-3 and 10."""

    path = Path("report/runs.sqlite")

    def __init__(self, configs: dict):
        self.configs = configs

    def metrics(self, run_id: str) -> list[tuple]:
        cfg, rng = self.configs[run_id], random.Random(run_id)
        rows = []
        for split, name, *_ in (s for _, series in PANELS for s in series):
            for e in [0, *cfg.log_epochs()]:  # 1e-3 .. 10: as many digits as real trajectories
                value = 10 ** rng.uniform(-3, 1)
                rows.append((e * cfg.n // cfg.batch_size, float(e), split, name, value))
        return rows


def predicted_payload(preset: str) -> tuple[int, int]:
    """(bytes of the preset's interactive figure at its full grid, runs in it)."""
    spec = load_spec(preset)
    configs = {c.run_id(): c for c in spec.configs}
    runs = [{"id": i, "config": c.to_dict(), "status": "ok",
             "final": {"test_error": 0.1234, "train_error": 0.0}} for i, c in configs.items()]
    bs = sorted({c.batch_size for c in configs.values()})
    wds = sorted({c.weight_decay for c in configs.values()})
    cells: dict = {}
    for r in runs:
        cells.setdefault((r["config"]["weight_decay"], r["config"]["batch_size"]), []).append(r)
    base = next(iter(configs.values()))
    predicted = theory.regime_grid(base, bs, wds)
    grid = [[0.25] * len(bs) for _ in wds]
    moving = [[False] * len(bs) for _ in wds]
    ix = phase_interactive(MadeUpStore(configs), preset, preset, bs, wds, cells, grid,
                           predicted, moving)
    return sum(len(m.group(0).encode()) for m in DATA.finditer(ix.html)), len(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", help="a report folder (its index.html is measured)")
    args = parser.parse_args()
    page = (Path(args.report) / "index.html").read_text(encoding="utf-8")
    total = len(page.encode())
    bundle = sum(len(m.group(0).encode()) for m in SCRIPTS.finditer(page))
    if not bundle:
        raise SystemExit(f"{args.report}/index.html has no interactive figure (no Plotly)")
    payloads = [len(m.group(0).encode()) for m in DATA.finditer(page)]
    rest = total - bundle - sum(payloads)
    mb = lambda b: f"{b / 1e6:.2f} MB"  # noqa: E731
    print(f"measured {args.report}/index.html: {mb(total)} = Plotly and the figures' script "
          f"{mb(bundle)} (once) + {len(payloads)} interactive figures' data "
          f"{' + '.join(mb(p) for p in payloads)} + the rest {mb(rest)}")
    full = [predicted_payload(p) for p in PHASE_PRESETS]
    per_run = sum(b for b, _ in full) / sum(n for _, n in full)
    predicted = bundle + rest + sum(b for b, _ in full)
    print(f"predicted full report: {mb(predicted)} = {mb(bundle)} + "
          + " + ".join(f"{p} {mb(b)} ({n} runs)" for p, (b, n) in zip(PHASE_PRESETS, full))
          + f" + the rest {mb(rest)}; {per_run / 1e3:.1f} kB per run")


if __name__ == "__main__":
    main()
