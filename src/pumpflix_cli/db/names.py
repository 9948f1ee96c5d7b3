"""Template names compared in normalised form in SQL (PLATFORM.md "Names"): the same key
as ``references.name_key``, computed by the database so that a lookup or an import finds
a row whatever form the platform stored its name in.

PostgreSQL: ``normalize(name, NFKC)`` with the default-ignorable characters removed by a
regular expression; an ASCII name (``octet_length = char_length``) is its own key, so the
common case costs a length comparison, not a normalisation. SQLite: ``references.name_key``
itself, registered on every connection as ``pumpflix_name_key``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, cast, func, select, tuple_
from sqlalchemy.dialects.postgresql import ARRAY
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


def keys_among(
    type_column: Any, name_column: Any, keys: Sequence[tuple[str, str]], dialect: str
) -> ColumnElement[bool]:
    """Rows whose (type, name in normalised form) is one of ``keys``. PostgreSQL: a
    semi-join on the keys unnested from two arrays, so each row's key is computed once
    (an IN list of row values computes it once per listed key: 10 times slower)."""
    pair = tuple_(type_column, NameKey(name_column))
    if dialect != "postgresql":
        return pair.in_(list(keys))
    listed = (
        func.unnest(
            cast([source_type for source_type, _ in keys], ARRAY(Text())),
            cast([name for _, name in keys], ARRAY(Text())),
        )
        .table_valued("source_type", "name_key")
        .render_derived(name="wanted")
    )
    return pair.in_(select(listed.c.source_type, listed.c.name_key))


def register_sqlite_function(dbapi_connection: Any) -> None:
    """Make ``pumpflix_name_key`` callable on a new SQLite connection."""
    dbapi_connection.create_function(SQLITE_FUNCTION, 1, _sqlite_key, deterministic=True)


def _sqlite_key(name: Any) -> Any:
    return name_key(name) if isinstance(name, str) else name
