"""The shuffle-carry sampler (synthetic/sampler.py): every example exactly once per pass, a budget
of floor(E*n/B) steps that is smooth in B, the engines agree on it, and the default sampler keeps
every number and run id."""
import numpy as np
import pytest
from scipy import stats

from adamlab import SyntheticConfig, train
from adamlab.optim.schedule import Schedule
from adamlab.synthetic.engines.batched import group_key
from adamlab.synthetic.sampler import BatchSampler, steps_after
from adamlab.synthetic.train import train_batched

TINY = SyntheticConfig(d=150, n=24, s=12, width=5, sigma0=0.05, n_test=100, epochs=6,
                       log_every=2, lr=3e-3, sampler="shuffle-carry")


def _stream(n, b, calls, seed=0):
    smp = BatchSampler(n, b, "shuffle-carry", seed)
    batches = [smp.epochs(k) for k in calls]
    return np.concatenate(batches), smp


@pytest.mark.parametrize("n, b", [(24, 5), (24, 7), (24, 24), (200, 101), (10, 4), (9, 1)])
def test_every_example_is_used_exactly_once_per_pass(n, b):
    calls = [1, 3, 2, 1]
    batches, smp = _stream(n, b, calls)
    epochs = sum(calls)
    assert batches.shape == (epochs * n // b, b) == (steps_after(n, b, "shuffle-carry", epochs), b)
    assert len(smp.carry) == epochs * n % b  # what is drawn but not yet in a batch
    stream = np.concatenate([batches.ravel(), smp.carry])
    for p in range(epochs):
        assert sorted(stream[p * n:(p + 1) * n]) == list(range(n))
    # No batch holds an example twice, the batches straddling two passes included.
    assert all(len(set(row)) == b for row in batches.tolist())
    # The segments a training loop asks for do not change the stream.
    whole, _ = _stream(n, b, [epochs])
    np.testing.assert_array_equal(whole, batches)


def test_which_examples_are_carried_over_is_uniform():
    # n = 10, B = 4: each pass leaves 2 (or, after a carry, 0 or 2) examples to the next; over
    # 4000 passes every example should be carried equally often.
    smp = BatchSampler(10, 4, "shuffle-carry", 1)
    carried = np.zeros(10)
    for _ in range(4000):
        smp.epochs(1)
        carried[smp.carry] += 1
    assert carried.sum() > 3000
    assert stats.chisquare(carried).pvalue > 1e-3
    # ... and the examples of the batch that straddles two passes are not the carried ones only:
    # each example opens a pass about equally often.
    smp = BatchSampler(10, 4, "shuffle-carry", 2)
    first = np.zeros(10)
    for _ in range(3000):
        first[smp.epochs(1)[0]] += 1
    assert stats.chisquare(first).pvalue > 1e-3


def test_the_budget_is_smooth_in_the_batch_size():
    n, epochs = 200, 100
    carry = {b: steps_after(n, b, "shuffle-carry", epochs) for b in range(1, n + 1)}
    shuffle = {b: steps_after(n, b, "shuffle", epochs) for b in range(1, n + 1)}
    assert (shuffle[100], shuffle[101]) == (200, 100)     # the jump that brackets straddle
    assert (carry[100], carry[101]) == (200, 198)
    for b in range(1, n + 1):  # examples seen = epochs * n up to one batch
        assert epochs * n - b < carry[b] * b <= epochs * n
    cfg = SyntheticConfig(n=200, batch_size=101, epochs=100, sampler="shuffle-carry")
    assert cfg.total_steps == 198 and cfg.steps_per_epoch == pytest.approx(200 / 101)
    assert cfg.epoch_of(198) == pytest.approx(198 * 101 / 200)


def test_the_default_keeps_todays_batches_and_run_ids():
    # Values computed by the code before shuffle-carry existed.
    assert SyntheticConfig().run_id() == "b0d08104f1271bd8"
    assert SyntheticConfig(sampler="cyclic", batch_size=7).run_id() == "330f8b5394a6f7d0"
    assert SyntheticConfig(optimizer="adamw", n=24, batch_size=5).run_id() == "2754c43b6d19d92f"
    assert SyntheticConfig(sampler="shuffle").run_id() == SyntheticConfig().run_id()
    assert SyntheticConfig(sampler="shuffle-carry").run_id() != SyntheticConfig().run_id()
    sums = BatchSampler(24, 5, "shuffle", 3).epochs(3).sum(axis=1).tolist()
    assert sums == [64, 35, 82, 52, 65, 75, 42, 25, 40, 75, 49, 60]
    cfg = SyntheticConfig(n=24, batch_size=5, epochs=6)
    assert cfg.total_steps == 24 and cfg.steps_per_epoch == 4


@pytest.mark.parametrize("batch_size", [5, 7, 24])
def test_engines_agree_on_the_carry_sampler(batch_size):
    cfg = TINY.replace(batch_size=batch_size, weight_decay=0.05)
    fast, ref = train(cfg), train(cfg.replace(engine="reference"))
    batched = train(cfg.replace(engine="batched"))
    total = 6 * 24 // batch_size
    assert fast.steps == ref.steps == batched.steps == cfg.total_steps == total
    assert [r[:4] for r in fast.metrics] == [r[:4] for r in ref.metrics]
    for other in (ref, batched):
        np.testing.assert_allclose([r[4] for r in fast.metrics], [r[4] for r in other.metrics],
                                   rtol=1e-9, atol=1e-12)
    # Logged epochs are the passes the steps made: step * B / n.
    logged = sorted({(r[0], r[1]) for r in fast.metrics})
    assert logged[-1] == (total, pytest.approx(total * batch_size / 24))
    assert all(e == pytest.approx(s * batch_size / 24) for s, e in logged)
    assert fast.epochs == pytest.approx(total * batch_size / 24)


def test_schedules_and_batched_groups_follow_the_carry_budget():
    cfg = TINY.replace(batch_size=7, warmup_epochs=2, schedule="cosine")
    sched = Schedule(cfg)
    assert (sched.warmup, sched.total) == (2 * 24 // 7, 6 * 24 // 7)
    # Runs with different steps per segment never step together.
    assert group_key(TINY.replace(batch_size=7)) != group_key(
        TINY.replace(batch_size=7, sampler="shuffle"))
    mixed = [TINY.replace(batch_size=7, engine="batched"),
             TINY.replace(batch_size=7, engine="batched", sampler="shuffle", seed=1)]
    for got, cfg in zip(train_batched(mixed), mixed):
        alone = train(cfg)
        assert got.steps == alone.steps == cfg.total_steps
        np.testing.assert_allclose([r[4] for r in got.metrics], [r[4] for r in alone.metrics],
                                   rtol=1e-9, atol=1e-12)
