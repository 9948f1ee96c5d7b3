"""Shared by the benchmarks: a scratch PostgreSQL database and timing of commands."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import psycopg

ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://root@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PUMPFLIX = str(Path(sys.executable).with_name("pumpflix"))


def corpus() -> Path:
    root = os.environ.get("PUMPFLIX_CORPUS") or str(Path(__file__).parents[2] / "shared/corpus")
    path = Path(root)
    if not path.is_dir():
        sys.exit(f"no corpus at {path}: set PUMPFLIX_CORPUS")
    return path


@contextmanager
def scratch_database() -> Iterator[str]:
    name = f"pumpflix_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield ADMIN_URL.rpartition("/")[0] + "/" + name
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def clean_env(extra: Mapping[str, str]) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PUMPFLIX_") and k not in {"DATABASE_URL", "REDIS_URL"}
    }
    return env | dict(extra)


def run_timed(
    args: list[str], env: Mapping[str, str]
) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    result = subprocess.run(args, env=dict(env), capture_output=True, text=True, check=False)
    return time.perf_counter() - started, result


def report(label: str, ours: float, limit_label: str, reference: float, factor: float) -> bool:
    ratio = ours / reference
    ok = ratio <= factor
    print(f"{label}: {ours:.3f} s")
    print(f"{limit_label}: {reference:.3f} s")
    print(f"ratio: {ratio:.2f} (limit {factor}) {'ok' if ok else 'OVER THE LIMIT'}")
    return ok
