"""The claims ledger (adamlab/report/ledger.toml): it loads and a bad file stops with one line
naming the claim and the field; every claim belongs to an item and the items emit exactly their
claims; extensions read holds / does not hold, never "not reproduced"; the "What we found" table
shows both horizons and links to sections that exist; the verdict counts per kind and horizon."""
import re
from html import unescape

import pytest

from adamlab.cli import main
from adamlab.core.verdicts import Finding
from adamlab.report import reproduce as R
from adamlab.report.found import findings_section, links_of
from adamlab.report.items import ITEMS, Item
from adamlab.report.ledger import (KIND_WORDS, KINDS, WORDS, LedgerError, check_findings, counts,
                                   counts_line, load_ledger, word)
from adamlab.report.page import Section, section_anchors, write_report

LEDGER = load_ledger()

GOOD = """
[[claim]]
id = "table.adam.large"
item = "table"
words = "Adam with large batch memorises noise."
source = "App. D.2 table"
setting = "synthetic"
kind = "reproduction"
[claim.rule]
metric = "observed regime"
threshold = "test error >= 0.3"
k_of_n = "all settled seeds"
min_decided = 1
unit = "seeds"
horizons = ["paper", "end"]
"""


def test_the_ledger_loads_and_every_claim_belongs_to_an_item():
    assert len(LEDGER) >= 40
    assert {c.kind for c in LEDGER.values()} == set(KINDS)
    assert {c.item for c in LEDGER.values()} == set(ITEMS)  # every item judges some claim
    for c in LEDGER.values():
        assert c.setting == ("images" if c.item.startswith("images-") else "synthetic"), c.id
        assert c.rule.horizons[0] == "paper" and c.rule.min_decided >= 1
        # a real-image claim has no end state: its runs follow the paper's epochs
        assert ("end" in c.rule.horizons) == (c.setting == "synthetic"), c.id
        if c.kind == "extension":
            assert c.source.startswith("ours"), c.id


def test_the_synthetic_betas_claim_is_an_extension():
    """The paper's (beta1, beta2) grid is on its real images: on the synthetic data it is ours."""
    betas = LEDGER["betas"]
    assert (betas.kind, betas.setting, betas.source.split()[0]) == ("extension", "synthetic",
                                                                     "ours")
    assert word("extension", "not reproduced") == "does not hold"
    assert word("extension", "partly reproduced") == "mixed"
    assert word("extension", "reproduced") == "holds"


def test_extension_words_never_say_reproduced():
    for verdict in WORDS["extension"]:
        assert "reproduced" not in word("extension", verdict)
    assert "not reproduced" not in KIND_WORDS["extension"]
    assert word("check", "passed") == "passed" and word("reproduction", "not reproduced") == \
        "not reproduced"
    with pytest.raises(LedgerError, match="verdict 'passed' has no word for kind 'extension'"):
        word("extension", "passed")




@pytest.mark.parametrize("change,message", [
    (('kind = "reproduction"', 'kind = "replication"'),
     "claim 'table.adam.large': kind: must be one of reproduction, extension, check, got "
     "'replication'"),
    (("min_decided = 1\n", ""), "claim 'table.adam.large': rule.min_decided: missing"),
    (("min_decided = 1", "min_decided = 0"),
     "claim 'table.adam.large': rule.min_decided: must be an integer >= 1, got 0"),
    (('horizons = ["paper", "end"]', 'horizons = ["paper", "forever"]'),
     "claim 'table.adam.large': rule.horizons: must be a non-empty list of distinct paper / "
     "end, got ['paper', 'forever']"),
    (('source = "App. D.2 table"\n', ""), "claim 'table.adam.large': source: missing"),
    (('setting = "synthetic"', 'setting = "cifar"'),
     "claim 'table.adam.large': setting: must be one of synthetic, images, got 'cifar'"),
    (('words = "Adam', 'colour = "red"\nwords = "Adam'),
     "claim 'table.adam.large': colour: unknown field"),
    (('threshold = "test error >= 0.3"', 'cutoff = 0.3'),
     "claim 'table.adam.large': rule.cutoff: unknown field"),
    (('id = "table.adam.large"', 'id = "Table Adam"'),
     "claim #1: id: must be lower-case letters, digits, '.' and '-', got 'Table Adam'"),
    (("[claim.rule]", "[claim.rules]"), "claim 'table.adam.large': rules: unknown field"),
    (('kind = "reproduction"', 'kind = "reproduction'), "not valid TOML"),
])
def test_a_bad_ledger_is_a_one_line_error(tmp_path, change, message):
    path = tmp_path / "ledger.toml"
    path.write_text(GOOD.replace(*change))
    with pytest.raises(LedgerError) as err:
        load_ledger(path)
    text = str(err.value)
    assert text.startswith("ledger.toml: ") and message in text and "\n" not in text, text


