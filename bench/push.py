"""`n8n sync --push` of 300 corpus templates against the same calls made one at a time
(SPEC §8: ≥ 3× faster), and the re-push, which must write nothing.

The floor: one plain httpx client sending, for each of the same 300 workflows, the same
request body (``POST /workflows``, then ``PUT /workflows/{id}/tags``), one call at a
time. Ours: `pumpflix n8n sync --push` as a fresh process against a fresh, migrated
PostgreSQL database holding the 300 templates. Beside them, n8n's own ceiling: the bare
client with 8 calls in flight (n8n is CPU-bound; no client beats it). All run against the
same real n8n, one after the other, each starting from an n8n without those workflows.

    .venv/bin/python -m bench.push [--count 300]

Uses the n8n named by N8N_URL / N8N_API_KEY, or starts one with scripts/n8n-e2e (and
stops it afterwards). Every workflow it creates is deleted at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: bench/ is not a package on the path
    sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    PUMPFLIX,
    clean_env,
    corpus,
    run_timed,
    scratch_database,
)
from pumpflix_cli.workflow import (  # noqa: E402
    WorkflowError,
    n8n_request_body,
    parse_json,
    prepare,
)

FACTOR = 3.0
CEILING_IN_FLIGHT = 8


@contextmanager
def running_n8n() -> Iterator[tuple[str, str]]:
    url, key = os.environ.get("N8N_URL"), os.environ.get("N8N_API_KEY")
    if url and key:
        yield url.rstrip("/"), key
        return
    with tempfile.TemporaryDirectory(prefix="pumpflix-bench-n8n-") as state:
        script = [sys.executable, str(ROOT / "scripts" / "n8n-e2e")]
        up = subprocess.run(
            [*script, "up", "--state-dir", state], capture_output=True, text=True, check=False
        )
        try:
            if up.returncode:
                sys.exit(f"scripts/n8n-e2e up failed:\n{up.stderr[-2000:]}")
            values = dict(line.split("=", 1) for line in up.stdout.split() if "=" in line)
            yield values["N8N_URL"], values["N8N_API_KEY"]
        finally:
            subprocess.run(
                [*script, "down", "--state-dir", state], capture_output=True, check=False
            )


def samples(count: int, mark: str) -> list[dict[str, Any]]:
    """``count`` corpus workflows that pumpflix imports and n8n accepts, renamed uniquely."""
    found: list[dict[str, Any]] = []
    for path in sorted((corpus() / "clean").rglob("*.json")):
        try:
            document = parse_json(path.read_bytes())
            if not isinstance(document, dict):
                continue
            name = f"{mark}{len(found):03d} {str(document.get('name') or path.stem)[:80]}"
            prepared = prepare({**document, "name": name}, fallback_name=path.stem)
            n8n_request_body(prepared.workflow)
        except WorkflowError:
            continue
        found.append(prepared.workflow)
        if len(found) == count:
            return found
    sys.exit(f"the corpus has only {len(found)} usable workflows, {count} wanted")


def api_client(url: str, key: str) -> httpx.Client:
    return httpx.Client(
        base_url=f"{url}/api/v1",
        headers={"X-N8N-API-KEY": key},
        timeout=60.0,
        trust_env=False,
        limits=httpx.Limits(max_connections=8),
    )


def listed(api: httpx.Client, mark: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    params: dict[str, Any] = {"limit": 250}
    while True:
        page = api.get("/workflows", params=params).json()
        found.update({w["id"]: w for w in page["data"] if str(w["name"]).startswith(mark)})
        if not page.get("nextCursor"):
            return found
        params["cursor"] = page["nextCursor"]


def delete_all(api: httpx.Client, mark: str) -> None:
    def delete(workflow_id: str) -> None:
        api.post(f"/workflows/{workflow_id}/deactivate")
        api.delete(f"/workflows/{workflow_id}")

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(delete, listed(api, mark)))


def pumpflix_tag(api: httpx.Client) -> str:
    for tag in api.get("/tags", params={"limit": 250}).json()["data"]:
        if tag["name"] == "pumpflix":
            return str(tag["id"])
    return str(api.post("/tags", json={"name": "pumpflix"}).json()["id"])


def create_and_tag(api: httpx.Client, workflows: list[dict[str, Any]], in_flight: int) -> float:
    """The calls pumpflix makes (create, then tag) from a bare client: one at a time (the
    floor the target is set against), or many at once (n8n's own ceiling)."""
    tag = pumpflix_tag(api)
    bodies = [n8n_request_body(document) for document in workflows]

    def send(body: dict[str, Any]) -> None:
        created = api.post("/workflows", json=body)
        created.raise_for_status()
        tagged = api.put(f"/workflows/{created.json()['id']}/tags", json=[{"id": tag}])
        tagged.raise_for_status()

    started = time.perf_counter()
    if in_flight == 1:
        for body in bodies:
            send(body)
    else:
        with ThreadPoolExecutor(in_flight) as pool:
            list(pool.map(send, bodies))
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    args = parser.parse_args()
    mark = f"bench-{uuid.uuid4().hex[:6]} "
    workflows = samples(args.count, mark)
    with running_n8n() as (url, key), api_client(url, key) as api, scratch_database() as db:
        try:
            floor = create_and_tag(api, workflows, 1)
            delete_all(api, mark)
            ceiling = create_and_tag(api, workflows, CEILING_IN_FLIGHT)
            delete_all(api, mark)

            env = clean_env({"DATABASE_URL": db, "N8N_URL": url, "N8N_API_KEY": key})
            with tempfile.TemporaryDirectory() as folder:
                for index, document in enumerate(workflows):
                    (Path(folder) / f"{index:03d}.json").write_text(json.dumps(document))
                run_timed([PUMPFLIX, "db", "upgrade", "-q"], env)
                _, imported = run_timed(
                    [PUMPFLIX, "templates", "import", folder, "--type", "prebuilt", "-q"], env
                )
                if imported.returncode:
                    sys.exit(imported.stderr)
            push = [PUMPFLIX, "n8n", "sync", "--push", "--json", "-q"]
            ours, first = run_timed(push, env)
            if first.returncode:
                sys.exit(first.stderr)
            before = {i: w["versionId"] for i, w in listed(api, mark).items()}
            again, second = run_timed(push, env)
            after = {i: w["versionId"] for i, w in listed(api, mark).items()}
            started = time.perf_counter()
            listed(api, mark)
            one_list = time.perf_counter() - started
        finally:
            delete_all(api, mark)
    created, repushed = json.loads(first.stdout), json.loads(second.stdout)
    print(f"workflows: {len(workflows)} corpus workflows; n8n at {url}")
    print(f"one at a time (create, then tag): {floor:.2f} s ({len(workflows) / floor:.1f}/s)")
    print(
        f"pumpflix n8n sync --push: {ours:.2f} s ({len(workflows) / ours:.1f}/s); "
        f"created {created['created']}, failed {created['failed']}"
    )
    print(
        f"n8n's ceiling, a bare client with {CEILING_IN_FLIGHT} in flight: {ceiling:.2f} s "
        f"({len(workflows) / ceiling:.1f}/s, {floor / ceiling:.2f}x one at a time); "
        f"pumpflix reaches {ceiling / ours:.0%} of it"
    )
    speedup = floor / ours
    ok = speedup >= FACTOR and created["created"] == len(workflows)
    print(f"speed-up: {speedup:.2f}x (limit {FACTOR}x) {'ok' if ok else 'TOO SLOW'}")
    no_writes = repushed["unchanged"] == len(workflows) and before == after
    print(
        f"re-push: {again:.2f} s, unchanged {repushed['unchanged']}, "
        f"{'no workflow changed' if before == after else 'WORKFLOWS CHANGED'}; "
        f"one paginated list of them alone: {one_list:.2f} s"
    )
    return 0 if ok and no_writes else 1


if __name__ == "__main__":
    sys.exit(main())
