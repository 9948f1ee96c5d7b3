"""Reading Linux's /proc for the tests that kill a running pumpflix: whose children are
alive, and waiting (with a generous cap, never a deadline the assertion depends on)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

# A process is known by its pid and its start time, so a reused pid is not mistaken
# for the process that had it.
Process = tuple[int, int]


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, parent pid, start time) of ``pid``, or None when there is no such process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    fields = text[text.rindex(")") + 2 :].split()  # the command name may hold spaces
    return fields[0], int(fields[1]), int(fields[19])


def children(parent: int) -> set[Process]:
    """The living processes whose parent is ``parent``."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = _stat(int(entry.name))
        if stat is not None and stat[1] == parent and stat[0] not in "ZX":
            found.add((int(entry.name), stat[2]))
    return found


def alive(process: Process) -> bool:
    """Still running: a zombie waiting for a parent that does not reap is gone too."""
    pid, started = process
    stat = _stat(pid)
    return stat is not None and stat[0] not in "ZX" and stat[2] == started


def wait_until(condition: Callable[[], bool], cap: float = 120.0) -> bool:
    """Poll ``condition`` until it holds or ``cap`` seconds have passed; say which."""
    end = time.monotonic() + cap
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(0.02)
    return True
