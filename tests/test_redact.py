"""What ``redact`` lets out of the process: URL secrets masked structurally, registered
secrets replaced in every form, and of a driver's error only its primary line — real
PostgreSQL errors whose DETAIL and CONTEXT lines quote the data written."""

from __future__ import annotations

import traceback
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pumpflix_cli import redact
from pumpflix_cli.redact import (
    error_text,
    format_exception,
    primary_line,
    register_secret,
    scrub,
)
from tests.conftest import PG_ADMIN_URL

TOKEN = "sk-live-Zx81qPq0VnT3cK9wLm2"


@pytest.fixture(autouse=True)
def _forget_registered_secrets() -> Iterator[None]:
    """The registry is process-wide: what these tests register (hypothesis's short words
    among them) must not mask other tests' output."""
    before = set(redact._known_secrets)
    yield
    redact._known_secrets.clear()
    redact._known_secrets.update(before)


def test_passwords_inside_driver_messages_are_masked() -> None:
    message = (
        "(psycopg.OperationalError) connection to postgresql://app:s3cr3t@10.0.0.1/db failed; "
        "dsn: host=10.0.0.1 password=s3cr3t dbname=db sslpassword='x y z'"
    )
    scrubbed = scrub(message)
    assert "s3cr3t" not in scrubbed
    assert "x y z" not in scrubbed
    assert "10.0.0.1" in scrubbed


def test_registered_secrets_are_removed_anywhere() -> None:
    register_secret("n8n_key_abcdef123456")
    assert scrub("header X-N8N-API-KEY: n8n_key_abcdef123456 refused") == (
        "header X-N8N-API-KEY: *** refused"
    )


@given(
    secret=st.text(
        alphabet=st.characters(blacklist_categories=["Cs"]), min_size=4, max_size=20
    ).filter(lambda s: s.strip() == s and "*" not in s)
)
def test_a_registered_secret_is_gone_also_as_repr_quotes_it(secret: str) -> None:
    register_secret(secret)
    text = f"failed: {secret!r} and {secret} and {[secret]}"
    scrubbed = scrub(text)
    assert secret not in scrubbed
    assert repr(secret)[1:-1] not in scrubbed


def test_short_values_are_not_registered_so_words_survive() -> None:
    register_secret("db")
    assert scrub("the db is down") == "the db is down"


def test_primary_line_drops_what_follows() -> None:
    text = (
        '\n  duplicate key value violates unique constraint "k"\n'
        f"DETAIL:  Key (name)=({TOKEN}) already exists.\n"
    )
    assert primary_line(text) == 'duplicate key value violates unique constraint "k"'


# --- real PostgreSQL errors -------------------------------------------------------------


@pytest.fixture
def pg() -> Iterator[psycopg.Connection]:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        yield conn


def _real_errors(conn: psycopg.Connection) -> list[psycopg.Error]:
    """Errors whose DETAIL or CONTEXT lines quote a token the data held."""
    table = f"pumpflix_redact_{uuid.uuid4().hex[:8]}"
    conn.execute(f"CREATE TEMP TABLE {table} (name text UNIQUE, body jsonb)")
    conn.execute(f"INSERT INTO {table} VALUES (%s, '{{}}')", (TOKEN,))
    failing = [
        # jsonb quoting the workflow up to the number it refuses (the example)
        (
            f"INSERT INTO {table} VALUES ('a', %s::jsonb)",
            (f'{{"auth": "{TOKEN}", "x": Infinity}}',),
        ),
        (f"INSERT INTO {table} VALUES ('b', %s::jsonb)", (f'{{"auth": "{TOKEN}", "x": NaN}}',)),
        # a unique violation quoting the key
        (f"INSERT INTO {table} VALUES (%s, '{{}}')", (TOKEN,)),
        # an error inside a function: CONTEXT quotes the statement with its literal
        (f"DO $$ BEGIN PERFORM 1/0 FROM (SELECT '{TOKEN}'::text AS t) s; END $$", None),
    ]
    errors = []
    for statement, params in failing:
        with pytest.raises(psycopg.Error) as caught:
            conn.execute(statement, params)
        assert TOKEN in str(caught.value)  # the driver does quote it
        errors.append(caught.value)
    return errors


def test_real_postgresql_errors_keep_only_their_primary_line(pg: psycopg.Connection) -> None:
    for exc in _real_errors(pg):
        said = error_text(exc)
        assert TOKEN not in said
        assert "DETAIL" not in said and "CONTEXT" not in said
        assert said == primary_line(str(exc))


def test_a_traceback_of_a_real_postgresql_error_quotes_no_data(pg: psycopg.Connection) -> None:
    """The chain of a driver error wrapped twice (as SQLAlchemy and then pumpflix wrap it)
    is printed with every frame but each message cut to its first line."""
    from sqlalchemy.exc import DBAPIError

    for exc in _real_errors(pg):
        try:
            try:
                raise DBAPIError("INSERT …", {"body": TOKEN}, exc) from exc
            except DBAPIError as wrapped:
                raise RuntimeError(f"import failed: {wrapped}") from wrapped
        except RuntimeError as raised:
            top = raised
        text = format_exception(top)
        assert TOKEN not in text
        assert "DETAIL" not in text and "CONTEXT" not in text and "[parameters" not in text
        # every frame Python would print is there, for each of the three exceptions
        python = "".join(traceback.format_exception(top))
        frames = [line for line in python.splitlines() if line.startswith("  File ")]
        assert [line for line in text.splitlines() if line.startswith("  File ")] == frames
        assert text.count("Traceback (most recent call last):") == 3
        assert "The above exception was the direct cause" in text
        assert text.rstrip().splitlines()[-1].startswith("RuntimeError: import failed: (")
