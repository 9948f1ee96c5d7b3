"""A template the platform wrote (its own client: ``JSON.stringify`` spells numbers the
JavaScript way, its UI keeps a name as typed) is the same template as the file it came
from (issue 12): importing that file finds it by its name in normalised form and leaves
it unchanged, and pumpflix never renames it."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import factories
from tests.conftest import CliRun
from tests.helpers import import_json, list_json, show_json

from .conftest import platform_database
from .harness import Platform

pytestmark = pytest.mark.usefixtures("redis_env")

NFC = "Café numbers"
NFD = unicodedata.normalize("NFD", NFC)
# As a file spells them; JavaScript writes 150000000000000000000, 0, 100, 1e-7 and
# 12345678901234567000 (the double nearest) for them.
NUMBERS = {"a": 1.5e20, "b": -0.0, "c": 100.0, "d": 0.1, "e": 12345678901234567890, "f": 1e-7}


@pytest.fixture
def platform_database_url() -> Iterator[str]:
    with platform_database("numbers") as url:
        yield url


@pytest.fixture
def shared(platform: Platform, cli: CliRun, monkeypatch: pytest.MonkeyPatch) -> Platform:
    monkeypatch.setenv("DATABASE_URL", platform.database_url)
    upgraded = cli("db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.stderr
    return platform


def test_the_platforms_spelling_of_a_file_is_that_file(
    shared: Platform, cli: CliRun, tmp_path: Path
) -> None:
    document = factories.workflow(NFD)
    document["nodes"][1]["parameters"]["numbers"] = NUMBERS
    made = shared.create_template({"name": NFD, "sourceType": "user", "n8nJson": document})
    stored = made["n8nJson"]
    assert "150000000000000000000" in stored and "12345678901234567000" in stored
    file = tmp_path / "a.json"
    file.write_text(json.dumps({**document, "name": NFC}))
    code, report = import_json(cli, str(file))
    assert (code, report["unchanged"], report["created"]) == (0, 1, 0), report
    (listed,) = list_json(cli)
    assert (listed["id"], listed["name"], listed["version"]) == (made["id"], NFD, 1)
    assert show_json(cli, NFC)["id"] == made["id"]
