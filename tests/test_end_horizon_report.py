"""Real reports at a few epochs judge every synthetic item's claims at both horizons (its own file,
so the test runner spreads its two reports over the workers)."""
import csv
import re

import pytest

from adamlab.report.ledger import load_ledger

LEDGER = load_ledger()


@pytest.mark.parametrize("items, epochs", [
    (("table", "trajectories", "adam-large-wd", "adamw-large-wd", "phase"), 5),
    (("optimisers", "betas", "scaledown"), 5)])  # limits: test_limits_end_findings_read_the_end_runs
def test_every_synthetic_item_judges_its_claims_at_the_end_state(tmp_path, items, epochs):
    """A real report at a few epochs: every claim of the items gets a verdict at both horizons,
    the end state's from runs continued past the budget, and the lead says how far the end
    state went. (limits and beyond share end_findings, tested below on made-up runs;
    critical-batch: tests/critical/test_critical_study.py.)"""
    from adamlab.cli import main
    from adamlab.report.ledger import KIND_WORDS

    assert main(["reproduce", *items, "--quick", "--epochs", str(epochs), "--seeds", "0",
                 "--out", str(tmp_path), "--workers", "2", "--no-progress"]) == 0
    md = (tmp_path / "report.md").read_text()
    found = md.split("## What we found")[1].split("\n## ")[0]
    rows = re.findall(r"^\| .* \(`([^`]+)`\) \| [^|]+ \| (reproduction|extension) \| "
                      r"\*\*([^*]+)\*\* \| \*\*([^*]+)\*\* \|", found, re.M)
    assert [cid for cid, *_ in rows] == [c.id for item in items for c in LEDGER.values()
                                         if c.item == item]
    for cid, kind, paper, end in rows:
        row = next(x for x in found.splitlines() if f"(`{cid}`)" in x)
        # one seed: a rule that needs two per side withholds its verdict, and says so
        assert end in KIND_WORDS[kind] and (end != "not measured" or "the rule needs" in row), cid
    assert found.count("At the end state: ") == len(rows)
    assert re.search(r"End state: of the \d+ finished synthetic runs, [1-9]\d* still moving at "
                     r"the budget were continued", found)
    if "betas" in items:  # its section tables both horizons, the end's from the continued runs
        def settled(name):
            with open(tmp_path / "data" / f"{name}.csv") as f:
                return [int(r["settled"].split(" of ")[0]) for r in csv.DictReader(f)]

        budget, end = settled("betas"), settled("betas-end")
        assert len(budget) == len(end) and all(e >= b for b, e in zip(budget, end))
        assert sum(end) > sum(budget)
    if "optimisers" in items:  # its regime table at both horizons: same rows, fewer moving
        def regimes(name):
            with open(tmp_path / "data" / f"{name}.csv") as f:
                return [(r["optimizer"], [v for k, v in r.items() if k.startswith("B=")])
                        for r in csv.DictReader(f)]

        # (that it reads the end runs: test_optimisers_end_regime_table_reads_the_end_runs)
        budget, end = regimes("optimisers-regimes"), regimes("optimisers-regimes-end")
        assert [(o, len(v)) for o, v in budget] == [(o, len(v)) for o, v in end]
    if "scaledown" in items:  # the same cells, read again at the end state
        def cells(name):
            with open(tmp_path / "data" / f"{name}.csv") as f:
                return [(r["check"], r["optimizer"], r["batch_size"], r["how"])
                        for r in csv.DictReader(f)]

        assert cells("scaledown-end") == cells("scaledown")


