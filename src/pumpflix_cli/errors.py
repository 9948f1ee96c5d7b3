"""The one error type that reaches the CLI edge, and its kinds.

Services raise these; the CLI prints ``error: <message>`` and the hint, and exits with
``exit_code``. Messages are scrubbed of secrets at the edge as well, but raisers should
never put a secret into one in the first place.
"""

from __future__ import annotations

from typing import ClassVar

from pumpflix_cli.exit_codes import ExitCode


class PumpflixError(Exception):
    """An expected failure: printed as one line plus a hint, never as a traceback."""

    exit_code: ExitCode = ExitCode.FAILURE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that the command unwinds as on Ctrl-C: the
    open transaction rolls back, worker processes are stopped, then exit 143."""

    # Set by the SIGTERM handler. The exception it raises can land where Python ignores
    # exceptions (an at-fork hook as a worker process starts, a finaliser): long loops
    # call raise_if_requested so a swallowed SIGTERM still stops the command.
    requested: ClassVar[bool] = False

    @classmethod
    def raise_if_requested(cls) -> None:
        if cls.requested:
            raise cls()


class UsageError(PumpflixError):
    exit_code = ExitCode.USAGE


class ConfigError(UsageError):
    """A setting is malformed or unknown."""


class NotFoundError(PumpflixError):
    exit_code = ExitCode.NOT_FOUND


class ConflictError(PumpflixError):
    exit_code = ExitCode.CONFLICT


class CacheStaleError(PumpflixError):
    """A write committed to the database whose cache invalidation could not be applied:
    the cache may serve the old version until it is flushed or its TTL runs out."""

    exit_code = ExitCode.CACHE_STALE


class InvalidInputError(PumpflixError):
    exit_code = ExitCode.DATA_ERR


class OutputError(PumpflixError):
    """An output could not be written: stdout, or a file or folder (named by its path)."""

    exit_code = ExitCode.IO_ERR

    def __init__(self, target: str, reason: str, *, hint: str | None = None) -> None:
        super().__init__(f"could not write {target}: {reason}", hint=hint)
        self.target = target

    @classmethod
    def of(cls, target: str, exc: OSError) -> OutputError:
        """The error for an ``OSError`` raised while writing ``target``."""
        return cls(target, exc.strerror or type(exc).__name__)


class ServiceUnavailableError(PumpflixError):
    """A service (PostgreSQL, Redis, n8n) is not configured or cannot be reached."""

    exit_code = ExitCode.UNAVAILABLE

    def __init__(self, service: str, message: str, *, hint: str | None = None) -> None:
        super().__init__(f"{service}: {message}", hint=hint)
        self.service = service


def cache_not_configured() -> ServiceUnavailableError:
    """The one error of every command that needs the cache while REDIS_URL is unset."""
    return ServiceUnavailableError(
        "Redis",
        "the cache is not configured (REDIS_URL is not set)",
        hint="set REDIS_URL, e.g. redis://127.0.0.1:6379/0",
    )


class WriteContentionError(PumpflixError):
    """Another session held what a write needed (a lock wait timed out, a deadlock, a row
    written at the same moment): nothing was written, and trying again may succeed."""

    exit_code = ExitCode.TEMP_FAIL


class ServiceUnreachableError(ServiceUnavailableError):
    """The connection itself failed (refused, dropped): the service is gone, not just
    unhappy with one request."""


class ServiceTimeoutError(ServiceUnavailableError):
    exit_code = ExitCode.TEMP_FAIL


class CredentialsRejectedError(ServiceUnavailableError):
    exit_code = ExitCode.NO_PERM
