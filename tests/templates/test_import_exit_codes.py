"""The import's exit code over generated outcome mixes: 0 all landed, 5 partial, 4 when the
only failures are conflicts and nothing landed (or ``atomic`` rolled back), else 65."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pumpflix_cli.exit_codes import ExitCode
from pumpflix_cli.records import TemplateRecord
from pumpflix_cli.services.templates.importing import ImportReport


def _existing() -> TemplateRecord:
    return TemplateRecord.__new__(TemplateRecord)


@given(
    landed=st.integers(0, 3),
    conflicts=st.integers(0, 3),
    invalid=st.integers(0, 3),
    atomic=st.booleans(),
)
def test_exit_code_follows_the_readme_table(
    landed: int, conflicts: int, invalid: int, atomic: bool
) -> None:
    report = ImportReport(created=landed, atomic=atomic)
    for i in range(conflicts):
        report.fail(f"c{i}.json", "exists with different content", conflict=_existing())
    for i in range(invalid):
        report.fail(f"i{i}.json", "not JSON")
    if not conflicts and not invalid:
        expected = ExitCode.OK
    elif landed and not atomic:
        expected = ExitCode.PARTIAL
    elif invalid:
        expected = ExitCode.DATA_ERR
    else:
        expected = ExitCode.CONFLICT
    assert report.exit_code == expected
