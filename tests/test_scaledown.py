"""The scale-down rule (adamlab/images/scaledown.py): the paper's protocol maps onto itself unchanged,
and a CPU budget keeps lr x steps at the reference batch, lr x lambda x steps, and the largest
batch's steps, with the arithmetic shown."""
import math

import pytest

from adamlab.images.scaledown import (Protocol, ScaleError, protocol_rows, round_sig, scale_down,
                                      steps)

FIG1 = Protocol(n=50_000, epochs=100, batch_sizes=(16, 32, 64, 256, 1024, 4096, 8192),
                lrs=(5e-4, 1e-4, 1e-5), weight_decays={"adam": (5e-4,), "adamw": (1e-2,)},
                seeds=5, n_test=10_000)
FIG2 = Protocol(n=50_000, epochs=100, batch_sizes=(16,), lrs=(1e-4,),
                weight_decays={"adam": (1e-1, 5e-2, 1e-2, 1e-6, 5e-7),
                               "adamw": (5e-1, 1e-1, 1e-2, 1e-4)}, seeds=5)


@pytest.mark.parametrize("paper", [FIG1, FIG2], ids=["fig1", "fig2"])
def test_the_papers_protocol_maps_onto_itself_unchanged(paper):
    scaled = scale_down(paper, n=paper.n, epochs=paper.epochs)
    assert scaled.run == paper and scaled.lr_factor == 1.0
    rows = scaled.rows()
    assert rows and all(r["kept"].startswith("kept") for r in rows), rows
    assert all(r["paper"] == r["this run"] for r in rows)


def test_cpu_budget_keeps_the_decisive_quantities():
    s = scale_down(FIG1, n=768, epochs=100, seeds=3, n_test=2000)
    # Rule 1: 312,500 steps at B = 16 become 48 x 100 = 4,800, so lr x 312,500 / 4,800 = 65.1.
    assert steps(768, 16, 100) == 4800 and FIG1.reference_steps == 312_500
    assert s.lr_factor == pytest.approx(312_500 / 4800)
    assert s.run.lrs == (3.26e-2, 6.51e-3, 6.51e-4)
    for lp, lr in zip(FIG1.lrs, s.run.lrs):
        assert lr * 4800 == pytest.approx(lp * 312_500, rel=5e-3)     # distance kept
        for wd in (5e-4, 1e-2):                                         # decay kept
            assert lr * wd * 4800 == pytest.approx(lp * wd * 312_500, rel=5e-3)
    assert s.run.weight_decays == FIG1.weight_decays
    # Rule 3: the paper's largest batch gets 50,000 // 8,192 = 6 steps x 100 epochs = 600; here
    # 16, 32, 64 get >= 600 (256 would get 300) and 768 // ceil(600 / 100) = 128 is added.
    assert FIG1.steps(8192) == 600
    assert s.run.batch_sizes == (16, 32, 64, 128)
    assert s.run.steps(128) == 600
    assert steps(768, 256, 100) == 300
    assert any("128 = floor(768 / ceil(600 / 100))" in note for note in s.notes)


def test_rows_show_what_is_kept_and_what_is_not():
    rows = {r["quantity"]: r for r in scale_down(FIG1, n=768, epochs=100, seeds=3).rows()}
    by_start = lambda text: next(r for q, r in rows.items() if q.startswith(text))  # noqa: E731
    assert by_start("distance a weight can travel")["kept"] == "kept"
    assert by_start("adamw: decay lr x lambda x steps")["kept"] == "kept"
    assert by_start("adam: L2 lambda")["kept"] == "kept"
    largest = by_start("steps of the largest batch")
    assert (largest["paper"], largest["this run"], largest["kept"]) == ("600", "600",
                                                                        "kept (at least)")
    assert by_start("iterations per epoch floor(n/B) of the largest")["kept"] == "kept"
    # What the rule changes on purpose is marked, with its factor.
    assert by_start("lr grid")["kept"] == "not kept (x 65.1)"
    assert by_start("adamw: per-step shrink")["kept"] == "not kept (x 65.1)"
    assert by_start("steps at B_ref")["this run"] == "4,800"
    assert by_start("seeds per cell")["kept"] == "fewer"


def test_a_budget_too_small_for_the_largest_batch_is_a_clear_error():
    with pytest.raises(ScaleError, match=r"^epochs: .* need epochs >= 13$"):
        scale_down(FIG1, n=768, epochs=5)   # B = 16 gets 48 x 5 = 240 < 600 steps
    with pytest.raises(ScaleError, match="^n: must be an integer >= the reference batch 16"):
        scale_down(FIG1, n=8, epochs=100)
    with pytest.raises(ScaleError, match=r"^batch_sizes: must be integers in \[1, n=10\]"):
        Protocol(n=10, epochs=1, batch_sizes=(16,), lrs=(1e-3,))


def test_largest_batch_that_is_not_a_paper_batch_size():
    s = scale_down(FIG1, n=1000, epochs=50)   # 600 steps in 50 epochs: 12 an epoch, B <= 83
    assert s.run.batch_sizes == (16, 32, 64, 83)
    assert all(s.run.steps(b) >= 600 for b in s.run.batch_sizes)
    assert s.run.steps(84) < 600
    assert s.lr_factor == pytest.approx(312_500 / (62 * 50))


def test_fig2_keeps_lr_times_steps_at_its_one_batch():
    s = scale_down(FIG2, n=768, epochs=100)
    assert s.run.batch_sizes == (16,) and s.run.lrs == (6.51e-3,)
    assert s.run.lrs[0] * 4800 == pytest.approx(31.25, rel=5e-3)
    # AdamW at 0.5: the paper's decay lr x lambda x steps = 15.6, kept.
    assert 0.5 * s.run.lrs[0] * 4800 == pytest.approx(0.5 * 1e-4 * 312_500, rel=5e-3)


def test_round_sig_and_protocol_from_configs():
    assert round_sig(6.5104166e-3) == 6.51e-3 and round_sig(5e-4) == 5e-4
    assert math.isnan(round_sig(float("nan")))
    configs = [{"optimizer": o, "n": 200, "epochs": 10, "batch_size": b, "lr": 1e-3,
                "weight_decay": 0.01, "seed": s} for o in ("adam", "adamw") for b in (2, 100)
               for s in (0, 1, 2)]
    p = Protocol.from_configs(configs)
    assert (p.n, p.epochs, p.batch_sizes, p.lrs, p.seeds) == (200, 10, (2, 100), (1e-3,), 3)
    assert protocol_rows(p, p)[0]["kept"] == "kept"
    with pytest.raises(ScaleError, match="^epochs: every run must share one value"):
        Protocol.from_configs([{**configs[0], "epochs": 5}, configs[1]])
