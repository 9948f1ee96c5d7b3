"""`templates import` of the corpus into PostgreSQL against the floor (SPEC §8).

The floor: one plain Python process that reads and parses the same files and COPYs
their rows into the platform's "WorkflowTemplate" table (PLATFORM.md's DDL: JSON as text,
lists as TEXT[]). Ours: `pumpflix templates import` of the same
folder into a fresh, migrated database, as a fresh process. Limit 3×. Also prints the
per-workflow time against n8n's own `import:workflow` (3.6 s for 300 files, measured on
this machine): pumpflix must be ≥ 20× faster per workflow.

    .venv/bin/python bench/import.py [FOLDER]   (default: $PUMPFLIX_CORPUS/clean)
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from bench.common import PUMPFLIX, clean_env, corpus, report, run_timed, scratch_database

N8N_SECONDS_PER_WORKFLOW = 3.6 / 300
FACTOR = 3.0
CHILD_FLOOR = """
import json, sys, uuid, time
from datetime import UTC, datetime
from pathlib import Path
import psycopg
from pumpflix_cli.db.migrations.platform_table import PLATFORM_DDL
url, folder = sys.argv[1], sys.argv[2]
started = time.perf_counter()
rows = []
for path in sorted(Path(folder).rglob("*.json")):
    try:
        doc = json.loads(path.read_bytes())
    except ValueError:
        continue
    name = doc.get("name", path.stem) if isinstance(doc, dict) else path.stem
    now = datetime.now(UTC).replace(tzinfo=None)
    rows.append((str(uuid.uuid4()), str(name), "", "prebuilt", json.dumps(doc), [], [], now, now))
columns = (
    '"id", "name", "description", "sourceType", "n8nJson", "requiredCredentials", '
    '"inputVariables", "createdAt", "updatedAt"'
)
with psycopg.connect(url) as conn:
    conn.execute(PLATFORM_DDL)
    with conn.cursor().copy(f'COPY "WorkflowTemplate" ({columns}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)
print(len(rows))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", nargs="?", type=Path)
    parser.add_argument("--runs", type=int, default=3, help="interleaved runs; medians compared")
    args = parser.parse_args()
    folder = args.folder or corpus() / "clean"
    files = sum(1 for _ in folder.rglob("*.json"))
    floors, ours, agains = [], [], []
    for _ in range(args.runs):
        with scratch_database() as floor_url:
            seconds, result = run_timed(
                [sys.executable, "-c", CHILD_FLOOR, floor_url, str(folder)], clean_env({})
            )
            if result.returncode:
                sys.exit(result.stderr)
            floors.append(seconds)
        with scratch_database() as url:
            env = clean_env({"DATABASE_URL": url})
            run_timed([PUMPFLIX, "db", "upgrade", "-q"], env)
            command = [PUMPFLIX, "templates", "import", str(folder), "--json", "-q"]
            seconds, result = run_timed(command, env)
            if result.returncode not in (0, 5):
                sys.exit(result.stderr)
            ours.append(seconds)
            counts = json.loads(result.stdout)
            agains.append(run_timed(command, env)[0])
    print(
        f"files: {files}; imported: created {counts['created']}, "
        f"unchanged {counts['unchanged']}, failed {counts['failed']}; median of {args.runs} runs"
    )
    ours_s, floor_s = statistics.median(ours), statistics.median(floors)
    ok = report(
        "pumpflix templates import",
        ours_s,
        "floor: parse + COPY (platform)",
        floor_s,
        FACTOR,
    )
    per = ours_s / files
    speedup = N8N_SECONDS_PER_WORKFLOW / per
    print(
        f"per workflow: {per * 1000:.2f} ms; n8n import:workflow: "
        f"{N8N_SECONDS_PER_WORKFLOW * 1000:.1f} ms -> {speedup:.1f}x faster (target 20x) "
        f"{'ok' if speedup >= 20 else 'SHORT OF THE TARGET'}"
    )
    print(f"re-import (all unchanged): {statistics.median(agains):.3f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
