"""Prefect's log handlers, quieted: a known fault is one line, never a traceback.

Prefect logs a failing flow's or task's exception with its stack trace (on the console and in
the run's logs). A user-facing fault (``schemas.errors.DvsyncError``: a bad setting, an
unreachable source) is already one line that says what to do; any other exception keeps its
message but loses the trace unless ``DVSYNC_DEBUG=1``.

Done in each handler's formatter, not in a filter: a filter would change the record that every
other handler (a test's capture, the masking of personal data) sees too. The line is masked.
"""

from __future__ import annotations

import logging

from connectors.publish.artifacts import mask_personal
from schemas.errors import DvsyncError
from schemas.settings import settings

_LOGGERS = ("", "prefect", "prefect.flow_runs", "prefect.task_runs", "prefect.engine")


class OneLine(logging.Formatter):
    """Wraps a handler's formatter: a record with an exception becomes one masked line."""

    def __init__(self, inner: logging.Formatter | None, everything: bool) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()
        self.everything = everything

    def format(self, record: logging.LogRecord) -> str:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None or not (self.everything or isinstance(exc, DvsyncError)):
            return self.inner.format(record)
        one = logging.makeLogRecord(record.__dict__)
        one.exc_info, one.exc_text, one.stack_info = None, None, None
        text = " ".join(f"{type(exc).__name__}: {exc}".split())
        message = record.getMessage()
        one.msg = mask_personal(text if text in message else f"{message} — {text}")
        one.args = ()
        return self.inner.format(one)


def quiet_known_errors(everything: bool | None = None) -> None:
    """Wrap the formatter of every handler of Prefect's loggers (idempotent)."""
    if everything is None:
        everything = not settings().debug
    for name in _LOGGERS:
        for handler in logging.getLogger(name).handlers:
            if not isinstance(handler.formatter, OneLine):
                handler.setFormatter(OneLine(handler.formatter, everything))


def set_inner_formatter(handler: logging.Handler, formatter: logging.Formatter) -> None:
    """Change how a handler formats, keeping the one-line wrapper if it has one."""
    if isinstance(handler.formatter, OneLine):
        handler.formatter.inner = formatter
    else:
        handler.setFormatter(formatter)
