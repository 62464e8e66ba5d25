"""Lion's momentum at mini batch: the out-of-batch drift (synthetic/drift.py), Lion at beta1 = 0
being SignSGDW, the `lion` item's rule either side of its thresholds, and its --quick report."""
import json

import numpy as np
import pytest

from adamlab import SyntheticConfig, train
from adamlab.report.items.lion import judge
from adamlab.synthetic.data import make_dataset
from adamlab.synthetic.drift import out_of_batch_drift

SMALL = dict(d=200, n=40, s=20, sigma_p=0.5, width=10, n_test=200, batch_size=2, lr=1e-3,
             weight_decay=0.05, epochs=30)


def test_lion_at_beta1_zero_is_signsgdw_bit_for_bit():
    lion = train(SyntheticConfig(optimizer="lion", beta1=0.0, **SMALL))
    sign = train(SyntheticConfig(optimizer="signsgdw", **SMALL))
    assert lion.summary == sign.summary
    assert lion.series("noise_memorisation_max") == sign.series("noise_memorisation_max")


def test_without_momentum_examples_out_of_the_batch_keep_their_noise():
    """Disjoint noise supports, no feature noise, no decay: a sign step moves only the
    coordinates of the examples in its batch, so the others' noise memorisation stays exactly
    put; Lion's momentum keeps moving it."""
    base = SyntheticConfig(optimizer="signsgdw", d=4000, n=10, s=5, alpha=0.0, sigma_p=0.5,
                           width=4, n_test=20, batch_size=2, lr=1e-3, weight_decay=0.0,
                           epochs=20)

    def disjoint(cfg):
        idx = make_dataset(cfg).train.noise_idx
        return len(np.unique(idx)) == idx.size

    cfg = next(c for c in (base.replace(seed=k) for k in range(20)) if disjoint(c))
    sign = out_of_batch_drift(cfg, at_epoch=5, window_epochs=2)
    assert sign["steps"] == 10 and sign["drift_out"] == 0.0 and sign["drift_in"] > 0
    lion = out_of_batch_drift(cfg.replace(optimizer="lion", beta1=0.9), 5, 2)
    assert lion["drift_out"] > 0 and lion["ratio"] > 0.1


def test_drift_needs_a_window():
    with pytest.raises(ValueError, match="at_epoch, window_epochs"):
        out_of_batch_drift(SyntheticConfig(**SMALL), 0)


def _runs(tests_low, tests_high, ratios_low, ratios_high):
    def run(name, seed, test, beta1):
        return {"id": f"{name}{seed}", "status": "ok", "final": {"test_error": test},
                "config": {"seed": seed, "beta1": beta1, "optimizer": "lion"}}

    low = [run("a", i, t, 0.0) for i, t in enumerate(tests_low)]
    high = [run("b", i, t, 0.9) for i, t in enumerate(tests_high)]
    drift = {**{r["id"]: {"ratio": x} for r, x in zip(low, ratios_low)},
             **{r["id"]: {"ratio": x} for r, x in zip(high, ratios_high)}}
    return {"Lion β1 = 0": low, "Lion β1 = 0.9": high}, drift


@pytest.mark.parametrize("high_tests, high_ratios, verdict", [
    ([0.6] * 5, [1.0] * 5, "reproduced"),                    # both parts
    ([0.6] * 5, [1.0] * 4 + [0.05], "partly reproduced"),    # one seed's drift lower
    ([0.09] * 5, [1.0] * 5, "partly reproduced"),            # gap 0.09, under the 0.1 margin
    ([0.0] * 5, [0.05] * 5, "not reproduced")])
def test_the_rule_either_side_of_each_threshold(high_tests, high_ratios, verdict):
    groups, drift = _runs([0.0] * 5, high_tests, [0.06] * 5, high_ratios)
    got, text, decided = judge(groups, drift)
    assert (got, decided) == (verdict, 5), text


def test_the_item_runs_quick_and_reuses_its_drift(tmp_path):
    from adamlab.cli import main
    from adamlab.report.items import ITEMS

    assert not ITEMS["lion"].default
    args = ["reproduce", "lion", "--quick", "--out", str(tmp_path), "--workers", "1",
            "--no-progress", "--no-end-state"]
    assert main(args) == 0
    md = (tmp_path / "report.md").read_text()
    assert "## Beyond the paper: Lion's momentum at mini batch" in md
    assert "(`lion.momentum`) | ours" in md
    rows = (tmp_path / "data" / "lion.csv").read_text().splitlines()
    assert len(rows) == 1 + 4 and rows[0].startswith("optimiser,")
    cache = json.loads((tmp_path / "drift.json").read_text())
    assert len(cache) == 8  # 4 optimisers x 2 seeds
    # β1 = 0 and SignSGDW: the same runs, so the same drift
    by = {r.split(",")[0]: r for r in rows[1:]}
    assert by["Lion β1 = 0"].split(",")[1:] == by["SignSGDW"].split(",")[1:]
    (tmp_path / "drift.json").write_text(json.dumps({k: {**v, "ratio": 123.0}
                                                     for k, v in cache.items()}))
    assert main(args) == 0  # read from the cache, not measured again
    assert "123.00" in (tmp_path / "report.md").read_text()