def test_a_claim_twice_and_a_ledger_without_claims(tmp_path):
    path = tmp_path / "ledger.toml"
    path.write_text(GOOD + GOOD)
    with pytest.raises(LedgerError, match=r"^ledger.toml: claim 'table.adam.large': id: used "
                                          r"twice$"):
        load_ledger(path)
    path.write_text("title = 'claims'\n")
    with pytest.raises(LedgerError, match="title: unknown table"):
        load_ledger(path)
    path.write_text(GOOD)
    assert list(load_ledger(path)) == ["table.adam.large"]


def test_findings_must_name_their_items_claims():
    f = lambda cid, h="paper", v="reproduced": Finding("c", "o", v, claim_id=cid,  # noqa: E731
                                                        horizon=h)
    check_findings([f("table.adam.large"), f("table.adam.large", "end")], LEDGER, item="table")
    for bad, message in (
            ([f(None)], "claim_id: None is not a claim of the ledger"),
            ([f("table.adam.huge")], "claim_id: 'table.adam.huge' is not a claim"),
            ([f("betas")], "claim 'betas': item: the ledger gives 'betas', but item 'table'"),
            ([f("table.adam.large", "later")], "horizon: 'later' is not among"),
            ([f("table.adam.large")] * 2, "judged twice at horizon 'paper'"),
            ([f("table.adam.large", v="passed")], "'passed' has no word for kind 'reproduction'")):
        with pytest.raises(LedgerError, match=re.escape(message)):
            check_findings(bad, LEDGER, item="table")
    images = Finding("c", "o", "reproduced", claim_id="images.fig1.adam", horizon="end")
    with pytest.raises(LedgerError, match="not among its rule's horizons"):
        check_findings([images], LEDGER)  # real-image claims declare no end state


def test_reproduce_refuses_a_finding_outside_the_ledger(tmp_path, monkeypatch):
    def build(ctx, findings):
        findings.append(Finding("made up", "nothing", "reproduced", claim_id="made.up"))
        return [Section("Made up")]

    monkeypatch.setitem(R.ITEMS, "made-up", Item("made-up", "a fake item", build))
    with pytest.raises(LedgerError, match="'made.up' is not a claim of the ledger"):
        R.reproduce(items=("made-up",), out=tmp_path, progress=False)


def _fake_findings():
    return [
        Finding("c", "gap 0.4 at B = 100.", "reproduced", claim_id="table.adam.large"),
        Finding("c", "gap 0.45 once settled.", "partly reproduced", claim_id="table.adam.large",
                horizon="end"),
        Finding("c", "2 of 5 seeds.", "still moving", still_moving=3,
                claim_id="table.adam.mini"),
        Finding("c", "0 of 9 combinations.", "not reproduced", claim_id="betas"),
        Finding("c", "1 of 3 combinations.", "partly reproduced", claim_id="betas",
                horizon="end"),
        Finding("c", "test accuracy 0.93.", "passed", claim_id="images.anchor"),
        Finding("c", "gap +0.2.", "not reproduced", claim_id="images.fig1.adam", scaled=True),
    ]


ITEMS_RUN = ("table", "betas", "images-anchor", "images-fig1")


