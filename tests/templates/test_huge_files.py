"""Files as large as the size limit admits (issue 12): a 16 MB ``[{},{},…]`` took 2.5 min,
5.4 GB and printed 5.6 M error lines. Now: peak memory under 1 GB for every shape of
file the limit admits (the densest ones for Python's objects are measured here, as real
processes), the problems of one file capped with a count of the rest, and a file of more
items than one import holds refused as a whole."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from pumpflix_cli.exit_codes import ExitCode
from pumpflix_cli.services.templates.sources import SHOWN_PER_FILE, ImportOptions
from tests.conftest import CliRun
from tests.helpers import PUMPFLIX, import_json, list_json, subprocess_env

ONE_GB = 1 << 30
LIMIT = ImportOptions().max_file_bytes
MAX_ITEMS = ImportOptions().max_file_workflows
# Runs a command and prints the peak resident memory (bytes) of it and its children.
PEAK = (
    "import resource, subprocess, sys;"
    "done = subprocess.run(sys.argv[1:], capture_output=True, text=True);"
    "sys.stderr.write(done.stderr); sys.stdout.write(done.stdout);"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024, file=sys.stderr);"
    "sys.exit(done.returncode)"
)


def array_of(path: Path, item: str, *, count: int | None = None) -> Path:
    """A JSON array of ``item`` repeated up to the size limit (or ``count`` times)."""
    if count is None:
        count = (LIMIT - 2) // (len(item) + 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("[" + ",".join([item] * count) + "]")
    assert path.stat().st_size <= LIMIT
    return path


def run_measured(path: Path, tmp_path: Path) -> tuple[int, dict[str, object], int, str]:
    """``templates import PATH --json --dry-run`` as a real process: exit code, report,
    peak resident bytes, stderr."""
    env = subprocess_env({"PUMPFLIX_DATA_DIR": str(tmp_path / "data")})
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            PEAK,
            PUMPFLIX,
            "templates",
            "import",
            str(path),
            "--json",
            "--dry-run",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    *messages, peak = done.stderr.rstrip("\n").split("\n")
    return done.returncode, json.loads(done.stdout), int(peak), "\n".join(messages)


# The file, and the shapes that cost Python most memory per byte of JSON.
SHAPES: dict[str, Callable[[Path], Path]] = {
    "empty objects": lambda p: array_of(p, "{}"),
    "objects holding an empty object": lambda p: array_of(p, '{"":{}}'),
    "zeros (not workflows at all)": lambda p: array_of(p, "0"),
    "tiny valid workflows": lambda p: array_of(p, '{"nodes":[]}'),
    "as many invalid workflows as a file may hold": lambda p: array_of(
        p, json.dumps({"nodes": [{}], "pad": "x" * (LIMIT // MAX_ITEMS - 30)}), count=MAX_ITEMS
    ),
}


@pytest.mark.parametrize("shape", SHAPES, ids=list(SHAPES))
def test_a_file_at_the_size_limit_is_refused_within_a_gb_and_a_few_lines(
    tmp_path: Path, shape: str
) -> None:
    path = SHAPES[shape](tmp_path / "huge.json")
    code, report, peak, stderr = run_measured(path, tmp_path)
    assert code == ExitCode.DATA_ERR, stderr
    assert peak < ONE_GB, f"{shape}: peak {peak / 2**20:.0f} MB"
    assert len(report["errors"]) <= SHOWN_PER_FILE + 1  # type: ignore[arg-type]
    assert "Traceback" not in stderr
    assert len(stderr.splitlines()) <= SHOWN_PER_FILE + 2


def test_a_file_of_more_items_than_an_import_holds_is_refused_as_a_whole(
    cli: CliRun, tmp_path: Path
) -> None:
    path = array_of(tmp_path / "many.json", '{"nodes":[]}', count=MAX_ITEMS + 1)
    code, report = import_json(cli, str(path))
    assert code == ExitCode.DATA_ERR
    (error,) = report["errors"]
    assert error["path"] == str(path)
    assert f"{MAX_ITEMS + 1:,} items" in error["error"]
    assert report["failed"] == 1


@pytest.mark.usefixtures("backend")
def test_the_problems_of_one_file_are_capped_with_a_count_of_the_rest(
    cli: CliRun, tmp_path: Path
) -> None:
    bad = array_of(tmp_path / "in" / "bad.json", "{}", count=1000)
    (tmp_path / "in" / "good.json").write_text(
        json.dumps({"name": "Good", "nodes": [], "connections": {}})
    )
    code, report = import_json(cli, str(tmp_path / "in"))
    assert code == ExitCode.PARTIAL
    assert report["failed"] == 1000
    errors = report["errors"]
    assert [e["path"] for e in errors[:SHOWN_PER_FILE]] == [
        f"{bad}[{i}]" for i in range(SHOWN_PER_FILE)
    ]
    assert errors[SHOWN_PER_FILE] == {
        "path": str(bad),
        "error": f"… and {1000 - SHOWN_PER_FILE} more problems",
        "more": 1000 - SHOWN_PER_FILE,
    }
    assert len(errors) == SHOWN_PER_FILE + 1
    text = cli("templates", "import", str(bad))
    lines = [line for line in text.stderr.splitlines() if line.startswith("failed: ")]
    assert len(lines) == SHOWN_PER_FILE + 1
    assert lines[-1] == f"failed: {bad}: … and {1000 - SHOWN_PER_FILE} more problems"
    assert [t["name"] for t in list_json(cli)] == ["Good"]
