"""SGD/GD, SignSGD, RMSprop, Adam, AdamW and Lion on one batch-size axis at the table's setting
(docs/paper.md "Neighbouring work": the predecessor, Zou et al. 2021, contrasts Adam
with gradient descent on this kind of data).

Each optimiser runs at its own learning rate (the preset, adamlab/presets/optimisers.toml, says
why, with the arithmetic) and its registry's weight decay. The theory treats some of them as Adam
or AdamW (the registry's `theory`: SignSGD and RMSprop as Adam, Lion as AdamW); for those the
claim checked is the paper's (mini batch learns the feature, large batch memorises noise); for
SGD, outside the theorems, the predecessor's (gradient descent learns the feature, full batch
included)."""
from __future__ import annotations

from ...core.formatting import fmt_number
from ...core.stats import gap_test, group_runs
from ...core.verdicts import Finding, agrees, mean_ci, shares, verdict_of_parts
from ...optim.registry import get, label
from ...synthetic.regimes import REGIME_WORDS, observed_regime
from .. import figures as F
from ..context import Context, at_horizon, budget_note, budget_tables, caption_config, stats_of
from ..interactive import batch_size_interactive
from ..page import FigureItem, Section, TableItem
from ..regimes import cell_regime, split_moving

# The paper's large batch (B = 100, the table's) and full batch (B = n = 200): where the claim
# for the Adam family expects noise memorisation. The batch sizes between the smallest and these
# show where each optimiser switches; no claim is judged on them.
LARGE_BATCH_MIN = 100
LINE_KEYS = ("optimizer", "lr", "weight_decay", "momentum", "nesterov")
FAMILY_TEXT = {"adam": "Adam (Thms 4.1-4.2)", "adamw": "AdamW (Thms 4.4-4.5)",
               None: "none (outside the theorems)"}


def line_id(key: tuple) -> str:
    """The line's claim id in the ledger: 'optimisers.sgd-nesterov'."""
    opt, _, _, momentum, nesterov = key
    extra = ("-nesterov" if nesterov else
             "-momentum" if momentum and "momentum" in get(opt).options else "")
    return f"optimisers.{opt}{extra}"


def line_label(key: tuple) -> str:
    """'SGD, Nesterov 0.9 (lr 0.001)': the optimiser, its momentum, and its learning rate."""
    opt, lr, _, momentum, nesterov = key
    extra = (f", Nesterov {momentum:g}" if nesterov else
             f", momentum {momentum:g}" if momentum and "momentum" in get(opt).options else "")
    return f"{label(opt)}{extra} (lr {fmt_number(lr)})"


def regime_text(runs: list[dict]) -> str:
    """The cell's regime with its counts: 'learns_feature (5 of 5 settled)', plus the seeds
    still moving or diverged."""
    if not runs:
        return "no runs"
    labels = [observed_regime(r) for r in runs]
    top = cell_regime(runs)
    settled = [x for x in labels if x != "still_moving"]
    moving = len(labels) - len(settled)
    if top == "still_moving":
        return f"still_moving ({moving} of {len(labels)})"
    counts = (f"{settled.count(top)} of {len(settled)} settled" if top != "mixed" else
              ", ".join(f"{settled.count(x)} {x}" for x in sorted(set(settled))))
    return f"{top} ({counts}" + (f"; {moving} still moving)" if moving else ")")


def part(runs: list[dict], want: str) -> tuple[int, int, int]:
    """One part of a claim over `runs`: (settled runs whose regime is `want`, settled runs,
    runs still moving); a run that did not finish is settled and disagrees."""
    judged, moving = split_moving(runs)
    return sum(observed_regime(r) == want for r in judged), len(judged), len(moving)


def part_text(runs: list[dict], counts: tuple[int, int, int]) -> str:
    """A part of a claim in words: the settled seeds' test error, how many agree, and each
    regime's share of them (a bimodal large-batch cell reads as shares, not only a mean)."""
    k, n, _ = counts
    if not n:
        return "no settled seed"
    settled = split_moving(runs)[0]
    te = stats_of(settled, "test_error")
    regimes = shares([observed_regime(r) for r in settled], list(te.values), REGIME_WORDS,
                     "test error")
    return f"the settled seeds' test error {mean_ci(te)}, {agrees(k, n)} (regimes: {regimes})"


def switch_text(cells: dict[int, list[dict]]) -> str:
    """Where the cells' majority regime changes along the batch-size axis."""
    regimes = [(b, cell_regime(rs)) for b, rs in sorted(cells.items())]
    learns = [b for b, r in regimes if r == "learns_feature"]
    memorises = [b for b, r in regimes if r == "memorises_noise"]
    if learns and memorises and max(learns) < min(memorises):
        return f"learns the feature up to B = {max(learns)}, memorises noise from B = " \
               f"{min(memorises)}"
    return "; ".join(f"B = {b}: {r}" for b, r in regimes)


