"""``templates export``: n8n-importable workflow files, streamed so memory stays flat
whatever the count (SPEC §4, §8, §9)."""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from pumpflix_cli.errors import InvalidInputError, OutputError
from pumpflix_cli.files import make_folder
from pumpflix_cli.json_text import NonJsonNumberError
from pumpflix_cli.records import TemplateRecord
from pumpflix_cli.text import json_text
from pumpflix_cli.workflow import BUNDLE_KEY
from pumpflix_cli.workflow.export import export_workflow

if TYPE_CHECKING:
    from pumpflix_cli.db.engine import Database

_NOT_SLUG = re.compile(r"[^a-z0-9]+")
SLUG_LENGTH = 60


@dataclass(frozen=True)
class ExportOptions:
    bundle: bool = False
    keep_credential_ids: bool = False
    keep_data: bool = False


def slug(name: str) -> str:
    """A file-name-safe form of a template name: ASCII letters, digits and dashes only, so
    no ``../``, no absolute path, no hidden file; never empty."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    text = _NOT_SLUG.sub("-", ascii_name.lower()).strip("-")
    return text[:SLUG_LENGTH].rstrip("-") or "template"


def file_name(record: TemplateRecord) -> str:
    """Unique per template: the slug plus the id's first 12 hex digits."""
    return f"{slug(record.name)}-{record.id.replace('-', '')[:12]}.json"


def export_document(record: TemplateRecord, options: ExportOptions) -> dict[str, Any]:
    assert record.workflow is not None
    document = export_workflow(
        record.workflow,
        keep_credential_ids=options.keep_credential_ids,
        keep_data=options.keep_data,
    )
    document["name"] = record.name
    if options.bundle:
        document[BUNDLE_KEY] = {
            "id": record.id,
            "sourceType": record.source_type,
            "version": record.version,
            "description": record.description,
            "thumbnail": record.thumbnail,
        }
    return document


def export_templates(
    database: Callable[[], Database],
    types: Sequence[str],
    ids: Sequence[str] | None,
    options: ExportOptions,
    target: IO[str] | Path,
    progress: Callable[[int], None] = lambda _n: None,
) -> int:
    """Stream the templates of ``types`` (or of ``ids``) from the database to ``target``:
    a folder (one file each) or a text stream (one JSON array). Returns how many."""
    from pumpflix_cli.db.templates import TemplateStore

    with database().session() as session:
        records = TemplateStore(session).stream(types, ids=ids)
        if isinstance(target, Path):
            return sum(1 for _ in write_folder(records, options, target, progress))
        return write_stream(records, options, target, progress)


def write_stream(
    records: Iterable[TemplateRecord],
    options: ExportOptions,
    out: IO[str],
    progress: Callable[[int], None],
) -> int:
    """A JSON array on ``out``, one template at a time (n8n's import accepts an array)."""
    count = 0
    out.write("[")
    for record in records:
        out.write(",\n" if count else "\n")
        out.write(_document_text(record, options))
        count += 1
        progress(1)
    out.write("\n]\n" if count else "]\n")
    out.flush()
    return count


def write_folder(
    records: Iterable[TemplateRecord],
    options: ExportOptions,
    folder: Path,
    progress: Callable[[int], None],
) -> Iterator[tuple[TemplateRecord, Path]]:
    """One file per template in ``folder``, each written whole or not at all."""
    make_folder(folder)
    for record in records:
        target = folder / file_name(record)
        text = _document_text(record, options)
        if target.is_dir():
            raise OutputError(str(target), "a folder is in the way of the file")
        try:
            _atomic_write(target, text + "\n")
        except OSError as exc:
            raise OutputError.of(str(target), exc) from exc
        progress(1)
        yield record, target


def _document_text(record: TemplateRecord, options: ExportOptions) -> str:
    """The exported JSON; a number JSON has not (only an old row can hold one) stops the
    export naming the template and where the number is, rather than writing ``Infinity``
    into a file that would not import back."""
    try:
        return json_text(export_document(record, options))
    except NonJsonNumberError as exc:
        raise InvalidInputError(
            f"template '{record.name}' ({record.id}) cannot be exported: {exc}",
            hint="re-import it from a valid file",
        ) from None


def _atomic_write(target: Path, text: str) -> None:
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".pumpflix-", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        Path(temporary).replace(target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
