"""The scale-down rule checked on the synthetic task (report item `scaledown`): the rule's configs,
the cell-by-cell comparison on made-up runs either side of agreement, and the item's --quick."""
from adamlab.report.items.scaledown_check import check_finding, compare_rows, scaled_configs
from adamlab.sweep.spec import load_spec
from adamlab.synthetic.config import SyntheticConfig


def test_the_rule_at_a_fifth_of_the_budget_drops_the_large_batch_for_b_20():
    table = load_spec("table").configs
    scaled, rule, naive = scaled_configs(table)
    assert scaled.lr_factor == 5 and scaled.run.epochs == 2000
    # B = 100 would get 2000 x 2 = 4,000 steps, the paper's largest batch 20,000:
    # the largest batch with 20,000 steps at 2000 epochs is floor(200 / 10) = 20
    assert scaled.run.batch_sizes == (2, 20)
    assert {c.batch_size for c in rule} == {2, 20} and {c.batch_size for c in naive} == {100}
    assert {c.lr for c in rule + naive} == {2.5e-4} and {c.epochs for c in rule} == {2000}
    seeds = {(c.optimizer, c.seed) for c in table}
    assert len(rule) == 2 * len(seeds) and len(naive) == len(seeds)
    # everything else is the paper's config: the weight decay stays (rule 2)
    c = next(c for c in rule if c.optimizer == "adamw")
    assert c.weight_decay == 0.01 and c.n == 200 and c.d == 1000


def _run(opt, b, regime_errors, seed=0, epochs=10_000):
    """A made-up finished run whose final errors give a regime (no settling: counted settled)."""
    train, test = regime_errors
    return {"id": f"{opt}{b}{seed}{epochs}", "status": "ok",
            "config": {**SyntheticConfig(optimizer=opt, batch_size=b, seed=seed,
                                         epochs=epochs).to_dict()},
            "final": {"train_error": train, "test_error": test}}


LEARNS, MEMORISES = (0.0, 0.0), (0.0, 0.6)


def test_cells_agree_only_where_both_budgets_decide_under_the_rule():
    paper = [_run("adam", 2, LEARNS, s) for s in range(3)] + \
        [_run("adam", 100, MEMORISES, s) for s in range(3)] + \
        [_run("adamw", 2, LEARNS, s) for s in range(3)]
    rule = [_run("adam", 2, LEARNS, s, 2000) for s in range(3)] + \
        [_run("adam", 20, LEARNS, s, 2000) for s in range(3)] + \
        [_run("adamw", 2, MEMORISES, s, 2000) for s in range(3)]
    naive = [_run("adam", 100, LEARNS, s, 2000) for s in range(3)]
    rows = {(r["optimizer"], r["batch_size"]): r for r in compare_rows(paper, rule, naive)}
    assert rows[("Adam", 2)]["agrees"] is True
    assert rows[("AdamW", 2)]["agrees"] is False  # learns at the paper's budget, not cut
    assert rows[("Adam", 20)]["agrees"] is None  # no paper cell
    assert rows[("Adam", 100)]["how"] == "naive cut" and rows[("Adam", 100)]["agrees"] is None
    f = check_finding(list(rows.values()), "dropped")
    assert f.verdict == "partly reproduced" and f.decided == 2
    assert "1 of 2 cells as claimed" in f.observed
    assert "AdamW λ = 0.01 B = 2: learns_feature → memorises_noise" in f.observed
    agree_only = [r for r in rows.values() if r["optimizer"] == "Adam"]
    assert check_finding(agree_only, "d").verdict == "reproduced"


def test_the_item_runs_quick(tmp_path):
    from adamlab.cli import main
    from adamlab.report.items import ITEMS

    assert not ITEMS["scaledown"].default  # only when named
    assert main(["reproduce", "scaledown", "--quick", "--seeds", "0", "--out", str(tmp_path),
                 "--workers", "2", "--no-progress", "--no-end-state"]) == 0
    md = (tmp_path / "report.md").read_text()
    assert "## Beyond the paper: the scale-down rule checked on the synthetic task" in md
    assert "(`scaledown.synthetic`) | ours" in md
    rows = (tmp_path / "data" / "scaledown.csv").read_text().splitlines()
    assert rows[0].startswith("check,optimizer,weight_decay,batch_size,paper budget,cut budget")
    assert sum(",naive cut," in r for r in rows) == 3  # the table's B = 100 twice, phase B = 200
    assert "dropped [100]" in md and "added [20]" in md
