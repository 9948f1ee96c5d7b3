"""The layering the code is read by (CONTRIBUTING.md): each adapter the only importer of
its library, services free of the command line, the workflow package pure."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "pumpflix_cli"

# library → the one package allowed to import it
ADAPTERS = {
    "sqlalchemy": "db",
    "psycopg": "db",
    "alembic": "db",
    "redis": "cache",
    "cryptography": "cache",
    "httpx": "n8n",
}
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]*")


def modules(*folders: str) -> list[Path]:
    return sorted(path for folder in folders for path in (PACKAGE / folder).rglob("*.py"))


def imported(path: Path) -> Iterator[str]:
    """Every module ``path`` imports, at any depth, type-checking blocks included."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def strings(path: Path) -> Iterator[tuple[int, str]]:
    """String literals other than docstrings, with their line."""
    tree = ast.parse(path.read_text(), str(path))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant) or id(node) in docstrings:
            continue
        if isinstance(node.value, str):
            yield node.lineno, node.value


def relative(path: Path) -> str:
    return str(path.relative_to(PACKAGE))


@pytest.mark.parametrize("path", modules("services", "db"), ids=relative)
def test_services_and_the_database_never_name_a_command_line_flag(path: Path) -> None:
    flags = [(line, text) for line, text in strings(path) if FLAG.search(text)]
    assert not flags, f"{relative(path)} words the command line: {flags}"


@pytest.mark.parametrize(
    "path", modules("services", "workflow", "db", "cache", "n8n"), ids=relative
)
def test_below_the_cli_nothing_imports_the_cli_or_the_app_context(path: Path) -> None:
    bad = [
        name
        for name in imported(path)
        if name.startswith("pumpflix_cli.cli") or name == "pumpflix_cli.context"
    ]
    assert not bad, f"{relative(path)} imports {bad}"


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=relative)
def test_each_library_is_imported_by_its_adapter_only(path: Path) -> None:
    owner = relative(path).split("/")[0]
    bad = [name for name in imported(path) if ADAPTERS.get(name.split(".")[0], owner) != owner]
    assert not bad, f"{relative(path)} imports {bad}, which belong to their adapters"


@pytest.mark.parametrize("path", modules("workflow"), ids=relative)
def test_the_workflow_package_is_pure(path: Path) -> None:
    import sys

    allowed = {
        "pumpflix_cli.workflow",
        "pumpflix_cli.json_text",
        "pumpflix_cli.records",
        "pumpflix_cli.references",
        "pumpflix_cli.errors",
        "pumpflix_cli.exit_codes",
    }
    bad = [
        name
        for name in imported(path)
        if name.split(".")[0] not in sys.stdlib_module_names
        and not any(name == a or name.startswith(a + ".") for a in allowed)
    ]
    assert not bad, f"{relative(path)} imports {bad}"
