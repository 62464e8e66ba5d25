"""The compiled kernels are cached on disk for the built-in activations (a fresh process loads
instead of compiling), the cache goes stale when any source they inline changes, and activations
registered at run time keep working through a per-process compilation (synthetic/jit.py)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from numba.core.dispatcher import Dispatcher

from adamlab import SyntheticConfig
from adamlab.synthetic.engines import fast
from adamlab.synthetic import activations, jit, kernels
from adamlab.synthetic.activations import Activation, KernelToken, register, sigma_of

ROOT = Path(__file__).resolve().parents[1]

PROBE = r"""
import json
from adamlab import SyntheticConfig, train
from adamlab.synthetic.engines import fast
from adamlab.synthetic import kernels
result = train(SyntheticConfig(d=50, n=8, s=5, width=2, n_test=8, epochs=2))
stats = {"seconds": [result.seconds, result.meta["compile_seconds"],
                     len(fast.run_steps.cached.overloads)]}
for name, kernel in (("run_steps", fast.run_steps),
                     ("margins_and_noise", kernels.margins_and_noise)):
    s = kernel.cached.stats
    stats[name] = [sum(s.cache_hits.values()), sum(s.cache_misses.values()),
                   len(kernel.per_process.overloads)]
print(json.dumps(stats))
"""


def _fresh_process(cache_dir) -> dict:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache_dir),
           "PYTHONPATH": os.pathsep.join([str(ROOT)] + sys.path)}
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_fresh_process_loads_the_kernels_from_disk(tmp_path):
    """The first process on an empty cache compiles (misses) and stores; the next one loads what
    it needs and compiles nothing. (An empty cache of its own: the suite's other processes write
    the in-tree one concurrently.)"""
    first = _fresh_process(tmp_path)
    second = _fresh_process(tmp_path)
    for name in ("run_steps", "margins_and_noise"):
        hits, misses, per_process = first[name]
        assert misses >= 1 and per_process == 0
        hits, misses, per_process = second[name]
        assert hits >= 1 and misses == 0 and per_process == 0, (name, second[name])
    assert any(p.suffix == ".nbi" for p in tmp_path.rglob("*"))
    # The compile (~3 s of CPU when cold) is timed apart from the steps (milliseconds), and the
    # compile call and the steps share one specialisation: nothing compiles inside `seconds`.
    seconds, compile_seconds, overloads = first["seconds"]
    assert overloads == 1 and compile_seconds > 0.5 and seconds < 0.1 * compile_seconds
    seconds, compile_seconds, overloads = second["seconds"]
    assert overloads == 1 and 0 <= compile_seconds < first["seconds"][1]


def test_built_in_activations_are_tokens_and_others_are_functions():
    args = sigma_of(SyntheticConfig()).kernel_args
    assert isinstance(args[0], KernelToken) and isinstance(args[1], KernelToken)
    assert (args[0].name, args[0].part, args[1].part) == ("relu-power", "value", "derivative")
    copy = activations.get("gelu")
    try:  # registered at run time, even under a built-in's name: functions, compiled per process
        register(Activation("gelu", copy.value, copy.derivative, copy.torch, copy.help))
        args = sigma_of(SyntheticConfig(activation="gelu")).kernel_args
        assert isinstance(args[0], Dispatcher) and isinstance(args[1], Dispatcher)
    finally:
        register(copy)
    assert isinstance(sigma_of(SyntheticConfig(activation="gelu")).kernel_args[0], KernelToken)


def test_the_cache_is_keyed_on_every_source_the_kernel_inlines():
    files = {os.path.relpath(f, jit.PACKAGE_DIR)
             for f in jit.reachable_files(fast.run_steps.py_func, fast.CONSTANTS_FROM)}
    assert files >= {"synthetic/engines/fast.py", "synthetic/kernels.py", "synthetic/activations.py",
                     "optim/schedule.py", "synthetic/data.py", "optim/clip.py",
                     "synthetic/update_kernel.py"}
    assert not any(f.startswith("..") for f in files)  # only adamlab's own sources
    metrics = {os.path.relpath(f, jit.PACKAGE_DIR)
               for f in jit.reachable_files(kernels.margins_and_noise.py_func,
                                            ("adamlab.synthetic.data",))}
    assert metrics == {"synthetic/kernels.py", "synthetic/activations.py", "synthetic/data.py"}


def test_the_stamp_changes_with_any_of_the_sources(tmp_path):
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("X = 1\n")
    b.write_text("Y = 2\n")
    before = jit.sources_stamp([str(a), str(b)])
    assert jit.sources_stamp([str(a), str(b)]) == before
    b.write_text("Y = 3\n")
    assert jit.sources_stamp([str(a), str(b)]) != before


@pytest.mark.parametrize("kernel", [fast.run_steps, kernels.margins_and_noise])
def test_each_activation_kernel_has_one_source(kernel):
    assert kernel.cached.py_func is kernel.per_process.py_func is kernel.py_func
    assert isinstance(kernel.cached._cache, jit._SourcesCache)
    assert "Null" in type(kernel.per_process._cache).__name__  # never written to disk
