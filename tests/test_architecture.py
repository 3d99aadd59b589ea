"""Import rules of the product code, read from the source (every import, at module level or
inside a function):
- the kernel and the contracts know nothing of services, the gateway or the command line;
- the gateway speaks to services through contracts: it imports no service package;
- no service imports another service's package;
- no package-level circle: module A's imports never lead back to A.
"""
import ast
from pathlib import Path

import pytest

from kernel.config import REPOSITORY_ROOT

PRODUCT = ("kernel", "contracts", "services", "gateway", "cli", "demo")


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPOSITORY_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, module: str) -> set[str]:
    found = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def _graph() -> dict[str, set[str]]:
    modules = {}
    for top in PRODUCT:
        for path in (REPOSITORY_ROOT / top).rglob("*.py"):
            if "migrations" not in path.parts:
                modules[_module_name(path)] = path
    graph = {}
    for module, path in modules.items():
        graph[module] = {target for target in _imports(path, module) if target in modules}
    return graph


GRAPH = _graph()


def arrows(source_prefixes, target_prefixes):
    def under(name, prefixes):
        return any(name == p or name.startswith(p + ".") for p in prefixes)
    return sorted(f"{a} -> {b}" for a, targets in GRAPH.items() if under(a, source_prefixes)
                  for b in targets if under(b, target_prefixes))


def test_the_graph_sees_the_code():
    assert "services.registry.service" in GRAPH and "kernel.providers" in GRAPH["services.registry.service"]
    assert len(GRAPH) > 150


def test_kernel_and_contracts_know_no_service_gateway_or_cli():
    assert arrows(["kernel", "contracts"], ["services", "gateway", "cli", "demo"]) == []


def test_the_gateway_imports_no_service():
    assert arrows(["gateway"], ["services", "cli"]) == []


@pytest.mark.parametrize("service", sorted({m.split(".")[1] for m in GRAPH if m.startswith("services.")
                                            and m.count(".") >= 1}))
def test_no_service_imports_another(service):
    others = sorted({f"services.{m.split('.')[1]}" for m in GRAPH if m.startswith("services.")
                     and m.count(".") >= 1 and m.split(".")[1] != service})
    assert arrows([f"services.{service}"], others) == []


def test_no_circle_between_modules():
    """Tarjan's strongly connected components over module-level and function-level imports;
    a package's ``__init__`` importing its own modules is not a circle."""
    def edges(module):
        return {t for t in GRAPH[module] if not module.startswith(t + ".") and not t.startswith(module + ".")}
    index, low, stack, on_stack, circles, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges(v):
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
                circles.append(sorted(component))

    for module in sorted(GRAPH):
        if module not in index:
            visit(module)
    assert circles == []
