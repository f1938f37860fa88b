"""The results database: findings history, runs, and the sync store of cell submissions.

One SQLAlchemy URL (``sqlite:///…`` by default, ``postgresql+psycopg://…`` too). The schema is
created and upgraded by the Alembic migrations shipped in ``connectors/migrations`` (run
programmatically by :meth:`ResultsStore.migrate`). Tables are described in ``docs/store.md``.

Every public method that writes does so in one transaction: a run that fails half-way leaves
the database as it was.
"""

from __future__ import annotations

import io
import itertools
import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url

from schemas.contract import FINDING_COLUMNS, LINEAGE_COLUMNS, QUARANTINE_COLUMNS, SHEET_TABLES, SHEETS
from schemas.datasets import SubmissionData, WorkbookResult
from schemas.submission import BOOL_COLUMNS as SHEET_BOOL_COLUMNS
from schemas.submission import DATE_COLUMNS as SHEET_DATE_COLUMNS

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "dvsync_schema_version"  # not "alembic_version": the database may be shared
CHUNK = 5_000  # rows per executemany batch

# --- Column types of the submission tables (dvsync/datasets.py) -------------------------------
DATE_COLUMNS = {*SHEET_DATE_COLUMNS, "created_on"}  # created_on: the workbook's Ngày lập
BOOL_COLUMNS = SHEET_BOOL_COLUMNS
INT_COLUMNS = {"year", "category", "_row", "row"}
# Tables whose earlier periods of the year are read back (the year's activity, earlier transfers).
HISTORY_TABLES = ("activity", "transfers_out", "transfers_in")
SUB_TABLES: dict[str, str] = {name: f"sub_{name}" for name in SHEET_TABLES.values()}
_SHEET_COLUMNS: dict[str, list[str]] = {SHEET_TABLES[s]: list(cols.values()) for s, cols in SHEETS.items()}
BASE_COLUMNS = ["cell_code", "period", *LINEAGE_COLUMNS]
WORKBOOK_COLUMNS = ["cell_code", "period", "created_on", "secretary", "_source", "checksum", "superseded"]
HISTORY_COLUMNS = ["scope", *FINDING_COLUMNS, "ref", "last_seen", "resolved_on", "last_run_id"]
FINDING_DATES = ["as_of", "due_date", "first_seen", "last_seen", "resolved_on"]


def _sa_type(column: str) -> sa.types.TypeEngine:
    if column in DATE_COLUMNS:
        return sa.Date()
    if column in BOOL_COLUMNS:
        return sa.Boolean()
    if column in INT_COLUMNS:
        return sa.Integer()
    return sa.Text()


_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # INTEGER PRIMARY KEY = rowid on SQLite
METADATA = sa.MetaData()

RUNS = sa.Table(
    "runs",
    METADATA,
    sa.Column("scope", sa.Text, primary_key=True),  # "nightly", or "<mode>:<committee>"
    sa.Column("as_of", sa.Date, primary_key=True),
    sa.Column("run_id", sa.Text, nullable=False),
    sa.Column("mode", sa.Text),
    sa.Column("committee", sa.Text),
    sa.Column("period", sa.Text),
    sa.Column("started_at", sa.Text),
    sa.Column("finished_at", sa.Text),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("n_findings", sa.Integer, nullable=False),
    sa.Column("n_new", sa.Integer, nullable=False),
    sa.Column("n_open", sa.Integer, nullable=False),
    sa.Column("n_resolved", sa.Integer, nullable=False),
    sa.Column("counts", sa.Text),  # json {list_code: findings}
    sa.Column("inputs", sa.Text),  # json
    sa.Column("summary", sa.Text),  # json
)
FINDINGS = sa.Table(
    "findings",
    METADATA,
    sa.Column("scope", sa.Text, primary_key=True),
    sa.Column("finding_id", sa.Text, primary_key=True),
    *[
        sa.Column(c, sa.Date if c in FINDING_DATES else sa.Text)
        for c in FINDING_COLUMNS
        if c not in ("finding_id",)
    ],
    sa.Column("ref", sa.Text),
    sa.Column("last_seen", sa.Date),
    sa.Column("resolved_on", sa.Date),
    sa.Column("last_run_id", sa.Text),
    sa.Index("ix_findings_status", "scope", "status"),
    sa.Index("ix_findings_org", "org_code"),
)
EVENTS = sa.Table(
    "finding_events",
    METADATA,
    sa.Column("scope", sa.Text, primary_key=True),
    sa.Column("as_of", sa.Date, primary_key=True),
    sa.Column("finding_id", sa.Text, primary_key=True),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("first_seen", sa.Date, nullable=False),
    sa.Column("run_id", sa.Text, nullable=False),
    sa.Index("ix_finding_events_finding", "scope", "finding_id"),
)
WORKBOOKS = sa.Table(
    "sub_workbooks",
    METADATA,
    sa.Column("checksum", sa.Text, primary_key=True),
    sa.Column("file", sa.Text),
    sa.Column("cell_code", sa.Text),
    sa.Column("period", sa.Text),
    sa.Column("created_on", sa.Date),
    sa.Column("secretary", sa.Text),
    sa.Column("loaded_at", sa.Text, nullable=False),
    sa.Column("load_seq", sa.Integer, nullable=False),
    sa.Column("status", sa.Text, nullable=False),  # accepted / superseded / rejected
    sa.Column("superseded_by", sa.Text),
    sa.Column("error", sa.Text),
    sa.Column("rows_read", sa.Integer),
    sa.Column("rows_accepted", sa.Integer),
    sa.Column("rows_quarantined", sa.Integer),
    sa.Column("rows_detail", sa.Text),  # json of the per-sheet counts
    sa.Index("ix_sub_workbooks_cell_period", "cell_code", "period"),
    sa.Index("ix_sub_workbooks_period_status", "period", "status"),
)
SUB: dict[str, sa.Table] = {}
for _sheet, _cols in SHEETS.items():
    _name = SUB_TABLES[SHEET_TABLES[_sheet]]
    SUB[SHEET_TABLES[_sheet]] = sa.Table(
        _name,
        METADATA,
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("checksum", sa.Text, nullable=False),
        *[sa.Column(c, _sa_type(c)) for c in [*BASE_COLUMNS, *_cols.values()]],
        sa.Index(f"ix_{_name}_checksum", "checksum"),
        sa.Index(f"ix_{_name}_period_cell", "period", "cell_code"),
    )
