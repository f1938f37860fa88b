"""Steady nights proportional to change: a table whose mapping names a ``change_marker`` (a
rowversion or last-modified column) and a ``key`` (the source's unique integer key) is read in
full once, kept as a columnar snapshot, and afterwards read as what changed since.

Layout under the state folder (``<out>/.state/central/``):

- ``<table>.json``: the manifest: format, which central database (a digest of its address
  without credentials) and mapping it belongs to, the source table's columns, the high-water
  mark (the largest marker value among the rows read: the database's own values, never the
  clock), and the generation folder with its pieces;
- ``<table>-<generation>/piece-NNNNNN.arrow``: the rows in key order, as Arrow IPC files (memory
  mapped, read without a copy), each with the key in ``_dvsync_key``.

A night writes a new generation beside the old one and makes it current by replacing the
manifest (temp file, fsync, ``os.replace``) only once the whole extraction has succeeded: a
crash at any point leaves the previous snapshot as it was. Unchanged pieces are hard-linked.

The next night, in the same read-only snapshot as every other table: the rows whose marker is at
or above the mark (``>=``: a row written in the same instant after last night's read is not
missed; those read again unchanged are left out), the key column in full (deletions), merged
into the snapshot piece by piece (upsert by key, deleted keys dropped). A marked table is read
in key order on every night (``ORDER BY`` its key, which the primary key's index serves), so the
frame equals a full read row for row, with the same types; ``_record`` numbers follow that
order. Any doubt (no snapshot, another central database, the mapping or the source's columns
changed, a marker that went back, is empty or is text outside SQLite, a key that is not a unique
integer, a row that appeared below the mark, a column whose type changed, an unreadable
snapshot) means a full read, with one log line saying why.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from connectors.central.base import (
    Reader,
    TableMap,
    _ansi_dialect,
    build_select,
    iter_sql,
    log,
    redact,
    with_parameter,
)
from connectors.durable import fsync_dir
from schemas.contract import CENTRAL_INTEGER_COLUMNS

KEY = "_dvsync_key"
MARK = "_dvsync_mark"
FORMAT = 1
_GENERATION = re.compile(r"[0-9a-f]{16}")
_PIECE = re.compile(r"piece-[0-9]{6}\.arrow")


class Doubt(Exception):  # noqa: N818 - not an error: the reason for a full read
    """Why this night reads the table in full."""


# --- the high-water mark: a database value, kept with its type ----------------------------------


def encode_mark(value: Any) -> dict | None:
    """A marker value -> JSON (its Python type kept, so that it binds back as the same type)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise Doubt("the change marker is a flag")
    if isinstance(value, int):
        return {"type": "int", "value": value}
    if isinstance(value, Decimal):
        return {"type": "decimal", "value": str(value)}
    if isinstance(value, float):
        return {"type": "float", "value": repr(value)}
    if isinstance(value, str):
        return {"type": "str", "value": value}
    if isinstance(value, bytes | bytearray | memoryview):  # SQL Server rowversion: binary(8)
        return {"type": "bytes", "value": bytes(value).hex()}
    if isinstance(value, dt.datetime):  # before date: a datetime is a date
        return {"type": "datetime", "value": value.isoformat()}
    if isinstance(value, dt.date):
        return {"type": "date", "value": value.isoformat()}
    raise Doubt(f"the change marker's type is not supported ({type(value).__name__})")


def decode_mark(doc: dict | None) -> Any:
    if doc is None:
        return None
    kind, value = doc["type"], doc["value"]
    decode = {
        "int": int,
        "decimal": Decimal,
        "float": float,
        "str": str,
        "bytes": bytes.fromhex,
        "datetime": dt.datetime.fromisoformat,
        "date": dt.date.fromisoformat,
    }
    if kind not in decode:
        raise ValueError(kind)
    return decode[kind](value)


# --- the snapshot on disk ----------------------------------------------------------------------


@dataclass
class Snapshot:
    """Last night's rows of one table: its pieces (memory-mapped) and its high-water mark."""

    hwm: Any
    paths: list[Path]
    pieces: list[pa.Table]


def _identity(tm: TableMap) -> dict:
    return {
        "table": tm.table,
        "source": list(tm.source or ()),
        "columns": tm.columns,
        "change_marker": tm.marker,
        "key": tm.key,
    }


