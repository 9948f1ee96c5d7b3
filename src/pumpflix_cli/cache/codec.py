"""Encryption at rest of cached values (SPEC §5): Fernet (AES-128-CBC with HMAC-SHA256)
when ``PUMPFLIX_CACHE_KEY`` is set, the identity otherwise."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.fernet import Fernet


class UndecryptableError(Exception):
    """A cached value that does not decrypt with the configured key (rotated, tampered)."""


class ValueCodec:
    def __init__(self, key: str | None) -> None:
        self._fernet: Fernet | None = None
        if key:
            from cryptography.fernet import Fernet

            self._fernet = Fernet(key.encode("ascii"))

    @property
    def encrypted(self) -> bool:
        return self._fernet is not None

    def encode(self, plain: bytes) -> bytes:
        return plain if self._fernet is None else self._fernet.encrypt(plain)

    def decode(self, stored: bytes) -> bytes:
        if self._fernet is None:
            if stored[:5] == b"gAAAA":  # a Fernet token: encrypted by a run that had a key
                raise UndecryptableError("the value is encrypted and no PUMPFLIX_CACHE_KEY is set")
            return stored
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet.decrypt(stored)
        except InvalidToken:
            raise UndecryptableError("the value does not decrypt with PUMPFLIX_CACHE_KEY") from None
