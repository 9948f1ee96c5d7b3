"""The n8n workflow JSON logic: parse, validate, repair, extract, canonicalize, hash.

Pure: no files, no network, no printing, standard library only. Every problem with a
workflow is a `WorkflowError` whose message is one printable line.
"""

from pumpflix_cli.workflow.canonical import NON_CONTENT_KEYS, canonical_workflow, content_hash
from pumpflix_cli.workflow.documents import parse_json, split_documents
from pumpflix_cli.workflow.errors import WorkflowError
from pumpflix_cli.workflow.extract import (
    PLACEHOLDER_PATTERN,
    REFERENCE_PATTERN,
    expression_references,
    extract_credentials,
    extract_input_variables,
)
from pumpflix_cli.workflow.prepared import (
    BUNDLE_KEY,
    SOURCE_TYPES,
    BundleMeta,
    PreparedWorkflow,
    parse_bundle_meta,
    prepare,
)
from pumpflix_cli.workflow.structure import (
    MAX_NAME_LENGTH,
    repair_connections,
    validate,
    validate_template_name,
)
from pumpflix_cli.workflow.tokens import SecretFinding, scan_secrets

__all__ = [
    "BUNDLE_KEY",
    "MAX_NAME_LENGTH",
    "NON_CONTENT_KEYS",
    "PLACEHOLDER_PATTERN",
    "REFERENCE_PATTERN",
    "SOURCE_TYPES",
    "BundleMeta",
    "PreparedWorkflow",
    "SecretFinding",
    "WorkflowError",
    "canonical_workflow",
    "content_hash",
    "expression_references",
    "extract_credentials",
    "extract_input_variables",
    "parse_bundle_meta",
    "parse_json",
    "prepare",
    "repair_connections",
    "scan_secrets",
    "split_documents",
    "validate",
    "validate_template_name",
]