class SnapshotStore:
    """The snapshots of one central database's marked tables, in ``folder``."""

    def __init__(self, folder: Path | str, source: str) -> None:
        self.folder = Path(folder)
        # Which central database: a digest of its address without credentials.
        self.source_id = hashlib.sha256(redact(source).encode("utf-8")).hexdigest()

    def _manifest(self, table: str) -> Path:
        return self.folder / f"{table}.json"

    def load(self, tm: TableMap, source_columns: list[str]) -> Snapshot:
        """Last night's snapshot of ``tm``, or Doubt saying why there is none to build on."""
        path = self._manifest(tm.table)
        if not path.is_file():
            raise Doubt("no snapshot yet")
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(doc, dict) or doc.get("format") != FORMAT:
                raise Doubt("the snapshot is of another format")
            if doc.get("central") != self.source_id:
                raise Doubt("the snapshot is of another central database")
            if doc.get("mapping") != _identity(tm):
                raise Doubt("the mapping changed")
            if doc.get("source_columns") != source_columns:
                raise Doubt("the source table's columns changed")
            hwm = decode_mark(doc.get("hwm"))
            if hwm is None:
                raise Doubt("the snapshot has no high-water mark (the table was empty)")
            generation = str(doc["generation"])
            if not _GENERATION.fullmatch(generation):
                raise ValueError("generation")
            folder = self.folder / f"{tm.table}-{generation}"
            paths, pieces = [], []
            for entry in doc["pieces"]:
                name, rows, size = str(entry["file"]), int(entry["rows"]), int(entry["bytes"])
                if not _PIECE.fullmatch(name):
                    raise ValueError("piece")
                piece_path = folder / name
                if piece_path.stat().st_size != size:
                    raise ValueError("size")
                table = pa.ipc.open_file(pa.memory_map(str(piece_path))).read_all()
                if table.num_rows != rows or table.schema.names != [*tm.columns, KEY]:
                    raise ValueError("content")
                if table.schema.field(KEY).type != pa.int64():
                    raise ValueError("key")
                paths.append(piece_path)
                pieces.append(table)
        except Doubt:
            raise
        except (OSError, ValueError, TypeError, KeyError, pa.ArrowException) as exc:
            raise Doubt(f"the snapshot is unreadable ({type(exc).__name__})") from None
        return Snapshot(hwm, paths, pieces)

    def writer(self, tm: TableMap, source_columns: list[str]) -> SnapshotWriter:
        return SnapshotWriter(self, tm, source_columns)

    def commit(self, writers: list[SnapshotWriter]) -> None:
        """Make every finished snapshot current (each by one rename of its manifest), then
        remove the generations no manifest names (the old ones, and those of crashed runs)."""
        for w in writers:
            w.commit()
        for w in writers:
            self._clean(w.tm.table)

    def _clean(self, table: str) -> None:
        try:
            doc = json.loads(self._manifest(table).read_text(encoding="utf-8"))
            keep = f"{table}-{doc['generation']}"
        except (OSError, ValueError, KeyError, TypeError):
            keep = None
        try:
            entries = list(self.folder.iterdir())
        except OSError:
            return
        for entry in entries:
            stale_dir = entry.name.startswith(f"{table}-") and entry.name != keep and entry.is_dir()
            stale_tmp = entry.name.startswith(f"{table}.json.tmp-")
            if stale_dir and _GENERATION.fullmatch(entry.name[len(table) + 1 :]):
                shutil.rmtree(entry, ignore_errors=True)
            elif stale_tmp:
                entry.unlink(missing_ok=True)


