"""``templates delete`` and ``invalidate``."""

from __future__ import annotations

import json

import pytest

from pumpflix_cli.config import Settings
from pumpflix_cli.db.engine import Database
from pumpflix_cli.db.models import Instance
from pumpflix_cli.exit_codes import ExitCode
from tests.conftest import Backend, CliRun
from tests.helpers import list_json, seed

pytestmark = pytest.mark.usefixtures("backend")


def test_delete_needs_yes_without_a_terminal(cli: CliRun, tmp_path) -> None:
    seed(cli, tmp_path / "u", "Doomed")
    result = cli("templates", "delete", "Doomed")
    assert result.exit_code == ExitCode.USAGE
    assert "--yes" in result.stderr
    assert len(list_json(cli)) == 1


def test_delete_removes_the_template_and_its_history(cli: CliRun, tmp_path) -> None:
    seed(cli, tmp_path / "u", "Doomed", "Kept")
    result = cli("templates", "delete", "Doomed", "--yes", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["deleted"] == 1
    assert [t["name"] for t in list_json(cli)] == ["Kept"]
    assert cli("templates", "show", "Doomed").exit_code == ExitCode.NOT_FOUND


def _add_instance(template_id: str) -> None:
    database = Database(Settings())
    try:
        with database.session() as session:
            session.add(Instance(template_id=template_id, status="success"))
    finally:
        database.dispose()


def test_delete_is_refused_while_instances_use_the_template(
    cli: CliRun, tmp_path, backend: Backend
) -> None:
    seed(cli, tmp_path / "u", "In use")
    (template,) = list_json(cli)
    _add_instance(template["id"])
    result = cli("templates", "delete", "In use", "--yes")
    assert result.exit_code == ExitCode.CONFLICT
    assert "instances use 'In use' (1 instance)" in result.stderr
    assert "hint: --force deletes anyway" in result.stderr
    assert cli("templates", "delete", "In use", "--yes", "--force").exit_code == 0
    assert list_json(cli) == []


def test_invalidate_without_a_cache_exits_69_saying_so(cli: CliRun, tmp_path) -> None:
    """Like the cache commands: Redis named, 69 (it was 1)."""
    seed(cli, tmp_path / "u", "A")
    result = cli("templates", "invalidate", "A")
    assert result.exit_code == ExitCode.UNAVAILABLE
    assert "Redis: the cache is not configured" in result.stderr
    assert "set REDIS_URL" in result.stderr


def test_invalidate_needs_a_target(cli: CliRun) -> None:
    assert cli("templates", "invalidate").exit_code == ExitCode.USAGE
