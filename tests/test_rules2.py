"""The rules that had no way to fail, on made-up inputs either side of each threshold: Cor 4.6
read from each optimiser's bracket of usable weight decay, the phase diagram's weight-decay-blind
baseline and its near-boundary cells, the trajectories judged per seed by the seed's own regime,
the betas extension (beta2 x batch size) and the real-image betas gap."""
import math

import pytest

from adamlab.report.items import phase
from adamlab.report.items.phase import Bracket, best_threshold, weight_decay_bracket
from adamlab.synthetic import regimes as S

F = phase.WD_RANGE_FACTOR


# ---- Cor 4.6: brackets ----------------------------------------------------------------------
def test_bracket_reads_the_largest_working_and_the_next_failing_weight_decay():
    L, N, M, X = "learns_feature", "memorises_noise", "still_moving", "stuck_at_init"
    grid = {1e-5: [L, N], 1e-3: [L, X], 1e-2: [X, X], 0.1: [X, X], 1.0: [X, M]}
    assert weight_decay_bracket(grid) == Bracket(1e-3, 1e-2, moving=True)
    # a still-moving cell at the next λ: that λ is not a failure, the next settled one is
    grid[1e-2] = [X, M]
    assert weight_decay_bracket(grid).fail == 0.1
    # learns at the grid's top: open
    assert weight_decay_bracket({0.5: [L], 5.0: [N, L]}) == Bracket(5.0, None, moving=False)
    # learns nowhere, every cell settled: closed at the smallest λ
    assert weight_decay_bracket({1e-2: [X], 1.0: [X]}) == Bracket(None, 1e-2)
    # open because the larger λ still move
    b = weight_decay_bracket({1e-3: [L], 1e-2: [M, X]})
    assert b == Bracket(1e-3, None, moving=True) and "still moving" in b.text()
    assert Bracket(1e-3, 1e-2).text() == "learns up to 0.001, fails from 0.01"


@pytest.mark.parametrize("adam,adamw,want", [
    # both closed: AdamW's top exactly ten times Adam's top, and just below
    (Bracket(1e-2, 5e-2), Bracket(0.1, 0.5), "reproduced"),
    (Bracket(1e-2, 5e-2), Bracket(math.nextafter(0.1, 0), 0.5), "not reproduced"),
    # Adam's grid reached AdamW's range and Adam still worked there: the rule fails
    (Bracket(1.0, None), Bracket(1.0, 2.0), "not reproduced"),
    (Bracket(0.5, 1.0), Bracket(2.0, 5.0), "not reproduced"),
    # AdamW open at its top: its true top only larger, so "enough" already decides
    (Bracket(1e-3, 1e-2), Bracket(5.0, None), "reproduced"),
    # AdamW open and not enough: the grid does not decide it
    (Bracket(1e-2, 5e-2), Bracket(5e-2, None), "not measured"),
    (Bracket(1e-2, 5e-2), Bracket(5e-2, None, moving=True), "still moving"),
    # Adam open and enough: Adam may work higher, undecided
    (Bracket(1e-3, None), Bracket(1.0, 2.0), "not measured"),
    # Adam learns nowhere: its smallest λ (the failing one) bounds its top
    (Bracket(None, 1e-2), Bracket(0.1, 0.5), "reproduced"),
    (Bracket(None, 1e-2), Bracket(math.nextafter(0.1, 0), 0.5), "not reproduced"),
    # AdamW learns nowhere
    (Bracket(1e-3, 1e-2), Bracket(None, 1e-4), "not reproduced"),
    (Bracket(1e-3, 1e-2), Bracket(None, None, moving=True), "still moving")])
def test_cor46_from_the_brackets_either_side(adam, adamw, want):
    assert F == 10
    assert phase.weight_decay_range_verdict(adam, adamw) == want


# ---- phase: the baseline that ignores weight decay -------------------------------------------
def test_best_threshold_picks_the_batch_size_that_separates_learning():
    L, N, X = "learns_feature", "memorises_noise", "stuck_at_init"
    cells = [(1, L), (2, L), (5, L), (10, N), (100, N), (200, N)]
    assert best_threshold(cells) == (5, 6, 6)
    # one cell either side moved: the threshold moves with it
    assert best_threshold([(1, L), (2, L), (5, N), (10, N)]) == (2, 4, 4)
    assert best_threshold([(1, L), (2, L), (5, L), (10, L)]) == (10, 4, 4)
    # nothing learns: B* = 0 ("nothing learns") matches all
    assert best_threshold([(1, X), (100, N)]) == (0, 2, 2)
    # weight decay makes small-B cells stuck: no B* gets them all, ties go to the smallest B*
    assert best_threshold([(1, L), (1, X), (100, N), (100, L)]) == (0, 2, 4)


