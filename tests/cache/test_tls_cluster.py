"""Scale past one Redis (SPEC §5): ``rediss://`` against a private TLS ``redis-server``
with a throwaway CA, and a real 3-master Redis Cluster on loopback, both started here and
torn down at the end. The cache's keys spread over the cluster's slots; a script or a
multi-key command touches a key and its side keys only, which share its slot."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pumpflix_cli.exit_codes import ExitCode
from tests.conftest import CliRun
from tests.factories import workflow, write
from tests.helpers import import_json, list_json, seed, show_json
from tests.redis_servers import RedisCluster, RedisServer

pytestmark = pytest.mark.usefixtures("backend")


def run_json(cli: CliRun, *args: str, code: int = 0) -> Any:
    result = cli(*args, "--json")
    assert result.exit_code == code, result.stderr
    return json.loads(result.stdout)


# --- TLS -------------------------------------------------------------------------------


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    folder = tmp_path_factory.mktemp("tls")
    subject = ("-subj", "/CN=pumpflix test CA")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", *subject,
             "-keyout", "ca.key", "-out", "ca.crt", cwd=folder)  # fmt: skip
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
             "-keyout", "server.key", "-out", "server.csr", cwd=folder)  # fmt: skip
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "1", "-extfile", "san.ext", "-out", "server.crt",
             cwd=folder)  # fmt: skip
    server = RedisServer(
        folder / "redis",
        tls={
            "tls-cert-file": str(folder / "server.crt"),
            "tls-key-file": str(folder / "server.key"),
            "tls-ca-cert-file": str(folder / "ca.crt"),
            "tls-auth-clients": "no",
        },
    )
    try:
        server.start()
    except RuntimeError as exc:
        if "TLS" in str(exc) or "tls" in str(exc):
            pytest.skip(f"this redis-server was built without TLS: {str(exc)[-200:]}")
        raise
    yield server
    server.stop()


@pytest.fixture
def tls_env(tls_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> str:
    ca = tls_server.tls["tls-ca-cert-file"] if tls_server.tls else ""
    url = f"rediss://127.0.0.1:{tls_server.port}/0?ssl_ca_certs={ca}"
    monkeypatch.setenv("REDIS_URL", url)
    monkeypatch.setenv("PUMPFLIX_CACHE_PREFIX", f"tls-{uuid.uuid4().hex[:8]}:")
    return url


def test_the_cache_works_over_tls(cli: CliRun, tmp_path: Path, tls_env: str) -> None:
    seed(cli, tmp_path / "u", "A", "B")
    assert run_json(cli, "cache", "warm")["warmed"] == 2
    assert [t["name"] for t in list_json(cli)] == ["A", "B"]
    assert show_json(cli, "A")["version"] == 1
    stats = run_json(cli, "cache", "stats")["byType"]["user"]
    assert stats["entries"] == 2
    assert stats["hits"] >= 2  # the list, then the show: both from the cache
    assert run_json(cli, "cache", "verify")["consistent"] is True
    assert run_json(cli, "cache", "flush", "--yes")["deleted"] > 0


def test_plain_redis_to_a_tls_port_is_refused_with_69(
    cli: CliRun, tls_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{tls_server.port}/0")
    monkeypatch.setenv("PUMPFLIX_REDIS_TIMEOUT", "0.5")
    result = cli("cache", "stats")
    assert result.exit_code in (ExitCode.UNAVAILABLE, ExitCode.TEMP_FAIL)
    assert result.stderr.startswith("error: Redis")


def test_an_unknown_certificate_authority_is_refused(
    cli: CliRun, tls_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", f"rediss://127.0.0.1:{tls_server.port}/0")
    result = cli("cache", "stats")
    assert result.exit_code == ExitCode.UNAVAILABLE
    assert "certificate" in result.stderr.lower()


# --- Cluster ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisCluster]:
    started = RedisCluster(tmp_path_factory.mktemp("cluster"))
    try:
        started.start()
        yield started
    finally:
        started.stop()


@pytest.fixture
def cluster_env(cluster: RedisCluster, monkeypatch: pytest.MonkeyPatch) -> str:
    prefix = f"cluster-{uuid.uuid4().hex[:8]}:"
    monkeypatch.setenv("REDIS_URL", cluster.url)
    monkeypatch.setenv("PUMPFLIX_REDIS_CLUSTER", "1")
    monkeypatch.setenv("PUMPFLIX_CACHE_PREFIX", prefix)
    return prefix


def _keys_by_node(cluster: RedisCluster, prefix: str) -> list[set[str]]:
    """Each node's keys under ``prefix``, side keys (``{<prefix>…}:rev``) included."""
    found = []
    for node in cluster.nodes:
        client = node.client()
        keys = {bytes(k).decode() for k in client.scan_iter(match=prefix + "*")}
        keys |= {bytes(k).decode() for k in client.scan_iter(match="{" + prefix + "*")}
        found.append(keys)
        client.close()
    return found


