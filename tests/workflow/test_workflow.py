"""The pure workflow module, by example: parse, split, validate, repair, extract, hash, scan."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from pumpflix_cli.workflow import (
    BundleMeta,
    SecretFinding,
    WorkflowError,
    canonical_workflow,
    content_hash,
    extract_credentials,
    extract_input_variables,
    parse_json,
    prepare,
    repair_connections,
    scan_secrets,
    split_documents,
    validate,
    validate_template_name,
)

TOKEN = "9f8e7d6c5b4a39281706f5e4d3c2b1a0ZZyyXX"
BUNDLE_ID = "0b6f7c2e-5a4d-4e8b-9a3c-1d2e3f4a5b6c"


def node(name: str, node_id: str | None = None, **fields: Any) -> dict[str, Any]:
    built: dict[str, Any] = {
        "name": name,
        "type": fields.pop("type", "n8n-nodes-base.set"),
        "typeVersion": 1,
        "position": fields.pop("position", [0, 0]),
        "parameters": fields.pop("parameters", {}),
    }
    if node_id is not None:
        built["id"] = node_id
    built.update(fields)
    return built


def link(*targets: str, kind: str = "main") -> dict[str, Any]:
    return {kind: [[{"node": t, "type": kind, "index": 0} for t in targets]]}


def workflow(*nodes: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"name": top.pop("name", "Example"), "nodes": list(nodes), **top}


def chain() -> dict[str, Any]:
    """Trigger -> Fetch -> Store, the way n8n exports it: connections keyed by name."""
    return workflow(
        node("Trigger", "id-trigger", type="n8n-nodes-base.manualTrigger"),
        node("Fetch", "id-fetch", type="n8n-nodes-base.httpRequest"),
        node("Store", "id-store"),
        connections={"Trigger": link("Fetch"), "Fetch": link("Store")},
    )


def error_of(call: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(WorkflowError) as caught:
        call(*args, **kwargs)
    message = str(caught.value)
    assert "\n" not in message
    return message


# parse_json


def test_parse_json_reads_utf8() -> None:
    assert parse_json('{"name": "Café ☕"}'.encode()) == {"name": "Café ☕"}


def test_parse_json_accepts_a_byte_order_mark() -> None:
    assert parse_json(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}


def test_invalid_utf8_names_the_byte_and_its_offset() -> None:
    assert error_of(parse_json, b'{"name": "\xff"}') == "not valid UTF-8 (byte 0xff at offset 10)"


def test_invalid_utf8_offset_counts_the_byte_order_mark() -> None:
    message = error_of(parse_json, b'\xef\xbb\xbf{"a": "\xc3"}')
    assert message == "not valid UTF-8 (byte 0xc3 at offset 10)"


def test_truncated_json_names_line_and_column() -> None:
    message = error_of(parse_json, b'{\n  "nodes": [\n    {"name": "A"')
    assert message == "invalid JSON: Expecting ',' delimiter at line 3 column 17"


def test_an_empty_file_is_invalid_json() -> None:
    assert error_of(parse_json, b"  \n") == "invalid JSON: the file is empty"


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_json_constants_are_refused(constant: str) -> None:
    message = error_of(parse_json, f'{{"a": {constant}}}'.encode())
    assert message == f"invalid JSON: {constant} at a is not a JSON number"


def test_a_number_too_long_to_convert_is_invalid_json() -> None:
    message = error_of(parse_json, b"[" + b"9" * 5000 + b"]")
    assert message.startswith("invalid JSON: ")
    assert "9999" not in message


@pytest.mark.parametrize("opener,closer", [("[", "]"), ('{"a":', "}")])
def test_200000_levels_of_nesting_are_refused(opener: str, closer: str) -> None:
    hostile = (opener * 200_000 + "1" + closer * 200_000).encode()
    assert error_of(parse_json, hostile) == "nesting deeper than 200 levels"


def test_nesting_the_json_decoder_survives_is_still_refused_past_max_depth() -> None:
    assert error_of(parse_json, b"[" * 300 + b"]" * 300) == "nesting deeper than 200 levels"


def test_nesting_at_max_depth_is_accepted() -> None:
    assert parse_json(b"[" * 200 + b"]" * 200) is not None
    assert error_of(parse_json, b"[" * 11 + b"]" * 11, max_depth=10).startswith("nesting deeper")


# split_documents


def test_a_workflow_object_is_one_document() -> None:
    assert split_documents({"nodes": []}) == [{"nodes": []}]


def test_an_n8n_export_array_is_several_documents() -> None:
    export = [workflow(node("A"), name="One"), workflow(node("B"), name="Two")]
    assert split_documents(export) == export


def test_a_bundle_is_one_document() -> None:
    bundle = {**chain(), "pumpflix": {"id": BUNDLE_ID}}
    assert split_documents(bundle) == [bundle]


@pytest.mark.parametrize(
    "doc,expected",
    [
        ([1, 2, 3], "got an array of numbers"),
        (["a", "b"], "got an array of strings"),
        ([[], []], "got an array of arrays"),
        ([None], "got an array of nulls"),
        ([], "got an empty array"),
        ([{"nodes": []}, 3], "got an array with a number at index 1"),
        ("workflow", "got a string"),
        (42, "got a number"),
        (None, "got null"),
        (True, "got a boolean"),
    ],
)
def test_documents_that_are_not_workflows_are_refused(doc: Any, expected: str) -> None:
    message = error_of(split_documents, doc)
    assert message == f"expected a workflow object or an array of them, {expected}"


# validate: structure


def test_a_well_formed_workflow_validates() -> None:
    validate(chain())


def test_a_workflow_without_connections_validates() -> None:
    validate(workflow(node("Only")))


def test_a_workflow_without_nodes_is_not_a_workflow() -> None:
    assert error_of(validate, {"name": "x"}) == 'not an n8n workflow: no "nodes" list'


def test_duplicate_node_names_are_refused() -> None:
    message = error_of(validate, workflow(node("Set"), node("Other"), node("Set")))
    assert message == "duplicate node name 'Set' (nodes[0] and nodes[2])"


def test_connection_to_unknown_node_is_refused_naming_it() -> None:
    broken = workflow(node("A"), connections={"A": link("error-handler-1")})
    assert error_of(validate, broken) == "connection from 'A' to unknown node 'error-handler-1'"


def test_connection_from_unknown_node_is_refused_naming_it() -> None:
    broken = workflow(node("A"), connections={"Gone": link("A")})
    assert error_of(validate, broken) == "connection from unknown node 'Gone'"


@pytest.mark.parametrize(
    "broken,expected",
    [
        ({"nodes": {}}, "nodes must be a list, got an object"),
        ({"nodes": [3]}, "nodes[0] must be an object, got a number"),
        ({"nodes": [{"type": "t"}]}, "nodes[0].name must be a non-empty string"),
        ({"nodes": [{"name": "", "type": "t"}]}, "nodes[0].name must be a non-empty string"),
        ({"nodes": [{"name": "A"}]}, "nodes[0].type must be a non-empty string (node 'A')"),
        (
            {"nodes": [node("A"), node("B", parameters=[])]},
            "nodes[1].parameters must be an object (node 'B')",
        ),
        (
            {"nodes": [node("A", typeVersion="2")]},
            "nodes[0].typeVersion must be a number (node 'A')",
        ),
        (
            {"nodes": [node("A", position=[1])]},
            "nodes[0].position must be a list of two numbers (node 'A')",
        ),
        (
            {"nodes": [node("A", credentials=["slackApi"])]},
            "nodes[0].credentials must be an object (node 'A')",
        ),
        (
            {"nodes": [node("A", credentials={"slackApi": 3})]},
            "nodes[0].credentials['slackApi'] must be an object or a string (node 'A')",
        ),
        ({"nodes": [], "name": 7}, "name must be a string, got a number"),
        ({"nodes": [], "settings": []}, "settings must be an object, got an array"),
        ({"nodes": [], "connections": []}, "connections must be an object, got an array"),
        ({"nodes": [node("A")], "connections": {"A": []}}, "connections['A'] must be an object"),
        (
            {"nodes": [node("A")], "connections": {"A": {"main": {}}}},
            "connections['A'].main must be a list, got an object",
        ),
        (
            {"nodes": [node("A")], "connections": {"A": {"main": ["B"]}}},
            "connections['A'].main[0] must be a list, got a string",
        ),
        (
            {"nodes": [node("A")], "connections": {"A": {"main": [["B"]]}}},
            "connections['A'].main[0][0] must be an object, got a string",
        ),
        (
            {"nodes": [node("A")], "connections": {"A": {"main": [[{"node": 1}]]}}},
            "connections['A'].main[0][0].node must be a string",
        ),
        (
            {"nodes": [node("A")], "connections": {"A": {"main": [[{"node": "A", "index": "0"}]]}}},
            "connections['A'].main[0][0].index must be a non-negative integer",
        ),
        (
            {"nodes": [node("A")], "connections": {"A": {"ai tool": {}}}},
            "connections['A']['ai tool'] must be a list, got an object",
        ),
    ],
)
def test_wrong_types_are_named_by_their_path(broken: dict[str, Any], expected: str) -> None:
    message = error_of(validate, broken)
    assert message == expected or message.startswith(expected + ",")


def test_null_and_empty_output_groups_are_tolerated() -> None:
    wf = workflow(
        node("If"),
        node("Then"),
        connections={"If": {"main": [None, [], [{"node": "Then", "type": "main", "index": 0}]]}},
    )
    validate(wf)


def test_ai_connection_kinds_are_tolerated() -> None:
    wf = workflow(
        node("Agent"),
        node("Model"),
        node("Tool"),
        connections={
            "Model": link("Agent", kind="ai_languageModel"),
            "Tool": link("Agent", kind="ai_tool"),
        },
    )
    validate(wf)


def test_a_target_without_index_is_tolerated() -> None:
    validate(workflow(node("A"), node("B"), connections={"A": {"main": [[{"node": "B"}]]}}))


def test_messages_never_echo_parameter_values() -> None:
    leaky = workflow(node("A", parameters={"token": f"Bearer {TOKEN}"}, credentials="x"))
    assert TOKEN not in error_of(validate, leaky)


def test_long_node_names_are_shortened_in_messages() -> None:
    long_name = "N" * 10_000
    message = error_of(validate, workflow(node(long_name), node(long_name)))
    assert message.startswith("duplicate node name 'NNN")
    assert len(message) < 120


def test_control_characters_in_node_names_are_escaped_in_messages() -> None:
    message = error_of(validate, workflow(node("A\u202eB\x1b[2J"), node("A\u202eB\x1b[2J")))
    assert "\u202e" not in message
    assert "\x1b" not in message


# validate: template names


@pytest.mark.parametrize(
    "name",
    [
        "Slack / Telegram notifier",
        "a/b/c",
        "v1.2 ..draft",
        "..hidden",
        "Émoji ✅ workflow",
        "x" * 200,
        "  padded  ",
    ],
)
def test_ordinary_template_names_are_accepted(name: str) -> None:
    validate_template_name(name)


@pytest.mark.parametrize(
    "name,expected",
    [
        ("", "name is empty"),
        ("   ", "name is empty"),
        ("x" * 201, "name is 201 characters long; the limit is 200"),
        ("two\nlines", "name contains a control character (U+000A)"),
        ("bell\x07", "name contains a control character (U+0007)"),
        ("line\u2028sep", "name contains a control character (U+2028)"),
        ("evil\u202etxt.exe", "name contains a bidirectional text control (U+202E)"),
        ("isolate\u2066x", "name contains a bidirectional text control (U+2066)"),
        ("mark\u200f", "name contains a bidirectional text control (U+200F)"),
        ("arabic\u061c", "name contains a bidirectional text control (U+061C)"),
        ("../etc/passwd", "name '../etc/passwd' looks like a path traversal"),
        ("..\\windows", "name '..\\\\windows' looks like a path traversal"),
        ("a/../../b", "name 'a/../../b' looks like a path traversal"),
        (".", "name '.' looks like a path traversal"),
        ("..", "name '..' looks like a path traversal"),
    ],
)
def test_unsafe_template_names_are_refused(name: str, expected: str) -> None:
    assert error_of(validate_template_name, name) == expected


# repair_connections


def by_id(wf: dict[str, Any]) -> dict[str, Any]:
    """The same workflow after a bulk rewrite keyed its connections by node id."""
    ids = {n["name"]: n["id"] for n in wf["nodes"]}
    rekeyed = {
        ids[source]: {
            kind: [[{**t, "node": ids[t["node"]]} for t in group] for group in groups]
            for kind, groups in outputs.items()
        }
        for source, outputs in wf["connections"].items()
    }
    return {**wf, "connections": rekeyed}


def test_keyed_by_id_connections_are_repaired() -> None:
    original = chain()
    repaired, changed = repair_connections(by_id(original))
    assert changed
    assert repaired["connections"] == original["connections"]
    validate(repaired)


def test_keyed_by_id_connections_are_refused_as_repairable() -> None:
    message = error_of(validate, by_id(chain()))
    assert "keyed by node id" in message
    assert "'id-trigger' is the id of node 'Trigger'" in message
    with pytest.raises(WorkflowError) as caught:
        validate(by_id(chain()))
    assert caught.value.remedy == "repair"  # the caller words the cure (pure: no flags here)


def test_prepare_repairs_only_when_asked() -> None:
    keyed = by_id(chain())
    assert "keyed by node id" in error_of(prepare, keyed, fallback_name="f")
    prepared = prepare(keyed, fallback_name="f", repair=True)
    assert prepared.repaired
    assert prepared.workflow["connections"] == chain()["connections"]
    assert prepared.content_hash == prepare(chain(), fallback_name="f").content_hash


def test_repair_leaves_name_keyed_connections_alone() -> None:
    original = chain()
    repaired, changed = repair_connections(original)
    assert repaired is original
    assert not changed
    assert not prepare(original, fallback_name="f", repair=True).repaired


def test_repair_does_not_modify_its_input() -> None:
    keyed = by_id(chain())
    before = copy.deepcopy(keyed)
    repair_connections(keyed)
    assert keyed == before


def test_repair_rewrites_a_mix_of_name_and_id_references() -> None:
    original = chain()
    mixed = {**original, "connections": {"id-trigger": link("Fetch"), "Fetch": link("id-store")}}
    repaired, changed = repair_connections(mixed)
    assert changed
    assert repaired["connections"] == original["connections"]


def test_repair_never_rewrites_a_reference_that_is_a_node_name() -> None:
    # Node "B" has id "A": a reference to "A" means the node named "A".
    wf = workflow(node("A", "x1"), node("B", "A"), connections={"B": link("A")})
    repaired, changed = repair_connections(wf)
    assert not changed
    assert repaired["connections"] == {"B": link("A")}


def test_repair_refuses_an_id_shared_by_two_nodes() -> None:
    wf = workflow(
        node("A", "[CENSORED]"),
        node("B", "[CENSORED]"),
        node("C", "c"),
        connections={"[CENSORED]": link("C")},
    )
    repaired, changed = repair_connections(wf)
    assert not changed
    message = error_of(validate, repaired)
    assert message == (
        "connections refer to '[CENSORED]', which is not a node name but the id of 2 nodes; "
        "cannot tell which node is meant"
    )


def test_repair_merges_a_node_keyed_both_by_name_and_by_id() -> None:
    wf = workflow(
        node("Get File", "f1"),
        node("Merge", "m1"),
        node("Handle error", "e1"),
        connections={
            "Get File": link("Merge"),
            "f1": {"main": [[{"node": "e1", "type": "main", "index": 0}], []]},
        },
    )
    repaired, changed = repair_connections(wf)
    assert changed
    assert repaired["connections"] == {
        "Get File": {
            "main": [
                [
                    {"node": "Merge", "type": "main", "index": 0},
                    {"node": "Handle error", "type": "main", "index": 0},
                ],
                [],
            ]
        }
    }
    validate(repaired)


def test_dangling_connections_stay_errors_with_repair() -> None:
    wf = by_id(chain())
    wf["connections"]["id-fetch"]["main"].append(
        [{"node": "error-handler-id-fetch", "type": "main", "index": 0}]
    )
    message = error_of(prepare, wf, fallback_name="f", repair=True)
    assert message == "connection from 'Fetch' to unknown node 'error-handler-id-fetch'"


def test_dangling_connections_are_reported_before_id_keys() -> None:
    wf = by_id(chain())
    wf["connections"]["id-fetch"]["main"][0].append({"node": "ghost", "index": 0})
    assert error_of(validate, wf) == "connection from 'id-fetch' to unknown node 'ghost'"


def test_repair_tolerates_malformed_workflows() -> None:
    malformed: list[dict[str, Any]] = [
        {"nodes": 3},
        {"nodes": [], "connections": []},
        {"nodes": ["x"], "connections": {"x": 1}},
    ]
    for broken in malformed:
        assert repair_connections(broken) == (broken, False)


# extraction


def test_credentials_are_extracted_in_both_forms() -> None:
    wf = workflow(
        node("A", credentials={"slackApi": {"id": "3", "name": "Slack"}}),
        node("B", credentials={"slackApi": "Slack", "httpHeaderAuth": "Header"}),
        node("C", credentials={"todoistApi": {}}),
        node("D"),
    )
    assert extract_credentials(wf) == ["httpHeaderAuth", "slackApi", "todoistApi"]


def test_placeholders_in_string_parameters_are_input_variables() -> None:
    wf = workflow(
        node(
            "A",
            parameters={
                "url": "https://{{API_HOST}}/v1",
                "headers": {"values": [{"value": "{{ API_TOKEN }}"}]},
                "nested": [["{{  SHEET_ID2 }}"]],
            },
        )
    )
    assert extract_input_variables(wf) == ["API_HOST", "API_TOKEN", "SHEET_ID2"]


@pytest.mark.parametrize(
    "text",
    [
        "={{ $json.x }}",
        "{{ $json.X }}",
        "{{ lower }}",
        "{{ Mixed }}",
        "{{ 1ABC }}",
        "{{_ABC}}",
        "{ SINGLE }",
        "{{\nNEWLINE }}",
    ],
)
def test_n8n_expressions_and_near_misses_are_not_placeholders(text: str) -> None:
    assert extract_input_variables(workflow(node("A", parameters={"p": text}))) == []


def test_env_and_vars_references_in_expressions_are_input_variables() -> None:
    wf = workflow(
        node(
            "A",
            parameters={
                "chatId": "={{ $env.TELEGRAM_CHAT_ID }}",
                "owner": "={{ $vars.repo_owner }}",
                "url": "={{$env[\"N8N_PROTOCOL\"]}}://{{ $env['N8N_HOST'] }}/x",
                "key": "=https://api.example.com?key={{ $vars.GeminiKey }}",
            },
        )
    )
    assert extract_input_variables(wf) == [
        "GeminiKey",
        "N8N_HOST",
        "N8N_PROTOCOL",
        "TELEGRAM_CHAT_ID",
        "repo_owner",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "{{ $env.WEBHOOK_URL }}",  # not an expression: n8n sends it as literal text
        "=cost: $env.PRICE",  # outside a {{ }} block an expression is literal text
        "Bearer $OPENAI_API_KEY",
    ],
)
def test_env_references_outside_expressions_are_not_input_variables(text: str) -> None:
    assert extract_input_variables(workflow(node("A", parameters={"p": text}))) == []


def test_code_nodes_and_sticky_notes_are_not_scanned_for_variables() -> None:
    wf = workflow(
        node("Code", type="n8n-nodes-base.code", parameters={"jsCode": "return $env.TG_ID;"}),
        node(
            "Note",
            type="n8n-nodes-base.stickyNote",
            parameters={"content": "Replace `={{ $env.WEBHOOK_URL }}` and {{ API_KEY }}"},
        ),
    )
    assert extract_input_variables(wf) == []


# canonical form and hash


def exported_from_n8n() -> dict[str, Any]:
    wf = chain()
    wf["nodes"][1]["credentials"] = {"httpHeaderAuth": {"id": "17", "name": "Header"}}
    wf["nodes"][1]["webhookId"] = "a1b2"
    return {
        **wf,
        "id": "wf-1",
        "versionId": "v-9",
        "active": True,
        "tags": [{"name": "t"}],
        "createdAt": "2024-01-01T00:00:00Z",
        "updatedAt": "2024-01-02T00:00:00Z",
        "meta": {"instanceId": "abc"},
        "pinData": {"Fetch": [{"json": {"a": 1}}]},
        "staticData": {"node:Trigger": {"last": 1}},
        "triggerCount": 1,
        "isArchived": False,
        "shared": [],
        "settings": {"executionOrder": "v1"},
        "description": "Fetches and stores",
    }


def test_canonical_workflow_drops_instance_bookkeeping_and_credential_ids() -> None:
    canonical = canonical_workflow(exported_from_n8n())
    assert set(canonical) == {"name", "nodes", "connections", "settings", "description"}
    fetch = canonical["nodes"][1]
    assert fetch["credentials"] == {"httpHeaderAuth": {"name": "Header"}}
    assert fetch["id"] == "id-fetch"
    assert fetch["position"] == [0, 0]
    assert fetch["webhookId"] == "a1b2"


def test_canonical_workflow_writes_old_credentials_in_the_new_form() -> None:
    canonical = canonical_workflow(workflow(node("A", credentials={"slackApi": "Slack"})))
    assert canonical["nodes"][0]["credentials"] == {"slackApi": {"name": "Slack"}}


def test_canonical_workflow_does_not_modify_its_input() -> None:
    original = exported_from_n8n()
    before = copy.deepcopy(original)
    canonical_workflow(original)
    content_hash(original)
    assert original == before


def test_hash_ignores_node_positions_ids_and_webhook_ids() -> None:
    moved = exported_from_n8n()
    for i, n in enumerate(moved["nodes"]):
        n["position"] = [i * 100, 42]
        n["id"] = f"other-{i}"
        n["webhookId"] = f"hook-{i}"
    assert content_hash(moved) == content_hash(exported_from_n8n())


def test_hash_is_the_same_for_old_and_new_credential_forms() -> None:
    new_form = workflow(node("A", credentials={"slackApi": {"id": "3", "name": "Slack"}}))
    old_form = workflow(node("A", credentials={"slackApi": "Slack"}))
    no_id = workflow(node("A", credentials={"slackApi": {"name": "Slack"}}))
    assert content_hash(new_form) == content_hash(old_form) == content_hash(no_id)


def test_hash_changes_when_content_changes() -> None:
    changed = exported_from_n8n()
    changed["nodes"][1]["parameters"] = {"url": "https://example.com"}
    assert content_hash(changed) != content_hash(exported_from_n8n())


def test_hash_is_sha256_hex() -> None:
    digest = content_hash(chain())
    assert len(digest) == 64
    assert int(digest, 16) >= 0


def test_an_export_imports_back_unchanged() -> None:
    first = prepare(exported_from_n8n(), fallback_name="f")
    exported = json.dumps(canonical_workflow(first.workflow)).encode()
    again = prepare(parse_json(exported), fallback_name="other")
    assert again.content_hash == first.content_hash
    assert again.name == first.name


# secrets


def test_a_hard_coded_bearer_token_is_found_by_its_path() -> None:
    wf = workflow(
        node(
            "Call API",
            parameters={
                "headerParameters": {
                    "parameters": [{"name": "Authorization", "value": f"Bearer {TOKEN}"}]
                }
            },
        )
    )
    findings = scan_secrets(wf)
    assert findings == [
        SecretFinding("Call API", "headerParameters.parameters[0].value", "Bearer token")
    ]
    assert TOKEN not in repr(findings)


def test_a_token_inside_a_json_string_parameter_is_found() -> None:
    headers = json.dumps({"Authorization": f"Bearer pplx-{TOKEN}"})
    findings = scan_secrets(workflow(node("LLM", parameters={"jsonHeaders": headers})))
    assert [(f.node, f.path) for f in findings] == [("LLM", "jsonHeaders")]


@pytest.mark.parametrize(
    "value,kind",
    [
        ("sk-proj-" + TOKEN, "secret key (sk-)"),
        ("sk_live_" + TOKEN.replace("Z", "q"), "Stripe key"),
        ("xoxb-2718281828-3141592653-" + TOKEN, "Slack token"),
        ("ghp_" + TOKEN, "GitHub token"),
        ("AKIAIOSFODNN7EXAMPL3", "AWS access key id"),
        ("=Authorization: Bearer " + TOKEN + " {{ $json.x }}", "Bearer token"),
    ],
)
def test_well_known_token_shapes_are_found(value: str, kind: str) -> None:
    findings = scan_secrets(workflow(node("A", parameters={"options": {"key": value}})))
    assert findings == [SecretFinding("A", "options.key", kind)]


@pytest.mark.parametrize(
    "value",
    [
        "=Bearer {{ $json.access_token }}",
        "=Bearer {{$env.READECK_API_KEY}}",
        "Bearer YOUR_PERSONAL_ACCESS_TOKEN",
        "=Bearer YOUR-API-KEY-HERE",
        "Bearer glpat-xxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "Bearer ****************************************",
        "Use header auth with the value Bearer <your token>",
        "Bearer authentication is supported as well as OAuth2.",
        "Zendesk-to-slack-notifications-2024-sync",
        "sk-1234567890abcdef1234567890",
        "Bearer {{Token}}",
    ],
)
def test_expressions_placeholders_and_prose_are_not_secrets(value: str) -> None:
    assert scan_secrets(workflow(node("A", parameters={"value": value}))) == []


def test_keys_with_punctuation_are_quoted_in_paths() -> None:
    wf = workflow(node("A", parameters={"headers": {"X-Api-Key": f"Bearer {TOKEN}"}}))
    assert scan_secrets(wf)[0].path == "headers['X-Api-Key']"


# prepare


def test_prepare_derives_everything_an_import_needs() -> None:
    wf = exported_from_n8n()
    wf["nodes"][1]["parameters"] = {"url": "={{ $env.API_URL }}/x", "auth": f"Bearer {TOKEN}"}
    prepared = prepare(wf, fallback_name="file-stem")
    assert prepared.name == "Example"
    assert prepared.description == "Fetches and stores"
    assert prepared.required_credentials == ["httpHeaderAuth"]
    assert prepared.input_variables == ["API_URL"]
    assert prepared.secrets == [SecretFinding("Fetch", "auth", "Bearer token")]
    assert prepared.content_hash == content_hash(prepared.workflow)
    assert prepared.bundle is None
    assert not prepared.repaired
    assert prepared.workflow["pinData"] == wf["pinData"]  # stored as given, not stripped


def test_prepare_strips_the_name() -> None:
    prepared = prepare(workflow(node("A"), name="  Spaced out  "), fallback_name="f")
    assert prepared.name == prepared.workflow["name"] == "Spaced out"


@pytest.mark.parametrize("name", [None, "", "   "])
def test_a_workflow_without_a_name_takes_the_file_name(name: str | None) -> None:
    wf = {"nodes": [node("A")]} if name is None else workflow(node("A"), name=name)
    prepared = prepare(wf, fallback_name="0042_Slack_Notify")
    assert prepared.name == prepared.workflow["name"] == "0042_Slack_Notify"


def test_an_unsafe_file_name_is_refused_saying_where_the_name_came_from() -> None:
    message = error_of(prepare, {"nodes": []}, fallback_name="..")
    assert message == (
        "name '..' looks like a path traversal (the workflow has no name; taken from the file name)"
    )


def test_a_non_string_name_is_refused() -> None:
    assert error_of(prepare, {"name": ["x"], "nodes": []}, fallback_name="f") == (
        "name must be a string, got an array"
    )


def test_prepare_refuses_what_is_not_an_object() -> None:
    assert error_of(prepare, [1], fallback_name="f") == "expected a workflow object, got an array"


def test_a_bundle_header_is_read_and_kept_out_of_the_stored_workflow() -> None:
    header = {
        "id": BUNDLE_ID.upper(),
        "sourceType": "prebuilt",
        "version": 3,
        "description": "From the bundle",
        "thumbnail": "https://example.com/t.png",
        "exportedAt": "2025-01-01",
    }
    plain = {**chain(), "description": "from the workflow"}
    prepared = prepare({**plain, "pumpflix": header}, fallback_name="f")
    assert prepared.bundle == BundleMeta(
        id=BUNDLE_ID,
        source_type="prebuilt",
        version=3,
        description="From the bundle",
        thumbnail="https://example.com/t.png",
    )
    assert prepared.description == "From the bundle"
    assert "pumpflix" not in prepared.workflow
    assert prepared.content_hash == prepare(plain, fallback_name="f").content_hash


def test_an_empty_bundle_header_is_a_bundle_with_nothing_set() -> None:
    prepared = prepare({**chain(), "pumpflix": {}}, fallback_name="f")
    assert prepared.bundle == BundleMeta(None, None, None, None, None)


@pytest.mark.parametrize(
    "header,expected",
    [
        ([], "pumpflix must be an object, got an array"),
        ({"id": "not-a-uuid"}, "pumpflix.id must be a UUID"),
        ({"id": 12}, "pumpflix.id must be a UUID"),
        ({"sourceType": "admin"}, 'pumpflix.sourceType must be "prebuilt" or "user"'),
        ({"version": 0}, "pumpflix.version must be a positive integer"),
        ({"version": True}, "pumpflix.version must be a positive integer"),
        ({"version": "2"}, "pumpflix.version must be a positive integer"),
        ({"description": 5}, "pumpflix.description must be a string"),
        ({"thumbnail": {}}, "pumpflix.thumbnail must be a string"),
    ],
)
def test_a_bad_bundle_header_is_refused(header: Any, expected: str) -> None:
    assert error_of(prepare, {**chain(), "pumpflix": header}, fallback_name="f") == expected


def test_a_nul_character_is_refused_with_its_path() -> None:
    wf = workflow(node("A", parameters={"text": "a\x00b"}))
    assert error_of(prepare, wf, fallback_name="f") == (
        "nodes[0].parameters.text contains a NUL character (U+0000), which cannot be stored"
    )


def test_an_unpaired_surrogate_is_refused_with_its_path() -> None:
    wf = parse_json(b'{"nodes": [], "notes": {"\\ud800": 1}}')
    assert error_of(prepare, wf, fallback_name="f") == (
        "notes['\\ud800'] contains an unpaired surrogate (U+D800), which cannot be stored"
    )


def test_an_escaped_backslash_before_u0000_is_ordinary_text() -> None:
    wf = workflow(node("A", parameters={"jsCode": "const nul = '\\u0000';"}))
    prepare(wf, fallback_name="f")


def test_an_object_nested_too_deep_for_python_is_a_workflow_error() -> None:
    deep: dict[str, Any] = {}
    for _ in range(100_000):
        deep = {"a": deep}
    wf = workflow(node("A", parameters=deep))
    assert error_of(prepare, wf, fallback_name="f") == "nesting too deep"


def test_the_workflow_description_is_used_when_the_bundle_has_none() -> None:
    wf = {**chain(), "description": "  Fetches  ", "pumpflix": {"sourceType": "user"}}
    assert prepare(wf, fallback_name="f").description == "Fetches"


@pytest.mark.parametrize("description", ["", "   ", 42, None, {"text": "x"}])
def test_a_blank_or_non_string_description_is_none(description: Any) -> None:
    wf = {**chain(), "description": description}
    assert prepare(wf, fallback_name="f").description is None
