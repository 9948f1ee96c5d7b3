"""The docker-compose stack stays true to the platform and to pumpflix's settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from pumpflix_cli.config import Settings, variable_name

ROOT = Path(__file__).parents[1]


def _compose() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "docker-compose.yml").read_text()))


def test_the_compose_stack_has_the_platforms_services() -> None:
    services = _compose()["services"]
    assert set(services) == {"postgres", "redis", "n8n", "pumpflix"}
    assert services["postgres"]["image"] == "postgres:15"
    assert services["redis"]["image"].startswith("redis:7")
    assert services["n8n"]["image"] == "n8nio/n8n:2.40.7"
    assert services["n8n"]["environment"]["DB_TYPE"] == "postgresdb"


def test_pumpflix_in_the_stack_is_configured_with_settings_it_knows() -> None:
    pumpflix = _compose()["services"]["pumpflix"]
    known = {variable_name(field) for field in Settings.model_fields}
    assert set(pumpflix["environment"]) <= known
    assert pumpflix["environment"]["DATABASE_URL"].startswith("postgresql://")
    assert set(pumpflix["depends_on"]) == {"postgres", "redis", "n8n"}
    assert (ROOT / pumpflix["build"] / "Dockerfile").exists()


def test_every_service_a_container_depends_on_exists_and_has_a_healthcheck() -> None:
    services = _compose()["services"]
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, (name, dependency)
            assert "healthcheck" in services[dependency], dependency
