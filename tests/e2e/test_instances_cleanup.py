"""What instances leave in a real n8n: runs delete their workflow unless kept, a run
stopped by a signal cleans up on its way out (or, when it cannot, prune finds it), and
`instances delete | prune` remove workflows, executions and records."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import CliRun

from .conftest import N8n
from .n8n_api import all_workflows, delete_workflow
from .test_faults_n8n import Pumpflix
from .test_instances_run import add_template, chain, code, events, greeting_template, manual
from .test_instances_run import node as make_node
from .test_instances_run import run as run_instance

GREET = ("--var", "GREETING=Hi", "--var", "WHO=Bo")
WAIT_FOR = 60.0  # a safety net for a stuck n8n, not a measurement


def ours(api: httpx.Client, prefix: str) -> list[dict[str, Any]]:
    """The n8n workflows of this test (their names start with its prefix)."""
    return [w for w in all_workflows(api) if str(w["name"]).startswith(prefix)]


def gone(api: httpx.Client, path: str) -> bool:
    return api.get(path).status_code == 404


def paused_template(name: str) -> dict[str, Any]:
    """Manual Trigger → a Wait of an hour: a run that waits in n8n until stopped."""
    pause = make_node(
        "Pause",
        "wait",
        {"amount": 1, "unit": "hours"},
        typeVersion=1.1,
        webhookId=str(uuid.uuid4()),
    )
    return chain(name, manual(), pause)


def wait_until(what: str, done: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_FOR
    while not done():
        assert time.monotonic() < deadline, f"{what} never happened"
        time.sleep(0.2)


# --- runs --------------------------------------------------------------------------------


def test_a_run_deletes_its_workflow_once_its_execution_is_read(
    cli: CliRun, env: dict[str, str], prefix: str, api: httpx.Client, tmp_path: Path
) -> None:
    name = f"{prefix}Greeter"
    add_template(cli, tmp_path / "t", greeting_template(name))

    code_, report, stderr = run_instance(cli, env, name, *GREET)

    assert code_ == 0, stderr
    assert report["status"] == "success" and report["output"] == [{"greeting": "Hi", "who": "Bo"}]
    assert report["n8nWorkflowId"] is None  # it is gone, so nothing names it
    assert ours(api, prefix) == []
    logged = events(cli, env, report["id"])
    deleted = [e for e in logged if e["data"] and e["data"].get("step") == "workflow-deleted"]
    assert len(deleted) == 1 and deleted[0]["message"].startswith("deleted n8n workflow ")
    assert [e["node"] for e in logged if e["source"] == "n8n"] == [
        "When clicking 'Execute workflow'",
        "Greet",
    ]  # its node runs were read before
    shown = json.loads(cli("instances", "show", report["id"], "--json", env=env).stdout)
    assert (shown["status"], shown["n8nWorkflowId"]) == ("success", None)


def test_a_failed_run_deletes_its_workflow_too_and_keep_keeps_it(
    cli: CliRun, env: dict[str, str], prefix: str, api: httpx.Client, tmp_path: Path
) -> None:
    name = f"{prefix}Exploder"
    add_template(
        cli, tmp_path / "t", chain(name, manual(), code("Explode", "throw new Error('no');"))
    )

    failed = run_instance(cli, env, name)
    kept = run_instance(cli, env, name, "--keep")

    assert (failed[0], kept[0]) == (1, 1)
    assert failed[1]["n8nWorkflowId"] is None
    [left] = ours(api, prefix)
    assert left["id"] == kept[1]["n8nWorkflowId"]
    assert left["active"] is False


@pytest.mark.parametrize(("sent", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_run_stopped_by_a_signal_stops_its_execution_and_deletes_its_workflow(
    sent: signal.Signals,
    code: int,
    cli: CliRun,
    env: dict[str, str],
    prefix: str,
    api: httpx.Client,
    tmp_path: Path,
) -> None:
    name = f"{prefix}Patient"
    add_template(cli, tmp_path / "t", paused_template(name))
    pumpflix = Pumpflix(env, tmp_path, [env["N8N_API_KEY"]])

    running = pumpflix.start("instances", "run", name, "--timeout", "600", "--json")
    execution = _paused_execution(api, prefix, running)
    running.send_signal(sent)
    stopped = pumpflix.finish(running)

    assert stopped.code == code, stopped.stderr
    assert "what became of the instance: pumpflix instances show" in stopped.stderr
    assert ours(api, prefix) == []
    assert gone(api, f"/executions/{execution}")
    [instance] = json.loads(cli("instances", "list", "--json", env=env).stdout)
    assert (instance["status"], instance["n8nWorkflowId"]) == ("canceled", None)
    assert instance["error"] == "the run was interrupted"


def test_a_run_that_cannot_clean_up_leaves_its_workflow_for_prune(
    cli: CliRun,
    env: dict[str, str],
    n8n: N8n,
    prefix: str,
    api: httpx.Client,
    tmp_path: Path,
) -> None:
    name = f"{prefix}Patient"
    add_template(cli, tmp_path / "t", paused_template(name))
    with Proxy(n8n.url) as proxy:
        via_proxy = {**env, "N8N_URL": proxy.url}
        pumpflix = Pumpflix(via_proxy, tmp_path, [env["N8N_API_KEY"]])
        running = pumpflix.start("instances", "run", name, "--timeout", "600", "--json")
        execution = _paused_execution(api, prefix, running)
        proxy.down()  # n8n is unreachable while the run is stopped
        running.send_signal(signal.SIGTERM)
        stopped = pumpflix.finish(running)

        assert stopped.code == 143, stopped.stderr
        assert "could not delete n8n workflow" in stopped.stderr
        [left] = ours(api, prefix)
        [instance] = json.loads(cli("instances", "list", "--json", env=via_proxy).stdout)
        assert (instance["status"], instance["n8nWorkflowId"]) == ("canceled", left["id"])
        assert "is left to prune" in instance["error"]

        proxy.up()
        pruned = cli("instances", "prune", "--status", "canceled", "--yes", "--json", env=via_proxy)

    assert pruned.exit_code == 0, pruned.stderr
    assert [r["workflow"] for r in json.loads(pruned.stdout)["instances"]] == ["deleted"]
    assert ours(api, prefix) == []
    assert gone(api, f"/executions/{execution}")


def test_a_killed_run_is_found_by_prune_and_its_execution_stopped(
    cli: CliRun, env: dict[str, str], prefix: str, api: httpx.Client, tmp_path: Path
) -> None:
    name = f"{prefix}Patient"
    add_template(cli, tmp_path / "t", paused_template(name))
    pumpflix = Pumpflix(env, tmp_path, [env["N8N_API_KEY"]])
    running = pumpflix.start("instances", "run", name, "--timeout", "600", "--json")
    execution = _paused_execution(api, prefix, running)
    running.kill()  # SIGKILL: nothing can run on the way out
    running.communicate()
    [left] = ours(api, prefix)
    assert left["active"] is True

    young = cli("instances", "prune", "--yes", "--json", env=env)  # still running, under 1 h
    assert json.loads(young.stdout)["instances"] == []
    pruned = cli(
        "instances", "prune", "--status", "running", "--older-than", "0s", "--yes", env=env
    )

    assert pruned.exit_code == 0, pruned.stderr
    assert "deleted 1 instance and 1 n8n workflow" in pruned.stdout
    assert ours(api, prefix) == []
    assert gone(api, f"/executions/{execution}")
    assert json.loads(cli("instances", "list", "--json", env=env).stdout) == []


def _paused_execution(api: httpx.Client, prefix: str, running: subprocess.Popen[str]) -> str:
    """The id of the run's execution once it waits in n8n (in its Wait node)."""
    found: list[str] = []

    def paused() -> bool:
        assert running.poll() is None, running.communicate()
        for workflow in ours(api, prefix):
            page = api.get("/executions", params={"workflowId": workflow["id"]}).json()
            found[:] = [e["id"] for e in page["data"] if e["status"] == "waiting"]
        return bool(found)

    wait_until("the run's execution waiting in n8n", paused)
    return found[0]