@dataclass
class SnapshotWriter:
    """Tonight's rows of one table, written piece by piece into a new generation folder.

    Writing the snapshot must never fail the night: a write error abandons it (one log line) and
    the next night reads in full."""

    store: SnapshotStore
    tm: TableMap
    source_columns: list[str]
    hwm: Any = None
    void: str | None = None
    generation: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    pieces: list[dict] = field(default_factory=list)

    @property
    def folder(self) -> Path:
        return self.store.folder / f"{self.tm.table}-{self.generation}"

    def _next(self) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        return self.folder / f"piece-{len(self.pieces):06d}.arrow"

    def write(self, table: pa.Table) -> None:
        if self.void:
            return
        try:
            path = self._next()
            with open(path, "wb") as f:
                with pa.ipc.new_file(f, table.schema) as w:
                    w.write_table(table)
                f.flush()
                os.fsync(f.fileno())
            self.pieces.append({"file": path.name, "rows": table.num_rows, "bytes": path.stat().st_size})
        except OSError as exc:
            self.abandon(f"the snapshot could not be written: {exc.strerror or type(exc).__name__}")

    def link(self, old: Path, rows: int) -> None:
        """An unchanged piece: the same file, hard-linked (copied where links are not possible)."""
        if self.void:
            return
        try:
            path = self._next()
            try:
                os.link(old, path)
            except OSError:
                shutil.copyfile(old, path)
            self.pieces.append({"file": path.name, "rows": rows, "bytes": path.stat().st_size})
        except OSError as exc:
            self.abandon(f"the snapshot could not be written: {exc.strerror or type(exc).__name__}")

    def abandon(self, reason: str) -> None:
        if not self.void:
            self.void = reason
            log.info("central %s: no snapshot kept tonight (%s)", self.tm.table, reason)
        shutil.rmtree(self.folder, ignore_errors=True)

    def commit(self) -> None:
        if self.void:
            return
        try:
            mark = encode_mark(self.hwm)
        except Doubt as exc:
            self.abandon(str(exc))
            return
        doc = {
            "format": FORMAT,
            "central": self.store.source_id,
            "mapping": _identity(self.tm),
            "source_columns": self.source_columns,
            "hwm": mark,
            "generation": self.generation,
            "rows": sum(p["rows"] for p in self.pieces),
            "pieces": self.pieces,
        }
        target = self.store._manifest(self.tm.table)
        tmp = target.with_name(f"{target.name}.tmp-{self.generation}")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)  # an empty table: no piece, one folder
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(doc, f, ensure_ascii=False)
                f.flush()
                os.fsync(f.fileno())
            fsync_dir(self.folder)
            os.replace(tmp, target)
            fsync_dir(self.store.folder)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            self.abandon(f"the snapshot could not be written: {exc.strerror or type(exc).__name__}")


# --- SQL ----------------------------------------------------------------------------------------


def _q(reader: Reader):  # noqa: ANN202 - the dialect's identifier quoting
    return (reader.dialect or _ansi_dialect()).identifier_preparer.quote_identifier


def _from(tm: TableMap, reader: Reader) -> str:
    q = _q(reader)
    return ".".join(q(p) for p in tm.source or ())


def _rows_sql(tm: TableMap, reader: Reader, since: bool) -> str:
    """The table's SELECT with its key and marker (``_dvsync_key``, ``_dvsync_mark``), in key
    order; ``since``: only the rows whose marker is at or above a bound parameter."""
    q = _q(reader)
    sql = build_select(tm, dialect=reader.dialect, also={KEY: tm.key or "", MARK: tm.marker or ""})
    order = f" ORDER BY {q(tm.key or '')}"
    if since:
        return with_parameter(f"{sql} WHERE {q(tm.marker or '')} >= ", order, reader.dialect)
    return sql + order


def _integers(tm: TableMap) -> list[str]:
    return CENTRAL_INTEGER_COLUMNS.get(tm.table, [])


ROWID = ("rowid", "_rowid_", "oid")


def _own(tm: TableMap, reader: Reader) -> dict[str, list[str]]:
    """How the column-wise SQLite reader judges the key and the marker: SQLite's rowid is an
    integer by construction (no scan to check it); any other key is checked on its own."""
    rowid = "sqlite" in reader.dbms.lower() and (tm.key or "").lower() in ROWID
    return {"own": [MARK] if rowid else [KEY, MARK], "trusted": [KEY] if rowid else []}


def read_mark(reader: Reader, tm: TableMap) -> Any:
    """The largest marker value in the table, in the extraction's snapshot."""
    q = _q(reader)
    return reader.scalar(f"SELECT MAX({q(tm.marker or '')}) FROM {_from(tm, reader)}")


