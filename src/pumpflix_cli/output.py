"""All printing goes through here: data to stdout, everything else to stderr.

With ``--json`` stdout holds exactly one JSON document (or JSON lines) and nothing else.
Rich renders tables for people; it honours ``NO_COLOR`` and drops styling when the stream
is not a terminal.

Everything printed for a person passes through :func:`pumpflix_cli.text.printable` here,
where values become text, so no command can forget it: a control or bidi character in a
name, a path or an error shows as ``\\x1b`` / ``\\u202e``, never acts on the terminal. User
values are never read as Rich markup (``[red]`` in a name prints as it is). Sentences are
never folded at the terminal's width; tables fit it (:mod:`pumpflix_cli.tables`) on a
terminal and are printed whole, one line a row, when stdout is piped.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from textwrap import indent
from typing import TYPE_CHECKING, Any, TextIO
from uuid import UUID

from pumpflix_cli.errors import InvalidInputError
from pumpflix_cli.json_text import NonJsonNumberError
from pumpflix_cli.redact import scrub
from pumpflix_cli.streams import guard_stdout
from pumpflix_cli.tables import Column, fit_columns
from pumpflix_cli.text import (
    format_duration,
    format_size,
    format_time,
    json_text,
    plural,
    printable,
    printable_lines,
)

__all__ = ["Column", "Output", "format_duration", "format_size", "format_time", "plural"]

# Piped stdout is read by scripts: rows are never folded or cut, whatever COLUMNS says.
PIPED_WIDTH = 1_000_000

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

    from pumpflix_cli.log_events import Level, LogFormat


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"cannot serialise {type(value).__name__} to JSON")


def to_json(data: Any, *, indent: int | None = 2) -> str:
    """JSON text of ``data``; a NaN or an infinity (not JSON: only an old row can hold
    one) is an error naming where it is, never written as a bare word."""
    try:
        return json_text(data, indent=indent, default=_json_default)
    except NonJsonNumberError as exc:
        raise InvalidInputError(
            f"cannot write JSON: {exc}", hint="re-import the template from a valid file"
        ) from None


class Output:
    """The process's one printer. Commands get it from the application context."""

    def __init__(
        self,
        *,
        quiet: bool = False,
        verbose: bool = False,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
        log_format: LogFormat = "text",
    ) -> None:
        self.quiet = quiet
        self.verbose = verbose
        self.json_mode = False
        self.log_format: LogFormat = log_format
        self.command: str | None = None  # "templates import", for the JSON log events
        self._started = time.monotonic()
        self._stdout = stdout
        self._stderr = stderr
        self._guarded: tuple[Any, Any] | None = None
        self._out: Console | None = None
        self._err: Console | None = None

    @property
    def stdout(self) -> TextIO:
        """stdout, guarded: a failed write raises :class:`OutputError` naming stdout."""
        raw = self._stdout or sys.stdout
        if self._guarded is None or self._guarded[0] is not raw:
            self._guarded = (raw, guard_stdout(raw))
        return self._guarded[1]  # type: ignore[no-any-return]

    @property
    def stderr(self) -> TextIO:
        return self._stderr or sys.stderr

    @property
    def console(self) -> Console:
        if self._out is None:
            from rich.console import Console

            console = Console(file=self.stdout, highlight=False, emoji=False, soft_wrap=False)
            if not console.is_terminal:
                console.width = PIPED_WIDTH
            self._out = console
        return self._out

    @property
    def err_console(self) -> Console:
        if self._err is None:
            from rich.console import Console

            self._err = Console(file=self.stderr, highlight=False, emoji=False, soft_wrap=True)
        return self._err

    # --- data (stdout) ---------------------------------------------------------------

    def json(self, data: Any) -> None:
        """Write one JSON document to stdout."""
        self.stdout.write(to_json(data) + "\n")
        self.stdout.flush()

    def json_line(self, data: Any) -> None:
        """Write one compact JSON line to stdout (for streams such as ``logs --follow``)."""
        self.stdout.write(to_json(data, indent=None) + "\n")
        self.stdout.flush()

    def json_array(self, items: Iterable[Any]) -> None:
        """Write one JSON array to stdout an item at a time (the same layout as
        :meth:`json`), so a long list never exists as one string in memory."""
        out = self.stdout
        out.write("[")
        first = True
        for item in items:
            out.write("\n" if first else ",\n")
            out.write(indent(to_json(item), "  "))
            first = False
        out.write("]\n" if first else "\n]\n")
        out.flush()

    def emit(self, data: Any, render: Callable[[], None]) -> None:
        """JSON when ``--json`` was given, otherwise the human rendering."""
        if self.json_mode:
            self.json(data)
        else:
            render()

    def table(
        self,
        columns: Sequence[Column | str],
        rows: Sequence[Sequence[Any]],
        *,
        title: str | None = None,
        show_header: bool = True,
    ) -> None:
        """A table, one line a row: on a terminal the least important columns are dropped
        and long cells cut (:func:`pumpflix_cli.tables.fit_columns`); piped, it is whole."""
        from rich.cells import cell_len
        from rich.table import Table
        from rich.text import Text

        specs = [c if isinstance(c, Column) else Column(c) for c in columns]
        # Cells are data, never markup: "boom [line 1]" must print as it is.
        cells = [[printable("" if cell is None else str(cell)) for cell in row] for row in rows]
        natural = [
            max(1, cell_len(spec.header) if show_header else 0, *(cell_len(r[i]) for r in cells))
            for i, spec in enumerate(specs)
        ]
        console = self.console
        widths = fit_columns(specs, natural, console.width) if console.is_terminal else natural
        kept = [i for i, width in enumerate(widths) if width is not None]
        table = Table(
            title=Text(printable(title)) if title else None,
            header_style="bold",
            show_header=show_header,
        )
        for i in kept:
            wraps = specs[i].fit == "wrap"
            table.add_column(
                Text(specs[i].header),
                width=widths[i],
                no_wrap=not wraps,
                overflow="fold" if wraps else "ellipsis",
            )
        for row in cells:
            table.add_row(*(Text(row[i]) for i in kept))
        console.print(table)

    def fields(self, items: Mapping[str, Any], *, title: str | None = None) -> None:
        """A two-column key/value table, for one object; values fold rather than get cut."""
        self.table(
            [Column(""), Column("", fit="wrap")],
            [(key, value) for key, value in items.items()],
            title=title,
            show_header=False,
        )

    def text(self, message: str) -> None:
        """A sentence on stdout (never used in ``--json`` mode), never folded at the
        terminal's width."""
        self.console.print(printable(message), markup=False, highlight=False, soft_wrap=True)

    def line(self, text: str) -> None:
        """One line on stdout as it is, never folded at the terminal's width (logs are
        grepped)."""
        self.console.print(printable(text), markup=False, highlight=False, soft_wrap=True)

    def block(self, text: str) -> None:
        """Lines on stdout as they are (JSON to copy), each made printable."""
        self.console.print(printable_lines(text), markup=False, highlight=False, soft_wrap=True)

    # --- diagnostics (stderr) --------------------------------------------------------

    def _say(self, message: str, style: str | None = None) -> None:
        """One line on stderr: secrets scrubbed, control characters escaped, not markup,
        never folded at the terminal's width."""
        self.err_console.print(
            printable(scrub(message)), style=style, markup=False, highlight=False, soft_wrap=True
        )

    def _log(self, level: Level, event: str, message: str, **fields: Any) -> None:
        """One JSON log event on stderr (``--log-format json``), scrubbed as text is."""
        from pumpflix_cli.log_events import event_line

        scrubbed = {k: scrub(v) if isinstance(v, str) else v for k, v in fields.items()}
        line = event_line(level, event, scrub(message), command=self.command, **scrubbed)
        self.stderr.write(line + "\n")
        self.stderr.flush()

    @property
    def logs_json(self) -> bool:
        return self.log_format == "json"

    def _note(
        self, level: Level, event: str, message: str, style: str | None = None, prefix: str = ""
    ) -> None:
        if self.logs_json:
            self._log(level, event, message)
        else:
            self._say(prefix + message, style)

    def info(self, message: str) -> None:
        if not self.quiet:
            self._note("info", "info", message)

    def success(self, message: str) -> None:
        if not self.quiet:
            self._note("info", "done", message, "green")

    def debug(self, message: str) -> None:
        if self.verbose:
            self._note("debug", "debug", message, "dim")

    def warn(self, message: str) -> None:
        """Warnings are printed even with ``--quiet``: cron mail should carry them."""
        self._note("warning", "warning", message, "yellow", "warning: ")

    def failure(self, message: str, *, style: str = "red") -> None:
        """One item that failed (``failed: a.json: …``), or a verdict that the operation did
        not hold; printed even with ``--quiet``."""
        self._note("error", "failed", message, style)

    def error(self, message: str, hint: str | None = None) -> None:
        if self.logs_json:
            self._log("error", "error", message, hint=hint)
            return
        self._say(f"error: {message}", "bold red")
        if hint:
            self._say(f"hint: {hint}", "dim")

    def finished(self, exit_code: int) -> None:
        """The last event of a command in the JSON log: its exit code and how long it took
        (the text form says nothing: the exit status says it)."""
        if self.logs_json:
            level: Level = "info" if exit_code == 0 else "error"
            took = round((time.monotonic() - self._started) * 1000)
            self._log(level, "exit", f"exit {exit_code}", exitCode=exit_code, durationMs=took)

    def traceback(self) -> None:
        """The exception being handled, as ``redact.format_exception`` shows one: each
        message cut to its primary line, the whole scrubbed."""
        from pumpflix_cli.redact import format_exception

        exc = sys.exc_info()[1]
        if exc is None:
            return
        if self.logs_json:
            self._log("error", "traceback", type(exc).__name__, traceback=format_exception(exc))
        else:
            self.stderr.write(printable_lines(format_exception(exc)))

    def confirm(self, question: str) -> bool:
        from rich.prompt import Confirm
        from rich.text import Text

        prompt = Text(printable(scrub(question)))  # a name in it is never markup
        return Confirm.ask(prompt, console=self.err_console, default=False)

    @property
    def interactive(self) -> bool:
        """Whether stdin and stderr are terminals, so we may ask and draw progress bars."""
        return sys.stdin.isatty() and self.stderr.isatty()

    @contextmanager
    def progress(self, description: str, total: int | None) -> Iterator[Callable[[int], None]]:
        """A progress bar on stderr when it is a terminal; yields ``advance(n)``."""
        if self.quiet or self.logs_json or not self.err_console.is_terminal:
            yield lambda _n: None
            return
        progress: Progress
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        progress = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.err_console,
            transient=True,
        )
        with progress:
            task = progress.add_task(printable(description), total=total)
            yield lambda n: progress.advance(task, n)
