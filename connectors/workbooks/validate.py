"""Pandera validation of many workbooks' sheets at once (one vectorised pass per sheet), and
``parse_workbook`` for one file."""

from __future__ import annotations

from itertools import chain
from pathlib import Path

import numpy as np
import pandas as pd

from connectors.workbooks.naming import safe_name
from connectors.workbooks.reader import _extract
from connectors.workbooks.results import _Batch, _split_batch
from schemas._common import Ctx
from schemas.contract import SHEETS
from schemas.datasets import WorkbookResult
from schemas.submission import validate_sheet


def _validate_batch(extracts: list[dict]) -> _Batch:
    """Validate the sheets of many workbooks at once (one vectorised pass per sheet); each
    workbook's counts, notes and quarantine are settled here, its tables by ``_split_batch``."""
    quarantines: dict[int, list[pd.DataFrame]] = {}
    notes: dict[int, list[pd.DataFrame]] = {}
    index_of = {e["source"]: i for i, e in enumerate(extracts)}
    sheets: dict[str, tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]] = {}
    for sheet in SHEETS:
        parts = [(i, e) for i, e in enumerate(extracts) if e["error"] is None and sheet in e["raws"]]
        if not parts:
            continue
        sizes = [len(e["raws"][sheet][1]) for _, e in parts]
        names = [c for c in SHEETS[sheet].values() if any(c in e["raws"][sheet][0] for _, e in parts)]
        raw = pd.DataFrame(
            {
                c: pd.Series(
                    list(
                        chain.from_iterable(
                            e["raws"][sheet][0].get(c, [None] * n)
                            for (_, e), n in zip(parts, sizes, strict=True)
                        )
                    ),
                    dtype=object,
                )
                for c in names
            },
            index=range(sum(sizes)),
        )
        rows = pd.Series(list(chain.from_iterable(e["raws"][sheet][1] for _, e in parts)), dtype="int64")
        wb_idx = pd.Series(
            np.concatenate([np.full(len(e["raws"][sheet][1]), i) for i, e in parts]), dtype="int64"
        )
        sources = pd.Series(
            np.array([e["source"] for e in extracts], dtype=object)[wb_idx.to_numpy()], dtype=object
        )
        for col in SHEETS[sheet].values():
            if col not in raw.columns:
                raw[col] = None
        ctx = Ctx(source=sources, sheet=sheet, rows=rows)
        accepted, quarantine, sheet_notes = validate_sheet(sheet, raw, ctx, group=wb_idx)
        pos = accepted.index.to_numpy()
        accepted = accepted.reset_index(drop=True)
        acc_wb = wb_idx.iloc[pos].to_numpy()
        accepted.insert(0, "period", [extracts[i]["meta"]["period"] for i in acc_wb])
        accepted.insert(0, "cell_code", [extracts[i]["meta"]["cell_code"] for i in acc_wb])
        accepted["_source"] = sources.iloc[pos].to_numpy()
        accepted["_sheet"] = sheet
        accepted["_row"] = rows.iloc[pos].to_numpy()
        for c in ("cell_code", "period", "_source", "_sheet"):
            accepted[c] = accepted[c].astype("string")
        accepted["_row"] = accepted["_row"].astype("int64")
        q_wb = quarantine["source"].map(index_of).to_numpy() if len(quarantine) else np.array([], dtype=int)
        n_wb = sheet_notes["source"].map(index_of).to_numpy() if len(sheet_notes) else np.array([], dtype=int)
        # Split the batch back per workbook in one pass (sorted slices), not one mask per workbook:
        # a mask per workbook is quadratic and took minutes at 4,000 workbooks.
        order = np.argsort(acc_wb, kind="stable")
        acc_sorted, wb_sorted = accepted.iloc[order].reset_index(drop=True), acc_wb[order]
        ids = np.array([i for i, _ in parts])
        starts, ends = np.searchsorted(wb_sorted, ids, "left"), np.searchsorted(wb_sorted, ids, "right")
        sheets[sheet] = (acc_sorted, ids, starts, ends)
        q_by = {k: g for k, g in quarantine.groupby(q_wb, sort=False)} if len(quarantine) else {}
        n_by = {k: g for k, g in sheet_notes.groupby(n_wb, sort=False)} if len(sheet_notes) else {}
        for (i, e), lo, hi in zip(parts, starts, ends, strict=True):
            q = q_by.get(i)
            if q is not None:
                quarantines.setdefault(i, []).append(q)
            if i in n_by:
                notes.setdefault(i, []).append(n_by[i])
            notes.setdefault(i, []).extend(e["raws"][sheet][2])
            meta = e["meta"]
            meta["rows_read"][sheet] = len(e["raws"][sheet][1])
            meta["rows_accepted"][sheet] = int(hi - lo)
            meta["rows_quarantined"][sheet] = 0 if q is None else len(q)
    files, quarantine_of = [], {}
    for i, e in enumerate(extracts):
        if e["error"] is None:
            nt = [x for x in notes.get(i, []) if len(x)]
            e["meta"]["notes"] = pd.concat(nt, ignore_index=True).to_dict("records") if nt else []
            q = [x for x in quarantines.get(i, []) if len(x)]
            if q:
                quarantine_of[i] = pd.concat(q, ignore_index=True)
        files.append({k: e[k] for k in ("path", "source", "error", "meta")})
    return _Batch(files=files, sheets=sheets, quarantine=quarantine_of)


def parse_workbook(path: Path, source: str | None = None) -> WorkbookResult:
    """Parse and validate one cell workbook. Never raises.

    meta: cell_code, period (YYYY-MM), created_on, secretary, _source, checksum, path, mtime,
    rows_read / rows_accepted / rows_quarantined (per sheet), warnings (file-level messages that
    do not reject the file), must_fix (those of them the secretary must fix), notes (list of
    dicts: automatic fixes and cross-field warnings per row, NOTE_COLUMNS).
    """
    path = Path(path)
    # A lone file (dvsync check): its cell code may also be in its own folder's name.
    return _validate_extracts([_extract(path, source or safe_name(path.name), folder_too=source is None)])[0]


def _validate_extracts(extracts: list[dict]) -> list[WorkbookResult]:
    """Validate the sheets of many workbooks at once, then hand each workbook its accepted rows,
    quarantine and notes."""
    return _split_batch(_validate_batch(extracts))


def _parse_chunk(paths: list[Path], sources: list[str]) -> _Batch:
    """Read and validate some workbooks (in a worker process); never raises for a bad file."""
    return _validate_batch([_extract(p, s) for p, s in zip(paths, sources, strict=True)])
