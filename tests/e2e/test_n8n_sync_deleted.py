"""A template pulled from n8n and deleted here stays deleted (issue 13.6), against a real
n8n: a pull tags what it brings in, a deleted template's link stays as a tombstone, so
neither direction of a sync brings it back and ``--prune`` removes its workflow, tagged
or not.

Pulls without a template reference take every unlinked workflow of the shared n8n, and
prunes delete every orphan: these tests hold the exclusive lock of test_n8n_sync.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from pumpflix_cli.errors import ServiceUnavailableError
from tests.conftest import CliRun
from tests.factories import workflow
from tests.helpers import list_json

from .test_n8n_sync import by_name, exclusive_n8n, sync, writes  # noqa: F401  (a fixture)


def make_in_n8n(api: httpx.Client, name: str) -> dict[str, Any]:
    """A workflow made in the n8n editor: untagged, unknown to pumpflix."""
    document = workflow(name, text="made in the editor")
    created = api.post(
        "/workflows", json={k: document[k] for k in ("name", "nodes", "connections", "settings")}
    )
    assert created.status_code == 200, created.text
    return dict(created.json())


def tags_of(api: httpx.Client, workflow_id: str) -> list[str]:
    found = api.get(f"/workflows/{workflow_id}")
    assert found.status_code == 200, found.text
    return [tag["name"] for tag in found.json()["tags"]]


def user_names(cli: CliRun, prefix: str) -> list[str]:
    return [t["name"] for t in list_json(cli, "--type", "user") if t["name"].startswith(prefix)]


@pytest.mark.usefixtures("exclusive_n8n")
@pytest.mark.parametrize("untag", [False, True], ids=["tagged-by-the-pull", "untagged-later"])
def test_a_deleted_pulled_template_is_never_pulled_back_and_prune_deletes_its_workflow(
    cli: CliRun,
    env: dict[str, str],
    prefix: str,
    api: httpx.Client,
    sent: list[tuple[str, str]],
    untag: bool,
) -> None:
    name = f"{prefix}Made in n8n"
    made = make_in_n8n(api, name)
    code, pulled = sync(cli, env, "--pull")
    assert code == 0, pulled
    assert user_names(cli, prefix) == [name]
    assert tags_of(api, made["id"]) == ["pumpflix"]  # the pull made it pumpflix's
    if untag:  # as a pull before pulls tagged left it, or someone untagging it in n8n
        assert api.put(f"/workflows/{made['id']}/tags", json=[]).status_code == 200
    assert cli("templates", "delete", name, "--yes", env=env).exit_code == 0

    for direction in ("--both", "--pull", "--push"):
        sent.clear()
        result = cli("n8n", "sync", direction, env=env)
        assert result.exit_code == 0, result.stderr
        assert user_names(cli, prefix) == []  # not pulled back
        assert made["id"] in result.stderr  # "belongs to a template deleted here"
        assert ("DELETE", f"/api/v1/workflows/{made['id']}") not in sent
    assert api.get(f"/workflows/{made['id']}").status_code == 200  # nor deleted unasked

    dry = cli("n8n", "sync", "--push", "--prune", "--dry-run", "--verbose", env=env)
    assert dry.exit_code == 0, dry.stderr
    assert f"delete: {name}" in dry.stderr
    assert api.get(f"/workflows/{made['id']}").status_code == 200

    code, pruned = sync(cli, env, "--push", "--prune", "--yes")
    assert code == 0, pruned
    assert pruned["deleted"] >= 1
    assert api.get(f"/workflows/{made['id']}").status_code == 404

    code, again = sync(cli, env, "--both")
    assert code == 0, again
    assert user_names(cli, prefix) == []


@pytest.mark.usefixtures("exclusive_n8n")
def test_a_pull_whose_tag_failed_lands_and_the_next_sync_tags_it(
    cli: CliRun,
    env: dict[str, str],
    prefix: str,
    api: httpx.Client,
    sent: list[tuple[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pumpflix_cli.n8n.client import N8nClient

    name = f"{prefix}Tag refused"
    made = make_in_n8n(api, name)
    # n8n cannot be made to fail one call on demand: this one answers 503 for it.
    original = N8nClient.set_workflow_tags

    def refuse(self: N8nClient, workflow_id: str, tag_ids: Any) -> None:
        if workflow_id == made["id"]:
            raise ServiceUnavailableError("n8n", "HTTP 503 from n8n")
        original(self, workflow_id, tag_ids)

    monkeypatch.setattr(N8nClient, "set_workflow_tags", refuse)
    code, first = sync(cli, env, "--pull")
    assert code == 5, first
    assert [e["workflowId"] for e in first["errors"]] == [made["id"]]
    assert user_names(cli, prefix) == [name]  # the template landed all the same
    assert tags_of(api, made["id"]) == []

    monkeypatch.setattr(N8nClient, "set_workflow_tags", original)
    code, second = sync(cli, env, "--pull")
    assert code == 0, second
    assert tags_of(api, made["id"]) == ["pumpflix"]

    sent.clear()
    code, third = sync(cli, env, "--both")
    assert code == 0, third
    assert not [w for w in writes(sent) if made["id"] in w[1]]
    assert json.dumps(third).count(made["id"]) == 0
