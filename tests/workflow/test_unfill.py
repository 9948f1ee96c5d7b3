"""Undoing `materialize` for promotion (workflow/unfill.py, workflow/fill_values.py):
filling a template in and putting it back gives the template, the values of secret
variables are never left behind, and what cannot simply be put back is said."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pumpflix_cli.workflow import extract_input_variables
from pumpflix_cli.workflow.fill_values import fill_values
from pumpflix_cli.workflow.materialize import materialize
from pumpflix_cli.workflow.unfill import (
    MASK,
    FilledPlace,
    UnfillNote,
    filled_places,
    unfill,
)

TOKEN = "ghp_7Fq2LmZ9xR4tW8yB3nK6vP1sD5hJ0cA2eG"  # a GitHub token as the issue had it


def node(name: str, parameters: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "id": f"id-{name}",
        "name": name,
        "type": "n8n-nodes-base.httpRequest",
        "position": [0, 0],
        "parameters": parameters,
        **extra,
    }


def github_template() -> dict[str, Any]:
    """Like the corpus's GitHub workflows: a token in a header placeholder and in a
    ``$vars`` reference, a repository in ``$env``, and a Slack credential."""
    return {
        "name": "Issues digest",
        "nodes": [
            node("Start", {}, type="n8n-nodes-base.manualTrigger"),
            node(
                "Fetch issues",
                {
                    "url": "=https://api.github.com/repos/{{ $env.REPO }}/issues",
                    "headerParameters": {
                        "parameters": [
                            {"name": "Authorization", "value": "Bearer {{GITHUB_TOKEN}}"},
                            {"name": "X-Check", "value": "={{ $vars.GITHUB_TOKEN.length }}"},
                        ]
                    },
                    "options": {"timeout": 10000},
                },
            ),
            node(
                "Post",
                {"text": '=Issues of {{ $env["REPO"] }} for {{ CHANNEL }}: {{ $json.count }}'},
                type="n8n-nodes-base.slack",
                credentials={"slackApi": {"id": "17", "name": "Slack account"}},
            ),
            node(
                "Note", {"content": "Set {{GITHUB_TOKEN}} first"}, type="n8n-nodes-base.stickyNote"
            ),
        ],
        "connections": {},
        "settings": {"executionOrder": "v1"},
    }


VALUES = {"GITHUB_TOKEN": TOKEN, "REPO": "octo/hello", "CHANNEL": "#dev"}
MAPPED = {"slackApi": "42"}


def run(
    template: dict[str, Any], values: dict[str, str], secret: set[str], credentials: dict[str, str]
) -> tuple[list[FilledPlace], dict[str, str], dict[str, Any], dict[str, Any]]:
    """What a run records and deploys: the places, the values as stored (secret ones
    masked), the final JSON as stored, and the workflow n8n holds."""
    stored = {name: MASK if name in secret else value for name, value in values.items()}
    places = filled_places(template, values, credentials)
    return (
        places,
        stored,
        materialize(template, stored, credentials),
        materialize(template, values, credentials),
    )


def put_back(
    workflow: dict[str, Any],
    places: list[FilledPlace],
    stored: dict[str, str],
    secret: set[str],
    recorded: dict[str, Any],
) -> tuple[dict[str, Any], list[UnfillNote]]:
    result = unfill(workflow, places, stored, secret=secret, credentials=MAPPED, reference=recorded)
    return result.workflow, result.notes


def test_the_final_json_and_the_deployed_workflow_both_put_back_to_the_template() -> None:
    template = github_template()
    places, stored, recorded, deployed = run(template, VALUES, {"GITHUB_TOKEN"}, MAPPED)
    assert TOKEN not in json.dumps(recorded)
    assert TOKEN in json.dumps(deployed)

    for source in (recorded, deployed):
        workflow, notes = put_back(source, places, stored, {"GITHUB_TOKEN"}, recorded)
        assert workflow == template
        assert notes == []
        assert extract_input_variables(workflow) == ["CHANNEL", "GITHUB_TOKEN", "REPO"]


def test_a_place_changed_after_the_run_that_may_hold_the_secret_gets_the_template_back() -> None:
    template = github_template()
    places, stored, recorded, deployed = run(template, VALUES, {"GITHUB_TOKEN"}, MAPPED)
    headers = deployed["nodes"][1]["parameters"]["headerParameters"]["parameters"]
    headers[0]["value"] = f"token {TOKEN}"  # edited in n8n, the token still in it
    deployed["nodes"][1]["parameters"]["options"]["note"] = f"was {TOKEN}"  # pasted elsewhere

    workflow, notes = put_back(deployed, places, stored, {"GITHUB_TOKEN"}, recorded)

    assert TOKEN not in json.dumps(workflow)
    changed = workflow["nodes"][1]["parameters"]
    assert changed["headerParameters"]["parameters"][0]["value"] == "Bearer {{GITHUB_TOKEN}}"
    assert changed["options"]["note"] == "was ***"
    assert notes == [
        UnfillNote(
            "edited-secret",
            "Fetch issues",
            "headerParameters.parameters[0].value",
            ("GITHUB_TOKEN",),
        ),
        UnfillNote("stray-secret", "Fetch issues", "options.note", ("GITHUB_TOKEN",)),
    ]


def test_a_change_that_dropped_the_secret_is_kept() -> None:
    template = github_template()
    places, stored, recorded, deployed = run(template, VALUES, {"GITHUB_TOKEN"}, MAPPED)
    headers = deployed["nodes"][1]["parameters"]["headerParameters"]["parameters"]
    headers[0]["value"] = "={{ $credentials.token }}"  # the token learned from X-Check

    workflow, notes = put_back(deployed, places, stored, {"GITHUB_TOKEN"}, recorded)

    kept = workflow["nodes"][1]["parameters"]["headerParameters"]["parameters"]
    assert kept[0]["value"] == "={{ $credentials.token }}"
    assert kept[1]["value"] == "={{ $vars.GITHUB_TOKEN.length }}"
    assert notes == []


def test_a_changed_place_keeps_a_plain_value_and_says_so() -> None:
    template = github_template()
    places, stored, recorded, deployed = run(template, VALUES, {"GITHUB_TOKEN"}, MAPPED)
    deployed["nodes"][2]["parameters"]["text"] = "Issues for #dev, edited"

    workflow, notes = put_back(deployed, places, stored, {"GITHUB_TOKEN"}, recorded)

    assert workflow["nodes"][2]["parameters"]["text"] == "Issues for #dev, edited"
    assert notes == [UnfillNote("edited", "Post", "text", ("CHANNEL",))]


def test_credentials_get_the_template_s_reference_back_and_ids_chosen_in_n8n_are_dropped() -> None:
    template = github_template()
    template["nodes"][1]["credentials"] = {"httpHeaderAuth": "Header auth"}  # the older form
    credentials = {**MAPPED, "httpHeaderAuth": "9"}
    places, stored, recorded, deployed = run(template, VALUES, set(), credentials)
    deployed["nodes"][1]["credentials"]["httpHeaderAuth"] = {"id": "77", "name": "Picked in n8n"}
    deployed["nodes"].append(
        node("Added in n8n", {}, credentials={"githubApi": {"id": "5", "name": "Mine"}})
    )

    result = unfill(deployed, places, stored, credentials=credentials, reference=recorded)

    by_name = {n["name"]: n for n in result.workflow["nodes"]}
    assert by_name["Post"]["credentials"] == {"slackApi": {"id": "17", "name": "Slack account"}}
    assert by_name["Fetch issues"]["credentials"] == {"httpHeaderAuth": {"name": "Picked in n8n"}}
    assert by_name["Added in n8n"]["credentials"] == {"githubApi": {"name": "Mine"}}


def test_a_node_renamed_in_n8n_is_found_by_its_id() -> None:
    template = github_template()
    places, stored, recorded, deployed = run(template, VALUES, {"GITHUB_TOKEN"}, MAPPED)
    deployed["nodes"][1]["name"] = "Fetch open issues"

    workflow, notes = put_back(deployed, places, stored, {"GITHUB_TOKEN"}, recorded)

    assert workflow["nodes"][1] == {**template["nodes"][1], "name": "Fetch open issues"}
    assert notes == []


def test_a_secret_read_off_a_javascript_literal_with_escapes() -> None:
    template = '={{ "x" + $vars.KEY }} and {{ $env.KEY }}'
    value = 'a"b\\c\u00e9\n'
    current = materialize({"nodes": [node("n", {"v": template})]}, {"KEY": value})
    text = current["nodes"][0]["parameters"]["v"]

    assert fill_values(template, text, {}, {"KEY"}) == {"KEY": value}
    assert fill_values(template, text.replace("and", "or"), {}, {"KEY"}) is None
    two = text.replace(json.dumps(value), json.dumps("other"), 1)
    assert fill_values(template, two, {}, {"KEY"}) is None  # one variable, two values


def test_two_secrets_side_by_side_are_put_back_though_their_split_is_a_guess() -> None:
    template = {"nodes": [node("n", {"v": "{{A}}{{B}}", "w": "{{ A }}!"})]}
    values = {"A": "SECRETAAAA", "B": "SECRETBBBB"}
    places, stored, recorded, deployed = run(template, values, {"A", "B"}, {})
    deployed["nodes"][0]["parameters"]["x"] = "SECRETAAAA pasted"

    result = unfill(deployed, places, stored, secret={"A", "B"}, reference=recorded)

    assert result.workflow == {
        "nodes": [node("n", {**template["nodes"][0]["parameters"], "x": "*** pasted"})]
    }
    assert result.notes == [UnfillNote("stray-secret", "n", "x", ("A",))]


def test_a_recorded_place_that_does_not_read_is_ignored() -> None:
    assert FilledPlace.from_json({"node": "n", "path": [], "template": "x"}) is None
    assert FilledPlace.from_json({"node": "n", "path": ["parameters", True]}) is None
    assert FilledPlace.from_json("n") is None
    place = FilledPlace("n", "id-n", ("parameters", "a", 0), "{{A}}")
    assert FilledPlace.from_json(json.loads(json.dumps(place.to_json()))) == place


# --- properties ------------------------------------------------------------------------------

NAMES = ["API_URL", "WHO", "TOKEN", "region", "KEY_2"]
# Template text and token values from disjoint alphabets, so a value read off one place
# is never found by chance in another.
plain = st.text(st.sampled_from("abcdefgh ,.:/-'\"\\$"), max_size=8)
any_value = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=8)
token_value = st.text(
    st.sampled_from("ABCDEFGHJKMNPQRSTUVWXYZ0123456789_"), min_size=4, max_size=12
)


@st.composite
def pieces(draw: st.DrawFn, names: list[str]) -> str:
    """One string parameter: plain text, placeholders, and for an expression references
    in ``{{ }}`` blocks, n8n's own references and blocks without variables."""
    expression = draw(st.booleans())
    parts = []
    for _ in range(draw(st.integers(0, 4))):
        name = draw(st.sampled_from(names))
        kind = draw(st.sampled_from(["plain", "placeholder", "vars", "env", "bracket", "json"]))
        if kind == "plain":
            parts.append(draw(plain).replace("{", "").replace("}", ""))
        elif kind == "placeholder" and name.isupper():
            parts.append(draw(st.sampled_from(["{{NAME}}", "{{ NAME }}"])).replace("NAME", name))
        elif kind == "json":
            parts.append("{{ $json.x }}" if expression else "x")
        elif expression and kind != "placeholder":
            reference = {"vars": f"$vars.{name}", "env": f"$env.{name}"}.get(
                kind, f"$vars['{name}']"
            )
            parts.append("{{ " + reference + " + 'y' }}")
    # Apart: two placeholders side by side hide where one value ends (see the test below).
    return ("=" if expression else "") + " ".join(parts)


