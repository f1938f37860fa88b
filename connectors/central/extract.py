"""The extraction: one read-only snapshot of every contract table, chunk by chunk, with retries
of connection faults (the only retry layer: its message tells the true number of attempts)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

import pandas as pd
import pyarrow as pa
import sqlalchemy as sa

from connectors.central.base import (
    ODBC_PREFIX,
    Mapping,
    Reader,
    TableMap,
    _one_line,
    _unify,
    arrow_to_frame,
    build_select,
    iter_sql,
    load_mapping,
    log,
    probe_sql,
    redact,
)
from connectors.central.incremental import ROWID, SnapshotStore, SnapshotWriter, read_marked
from connectors.central.sqlalchemy_reader import _open_sqlalchemy
from connectors.central.sqlite_arrow import _arrow_sqlite_path, _SqliteArrowReader
from schemas.contract import CENTRAL_INTEGER_COLUMNS, CENTRAL_TABLES
from schemas.errors import MappingError, SourceConfigError, SourceUnavailable  # noqa: F401 (re-exported)
from schemas.settings import settings


def resolve_source(source: str | None) -> str | None:
    """Explicit argument > $DVSYNC_CENTRAL_URL > Prefect Secret named by $DVSYNC_CENTRAL_SECRET > None.

    None means "use the bundled demo data".
    """
    if source:
        return source
    conf = settings()
    if url := conf.central_url:
        return url
    if block := conf.central_secret:
        try:
            from prefect.blocks.system import Secret

            value = Secret.load(block).get()
        except Exception as exc:  # noqa: BLE001 - any failure to load is "source not readable"
            raise SourceUnavailable(
                f"không tải được Prefect Secret '{block}': {_one_line(type(exc).__name__)}"
            ) from None
        return str(value).strip() or None
    return None


@contextmanager
def open_snapshot(source: str, mapping: Mapping | None = None) -> Iterator[Reader]:
    """A reader on ``source`` whose snapshot transaction starts with ``begin_snapshot()``."""
    if source.startswith(ODBC_PREFIX):
        from connectors.central.odbc import open_odbc

        with open_odbc(source[len(ODBC_PREFIX) :]) as reader:
            yield reader
    elif path := _arrow_sqlite_path(source):
        if not Path(path).expanduser().is_file():
            raise SourceUnavailable(f"{redact(source)}: unable to open database file (no such file)")
        reader = _SqliteArrowReader(path)
        try:
            yield reader
        finally:
            reader.close()
    else:
        with _open_sqlalchemy(source) as reader:
            yield reader


# --- extraction ---------------------------------------------------------------------------------


def _resolve_columns(
    reader: Reader, mapping: Mapping, tables: list[str], probed: dict[str, list[str]] | None = None
) -> dict[str, TableMap]:
    """Check every mapped table and column exists; adopt the source's exact spelling (case).

    A change marker or key missing from the source is no error: the table is read in full, as
    when none is named (one log line). ``probed``: filled with each source table's columns."""
    problems: list[str] = []
    resolved: dict[str, TableMap] = {}
    for t in tables:
        tm = mapping[t]
        if tm.source is None:
            resolved[t] = tm
            continue
        names = reader.probe(probe_sql(tm, reader.dialect))
        if names is None:
            problems.append(f"bảng {tm.source_name} (→ {t})")
            continue
        if probed is not None:
            probed[t] = list(names)
        actual = {n.lower(): n for n in names}
        cols: dict[str, str | None] = {}
        for col, src in tm.columns.items():
            if src is None:
                cols[col] = None
            elif src.lower() in actual:
                cols[col] = actual[src.lower()]
            else:
                problems.append(f"cột {tm.source_name}.{src} (→ {t}.{col})")
        marker, key = tm.marker, tm.key
        if marker and key:
            # SQLite's implicit rowid is a key the probe does not list.
            rowid = "sqlite" in reader.dbms.lower() and key.lower() in ROWID
            missing = [n for n in (marker, key) if n.lower() not in actual and not (n == key and rowid)]
            if missing:
                log.info("central %s: full read (column %s not in %s)", t, ", ".join(missing), tm.source_name)
                marker = key = None
            else:
                marker, key = actual[marker.lower()], actual.get(key.lower(), key)
        resolved[t] = TableMap(t, tm.source, cols, marker, key)
    if problems:
        where = (
            f" (tệp ánh xạ {mapping.path})"
            if mapping.path
            else " (không có tệp ánh xạ: dùng tên trong hợp đồng)"
        )
        raise MappingError(f"CSDL trung ương thiếu {len(problems)} mục{where}: " + "; ".join(problems))
    return resolved


