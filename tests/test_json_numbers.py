"""Every JSON that becomes stored data is read by one parser that refuses numbers JSON has
not, and every output refuses to write them (issue 12): the inputs besides workflow files
(``--input``, ``--vars-file``, n8n's answers), the cache's values, and what show and export
write of a row stored before the parser refused them."""

from __future__ import annotations

import json
import math
import uuid
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from pumpflix_cli.cache.values import dumps as cache_dumps
from pumpflix_cli.cli.instances.inputs import parse_input, read_vars_file
from pumpflix_cli.config import Settings
from pumpflix_cli.db.engine import Database
from pumpflix_cli.db.models import Template
from pumpflix_cli.errors import InvalidInputError, UsageError
from pumpflix_cli.exit_codes import ExitCode
from pumpflix_cli.json_text import NonJsonNumberError, dumps, loads
from pumpflix_cli.n8n.client import N8nClient
from pumpflix_cli.n8n.transport import N8nRequestError
from tests.conftest import Backend, CliRun


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": [1, NaN]}', "NaN at a[1] is not a JSON number"),
        ("[-Infinity]", "-Infinity at [0] is not a JSON number"),
        ('{"x y": 1e400}', "the number at ['x y'] is beyond the range of a double"),
    ],
)
def test_loads_refuses_what_is_not_a_json_number_naming_where(text: str, message: str) -> None:
    with pytest.raises(NonJsonNumberError) as caught:
        loads(text)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_no_serializer_writes_nan_or_infinity(value: float) -> None:
    for write in (dumps, cache_dumps):
        with pytest.raises(NonJsonNumberError):
            write({"n8nJson": {"x": [value]}})


def test_the_webhook_input_refuses_nan(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="NaN at a is not a JSON number"):
        parse_input('{"a": NaN}')
    (tmp_path / "in.json").write_text('{"a": [1e999]}')
    with pytest.raises(InvalidInputError, match=r"the number at a\[0\] is beyond"):
        parse_input(f"@{tmp_path / 'in.json'}")


def test_a_variables_file_refuses_infinity(tmp_path: Path) -> None:
    (tmp_path / "vars.json").write_text('{"LIMIT": Infinity}')
    with pytest.raises(InvalidInputError, match="Infinity at LIMIT is not a JSON number"):
        read_vars_file(tmp_path / "vars.json")


def test_an_n8n_answer_with_nan_is_refused_not_stored() -> None:
    # n8n (JavaScript) never writes NaN: only something posing as n8n can.
    body = b'{"id": "1", "name": "W", "nodes": [{"parameters": {"x": NaN}}]}'
    client = N8nClient(
        "http://n8n.invalid",
        "key",
        transport=httpx.MockTransport(
            lambda _r: httpx.Response(200, content=body, headers={"content-type": "json"})
        ),
        backoff=0.0,
    )
    with pytest.raises(N8nRequestError, match=r"NaN at nodes\[0\]\.parameters\.x"):
        client.workflow("1")


def _stored_before_the_fix(database: Database) -> str:
    """A row holding ``Infinity`` in its JSON text, as SQLite kept 1e999 before."""
    template_id = str(uuid.uuid4())
    now = datetime(2026, 12, 1, 12, 0)
    with database.session() as session:
        session.add(
            Template(
                id=template_id,
                name="Old",
                description="",
                source_type="user",
                n8n_json='{"name": "Old", "nodes": [], "x": Infinity}',
                required_credentials=[],
                input_variables=[],
                created_at=now,
                updated_at=now,
            )
        )
    return template_id


def test_show_and_export_of_an_old_row_holding_infinity_fail_naming_it(
    cli: CliRun, backend: Backend, tmp_path: Path
) -> None:
    assert cli("db", "upgrade").exit_code == 0
    database = Database(Settings())
    template_id = _stored_before_the_fix(database)
    database.dispose()
    shown = cli("templates", "show", template_id, "--json")
    assert shown.exit_code == ExitCode.DATA_ERR
    assert "Infinity" not in shown.stdout
    assert "Infinity at n8nJson.x is not a JSON number" in shown.stderr
    for target in ("-", str(tmp_path / "out")):
        exported = cli("templates", "export", "--out", target)
        assert exported.exit_code == ExitCode.DATA_ERR, exported.stderr
        assert f"template 'Old' ({template_id}) cannot be exported" in exported.stderr
        assert "Infinity at x is not a JSON number" in exported.stderr
    assert not any((tmp_path / "out").glob("*.json"))
    listed = cli("templates", "list", "--json")
    assert [t["name"] for t in json.loads(listed.stdout)] == ["Old"]
