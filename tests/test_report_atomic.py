"""A report interrupted while it is written (SIGKILL while building it, or while moving it into
place) leaves the previous report whole, or none, never half of one; the next call writes a
complete one, and the results store beside it is never touched."""
import hashlib
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from adamlab.report import figures as F
from adamlab.report.page import FigureItem, Section, TableItem, write_report

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ("one", "two")


def sections(version: str) -> list[Section]:
    figs = [FigureItem(name, F.sweep_line_figure([1, 10], [{"label": version,
                                                             "values": [0.1, 0.2]}], "B"),
                       caption=f"{name} of version {version}", data=[{"B": 1, "v": version}])
            for name in FIGURES]
    return [Section(f"Version {version}", paragraphs=[f"marker-{version}"],
                    tables=[TableItem("table", [{"version": version}])], figures=figs)]


# A child writes a report and kills itself with SIGKILL at the N-th call of HOOK: `save` (a
# figure, while the report is built) or `replace` (a rename, while it is moved into place).
CHILD = textwrap.dedent("""
    import os, signal, sys
    sys.path[:0] = [{root!r}, {tests!r}]
    from adamlab.report import figures
    from adamlab.report import page
    from test_report_atomic import sections
    out, version, hook, nth = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    calls = [0]

    def wrap(real):
        def hooked(*args, **kw):
            calls[0] += 1
            if calls[0] == nth:
                os.kill(os.getpid(), signal.SIGKILL)
            return real(*args, **kw)
        return hooked

    if hook == "save":
        figures.save = wrap(figures.save)
    else:
        page.os.replace = wrap(os.replace)
    page.write_report(out, "t", sections(version))
""")


def _interrupted(out: Path, version: str, hook: str, nth: int) -> None:
    script = CHILD.format(root=str(ROOT), tests=str(ROOT / "tests"))
    proc = subprocess.run([sys.executable, "-c", script, str(out), version, hook, str(nth)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr


def _complete(out: Path, version: str) -> None:
    page = (out / "index.html").read_text()
    assert page.endswith("</html>\n") and f"marker-{version}" in page
    assert f"marker-{version}" in (out / "report.md").read_text()
    assert sorted(p.name for p in (out / "figures").iterdir()) == sorted(
        f"{n}.{ext}" for n in FIGURES for ext in ("png", "svg"))
    assert sorted(p.name for p in (out / "data").iterdir()) == sorted(
        f"{n}.csv" for n in (*FIGURES, "table"))
    assert all(version in (out / "data" / f"{n}.csv").read_text() for n in (*FIGURES, "table"))


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_an_interrupted_report_never_leaves_half_a_report(tmp_path):
    out = tmp_path / "report"
    out.mkdir()
    store = out / "runs.sqlite"
    store.write_bytes(b"the results store: never moved, never deleted")
    kept = _digest(store)

    _interrupted(out, "A", "save", 2)  # the first report, killed while it is built
    assert not (out / "index.html").exists() and not (out / "figures").exists()
    assert [p.name for p in out.iterdir() if not p.name.startswith(".")] == ["runs.sqlite"]

    paths = write_report(out, "t", sections("B"))  # the next call: complete, leftovers gone
    _complete(out, "B")
    assert paths["html"] == out / "index.html" and all(p.exists() for p in paths["figures"])
    assert sorted(p.name for p in out.iterdir()) == ["data", "figures", "index.html",
                                                     "report.md", "runs.sqlite"]
    page_b = _digest(out / "index.html")

    _interrupted(out, "C", "save", 2)  # a rewrite killed while it is built: B stays whole
    _complete(out, "B")
    assert _digest(out / "index.html") == page_b

    # Killed between the renames (the old figures moved aside, the new not yet in): the page
    # itself is whole, the previous one.
    _interrupted(out, "D", "replace", 2)
    assert not (out / "figures").exists() and _digest(out / "index.html") == page_b

    write_report(out, "t", sections("E"))
    _complete(out, "E")
    assert sorted(p.name for p in out.iterdir()) == ["data", "figures", "index.html",
                                                     "report.md", "runs.sqlite"]
    assert _digest(store) == kept
