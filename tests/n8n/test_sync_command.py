"""``n8n sync`` at the command line (cli/n8n/sync.py): options that contradict each other
are refused before n8n is asked, and the plan's notes and conflicts are worded with the
options that act on them."""

from __future__ import annotations

import json

import pytest

from pumpflix_cli.cli.n8n.sync import note_text, with_settling_hint
from pumpflix_cli.exit_codes import ExitCode
from pumpflix_cli.services.n8n.plan import PlanNote, SyncProblem, SyncReport
from tests.conftest import CliRun


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ((), "error: say which way to sync\nhint: add --push, --pull or --both"),
        (("--pull", "--prune"), "error: --prune deletes from n8n, so it needs --push or --both"),
        (("--push", "--prune", "Flow"), "error: --prune works on the whole n8n, not on named"),
        (("--pull", "--prefer", "pumpflix"), "error: --prefer pumpflix needs --push or --both"),
        (("--push", "--prefer", "n8n"), "error: --prefer n8n needs --pull or --both"),
    ],
)
def test_contradictory_options_are_refused_before_n8n_is_asked(
    cli: CliRun, options: tuple[str, ...], message: str
) -> None:
    # No N8N_URL is set: asking n8n first would exit 69 instead.
    result = cli("n8n", "sync", *options)

    assert result.exit_code == ExitCode.USAGE
    assert message in result.stderr


@pytest.mark.parametrize(
    ("note", "text"),
    [
        (
            PlanNote("workflow-gone", "Flow", "wf-1"),
            "'Flow': its n8n workflow wf-1 is gone from n8n",
        ),
        (
            PlanNote("changed-in-n8n", "Flow", "wf-1"),
            "'Flow' changed in n8n since the last sync (n8n sync --pull brings it)",
        ),
        (
            PlanNote("orphan-kept", "Old {x}", "wf-2"),
            "n8n workflow 'Old {x}' (wf-2) is tagged pumpflix but has no template here: "
            "left alone (n8n sync --push --prune deletes it)",
        ),
        (
            PlanNote("deleted-kept", "Pulled", "wf-3"),
            "n8n workflow 'Pulled' (wf-3) belongs to a template deleted here: left alone, "
            "never pulled back (n8n sync --push --prune deletes it)",
        ),
    ],
)
def test_a_plan_note_names_the_command_that_acts_on_it(note: PlanNote, text: str) -> None:
    assert note_text(note) == text


def test_a_conflict_names_the_option_that_settles_it_and_a_failure_does_not() -> None:
    why = "changed in pumpflix and in n8n since the last sync"
    report = SyncReport(
        conflicts=1,
        failed=1,
        errors=[
            SyncProblem("conflict", "Flow", "t-1", "wf-1", why),
            SyncProblem("failed", "Other", "t-2", None, "n8n refused it"),
        ],
    )

    errors = json.loads(json.dumps(with_settling_hint(report).to_json()))["errors"]

    assert errors == [
        {
            "kind": "conflict",
            "name": "Flow",
            "templateId": "t-1",
            "workflowId": "wf-1",
            "error": f"{why}; --prefer pumpflix or --prefer n8n decides",
        },
        {
            "kind": "failed",
            "name": "Other",
            "templateId": "t-2",
            "workflowId": None,
            "error": "n8n refused it",
        },
    ]
    assert with_settling_hint(report).exit_code == ExitCode.PARTIAL