def _keys_now(reader: Reader, tm: TableMap, chunk_size: int) -> np.ndarray:
    """Every key of the table now, sorted (one column: the deletions). No ORDER BY: the database
    may then read the keys from any index that holds them, smaller than the table."""
    q = _q(reader)
    sql = f"SELECT {q(tm.key or '')} AS {q(KEY)} FROM {_from(tm, reader)}"
    if hasattr(reader, "int_column"):  # a driver's bulk path: no Python object per key
        try:
            return np.sort(reader.int_column(sql, chunk_size))
        except (ValueError, TypeError, OverflowError):
            raise Doubt("the key is not an integer column") from None
    judged = _own(tm, reader)
    own = [n for n in judged["own"] if n == KEY]
    chunks = [
        _key_array(c)
        for c in iter_sql(reader, sql, [KEY], [], chunk_size, own=own, trusted=judged["trusted"])
    ]
    return np.sort(np.concatenate(chunks)) if chunks else np.empty(0, dtype=np.int64)


def _key_array(chunk: pa.Table) -> np.ndarray:
    col = chunk.column(KEY)
    if col.null_count:
        raise Doubt("the key has empty values")
    if not (pa.types.is_integer(col.type) or pa.types.is_null(col.type)):
        raise Doubt("the key is not an integer column")
    return pc.cast(col, pa.int64()).to_numpy()


def _increasing(keys: np.ndarray, after: int | None = None) -> bool:
    """Strictly increasing: unique and in order (and above ``after``)."""
    ok = bool((np.diff(keys) > 0).all())
    return ok and (after is None or not len(keys) or keys[0] > after)


def _member(sorted_ref: np.ndarray, values: np.ndarray) -> np.ndarray:
    """values found in the sorted ``sorted_ref``, by binary search (no hashing of either)."""
    if not len(sorted_ref):
        return np.zeros(len(values), dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_ref, values), len(sorted_ref) - 1)
    return sorted_ref[pos] == values


def _with_int_key(chunk: pa.Table) -> pa.Table:
    i = chunk.schema.get_field_index(KEY)
    return chunk.set_column(i, KEY, pa.array(_key_array(chunk), pa.int64()))


def _combine(tables: list[pa.Table], names: list[str]) -> pa.Table:
    """Tables of one column layout concatenated; an all-null column takes the others' type (and
    stays null-typed when it is null everywhere, as a full read's chunk would be)."""
    if not tables:
        return pa.table({n: pa.array([], pa.null()) for n in names})
    columns = []
    for n in names:
        types = {t.schema.field(n).type for t in tables} - {pa.null()}
        if len(types) > 1:
            raise Doubt(f"column {n} holds values of several types")
        target = types.pop() if types else pa.null()
        parts = [
            t.column(n) if t.schema.field(n).type == target else pa.nulls(t.num_rows, target) for t in tables
        ]
        columns.append(pa.chunked_array([c for p in parts for c in getattr(p, "chunks", [p])], target))
    return pa.table(columns, names=names)


# --- the two ways of reading a marked table ----------------------------------------------------


def read_marked(
    reader: Reader,
    tm: TableMap,
    chunk_size: int,
    store: SnapshotStore,
    source_columns: list[str],
) -> tuple[Iterator[pa.Table], SnapshotWriter]:
    """One marked table's chunks (contract columns, key order) and the writer of tonight's
    snapshot (committed by the caller once the whole extraction has succeeded).

    Everything that decides between the incremental and the full read happens here, before the
    first chunk: a doubt found later could no longer fall back."""
    writer = store.writer(tm, source_columns)
    try:
        snap = store.load(tm, source_columns)
        plan = _plan(reader, tm, chunk_size, snap)
    except Doubt as why:
        log.info("central %s: full read (%s)", tm.table, why)
        return _full(reader, tm, chunk_size, writer), writer
    log.info(
        "central %s: incremental read: %d rows changed or added, %d deleted, %d kept",
        tm.table,
        plan.changed.num_rows,
        plan.deleted,
        plan.kept,
    )
    writer.hwm = plan.hwm
    return _merged(tm, chunk_size, snap, plan, writer), writer


class _Mark:
    """The largest marker value among the rows read (their own values, never the clock)."""

    def __init__(self, reader: Reader, start: Any = None) -> None:
        self.value = start
        self.sqlite = "sqlite" in reader.dbms.lower()

    def add(self, chunk: pa.Table) -> None:
        col = chunk.column(MARK)
        if col.null_count:
            raise Doubt("the change marker has empty values")
        if not len(col):
            return
        if (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)) and not self.sqlite:
            # Text compares by the database's collation, not by code points: no safe mark.
            raise Doubt("the change marker is a text column")
        top = pc.max(col).as_py()
        try:
            if self.value is None or top > self.value:
                self.value = top
        except TypeError:
            raise Doubt("the change marker holds values of several types") from None