@st.composite
def templates(draw: st.DrawFn) -> dict[str, Any]:
    nodes = []
    for index in range(draw(st.integers(1, 4))):
        parameters = {
            "a": draw(pieces(NAMES)),
            "nested": {"list": [draw(pieces(NAMES)) for _ in range(draw(st.integers(0, 2)))]},
        }
        extra: dict[str, Any] = {}
        if draw(st.booleans()):
            extra["credentials"] = {
                draw(st.sampled_from(["slackApi", "githubApi"])): draw(
                    st.sampled_from([{"id": "1", "name": "Mine"}, "Older form"])
                )
            }
        if draw(st.booleans()):
            extra["type"] = "n8n-nodes-base.stickyNote"
        nodes.append(node(f"n{index}", parameters, **extra))
    return {"name": "t", "nodes": nodes, "connections": {}}


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    template=templates(),
    values=st.fixed_dictionaries({name: any_value for name in NAMES}),
    secret=st.sets(st.sampled_from(NAMES)),
    credentials=st.dictionaries(
        st.sampled_from(["slackApi", "githubApi"]), st.sampled_from(["42", "43"])
    ),
)
def test_the_recorded_final_json_always_puts_back_to_the_template(
    template: dict[str, Any],
    values: dict[str, str],
    secret: set[str],
    credentials: dict[str, str],
) -> None:
    original = copy.deepcopy(template)
    places, stored, recorded, _deployed = run(template, values, secret, credentials)

    result = unfill(
        recorded, places, stored, secret=secret, credentials=credentials, reference=recorded
    )

    assert result.workflow == original
    assert result.notes == []


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    template=templates(),
    values=st.fixed_dictionaries({name: token_value for name in NAMES}),
    plain_values=st.fixed_dictionaries({name: any_value for name in NAMES}),
    secret=st.sets(st.sampled_from(NAMES), min_size=1),
    credentials=st.dictionaries(
        st.sampled_from(["slackApi", "githubApi"]), st.sampled_from(["42", "43"])
    ),
)
def test_the_deployed_workflow_puts_back_to_the_template_and_leaves_no_secret(
    template: dict[str, Any],
    values: dict[str, str],
    plain_values: dict[str, str],
    secret: set[str],
    credentials: dict[str, str],
) -> None:
    given_values = {name: values[name] if name in secret else plain_values[name] for name in NAMES}
    assume(len({given_values[name] for name in secret}) == len(secret))
    places, stored, recorded, deployed = run(template, given_values, secret, credentials)

    result = unfill(
        deployed, places, stored, secret=secret, credentials=credentials, reference=recorded
    )

    assert result.workflow == template
    assert result.notes == []
    text = json.dumps(result.workflow)
    assert not [name for name in secret if given_values[name] in text]