def test_theory_beside_the_baseline():
    L, N, X = "learns_feature", "memorises_noise", "stuck_at_init"
    # The theory predicts "stuck" at large λ (B = 1 and 2), which a λ-blind threshold cannot.
    cells = [(1, L, L), (2, L, L), (100, N, N), (1, X, X), (2, X, X), (5, L, L)]
    text = phase.baseline_text(cells)
    assert "the theory matches 6 of 6 cells" in text
    assert "(B ≤ 5 learns) 4 of 6" in text and "the theory beats it" in text
    worse = [(1, L, N), (2, L, N), (100, N, N)]
    assert "the theory trails it" in phase.baseline_text(worse)
    assert phase.learns_agreement([(L, L), (N, X), (L, N)]) == 2
    assert phase.baseline_text([]) == "no decided, settled cells for a baseline"


def test_near_boundary_cells_are_reported_not_dropped():
    text = phase.near_text(["learns_feature", "memorises_noise", "learns_feature"])
    assert text == ("3 cells near a theory boundary (not counted) observed learns the feature "
                    "2, memorises noise 1")
    assert phase.near_text([]) == "no cell lies near a theory boundary"
    assert phase.judge_cell("borderline", "learns_feature") == (False, False)


def test_phase_heatmap_marks_near_boundary_cells(tmp_path):
    from adamlab.report import figures as Fg

    bs, wds = [2, 100], [1e-3, 1e-1]
    err = [[0.0, 0.5], [0.0, 0.9]]
    fig = Fg.phase_heatmap(bs, wds, err, near_boundary=[[False, True], [False, False]])
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "near a theory boundary (shown, not counted)" in labels
    with pytest.raises(ValueError, match="near_boundary: must have shape"):
        Fg.phase_heatmap(bs, wds, err, near_boundary=[[True]])


# ---- trajectories: each seed by its own regime ----------------------------------------------
def traj_run(train, test, feature, noise_min, noise_max, batch_size=100, seed=0, settled=True):
    return {"status": "ok", "settling": S.Settling(settled, "flat" if settled else "moving"),
            "final": {"train_error": train, "test_error": test, "feature_learning": feature,
                      "noise_memorisation_min": noise_min,
                      "noise_memorisation_max": noise_max},
            "config": {"optimizer": "adam", "batch_size": batch_size, "seed": seed,
                       "weight_decay": 1e-5}}


def test_a_large_batch_seed_that_learned_the_feature_does_not_count_as_memorising():
    from adamlab.report.items.table import judge_trajectories

    memorised = traj_run(0.0, 0.48, feature=0.1, noise_min=0.5, noise_max=0.9, seed=0)
    # test error 0.0001: it learned the feature, though its noise memorisation ended above it
    learned = traj_run(0.0, 0.0001, feature=0.4, noise_min=0.5, noise_max=0.9, seed=1)
    text, word, moving = judge_trajectories([memorised, learned], large=True)
    assert word == "partly reproduced" and moving == 0
    assert "above 0 in 2 of 2 settled runs, 1 of them in another regime" in text
    assert "1 of 2 runs as claimed" in text
    assert "memorises noise 1/2" in text and "learns the feature 1/2" in text
    # the gap just either side of 0 for a memorising seed
    edge = traj_run(0.0, 0.6, feature=0.5, noise_min=0.5, noise_max=0.9, seed=2)
    assert judge_trajectories([edge], large=True)[1] == "not reproduced"       # gap 0: not > 0
    edge["final"]["noise_memorisation_min"] = math.nextafter(0.5, 1)
    assert judge_trajectories([edge], large=True)[1] == "reproduced"


def test_a_mini_batch_seed_must_learn_the_feature_and_keep_noise_behind():
    from adamlab.report.items.table import judge_trajectories

    good = traj_run(0.0, 0.01, feature=2.0, noise_min=0.1, noise_max=1.0, batch_size=2)
    # the feature ahead of the noise, but the seed memorised (test error 0.5): not agreeing
    memorised = traj_run(0.0, 0.5, feature=2.0, noise_min=0.1, noise_max=1.0, batch_size=2,
                         seed=1)
    moving = traj_run(0.0, 0.01, feature=2.0, noise_min=0.1, noise_max=1.0, batch_size=2,
                      seed=2, settled=False)
    text, word, still = judge_trajectories([good, memorised, moving], large=False)
    assert (word, still) == ("partly reproduced", 1) and "1 of 2 runs as claimed" in text
    assert judge_trajectories([good], large=False)[1] == "reproduced"
    assert judge_trajectories([moving], large=False)[1] == "still moving"


