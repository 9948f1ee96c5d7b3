"""Names that look alike are one name (issue 12, PLATFORM.md "Names"), on both backends:
what pumpflix writes is NFC without invisible characters (else the file is refused,
exit 65, naming it and the character); lookups and imports compare names in normalised
form; the platform's own rows are found, never refused or renamed."""

from __future__ import annotations

import json
import unicodedata
import uuid
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, literal, select

from pumpflix_cli.config import Settings
from pumpflix_cli.db.engine import Database
from pumpflix_cli.db.models import Template
from pumpflix_cli.db.names import NameKey
from pumpflix_cli.exit_codes import ExitCode
from pumpflix_cli.references import name_key
from tests.conftest import CliRun
from tests.factories import workflow, write
from tests.helpers import import_json, list_json, show_json

pytestmark = pytest.mark.usefixtures("backend")

NFC = "Café orders"
NFD = unicodedata.normalize("NFD", NFC)


@pytest.fixture
def database(cli: CliRun) -> Database:
    assert cli("db", "upgrade").exit_code == 0  # the embedded database on first use
    return Database(Settings())


def platform_row(database: Database, name: str, text: str = "platform") -> str:
    """A template the platform made (no pumpflix row): its name as the platform keeps it."""
    template_id = str(uuid.uuid4())
    now = datetime(2026, 12, 1, 12, 0)
    with database.session() as session:
        session.execute(
            insert(Template).values(
                id=template_id,
                name=name,
                description="",
                source_type="user",
                n8n_json=json.dumps(workflow(name, text=text)),
                required_credentials=[],
                input_variables=[],
                created_at=now,
                updated_at=now,
            )
        )
    return template_id


def test_a_decomposed_name_is_stored_composed_and_found_by_either_form(
    cli: CliRun, tmp_path: Path
) -> None:
    code, report = import_json(cli, str(write(tmp_path, "a.json", workflow(NFD))))
    assert code == 0, report
    (listed,) = list_json(cli)
    assert listed["name"] == NFC
    for ref in (NFC, NFD):
        assert show_json(cli, ref)["id"] == listed["id"]


@pytest.mark.parametrize("code", [0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x202E, 0x2067, 0xAD])
def test_a_name_with_an_invisible_character_is_refused_naming_the_file_and_it(
    cli: CliRun, tmp_path: Path, code: int
) -> None:
    path = write(tmp_path, "sneaky.json", workflow(f"Pay{chr(code)}roll"))
    result = cli("templates", "import", str(path))
    assert result.exit_code == ExitCode.DATA_ERR
    assert f"{path}: " in result.stderr
    assert f"U+{code:04X}" in result.stderr
    assert list_json(cli) == []


def test_look_alike_names_in_one_batch_are_one_name(cli: CliRun, tmp_path: Path) -> None:
    write(tmp_path / "same", "nfc.json", workflow(NFC))
    write(tmp_path / "same", "nfd.json", workflow(NFD))
    code, report = import_json(cli, str(tmp_path / "same"))
    assert (code, report["created"], report["unchanged"]) == (0, 1, 1), report
    write(tmp_path / "differ", "ascii.json", workflow("a.b", text="one"))
    write(tmp_path / "differ", "fullwidth.json", workflow("a\uff0eb", text="two"))
    code, report = import_json(cli, str(tmp_path / "differ"))
    assert code == ExitCode.DATA_ERR
    assert {Path(e["path"]).name for e in report["errors"]} == {"ascii.json", "fullwidth.json"}


def test_a_look_alike_reimport_updates_the_template_it_looks_like(
    cli: CliRun, tmp_path: Path
) -> None:
    import_json(cli, str(write(tmp_path, "1.json", workflow("a.b", text="one"))))
    code, report = import_json(cli, str(write(tmp_path, "2.json", workflow("a\uff0eb", text="2"))))
    assert (code, report["updated"]) == (0, 1), report
    (listed,) = list_json(cli)
    assert (listed["name"], listed["version"]) == ("a.b", 2)
    assert show_json(cli, "a\uff0eb")["id"] == listed["id"]


def test_a_platform_row_is_found_in_normalised_form_and_never_renamed(
    cli: CliRun, tmp_path: Path, database: Database
) -> None:
    stored = "Alpha\u200b " + NFD  # what the platform's UI let a user type
    template_id = platform_row(database, stored)
    assert [t["name"] for t in list_json(cli)] == [stored]  # listed, not refused
    for ref in ("Alpha " + NFC, "Alpha " + NFD, stored):
        assert show_json(cli, ref)["id"] == template_id
    same = workflow("Alpha " + NFC, text="platform")
    code, report = import_json(cli, str(write(tmp_path, "a.json", same)))
    assert (code, report["unchanged"]) == (0, 1), report
    changed = workflow("Alpha " + NFC, text="changed")
    code, report = import_json(cli, str(write(tmp_path, "b.json", changed)))
    assert (code, report["updated"]) == (0, 1), report
    (listed,) = list_json(cli)
    assert (listed["id"], listed["name"], listed["version"]) == (template_id, stored, 2)


def test_promote_stores_the_name_composed_and_refuses_invisible_ones(
    cli: CliRun, tmp_path: Path
) -> None:
    result = cli("instances", "promote", "0" * 8, "--name", "bad\u200bname")
    assert result.exit_code == ExitCode.USAGE, result.stderr
    assert "U+200B" in result.stderr


# Text of any kind, look-alike forms included, for the key the database computes.
names = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=12)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=names)
def test_the_database_compares_names_by_the_same_key(database: Database, name: str) -> None:
    with database.session() as session:
        for form in ("NFC", "NFD", "NFKC"):
            text = unicodedata.normalize(form, name)
            assert session.execute(select(NameKey(literal(text)))).scalar() == name_key(text)


# Names with letters that decompose (é, ñ, Å, 가, ǅ), among plain ones.
composable = st.text(
    st.sampled_from([*"abcXYZ 019-_", "é", "ñ", "Å", "가", "ǅ", "ệ", "ő"]), min_size=1
).filter(lambda s: s.strip() and not s.strip().startswith("-"))  # "-x" is an option
invisible = st.sampled_from(["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u202a", "\u2066"])


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=composable, hidden=invisible, at=st.integers(0, 30))
def test_generated_names_are_stored_composed_found_by_any_form_and_never_hidden(
    cli: CliRun, tmp_path: Path, name: str, hidden: str, at: int
) -> None:
    folder = tmp_path / uuid.uuid4().hex
    composed = unicodedata.normalize("NFC", name.strip())
    at = min(at, len(composed) - 1)
    sneaky = write(folder, "sneaky.json", workflow(composed[:at] + "x" + hidden + composed[at:]))
    code, report = import_json(cli, str(sneaky))
    assert code == ExitCode.DATA_ERR and f"U+{ord(hidden):04X}" in report["errors"][0]["error"]
    code, report = import_json(
        cli, str(write(folder, "a.json", workflow(unicodedata.normalize("NFD", name))))
    )
    assert code == 0, report
    (created,) = report["templates"]
    assert created["name"] == composed
    for form in ("NFC", "NFD", "NFKD"):
        assert show_json(cli, unicodedata.normalize(form, composed))["id"] == created["id"]
    assert cli("templates", "delete", created["id"], "--yes").exit_code == 0
