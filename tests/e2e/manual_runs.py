"""n8n's own manual run of workflows: what an instance run must give node by node.

n8n's public API cannot start a manual run, but n8n's command line can: ``n8n
execute-batch`` runs workflows from their Manual Trigger (mode ``cli``) as the editor's
"Execute workflow" does, and writes each execution's data to a snapshot folder. It runs as
a second n8n process on the harness' database, so it needs the harness' state folder.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import socket
import subprocess
import sys
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from .conftest import SCRIPT, N8n

BATCH_TIMEOUT = 600.0  # a safety net for a stuck n8n, not a measurement


@cache
def _harness() -> ModuleType:
    """scripts/n8n-e2e as a module: how it starts n8n is how the batch starts."""
    loader = importlib.machinery.SourceFileLoader("pumpflix_n8n_e2e", str(SCRIPT))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[loader.name] = module
    loader.exec_module(module)
    return module


def harness_state(n8n: N8n, folders: list[Path]) -> dict[str, Any]:
    """The state of the harness running ``n8n``: the first of ``folders`` (then the
    harness' default folder) whose n8n it is."""
    for folder in [*folders, _harness().default_state_dir()]:
        try:
            state = json.loads((folder / "state.json").read_text())
        except (OSError, ValueError):
            continue
        if isinstance(state, dict) and str(state.get("url", "")).rstrip("/") == n8n.url:
            return state
    pytest.skip(f"no harness state folder for {n8n.url}: set N8N_E2E_STATE_DIR")


def create_workflow(api: httpx.Client, body: dict[str, Any]) -> str:
    """Create a workflow ``manual_runs`` can run: execute-batch drops every id without a
    digit (it filters them with /\\d+/), and n8n's random ids now and then have none."""
    while True:
        created = api.post("/workflows", json=body)
        assert created.status_code == 200, created.text
        workflow_id = str(created.json()["id"])
        if any(char.isdigit() for char in workflow_id):
            return workflow_id
        assert api.delete(f"/workflows/{workflow_id}").status_code == 200


def manual_runs(
    state: dict[str, Any], workflow_ids: list[str], folder: Path
) -> dict[str, dict[str, Any]]:
    """Run each workflow once as n8n's manual run; its execution data by workflow id."""
    harness = _harness()
    install = harness.read_marker(Path(state["installDir"]))
    assert install is not None, "the harness' n8n install is gone"
    with socket.socket() as probe:  # a task broker of its own, beside the running n8n's
        probe.bind(("127.0.0.1", 0))
        broker_port = probe.getsockname()[1]
    env = harness.n8n_environment(
        install,
        port=state["port"],
        broker_port=broker_port,
        database=state["database"],
        user_folder=Path(state["userFolder"]),
        encryption_key=state["encryptionKey"],
    )
    folder.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [
            str(install.n8n),
            "execute-batch",
            f"--ids={','.join(workflow_ids)}",
            f"--snapshot={folder}",
        ],
        env=env,
        cwd=folder,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=BATCH_TIMEOUT,
        check=False,
    )
    runs = {}
    for workflow_id in workflow_ids:
        snapshot = folder / f"{workflow_id}-snapshot.json"
        assert snapshot.is_file(), f"no manual run of {workflow_id}:\n{result.stdout[-3000:]}"
        runs[workflow_id] = json.loads(snapshot.read_text())
    return runs


def node_outputs(execution: dict[str, Any]) -> dict[str, list[list[list[Any]]]]:
    """Each node's output: per run, per output branch, the items' JSON."""
    run_data = execution["data"]["resultData"]["runData"]
    return {
        node: [
            [
                [item.get("json") for item in branch or []]
                for branch in (run.get("data") or {}).get("main") or []
            ]
            for run in runs
        ]
        for node, runs in run_data.items()
    }
