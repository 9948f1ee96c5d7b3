"""`cache warm` of 2,000 templates against the floor (SPEC §8, issue 4).

The floor: one plain Python process that reads the same rows from PostgreSQL (every
column, the workflow as JSON text, and the version history), builds the same payloads
(each template's platform JSON and its meta; the platform's two lists; pumpflix's two
summary indexes) and pipelines `SET … EX` (and the lists' `RPUSH`) into Redis. Ours:
`pumpflix cache warm` as a fresh process, which on top checks the schema, observes every
key's revision (its side key) before it reads, and writes with compare-and-set scripts.
Both run interleaved, several times, on a flushed key
space; the figures are medians. Limit 2×.

The 2,000 templates are generated from the corpus (`$PUMPFLIX_CORPUS/clean`, renamed
copies past its end), imported into a scratch database: 1,000 prebuilt, 1,000 user.

    .venv/bin/python bench/warm.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import redis

from bench.common import (
    PUMPFLIX,
    REDIS_URL,
    clean_env,
    corpus,
    report,
    run_timed,
    scratch_database,
)

COUNT = 2000
FACTOR = 2.0
FLOOR = """
import json, sys, datetime, psycopg, redis
url, redis_url, prefix = sys.argv[1:4]
dumps = lambda data: json.dumps(data, separators=(",", ":"), ensure_ascii=False)
utc = datetime.timezone.utc
def js(moment):
    moment = moment.astimezone(utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
client = redis.Redis.from_url(redis_url)
pipe = client.pipeline(transaction=False)
ttls = {"prebuilt": 21600, "user": 3600}
lists = {"prebuilt": [], "user": []}
with psycopg.connect(url) as conn:
    history = {}
    for row in conn.execute(
        "SELECT template_id, version, content_hash, created_at FROM pumpflix_template_versions"
        " ORDER BY template_id, version"
    ):
        history.setdefault(row[0], []).append(
            {"version": row[1], "contentHash": row[2], "createdAt": row[3].isoformat()}
        )
    rows = conn.execute(
        'SELECT t.id, t.name, t.description, t."sourceType", t."requiredCredentials",'
        ' t."inputVariables", t.thumbnail, coalesce(m.version, 1), m.content_hash,'
        ' t."createdAt", t."updatedAt", t."n8nJson"'
        ' FROM "WorkflowTemplate" t LEFT JOIN pumpflix_templates m ON m.id = t.id'
    )
    for row in rows:
        summary = {
            "id": str(row[0]), "name": row[1], "description": row[2], "sourceType": row[3],
            "requiredCredentials": row[4], "inputVariables": row[5], "thumbnail": row[6],
            "version": row[7], "contentHash": row[8], "createdAt": row[9].isoformat(),
            "updatedAt": row[10].isoformat(),
        }
        lists[row[3]].append((row[9], summary))
        value = {
            "id": str(row[0]), "name": row[1], "description": row[2] or "",
            "sourceType": row[3], "n8nJson": row[11], "requiredCredentials": row[4] or [],
            "inputVariables": row[5] or [], "thumbnail": row[6], "createdAt": js(row[9]),
            "updatedAt": js(row[10]),
        }
        meta = {
            "version": row[7], "contentHash": row[8], "createdAt": summary["createdAt"],
            "updatedAt": summary["updatedAt"], "history": history.get(row[0], []),
        }
        key = f"{prefix}template:{row[0]}"
        pipe.set(key, dumps(value).encode(), ex=ttls[row[3]])
        pipe.set("{" + key + "}:meta", dumps(meta).encode(), ex=ttls[row[3]])
for source_type, found in lists.items():
    ids = [s["id"] for _, s in sorted(found, key=lambda f: (f[0], f[1]["id"]), reverse=True)]
    key = f"{prefix}templates:{source_type}"
    pipe.delete(key)
    if ids:
        pipe.rpush(key, *ids)
        pipe.expire(key, ttls[source_type])
    summaries = sorted((s for _, s in found), key=lambda s: (s["name"], s["sourceType"], s["id"]))
    index = f"{prefix}pumpflix:index:{source_type}"
    pipe.set(index, dumps(summaries).encode(), ex=ttls[source_type])
print(len(pipe.execute()))
"""


def workflows() -> list[tuple[str, dict[str, object]]]:
    """The corpus's workflow documents (a list of nodes, at least), by file stem."""
    found = []
    for path in sorted((corpus() / "clean").rglob("*.json")):
        try:
            document = json.loads(path.read_bytes())
        except ValueError:
            continue
        if isinstance(document, dict) and isinstance(document.get("nodes"), list):
            found.append((path.stem, document))
    return found


def _import(root: Path, documents: list[tuple[str, dict[str, object]]], env: dict[str, str],
            source_type: str, start: int) -> list[int]:  # fmt: skip
    """Import ``documents`` renamed ``<name> #<n>`` from ``start``; which of them landed."""
    folder = root / f"{source_type}-{start}"
    folder.mkdir()
    for offset, (stem, document) in enumerate(documents):
        name = f"{document.get('name') or stem} #{start + offset}"
        (folder / f"{offset:05}-{stem}.json").write_text(json.dumps(document | {"name": name}))
    _, result = run_timed(
        [PUMPFLIX, "templates", "import", str(folder), "--type", source_type, "--json", "-q",
         "--repair"],
        env,
    )  # fmt: skip
    if result.returncode not in (0, 5):
        sys.exit(result.stderr)
    landed = {Path(t["path"]).name for t in json.loads(result.stdout)["templates"]}
    return [i for i in range(len(documents)) if f"{i:05}-{documents[i][0]}.json" in landed]


@contextmanager
def seeded_database(count: int = COUNT) -> Iterator[str]:
    """A scratch PostgreSQL database holding ``count`` templates from the corpus (renamed
    copies past its end, and in place of files that do not import), half of each type."""
    with scratch_database() as url, tempfile.TemporaryDirectory() as folder:
        env = clean_env({"DATABASE_URL": url})
        _, result = run_timed([PUMPFLIX, "db", "upgrade", "-q"], env)
        if result.returncode:
            sys.exit(result.stderr)
        documents = workflows()
        failed: set[int] = set()  # documents that do not import, left out of later rounds
        number = 0  # names stay unique across rounds: "<name> #<number>"
        for source_type, wanted in (("prebuilt", count // 2), ("user", count - count // 2)):
            landed = 0
            while landed < wanted:
                pool = [i for i in range(len(documents)) if i not in failed]
                picks = [pool[(number + k) % len(pool)] for k in range(wanted - landed)]
                kept = _import(
                    Path(folder), [documents[i] for i in picks], env, source_type, number
                )
                landed_now = set(kept)
                failed.update(pick for k, pick in enumerate(picks) if k not in landed_now)
                landed += len(kept)
                number += len(picks)
        print(f"templates: {count} imported from {corpus() / 'clean'}")
        yield url


def flush(client: redis.Redis, prefix: str) -> None:
    keys = list(client.scan_iter(match=prefix + "*", count=1000))
    keys += client.scan_iter(match="{" + prefix + "*", count=1000)  # the side keys
    for start in range(0, len(keys), 1000):
        client.delete(*keys[start : start + 1000])


def measure(url: str, runs: int) -> tuple[float, float, Mapping[str, object]]:
    run = uuid.uuid4().hex[:8]
    ours_prefix, floor_prefix = f"bench-warm-{run}:", f"bench-floor-{run}:"
    client = redis.Redis.from_url(REDIS_URL)
    env = clean_env(
        {"DATABASE_URL": url, "REDIS_URL": REDIS_URL, "PUMPFLIX_CACHE_PREFIX": ours_prefix}
    )
    ours: list[float] = []
    floor: list[float] = []
    last: Mapping[str, object] = {}
    try:
        for _ in range(runs):
            flush(client, floor_prefix)
            seconds, result = run_timed(
                [sys.executable, "-c", FLOOR, url, REDIS_URL, floor_prefix], clean_env({})
            )
            if result.returncode:
                sys.exit(result.stderr)
            floor.append(seconds)
            flush(client, ours_prefix)
            seconds, result = run_timed([PUMPFLIX, "cache", "warm", "--json", "-q"], env)
            if result.returncode:
                sys.exit(result.stderr)
            ours.append(seconds)
            last = json.loads(result.stdout)
    finally:
        flush(client, ours_prefix)
        flush(client, floor_prefix)
        client.close()
    return statistics.median(ours), statistics.median(floor), last


def fixed_cost(runs: int) -> float:
    """`cache warm` of an empty database: what the command costs before any template
    (interpreter, imports, settings, connections, schema check, exit)."""
    with scratch_database() as url:
        env = clean_env(
            {"DATABASE_URL": url, "REDIS_URL": REDIS_URL, "PUMPFLIX_CACHE_PREFIX": "bench-empty:"}
        )
        run_timed([PUMPFLIX, "db", "upgrade", "-q"], env)
        times = [run_timed([PUMPFLIX, "cache", "warm", "-q"], env)[0] for _ in range(runs)]
    client = redis.Redis.from_url(REDIS_URL)
    flush(client, "bench-empty:")
    client.close()
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with seeded_database() as url:
        ours, floor, last = measure(url, args.runs)
    empty = fixed_cost(args.runs)
    print(
        f"cache warm: {last['warmed']} templates, {last['byType']}; in-process {last['seconds']} s"
    )
    ok = report(
        f"pumpflix cache warm (median of {args.runs})",
        ours,
        f"floor: read rows + pipelined SET EX (median of {args.runs})",
        floor,
        FACTOR,
    )
    print(
        f"of which fixed: `cache warm` of an empty database {empty:.3f} s (interpreter, "
        f"Typer, pydantic-settings, SQLAlchemy, psycopg, redis-py, connections, exit); "
        f"the 2,000 templates themselves: {ours - empty:.3f} s"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
