"""``n8n sync``'s writes to n8n: pushes, deletions and tags, a few in flight at a time,
each failure kept with its action; once n8n is seen to be gone, no further write starts
(`Outage`)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pumpflix_cli.errors import (
    PumpflixError,
    ServiceTimeoutError,
    ServiceUnavailableError,
    ServiceUnreachableError,
)
from pumpflix_cli.services.n8n.pairing import MANAGED_TAG
from pumpflix_cli.services.n8n.plan import Action
from pumpflix_cli.text import plural

if TYPE_CHECKING:
    from pumpflix_cli.n8n.client import N8nClient


@dataclass
class Pushed:
    """What one push did: the workflow written (none if the create failed), n8n's time for
    it, and a failure to tag it."""

    action: Action
    workflow_id: str | None = None
    updated_at: str | None = None
    error: PumpflixError | None = None


class Outage:
    """The first sign that n8n stopped answering (refused, dropped or timed out, after the
    client's retries), shared by the writers: once it is seen, no further write starts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.error: ServiceUnavailableError | None = None

    def check(self) -> None:
        """Refuse to start another write once n8n is seen to be gone."""
        if self.error is not None:
            raise PumpflixError("skipped: n8n stopped answering")

    def note(self, exc: PumpflixError) -> None:
        # Only a failed connection or a timeout: a 5xx for one workflow stays that
        # workflow's failure.
        if isinstance(exc, ServiceUnreachableError | ServiceTimeoutError):
            with self._lock:
                self.error = self.error or exc

    def raise_if_any(self, done: int) -> None:
        if self.error is None:
            return
        progress = (
            f"{plural(done, 'change')} reached n8n and are recorded; once n8n answers, the same "
            "sync carries on from there"
        )
        self.error.hint = f"{self.error.hint}; {progress}" if self.error.hint else progress
        raise self.error


def push_workflows(
    actions: Sequence[Action],
    client: N8nClient,
    progress: Callable[[int], None],
    outage: Outage,
) -> dict[int, Pushed]:
    tag_id = client.ensure_tag(MANAGED_TAG)

    def write(action: Action) -> Pushed:
        outage.check()
        outcome = Pushed(action, action.workflow_id)
        try:
            if action.kind == "create" and action.body is not None:
                created = client.create_workflow(action.body)
                outcome.workflow_id = str(created["id"])
                outcome.updated_at = created.get("updatedAt")
            elif action.kind == "update" and action.body is not None and outcome.workflow_id:
                updated = client.update_workflow(outcome.workflow_id, action.body)
                outcome.updated_at = updated.get("updatedAt")
        except PumpflixError as exc:
            outage.note(exc)
            raise
        if action.add_tag and outcome.workflow_id:
            try:
                existing = [str(t["id"]) for t in (action.workflow or {}).get("tags") or []]
                client.set_workflow_tags(outcome.workflow_id, [*existing, tag_id])
            except PumpflixError as exc:  # written but untagged: the next push tags it
                outage.note(exc)
                outcome.error = exc
        return outcome

    results: dict[int, Pushed] = {}
    for action, outcome, error in client.map(write, actions):
        results[id(action)] = outcome if outcome is not None else Pushed(action, error=error)
        progress(1)
    return results


def delete_workflows(
    actions: Sequence[Action],
    client: N8nClient,
    progress: Callable[[int], None],
    outage: Outage,
) -> dict[int, PumpflixError | None]:
    def delete(action: Action) -> None:
        outage.check()
        try:
            client.delete_workflow(str(action.workflow_id))
        except PumpflixError as exc:
            outage.note(exc)
            raise

    results: dict[int, PumpflixError | None] = {}
    for action, _none, error in client.map(delete, actions):
        results[id(action)] = error
        progress(1)
    return results


def tag_workflows(
    actions: Sequence[Action],
    client: N8nClient,
    progress: Callable[[int], None],
    outage: Outage,
) -> dict[int, PumpflixError]:
    """Add the pumpflix tag to the actions' workflows; the failures, by action."""
    if not actions:
        return {}
    try:
        tag_id = client.ensure_tag(MANAGED_TAG)
    except PumpflixError as exc:
        outage.note(exc)
        return {id(action): exc for action in actions}

    def tag(action: Action) -> None:
        outage.check()
        existing = [str(t["id"]) for t in (action.workflow or {}).get("tags") or []]
        try:
            client.set_workflow_tags(str(action.workflow_id), [*existing, tag_id])
        except PumpflixError as exc:
            outage.note(exc)
            raise

    failed: dict[int, PumpflixError] = {}
    for action, _none, error in client.map(tag, actions):
        if error is not None:
            failed[id(action)] = error
        progress(1)
    return failed
