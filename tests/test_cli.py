"""The command-line contract: groups, global flags, JSON on stdout, the error edge."""

from __future__ import annotations

import json

from pumpflix_cli import __version__
from pumpflix_cli.exit_codes import ExitCode
from tests.conftest import CliRun


def test_help_lists_every_group_and_command(cli: CliRun) -> None:
    result = cli("--help")
    assert result.exit_code == 0
    for name in ("templates", "instances", "cache", "n8n", "db", "doctor", "config"):
        assert name in result.stdout


def test_version_prints_the_package_version(cli: CliRun) -> None:
    result = cli("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"pumpflix {__version__}"


def test_quiet_is_accepted_after_the_command(cli: CliRun) -> None:
    result = cli("db", "upgrade", "--quiet")
    assert result.exit_code == 0
    assert result.stderr == ""


def test_quiet_and_verbose_are_accepted_before_the_group(cli: CliRun) -> None:
    assert cli("--quiet", "db", "upgrade").exit_code == 0
    result = cli("-v", "db", "status")
    assert result.exit_code == 0


def test_without_quiet_a_command_reports_on_stderr_only(cli: CliRun) -> None:
    result = cli("db", "upgrade")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "schema at" in result.stderr


def test_json_output_is_one_document_on_stdout(cli: CliRun) -> None:
    result = cli("db", "upgrade", "--json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["upToDate"] is True


def test_exit_codes_are_the_documented_numbers() -> None:
    assert {code.name: int(code) for code in ExitCode} == {
        "OK": 0,
        "FAILURE": 1,
        "USAGE": 2,
        "NOT_FOUND": 3,
        "CONFLICT": 4,
        "PARTIAL": 5,
        "CACHE_STALE": 6,
        "DATA_ERR": 65,
        "UNAVAILABLE": 69,
        "IO_ERR": 74,
        "TEMP_FAIL": 75,
        "NO_PERM": 77,
        "INTERRUPTED": 130,
        "TERMINATED": 143,
    }


def test_an_unknown_flag_is_a_usage_error(cli: CliRun) -> None:
    assert cli("db", "upgrade", "--no-such-flag").exit_code == 2


def test_an_expected_error_is_one_line_and_a_hint_without_traceback(cli: CliRun) -> None:
    result = cli("db", "status", env={"DATABASE_URL": "postgresql://u:hunter22@127.0.0.1:1/db"})
    assert result.exit_code == ExitCode.UNAVAILABLE
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error: PostgreSQL: ")
    assert lines[1].startswith("hint: ")
    assert "Traceback" not in result.stderr
    assert "hunter22" not in result.stderr + result.stdout


def test_verbose_shows_the_traceback_with_passwords_masked(cli: CliRun) -> None:
    result = cli(
        "db", "status", "--verbose", env={"DATABASE_URL": "postgresql://u:hunter22@127.0.0.1:1/db"}
    )
    assert result.exit_code == ExitCode.UNAVAILABLE
    assert "Traceback" in result.stderr
    assert "hunter22" not in result.stderr


def test_pumpflix_debug_shows_the_traceback(cli: CliRun) -> None:
    result = cli(
        "db", "status", env={"DATABASE_URL": "postgresql://u@127.0.0.1:1/db", "PUMPFLIX_DEBUG": "1"}
    )
    assert "Traceback" in result.stderr


def test_no_color_keeps_escape_codes_out_of_tables(cli: CliRun) -> None:
    result = cli("config", "show", env={"NO_COLOR": "1"})
    assert result.exit_code == 0
    assert "\x1b[" not in result.stdout
