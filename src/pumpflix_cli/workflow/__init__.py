"""The n8n workflow JSON logic: parse, validate, repair, extract, canonicalize, hash; and
n8n's execution JSON read into node runs.

Pure: no files, no network, no printing, standard library only (and the plain records of
`pumpflix_cli.records`, which are pure too). Every problem with a workflow is a
`WorkflowError` whose message is one printable line.
"""

from pumpflix_cli.workflow.canonical import NON_CONTENT_KEYS, canonical_workflow, content_hash
from pumpflix_cli.workflow.diff import NodeChange, WorkflowDiff, diff_workflows, same_workflow
from pumpflix_cli.workflow.documents import parse_json, split_documents
from pumpflix_cli.workflow.entry_points import (
    EntryPoint,
    entry_point_of,
    input_problem,
    stand_in_names,
    webhook_payload,
    with_entry_point,
    without_entry_point,
)
from pumpflix_cli.workflow.errors import WorkflowError
from pumpflix_cli.workflow.executions import (
    FINISHED_STEP,
    ExecutionSummary,
    execution_id_of_reply,
    execution_order,
    instance_status,
    node_events,
    recorded_executions,
    summarize,
)
from pumpflix_cli.workflow.extract import (
    PLACEHOLDER_PATTERN,
    REFERENCE_PATTERN,
    expression_references,
    extract_credentials,
    extract_input_variables,
)
from pumpflix_cli.workflow.materialize import MissingVariablesError, materialize
from pumpflix_cli.workflow.n8n_body import (
    MAX_N8N_NAME_LENGTH,
    n8n_request_body,
    normalize_settings,
)
from pumpflix_cli.workflow.names import MAX_NAME_LENGTH, template_name, validate_template_name
from pumpflix_cli.workflow.prepared import (
    BUNDLE_KEY,
    SOURCE_TYPES,
    BundleMeta,
    PreparedWorkflow,
    parse_bundle_meta,
    prepare,
)
from pumpflix_cli.workflow.structure import repair_connections, validate
from pumpflix_cli.workflow.tokens import SecretFinding, scan_secrets

__all__ = [
    "BUNDLE_KEY",
    "FINISHED_STEP",
    "MAX_N8N_NAME_LENGTH",
    "MAX_NAME_LENGTH",
    "NON_CONTENT_KEYS",
    "PLACEHOLDER_PATTERN",
    "REFERENCE_PATTERN",
    "SOURCE_TYPES",
    "BundleMeta",
    "EntryPoint",
    "ExecutionSummary",
    "MissingVariablesError",
    "NodeChange",
    "PreparedWorkflow",
    "SecretFinding",
    "WorkflowDiff",
    "WorkflowError",
    "canonical_workflow",
    "content_hash",
    "diff_workflows",
    "entry_point_of",
    "execution_id_of_reply",
    "execution_order",
    "expression_references",
    "extract_credentials",
    "extract_input_variables",
    "input_problem",
    "instance_status",
    "materialize",
    "n8n_request_body",
    "node_events",
    "normalize_settings",
    "parse_bundle_meta",
    "parse_json",
    "prepare",
    "recorded_executions",
    "repair_connections",
    "same_workflow",
    "scan_secrets",
    "split_documents",
    "stand_in_names",
    "summarize",
    "template_name",
    "validate",
    "validate_template_name",
    "webhook_payload",
    "with_entry_point",
    "without_entry_point",
]
