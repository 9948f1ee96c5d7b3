"""Passwords in URLs and registered secrets never survive :func:`scrub`."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pumpflix_cli.redact import mask_url, register_secret, scrub

password = st.text(
    alphabet=st.characters(blacklist_characters="@/ \t\n\r", blacklist_categories=["Cs"]),
    min_size=1,
    max_size=30,
)
user = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", max_size=10)


@given(
    user=user,
    password=password,
    scheme=st.sampled_from(["postgresql", "postgresql+psycopg", "redis", "rediss", "https"]),
)
def test_url_passwords_are_masked(user: str, password: str, scheme: str) -> None:
    url = f"{scheme}://{user}:{password}@db.example:5432/app"
    masked = mask_url(url)
    assert masked == f"{scheme}://{user}:***@db.example:5432/app"


def test_passwords_inside_driver_messages_are_masked() -> None:
    message = (
        "(psycopg.OperationalError) connection to postgresql://app:s3cr3t@10.0.0.1/db failed; "
        "dsn: host=10.0.0.1 password=s3cr3t dbname=db"
    )
    assert "s3cr3t" not in scrub(message)


def test_registered_secrets_are_removed_anywhere() -> None:
    register_secret("n8n_key_abcdef123456")
    assert scrub("header X-N8N-API-KEY: n8n_key_abcdef123456 refused") == (
        "header X-N8N-API-KEY: *** refused"
    )


def test_a_url_without_a_password_is_unchanged() -> None:
    assert mask_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
