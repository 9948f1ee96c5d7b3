"""Writing output: a reader that stops early ends quietly (exit 0); a write that fails is
one line naming what could not be written (stdout, a file, a folder), exit 74.

The stdout cases run the real console script: the final flush and a closed descriptor 1
only exist in a real process."""

from __future__ import annotations

import errno
import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pumpflix_cli.errors import OutputError
from pumpflix_cli.exit_codes import ExitCode
from pumpflix_cli.output import Output
from pumpflix_cli.streams import ReaderStopped
from tests.conftest import CliRun
from tests.factories import workflow, write
from tests.helpers import PUMPFLIX, import_json, subprocess_env

MANY = 400


def _seed_many(cli: CliRun, folder: Path, count: int = MANY) -> None:
    for index in range(count):
        write(folder, f"{index}.json", workflow(f"Template {index:04}", text="x" * 200))
    code, report = import_json(cli, str(folder), "--type", "user")
    assert code == 0, report


def _env(tmp_path: Path) -> dict[str, str]:
    return subprocess_env({"PUMPFLIX_DATA_DIR": str(tmp_path / "data")})


def _one_error_line(stderr: str, names: str) -> None:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: could not write "), stderr
    assert names in lines[0], stderr
    assert "Traceback" not in stderr and "unexpected" not in stderr


