"""The progress bar's cost model (adamlab/sweep/cost.py): runs weigh by their steps, so the time
left follows the work that remains (a B = 1 run is many B = 200 runs at equal epochs)."""
import pytest

from adamlab.synthetic.config import SyntheticConfig
from adamlab.sweep.cost import run_cost, run_costs
from adamlab.sweep.spec import load_spec
from sweeptask import ProbeConfig


def test_small_batches_cost_more_at_equal_epochs():
    one, full = (run_cost(SyntheticConfig(batch_size=b, epochs=10_000)) for b in (1, 200))
    # 2e6 steps x 40 us vs 1e4 steps x 380 us (21x), plus the ~5 s of evaluation both pay.
    assert 7 < one / full < 12
    # Both log about 100 times, so the 8e5 extra steps at 41.7 us (docs/speed.md's B = 2 benchmark)
    # are the whole difference between 10^4 and 2000 epochs.
    longer, shorter = (run_cost(SyntheticConfig(batch_size=2, epochs=e)) for e in (10_000, 2000))
    assert longer - shorter == pytest.approx(8e5 * 41.7e-6, rel=0.05)


def test_a_phase_diagram_is_dominated_by_its_small_batches():
    spec = load_spec("phase-adamw")
    costs = dict(zip(spec.configs, run_costs(spec.configs)))
    small = sum(c for cfg, c in costs.items() if cfg.batch_size <= 2)
    assert small > 0.6 * sum(costs.values())  # a quarter of the runs, most of the work


def test_unknown_tasks_count_runs():
    mixed = [SyntheticConfig(batch_size=2, epochs=10), ProbeConfig(x=1.0)]
    assert run_cost(ProbeConfig(x=1.0)) is None
    assert run_costs(mixed) == [1.0, 1.0]


def test_wider_models_and_the_general_loop_cost_more():
    # Steps' fixed part is the update of every weight: 4x d is dearer, but less than 4x, since
    # the examples' part does not grow with d (a critical-batch probe: measured x2.66).
    probe = dict(n=800, batch_size=28, epochs=10_000, sampler="shuffle-carry", n_test=2000,
                 log_every=1000)
    wide = run_cost(SyntheticConfig(d=4000, **probe)) / run_cost(SyntheticConfig(**probe))
    assert 2 < wide < 4
    kw = dict(batch_size=100, epochs=10_000)
    paper = run_cost(SyntheticConfig(**kw))
    # The beyond-the-paper settings run the general loop: label noise alone a little dearer
    # (1.08x the paper's loop measured), more classes dearer with every class (the loop 5.9x at
    # K = 10, its evaluation 3.8x: benchmarks/general_metrics.py).
    noisy = run_cost(SyntheticConfig(label_noise=0.1, **kw))
    three, ten = (run_cost(SyntheticConfig(classes=k, **kw)) for k in (3, 10))
    assert 0.9 < noisy / paper < 1.5
    assert noisy < three < ten
    assert 4 < ten / paper < 8