QUARANTINE = sa.Table(
    "sub_quarantine",
    METADATA,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("checksum", sa.Text, nullable=False),
    sa.Column("cell_code", sa.Text),
    sa.Column("period", sa.Text),
    *[sa.Column(c, _sa_type(c)) for c in QUARANTINE_COLUMNS],
    # error: the row was rejected (or the file); warning: a field-level fault of an accepted row
    # (value blanked, ID disagreeing) or of the file (hidden sheet, unknown column); NULL = error.
    sa.Column("severity", sa.Text),
    sa.Index("ix_sub_quarantine_checksum", "checksum"),
)
VIEWS = ("register_roster", "register_coverage")


# --- value conversion ---------------------------------------------------------------------------
def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _to_date(value: Any) -> date | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    ts = pd.Timestamp(value)
    return None if pd.isna(ts) else ts.date()


def _py_column(series: pd.Series, kind: sa.types.TypeEngine, iso_dates: bool = False) -> list[Any]:
    """A column as Python objects the DBAPI accepts (None for missing); vectorised.

    Bad values (a date or number that does not parse) raise: nothing is stored half-right."""
    if isinstance(kind, sa.Date):
        if not pd.api.types.is_datetime64_any_dtype(series):
            series = pd.to_datetime(series.astype("object"), format="mixed")
        values = series.dt.strftime("%Y-%m-%d") if iso_dates else series.dt.date
        return values.astype("object").where(series.notna(), None).tolist()
    if isinstance(kind, sa.Boolean):
        return pd.array(series, dtype="boolean").to_numpy(dtype=object, na_value=None).tolist()
    if isinstance(kind, sa.Integer):
        return pd.array(series, dtype="Int64").to_numpy(dtype=object, na_value=None).tolist()
    return series.astype("string").to_numpy(dtype=object, na_value=None).tolist()


def _records(frame: pd.DataFrame, table: sa.Table) -> list[dict[str, Any]]:
    cols = [c for c in table.columns if c.name in frame.columns]
    values = [_py_column(frame[c.name], c.type) for c in cols]
    names = [c.name for c in cols]
    return [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]


def _arrow_column(values: Any, kind: sa.types.TypeEngine) -> pa.Array | pa.ChunkedArray:
    """A column as an Arrow array of the SQL type (date32, bool, int64, string); vectorised.

    Bad values (a date or number that does not parse) raise: nothing is stored half-right."""
    series = values if isinstance(values, pd.Series) else pd.Series(values, copy=False)
    if isinstance(kind, sa.Date):
        if not pd.api.types.is_datetime64_any_dtype(series.dtype):
            series = pd.to_datetime(series.astype("object"), format="mixed")
        if series.dt.tz is not None:  # the wall-clock date, as .dt.date gives it
            series = series.dt.tz_localize(None)
        return pa.array(series.dt.floor("D"), from_pandas=True).cast(pa.date32())
    if isinstance(kind, sa.Boolean):
        return pa.array(pd.array(series, dtype="boolean"))
    if isinstance(kind, sa.Integer):
        return pa.array(pd.array(series, dtype="Int64"))
    return pa.array(series.astype("string").array)


def _insert(conn: Connection, table: sa.Table, frame: pd.DataFrame) -> int:
    """Bulk insert of a frame (its columns that are columns of the table)."""
    return _insert_columns(conn, table, {c: frame[c] for c in frame.columns}, len(frame))


def _insert_columns(conn: Connection, table: sa.Table, data: dict[str, Any], n: int) -> int:
    """Bulk insert of ``n`` rows given column by column (Series or arrays of length ``n``).

    COPY (CSV written by Arrow) on PostgreSQL with psycopg; one executemany of plain tuples on
    SQLite. Both bypass SQLAlchemy's per-value processing and the rows are never built as
    Python objects column by column: the values are converted in bulk exactly as SQLAlchemy
    would (ISO text dates, 0/1 booleans on SQLite; DATE / BOOLEAN on PostgreSQL)."""
    cols = [c for c in table.columns if c.name in data]
    if not n or not cols:
        return 0
    dialect = conn.dialect
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(c.name) for c in cols)
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        arrow = pa.table([_arrow_column(data[c.name], c.type) for c in cols], names=[c.name for c in cols])
        buf = io.BytesIO()
        # Strings are always quoted, NULL is an unquoted empty field: COPY ... CSV tells them apart.
        pa_csv.write_csv(arrow, buf, pa_csv.WriteOptions(include_header=False))
        raw = conn.connection.driver_connection  # same connection, same transaction
        sql = f"COPY {quote(table.name)} ({names}) FROM STDIN (FORMAT csv)"
        with raw.cursor() as cur, cur.copy(sql) as copy:
            view = buf.getbuffer()
            for start in range(0, len(view), 1 << 20):
                copy.write(view[start : start + (1 << 20)])
            del view
    elif dialect.name == "sqlite":
        lists = []
        for c in cols:
            arr = _arrow_column(data[c.name], c.type)
            if isinstance(c.type, sa.Date):
                arr = arr.cast(pa.string())  # ISO YYYY-MM-DD text, as SQLAlchemy stores a date
            lists.append(arr.to_pylist())
        sql = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({', '.join('?' * len(cols))})"
        conn.exec_driver_sql(sql, list(zip(*lists, strict=True)))
    else:  # any other database: SQLAlchemy's own executemany
        frame = pd.DataFrame({c.name: data[c.name] for c in cols})
        for start in range(0, len(frame), CHUNK):
            conn.execute(table.insert(), _records(frame.iloc[start : start + CHUNK], table))
    return n


def _select(*columns: sa.Column | tuple[sa.Column, str]) -> sa.Select:
    """SELECT without SQLAlchemy's per-value result processing; _frame converts whole columns.

    A (column, name) pair selects the column under another name."""
    out = []
    for c in columns:
        col, name = c if isinstance(c, tuple) else (c, c.name)
        out.append(sa.type_coerce(col, sa.types.NullType()).label(name))
    return sa.select(*out)


def _frame(result: sa.CursorResult, types: dict[str, str] | None = None) -> pd.DataFrame:
    """A result as a DataFrame with dvsync's dtypes (string / datetime64 / boolean / Int64)."""
    return _frame_rows(result.fetchall(), list(result.keys()), types)


def _frame_rows(rows: list[Any], keys: list[str], types: dict[str, str] | None = None) -> pd.DataFrame:
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(keys)
    return pd.DataFrame(
        {
            col: _as_dtype(pd.Series(values, dtype="object"), (types or {}).get(col) or _kind(col))
            for col, values in zip(keys, columns, strict=True)
        },
        columns=keys,
    )


def _arrow_frame(table: pa.Table, types: dict[str, str] | None = None) -> pd.DataFrame:
    """An Arrow result as a DataFrame with the dtypes ``_frame`` gives (same values, same dtypes)."""
    keys = table.column_names
    return pd.DataFrame(
        {
            col: _arrow_as_dtype(table.column(i), (types or {}).get(col) or _kind(col))
            for i, col in enumerate(keys)
        },
        columns=keys,
    )


