"""The ``pumpflix_n8n_links`` table: which template or instance maps to which n8n
workflow, per n8n base URL, with the content hash and n8n ``updatedAt`` seen at the last sync."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, insert, or_, select
from sqlalchemy.orm import Session

from pumpflix_cli.db.models import N8nLink
from pumpflix_cli.records import utcnow


@dataclass(frozen=True)
class LinkRecord:
    workflow_id: str
    kind: str  # "template" | "instance"
    template_id: str | None
    instance_id: str | None
    content_hash: str | None
    n8n_updated_at: str | None


@dataclass(frozen=True)
class TemplateLink:
    """What a sync records for one template: it is n8n workflow ``workflow_id``, and both
    sides held this content at these times."""

    template_id: str
    workflow_id: str
    content_hash: str
    n8n_updated_at: str | None


class LinkStore:
    """Queries over ``pumpflix_n8n_links`` for one n8n (its base URL) within a caller's
    session."""

    def __init__(self, session: Session, n8n_url: str) -> None:
        self.session = session
        self.n8n_url = n8n_url

    def all(self) -> list[LinkRecord]:
        rows = self.session.execute(
            select(
                N8nLink.n8n_workflow_id,
                N8nLink.kind,
                N8nLink.template_id,
                N8nLink.instance_id,
                N8nLink.content_hash,
                N8nLink.n8n_updated_at,
            ).where(N8nLink.n8n_url == self.n8n_url)
        )
        return [
            LinkRecord(
                workflow_id=row.n8n_workflow_id,
                kind=row.kind,
                template_id=None if row.template_id is None else str(row.template_id),
                instance_id=None if row.instance_id is None else str(row.instance_id),
                content_hash=row.content_hash,
                n8n_updated_at=row.n8n_updated_at,
            )
            for row in rows
        ]

    def save_template_links(self, links: Sequence[TemplateLink]) -> None:
        """Record each template's link, replacing what either side was linked to before."""
        if not links:
            return
        template_ids = [link.template_id for link in links]
        workflow_ids = [link.workflow_id for link in links]
        for start in range(0, len(links), 500):  # bounded IN lists
            self.session.execute(
                delete(N8nLink).where(
                    N8nLink.n8n_url == self.n8n_url,
                    or_(
                        N8nLink.template_id.in_(template_ids[start : start + 500]),
                        N8nLink.n8n_workflow_id.in_(workflow_ids[start : start + 500]),
                    ),
                )
            )
        now = utcnow()
        self.session.execute(
            insert(N8nLink),
            [
                {
                    "n8n_url": self.n8n_url,
                    "n8n_workflow_id": link.workflow_id,
                    "kind": "template",
                    "template_id": link.template_id,
                    "content_hash": link.content_hash,
                    "n8n_updated_at": link.n8n_updated_at,
                    "synced_at": now,
                }
                for link in links
            ],
        )

    def forget_workflows(self, workflow_ids: Sequence[str]) -> None:
        """Drop the links of workflows deleted from n8n."""
        for start in range(0, len(workflow_ids), 500):
            self.session.execute(
                delete(N8nLink).where(
                    N8nLink.n8n_url == self.n8n_url,
                    N8nLink.n8n_workflow_id.in_(list(workflow_ids[start : start + 500])),
                )
            )