def test_large_weight_decay_finding_gives_regime_shares_per_batch_size():
    from adamlab.report.items.weight_decay import judge_large_wd

    runs = [traj_run(0.5, 0.5, 0.0, 0.0, 0.0, batch_size=100, seed=s) for s in range(3)]
    runs += [traj_run(0.0, 0.5, 0.0, 0.0, 0.0, batch_size=100, seed=3)]
    runs += [traj_run(0.5, 0.5, 0.0, 0.0, 0.0, batch_size=2, seed=s) for s in range(2)]
    f = judge_large_wd(runs, "stuck_at_init", "Adam is stuck.")
    assert f.verdict == "partly reproduced"
    assert "B = 100: stuck at initialisation 3/4" in f.observed
    assert "memorises noise 1/4" in f.observed
    assert "B = 2: stuck at initialisation 2/2" in f.observed


# ---- betas, synthetic extension: beta2 x batch size ------------------------------------------
def test_largest_learning_batch_reads_each_cells_majority():
    from adamlab.report.items.betas import largest_learning_batch

    def cell(tests, b):
        return [traj_run(0.0, t, 0, 0, 0, batch_size=b, seed=i) for i, t in enumerate(tests)]

    by_b = {2: cell([0.0] * 3, 2), 20: cell([0.0, 0.0, 0.5], 20), 100: cell([0.0, 0.5, 0.5], 100)}
    assert largest_learning_batch(by_b) == 20      # 2 of 3 learn at 20, 1 of 3 at 100
    by_b[100] = cell([0.0, 0.0, 0.5], 100)
    assert largest_learning_batch(by_b) == 100
    assert largest_learning_batch({100: cell([0.5], 100)}) is None


def test_betas_quick_report_names_its_claim(tmp_path):
    from adamlab.cli import main

    out = tmp_path / "r"
    # --no-end-state: tests/test_end_horizon_report.py judges betas at the end state
    assert main(["reproduce", "betas", "--quick", "--out", str(out), "--workers", "2",
                 "--no-progress", "--no-end-state"]) == 0
    md = (out / "report.md").read_text()
    section = md.split("## Beyond the paper: β2 × batch size on the synthetic data")[1]
    assert "What this says about the paper's mechanism" in section
    assert "| SignSGD | — |" in section and "| SignSGDW | — |" in section
    assert "largest B that learns" in section
    assert "(`betas`) | ours" in md and "| extension |" in md
    for stem in ("betas-adam", "betas-adamw"):
        assert (out / "figures" / f"{stem}.png").stat().st_size > 5000


# ---- betas on real images: the batch-size gap per (beta1, beta2) -----------------------------
def image_runs(tests, batch_size, train=0.0):
    return [{"status": "ok", "final": {"test_error": t, "train_error": train},
             "config": {"seed": i, "dataset": "fashion-mnist", "batch_size": batch_size}}
            for i, t in enumerate(tests)]


@pytest.mark.parametrize("rise,holds", [(0.05 + 1e-3, True), (0.05 - 1e-3, False)])
def test_image_betas_gap_either_side_of_the_sharp_rise(rise, holds):
    from adamlab.images.rules import SHARP_RISE, betas_gap

    assert SHARP_RISE == 0.05
    small = image_runs([0.10, 0.11, 0.12, 0.11], 16)
    large = image_runs([0.10 + rise, 0.11 + rise, 0.12 + rise, 0.11 + rise], 128)
    ok, why = betas_gap(small, large, "test_error")
    assert ok is holds and f"gap {rise:+.3f}" in why
    if not holds:
        assert why.startswith("a clear gap below 0.05")


def test_image_betas_gap_needs_a_clear_gap_and_learning():
    from adamlab.images.rules import betas_gap

    small = image_runs([0.10, 0.30], 16)
    overlapping = image_runs([0.12, 0.40], 128)   # the seeds' spread covers the gap
    ok, why = betas_gap(small, overlapping, "test_error")
    assert not ok and why.startswith("no clear gap")
    chance = image_runs([0.86, 0.87], 16)          # not below chance 0.9 by 0.05
    ok, why = betas_gap(chance, image_runs([0.95, 0.96], 128), "test_error")
    assert not ok and why.startswith("nothing learned at the smaller batch")
    ok, _ = betas_gap(image_runs([0.84, 0.84, 0.83], 16), image_runs([0.95, 0.96, 0.95], 128),
                      "test_error")
    assert ok                                       # 0.84: below chance by more than 0.05
    # two seeds a side cannot show a gap: the one-sided permutation p is at least 1/6
    ok, why = betas_gap(image_runs([0.10, 0.11], 16), image_runs([0.50, 0.51], 128), "test_error")
    assert not ok and why.startswith("no clear gap") and "p = 0.167" in why


def test_image_betas_verdict_counts_pairs():
    from adamlab.report.items.images_betas import judge_betas

    assert judge_betas({(0.9, 0.99): (True, ""), (0.0, 0.5): (True, "")}) == (
        "reproduced", 2, 2)
    assert judge_betas({(0.9, 0.99): (True, ""), (0.0, 0.5): (False, "")})[0] == \
        "partly reproduced"
    assert judge_betas({(0.9, 0.99): (False, "")})[0] == "not reproduced"
