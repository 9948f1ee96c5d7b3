"""The worker processes that parse an import's files, and how they end.

They must never outlive the import, however it ends: a normal return, an exception, a
consumer that stops early, SIGTERM (the CLI turns it into an exception), or SIGKILL (no
code of the parent runs at all). The first cases stop the workers from the parent; for
SIGKILL each worker asks the Linux kernel to kill it when its parent dies
(``PR_SET_PDEATHSIG``), and checks that its parent is still the process that started it,
in case the parent died before that request was made.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent(parent: int) -> None:
    """Worker initializer: end when ``parent`` ends; leave signals to the parent."""
    # Ctrl-C reaches the whole process group: the parent handles it and stops us. The
    # parent's SIGTERM handler (inherited by fork) would raise in here instead of ending.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request above took effect
        os._exit(1)


@contextlib.contextmanager
def worker_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """A pool of ``workers`` forked processes (they inherit the loaded modules: no
    re-import), shut down on a normal exit and killed on any other."""
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=get_context("fork"),
        initializer=die_with_parent,
        initargs=(os.getpid(),),
    )
    try:
        yield pool
    except BaseException:
        _kill(pool)
        raise
    pool.shutdown(wait=True)


def _kill(pool: ProcessPoolExecutor) -> None:
    """Stop at once: cancel what is queued and kill the workers (``shutdown`` would wait
    for every queued file to be parsed)."""
    # The executor has no public way to stop its workers before Python 3.14.
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(OSError, ValueError):
            process.kill()
    for process in processes:
        with contextlib.suppress(OSError, ValueError, AssertionError):
            process.join(timeout=5)
