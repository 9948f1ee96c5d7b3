"""Shell completion: the committed scripts match the code, and pumpflix completes group,
command and template names."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pumpflix_cli.cli.completion import SHELLS, completion_script
from tests.conftest import Backend, CliRun
from tests.helpers import PUMPFLIX, seed, subprocess_env

ROOT = Path(__file__).parents[1]


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


def test_groups_and_commands_complete(backend: Backend) -> None:
    assert _complete("pumpflix tem", subprocess_env(backend.env)) == ["templates"]
    assert "import" in _complete("pumpflix templates i", subprocess_env(backend.env))


def test_template_names_complete(cli: CliRun, tmp_path: Path, backend: Backend) -> None:
    seed(cli, tmp_path / "u", "Daily digest", "Daily report", "Weekly report")
    assert _complete("pumpflix templates show Dai", subprocess_env(backend.env)) == [
        "Daily digest",
        "Daily report",
    ]
    assert _complete("pumpflix templates delete Wee", subprocess_env(backend.env)) == [
        "Weekly report"
    ]