def _arrow_as_dtype(col: pa.ChunkedArray, kind: str) -> pd.Series:
    """One column of ``_arrow_frame``; a type it does not expect goes through ``_as_dtype``."""
    t = col.type
    empty = pa.types.is_null(t) or (col.null_count == len(col) and not pa.types.is_string(t))
    text = pa.types.is_string(t) or pa.types.is_large_string(t)
    try:
        if kind == "datetime" and (text or pa.types.is_date(t) or empty):
            # ISO text on SQLite (a value that is not a plain date fails the cast: slow path)
            dates = col.cast(pa.date32()) if not empty else pa.nulls(len(col), pa.date32())
            return pd.Series(dates.cast(pa.timestamp("ns")).to_numpy(), copy=False).astype("datetime64[ns]")
        if kind == "boolean" and (pa.types.is_integer(t) or pa.types.is_boolean(t) or empty):
            if pa.types.is_integer(t) and not pc.all(pc.is_in(col.drop_null(), pa.array([0, 1], t))).as_py():
                raise ValueError("not a 0/1 column")
            return pd.Series(pd.BooleanDtype().__from_arrow__(col.cast(pa.bool_())), copy=False)
        if kind in ("Int64", "int", "int64") and (pa.types.is_integer(t) or empty):
            if kind == "int64" and not col.null_count:
                return pd.Series(col.to_numpy().astype("int64"), copy=False)
            return pd.Series(pd.Int64Dtype().__from_arrow__(col.cast(pa.int64())), copy=False)
        if kind == "string" and (text or empty):
            return pd.Series(pd.StringDtype().__from_arrow__(col.cast(pa.large_string())), copy=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError):
        pass
    return _as_dtype(pd.Series(col.to_pylist(), dtype="object"), kind)


def _kind(column: str) -> str:
    if column in DATE_COLUMNS:
        return "datetime"
    if column in BOOL_COLUMNS:
        return "boolean"
    if column in INT_COLUMNS:
        return "Int64"
    return "string"


def _as_dtype(series: pd.Series, kind: str) -> pd.Series:
    if kind == "datetime":  # ISO text (SQLite) or datetime.date (PostgreSQL)
        return pd.to_datetime(series, format="mixed").astype("datetime64[ns]")
    if kind == "isodate":  # findings keep ISO text dates, as rules.findings.finalize makes them
        return series.map(lambda v: v if v is None else str(v)[:10]).astype("string")
    if kind == "boolean":  # 0/1 on SQLite
        return pd.Series(pd.array(series.tolist(), dtype="boolean"), index=series.index)
    if kind == "int64" and series.notna().all():  # the Excel row of an accepted row (never missing)
        return series.astype("int64")
    if kind in ("Int64", "int", "int64"):
        return pd.Series(pd.array(series.tolist(), dtype="Int64"), index=series.index)
    if kind == "raw":
        return series
    return series.astype("string")


def _chunks(items: list, size: int = 500) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _scope(run: dict) -> str:
    """History is kept per scope, so that a committee audit never resolves nightly findings."""
    mode = run.get("mode") or "nightly"
    committee = run.get("committee")
    return f"{mode}:{committee}" if committee else str(mode)


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


_FILE_LOCKS: dict[str, threading.RLock] = {}
_FILE_LOCKS_GUARD = threading.Lock()


