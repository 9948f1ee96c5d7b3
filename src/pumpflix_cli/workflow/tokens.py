"""Spot hard-coded tokens in node parameters, reporting where they are and never what."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pumpflix_cli.workflow.errors import key_path
from pumpflix_cli.workflow.extract import EXPRESSION_BLOCK, iter_nodes, parameters_text

_MIN_BODY = 16
_TOKEN_CHARS = r"[A-Za-z0-9._~+/=-]"
_START = r"(?<![A-Za-z0-9_-])"  # "Zendesk-to-slack" must not read as an "sk-" key

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("Bearer token", re.compile(rf"\bBearer[ \t]+({_TOKEN_CHARS}{{{_MIN_BODY},}})")),
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
_HINTS = (
    "Bearer",
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


@dataclass(frozen=True)
class SecretFinding:
    """A parameter that looks like a hard-coded token. Holds its location, never the value."""

    node: str
    path: str
    kind: str = "token"


def scan_secrets(workflow: dict[str, Any], *, text: str | None = None) -> list[SecretFinding]:
    """Find string parameters that look like hard-coded tokens (a Bearer token, an API key).

    ``{{ }}`` expression blocks are ignored, so ``=Bearer {{ $json.token }}`` is not a
    finding; a token must have a body of at least 16 characters mixing letters and digits,
    so prose and documentation placeholders (``Bearer YOUR_API_TOKEN``) do not count.
    ``text``, the workflow already serialized, spares a serialization for the pre-filter.
    """
    nodes = list(iter_nodes(workflow))
    if not _has_hint(text if text is not None else parameters_text(nodes)):
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
    if not _has_hint(text):
        return None
    if "{{" in text:
        text = EXPRESSION_BLOCK.sub(" ", text)
    for kind, pattern in _PATTERNS:
        if any(_looks_random(m.group(1)) for m in pattern.finditer(text)):
            return kind
    return None


def _has_hint(text: str) -> bool:
    return any(hint in text for hint in _HINTS)


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
