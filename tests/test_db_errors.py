"""The driver-error translation over generated server messages: PostgreSQL refusing who we
are (a missing role, a wrong or missing password, pg_hba.conf) is 77, anything else is not,
and the URL's password never reaches the message."""

from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.exc import OperationalError

from pumpflix_cli.db.engine import DatabaseErrorTranslator
from pumpflix_cli.errors import CredentialsRejectedError
from pumpflix_cli.exit_codes import ExitCode

PREAMBLE = 'connection failed: connection to server at "127.0.0.1", port 5432 failed: '
names = st.text(string.ascii_lowercase + string.digits + "_", min_size=1, max_size=20)
passwords = st.text(string.ascii_uppercase + "-", min_size=8, max_size=24).map("PW-{}".format)

REFUSALS = [
    'FATAL:  role "{name}" does not exist',
    'FATAL:  role "{name}" is not permitted to log in',
    'FATAL:  password authentication failed for user "{name}"',
    "fe_sendauth: no password supplied",
    'FATAL:  no pg_hba.conf entry for host "10.0.0.1", user "{name}", database "db"',
]
OTHERS = [
    'FATAL:  database "{name}" does not exist',
    'relation "role" does not exist',
    'column "{name}" does not exist',
    "Connection refused\n\tIs the server running on that host and accepting TCP/IP?",
    "server closed the connection unexpectedly",
]


def _translate(message: str, name: str, password: str) -> tuple[ExitCode, str, bool]:
    url = f"postgresql://{name}:{password}@127.0.0.1:5432/db"
    orig = Exception(PREAMBLE + message.format(name=name))
    error = DatabaseErrorTranslator("PostgreSQL", url).translate(
        OperationalError("SELECT 1", None, orig)
    )
    text = f"{error.message} {error.hint or ''}"
    return error.exit_code, text, isinstance(error, CredentialsRejectedError)


@given(message=st.sampled_from(REFUSALS), name=names, password=passwords)
def test_a_refused_identity_is_77_and_never_shows_the_password(
    message: str, name: str, password: str
) -> None:
    code, text, rejected = _translate(message, name, password)
    assert (code, rejected) == (ExitCode.NO_PERM, True)
    assert password not in text
    assert "DATABASE_URL" in text


@given(message=st.sampled_from(OTHERS), name=names, password=passwords)
def test_other_failures_are_not_credentials(message: str, name: str, password: str) -> None:
    code, text, rejected = _translate(message, name, password)
    assert (code, rejected) == (ExitCode.UNAVAILABLE, False)
    assert password not in text
