"""``pumpflix config show``: every setting, its value and where it came from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from pumpflix_cli.cli.common import JsonOption, app_context, finish
from pumpflix_cli.exit_codes import ExitCode

if TYPE_CHECKING:
    from pumpflix_cli.config import ResolvedSetting
    from pumpflix_cli.output import Output


@dataclass(frozen=True)
class SettingsReport:
    env_file: Path | None
    rows: list[ResolvedSetting]

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.OK

    def to_json(self) -> dict[str, Any]:
        return {
            "envFile": str(self.env_file) if self.env_file else None,
            "settings": {
                row.variable: {"value": row.value, "source": row.source, "secret": row.secret}
                for row in self.rows
            },
        }


def show(ctx: typer.Context, json: JsonOption = False) -> None:
    """Every setting, its value (secrets masked) and where it came from."""
    app_ = app_context(ctx, json_output=json)
    loaded = app_.loaded_settings
    report = SettingsReport(loaded.env_file, loaded.resolved())
    out = app_.output
    finish(out, report, lambda: _render(out, report))


def _render(out: Output, report: SettingsReport) -> None:
    from pumpflix_cli.output import Column

    out.table(
        [
            Column("setting"),
            Column("value", fit="wrap"),
            Column("source", 1),
            Column("meaning", 2, "text"),
        ],
        [
            (row.variable, "-" if row.value is None else row.value, row.source, row.description)
            for row in report.rows
        ],
    )
