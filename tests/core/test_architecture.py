"""The layout's rules, read from the source with ast so they stay true as the code grows:
imports point one way (bot -> commands -> store), no module imports a private name of another,
no import cycle, and no file or function grows past what a reader can hold."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("bot", "commands", "store")
MAX_FILE_LINES = 800
MAX_FUNCTION_LINES = 80
SLACK = ("slack_bolt", "slack_sdk")


def modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for layer in LAYERS:
        for path in sorted((ROOT / layer).rglob("*.py")):
            if "migrations" in path.parts:
                continue  # Alembic's generated revisions are data, not design
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = modules()


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import that runs (inside functions too), not those for type checkers only."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _type_checking_only(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def targets(module: str, node: ast.Import | ast.ImportFrom) -> Iterator[tuple[str, str | None]]:
    """(module imported, name taken from it or None) for one import statement."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name, None
        return
    base = node.module or ""
    if node.level:
        package = module.split(".")
        if MODULES[module].name != "__init__.py":
            package = package[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join([*package, base] if base else package)
    for alias in node.names:
        submodule = f"{base}.{alias.name}"
        yield (submodule, None) if submodule in MODULES else (base, alias.name)


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, path in MODULES.items():
        for node in imports(ast.parse(path.read_text(encoding="utf-8"))):
            for target, _ in targets(name, node):
                while target and target not in MODULES:
                    target = target.rpartition(".")[0]  # `import a.b.c` loads a.b.c
                if target and target != name:
                    edges[name].add(target)
    return edges


def test_imports_point_one_way() -> None:
    wrong = []
    for name, path in MODULES.items():
        layer = name.split(".")[0]
        for node in imports(ast.parse(path.read_text(encoding="utf-8"))):
            for target, _ in targets(name, node):
                top = target.split(".")[0]
                if layer == "commands" and (top == "bot" or top in SLACK):
                    wrong.append(f"{name} imports {target}")
                if layer == "store" and top in ("bot", "commands", *SLACK):
                    wrong.append(f"{name} imports {target}")
    assert wrong == []


def test_no_module_imports_a_private_name_of_another() -> None:
    wrong = []
    for name, path in MODULES.items():
        for node in imports(ast.parse(path.read_text(encoding="utf-8"))):
            for target, taken in targets(name, node):
                if taken and taken.startswith("_") and not taken.startswith("__"):
                    wrong.append(f"{name} takes {taken} from {target}")
    assert wrong == []


def test_there_is_no_import_cycle() -> None:
    edges = graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for start in sorted(edges):
        if start not in state:
            visit(start, [start])
    assert cycles == []


def test_no_file_or_function_is_too_long_to_read() -> None:
    long_files = []
    long_functions = []
    for name, path in MODULES.items():
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > MAX_FILE_LINES:
            long_files.append(f"{name}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long_functions.append(f"{name}.{node.name}: {length} lines")
    assert long_files == []
    assert long_functions == []


def test_the_rules_can_see_a_cycle_and_a_private_import(tmp_path: Path) -> None:
    """The checks above would pass on nothing: show they see what they forbid."""
    tree = ast.parse("from commands.core.access import _customers_onboarding\nimport store.db\n")
    found = [t for node in imports(tree) for t in targets("commands.verbs", node)]
    assert ("commands.core.access", "_customers_onboarding") in found
    assert ("store.db", None) in found
    assert "commands.core.context" in graph()["commands.core.access"]
