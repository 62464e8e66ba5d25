"""docs/tutorial.md runs: jupytext reads it as a notebook and nbclient executes every cell on a
fresh kernel, at the tutorial's own (quick) sizes. A cell that raises fails the test with the
cell's error; the tutorial's own asserts check the outcomes it describes."""
import os
import sys
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext", reason="jupytext not installed (the `docs` extra)")
nbclient = pytest.importorskip("nbclient", reason="nbclient not installed (the `docs` extra)")
pytest.importorskip("ipykernel", reason="ipykernel not installed (the `docs` extra)")

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs" / "tutorial.md"


@pytest.mark.slow
def test_tutorial_executes(tmp_path, monkeypatch):
    notebook = jupytext.read(TUTORIAL)
    assert sum(c.cell_type == "code" for c in notebook.cells) >= 10
    # The kernel imports this checkout's adamlab and runs in a scratch folder; one thread each,
    # as the sweep workers use (sweep/runner.py), so the test stays on one core.
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    monkeypatch.setenv("PYTHONPATH", path)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        monkeypatch.setenv(var, "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the tutorial's tempfile.mkdtemp() lands here
    client = nbclient.NotebookClient(
        notebook, timeout=300, kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}})
    # the kernel is this interpreter (same environment as the tests), whatever Jupyter's
    # kernelspec list says
    client.kernel_manager_class = _kernel_manager()
    client.execute()
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert "adamw" in text and "status" in text


def _kernel_manager():
    from jupyter_client.manager import KernelManager

    class ThisPython(KernelManager):
        """A kernel started with the interpreter running the tests."""

        def format_kernel_cmd(self, extra_arguments=None):
            return [sys.executable, "-m", "ipykernel_launcher", "-f", self.connection_file]

    return ThisPython
