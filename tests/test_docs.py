"""The documentation stands alone and builds.

* `mkdocs build --strict` succeeds: a broken link or anchor, a page missing from the nav, or an
  API reference (`::: module`) that mkdocstrings cannot render fails it.
* Every public function, class and method that the API reference pages render has a docstring.
* README.md, docs/*.md and the package cite nothing outside the repository (no PAPER.md,
  STYLE.md, issue numbers) and name no machine paths (/tmp/, /work/, /root/).
* Every `docs/paper.md "Section"` that a docstring cites is a heading of docs/paper.md.
"""
import importlib
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
REFERENCE_PAGES = sorted(DOCS.glob("reference*.md")) + sorted(DOCS.glob("reference/**/*.md"))

FORBIDDEN = [
    (re.compile(r"PAPER\.md"), "a file outside the repository"),
    (re.compile(r"STYLE\.md"), "a file outside the repository"),
    (re.compile(r"GitHub issue", re.I), "an issue number"),
    (re.compile(r"\bissues? #?\d+", re.I), "an issue number"),
    (re.compile(r"(?<![\w.])/(tmp|work|root)/"), "a machine path"),
]


def _text_files():
    files = [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]
    files += sorted(p for p in (ROOT / "adamlab").rglob("*")
                    if p.suffix in (".py", ".toml", ".md") and "__pycache__" not in p.parts)
    return files


def test_no_outside_citations_or_machine_paths():
    hits = []
    for path in _text_files():
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for pattern, why in FORBIDDEN:
                if pattern.search(line):
                    hits.append(f"{path.relative_to(ROOT)}:{i}: {why}: {line.strip()[:100]}")
    assert not hits, "\n".join(hits)


def test_paper_sections_cited_in_docstrings_exist():
    headings = {m.group(1).strip() for m in
                re.finditer(r"^#+\s+(.+)$", (DOCS / "paper.md").read_text(), re.M)}
    cited = {}
    for path in (ROOT / "adamlab").rglob("*.py"):
        text = " ".join(path.read_text().split())  # citations may wrap over lines
        for m in re.finditer(r'docs/paper\.md "([^"]+)"', text):
            cited.setdefault(m.group(1), path.relative_to(ROOT))
    missing = {s: str(p) for s, p in cited.items() if s not in headings}
    assert cited and not missing, f"cited sections without a heading in docs/paper.md: {missing}"


def test_readme_is_the_front_door():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) < 300
    for words in ("make reproduce", "make test", ".venv", "requirements.lock"):
        assert words in readme, words


def _references():
    """(module name, explicit members or None) for every `::: module` block of the API pages."""
    out = []
    for page in REFERENCE_PAGES:
        lines = page.read_text().splitlines()
        for i, line in enumerate(lines):
            m = re.match(r"^:::\s+([\w.]+)\s*$", line)
            if not m:
                continue
            block = []
            for nxt in lines[i + 1:]:
                if nxt.strip() and not nxt.startswith("    "):
                    break
                block.append(nxt[4:])
            options = (yaml.safe_load("\n".join(block)) or {}).get("options", {})
            out.append((m.group(1), options.get("members")))
    return out


def _public(module, members):
    if members is not None:
        names = members
    elif hasattr(module, "__all__"):
        names = module.__all__
    else:
        names = [n for n, o in vars(module).items()
                 if not n.startswith("_") and (inspect.isfunction(o) or inspect.isclass(o))
                 and o.__module__ == module.__name__]
    for name in names:
        obj = getattr(module, name)
        if not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue  # constants carry their comment in the source
        yield name, obj
        if inspect.isclass(obj):
            for attr, value in vars(obj).items():
                if attr.startswith("_"):
                    continue
                fn = value.__func__ if isinstance(value, (staticmethod, classmethod)) else value
                fn = fn.fget if isinstance(fn, property) else fn
                if inspect.isfunction(fn):
                    yield f"{name}.{attr}", fn


def test_api_reference_has_docstrings():
    refs = _references()
    assert refs, "no `::: module` blocks in docs/reference*.md"
    missing = []
    for module_name, members in refs:
        module = importlib.import_module(module_name)
        for name, obj in _public(module, members):
            if not (inspect.getdoc(obj) or "").strip():
                missing.append(f"{module_name}.{name}")
    assert not missing, "public objects in the API reference without a docstring:\n" + \
        "\n".join(missing)


def test_mkdocs_build_strict(tmp_path):
    pytest.importorskip("mkdocs", reason="mkdocs not installed (the `docs` extra: pip install "
                                         "-e '.[docs]')")
    pytest.importorskip("mkdocstrings", reason="mkdocstrings not installed (the `docs` extra)")
    pytest.importorskip("material", reason="mkdocs-material not installed (the `docs` extra)")
    site = tmp_path / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site),
         "--config-file", str(ROOT / "mkdocs.yml")],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**__import__("os").environ, "NO_MKDOCS_2_WARNING": "1",
             "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert (site / "index.html").exists()
    reference = (site / "reference" / "index.html").read_text()
    for name in ("adamlab.tasks.train", "adamlab.sweep.runner.run_sweep",
                 "adamlab.core.stats.summarise"):
        assert name in reference, name
    assert (site / "tutorial" / "index.html").exists()