def test_limits_end_findings_read_the_end_runs():
    """The survival findings at the end state judge the runs the context continued: made-up
    runs whose end states differ from their budget runs give the end runs' verdict."""
    from types import SimpleNamespace

    from adamlab.core.stats import group_runs
    from adamlab.report.items.limits import (LARGE_B, MINI_B, SETTING_KEYS, end_findings,
                                             end_table)
    from adamlab.synthetic.config import SyntheticConfig

    def run(opt, b, test, schedule="constant", seed=0):
        cfg = SyntheticConfig(optimizer=opt, batch_size=b, seed=seed, schedule=schedule,
                              epochs=20).to_dict()
        return {"id": f"{opt}{b}{schedule}{seed}", "status": "ok", "config": cfg,
                "final": {"train_error": 0.0, "test_error": test}}

    at_budget = [run(o, b, 0.5, s) for s in ("constant", "cosine") for o in ("adam", "adamw")
                 for b in (LARGE_B, MINI_B)]
    # at the end state every mini batch learns and every large batch memorises
    ends = {r["id"]: dict(r, final={"train_error": 0.0, "test_error":
                                    0.6 if r["config"]["batch_size"] == LARGE_B else 0.0})
            for r in at_budget}
    calls = []
    ctx = SimpleNamespace(end_state=True, end_runs=lambda rs: calls.append(len(rs)) or [
        ends[r["id"]] for r in rs])
    rows = []
    found = end_findings(ctx, group_runs(at_budget, SETTING_KEYS), "the table", rows=rows)
    assert [f.claim_id for f in found] == ["limits.cosine"]
    assert calls[0] == len(at_budget)  # every setting's runs continued in one call first
    # the end state's table: one row per setting and optimiser, from the end runs
    assert [(r["setting"], r["optimizer"]) for r in rows] == [
        ("constant lr (the table)", "Adam"), ("constant lr (the table)", "AdamW"),
        ("cosine", "Adam"), ("cosine", "AdamW")]
    assert all(r["test_error_large_batch"].mean == 0.6 and r["test_error_mini_batch"].mean == 0
               and r["verdict survives"] == "survives"
               and r["large batch ended at (epochs)"] == "20" for r in rows)
    assert [t.name for t in end_table("limits", rows)] == ["limits-end"]
    assert end_table("limits", []) == []
    assert found[0].horizon == "end" and found[0].verdict == "reproduced"
    assert found[0].decided == 1  # one seed per part
    assert end_findings(SimpleNamespace(end_state=False), {}, "x") == []


def test_optimisers_end_regime_table_reads_the_end_runs():
    """The optimisers item tables the regime per (optimiser, B) at both horizons, the end's from
    the runs the context continued: made-up runs that memorise noise at the budget and learn
    the feature at the end state."""
    from types import SimpleNamespace

    from adamlab.report.items.optimisers import item_optimisers
    from adamlab.synthetic.config import SyntheticConfig

    def run(opt, b, seed, test):
        cfg = SyntheticConfig(optimizer=opt, batch_size=b, seed=seed).to_dict()
        return {"id": f"{opt}-{b}-{seed}", "status": "ok", "config": cfg, "meta": {},
                "final": {"train_error": 0.0, "test_error": test}}

    budget = [run(o, b, s, 0.6) for o in ("adam", "adamw") for b in (2, 200) for s in (0, 1)]
    ends = {r["id"]: dict(r, final={"train_error": 0.0, "test_error": 0.0}) for r in budget}
    store = SimpleNamespace(metrics=lambda run_id, **k: [], path="runs.sqlite")  # no trajectories
    ctx = SimpleNamespace(runs=lambda item: (budget, None), item_command=lambda item: "cmd",
                          store=store, end_state=True,
                          horizons=lambda rs: [("paper", rs), ("end", [ends[r["id"]] for r in rs])])
    sections = item_optimisers(ctx, [])
    tables = {t.name: t.rows for s in sections for t in s.tables}
    cells = lambda name: [v for row in tables[name] for k, v in row.items()  # noqa: E731
                          if k.startswith("B=")]
    assert cells("optimisers-regimes") and all(c.startswith("memorises_noise")
                                               for c in cells("optimisers-regimes"))
    assert len(cells("optimisers-regimes-end")) == len(cells("optimisers-regimes"))
    assert all(c.startswith("learns_feature") for c in cells("optimisers-regimes-end"))