def _full(reader: Reader, tm: TableMap, chunk_size: int, writer: SnapshotWriter) -> Iterator[pa.Table]:
    names = list(tm.columns)
    last: int | None = None
    mark = _Mark(reader)
    sql = _rows_sql(tm, reader, since=False)
    for chunk in iter_sql(reader, sql, [*names, KEY, MARK], _integers(tm), chunk_size, **_own(tm, reader)):
        if not writer.void:
            try:
                keyed = _with_int_key(chunk)
                keys = keyed.column(KEY).to_numpy()
                if not _increasing(keys, last):
                    raise Doubt("the key is not unique")
                last = int(keys[-1]) if len(keys) else last
                mark.add(keyed)
                keyed = keyed.select([*names, KEY])
                for start in range(0, max(keyed.num_rows, 1), max(chunk_size, 1)):
                    writer.write(keyed.slice(start, chunk_size))  # pieces of a chunk's size
            except Doubt as why:
                writer.abandon(str(why))
        yield chunk.select(names)
    writer.hwm = mark.value


@dataclass
class _Plan:
    changed: pa.Table  # the rows changed or added since last night, key order, with KEY (int64)
    keys: np.ndarray  # every key now, sorted
    alive: np.ndarray  # per row of the snapshot (pieces in turn): its key still exists
    replaced: np.ndarray  # per row of the snapshot: a changed row takes its place
    hwm: Any
    deleted: int
    kept: int


def _plan(reader: Reader, tm: TableMap, chunk_size: int, snap: Snapshot) -> _Plan:
    names = [*tm.columns, KEY]
    top = read_mark(reader, tm)
    if top is None:
        raise Doubt("the table is empty")
    if type(top) is not type(snap.hwm):
        raise Doubt("the change marker's type changed")
    if top < snap.hwm:
        raise Doubt("the change marker went back (a restored database?)")
    sql = _rows_sql(tm, reader, since=True)
    mark = _Mark(reader, snap.hwm)
    chunks = []
    for c in iter_sql(
        reader, sql, [*names, MARK], _integers(tm), chunk_size, (snap.hwm,), **_own(tm, reader)
    ):
        c = _with_int_key(c)
        mark.add(c)
        chunks.append(c.select(names))
    changed = _combine(chunks, names)
    keys = _keys_now(reader, tm, chunk_size)
    if not _increasing(keys):
        raise Doubt("the key is not unique")
    ck = changed.column(KEY).to_numpy() if changed.num_rows else np.empty(0, dtype=np.int64)
    if not _increasing(ck) or not _member(keys, ck).all():
        raise Doubt("the changed rows do not match the keys")
    old = (
        np.concatenate([p.column(KEY).to_numpy() for p in snap.pieces])
        if snap.pieces
        else np.empty(0, np.int64)
    )
    if not _increasing(old):
        raise Doubt("the snapshot's keys are out of order")
    _check_types(tm, snap, changed, reader)
    # Most nights delete nothing: then the keys are last night's, in one comparison.
    alive = np.ones(len(old), dtype=bool) if np.array_equal(old, keys) else _member(keys, old)
    new = ~_member(old, ck)
    # A key now that is neither last night's nor among the changed rows was written with a marker
    # below the mark (a transaction that committed late): the snapshot cannot know its row.
    appeared = len(keys) - int(alive.sum()) - int(new.sum())
    if appeared:
        raise Doubt(f"{appeared} rows appeared below the high-water mark")
    changed, ck = _drop_unchanged(tm, snap, old, changed, ck, new)
    replaced = _member(ck, old)
    return _Plan(
        changed, keys, alive, replaced, mark.value, int((~alive).sum()), int((alive & ~replaced).sum())
    )


