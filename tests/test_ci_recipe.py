"""The README's CI recipe installs pumpflix the way it says, from the repository (it is on
no package registry): its ``pip install`` step, run in a fresh venv against a checkout laid
out as the recipe's ``actions/checkout`` steps lay it out, gives a working ``pumpflix``."""

from __future__ import annotations

import re
import shlex
import subprocess
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def recipe() -> str:
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"```yaml\n# \.github/workflows/seed-templates\.yml\n(.*?)```", readme, re.S)
    assert match, "the README's CI recipe is missing"
    return match.group(1)


def test_the_ci_recipe_checks_pumpflix_out_where_it_installs_it_from() -> None:
    text = recipe()
    path = re.search(r"repository: [\w.-]+/pumpflix, path: ([\w./-]+)", text)
    install = re.findall(r"run: (pip install .*)", text)
    assert path and install == [f"pip install ./{path.group(1)}"]


def test_the_ci_recipe_install_step_works_in_a_fresh_venv(tmp_path: Path) -> None:
    text = recipe()
    (command,) = re.findall(r"run: (pip install .*)", text)
    checkout = re.search(r"repository: [\w.-]+/pumpflix, path: ([\w./-]+)", text)
    assert checkout
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / checkout.group(1)).symlink_to(ROOT, target_is_directory=True)
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    pip, *args = shlex.split(command)
    assert pip == "pip"
    subprocess.run(
        [
            str(env_dir / "bin" / "python"),
            "-m",
            "pip",
            *args,
            "--quiet",
            "--disable-pip-version-check",
        ],
        cwd=workspace,
        check=True,
        capture_output=True,
    )

    done = subprocess.run(
        [str(env_dir / "bin" / "pumpflix"), "--version"], capture_output=True, text=True
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("pumpflix ")
