"""Writing the cell workbooks with xlsxwriter, one file per cell and period, in a process pool.

The main process lays every sheet out as one long table (all workbooks, sorted by workbook) with
plain column arrays; workers slice their workbooks out of it. Under ``fork`` the tables are
inherited, not pickled. Dates travel as day numbers and are written as ``dd/mm/yyyy`` text or as
real Excel dates (per workbook: all text, all Excel, or mixed row by row), IDs and codes always as
text so that leading zeros survive. Files are byte-for-byte reproducible (fixed document dates;
xlsxwriter stamps zip members with 1/1/1980).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
import zlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import xlsxwriter

from schemas.contract import INFO_LABELS, INFO_SHEET, SHEETS

NAT_DAY = np.iinfo(np.int64).min
_EPOCH = date(1970, 1, 1)
_EXCEL_OFFSET = 25569  # Excel serial of 1970-01-01
# Column kinds per sheet, in contract order: s text, i ID/code text, d date, m month text,
# y yes/no, n number.
KINDS: dict[str, str] = {
    "DanhSach": "isdsidds",
    "SinhHoat": "imyyy",
    "XepLoai": "ins",
    "ChuyenDi": "isiddm",
    "ChuyenDen": "isiddd",
    "CamTinh": "isdssssyydyd",
    "DanhGia": "ins",
}
WIDTHS = {"i": 16, "s": 24, "d": 12, "m": 10, "y": 10, "n": 8}


@dataclass
class Layout:
    """Everything the workers need: per workbook (file, info) and per sheet the long tables."""

    files: list[str]
    info: list[list]  # per workbook: [cell_code, MM/YYYY, created_on (day number), secretary]
    sheets: dict[str, list[np.ndarray]]  # sheet -> column arrays (object / int64)
    offsets: dict[str, np.ndarray]  # sheet -> row offset of each workbook (len = workbooks + 1)
    seed: int
    out_dir: str


_LAYOUT: Layout | None = None


def _day_text(day: int) -> str:
    d = _EPOCH + timedelta(days=int(day))
    return f"{d.day:02d}/{d.month:02d}/{d.year}"


def _write_one(layout: Layout, w: int) -> None:
    path = os.path.join(layout.out_dir, layout.files[w])
    rng = np.random.default_rng([layout.seed, zlib.crc32(layout.files[w].encode())])
    date_mode = int(rng.integers(3))  # 0 text, 1 Excel dates, 2 mixed row by row
    cell, period_label, created, secretary = layout.info[w]
    wb = xlsxwriter.Workbook(path, {"in_memory": True})
    created_dt = datetime(1970, 1, 1) + timedelta(days=int(created))
    wb.set_properties({"created": created_dt, "author": secretary, "title": f"Báo cáo chi bộ {cell}"})
    head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    text = wb.add_format({"num_format": "@"})
    datef = wb.add_format({"num_format": "dd/mm/yyyy"})

    ws = wb.add_worksheet(INFO_SHEET)
    ws.set_column(0, 0, 20)
    ws.set_column(1, 1, 26)
    values = [cell, period_label, None, secretary]
    for r, label in enumerate(INFO_LABELS):
        ws.write_string(r, 0, label, head)
        if label == "Ngày lập":
            if date_mode == 0:
                ws.write_string(r, 1, _day_text(created), text)
            else:
                ws.write_number(r, 1, int(created) + _EXCEL_OFFSET, datef)
        else:
            ws.write_string(r, 1, values[r], text)

    for sheet, headers in SHEETS.items():
        ws = wb.add_worksheet(sheet)
        kinds = KINDS[sheet]
        for c, h in enumerate(headers):
            ws.write_string(0, c, h, head)
            ws.set_column(c, c, WIDTHS[kinds[c]], text if kinds[c] in "im" else None)
        ws.freeze_panes(1, 0)
        lo, hi = int(layout.offsets[sheet][w]), int(layout.offsets[sheet][w + 1])
        if hi <= lo:
            continue
        cols = [col[lo:hi].tolist() for col in layout.sheets[sheet]]
        excel = (rng.random(hi - lo) < 0.5) if date_mode == 2 else np.full(hi - lo, date_mode == 1)
        for r in range(hi - lo):
            row = r + 1
            for c, kind in enumerate(kinds):
                v = cols[c][r]
                if kind == "d":
                    if v == NAT_DAY:
                        continue
                    if excel[r]:
                        ws.write_number(row, c, v + _EXCEL_OFFSET, datef)
                    else:
                        ws.write_string(row, c, _day_text(v))
                elif kind == "y":
                    ws.write_string(row, c, "Có" if v else "Không")
                elif kind == "n":
                    ws.write_number(row, c, v)
                elif v is not None:
                    ws.write_string(row, c, v, text if kind in "im" else None)
    wb.close()


def _write_range(bounds: tuple[int, int]) -> int:
    assert _LAYOUT is not None
    for w in range(*bounds):
        _write_one(_LAYOUT, w)
    return bounds[1] - bounds[0]


def _init(layout: Layout) -> None:
    global _LAYOUT
    _LAYOUT = layout


def write_all(layout: Layout, workers: int | None = None) -> int:
    """Write every workbook of ``layout``; returns the number of files."""
    global _LAYOUT
    Path(layout.out_dir).mkdir(parents=True, exist_ok=True)
    n = len(layout.files)
    workers = max(1, min(workers or os.cpu_count() or 1, 32))
    if workers == 1 or n < 40:
        _init(layout)
        try:
            return _write_range((0, n))
        finally:
            _LAYOUT = None
    step = max(10, min(400, n // (workers * 8) or 1))
    chunks = [(s, min(n, s + step)) for s in range(0, n, step)]
    # fork shares the layout copy-on-write; with other threads alive (e.g. inside a Prefect flow)
    # fork is unsafe, so spawn and ship the layout once per worker.
    if "fork" in mp.get_all_start_methods() and threading.active_count() == 1:
        _LAYOUT = layout
        try:
            with mp.get_context("fork").Pool(workers) as pool:
                return sum(pool.imap_unordered(_write_range, chunks))
        finally:
            _LAYOUT = None
    with mp.get_context("spawn").Pool(workers, initializer=_init, initargs=(layout,)) as pool:
        return sum(pool.imap_unordered(_write_range, chunks))
