"""Entry point of the ``pumpflix`` console script and ``python -m pumpflix_cli``."""

from __future__ import annotations

import contextlib
import os
import sys


def main() -> None:
    # pydantic looks for plugins through every installed package's entry points on first
    # use; pumpflix uses none, and the scan costs a noticeable part of a short command.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "1")
    _hold_closed_stdout()
    from pumpflix_cli.cli.app import app

    try:
        app(prog_name="pumpflix")
        code = 0
    except SystemExit as exc:
        code = _exit_code(exc.code)
    # Everything was closed by the command (engines, clients, worker pools, temp files);
    # skip the interpreter's teardown of every loaded module, which a cron job or a
    # shell completion would otherwise wait for.
    code = _flush_stdout(code)
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    os._exit(code)


def _hold_closed_stdout() -> None:
    """With stdout closed (``>&-``) the next file opened would get descriptor 1 and
    anything printed would land in it (the SQLite database, say): hold descriptor 1 with
    /dev/null, and leave ``sys.stdout`` as None so a write to it is an error naming
    stdout."""
    try:
        os.fstat(1)
    except OSError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        if devnull != 1:
            os.dup2(devnull, 1)
            os.close(devnull)
        sys.stdout = None


def _flush_stdout(code: int) -> int:
    """Flush what is left for stdout (``os._exit`` will not): a reader that stopped early
    is not an error, a write that fails is one line naming stdout and exit 74 (unless the
    command failed already)."""
    if sys.stdout is None:
        return code
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        return code
    except (OSError, ValueError) as exc:
        from pumpflix_cli.exit_codes import ExitCode

        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "it is closed"
        print(f"error: could not write stdout: {reason}", file=sys.stderr)
        return code or int(ExitCode.IO_ERR)
    return code


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


if __name__ == "__main__":
    main()
