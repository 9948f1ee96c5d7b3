"""``templates delete`` and ``invalidate``."""

from __future__ import annotations

import json

import pytest

from pumpflix_cli.config import Settings
from pumpflix_cli.db.engine import Database
from pumpflix_cli.db.models import Instance
from pumpflix_cli.exit_codes import ExitCode
from pumpflix_cli.records import TemplateRecord
from tests.conftest import Backend, CliRun
from tests.factories import workflow
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


def test_delete_by_type_removes_every_template_of_that_type_and_only_those(
    cli: CliRun, tmp_path
) -> None:
    """Bulk: more ids than one DELETE statement takes, in one transaction."""
    count = 5001
    (tmp_path / "many").mkdir()
    documents = [workflow(f"Bulk {i:05}", text=str(i)) for i in range(count)]
    (tmp_path / "many" / "all.json").write_text(json.dumps(documents))
    assert cli("templates", "import", str(tmp_path / "many"), "--type", "prebuilt").exit_code == 0
    seed(cli, tmp_path / "u", "Mine")

    assert cli("templates", "delete", "--type", "prebuilt").exit_code == ExitCode.USAGE  # --yes
    result = cli("templates", "delete", "--type", "prebuilt", "--yes", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["deleted"] == count
    assert [t["name"] for t in list_json(cli)] == ["Mine"]
    assert cli("templates", "delete", "--type", "prebuilt", "--yes").exit_code == 0


def test_delete_all_removes_every_template(cli: CliRun, tmp_path) -> None:
    seed(cli, tmp_path / "u", "One", "Two")
    seed(cli, tmp_path / "p", "Three", source_type="prebuilt")
    result = cli("templates", "delete", "--all", "--yes", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["deleted"] == 3
    assert list_json(cli) == []


def test_a_bulk_delete_asks_naming_a_few_and_counting_the_rest() -> None:
    from pumpflix_cli.cli.templates.delete import describe_doomed

    records = [TemplateRecord(str(i), f"T{i}", "user", 1, "h") for i in range(7)]
    assert describe_doomed(records[:1]) == "1 template: 'T0' (user)"
    assert describe_doomed(records) == (
        "7 templates: 'T0' (user), 'T1' (user), 'T2' (user), 'T3' (user), 'T4' (user) and 2 more"
    )


@pytest.mark.parametrize(
    "args",
    [(), ("One", "--type", "user"), ("--type", "user", "--all"), ("One", "--all")],
)
def test_delete_takes_exactly_one_of_refs_type_or_all(
    cli: CliRun, tmp_path, args: tuple[str, ...]
) -> None:
    seed(cli, tmp_path / "u", "One")
    result = cli("templates", "delete", *args, "--yes")
    assert result.exit_code == ExitCode.USAGE
    assert "hint: give REFs, --type T or --all" in result.stderr
    assert len(list_json(cli)) == 1


def test_invalidate_without_a_cache_exits_69_saying_so(cli: CliRun, tmp_path) -> None:
    """Like the cache commands: Redis named, 69 (it was 1)."""
    seed(cli, tmp_path / "u", "A")
    result = cli("templates", "invalidate", "A")
    assert result.exit_code == ExitCode.UNAVAILABLE
    assert "Redis: the cache is not configured" in result.stderr
    assert "set REDIS_URL" in result.stderr


def test_invalidate_needs_a_target(cli: CliRun) -> None:
    assert cli("templates", "invalidate").exit_code == ExitCode.USAGE
