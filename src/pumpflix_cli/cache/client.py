"""Connecting to Redis (one server, TLS or a Cluster) with short timeouts, and the
translation of redis-py's errors into the exit-code contract."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import redis
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.retry import Retry

from pumpflix_cli.errors import (
    CredentialsRejectedError,
    ServiceTimeoutError,
    ServiceUnavailableError,
)
from pumpflix_cli.redact import error_text, mask_url

if TYPE_CHECKING:
    from pumpflix_cli.config import Settings

SERVICE = "Redis"
RedisClient = redis.Redis | RedisCluster


@dataclass(frozen=True)
class RedisInfo:
    version: str
    latency_ms: float
    cluster: bool


def connect(settings: Settings) -> RedisClient:
    """A client for ``REDIS_URL``; nothing is sent until the first command."""
    if settings.redis_url is None:
        raise ServiceUnavailableError(
            SERVICE, "not configured", hint="set REDIS_URL (e.g. redis://127.0.0.1:6379/0)"
        )
    options: dict[str, Any] = {
        "socket_connect_timeout": settings.redis_timeout,
        "socket_timeout": settings.redis_timeout,
        "decode_responses": False,
        # redis-py retries ten times with backoff by default: a slow or stopped Redis
        # would hold a read for many timeouts. One immediate retry of a dropped
        # connection, none of a timeout: the caller falls back to the database instead.
        "retry": _retry(),
    }
    if settings.redis_cluster:
        with translate_errors(settings.redis_url):  # a Cluster client connects at once
            return RedisCluster.from_url(settings.redis_url, **options)
    return redis.Redis.from_url(settings.redis_url, health_check_interval=0, **options)


def _retry() -> Retry:
    return Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,))


@contextmanager
def translate_errors(url: str) -> Iterator[None]:
    """redis-py errors raised inside the block become :class:`ServiceUnavailableError`."""
    where = mask_url(url)
    try:
        yield
    except redis.AuthenticationError as exc:
        raise CredentialsRejectedError(
            SERVICE, f"the server rejected our credentials ({where})", hint="check REDIS_URL"
        ) from exc
    except redis.TimeoutError as exc:
        raise ServiceTimeoutError(SERVICE, f"timed out ({where}): {error_text(exc)}") from exc
    except redis.exceptions.AskError as exc:  # MOVED / ASK: a Cluster node, spoken to as one
        raise ServiceUnavailableError(
            SERVICE,
            f"{where} is a node of a Redis Cluster",
            hint="set PUMPFLIX_REDIS_CLUSTER=1",
        ) from exc
    except (redis.RedisError, redis.exceptions.RedisClusterException) as exc:
        raise ServiceUnavailableError(
            SERVICE,
            f"cannot use the cache ({where}): {error_text(exc)}",
            hint="is Redis running and REDIS_URL right? pumpflix doctor checks it",
        ) from exc


def server_info(client: RedisClient, url: str) -> RedisInfo:
    with translate_errors(url):
        started = time.perf_counter()
        client.ping()
        latency = (time.perf_counter() - started) * 1000
        info: Any = client.info("server")
    cluster = isinstance(client, RedisCluster)
    if cluster:  # one entry per node: report the first
        info = next(iter(info.values())) if info and "redis_version" not in info else info
    return RedisInfo(
        version=str(info.get("redis_version", "?")), latency_ms=round(latency, 2), cluster=cluster
    )
