"""Entry point of the ``pumpflix`` console script and ``python -m pumpflix_cli``."""

from __future__ import annotations

import os
import sys


def main() -> None:
    # pydantic looks for plugins through every installed package's entry points on first
    # use; pumpflix uses none, and the scan costs a noticeable part of a short command.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "1")
    from pumpflix_cli.cli.app import app

    try:
        app(prog_name="pumpflix")
        code = 0
    except SystemExit as exc:
        code = _exit_code(exc.code)
    # Everything was closed by the command (engines, clients, worker pools, temp files);
    # skip the interpreter's teardown of every loaded module, which a cron job or a
    # shell completion would otherwise wait for.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


if __name__ == "__main__":
    main()
