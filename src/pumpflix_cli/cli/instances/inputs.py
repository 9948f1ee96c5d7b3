"""What ``instances run`` is given on its command line, read and checked before anything
is written: variables (``--var NAME=VALUE``, ``--vars-file``), credential ids
(``--credential TYPE=ID``) and the webhook input (``--input`` JSON, ``@file`` or ``@-``)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pumpflix_cli.errors import InvalidInputError, UsageError
from pumpflix_cli.json_text import loads

MAX_INPUT_BYTES = 16 * 1024 * 1024
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


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
            document = loads(text)
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
            return loads(text)
        except ValueError as exc:
            raise InvalidInputError(f"--input {value}: invalid JSON ({exc})") from None
    try:
        return loads(value)
    except ValueError as exc:
        raise UsageError(
            f"--input is not valid JSON ({exc})", hint="give a JSON document or @FILE"
        ) from None
