"""All printing goes through here: data to stdout, everything else to stderr.

With ``--json`` stdout holds exactly one JSON document (or JSON lines) and nothing else.
Rich renders tables for people; it honours ``NO_COLOR`` and drops styling when the stream
is not a terminal.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from textwrap import indent
from typing import TYPE_CHECKING, Any, TextIO
from uuid import UUID

from pumpflix_cli.errors import InvalidInputError, OutputError
from pumpflix_cli.json_text import NonJsonNumberError, dumps
from pumpflix_cli.redact import scrub

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress


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
        return dumps(data, indent=indent, default=_json_default)
    except NonJsonNumberError as exc:
        raise InvalidInputError(
            f"cannot write JSON: {exc}", hint="re-import the template from a valid file"
        ) from None


# --- the formats people read (one of each, for every command) --------------------------

TIME_FORMATS = {
    "minute": "%Y-%m-%d %H:%M",
    "second": "%Y-%m-%d %H:%M:%S",
    "ms": "%Y-%m-%d %H:%M:%S.%f",
    "clock": "%H:%M:%S.%f",
}


def format_time(value: datetime | str | None, precision: str = "second") -> str:
    """A timestamp in UTC as people read it (``2026-12-02 06:36:11``), or ``""``.

    ``precision`` is one of ``minute``, ``second``, ``ms`` (with milliseconds) and
    ``clock`` (the time of day with milliseconds, for a run's nodes)."""
    if value is None or value == "":
        return ""
    from pumpflix_cli.records import as_utc, parse_utc

    if isinstance(value, str):
        moment = parse_utc(value)
    else:
        aware = as_utc(value)
        assert aware is not None
        moment = aware.astimezone(UTC)
    text = moment.strftime(TIME_FORMATS[precision])
    return text[:-3] if precision in {"ms", "clock"} else text


def format_size(count: int) -> str:
    """Bytes as ``512 B``, ``1.5 KB``, ``2.0 MB``, ``1.1 GB``."""
    size = float(count)
    for unit in ("B", "KB", "MB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def format_duration(seconds: float, precision: str = "auto") -> str:
    """A span as ``850 ms``, ``12.3 s``, ``4m05s`` or ``2h03m``.

    ``precision="second"`` keeps whole minutes and seconds under a minute too (``0m05s``),
    for spans counted in whole seconds such as a TTL."""
    if precision == "auto" and seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if precision == "auto" and seconds < 60:
        return f"{seconds:.1f} s"
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}h{rest // 60:02}m" if hours else f"{rest // 60}m{rest % 60:02}s"


class ReaderStopped(Exception):  # noqa: N818 - a way to end, not a failure
    """The reader of stdout closed it (``| head -c1``): the command ends quietly, exit 0."""


class _ClosedStream:
    """Stands in for a stdout that was closed before the process started (``>&-``)."""

    encoding = "utf-8"
    errors = "strict"

    def write(self, _text: str) -> int:
        raise OutputError("stdout", "it is closed")

    def writelines(self, _lines: Iterable[str]) -> None:
        raise OutputError("stdout", "it is closed")

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


class GuardedStream:
    """stdout as commands see it: a reader that stops early raises :class:`ReaderStopped`,
    any other failed write an :class:`OutputError` naming stdout (exit 74), never a raw
    ``OSError`` that the edge would call unexpected."""

    def __init__(self, stream: Any, name: str = "stdout") -> None:
        self._stream = stream
        self._name = name

    def _failed(self, exc: OSError) -> Exception:
        if isinstance(exc, BrokenPipeError):
            return ReaderStopped()
        return OutputError.of(self._name, exc)

    def write(self, text: str) -> int:
        try:
            return int(self._stream.write(text))
        except OSError as exc:
            raise self._failed(exc) from exc
        except ValueError as exc:  # "I/O operation on closed file"
            raise OutputError(self._name, "it is closed") from exc

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as exc:
            raise self._failed(exc) from exc
        except ValueError as exc:
            raise OutputError(self._name, "it is closed") from exc

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def guard_stdout(stream: Any) -> Any:
    """``stream`` (or a stand-in when it is missing) wrapped as :class:`GuardedStream`."""
    if isinstance(stream, GuardedStream):
        return stream
    return GuardedStream(_ClosedStream() if stream is None else stream)


class Output:
    """The process's one printer. Commands get it from the application context."""

    def __init__(
        self,
        *,
        quiet: bool = False,
        verbose: bool = False,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
    ) -> None:
        self.quiet = quiet
        self.verbose = verbose
        self.json_mode = False
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

            self._out = Console(file=self.stdout, highlight=False, soft_wrap=False)
        return self._out

    @property
    def err_console(self) -> Console:
        if self._err is None:
            from rich.console import Console

            self._err = Console(file=self.stderr, highlight=False, soft_wrap=True)
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
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        title: str | None = None,
        show_header: bool = True,
        no_wrap: Sequence[str] = (),
    ) -> None:
        """A table; columns named in ``no_wrap`` keep their cells on one line."""
        from rich.table import Table
        from rich.text import Text

        table = Table(title=title, header_style="bold", show_header=show_header)
        for column in columns:
            table.add_column(column, overflow="fold", no_wrap=column in no_wrap)
        for row in rows:
            # Cells are data, never markup: "boom [line 1]" must print as it is.
            table.add_row(*(Text("" if cell is None else str(cell)) for cell in row))
        self.console.print(table)

    def fields(self, items: Mapping[str, Any], *, title: str | None = None) -> None:
        """A two-column key/value table, for one object."""
        self.table(
            ["", ""], [(key, value) for key, value in items.items()], title=title, show_header=False
        )

    def text(self, message: str) -> None:
        """Plain human output on stdout (never used in ``--json`` mode)."""
        self.console.print(message, markup=False)

    def line(self, text: str) -> None:
        """Text on stdout as it is, never folded at the terminal's width (logs are grepped,
        JSON is copied)."""
        self.console.print(text, markup=False, highlight=False, soft_wrap=True)

    # --- diagnostics (stderr) --------------------------------------------------------

    def info(self, message: str) -> None:
        if not self.quiet:
            self.err_console.print(scrub(message), markup=False)

    def success(self, message: str) -> None:
        if not self.quiet:
            self.err_console.print(scrub(message), style="green", markup=False)

    def debug(self, message: str) -> None:
        if self.verbose:
            self.err_console.print(scrub(message), style="dim", markup=False)

    def warn(self, message: str) -> None:
        """Warnings are printed even with ``--quiet``: cron mail should carry them."""
        self.err_console.print(f"warning: {scrub(message)}", style="yellow", markup=False)

    def failure(self, message: str, *, style: str = "red") -> None:
        """One item that failed (``failed: a.json: …``), or a verdict that the operation did
        not hold; printed even with ``--quiet``."""
        self.err_console.print(scrub(message), style=style, markup=False)

    def error(self, message: str, hint: str | None = None) -> None:
        self.err_console.print(f"error: {scrub(message)}", style="bold red", markup=False)
        if hint:
            self.err_console.print(f"hint: {scrub(hint)}", style="dim", markup=False)

    def traceback(self) -> None:
        import traceback

        self.stderr.write(scrub(traceback.format_exc()))

    def confirm(self, question: str) -> bool:
        from rich.prompt import Confirm

        return Confirm.ask(question, console=self.err_console, default=False)

    @property
    def interactive(self) -> bool:
        """Whether stdin and stderr are terminals, so we may ask and draw progress bars."""
        return sys.stdin.isatty() and self.stderr.isatty()

    @contextmanager
    def progress(self, description: str, total: int | None) -> Iterator[Callable[[int], None]]:
        """A progress bar on stderr when it is a terminal; yields ``advance(n)``."""
        if self.quiet or not self.err_console.is_terminal:
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
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.err_console,
            transient=True,
        )
        with progress:
            task = progress.add_task(description, total=total)
            yield lambda n: progress.advance(task, n)
