"""What the instances tests share: the database the CLI uses, opened by the test too."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pumpflix_cli.config import Settings
from pumpflix_cli.db.engine import Database
from tests.conftest import CliRun


@pytest.fixture
def database(cli: CliRun) -> Iterator[Database]:
    assert cli("db", "upgrade").exit_code == 0  # the embedded database on first use
    db = Database(Settings())
    yield db
    db.dispose()
