"""Running pumpflix where a folder (or one file) cannot be written, for real.

The suite runs as root, and root writes through ``chmod``. An unprivileged user cannot
run this machine's interpreter (it lives under ``/root``, which is 0700), so the folder
is made read-only the way an operator's read-only volume is: a read-only bind mount of
it over itself, in a mount namespace of the pumpflix process alone (``unshare
--mount``): writes there fail with EROFS whoever the process runs as, and nothing
outside that process sees the mount. Where namespaces are not allowed the tests skip,
saying so."""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from tests.helpers import PUMPFLIX, subprocess_env

# Bind each path over itself read-only, then run the command (in the new namespace).
_SCRIPT = """
count=$1; shift
while [ "$count" -gt 0 ]; do
  mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" || exit 125
  shift; count=$((count - 1))
done
exec "$@"
"""


@functools.cache
def unavailable() -> str | None:
    """Why read-only mounts cannot be made here, or None when they can."""
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        return "unshare(1) and mount(8) are needed to make a folder read-only for real"
    probe = Path("/tmp")
    result = subprocess.run(
        ["unshare", "--mount", "sh", "-c", _SCRIPT, "sh", "1", str(probe), "true"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if result.returncode != 0:
        return f"this machine refuses a private read-only bind mount: {result.stderr.strip()}"
    return None


def run_read_only(
    read_only: Sequence[Path], args: Sequence[str], settings: Mapping[str, str]
) -> subprocess.CompletedProcess[str]:
    """``pumpflix ARGS`` with ``settings``, where every path of ``read_only`` (a folder or
    a file) cannot be written."""
    reason = unavailable()
    if reason is not None:
        pytest.skip(reason)
    paths = [str(path) for path in read_only]
    return subprocess.run(
        ["unshare", "--mount", "sh", "-c", _SCRIPT, "sh", str(len(paths)), *paths, PUMPFLIX, *args],
        env=subprocess_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )
