"""The theory calculator: hand-computed numbers, the paper's cells classified as the paper says,
the conventions (margin, memory) changing the outcome where they should, and `adamlab theory`."""
import json
import math

import pytest

from adamlab.synthetic import theory
from adamlab.cli import main
from adamlab.synthetic.config import SyntheticConfig


def cfg(**kw):
    return SyntheticConfig(**kw)  # the paper's App. D.2 defaults: d 1000, n 200, s 100, ...


def test_quantities_by_hand():
    q = theory.quantities(cfg(optimizer="adam", weight_decay=1e-5, batch_size=2))
    assert q["adam_weight_decay_ceiling"] == pytest.approx(0.01)          # 0.01^(3-2)
    assert q["adam_weight_decay_bound"] == pytest.approx(0.01 * 0.1 / 200)  # 5e-6
    assert q["adamw_weight_decay_lower"] == pytest.approx(0.02)           # 2^2/200
    assert q["memory_lambda_eta"] == pytest.approx(math.log(2e9))         # 21.42
    assert q["memory_lambda_eta"] == pytest.approx(21.416, abs=1e-3)
    assert q["memory_eps"] == pytest.approx(math.log(1e8))
    assert q["n_over_B"] == 100 and q["iterations_per_epoch"] == 100
    assert q["total_steps"] == 100 * 10000
    assert q["s_sigma_p"] == pytest.approx(10.0)
    assert q["sqrt_n"] == pytest.approx(math.sqrt(200))
    assert q["noise_growth_per_step"] == pytest.approx(5e-5 * 100 * 0.1)
    assert q["noise_growth_per_step_average"] == pytest.approx(5e-4 * 2 / 200)
    assert q["feature_growth_per_step"] == pytest.approx(5e-5)
    large = theory.quantities(cfg(batch_size=100))
    assert large["n_over_B"] == 2 and large["adamw_weight_decay_lower"] == 1.0  # min(50, 1)
    assert theory.quantities(cfg(power=4.0))["adam_weight_decay_ceiling"] == pytest.approx(1e-4)


@pytest.mark.parametrize("optimizer,weight_decay,batch_size,regime,theorem", [
    ("adam", 1e-5, 100, "memorises_noise", "Thm 4.1"),   # the paper's table, large batch
    ("adam", 1e-5, 2, "learns_feature", "Thm 4.2"),      # mini batch
    ("adamw", 1e-2, 100, "memorises_noise", "Thm 4.4"),
    ("adamw", 1e-2, 2, "learns_feature", "Thm 4.5"),
    ("adam", 5e-2, 2, "stuck_at_init", "Cor 4.3"),       # Fig 5: Adam with wd 0.05 fails to train
    ("adam", 5e-2, 100, "stuck_at_init", "Cor 4.3"),
    ("adamw", 0.5, 2, "learns_feature", "Thm 4.5"),      # Fig 6: AdamW robust at wd 0.5
    ("signsgd", 1e-5, 100, "memorises_noise", "Thm 4.1"),  # SignSGD ~ Adam
    ("signsgdw", 1e-2, 2, "learns_feature", "Thm 4.5"),    # SignSGDW ~ AdamW
])
def test_paper_cells(optimizer, weight_decay, batch_size, regime, theorem):
    r = theory.predict(cfg(optimizer=optimizer, weight_decay=weight_decay, batch_size=batch_size))
    assert r.regime == regime
    assert r.theorems == (theorem,)
    assert theory.predicted_regime(cfg(optimizer=optimizer, weight_decay=weight_decay,
                                       batch_size=batch_size)) == regime


def test_reasons_carry_the_numbers():
    r = theory.predict(cfg(optimizer="adam", weight_decay=1e-5, batch_size=100))
    text = " ".join(r.reasons)
    assert "21.4" in text and " 2 " in text  # n/B = 2 against the memory ln(2e9)
    assert r.check("memory").side == "below"
    assert r.check("adam_ceiling").ratio == pytest.approx(1e-3)
    # 1e-5 is twice Thm 4.1's bound 5e-6: within the margin, so met with a caveat
    assert r.check("adam_bound").side == "near" and r.covered
    assert any("5e-06" in c and "within the margin" in c for c in r.caveats)
    assert "constants and log factors" in r.statement


