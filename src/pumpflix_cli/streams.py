"""stdout as commands write to it: a reader that stops early (``| head -c1``) ends the
command quietly, and any other write that fails is an :class:`OutputError` naming stdout
(exit 74), never a raw ``OSError`` that the edge would call unexpected."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pumpflix_cli.errors import OutputError


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
