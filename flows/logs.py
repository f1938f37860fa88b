"""Prefect's log handlers, quieted: a known fault is one line, never a traceback.

Prefect logs a failing flow's or task's exception with its stack trace (on the console and in
the run's logs). A user-facing fault (``schemas.errors.DvsyncError``: a bad setting, an
unreachable source) is already one line that says what to do; any other exception keeps its
message but loses the trace on the console unless ``DVSYNC_DEBUG=1``.
"""

from __future__ import annotations

import logging
import os

from schemas.errors import DvsyncError

_LOGGERS = ("", "prefect", "prefect.flow_runs", "prefect.task_runs", "prefect.engine")


class NoTraceback(logging.Filter):
    def __init__(self, everything: bool) -> None:
        super().__init__()
        self.everything = everything

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and (self.everything or isinstance(exc, DvsyncError)):
            record.exc_info = None
            record.exc_text = None
            record.msg, record.args = f"{type(exc).__name__}: {exc}", ()
        return True


def quiet_known_errors(everything: bool | None = None) -> None:
    """Install the filter on every handler of Prefect's loggers (idempotent)."""
    if everything is None:
        everything = os.environ.get("DVSYNC_DEBUG", "") not in ("1", "true")
    for name in _LOGGERS:
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, NoTraceback) for f in handler.filters):
                handler.addFilter(NoTraceback(everything))
