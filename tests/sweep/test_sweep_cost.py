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
