"""Template names pumpflix writes (issue 12): NFC, and no character that shows as nothing;
and the normalised form every comparison of names uses (PLATFORM.md "Names")."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pumpflix_cli.references import IGNORABLE, name_key
from pumpflix_cli.workflow import WorkflowError, prepare, template_name

# The look-alikes: zero-width characters, bidi controls, other format characters.
INVISIBLE = [
    *(0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00AD, 0x180E, 0x034F, 0x3164, 0xFE0F),
    *range(0x202A, 0x202F),
    *range(0x2066, 0x206A),
    *(0x0600, 0xFFF9, 0xE0001, 0xE0041, 0xE0100),
]
CONTROL = [0x00, 0x07, 0x1B, 0x7F, 0x85, 0x9B, 0x2028, 0x2029]


def refusal(name: str) -> str:
    with pytest.raises(WorkflowError) as caught:
        template_name(name)
    return str(caught.value)


@pytest.mark.parametrize("code", INVISIBLE + CONTROL, ids=lambda c: f"U+{c:04X}")
def test_a_name_with_an_invisible_or_control_character_is_refused_naming_it(code: int) -> None:
    assert f"(U+{code:04X})" in refusal(f"Weekly{chr(code)} report")


def test_a_decomposed_name_is_stored_composed() -> None:
    decomposed = "Cafe\u0301 orders"
    assert template_name(decomposed) == "Café orders"
    assert prepare({"name": decomposed, "nodes": []}, fallback_name="x").name == "Café orders"
    workflow = prepare({"name": decomposed, "nodes": []}, fallback_name="x").workflow
    assert workflow["name"] == "Café orders"


def test_a_file_name_taken_as_the_name_is_held_to_the_same_rules() -> None:
    assert prepare({"nodes": []}, fallback_name="Cafe\u0301").name == "Café"
    with pytest.raises(WorkflowError, match=r"U\+200B.*taken from the file name"):
        prepare({"nodes": []}, fallback_name="a\u200bb")


# Emoji sequences found in real names (the corpus): a joiner or a presentation selector
# that is part of a picture.
@pytest.mark.parametrize(
    "name",
    [
        "🤖🧑\u200d💻 AI Agent for Top n8n Creators",
        "🔍🛠\ufe0fGenerate SEO-Optimized WordPress Content",
        "✨\U0001fa77Automated Social Media Content",
        "❤\ufe0f\u200d🔥 Hot leads",
        "1\ufe0f\u20e3 First step",
        "👍🏽 Thumbs up",
        "🏳\ufe0f\u200d🌈 Pride",
    ],
)
def test_emoji_sequences_are_accepted(name: str) -> None:
    assert template_name(name) == unicodedata.normalize("NFC", name)


@pytest.mark.parametrize("name", ["A\ufe0f", "a\u200d🔥", "🔥\u200da", "\u200d🔥", "x\ufe0e"])
def test_a_joiner_or_selector_outside_an_emoji_is_refused(name: str) -> None:
    assert "invisible character" in refusal(name)


visible = st.text(
    st.characters(categories=("L", "N", "P", "Zs"), exclude_characters="/\\.").filter(
        lambda c: not IGNORABLE.match(c)
    ),
    min_size=1,
    max_size=20,
).filter(lambda s: s.strip())


@given(name=visible, code=st.sampled_from(INVISIBLE + CONTROL), at=st.integers(1, 19))
def test_any_invisible_character_anywhere_in_a_name_is_refused(
    name: str, code: int, at: int
) -> None:
    name = name.strip() + "z"  # inside the name: blanks at its ends are stripped, not refused
    at = min(at, len(name) - 1)
    message = refusal(name[:at] + chr(code) + name[at:])
    assert f"U+{code:04X}" in message


@given(name=visible)
def test_every_accepted_name_is_nfc_and_compares_equal_to_its_other_forms(name: str) -> None:
    stored = template_name(name)
    assert unicodedata.is_normalized("NFC", stored)
    for form in ("NFC", "NFD", "NFKC", "NFKD"):
        assert name_key(unicodedata.normalize(form, name)) == name_key(stored)


def test_look_alikes_compare_equal() -> None:
    assert name_key("a\uff0eb") == name_key("a.b")  # a fullwidth full stop
    assert name_key("Alpha\u200b") == name_key("Alpha")
    assert name_key("x\u00a0y") == name_key("x y")
    assert name_key("Cafe\u0301") == name_key("Café")
    assert name_key("Alpha") != name_key("alpha")  # case still tells names apart
