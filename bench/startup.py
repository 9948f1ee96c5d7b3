"""`pumpflix --help` against a one-file Typer app with the same five groups (SPEC §8).

Both run as fresh processes, interleaved, the same number of times; the figure is the
ratio of their medians and the limit is 1.5. Exit 1 when the limit is exceeded.

    .venv/bin/python bench/startup.py [--runs 20]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LIMIT = 1.5

BARE_APP = '''
import typer

app = typer.Typer(help="Bare Typer app with the same five groups.")
for group in ("templates", "instances", "cache", "n8n", "db"):
    sub = typer.Typer(help=f"The {group} group.")

    @sub.command()
    def placeholder() -> None:
        """A command."""

    app.add_typer(sub, name=group)

if __name__ == "__main__":
    app()
'''


def _time(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    script = Path(sys.executable).with_name("pumpflix")
    with tempfile.TemporaryDirectory() as folder:
        bare = Path(folder) / "bare.py"
        bare.write_text(BARE_APP)
        ours_cmd = [str(script), "--help"]
        bare_cmd = [sys.executable, str(bare), "--help"]
        for command in (ours_cmd, bare_cmd):  # warm the file cache and .pyc files
            _time(command)
        ours, baseline = [], []
        for _ in range(args.runs):
            ours.append(_time(ours_cmd))
            baseline.append(_time(bare_cmd))
    ours_ms = statistics.median(ours) * 1000
    bare_ms = statistics.median(baseline) * 1000
    ratio = ours_ms / bare_ms
    verdict = "ok" if ratio <= LIMIT else "TOO SLOW"
    print(f"pumpflix --help: {ours_ms:.0f} ms (median of {args.runs})")
    print(f"bare Typer app --help: {bare_ms:.0f} ms (median of {args.runs})")
    print(f"ratio: {ratio:.2f} (limit {LIMIT}) {verdict}")
    return 0 if ratio <= LIMIT else 1


if __name__ == "__main__":
    sys.exit(main())
