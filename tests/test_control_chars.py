"""Control and bidi characters from outside (names, descriptions, node names, file paths,
error texts) never reach the terminal raw: printed for a person they show as ``\\x1b`` /
``\\u202e``; in JSON they are ``\\u`` escapes that parse back to the exact value. User
values are never read as Rich markup."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pumpflix_cli.output import Column, Output, to_json
from pumpflix_cli.text import UNSAFE, json_text, printable, printable_lines
from tests.conftest import CliRun
from tests.factories import workflow, write

TOKEN = "ghp_" + "A1b2C3d4" * 5

unsafe_char = st.sampled_from(sorted(UNSAFE))
plain = st.text(st.characters(exclude_categories=["Cs"], exclude_characters=UNSAFE), max_size=8)
markup = st.sampled_from(
    ["", "[red]", "[/]", "[bold]x[/bold]", "[link=http://x]y", "\\", ":smile:"]
)


@st.composite
def hostile(draw: st.DrawFn) -> str:
    """Text with at least one character that would act on a terminal, among others."""
    parts = draw(st.lists(st.one_of(plain, unsafe_char, markup), min_size=1, max_size=8))
    return draw(plain) + draw(unsafe_char) + "".join(parts)


def raw_controls(text: str, allowed: str = "\n") -> list[str]:
    return sorted({char for char in text if char in UNSAFE and char not in allowed})


# --- the rule ---------------------------------------------------------------------------


@settings(deadline=None)
@given(st.text())
def test_printable_leaves_no_unsafe_character_and_keeps_the_rest(text: str) -> None:
    shown = printable(text)
    assert not raw_controls(shown, allowed="")
    assert [c for c in shown if c not in UNSAFE] == list(shown)
    if not any(char in UNSAFE for char in text):
        assert shown == text


@pytest.mark.parametrize(
    ("char", "shown"),
    [
        ("\x1b", "\\x1b"), ("\n", "\\x0a"), ("\t", "\\x09"), ("\x00", "\\x00"), ("\x7f", "\\x7f"),
        ("\x9b", "\\x9b"), ("\u202e", "\\u202e"), ("\u2066", "\\u2066"), ("\u200b", "\\u200b"),
        ("\u2028", "\\u2028"), ("\u2029", "\\u2029"), ("\ufeff", "\\ufeff"), ("\u200f", "\\u200f"),
    ],
)  # fmt: skip
def test_each_class_of_character_is_shown_as_its_escape(char: str, shown: str) -> None:
    assert printable(f"a{char}b") == f"a{shown}b"


@settings(deadline=None)
@given(st.text(), st.sampled_from([None, 2]))
def test_json_text_round_trips_and_leaves_nothing_raw(text: str, indent: int | None) -> None:
    document = {"name": text, "nested": [text, {"k": text}]}
    shown = json_text(document, indent=indent)
    assert json.loads(shown) == document
    assert not raw_controls(shown)
    assert "é" in json_text("é"), "other non-ASCII text stays readable"


def test_printable_lines_keeps_the_line_breaks_we_write() -> None:
    assert printable_lines("one \x1b[2J\ntwo \u202e") == "one \\x1b[2J\ntwo \\u202e"


# --- every way Output prints --------------------------------------------------------------

Printer = Callable[[Output, str], None]
PRINTERS: dict[str, Printer] = {
    "info": lambda out, v: out.info(f"imported '{v}'"),
    "success": lambda out, v: out.success(v),
    "debug": lambda out, v: out.debug(v),
    "warn": lambda out, v: out.warn(f"{v}: node '{v}' looks like a hard-coded secret"),
    "failure": lambda out, v: out.failure(f"failed: {v}: invalid JSON"),
    "error": lambda out, v: out.error(f"no template matches '{v}'", hint=v),
    "text": lambda out, v: out.text(f"exported 1 template to {v}"),
    "line": lambda out, v: out.line(f"12:00 info n8n [{v}] {v}"),
    "block": lambda out, v: out.block(to_json({"v": v})),
    "table": lambda out, v: out.table(
        [Column("name", fit="name"), Column("status")], [(v, "ok"), (None, v)], title=v
    ),
    "fields": lambda out, v: out.fields({"name": v, v: 1}, title=v),
}


def printed(print_: Printer, value: str, *, terminal: bool = False) -> str:
    stdout, stderr = io.StringIO(), io.StringIO()
    print_(Output(verbose=True, stdout=stdout, stderr=stderr), value)
    return stdout.getvalue() + stderr.getvalue()


@pytest.mark.parametrize("name", sorted(PRINTERS))
@settings(deadline=None)
@given(value=hostile())
def test_nothing_printed_for_a_person_carries_a_raw_control(name: str, value: str) -> None:
    text = printed(PRINTERS[name], value)
    assert not raw_controls(text), f"{name} printed {raw_controls(text)} raw"


@pytest.mark.parametrize("name", sorted(PRINTERS))
@pytest.mark.parametrize("value", ["[red]boom[/red]", "[/]", "[bold]", ":smile:", "\x1b[8mhidden"])
def test_user_values_are_never_markup(name: str, value: str) -> None:
    text = printed(PRINTERS[name], value)
    assert (json_text(value)[1:-1] if name == "block" else printable(value)) in text
    assert "\x1b" not in text


def test_an_escape_sequence_hides_nothing_after_it_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in {"TTY_COMPATIBLE": "1", "TERM": "xterm", "COLUMNS": "200"}.items():
        monkeypatch.setenv(key, value)
    stderr = io.StringIO()
    Output(stderr=stderr).warn("'\x1b[8mName' looks like a hard-coded secret")
    assert "\\x1b[8mName' looks like a hard-coded secret" in stderr.getvalue()
    assert "\x1b[8m" not in stderr.getvalue()


def test_a_confirmation_shows_the_question_escaped_and_literal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    stderr = io.StringIO()
    assert Output(stderr=stderr).confirm("Delete 1 template: '[red]x\x1b[2J'?")
    assert "Delete 1 template: '[red]x\\x1b[2J'?" in stderr.getvalue()


def test_a_traceback_keeps_its_lines_and_escapes_the_rest() -> None:
    stderr = io.StringIO()
    try:
        raise ValueError("bad \x1b[2J value\u202e")
    except ValueError:
        Output(stderr=stderr).traceback()
    assert "ValueError: bad \\x1b[2J value\\u202e" in stderr.getvalue()
    assert not raw_controls(stderr.getvalue())


# --- through the commands -----------------------------------------------------------------


def safe_file_part(value: str) -> str:
    part = value.replace("/", "_").replace("\x00", "_")
    while len(part.encode()) > 200:
        part = part[:-1]
    return part


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=hostile())
def test_hostile_text_in_a_template_never_reaches_the_terminal_raw(
    cli: CliRun, tmp_path: Path, value: str
) -> None:
    folder = tmp_path / uuid.uuid4().hex
    name = f"Template {uuid.uuid4().hex[:12]}"
    document = workflow(name)
    document["description"] = value
    document["nodes"][1]["name"] = f"Set {value}"
    document["nodes"][1]["parameters"]["token"] = TOKEN
    document["connections"] = {
        "When clicking 'Test workflow'": {
            "main": [[{"node": f"Set {value}", "type": "main", "index": 0}]]
        }
    }
    write(folder, "good.json", document)
    write(folder, f"{safe_file_part(value)}.json", workflow(f"Named {value}"))
    write(folder, f"{safe_file_part(value)}-broken.json", {"nodes": value})

    results = [cli("templates", "import", str(folder))]
    created = json.loads(cli("templates", "list", "--json", "--search", name).stdout)
    results += [cli("templates", "list"), cli("templates", "show", f"Named {value}")]
    if created:
        ref = created[0]["id"]
        results += [cli("templates", "show", ref), cli("templates", "export", ref, "--out", "-")]
        shown = json.loads(cli("templates", "show", ref, "--json").stdout)
        kept = value.strip() or None  # import trims a description, as every text field
        assert shown["description"] == kept, "JSON round-trips the exact string"
        assert kept is None or printable(kept) in results[-2].stdout
        exported = json.loads(results[-1].stdout)
        assert f"Set {value}" in [node["name"] for node in exported[0]["nodes"]]
    for result in results:
        assert not raw_controls(result.stdout + result.stderr), result.output


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=hostile())
def test_what_was_typed_is_quoted_escaped_in_usage_errors(cli: CliRun, value: str) -> None:
    typed = value.replace("\x00", "")  # argv cannot hold a NUL
    for args in (
        ["templates", "list", f"--x{typed}"],
        [f"--y{typed}"],
        [f"cmd{typed}"],
        ["templates", "list", "--limit", typed],
        ["templates", "list", "--type", typed],
        ["templates", "show", f"Named {typed}"],
    ):
        result = cli(*args)
        assert result.exit_code in {2, 3}, result.output
        assert not raw_controls(result.stdout + result.stderr), (args, result.output)
