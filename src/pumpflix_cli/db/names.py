"""Template names compared in normalised form in SQL (PLATFORM.md "Names"): the same key
as ``references.name_key``, computed by the database so that a lookup or an import finds
a row whatever form the platform stored its name in.

PostgreSQL: ``normalize(name, NFKC)`` with the default-ignorable characters removed by a
regular expression; an ASCII name (``octet_length = char_length``) is its own key, so the
common case costs a length comparison, not a normalisation. SQLite: ``references.name_key``
itself, registered on every connection as ``pumpflix_name_key``."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import Text

from pumpflix_cli.references import IGNORABLE, name_key

SQLITE_FUNCTION = "pumpflix_name_key"


class NameKey(FunctionElement[str]):
    """``NameKey(Template.name)``: the column's names as `references.name_key` has them."""

    type = Text()
    name = "name_key"
    inherit_cache = True


@compiles(NameKey, "postgresql")
def _postgresql(element: NameKey, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    pattern = compiler.render_literal_value(IGNORABLE.pattern, Text())
    return (
        f"(CASE WHEN octet_length({column}) = char_length({column}) THEN {column} "
        f"ELSE regexp_replace(normalize({column}, NFKC), {pattern}, '', 'g') END)"
    )


@compiles(NameKey, "sqlite")
def _sqlite(element: NameKey, compiler: Any, **kw: Any) -> str:
    return f"{SQLITE_FUNCTION}({compiler.process(element.clauses, **kw)})"


def register_sqlite_function(dbapi_connection: Any) -> None:
    """Make ``pumpflix_name_key`` callable on a new SQLite connection."""
    dbapi_connection.create_function(SQLITE_FUNCTION, 1, _sqlite_key, deterministic=True)


def _sqlite_key(name: Any) -> Any:
    return name_key(name) if isinstance(name, str) else name