# --- the store ----------------------------------------------------------------------------------
class ResultsStore:
    """Findings history, runs and the sync store in one SQL database.

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

    # -- sync store: loading ---------------------------------------------------------------------
    def known_checksums(self) -> set[str]:
        """Checksums of every workbook already loaded (accepted, superseded or rejected)."""
        with self.engine.connect() as conn:
            return set(conn.execute(sa.select(WORKBOOKS.c.checksum)).scalars())

    def load_workbooks(self, results: Iterable[WorkbookResult]) -> dict[str, int]:
        """Store parsed workbooks with their rows and lineage, in one transaction.

        A checksum already in the store is skipped (idempotent). Within a (cell, period) the
        workbook with the latest ``created_on`` (then the latest load) is ``accepted``; the others
        become ``superseded`` (kept, never read back as current).
        """
        counts = {"loaded": 0, "superseded": 0, "skipped": 0, "rejected": 0, "rows": 0, "quarantined": 0}
        with self._file_guard(), self.engine.begin() as conn:
            self._lock(conn)
            known = set(conn.execute(sa.select(WORKBOOKS.c.checksum)).scalars())
            seq = conn.execute(sa.select(sa.func.coalesce(sa.func.max(WORKBOOKS.c.load_seq), 0))).scalar_one()
            loaded_at = _now()
            books: list[dict[str, Any]] = []
            tables: dict[str, list[tuple[pd.DataFrame, dict[str, Any]]]] = {name: [] for name in SUB}
            quarantine: list[tuple[pd.DataFrame, dict[str, Any]]] = []
            # Chunks of workbooks validated together (WorkbookResult.rows): stored whole, each
            # loaded workbook's run of rows stamped with its lineage.
            chunks: dict[int, tuple[Any, dict[int, dict[str, Any]]]] = {}
            groups: set[tuple[str, str]] = set()
            # Ties on Ngày lập are broken by load order; within a batch that is the file's mtime,
            # then its name (as connectors.workbooks.read_submissions ranks duplicates).
            batch = sorted(
                results, key=lambda r: (float(r.meta.get("mtime") or 0.0), str(r.meta.get("_source")))
            )
            for res in batch:
                meta = res.meta
                checksum = meta.get("checksum")
                if not checksum:  # unreadable file: nothing to key it by; reported by the parser
                    counts["rejected"] += 1
                    continue
                if checksum in known:
                    counts["skipped"] += 1
                    continue
                known.add(checksum)
                seq += 1
                cell, period = meta.get("cell_code"), meta.get("period")
                rejected = bool(res.error) or not cell or not period
                read, accepted, quarantined = (
                    meta.get(k) for k in ("rows_read", "rows_accepted", "rows_quarantined")
                )
                books.append(
                    {
                        "checksum": checksum,
                        "file": meta.get("_source"),
                        "cell_code": cell,
                        "period": period,
                        "created_on": _to_date(meta.get("created_on")),
                        "secretary": meta.get("secretary"),
                        "loaded_at": loaded_at,
                        "load_seq": seq,
                        "status": "rejected" if rejected else "accepted",
                        "superseded_by": None,
                        "error": res.error or (None if not rejected else "missing cell/period"),
                        "rows_read": _total(read),
                        "rows_accepted": _total(accepted),
                        "rows_quarantined": _total(quarantined),
                        "rows_detail": _json(
                            {"read": read, "accepted": accepted, "quarantined": quarantined}
                        ),
                    }
                )
                counts["rejected" if rejected else "loaded"] += 1
                # The workbook's own cell/period win: the rows belong to the workbook they came from.
                lineage = {
                    "checksum": checksum,
                    "cell_code": cell,
                    "period": period,
                    "_source": meta.get("_source"),
                }
                if not rejected:
                    groups.add((cell, period))
                    if res.rows is not None:
                        chunk, i = res.rows
                        chunks.setdefault(id(chunk), (chunk, {}))[1][i] = lineage
                    for name, frame in (res.tables or {}).items():
                        if name in tables and frame is not None and len(frame):
                            tables[name].append((frame, lineage))
                if res.quarantine is not None and len(res.quarantine):
                    quarantine.append((res.quarantine, lineage))
                warned = _warning_lines(meta)
                if warned is not None and not res.error:
                    quarantine.append((warned, lineage))
            if books:
                conn.execute(WORKBOOKS.insert(), books)
            grown: dict[str, int] = {WORKBOOKS.name: len(books)}
            for name, parts in tables.items():
                grown[SUB[name].name] = _insert_columns(
                    conn, SUB[name], *_gather(parts, SUB[name], keep_source=True)
                )
                for chunk, lineages in chunks.values():
                    grown[SUB[name].name] += _insert_columns(
                        conn, SUB[name], *_chunk_columns(chunk, name, lineages, SUB[name])
                    )
                counts["rows"] += grown[SUB[name].name]
            grown[QUARANTINE.name] = _insert_columns(conn, QUARANTINE, *_gather(quarantine, QUARANTINE))
            counts["quarantined"] += grown[QUARANTINE.name]
            counts["superseded"] = self._supersede(conn, groups)
            self._analyze(conn, grown)
        log.info("sync store: %s", counts)
        return counts

    def _supersede(self, conn: Connection, groups: set[tuple[str, str]]) -> int:
        """Mark every workbook of the groups but the newest as superseded; return how many changed."""
        if not groups:
            return 0
        w = WORKBOOKS.c
        rows = []
        # Only the batch's (cell, period) groups (index ix_sub_workbooks_cell_period): reading every
        # workbook of the period for each batch of a first night was quadratic.
        for chunk in _chunks(sorted(groups), 400):
            rows += [
                tuple(r)
                for r in conn.execute(
                    sa.select(
                        w.checksum, w.cell_code, w.period, w.created_on, w.load_seq, w.status, w.file
                    ).where(
                        sa.tuple_(w.cell_code, w.period).in_(chunk), w.status.in_(["accepted", "superseded"])
                    )
                )
            ]
        df = pd.DataFrame(
            rows, columns=["checksum", "cell_code", "period", "created_on", "load_seq", "status", "file"]
        )
        df = df[[(c, p) in groups for c, p in zip(df["cell_code"], df["period"], strict=True)]]
        # A file whose name (or folder) carries its cell's code outranks one whose name carries none
        # (any name is read, but an unnamed file never speaks over the cell's own); then newest =
        # latest Ngày lập (missing = oldest), then latest load.
        from connectors.workbooks import name_agrees

        df["_named"] = [
            name_agrees(str(c), [Path(str(f)).stem, *Path(str(f)).parent.parts])
            for c, f in zip(df["cell_code"], df["file"], strict=True)
        ]
        df["_created"] = pd.to_datetime(df["created_on"].astype("object")).fillna(pd.Timestamp.min)
        df = df.sort_values(["cell_code", "period", "_named", "_created", "load_seq"])
        newest = df.groupby(["cell_code", "period"])["checksum"].transform("last")
        df["new_status"] = (df["checksum"] == newest).map({True: "accepted", False: "superseded"})
        df["superseded_by"] = newest.where(df["new_status"] == "superseded")
        changed = df[(df["status"] != df["new_status"]) | (df["new_status"] == "superseded")]
        if len(changed):
            stmt = (
                WORKBOOKS.update()
                .where(w.checksum == sa.bindparam("b_checksum"))
                .values(status=sa.bindparam("b_status"), superseded_by=sa.bindparam("b_by"))
            )
            conn.execute(
                stmt,
                [
                    {
                        "b_checksum": r.checksum,
                        "b_status": r.new_status,
                        "b_by": None if pd.isna(r.superseded_by) else r.superseded_by,
                    }
                    for r in changed.itertuples()
                ],
            )
        return int(((df["status"] == "accepted") & (df["new_status"] == "superseded")).sum())

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

    def submissions(self, period: str, year_from: str | None = None) -> SubmissionData:
        """Current (non-superseded) submissions for ``period``.

        Activity and transfers (``HISTORY_TABLES``) also cover the earlier periods from
        ``year_from`` (default: January of the period's year); the other tables only ``period``.
        Activity keeps, per (member, month), the row of the latest workbook (later period, then
        later Ngày lập, then later load). ``workbooks`` lists every current workbook read.
        """
        year_from = year_from or f"{period[:4]}-01"
        w = WORKBOOKS.c
        with self._reading() as read:
            books = read(
                (
                    _select(
                        w.cell_code,
                        w.period,
                        w.created_on,
                        w.secretary,
                        (w.file, "_source"),
                        w.checksum,
                        w.load_seq,
                    ).where(w.status == "accepted", w.period >= year_from, w.period <= period)
                ),
                {"load_seq": "int"},
            )
            books = _sorted(books, ["period", "cell_code", "checksum"])
            out: dict[str, pd.DataFrame] = {}
            for name, table in SUB.items():
                lo = year_from if name in HISTORY_TABLES else period
                cols = [c for c in _submission_columns(name) if c in table.c]
                stmt = (
                    _select(
                        *[table.c[c] for c in cols], (w.created_on, "_created_on"), (w.load_seq, "_load_seq")
                    )
                    .join(WORKBOOKS, WORKBOOKS.c.checksum == table.c.checksum)
                    .where(w.status == "accepted", table.c.period >= lo, table.c.period <= period)
                )
                df = read(stmt, {"_created_on": "datetime", "_load_seq": "int", "_row": "int64"})
                if name == "activity" and len(df):
                    df = df.sort_values(["period", "_created_on", "_load_seq", "_row"], na_position="first")
                    df = df.drop_duplicates(["member_code", "month"], keep="last")
                df = df.sort_values(
                    ["period", "cell_code", "_source", "_row"], na_position="first", kind="stable"
                )
                out[name] = df[cols].reset_index(drop=True)
        books["superseded"] = pd.Series(False, index=books.index, dtype=bool)
        return SubmissionData(workbooks=books[WORKBOOK_COLUMNS].reset_index(drop=True), **out)

    def quarantine(self, period: str, checksums: set[str] | None = None) -> pd.DataFrame:
        """Quarantined rows of the period's current workbooks, plus rejected workbooks of the period
        (or of unknown period) not replaced since; ``checksums`` limits the rejected ones to files
        still in the folder."""
        w, q = WORKBOOKS.c, QUARANTINE.c
        current = sa.and_(w.status == "accepted", w.period == period)
        rejected = sa.and_(
            w.status == "rejected", w.superseded_by.is_(None), sa.or_(w.period == period, w.period.is_(None))
        )
        stmt = (
            _select(
                *[q[c] for c in QUARANTINE_COLUMNS],
                q.severity,
                (q.cell_code, "_cell"),
                (w.checksum, "_checksum"),
                (w.status, "_status"),
            )
            .join(WORKBOOKS, w.checksum == q.checksum)
            .where(sa.or_(current, rejected))
            .order_by(q.id)
        )
        with self._reading() as read:
            df = read(stmt)
        if checksums is not None:
            df = df[(df["_status"] == "accepted") | df["_checksum"].isin(checksums)]
        df["severity"] = df["severity"].astype("string").fillna("error")
        # _cell: the cell whose workbook the line is about (for its committee's workbook; not a
        # column of quarantine.csv).
        return _sorted(df, ["source", "sheet", "row", "column"])[
            [*QUARANTINE_COLUMNS, "severity", "_cell"]
        ].reset_index(drop=True)

    def workbooks(self) -> pd.DataFrame:
        """Every loaded workbook with its status (accepted / superseded / rejected)."""
        with self._reading() as read:
            return read(
                _select(*WORKBOOKS.columns).order_by(WORKBOOKS.c.load_seq),
                {"load_seq": "int", "rows_read": "int", "rows_accepted": "int", "rows_quarantined": "int"},
            )

    def coverage(self, period: str, cells: Iterable[str] | None = None) -> pd.DataFrame:
        """cell × month of the period's year: the current workbook's checksum, or missing.

        ``cells`` (e.g. central's active cells) adds cells that never sent anything."""
        year_from = f"{period[:4]}-01"
        w = WORKBOOKS.c
        with self._reading() as read:
            got = read(
                _select(w.cell_code, w.period, w.checksum, w.file).where(
                    w.status == "accepted", w.period >= year_from, w.period <= period
                )
            )
        months = [f"{period[:4]}-{m:02d}" for m in range(1, int(period[5:7]) + 1)]
        all_cells = sorted(set(got["cell_code"].dropna()) | set(cells or []))
        grid = pd.MultiIndex.from_product([all_cells, months], names=["cell_code", "period"]).to_frame(
            index=False
        )
        grid = grid.astype("string").merge(got, how="left", on=["cell_code", "period"])
        grid["status"] = grid["checksum"].notna().map({True: "received", False: "missing"}).astype("string")
        return grid

    # -- findings history ------------------------------------------------------------------------
    def record_run(self, run: dict, findings: pd.DataFrame, include_resolved: bool = False) -> pd.DataFrame:
        """Record a run and its findings; return the findings with ``status`` and ``first_seen``.

        ``include_resolved``: also return the findings resolved by this run (status ``resolved``,
        their last known columns, ``as_of`` of this run), after the current ones.

        Statuses depend only on the previous run of the same scope with an earlier ``as_of``, so
        re-running the same ``as_of`` gives the same statuses and leaves no duplicate rows:
        - seen now, open at the previous run -> ``open`` (keeps ``first_seen``);
        - seen now, not open at the previous run (never seen, or resolved since) -> ``new``,
          ``first_seen`` = as_of (a problem that comes back is a new case; its earlier episode
          stays in ``finding_events``);
        - open at the previous run, not seen now -> ``resolved``, ``resolved_on`` = as_of.
        """
        scope = _scope(run)
        as_of = _to_date(run["as_of"])
        if as_of is None:
            raise ValueError("run['as_of'] is required")
        run_id = str(run.get("run_id") or f"{scope}/{as_of.isoformat()}")
        cur = findings.copy()
        ids = cur["finding_id"].astype("string")
        if ids.isna().any() or ids.duplicated().any():
            raise ValueError("findings need unique, non-empty finding_id")
        ev = EVENTS.c
        with self._file_guard(), self.engine.begin() as conn:
            self._lock(conn)
            prev_as_of = conn.execute(
                sa.select(sa.func.max(RUNS.c.as_of)).where(RUNS.c.scope == scope, RUNS.c.as_of < as_of)
            ).scalar()
            latest = conn.execute(sa.select(sa.func.max(RUNS.c.as_of)).where(RUNS.c.scope == scope)).scalar()
            is_latest = latest is None or _to_date(latest) <= as_of
            prev_open: dict[str, date] = {}
            if prev_as_of is not None:
                prev_open = {
                    r.finding_id: _to_date(r.first_seen)
                    for r in conn.execute(
                        sa.select(ev.finding_id, ev.first_seen).where(
                            ev.scope == scope, ev.as_of == prev_as_of, ev.status.in_(["new", "open"])
                        )
                    )
                }
            # Events already written for this as_of (an earlier attempt): replaced below.
            earlier_attempt = set(
                conn.execute(sa.select(ev.finding_id).where(ev.scope == scope, ev.as_of == as_of)).scalars()
            )
            conn.execute(EVENTS.delete().where(ev.scope == scope, ev.as_of == as_of))

            is_open = ids.isin(list(prev_open))
            status = is_open.map({True: "open", False: "new"}).astype("string")
            first = [prev_open[i] if o else as_of for i, o in zip(ids, is_open, strict=True)]
            seen = set(ids)
            resolved = sorted(set(prev_open) - seen)
            events = [
                {
                    "scope": scope,
                    "as_of": as_of,
                    "finding_id": i,
                    "status": s,
                    "first_seen": d,
                    "run_id": run_id,
                }
                for i, s, d in zip(ids, status, first, strict=True)
            ] + [
                {
                    "scope": scope,
                    "as_of": as_of,
                    "finding_id": i,
                    "status": "resolved",
                    "first_seen": prev_open[i],
                    "run_id": run_id,
                }
                for i in resolved
            ]
            _insert(conn, EVENTS, pd.DataFrame(events, columns=[c.name for c in EVENTS.columns]))

            cur["status"] = status.values
            cur["first_seen"] = pd.Series([d.isoformat() for d in first], index=cur.index, dtype="string")
            if is_latest:
                self._update_findings(
                    conn,
                    scope,
                    as_of,
                    prev_as_of,
                    run_id,
                    cur,
                    resolved,
                    earlier_attempt - seen - set(resolved),
                )
            counts = cur["list_code"].value_counts().sort_index() if len(cur) else pd.Series(dtype="int64")
            row = {
                "scope": scope,
                "as_of": as_of,
                "run_id": run_id,
                "mode": run.get("mode") or "nightly",
                "committee": run.get("committee"),
                "period": run.get("period"),
                "started_at": run.get("started_at"),
                "finished_at": run.get("finished_at") or _now(),
                "n_findings": len(cur),
                "n_new": int((status == "new").sum()),
                "n_open": int((status == "open").sum()),
                "n_resolved": len(resolved),
                "counts": _json({str(k): int(v) for k, v in counts.items()}),
                "inputs": _json(run.get("inputs")),
                "summary": _json(run.get("summary")),
            }
            attempts = conn.execute(
                sa.select(RUNS.c.attempts).where(RUNS.c.scope == scope, RUNS.c.as_of == as_of)
            ).scalar()
            conn.execute(RUNS.delete().where(RUNS.c.scope == scope, RUNS.c.as_of == as_of))
            conn.execute(RUNS.insert(), [{**row, "attempts": (attempts or 0) + 1}])
            if include_resolved and resolved:
                cur = pd.concat(
                    [cur, self._resolved_rows(conn, scope, resolved, as_of, cur.columns)], ignore_index=True
                )
            if not is_latest:
                # A night older than one already recorded (a rerun of yesterday, or two runs
                # serialised by the run lock in the "wrong" order): the later nights' statuses are
                # recomputed as if the nights had been run in date order.
                self._rechain(conn, scope, as_of, findings)
            from connectors.faults import fault_point

            fault_point("record history:transaction")  # the fault suite: a kill before the commit
        return cur

    def _rechain(self, conn: Connection, scope: str, as_of: date, findings: pd.DataFrame) -> None:
        """After ``as_of`` was recorded under later nights: recompute each later night's events
        from the night before it, then the ``findings`` rows of every finding involved, so the
        history is the one a run in date order would have left."""
        ev = EVENTS.c
        later = [
            (_to_date(d), rid)
            for d, rid in conn.execute(
                sa.select(RUNS.c.as_of, RUNS.c.run_id)
                .where(RUNS.c.scope == scope, RUNS.c.as_of > as_of)
                .order_by(RUNS.c.as_of)
            ).all()
        ]

        def events_on(day: date) -> list[Any]:
            return conn.execute(
                sa.select(ev.finding_id, ev.status, ev.first_seen).where(ev.scope == scope, ev.as_of == day)
            ).all()

        touched = set(findings["finding_id"].astype(str))
        prev = {r.finding_id: _to_date(r.first_seen) for r in events_on(as_of) if r.status != "resolved"}
        for day, run_id in later:
            rows = events_on(day)
            seen = sorted(r.finding_id for r in rows if r.status != "resolved")
            new_events = [(fid, "open", prev[fid]) if fid in prev else (fid, "new", day) for fid in seen] + [
                (fid, "resolved", prev[fid]) for fid in sorted(set(prev) - set(seen))
            ]
            old_events = {(r.finding_id, r.status, _to_date(r.first_seen)) for r in rows}
            if set(new_events) != old_events:
                touched |= {e[0] for e in set(new_events) ^ old_events}
                conn.execute(EVENTS.delete().where(ev.scope == scope, ev.as_of == day))
                frame = pd.DataFrame(
                    [
                        {
                            "scope": scope,
                            "as_of": day,
                            "finding_id": f,
                            "status": st,
                            "first_seen": fs,
                            "run_id": run_id,
                        }
                        for f, st, fs in new_events
                    ],
                    columns=[c.name for c in EVENTS.columns],
                )
                _insert(conn, EVENTS, frame)
                n = {k: sum(e[1] == k for e in new_events) for k in ("new", "open", "resolved")}
                conn.execute(
                    RUNS.update()
                    .where(RUNS.c.scope == scope, RUNS.c.as_of == day)
                    .values(n_new=n["new"], n_open=n["open"], n_resolved=n["resolved"])
                )
            prev = {f: fs for f, st, fs in new_events if st != "resolved"}
        self._rebuild_findings(conn, scope, as_of, findings, sorted(touched))

    def _rebuild_findings(
        self, conn: Connection, scope: str, as_of: date, findings: pd.DataFrame, ids: list[str]
    ) -> None:
        """The ``findings`` rows of ``ids`` from their events: the columns of the night that last
        saw each finding (``findings`` of this night, else the stored row), the state of its
        latest event (as ``_update_findings`` leaves them night after night)."""
        f, ev = FINDINGS.c, EVENTS.c
        mine = {r["finding_id"]: r for r in _records(findings.assign(scope=scope), FINDINGS)}
        write: list[dict[str, Any]] = []
        delete: list[str] = []
        for chunk in _chunks(ids):
            stored = {
                r["finding_id"]: dict(r)
                for r in conn.execute(sa.select(FINDINGS).where(f.scope == scope, f.finding_id.in_(chunk)))
                .mappings()
                .all()
            }
            events: dict[str, list[Any]] = {}
            for r in conn.execute(
                sa.select(ev.finding_id, ev.as_of, ev.status, ev.first_seen, ev.run_id)
                .where(ev.scope == scope, ev.finding_id.in_(chunk))
                .order_by(ev.finding_id, ev.as_of)
            ).all():
                events.setdefault(r.finding_id, []).append(r)
            for fid in chunk:
                history = events.get(fid)
                if not history:
                    if fid in stored:
                        delete.append(fid)
                    continue
                last = history[-1]
                sightings = [_to_date(e.as_of) for e in history if e.status != "resolved"]
                seen_on = max(sightings) if sightings else None
                base = mine.get(fid) if seen_on == as_of else stored.get(fid)
                if base is None:
                    continue  # never stored and not seen by this night: nothing to rebuild from
                rec = dict(base)
                rec.update(
                    scope=scope,
                    status=last.status,
                    first_seen=_to_date(last.first_seen),
                    last_seen=seen_on,
                    resolved_on=_to_date(last.as_of) if last.status == "resolved" else None,
                    last_run_id=last.run_id,
                )
                if seen_on == as_of:
                    rec["as_of"] = as_of
                before = stored.get(fid)
                if before is None or any(_norm(before.get(k)) != _norm(v) for k, v in rec.items()):
                    write.append(rec)
        for chunk in _chunks([r["finding_id"] for r in write] + delete):
            conn.execute(FINDINGS.delete().where(f.scope == scope, f.finding_id.in_(chunk)))
        _insert(conn, FINDINGS, pd.DataFrame(write, columns=[c.name for c in FINDINGS.columns]))

    def _resolved_rows(
        self, conn: Connection, scope: str, ids: list[str], as_of: date, columns: pd.Index
    ) -> pd.DataFrame:
        f = FINDINGS.c
        cols = [c for c in columns if c in f]
        rows: list[Any] = []
        for chunk in _chunks(ids):
            rows += conn.execute(
                _select(*[f[c] for c in cols]).where(f.scope == scope, f.finding_id.in_(chunk))
            ).all()
        df = _frame_rows(rows, cols, {c: "isodate" for c in FINDING_DATES})
        df["status"] = "resolved"
        df["as_of"] = as_of.isoformat()
        df = _sorted(df, ["list_code", "org_code", "member_code", "field", "ref"])
        return df.reindex(columns=columns).astype({c: "string" for c in cols})

    def _update_findings(
        self,
        conn: Connection,
        scope: str,
        as_of: date,
        prev_as_of: Any,
        run_id: str,
        cur: pd.DataFrame,
        resolved: list[str],
        reverted: set[str],
    ) -> None:
        """Bring the ``findings`` table (current state per finding) in line with this run.

        Rows that would not change are not written, so a rerun of the same inputs writes nothing."""
        f = FINDINGS.c
        new = cur.copy()
        new["scope"] = scope
        new["last_seen"] = as_of.isoformat()
        new["resolved_on"] = pd.NA
        new["last_run_id"] = run_id
        touched = list(new["finding_id"]) + resolved + sorted(reverted)
        existing: list[Any] = []
        for chunk in _chunks(touched):
            existing += (
                conn.execute(sa.select(FINDINGS).where(f.scope == scope, f.finding_id.in_(chunk)))
                .mappings()
                .all()
            )
        old_by_id = {r["finding_id"]: r for r in existing}

        write: list[dict[str, Any]] = []
        delete: list[str] = []
        # Findings seen now: write when any column differs from what is stored (excluding run id).
        new_recs = _records(new, FINDINGS)
        for rec in new_recs:
            before = old_by_id.get(rec["finding_id"])
            if before is None or any(
                _norm(before[k]) != _norm(v) for k, v in rec.items() if k != "last_run_id"
            ):
                write.append(rec)
        for fid in resolved:
            before = old_by_id.get(fid)
            if before is None:
                continue
            rec = dict(before)
            rec.update(status="resolved", resolved_on=as_of, last_seen=_to_date(prev_as_of))
            if any(_norm(before[k]) != _norm(v) for k, v in rec.items()):
                rec["last_run_id"] = run_id
                write.append(rec)
        # Seen by an earlier attempt of this as_of but not by this one: back to the state before.
        for fid in sorted(reverted):
            last = (
                conn.execute(
                    sa.select(EVENTS)
                    .where(EVENTS.c.scope == scope, EVENTS.c.finding_id == fid, EVENTS.c.as_of < as_of)
                    .order_by(EVENTS.c.as_of.desc())
                    .limit(1)
                )
                .mappings()
                .first()
            )
            before = old_by_id.get(fid)
            if last is None or before is None:
                delete.append(fid)
                continue
            seen_on = conn.execute(
                sa.select(sa.func.max(EVENTS.c.as_of)).where(
                    EVENTS.c.scope == scope,
                    EVENTS.c.finding_id == fid,
                    EVENTS.c.as_of < as_of,
                    EVENTS.c.status.in_(["new", "open"]),
                )
            ).scalar()
            rec = dict(before)
            rec.update(
                status=last["status"],
                first_seen=last["first_seen"],
                last_seen=_to_date(seen_on),
                resolved_on=last["as_of"] if last["status"] == "resolved" else None,
                last_run_id=last["run_id"],
            )
            write.append(rec)
        ids = [r["finding_id"] for r in write] + delete
        for chunk in _chunks(ids):
            conn.execute(FINDINGS.delete().where(f.scope == scope, f.finding_id.in_(chunk)))
        _insert(conn, FINDINGS, pd.DataFrame(write, columns=[c.name for c in FINDINGS.columns]))

    def runs(self) -> pd.DataFrame:
        """One row per (scope, as_of): the latest attempt, with counts per list (json in ``counts``)."""
        with self.engine.connect() as conn:
            df = _frame(
                conn.execute(_select(*RUNS.columns)),
                {c: "int" for c in ("attempts", "n_findings", "n_new", "n_open", "n_resolved")}
                | {"as_of": "isodate"},
            )
        return _sorted(df, ["scope", "as_of"])

    def night_findings(self, scope: str, as_of: str) -> pd.DataFrame | None:
        """The findings.csv rows of night ``as_of`` as the history now gives them (seen that night,
        then those it resolved), or None when a later night is recorded (their rows moved on).

        Used after an older night was recorded under it (``_rechain``): the published set of
        ``as_of`` is refreshed with the statuses of a run in date order."""
        f = FINDINGS.c
        day = _to_date(as_of)
        with self.engine.connect() as conn:
            latest = conn.execute(sa.select(sa.func.max(RUNS.c.as_of)).where(RUNS.c.scope == scope)).scalar()
            if latest is None or _to_date(latest) != day:
                return None
            cols = [c for c in [*FINDING_COLUMNS, "ref"] if c in f]
            seen = conn.execute(
                _select(*[f[c] for c in cols]).where(
                    f.scope == scope, f.last_seen == day, f.status != "resolved"
                )
            ).all()
            gone = conn.execute(
                _select(*[f[c] for c in cols]).where(
                    f.scope == scope, f.status == "resolved", f.resolved_on == day
                )
            ).all()
        types = {c: "isodate" for c in FINDING_DATES}
        current = _frame_rows(seen, cols, types)
        resolved = _frame_rows(gone, cols, types)
        resolved["as_of"] = day.isoformat()
        out = pd.concat([current, resolved], ignore_index=True) if len(resolved) else current
        return out.astype({c: "string" for c in cols})

    def trend(self, scope: str = "nightly") -> pd.DataFrame:
        """Findings per list and run date (long format: as_of, list_code, findings) for the board."""
        runs = self.runs()
        runs = runs[runs["scope"] == scope]
        rows = [
            (a, code, n)
            for a, counts in zip(runs["as_of"], runs["counts"], strict=True)
            for code, n in json.loads(counts or "{}").items()
        ]
        df = pd.DataFrame(rows, columns=["as_of", "list_code", "findings"])
        return df.astype({"as_of": "string", "list_code": "string", "findings": "int64"})

    def history(self, scope: str | None = None) -> pd.DataFrame:
        """Every finding ever recorded with its current status, first_seen, last_seen, resolved_on."""
        stmt = _select(*[FINDINGS.c[c] for c in HISTORY_COLUMNS])
        if scope is not None:
            stmt = stmt.where(FINDINGS.c.scope == scope)
        with self.engine.connect() as conn:
            df = _frame(conn.execute(stmt), {c: "isodate" for c in FINDING_DATES})
        return _sorted(df, ["scope", "list_code", "org_code", "member_code", "field", "ref", "finding_id"])

    def events(self, scope: str | None = None) -> pd.DataFrame:
        """The status of each finding at each run date (including the day it was resolved)."""
        stmt = _select(*EVENTS.columns)
        if scope is not None:
            stmt = stmt.where(EVENTS.c.scope == scope)
        with self.engine.connect() as conn:
            df = _frame(conn.execute(stmt), {"as_of": "isodate", "first_seen": "isodate"})
        return _sorted(df, ["scope", "as_of", "finding_id"])


def _warning_lines(meta: dict) -> pd.DataFrame | None:
    """The field-level faults ``dvsync check`` reports on an accepted workbook, as quarantine lines
    of severity ``warning``: the rows' warnings (a value blanked, an ID disagreeing with the birth
    date; values masked already) and the file's (hidden sheet, unknown or missing column, an
    optional sheet left out). The row itself is accepted: it is not counted as quarantined."""
    notes = [n for n in meta.get("notes") or [] if n.get("severity") == "warn"]
    source = meta.get("_source")
    for sheet, rule, message in meta.get("warning_lines") or []:
        notes.append(
            {
                "source": source,
                "sheet": sheet,
                "row": None,
                "column": "",
                "rule": rule,
                "value": "",
                "message": message,
            }
        )
    if not notes:
        return None
    frame = pd.DataFrame(notes).reindex(columns=QUARANTINE_COLUMNS)
    frame["row"] = frame["row"].astype("Int64")
    frame["severity"] = "warning"
    return frame


def _submission_columns(name: str) -> tuple[str, ...]:
    """Columns of a submission table, in the order connectors.workbooks produces them."""
    return ("cell_code", "period", *_SHEET_COLUMNS[name], *LINEAGE_COLUMNS)


def _sorted(df: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Sort in pandas, not SQL: NULL placement and collations differ between SQLite and PostgreSQL."""
    return df.sort_values(by, na_position="first", kind="stable").reset_index(drop=True)


def _norm(value: Any) -> Any:
    """Comparable form of a stored or to-be-stored value (dates as ISO text, NA as None)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _total(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, dict):
        return int(sum(int(v or 0) for v in value.values()))
    return int(value)


_LINEAGE = ("checksum", "cell_code", "period", "_source")


def _column_array(frame: pd.DataFrame, loc: int) -> Any:
    """The values of the frame's column at ``loc`` without building a Series (~10x cheaper)."""
    try:
        return frame._get_column_array(loc)
    except AttributeError:  # pragma: no cover - another pandas
        return frame.iloc[:, loc].array


def _concat_arrays(arrays: list[Any], sizes: list[int]) -> pd.Series:
    """One column from the same column of many frames (None: the frame lacks it -> missing)."""
    first = arrays[0]
    kind, dtype = type(first), getattr(first, "dtype", None)
    if first is not None and all(type(a) is kind and (a.dtype is dtype or a.dtype == dtype) for a in arrays):
        if isinstance(first, np.ndarray):
            return pd.Series(np.concatenate(arrays), copy=False)
        return pd.Series(type(first)._concat_same_type(arrays), copy=False)
    series = [
        pd.Series(a, copy=False) if a is not None else pd.Series([None] * n, dtype="object")
        for a, n in zip(arrays, sizes, strict=True)
    ]
    return pd.concat(series, ignore_index=True)


def _chunk_columns(
    chunk: Any, name: str, lineages: dict[int, dict[str, Any]], table: sa.Table
) -> tuple[dict[str, Any], int]:
    """The rows of one table of a chunk of workbooks (``connectors.workbooks.ChunkRows``) that
    belong to the loaded workbooks, column by column, each row stamped with its workbook's
    lineage: what ``_gather`` gives for the same workbooks, without a frame per workbook."""
    if name not in chunk.sheets:
        return {}, 0
    acc, ids, starts, ends = chunk.sheets[name]
    lengths = (ends - starts).astype(np.int64)
    loaded = np.array([i in lineages for i in ids], dtype=bool)
    keep = np.repeat(loaded, lengths)
    n = int(keep.sum())
    if not n:
        return {}, 0
    names = {c.name for c in table.columns}
    out: dict[str, Any] = {}
    for c in acc.columns:
        if c in names and (c not in _LINEAGE or c == "_source"):
            col = acc[c]
            out[c] = col[keep].reset_index(drop=True) if not keep.all() else col.reset_index(drop=True)
    for c in _LINEAGE:
        if c not in names or (c == "_source" and c in out and out[c].notna().all()):
            continue
        per_run = np.array([lineages.get(i, {}).get(c) for i in ids], dtype=object)
        out[c] = pd.Series(np.repeat(per_run[loaded], lengths[loaded]), dtype=object)
    return out, n


def _gather(
    parts: list[tuple[pd.DataFrame, dict[str, Any]]], table: sa.Table, keep_source: bool = False
) -> tuple[dict[str, pd.Series], int]:
    """The rows of many workbooks' frames, column by column, each stamped with its lineage.

    Columns are concatenated one by one from the frames' arrays: pd.concat of thousands of
    small frames spends most of its time planning blocks (seconds per 2,000 workbooks).
    Returns ({column: values}, number of rows); a column no frame has is left out (NULL)."""
    if not parts:
        return {}, 0
    names = [c.name for c in table.columns]
    sizes = [len(f) for f, _ in parts]
    n = int(sum(sizes))
    locs = [dict(zip(f.columns.tolist(), itertools.count())) for f, _ in parts]
    out: dict[str, pd.Series] = {}
    for name in names:
        if name in _LINEAGE and name != "_source":
            continue
        found = [loc.get(name) for loc in locs]
        if all(i is None for i in found):
            continue
        arrays = [None if i is None else _column_array(f, i) for (f, _), i in zip(parts, found, strict=True)]
        out[name] = _concat_arrays(arrays, sizes)
    for name in _LINEAGE:
        if name not in names:
            continue
        if name == "_source" and keep_source and name in out and out[name].notna().all():
            continue
        out[name] = pd.Series(np.repeat(np.array([lin.get(name) for _, lin in parts], dtype=object), sizes))
    return out, n
