"""Properties of the workflow module over generated inputs (hypothesis)."""

from __future__ import annotations

import json
import random
import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pumpflix_cli.workflow import (
    WorkflowError,
    canonical_workflow,
    content_hash,
    extract_input_variables,
    parse_json,
    prepare,
    repair_connections,
    scan_secrets,
    split_documents,
    validate,
)

# Text that JSON, UTF-8 and PostgreSQL's jsonb all carry: no lone surrogates, no NUL.
storable_chars = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
text = st.text(storable_chars, max_size=20)
finite_floats = st.floats(allow_nan=False, allow_infinity=False)
scalars = st.none() | st.booleans() | st.integers() | finite_floats | text
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=20,
)
# Parameter values with no "{{", "$" or token-like words, so extraction and scanning see
# only what a test puts there on purpose.
plain_text = st.text(st.sampled_from("abcdefghij klmnop.,:-"), max_size=15)
plain_values = st.recursive(
    st.none() | st.booleans() | st.integers() | plain_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(plain_text, inner, max_size=3),
    max_leaves=8,
)
node_names = st.text(storable_chars, min_size=1, max_size=12).filter(
    lambda s: not s.startswith("id-")
)
credential_types = st.sampled_from(["slackApi", "httpHeaderAuth", "openAiApi", "githubApi"])
kinds = st.sampled_from(["main", "main", "ai_tool", "ai_languageModel"])


@st.composite
def workflows(draw: st.DrawFn) -> dict[str, Any]:
    """A valid n8n workflow: unique names and ids, name-keyed connections, both credential
    forms, the bookkeeping n8n adds on export."""
    names = draw(st.lists(node_names, min_size=1, max_size=6, unique=True))
    nodes = []
    for i, name in enumerate(names):
        built: dict[str, Any] = {
            "id": f"id-{i}-{draw(st.uuids())}",
            "name": name,
            "type": draw(st.sampled_from(["n8n-nodes-base.set", "n8n-nodes-base.httpRequest"])),
            "typeVersion": draw(st.integers(1, 4)),
            "position": [draw(st.integers(-2000, 2000)), draw(st.integers(-2000, 2000))],
            "parameters": draw(st.dictionaries(plain_text, plain_values, max_size=4)),
        }
        creds = draw(st.dictionaries(credential_types, plain_text, max_size=2))
        if creds:
            built["credentials"] = {
                t: {"id": str(draw(st.integers(1, 99))), "name": n} for t, n in creds.items()
            }
        if draw(st.booleans()):
            built["webhookId"] = str(draw(st.uuids()))
        nodes.append(built)
    connections: dict[str, Any] = {}
    for source in names:
        outputs = draw(st.lists(st.lists(st.sampled_from(names), max_size=3), max_size=3))
        if outputs:
            kind = draw(kinds)
            connections[source] = {
                kind: [[{"node": t, "type": kind, "index": 0} for t in group] for group in outputs]
            }
    return {
        "id": draw(text),
        "name": draw(st.text(st.characters(categories=("L", "N")), min_size=1, max_size=30)),
        "nodes": nodes,
        "connections": connections,
        "active": draw(st.booleans()),
        "settings": {"executionOrder": "v1"},
        "meta": {"instanceId": draw(text)},
        "pinData": draw(st.dictionaries(text, json_values, max_size=2)),
        "versionId": str(draw(st.uuids())),
        "tags": [],
    }


def shuffled(value: Any, rnd: random.Random) -> Any:
    """The same JSON value with every object's keys in another order."""
    if isinstance(value, dict):
        items = list(value.items())
        rnd.shuffle(items)
        return {k: shuffled(v, rnd) for k, v in items}
    if isinstance(value, list):
        return [shuffled(v, rnd) for v in value]
    return value


@given(json_values, st.booleans())
def test_parse_json_reads_back_what_json_dumps_writes(value: Any, ascii_only: bool) -> None:
    raw = json.dumps(value, ensure_ascii=ascii_only).encode()
    assert parse_json(raw) == value


@given(st.binary(max_size=200))
def test_parse_json_raises_only_workflow_errors(raw: bytes) -> None:
    try:
        parse_json(raw)
    except WorkflowError as exc:
        assert "\n" not in str(exc)


@given(json_values)
def test_split_and_prepare_raise_only_workflow_errors(doc: Any) -> None:
    try:
        for candidate in split_documents(doc):
            prepare(candidate, fallback_name="fallback", repair=True)
    except WorkflowError as exc:
        assert "\n" not in str(exc)


@given(workflows())
def test_generated_workflows_are_valid(wf: dict[str, Any]) -> None:
    validate(wf)
    assert prepare(wf, fallback_name="f").content_hash == content_hash(wf)


@given(workflows(), st.data())
def test_hash_ignores_node_positions_ids_and_webhook_ids(wf: dict[str, Any], data: Any) -> None:
    moved = json.loads(json.dumps(wf))
    for n in moved["nodes"]:
        n["position"] = [data.draw(st.integers()), data.draw(st.integers())]
        n["id"] = data.draw(text)
        n.pop("webhookId", None)
        if data.draw(st.booleans()):
            n["webhookId"] = data.draw(text)
    assert content_hash(moved) == content_hash(wf)


@given(workflows(), st.randoms(use_true_random=False))
def test_hash_ignores_key_order(wf: dict[str, Any], rnd: random.Random) -> None:
    assert content_hash(shuffled(wf, rnd)) == content_hash(wf)


