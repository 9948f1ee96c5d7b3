"""Entry point of the ``pumpflix`` console script and ``python -m pumpflix_cli``."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable
from types import FrameType


def main() -> None:
    # pydantic looks for plugins through every installed package's entry points on first
    # use; pumpflix uses none, and the scan costs a noticeable part of a short command.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "1")
    _scrub_uncaught_tracebacks()
    _hold_closed_stdout()
    from pumpflix_cli.errors import OutputError, Terminated

    signal.signal(signal.SIGTERM, _raise_terminated(Terminated))
    from pumpflix_cli.streams import ReaderStopped, guard_stdout

    # Every writer (ours, Typer's help, --version) goes through the guard: a reader that
    # stopped early ends quietly, a write that fails is one line naming stdout (exit 74).
    sys.stdout = guard_stdout(sys.stdout)
    from pumpflix_cli.cli.app import app

    code = 0
    try:
        try:
            app(prog_name="pumpflix")
            code = 0
        except SystemExit as exc:
            code = _exit_code(exc.code)
        # Everything was closed by the command (engines, clients, worker pools, temp
        # files); skip the interpreter's teardown of every loaded module, which a cron job
        # or a shell completion would otherwise wait for. os._exit does not flush.
        sys.stdout.flush()
    except ReaderStopped:
        code = 0
    except OutputError as exc:
        with contextlib.suppress(OSError, ValueError):
            print(f"error: {exc.message}", file=sys.stderr)
        code = code or int(exc.exit_code)
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    os._exit(code)


def _scrub_uncaught_tracebacks() -> None:
    """A traceback Python prints itself (an exception that escaped the error edge, or one
    in a thread) goes through the same scrubbing as ours: messages cut to their primary
    line, secrets masked."""
    import threading

    from pumpflix_cli.redact import format_exception

    def print_exception(_kind: object, exc: BaseException, _tb: object) -> None:
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write(format_exception(exc))

    def print_thread_exception(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is None or isinstance(args.exc_value, SystemExit):
            return
        name = args.thread.name if args.thread is not None else "?"
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write(f"Exception in thread {name}:\n{format_exception(args.exc_value)}")

    sys.excepthook = print_exception
    threading.excepthook = print_thread_exception


def _hold_closed_stdout() -> None:
    """With stdout closed (``>&-``) the next file opened would get descriptor 1 and
    anything printed would land in it (the SQLite database, say): hold descriptor 1 with
    /dev/null, and leave ``sys.stdout`` as None: the guard makes a write to it an error
    naming stdout."""
    try:
        os.fstat(1)
    except OSError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        if devnull != 1:
            os.dup2(devnull, 1)
            os.close(devnull)
        sys.stdout = None


def _raise_terminated(terminated: type[BaseException]) -> Callable[[int, FrameType | None], None]:
    """SIGTERM as an exception in the main thread: the command unwinds (its transaction
    rolls back, its worker processes stop) and ends with exit 143, instead of vanishing."""

    def handler(_signum: int, _frame: FrameType | None) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends us at once
        terminated.requested = True  # type: ignore[attr-defined]
        raise terminated()

    return handler


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


if __name__ == "__main__":
    main()