def test_strict_regime_when_a_hypothesis_fails():
    # AdamW's window starts at min(B^2/n, 1) = 1 for B = 100: the paper's 0.01 is 100x below it
    r = theory.predict(cfg(optimizer="adamw", weight_decay=1e-2, batch_size=100))
    assert r.regime == "memorises_noise" and r.strict_regime == "outside_theory"
    assert not r.covered and r.check("adamw_lower").side == "below"
    assert any("min(B^2/n, 1)" in c for c in r.caveats)
    # Adam between Thm 4.1/4.2's bound (5e-6) and Cor 4.3's ceiling (0.01): no theorem covers it
    r = theory.predict(cfg(optimizer="adam", weight_decay=1e-3, batch_size=2))
    assert r.regime == "learns_feature" and r.strict_regime == "outside_theory"
    assert theory.predicted_regime(cfg(optimizer="adam", weight_decay=1e-3), strict=True) \
        == "outside_theory"
    # AdamW above the O(1) upper end, and the convention that moves it
    big = cfg(optimizer="adamw", weight_decay=10.0, batch_size=2)
    assert theory.predict(big).strict_regime == "outside_theory"
    assert theory.predict(big, adamw_upper=10.0).strict_regime == "learns_feature"


def test_borderline_says_which_boundary():
    # n/B = 20 against Adam's memory ln(2e9) = 21.4: between Thm 4.1 and Thm 4.2
    r = theory.predict(cfg(optimizer="adam", weight_decay=1e-5, batch_size=10))
    assert r.regime == "borderline" and r.near_boundaries == ("memory",)
    r = theory.predict(cfg(optimizer="adam", weight_decay=1e-2, batch_size=2))  # at the ceiling
    assert r.regime == "borderline" and r.near_boundaries == ("adam_ceiling",)
    # AdamW: n/B = 20 is near s*sigma_p = 10 and near the memory ln(2e6) = 14.5
    r = theory.predict(cfg(optimizer="adamw", weight_decay=1e-2, batch_size=10))
    assert r.regime == "borderline" and "noise_s_sigma_p" in r.near_boundaries


def test_conventions_move_the_boundaries():
    c = cfg(optimizer="adam", weight_decay=1e-5, batch_size=10)  # n/B = 20
    assert theory.predicted_regime(c, margin=1.01) == "memorises_noise"  # 20 < ln(2e9) = 21.4
    assert theory.predicted_regime(c, margin=1.01, memory="eps") == "learns_feature"  # 20 > 18.4
    assert theory.predict(c, memory="max").quantities["memory"] == pytest.approx(math.log(2e9))
    with pytest.raises(ValueError, match="margin"):
        theory.predict(c, margin=1.0)
    with pytest.raises(ValueError, match="memory"):
        theory.predict(c, memory="nope")


def test_outside_theory():
    r = theory.predict(cfg(optimizer="sgd"))
    assert r.regime == "outside_theory" and r.treated_as is None and r.theorems == ()
    assert "sgd" in r.reasons[0]
    r = theory.predict(cfg(optimizer="adamw", weight_decay=0.0))
    assert r.regime == "outside_theory" and "lambda > 0" in r.reasons[0]
    json.dumps(r.to_dict(), allow_nan=False)  # the infinite memory log(1/0) becomes null
    assert r.to_dict()["quantities"]["memory_lambda_eta"] is None


