"""The critical-batch search judged at the end state (sweep/critical.py, horizon="end"): each
probe still moving at its budget is continued from its saved state until it settles or reaches
the cap, and the bisection follows that regime."""
import json

import pytest

from adamlab import SyntheticConfig
from adamlab.cli import main
from adamlab.core.errors import ConfigError
from adamlab.sweep import Store
from adamlab.sweep.critical import critical_batch, observed, report_rules

# Small enough for seconds; at 40 epochs every probe the budget search tries is still moving.
CFG = SyntheticConfig(d=100, n=16, s=6, width=4, n_test=200, epochs=40, optimizer="adam",
                      lr=1e-3, weight_decay=1e-4, sigma0=0.05)


def _same_but_epochs(a: dict, b: dict) -> bool:
    drop = ("epochs", "log_every")
    return {k: v for k, v in a.items() if k not in drop} == \
        {k: v for k, v in b.items() if k not in drop}


def test_end_horizon_continues_the_probes_still_moving_and_follows_their_end_regime(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        budget = critical_batch(CFG, [0], store, workers=1, progress=False, keep_states=True)
        at_budget = budget.seeds[0].search.result()
        moving = {p.batch_size for p in at_budget.probes if p.regime == "still_moving"}
        assert moving  # the premise: the budget leaves batch sizes undecided
        end = critical_batch(CFG, [0], store, workers=1, progress=False, horizon="end")
        assert end.horizon == "end" and end.to_json()["horizon"] == "end"
        assert any(line.startswith("probes judged at the end state") for line in end.lines())
        assert any(line.startswith("probes judged at the budget") for line in budget.lines())
        classify, runs = report_rules(store), store.runs(full=True)
        probes = end.seeds[0].search.result().probes
        assert moving <= {p.batch_size for p in probes}  # the budget's probes, re-judged
        for p in probes:
            at_T = CFG.replace(batch_size=p.batch_size)
            run = next(r for r in runs if r["id"] == at_T.run_id())
            longer = sorted((r for r in runs if r["config"]["epochs"] > CFG.epochs
                             and _same_but_epochs(r["config"], at_T.to_dict())),
                            key=lambda r: r["config"]["epochs"])
            if observed(run, classify) == "still_moving":
                assert longer, p.batch_size  # continued past the budget ...
                assert all(r["meta"]["continued_from"] for r in longer)  # ... from its state
                assert p.regime == observed(longer[-1], classify)
            else:
                assert not longer and p.regime == observed(run, classify)
        # the end state decides batch sizes the budget could not
        decided = {p.batch_size for p in probes if p.decided}
        assert decided & moving


def test_horizon_is_checked(tmp_path):
    with pytest.raises(ConfigError, match="^horizon: must be one of budget, end"):
        critical_batch(CFG, [0], tmp_path / "s.sqlite", progress=False, horizon="later")


def test_cli_horizon_end(tmp_path, capsys):
    assert main(["critical-batch", "--optimizer", "adam", "--seeds", "0", "--json",
                 "--store", str(tmp_path / "cb.sqlite"), "--workers", "1", "--no-progress",
                 "--horizon", "end", "--d", "100", "--n", "12", "--s", "6", "--n-test", "200",
                 "--width", "4", "--epochs", "40", "--lr", "1e-3", "--sigma0", "0.05"]) in (0, 1)
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["horizon"] == "end" and out["seeds"][0]["probes"]
