"""Entry point of the ``pumpflix`` console script and ``python -m pumpflix_cli``."""

from __future__ import annotations


def main() -> None:
    from pumpflix_cli.cli.app import app

    app(prog_name="pumpflix")


if __name__ == "__main__":
    main()