def test_regime_grid_matches_predict():
    base = cfg(optimizer="adam")
    bs, wds = [1, 2, 10, 100, 200], [1e-6, 1e-5, 1e-2, 1e-1]
    grid = theory.regime_grid(base, bs, wds)
    assert len(grid) == len(wds) and all(len(row) == len(bs) for row in grid)
    for i, wd in enumerate(wds):
        for j, b in enumerate(bs):
            assert grid[i][j] == theory.predicted_regime(base.replace(batch_size=b,
                                                                      weight_decay=wd))
    assert grid[1][:2] == ["learns_feature"] * 2 and grid[1][3:] == ["memorises_noise"] * 2
    assert grid[3] == ["stuck_at_init"] * 5


TINY_FLAGS = ["--optimizer", "adamw", "--weight-decay", "0.01", "--batch-size", "100"]


def test_cli_json(capsys):
    assert main(["theory", *TINY_FLAGS, "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    d = json.loads(out[0])
    for key in ("regime", "strict_regime", "covered", "theorems", "reasons", "caveats",
                "near_boundaries", "checks", "quantities", "conventions", "config", "statement",
                "optimizer", "treated_as"):
        assert key in d
    assert d["regime"] == "memorises_noise" and d["theorems"] == ["Thm 4.4"]
    assert d["config"]["batch_size"] == 100 and d["config"]["weight_decay"] == 0.01
    assert d["quantities"]["adamw_weight_decay_lower"] == 1.0
    assert d["conventions"]["margin"] == pytest.approx(math.sqrt(10))
    assert {c["name"] for c in d["checks"]} >= {"memory", "adamw_lower", "noise_s_sigma_p"}


def test_cli_text_and_conventions(capsys):
    assert main(["theory", "--optimizer", "adam", "--weight-decay", "0.05"]) == 0
    text = capsys.readouterr().out
    assert "predicted regime: stuck_at_init" in text and "Cor 4.3" in text
    assert "orders of magnitude" in text
    assert main(["theory", "--batch-size", "10", "--margin", "1.01", "--memory", "eps",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["regime"] == "learns_feature"
    assert main(["theory", "--margin", "0.5"]) == 2
    assert "--margin" in capsys.readouterr().err


def test_cli_every_config_field_has_a_flag(capsys):
    from adamlab.core.fields import field_help

    with pytest.raises(SystemExit):
        main(["theory", "--help"])
    text = capsys.readouterr().out
    for name, (_, meta) in field_help(SyntheticConfig).items():
        assert ("--" + name.replace("_", "-") in text) == meta["cli"], name


def test_boundary_lines():
    bs, wds = [1, 200], [1e-6, 1.0]
    adam = {ln["label"]: ln for ln in theory.boundary_lines(cfg(optimizer="adam"), bs, wds)}
    ceiling = next(ln for k, ln in adam.items() if "Cor 4.3" in k)
    assert ceiling["weight_decay"] == [pytest.approx(0.01)] * 2
    memory = next(ln for k, ln in adam.items() if "memory" in k)
    for b, wd in zip(memory["batch_size"], memory["weight_decay"]):
        assert math.log(1 / (wd * 5e-5)) == pytest.approx(200 / b)  # n/B = log(1/(lambda eta))
    adamw = theory.boundary_lines(cfg(optimizer="adamw"), bs, wds)
    verticals = sorted(ln["batch_size"][0] for ln in adamw if "n/B = s" in ln["label"])
    assert verticals == [pytest.approx(200 / (10 + math.sqrt(200))), pytest.approx(20.0)]
    window = next(ln for ln in adamw if "min(B²/n, 1)" in ln["label"])
    assert all(w == pytest.approx(min(b * b / 200, 1)) for b, w in
               zip(window["batch_size"], window["weight_decay"]))
    assert theory.boundary_lines(cfg(optimizer="sgd"), bs, wds) == []


def test_overflowing_products_do_not_crash():
    from adamlab.synthetic.config import SyntheticConfig
    from adamlab.synthetic.theory import predict

    report = predict(SyntheticConfig(lr=1e300, weight_decay=1e300))
    assert report.regime in ("outside_theory", "stuck_at_init", "borderline")
