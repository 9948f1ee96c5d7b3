"""Shell completion: the scripts in ``completions/`` and completing template references."""

from __future__ import annotations

SHELLS = {"bash": "pumpflix.bash", "zsh": "_pumpflix", "fish": "pumpflix.fish"}
COMPLETE_VAR = "_PUMPFLIX_COMPLETE"


def completion_script(shell: str) -> str:
    """The completion script Typer generates for ``shell`` (a shim that asks pumpflix)."""
    from typer._completion_shared import get_completion_script  # no public equivalent

    return get_completion_script(prog_name="pumpflix", complete_var=COMPLETE_VAR, shell=shell)


def complete_template_ref(incomplete: str) -> list[str]:
    """Template names (and ids, for hex input) that start with what was typed, from the
    cache when it is warm, else the database. Completion must never fail loudly."""
    try:
        from pumpflix_cli.context import AppContext
        from pumpflix_cli.output import Output
        from pumpflix_cli.services.templates.library import TemplateLibrary

        app = AppContext(Output(quiet=True))
        library = TemplateLibrary(app.database, app.template_cache(), lambda _message: None)
        records = library.list_templates(["prebuilt", "user"])
    except Exception:
        return []
    names = sorted({r.name for r in records if r.name.startswith(incomplete)})
    ids = [r.id for r in records if incomplete and r.id.startswith(incomplete.lower())]
    return names + ids