# --- delete and prune --------------------------------------------------------------------


def test_prune_by_status_and_age_with_a_dry_run_first(
    cli: CliRun, env: dict[str, str], prefix: str, api: httpx.Client, tmp_path: Path
) -> None:
    add_template(cli, tmp_path / "t", greeting_template(f"{prefix}Greeter"))
    add_template(
        cli, tmp_path / "u", chain(f"{prefix}Exploder", manual(), code("Boom", "throw 1;"))
    )
    kept = run_instance(cli, env, f"{prefix}Greeter", *GREET, "--keep")[1]
    failed = run_instance(cli, env, f"{prefix}Exploder", "--keep")[1]
    cleaned = run_instance(cli, env, f"{prefix}Greeter", *GREET)[1]
    assert len(ours(api, prefix)) == 2

    dry = cli("instances", "prune", "--status", "error", "--dry-run", "--json", env=env)
    assert dry.exit_code == 0, dry.stderr
    assert [
        (r["id"], r["n8nWorkflowId"], r["workflow"]) for r in json.loads(dry.stdout)["instances"]
    ] == [(failed["id"], failed["n8nWorkflowId"], "toDelete")]
    assert len(ours(api, prefix)) == 2  # nothing changed

    errors = cli("instances", "prune", "--status", "error", "--yes", "--json", env=env)
    assert errors.exit_code == 0, errors.stderr
    assert gone(api, f"/workflows/{failed['n8nWorkflowId']}")
    assert [w["id"] for w in ours(api, prefix)] == [kept["n8nWorkflowId"]]

    recent = cli("instances", "prune", "--older-than", "1h", "--yes", env=env)
    assert recent.exit_code == 0 and "nothing to prune" in recent.stderr
    everything = cli("instances", "prune", "--older-than", "0s", "--yes", "--json", env=env)
    assert everything.exit_code == 0, everything.stderr
    fates = {r["id"]: r["workflow"] for r in json.loads(everything.stdout)["instances"]}
    assert fates == {kept["id"]: "deleted", cleaned["id"]: "none"}
    assert ours(api, prefix) == []
    assert json.loads(cli("instances", "list", "--json", env=env).stdout) == []


