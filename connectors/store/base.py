"""The results database's connection: engine, migrations, the write lock, reading sessions.

One SQLAlchemy URL (``sqlite:///…`` by default, ``postgresql+psycopg://…`` too). The schema is
created and upgraded by the Alembic migrations shipped in ``connectors/migrations`` (run
programmatically by :meth:`StoreBase.migrate`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url

from connectors.store._sql import _arrow_frame, _frame

log = logging.getLogger("connectors.store")

# The migrations stay where they always were: connectors/migrations (package data of connectors).
MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"
VERSION_TABLE = "dvsync_schema_version"  # not "alembic_version": the database may be shared

_FILE_LOCKS: dict[str, threading.RLock] = {}
_FILE_LOCKS_GUARD = threading.Lock()


class StoreBase:
    """The connection shared by the sync store and the findings history (``ResultsStore``).

    ``url``: ``sqlite:///path`` or ``postgresql+psycopg://…``. On PostgreSQL the tables live in
    ``schema`` (argument, or ``?schema=`` in the URL; default: the server's search_path).
    """

    def __init__(self, url: str, schema: str | None = None, engine: Engine | None = None):
        parsed = make_url(url)
        query = dict(parsed.query)
        schema = schema or query.pop("schema", None)
        if isinstance(schema, tuple):
            schema = schema[0]
        parsed = parsed.set(query=query)
        self.schema: str | None = schema if parsed.get_backend_name() == "postgresql" else None
        self.url = parsed
        if engine is None:
            kwargs: dict[str, Any] = {}
            if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
                kwargs["connect_args"] = {"timeout": 120}  # wait for another run's write, not fail
            if self.schema:
                if not self.schema.replace("_", "").isalnum():
                    raise ValueError(f"invalid schema name: {self.schema!r}")
                kwargs["connect_args"] = {"options": f"-csearch_path={self.schema}"}
            engine = sa.create_engine(parsed, **kwargs)
        self.engine = engine
        self.is_pg = engine.dialect.name == "postgresql"

    # -- schema ----------------------------------------------------------------------------------
    def alembic_config(self):
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.set_main_option("version_table", VERSION_TABLE)
        return cfg

    def migrate(self, revision: str = "head") -> None:
        """Create or upgrade the schema in place (Alembic, one transaction on PostgreSQL)."""
        from alembic import command

        cfg = self.alembic_config()
        with self._file_guard(), self.engine.begin() as conn:
            if self.is_pg:
                # Serialise concurrent migrations (two flows starting at once).
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(727274)"))
                if self.schema:
                    conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)

    def revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
            return ctx.get_current_revision()

    def dispose(self) -> None:
        self.engine.dispose()

    def _analyze(self, conn: Connection, grown: dict[str, int]) -> None:
        """Refresh the planner statistics of the tables that grew by a tenth or more (PostgreSQL).

        Without them, right after the first load, PostgreSQL plans the read-back joins as nested
        loops over the whole period (minutes instead of a second); autovacuum comes too late."""
        if not self.is_pg:
            return
        names = [t for t, n in grown.items() if n]
        if not names:
            return
        stale = [
            name
            for name, tuples in conn.execute(
                sa.text(
                    "SELECT c.relname, c.reltuples FROM pg_class c "
                    "WHERE c.oid = ANY(CAST(:oids AS regclass[]))"
                ),
                {"oids": names},
            ).all()
            if tuples < 0 or grown[name] * 10 >= tuples
        ]
        if stale:
            conn.execute(sa.text("ANALYZE " + ", ".join(f'"{t}"' for t in sorted(stale))))

    def _lock(self, conn: Connection) -> None:
        if self.is_pg:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(727275)"))

    # -- sync store: reading ---------------------------------------------------------------------
    @contextmanager
    def _reading(self) -> Iterator[Callable[..., pd.DataFrame]]:
        """``read(select, types)`` -> DataFrame with dvsync's dtypes (see ``_frame``).

        On SQLite and PostgreSQL the rows go straight from the database into Arrow columns (ADBC),
        then into pandas column by column: no Python object per value (millions of rows a
        night). Anything ADBC cannot read falls back to SQLAlchemy."""
        with self._file_guard():
            yield from self._reading_session()

    def _reading_session(self) -> Iterator[Callable[..., pd.DataFrame]]:
        adbc = self._adbc_connect()
        fallback: Connection | None = None

        def read(stmt: sa.Select, types: dict[str, str] | None = None) -> pd.DataFrame:
            nonlocal adbc, fallback
            if adbc is not None:
                sql = str(stmt.compile(dialect=self.engine.dialect, compile_kwargs={"literal_binds": True}))
                try:
                    with adbc.cursor() as cur:
                        if not self.is_pg:
                            # SQLite types are inferred from one batch: the whole result, sized to
                            # it (the driver reserves the batch's buffers up front: a fixed huge
                            # batch left terabytes of address space that made fork() fail).
                            cur.execute(f"SELECT count(*) FROM ({sql})")
                            rows = cur.fetchall()[0][0]
                            cur.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(rows + 1)})
                        cur.execute(sql)
                        table = cur.fetch_arrow_table()
                    return _arrow_frame(table, types)
                except Exception as exc:  # noqa: BLE001 - read again through SQLAlchemy
                    log.debug("ADBC read failed (%s); reading through SQLAlchemy", exc)
            if fallback is None:
                fallback = self.engine.connect()
            return _frame(fallback.execute(stmt), types)

        try:
            yield read
        finally:
            if adbc is not None:
                adbc.close()
            if fallback is not None:
                fallback.close()

    def _file_guard(self) -> AbstractContextManager:
        """In-process lock of a SQLite file, held by every write transaction and every ADBC read.

        ADBC's SQLite is a second copy of the library in the process: POSIX locks are per
        process, so it neither sees the sqlite3 module's locks nor keeps them when it closes its
        file. Reads and writes of one file by this process therefore never overlap (another
        process is still excluded by the file locks). Never switch such a file to WAL."""
        database = self.url.database if self.engine.dialect.name == "sqlite" else None
        if not database or database == ":memory:":
            return nullcontext()
        key = str(Path(database).resolve())
        with _FILE_LOCKS_GUARD:
            lock = _FILE_LOCKS.setdefault(key, threading.RLock())
        return lock

    def _adbc_connect(self) -> Any:
        """An ADBC connection to the same database (SQLite file or PostgreSQL), or None."""
        url = self.url
        try:
            if self.engine.dialect.name == "sqlite":
                database = url.database
                if not database or database == ":memory:" or database.startswith("file:") or url.query:
                    return None
                path = Path(database)
                if not path.is_file():
                    return None
                import adbc_driver_sqlite.dbapi

                conn = adbc_driver_sqlite.dbapi.connect(str(path.resolve()))
                with conn.cursor() as cur:  # wait for another run's write, as the engine does
                    cur.execute("PRAGMA busy_timeout = 120000")
                    cur.fetchall()
                return conn
            if self.is_pg:
                import adbc_driver_postgresql.dbapi

                query = dict(url.query)
                if self.schema:
                    query["options"] = f"-csearch_path={self.schema}"
                uri = url.set(drivername="postgresql", query=query).render_as_string(hide_password=False)
                return adbc_driver_postgresql.dbapi.connect(uri)
        except Exception as exc:  # noqa: BLE001 - driver missing or refused: SQLAlchemy reads
            log.debug("no ADBC connection (%s); reading through SQLAlchemy", exc)
        return None
