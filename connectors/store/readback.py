"""The store's read-back kept columnar between nights (issue #19).

``ResultsStore.submissions(period, cache_dir=…)`` reads the rows of every (table, period month)
once from the results database and keeps them as an Arrow IPC file, ``<cache_dir>/<table>/
<YYYY-MM>.arrow``, stamped (schema metadata) with exactly what they were read from:

- the store's identity: URL without password, schema, Alembic revision;
- the table: the columns selected and the SQL table's columns and types;
- the month's accepted workbooks: their number, the largest ``load_seq`` and a SHA-256 of the
  sorted (checksum, file, created_on, load_seq, loaded_at) of every one of them.

A month whose stamp still matches is read from its file; any other (a new, corrected or
superseded workbook, another store or revision, other columns, an unreadable file) is read from
the database, with one log line saying why, and its file rewritten (temp file, fsync,
``os.replace``: a crash leaves the whole old file or the whole new one). The rows of a month are
those of its accepted workbooks only: every stored row carries its workbook's own period
(``load_workbooks`` stamps the lineage), so a month's rows change only when that set does.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from connectors.durable import fsync_dir
from connectors.store._sql import _arrow_frame

log = logging.getLogger("connectors.store")

FORMAT = "dvsync-readback-1"
_KEY = b"dvsync.readback"
_MONTH = re.compile(r"^\d{4}-\d{2}$")  # a month that can name a file (anything else: no cache)


def store_identity(url: sa.engine.URL, schema: str | None, revision: str | None) -> dict[str, Any]:
    """What a cached month was read from: the store (never its password) and its schema version."""
    return {
        "url": url.set(password=None).render_as_string(hide_password=True),
        "schema": schema,
        "revision": revision,
    }


def month_stamps(books: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Per period month, the stamp of its accepted workbooks.

    ``books``: ``period``, ``checksum``, ``file``, ``created_on``, ``load_seq``, ``loaded_at`` of
    the accepted workbooks (one row each)."""
    if not len(books):
        return {}
    text = {
        c: books[c].astype("string").fillna("")
        for c in ("checksum", "file", "created_on", "load_seq", "loaded_at")
    }
    lines = text["checksum"].str.cat(
        [text[c] for c in ("file", "created_on", "load_seq", "loaded_at")], sep="|"
    )
    frame = pd.DataFrame(
        {"period": books["period"].astype("string"), "line": lines, "seq": books["load_seq"].astype("Int64")}
    )
    frame = frame.sort_values(["period", "line"], kind="stable")
    stamps: dict[str, dict[str, Any]] = {}
    for month, group in frame.groupby("period", sort=True):
        digest = hashlib.sha256("\n".join(group["line"].tolist()).encode()).hexdigest()
        stamps[str(month)] = {
            "workbooks": len(group),
            "max_load_seq": int(group["seq"].max()) if group["seq"].notna().any() else None,
            "digest": digest,
        }
    return stamps


class ReadbackCache:
    """The months of the store's tables kept as Arrow IPC files under ``folder``."""

    def __init__(self, folder: str | Path, identity: dict[str, Any]):
        self.folder = Path(folder)
        self.identity = identity
        self.hits = 0
        self.misses = 0
        self.unwritable = False  # after one failed write, the night stops trying (one log line)

    def stamp(self, table: sa.Table, columns: list[str], month: str, books: dict[str, Any]) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "store": self.identity,
            "table": table.name,
            "columns": columns,
            "sql_columns": [[c.name, str(c.type)] for c in table.columns],
            "month": month,
            "books": books,
        }

    def path(self, table: sa.Table, month: str) -> Path | None:
        return self.folder / table.name / f"{month}.arrow" if _MONTH.match(month) else None

    def frame(
        self,
        table: sa.Table,
        month: str,
        stamp: dict[str, Any],
        types: dict[str, str],
        from_database: Callable[[], pd.DataFrame],
    ) -> pd.DataFrame:
        """The month's rows: from its file when the stamp matches, else from the database (then
        the file is rewritten)."""
        path = self.path(table, month)
        if path is None:
            return from_database()
        cached, why = self._load(path, stamp, types)
        if cached is not None:
            self.hits += 1
            return cached
        self.misses += 1
        if why:
            log.info("store read-back: %s %s from the database: %s", table.name, month, why)
        df = from_database()
        if not self.unwritable:
            self._save(path, stamp, df)
        return df

    def _load(
        self, path: Path, stamp: dict[str, Any], types: dict[str, str]
    ) -> tuple[pd.DataFrame | None, str]:
        if not path.exists():
            return None, ""  # never cached: the first read is not a doubt
        try:
            with pa.memory_map(str(path)) as source:
                reader = pa.ipc.open_file(source)
                meta = (reader.schema.metadata or {}).get(_KEY)
                if meta is None:
                    return None, "the cached file has no stamp"
                why = _difference(json.loads(meta), stamp)
                if why:
                    return None, why
                data = reader.read_all()
            if data.column_names != stamp["columns"]:
                return None, "the cached file has other columns"
            return _arrow_frame(data, types), ""
        except (OSError, ValueError, pa.ArrowException) as exc:
            return None, f"the cached file is unreadable ({type(exc).__name__})"

    def _save(self, path: Path, stamp: dict[str, Any], df: pd.DataFrame) -> None:
        """Write the month's file atomically; a failure costs the cache, never the night."""
        tmp = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
        try:
            data = _to_arrow(df).replace_schema_metadata({_KEY: json.dumps(stamp, sort_keys=True).encode()})
            path.parent.mkdir(parents=True, exist_ok=True)
            with (
                pa.OSFile(str(tmp), "wb") as sink,
                pa.ipc.new_file(sink, data.schema, options=pa.ipc.IpcWriteOptions(compression="lz4")) as w,
            ):
                w.write_table(data)
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
            os.replace(tmp, path)
            fsync_dir(path.parent)
        except (OSError, ValueError, pa.ArrowException) as exc:
            tmp.unlink(missing_ok=True)
            self.unwritable = True
            log.warning("store read-back: not cached tonight (%s: %s)", path, exc)


def _difference(found: dict[str, Any], wanted: dict[str, Any]) -> str:
    """Why a cached month's stamp is not tonight's ('' if it is)."""
    if found == wanted:
        return ""
    reasons = {
        "format": "another cache format",
        "store": "another store or schema revision",
        "table": "another table",
        "columns": "other columns",
        "sql_columns": "the table's columns changed",
        "month": "another month",
        "books": "the month's accepted workbooks changed",
    }
    for key, reason in reasons.items():
        if found.get(key) != wanted.get(key):
            return reason
    return "the stamp differs"


def _to_arrow(df: pd.DataFrame) -> pa.Table:
    """The frame as Arrow in the types ``_arrow_frame`` reads back fast: text, date32 (dates are
    whole days), bool, int64."""
    data = pa.Table.from_pandas(df, preserve_index=False).replace_schema_metadata(None)
    for i, field in enumerate(data.schema):
        if pa.types.is_timestamp(field.type) and field.type.tz is None:
            col = data.column(i)
            days = pc.cast(col, pa.date32())  # truncates: kept only if no value had a time of day
            if pc.all(pc.equal(pc.cast(days, field.type), col)).as_py() in (True, None):
                data = data.set_column(i, field.name, days)
    return data
