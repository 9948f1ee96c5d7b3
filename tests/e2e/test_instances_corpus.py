"""Real corpus workflows run end to end as instances on a real n8n (skipped without
``$PUMPFLIX_CORPUS``); those started by a Manual Trigger give, node by node, exactly what
n8n's own manual run of them gives.

The workflows are picked by scanning the corpus for those n8n can run here with nothing
but its core nodes: no credentials, no network, no Python, a Manual Trigger or a Webhook
to start them. They run on the embedded SQLite default.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from pumpflix_cli.workflow import n8n_request_body
from tests.conftest import CliRun
from tests.factories import write
from tests.helpers import import_json

from .conftest import N8n
from .manual_runs import create_workflow, manual_runs, node_outputs

pytestmark = pytest.mark.corpus

SAMPLES = 20  # every one the scan finds, up to this many (12 in the corpus today)
CORE_NODES = frozenset(
    f"n8n-nodes-base.{name}"
    for name in (
        "manualTrigger", "webhook", "respondToWebhook", "stickyNote", "noOp",
        "set", "code", "function", "functionItem", "if", "switch", "filter", "merge",
        "xml", "html", "markdown", "dateTime", "sort", "limit", "aggregate", "splitOut",
        "splitInBatches", "itemLists", "renameKeys", "removeDuplicates", "summarize",
    )
)  # fmt: skip
MANUAL_TRIGGER = "n8n-nodes-base.manualTrigger"
STARTERS = frozenset({MANUAL_TRIGGER, "n8n-nodes-base.webhook"})


def corpus_root() -> Path:
    location = os.environ.get("PUMPFLIX_CORPUS")
    if not location:
        pytest.skip("PUMPFLIX_CORPUS is not set")
    root = Path(location)
    return root / "clean" if (root / "clean").is_dir() else root


def runnable(document: Any) -> bool:
    """Whether n8n can run this workflow here as it stands."""
    if not isinstance(document, dict) or not isinstance(document.get("nodes"), list):
        return False
    nodes = [n for n in document["nodes"] if isinstance(n, dict)]
    types = {n.get("type") for n in nodes}
    if not types <= CORE_NODES or not types & STARTERS:
        return False
    if any(n.get("credentials") for n in nodes):
        return False
    for found in nodes:
        parameters = found.get("parameters") or {}
        text = json.dumps(parameters)
        if "require(" in text or parameters.get("language") not in (None, "javaScript"):
            return False  # the JS sandbox refuses modules; no Python runner here
        responds = any(n.get("type") == "n8n-nodes-base.respondToWebhook" for n in nodes)
        if (
            found.get("type") == "n8n-nodes-base.webhook"
            and responds
            and parameters.get("responseMode") != "responseNode"
        ):
            return False  # n8n refuses such a run: "Unused Respond to Webhook node"
    return True


def samples(root: Path, count: int) -> list[tuple[Path, dict[str, Any]]]:
    found: list[tuple[Path, dict[str, Any]]] = []
    for path in sorted(root.rglob("*.json")):
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            continue
        if runnable(document):
            found.append((path, document))
        if len(found) == count:
            break
    return found


def test_real_corpus_workflows_run_end_to_end_as_n8n_s_own_manual_run_does(
    cli: CliRun,
    n8n: N8n,
    n8n_state: dict[str, Any],
    prefix: str,
    api: httpx.Client,
    tmp_path: Path,
) -> None:
    picked = samples(corpus_root(), SAMPLES)
    assert len(picked) >= 3, "the corpus should hold a few workflows of core nodes only"
    for index, (_path, document) in enumerate(picked):
        document["name"] = f"{prefix}{index} {str(document.get('name') or 'unnamed')[:60]}"
        write(tmp_path / "seed", f"{index:02}.json", document)
    code, imported = import_json(cli, str(tmp_path / "seed"), "--type", "prebuilt")
    assert code == 0, imported
    template_of = {Path(t["path"]).name: t["id"] for t in imported["templates"]}
    env = {"N8N_URL": n8n.url, "N8N_API_KEY": n8n.api_key}

    failures = []
    manual: dict[str, tuple[str, dict[str, Any]]] = {}  # file: (its oracle's id, its run)
    for index, (path, document) in enumerate(picked):
        template_id = template_of[f"{index:02}.json"]
        variables = [f"--var={name}=x" for name in input_variables(cli, template_id)]
        result = cli(
            "instances",
            "run",
            template_id,
            *variables,
            "--timeout",
            "120",
            "--keep",
            "--json",
            env=env,
        )
        report = json.loads(result.stdout) if result.stdout else {}
        if result.exit_code != 0 or report.get("status") != "success":
            failures.append(f"{path.name}: exit {result.exit_code}, {report or result.stderr}")
            continue
        logs = cli("instances", "logs", report["id"], "--json", env=env).stdout.splitlines()
        if not any(json.loads(line)["source"] == "n8n" for line in logs):
            failures.append(f"{path.name}: no node runs recorded")
        if started_manually(document):
            manual[path.name] = (
                _oracle(cli, api, env, report["id"], f"{prefix}oracle {index}"),
                report,
            )
    assert not failures, "\n".join(failures)
    assert len(manual) >= 3, f"a few should start with a Manual Trigger: {sorted(manual)}"

    expected = manual_runs(n8n_state, [oracle for oracle, _ in manual.values()], tmp_path / "runs")
    for name, (oracle, report) in manual.items():
        ours = node_outputs(_execution(api, report["n8nExecutionId"]))
        theirs = node_outputs(expected[oracle])
        ours = {node: items for node, items in ours.items() if node in theirs}
        if ours != theirs:
            failures.append(
                f"{name}: node outputs differ from n8n's manual run:\n"
                f"  ours:   {json.dumps(ours)[:600]}\n  theirs: {json.dumps(theirs)[:600]}"
            )
    assert not failures, "\n".join(failures)


def started_manually(document: dict[str, Any]) -> bool:
    """Whether n8n's manual run starts it at a Manual Trigger (no Webhook to call it)."""
    enabled = [n for n in document["nodes"] if not n.get("disabled")]
    return any(n.get("type") == MANUAL_TRIGGER for n in enabled) and not any(
        n.get("type") == "n8n-nodes-base.webhook" for n in enabled
    )


def _oracle(cli: CliRun, api: httpx.Client, env: dict[str, str], instance: str, name: str) -> str:
    """An n8n workflow of the instance's final JSON as it is (its Manual Trigger kept)."""
    shown = cli("instances", "show", instance, "--final-json", "--json", env=env)
    assert shown.exit_code == 0, shown.stderr
    return create_workflow(api, n8n_request_body(json.loads(shown.stdout)["finalJson"], name=name))


def _execution(api: httpx.Client, execution_id: str) -> dict[str, Any]:
    found = api.get(f"/executions/{execution_id}", params={"includeData": "true"})
    assert found.status_code == 200, found.text
    return dict(found.json())


def input_variables(cli: CliRun, template_id: str) -> list[str]:
    shown = cli("templates", "show", template_id, "--json")
    assert shown.exit_code == 0, shown.stderr
    return list(json.loads(shown.stdout)["inputVariables"])
