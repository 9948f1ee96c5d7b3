"""Settings: the platform's names, our prefix, .env files, sources, masking, validation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pumpflix_cli.config import load_settings
from pumpflix_cli.errors import ConfigError
from pumpflix_cli.exit_codes import ExitCode
from tests.conftest import CliRun

FERNET_KEY = "x7Qe0m2n8f3Vw1c5b9Lk4Jh6Gd2Sa0Pq8Rt5Yu3Io1E="


def test_defaults_give_the_embedded_database_and_no_cache() -> None:
    settings = load_settings().settings
    assert settings.embedded
    assert settings.effective_database_url.startswith("sqlite:///")
    assert settings.redis_url is None
    assert settings.cache_ttl_prebuilt == 6 * 3600
    assert settings.cache_ttl_user == 3600


def test_platform_names_are_read_as_they_are(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://app@db.internal/pumpflix")
    monkeypatch.setenv("REDIS_URL", "redis://cache.internal:6379/2")
    monkeypatch.setenv("N8N_URL", "https://n8n.internal/")
    settings = load_settings().settings
    assert settings.database_url == "postgresql://app@db.internal/pumpflix"
    assert settings.redis_url == "redis://cache.internal:6379/2"
    assert settings.n8n_url == "https://n8n.internal"


def test_env_file_is_read_and_named_as_the_source(tmp_path: Path) -> None:
    env_file = tmp_path / "staging.env"
    env_file.write_text("PUMPFLIX_CACHE_TTL_USER=120\nOTHER_APP_SETTING=1\n")
    loaded = load_settings(env_file)
    assert loaded.settings.cache_ttl_user == 120
    sources = {row.variable: row.source for row in loaded.resolved()}
    assert sources["PUMPFLIX_CACHE_TTL_USER"] == f"env file {env_file}"
    assert sources["PUMPFLIX_CACHE_TTL_PREBUILT"] == "default"


def test_dot_env_in_the_working_directory_is_read() -> None:
    Path(".env").write_text("PUMPFLIX_CACHE_PREFIX=staging:\n")
    assert load_settings().settings.cache_prefix == "staging:"


def test_environment_wins_over_the_env_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / "x.env"
    env_file.write_text("PUMPFLIX_CACHE_TTL_USER=120\n")
    monkeypatch.setenv("PUMPFLIX_CACHE_TTL_USER", "60")
    loaded = load_settings(env_file)
    assert loaded.settings.cache_ttl_user == 60
    assert loaded.source_of("cache_ttl_user") == "environment"


def test_a_missing_env_file_is_a_usage_error(cli: CliRun, tmp_path: Path) -> None:
    result = cli("--env-file", str(tmp_path / "nope.env"), "config", "show")
    assert result.exit_code == ExitCode.USAGE
    assert "does not exist" in result.stderr


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("DATABASE_URL", "mysql://root@localhost/x", "unsupported scheme"),
        ("DATABASE_URL", "postgresql://root@localhost:notaport/x", "URL does not parse"),
        ("DATABASE_URL", "postgresql://root:12?x@localhost/x", "reads more than one way"),
        ("REDIS_URL", "redis://localhost:6379/0#x", "percent-encode it as %23"),
        ("REDIS_URL", "http://localhost:6379", "unsupported scheme"),
        ("N8N_URL", "localhost:5678", "expected http"),
        ("PUMPFLIX_CACHE_TTL_USER", "soon", "PUMPFLIX_CACHE_TTL_USER"),
        ("PUMPFLIX_CACHE_KEY", "not-a-fernet-key", "URL-safe base64"),
    ],
)
def test_a_malformed_setting_exits_2_saying_what_is_wrong(
    cli: CliRun, name: str, value: str, expected: str
) -> None:
    result = cli("config", "show", env={name: value})
    assert result.exit_code == ExitCode.USAGE
    assert expected in result.stderr
    assert result.stderr.startswith("error: ")


def test_an_unknown_setting_is_refused_with_a_suggestion(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUMPFLIX_CACHE_TTL_USR", "5")
    with pytest.raises(ConfigError) as raised:
        load_settings()
    assert "PUMPFLIX_CACHE_TTL_USR" in raised.value.message
    assert raised.value.hint is not None and "PUMPFLIX_CACHE_TTL_USER" in raised.value.hint


def test_an_unknown_setting_in_the_env_file_is_refused(tmp_path: Path) -> None:
    env_file = tmp_path / "x.env"
    env_file.write_text("PUMPFLIX_REDIS_CLUSTR=1\n")
    with pytest.raises(ConfigError):
        load_settings(env_file)


def test_config_show_never_prints_a_secret(cli: CliRun) -> None:
    secrets = {
        "DATABASE_URL": "postgresql://app:db-pass-1234@db.internal/pumpflix",
        "REDIS_URL": "redis://:redis-pass-5678@cache.internal:6379/0",
        "N8N_URL": "http://n8n.internal:5678",
        "N8N_API_KEY": "n8n_api_0123456789abcdef",
        "PUMPFLIX_CACHE_KEY": FERNET_KEY,
    }
    for flag in ([], ["--json"]):
        result = cli("config", "show", *flag, env=secrets)
        assert result.exit_code == 0, result.stderr
        printed = result.stdout + result.stderr
        for secret in ("db-pass-1234", "redis-pass-5678", "n8n_api_0123456789abcdef", FERNET_KEY):
            assert secret not in printed


def test_config_show_json_names_every_setting_and_its_source(cli: CliRun) -> None:
    result = cli("config", "show", "--json", env={"N8N_API_KEY": "abcdefgh12345"})
    document = json.loads(result.stdout)
    settings = document["settings"]
    assert settings["N8N_API_KEY"] == {"value": "***", "source": "environment", "secret": True}
    assert settings["DATABASE_URL"]["source"] == "default"
    assert {"PUMPFLIX_CACHE_PREFIX", "PUMPFLIX_CACHE_TTL_PREBUILT", "PUMPFLIX_CACHE_KEY"} <= set(
        settings
    )


def test_env_example_documents_every_setting() -> None:
    from pumpflix_cli.config import Settings, variable_name

    example = (Path(__file__).parents[1] / ".env.example").read_text()
    for field in Settings.model_fields:
        assert variable_name(field) in example, variable_name(field)


def test_a_valid_key_with_trailing_garbage_is_refused(cli: CliRun) -> None:
    """The lenient base64 decoder skips stray characters: `<key>garbage!!` decoded to 32
    bytes and was accepted. Only exactly what Fernet.generate_key() prints is a key."""
    result = cli("config", "show", env={"PUMPFLIX_CACHE_KEY": FERNET_KEY + "garbage!!"})
    assert result.exit_code == ExitCode.USAGE
    assert "PUMPFLIX_CACHE_KEY" in result.stderr
    assert "URL-safe base64" in result.stderr
    assert FERNET_KEY not in result.stderr
    assert "garbage" not in result.stderr
