"""Writing the cell workbooks with xlsxwriter, one file per cell and period, in a process pool.

The main process lays every sheet out as one long table (all workbooks, sorted by workbook) with
plain column arrays; workers slice their workbooks out of it. Under ``fork`` the tables are
inherited, not pickled. Dates travel as day numbers and are written as ``dd/mm/yyyy`` text or as
real Excel dates (per workbook: all text, all Excel, or mixed row by row), IDs and codes as text
so that leading zeros survive. The planted input faults (dvsync.demo.faults) add rows whose dates
are ``d.m.yyyy`` text (``Layout.dots``) and IDs given as Python ints, written as numbers. Files are byte-for-byte reproducible (fixed document dates;
xlsxwriter stamps zip members with 1/1/1980).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
import zlib
from dataclasses import dataclass, field
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
    # sheet -> per row: write the row's dates as d.m.yyyy text (a cell's own habit, still readable)
    dots: dict[str, np.ndarray] = field(default_factory=dict)
    faults: list[dict] = field(default_factory=list)  # planted input faults (dvsync.demo.faults)


_LAYOUT: Layout | None = None


def _day_text(day: int) -> str:
    d = _EPOCH + timedelta(days=int(day))
    return f"{d.day:02d}/{d.month:02d}/{d.year}"


def _day_dots(day: int) -> str:
    """d.m.yyyy without padding, as some secretaries type dates."""
    d = _EPOCH + timedelta(days=int(day))
    return f"{d.day}.{d.month}.{d.year}"


def _is_number(v) -> bool:
    """An ID or code typed as a number (Excel drops its leading zeros)."""
    return isinstance(v, int | np.integer) and not isinstance(v, bool)


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
        dots = layout.dots[sheet][lo:hi] if sheet in layout.dots else np.zeros(hi - lo, dtype=bool)
        for r in range(hi - lo):
            row = r + 1
            for c, kind in enumerate(kinds):
                v = cols[c][r]
                if kind == "d":
                    if v == NAT_DAY:
                        continue
                    if dots[r]:
                        ws.write_string(row, c, _day_dots(v))
                    elif excel[r]:
                        ws.write_number(row, c, v + _EXCEL_OFFSET, datef)
                    else:
                        ws.write_string(row, c, _day_text(v))
                elif kind == "y":
                    ws.write_string(row, c, "Có" if v else "Không")
                elif kind == "n" or _is_number(v):
                    ws.write_number(row, c, int(v))
                elif v is not None:
                    ws.write_string(row, c, v, text if kind in "im" else None)
    wb.close()


# --- the fast engine: the same workbook as plain SpreadsheetML with inline strings --------------
# xlsxwriter spends ~25 ms on the fixed parts of an 8-sheet workbook, ~15 minutes of a 2-core
# machine for the ~42,000 cells of a million members; these parts never change, so they are
# written once as constants and only the sheets are built per file.
_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_CT = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    "{sheets}"
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    '<Override PartName="/docProps/core.xml" '
    'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
    "</Types>"
)
_CT_SHEET = (
    '<Override PartName="/xl/worksheets/sheet{n}.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/'
    'core-properties" Target="docProps/core.xml"/>'
    "</Relationships>"
)
_CORE = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
    "<dc:title>{title}</dc:title><dc:creator>{author}</dc:creator>"
    '<dcterms:created xsi:type="dcterms:W3CDTF">{created}</dcterms:created>'
    '<dcterms:modified xsi:type="dcterms:W3CDTF">{created}</dcterms:modified>'
    "</cp:coreProperties>"
)
_WB = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>{sheets}</sheets>'
    "</workbook>"
)
_WB_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}'
    '<Relationship Id="rIdS" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" '
    'Target="styles.xml"/></Relationships>'
)
# Styles: 0 general, 1 text (@), 2 date dd/mm/yyyy, 3 bold header with fill and border.
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="dd/mm/yyyy"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="3"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>'
    '<fill><patternFill patternType="solid"><fgColor rgb="FFDDEBF7"/><bgColor indexed="64"/></patternFill></fill>'
    "</fills>"
    '<borders count="2"><border><left/><right/><top/><bottom/><diagonal/></border>'
    '<border><left style="thin"><color auto="1"/></left><right style="thin"><color auto="1"/></right>'
    '<top style="thin"><color auto="1"/></top><bottom style="thin"><color auto="1"/></bottom><diagonal/></border>'
    "</borders>"
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="0" fontId="1" fillId="2" borderId="1" xfId="0" applyFont="1" applyFill="1" applyBorder="1"/>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
_SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
)
_XML_ESC = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_COLS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _s(ref: str, v: str, style: int = 0) -> str:
    st = f' s="{style}"' if style else ""
    return f'<c r="{ref}" t="inlineStr"{st}><is><t xml:space="preserve">{v.translate(_XML_ESC)}</t></is></c>'


def _sheet_xml(rows: list[str], widths: list[int] | None) -> bytes:
    cols = ""
    if widths:
        cols = (
            "<cols>"
            + "".join(
                f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>' for i, w in enumerate(widths, 1)
            )
            + "</cols>"
        )
    views = (
        '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" '
        'state="frozen"/></sheetView></sheetViews>'
    )
    body = "".join(rows)
    return (_SHEET_HEAD + views + cols + "<sheetData>" + body + "</sheetData></worksheet>").encode("utf-8")


def _write_one_fast(layout: Layout, w: int) -> None:
    import zipfile

    path = os.path.join(layout.out_dir, layout.files[w])
    rng = np.random.default_rng([layout.seed, zlib.crc32(layout.files[w].encode())])
    date_mode = int(rng.integers(3))  # same draws as the xlsxwriter engine
    cell, period_label, created, secretary = layout.info[w]
    sheets: list[tuple[str, bytes]] = []
    values = [cell, period_label, None, secretary]
    rows = []
    for r, label in enumerate(INFO_LABELS, start=1):
        if label == "Ngày lập":
            v = (
                _s(f"B{r}", _day_text(created), 1)
                if date_mode == 0
                else (f'<c r="B{r}" s="2"><v>{int(created) + _EXCEL_OFFSET}</v></c>')
            )
        else:
            v = _s(f"B{r}", values[r - 1], 1)
        rows.append(f'<row r="{r}">{_s(f"A{r}", label, 3)}{v}</row>')
    sheets.append((INFO_SHEET, _sheet_xml(rows, [20, 26])))
    for sheet, headers in SHEETS.items():
        kinds = KINDS[sheet]
        letters = _COLS[: len(kinds)]
        rows = ['<row r="1">' + "".join(_s(f"{letters[c]}1", h, 3) for c, h in enumerate(headers)) + "</row>"]
        lo, hi = int(layout.offsets[sheet][w]), int(layout.offsets[sheet][w + 1])
        if hi > lo:
            cols = [col[lo:hi].tolist() for col in layout.sheets[sheet]]
            excel = (rng.random(hi - lo) < 0.5) if date_mode == 2 else np.full(hi - lo, date_mode == 1)
            dots = layout.dots[sheet][lo:hi] if sheet in layout.dots else np.zeros(hi - lo, dtype=bool)
            for r in range(hi - lo):
                n = r + 2
                parts = [f'<row r="{n}">']
                for c, kind in enumerate(kinds):
                    v = cols[c][r]
                    ref = f"{letters[c]}{n}"
                    if kind == "d":
                        if v == NAT_DAY:
                            continue
                        if dots[r]:
                            parts.append(_s(ref, _day_dots(v)))
                        elif excel[r]:
                            parts.append(f'<c r="{ref}" s="2"><v>{v + _EXCEL_OFFSET}</v></c>')
                        else:
                            parts.append(_s(ref, _day_text(v)))
                    elif kind == "y":
                        parts.append(_s(ref, "Có" if v else "Không"))
                    elif kind == "n" or _is_number(v):
                        parts.append(f'<c r="{ref}"><v>{int(v)}</v></c>')
                    elif v is not None:
                        parts.append(_s(ref, v, 1 if kind in "im" else 0))
                parts.append("</row>")
                rows.append("".join(parts))
        sheets.append((sheet, _sheet_xml(rows, [WIDTHS[k] for k in kinds])))
    created_iso = (datetime(1970, 1, 1) + timedelta(days=int(created))).strftime("%Y-%m-%dT00:00:00Z")
    title = f"Báo cáo chi bộ {cell}".translate(_XML_ESC)
    parts = {
        "[Content_Types].xml": _CT.format(
            sheets="".join(_CT_SHEET.format(n=i) for i in range(1, len(sheets) + 1))
        ),
        "_rels/.rels": _RELS,
        "docProps/core.xml": _CORE.format(
            title=title, author=str(secretary).translate(_XML_ESC), created=created_iso
        ),
        "xl/workbook.xml": _WB.format(
            sheets="".join(
                f'<sheet name="{name}" sheetId="{i}" r:id="rId{i}"/>'
                for i, (name, _x) in enumerate(sheets, 1)
            )
        ),
        "xl/_rels/workbook.xml.rels": _WB_RELS.format(
            rels="".join(
                f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
                f'worksheet" Target="worksheets/sheet{i}.xml"/>'
                for i in range(1, len(sheets) + 1)
            )
        ),
        "xl/styles.xml": _STYLES,
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for name, data in [
            *parts.items(),
            *((f"xl/worksheets/sheet{i}.xml", x) for i, (_n, x) in enumerate(sheets, 1)),
        ]:
            info = zipfile.ZipInfo(name, _FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data.encode("utf-8") if isinstance(data, str) else data, compresslevel=1)


ENGINES = {"fast": _write_one_fast, "xlsxwriter": _write_one}
_ENGINE = "fast"


def _write_range(bounds: tuple[int, int]) -> int:
    assert _LAYOUT is not None
    write = ENGINES[_ENGINE]
    for w in range(*bounds):
        write(_LAYOUT, w)
    return bounds[1] - bounds[0]


def _init(layout: Layout, engine: str = "fast") -> None:
    global _LAYOUT, _ENGINE
    _LAYOUT, _ENGINE = layout, engine


def _single_threaded() -> bool:
    """No other thread in this process, Python's or native (Linux: /proc/self/task)."""
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:  # no /proc: only Python's threads are known
        return threading.active_count() == 1