def _keys_per_node(cluster: RedisCluster, prefix: str) -> list[int]:
    return [len(keys) for keys in _keys_by_node(cluster, prefix)]


def test_warm_list_show_verify_and_flush_on_a_cluster(
    cli: CliRun, tmp_path: Path, cluster: RedisCluster, cluster_env: str
) -> None:
    names = [f"Template {i:02}" for i in range(12)]
    seed(cli, tmp_path / "u", *names)
    seed(cli, tmp_path / "p", "Shared report", source_type="prebuilt")
    report = run_json(cli, "cache", "warm")
    assert report["byType"] == {"prebuilt": 1, "user": 12}
    per_node = _keys_per_node(cluster, cluster_env)
    assert sum(1 for n in per_node if n) >= 2, per_node  # spread over the slots
    by_node = _keys_by_node(cluster, cluster_env)
    everywhere = set().union(*by_node)
    assert f"{cluster_env}templates:user" in everywhere
    for keys in by_node:  # a side key lives on the node of the key it guards
        for key in (k for k in keys if k.startswith("{")):
            guarded = key[1 : key.rindex("}")]
            assert guarded in keys or guarded not in everywhere, key

    listed = list_json(cli)
    assert [t["name"] for t in listed] == sorted([*names, "Shared report"])
    assert list_json(cli) == list_json(cli, "--no-cache")
    assert show_json(cli, "Template 03") == show_json(cli, "Template 03", "--no-cache")
    stats = run_json(cli, "cache", "stats")
    assert stats["byType"]["user"]["entries"] == 12
    assert stats["byType"]["user"]["hits"] >= 2
    assert stats["bytes"] > 0
    assert run_json(cli, "cache", "verify")["consistent"] is True
    assert run_json(cli, "cache", "flush", "--type", "user", "--yes")["deleted"] >= 12
    assert run_json(cli, "cache", "stats")["byType"]["prebuilt"]["entries"] == 1
    assert run_json(cli, "cache", "flush", "--yes")["deleted"] > 0
    assert sum(_keys_per_node(cluster, cluster_env)) == 0


def test_writes_and_invalidate_on_a_cluster_leave_no_stale_read(
    cli: CliRun, tmp_path: Path, cluster_env: str
) -> None:
    seed(cli, tmp_path / "u", "A", "B")
    run_json(cli, "cache", "warm")
    assert show_json(cli, "A")["version"] == 1
    write(tmp_path / "u", "0.json", workflow("A", text="changed"))
    code, _ = import_json(cli, str(tmp_path / "u"))
    assert code == 0
    assert show_json(cli, "A")["version"] == 2
    assert [t["version"] for t in list_json(cli)] == [2, 1]
    assert cli("templates", "invalidate", "--all").exit_code == 0
    assert [t["version"] for t in list_json(cli)] == [2, 1]
    assert cli("templates", "delete", "B", "--yes").exit_code == 0
    assert [t["name"] for t in list_json(cli)] == ["A"]
    assert run_json(cli, "cache", "verify")["consistent"] is True


def test_a_cluster_that_lost_its_scripts_gets_them_again(
    cli: CliRun, tmp_path: Path, cluster: RedisCluster, cluster_env: str
) -> None:
    seed(cli, tmp_path / "u", "A")
    run_json(cli, "cache", "warm")
    for node in cluster.nodes:
        client = node.client()
        client.script_flush()
        client.close()
    assert run_json(cli, "cache", "warm")["warmed"] == 1
    assert cli("templates", "invalidate", "A").exit_code == 0
    assert show_json(cli, "A")["name"] == "A"


def test_a_cluster_spoken_to_as_one_server_says_so(
    cli: CliRun,
    tmp_path: Path,
    cluster: RedisCluster,
    cluster_env: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    names = [f"T{i:02}" for i in range(12)]
    seed(cli, tmp_path / "u", *names)  # 14 keys: some land on another node than the first
    monkeypatch.delenv("PUMPFLIX_REDIS_CLUSTER")
    result = cli("cache", "warm")
    assert result.exit_code == ExitCode.UNAVAILABLE
    assert "PUMPFLIX_REDIS_CLUSTER=1" in result.stderr
    assert [t["name"] for t in list_json(cli)] == names  # reads fall back, right all the same
