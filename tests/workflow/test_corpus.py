"""The workflow module over the real n8n corpus at $PUMPFLIX_CORPUS (skipped when unset).

What the corpus holds (measured; see ../shared/corpus/README.md):
- clean/: 1,625 files; 1,606 prepare. The rest are 9 files that are not workflows (JSON
  without "nodes", some a workflow double-encoded into a map of strings), 3 with duplicate
  node names and 7 with connections from or to nodes missing from the export.
- messy/keyed-by-id/: 150 files, all refused without repair; 128 prepare with repair. The
  other 22 carry a second defect repair must not guess at: 10 duplicate node names (two
  "Workflow Documentation" sticky notes, or ids all "[CENSORED]") and 12 connections from
  a node that was renamed without its connections ("If" -> "If Node").
- messy/dangling/: 150 files, all refused, naming an "error-handler-..." node that does not exist.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from pumpflix_cli.workflow import (
    WorkflowError,
    canonical_workflow,
    parse_json,
    prepare,
    scan_secrets,
    split_documents,
)

pytestmark = pytest.mark.corpus

# The hard-coded tokens in the corpus: a Perplexity key in a JSON header string (one
# workflow, also copied into both messy folders) and a LINE channel token in a header.
BEARER_TOKEN_FILES = {
    "clean/Code/1756_Code_HTTP_Automation_Webhook.json",
    "clean/Http/1868_HTTP_Stickynote_Automate_Webhook.json",
    "messy/keyed-by-id/1756_Code_HTTP_Automation_Webhook.json",
    "messy/dangling/1756_Code_HTTP_Automation_Webhook.json",
}


@pytest.fixture(scope="module")
def corpus() -> Path:
    location = os.environ.get("PUMPFLIX_CORPUS")
    if not location:
        pytest.skip("PUMPFLIX_CORPUS is not set")
    root = Path(location)
    if not (root / "clean").is_dir():
        pytest.fail(f"PUMPFLIX_CORPUS={location} holds no clean/ folder")
    return root


@cache
def documents(path: Path) -> list[Any]:
    """The workflow objects in a file, or [] for a file parse_json/split_documents refuse."""
    try:
        return split_documents(parse_json(path.read_bytes()))
    except WorkflowError:
        return []


def files(root: Path, folder: str) -> list[Path]:
    found = sorted((root / folder).rglob("*.json"))
    assert found, f"no JSON files under {root / folder}"
    return found


def outcome(doc: Any, path: Path, *, repair: bool) -> str:
    try:
        prepared = prepare(doc, fallback_name=path.stem, repair=repair)
    except WorkflowError as exc:
        return f"error: {exc}" + (" (repairable)" if exc.remedy == "repair" else "")
    return "repaired" if prepared.repaired else "ok"


def each_document(root: Path, folder: str) -> Iterator[tuple[Path, Any]]:
    for path in files(root, folder):
        for doc in documents(path):
            yield path, doc


def test_every_clean_file_prepares_or_raises_workflow_error(corpus: Path) -> None:
    prepared = refused = 0
    for path in files(corpus, "clean"):
        try:
            for doc in split_documents(parse_json(path.read_bytes())):
                prepare(doc, fallback_name=path.stem)
                prepared += 1
        except WorkflowError as exc:
            message = str(exc)
            assert message and "\n" not in message and len(message) < 300, path
            refused += 1
    assert prepared >= 1600  # 1,606 when measured; the 19 refused are listed above
    assert refused <= 25


def test_clean_files_need_no_repair(corpus: Path) -> None:
    repaired = [
        p.name
        for p, doc in each_document(corpus, "clean")
        if outcome(doc, p, repair=True) == "repaired"
    ]
    assert repaired == []


def test_keyed_by_id_files_are_refused_without_repair(corpus: Path) -> None:
    outcomes = [
        outcome(doc, p, repair=False) for p, doc in each_document(corpus, "messy/keyed-by-id")
    ]
    assert len(outcomes) == 150
    assert all(o.startswith("error: ") for o in outcomes)
    keyed = [o for o in outcomes if "keyed by node id" in o and "(repairable)" in o]
    assert len(keyed) >= 120  # 128 when measured


def test_keyed_by_id_files_prepare_with_repair(corpus: Path) -> None:
    repaired = 0
    for path, doc in each_document(corpus, "messy/keyed-by-id"):
        with_repair = outcome(doc, path, repair=True)
        if with_repair == "repaired":
            repaired += 1
            continue
        # A second defect repair must not guess at: the same error with or without it.
        assert with_repair == outcome(doc, path, repair=False), path.name
        assert re.search(r"duplicate node name|unknown node", with_repair), with_repair
    assert repaired >= 120  # 128 when measured


def test_dangling_files_fail_naming_the_unknown_node(corpus: Path) -> None:
    checked = 0
    for path, doc in each_document(corpus, "messy/dangling"):
        node_names = {n["name"] for n in doc["nodes"]}
        for repair in (False, True):
            message = outcome(doc, path, repair=repair)
            found = re.search(r"to unknown node '(error-handler-[^']+)'$", message)
            assert found, f"{path.name}: {message}"
            assert found.group(1) not in node_names
        checked += 1
    assert checked == 150


def test_the_hard_coded_bearer_tokens_are_found(corpus: Path) -> None:
    """Reading expressions' string literals and any case of "bearer" (issue 12) warns on the
    same four files, once each, as before: no flood of warnings over real workflows."""
    flagged: set[str] = set()
    warnings = 0
    for path in sorted(corpus.rglob("*.json")):
        for doc in documents(path):
            findings = scan_secrets(doc)
            warnings += len(findings)
            if findings:
                flagged.add(path.relative_to(corpus).as_posix())
                assert all(f.kind == "Bearer token" for f in findings)
    assert flagged == BEARER_TOKEN_FILES
    assert warnings == len(BEARER_TOKEN_FILES)


def test_findings_never_carry_the_token(corpus: Path) -> None:
    for relative in sorted(BEARER_TOKEN_FILES):
        path = corpus / relative
        raw = path.read_text(encoding="utf-8")
        tokens = re.findall(r"Bearer ([A-Za-z0-9+/=._-]{16,})", raw)
        assert tokens
        report = repr([scan_secrets(doc) for doc in documents(path)])
        assert not any(token in report for token in tokens)


def test_every_export_imports_back_unchanged(corpus: Path) -> None:
    checked = 0
    for path, doc in each_document(corpus, "clean"):
        try:
            first = prepare(doc, fallback_name=path.stem)
        except WorkflowError:
            continue
        again = prepare(canonical_workflow(first.workflow), fallback_name="other")
        assert again.content_hash == first.content_hash, path.name
        checked += 1
    assert checked >= 1600


def test_input_variables_in_the_corpus_are_found(corpus: Path) -> None:
    expected = {
        "clean/Splitout/0913_Splitout_Code_Create_Webhook.json": [
            "BRIGHTDATA_TOKEN",
            "RESULTS_SHEET_GID",
            "TRACK_SHEET_GID",
            "WEB_SHEET_ID",
        ],
        "clean/Code/0182_Code_GitHub_Create_Scheduled.json": [
            "repo_name",
            "repo_owner",
            "repo_path",
        ],
        "clean/Code/1713_Code_Webhook_Automate_Webhook.json": [
            "N8N_ENDPOINT_WEBHOOK",
            "N8N_HOST",
            "N8N_PROTOCOL",
        ],
        "clean/Http/1876_HTTP_Manual_Automation_Webhook.json": ["GeminiKey"],
    }
    for relative, names in expected.items():
        (doc,) = documents(corpus / relative)
        assert prepare(doc, fallback_name="f").input_variables == names, relative
