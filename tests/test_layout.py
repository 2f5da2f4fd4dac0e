"""The layout: no import circles in the library or the dashboard glue.

The import graph is read from the source (every ``import`` and ``from ... import``, inside functions too, but not the
ones under ``if TYPE_CHECKING:``, which never run). Importing ``a.b.c`` runs ``a/b/__init__.py`` too, so that edge is
counted; a module may take names from its own package (its ``__init__``, e.g. a registry) without that being a circle.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("forensics", "ui")


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(root: Path = ROOT, packages: tuple[str, ...] = PACKAGES) -> dict[str, Path]:
    return {_module_name(p, root): p for pkg in packages for p in sorted((root / pkg).rglob("*.py"))}


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(x) for stmt in node.body for x in ast.walk(stmt))
    return skip


def _imported(node: ast.AST, module: str, is_package: bool, known: Mapping[str, Path]) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ""
    if node.level:  # relative import
        pkg = module.split(".") if is_package else module.split(".")[:-1]
        pkg = pkg[: len(pkg) - (node.level - 1)]
        base = ".".join([*pkg, *([node.module] if node.module else [])])
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]


def import_graph(mods: Mapping[str, Path]) -> dict[str, set[str]]:
    """module -> the project modules its execution imports (see the module docstring for what counts)."""
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for m, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _type_checking_nodes(tree)
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            for target in _imported(node, m, path.name == "__init__.py", mods):
                while target and target not in mods:  # a name inside a module: the module
                    target = target.rpartition(".")[0]
                # importing a.b.c runs the __init__ of a.b and a; a module's own packages are not an edge
                chain = [target]
                while chain[-1]:
                    chain.append(chain[-1].rpartition(".")[0])
                for t in chain:
                    if t in mods and t != m and not m.startswith(t + "."):
                        graph[m].add(t)
    return graph


def circles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

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
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_circle_finder_finds_a_circle(tmp_path):
    """The finder itself: a lazy import that closes a loop through a package's __init__ is found; a submodule
    taking a name from its own package is not a circle."""
    pkg = tmp_path / "forensics"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from forensics.sub.reg import REG\n")
    (pkg / "sub" / "reg.py").write_text("REG = {}\n")
    (pkg / "sub" / "item.py").write_text("from forensics.sub import REG\n")  # own package: allowed
    (pkg / "a.py").write_text("from forensics.sub.item import x\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from forensics.a import y\n")
    (pkg / "sub" / "reg.py").write_text("def g():\n    import forensics.sub.b\n")  # reg -> b -> a -> sub (init) -> reg
    (pkg / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from forensics.d import z\n")
    (pkg / "d.py").write_text("from forensics.c import w\n")  # c -> d only under TYPE_CHECKING: no circle
    found = circles(import_graph(modules(tmp_path, ("forensics",))))
    assert found == [["forensics.a", "forensics.sub", "forensics.sub.b", "forensics.sub.reg"]]


def test_no_import_circles():
    mods = modules()
    assert "forensics.pipeline" in mods and "ui.common" in mods  # the walk found the packages
    assert circles(import_graph(mods)) == []
