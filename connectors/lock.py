"""One run at a time per results database: the run lock, taken before anything is read.

- PostgreSQL results database: a session advisory lock (``pg_try_advisory_lock``) on a connection
  of its own, held for the whole run; the server drops it when that connection ends (a killed
  run included). The holder's run id, as_of, pid and host are that connection's
  ``application_name``; its start time is the connection's ``backend_start``
  (``pg_stat_activity``), so a waiting run can name the run that holds the lock.
- SQLite results database: an ``fcntl.flock`` on ``<file>.lock`` beside the SQLite file; the
  kernel drops it when the process dies. The holder writes its details into that file.

A second run polls for ``DVSYNC_LOCK_WAIT`` seconds (default 60), then stops with
:class:`~schemas.errors.RunLocked` (exit 2) naming the holder. Taking the lock is the run's first
contact with the results database: an unreachable or unwritable one is retried
``DVSYNC_RESULTS_RETRIES`` times (default 3; backoff 1, 2, 4 … s), then
:class:`~schemas.errors.ResultsUnavailable` (exit 3) — before the central database is read.

Once the lock is held, what dead runs left behind is removed (:func:`clean_dead_runs`): their
partition folders (``.dvsync-partitions-*``) and their half-built output sets.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from schemas.errors import ResultsUnavailable, RunLocked
from schemas.settings import settings

log = logging.getLogger("dvsync.lock")

LOCK_NAMESPACE = "dvsync-run-lock"  # the advisory key is derived from this (and the schema)
DEFAULT_WAIT_S = 60.0
DEFAULT_RETRIES = 3
POLL_S = 0.5
PARTITION_PREFIX = ".dvsync-partitions-"


def lock_wait_seconds() -> float:
    """``DVSYNC_LOCK_WAIT``: how long a run waits for another run's lock before exit 2."""
    return settings().lock_wait


def results_retries() -> int:
    """``DVSYNC_RESULTS_RETRIES``: retries of the results database's connection before exit 3."""
    return settings().results_retries


def one_line(exc: BaseException) -> str:
    """A driver's message on one line, without SQLAlchemy's background link."""
    text = str(getattr(exc, "orig", None) or exc)
    text = text.split("(Background on this error")[0]
    return " ".join(text.split())[:300]


def advisory_key(schema: str | None) -> int:
    """A signed 64-bit advisory lock key: one per results database (database and schema)."""
    digest = hashlib.sha256(f"{LOCK_NAMESPACE}:{schema or ''}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


# A database that cannot be reached or written (connection refused or lost, disk full, read-only
# file): worth a retry, then exit 3. Programming errors (IntegrityError, ...) are not caught.
RESULTS_FAULTS = (sa.exc.OperationalError, sa.exc.InterfaceError, OSError)


def _fault_message(url_text: str, exc: BaseException, attempts: int | None = None) -> str:
    tries = f" sau {attempts} lần thử" if attempts else ""
    return f"không kết nối hoặc ghi được CSDL kết quả {url_text}{tries}: {one_line(exc)}"


@contextlib.contextmanager
def results_faults(results_url: str) -> Iterator[None]:
    """Turn a results database fault (unreachable, full disk, read-only) into ResultsUnavailable."""
    try:
        yield
    except RESULTS_FAULTS as exc:
        from schemas.secrets import redact as redact_url

        raise ResultsUnavailable(_fault_message(redact_url(results_url), exc)) from None


def with_retries(what: Callable[[], Any], url_text: str, attempts: int | None = None) -> Any:
    """``what()``, retried with backoff on a results database fault; then ResultsUnavailable."""
    retries = results_retries() if attempts is None else attempts
    for attempt in range(retries + 1):
        try:
            return what()
        except RESULTS_FAULTS as exc:
            if attempt == retries:
                raise ResultsUnavailable(_fault_message(url_text, exc, retries + 1)) from None
            delay = 2**attempt
            log.warning("CSDL kết quả chưa sẵn sàng (%s); thử lại sau %d s", one_line(exc), delay)
            time.sleep(delay)
    raise AssertionError("unreachable")


@dataclass
class RunLock:
    """The lock held by this run; :meth:`release` (or the process's death) frees it."""

    run_id: str
    as_of: str
    started_at: str
    holder: dict = field(default_factory=dict)
    _release: Callable[[], None] | None = None

    def release(self) -> None:
        if self._release is not None:
            release, self._release = self._release, None
            with contextlib.suppress(Exception):
                release()

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def acquire_run_lock(
    results_url: str,
    as_of: str,
    *,
    run_id: str | None = None,
    wait_s: float | None = None,
    log_info: Callable[..., Any] = log.info,
) -> RunLock:
    """Take the run lock of ``results_url`` (waiting at most ``wait_s``, default DVSYNC_LOCK_WAIT)."""
    from schemas.secrets import redact as redact_url

    run_id = run_id or uuid.uuid4().hex
    started = datetime.now(UTC).isoformat(timespec="seconds")
    holder = {
        "run_id": run_id,
        "as_of": as_of,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started_at": started,
    }
    lock = RunLock(run_id=run_id, as_of=as_of, started_at=started, holder=holder)
    wait_s = lock_wait_seconds() if wait_s is None else wait_s
    url = make_url(results_url)
    shown = redact_url(results_url)
    if url.get_backend_name() == "postgresql":
        lock._release = _pg_lock(url, holder, wait_s, shown, log_info)
    elif url.get_backend_name() == "sqlite":
        database = url.database
        if database and database != ":memory:" and not database.startswith("file:"):
            lock._release = _file_lock(Path(database), holder, wait_s, shown, log_info)
    return lock


# --- SQLite: a file lock beside the database ----------------------------------------------------
def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


def _file_lock(database: Path, holder: dict, wait_s: float, shown: str, log_info) -> Callable[[], None]:
    path = lock_path(database)

    def open_lock() -> int:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)

    fd = with_retries(open_lock, shown)
    deadline = time.monotonic() + wait_s
    said = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if not said:
                log_info("Chờ lượt chạy khác đang giữ khóa: %s", _describe(_read_holder(path)))
                said = True
            if time.monotonic() >= deadline:
                os.close(fd)
                raise RunLocked(_locked_message(_read_holder(path), wait_s, shown)) from None
            time.sleep(POLL_S)
    try:
        data = (json.dumps(holder, ensure_ascii=False) + "\n").encode("utf-8")
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)
    except OSError as exc:  # a full disk: the lock is held all the same; the store will say so
        log.warning("không ghi được thông tin khóa (%s)", exc)

    def release() -> None:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)  # closing the descriptor drops the flock

    return release