def per_seed(cells: dict[int, list[dict]], bs: list[int], seeds: list[int],
             metric: str) -> list[list]:
    """[seed][batch size] final values of `metric` (None where a run is missing or not ok): one
    line's data for sweep_line_figure."""
    def value(b, s):
        hit = [r for r in cells.get(b, []) if r["config"]["seed"] == s and r["status"] == "ok"]
        return hit[0]["final"].get(metric) if hit else None

    return [[value(b, s) for b in bs] for s in seeds]


def pivot_row(name: str, family: str, cells: dict[int, list[dict]], bs: list[int]) -> dict:
    """One optimiser's row of the regime table: the majority regime per batch size."""
    return {"optimizer": name, "theory family": FAMILY_TEXT[family],
            **{f"B={b}": regime_text(cells.get(b, [])) for b in bs}}


def arithmetic_row(name: str, cfg: dict, bs: list[int]) -> dict:
    """An optimiser's learning rate and decay, and what the budget gives it at both ends of the
    batch-size axis."""
    entry = get(cfg["optimizer"])
    steps = lambda b: cfg["epochs"] * (cfg["n"] // b)  # noqa: E731
    lo, hi = min(bs), max(bs)
    return {"optimizer": name, "lr": cfg["lr"], "weight_decay": cfg["weight_decay"],
            "decay": "decoupled" if entry.decoupled else "L2",
            f"steps at B={lo}": steps(lo), f"steps at B={hi}": steps(hi),
            f"lr × steps at B={hi}": cfg["lr"] * steps(hi),
            "lr × λ per step": cfg["lr"] * cfg["weight_decay"],
            "theory family": FAMILY_TEXT[entry.theory]}


def item_optimisers(ctx: Context, findings: list[Finding]) -> list[Section]:
    runs, _ = ctx.runs("optimisers")
    lines = group_runs(runs, LINE_KEYS)
    bs = sorted({r["config"]["batch_size"] for r in runs})
    seeds = sorted({r["config"]["seed"] for r in runs})
    series_test, series_train, long_rows, cost_rows = [], [], [], []
    by_line = {}
    for key, rs in lines.items():
        cells = by_line[key] = {b: g for (b,), g in group_runs(rs, ("batch_size",)).items()}
        name = line_label(key)
        series_test.append({"label": name, "values": per_seed(cells, bs, seeds, "test_error")})
        series_train.append({"label": name,
                             "values": per_seed(cells, bs, seeds, "train_error")})
        long_rows += [{"optimizer": name, "batch_size": b,
                       "train_error": stats_of(cells.get(b, []), "train_error"),
                       "test_error": stats_of(cells.get(b, []), "test_error"),
                       "observed": regime_text(cells.get(b, [])),
                       "diverged": sum(r["status"] == "diverged" for r in cells.get(b, []))}
                      for b in bs]
        cost_rows.append(arithmetic_row(name, rs[0]["config"], bs))
    pivots = {}  # horizon -> the regime table (the end's: the same runs continued)
    for horizon, hruns in ctx.horizons(runs):
        h_lines = {key: {b: g for (b,), g in group_runs(rs, ("batch_size",)).items()}
                   for key, rs in group_runs(hruns, LINE_KEYS).items()}
        pivots[horizon] = [pivot_row(line_label(k), get(k[0]).theory, c, bs)
                           for k, c in h_lines.items()]
        for key, cells in h_lines.items():
            every = [r for g in cells.values() for r in g]
            findings.append(at_horizon(_line_finding(line_label(key), get(key[0]).theory, cells,
                                                     claim_id=line_id(key)), horizon, every))
        findings.extend(at_horizon(f, horizon, hruns) for f in _full_batch_findings(h_lines))
    cmd = ctx.item_command("optimisers")
    cfg_caption = caption_config(runs, LINE_KEYS + ("batch_size", "seed"))
    figs = [FigureItem("optimisers-test", F.sweep_line_figure(
        bs, series_test, "batch size B", band="ci95",
        title="Test error over batch size, one line per optimiser"),
        caption=f"Mean test error over seeds ({len(seeds)}) with their range (a 95% bootstrap "
        f"interval from 10 seeds; points: seeds); at B = {max(bs)} every step is full batch (GD for SGD).",
        command=cmd, config=cfg_caption, interactive=batch_size_interactive(  # click: runs
            ctx.store, "optimisers-test", "Test error over batch size", bs,
            {line_label(k): cells for k, cells in by_line.items()})),
        FigureItem("optimisers-train", F.sweep_line_figure(
            bs, series_train, "batch size B", band="ci95", chance=None, ylabel="train error",
            title="Train error over batch size: did each optimiser fit the training set?"),
            caption="Train error of the same runs (above 0.25: stuck near initialisation).",
            command=cmd, config=cfg_caption)]
    tables = budget_tables(runs, "optimisers") + [
        TableItem("optimisers-regimes", pivots["paper"], per_seed=False,
                  caption="Regime per (optimiser, B): the majority of the settled seeds with its "
                  "count ('still_moving' unless most seeds settled), and the optimiser the "
                  "theory treats it as (registry `theory`)."),
    ] + ([TableItem("optimisers-regimes-end", pivots["end"], per_seed=False,
                    caption="The same at the end state: each run still moving at the budget "
                    "continued until it settled or reached the cap.")] if "end" in pivots else []) + [
        TableItem("optimisers", long_rows, caption="Final errors per (optimiser, B): mean ± std "
                  "over seeds (n), per-seed values beside."),
        TableItem("optimisers-arithmetic", cost_rows, per_seed=False,
                  caption="Each optimiser's learning rate and weight decay (the preset's "
                  "comments say why), its steps at the smallest and largest batch, how far its "
                  "weights can travel there (lr × steps: in coordinate units for the "
                  "normalised and sign methods, times the gradient for SGD) and the decay per "
                  "step.")]
    intro = [budget_note(runs),
             f"{len(runs)} runs: {len(lines)} optimisers × batch size {bs} × seeds {seeds}, at "
             f"the table's setting (App. D.2: d = 1000, n = 200, σ0 = 0.01, q = 3). The claim "
             f"checked for each optimiser: for those the theory treats as Adam or AdamW, the "
             f"paper's (mini batch B = {min(bs)} learns the feature, B ≥ {LARGE_BATCH_MIN} "
             f"memorises noise); for SGD, outside the theorems, its predecessor's (Zou et al. "
             f"2021: gradient descent learns the feature, full batch included). Batch sizes in "
             f"between show where each optimiser switches and are not judged."]
    return [Section("Optimisers over batch size", intro, tables, figs)]


def _line_finding(name: str, family: str | None, cells: dict[int, list[dict]],
                  claim_id: str | None = None) -> Finding:
    """The claim for one optimiser: the paper's for the Adam family, Zou et al.'s for SGD."""
    mini_b = min(cells)
    if family is not None:
        mini = cells[mini_b]
        large = [r for b, g in cells.items() if b >= LARGE_BATCH_MIN for r in g]
        parts = [part(mini, "learns_feature"), part(large, "memorises_noise")]
        claim = (f"{name}, which the theory treats as {FAMILY_TEXT[family].split(' (')[0]}: "
                 f"mini batch (B = {mini_b}) learns the feature and large batch "
                 f"(B ≥ {LARGE_BATCH_MIN}) memorises noise.")
        observed = (f"at B = {mini_b} {part_text(mini, parts[0])}; at B ≥ {LARGE_BATCH_MIN} "
                    f"{part_text(large, parts[1])}")
    else:
        every = [r for g in cells.values() for r in g]
        parts = [part(every, "learns_feature")]
        full = cells[max(cells)]
        claim = (f"{name}, outside the theorems: gradient descent learns the feature at every "
                 f"batch size, full batch (B = {max(cells)}) included (Zou et al. 2021).")
        observed = (f"over all batch sizes {part_text(every, parts[0])}; at full batch the "
                    f"settled seeds' test error "
                    f"{mean_ci(stats_of(split_moving(full)[0], 'test_error'))}")
    moving = sum(m for _, _, m in parts)
    return Finding(claim, f"{observed}; along the batch-size axis: {switch_text(cells)}.",
                   verdict_of_parts(parts), still_moving=moving, claim_id=claim_id,
                   decided=min(n for _, n, _ in parts))


def _full_batch_findings(by_line: dict) -> list[Finding]:
    """Zou et al.'s contrast at full batch: Adam memorises noise where GD learns the feature.
    Judged on the settled seeds' test errors: Adam's minus plain SGD's (GD at B = n), by
    `gap_test` (a one-sided permutation test below 10 seeds a side, the bootstrap interval from
    10); reproduced when the gap is clearly above 0."""
    adam = [c for k, c in by_line.items() if k[0] == "adam"]
    gd = [c for k, c in by_line.items() if k[0] == "sgd" and not k[3]]
    if not adam or not gd:
        return []
    b = max(adam[0])
    if b not in gd[0]:
        return []
    a_runs, g_runs = adam[0][b], gd[0][b]
    still = "still_moving" in (cell_regime(a_runs), cell_regime(g_runs))
    ja, jg = split_moving(a_runs)[0], split_moving(g_runs)[0]
    diff = gap_test([r["final"].get("test_error") for r in ja if r["status"] == "ok"],
                    [r["final"].get("test_error") for r in jg if r["status"] == "ok"])
    if diff.estimate is None:
        text, v = "no settled seeds in one of the cells", "still moving" if still else \
            "not measured"
    else:
        text = (f"Adam's settled seeds' test error {mean_ci(stats_of(ja, 'test_error'))}, GD's "
                f"{mean_ci(stats_of(jg, 'test_error'))}; Adam minus GD: {diff.text()}; cells: "
                f"Adam {regime_text(a_runs)}, GD {regime_text(g_runs)}")
        v = ("still moving" if still else "reproduced" if diff.clearly_positive else
             "not reproduced")
    return [Finding(f"At full batch (B = {b}) gradient descent generalises better than Adam "
                    f"(Zou et al. 2021: full-batch Adam memorises noise, GD learns the feature).",
                    text + ".", v, claim_id="optimisers.full-batch",
                    decided=min(len(ja), len(jg)))]
