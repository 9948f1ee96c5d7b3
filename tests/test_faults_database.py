"""PostgreSQL's connection killed in the middle of an import (``pg_terminate_backend``):
the import exits 69 naming PostgreSQL, leaves no half-written template, and a re-run
completes."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import psycopg

from pumpflix_cli.exit_codes import ExitCode
from tests.conftest import PG_ADMIN_URL
from tests.factories import workflow, write
from tests.helpers import PUMPFLIX, subprocess_env


def _kill_pumpflix_backends(database: str) -> int:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND application_name = 'pumpflix' AND state <> 'idle'",
            (database,),
        ).fetchall()
    return len(rows)


def _consistent(database_url: str) -> tuple[int, int]:
    """(templates, templates whose current version row is missing or differs)."""
    with psycopg.connect(database_url) as conn:
        total = conn.execute('SELECT count(*) FROM "WorkflowTemplate"').fetchone()
        broken = conn.execute(
            'SELECT count(*) FROM "WorkflowTemplate" t '
            "LEFT JOIN pumpflix_templates m ON m.id = t.id "
            "LEFT JOIN pumpflix_template_versions v "
            "ON v.template_id = m.id AND v.version = m.version "
            "WHERE v.template_id IS NULL OR v.content_hash <> m.content_hash "
            'OR v.workflow <> t."n8nJson"::jsonb'
        ).fetchone()
    assert total is not None and broken is not None
    return int(total[0]), int(broken[0])


def test_a_killed_connection_leaves_no_half_written_template(
    tmp_path: Path, empty_postgres_url: str
) -> None:
    database = empty_postgres_url.rpartition("/")[2]
    env = subprocess_env({"DATABASE_URL": empty_postgres_url})
    subprocess.run([PUMPFLIX, "db", "upgrade", "-q"], env=env, check=True)
    folder = tmp_path / "in"
    for index in range(3000):
        write(folder, f"{index:04}.json", workflow(f"Template {index:04}", text="x" * 2000))
    process = subprocess.Popen(
        [PUMPFLIX, "templates", "import", str(folder), "--json", "-q"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    killed = 0
    while process.poll() is None and not killed:
        killed = _kill_pumpflix_backends(database)
        time.sleep(0.01)
    _, stderr = process.communicate(timeout=120)
    if killed and process.returncode != 0:
        assert process.returncode == ExitCode.UNAVAILABLE, stderr
        assert "PostgreSQL" in stderr
        assert "Traceback" not in stderr
    total, broken = _consistent(empty_postgres_url)
    assert broken == 0
    assert total < 3000 or process.returncode == 0

    again = subprocess.run(
        [PUMPFLIX, "templates", "import", str(folder), "--json", "-q"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["created"] + report["unchanged"] == 3000
    assert _consistent(empty_postgres_url) == (3000, 0)