def _read_holder(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}


# --- PostgreSQL: a session advisory lock on a connection of its own --------------------------------
def _pg_lock(url, holder: dict, wait_s: float, shown: str, log_info) -> Callable[[], None]:
    query = dict(url.query)
    schema = query.pop("schema", None)
    if isinstance(schema, tuple):
        schema = schema[0]
    key = advisory_key(schema)
    app = "dvsync|{run_id}|{as_of}|{pid}|{host}".format(**{**holder, "run_id": holder["run_id"][:12]})[:63]
    engine = sa.create_engine(
        url.set(query=query),
        poolclass=NullPool,
        connect_args={"application_name": app, "connect_timeout": 10},
    )

    def connect():
        conn = engine.connect()
        conn.execute(sa.text("SELECT 1"))
        return conn

    conn = with_retries(connect, shown)
    conn.commit()
    deadline = time.monotonic() + wait_s
    said = False
    try:
        while True:
            got = conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
            conn.commit()
            if got:
                break
            info = _pg_holder(conn, key)
            if not said:
                log_info("Chờ lượt chạy khác đang giữ khóa: %s", _describe(info))
                said = True
            if time.monotonic() >= deadline:
                raise RunLocked(_locked_message(info, wait_s, shown))
            time.sleep(POLL_S)
    except BaseException:
        conn.close()
        engine.dispose()
        raise

    def release() -> None:
        try:
            conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            conn.commit()
        finally:
            conn.close()
            engine.dispose()

    return release


def _pg_holder(conn, key: int) -> dict:
    """The holding session's details: from its application_name and backend_start."""
    row = conn.execute(
        sa.text(
            "SELECT a.application_name, a.backend_start FROM pg_locks l "
            "JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted "
            "AND l.classid = CAST((CAST(:k AS bigint) >> 32) & 4294967295 AS oid) "
            "AND l.objid = CAST(CAST(:k AS bigint) & 4294967295 AS oid) AND l.objsubid = 1"
        ),
        {"k": key},
    ).first()
    conn.commit()
    if row is None or not str(row[0] or "").startswith("dvsync|"):
        return {}
    parts = str(row[0]).split("|")
    info = dict(zip(["run_id", "as_of", "pid", "host"], parts[1:5], strict=False))
    if row[1] is not None:
        info["started_at"] = row[1].astimezone(UTC).isoformat(timespec="seconds")
    return info


def _describe(info: dict) -> str:
    if not info:
        return "không rõ lượt chạy"
    return (
        f"lượt chạy {info.get('run_id', '?')} (ngày {info.get('as_of', '?')}, "
        f"tiến trình {info.get('pid', '?')} trên máy {info.get('host', '?')}, "
        f"bắt đầu {info.get('started_at', '?')})"
    )


def _locked_message(info: dict, wait_s: float, shown: str) -> str:
    return (
        f"CSDL kết quả {shown} đang bị khóa bởi {_describe(info)}; đã chờ {wait_s:g} s "
        "(DVSYNC_LOCK_WAIT). Chạy lại khi lượt đó kết thúc."
    )


# --- what dead runs left behind ---------------------------------------------------------------
def clean_dead_runs(folders: list[Path]) -> list[Path]:
    """Remove the partition folders (``.dvsync-partitions-*``) under ``folders``.

    Called with the run lock held and before this run makes its own: every such folder belongs
    to a run of this results database that is no longer running (killed, or its machine lost).
    Returns what was removed."""
    removed: list[Path] = []
    for folder in dict.fromkeys(Path(f) for f in folders if f):
        for path in _entries(folder, PARTITION_PREFIX):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    if removed:
        log.info("Đã xóa %d thư mục phân vùng của lượt chạy đã dừng", len(removed))
    return removed


def _entries(folder: Path, prefix: str) -> Iterator[Path]:
    try:
        yield from (p for p in folder.iterdir() if p.name.startswith(prefix) and p.is_dir())
    except OSError:
        return