def _drop_unchanged(
    tm: TableMap, snap: Snapshot, old: np.ndarray, changed: pa.Table, ck: np.ndarray, new: np.ndarray
) -> tuple[pa.Table, np.ndarray]:
    """The rows read again only because their marker equals the mark (``>=``), identical to
    last night's: left out, so that their pieces stay as they are."""
    again = np.flatnonzero(~new)
    if not len(again):
        return changed, ck
    # Pieces may differ in null-typed columns: "permissive" gives them the others' type.
    before = pa.concat_tables(snap.pieces, promote_options="permissive")
    before = before.take(pa.array(np.searchsorted(old, ck[again])))
    now = changed.take(pa.array(again))
    same = np.ones(len(again), dtype=bool)
    for n in tm.columns:
        a, b = before.column(n), now.column(n)
        both_null = _nulls(a) & _nulls(b)
        if a.type != b.type:  # one side all-null (types were checked): equal only where both are
            same &= both_null
        else:
            same &= np.asarray(pc.fill_null(pc.equal(a, b), False).to_numpy(zero_copy_only=False)) | both_null
    if not same.any():
        return changed, ck
    keep = np.ones(changed.num_rows, dtype=bool)
    keep[again[same]] = False
    return changed.filter(pa.array(keep)), ck[keep]


def _nulls(col: pa.ChunkedArray) -> np.ndarray:
    return np.asarray(col.is_null().to_numpy(zero_copy_only=False), dtype=bool)


def _check_types(tm: TableMap, snap: Snapshot, changed: pa.Table, reader: Reader) -> None:
    """The merged frame must have the types a full read would give: one type per column."""
    column_wise = hasattr(reader, "iter_arrow")
    for n in tm.columns:
        types = {p.schema.field(n).type for p in snap.pieces}
        if changed.num_rows:
            types.add(changed.schema.field(n).type)
        types -= {pa.null()}
        if len(types) > 1:
            raise Doubt(f"column {n} changed type")
        # The column-wise SQLite reader keeps an integer column integer only while every value is
        # one: a text value in last night's rows may be gone tonight.
        integer = n in CENTRAL_INTEGER_COLUMNS.get(tm.table, [])
        if column_wise and integer and types and not pa.types.is_integer(next(iter(types))):
            raise Doubt(f"integer column {n} held text")


def _merged(
    tm: TableMap, chunk_size: int, snap: Snapshot, plan: _Plan, writer: SnapshotWriter
) -> Iterator[pa.Table]:
    names = [*tm.columns, KEY]
    changed = plan.changed
    ck = changed.column(KEY).to_numpy() if changed.num_rows else np.empty(0, dtype=np.int64)
    offsets = np.cumsum([0, *(p.num_rows for p in snap.pieces)])
    pieces = [
        (i, path, p) for i, (path, p) in enumerate(zip(snap.paths, snap.pieces, strict=True)) if p.num_rows
    ]
    # Each changed row goes to the piece whose key range holds it (before the first: the first).
    firsts = np.array([p.column(KEY)[0].as_py() for _, _, p in pieces], dtype=np.int64)
    home = np.maximum(np.searchsorted(firsts, ck, side="right") - 1, 0)
    bounds = np.searchsorted(home, np.arange(len(pieces) + 1))
    big = max(chunk_size, 1) * 2  # a piece that grew past this is cut (inserts pile up at the end)
    yielded = False
    for j, (i, path, piece) in enumerate(pieces):
        keep = plan.alive[offsets[i] : offsets[i + 1]] & ~plan.replaced[offsets[i] : offsets[i + 1]]
        lo, hi = int(bounds[j]), int(bounds[j + 1])
        if hi == lo and keep.all():
            writer.link(path, piece.num_rows)
            yielded = True
            yield piece.select(list(tm.columns))
            continue
        kept = piece.filter(pa.array(keep))
        merged = _combine([kept, changed.slice(lo, hi - lo)], names)
        # Two runs each in key order: one stable sort of the keys gives the merged order.
        order = np.argsort(merged.column(KEY).to_numpy(), kind="stable")
        if hi > lo:
            merged = merged.take(pa.array(order))
        step = big if merged.num_rows > big else max(merged.num_rows, 1)
        for start in range(0, merged.num_rows, step):
            part = merged.slice(start, step)
            writer.write(part)
            yielded = True
            yield part.select(list(tm.columns))
    if not pieces and changed.num_rows:
        for start in range(0, changed.num_rows, big):
            part = changed.slice(start, big)
            writer.write(part)
            yielded = True
            yield part.select(list(tm.columns))
    if not yielded:
        yield changed.select(list(tm.columns)).slice(0, 0)  # no rows: the types of an empty read
