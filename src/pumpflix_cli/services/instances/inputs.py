"""What ``instances run`` is given on its command line, read and checked before anything
is written: variables (``--var``, ``--vars-file``), credential ids (``--credential``), the
webhook input (``--input``); and how stored inputs are shown with secrets masked."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pumpflix_cli.errors import InvalidInputError, UsageError
from pumpflix_cli.redact import MASK
from pumpflix_cli.workflow import scan_secrets

MAX_INPUT_BYTES = 16 * 1024 * 1024
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Keys whose values are secrets whatever they look like.
_SECRET_KEY = re.compile(
    r"(?i)(pass(word|wd|phrase)?|secret|token|api[_-]?key|apikey|auth|credential|private"
    r"|access[_-]?key|session|cookie|signature|bearer|pwd)"
)


def parse_pairs(pairs: Sequence[str], *, option: str, what: str) -> dict[str, str]:
    """``NAME=VALUE`` pairs (the value may hold ``=``); a later pair wins."""
    parsed: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise UsageError(
                f"{option} {pair!r} is not {what}=VALUE", hint=f"write {option} {what}=VALUE"
            )
        parsed[name] = value
    return parsed


def read_vars_file(path: Path) -> dict[str, str]:
    """Variables from a file: a JSON object, or ``NAME=VALUE`` lines (``#`` comments,
    blank lines and an optional ``export`` are allowed, as in a ``.env`` file)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"--vars-file {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"--vars-file {path}: cannot read it ({exc})") from None
    if text.lstrip().startswith("{"):
        try:
            document = json.loads(text)
        except ValueError as exc:
            raise InvalidInputError(f"--vars-file {path}: invalid JSON ({exc})") from None
        if not isinstance(document, dict):
            raise InvalidInputError(f"--vars-file {path}: expected a JSON object of variables")
        return {str(name): _as_text(value) for name, value in document.items()}
    variables: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.removeprefix("export ").partition("=")
        if not sep or not _NAME.match(name.strip()):
            raise InvalidInputError(f"--vars-file {path}:{number}: expected NAME=VALUE")
        variables[name.strip()] = _unquote(value.strip())
    return variables


def _as_text(value: Any) -> str:
    """A variable's value as the text placed into the workflow."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def collect_variables(pairs: Sequence[str], vars_file: Path | None) -> dict[str, str]:
    """The variables given: the file's, then each ``--var`` (which wins)."""
    variables = read_vars_file(vars_file) if vars_file is not None else {}
    variables.update(parse_pairs(pairs, option="--var", what="NAME"))
    return variables


def parse_input(value: str | None) -> Any:
    """``--input``: inline JSON, ``@file`` or ``@-`` (stdin is read by the caller)."""
    if value is None:
        return None
    if value.startswith("@"):
        path = Path(value[1:])
        try:
            if path.stat().st_size > MAX_INPUT_BYTES:
                raise InvalidInputError(f"--input {value}: over {MAX_INPUT_BYTES:,} bytes")
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise UsageError(f"--input {value}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInputError(f"--input {value}: cannot read it ({exc})") from None
        try:
            return json.loads(text)
        except ValueError as exc:
            raise InvalidInputError(f"--input {value}: invalid JSON ({exc})") from None
    try:
        return json.loads(value)
    except ValueError as exc:
        raise UsageError(
            f"--input is not valid JSON ({exc})", hint="give a JSON document or @FILE"
        ) from None


def unused(given: Iterable[str], needed: Iterable[str]) -> list[str]:
    wanted = set(needed)
    return sorted(name for name in given if name not in wanted)


# --- showing inputs --------------------------------------------------------------------


def mask_secrets(value: Any, *, key: str | None = None) -> Any:
    """A copy of ``value`` with secret-looking values replaced by ``***``: any value under
    a key that names a secret (``password``, ``API_KEY``, ``token`` …) and any string that
    looks like a token (the import's hard-coded-secret scanner)."""
    if key is not None and _SECRET_KEY.search(key) and value not in (None, "", [], {}):
        return MASK
    if isinstance(value, dict):
        return {k: mask_secrets(v, key=str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_secrets(item, key=key) for item in value]
    if isinstance(value, str) and _looks_like_token(value):
        return MASK
    return value


def _looks_like_token(text: str) -> bool:
    probe = {"nodes": [{"name": "input", "parameters": {"value": text}}]}
    return bool(scan_secrets(probe))


def masked_inputs(inputs: Mapping[str, Any]) -> dict[str, Any]:
    return dict(mask_secrets(dict(inputs)))
