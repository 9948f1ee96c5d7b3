"""The token scan: case-insensitive schemes, string literals inside n8n expressions.

Issue 12: ``bearer …`` / ``BEARER …`` and tokens inside expressions (``={{ 'Bearer Zx81…' }}``,
``={{ "sk-…" }}``) were missed. Plain values and each JavaScript string literal of an
expression are scanned alike; an expression that only references data never warns; a
finding says where, never what.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pumpflix_cli.workflow import SecretFinding, scan_secrets
from pumpflix_cli.workflow.tokens import scanned_text

TOKEN = "Zx81qP4mN7vR2tY9wK3jL6"


def scan(value: Any) -> list[SecretFinding]:
    wf = {"name": "W", "nodes": [{"name": "Call", "type": "t", "parameters": {"auth": value}}]}
    return scan_secrets(wf)


def assert_found(value: Any, kind: str, token: str) -> None:
    findings = scan(value)
    assert findings == [SecretFinding("Call", "auth", kind)]
    assert token not in repr(findings)


# the examples


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "Bearer", "bEaReR"])
def test_the_bearer_scheme_is_matched_in_any_case(scheme: str) -> None:
    assert_found(f"{scheme} {TOKEN}", "Bearer token", TOKEN)
    assert_found(f"Authorization: {scheme}\t{TOKEN}", "Bearer token", TOKEN)


@pytest.mark.parametrize(
    "value,kind",
    [
        (f"={{{{ 'Bearer {TOKEN}' }}}}", "Bearer token"),
        (f'={{{{ "sk-{TOKEN}" }}}}', "secret key (sk-)"),
        (f"={{{{ `Bearer {TOKEN}` }}}}", "Bearer token"),
        (f"={{{{ 'bearer {TOKEN}' }}}}", "Bearer token"),
        (f'={{{{ "BEARER {TOKEN}" }}}}', "Bearer token"),
        (f"=Authorization: {{{{ 'Bearer ' + 'x' }}}} {{{{ \"ghp_{TOKEN}\" }}}}", "GitHub token"),
        (f"={{{{ $json.token || 'Bearer {TOKEN}' }}}}", "Bearer token"),
        (f"={{{{ `${{$json.a}}` + `sk-{TOKEN}` }}}}", "secret key (sk-)"),
        (f"={{{{ `Bearer ${{$json.a}}` + `sk-{TOKEN}` }}}}", "Bearer token"),  # as it renders
        (f"={{{{ `x ${{ 'Bearer {TOKEN}' }}` }}}}", "Bearer token"),  # a literal in ${…}
        (f"{{{{ 'Bearer {TOKEN}' }}}}", "Bearer token"),  # a block without the leading =
        (f"={{{{ {{ headers: {{ auth: 'Bearer {TOKEN}' }} }} }}}}", "Bearer token"),
        (f"={{{{ 'it\\'s }}}} Bearer {TOKEN}' }}}}", "Bearer token"),  # }} inside a literal
        (f"={{{{ $json.s.replace(/'/g, '') + \"Bearer {TOKEN}\" }}}}", "Bearer token"),
    ],
)
def test_a_token_in_a_string_literal_of_an_expression_is_found(value: str, kind: str) -> None:
    assert_found(value, kind, TOKEN)


@pytest.mark.parametrize(
    "literal",
    [
        f"'Bear\\x65r {TOKEN}'",  # \xHH
        f"'\\u0042earer {TOKEN}'",  # \uHHHH
        f"'\\u{{42}}earer {TOKEN}'",  # \u{…}
        f'"Bearer\\t{TOKEN}"',  # a tab between scheme and token
        f"'Bearer \\\n{TOKEN}'",  # a line continuation inside the literal
    ],
)
def test_escapes_in_a_literal_are_decoded_before_the_scan(literal: str) -> None:
    assert TOKEN in scanned_text(f"={{{{ {literal} }}}}")
    assert_found(f"={{{{ {literal} }}}}", "Bearer token", TOKEN)


@pytest.mark.parametrize(
    "value",
    [
        "={{ $json.token }}",
        "={{ $credentials.apiKey }}",
        "{{ $env.X }}",
        "=Bearer {{ $json.token }}",
        "=bearer {{ $env.API_KEY }}",
        "={{ 'Bearer ' + $json.access_token }}",
        "={{ `Bearer ${$json.access_token}` }}",
        '={{ "Bearer " + $credentials.apiKey }}',
        "={{ $('Get token').item.json.access_token }}",
        '={{ $node["Auth"].json["token"] }}',
        "={{ 'Bearer YOUR_API_TOKEN' }}",
        "={{ $json.a // 'Bearer " + TOKEN + "' is only a comment\n }}",
        "={{ /* 'sk-" + TOKEN + "' */ $json.b }}",
    ],
)
def test_expressions_that_only_reference_data_never_warn(value: str) -> None:
    assert scan(value) == []


def test_an_unclosed_block_is_plain_text_and_still_scanned() -> None:
    assert_found(f"={{{{ 'Bearer {TOKEN}'", "Bearer token", TOKEN)
    assert scan("={{ $json.token") == []


@pytest.mark.parametrize(
    "value",
    [
        f"=Bearer {{{{ '{TOKEN}' }}}}",
        f"={{{{ 'Bearer' }}}} {TOKEN}",
        f"={{{{ `Bearer ${{'{TOKEN}'}}` }}}}",
        f"={{{{ 'Bearer ' + ' ' + '{TOKEN}' }}}}",
    ],
)
def test_a_token_split_between_text_and_literals_reads_as_it_renders(value: str) -> None:
    assert_found(value, "Bearer token", TOKEN)


def test_the_scan_reads_literals_never_code() -> None:
    assert scanned_text("a {{ 'b' + \"c\" }} d") == "a  b c  d"
    assert scanned_text("={{ $json.token }}") == "= "
    assert scanned_text("{{ x") == "{{ x"


def test_deeply_nested_template_literals_do_not_exhaust_the_stack() -> None:
    hostile = "={{ " + "`${" * 5000 + f"'Bearer {TOKEN}'" + "}`" * 5000 + " }}"
    findings = scan(hostile)  # too deep to parse: read as plain text, and still scanned
    assert findings == [SecretFinding("Call", "auth", "Bearer token")]
    assert TOKEN not in repr(findings)
    assert scan("={{ " + "`${" * 5000 + "$json.token" + "}`" * 5000 + " }}") == []


# generated cases

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz0123456789"
# High-entropy bodies: letters and digits, many distinct characters, no placeholder words.
tokens = st.text(st.sampled_from(_ALPHABET), min_size=20, max_size=48).filter(
    lambda t: (
        any(c.isdigit() for c in t)
        and any(c.isalpha() for c in t)
        and len(set(t)) >= 8
        and not any(w in t.lower() for w in ("your", "here", "demo", "token", "abcdef", "123456"))
    )
)
bearer_cases = st.lists(st.booleans(), min_size=6, max_size=6).map(
    lambda upper: "".join(c.upper() if u else c for c, u in zip("bearer", upper, strict=True))
)
data_refs = st.sampled_from(
    [
        "$json.token",
        "$json['access_token']",
        "$credentials.apiKey",
        "$env.API_KEY",
        "$vars.secret",
        "$('Login').item.json.jwt",
        '$node["Auth"].json.key',
        "$input.first().json.headers.authorization",
    ]
)
shapes = st.sampled_from(
    [
        ("{scheme} {token}", "Bearer token"),
        ("sk-{token}", "secret key (sk-)"),
        ("ghp_{token}", "GitHub token"),
        ("xoxb-{token}", "Slack token"),
    ]
)


def _quote(text: str, quote: str) -> str:
    escaped = text.replace("\\", "\\\\").replace(quote, "\\" + quote)
    if quote == "`":
        escaped = escaped.replace("${", "\\${")
    return f"{quote}{escaped}{quote}"


@given(tokens, bearer_cases, shapes, st.sampled_from(["", "=", "Authorization: "]))
def test_a_token_in_a_plain_value_is_found_and_never_shown(
    token: str, scheme: str, shape: tuple[str, str], lead: str
) -> None:
    template, kind = shape
    assert_found(lead + template.format(scheme=scheme, token=token), kind, token)


@given(tokens, bearer_cases, shapes, st.sampled_from(["'", '"', "`"]), data_refs, st.booleans())
def test_a_token_in_any_quote_style_inside_an_expression_is_found(
    token: str, scheme: str, shape: tuple[str, str], quote: str, ref: str, ref_first: bool
) -> None:
    template, kind = shape
    literal = _quote(template.format(scheme=scheme, token=token), quote)
    code = f"{ref} || {literal}" if ref_first else f"{literal} + {ref}"
    assert_found(f"={{{{ {code} }}}}", kind, token)


@given(
    st.lists(data_refs, min_size=1, max_size=4),
    st.sampled_from(["=", "", "=Bearer ", "=bearer ", "=BEARER "]),
    st.sampled_from([" + ", " || ", " ?? ", ", "]),
)
def test_expressions_made_only_of_data_references_never_warn(
    refs: list[str], lead: str, joiner: str
) -> None:
    assert scan(f"{lead}{{{{ {joiner.join(refs)} }}}}") == []
    assert scan(f"{lead}{{{{ `${{{refs[0]}}}` }}}}") == []


@given(st.text(max_size=80))
def test_reading_any_text_never_fails(text: str) -> None:
    assert isinstance(scanned_text(text), str)
    assert isinstance(scan(text), list)


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("GITHUB_TOKEN", True),
        ("DB_PASSWORD", True),
        ("apiKey", True),
        ("x-auth-token", True),
        ("OPENAI_KEY", True),
        ("sig", True),
        ("WHO", False),
        ("REPO", False),
        ("SLACK_CHANNEL", False),
    ],
)
def test_a_name_says_secret_by_any_of_its_parts(name: str, secret: bool) -> None:
    from pumpflix_cli.workflow.secret_names import names_a_secret

    assert names_a_secret(name) is secret
