"""n8n executions read into what an instance records, without n8n or a database: statuses,
node runs in the order n8n ran them, errors, output, and executions missing parts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from pumpflix_cli.records import EventRecord
from pumpflix_cli.workflow import (
    FINISHED_STEP,
    execution_order,
    instance_status,
    node_events,
    recorded_executions,
    summarize,
    with_entry_point,
)
from tests.factories import workflow


def _run(
    start: int, ms: int, items: int, *, index: int, error: str | None = None
) -> dict[str, Any]:
    run: dict[str, Any] = {
        "startTime": start,
        "executionIndex": index,
        "executionTime": ms,
        "executionStatus": "error" if error else "success",
        "data": {"main": [[{"json": {"n": i}} for i in range(items)]]},
    }
    if error:
        run["error"] = {"message": error, "description": "from a test"}
        del run["data"]
    return run


def execution(status: str, run_data: dict[str, Any], last: str) -> dict[str, Any]:
    """The shape n8n 2.40 returns for GET /executions/{id}?includeData=true."""
    result: dict[str, Any] = {"runData": run_data, "lastNodeExecuted": last}
    if status == "error":
        result["error"] = {"message": "boom [line 1]", "name": "WrappedExecutionError"}
    return {
        "id": "31",
        "finished": status == "success",
        "mode": "webhook",
        "status": status,
        "startedAt": "2026-11-26T13:46:54.727Z",
        "stoppedAt": "2026-11-26T13:46:54.765Z",
        "workflowId": "wf1",
        "data": {"resultData": result},
    }


def test_a_successful_execution_gives_one_event_per_node_run_and_the_output() -> None:
    summary = summarize(
        execution(
            "success",
            {
                "Set": [_run(1795700814748, 17, 2, index=1)],
                "Start": [_run(1795700814747, 1, 1, index=0)],
            },
            "Set",
        )
    )
    assert (summary.id, summary.status, summary.duration_ms) == ("31", "success", 38)
    assert summary.output == [{"n": 0}, {"n": 1}]
    assert [(e.node, e.message) for e in summary.events] == [
        ("Start", "success: 1 item out in 1 ms"),
        ("Set", "success: 2 items out in 17 ms"),
    ]
    assert summary.events[1].data == {
        "executionId": "31",
        "run": 0,
        "status": "success",
        "startedAt": "2026-11-26T13:46:54.748000+00:00",
        "durationMs": 17,
        "itemsOut": 2,
    }
    assert summary.error is None


def test_the_webhook_standing_in_for_a_trigger_is_left_out_of_the_node_runs() -> None:
    deployed, entry = with_entry_point(workflow(), "pumpflix-x")
    trigger, stand_in = entry.node, entry.stand_in
    assert trigger is not None and stand_in is not None
    run = execution(
        "success",
        {
            stand_in: [_run(1795700814746, 1, 1, index=0)],
            trigger: [_run(1795700814747, 40, 1, index=1)],
            "Set greeting": [_run(1795700814788, 5, 1, index=2)],
        },
        "Set greeting",
    )
    run["workflowData"] = deployed

    summary = summarize(run)

    assert [(e.node, e.data and e.data["itemsOut"]) for e in summary.events] == [
        (trigger, 1),
        ("Set greeting", 1),
    ]
    assert summary.output == [{"n": 0}]
    del run["workflowData"]  # without the workflow there is no telling: every node shows
    assert [e.node for e in summarize(run).events] == [stand_in, trigger, "Set greeting"]


def test_a_failed_execution_names_the_node_and_its_message() -> None:
    summary = summarize(
        execution(
            "error",
            {
                "Start": [_run(1795700814747, 1, 1, index=0)],
                "Code": [_run(1795700814748, 9, 0, index=1, error="boom [line 1]")],
            },
            "Code",
        )
    )
    assert (summary.status, summary.failed_node, summary.error) == (
        "error",
        "Code",
        "boom [line 1]",
    )
    assert summary.output is None
    failed = summary.events[-1]
    assert (failed.level, failed.node, failed.message) == ("error", "Code", "boom [line 1]")
    assert failed.data is not None and failed.data["description"] == "from a test"
    assert "failed at node 'Code': boom [line 1]" in summary.finished_event().message


@pytest.mark.parametrize(
    ("n8n_status", "status"),
    [
        ("running", "running"),
        ("waiting", "running"),
        ("new", "running"),
        ("crashed", "error"),
        ("canceled", "canceled"),
    ],
)
def test_n8n_statuses_map_onto_instance_statuses(n8n_status: str, status: str) -> None:
    assert summarize(execution(n8n_status, {}, "Start")).status == status


def test_an_execution_without_data_is_read_as_far_as_it_goes() -> None:
    summary = summarize({"id": 8, "status": "error"})
    assert (summary.id, summary.status, summary.n8n_status) == ("8", "error", "error")
    assert (summary.started_at, summary.stopped_at, summary.duration_ms) == (None, None, None)
    assert summary.events == []
    assert summary.error == "the execution ended with status error"
    assert summarize({}).status == "running"  # no status at all: not finished


def test_a_canceled_execution_says_so_and_gives_no_output() -> None:
    summary = summarize(
        execution("canceled", {"Start": [_run(1795700814747, 1, 1, index=0)]}, "Start")
    )
    assert (summary.status, summary.output) == ("canceled", None)
    assert summary.error == "the execution was canceled in n8n"
    assert summary.finished


def test_a_failed_node_without_an_execution_error_gives_the_error_and_names_the_node() -> None:
    document = execution("error", {"Code": [_run(1795700814748, 9, 0, index=0, error="bad")]}, "")
    del document["data"]["resultData"]["error"]
    summary = summarize(document)
    assert (summary.failed_node, summary.error) == ("Code", "bad")


def test_an_error_without_a_message_is_named_by_its_name() -> None:
    run = {
        "startTime": 1795700814748,
        "executionStatus": "error",
        "error": {"name": "NodeApiError"},
    }
    (event,) = node_events("5", {"HTTP": [run]})
    assert (event.level, event.message, event.data["error"]) == (  # type: ignore[index]
        "error",
        "NodeApiError",
        "NodeApiError",
    )


def test_malformed_runs_are_skipped_and_runs_without_times_still_count() -> None:
    events = node_events(
        "5",
        {
            "Broken": "not a list",
            "Half": [None, {"data": {"main": [None, [{"json": {}}, "junk"]]}}],
        },
    )
    (event,) = events
    assert (event.node, event.message) == ("Half", "success: 1 item out")
    assert event.data is not None and event.data["run"] == 1
    assert event.data["startedAt"] is None and event.data["durationMs"] is None


def test_runs_of_one_node_are_ordered_by_n8n_s_execution_index() -> None:
    loop = [_run(1795700814750, 1, 1, index=2), _run(1795700814749, 1, 2, index=1)]
    events = node_events("5", {"Loop": loop, "Start": [_run(1795700814747, 1, 1, index=0)]})
    assert [(e.node, (e.data or {})["run"]) for e in events] == [
        ("Start", 0),
        ("Loop", 1),
        ("Loop", 0),
    ]


def test_output_is_the_last_node_s_items_across_every_branch() -> None:
    branches = _run(1795700814748, 3, 0, index=0)
    branches["data"] = {"main": [[{"json": {"ok": True}}], [{"json": {"ok": False}}]]}
    summary = summarize(execution("success", {"If": [branches]}, "If"))
    assert summary.output == [{"ok": True}, {"ok": False}]
    assert summary.events[0].message == "success: 2 items out in 3 ms"


def test_the_finished_event_marks_the_execution_as_recorded() -> None:
    summary = summarize(execution("success", {}, "Start"))
    finished = summary.finished_event()
    assert finished.message == "n8n execution 31 finished: success in 38 ms"
    assert finished.time == datetime(2026, 11, 26, 13, 46, 54, 765000, tzinfo=UTC)
    assert finished.data == {
        "step": FINISHED_STEP,
        "executionId": "31",
        "status": "success",
        "durationMs": 38,
    }
    other = EventRecord("n8n", "a node run", data={"executionId": "30"})
    assert recorded_executions([finished, other]) == {"31"}


@pytest.mark.parametrize(
    ("n8n_status", "status"),
    [("success", "success"), ("error", "error"), ("crashed", "error"), ("waiting", "running")],
)
def test_instance_status_words(n8n_status: str, status: str) -> None:
    assert instance_status(n8n_status) == status


def test_execution_ids_sort_as_numbers() -> None:
    assert sorted(["10", "9", "x", "100"], key=execution_order) == ["x", "9", "10", "100"]
