"""The exit-code contract: one documented enum, the README's table mirrors it."""

from enum import IntEnum


class ExitCode(IntEnum):
    """Every way `pumpflix` can end. Scripts and CI jobs may rely on these numbers."""

    OK = 0
    FAILURE = 1  # the operation ran and failed (an execution failed, the cache is inconsistent)
    USAGE = 2  # bad flags or settings, a missing --var, an ambiguous reference
    NOT_FOUND = 3  # the named template, instance or workflow does not exist
    CONFLICT = 4  # the change collides with existing data
    PARTIAL = 5  # some items failed, the rest were done
    CACHE_STALE = 6  # written to the database, but the cache could not be invalidated
    DATA_ERR = 65  # the input data is invalid (EX_DATAERR)
    UNAVAILABLE = 69  # a service is unreachable or not configured (EX_UNAVAILABLE)
    IO_ERR = 74  # an output could not be written: stdout, a file or a folder (EX_IOERR)
    TEMP_FAIL = 75  # timed out; retrying later may succeed (EX_TEMPFAIL)
    NO_PERM = 77  # a service refused our credentials (EX_NOPERM)
    INTERRUPTED = 130  # stopped by Ctrl-C (SIGINT): 128 + 2, as shells report it
    TERMINATED = 143  # stopped by SIGTERM: 128 + 15; what was not committed is rolled back
