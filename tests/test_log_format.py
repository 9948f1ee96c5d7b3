"""``--log-format json`` / ``PUMPFLIX_LOG_FORMAT=json``: every diagnostic on stderr is one
JSON object a line (time, level, command, event, message, the event's fields), the last
says how the command ended, and nothing secret or raw reaches it. stdout is untouched."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from pumpflix_cli.exit_codes import ExitCode
from tests.conftest import CliRun
from tests.factories import workflow, write

pytestmark = pytest.mark.usefixtures("backend")

KEYS = {"time", "level", "command", "event", "message"}
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def events(stderr: str) -> list[dict[str, Any]]:
    """Each stderr line as a log event, checked for the keys every event has."""
    lines = stderr.splitlines()
    assert lines, "no log events"
    parsed = [json.loads(line) for line in lines]
    for event in parsed:
        assert event.keys() >= KEYS, event
        assert TIME.match(event["time"]), event["time"]
        assert event["level"] in {"debug", "info", "warning", "error"}
    return parsed


def test_a_command_logs_its_warnings_and_ends_with_its_exit_code(
    cli: CliRun, tmp_path: Path
) -> None:
    token = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    document = workflow("Logged")
    document["nodes"][1]["parameters"]["token"] = token
    write(tmp_path / "in", "a.json", document)
    (tmp_path / "in" / "bad.json").write_text("{not json")

    result = cli("--log-format", "json", "templates", "import", str(tmp_path / "in"))

    assert result.exit_code == ExitCode.PARTIAL
    logged = events(result.stderr)
    assert {e["command"] for e in logged} == {"templates import"}
    kinds = [(e["level"], e["event"]) for e in logged]
    assert ("warning", "warning") in kinds
    assert ("error", "failed") in kinds
    assert logged[-1]["event"] == "exit"
    assert logged[-1]["exitCode"] == ExitCode.PARTIAL
    assert isinstance(logged[-1]["durationMs"], int)
    assert token not in result.stderr


def test_stdout_keeps_the_data(cli: CliRun, tmp_path: Path) -> None:
    write(tmp_path / "in", "a.json", workflow("Data"))
    result = cli("--log-format", "json", "templates", "import", str(tmp_path / "in"), "--json")

    assert json.loads(result.stdout)["created"] == 1
    assert events(result.stderr)[-1]["exitCode"] == 0


def test_an_error_is_one_event_with_its_hint_from_the_environment(cli: CliRun) -> None:
    result = cli("templates", "show", "No such thing", env={"PUMPFLIX_LOG_FORMAT": "json"})

    assert result.exit_code == ExitCode.NOT_FOUND
    error, end = events(result.stderr)
    assert (error["level"], error["event"], error["command"]) == (
        "error",
        "error",
        "templates show",
    )
    assert "No such thing" in error["message"]
    assert error["hint"]
    assert (end["event"], end["exitCode"]) == ("exit", ExitCode.NOT_FOUND)


def test_the_format_can_come_from_a_dot_env_file(cli: CliRun, tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("PUMPFLIX_LOG_FORMAT=json\n")

    result = cli("--env-file", str(env_file), "templates", "list")

    assert result.exit_code == 0
    assert events(result.stderr)[-1]["exitCode"] == 0


def test_a_usage_error_is_a_json_event_too(cli: CliRun) -> None:
    result = cli("--log-format", "json", "templates", "list", "--bogus")

    assert result.exit_code == ExitCode.USAGE
    error, end = events(result.stderr)
    assert "--bogus" in error["message"]
    assert error["command"] == "templates list"
    assert end["exitCode"] == ExitCode.USAGE


def test_control_characters_are_escaped_inside_the_json(cli: CliRun) -> None:
    name = "evil\x1b[2J\u202ename"
    result = cli("--log-format", "json", "templates", "show", name)

    assert result.exit_code == ExitCode.NOT_FOUND
    assert "\x1b" not in result.stderr and "\u202e" not in result.stderr
    assert name in events(result.stderr)[0]["message"]  # the exact text, parsed back


def test_secrets_are_masked_in_the_log(cli: CliRun) -> None:
    url = "postgresql://root:Xy7+Ab/cD9e@127.0.0.1:1/nowhere?connect_timeout=1"
    result = cli("--log-format", "json", "db", "status", env={"DATABASE_URL": url})

    assert result.exit_code == ExitCode.UNAVAILABLE
    assert "Xy7+Ab" not in result.stderr and "cD9e" not in result.stderr
    assert events(result.stderr)[-1]["exitCode"] == ExitCode.UNAVAILABLE


def test_text_is_the_default_and_a_bad_format_is_refused(cli: CliRun) -> None:
    plain = cli("templates", "show", "No such thing")
    assert plain.stderr.startswith("error: ")

    bad = cli("templates", "list", env={"PUMPFLIX_LOG_FORMAT": "xml"})
    assert bad.exit_code == ExitCode.USAGE
    assert "PUMPFLIX_LOG_FORMAT" in bad.stderr
