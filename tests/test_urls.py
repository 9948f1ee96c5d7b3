"""The one URL reading (``pumpflix_cli.urls``): a password in any form a person pastes is
read as the password or the URL is refused, and masking leaves no piece of it while the
host, port and database survive."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pumpflix_cli.urls import UrlError, mask_url, mask_urls_in, parse_url
from tests.conftest import CliRun

# What base64 and generated passwords hold, and every character that means something in
# a URL.
SPECIAL = "/+@#%?:=&"
password = st.text(
    alphabet=st.sampled_from("abcXYZ0189" + SPECIAL + "!$*-_.~ "), min_size=1, max_size=24
)
raw_password = password.filter(lambda pw: " " not in pw)
user = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_.-", min_size=1, max_size=10)
host = st.sampled_from(["db.example", "127.0.0.1", "[::1]", "redis-7", "h"])
port = st.one_of(st.none(), st.integers(1, 65535))
database = st.sampled_from(["app", "0", "pumpflix_test", "my-db"])
scheme = st.sampled_from(["postgresql", "postgresql+psycopg", "redis", "rediss"])
SECRET_PARAMETERS = (
    *("password", "PASSWORD", "sslpassword", "pass", "passwd", "pwd", "token", "api_key"),
    *("apiKey", "secret", "auth", "credential", "access_key", "sig"),
)


def _url(scheme: str, userinfo: str | None, host: str, port: int | None, db: str) -> str:
    where = f"{host}:{port}" if port is not None else host
    at = "" if userinfo is None else f"{userinfo}@"
    return f"{scheme}://{at}{where}/{db}"


@given(scheme=scheme, user=user, pw=password, host=host, port=port, db=database)
def test_a_percent_encoded_password_is_always_read_and_masked(
    scheme: str, user: str, pw: str, host: str, port: int | None, db: str
) -> None:
    url = _url(scheme, f"{user}:{quote(pw, safe='')}", host, port, db)
    parts = parse_url(url)
    assert (parts.username, parts.password) == (user, pw)
    assert (parts.host, parts.port, parts.path) == (host, port, f"/{db}")
    assert parts.masked() == _url(scheme, f"{user}:***", host, port, db)
    assert parse_url(parts.canonical()).password == pw


@given(scheme=scheme, user=user, pw=raw_password, host=host, port=port, db=database)
def test_a_raw_password_is_read_as_written_or_the_url_is_refused(
    scheme: str, user: str, pw: str, host: str, port: int | None, db: str
) -> None:
    url = _url(scheme, f"{user}:{pw}", host, port, db)
    masked = mask_url(url)
    try:
        parts = parse_url(url)
    except UrlError as exc:
        # Only a '?' or '#' can make a raw password unreadable; the refusal names the
        # scheme, never a piece of the URL.
        assert "?" in pw or "#" in pw
        assert str(exc).startswith(f"the {scheme}:// URL ")
        assert masked == f"{scheme}://***"
        return
    assert (parts.username, parts.password) == (user, unquote(pw))
    assert (parts.host, parts.port, parts.path) == (host, port, f"/{db}")
    assert masked == _url(scheme, f"{user}:***", host, port, db)
    # The canonical form is what the drivers get: it reads back the same.
    again = parse_url(parts.canonical())
    assert (again.password, again.host, again.port) == (parts.password, host, port)


@given(scheme=scheme, pw=password, host=host, port=port, db=database, data=st.data())
def test_secret_query_values_are_masked_and_the_rest_kept(
    scheme: str, pw: str, host: str, port: int | None, db: str, data: st.DataObject
) -> None:
    name = data.draw(st.sampled_from(SECRET_PARAMETERS))
    base = _url(scheme, "root", host, port, db)
    url = f"{base}?sslmode=require&{name}={quote(pw, safe='')}&application_name=x"
    assert mask_url(url) == f"{base}?sslmode=require&{name}=***&application_name=x"
    assert pw in parse_url(url).secrets()


@given(pw=raw_password, http=st.sampled_from(["http", "https"]), port=port)
def test_http_user_info_is_masked_whole(pw: str, http: str, port: int | None) -> None:
    url = f"{http}://admin:{quote(pw, safe='')}@n8n.local" + (f":{port}" if port else "")
    assert mask_url(url) == f"{http}://***@n8n.local" + (f":{port}" if port else "")
    token_only = f"{http}://{quote(pw, safe='')}@n8n.local"
    assert mask_url(token_only) == f"{http}://***@n8n.local"


@given(scheme=scheme, user=user, pw=raw_password, host=host, port=port, db=database)
def test_urls_inside_text_leave_no_piece_of_the_password(
    scheme: str, user: str, pw: str, host: str, port: int | None, db: str
) -> None:
    url = _url(scheme, f"{user}:{pw}", host, port, db)
    text = f"connection to {url} failed (see {url}). Retrying {url}, then giving up"
    masked = mask_urls_in(text)
    expected_url = mask_url(url)
    assert masked == (
        f"connection to {expected_url} failed (see {expected_url}). "
        f"Retrying {expected_url}, then giving up"
    )


@given(text=st.text(max_size=60))
def test_a_refusal_never_quotes_the_value(text: str) -> None:
    try:
        parse_url(text)
    except UrlError as exc:
        where = f"the {exc.scheme}:// URL" if exc.scheme else "the value"
        assert str(exc) == f"{where} {exc.reason}"
        assert exc.reason in _REASONS


_REASONS = {
    "is not a URL (scheme://host…)",
    "holds white space (percent-encode it: %20)",
    "does not parse (check the host and the port; percent-encode '@', '/', '?' and '#' in "
    "the user name and password)",
    "reads more than one way (percent-encode '@', '/', '?' and '#' in the user name and "
    "password, and '@' in the query: %40 %2F %3F %23)",
}


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        # the examples
        (
            "postgresql://root@127.0.0.1:5432/db?password=S3cret",
            "postgresql://root@127.0.0.1:5432/db?password=***",
        ),
        ("redis://127.0.0.1:6379/0?password=S3cret", "redis://127.0.0.1:6379/0?password=***"),
        ("postgresql://root:Xy7+Ab/cD9e@host/db", "postgresql://root:***@host/db"),
        ("redis://:Xy7+Ab/cD9e@host:6379/0", "redis://:***@host:6379/0"),
        ("http://admin:pw@host:5678", "http://***@host:5678"),
        # the drivers' disagreements
        ("postgresql://root:p@ss@host/db", "postgresql://root:***@host/db"),
        ("postgresql://root:1234/abcd@host/db", "postgresql://root:***@host/db"),
        ("postgresql://user@server:pw@host/db", "postgresql://user@server:***@host/db"),
        ("redis://:ab#cd@h:6379/0", "redis://:***@h:6379/0"),
        ("postgresql://root:ab?cd@host/db", "postgresql://root:***@host/db"),
        # what must be left alone
        ("postgresql://root@host/db?application_name=me@x", None),
        ("postgresql:///db?host=/var/run/postgresql", None),
        ("postgresql://[::1]:5432/db", None),
        ("sqlite:////tmp/a@b/pumpflix.sqlite3", None),
        # the embedded database's URL names a folder, which may hold anything
        ("sqlite:////Users/me/Library/Application Support/pumpflix/pumpflix.sqlite3", None),
        ("sqlite:////tmp/a#b?c/pumpflix.sqlite3", None),
        ("redis://127.0.0.1:6379/0", None),
        ("unix:///tmp/redis.sock?db=0", None),
        # can't tell: refused, shown as the scheme alone
        ("postgresql://root:12?cd@host/db", "postgresql://***"),
        ("postgresql://root:pw@host/db?x=a@b", "postgresql://***"),
        ("redis://host:notaport/0", "redis://***"),
    ],
)
def test_examples(url: str, masked: str | None) -> None:
    assert mask_url(url) == (masked or url)


def test_a_url_without_a_password_is_unchanged_by_canonical() -> None:
    for url in ("redis://127.0.0.1:6379/0", "postgresql://root@127.0.0.1:5432/x?sslmode=require"):
        assert parse_url(url).canonical() == url


def test_the_canonical_form_reads_the_same_in_every_driver_library() -> None:
    """SQLAlchemy, redis-py and httpx read the canonical form of a raw base64 password the
    way pumpflix did (their own readings of the raw form disagree)."""
    import httpx
    from redis.connection import parse_url as redis_parse
    from sqlalchemy.engine import make_url

    raw_password = "Xy7+Ab/cD9e@=="
    canonical = parse_url(f"postgresql://root:{raw_password}@db.example:5432/app").canonical()
    sa = make_url(canonical)
    assert (sa.password, sa.host, sa.port, sa.database) == (raw_password, "db.example", 5432, "app")
    redis_url = parse_url(f"redis://:{raw_password}@cache.example:6380/2").canonical()
    assert redis_parse(redis_url) == {  # type: ignore[no-untyped-call]
        "password": raw_password,
        "host": "cache.example",
        "port": 6380,
        "db": 2,
    }
    http = httpx.URL(parse_url(f"http://admin:{raw_password}@n8n.example:5678").canonical())
    assert (http.username, http.password, http.host) == ("admin", raw_password, "n8n.example")


@pytest.mark.parametrize("folder", ["Application Support", "a#b", "u:p@x", "q?x"])
def test_the_embedded_database_is_named_as_it_is(cli: CliRun, tmp_path: Path, folder: str) -> None:
    data_dir = tmp_path / folder / "pumpflix"
    result = cli("db", "upgrade", "--json", env={"PUMPFLIX_DATA_DIR": str(data_dir)})
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["url"] == f"sqlite:///{data_dir}/pumpflix.sqlite3"
