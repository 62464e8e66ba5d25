"""Real reports at a few epochs judge every synthetic item's claims at both horizons (its own file,
so the test runner spreads its two reports over the workers)."""
import re

import pytest

from adamlab.report.ledger import load_ledger

LEDGER = load_ledger()


@pytest.mark.parametrize("items, epochs", [
    (("table", "trajectories", "adam-large-wd", "adamw-large-wd", "phase"), 5),
    (("optimisers", "limits", "betas"), 20)])  # limits warms up over 10 epochs
def test_every_synthetic_item_judges_its_claims_at_the_end_state(tmp_path, items, epochs):
    """A real report at a few epochs: every claim of the items gets a verdict at both horizons,
    the end state's from runs continued past the budget, and the lead says how far the end
    state went. (beyond: the same end_findings as limits; critical-batch: budget only.)"""
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
