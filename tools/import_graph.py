#!/usr/bin/env python3
"""Import-structure figures of the Común CMS source tree.

Prints, for the core package ``comun_cms`` (and, with ``--plugins``, for ``plugins/``):

* the strongly connected components of the module import graph that have more than one module
  (an import cycle), largest first, with their size: once for the imports as written, once adding
  the parent packages that Python runs first (importing ``comun_cms.views.admin`` runs
  ``comun_cms/__init__.py`` and ``comun_cms/views/__init__.py``). The second figure leaves out
  the imports inside a package's module-level ``__getattr__`` (PEP 562 lazy attributes, e.g.
  ``comun_cms.create_app``): running the package's ``__init__`` does not run that function, it
  runs when the attribute is first read, so it adds no edge from the package to what it imports;
* the number of ``import`` / ``from ... import`` statements placed inside a function body
  ("deferred imports"), with ``--list`` each of them (file:line);
* with ``--plugins``, every ``comun_cms`` module the plugins import (the toolkit should be the
  only one).

Every import is counted, whether at module level, inside a function or under
``if TYPE_CHECKING:`` (only the latter is left out of the graph, since it never runs). Cycles are
found with Tarjan's algorithm (R. Tarjan, "Depth-first search and linear graph algorithms",
SIAM J. Computing 1(2), 1972).

Usage::

    python tools/import_graph.py            # figures for comun_cms/
    python tools/import_graph.py --list     # and where each deferred import is
    python tools/import_graph.py --plugins  # also the plugins' figures

Exit status 0; the script only reports.
"""
from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def module_name(path: Path) -> str:
    """Dotted module name of ``path`` relative to the repository root."""
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def source_files(package: str) -> list[Path]:
    """The ``.py`` files of ``package`` (a folder under the root), migrations and tests left out."""
    base = ROOT / package
    return sorted(p for p in base.rglob("*.py")
                  if "migrations" not in p.parts and "tests" not in p.parts and "scaffold_templates" not in p.parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


class _Collector(ast.NodeVisitor):
    """Collects (target module, line, deferred?) of every import that runs, and the lines of the
    imports inside a package's module-level ``__getattr__`` (PEP 562) in ``lazy_lines``."""

    def __init__(self, current: str, is_package: bool):
        self.current, self.is_package = current, is_package
        self.depth = 0
        self.in_lazy_getattr = False
        self.imports: list[tuple[str, int, bool]] = []
        self.lazy_lines: set[int] = set()

    def _resolve(self, node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        base = self.current.split(".")
        if not self.is_package:
            base = base[:-1]
        if node.level > 1:
            base = base[: len(base) - (node.level - 1)]
        return ".".join(base + ([node.module] if node.module else []))

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node):
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def _function(self, node) -> None:
        lazy = self.is_package and self.depth == 0 and getattr(node, "name", "") == "__getattr__"
        self.depth += 1
        self.in_lazy_getattr = self.in_lazy_getattr or lazy
        self.generic_visit(node)
        self.in_lazy_getattr = self.in_lazy_getattr and not lazy
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def _add(self, target: str, line: int) -> None:
        self.imports.append((target, line, self.depth > 0))
        if self.in_lazy_getattr:
            self.lazy_lines.add(line)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = self._resolve(node)
        for alias in node.names:
            # ``from pkg import module`` imports a module; ``from module import name`` the module
            self._add(f"{base}.{alias.name}", node.lineno)


def collect(package: str) -> tuple[dict[str, set[str]], list[tuple[str, int]], dict[str, list[tuple[str, int]]],
                                   set[tuple[str, str]]]:
    """Return ``(graph, deferred, external, lazy)`` for ``package``.

    ``graph``: module -> modules of the same package it imports (edges of the import graph);
    ``deferred``: ``(file, line)`` of each import statement inside a function body;
    ``external``: imported module of another top-level package -> ``[(file, line)]``;
    ``lazy``: the ``(package, module)`` edges that only a package's PEP 562 ``__getattr__`` makes.
    """
    files = source_files(package)
    modules = {module_name(p): p for p in files}
    graph: dict[str, set[str]] = defaultdict(set)
    lazy_targets: dict[str, set[str]] = defaultdict(set)
    eager_targets: dict[str, set[str]] = defaultdict(set)
    deferred: list[tuple[str, int]] = []
    external: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        collector = _Collector(name, path.name == "__init__.py")
        collector.visit(tree)
        seen_lines: set[int] = set()
        graph.setdefault(name, set())
        for target, line, is_deferred in collector.imports:
            if is_deferred and line not in seen_lines:
                deferred.append((str(path.relative_to(ROOT)), line))
            seen_lines.add(line)
            # the longest known module that prefixes the target
            parts = target.split(".")
            resolved = None
            for i in range(len(parts), 0, -1):
                candidate = ".".join(parts[:i])
                if candidate in modules:
                    resolved = candidate
                    break
            if resolved is not None and resolved != name:
                graph[name].add(resolved)
                (lazy_targets if line in collector.lazy_lines else eager_targets)[name].add(resolved)
            elif resolved is None and parts[0] != package.split("/")[0]:
                external[".".join(parts[:2]) if parts[0] == "comun_cms" else parts[0]].append(
                    (str(path.relative_to(ROOT)), line))
    lazy = {(m, t) for m, targets in lazy_targets.items() for t in targets if t not in eager_targets[m]}
    return graph, deferred, external, lazy


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of ``graph``, each sorted; largest first."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]
    sys.setrecursionlimit(10_000)

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
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
            out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(out, key=len, reverse=True)


def with_packages(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """``graph`` plus the edges Python adds when it imports a submodule: importing ``a.b.c``
    first runs ``a/__init__.py`` and ``a/b/__init__.py``."""
    out = {m: set(targets) for m, targets in graph.items()}
    for m, targets in graph.items():
        for t in targets:
            parts = t.split(".")
            for i in range(1, len(parts)):
                parent = ".".join(parts[:i])
                if parent in graph and parent != m:
                    out[m].add(parent)
    return out


def report(package: str, show_list: bool) -> None:
    graph, deferred, external, lazy = collect(package)
    print(f"== {package}/: {len(graph)} modules")
    eager = {m: {t for t in targets if (m, t) not in lazy} for m, targets in graph.items()}
    for title, g in (("direct imports", graph), ("with the parent packages each import runs", with_packages(eager))):
        cycles = [c for c in strongly_connected(g) if len(c) > 1]
        print(f"largest import cycle ({title}): {len(cycles[0]) if cycles else 0} modules")
        for component in cycles:
            print(f"  cycle of {len(component)}: {', '.join(component)}")
    if lazy:
        print(f"  (left out of the second figure: {len(lazy)} PEP 562 lazy import(s): "
              f"{', '.join(f'{m} -> {t}' for m, t in sorted(lazy))})")
    print(f"function-level (deferred) imports: {len(deferred)}")
    if show_list:
        for file, line in deferred:
            print(f"  {file}:{line}")
    if package != "comun_cms":
        core = {k: v for k, v in external.items() if k.startswith("comun_cms")}
        print(f"core modules imported: {len(core)}")
        for mod, where in sorted(core.items(), key=lambda kv: -len(kv[1])):
            print(f"  {mod}: {len(where)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--list", action="store_true", help="list every deferred import (file:line)")
    parser.add_argument("--plugins", action="store_true", help="also report plugins/")
    args = parser.parse_args(argv)
    report("comun_cms", args.list)
    if args.plugins:
        report("plugins", args.list)
    return 0


if __name__ == "__main__":
    sys.exit(main())
