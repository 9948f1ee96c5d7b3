"""Spot hard-coded tokens in node parameters, reporting where they are and never what.

A parameter is plain text with ``{{ … }}`` expression blocks in it (n8n evaluates them when
the value starts with ``=``). The plain text is scanned as it is; an expression block is
JavaScript, and only its string literals (``'…'``, ``"…"``, `` `…` `` with their escapes
decoded) are scanned, each like a plain value: ``={{ 'Bearer Zx81…' }}`` is a finding,
``={{ $json.token }}`` (data referenced, nothing hard-coded) never is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pumpflix_cli.workflow.errors import key_path
from pumpflix_cli.workflow.extract import iter_nodes, parameters_text

_MIN_BODY = 16
_TOKEN_CHARS = r"[A-Za-z0-9._~+/=-]"
_START = r"(?<![A-Za-z0-9_-])"  # "Zendesk-to-slack" must not read as an "sk-" key

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    # The scheme is case-insensitive (RFC 9110 §11.1): "bearer …" and "BEARER …" count too.
    ("Bearer token", re.compile(rf"\b(?i:bearer)[ \t]+({_TOKEN_CHARS}{{{_MIN_BODY},}})")),
    ("secret key (sk-)", re.compile(rf"{_START}(sk-[A-Za-z0-9_-]{{{_MIN_BODY},}})")),
    ("Stripe key", re.compile(rf"{_START}([sr]k_(?:live|test)_[A-Za-z0-9]{{{_MIN_BODY},}})")),
    ("Slack token", re.compile(rf"{_START}(xox[abprs]-[A-Za-z0-9-]{{{_MIN_BODY},}})")),
    ("GitHub token", re.compile(rf"{_START}(gh[pousr]_[A-Za-z0-9]{{{_MIN_BODY},}})")),
    ("GitHub token", re.compile(rf"{_START}(github_pat_[A-Za-z0-9_]{{{_MIN_BODY},}})")),
    ("GitLab token", re.compile(rf"{_START}(glpat-[A-Za-z0-9_-]{{{_MIN_BODY},}})")),
    ("Perplexity key", re.compile(rf"{_START}(pplx-[A-Za-z0-9]{{{_MIN_BODY},}})")),
    ("AWS access key id", re.compile(r"(?<![A-Z0-9])(AKIA[0-9A-Z]{16})(?![0-9A-Z])")),
)
# Substrings one of which every pattern needs: a cheap filter before any regex runs.
# "bearer" is looked for in the lower-cased text, the others as they are.
_HINTS = (
    "sk-",
    "k_live_",
    "k_test_",
    "xox",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "pplx-",
    "AKIA",
)
_KNOWN_PREFIX = re.compile(
    r"^(?:sk-(?:proj-|ant-)?|[sr]k_(?:live|test)_|xox[abprs]-|gh[pousr]_|github_pat_|glpat-|pplx-)"
)
# Words that mark documentation examples rather than real tokens.
_PLACEHOLDER_WORDS = re.compile(
    r"your|here|example|sample|placeholder|replace|insert|dummy|demo|redacted|censored"
    r"|token|123456|abcdef|(.)\1{4}",
    re.IGNORECASE,
)


def looks_like_token(text: str) -> bool:
    """Whether a value looks like a token (as :func:`scan_secrets` finds one)."""
    return _token_kind(text) is not None


@dataclass(frozen=True)
class SecretFinding:
    """A parameter that looks like a hard-coded token. Holds its location, never the value."""

    node: str
    path: str
    kind: str = "token"


def scan_secrets(workflow: dict[str, Any], *, text: str | None = None) -> list[SecretFinding]:
    """Find string parameters that look like hard-coded tokens (a Bearer token, an API key).

    Inside ``{{ }}`` expression blocks only string literals are scanned, so
    ``=Bearer {{ $json.token }}`` is not a finding and ``={{ "Bearer Zx81…" }}`` is; the
    scheme's case does not matter. A token must have a body of at least 16 characters mixing
    letters and digits, so prose and documentation placeholders (``Bearer YOUR_API_TOKEN``)
    do not count.
    ``text``, the workflow already serialized, spares a serialization for the pre-filter.
    """
    nodes = list(iter_nodes(workflow))
    if not _may_hold_token(text if text is not None else parameters_text(nodes)):
        return []
    findings: list[SecretFinding] = []
    for node in nodes:
        name = node.get("name")
        node_name = name if isinstance(name, str) else "?"
        for path, text in _iter_strings_with_paths(node.get("parameters"), ()):
            kind = _token_kind(text)
            if kind is not None:
                findings.append(SecretFinding(node_name, key_path(path), kind))
    return findings


def _token_kind(text: str) -> str | None:
    """What kind of token the text holds, if any (the first pattern that matches)."""
    if not _may_hold_token(text):
        return None
    return _plain_token_kind(scanned_text(text) if "{{" in text else text)


def _plain_token_kind(text: str) -> str | None:
    if not _has_hint(text):
        return None
    for kind, pattern in _PATTERNS:
        if any(_looks_random(m.group(1)) for m in pattern.finditer(text)):
            return kind
    return None


def _may_hold_token(text: str) -> bool:
    """A cheap filter: a hint, or an expression with escapes that may spell one out."""
    return _has_hint(text) or ("{{" in text and "\\" in text)


def _has_hint(text: str) -> bool:
    return any(hint in text for hint in _HINTS) or "bearer" in text.lower()


def scanned_text(text: str) -> str:
    """The text as the scan reads it: each ``{{ … }}`` block replaced by its string literals.

    The literals are decoded and set apart by spaces, so ``={{ 'Bearer Zx81…' }}`` and
    ``=Bearer {{ 'Zx81…' }}`` read as the ``Bearer Zx81…`` they render to, and code
    (``$json.token``) is never read. A block ends at the first ``}}`` outside its string
    literals and nested braces; a ``{{`` that never closes is plain text.
    """
    out: list[str] = []
    position = 0
    while True:
        start = text.find("{{", position)
        if start < 0:
            out.append(text[position:])
            break
        literals: list[str] = []
        end = _scan_code(text, start + 2, literals, closer="}}")
        if end is None:
            out.append(text[position:])
            break
        out.append(text[position:start])
        out.append(" ")
        for literal in literals:
            out.append(literal)
            out.append(" ")
        position = end
    return "".join(out)


# After these characters (or at the start) a "/" opens a regular expression, not a division.
_REGEX_PRECEDES = frozenset("(,=:[!&|?{};+-*%<>~^")
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}


# Template literals nested deeper than this (`${`${…}`}`) read as unclosed: a hostile value
# must not exhaust the stack.
_MAX_NESTING = 32


def _scan_code(
    text: str, i: int, literals: list[str], *, closer: str, nesting: int = 0
) -> int | None:
    """Walk JavaScript from ``i`` to ``closer`` at brace depth 0, collecting string literals.

    Returns the index just past ``closer``, or None when the text ends first.
    """
    if nesting > _MAX_NESTING:
        return None
    depth = 0
    previous = ""  # the last significant character, to tell a regex literal from a division
    n = len(text)
    while i < n:
        c = text[i]
        if depth == 0 and text.startswith(closer, i):
            return i + len(closer)
        if c in "'\"":
            literal, i = _read_quoted(text, i + 1, c)
            literals.append(literal)
            previous = c
            continue
        if c == "`":
            parts, i = _read_template(text, i + 1, nesting)
            literals.append(parts)
            previous = c
            continue
        if c == "/" and text.startswith("//", i):
            newline = text.find("\n", i)
            i = n if newline < 0 else newline
            continue
        if c == "/" and text.startswith("/*", i):
            close = text.find("*/", i + 2)
            i = n if close < 0 else close + 2
            continue
        if c == "/" and (previous == "" or previous in _REGEX_PRECEDES):
            i = _skip_regex(text, i + 1)
            previous = "/"
            continue
        if c == "{":
            depth += 1
        elif c == "}" and depth > 0:
            depth -= 1
        if not c.isspace():
            previous = c
        i += 1
    return None


def _read_quoted(text: str, i: int, quote: str) -> tuple[str, int]:
    """The decoded body of a '…' or "…" literal starting at ``i``, and the index past it."""
    out: list[str] = []
    n = len(text)
    while i < n:
        c = text[i]
        if c == quote:
            return "".join(out), i + 1
        if c == "\\":
            decoded, i = _read_escape(text, i + 1)
            out.append(decoded)
            continue
        if c == "\n":  # an unterminated literal ends at the line, as JavaScript says
            return "".join(out), i
        out.append(c)
        i += 1
    return "".join(out), n


def _read_template(text: str, i: int, nesting: int) -> tuple[str, int]:
    """A `…` literal's text, each ``${…}`` replaced by the string literals of its code."""
    out: list[str] = []
    n = len(text)
    while i < n:
        c = text[i]
        if c == "`":
            return "".join(out), i + 1
        if c == "\\":
            decoded, i = _read_escape(text, i + 1)
            out.append(decoded)
            continue
        if text.startswith("${", i):
            nested: list[str] = []
            end = _scan_code(text, i + 2, nested, closer="}", nesting=nesting + 1)
            out.append(" ".join(["", *nested, ""]))
            if end is None:
                return "".join(out), n
            i = end
            continue
        out.append(c)
        i += 1
    return "".join(out), n


def _read_escape(text: str, i: int) -> tuple[str, int]:
    """Decode the escape whose backslash ends just before ``i``."""
    if i >= len(text):
        return "", i
    c = text[i]
    if c in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[c], i + 1
    if c == "x":
        digits = text[i + 1 : i + 3]
        if len(digits) == 2 and all(d in "0123456789abcdefABCDEF" for d in digits):
            return chr(int(digits, 16)), i + 3
    if c == "u":
        if text.startswith("{", i + 1):
            close = text.find("}", i + 2)
            digits = text[i + 2 : close] if close > 0 else ""
            if 0 < len(digits) <= 6 and all(d in "0123456789abcdefABCDEF" for d in digits):
                code = int(digits, 16)
                if code <= 0x10FFFF:
                    return chr(code), close + 1
        digits = text[i + 1 : i + 5]
        if len(digits) == 4 and all(d in "0123456789abcdefABCDEF" for d in digits):
            return chr(int(digits, 16)), i + 5
    if c == "\n":  # a line continuation
        return "", i + 1
    return c, i + 1


def _skip_regex(text: str, i: int) -> int:
    """The index past a /…/flags regular expression literal whose body starts at ``i``."""
    n = len(text)
    in_class = False
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "\n":
            return i
        if c == "[":
            in_class = True
        elif c == "]":
            in_class = False
        elif c == "/" and not in_class:
            i += 1
            while i < n and (text[i].isalnum() or text[i] == "_"):
                i += 1
            return i
        i += 1
    return n


def _looks_random(token: str) -> bool:
    """A real token mixes letters and digits; examples spell out words or repeat a character."""
    body = _KNOWN_PREFIX.sub("", token)
    return (
        any(c.isdigit() for c in body)
        and any(c.isalpha() for c in body)
        and len(set(body)) >= 8
        and not _PLACEHOLDER_WORDS.search(body)
    )


def _iter_strings_with_paths(
    value: Any, path: tuple[str | int, ...]
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    stack: list[tuple[tuple[str | int, ...], Any]] = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            yield where, item
        elif isinstance(item, dict):
            stack.extend(((*where, k), v) for k, v in reversed(item.items()))
        elif isinstance(item, list):
            stack.extend(((*where, i), v) for i, v in reversed(list(enumerate(item))))
