"""The layers of README "Design", enforced on the source: pages -> ui -> planner domain -> planner.store.

An arrow only points down. The rules read every module's imports from its syntax tree (nothing is
imported), so a forbidden import fails here even when no other test reaches it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from planner import settings
from planner.store import core

ROOT = Path(__file__).resolve().parents[1]
STORE_MAY_IMPORT = ("planner.store", "planner.errors", "planner.scope")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources() -> dict[str, Path]:
    files = [ROOT / "app.py", *(ROOT / "pages").glob("*.py"), *(ROOT / "ui").glob("*.py")]
    files += list((ROOT / "planner").rglob("*.py"))
    return {_module_name(p): p for p in files}


def _imports(path: Path, module: str) -> list[tuple[str, int, bool]]:
    """(imported module, line, inside a function) for every import of the file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[str, int, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            if isinstance(child, ast.Import):
                found.extend((a.name, child.lineno, in_function) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                found.append((base, child.lineno, in_function))
                # `from planner import store` imports the module planner.store
                found.extend((f"{base}.{a.name}", child.lineno, in_function) for a in child.names if a.name != "*")
            visit(child, nested)

    visit(tree, False)
    return found


SOURCES = _sources()
IMPORTS = {name: _imports(path, name) for name, path in SOURCES.items()}


def _ours(name: str) -> str | None:
    """The first-party module an imported name refers to (the longest known prefix), else None."""
    while name:
        if name in SOURCES:
            return name
        name = name.rpartition(".")[0]
    return None


def _layer(module: str) -> str:
    if module == "app" or module.startswith("pages"):
        return "pages"
    if module.startswith("ui"):
        return "ui"
    if module.startswith("planner.store"):
        return "store"
    return "planner"


def _violations(rule) -> list[str]:  # type: ignore[no-untyped-def]
    bad = []
    for module, imports in IMPORTS.items():
        for name, line, in_function in imports:
            why = rule(module, name, _ours(name), in_function)
            if why:
                bad.append(f"{SOURCES[module].relative_to(ROOT)}:{line} imports {name}: {why}")
    return sorted(set(bad))


def test_the_sources_are_found() -> None:
    assert {"app", "ui.shell", "pages.coverage", "planner.store.core", "planner.cli"} <= set(SOURCES)
    assert ("planner.store.schema", 1, False) not in IMPORTS["planner.store.core"]
    assert any(name == "planner.store.schema" for name, _, _ in IMPORTS["planner.store.core"])


def test_planner_never_imports_streamlit_ui_or_pages() -> None:
    def rule(module: str, name: str, ours: str | None, _: bool) -> str | None:
        if _layer(module) in ("planner", "store") and (
            name.split(".")[0] in ("streamlit", "ui", "pages", "app") or (ours and _layer(ours) in ("ui", "pages"))
        ):
            return "the domain never imports the UI"
        return None

    assert _violations(rule) == []


def test_the_store_is_the_bottom() -> None:
    def rule(module: str, name: str, ours: str | None, _: bool) -> str | None:
        if _layer(module) == "store" and ours and not ours.startswith(STORE_MAY_IMPORT):
            return f"planner.store imports only {', '.join(STORE_MAY_IMPORT)}; pass domain rules in as parameters"
        return None

    assert _violations(rule) == []


def test_ui_never_imports_pages_and_pages_never_touch_the_store() -> None:
    def rule(module: str, name: str, ours: str | None, _: bool) -> str | None:
        if _layer(module) == "ui" and ours and _layer(ours) == "pages":
            return "ui is shared by pages and never imports one"
        if _layer(module) == "pages" and (name.split(".")[0] == "duckdb" or (ours and _layer(ours) == "store")):
            return "pages make planner calls; SQL and connections live in planner.store"
        return None

    assert _violations(rule) == []


def test_no_first_party_import_inside_a_function() -> None:
    """Late imports hide cycles. Only the CLI loads its command modules lazily (one per command run)."""

    def rule(module: str, name: str, ours: str | None, in_function: bool) -> str | None:
        if in_function and ours and module != "planner.cli":
            return "move it to the top of the module (a cycle? pass the rule down instead)"
        return None

    assert _violations(rule) == []


def test_no_import_cycles() -> None:
    """No cycle among first-party modules; a package's __init__ counts as importing what it re-exports."""
    graph: dict[str, set[str]] = {m: set() for m in SOURCES}
    for module, imports in IMPORTS.items():
        for name, _, in_function in imports:
            ours = _ours(name)
            # a module inside a package may name its own (already initialising) package: not a cycle
            if ours and ours != module and not module.startswith(ours + ".") and not in_function:
                graph[module].add(ours)
    # importing planner.a.b runs planner.a first
    for module in SOURCES:
        parent = module.rpartition(".")[0]
        if parent in SOURCES:
            for importer in graph:
                if module in graph[importer] and not importer.startswith(parent + ".") and importer != parent:
                    graph[importer].add(parent)

    seen: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[str] = []

    def walk(node: str) -> None:
        seen[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if seen.get(nxt) == 1:
                cycles.append(" -> ".join([*stack[stack.index(nxt) :], nxt]))
            elif nxt not in seen:
                walk(nxt)
        stack.pop()
        seen[node] = 2

    for node in sorted(graph):
        if node not in seen:
            walk(node)
    assert cycles == []


@pytest.mark.parametrize("limit", [650])
def test_modules_hold_one_purpose(limit: int) -> None:
    """At about 600 lines a module is usually two (DESIGN.md); a little slack for docstrings."""
    long = {str(p.relative_to(ROOT)): n for p in SOURCES.values() if (n := len(p.read_text().splitlines())) > limit}
    assert long == {}


def _function_lengths(path: Path, module: str) -> dict[str, int]:
    """module:name -> lines (end_lineno - lineno + 1, decorators excluded) of every function and method (the
    longest, when a name is defined twice)."""
    out: dict[str, int] = {}
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            key = f"{module}:{node.name}"
            out[key] = max(out.get(key, 0), (node.end_lineno or node.lineno) - node.lineno + 1)
    return out


@pytest.mark.parametrize("limit", [80])
def test_functions_tell_one_short_story(limit: int) -> None:
    """A function over about 80 lines is usually a story of several steps that want names (DESIGN.md)."""
    lengths: dict[str, int] = {}
    for name, path in SOURCES.items():
        lengths.update(_function_lengths(path, name))
    assert len(lengths) > 500  # the sources were read
    assert {name: n for name, n in lengths.items() if n > limit} == {}


def test_role_checks_live_in_the_scope_module() -> None:
    """Issue 17: every role check is planner/scope.py's (require_*, is_rep, is_admin): nothing else compares
    a scope's role with a string."""
    found = []
    for module, path in _sources().items():
        if module == "planner.scope":
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Compare) and any(
                isinstance(side, ast.Attribute) and side.attr == "role" for side in (node.left, *node.comparators)
            ):
                found.append(f"{module}:{node.lineno}")
    assert found == [], f"role compared outside planner/scope.py (use scope.is_admin/is_rep or require_*): {found}"


def test_the_store_and_settings_agree_on_the_lock_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLANNER_LOCK_TIMEOUT_S", raising=False)
    assert core.lock_timeout_s() == settings.get("lock_timeout_s") == core.DEFAULT_LOCK_TIMEOUT_S
    monkeypatch.setenv("PLANNER_LOCK_TIMEOUT_S", "7")
    assert core.lock_timeout_s() == float(settings.get("lock_timeout_s")) == 7.0
