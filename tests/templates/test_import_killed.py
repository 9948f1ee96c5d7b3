"""A running import killed from outside (SIGKILL, SIGTERM): its worker processes end with
it, SIGTERM ends it with exit 143, and the database holds no half-written batch."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pumpflix_cli.exit_codes import ExitCode
from tests.conftest import Backend, CliRun
from tests.factories import workflow, write
from tests.helpers import PUMPFLIX, list_json, subprocess_env
from tests.processes import Process, alive, children, wait_until

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/stat").exists() or (os.cpu_count() or 1) < 2,
    reason="needs Linux's /proc and two cores (the import parses in workers from two)",
)

FILES = 300  # above the import's threshold for worker processes, and slow enough to parse
NODES = 300


def long_workflow(name: str) -> dict[str, Any]:
    """A chain of ``NODES`` Set nodes: tens of milliseconds to parse and check."""
    document = workflow(name, text=name)
    trigger, template = document["nodes"]
    nodes, connections, previous = [trigger], {}, trigger["name"]
    for index in range(NODES):
        node = {**template, "name": f"Set {index}", "id": f"node-{index}"}
        nodes.append(node)
        connections[previous] = {"main": [[{"node": node["name"], "type": "main", "index": 0}]]}
        previous = node["name"]
    return {**document, "nodes": nodes, "connections": connections}


@pytest.fixture(scope="module")
def big_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("big")
    text = json.dumps(long_workflow("Long"))
    for index in range(FILES):
        (folder / f"{index:04}.json").write_text(text.replace('"Long"', f'"Long {index:04}"'))
    return folder


class Import:
    """``pumpflix templates import`` as a real process, its output in files (a worker that
    outlived it would hold pipes open); every process it started is killed at the end."""

    def __init__(self, folder: Path, backend: Backend, output: Path, **env: str) -> None:
        self.stderr_path = output / "stderr"
        with (output / "stdout").open("w") as stdout, self.stderr_path.open("w") as stderr:
            self.process = subprocess.Popen(
                [PUMPFLIX, "templates", "import", str(folder), "--json"],
                env=subprocess_env({**backend.env, **env}),
                stdout=stdout,
                stderr=stderr,
            )
        self.workers: set[Process] = set()

    def wait(self) -> tuple[int, str]:
        code = self.process.wait(timeout=300)
        return code, self.stderr_path.read_text()

    def running_workers(self) -> set[Process]:
        """The worker processes, once at least two of them run."""

        def two_running() -> bool:
            self.workers.update(children(self.process.pid))
            return len(self.workers) >= 2 or self.process.poll() is not None

        assert wait_until(two_running)
        assert self.process.poll() is None, "the import ended before its workers were seen"
        return self.workers

    def cleanup(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for worker in self.workers:
            if alive(worker):
                os.kill(worker[0], signal.SIGKILL)


Starter = Callable[..., Import]


@pytest.fixture
def start_import(tmp_path: Path) -> Iterator[Starter]:
    started: list[Import] = []

    def start(folder: Path, backend: Backend, **env: str) -> Import:
        started.append(Import(folder, backend, tmp_path, **env))
        return started[-1]

    yield start
    for running in started:
        running.cleanup()


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_workers_end_when_the_import_is_killed_while_parsing(
    cli: CliRun, big_folder: Path, backend: Backend, signum: int, start_import: Starter
) -> None:
    running = start_import(big_folder, backend)
    workers = running.running_workers()
    os.kill(running.process.pid, signum)
    code, stderr = running.wait()
    assert wait_until(lambda: not any(alive(worker) for worker in workers)), (
        f"workers outlived the import: {[w for w in workers if alive(w)]}"
    )
    if signum == signal.SIGTERM:
        assert code == ExitCode.TERMINATED, stderr
        assert "error: terminated" in stderr
        assert "Traceback" not in stderr
    else:
        assert code == -signal.SIGKILL
    assert list_json(cli) == []  # killed before the write: nothing of the batch landed


def test_a_worker_whose_parent_is_gone_ends_at_once() -> None:
    """The race the kernel request cannot cover: the parent died before the worker asked."""
    from pumpflix_cli.services.templates.workers import die_with_parent

    child = os.fork()
    if child == 0:  # pragma: no cover - the child
        try:
            die_with_parent(os.getppid() + 1_000_000)  # not our parent: as if it had died
        finally:
            os._exit(0)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 1


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_sigterm_while_writing_rolls_back_the_open_batch_and_keeps_the_committed_ones(
    cli: CliRun, tmp_path: Path, backend: Backend, start_import: Starter
) -> None:
    """601 files: the first batch of 500 commits; the second stops at a row another session
    holds, SIGTERM comes: exactly the first batch stays, each template whole."""
    import psycopg

    from tests.templates.test_import_contention import waiting_for_a_lock

    template_id = "00000000-0000-4000-8000-0000000000bb"
    seed = {**workflow("Zeta", text="v1"), "pumpflix": {"id": template_id}}
    assert cli("templates", "import", str(write(tmp_path / "seed", "z.json", seed))).exit_code == 0
    folder = tmp_path / "many"
    for index in range(600):
        write(folder, f"{index:04}.json", workflow(f"Many {index:04}", text=str(index)))
    write(folder, "zeta.json", {**seed, **workflow("Zeta", text="v2")})
    url = backend.env["DATABASE_URL"]
    with psycopg.connect(url) as other, psycopg.connect(url, autocommit=True) as watcher:
        other.execute('SELECT 1 FROM "WorkflowTemplate" WHERE id = %s FOR UPDATE', (template_id,))
        running = start_import(folder, backend, PUMPFLIX_LOCK_TIMEOUT="300")
        assert wait_until(waiting_for_a_lock(watcher, running.process))
        assert running.process.poll() is None
        os.kill(running.process.pid, signal.SIGTERM)
        code, stderr = running.wait()
        other.rollback()
        (templates, whole) = watcher.execute(
            'SELECT count(*), count(v.template_id) FROM "WorkflowTemplate" t '
            "JOIN pumpflix_templates m ON m.id = t.id "
            "LEFT JOIN pumpflix_template_versions v ON v.template_id = t.id "
            "AND v.version = m.version"
        ).fetchone() or (0, 0)
    assert code == ExitCode.TERMINATED, stderr
    assert (templates, whole) == (501, 501)
    names = [t["name"] for t in list_json(cli)]
    assert names == sorted(names) and names[-1] == "Zeta" and names[-2] == "Many 0499"