def iter_table(reader: Reader, tm: TableMap, chunk_size: int) -> Iterator[pa.Table]:
    """One table's rows in Arrow chunks, in export order (column types may differ between chunks:
    ``_unify`` them)."""
    if tm.source is None:
        return
    sql = build_select(tm, dialect=reader.dialect)
    yield from iter_sql(reader, sql, list(tm.columns), CENTRAL_INTEGER_COLUMNS.get(tm.table, []), chunk_size)


class TableSink(Protocol):
    """Where ``read_central`` streams the tables it does not return (see connectors.spill)."""

    streamed: Sequence[str]

    def start(self, frames: dict[str, pd.DataFrame]) -> None:
        """Called inside the snapshot with the other tables, before any streamed one (and again
        from scratch when a retry reads everything again)."""

    def consume(self, table: str, names: list[str], chunks: Iterator[pa.Table]) -> int:
        """Takes one streamed table's chunks; returns its row count."""


def _retryable(exc: BaseException) -> bool:
    """Connection-level failures worth another attempt (refused, dropped, timeout, snapshot conflict)."""
    if isinstance(exc, sa.exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        exc = exc.orig or exc
    state = _sqlstate(exc)
    if state:
        # 08: connection exceptions; HYT: timeouts; 40001: serialisation failure (snapshot conflict);
        # 57P: PostgreSQL admin shutdown/crash; IM: driver manager (missing driver: not worth retrying).
        return state.startswith(("08", "HYT", "40001", "57P", "HY000")) and not state.startswith("IM")
    name = type(exc).__name__
    return name in ("OperationalError", "InterfaceError", "ConnectionTimeout", "ConnectionFailure")


def _sqlstate(exc: BaseException) -> str | None:
    state = getattr(exc, "sqlstate", None)  # psycopg
    if state:
        return str(state)
    args = getattr(exc, "args", ())
    if len(args) >= 2 and isinstance(args[0], str) and re.fullmatch(r"[0-9A-Z]{5}", args[0]):
        return args[0]  # pyodbc: ('08001', '[08001] ...')
    return None


def _describe(exc: BaseException) -> str:
    """The driver's own first words, without SQL, parameters or SQLAlchemy's boilerplate."""
    if isinstance(exc, sa.exc.StatementError) and exc.orig is not None:
        exc = exc.orig
    args = getattr(exc, "args", ())
    msg = args[1] if len(args) >= 2 and _sqlstate(exc) and isinstance(args[1], str) else str(exc)
    msg = re.sub(r"\[[^\]]*\]", "", msg)  # pyodbc: [unixODBC][Driver]... prefixes
    msg = re.sub(r"\(Background on this error.*", "", msg, flags=re.S)
    msg = _one_line(msg)
    return (msg[:300] + "…") if len(msg) > 300 else msg or type(exc).__name__


def read_central(
    source: str,
    mapping: Path | str | Mapping | None = None,
    chunk_size: int = 100_000,
    retries: int | None = None,
    retry_delay: float | None = None,
    tables: list[str] | None = None,
    on_snapshot: Callable[[Reader], None] | None = None,
    sink: TableSink | None = None,
    state: Path | str | None = None,
) -> dict[str, pd.DataFrame]:
    """Every contract table of ``source`` as a frame with the contract's column names.

    Values are what the driver returns (dates may be datetime64 or ISO text, flags int or bool);
    schemas.central.validate_central converts and validates. ``retries`` further attempts after a
    connection-level failure, waiting ``retry_delay`` × 2^k; then SourceUnavailable (exit 3).
    ``on_snapshot`` is called inside the snapshot (tests check the isolation level there).
    ``sink``: the tables it names are streamed to it chunk by chunk, after the others and in the
    same snapshot, and are not returned (memory never holds them whole).
    ``state``: the folder of the snapshots of the tables whose mapping names a change marker
    (connectors.central.incremental): those are read as what changed since the last night and
    merged into its snapshot; the new snapshots become current once every table is read. None
    (or no marker): every table read in full.
    Defaults: $DVSYNC_CENTRAL_RETRIES (3) and $DVSYNC_CENTRAL_RETRY_DELAY (2.0 s).
    """
    conf = settings()
    retries = conf.central_retries if retries is None else retries
    retry_delay = conf.central_retry_delay if retry_delay is None else retry_delay
    mp = mapping if isinstance(mapping, Mapping) else load_mapping(mapping)
    wanted = list(tables or CENTRAL_TABLES)
    unknown = [t for t in wanted if t not in CENTRAL_TABLES]
    if unknown:
        raise MappingError(f"Bảng không có trong hợp đồng dữ liệu: {', '.join(unknown)}")
    if chunk_size < 1:
        raise MappingError("chunk_size phải lớn hơn 0")
    shown = redact(source)
    store = SnapshotStore(state, source) if state is not None else None
    attempt = 0
    while True:
        writers: list[SnapshotWriter] = []
        try:
            with open_snapshot(source, mp) as reader:
                probed: dict[str, list[str]] = {}
                resolved = _resolve_columns(reader, mp, wanted, probed)
                reader.begin_snapshot()
                if on_snapshot:
                    on_snapshot(reader)
                frames = {}
                streamed = [t for t in wanted if sink is not None and t in sink.streamed]
                for t in wanted:
                    if t in streamed:
                        continue
                    start = time.perf_counter()
                    chunks = _chunks(reader, resolved[t], chunk_size, store, probed, writers)
                    frames[t] = arrow_to_frame(_unify(list(chunks), list(resolved[t].columns)))
                    log.info("central %s: %d rows in %.1f s", t, len(frames[t]), time.perf_counter() - start)
                if sink is not None:
                    sink.start(frames)
                    for t in streamed:
                        start = time.perf_counter()
                        chunks = _chunks(reader, resolved[t], chunk_size, store, probed, writers)
                        rows = sink.consume(t, list(resolved[t].columns), chunks)
                        log.info(
                            "central %s: %d rows streamed in %.1f s", t, rows, time.perf_counter() - start
                        )
            if store is not None and writers:
                store.commit(writers)  # every table read: tonight's snapshots become current
                writers = []
            return frames
        except (MappingError, SourceUnavailable):
            _abandon(writers)
            raise
        except Exception as exc:  # noqa: BLE001 - every driver has its own exception tree
            _abandon(writers)  # the last snapshots stay current
            if not _is_db_error(exc):
                raise
            detail = redact(_describe(exc), source)
            if _retryable(exc) and attempt < retries:
                wait = retry_delay * (2**attempt)
                attempt += 1
                log.warning("central %s: %s; retry %d/%d in %.1f s", shown, detail, attempt, retries, wait)
                time.sleep(wait)
                continue
            tries = f" sau {attempt + 1} lần thử" if attempt else ""
            raise SourceUnavailable(f"{shown}{tries}: {detail}") from None


def _chunks(
    reader: Reader,
    tm: TableMap,
    chunk_size: int,
    store: SnapshotStore | None,
    probed: dict[str, list[str]],
    writers: list[SnapshotWriter],
) -> Iterator[pa.Table]:
    """One table's chunks: from its snapshot and what changed when it is marked, else in full."""
    if store is None or not (tm.marker and tm.key and tm.source):
        return iter_table(reader, tm, chunk_size)
    chunks, writer = read_marked(reader, tm, chunk_size, store, probed[tm.table])
    writers.append(writer)
    return chunks


def _abandon(writers: list[SnapshotWriter]) -> None:
    for w in writers:
        w.abandon("the extraction did not finish")


def _is_db_error(exc: BaseException) -> bool:
    if isinstance(exc, sa.exc.DBAPIError | sa.exc.DisconnectionError | ConnectionError | TimeoutError):
        return True
    try:
        import pyodbc

        if isinstance(exc, pyodbc.Error):
            return True
    except ImportError:  # pragma: no cover - pyodbc is a dependency
        pass
    mod = type(exc).__module__
    return mod.startswith(("psycopg", "sqlite3", "pyodbc", "adbc_driver_manager"))
