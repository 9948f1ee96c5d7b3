"""Every table at 60, 80 and 120 columns: on a terminal the least important columns go
first and long cells are cut with an ellipsis, a name never below a readable width, a
status never; no table line is wider than the terminal; sentences are never split across
lines; piped, tables are whole (every value, one line a row) whatever COLUMNS says."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len

from pumpflix_cli.config import Settings
from pumpflix_cli.db.engine import Database
from pumpflix_cli.output import Output
from pumpflix_cli.tables import NAME_WIDTH, Column, fit_columns, minimum, overhead
from tests.conftest import CliRun
from tests.factories import workflow, write
from tests.helpers import import_json, show_json

WIDTHS = [60, 80, 120]
# What Rich needs to see a terminal of that width in CliRunner (colour off; bold stays).
TERMINAL = {"TTY_COMPATIBLE": "1", "NO_COLOR": "1", "TERM": "xterm"}
CSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")
LONG = [
    "Send a Slack message whenever a new GitHub issue is opened in the main repository",
    "Nightly backup of every Postgres table to S3 with a summary e-mail to the on-call team",
    "Short",
]
STATUSES = {"created", "deploying", "running", "success", "error", "canceled"}


# --- the rule on its own ---------------------------------------------------------------

columns_st = st.lists(
    st.tuples(
        st.builds(
            Column,
            header=st.text("abcdefgh ", min_size=0, max_size=12),
            priority=st.integers(0, 6),
            fit=st.sampled_from(["whole", "name", "text", "wrap"]),
        ),
        st.integers(1, 120),
    ),
    min_size=1,
    max_size=9,
)


@settings(deadline=None)
@given(columns_st, st.integers(20, 200))
def test_fitted_columns_keep_their_floor_and_drop_the_least_important_first(
    columns: list[tuple[Column, int]], width: int
) -> None:
    specs = [c for c, _ in columns]
    natural = [max(n, len(c.header)) for c, n in columns]
    widths = fit_columns(specs, natural, width)
    kept = [i for i, w in enumerate(widths) if w is not None]
    assert kept, "at least one column is always shown"
    for i in kept:
        w = widths[i]
        assert w is not None and w <= natural[i]
        if len(kept) > 1:
            assert w >= minimum(specs[i], natural[i])
        if specs[i].fit == "whole" and len(kept) > 1:
            assert w == natural[i], "ids, statuses, numbers and times are never cut"
    if len(kept) > 1:
        assert sum(w for w in widths if w is not None) + overhead(len(kept)) <= width
    for dropped in (i for i, w in enumerate(widths) if w is None):
        for i in kept:
            assert (specs[i].priority, i) < (specs[dropped].priority, dropped)
    if sum(natural) + overhead(len(specs)) <= width:
        assert widths == natural, "a table that fits is left as it is"


def test_a_name_is_never_cut_below_a_readable_width() -> None:
    specs = [Column("id"), Column("name", fit="name"), Column("status")]
    widths = fit_columns(specs, [8, 90, 9], 43)
    assert widths == [8, NAME_WIDTH, 9]
    assert fit_columns(specs, [8, 90, 9], 42)[2] is None, "the status goes whole, or not at all"


# --- what a command prints -------------------------------------------------------------


@dataclass
class Table:
    header: list[str] | None
    rows: list[list[str]]
    lines: list[str]


def printed_tables(text: str) -> list[Table]:
    found: list[Table] = []
    current: Table | None = None
    for line in text.splitlines():
        if line[:1] in {"┏", "┌"}:
            current = Table(None, [], [line])
            found.append(current)
            continue
        if current is None:
            continue
        current.lines.append(line)
        if line[:1] == "┃":
            current.header = [cell.strip() for cell in line.strip("┃").split("┃")]
        elif line[:1] == "│":
            current.rows.append([cell.strip() for cell in line.strip("│").split("│")])
        elif line[:1] in {"└", "┗"}:
            current = None
    return found


def run_at(cli: CliRun, width: int | None, *args: str, **env: str) -> tuple[str, str, int]:
    """stdout and stderr of ``pumpflix ARGS`` on a terminal ``width`` wide (``None``:
    piped), with our own styling removed."""
    settings = {"COLUMNS": str(width or 60), **env}
    if width is not None:
        settings |= TERMINAL
    result = cli(*args, env=settings)
    return CSI.sub("", result.stdout), CSI.sub("", result.stderr), result.exit_code


def assert_fits(table: Table, width: int) -> None:
    wide = [line for line in table.lines if cell_len(line) > width]
    assert not wide, f"wider than {width}: {wide}"
    for row in table.rows:
        assert "…" not in row, f"a cell cut to nothing: {row}"


def column(table: Table, name: str) -> list[str] | None:
    assert table.header is not None
    if name not in table.header:
        return None
    index = table.header.index(name)
    return [row[index] for row in table.rows]


def assert_names_readable(cells: list[str], names: list[str]) -> None:
    for cell in cells:
        if cell in names:
            continue
        assert cell.endswith("…"), cell
        assert cell_len(cell) >= NAME_WIDTH, f"{cell!r} is cut below {NAME_WIDTH}"
        assert any(name.startswith(cell[:-1]) for name in names), cell


@pytest.fixture
def long_names(cli: CliRun, tmp_path: Path) -> list[str]:
    for index, name in enumerate(LONG):
        write(tmp_path / "in", f"{index}.json", workflow(name, text=name, extra_node=True))
    code, report = import_json(cli, str(tmp_path / "in"), "--type", "prebuilt")
    assert code == 0, report
    return LONG


@pytest.mark.parametrize("width", WIDTHS)
def test_templates_list_keeps_names_readable(
    cli: CliRun, long_names: list[str], width: int
) -> None:
    out, _, code = run_at(cli, width, "templates", "list")
    assert code == 0
    [table] = printed_tables(out)
    assert_fits(table, width)
    assert table.header is not None and table.header[:2] == ["id", "name"]
    assert_names_readable(column(table, "name") or [], long_names)
    assert len(table.rows) == len(long_names), "one line a row"
    if width >= 120:
        assert column(table, "updated") is not None


@pytest.mark.parametrize("width", WIDTHS)
def test_templates_show_folds_values_and_never_cuts_them(
    cli: CliRun, long_names: list[str], width: int
) -> None:
    out, _, code = run_at(cli, width, "templates", "show", long_names[0])
    assert code == 0
    fields, history = printed_tables(out)
    for table in (fields, history):
        assert_fits(table, width)
    folded = " ".join(row[1] for row in fields.rows if len(row) == 2)
    assert long_names[0] in folded.replace("  ", " ")
    assert column(history, "version") == ["1"]


def test_piped_tables_are_whole_whatever_columns_says(cli: CliRun, long_names: list[str]) -> None:
    out, _, code = run_at(cli, None, "templates", "list", COLUMNS="40")
    assert code == 0
    [table] = printed_tables(out)
    assert sorted(column(table, "name") or []) == sorted(long_names), "names whole"
    assert column(table, "vars") is not None, "no column is dropped when piped"
    assert len(table.rows) == len(long_names)


@pytest.fixture
def database(cli: CliRun) -> Iterator[Database]:
    assert cli("db", "upgrade").exit_code == 0
    db = Database(Settings())
    yield db
    db.dispose()


def add_instances(database: Database, template: dict[str, Any]) -> None:
    from pumpflix_cli.db.instances import InstanceStore
    from pumpflix_cli.records import EventRecord

    with database.session() as session:
        store = InstanceStore(session)
        for index, status in enumerate(sorted(STATUSES)):
            instance_id = f"{index:08d}-0000-4000-8000-000000000000"
            store.create(
                instance_id,
                template_id=template["id"],
                template_version=template["version"],
                inputs={"variables": {"GREETING": "x" * 90}, "input": None},
                credentials={},
                final_workflow=template["n8nJson"],
                status=status,
            )
            store.update(
                instance_id,
                created_at=datetime(2026, 11, 26, 12, index, tzinfo=UTC),
                n8n_workflow_id=f"wf{index}abcdefghij",
                n8n_execution_id=str(1000 + index),
                error="Node 'Post to Slack' failed: the channel was not found " * 3,
            )
            store.add_events(
                instance_id,
                [
                    EventRecord(
                        "n8n",
                        "ran in 12 ms, 1 item out; " + "a long detail " * 8,
                        node="Post to Slack",
                        time=datetime(2026, 11, 26, 12, index, tzinfo=UTC),
                    )
                ],
            )


@pytest.mark.parametrize("width", WIDTHS)
def test_instances_list_keeps_status_template_and_error(
    cli: CliRun, long_names: list[str], database: Database, width: int
) -> None:
    add_instances(database, show_json(cli, long_names[0]))
    out, _, code = run_at(cli, width, "instances", "list")
    assert code == 0
    [table] = printed_tables(out)
    assert_fits(table, width)
    assert set(column(table, "status") or []) == STATUSES, "a status is never cut"
    assert_names_readable(column(table, "template") or [], long_names)
    errors = column(table, "error")
    assert errors is not None and all(cell.startswith("Node 'Post") for cell in errors)


@pytest.mark.parametrize("width", WIDTHS)
def test_instances_show_and_logs_keep_every_value(
    cli: CliRun, long_names: list[str], database: Database, width: int
) -> None:
    add_instances(database, show_json(cli, long_names[0]))
    out, _, code = run_at(cli, width, "instances", "show", "00000000")
    assert code == 0
    [fields] = printed_tables(out)
    assert_fits(fields, width)
    assert "inputs:" in out.splitlines()
    assert '"GREETING": "' + "x" * 90 + '"' in out, "JSON is never folded"
    out, _, code = run_at(cli, width, "instances", "logs", "00000000")
    assert code == 0
    [line] = [line for line in out.splitlines() if "[Post to Slack]" in line]
    assert line.endswith("1 item out; " + "a long detail " * 8), "a log line is never split"


@pytest.mark.parametrize("width", WIDTHS)
def test_config_db_and_doctor_fit(cli: CliRun, width: int, redis_env: dict[str, str]) -> None:
    assert cli("db", "upgrade").exit_code == 0
    for args in (("config", "show"), ("db", "status"), ("doctor",)):
        out, err, code = run_at(cli, width, *args)
        assert code == 0, err
        tables = printed_tables(out)
        assert tables, args
        for table in tables:
            assert_fits(table, width)
    out, _, _ = run_at(cli, width, "config", "show")
    [table] = printed_tables(out)
    assert "PUMPFLIX_CACHE_TTL_PREBUILT" in (column(table, "setting") or [])


@pytest.mark.parametrize("width", WIDTHS)
def test_cache_stats_and_verify_fit(
    cli: CliRun, long_names: list[str], redis_env: dict[str, str], width: int
) -> None:
    assert cli("cache", "warm").exit_code == 0
    out, err, code = run_at(cli, width, "cache", "stats")
    assert code == 0, err
    counts, fields = printed_tables(out)
    for table in (counts, fields):
        assert_fits(table, width)
    assert column(counts, "type") == ["prebuilt", "user"]
    assert any("3 templates in" in " ".join(row) for row in fields.rows)
    out, err, code = run_at(cli, width, "cache", "verify")
    assert code == 0, err
    assert "3 templates, 3 cached, 0 not cached, 0 stale, 0 orphaned; lists:" in out
    assert "the cache agrees with the database" in err.splitlines()


@pytest.mark.parametrize("width", WIDTHS)
def test_n8n_status_fits_when_n8n_is_down(cli: CliRun, width: int) -> None:
    down = {"N8N_URL": "http://127.0.0.1:9", "N8N_API_KEY": "k"}
    out, err, code = run_at(cli, width, "n8n", "status", **down)
    assert code == 69
    [table] = printed_tables(out)
    assert_fits(table, width)
    [error] = [line for line in err.splitlines() if line.startswith("error: ")]
    assert "127.0.0.1:9" in error, "the error is one line, never split"


def _render_at(width: int, render: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """What a renderer prints on a terminal ``width`` wide."""
    for key, value in {**TERMINAL, "COLUMNS": str(width)}.items():
        monkeypatch.setenv(key, value)
    stdout = io.StringIO()
    render(Output(stdout=stdout, stderr=io.StringIO()))
    return CSI.sub("", stdout.getvalue())


@pytest.mark.parametrize("width", WIDTHS)
def test_n8n_diff_keeps_name_and_status(width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from pumpflix_cli.cli.n8n.diff import _render
    from pumpflix_cli.services.n8n.diff import DiffEntry, DiffReport

    statuses = ["in-sync", "differs", "missing-in-n8n", "missing-in-pumpflix"]
    report = DiffReport(
        [
            DiffEntry(status, name, source_type="prebuilt", workflow_id="AbCdEfGh12345678")  # type: ignore[arg-type]
            for status, name in zip(statuses, [*LONG, "x"], strict=True)
        ]
    )
    [table] = printed_tables(_render_at(width, lambda out: _render(out, report), monkeypatch))
    assert_fits(table, width)
    assert column(table, "status") == statuses
    assert_names_readable(column(table, "name") or [], [*LONG, "x"])


@pytest.mark.parametrize("width", WIDTHS)
def test_an_instance_run_keeps_node_and_status(width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from pumpflix_cli.cli.instances.run import _render
    from pumpflix_cli.records import EventRecord, InstanceRecord
    from pumpflix_cli.services.instances.run import RunOutcome
    from pumpflix_cli.workflow.entry_points import EntryPoint
    from pumpflix_cli.workflow.executions import ExecutionSummary

    t0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    events = [
        EventRecord(
            "n8n",
            "ran",
            node=name,
            time=t0,
            data={"status": status, "durationMs": 12, "itemsOut": 1, "error": "boom " * 30},
        )
        for name, status in zip(LONG, ["success", "error", "success"], strict=True)
    ]
    instance = InstanceRecord(
        "0f1e2d3c-0000-4000-8000-000000000000", "error", "t", LONG[0], 3, error="boom " * 30
    )
    execution = ExecutionSummary("77", "error", "error", t0, t0, events=events)
    outcome = RunOutcome(instance, EntryPoint("swapped", node=LONG[1]), events, execution)
    fields, nodes = printed_tables(
        _render_at(width, lambda out: _render(out, outcome), monkeypatch)
    )
    for table in (fields, nodes):
        assert_fits(table, width)
    assert column(nodes, "status") == ["success", "error", "success"]
    assert_names_readable(column(nodes, "node") or [], LONG)


@pytest.mark.parametrize("width", WIDTHS)
def test_sentences_are_never_split(cli: CliRun, tmp_path: Path, width: int) -> None:
    for index, name in enumerate(LONG):
        write(tmp_path / "in", f"{index}.json", workflow(name, text=name))
    write(tmp_path / "in", "broken-" + "x" * 80 + ".json", {"nodes": "not a list"})
    out, err, _ = run_at(cli, width, "templates", "import", str(tmp_path / "in"))
    assert "created 3, updated 0, unchanged 0, failed 1" in out.splitlines()
    [failed] = [line for line in err.splitlines() if line.startswith("failed: ")]
    assert "broken-" + "x" * 80 + ".json: " in failed
    out, _, _ = run_at(cli, width, "templates", "export", "--out", str(tmp_path / "e" / ("d" * 90)))
    assert f"exported 3 templates to {tmp_path / 'e' / ('d' * 90)}" in out.splitlines()


SENTENCES: dict[str, Any] = {
    "text": lambda out, m: out.text(m),
    "line": lambda out, m: out.line(m),
    "info": lambda out, m: out.info(m),
    "success": lambda out, m: out.success(m),
    "warn": lambda out, m: out.warn(m),
    "failure": lambda out, m: out.failure(m),
    "error": lambda out, m: out.error(m, hint=m),
}


@pytest.mark.parametrize("name", sorted(SENTENCES))
@pytest.mark.parametrize("width", WIDTHS)
def test_no_sentence_is_folded_at_the_terminal_width(
    name: str, width: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in {**TERMINAL, "COLUMNS": str(width)}.items():
        monkeypatch.setenv(key, value)
    message = "created 3, updated 0, unchanged 0 " + "and a long tail of words " * 12
    stdout, stderr = io.StringIO(), io.StringIO()
    SENTENCES[name](Output(stdout=stdout, stderr=stderr), message.strip())
    lines = [line for line in CSI.sub("", stdout.getvalue() + stderr.getvalue()).splitlines()]
    assert lines and all(line.endswith(message.strip()) for line in lines), lines
