"""The verdict layer's newer rules, each on made-up inputs either side of its threshold: the
ledger's min_decided, the gap test (a permutation test below 10 seeds a side, the bootstrap from
10), the end-state cap in steps, and how an end-state finding reads."""
from dataclasses import replace

import pytest

from adamlab.core.stats import GAP_ALPHA, MIN_CI_SEEDS, gap_test, permutation_test
from adamlab.core.verdicts import Finding
from adamlab.report.context import at_horizon, end_note
from adamlab.report.found import Row, disagreement
from adamlab.report.ledger import LedgerError, enforce_min_decided, load_ledger
from adamlab.sweep.endstate import CAP_EPOCHS, CAP_STEPS, EndState, cap_epochs
from adamlab.synthetic.config import SyntheticConfig

LEDGER = load_ledger()


# ---- min_decided -----------------------------------------------------------------------------
def _finding(cid, verdict="reproduced", decided=1, moving=0):
    return Finding("c", "seen.", verdict, still_moving=moving, claim_id=cid, decided=decided)


def test_min_decided_withholds_a_verdict_below_it_and_keeps_it_at_it():
    need = LEDGER["optimisers.full-batch"].rule.min_decided
    assert need == 2
    at, below = enforce_min_decided([_finding("optimisers.full-batch", decided=need),
                                     _finding("optimisers.full-batch", decided=need - 1)],
                                    LEDGER)
    assert at.verdict == "reproduced" and at.observed == "seen."
    assert below.verdict == "not measured"
    assert "Only 1 seeds per optimiser decided; the rule needs 2, so no verdict." in \
        below.observed
    # runs left out as still moving: the withheld verdict says so
    moving = enforce_min_decided([_finding("optimisers.full-batch", "not reproduced", 1, 3)],
                                 LEDGER)[0]
    assert moving.verdict == "still moving"


def test_min_decided_leaves_undecided_verdicts_alone_and_refuses_an_uncounted_finding():
    f = _finding("table.adam.large", "still moving", decided=0, moving=2)
    assert enforce_min_decided([f], LEDGER) == [f]
    with pytest.raises(LedgerError, match="decided: the finding does not say how many seeds"):
        enforce_min_decided([replace(f, decided=None)], LEDGER)


# ---- the gap test ----------------------------------------------------------------------------
def test_three_seeds_a_side_need_every_seed_above_every_other():
    apart = gap_test([0.30, 0.31, 0.32], [0.10, 0.11, 0.12])
    assert apart.method == "permutation" and apart.ci95 is None
    assert apart.p_value == pytest.approx(1 / 20) and apart.clearly_positive
    one_crossing = gap_test([0.30, 0.31, 0.11], [0.10, 0.12, 0.13])
    assert one_crossing.p_value > GAP_ALPHA and not one_crossing.clearly_positive
    assert "ranges 0.3–0.32 vs 0.1–0.12, 3 and 3 seeds" in apart.text()
    assert "95%" not in apart.text()


def test_a_margin_is_tested_not_just_the_sign():
    a, b = [0.30, 0.31, 0.32], [0.10, 0.11, 0.12]
    assert gap_test(a, b, margin=0.15).clearly_positive  # 0.30 - 0.15 > every b
    assert not gap_test(a, b, margin=0.19).clearly_positive  # 0.30 - 0.19 < 0.12
    assert "that it is above 0.15" in gap_test(a, b, margin=0.15).text()


def test_from_ten_seeds_the_bootstrap_interval_decides():
    a = [1.0 + 0.01 * i for i in range(MIN_CI_SEEDS)]
    b = [0.9 + 0.01 * i for i in range(MIN_CI_SEEDS)]
    g = gap_test(a, b)
    assert g.method == "bootstrap" and g.p_value is None and g.ci95[0] > 0
    assert g.clearly_positive and "95% bootstrap CI" in g.text()
    assert not gap_test(a, b, margin=0.2).clearly_positive  # the whole interval is below 0.2
    assert not gap_test(b, a).clearly_positive


def test_one_sided_permutation_counts_signed_gaps():
    two = permutation_test([3.0, 4.0], [1.0, 2.0])
    one = permutation_test([3.0, 4.0], [1.0, 2.0], alternative="greater")
    assert two.p_value == pytest.approx(2 / 6) and one.p_value == pytest.approx(1 / 6)
    wrong_way = permutation_test([1.0, 2.0], [3.0, 4.0], alternative="greater")
    assert wrong_way.p_value == pytest.approx(1.0)
    assert GAP_ALPHA == 0.05
    with pytest.raises(ValueError, match="alternative"):
        permutation_test([1.0], [2.0], alternative="less")


