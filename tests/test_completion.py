"""Shell completion: the committed scripts match the code, and pumpflix completes group,
command and template names."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pumpflix_cli.cli.completion import SHELLS, completion_script
from tests.conftest import Backend, CliRun
from tests.helpers import seed

ROOT = Path(__file__).parents[1]
PUMPFLIX = str(Path(sys.executable).with_name("pumpflix"))


@pytest.mark.parametrize("shell", sorted(SHELLS))
def test_the_committed_completion_scripts_are_current(shell: str) -> None:
    committed = (ROOT / "completions" / SHELLS[shell]).read_text()
    assert committed == completion_script(shell), "run scripts/gen-completions"


def _complete(words: str, env: dict[str, str]) -> list[str]:
    parts = words.split(" ")
    result = subprocess.run(
        [PUMPFLIX],
        env=env
        | {
            "_PUMPFLIX_COMPLETE": "complete_bash",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(parts) - 1),
        },
        capture_output=True,
        text=True,
        check=False,
    )
    return [line for line in result.stdout.splitlines() if line]


def _env(backend: Backend) -> dict[str, str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PUMPFLIX_") and k not in {"DATABASE_URL", "REDIS_URL"}
    }
    return base | dict(backend.env)


def test_groups_and_commands_complete(backend: Backend) -> None:
    assert _complete("pumpflix tem", _env(backend)) == ["templates"]
    assert "import" in _complete("pumpflix templates i", _env(backend))


def test_template_names_complete(cli: CliRun, tmp_path: Path, backend: Backend) -> None:
    seed(cli, tmp_path / "u", "Daily digest", "Daily report", "Weekly report")
    assert _complete("pumpflix templates show Dai", _env(backend)) == [
        "Daily digest",
        "Daily report",
    ]
    assert _complete("pumpflix templates delete Wee", _env(backend)) == ["Weekly report"]
