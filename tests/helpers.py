"""Steps many template tests share."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.conftest import CliRun
from tests.factories import workflow, write

# The installed console script, for tests that run pumpflix as a real process.
PUMPFLIX = str(Path(sys.executable).with_name("pumpflix"))


def subprocess_env(settings: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without any pumpflix setting, plus ``settings``."""
    base = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PUMPFLIX_") and key not in {"DATABASE_URL", "REDIS_URL"}
    }
    return base | dict(settings)


def import_json(cli: CliRun, *args: str, input: str | None = None) -> tuple[int, dict[str, Any]]:
    result = cli("templates", "import", *args, "--json", input=input)
    assert result.stdout, result.stderr
    return result.exit_code, json.loads(result.stdout)


def list_json(cli: CliRun, *args: str) -> list[dict[str, Any]]:
    result = cli("templates", "list", "--json", *args)
    assert result.exit_code == 0, result.stderr
    return list(json.loads(result.stdout))


def show_json(cli: CliRun, ref: str, *args: str) -> dict[str, Any]:
    result = cli("templates", "show", ref, "--json", *args)
    assert result.exit_code == 0, result.stderr
    return dict(json.loads(result.stdout))


def seed(cli: CliRun, folder: Path, *names: str, source_type: str = "user") -> None:
    for index, name in enumerate(names):
        write(folder, f"{index}.json", workflow(name, text=name))
    code, report = import_json(cli, str(folder), "--type", source_type)
    assert code == 0, report
