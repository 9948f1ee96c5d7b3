"""Messages read as sentences: ``1 template``, never ``1 templates`` or ``template(s)``;
a setting's error says what is wrong without pydantic's ``Value error,`` prefix."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pumpflix_cli.exit_codes import ExitCode
from pumpflix_cli.text import plural
from tests.conftest import CliRun
from tests.factories import workflow, write
from tests.helpers import import_json

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "pumpflix_cli"
# "template(s)"; "timeout (s)" is a unit, "http(s)" a scheme
HEDGED = re.compile(r"(?<=[a-z])(?<!http)\(s\)")


@settings(deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(["template", "key", "change", "instance"]))
def test_plural_agrees_with_the_count(count: int, noun: str) -> None:
    assert plural(count, noun) == f"{count} {noun}" + ("" if count == 1 else "s")


def test_plural_takes_an_irregular_form() -> None:
    assert plural(2, "entry", "entries") == "2 entries"
    assert plural(1, "entry", "entries") == "1 entry"


def test_no_message_hedges_its_number_with_s_in_brackets() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        constants = (
            n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Constant)
        )
        for node in constants:
            if isinstance(node.value, str) and HEDGED.search(node.value):
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert not found, f"use output.plural: {found}"


def test_one_of_a_kind_is_singular(cli: CliRun, tmp_path: Path) -> None:
    write(tmp_path / "in", "a.json", workflow("Only one"))
    code, _ = import_json(cli, str(tmp_path / "in"))
    assert code == 0
    export = cli("templates", "export", "--out", str(tmp_path / "out"))
    assert f"exported 1 template to {tmp_path / 'out'}" in export.stdout.splitlines()
    delete = cli("templates", "delete", "Only one", "--yes")
    assert delete.stdout.splitlines() == ["deleted 1 template"]


def test_warm_and_flush_count_in_words(
    cli: CliRun, tmp_path: Path, redis_env: dict[str, str]
) -> None:
    write(tmp_path / "in", "a.json", workflow("Only one"))
    assert import_json(cli, str(tmp_path / "in"))[0] == 0
    warm = cli("cache", "warm")
    assert warm.stdout.startswith("warmed 1 template (")
    assert "1 template, 1 cached" in cli("cache", "verify").stdout
    assert cli("templates", "invalidate", "Only one").stdout == "invalidated 1 template\n"


INVALID = {
    "DATABASE_URL": "mysql://host/db",
    "REDIS_URL": "http://host",
    "N8N_URL": "ftp://host",
    "PUMPFLIX_CACHE_KEY": "not-a-key",
    "PUMPFLIX_CACHE_PREFIX": "a b",
    "PUMPFLIX_CACHE_TTL_USER": "soon",
    "PUMPFLIX_REDIS_CLUSTER": "maybe",
    "PUMPFLIX_DB_TIMEOUT": "-1",
}


@pytest.mark.parametrize(("name", "value"), sorted(INVALID.items()))
def test_a_bad_setting_is_worded_without_pydantic_prefixes(
    cli: CliRun, name: str, value: str
) -> None:
    result = cli("config", "show", env={name: value})
    assert result.exit_code == ExitCode.USAGE
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"error: invalid setting {name}: "), first
    assert "Value error" not in result.stderr and "Assertion failed" not in result.stderr
