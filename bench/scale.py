"""20,000 templates: time and peak memory of import, list, warm and export (issue 7).

Generates 20,000 workflows from the corpus's valid files (renamed copies), imports them
into a scratch PostgreSQL database, then measures `templates list --json` (cold and warm
cache), `cache warm` and `templates export` — each a fresh process whose peak resident
memory is read from the kernel (wait4). Limits: export and list --json ≤ 150 MB.

    .venv/bin/python -m bench.scale [--count 20000]
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
from pathlib import Path

from bench.common import PUMPFLIX, REDIS_URL, clean_env, corpus, scratch_database
from pumpflix_cli.workflow import WorkflowError, parse_json, prepare

MEMORY_LIMIT_MB = 150


def generate(count: int, folder: Path) -> int:
    """``count`` workflow files in ``folder``, copies of the corpus's valid ones renamed."""
    sources = []
    for path in sorted((corpus() / "clean").rglob("*.json")):
        try:
            document = parse_json(path.read_bytes())
            prepare(document, fallback_name=path.stem)
        except WorkflowError:
            continue
        if isinstance(document, dict):
            sources.append(document)
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        document = dict(sources[index % len(sources)])
        document["name"] = f"{document.get('name') or 'workflow'} #{index:05d}"
        (folder / f"{index:05d}.json").write_text(json.dumps(document))
    return count


def measure(label: str, args: list[str], env: dict[str, str], limit_mb: float | None) -> bool:
    started = time.perf_counter()
    process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    peak_mb = usage.ru_maxrss / 1024
    verdict = ""
    ok = True
    if limit_mb is not None:
        ok = peak_mb <= limit_mb
        verdict = f" (limit {limit_mb:.0f} MB) {'ok' if ok else 'OVER THE LIMIT'}"
    code = f" exit {process.returncode}" if process.returncode not in (0, 5) else ""
    print(f"{label}: {seconds:.2f} s, peak {peak_mb:.0f} MB{verdict}{code}")
    return ok and process.returncode in (0, 5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch, scratch_database() as url:
        folder = Path(scratch) / "workflows"
        generate(args.count, folder)
        prefix = f"pumpflix-bench-{uuid.uuid4().hex[:8]}:"
        env = clean_env(
            {"DATABASE_URL": url, "REDIS_URL": REDIS_URL, "PUMPFLIX_CACHE_PREFIX": prefix}
        )
        subprocess.run([PUMPFLIX, "db", "upgrade", "-q"], env=env, check=True)
        print(f"{args.count} templates")
        results = [
            measure("import", [PUMPFLIX, "templates", "import", str(folder), "-q"], env, None),
            measure(
                "list --json (cold cache)",
                [PUMPFLIX, "templates", "list", "--json"],
                env,
                MEMORY_LIMIT_MB,
            ),
            measure("cache warm", [PUMPFLIX, "cache", "warm", "-q"], env, None),
            measure(
                "list --json (warm cache)",
                [PUMPFLIX, "templates", "list", "--json"],
                env,
                MEMORY_LIMIT_MB,
            ),
            measure(
                "list --json --no-cache",
                [PUMPFLIX, "templates", "list", "--json", "--no-cache"],
                env,
                MEMORY_LIMIT_MB,
            ),
            measure(
                "export --out DIR",
                [PUMPFLIX, "templates", "export", "--out", str(Path(scratch) / "out"), "-q"],
                env,
                MEMORY_LIMIT_MB,
            ),
            measure(
                "export --out -",
                [PUMPFLIX, "templates", "export", "--out", "-", "-q"],
                env,
                MEMORY_LIMIT_MB,
            ),
        ]
        subprocess.run([PUMPFLIX, "cache", "flush", "--yes", "-q"], env=env, check=False)
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
