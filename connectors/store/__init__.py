"""The results database: findings history, runs, and the sync store of cell submissions.

One SQLAlchemy URL (``sqlite:///…`` by default, ``postgresql+psycopg://…`` too); tables in
``docs/store.md``. Every public method that writes does so in one transaction: a run that fails
half-way leaves the database as it was.

- ``_sql``: column types, bulk insert, select, result frames;
- ``tables``: the tables (``METADATA``);
- ``base``: engine, migrations, the write lock, reading sessions;
- ``submissions``: the sync store (workbooks, versions, quarantine, coverage);
- ``history``: the findings history (runs, findings, events); the decision is ``rules.lifecycle``.
"""

from __future__ import annotations

from connectors.store._sql import _chunks, _insert, _json, _to_date
from connectors.store.base import MIGRATIONS, VERSION_TABLE
from connectors.store.history import HistoryStore, _scope
from connectors.store.submissions import SubmissionStore
from connectors.store.tables import (
    _ID,
    EVENTS,
    FINDINGS,
    HISTORY_TABLES,
    METADATA,
    QUARANTINE,
    RUNS,
    SUB,
    WORKBOOKS,
)

__all__ = [
    "EVENTS",
    "FINDINGS",
    "HISTORY_TABLES",
    "METADATA",
    "MIGRATIONS",
    "QUARANTINE",
    "RUNS",
    "SUB",
    "VERSION_TABLE",
    "WORKBOOKS",
    "_ID",
    "ResultsStore",
    "_chunks",
    "_insert",
    "_json",
    "_scope",
    "_to_date",
]


class ResultsStore(SubmissionStore, HistoryStore):
    """Findings history, runs and the sync store in one SQL database.

    ``url``: ``sqlite:///path`` or ``postgresql+psycopg://…``. On PostgreSQL the tables live in
    ``schema`` (argument, or ``?schema=`` in the URL; default: the server's search_path).
    """