@given(workflows(), st.data())
def test_hash_ignores_credential_ids_and_the_old_string_form(wf: dict[str, Any], data: Any) -> None:
    rewritten = json.loads(json.dumps(wf))
    for n in rewritten["nodes"]:
        for cred_type, ref in n.get("credentials", {}).items():
            n["credentials"][cred_type] = data.draw(
                st.sampled_from([ref["name"], {"name": ref["name"]}, {**ref, "id": "other"}])
            )
    assert content_hash(rewritten) == content_hash(wf)


@given(workflows())
def test_hash_ignores_instance_bookkeeping(wf: dict[str, Any]) -> None:
    bare = {k: wf[k] for k in ("name", "nodes", "connections", "settings")}
    assert content_hash(bare) == content_hash(wf)


@given(workflows(), plain_text)
def test_hash_sees_parameter_changes(wf: dict[str, Any], value: str) -> None:
    changed = json.loads(json.dumps(wf))
    changed["nodes"][0]["parameters"]["ADDED_BY_TEST"] = value
    assert content_hash(changed) != content_hash(wf)


@given(workflows())
def test_an_export_imports_back_unchanged(wf: dict[str, Any]) -> None:
    first = prepare(wf, fallback_name="f")
    exported = canonical_workflow(first.workflow)
    assert canonical_workflow(exported) == exported
    again = prepare(parse_json(json.dumps(exported).encode()), fallback_name="other")
    assert again.content_hash == first.content_hash
    assert again.name == first.name
    assert again.required_credentials == first.required_credentials


@given(workflows(), st.data())
def test_repairing_id_keyed_connections_restores_the_original(
    wf: dict[str, Any], data: Any
) -> None:
    ids = {n["name"]: n["id"] for n in wf["nodes"]}

    def maybe_id(name: str) -> str:
        return ids[name] if data.draw(st.booleans()) else name

    keyed = {
        maybe_id(source): {
            kind: [[{**t, "node": maybe_id(t["node"])} for t in group] for group in groups]
            for kind, groups in outputs.items()
        }
        for source, outputs in wf["connections"].items()
    }
    damaged = {**wf, "connections": keyed}
    repaired, changed = repair_connections(damaged)
    assert repaired["connections"] == wf["connections"]
    assert changed == (keyed != wf["connections"])
    if changed:
        try:
            validate(damaged)
        except WorkflowError as exc:
            assert "keyed by node id" in str(exc)
        else:
            raise AssertionError("id-keyed connections validated")
    prepared = prepare(damaged, fallback_name="f", repair=True)
    assert prepared.content_hash == content_hash(wf)


placeholder_names = st.from_regex(r"[A-Z][A-Z0-9_]{0,15}", fullmatch=True)
variable_names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,15}", fullmatch=True)


@st.composite
def variable_uses(draw: st.DrawFn) -> tuple[str, str]:
    """(name, a parameter string that uses it) in one of the forms a template may use."""
    upper = draw(placeholder_names)
    name = draw(variable_names)
    pad = " " * draw(st.integers(0, 2))
    quote = draw(st.sampled_from(["'", '"', "`"]))
    source = draw(st.sampled_from(["env", "vars"]))
    return draw(
        st.sampled_from(
            [
                (upper, f"prefix {{{{{pad}{upper}{pad}}}}} suffix"),
                (upper, f"={{{{ $json.x }}}}/{{{{{pad}{upper}{pad}}}}}"),
                (name, f"=https://{{{{{pad}${source}.{name}{pad}}}}}/path"),
                (name, f"={{{{ ${source}[{quote}{name}{quote}] + '/x' }}}}"),
            ]
        )
    )


@given(workflows(), st.lists(variable_uses(), min_size=1, max_size=5), st.data())
def test_extraction_finds_every_generated_variable(
    wf: dict[str, Any], uses: list[tuple[str, str]], data: Any
) -> None:
    for i, (_, value) in enumerate(uses):
        target = data.draw(st.sampled_from(wf["nodes"]))
        target["parameters"][f"var{i}"] = {"nested": [value]}
    assert extract_input_variables(wf) == sorted({name for name, _ in uses})


token_bodies = st.text(
    st.sampled_from("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz0123456789"),
    min_size=16,
    max_size=64,
)


@given(workflows(), token_bodies, st.sampled_from(["Bearer ", "sk-", "ghp_", "xoxb-"]), st.data())
def test_secret_scan_never_reveals_the_value(
    wf: dict[str, Any], body: str, prefix: str, data: Any
) -> None:
    target = data.draw(st.sampled_from(wf["nodes"]))
    target["parameters"]["auth"] = {"header": f"{prefix}{body}"}
    findings = scan_secrets(wf)
    report = repr(findings) + "".join(f.path + f.node for f in findings)
    assert body not in report
    has_digit = bool(re.search(r"\d", body))
    has_letter = bool(re.search(r"[A-Za-z]", body))
    if has_digit and has_letter and len(set(body)) >= 8 and not _wordy(body):
        assert any(f.node == target["name"] and f.path == "auth.header" for f in findings)


def _wordy(body: str) -> bool:
    words = "your|here|example|sample|placeholder|replace|insert|dummy|demo|redacted|censored"
    return re.search(words + r"|token|123456|abcdef|(.)\1{4}", body, re.IGNORECASE) is not None


@settings(max_examples=50)
@given(workflows())
def test_a_workflow_without_token_shapes_has_no_findings(wf: dict[str, Any]) -> None:
    assert scan_secrets(wf) == []
