"""Which workflows of one import batch may be written (SPEC §3): one rule for every mix of
plain files and bundles.

Files that would write the same template are one group: they share a (source type,
name), or a bundle id, or reach one existing template by both (a plain file named like
it, a bundle carrying its id). A group whose files all say the same thing (one name,
one type, one content, at most one bundle id) is one import, written once; any other
group is refused whole, each file naming the others, and nothing of it is written. The
rest of the batch goes on.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field

from pumpflix_cli.references import name_key
from pumpflix_cli.services.templates.sources import Candidate

# An existing template as the plan needs it: (id, source type, name).
Holder = tuple[str, str, str]


@dataclass
class BatchPlan:
    write: list[Candidate] = field(default_factory=list)
    # path of a written file -> paths of the identical files it stands for
    copies: dict[str, list[str]] = field(default_factory=dict)
    # a refused file and why (naming the other files of its group)
    refused: list[tuple[Candidate, str]] = field(default_factory=list)


class _Groups:
    """Union-find over anything hashable."""

    def __init__(self) -> None:
        self.parent: dict[Hashable, Hashable] = {}

    def find(self, item: Hashable) -> Hashable:
        self.parent.setdefault(item, item)
        root = item
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[item] != root:  # path compression
            self.parent[item], item = root, self.parent[item]
        return root

    def join(self, a: Hashable, b: Hashable) -> None:
        self.parent[self.find(a)] = self.find(b)


def key_of(candidate: Candidate) -> tuple[str, str]:
    """The template a plain file would write: its type and its name in normalised form
    (names that look alike are one name)."""
    return (candidate.source_type, name_key(candidate.prepared.name))


def plan_batch(candidates: Sequence[Candidate], holders: Iterable[Holder]) -> BatchPlan:
    """Group ``candidates`` by the templates they would write (``holders``: the existing
    templates that hold one of their names or ids) and decide each group."""
    groups = _Groups()
    for index, candidate in enumerate(candidates):
        groups.join(("file", index), ("key", *key_of(candidate)))
        if candidate.template_id is not None:
            groups.join(("file", index), ("id", candidate.template_id))
    for template_id, source_type, name in holders:
        groups.join(("id", template_id), ("key", source_type, name_key(name)))
    members: dict[Hashable, list[Candidate]] = {}
    for index, candidate in enumerate(candidates):
        members.setdefault(groups.find(("file", index)), []).append(candidate)
    plan = BatchPlan()
    for group in members.values():
        if _one_import(group):
            # A bundle says more than a plain copy (its id, description, thumbnail).
            chosen = next((c for c in group if c.template_id is not None), group[0])
            plan.write.append(chosen)
            plan.copies[chosen.path] = [c.path for c in group if c is not chosen]
            continue
        what = _describe(group)
        for candidate in group:
            others = [c.path for c in group if c is not candidate]
            which = "another file" if len(others) == 1 else "other files"
            plan.refused.append(
                (
                    candidate,
                    f"{which} in this import ({', '.join(others)}) write {what} with "
                    "different content; none of them was imported",
                )
            )
    return plan


def _one_import(group: Sequence[Candidate]) -> bool:
    ids = {c.template_id for c in group if c.template_id is not None}
    return (
        len({key_of(c) for c in group}) == 1
        and len({c.prepared.content_hash for c in group}) == 1
        and len(ids) <= 1
    )


def _describe(group: Sequence[Candidate]) -> str:
    names = sorted({f"{t} '{n}'" for t, n in map(key_of, group)})
    ids = sorted({f"template {c.template_id}" for c in group if c.template_id is not None})
    return "the same template (" + ", ".join(names + ids) + ")"