def test_counts_per_kind_and_horizon():
    table = counts(_fake_findings(), LEDGER, ITEMS_RUN)
    rep, ext, check = table["reproduction"], table["extension"], table["check"]
    # table: 4 claims (paper and end); images-fig1: 2 claims (paper only)
    # the image claim was judged on a CPU scale-down: "not observed at CPU scale"
    assert rep["paper"] == {"reproduced": 1, "partly reproduced": 0, "not reproduced": 0,
                            "not observed at CPU scale": 1, "still moving": 1,
                            "not measured": 3}
    assert rep["end"] == {"reproduced": 0, "partly reproduced": 1, "not reproduced": 0,
                          "not observed at CPU scale": 0, "still moving": 0, "not measured": 3}
    assert ext == {"paper": {"holds": 0, "mixed": 0, "does not hold": 1, "still moving": 0,
                             "not measured": 0},
                   "end": {"holds": 0, "mixed": 1, "does not hold": 0, "still moving": 0,
                           "not measured": 0}}
    assert check == {"paper": {"passed": 1, "failed": 0, "still moving": 0, "not measured": 0}}
    assert counts_line(table) == (
        "Reproductions (6 claims), at 10^4 epochs: 1 reproduced, 1 not observed at CPU scale, 1 "
        "still moving, 3 not measured; at the end state: 1 partly reproduced, 3 not measured. "
        "Extensions (1 claim), at 10^4 epochs: 1 does not hold; at the end state: 1 mixed. "
        "Checks (1 claim), at 10^4 epochs: 1 passed.")
    # every claim of the ledger when no items are named
    everything = counts([], LEDGER)
    assert sum(everything["reproduction"]["paper"].values()) == sum(
        c.kind == "reproduction" for c in LEDGER.values())


def test_the_table_renders_both_horizons_kind_words_and_links(tmp_path):
    sections = {item: [Section(f"Section of {item}")] for item in ITEMS_RUN}
    flat = [s for secs in sections.values() for s in secs]
    anchors = section_anchors([Section("What we found")] + flat)[1:]
    links = links_of(LEDGER, sections, {id(s): a for s, a in zip(flat, anchors)})
    summary, rows = findings_section(_fake_findings(), LEDGER, ITEMS_RUN, links)
    assert [r.claim.id for r in rows][:5] == ["table.adam.large", "table.adam.mini",
                                              "table.adamw.large", "table.adamw.mini", "betas"]
    paths = write_report(tmp_path, "t", [summary] + flat, intro=["Title line."],
                         details=("How this report was made", ["Command: `x`."]), lead=1)
    page = unescape(paths["html"].read_text())
    md = paths["markdown"].read_text()
    row = lambda cid: re.search(rf'<tr id="claim-{re.escape(cid)}">(.*?)</tr>',  # noqa: E731
                                page, re.S)[1]
    badges = lambda cid: re.findall(r'<span class="badge tone-(\w+)"[^>]*>([^<]+)</span>',  # noqa
                                    row(cid))
    assert badges("table.adam.large") == [("good", "reproduced"), ("mixed", "partly reproduced")]
    assert ("The horizons disagree: reproduced at the paper's budget, partly reproduced at the "
            "end state. At the paper's budget: gap 0.4 at B = 100. At the end state: gap 0.45 "
            "once settled.") in row("table.adam.large")
    assert "horizons disagree" not in row("table.adam.mini")  # one horizon not measured
    assert badges("table.adam.mini") == [("moving", "still moving"), ("none", "not measured")]
    assert "(3 runs still moving, counted neither for nor against.)" in row("table.adam.mini")
    assert badges("betas") == [("bad", "does not hold"), ("mixed", "mixed")]
    assert badges("images.anchor") == [("good", "passed"), ("none", "—")]
    assert badges("images.fig1.adamw") == [("none", "not measured"), ("none", "—")]
    # no extension row says "reproduced" in any form
    for r in rows:
        if r.claim.kind == "extension":
            assert "reproduced" not in row(r.claim.id)
    # every row links to a section that is on the page
    ids = set(re.findall(r'<section id="([^"]+)"', page))
    hrefs = [re.search(r'<a href="#([^"]+)">', row(r.claim.id))[1] for r in rows]
    assert set(hrefs) <= ids and len(set(hrefs)) == len(ITEMS_RUN)
    # markdown: the same verdicts in bold, the same links; the page opens on the findings
    line = next(x for x in md.splitlines() if "(`betas`)" in x)
    assert "| extension | **does not hold** | **mixed** |" in line
    assert "](#section-of-betas) |" in line
    assert md.index("<details><summary>How this report was made</summary>") < \
        md.index("## What we found") < md.index("## Contents")
    assert page.index('<details class="made">') < page.index('id="what-we-found"') < \
        page.index('<nav class="toc">')


