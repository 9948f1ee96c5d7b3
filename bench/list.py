"""`templates list --json` of 2,000 templates on a warm cache against the floor (SPEC §8).

The floor: a minimal redis-py read of the platform's keys, as its `getTemplates` does for
both types: `LRANGE` of the two lists (one pipeline), then `GET` of every entry (one
pipeline), printed. Ours: `pumpflix templates list --json` as a fresh process, which
reads pumpflix's two summary indexes beside them in one round trip, counts the hits, and
prints the templates merged and sorted, with their versions and hashes. Both run
interleaved, several times; the figures are medians. Limit 2×.

When ours is over the limit the script shows where the time goes: the imports of a warm
`templates list` (``python -X importtime``) and the time of an empty run of the CLI.

    .venv/bin/python bench/list.py [--runs 9]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
import uuid

import redis

from bench.common import PUMPFLIX, REDIS_URL, clean_env, report, run_timed
from bench.warm import flush, seeded_database

FACTOR = 2.0
FLOOR = """
import sys, redis
redis_url, prefix = sys.argv[1:3]
client = redis.Redis.from_url(redis_url)
pipe = client.pipeline(transaction=False)
for source_type in ("prebuilt", "user"):
    pipe.lrange(f"{prefix}templates:{source_type}", 0, -1)
ids = [i for found in pipe.execute() for i in found]
pipe = client.pipeline(transaction=False)
for template_id in ids:
    pipe.get(prefix.encode() + b"template:" + template_id)
out = sys.stdout.buffer
for value in pipe.execute():
    out.write(value)
    out.write(b"\\n")
"""


def timed_runs(command: list[str], env: dict[str, str]) -> float:
    seconds, result = run_timed(command, env)
    if result.returncode:
        sys.exit(f"{command[:3]}: {result.stderr}")
    return seconds


def explain(env: dict[str, str]) -> None:
    """Where a warm `templates list --json` spends its time before it does any work."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "pumpflix_cli", "templates", "list", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    rows = []
    for line in result.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if match and len(match.group(3)) <= 2:  # top-level and first-level imports
            rows.append((int(match.group(2)), match.group(4)))
    total = sum(c for c, name in rows if not name.startswith(" "))
    print("where the time goes: cumulative import time of a warm `templates list --json`")
    for cumulative, name in sorted(rows, reverse=True)[:12]:
        print(f"  {cumulative / 1000:7.1f} ms  {name}")
    print(f"  (-X importtime inflates these; top-level sum {total / 1000:.0f} ms)")
    version, _ = run_timed([PUMPFLIX, "--version"], env)
    print(f"  `pumpflix --version` (Typer only): {version:.3f} s")


def explain_rendering(listed: str) -> None:
    """What printing the list costs once the data is in hand."""
    from pumpflix_cli.output import to_json

    data = json.loads(listed)
    started = time.perf_counter()
    to_json(data)
    pretty = time.perf_counter() - started
    started = time.perf_counter()
    json.dumps(data, ensure_ascii=False)
    compact = time.perf_counter() - started
    print(
        f"  rendering {len(data)} templates as indented JSON (output.to_json): {pretty:.3f} s; "
        f"compact, with the C encoder: {compact:.3f} s"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--explain", action="store_true", help="always show where time goes")
    args = parser.parse_args()
    prefix = f"bench-list-{uuid.uuid4().hex[:8]}:"
    client = redis.Redis.from_url(REDIS_URL)
    try:
        with seeded_database() as url:
            env = clean_env(
                {"DATABASE_URL": url, "REDIS_URL": REDIS_URL, "PUMPFLIX_CACHE_PREFIX": prefix}
            )
            timed_runs([PUMPFLIX, "cache", "warm", "-q"], env)
            ours_cmd = [PUMPFLIX, "templates", "list", "--json"]
            floor_cmd = [sys.executable, "-c", FLOOR, REDIS_URL, prefix]
            _, listed = run_timed(ours_cmd, env)
            count = len(json.loads(listed.stdout))
            ours, floor = [], []
            for _ in range(args.runs):
                ours.append(timed_runs(ours_cmd, env))
                floor.append(timed_runs(floor_cmd, clean_env({})))
            stats = json.loads(run_timed([PUMPFLIX, "cache", "stats", "--json"], env)[1].stdout)
            hits = sum(t["hits"] for t in stats["byType"].values())
            misses = sum(t["misses"] for t in stats["byType"].values())
            print(f"templates listed: {count}; cache hits {hits}, misses {misses}")
            ok = report(
                f"pumpflix templates list --json, warm cache (median of {args.runs})",
                statistics.median(ours),
                f"floor: redis-py LRANGE + GET of the platform's keys (median of {args.runs})",
                statistics.median(floor),
                FACTOR,
            )
            if not ok or args.explain:
                explain(env)
                explain_rendering(listed.stdout)
    finally:
        flush(client, prefix)
        client.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
