"""What the secret-leak tests share: real ways for a service to fail, and the search for
a secret (or a piece of one) in what pumpflix printed or stored."""

from __future__ import annotations

import socket
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, unquote_plus

# RFC 6761: a name under .invalid never resolves, and the resolver says so at once.
UNRESOLVABLE = "nohost.invalid"
FRAGMENT = 4  # a '/'-separated piece of a secret this long counts as the secret


def closed_port() -> int:
    """A loopback port nothing listens on (connections to it are refused)."""
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Refuse(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = b'{"message": "unauthorized"}'
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # the names http.server calls
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def do_PUT(self) -> None:
        self._answer()

    def do_DELETE(self) -> None:
        self._answer()

    def log_message(self, *_args: object) -> None:  # quiet
        pass


@contextmanager
def refusing_http_server() -> Iterator[int]:
    """A real HTTP server on loopback that answers 401 to every request, where n8n would
    be; yields its port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Refuse)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def forms(secret: str) -> set[str]:
    """Every form a secret may be written in, and its '/'-separated pieces that are long
    enough to give it away."""
    whole = {secret, unquote(secret), unquote_plus(secret)}
    whole |= {quote(form, safe="") for form in list(whole)}
    whole |= {repr(form)[1:-1] for form in list(whole)}
    pieces = {piece for form in whole for piece in form.split("/") if len(piece) >= FRAGMENT}
    return {form for form in whole | pieces if len(form) >= FRAGMENT}


def leaked(text: str, secrets: Iterable[str]) -> list[str]:
    """The forms of ``secrets`` that ``text`` holds."""
    return sorted(form for secret in secrets for form in forms(secret) if form in text)


def database_rows(database: str | Path) -> str:
    """Every row of every table of a PostgreSQL database (a URL) or a SQLite file (a
    path), as text."""
    if isinstance(database, Path):
        if not database.exists():
            return ""
        with closing(sqlite3.connect(database)) as conn:
            tables = [
                row[0]
                for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            ]
            return "\n".join(
                repr(row) for table in tables for row in conn.execute(f'SELECT * FROM "{table}"')
            )
    import psycopg

    with psycopg.connect(database) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
            )
        ]
        return "\n".join(
            str(row[0])
            for table in tables
            for row in conn.execute(f'SELECT t::text FROM "{table}" t')
        )
