"""The sync store: every workbook the cells ever sent, its rows and lineage, its versions.

``load_workbooks`` stores parsed workbooks (one transaction per batch) and marks the older version
of a (cell, period) ``superseded``; ``submissions``, ``quarantine``, ``workbooks`` and ``coverage``
read the current ones back with the dtypes of ``connectors.workbooks``. See ``docs/store.md``.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from connectors.store._sql import _chunks, _insert_columns, _json, _now, _select, _sorted, _to_date
from connectors.store.base import StoreBase
from connectors.store.readback import ReadbackCache, month_stamps, store_identity
from connectors.store.tables import (
    _SHEET_COLUMNS,
    HISTORY_TABLES,
    QUARANTINE,
    SUB,
    WORKBOOK_COLUMNS,
    WORKBOOKS,
)
from schemas.contract import LINEAGE_COLUMNS, QUARANTINE_COLUMNS
from schemas.datasets import SubmissionData, WorkbookResult
from schemas.precedence import by_precedence

log = logging.getLogger("connectors.store")


class SubmissionStore(StoreBase):
    """The sync store of cell submissions (tables ``sub_*``)."""

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
        # Which one speaks for its cell and period: schemas.precedence (named, Ngày lập, load).
        from connectors.workbooks import name_agrees

        df["_named"] = [
            name_agrees(str(c), [Path(str(f)).stem, *Path(str(f)).parent.parts])
            for c, f in zip(df["cell_code"], df["file"], strict=True)
        ]
        df = by_precedence(df, named="_named", created="created_on", load="load_seq")
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

    def submissions(
        self, period: str, year_from: str | None = None, cache_dir: str | Path | None = None
    ) -> SubmissionData:
        """Current (non-superseded) submissions for ``period``.

        Activity and transfers (``HISTORY_TABLES``) also cover the earlier periods from
        ``year_from`` (default: January of the period's year); the other tables only ``period``.
        Activity keeps, per (member, month), the row of the latest workbook (later period, then
        later Ngày lập, then later load). ``workbooks`` lists every current workbook read.

        ``cache_dir``: keep each (table, month) read between nights as an Arrow file there
        (``connectors.store.readback``); a month whose accepted workbooks did not change is read
        from it. The frames are the same as without it.
        """
        year_from = year_from or f"{period[:4]}-01"
        w = WORKBOOKS.c
        identity = store_identity(self.url, self.schema, self.revision()) if cache_dir is not None else None
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
            cache = stamps = None
            if identity is not None:
                cache = ReadbackCache(cache_dir, identity)
                stamps = month_stamps(
                    read(
                        _select(w.period, w.checksum, w.file, w.created_on, w.load_seq, w.loaded_at).where(
                            w.status == "accepted", w.period >= year_from, w.period <= period
                        ),
                        {"created_on": "string", "load_seq": "int"},
                    )
                )
            types = {"_created_on": "datetime", "_load_seq": "int", "_row": "int64"}
            out: dict[str, pd.DataFrame] = {}
            for name, table in SUB.items():
                lo = year_from if name in HISTORY_TABLES else period
                cols = [c for c in _submission_columns(name) if c in table.c]
                stmt = (
                    _select(
                        *[table.c[c] for c in cols], (w.created_on, "_created_on"), (w.load_seq, "_load_seq")
                    )
                    .join(WORKBOOKS, WORKBOOKS.c.checksum == table.c.checksum)
                    .where(w.status == "accepted")
                )
                whole = stmt.where(table.c.period >= lo, table.c.period <= period)
                months = [m for m in (stamps or {}) if lo <= m <= period]
                cached = cache is not None and bool(months)
                if cached:
                    df = _months_frame(
                        cache, read, table, stmt, months, stamps, [*cols, "_created_on", "_load_seq"]
                    )
                else:
                    df = read(whole, types)
                if name == "activity" and len(df):
                    latest = ["period", "_created_on", "_load_seq", "_row"]
                    df = df.sort_values(latest, na_position="first")
                    if cached and _ties(df, ["member_code", "month"], latest):
                        # Which row wins is then the database's row order: only it can tell.
                        log.info(
                            "store read-back: %s from the database: a member's month sent twice "
                            "ties on period, Ngày lập, load and row",
                            table.name,
                        )
                        df = read(whole, types).sort_values(latest, na_position="first")
                    df = df.drop_duplicates(["member_code", "month"], keep="last")
                df = df.sort_values(
                    ["period", "cell_code", "_source", "_row"], na_position="first", kind="stable"
                )
                out[name] = df[cols].reset_index(drop=True)
        if cache is not None:
            log.info(
                "store read-back: %d months from the cache, %d from the database", cache.hits, cache.misses
            )
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


def _months_frame(
    cache: ReadbackCache,
    read: Callable[..., pd.DataFrame],
    table: sa.Table,
    stmt: sa.Select,
    months: list[str],
    stamps: dict[str, dict[str, Any]],
    columns: list[str],
) -> pd.DataFrame:
    """The table's rows of ``months`` (each from the cache or the database), month after month:
    the frame one read of the whole range gives, before ``submissions`` dedups and sorts it.

    Months without an accepted workbook have no rows (every row carries its workbook's period)."""
    types = {"_created_on": "datetime", "_load_seq": "int", "_row": "int64"}
    frames = [
        cache.frame(
            table,
            month,
            cache.stamp(table, columns, month, stamps[month]),
            types,
            lambda month=month: read(stmt.where(table.c.period == month), types),
        )
        for month in months
    ]
    kept = [f for f in frames if len(f)] or frames[:1]  # empty frames would sway concat's dtypes
    return kept[0] if len(kept) == 1 else pd.concat(kept, ignore_index=True)


def _ties(df: pd.DataFrame, key: list[str], order: list[str]) -> bool:
    """Whether two rows of the same ``key`` are equal on ``order`` too (then the input order
    decides which one ``drop_duplicates`` keeps)."""
    multi = df.duplicated(key, keep=False)
    return bool(multi.any()) and bool(df.loc[multi, [*key, *order]].duplicated(keep=False).any())


def _submission_columns(name: str) -> tuple[str, ...]:
    """Columns of a submission table, in the order connectors.workbooks produces them."""
    return ("cell_code", "period", *_SHEET_COLUMNS[name], *LINEAGE_COLUMNS)


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