# ---- the end state ---------------------------------------------------------------------------
def test_the_cap_is_ten_to_the_five_epochs_or_two_million_steps():
    at = lambda b, **kw: cap_epochs(SyntheticConfig(batch_size=b, epochs=10_000, **kw))  # noqa
    assert at(100) == CAP_EPOCHS and at(10) == CAP_EPOCHS  # 20 steps an epoch: exactly 2e6
    assert at(5) == CAP_STEPS // 40 == 50_000
    assert at(2) == 20_000
    assert at(1) == 10_000  # the budget itself: never below it, so never continued
    assert at(101, sampler="shuffle-carry") == CAP_EPOCHS


def _end(regime_t, regime_end, end_epochs, settled_at):
    return EndState("id", {}, 100, regime_t, end_epochs, regime_end, settled_at, "")


def test_an_end_state_finding_says_what_the_continuation_changed():
    runs = [{"end_state": _end("memorises_noise", "learns_feature", 500, 500)},
            {"end_state": _end("memorises_noise", "memorises_noise", 100, 100)},
            {"end_state": _end("still_moving", "still_moving", 1000, None)},
            # still moving at T (its errors already memorising), settled memorising at 2T:
            # settled later, not a change of regime
            {"end_state": EndState("id", {}, 100, "still_moving", 200, "memorises_noise", 200,
                                   "", errors_at_budget="memorises_noise")}]
    note = end_note(runs)
    assert note.startswith("; past the budget 1 of 4 runs changed regime by their final errors "
                           "(memorises noise → learns the feature 1), 1 still moving at the "
                           "budget settled; 3 continued, to at most 1,000 epochs")
    assert note.endswith(", 1 still moving at the cap")
    assert end_note([{"end_state": _end("learns_feature", "learns_feature", 100, 100)}]) == \
        "; past the budget 0 of 1 runs changed regime by their final errors; none needed " \
        "continuing"
    f = Finding("c", "seen.", "reproduced", claim_id="table.adam.large")
    assert at_horizon(f, "paper", runs) == replace(f, horizon="paper")
    end = at_horizon(f, "end", runs)
    assert end.horizon == "end" and end.observed == "seen" + note + "."


def test_the_horizons_disagree_only_when_both_were_judged_differently():
    claim = LEDGER["table.adam.large"]
    row = lambda p, e: Row(claim, {"paper": p, "end": e}, {}, None)  # noqa: E731
    assert disagreement(row("reproduced", "partly reproduced")) == (
        "The horizons disagree: reproduced at the paper's budget, partly reproduced at the end "
        "state.")
    assert disagreement(row("reproduced", "reproduced")) == ""
    assert disagreement(row("reproduced", "not measured")) == ""


def test_the_recorded_settling_validation_is_recomputed_from_its_runs(tmp_path):
    """The report's "How to read" quotes the settling rule's out-of-sample rates from the recorded
    per-run checks (benchmarks/settling_validation.py's output), recomputed, never typed in."""
    import json

    from adamlab.report.regimes import VALIDATION, how_to_read, recorded_validation

    records = json.loads(VALIDATION.read_text())
    assert records and all(r["command"].startswith("python benchmarks/settling_validation.py")
                           for r in records)
    for r in records:  # the stored rates are what the checks give
        settled = [c for c in r["checks"] if c["settled_at_budget"]]
        changed = sum(c["regime_at_budget"] != c["regime_later"] for c in settled)
        assert (changed, len(settled)) == (r["rates"]["false_settled"]["k"],
                                           r["rates"]["false_settled"]["n"])
    line = recorded_validation()
    assert line.startswith("Checked out of sample (`python benchmarks/settling_validation.py")
    assert line in how_to_read(line)
    # an edited check changes the sentence: the rates come from the checks (a run called
    # settled whose regime now changes later is one more false settled)
    moved = next(c for c in records[0]["checks"] if c["settled_at_budget"]
                 and c["regime_later"] == c["regime_at_budget"])
    moved["regime_later"] = "mixed" if moved["regime_at_budget"] != "mixed" else "learns_feature"
    (tmp_path / "v.json").write_text(json.dumps(records))
    assert recorded_validation(tmp_path / "v.json") != line
    assert recorded_validation(tmp_path / "absent.json") is None


def test_a_scaled_down_image_claim_that_does_not_show_reads_not_observed_at_cpu_scale():
    from adamlab.report.ledger import NOT_AT_SCALE, TONE, word

    assert word("reproduction", "not reproduced", scaled=True) == NOT_AT_SCALE
    assert word("reproduction", "not reproduced") == "not reproduced"  # the paper's protocol
    assert word("reproduction", "reproduced", scaled=True) == "reproduced"
    assert word("extension", "not reproduced", scaled=True) == "does not hold"
    assert NOT_AT_SCALE in TONE
