"""The errors a run reports to its user in one line, with the exit status each one means.

At the bottom floor so that every layer raises the same classes and the CLI maps them once:
2 for a usage or configuration error, 3 when a source or the results database could not be
read or written after retries (contract §5). Messages are Vietnamese, one line, credentials masked.
"""

from __future__ import annotations

EXIT_OK, EXIT_FIX, EXIT_USAGE, EXIT_SOURCE = 0, 1, 2, 3


class DvsyncError(Exception):
    """A known, user-facing failure: one line, no traceback."""

    exit_code = EXIT_SOURCE


class UsageError(DvsyncError, ValueError):
    """A usage or configuration error (option, setting, missing folder): exit status 2."""

    exit_code = EXIT_USAGE


class MappingError(UsageError):
    """The mapping file or the source's shape is wrong (missing tables/columns): exit status 2."""


class SourceConfigError(MappingError):
    """The source URL or connection string itself is unusable (bad scheme, unknown dialect)."""


class RunLocked(UsageError):
    """Another run holds the results database's run lock past the wait: exit status 2."""


class SourceUnavailable(DvsyncError):
    """The central database could not be reached or read (after retries): exit status 3."""

    exit_code = EXIT_SOURCE


class ResultsUnavailable(DvsyncError):
    """The results database could not be reached or written (after retries): exit status 3."""

    exit_code = EXIT_SOURCE


class OutputError(DvsyncError):
    """The outputs could not be written (full disk, permissions); the published set is intact: 3."""

    exit_code = EXIT_SOURCE
