"""Read the central member database (software 3.0) into contract-named frames.

Sources (contract §1):
- any SQLAlchemy URL: ``mssql+pyodbc://`` in production, ``postgresql+psycopg://``, ``sqlite:///``
  (``sqlalchemy_reader``; a SQLite file is read column-wise through ADBC: ``sqlite_arrow``);
- ``odbc:<connection string>``: pyodbc directly, with plain ANSI SELECTs (``odbc``), because
  SQLAlchemy has no PostgreSQL dialect over pyodbc and production may hand out only an ODBC DSN.

One module per engine, all on one base (``base``: mapping, SQL, the Reader interface, chunks to
Arrow, credentials masking); ``extract`` opens one read-only snapshot (REPEATABLE READ on
PostgreSQL, SNAPSHOT on SQL Server, one deferred transaction on SQLite) and reads every table in
chunks turned into Arrow columns at once. dvsync never writes here.
"""

from connectors.central.base import (
    ENV_RETRIES,
    ENV_RETRY_DELAY,
    ENV_SECRET,
    ENV_URL,
    MSSQL_DRIVER,
    MSSQL_FALLBACK,
    MSSQL_SNAPSHOT_ALLOWED,
    ODBC_PREFIX,
    Mapping,
    Reader,
    TableMap,
    arrow_to_frame,
    build_select,
    chunk_to_arrow,
    default_mapping,
    load_mapping,
    log,
    probe_sql,
    redact,
    snapshot_statements,
)
from connectors.central.extract import TableSink, iter_table, open_snapshot, read_central, resolve_source
from connectors.central.sqlalchemy_reader import make_engine
from schemas.errors import MappingError, SourceConfigError, SourceUnavailable

__all__ = [
    "ENV_RETRIES",
    "ENV_RETRY_DELAY",
    "ENV_SECRET",
    "ENV_URL",
    "MSSQL_DRIVER",
    "MSSQL_FALLBACK",
    "MSSQL_SNAPSHOT_ALLOWED",
    "ODBC_PREFIX",
    "Mapping",
    "MappingError",
    "Reader",
    "SourceConfigError",
    "SourceUnavailable",
    "TableMap",
    "TableSink",
    "arrow_to_frame",
    "build_select",
    "chunk_to_arrow",
    "default_mapping",
    "iter_table",
    "load_mapping",
    "log",
    "make_engine",
    "open_snapshot",
    "probe_sql",
    "read_central",
    "redact",
    "resolve_source",
    "snapshot_statements",
]
