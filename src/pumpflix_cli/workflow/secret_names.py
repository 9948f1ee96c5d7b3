"""The one rule for a name that says its value is a secret: a variable's, an input
field's, a parameter's. (Token-shaped values are `tokens.looks_like_token`.)"""

from __future__ import annotations

# Names that say their value is a secret: any that holds one of these, in any case
# ("DB_PASSWORD", "apiKey", "x-auth-token"), or is "sig". Broad on purpose:
# a value masked for nothing costs a look, one stored or shown for nothing cannot be
# taken back.
SECRET_NAME_PARTS = (
    "pass",  # password, passwd, passphrase
    "pwd",
    "token",
    "secret",
    "key",  # apikey, api_key, access_key, private_key
    "auth",
    "credential",
    "signature",
    "private",
    "session",
    "cookie",
    "bearer",
)


def names_a_secret(name: str) -> bool:
    """Whether a variable, input field or parameter called ``name`` holds a secret."""
    lowered = name.lower()
    return lowered == "sig" or any(part in lowered for part in SECRET_NAME_PARTS)