def test_delete_with_executions_deletes_each_by_id_then_the_workflow(
    cli: CliRun,
    env: dict[str, str],
    prefix: str,
    api: httpx.Client,
    tmp_path: Path,
    sent: list[tuple[str, str]],
) -> None:
    add_template(cli, tmp_path / "t", greeting_template(f"{prefix}Greeter"))
    report = run_instance(cli, env, f"{prefix}Greeter", *GREET, "--keep")[1]
    workflow, execution = report["n8nWorkflowId"], report["n8nExecutionId"]
    sent.clear()

    result = cli(
        "instances", "delete", report["id"][:8], "--executions", "--yes", "--json", env=env
    )

    assert result.exit_code == 0, result.stderr
    [removal] = json.loads(result.stdout)["instances"]
    assert (removal["workflow"], removal["executionsDeleted"]) == ("deleted", 1)
    deletes = [path for method, path in sent if method == "DELETE"]
    assert deletes == [f"/api/v1/executions/{execution}", f"/api/v1/workflows/{workflow}"]
    assert gone(api, f"/executions/{execution}") and gone(api, f"/workflows/{workflow}")
    assert json.loads(cli("instances", "list", "--json", env=env).stdout) == []


def test_delete_of_a_workflow_deleted_in_n8n_already_is_fine(
    cli: CliRun, env: dict[str, str], prefix: str, api: httpx.Client, tmp_path: Path
) -> None:
    add_template(cli, tmp_path / "t", greeting_template(f"{prefix}Greeter"))
    report = run_instance(cli, env, f"{prefix}Greeter", *GREET, "--keep")[1]
    _, deleted = delete_workflow(api, report["n8nWorkflowId"])  # by hand, in n8n
    assert deleted.status_code == 200, deleted.text

    result = cli("instances", "delete", report["id"], "--yes", "--json", env=env)

    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["instances"][0]["workflow"] == "alreadyGone"


# --- n8n behind a proxy that can play dead -------------------------------------------------


class Proxy:
    """A TCP forwarder in front of n8n. While down it closes every connection it has and
    every one it accepts, as an n8n that went away would."""

    def __init__(self, target: str) -> None:
        url = httpx.URL(target)
        self.target = (url.host, url.port or 80)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.alive = True
        self.open: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def __enter__(self) -> Proxy:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.down()
        self.listener.close()

    def up(self) -> None:
        self.alive = True

    def down(self) -> None:
        self.alive = False
        with self.lock:
            for sock in self.open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self.open.clear()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            if not self.alive:
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)
