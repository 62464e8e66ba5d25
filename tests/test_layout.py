"""The package's shape: imports only point down (core <- optim <- the worlds <- tasks <- sweep <-
report <- commands <- cli), with no import circle and no import hidden inside a function except
the optional extras. The checks read the sources (ast), so they see every import, run or not."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "adamlab"
OPTIONAL_EXTRAS = ("ray", "pyarrow", "jax", "selenium")

# What each part may import from adamlab (besides itself): the floors, bottom to top.
ALLOWED = {
    "core": set(),
    "optim": {"core"},
    "synthetic": {"core", "optim"},
    "images": {"core", "optim"},
    "tasks": {"core", "optim", "synthetic", "images"},
    "sweep": {"core", "optim", "synthetic", "images", "tasks"},
    "report": {"core", "optim", "synthetic", "images", "tasks", "sweep"},
    "commands": {"core", "optim", "synthetic", "images", "tasks", "sweep", "report"},
    "cli": {"core", "optim", "synthetic", "images", "tasks", "sweep", "report", "commands"},
    "__init__": {"core", "optim", "synthetic", "images", "tasks"},
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports_of(path: Path):
    """(node, imported adamlab module, at module top?) for every import of adamlab in `path`."""
    mod = module_name(path)
    base = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
    tree = ast.parse(path.read_text())
    top = {id(n) for n in tree.body}
    for node in tree.body:  # a try at module top (e.g. a numpy-version fallback) is top level
        if isinstance(node, ast.Try):
            top |= {id(n) for n in ast.walk(node)}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                src = ".".join(base[:len(base) - node.level + 1] + ([node.module] if node.module
                                                                    else []))
            else:
                src = node.module or ""
            names = [f"{src}.{a.name}" for a in node.names]
            targets = [n if n in MODULES else src for n in names]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            continue
        for t in targets:
            yield node, t, id(node) in top


def part_of(module: str) -> str:
    parts = module.split(".")
    return "__init__" if len(parts) == 1 else parts[1]


def adamlab_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for mod, path in MODULES.items():
        for _, target, _ in imports_of(path):
            while target not in MODULES and "." in target:
                target = target.rsplit(".", 1)[0]
            if target in MODULES and target != mod:
                graph[mod].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_a_planted_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle():
    assert cycles(adamlab_graph()) == []


def test_every_part_imports_only_the_floors_below_it():
    wrong = []
    for mod, targets in adamlab_graph().items():
        part = part_of(mod)
        for t in targets:
            other = part_of(t)
            if other != part and other not in ALLOWED[part]:
                wrong.append(f"{mod} imports {t}")
    assert wrong == []


def test_imports_sit_at_module_top_except_optional_extras():
    inner = []
    for path in MODULES.values():
        for node, target, at_top in imports_of(path):
            if not at_top and target.split(".")[0] not in OPTIONAL_EXTRAS:
                inner.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {target}")
    assert inner == []


@pytest.mark.parametrize("name", ["train", "SyntheticConfig", "ImageConfig", "Result",
                                  "ConfigError", "config_from_dict", "list_optimizers"])
def test_public_names_keep_working(name):
    import adamlab

    assert name in adamlab.__all__ and getattr(adamlab, name) is not None
