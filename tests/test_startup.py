"""``pumpflix --help`` stays fast: no database, Redis, HTTP or pydantic library imported.
And a few smoke tests of the installed console script as a real subprocess."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers import subprocess_env

HEAVY = (
    "sqlalchemy",
    "psycopg",
    "redis",
    "httpx",
    "pydantic",
    "pydantic_settings",
    "alembic",
    "cryptography",
)

PROBE = f"""
import sys
from pumpflix_cli.cli.app import app
sys.argv = ["pumpflix"] + sys.argv[1:]
try:
    app(prog_name="pumpflix")
except SystemExit:
    pass
heavy = sorted({{m.split(".")[0] for m in sys.modules}} & set({HEAVY!r}))
sys.stderr.write("HEAVY=" + ",".join(heavy) + "\\n")
"""


def _heavy_modules_imported(*args: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=False
    )
    line = next(ln for ln in result.stderr.splitlines() if ln.startswith("HEAVY="))
    return [name for name in line.removeprefix("HEAVY=").split(",") if name]


def test_help_imports_no_heavy_library() -> None:
    assert _heavy_modules_imported("--help") == []


def test_group_help_imports_no_service_library() -> None:
    # Typer (0.29+) itself validates parameters with pydantic once a group parses its
    # options, so only the root help can be pydantic-free; the service libraries never load.
    for group in ("templates", "instances", "cache", "n8n", "db", "config"):
        imported = _heavy_modules_imported(group, "--help")
        assert set(imported) <= {"pydantic"}, group


def _script() -> str:
    script = Path(sys.executable).with_name("pumpflix")
    found = str(script) if script.exists() else shutil.which("pumpflix")
    assert found, "the pumpflix console script is not installed"
    return found


def _embedded(tmp_path: Path) -> dict[str, str]:
    return subprocess_env({"PUMPFLIX_DATA_DIR": str(tmp_path / "data")})


def test_the_installed_script_prints_its_version(tmp_path: Path) -> None:
    result = subprocess.run(
        [_script(), "--version"],
        capture_output=True,
        text=True,
        env=_embedded(tmp_path),
        check=False,
    )
    assert result.returncode == 0
    assert result.stdout.startswith("pumpflix ")


def test_the_installed_script_upgrades_the_embedded_database(tmp_path: Path) -> None:
    result = subprocess.run(
        [_script(), "db", "upgrade", "--json"],
        capture_output=True,
        text=True,
        env=_embedded(tmp_path),
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["upToDate"] is True


def test_the_installed_script_exits_2_on_a_bad_setting(tmp_path: Path) -> None:
    env = _embedded(tmp_path) | {"REDIS_URL": "ftp://nowhere"}
    result = subprocess.run(
        [_script(), "doctor"], capture_output=True, text=True, env=env, cwd=tmp_path, check=False
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: invalid setting REDIS_URL")
    assert "Traceback" not in result.stderr
