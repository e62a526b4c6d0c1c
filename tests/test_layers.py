"""The import graph of `jobframe/` matches its layers, read from the source (AST, no imports).

The rules: no module-level import cycle (a cycle works only by load order, as `arguments` and
`job/` once did through the job registry); the core never imports a backend distribution; the
argument layer sits below the job; the contract in `jobframe.backend` loads nothing above it; the
dashboard reads backends only through `jobframe.backend`; and the core finds no backend feature
with ``getattr``/``hasattr``: the contract declares it, and mypy checks it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from jobframe.backend import Capabilities, Inspector, QueueAdapter, WorkerBackend

PACKAGE = Path(__file__).resolve().parents[1] / "jobframe"
BACKEND_DISTRIBUTIONS = ("jobframe_redis", "jobframe_sql", "jobframe_rabbitmq")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


@dataclass(frozen=True)
class Import:
    module: str  # the module imported (a submodule when ``from package import submodule``)
    line: int
    top_level: bool  # runs when the importing module is imported (not inside a function)
    type_only: bool  # under ``if TYPE_CHECKING:``: never runs


def _imports(path: Path) -> Iterator[Import]:
    def walk(node: ast.AST, top_level: bool, type_only: bool) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for stmt in child.body:
                    yield from walk_one(stmt, top_level, True)
                for stmt in child.orelse:
                    yield from walk_one(stmt, top_level, type_only)
            else:
                yield from walk_one(child, top_level, type_only)

    def walk_one(node: ast.AST, top_level: bool, type_only: bool) -> Iterator[Import]:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(alias.name, node.lineno, top_level, type_only)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                name = full if full in MODULES else node.module
                yield Import(name, node.lineno, top_level, type_only)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            yield from walk(node, False, type_only)
        else:
            yield from walk(node, top_level, type_only)

    yield from walk(ast.parse(path.read_text(), str(path)), True, False)


IMPORTS = {name: list(_imports(path)) for name, path in MODULES.items()}


def _runtime(name: str) -> list[Import]:
    return [i for i in IMPORTS[name] if not i.type_only]


def _within(module: str, *prefixes: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _where(name: str, found: Import) -> str:
    return f"{MODULES[name].relative_to(PACKAGE.parent)}:{found.line} imports {found.module}"


def _load_graph() -> dict[str, set[str]]:
    """Module -> modules its import runs. Importing ``a.b.c`` runs ``a/__init__`` and ``a.b``'s
    too (except the importer's own packages, which Python has already started)."""
    graph: dict[str, set[str]] = {}
    for name in MODULES:
        edges: set[str] = set()
        for found in _runtime(name):
            if not found.top_level:
                continue
            parts = found.module.split(".")
            for end in range(1, len(parts) + 1):
                target = ".".join(parts[:end])
                if target in MODULES and target != name and not name.startswith(target + "."):
                    edges.add(target)
        graph[name] = edges
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as a path that ends where it starts, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)) is not None:
            return found
    return None


def test_the_scan_sees_the_package() -> None:
    assert {"jobframe.arguments", "jobframe.registry", "jobframe.backend.adapter"} <= set(MODULES)
    assert any(i.module == "jobframe.registry" for i in IMPORTS["jobframe.arguments"])


def test_the_cycle_finder_finds_a_cycle_through_a_package() -> None:
    graph = {"p": {"p.core"}, "p.core": {"args"}, "args": {"p.registry", "p"}, "p.registry": set()}
    cycle = _cycle(graph)
    assert cycle is not None and cycle[0] == cycle[-1]
    assert set(cycle) == {"p", "p.core", "args"}
    assert _cycle({**graph, "args": {"p.registry"}}) is None


def test_no_module_level_import_cycle() -> None:
    cycle = _cycle(_load_graph())
    assert cycle is None, (
        "import cycle: " + " -> ".join(cycle or []) + ". Move the shared piece below both, or "
        "import it where it is used."
    )


def test_the_core_never_imports_a_backend_distribution() -> None:
    found = [
        _where(name, i)
        for name in MODULES
        for i in IMPORTS[name]
        if _within(i.module, *BACKEND_DISTRIBUTIONS)
    ]
    assert not found, f"the core must reach backends only through jobframe.backend: {found}"


def test_arguments_and_what_they_use_sit_below_the_job() -> None:
    below = (
        "jobframe.arguments",
        "jobframe.registry",
        "jobframe.serializers",
        "jobframe.global_id",
    )
    found = [
        _where(name, i)
        for name in MODULES
        if _within(name, *below)
        for i in _runtime(name)
        if _within(i.module, "jobframe.job")
    ]
    assert not found, f"arguments/serializers/registry must not import the job layer: {found}"


def test_the_contract_loads_nothing_above_it() -> None:
    allowed = ("jobframe.backend", "jobframe.errors", "jobframe.config")
    found = [
        _where(name, i)
        for name in MODULES
        if _within(name, "jobframe.backend")
        for i in _runtime(name)
        if i.top_level and _within(i.module, "jobframe") and not _within(i.module, *allowed)
    ]
    assert not found, f"importing jobframe.backend must load only the contract: {found}"


def test_the_dashboard_reads_backends_only_through_the_contract() -> None:
    found = [
        _where(name, i)
        for name in MODULES
        if _within(name, "jobframe.dashboard")
        for i in IMPORTS[name]
        if _within(
            i.module, "jobframe.queue_adapters", "jobframe.inspection", *BACKEND_DISTRIBUTIONS
        )
    ]
    assert not found, f"the dashboard must read through jobframe.backend.Inspector: {found}"


def _contract_members() -> set[str]:
    names = {"supports_delay", "supports_priority", "supports_bulk", "performs_in_caller"}
    for cls in (QueueAdapter, WorkerBackend, Inspector, Capabilities):
        names |= {n for n in vars(cls) if not n.startswith("_")}
    return names - {"name", "options"}


def test_the_core_probes_no_backend_feature_with_getattr() -> None:
    members = _contract_members()
    assert {"history", "worker_backend", "inspector", "capabilities", "pause"} <= members
    found = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("getattr", "hasattr")
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
                and node.args[1].value in members
            ):
                found.append(f"{MODULES[name].relative_to(PACKAGE.parent)}:{node.lineno}")
    assert not found, f"declared in jobframe.backend, so call it, don't probe for it: {found}"