def write_all(layout: Layout, workers: int | None = None, engine: str = "fast") -> int:
    """Write every workbook of ``layout``; returns the number of files.

    ``engine``: "fast" (default; plain SpreadsheetML, ~20x faster) or "xlsxwriter".
    """
    global _LAYOUT, _ENGINE
    if engine not in ENGINES:
        raise ValueError(f"unknown workbook engine {engine!r}: {sorted(ENGINES)}")
    Path(layout.out_dir).mkdir(parents=True, exist_ok=True)
    n = len(layout.files)
    workers = max(1, min(workers or os.cpu_count() or 1, 32))
    if workers == 1 or n < 40:
        _init(layout, engine)
        try:
            return _write_range((0, n))
        finally:
            _LAYOUT = None
    step = max(10, min(400, n // (workers * 8) or 1))
    chunks = [(s, min(n, s + step)) for s in range(0, n, step)]
    # fork shares the layout copy-on-write; with other threads alive (e.g. inside a Prefect flow)
    # fork is unsafe, so spawn and ship the layout once per worker. Native threads count too: a
    # national generation once deadlocked a forked worker on a lock held by Arrow's thread pool
    # (threading.active_count() sees only Python's threads).
    if "fork" in mp.get_all_start_methods() and _single_threaded():
        _LAYOUT, _ENGINE = layout, engine
        try:
            with mp.get_context("fork").Pool(workers) as pool:
                return sum(pool.imap_unordered(_write_range, chunks))
        finally:
            _LAYOUT = None
    with mp.get_context("spawn").Pool(workers, initializer=_init, initargs=(layout, engine)) as pool:
        return sum(pool.imap_unordered(_write_range, chunks))
