"""A flag's help shows no value to give it: ``--json <bool>`` read as if ``--json true``
were the way to use it, and that is refused."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from typer.main import get_command

from pumpflix_cli.cli.app import app
from tests.conftest import CliRun

TYPE_SHOWN = re.compile(r"<[a-z][^>]*>")


def _commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, command
    for name, sub in sorted((getattr(command, "commands", None) or {}).items()):
        yield from _commands(sub, (*path, name))


COMMANDS = list(_commands(get_command(app)))


def _flags(command: Any) -> list[str]:
    names = []
    for param in command.params:
        if getattr(param, "is_flag", False) and not getattr(param, "hidden", False):
            names += [opt for opt in param.opts if opt.startswith("--")]
    return [*names, "--help"]


@pytest.mark.parametrize(
    ("path", "command"), COMMANDS, ids=[" ".join(path) or "pumpflix" for path, _ in COMMANDS]
)
def test_no_flag_shows_a_type_in_help(cli: CliRun, path: tuple[str, ...], command: Any) -> None:
    result = cli(*path, "--help", env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    flags = _flags(command)
    lines = result.stdout.splitlines()
    for flag in flags:
        shown = [line for line in lines if re.search(rf"{re.escape(flag)}(?![\w-])", line)]
        assert shown, f"{flag} is missing from the help of {path}"
        assert not any(TYPE_SHOWN.search(line) for line in shown), shown
    assert "<bool>" not in result.stdout


def test_options_that_take_a_value_still_show_its_type(cli: CliRun) -> None:
    result = cli("templates", "list", "--help", env={"COLUMNS": "200"})
    assert "<prebuilt|user|all>" in result.stdout
    assert "<int range>" in result.stdout


def test_a_value_given_to_a_flag_is_a_usage_error(cli: CliRun) -> None:
    result = cli("templates", "list", "--json", "true")
    assert result.exit_code == 2
    assert "true" in result.stderr
