"""Four imports of the same folder at once: each template lands once, none fails."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Backend, CliRun
from tests.factories import workflow, write
from tests.helpers import PUMPFLIX, list_json, subprocess_env


def _import_concurrently(folder: Path, backend: Backend, processes: int = 4) -> list[Any]:
    """Start ``processes`` imports of ``folder`` at once; each must exit 0."""
    running = [
        subprocess.Popen(
            [PUMPFLIX, "templates", "import", str(folder), "--json", "-q"],
            env=subprocess_env(backend.env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    reports = []
    for process in running:
        stdout, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
        reports.append(json.loads(stdout))
    return reports


@pytest.mark.parametrize("round_", range(3))
def test_four_concurrent_imports_leave_each_template_once(
    cli: CliRun, tmp_path: Path, backend: Backend, round_: int
) -> None:
    folder = tmp_path / "in"
    for index in range(120):
        write(folder, f"{index:03}.json", workflow(f"Template {index:03}", text=str(index)))
    reports = _import_concurrently(folder, backend)
    assert sum(r["created"] for r in reports) == 120
    assert all(r["failed"] == 0 for r in reports)
    templates = list_json(cli)
    assert len(templates) == len({t["name"] for t in templates}) == 120
    assert {t["version"] for t in templates} == {1}


def test_concurrent_imports_of_a_changed_folder_make_one_new_version(
    cli: CliRun, tmp_path: Path, backend: Backend
) -> None:
    folder = tmp_path / "in"
    for index in range(50):
        write(folder, f"{index:03}.json", workflow(f"Template {index:03}"))
    subprocess.run(
        [PUMPFLIX, "templates", "import", str(folder), "-q"],
        env=subprocess_env(backend.env),
        check=True,
    )
    for index in range(50):
        write(folder, f"{index:03}.json", workflow(f"Template {index:03}", text="v2"))
    reports = _import_concurrently(folder, backend)
    assert sum(r["updated"] for r in reports) == 50
    assert {t["version"] for t in list_json(cli)} == {2}
