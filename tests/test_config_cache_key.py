"""PUMPFLIX_CACHE_KEY over generated strings: exactly 32 bytes in canonical URL-safe base64
(44 characters, what Fernet.generate_key() prints) is accepted, anything else is exit 2,
and the refusal never echoes the key."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from contextlib import contextmanager

from cryptography.fernet import Fernet
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pumpflix_cli.config import load_settings
from pumpflix_cli.errors import ConfigError
from pumpflix_cli.exit_codes import ExitCode

NAME = "PUMPFLIX_CACHE_KEY"
keys = st.binary(min_size=32, max_size=32).map(lambda raw: base64.urlsafe_b64encode(raw).decode())
env_text = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
    min_size=1,
)
not_quite_keys = st.one_of(
    env_text,
    st.tuples(keys, env_text).map("".join),  # trailing garbage
    st.tuples(env_text, keys).map("".join),  # leading garbage
    st.tuples(keys, st.integers(1, 43)).map(lambda kn: kn[0][: -kn[1]]),  # truncated
    st.tuples(keys, st.integers(0, 43), st.sampled_from("!+/=. \t*~")).map(
        lambda t: t[0][: t[1]] + t[2] + t[0][t[1] + 1 :]  # one character replaced
    ),
    keys.map(lambda k: k.rstrip("=")),  # unpadded
    st.binary(min_size=0, max_size=64)
    .filter(lambda raw: len(raw) != 32)
    .map(lambda raw: base64.urlsafe_b64encode(raw).decode()),  # wrong length
).filter(bool)  # empty is unset: the cache stays unencrypted


def is_key(value: str) -> bool:
    """The oracle: some 32 bytes encode to exactly this string."""
    if len(value) != 44 or not value.isascii():
        return False
    try:
        raw = base64.urlsafe_b64decode(value)
    except ValueError:
        return False
    return len(raw) == 32 and base64.urlsafe_b64encode(raw).decode() == value


@contextmanager
def cache_key(value: str) -> Iterator[None]:
    os.environ[NAME] = value
    try:
        yield
    finally:
        del os.environ[NAME]


def test_what_fernet_generates_is_accepted() -> None:
    key = Fernet.generate_key().decode()
    with cache_key(key):
        loaded = load_settings().settings.cache_key
    assert loaded is not None and loaded.get_secret_value() == key


@settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=300, deadline=None
)
@given(value=st.one_of(keys, not_quite_keys))
def test_only_exact_keys_are_accepted_and_a_refusal_never_echoes_the_key(value: str) -> None:
    with cache_key(value):
        try:
            loaded = load_settings().settings.cache_key
        except ConfigError as error:
            assert not is_key(value), value
            assert error.exit_code == ExitCode.USAGE
            assert NAME in error.message
            if len(value.strip()) >= 12:
                assert value.strip() not in f"{error.message} {error.hint or ''}"
            return
    assert is_key(value), value
    assert loaded is not None and loaded.get_secret_value() == value
