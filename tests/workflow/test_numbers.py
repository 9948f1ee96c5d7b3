"""Numbers in workflow JSON (issue 12): what is not a JSON number is refused where it is
read, named by its path; nothing writes NaN or Infinity; and the content hash reads every
spelling of one number alike."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pumpflix_cli import json_text
from pumpflix_cli.errors import InvalidInputError
from pumpflix_cli.exit_codes import ExitCode
from pumpflix_cli.output import to_json
from pumpflix_cli.workflow import WorkflowError, content_hash, parse_json, prepare

# Literals Python's json reads but JSON has no number for.
NON_JSON_WORDS = ("NaN", "Infinity", "-Infinity")
# Numbers a double cannot hold: Python reads the floats as infinities.
OVERFLOWING = (
    "1e999",
    "-1e400",
    "1.7976931348623159e308",
    "1" + "0" * 309,
    "-" + "9" * 400,
    "1" + "0" * 300 + "e9",
    "9" * 5000,
)


def refusal(raw: bytes) -> str:
    with pytest.raises(WorkflowError) as caught:
        parse_json(raw)
    return str(caught.value)


def wrapped(literal: str) -> bytes:
    """A workflow whose node parameter ``x`` is ``literal`` as written."""
    text = '{"name": "N", "nodes": [{"name": "A", "type": "t", "parameters": {"x": @}}]}'
    return text.replace("@", literal).encode()


@pytest.mark.parametrize("word", NON_JSON_WORDS)
def test_nan_and_infinity_are_refused_with_their_path(word: str) -> None:
    assert refusal(wrapped(word)) == (
        f"invalid JSON: {word} at nodes[0].parameters.x is not a JSON number"
    )


@pytest.mark.parametrize("literal", OVERFLOWING, ids=lambda s: s[:24])
def test_numbers_beyond_a_double_are_refused_with_their_path(literal: str) -> None:
    message = refusal(wrapped(literal))
    assert message == (
        "invalid JSON: the number at nodes[0].parameters.x is beyond the range of a double "
        "(about ±1.8e308)"
    )


def test_the_largest_double_and_numbers_that_round_to_zero_are_numbers() -> None:
    assert parse_json(b"[1.7976931348623157e308, -1.7976931348623158e308, 1e-400]") == [
        1.7976931348623157e308,
        -1.7976931348623157e308,
        0.0,
    ]


def test_a_refused_number_at_the_top_level_says_so() -> None:
    assert refusal(b"NaN") == "invalid JSON: NaN at the top level is not a JSON number"


# Keys with characters a path brackets, and plain ones.
keys = st.text(st.characters(exclude_categories=["Cs"]), max_size=8)
steps = st.lists(st.one_of(keys, st.integers(0, 3)), max_size=6)
finite = (
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
)
bad_literals = st.sampled_from(NON_JSON_WORDS) | st.builds(
    lambda sign, digits, exponent: f"{sign}{digits}e{exponent}",
    st.sampled_from(["", "-"]),
    st.integers(1, 10**6),
    st.integers(309, 10**6),
)


def _placed(path: list[str | int], bad: str, filler: Any) -> str:
    """JSON text with ``bad`` (as written) at ``path``, ``filler`` beside it on the way."""
    marker = "\x00bad\x00"
    value: Any = marker
    for step in reversed(path):
        if isinstance(step, int):
            value = [filler] * step + [value, filler]
        else:
            value = {"~" + step: filler, step: value}
    return json.dumps(value).replace(json.dumps(marker), bad)


@settings(max_examples=300)
@given(path=steps, bad=bad_literals, filler=finite)
def test_any_non_json_number_anywhere_is_refused_naming_its_path(
    path: list[str | int], bad: str, filler: Any
) -> None:
    message = refusal(_placed(path, bad, filler).encode())
    where = json_text.json_path(tuple(path)) or "the top level"
    assert f" at {where} " in message
    assert message.startswith("invalid JSON: ")
    assert "\n" not in message


@given(value=st.integers(2**1020, 2**1025) | st.integers(-(2**1025), -(2**1020)))
def test_an_integer_is_refused_exactly_when_it_overflows_a_double(value: int) -> None:
    try:
        float(value)
    except OverflowError:
        fits = False
    else:
        fits = True
    raw = str(value).encode()
    if fits:
        assert parse_json(b"[" + raw + b"]") == [value]
    else:
        assert "beyond the range of a double" in refusal(b"[" + raw + b"]")


# --- built in memory (promote, n8n pull): prepare is the gate -------------------------------


@pytest.mark.parametrize(
    ("value", "word"),
    [(math.nan, "NaN"), (math.inf, "Infinity"), (-math.inf, "-Infinity"), (10**400, None)],
)
def test_prepare_refuses_a_number_json_cannot_carry_however_the_workflow_was_made(
    value: Any, word: str | None
) -> None:
    workflow = {"name": "N", "nodes": [{"name": "A", "type": "t", "parameters": {"v": [value]}}]}
    with pytest.raises(WorkflowError) as caught:
        prepare(workflow, fallback_name="N")
    assert "nodes[0].parameters.v[0]" in str(caught.value)
    if word is not None:
        assert str(caught.value).startswith(f"{word} at ")


# --- nothing writes NaN or Infinity ---------------------------------------------------------


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_json_output_refuses_nan_and_infinity_naming_where(value: float) -> None:
    with pytest.raises(InvalidInputError) as caught:
        to_json({"n8nJson": {"nodes": [{"parameters": {"x": value}}]}})
    assert "n8nJson.nodes[0].parameters.x" in str(caught.value)
    assert caught.value.exit_code == ExitCode.DATA_ERR


# --- one hash for every spelling of a number ------------------------------------------------


def spellings_of(number: float) -> set[str]:
    """JSON literals that all denote the double ``number``: Python's, JavaScript's, jsonb's
    (positional, no exponent), exact decimal, with trailing zeros, with a capital E."""
    exact = Decimal(number)
    shortest = Decimal(repr(number))
    out = {
        repr(number),
        f"{number:.17g}",
        f"{number:.17e}".upper(),
        format(shortest, "f"),  # jsonb's spelling of a number written with an exponent
        format(exact, "f"),
        format(exact.normalize(), "E"),
    }
    if "e" not in repr(number) and "." in repr(number):
        out.add(repr(number) + "000")
    if number.is_integer():
        whole = int(number)
        out |= {str(whole), f"{whole}.0", f"{whole}E0"}
        if number == 0:
            out |= {"-0", "-0.0", "0e5", "-0E-3"}
    return out


def _hash_of(literal: str) -> str:
    return content_hash(parse_json(wrapped(literal)))


@settings(max_examples=300)
@given(number=st.floats(allow_nan=False, allow_infinity=False))
def test_every_spelling_of_a_double_hashes_alike(number: float) -> None:
    spellings = spellings_of(number)
    for literal in spellings:
        assert float(json.loads(literal)) == number, literal  # each denotes the double
    assert len({_hash_of(literal) for literal in spellings}) == 1, spellings


@settings(max_examples=200)
@given(value=st.integers(-(10**300), 10**300))
def test_an_integer_hashes_as_the_double_javascript_reads_it(value: int) -> None:
    nearest = float(value)
    spellings = {str(value), repr(nearest), str(int(nearest)), format(Decimal(value), "E")}
    assert len({_hash_of(literal) for literal in spellings}) == 1, spellings


@given(a=st.floats(allow_nan=False, allow_infinity=False), b=st.floats(allow_nan=False))
def test_different_numbers_hash_differently(a: float, b: float) -> None:
    assume(a != b and not math.isinf(b))
    assert _hash_of(repr(a)) != _hash_of(repr(b))


@pytest.mark.parametrize(
    "group",
    [
        ["1.5e20", "150000000000000000000", "1.5E+20"],
        ["-0.0", "0", "-0", "0.0"],
        ["1E2", "100", "100.0", "1e+2"],
        ["0.10", "0.1", "1e-1"],
        ["12345678901234567890", "1.2345678901234567890e19", "12345678901234567000"],
        ["1e-7", "0.0000001"],
        ["1.0", "1"],
        ["9007199254740993", "9007199254740992"],
    ],
)
def test_the_issues_spellings_hash_alike(group: list[str]) -> None:
    assert len({_hash_of(literal) for literal in group}) == 1


def test_a_hash_of_a_number_that_cannot_be_stored_does_not_crash() -> None:
    # Old rows may hold them (SQLite stored Infinity before it was refused).
    assert _hash_like(math.inf) != _hash_like(1.0)


def _hash_like(value: Any) -> str:
    node = {"name": "A", "type": "t", "parameters": {"x": value}}
    return content_hash({"name": "N", "nodes": [node]})
