"""`instances delete | prune` over recorded instances, on SQLite and PostgreSQL: what they
remove, what they refuse and keep, which instances prune picks, and what an instance
whose n8n workflow is gone shows. Against a real n8n: tests/e2e/test_instances_cleanup.py.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pumpflix_cli.cli.instances.options import parse_duration
from pumpflix_cli.db.engine import Database
from pumpflix_cli.db.instances import InstanceStore
from pumpflix_cli.errors import UsageError
from pumpflix_cli.exit_codes import ExitCode
from pumpflix_cli.records import EventRecord
from pumpflix_cli.services.instances.cleanup import prune_candidates
from tests.conftest import CliRun

from .test_commands import T0, add_instance, cli_json, closed_port, greeter

pytestmark = pytest.mark.usefixtures("backend")

N8N = {"N8N_URL": "http://127.0.0.1:9", "N8N_API_KEY": "pf-test-key-0123456789"}


def listed(cli: CliRun) -> list[str]:
    return [instance["id"] for instance in cli_json(cli, "list")]


def link(database: Database, instance_id: str, workflow_id: str, url: str) -> None:
    with database.session() as session:
        store = InstanceStore(session)
        store.update(instance_id, n8n_workflow_id=workflow_id)
        store.link(url, instance_id, workflow_id, content_hash=None, n8n_updated_at=None)


# --- delete ------------------------------------------------------------------------------


def test_delete_removes_instances_and_their_logs_and_needs_no_n8n_when_they_have_no_workflow(
    cli: CliRun, database: Database, tmp_path: Path
) -> None:
    template = greeter(cli, tmp_path / "a")
    kept = add_instance(database, template)
    gone = add_instance(
        database, template, status="error", events=[EventRecord("pumpflix", "deploying", time=T0)]
    )

    result = cli("instances", "delete", gone[:8], gone, "--yes", "--json")

    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["dryRun"], report["removed"], report["failed"]) == (False, 1, 0)
    [removal] = report["instances"]
    assert removal == {
        "id": gone,
        "status": "error",
        "templateName": "Greeter",
        "createdAt": removal["createdAt"],
        "n8nWorkflowId": None,
        "workflow": "none",
        "executionsDeleted": 0,
        "removed": True,
        "error": None,
    }
    assert listed(cli) == [kept]
    assert cli("instances", "logs", gone).exit_code == ExitCode.NOT_FOUND
    with database.session() as session:
        assert InstanceStore(session).events(gone) == []
    human = cli("instances", "delete", kept, "--yes")
    assert human.exit_code == 0
    assert "deleted 1 instance and 0 n8n workflows" in human.stdout


def test_delete_resolves_every_id_first_and_deletes_nothing_when_one_is_unknown(
    cli: CliRun, database: Database, tmp_path: Path
) -> None:
    instance = add_instance(database, greeter(cli, tmp_path / "a"))

    result = cli("instances", "delete", instance, "0123456789ab", "--yes")

    assert result.exit_code == ExitCode.NOT_FOUND
    assert listed(cli) == [instance]


def test_delete_and_prune_ask_first_and_need_yes_without_a_terminal(
    cli: CliRun, database: Database, tmp_path: Path
) -> None:
    instance = add_instance(database, greeter(cli, tmp_path / "a"))

    for command in (("delete", instance), ("prune",)):
        result = cli("instances", *command)
        assert result.exit_code == ExitCode.USAGE, result.stdout
        assert "without --yes" in result.stderr
    assert listed(cli) == [instance]


def test_an_instance_whose_workflow_n8n_cannot_delete_is_kept_naming_it(
    cli: CliRun, database: Database, tmp_path: Path
) -> None:
    template = greeter(cli, tmp_path / "a")
    deployed = add_instance(database, template, n8n_workflow_id="wf-1")
    plain = add_instance(database, template, created=T0 + timedelta(minutes=1))

    result = cli("instances", "delete", deployed, plain, "--yes", "--json")  # no N8N_URL

    assert result.exit_code == ExitCode.PARTIAL, result.stderr
    report = json.loads(result.stdout)
    assert (report["removed"], report["failed"]) == (1, 1)
    kept = next(r for r in report["instances"] if r["id"] == deployed)
    assert (kept["removed"], kept["workflow"]) == (False, "toDelete")
    assert kept["error"] == "n8n: not configured"
    assert f"warning: instance {deployed[:8]} kept: n8n: not configured" in result.stderr
    assert [(i["id"], i["n8nWorkflowId"]) for i in cli_json(cli, "list")] == [(deployed, "wf-1")]

    alone = cli("instances", "delete", deployed, "--yes")
    assert alone.exit_code == ExitCode.UNAVAILABLE
    assert "error: n8n: not configured" in alone.stderr


def test_an_unreachable_n8n_stops_the_removals_that_need_it(
    cli: CliRun, database: Database, tmp_path: Path
) -> None:
    template = greeter(cli, tmp_path / "a")
    url = f"http://127.0.0.1:{closed_port()}"
    ids = [add_instance(database, template, n8n_workflow_id=f"wf-{n}") for n in range(3)]
    for n, instance in enumerate(ids):
        link(database, instance, f"wf-{n}", url)
    env = {**N8N, "N8N_URL": url}

    result = cli("instances", "prune", "--yes", "--json", env=env)

    assert result.exit_code == ExitCode.UNAVAILABLE, result.stderr
    errors = {r["error"] for r in json.loads(result.stdout)["instances"]}
    assert len(errors) == 1 and f"cannot reach n8n at {url}" in errors.pop()
    assert sorted(listed(cli)) == sorted(ids)


def test_a_workflow_on_another_n8n_is_left_alone(
    cli: CliRun, database: Database, tmp_path: Path
) -> None:
    instance = add_instance(database, greeter(cli, tmp_path / "a"))
    link(database, instance, "wf-9", "https://staging-n8n.test")
    env = {**N8N, "N8N_URL": f"http://127.0.0.1:{closed_port()}"}  # nothing may be asked of it

    result = cli("instances", "delete", instance, "--yes", env=env)

    assert result.exit_code == ExitCode.CONFLICT, result.stderr
    assert "its n8n workflow wf-9 is on another n8n (https://staging-n8n.test)" in result.stderr
    assert listed(cli) == [instance]


# --- prune -------------------------------------------------------------------------------


def test_prune_picks_by_age_and_status_and_leaves_runs_that_may_be_in_flight(
    cli: CliRun, database: Database, tmp_path: Path
) -> None:
    template = greeter(cli, tmp_path / "a")
    now = T0
    ages = {
        "old success": ("success", timedelta(days=10)),
        "old error": ("error", timedelta(days=8)),
        "new success": ("success", timedelta(minutes=1)),
        "running 2h": ("running", timedelta(hours=2)),
        "running 10m": ("running", timedelta(minutes=10)),
        "deploying 30m": ("deploying", timedelta(minutes=30)),
        "old canceled": ("canceled", timedelta(days=30)),
    }
    name_of = {
        add_instance(database, template, status=status, created=now - age): name
        for name, (status, age) in ages.items()
    }

    def picked(**filters: object) -> list[str]:
        found = prune_candidates(lambda: database, now=now, **filters)  # type: ignore[arg-type]
        return [name_of[instance.id] for instance in found]

    assert picked() == ["old canceled", "old success", "old error", "running 2h", "new success"]
    assert picked(older_than=timedelta(days=7)) == ["old canceled", "old success", "old error"]
    assert picked(older_than=timedelta(minutes=5)) == [
        "old canceled", "old success", "old error", "running 2h", "deploying 30m", "running 10m",
    ]  # fmt: skip
    assert picked(statuses=["error", "canceled"]) == ["old canceled", "old error"]
    assert picked(statuses=["running"]) == ["running 2h"]
    assert picked(statuses=["running"], older_than=timedelta(0)) == ["running 2h", "running 10m"]


def test_prune_dry_run_lists_what_it_would_delete_and_changes_nothing(
    cli: CliRun, database: Database, tmp_path: Path
) -> None:
    template = greeter(cli, tmp_path / "a")
    old = add_instance(database, template, status="error", n8n_workflow_id="wf-1")
    add_instance(database, template, status="success", created=T0 + timedelta(days=1))

    result = cli("instances", "prune", "--status", "error", "--dry-run", "--json")

    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["dryRun"], report["removed"], report["failed"]) == (True, 0, 0)
    assert [(r["id"], r["workflow"], r["removed"]) for r in report["instances"]] == [
        (old, "toDelete", False)
    ]
    assert len(listed(cli)) == 2
    human = cli("instances", "prune", "--older-than", "1s", "--dry-run")
    assert human.exit_code == 0
    assert "would delete 2 instances and 1 n8n workflow; nothing was changed" in human.stdout
    assert "wf-1" in human.stdout


def test_prune_with_nothing_to_prune_says_so(
    cli: CliRun, database: Database, tmp_path: Path
) -> None:
    add_instance(database, greeter(cli, tmp_path / "a"), status="success")

    result = cli("instances", "prune", "--status", "canceled")

    assert result.exit_code == 0
    assert "nothing to prune" in result.stderr
    assert json.loads(cli("instances", "prune", "--status", "canceled", "--json").stdout) == {
        "dryRun": False,
        "removed": 0,
        "failed": 0,
        "instances": [],
    }


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("30m", 1800), ("12h", 43200), ("7d", 604800), ("2w", 1209600),
     ("1h30m", 5400), ("1.5h", 5400), ("0s", 0), (" 2D ", 172800)],
)  # fmt: skip
def test_older_than_takes_a_number_and_a_unit(text: str, seconds: float) -> None:
    assert parse_duration(text, option="--older-than") == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "7", "d", "7x", "-1d", "1d-", "1 day", "h1", "1h30"])
def test_older_than_refuses_anything_else_naming_the_flag(text: str) -> None:
    with pytest.raises(UsageError, match="--older-than") as raised:
        parse_duration(text, option="--older-than")
    assert raised.value.hint is not None and "7d" in raised.value.hint


@given(
    st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from("smhdw")), min_size=1, max_size=5)
)
def test_a_duration_is_the_sum_of_its_parts(parts: list[tuple[int, str]]) -> None:
    seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    text = "".join(f"{number}{unit}" for number, unit in parts)
    expected = timedelta(seconds=sum(number * seconds[unit] for number, unit in parts))
    assert parse_duration(text, option="--older-than") == expected


def test_prune_refuses_a_bad_duration_before_anything(
    cli: CliRun, database: Database, tmp_path: Path
) -> None:
    add_instance(database, greeter(cli, tmp_path / "a"))
    result = cli("instances", "prune", "--older-than", "soon", "--yes")
    assert result.exit_code == ExitCode.USAGE
    assert "--older-than 'soon' is not a duration" in result.stderr
    assert len(listed(cli)) == 1


# --- what a removed workflow leaves --------------------------------------------------------


def test_an_instance_whose_workflow_is_gone_names_it_nowhere(
    cli: CliRun, database: Database, tmp_path: Path
) -> None:
    instance = add_instance(database, greeter(cli, tmp_path / "a"))
    link(database, instance, "wf-7", "http://127.0.0.1:9")

    with database.session() as session:
        store = InstanceStore(session)
        store.forget_workflow(instance)
        assert store.deployed_to(instance) is None

    assert cli_json(cli, "list")[0]["n8nWorkflowId"] is None
    assert cli_json(cli, "show", instance)["n8nWorkflowId"] is None
    assert "wf-7" not in cli("instances", "list").stdout


def test_events_for_an_instance_deleted_meanwhile_are_dropped(
    cli: CliRun, database: Database, tmp_path: Path
) -> None:
    instance = add_instance(database, greeter(cli, tmp_path / "a"))
    with database.session() as session:
        assert InstanceStore(session).delete([instance, str(uuid.uuid4())]) == 1
    with database.session() as session:  # a run still going on in another pumpflix
        InstanceStore(session).add_events(instance, [EventRecord("pumpflix", "late", time=T0)])
        assert InstanceStore(session).events(instance) == []
