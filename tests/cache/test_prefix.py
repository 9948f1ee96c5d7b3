"""``PUMPFLIX_CACHE_PREFIX``: empty by default (the platform's own keys), empty accepted,
and nothing that would break a side key's hash tag or a SCAN pattern."""

from __future__ import annotations

from pathlib import Path

import pytest

from pumpflix_cli.config import load_settings
from pumpflix_cli.errors import ConfigError


@pytest.fixture(autouse=True)
def no_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PUMPFLIX_CACHE_PREFIX", raising=False)


def test_the_prefix_defaults_to_empty() -> None:
    assert load_settings().settings.cache_prefix == ""


def test_an_empty_prefix_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUMPFLIX_CACHE_PREFIX", "")
    assert load_settings().settings.cache_prefix == ""


@pytest.mark.parametrize("prefix", ["a b:", "{x}:", "x*:", "x?:", "[x]:", "x\\:"])
def test_a_prefix_that_would_break_a_hash_tag_or_a_pattern_is_refused(
    prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUMPFLIX_CACHE_PREFIX", prefix)
    with pytest.raises(ConfigError):
        load_settings()
