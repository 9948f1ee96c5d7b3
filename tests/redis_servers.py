"""Private Redis servers for the cache tests that stop, slow down or reconfigure Redis:
one ``redis-server`` on a free loopback port (plain, TLS, or a node of a 3-master
Cluster), and a socket that accepts connections but never answers. The machine's shared
Redis is never touched by these."""

from __future__ import annotations

import contextlib
import random
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import redis

REDIS_SERVER = shutil.which("redis-server") or "redis-server"
REDIS_CLI = shutil.which("redis-cli") or "redis-cli"


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(*, cluster: bool = False) -> int:
    """A free loopback port; for a Cluster node one whose bus port (+10000) is free too."""
    if not cluster:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])
    while True:
        port = random.randrange(20000, 45000)
        if _bindable(port) and _bindable(port + 10000):
            return port


class RedisServer:
    """A ``redis-server`` of our own; ``stop()`` and ``start()`` keep its port."""

    def __init__(
        self,
        folder: Path,
        *options: str,
        tls: dict[str, str] | None = None,
        password: str | None = None,
    ) -> None:
        self.folder = folder
        self.password = password
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port(cluster="--cluster-enabled" in options)
        self.options = list(options)
        self.tls = tls
        self.process: subprocess.Popen[bytes] | None = None
        self.log = folder / "redis.log"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        ports = ["--port", str(self.port)]
        if self.tls is not None:
            ports = ["--port", "0", "--tls-port", str(self.port)]
            for name, value in self.tls.items():
                ports += [f"--{name}", value]
        return [
            REDIS_SERVER,
            *ports,
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.folder),
            "--logfile",
            str(self.log),
            *self.options,
            *(["--requirepass", self.password] if self.password else []),
        ]

    def client(self) -> redis.Redis:
        extra: dict[str, object] = {}
        if self.tls is not None:
            extra = {"ssl": True, "ssl_ca_certs": self.tls["tls-ca-cert-file"]}
        return redis.Redis(
            host="127.0.0.1",
            port=self.port,
            password=self.password,
            socket_timeout=2,
            **extra,  # type: ignore[arg-type]
        )

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited: {self.log_text()}")
            with contextlib.suppress(redis.RedisError, OSError):
                client = self.client()
                try:
                    if client.ping():
                        return
                finally:
                    client.close()
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not start: {self.log_text()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class RedisCluster:
    """Three masters on loopback, joined with ``redis-cli --cluster create``."""

    def __init__(self, folder: Path) -> None:
        self.nodes = [
            RedisServer(
                folder / f"node{i}",
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-node-timeout",
                "5000",
            )
            for i in range(3)
        ]

    @property
    def url(self) -> str:
        return self.nodes[0].url

    def start(self) -> None:
        for node in self.nodes:
            node.start()
        subprocess.run(
            [
                REDIS_CLI,
                "--cluster",
                "create",
                *(f"127.0.0.1:{node.port}" for node in self.nodes),
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if all(self._ready(node) for node in self.nodes):
                return
            time.sleep(0.1)
        raise RuntimeError("the Redis Cluster did not become ready")

    @staticmethod
    def _ready(node: RedisServer) -> bool:
        client = node.client()
        try:
            info = cast(Any, client).execute_command("CLUSTER", "INFO")
        finally:
            client.close()
        text = info.decode() if isinstance(info, bytes) else str(info)
        return "cluster_state:ok" in text

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


class SilentServer:
    """Accepts TCP connections and never answers: a Redis that hangs."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = int(self.sock.getsockname()[1])
        self.held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _accept(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.held.append(conn)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for conn in self.held:
            conn.close()
        self.sock.close()


# --- a server at its limits ---------------------------------------------------------


@contextlib.contextmanager
def running(folder: Path, *options: str) -> Iterator[RedisServer]:
    """A private ``redis-server`` for the block, stopped after it however it ends."""
    private = RedisServer(folder, *options)
    private.start()
    try:
        yield private
    finally:
        private.stop()


@contextlib.contextmanager
def admin_client(server: RedisServer) -> Iterator[redis.Redis]:
    """A client of ``server`` for the test itself (to fill it, to change its limits)."""
    client = server.client()
    try:
        yield client
    finally:
        client.close()


def exhaust(client: redis.Redis) -> None:
    """Fill Redis and put its limit under what it holds, with ``noeviction``: every write
    that may grow memory is refused from now on (checked), deleting still works."""
    client.config_set("maxmemory", 0)
    for part in range(40):  # in small values: a big one's query buffer is freed later
        client.set(f"ballast:{part}", b"x" * 100_000)
    used = int(client.info("memory")["used_memory"])
    client.config_set("maxmemory-policy", "noeviction")
    client.config_set("maxmemory", used - 1_000_000)
    try:
        client.set("probe", b"1")
    except redis.exceptions.OutOfMemoryError:
        return
    raise AssertionError("Redis still accepts writes")


def refuse_every_write(client: redis.Redis) -> None:
    """A primary that refuses every write, ``DEL`` included (no replica acknowledges)."""
    exhaust(client)
    client.config_set("min-replicas-to-write", 1)
    try:
        client.delete("ballast:0")
    except redis.exceptions.ResponseError as exc:
        assert "NOREPLICAS" in str(exc), exc
        return
    raise AssertionError("Redis still accepts DEL")


def relieve(client: redis.Redis) -> None:
    client.config_set("min-replicas-to-write", 0)
    client.config_set("maxmemory", 0)