@pytest.fixture(scope="module")
def small_report(tmp_path_factory):
    """A real report, kept small: the table and its trajectories, one seed, 5 epochs."""
    out = tmp_path_factory.mktemp("ledger-report")
    assert main(["reproduce", "table", "trajectories", "--quick", "--epochs", "5", "--seeds",
                 "0", "--out", str(out), "--workers", "1", "--no-progress"]) == 0
    return out


def test_a_real_report_emits_exactly_its_items_claims(small_report):
    page = unescape((small_report / "index.html").read_text())
    md = (small_report / "report.md").read_text()
    rows = dict(re.findall(r'<tr id="claim-([^"]+)">(.*?)</tr>', page, re.S))
    want = [c.id for c in LEDGER.values() if c.item in ("table", "trajectories")]
    assert list(rows) == want
    ids = set(re.findall(r'<section id="([^"]+)"', page))
    for cid, html in rows.items():  # both horizons judged: the end state is on by default
        verdicts = re.findall(r'<span class="badge tone-\w+"[^>]*>([^<]+)</span>', html)
        assert verdicts[0] in KIND_WORDS["reproduction"] and verdicts[0] != "not measured"
        assert verdicts[1] in KIND_WORDS["reproduction"] and verdicts[1] != "not measured"
        assert "At the end state: " in html and "past the budget" in html
        assert re.search(r'<a href="#([^"]+)">', html)[1] in ids
    found = md.split("## What we found")[1].split("\n## ")[0]
    assert "verdict at the paper's horizon (cut here: see each section)" in found
    assert re.search(r"Reproductions \(6 claims\), at the paper's horizon \(cut here: see each "
                     r"section\): .*; at the end state: ", found)
    assert "at the end state: 6 not measured" not in found
    assert re.search(r"End state: (of the 4 finished synthetic runs, \d+ still moving at the "
                     r"budget were continued|all 4 finished synthetic runs settled by the "
                     r"budget)", found)


def test_end_state_line_says_when_nothing_needed_continuing():
    from types import SimpleNamespace

    from adamlab.report.reproduce import end_state_line
    from adamlab.sweep.endstate import EndState

    def end(epochs):
        return EndState("r", {}, 100, "learns_feature", epochs, "learns_feature",
                        100 if epochs == 100 else epochs, "settled")

    ctx = SimpleNamespace(end_state=True, ends={"a": end(100), "b": end(100)})
    assert end_state_line(ctx) == ("End state: all 2 finished synthetic runs settled by the "
                                   "budget, so it is theirs; none needed continuing.")
    ctx.ends["c"] = end(500)
    assert end_state_line(ctx).startswith("End state: of the 3 finished synthetic runs, 1 still "
                                          "moving at the budget were continued (to at most 500 "
                                          "epochs)")


def test_without_the_end_state_its_column_reads_not_measured(tmp_path):
    assert main(["reproduce", "table", "--quick", "--epochs", "5", "--seeds", "0", "--out",
                 str(tmp_path), "--workers", "1", "--no-progress", "--no-end-state"]) == 0
    md = (tmp_path / "report.md").read_text()
    found = md.split("## What we found")[1].split("\n## ")[0]
    assert "at the end state: 4 not measured" in found
    assert "End state: not judged (--no-end-state)." in found
    assert "--no-end-state" in md  # the command that made it


