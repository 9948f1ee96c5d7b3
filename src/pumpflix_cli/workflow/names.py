"""Template names: the rules a name meets to be safe in a terminal, a table or a file
name, and the form pumpflix writes names in (NFC, nothing invisible). How names are
compared is ``references.name_key``."""

from __future__ import annotations

import re
import unicodedata

from pumpflix_cli.references import IGNORABLE
from pumpflix_cli.workflow.errors import WorkflowError, quote

MAX_NAME_LENGTH = 200

# Control characters ("Cc"), and the line and paragraph separators, which are not "Cc"
# but break one-line output all the same ("Zl", "Zp"): the whole of those categories.
_LINE_BREAKING = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# Marks that reorder how text is displayed ("Trojan Source"): a name holding one can look
# like another name in a table or a file listing.
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


# Characters that show as nothing or steer the display, refused in a name pumpflix writes
# (besides the default-ignorable ones): controls, format characters, separators.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
# Inside an emoji sequence a joiner (U+200D) or a presentation selector (U+FE0E/U+FE0F)
# is part of a visible picture (🧑‍💻, 🛠️): accepted there, and only there.
_EMOJI_GLUE = frozenset("\u200d\ufe0e\ufe0f")
_KEYCAP = "\u20e3"


def template_name(raw: str) -> str:
    """A name as pumpflix writes it (import, promote, pull): blanks stripped, NFC, and
    checked (`validate_template_name`, then no invisible character: a zero-width space,
    joiner or no-break, a bidi control, any other format or control character, a
    variation selector or a filler). Names of rows the platform made are never held to
    this (PLATFORM.md "Names"); they are compared in normalised form instead."""
    name = unicodedata.normalize("NFC", raw.strip())
    validate_template_name(name)
    if not name.isascii():
        _refuse_invisible(name)
    return name


def _refuse_invisible(name: str) -> None:
    for index, char in enumerate(name):
        if unicodedata.category(char) not in _INVISIBLE_CATEGORIES and not IGNORABLE.match(char):
            continue
        if char in _EMOJI_GLUE and _in_emoji(name, index):
            continue
        raise WorkflowError(f"name contains an invisible character (U+{ord(char):04X})")


def _in_emoji(name: str, index: int) -> bool:
    """Whether the joiner or selector at ``index`` glues an emoji sequence together."""
    before = name[index - 1] if index else ""
    after = name[index + 1] if index + 1 < len(name) else ""
    if name[index] == "\u200d":  # between two pictures (a selector may end the first)
        if before in ("\ufe0f", "\ufe0e") and index >= 2:
            before = name[index - 2]
        return _pictographic(before) and _pictographic(after)
    # A presentation selector follows a picture, or a keycap's base before U+20E3.
    keycap = before != "" and before in "#*0123456789" and after == _KEYCAP
    return keycap or _pictographic(before)


def _pictographic(char: str) -> bool:
    """A character drawn as a picture: a symbol outside ASCII, or a code point in the
    emoji blocks (newer emoji may be unassigned in this Python's Unicode tables)."""
    if not char or char.isascii():
        return False
    code = ord(char)
    if 0x1F000 <= code <= 0x1FAFF or 0x2600 <= code <= 0x27BF:
        return True
    return unicodedata.category(char) in ("So", "Sm", "Sk") or char in "\u203c\u2049\u3030\u303d"


def validate_template_name(name: str) -> None:
    """Refuse a template name that would be unsafe in a terminal, a table or a file name."""
    stripped = name.strip()
    if not stripped:
        raise WorkflowError("name is empty")
    if len(stripped) > MAX_NAME_LENGTH:
        raise WorkflowError(
            f"name is {len(stripped)} characters long; the limit is {MAX_NAME_LENGTH}"
        )
    control = _LINE_BREAKING.search(stripped)
    if control is not None:
        raise WorkflowError(f"name contains a control character (U+{ord(control[0]):04X})")
    bidi = _BIDI_CONTROLS.search(stripped)
    if bidi is not None:
        raise WorkflowError(f"name contains a bidirectional text control (U+{ord(bidi[0]):04X})")
    segments = stripped.replace("\\", "/").split("/")
    if stripped == "." or ".." in segments:
        raise WorkflowError(f"name {quote(stripped)} looks like a path traversal")
