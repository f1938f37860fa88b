"""What reading gives back: the file-level fault, a batch of workbooks validated together, and
its split into one WorkbookResult per workbook (or left whole for the store)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from connectors.workbooks.naming import safe_name
from schemas._common import NOTE_COLUMNS, empty_notes, empty_quarantine
from schemas.contract import SHEET_TABLES
from schemas.datasets import WorkbookResult


class FileFault(Exception):
    """A fault that rejects the whole file (message in Vietnamese, naming the file)."""


@dataclass
class _Batch:
    """Workbooks validated together, not yet split per workbook. Cheap to send back from a worker
    process: pickling a frame per workbook and sheet costs more than reading the workbook."""

    files: list[dict]  # per workbook: path, source, error, meta (the raw cells dropped)
    # sheet -> (accepted rows sorted by workbook, workbook numbers, start and end of their rows)
    sheets: dict[str, tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]]
    quarantine: dict[int, pd.DataFrame]  # only the workbooks with rejected rows


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while thousands of small frames are made and kept: each
    collection walks every live object, which made the split 4x slower. What is made here is
    kept; any cycle left behind is collected once the collector runs again."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _split_batch(batch: _Batch) -> list[WorkbookResult]:
    """One WorkbookResult per workbook of the batch, each with its own slice of the sheets."""
    with _gc_paused():
        return _split_batch_now(batch)


def _split_batch_now(batch: _Batch) -> list[WorkbookResult]:
    tables: list[dict[str, pd.DataFrame]] = [{} for _ in batch.files]
    for sheet, (acc, ids, starts, ends) in batch.sheets.items():
        table = SHEET_TABLES[sheet]
        empty = acc.iloc[0:0].reset_index(drop=True)
        for i, lo, hi in zip(ids, starts, ends, strict=True):
            if lo == hi:  # most workbooks report no transfers, candidates or screening notes
                tables[i][table] = empty.copy(deep=False)
            else:
                # A slice renumbered in place: reset_index would copy every column's block.
                part = acc.iloc[lo:hi]
                part.index = pd.RangeIndex(hi - lo)
                tables[i][table] = part
    return _results_of(batch, tables)


@dataclass
class ChunkRows:
    """The accepted rows of a chunk of workbooks, one frame per table, sorted by workbook, with
    each workbook's run of rows (``connectors.store`` inserts them without splitting)."""

    sheets: dict[str, tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]]


def _results_of(batch: _Batch, tables: list[dict[str, pd.DataFrame]] | None = None) -> list[WorkbookResult]:
    """One WorkbookResult per workbook of the batch: with its own ``tables`` when given (split),
    else with its rows left in the chunk (``rows``)."""
    chunk = None if tables is not None else ChunkRows({SHEET_TABLES[s]: v for s, v in batch.sheets.items()})
    results = []
    for i, f in enumerate(batch.files):
        if f["error"] is not None:
            results.append(_failed(f["path"], f["meta"].get("checksum", ""), f["error"], source=f["source"]))
            continue
        q = batch.quarantine.get(i)
        results.append(
            WorkbookResult(
                meta=f["meta"],
                tables={} if tables is None else tables[i],
                quarantine=empty_quarantine() if q is None else q,
                rows=None if chunk is None else (chunk, i),
            )
        )
    return results


def _merge_batches(batches: list[_Batch]) -> _Batch:
    """Batches of consecutive files as one (the workbook numbers of each shifted after the last)."""
    files: list[dict] = []
    quarantine: dict[int, pd.DataFrame] = {}
    parts: dict[str, list[tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]]] = {}
    for b in batches:
        base = len(files)
        files.extend(b.files)
        quarantine.update({base + i: q for i, q in b.quarantine.items()})
        for sheet, (acc, ids, starts, ends) in b.sheets.items():
            parts.setdefault(sheet, []).append((acc, ids + base, starts, ends))
    sheets = {}
    for sheet, items in parts.items():
        offsets = np.cumsum([0, *(len(a) for a, *_ in items)])[:-1]
        sheets[sheet] = (
            pd.concat([a for a, *_ in items], ignore_index=True),
            np.concatenate([ids for _, ids, _, _ in items]),
            np.concatenate([s + o for (_, _, s, _), o in zip(items, offsets, strict=True)]),
            np.concatenate([e + o for (_, _, _, e), o in zip(items, offsets, strict=True)]),
        )
    return _Batch(files=files, sheets=sheets, quarantine=quarantine)


def _failed(
    path: Path, checksum: str, message: str, meta: dict | None = None, source: str | None = None
) -> WorkbookResult:
    meta = {
        **(meta or {}),
        "_source": source or safe_name(path.name),
        "checksum": checksum,
        "path": str(path),
    }
    meta.setdefault("rows_read", {})
    meta.setdefault("rows_accepted", {})
    meta.setdefault("rows_quarantined", {})
    meta.setdefault("warnings", [])
    meta.setdefault("notes", [])
    return WorkbookResult(meta=meta, tables={}, quarantine=empty_quarantine(), error=message)


def _counts(meta: dict) -> dict:
    read = sum(meta.get("rows_read", {}).values())
    acc = sum(meta.get("rows_accepted", {}).values())
    qua = sum(meta.get("rows_quarantined", {}).values())
    return {
        "read": read,
        "accepted": acc,
        "quarantined": qua,
        "per_sheet": {
            s: {
                "read": meta["rows_read"][s],
                "accepted": meta["rows_accepted"][s],
                "quarantined": meta["rows_quarantined"][s],
            }
            for s in meta.get("rows_read", {})
        },
    }


def notes_frame(result: WorkbookResult) -> pd.DataFrame:
    """The per-row notes of a parsed workbook as a frame (NOTE_COLUMNS)."""
    notes = result.meta.get("notes") or []
    return pd.DataFrame(notes, columns=NOTE_COLUMNS) if notes else empty_notes()
