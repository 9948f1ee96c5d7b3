"""`pumpflix n8n sync` and `n8n diff` against a real n8n.

Every test names its templates and workflows with a prefix of its own and deletes every
n8n workflow carrying it afterwards. A prune deletes every pumpflix workflow without a
template, whoever made it, so tests that push hold a shared lock and the prune test an
exclusive one (the lock file is shared by pytest-xdist workers, as the n8n is).
"""

from __future__ import annotations

import fcntl
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import CliRun
from tests.factories import workflow, write
from tests.helpers import import_json, list_json, show_json

from .conftest import N8n
from .n8n_api import all_workflows


def _lock(tmp_path_factory: pytest.TempPathFactory, mode: int) -> Iterator[None]:
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if base.name.startswith("popen-gw") else base
    with (shared / "n8n-sync.lock").open("a+") as handle:
        fcntl.flock(handle.fileno(), mode)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@pytest.fixture
def shared_n8n(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    yield from _lock(tmp_path_factory, fcntl.LOCK_SH)


@pytest.fixture
def exclusive_n8n(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    yield from _lock(tmp_path_factory, fcntl.LOCK_EX)


def writes(requests: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(method, path) for method, path in requests if method != "GET"]


def seed(cli: CliRun, folder: Path, names: list[str], *, text: str = "hello") -> None:
    for index, name in enumerate(names):
        write(folder, f"{index}.json", workflow(name, text=f"{text} {name}"))
    code, report = import_json(cli, str(folder), "--type", "prebuilt")
    assert code == 0, report


def sync(cli: CliRun, env: dict[str, str], *args: str) -> tuple[int, dict[str, Any]]:
    result = cli("n8n", "sync", *args, "--json", env=env)
    assert result.stdout, result.stderr
    return result.exit_code, json.loads(result.stdout)


def counts(report: dict[str, Any]) -> dict[str, int]:
    return {k: v for k, v in report.items() if k != "errors"}


def by_name(api: httpx.Client, prefix: str) -> dict[str, dict[str, Any]]:
    return {w["name"]: w for w in all_workflows(api) if str(w["name"]).startswith(prefix)}


def set_text(api: httpx.Client, found: dict[str, Any], text: str) -> dict[str, Any]:
    """Edit a workflow in n8n the way the editor would: PUT the whole workflow."""
    nodes = json.loads(json.dumps(found["nodes"]))
    assignment = nodes[1]["parameters"]["assignments"]["assignments"][0]
    assignment["value"] = text
    body = {
        "name": found["name"],
        "nodes": nodes,
        "connections": found["connections"],
        "settings": found["settings"],
    }
    updated = api.put(f"/workflows/{found['id']}", json=body)
    assert updated.status_code == 200, updated.text
    return dict(updated.json())


def greeting(found: dict[str, Any]) -> str:
    return str(found["nodes"][1]["parameters"]["assignments"]["assignments"][0]["value"])


ZERO = {"created": 0, "updated": 0, "unchanged": 0, "conflicts": 0, "deleted": 0, "failed": 0}


@pytest.mark.usefixtures("shared_n8n")
def test_push_creates_tagged_workflows_and_a_second_push_writes_nothing(
    cli: CliRun,
    env: dict[str, str],
    prefix: str,
    api: httpx.Client,
    tmp_path: Path,
    sent: list[tuple[str, str]],
) -> None:
    names = [f"{prefix}Alpha", f"{prefix}Beta", f"{prefix}Gamma"]
    seed(cli, tmp_path / "seed", names)

    code, first = sync(cli, env, "--push")
    assert code == 0, first
    assert counts(first) == ZERO | {"created": 3}
    pushed = by_name(api, prefix)
    assert set(pushed) == set(names)
    for found in pushed.values():
        assert [tag["name"] for tag in found["tags"]] == ["pumpflix"]
        assert found["active"] is False

    sent.clear()
    code, second = sync(cli, env, "--push")
    assert code == 0, second
    assert counts(second) == ZERO | {"unchanged": 3}
    assert writes(sent) == []
    assert [path for _, path in sent].count("/api/v1/workflows") == 1  # one paginated list
    again = by_name(api, prefix)
    assert {n: w["versionId"] for n, w in again.items()} == {
        n: w["versionId"] for n, w in pushed.items()
    }


@pytest.mark.usefixtures("shared_n8n")
def test_a_changed_template_updates_exactly_one_workflow(
    cli: CliRun,
    env: dict[str, str],
    prefix: str,
    api: httpx.Client,
    tmp_path: Path,
    sent: list[tuple[str, str]],
) -> None:
    names = [f"{prefix}One", f"{prefix}Two", f"{prefix}Three"]
    seed(cli, tmp_path / "seed", names)
    assert sync(cli, env, "--push")[0] == 0
    before = by_name(api, prefix)

    write(tmp_path / "change", "two.json", workflow(names[1], text="changed"))
    assert import_json(cli, str(tmp_path / "change"), "--type", "prebuilt")[0] == 0
    sent.clear()
    code, report = sync(cli, env, "--push")

    assert code == 0, report
    assert counts(report) == ZERO | {"updated": 1, "unchanged": 2}
    assert writes(sent) == [("PUT", f"/api/v1/workflows/{before[names[1]]['id']}")]
    after = by_name(api, prefix)
    assert greeting(after[names[1]]) == "changed"
    for name in (names[0], names[2]):
        assert after[name]["versionId"] == before[name]["versionId"]


@pytest.mark.usefixtures("shared_n8n")
def test_dry_run_reports_the_real_counts_and_writes_nothing(
    cli: CliRun,
    env: dict[str, str],
    prefix: str,
    api: httpx.Client,
    tmp_path: Path,
    sent: list[tuple[str, str]],
) -> None:
    names = [f"{prefix}Kept", f"{prefix}New"]
    seed(cli, tmp_path / "seed", names[:1])
    assert sync(cli, env, "--push")[0] == 0
    seed(cli, tmp_path / "more", names[1:])
    write(tmp_path / "change", "kept.json", workflow(names[0], text="edited"))
    assert import_json(cli, str(tmp_path / "change"), "--type", "prebuilt")[0] == 0
    before = by_name(api, prefix)
    templates_before = list_json(cli)

    sent.clear()
    code, dry = sync(cli, env, "--push", "--dry-run")
    assert code == 0, dry
    assert counts(dry) == ZERO | {"created": 1, "updated": 1}
    assert writes(sent) == []
    assert by_name(api, prefix) == before
    assert list_json(cli) == templates_before

    code, real = sync(cli, env, "--push")
    assert code == 0, real
    assert counts(real) == counts(dry)


@pytest.mark.usefixtures("shared_n8n")
def test_pull_brings_an_n8n_edit_in_as_a_new_version(
    cli: CliRun,
    env: dict[str, str],
    prefix: str,
    api: httpx.Client,
    tmp_path: Path,
    sent: list[tuple[str, str]],
) -> None:
    name = f"{prefix}Edited in n8n"
    seed(cli, tmp_path / "seed", [name])
    assert sync(cli, env, "--push")[0] == 0
    set_text(api, by_name(api, prefix)[name], "edited in the n8n editor")

    code, dry = sync(cli, env, "--pull", name, "--dry-run")
    assert code == 0, dry
    assert counts(dry) == ZERO | {"updated": 1}
    assert show_json(cli, name)["version"] == 1

    code, pulled = sync(cli, env, "--pull", name)
    assert code == 0, pulled
    assert counts(pulled) == ZERO | {"updated": 1}
    shown = show_json(cli, name)
    assert shown["version"] == 2
    assert "edited in the n8n editor" in json.dumps(shown["n8nJson"])

    sent.clear()
    assert counts(sync(cli, env, "--both", name)[1]) == ZERO | {"unchanged": 1}
    assert writes(sent) == []


@pytest.mark.usefixtures("shared_n8n")
def test_a_pulled_version_is_never_hidden_by_the_cache(
    cli: CliRun,
    env: dict[str, str],
    redis_env: dict[str, str],
    prefix: str,
    api: httpx.Client,
    tmp_path: Path,
) -> None:
    env = {**env, **redis_env}
    name = f"{prefix}Cached"
    seed(cli, tmp_path / "seed", [name])
    assert sync(cli, env, "--push")[0] == 0
    assert cli("templates", "show", name, "--json", env=env).exit_code == 0  # now cached
    assert cli("templates", "list", "--json", env=env).exit_code == 0
    set_text(api, by_name(api, prefix)[name], "pulled past the cache")

    assert counts(sync(cli, env, "--pull", name)[1]) == ZERO | {"updated": 1}

    shown = json.loads(cli("templates", "show", name, "--json", env=env).stdout)
    assert shown["version"] == 2
    assert "pulled past the cache" in json.dumps(shown["n8nJson"])
    listed = json.loads(cli("templates", "list", "--json", env=env).stdout)
    assert [t["version"] for t in listed if t["name"] == name] == [2]


@pytest.mark.usefixtures("shared_n8n")
def test_a_workflow_made_in_the_n8n_editor_arrives_as_a_user_template(
    cli: CliRun,
    env: dict[str, str],
    prefix: str,
    api: httpx.Client,
    tmp_path: Path,
    sent: list[tuple[str, str]],
) -> None:
    pushed = f"{prefix}Pushed"
    seed(cli, tmp_path / "seed", [pushed])
    assert sync(cli, env, "--push")[0] == 0
    set_text(api, by_name(api, prefix)[pushed], "edited too")
    name = f"{prefix}Made in n8n"
    document = workflow(name, text="from the editor")
    body = {k: document[k] for k in ("name", "nodes", "connections", "settings")}
    created = api.post("/workflows", json=body)
    assert created.status_code == 200, created.text

    code, report = sync(cli, env, "--pull")

    assert code == 0, report
    assert report["created"] >= 1
    assert report["updated"] == 1
    shown = show_json(cli, name)
    assert shown["sourceType"] == "user"
    assert "from the editor" in json.dumps(shown["n8nJson"])
    assert show_json(cli, pushed)["version"] == 2

    sent.clear()
    _, again = sync(cli, env, "--both")
    assert (again["created"], again["updated"]) == (0, 0)
    assert not [e for e in again["errors"] if e["name"] in (name, pushed)]
    assert writes(sent) == []


@pytest.mark.usefixtures("shared_n8n")
def test_a_change_on_both_sides_is_a_conflict_until_a_side_is_preferred(
    cli: CliRun, env: dict[str, str], prefix: str, api: httpx.Client, tmp_path: Path
) -> None:
    name = f"{prefix}Contested"
    seed(cli, tmp_path / "seed", [name])
    assert sync(cli, env, "--push")[0] == 0
    set_text(api, by_name(api, prefix)[name], "n8n's edit")
    write(tmp_path / "change", "contested.json", workflow(name, text="pumpflix's edit"))
    assert import_json(cli, str(tmp_path / "change"), "--type", "prebuilt")[0] == 0

    for direction in ("--push", "--pull", "--both"):
        code, report = sync(cli, env, direction, name)
        assert code == 4, report
        assert counts(report) == ZERO | {"conflicts": 1}
        assert report["errors"][0]["kind"] == "conflict"
        assert report["errors"][0]["name"] == name
    assert greeting(by_name(api, prefix)[name]) == "n8n's edit"

    code, report = sync(cli, env, "--both", "--prefer", "pumpflix", name)
    assert code == 0, report
    assert counts(report) == ZERO | {"updated": 1}
    assert greeting(by_name(api, prefix)[name]) == "pumpflix's edit"
    assert counts(sync(cli, env, "--both", name)[1]) == ZERO | {"unchanged": 1}


@pytest.mark.usefixtures("shared_n8n")
def test_prefer_n8n_settles_a_conflict_with_n8n_s_version(
    cli: CliRun, env: dict[str, str], prefix: str, api: httpx.Client, tmp_path: Path
) -> None:
    name = f"{prefix}Settled"
    seed(cli, tmp_path / "seed", [name])
    assert sync(cli, env, "--push")[0] == 0
    set_text(api, by_name(api, prefix)[name], "n8n wins")
    write(tmp_path / "change", "settled.json", workflow(name, text="pumpflix loses"))
    assert import_json(cli, str(tmp_path / "change"), "--type", "prebuilt")[0] == 0

    code, report = sync(cli, env, "--pull", "--prefer", "n8n", name)

    assert code == 0, report
    assert counts(report) == ZERO | {"updated": 1}
    shown = show_json(cli, name)
    assert shown["version"] == 3
    assert "n8n wins" in json.dumps(shown["n8nJson"])


@pytest.mark.usefixtures("exclusive_n8n")
def test_prune_deletes_the_workflows_of_deleted_templates(
    cli: CliRun, env: dict[str, str], prefix: str, api: httpx.Client, tmp_path: Path
) -> None:
    keep, gone = f"{prefix}Keep", f"{prefix}Gone"
    seed(cli, tmp_path / "seed", [keep, gone])
    assert sync(cli, env, "--push")[0] == 0
    gone_id = by_name(api, prefix)[gone]["id"]
    assert cli("templates", "delete", gone, "--yes", env=env).exit_code == 0
    # Left behind by a crashed run, or pushed from another database: orphans as well.
    strays = [
        w
        for w in all_workflows(api)
        if not w["isArchived"]
        and not str(w["name"]).startswith(prefix)
        and "pumpflix" in [t["name"] for t in w["tags"]]
    ]

    refused = cli("n8n", "sync", "--push", "--prune", env=env)
    assert refused.exit_code == 2
    assert "--yes" in refused.stderr
    assert set(by_name(api, prefix)) == {keep, gone}

    code, dry = sync(cli, env, "--push", "--prune", "--dry-run")
    assert code == 0, dry
    assert dry["deleted"] == 1 + len(strays)
    assert set(by_name(api, prefix)) == {keep, gone}

    code, report = sync(cli, env, "--push", "--prune", "--yes")
    assert code == 0, report
    assert counts(report) == ZERO | {"unchanged": 1, "deleted": 1 + len(strays)}
    assert set(by_name(api, prefix)) == {keep}
    assert api.get(f"/workflows/{gone_id}").status_code == 404


@pytest.mark.usefixtures("shared_n8n")
def test_a_fresh_database_adopts_its_templates_workflows_instead_of_duplicating(
    cli: CliRun, n8n: N8n, prefix: str, api: httpx.Client, tmp_path: Path
) -> None:
    # Two embedded databases, as two CI runs would have: the second push finds the
    # workflows by their name and tag, and writes nothing as their content is the same.
    names = [f"{prefix}Shared A", f"{prefix}Shared B"]
    for run in ("first", "second"):
        env = {
            "PUMPFLIX_DATA_DIR": str(tmp_path / run),
            "N8N_URL": n8n.url,
            "N8N_API_KEY": n8n.api_key,
        }
        for index, name in enumerate(names):
            write(tmp_path / f"{run}-seed", f"{index}.json", workflow(name, text=name))
        result = cli(
            "templates", "import", str(tmp_path / f"{run}-seed"), "--type", "prebuilt", env=env
        )
        assert result.exit_code == 0, result.stderr
        code, report = sync(cli, env, "--push")
        assert code == 0, report
        expected = {"created": 2} if run == "first" else {"unchanged": 2}
        assert counts(report) == ZERO | expected
    assert len(by_name(api, prefix)) == 2


@pytest.mark.usefixtures("shared_n8n")
def test_diff_names_the_nodes_that_differ_and_ignores_positions(
    cli: CliRun, env: dict[str, str], prefix: str, api: httpx.Client, tmp_path: Path
) -> None:
    same, moved, edited, local = (
        f"{prefix}Same",
        f"{prefix}Moved",
        f"{prefix}Edited",
        f"{prefix}Local only",
    )
    seed(cli, tmp_path / "seed", [same, moved, edited])
    assert sync(cli, env, "--push")[0] == 0
    seed(cli, tmp_path / "local", [local])
    pushed = by_name(api, prefix)
    moved_nodes = [
        {**node, "position": [500, 500], "id": str(uuid.uuid4())} for node in pushed[moved]["nodes"]
    ]
    body = {k: pushed[moved][k] for k in ("name", "connections", "settings")}
    assert (
        api.put(
            f"/workflows/{pushed[moved]['id']}", json={**body, "nodes": moved_nodes}
        ).status_code
        == 200
    )
    set_text(api, pushed[edited], "edited")
    made = workflow(f"{prefix}Editor only")
    assert (
        api.post(
            "/workflows", json={k: made[k] for k in ("name", "nodes", "connections", "settings")}
        ).status_code
        == 200
    )

    result = cli("n8n", "diff", "--json", env=env)

    assert result.exit_code == 0, result.stderr
    entries = {e["name"]: e for e in json.loads(result.stdout) if e["name"].startswith(prefix)}
    assert entries[same]["status"] == "in-sync"
    assert entries[moved]["status"] == "in-sync"
    assert entries[edited]["status"] == "differs"
    assert entries[edited]["diff"]["nodesChanged"] == [
        {"node": "Set greeting", "fields": ["parameters"]}
    ]
    assert entries[edited]["diff"]["nodesAdded"] == entries[edited]["diff"]["nodesRemoved"] == []
    assert entries[local]["status"] == "missing-in-n8n"
    assert entries[f"{prefix}Editor only"]["status"] == "missing-in-pumpflix"

    human = cli("n8n", "diff", edited, env=env)
    assert human.exit_code == 0, human.stderr
    assert "differs" in human.stdout
    assert "Set greeting" in human.stdout

    # --exit-code: drift fails a CI step; a template in step passes it
    assert cli("n8n", "diff", "--exit-code", edited, env=env).exit_code == 1
    assert cli("n8n", "diff", "--exit-code", "--json", local, env=env).exit_code == 1
    assert cli("n8n", "diff", "--exit-code", same, moved, env=env).exit_code == 0


def with_export_quirks(document: dict[str, Any]) -> dict[str, Any]:
    """What real exports carry and n8n's API refuses as is (SPEC §6)."""
    quirky: dict[str, Any] = json.loads(json.dumps(document))
    quirky["settings"] = {**quirky.get("settings", {}), "errorWorkflow": None}
    quirky["settings"]["saveManualExecutions"] = "true"
    node = quirky["nodes"][-1]
    node.update({"color": "#ff6d5a", "maxTries": "3", "waitBetweenTries": "1000"})
    node.update({"retryOnFail": True, "extendsCredential": "slackApi", "notes": None})
    quirky["pinData"] = {}
    return quirky


@pytest.mark.usefixtures("shared_n8n")
def test_exports_with_null_settings_string_numbers_and_unknown_keys_push(
    cli: CliRun, env: dict[str, str], prefix: str, api: httpx.Client, tmp_path: Path
) -> None:
    name = f"{prefix}Quirky export"
    write(tmp_path / "seed", "quirky.json", with_export_quirks(workflow(name, extra_node=True)))
    assert import_json(cli, str(tmp_path / "seed"), "--type", "prebuilt")[0] == 0

    code, report = sync(cli, env, "--push")

    assert code == 0, report
    assert counts(report) == ZERO | {"created": 1}
    node = by_name(api, prefix)[name]["nodes"][-1]
    assert (node["maxTries"], node["waitBetweenTries"]) == (3, 1000)
    assert "color" not in node
    assert counts(sync(cli, env, "--push")[1]) == ZERO | {"unchanged": 1}


def corpus_samples(root: Path, count: int) -> list[dict[str, Any]]:
    """Corpus workflows with the keys n8n refuses (``color``, ``extendsCredential``)."""
    samples = []
    for path in sorted((root / "clean").rglob("*.json")):
        text = path.read_text(encoding="utf-8", errors="replace")
        if '"color"' in text or '"extendsCredential"' in text:
            try:
                document = json.loads(text)
            except ValueError:
                continue
            if isinstance(document, dict) and isinstance(document.get("nodes"), list):
                samples.append(document)
        if len(samples) == count:
            break
    return samples


@pytest.mark.corpus
@pytest.mark.usefixtures("shared_n8n")
def test_real_corpus_workflows_push_as_exported(
    cli: CliRun, env: dict[str, str], prefix: str, api: httpx.Client, tmp_path: Path
) -> None:
    import os

    root = os.environ.get("PUMPFLIX_CORPUS")
    if not root:
        pytest.skip("PUMPFLIX_CORPUS is not set")
    samples = corpus_samples(Path(root), 12)
    assert samples
    for index, document in enumerate(samples):
        document["name"] = f"{prefix}{index} {str(document.get('name') or '')[:80]}"
        if index % 2:
            document = with_export_quirks(document)
        write(tmp_path / "seed", f"{index}.json", document)
    code, imported = import_json(cli, str(tmp_path / "seed"), "--type", "prebuilt")
    assert code == 0, imported

    code, report = sync(cli, env, "--push")

    assert code == 0, report
    assert counts(report) == ZERO | {"created": len(samples)}
    assert len(by_name(api, prefix)) == len(samples)
    assert counts(sync(cli, env, "--push")[1]) == ZERO | {"unchanged": len(samples)}
