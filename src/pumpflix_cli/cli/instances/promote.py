"""``pumpflix instances promote``: a new user template made of an instance."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from pumpflix_cli.cli.common import JsonOption, app_context, finish
from pumpflix_cli.cli.instances.options import InstanceArgument

if TYPE_CHECKING:
    from pumpflix_cli.output import Output
    from pumpflix_cli.records import TemplateRecord


def promote(
    ctx: typer.Context,
    instance: InstanceArgument,
    name: Annotated[str, typer.Option("--name", help="The new user template's name.")],
    description: Annotated[
        str | None, typer.Option("--description", metavar="D", help="Its description.")
    ] = None,
    thumbnail: Annotated[
        str | None, typer.Option("--thumbnail", metavar="URL", help="Its thumbnail.")
    ] = None,
    from_n8n: Annotated[
        bool,
        typer.Option(
            "--from-n8n",
            help="Take the workflow as it now stands in n8n (edits made there included) "
            "instead of the instance's final JSON.",
        ),
    ] = False,
    json: JsonOption = False,
) -> None:
    """Make a new user template of an instance: the values and credential ids its run
    filled in are put back as the template held them, so it asks for the same
    variables and credentials, and a secret value is never stored.

    INSTANCE may also be the id of a row of the platform's "WorkflowInstance" table: its
    finalJson is promoted, else its template's n8nJson.

    Exit 4 when a user template of that name exists.
    """
    from pumpflix_cli.errors import ConflictError, UsageError
    from pumpflix_cli.services.instances import promote as service

    app_ = app_context(ctx, json_output=json)
    out = app_.output
    try:
        report = service.promote(
            app_.database,
            app_.library(),
            instance,
            name=name,
            description=description,
            thumbnail=thumbnail,
            n8n=app_.n8n if from_n8n else None,
        )
    except service.InvalidNameError as exc:
        raise UsageError(f"--name: {exc.reason}") from None
    except service.NameTakenError as exc:
        raise ConflictError(exc.message, hint="choose another --name") from None
    except service.NeverDeployedError as exc:
        exc.hint = "promote it without --from-n8n, or run it with --keep to edit it in n8n first"
        raise
    except service.WorkflowGoneError as exc:
        exc.hint = "promote it without --from-n8n (its final JSON is kept here)"
        raise
    for warning in report.warnings:
        out.warn(warning)
    finish(out, report, lambda: _render(out, report.template))


def _render(out: Output, record: TemplateRecord) -> None:
    from pumpflix_cli.cli.templates.show import template_fields

    out.fields(template_fields(record, detail=False), title="promoted")