def test_a_reader_that_stops_early_ends_quietly(cli: CliRun, tmp_path: Path) -> None:
    _seed_many(cli, tmp_path / "in")
    result = subprocess.run(
        ["bash", "-c", f"{PUMPFLIX} templates list --json | head -c1; exit ${{PIPESTATUS[0]}}"],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout == "["
    assert result.stderr == ""
    assert result.returncode == 0


def test_an_export_to_a_reader_that_stops_early_ends_quietly(cli: CliRun, tmp_path: Path) -> None:
    _seed_many(cli, tmp_path / "in")
    result = subprocess.run(
        [
            "bash",
            "-c",
            f"{PUMPFLIX} -q templates export --out - | head -c1; exit ${{PIPESTATUS[0]}}",
        ],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (result.returncode, result.stderr) == (0, "")


# Every command that prints a JSON document, on a database with templates in it.
JSON_COMMANDS = [
    ("templates", "list", "--json"),
    ("templates", "show", "Template 0001", "--json"),
    ("templates", "export", "--out", "-"),
    ("config", "show", "--json"),
    ("db", "status", "--json"),
    ("templates", "list"),  # the table for people: written at the final flush
    ("templates", "show", "Template 0001"),
]


@pytest.fixture(scope="module")
def seeded_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("seeded")
    env = subprocess_env({"PUMPFLIX_DATA_DIR": str(root / "data")})
    folder = root / "in"
    for index in range(50):
        write(folder, f"{index}.json", workflow(f"Template {index:04}", text="x" * 200))
    result = subprocess.run(
        [PUMPFLIX, "templates", "import", str(folder), "--type", "user"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return env


@pytest.mark.parametrize("args", JSON_COMMANDS, ids=" ".join)
@pytest.mark.parametrize("redirect", [">/dev/full", ">&-"], ids=["full", "closed"])
def test_stdout_that_cannot_be_written_is_one_line_exit_74(
    seeded_env: dict[str, str], args: tuple[str, ...], redirect: str
) -> None:
    quoted = " ".join(f"'{arg}'" for arg in args)
    result = subprocess.run(
        ["bash", "-c", f"{PUMPFLIX} {quoted} {redirect}"],
        env=seeded_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    _one_error_line(result.stderr, "stdout")
    assert result.returncode == ExitCode.IO_ERR


def test_closed_stdout_never_lands_in_a_file_the_command_opens(
    seeded_env: dict[str, str],
) -> None:
    """With descriptor 1 closed, the database opened next must not receive the output."""
    before = subprocess.run(
        [PUMPFLIX, "templates", "list", "--json"], env=seeded_env, capture_output=True, timeout=60
    )
    subprocess.run(
        ["bash", "-c", f"{PUMPFLIX} templates list --json >&-"], env=seeded_env, timeout=60
    )
    after = subprocess.run(
        [PUMPFLIX, "templates", "list", "--json"], env=seeded_env, capture_output=True, timeout=60
    )
    assert after.returncode == 0 and after.stdout == before.stdout


def test_export_onto_a_file_names_it(cli: CliRun, tmp_path: Path) -> None:
    _seed_many(cli, tmp_path / "in", 2)
    target = tmp_path / "out"
    target.write_text("not a folder")
    result = cli("templates", "export", "--out", str(target))
    assert result.exit_code == 74
    _one_error_line(result.stderr, str(target))


def test_export_where_a_folder_is_in_the_way_of_a_file_names_it(
    cli: CliRun, tmp_path: Path
) -> None:
    _seed_many(cli, tmp_path / "in", 2)
    out = tmp_path / "out"
    first = cli("templates", "export", "--out", str(out))
    assert first.exit_code == 0, first.stderr
    victim = sorted(out.iterdir())[0]
    victim.unlink()
    victim.mkdir()
    result = cli("templates", "export", "--out", str(out))
    assert result.exit_code == 74
    _one_error_line(result.stderr, str(victim))


def test_export_into_a_read_only_folder_names_it(cli: CliRun, tmp_path: Path) -> None:
    """Read-only for real, root included: a read-only mount (``tests/read_only.py``)."""
    from tests.read_only import run_read_only

    _seed_many(cli, tmp_path / "in", 2)
    parent = tmp_path / "ro"
    parent.mkdir()
    settings = {"PUMPFLIX_DATA_DIR": str(tmp_path / "data")}
    result = run_read_only(
        [parent], ["templates", "export", "--out", str(parent / "out")], settings
    )
    assert result.returncode == 74
    _one_error_line(result.stderr, str(parent / "out"))


def test_a_data_dir_that_is_a_file_is_named(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.write_text("")
    result = subprocess.run(
        [PUMPFLIX, "templates", "list", "--json"],
        env=subprocess_env({"PUMPFLIX_DATA_DIR": str(data)}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 74
    _one_error_line(result.stderr, str(data))


def test_a_data_dir_under_a_file_is_named(cli: CliRun, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = cli("templates", "list", "--json", env={"PUMPFLIX_DATA_DIR": str(blocker / "d")})
    assert result.exit_code == 74
    _one_error_line(result.stderr, str(blocker / "d"))


def test_stdout_that_works_still_gets_everything(seeded_env: dict[str, str]) -> None:
    result = subprocess.run(
        [PUMPFLIX, "templates", "list", "--json"], env=seeded_env, capture_output=True, timeout=60
    )
    assert result.returncode == 0 and len(json.loads(result.stdout)) == 50


class _FailingStream:
    def __init__(self, error: OSError) -> None:
        self.error = error

    def write(self, _text: str) -> int:
        raise self.error

    def flush(self) -> None:
        raise self.error


@given(
    code=st.sampled_from(sorted(errno.errorcode)),
    method=st.sampled_from(["write", "flush", "json", "text"]),
)
def test_every_failed_stdout_write_is_named_or_a_stopped_reader(code: int, method: str) -> None:
    """Whatever the OS says about a write to stdout, the edge sees either a stopped reader
    (EPIPE, ESHUTDOWN: end quietly) or an OutputError naming stdout with exit 74, never an
    OSError."""
    error = OSError(code, os.strerror(code))  # EPIPE and ESHUTDOWN make a BrokenPipeError
    output = Output(stdout=_FailingStream(error))  # type: ignore[arg-type]
    calls: dict[str, Callable[[], object]] = {
        "write": lambda: output.stdout.write("x"),
        "flush": lambda: output.stdout.flush(),
        "json": lambda: output.json({"a": 1}),
        "text": lambda: output.text("hello"),
    }
    stopped = isinstance(error, BrokenPipeError)
    expected: type[Exception] = ReaderStopped if stopped else OutputError
    with pytest.raises(expected) as raised:
        calls[method]()
    if isinstance(raised.value, OutputError):
        assert raised.value.exit_code == ExitCode.IO_ERR
        assert raised.value.message.startswith("could not write stdout: ")


@pytest.mark.parametrize("args", [("templates", "list", "--json"), ("db", "status", "--json")])
def test_a_data_dir_whose_parent_refuses_folders_is_named(
    cli: CliRun, args: tuple[str, ...]
) -> None:
    """/proc refuses new folders even to root (a read-only parent, as the suite runs)."""
    result = cli(*args, env={"PUMPFLIX_DATA_DIR": "/proc/pumpflix-data"})
    assert result.exit_code == 74
    _one_error_line(result.stderr, "/proc/pumpflix-data")


def test_export_into_a_parent_that_refuses_folders_names_it(cli: CliRun, tmp_path: Path) -> None:
    _seed_many(cli, tmp_path / "in", 2)
    result = cli("templates", "export", "--out", "/proc/pumpflix-out")
    assert result.exit_code == 74
    _one_error_line(result.stderr, "/proc/pumpflix-out")


# Typer writes help and --version itself, before any command runs.
EARLY = [("--version",), ("--help",), ("templates", "--help"), ("templates", "list", "--help")]


@pytest.mark.parametrize("args", EARLY, ids=" ".join)
def test_help_and_version_follow_the_same_rules(tmp_path: Path, args: tuple[str, ...]) -> None:
    quoted = " ".join(args)
    env = _env(tmp_path)
    stopped = subprocess.run(
        ["bash", "-c", f"{PUMPFLIX} {quoted} | head -c1 >/dev/null; exit ${{PIPESTATUS[0]}}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (stopped.returncode, stopped.stderr) == (0, "")
    for redirect in (">/dev/full", ">&-"):
        failed = subprocess.run(
            ["bash", "-c", f"{PUMPFLIX} {quoted} {redirect}"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert failed.returncode == 74, (redirect, failed.stderr)
        _one_error_line(failed.stderr, "stdout")


def test_every_exit_code_is_in_the_readmes_table() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Exit codes", 1)[1].split("\n\n", 2)[1]
    listed = {
        int(line.split("|")[1]) for line in table.splitlines() if line[:3].strip("| ").isdigit()
    }
    assert listed == {int(code) for code in ExitCode}