def test_the_short_budget_judges_its_own_budget_and_names_what_it_cannot_decide(tmp_path):
    """--budget short is a first look kept under 40 minutes: no end state unless asked, and the
    lead names the claims its budget leaves undecided (5 epochs: every run still moving)."""
    assert main(["reproduce", "table", "--budget", "short", "--epochs", "5", "--seeds", "0",
                 "--out", str(tmp_path), "--workers", "1", "--no-progress"]) == 0
    md = (tmp_path / "report.md").read_text()
    found = md.split("## What we found")[1].split("\n## ")[0]
    assert "End state: not judged (the short budget judges its 2000 epochs only" in found
    assert "--end-state adds it" in found and "at the end state: 4 not measured" in found
    line = re.search(r"Claims this budget cannot decide: (.*?)\.(?: |$)", found, re.M)[1]
    rows = re.findall(r"^\| .* \(`([^`]+)`\) \| [^|]+ \| reproduction \| \*\*([^*]+)\*\*",
                      found, re.M)
    moving = [cid for cid, verdict in rows if verdict == "still moving"]
    assert moving and line == ", ".join(f"`{c}`" for c in moving) + " (still moving)"


def test_undecided_line_names_each_claim_by_its_word():
    from adamlab.report.found import Row, undecided_line

    claims = list(LEDGER.values())[:4]
    rows = [Row(c, {"paper": w, "end": "—"}, {}, None) for c, w in
            zip(claims, ("reproduced", "still moving", "not measured", "still moving"))]
    assert undecided_line(rows) == (
        f"Claims the paper's budget cannot decide: `{claims[1].id}`, `{claims[3].id}` (still "
        f"moving); `{claims[2].id}` (not measured).")
    assert undecided_line(rows[:1]) == "" and undecided_line(rows, "end") == ""


def test_the_ledger_ships_with_the_package():
    import fnmatch
    import tomllib
    from pathlib import Path

    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml")
                              .read_text())
    globs = pyproject["tool"]["setuptools"]["package-data"]["adamlab"]
    assert any(fnmatch.fnmatch("report/ledger.toml", g) for g in globs)


def test_the_declared_thresholds_are_the_codes():
    """The rules' numbers are stated once in code; the ledger's words must quote them, so a
    changed threshold shows up here until the ledger says so too."""
    from adamlab.core.verdicts import FIT_TRAIN_ERROR
    from adamlab.images.rules import ANCHOR_ACCURACY, BREAK_MARGIN
    from adamlab.report.items.phase import AGREEMENT_BAR
    from adamlab.synthetic.regimes import (LEARNS_TEST_ERROR, MEMORISES_TEST_ERROR,
                                           STUCK_TRAIN_ERROR)

    memorises = f"train error ≤ {FIT_TRAIN_ERROR:g} and test error ≥ {MEMORISES_TEST_ERROR:g}"
    learns = f"test error < {LEARNS_TEST_ERROR:g}"
    for cid in ("table.adam.large", "table.adamw.large"):
        assert memorises in LEDGER[cid].rule.threshold
    for cid in ("table.adam.mini", "table.adamw.mini", "adamw-large-wd", "optimisers.sgd"):
        assert learns in LEDGER[cid].rule.threshold
    assert f"train error > {STUCK_TRAIN_ERROR:g}" in LEDGER["adam-large-wd"].rule.threshold
    from adamlab.report.items.lion import MARGIN
    from adamlab.report.items.stage_one import CLAIM as STAGE_ONE

    for c in LEDGER.values():  # the survival claims (Stage I orders ratios, not errors)
        if (c.item == "limits" and c.id != STAGE_ONE) or c.rule.threshold.startswith("mini: "):
            assert learns in c.rule.threshold and memorises in c.rule.threshold, c.id
    assert f"gap above {MARGIN:g}" in LEDGER["lion.momentum"].rule.threshold
    assert f"≥ {AGREEMENT_BAR:.0%}" in LEDGER["phase.adam"].rule.threshold
    assert f"≥ {ANCHOR_ACCURACY:g}" in LEDGER["images.anchor"].rule.threshold
    assert f"above {BREAK_MARGIN:g}" in LEDGER["images.fig2.adam"].rule.threshold
