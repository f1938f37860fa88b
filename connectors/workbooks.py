"""Reading the cells' monthly workbooks (contract.md §2).

``parse_workbook`` reads one file with python-calamine and validates every sheet; it never
raises: a file-level fault (not an xlsx, corrupt, empty, password-protected, a required sheet or
header missing, merged header cells) becomes ``WorkbookResult.error``, a Vietnamese sentence
naming the file. ``read_submissions`` parses a folder in parallel and concatenates.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import io
import os
import re
import stat
import unicodedata
import zipfile
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from schemas._common import NOTE_COLUMNS, Ctx, empty_notes, empty_quarantine, mask_values
from schemas.contract import (
    INFO_LABELS,
    INFO_SHEET,
    QUARANTINE_COLUMNS,
    REQUIRED_SHEETS,
    SHEET_TABLES,
    SHEETS,
)
from schemas.datasets import SubmissionData, WorkbookResult
from schemas.normalize import header_key, parse_dates, parse_months, restore_org_code
from schemas.settings import settings
from schemas.submission import KEY_COLUMNS, validate_sheet

HEADER_SCAN_ROWS = 10  # a title block above the header row is common
TEXT_COLUMNS = {"member_code", "personal_id"}  # Excel turns these into numbers
_SHEET_KEYS = {header_key(s): s for s in [INFO_SHEET, *SHEETS]}
_INFO_KEYS = {header_key(k): v for k, v in INFO_LABELS.items()}
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_MARK = "EncryptedPackage".encode("utf-16-le")


class FileFault(Exception):
    """A fault that rejects the whole file (message in Vietnamese, naming the file)."""


def _cell_text(v: Any) -> Any:
    """Calamine value -> what the schemas normalise: numbers that are whole become text digits
    for code columns (handled by caller), empty strings -> None."""
    if isinstance(v, str):
        return v if v.strip() != "" else None
    return v


def _blank(v: Any) -> bool:
    """An empty cell: None or only whitespace (``isspace`` is ``strip() == ""`` without a copy)."""
    return v is None or (isinstance(v, str) and (not v or v.isspace()))


def _number_to_text(v: Any) -> Any:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    return v


def _sniff(name: str, data: bytes) -> None:
    if len(data) == 0:
        raise FileFault(f"Tệp {name}: tệp rỗng (0 byte) — gửi lại tệp báo cáo")
    if data.startswith(_OLE_MAGIC):
        if _ENCRYPTED_MARK in data:
            raise FileFault(
                f"Tệp {name}: tệp có đặt mật khẩu — gỡ mật khẩu (File > Info > Protect Workbook) rồi gửi lại"
            )
        raise FileFault(
            f"Tệp {name}: định dạng Excel cũ (.xls) — mở và lưu lại dạng .xlsx (Excel Workbook) rồi gửi lại"
        )
    if not data.startswith(b"PK\x03\x04"):
        raise FileFault(
            f"Tệp {name}: không phải tệp Excel .xlsx — dùng mẫu của dvsync (dvsync template) và lưu dạng .xlsx"
        )


# --- checked before parsed (issue #15) ------------------------------------------------------------
# A workbook over any of these limits gets one quarantine line and is never given to the reader
# (python-calamine allocates the whole used range of a sheet: one cell at XFD1048576 asks for
# 512 GiB and aborts the process). A cell's real workbook is a few hundred KB; the limits leave
# a wide margin. Checked from the zip's central directory and one pass over each sheet's XML
# (the pass that already looks for formulas), never by parsing.
MAX_FILE_BYTES = 20 * 2**20  # the .xlsx file itself
MAX_UNZIPPED_BYTES = 200 * 2**20  # all of its parts, decompressed (as declared, then as read)
MAX_RATIO = 100  # decompressed / compressed, for any part over 1 MiB (a zip bomb: ~1000)
MAX_PARTS = 1000  # zip members
MAX_SHEET_ROWS = 100_000  # rows of one sheet (a cell of 2,000 members x 12 months: 24,000)
MAX_SHEET_COLUMNS = 256  # columns of one sheet (IV; the widest contract sheet has 12)
MAX_SHEET_CELLS = 5_000_000  # rows x columns of one sheet, as the reader would allocate it
NAME_SHOWN = 80  # characters of a file name shown in a line

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
_DIMENSION = re.compile(rb'<dimension ref="([A-Z]{1,3})?([0-9]{1,9})?(?::([A-Z]{1,3})([0-9]{1,9}))?"')
# A cell or row reference at row 100,000 or beyond (6 or more digits), or at column AA or beyond:
# one search that finds nothing in a normal sheet; only then the exact extent is computed.
_FAR = re.compile(rb' r="(?:[A-Z]{0,4}[0-9]{6}|[A-Z]{2})')
_FAR_ROW = re.compile(rb' r="[A-Z]{0,4}[0-9]{6,}"')
_WIDE_COL = re.compile(rb' r="([A-Z]{2,})[0-9]')
_ROW_REF = re.compile(rb' r="[A-Z]{0,4}([0-9]+)"')


def safe_name(name: str) -> str:
    """A file name fit for one log or quarantine line: control and bidi characters (a newline
    would forge a log line) replaced by '?', at most NAME_SHOWN characters. A changed name keeps
    a short hash of the real one, so two files never share a shown name."""
    clean = _CONTROL.sub("?", unicodedata.normalize("NFC", name))
    if clean == name and len(name) <= NAME_SHOWN:
        return name
    tag = hashlib.sha1(name.encode("utf-8", "surrogateescape")).hexdigest()[:6]
    if len(clean) > NAME_SHOWN:
        clean = clean[: NAME_SHOWN - 1] + "…"
    return f"{clean}~{tag}"


def _col_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def _sheet_extent(xml: bytes) -> tuple[int, int]:
    """(rows, columns) the reader would allocate for this sheet XML: the farthest row and column
    any cell or row names. Cheap for every normal sheet: one search that finds nothing."""
    rows = cols = 0
    if not _FAR.search(xml):
        return rows, cols
    if _FAR_ROW.search(xml):
        rows = max(int(m) for m in _ROW_REF.findall(xml))
    wide = _WIDE_COL.findall(xml)
    if wide:
        cols = max(_col_number(m) for m in wide)
        if rows == 0:
            rows = max((int(m) for m in _ROW_REF.findall(xml)), default=0)
    return rows, cols


def _precheck(name: str, data: bytes) -> list[str]:
    """Size, compression ratio and sheet extent of an .xlsx, before any parsing: raises FileFault
    over a limit (one line, the file not read). Returns the sheet parts holding formulas."""
    mib = 2**20
    if len(data) > MAX_FILE_BYTES:
        raise FileFault(
            f"Tệp {name}: tệp quá lớn ({len(data) / mib:.1f} MB, tối đa {MAX_FILE_BYTES // mib} MB) "
            "— không đọc; chỉ gửi các sheet theo mẫu, bỏ ảnh và dữ liệu thừa"
        )
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return []  # not a zip after all: the reader says it is corrupt
    if len(infos) > MAX_PARTS:
        raise FileFault(f"Tệp {name}: tệp có {len(infos)} thành phần (tối đa {MAX_PARTS}) — không đọc")
    total = sum(i.file_size for i in infos)
    if total > MAX_UNZIPPED_BYTES:
        raise FileFault(
            f"Tệp {name}: nội dung giải nén {total / mib:.0f} MB (tối đa {MAX_UNZIPPED_BYTES // mib} MB) "
            "— không đọc; tệp quá lớn hoặc là 'bom zip'"
        )
    for i in infos:
        if i.file_size > mib and i.file_size > MAX_RATIO * max(i.compress_size, 1):
            raise FileFault(
                f"Tệp {name}: thành phần {safe_name(i.filename)} nén {i.file_size // max(i.compress_size, 1)} lần "
                f"(tối đa {MAX_RATIO}) — không đọc; tệp có dấu hiệu 'bom zip'"
            )
    formulas = []
    read = 0
    for i in infos:
        if not (i.filename.startswith("xl/worksheets/") and i.filename.endswith(".xml")):
            continue
        try:
            # ZipExtFile stops at the declared size and checks the CRC: a part that decompresses
            # to more than it declares fails here instead of in the reader.
            with zf.open(i) as fh:
                xml = fh.read(MAX_UNZIPPED_BYTES - read + 1)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError, NotImplementedError) as exc:
            # A part whose data does not match what the zip declares (size, CRC): never handed to
            # the reader, which would trust the stream rather than the declared size.
            raise FileFault(
                f"Tệp {name}: tệp Excel bị hỏng ({safe_name(i.filename)} không giải nén đúng) — lưu lại "
                "bằng Excel rồi gửi lại"
            ) from exc
        read += len(xml)
        if read > MAX_UNZIPPED_BYTES:
            raise FileFault(f"Tệp {name}: nội dung giải nén quá {MAX_UNZIPPED_BYTES // mib} MB — không đọc")
        part = safe_name(i.filename.rsplit("/", 1)[-1])
        dim = _DIMENSION.search(xml, 0, 4096)
        extents = [_sheet_extent(xml)]
        if dim and dim.group(4):
            extents.append((int(dim.group(4)), _col_number(dim.group(3))))
        for rows, cols in extents:
            if rows > MAX_SHEET_ROWS or cols > MAX_SHEET_COLUMNS or rows * max(cols, 1) > MAX_SHEET_CELLS:
                raise FileFault(
                    f"Tệp {name}: sheet ({part}) khai báo vùng dữ liệu {rows:,} dòng × {cols:,} cột "
                    f"(tối đa {MAX_SHEET_ROWS:,} dòng, {MAX_SHEET_COLUMNS} cột) — không đọc; xoá các ô "
                    "thừa ở xa bảng (Ctrl+End chỉ ô cuối) rồi lưu lại"
                )
        if b"<f>" in xml or b"<f " in xml:
            formulas.append(i.filename)
    return formulas


# --- one cell, one voice (issue #15) ---------------------------------------------------------------
_CODE_TOKEN = re.compile(r"(?<![0-9])[0-9]{2}(?:\.[0-9]{3}){4}(?![0-9]|\.[0-9])")


def name_codes(name: str) -> list[str]:
    """Organisation codes (dd.ddd.ddd.ddd.ddd) written in a file or folder name, as whole tokens."""
    return _CODE_TOKEN.findall(name)


def cell_of_name(source: Any) -> str | None:
    """The one cell code a file's path (name and folders) carries, or None (none, or several)."""
    codes = set(name_codes(str(source)))
    return codes.pop() if len(codes) == 1 else None


def name_agrees(code: str, parts: list[str]) -> bool:
    """The file "speaks for" cell ``code`` when the code appears, as a whole token (not inside a
    longer run of digits and dots: ``193.015…`` or ``….0021`` do not count), in the file's name or in the name of a folder holding it
    inside the submissions folder: ``93.015.000.001.002_2026-10.xlsx``,
    ``93.015.000.001.002/bao-cao-thang-10.xlsx``."""
    if not code:
        return False
    for part in parts:
        start = part.find(code)
        while start >= 0:
            end = start + len(code)
            before = part[start - 1] if start else ""
            a0, a1 = part[end : end + 1], part[end + 1 : end + 2]
            # Not inside a longer code or number: no digit or dot before, no digit or dot-digit
            # after (letters touch a code only where the code itself starts or ends with one).
            bad_before = before.isdigit() or before == "." or (before.isalpha() and code[0].isalpha())
            bad_after = a0.isdigit() or (a0 == "." and a1.isdigit()) or (a0.isalpha() and code[-1].isalpha())
            if not bad_before and not bad_after:
                return True
            start = part.find(code, start + 1)
    return False
    for part in parts:
        start = part.find(code)
        while start >= 0:
            end = start + len(code)
            before = part[start - 1] if start else ""
            after = part[end : end + 2]
            if not before.isalnum() and not (
                after[:1].isalnum() or (after[:1] == "." and after[1:2].isalnum())
            ):
                return True
            start = part.find(code, start + 1)
    return False


def _name_parts(source: str, path: Path, folder_too: bool) -> list[str]:
    """The names a file's cell code may appear in: its stem and the folders of ``source`` (the
    path inside the submissions folder); for a lone file (``dvsync check``) its parent folder."""
    rel = Path(source)
    parts = [Path(path.name).stem, *rel.parent.parts]
    if folder_too:
        parts.append(path.parent.name)
    return parts


def _check_voice(name: str, code: str, period: str, parts: list[str]) -> None:
    """Any file name is read (contract §2); a name (or folder) that names another cell is not.

    A file whose name carries no cell code at all is read but ranks below a file whose name
    carries its cell's code (``connectors.store``: it never supersedes that one)."""
    if name_agrees(code, parts):
        return
    found = sorted({c for p in parts for c in name_codes(p)})
    if not found:
        return
    named = f"tên tệp/thư mục ghi mã {', '.join(found)}"
    raise FileFault(
        f"Tệp {name}: sheet {INFO_SHEET} ghi Mã chi bộ {code} nhưng {named} — mỗi chi bộ chỉ gửi "
        f"báo cáo của mình; tên tệp (hoặc thư mục chứa tệp) nên có đúng mã chi bộ, ví dụ "
        f"{code}_{period}.xlsx; tệp không được đọc"
    )


def _shown(value: Any, limit: int = 60) -> str:
    """A cell's text fit for a message: no control characters, at most ``limit`` characters."""
    text = _CONTROL.sub("?", str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _find_header(rows: list[list[Any]], known: dict[str, str]) -> int | None:
    """Index of the row that holds the most known headers (at least one), within the first rows."""
    scan = rows[:HEADER_SCAN_ROWS]
    width = max((len(r) for r in scan), default=0)
    best, best_hits = None, 0
    for i, row in enumerate(scan):
        hits = sum(header_key(v) in known for v in row if isinstance(v, str))
        if hits > best_hits:
            best, best_hits = i, hits
            if hits >= width:
                # Every cell is a header: no later row can hold more, and keying the data rows
                # below (names, IDs: never cached) was most of the time of this function.
                break
    return best


def _restore_member_codes(codes: pd.Series, was_number: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Member codes Excel stored as numbers lose their zero padding: pad them to the length the
    sheet's text codes share, when those are all digits of one length."""
    text_codes = codes[~was_number & codes.notna()].astype(str)
    digits = text_codes[text_codes.str.fullmatch(r"\d+")]
    if digits.empty:
        return codes, pd.Series(False, index=codes.index)
    width = int(digits.str.len().mode().iloc[0])
    if (digits.str.len() != width).mean() > 0.1:
        return codes, pd.Series(False, index=codes.index)
    as_text = codes.astype("string")
    short = was_number & as_text.str.fullmatch(r"\d+").fillna(False) & (as_text.str.len() < width)
    return as_text.mask(short, as_text.str.zfill(width)), short.astype(bool)


class _Reader:
    def __init__(self, path: Path, data: bytes):
        import python_calamine as pc

        self.path = path
        self.name = safe_name(path.name)
        try:
            self.wb = pc.CalamineWorkbook.from_filelike(io.BytesIO(data))
        except Exception as exc:  # calamine raises its own types and also zip/xml errors
            if "password" in str(exc).lower() or "encrypt" in str(exc).lower():
                raise FileFault(f"Tệp {self.name}: tệp có đặt mật khẩu — gỡ mật khẩu rồi gửi lại") from exc
            raise FileFault(
                f"Tệp {self.name}: tệp Excel bị hỏng, không mở được — lưu lại bằng Excel rồi gửi lại"
            ) from exc
        self.sheets: dict[str, str] = {}
        # What is seen is what is read: a hidden or very hidden sheet is never read, even when
        # it bears a contract name (it would be used instead of the visible one).
        self.hidden: list[tuple[str, str]] = []  # (contract sheet, the hidden sheet's name)
        self.twins: list[tuple[str, str, str]] = []  # two visible sheets for one contract sheet
        try:
            visible = {m.name: str(m.visible).endswith(".Visible") for m in self.wb.sheets_metadata}
        except Exception:  # noqa: BLE001 - no metadata: every sheet counts as visible
            visible = {}
        for real in self.wb.sheet_names:
            canonical = _SHEET_KEYS.get(header_key(real))
            if not canonical:
                continue
            if not visible.get(real, True):
                self.hidden.append((canonical, real))
            elif canonical in self.sheets:
                self.twins.append((canonical, self.sheets[canonical], real))
            else:
                self.sheets[canonical] = real

    def rows(self, sheet: str) -> tuple[list[list[Any]], int, list]:
        try:
            s = self.wb.get_sheet_by_name(self.sheets[sheet])
            data = s.to_python(skip_empty_area=False)
            merged = s.merged_cell_ranges or []
        except Exception as exc:
            raise FileFault(
                f"Tệp {self.name}, sheet {sheet}: không đọc được nội dung ({type(exc).__name__})"
            ) from exc
        # skip_empty_area=False: row 0 of ``data`` is Excel row 1 whatever the used range.
        return data, 0, merged


_ORG_CODE = re.compile(r"\d{2}(\.\d{3}){4}")
_MONTH = re.compile(r"(\d{1,2})/(\d{4})")
_DMY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")


def _fast_info(info: dict) -> tuple[str | None, str | None, pd.Timestamp | None]:
    """The common, well-formed ThongTin values without building Series (milliseconds per
    workbook); anything else (None) goes through the full normalisers."""
    code = info["cell_code"]
    code = code.strip() if isinstance(code, str) and _ORG_CODE.fullmatch(code.strip()) else None
    period = None
    m = _MONTH.fullmatch(info["period"].strip()) if isinstance(info["period"], str) else None
    if m and 1 <= int(m.group(1)) <= 12:
        period = f"{m.group(2)}-{int(m.group(1)):02d}"
    created, value = None, info.get("created_on")
    try:
        if isinstance(value, datetime):
            created = pd.Timestamp(value).normalize()
        elif isinstance(value, date):
            created = pd.Timestamp(value)
        elif isinstance(value, str) and (m := _DMY.fullmatch(value.strip())):
            created = pd.Timestamp(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    except ValueError:
        created = None
    return code, period, created


def _read_info(reader: _Reader) -> dict:
    data, start, _ = reader.rows(INFO_SHEET)
    info: dict[str, Any] = {}
    for row in data:
        cells = [c for c in row if not (isinstance(c, str) and c.strip() == "")]
        if len(cells) >= 2 and isinstance(cells[0], str):
            key = _INFO_KEYS.get(header_key(cells[0]))
            if key and key not in info:
                info[key] = cells[1]
    name = reader.name
    missing = [
        label for label, key in INFO_LABELS.items() if key in ("cell_code", "period") and key not in info
    ]
    if missing:
        raise FileFault(
            f"Tệp {name}, sheet {INFO_SHEET}: thiếu {', '.join(missing)} — điền theo mẫu (cột A nhãn, cột B giá trị)"
        )
    code, period_text, created_value = _fast_info(info)
    if code is None:
        code = restore_org_code(pd.Series([_number_to_text(info["cell_code"])], dtype=object)).iloc[0]
    if pd.isna(code):
        raise FileFault(f"Tệp {name}, sheet {INFO_SHEET}: Mã chi bộ trống — điền mã chi bộ theo phần mềm 3.0")
    # The well-formed values (nearly every file) skip the Series normalisers: a one-element
    # Series costs more than the rest of this function.
    if period_text is None:
        period, ok = parse_months(pd.Series([info["period"]], dtype=object))
        if ok.iloc[0] and not pd.isna(period.iloc[0]):
            period_text = str(period.iloc[0])
    if period_text is None:
        raise FileFault(
            f"Tệp {name}, sheet {INFO_SHEET}: Kỳ báo cáo '{_shown(info['period'], 20)}' không đọc được — ghi dạng MM/YYYY (ví dụ 10/2026)"
        )
    if created_value is None:
        created, cok = parse_dates(pd.Series([info.get("created_on")], dtype=object))
        created_value = created.iloc[0] if cok.iloc[0] else pd.NaT
    secretary = info.get("secretary")
    return {
        "cell_code": str(code),
        "period": period_text,
        "created_on": created_value,
        "secretary": None if secretary is None or str(secretary).strip() == "" else str(secretary).strip(),
    }


def _extract_sheet(
    reader: _Reader,
    sheet: str,
    meta: dict,
    warnings: list[str],
    source: str,
) -> tuple[pd.DataFrame, pd.Series, list[pd.DataFrame]]:
    """-> (raw rows with internal column names, Excel row numbers, notes of the reader's own fixes).
    Raises FileFault for sheet-level faults."""
    name = reader.name
    data, start, merged = reader.rows(sheet)
    known = {header_key(h): c for h, c in SHEETS[sheet].items()}
    h = _find_header(data, known)
    if h is None:
        raise FileFault(
            f"Tệp {name}, sheet {sheet}: không tìm thấy dòng tiêu đề — dùng tiêu đề cột theo mẫu "
            f"({', '.join(SHEETS[sheet])})"
        )
    header_row = start + h
    if any(r0 <= header_row <= r1 and c1 > c0 for (r0, c0), (r1, c1) in merged) or any(
        r0 <= header_row < r1 for (r0, _c0), (r1, _c1) in merged
    ):
        raise FileFault(
            f"Tệp {name}, sheet {sheet}: ô tiêu đề bị gộp (merge) ở dòng {header_row + 1} — "
            "bỏ gộp ô, mỗi cột một tiêu đề trên một dòng"
        )
    columns: dict[int, str] = {}
    unknown: list[str] = []
    for j, v in enumerate(data[h]):
        if v is None or (isinstance(v, str) and v.strip() == ""):
            continue
        internal = known.get(header_key(v))
        if internal is None:
            unknown.append(_shown(v))
        elif internal in columns.values():
            warnings.append(
                f"Tệp {name}, sheet {sheet}: cột '{_shown(v)}' lặp lại — dvsync dùng cột đầu tiên"
            )
        else:
            columns[j] = internal
    missing = [hdr for hdr, c in SHEETS[sheet].items() if c not in columns.values()]
    lost_keys = [
        hdr for hdr, c in SHEETS[sheet].items() if c in KEY_COLUMNS[sheet] and c not in columns.values()
    ]
    if lost_keys:
        extra = f" (cột lạ: {', '.join(unknown[:10])})" if unknown else ""
        raise FileFault(
            f"Tệp {name}, sheet {sheet}: thiếu cột {', '.join(lost_keys)}{extra} — sửa tiêu đề theo mẫu"
        )
    if unknown:
        warnings.append(
            f"Tệp {name}, sheet {sheet}: cột không có trong mẫu, bỏ qua: {', '.join(unknown[:20])}"
        )
        meta.setdefault("must_fix", []).append(warnings[-1])
        meta.setdefault("warning_lines", []).append((sheet, "unknown_column", warnings[-1]))
    if missing:
        warnings.append(f"Tệp {name}, sheet {sheet}: thiếu cột {', '.join(missing)} — coi như để trống")
        meta.setdefault("must_fix", []).append(warnings[-1])
        meta.setdefault("warning_lines", []).append((sheet, "missing_column", warnings[-1]))
    body = data[h + 1 :]
    # Rows count as read when any cell holds something (fully empty rows are layout, not data).
    filled = [i for i, r in enumerate(body) if any(not _blank(c) for c in r)]
    kept = [body[i] for i in filled]
    row_list = [header_row + 2 + i for i in filled]
    if kept and all(len(r) == len(kept[0]) for r in kept):
        # calamine's ranges are rectangular: transpose once, then one pass per column.
        by_col = list(zip(*kept, strict=True))
        cols = {
            c: [None if _blank(v) else v for v in by_col[j]] if j < len(by_col) else [None] * len(kept)
            for j, c in columns.items()
        }
    else:
        cols = {c: [_cell_text(r[j]) if j < len(r) else None for r in kept] for j, c in columns.items()}
    code_notes: list[pd.DataFrame] = []
    # Plain lists per sheet; the frames are built once per batch (a frame per small sheet costs
    # milliseconds, which is most of the reading time over tens of thousands of workbooks).
    numeric = [
        c
        for c in TEXT_COLUMNS & set(cols)
        if any(isinstance(v, int | float) and not isinstance(v, bool) for v in cols[c])
    ]
    if not numeric:
        return cols, row_list, code_notes
    row_numbers = pd.Series(row_list, dtype="int64")
    raw = pd.DataFrame({c: pd.Series(v, dtype=object) for c, v in cols.items()}, index=range(len(kept)))
    for c in numeric:
        was_number = raw[c].map(lambda v: isinstance(v, int | float) and not isinstance(v, bool)).astype(bool)
        raw[c] = raw[c].map(_number_to_text)
        if c == "personal_id" and was_number.any():
            # A CCCD typed as a number loses one zero (province 010–096) or two (001–009).
            as_text = raw[c].astype("string")
            lost = was_number & as_text.str.fullmatch(r"\d{10,11}").fillna(False)
            raw.loc[lost, c] = as_text[lost].str.zfill(12)
            if lost.any():
                code_notes.append(
                    pd.DataFrame(
                        {
                            "source": source,
                            "sheet": sheet,
                            "row": row_numbers[lost].to_numpy(),
                            "column": c,
                            "rule": "id_leading_zero",
                            "value": mask_values(c, raw.loc[lost, c]).to_numpy(),
                            "message": [
                                f"Dòng {r}: Số CCCD lưu dạng số, đã thêm số 0 đầu — định dạng cột là Văn bản (Text)"
                                for r in row_numbers[lost]
                            ],
                            "severity": "note",
                        }
                    )
                )
        if c == "member_code" and was_number.any():
            raw[c], padded = _restore_member_codes(raw[c], was_number)
            if padded.any():
                code_notes.append(
                    pd.DataFrame(
                        {
                            "source": source,
                            "sheet": sheet,
                            "row": row_numbers[padded].to_numpy(),
                            "column": c,
                            "rule": "code_leading_zero",
                            "value": raw.loc[padded, c].astype(str).to_numpy(),
                            "message": [
                                f"Dòng {r}: Mã đảng viên lưu dạng số, đã thêm số 0 đầu — định dạng cột là Văn bản (Text)"
                                for r in row_numbers[padded]
                            ],
                            "severity": "note",
                        }
                    )
                )
    return {c: raw[c].tolist() for c in raw.columns}, row_list, code_notes


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


def _read_limited(path: Path) -> bytes:
    """The file's bytes: a regular file only (never a FIFO or a device, which would block), at
    most MAX_FILE_BYTES (FileFault over it, without reading it)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        st = os.fstat(fd)
        name = safe_name(path.name)
        if not stat.S_ISREG(st.st_mode):
            raise FileFault(f"Tệp {name}: không phải tệp thường — không đọc")
        if st.st_size > MAX_FILE_BYTES:
            raise FileFault(
                f"Tệp {name}: tệp quá lớn ({st.st_size / 2**20:.1f} MB, tối đa {MAX_FILE_BYTES // 2**20} MB) "
                "— không đọc; chỉ gửi các sheet theo mẫu, bỏ ảnh và dữ liệu thừa"
            )
        chunks = []
        while block := os.read(fd, max(st.st_size + 1, 1 << 16)):
            chunks.append(block)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)
    finally:
        os.close(fd)


def _extract(path: Path, source: str, folder_too: bool = False) -> dict:
    """Read one file into raw sheet frames (no validation: that runs batched). Never raises."""
    out: dict[str, Any] = {"path": path, "source": source, "error": None, "raws": {}, "meta": {}}
    name = safe_name(path.name)
    try:
        data = _read_limited(path)
    except FileFault as fault:
        out["error"] = str(fault)
        out["meta"] = {"checksum": _checksum_or_empty(path)}
        return out
    except OSError as exc:
        out["error"] = f"Tệp {name}: không đọc được tệp ({exc.strerror or type(exc).__name__})"
        out["meta"] = {"checksum": ""}
        return out
    checksum = hashlib.sha256(data).hexdigest()
    out["meta"] = {"checksum": checksum}
    try:
        _extract_into(out, path, data, checksum, folder_too)
    except FileFault as fault:
        out["error"] = str(fault)
        out["raws"] = {}
    except MemoryError:
        out["error"] = f"Tệp {name}: đọc tệp vượt giới hạn bộ nhớ — không đọc; gửi lại tệp theo mẫu"
        out["raws"] = {}
    except Exception as exc:  # a bug or an exotic file must not stop the other cells
        detail = _CONTROL.sub("?", str(exc))[:200]
        out["error"] = (
            f"Tệp {name}: lỗi không xác định khi đọc ({type(exc).__name__}: {detail}) "
            "— báo cho quản trị dvsync"
        )
        out["raws"] = {}
    return out


def _checksum_or_empty(path: Path) -> str:
    try:
        return _checksum(path)
    except OSError:
        return ""


def _extract_into(out: dict, path: Path, data: bytes, checksum: str, folder_too: bool = False) -> None:
    name = safe_name(path.name)
    _sniff(name, data)
    formulas = _precheck(name, data)
    reader = _Reader(path, data)
    if reader.twins:
        raise FileFault(
            f"Tệp {name}: "
            + "; ".join(f"hai sheet '{a}' và '{b}' cùng là sheet {c}" for c, a, b in reader.twins)
            + " — giữ một sheet, xoá hoặc đổi tên sheet kia; tệp không được đọc"
        )
    missing = [s for s in REQUIRED_SHEETS if s not in reader.sheets]
    if missing:
        hidden = [f"'{real}' bị ẩn" for c, real in reader.hidden if c in missing]
        extra = (
            f"; {', '.join(hidden)} — dvsync không đọc sheet ẩn, bỏ ẩn (Unhide) nếu đúng" if hidden else ""
        )
        shown = ", ".join(safe_name(x) for x in reader.wb.sheet_names[:20])
        raise FileFault(
            f"Tệp {name}: thiếu sheet {', '.join(missing)} (có: {shown}){extra} "
            "— dùng mẫu của dvsync (dvsync template)"
        )
    info = _read_info(reader)
    _check_voice(name, info["cell_code"], info["period"], _name_parts(out["source"], path, folder_too))
    try:
        mtime = path.stat().st_mtime
    except OSError:
        mtime = 0.0
    meta: dict[str, Any] = {
        **info,
        "_source": out["source"],
        "checksum": checksum,
        "path": str(path),
        "mtime": mtime,
        "rows_read": {},
        "rows_accepted": {},
        "rows_quarantined": {},
        "warnings": [],
        "notes": [],
    }
    out["meta"] = meta
    if name != path.name:
        meta["warnings"].append(
            f"Tệp {name}: tên tệp có ký tự điều khiển hoặc quá {NAME_SHOWN} ký tự — dvsync ghi tên đã "
            "thay '?' và rút gọn; đổi tên tệp (mã chi bộ và kỳ, ví dụ "
            f"{meta['cell_code']}_{meta['period']}.xlsx)"
        )
        meta.setdefault("warning_lines", []).append(("", "file_name", meta["warnings"][-1]))
    for canonical, real in reader.hidden:
        meta["warnings"].append(
            f"Tệp {name}: sheet '{safe_name(real)}' (tên sheet {canonical}) bị ẩn — dvsync không đọc sheet ẩn"
            + (f", chỉ đọc sheet {canonical} đang hiện" if canonical in reader.sheets else "")
            + "; bỏ ẩn (Unhide) nếu đó là dữ liệu cần gửi, hoặc xoá sheet ẩn"
        )
        meta.setdefault("must_fix", []).append(meta["warnings"][-1])
        meta.setdefault("warning_lines", []).append((canonical, "hidden_sheet", meta["warnings"][-1]))
    if formulas:
        meta["warnings"].append(
            f"Tệp {name}: có ô công thức — dvsync dùng giá trị đã tính sẵn; nên dán giá trị "
            "(Paste Special > Values) trước khi gửi"
        )
    unknown_sheets = [
        s for s in reader.wb.sheet_names if header_key(s) not in _SHEET_KEYS and header_key(s) != "danhmuc"
    ]
    if unknown_sheets:
        meta["warnings"].append(
            f"Tệp {name}: sheet không có trong mẫu, bỏ qua: {', '.join(safe_name(x) for x in unknown_sheets[:20])}"
        )
    for sheet in SHEETS:
        if sheet not in reader.sheets:
            continue  # optional sheet absent: nothing to report
        try:
            out["raws"][sheet] = _extract_sheet(reader, sheet, meta, meta["warnings"], out["source"])
        except FileFault as fault:
            if sheet in REQUIRED_SHEETS:
                raise
            meta["warnings"].append(f"{fault} (sheet bị bỏ qua)")
            meta.setdefault("rejected_sheets", []).append(sheet)
            meta.setdefault("must_fix", []).append(meta["warnings"][-1])
            meta.setdefault("warning_lines", []).append((sheet, "sheet_rejected", meta["warnings"][-1]))


@dataclass
class _Batch:
    """Workbooks validated together, not yet split per workbook. Cheap to send back from a worker
    process: pickling a frame per workbook and sheet costs more than reading the workbook."""

    files: list[dict]  # per workbook: path, source, error, meta (the raw cells dropped)
    # sheet -> (accepted rows sorted by workbook, workbook numbers, start and end of their rows)
    sheets: dict[str, tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]]
    quarantine: dict[int, pd.DataFrame]  # only the workbooks with rejected rows


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


def _validate_extracts(extracts: list[dict]) -> list[WorkbookResult]:
    """Validate the sheets of many workbooks at once, then hand each workbook its accepted rows,
    quarantine and notes."""
    return _split_batch(_validate_batch(extracts))


def _parse_chunk(paths: list[Path], sources: list[str]) -> _Batch:
    """Read and validate some workbooks (in a worker process); never raises for a bad file."""
    return _validate_batch([_extract(p, s) for p, s in zip(paths, sources, strict=True)])


# --- a folder of workbooks ----------------------------------------------------------------------
def _checksum(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _candidates(folder: Path) -> list[Path]:
    return [p for p, _ in list_submissions(folder)[0]]


def skipped_results(skipped: list[dict]) -> list[WorkbookResult]:
    """The folder entries not read (``list_submissions``), as rejected results the sync store
    keeps like a rejected file: keyed ``skipped:<hash of name and reason>``, so the line comes
    back every night while the entry stays, and goes when it is removed."""
    out = []
    for e in skipped:
        key = hashlib.sha256(f"{e['file']}\n{e['message']}".encode("utf-8", "surrogateescape")).hexdigest()
        out.append(_failed(Path(e["file"]), f"skipped:{key[:40]}", e["message"], source=e["file"]))
    return out


def identical_copies(listed: list[tuple[Path, str]], sums: dict[Path, str]) -> list[dict]:
    """Files whose bytes are those of another file of the folder (same checksum): each is read
    once, under the first name; the others get a ``skipped`` entry naming it (never silent)."""
    first: dict[str, str] = {}
    out = []
    for p, src in listed:
        c = sums.get(p)
        if c is None:
            continue
        if c in first:
            out.append(
                {
                    "file": src,
                    "status": "skipped",
                    "checksum": c,
                    "message": f"Tệp {src}: trùng nội dung với tệp {first[c]} — chỉ đọc một lần; xoá bản sao",
                    "counts": _counts({}),
                }
            )
        else:
            first[c] = src
    return out


def safe_source(folder: Path, path: Path) -> str:
    """A file's path inside the submissions folder, each part made fit for a line (safe_name)."""
    return "/".join(safe_name(part) for part in path.relative_to(folder).parts)


def list_submissions(folder: Path) -> tuple[list[tuple[Path, str]], list[dict]]:
    """The files of the submissions folder to read, [(path, source)] sorted by source, and a
    report entry (status ``skipped``, a Vietnamese line) for every entry not read: hidden
    files and folders (name starting with a dot), Excel's lock files (``~$``), symbolic links
    that lead out of the folder (never followed) and anything that is not a regular file.
    Symbolic links that stay inside the folder are read (their target once, by checksum).
    Folders are walked without following links."""
    folder = Path(folder)
    root = os.path.realpath(folder)
    files: list[tuple[Path, str]] = []
    skipped: list[dict] = []

    def skip(path: Path, why: str) -> None:
        src = safe_source(folder, path)
        skipped.append(
            {"file": src, "status": "skipped", "message": f"Tệp {src}: {why}", "counts": _counts({})}
        )

    if not folder.is_dir():
        return files, skipped
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        here = Path(dirpath)
        for d in sorted(dirnames):
            p = here / d
            if d.startswith("."):
                skip(p, "thư mục ẩn (tên bắt đầu bằng dấu chấm), không đọc")
            elif os.path.islink(p):
                target = os.path.realpath(p)
                inside = target == root or target.startswith(root + os.sep)
                skip(
                    p,
                    "liên kết tới thư mục "
                    + ("trong thư mục nộp, không đọc lại" if inside else "ngoài thư mục nộp, không đọc"),
                )
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and not os.path.islink(here / d))
        for f in sorted(filenames):
            p = here / f
            if f.startswith("~$"):
                skip(p, "tệp khoá tạm của Excel, bỏ qua")
                continue
            if f.startswith("."):
                skip(p, "tệp ẩn (tên bắt đầu bằng dấu chấm), không đọc — đổi tên nếu là báo cáo")
                continue
            try:
                if os.path.islink(p):
                    target = os.path.realpath(p)
                    if not target.startswith(root + os.sep):
                        skip(p, "liên kết tượng trưng trỏ ra ngoài thư mục nộp, không đọc")
                        continue
                st = os.stat(p)
            except OSError as exc:
                skip(p, f"không đọc được ({exc.strerror or type(exc).__name__})")
                continue
            if not stat.S_ISREG(st.st_mode):
                skip(p, "không phải tệp thường, không đọc")
                continue
            files.append((p, safe_source(folder, p)))
    files.sort(key=lambda x: x[1])
    skipped.sort(key=lambda e: e["file"])
    return files, skipped


_WARM: list[bool] = []


def _warm_up() -> None:
    """Validate a made-up workbook once in this process, before the workers are forked: the first
    validation imports Pandera's backends and builds the schemas (~0.5 s), which every worker of
    every batch's pool would otherwise pay again."""
    if _WARM:
        return
    raws = {s: ({c: ["1", None, "x"] for c in SHEETS[s].values()}, [2, 3, 4], []) for s in SHEETS}
    meta = {
        "period": "2026-01",
        "cell_code": "x",
        "rows_read": {},
        "rows_accepted": {},
        "rows_quarantined": {},
    }
    _validate_batch([{"path": Path("x"), "source": "x", "error": None, "meta": meta, "raws": raws}])
    _WARM.append(True)


def _parse_all(
    paths: list[Path], sources: list[str], workers: int, whole_chunks: bool = False, isolate: bool = False
) -> list[WorkbookResult]:
    """Files are read and validated in worker processes, a chunk of workbooks per task (one
    vectorised validation per chunk); the chunks are split per workbook here as they come back,
    or, with ``whole_chunks``, left whole for the store (each result's ``rows`` says where its
    rows are).

    A crash costs one file: the workers run with a memory limit and die with their parent; a
    chunk whose worker died (native abort, memory error) or that ran past its time limit is
    parsed again in halves, down to the one file that breaks, which gets its own line. With
    ``workers`` <= 1, no pool running and no ``isolate``, a few files are parsed here (the
    pre-parse checks still hold every file the reader could choke on); the night always isolates."""
    split = _results_of if whole_chunks else _split_batch
    if not paths:
        return []
    if not isolate and workers <= 1 and not _POOL and len(paths) < 8:
        return split(_parse_chunk(paths, sources))
    # A validation pass has a fixed cost (~0.2 s of pandas and Pandera calls): one chunk per
    # worker (measured faster than two, whose smaller passes cost more than the overlap gains),
    # at most 1,000 workbooks so that a whole folder still comes back in pieces.
    n_workers = max(1, workers)
    size = max(8, min(1000, -(-len(paths) // n_workers)))
    chunks = [(paths[i : i + size], sources[i : i + size]) for i in range(0, len(paths), size)]
    try:
        batches = _guarded_chunks(chunks, n_workers)
    except (OSError, AssertionError, ValueError):
        # No process could be started (memory, limits, a daemonic Dask worker): parse here.
        close_worker_pool()
        return split(_parse_chunk(paths, sources))
    results: list[WorkbookResult] = []
    for batch in batches:
        results.extend(split(batch))
    return results


# The limits of one parse in a worker: memory above what the worker inherits, and time.
WORKER_MEMORY_MB = settings().workbook_memory_mb
CHUNK_SECONDS = 60.0  # + FILE_SECONDS per workbook of the chunk
FILE_SECONDS = 0.5


def _chunk_timeout(n: int) -> float:
    return CHUNK_SECONDS + FILE_SECONDS * n


def _guarded_chunks(chunks: list[tuple[list[Path], list[str]]], workers: int) -> list[_Batch]:
    """Every chunk parsed in the pool, in order; a chunk that broke its worker or ran out of time
    is bisected (``_isolate``) so that only the guilty file is lost."""
    pool = worker_pool(workers)
    futures = [pool.submit(_parse_chunk, p, s) for p, s in chunks]
    out: list[_Batch | None] = [None] * len(chunks)
    broken: list[int] = []
    for k, fut in enumerate(futures):
        try:
            out[k] = fut.result(timeout=_chunk_timeout(len(chunks[k][0])))
        except FutureTimeout:
            _kill_pool()  # a worker is stuck in native code: only killing it stops it
            broken.append(k)
        except BrokenProcessPool:
            broken.append(k)
    if broken:
        _kill_pool()
        for k in broken:
            out[k] = _isolate(*chunks[k], workers)
    return [b for b in out if b is not None]


def _isolate(paths: list[Path], sources: list[str], workers: int) -> _Batch:
    """Parse a chunk that broke the pool again, in halves, one at a time, down to single files:
    a file that still breaks its worker alone gets a file-level fault; the others are read."""
    if len(paths) == 1:
        fault = _run_alone(paths, sources, workers)
        if isinstance(fault, _Batch):
            return fault
        name = safe_name(paths[0].name)
        message = (
            f"Tệp {name}: đọc tệp quá {_chunk_timeout(1):.0f} giây — không đọc; lưu lại bằng Excel rồi gửi lại"
            if fault == "timeout"
            else f"Tệp {name}: tệp làm trình đọc Excel dừng đột ngột (hết bộ nhớ hoặc lỗi nội bộ) — không đọc; "
            "lưu lại bằng Excel theo mẫu rồi gửi lại"
        )
        checksum = _checksum_or_empty(paths[0])
        return _Batch(
            files=[
                {"path": paths[0], "source": sources[0], "error": message, "meta": {"checksum": checksum}}
            ],
            sheets={},
            quarantine={},
        )
    batch = _run_alone(paths, sources, workers)
    if isinstance(batch, _Batch):
        return batch
    mid = len(paths) // 2
    return _merge_batches(
        [_isolate(paths[:mid], sources[:mid], workers), _isolate(paths[mid:], sources[mid:], workers)]
    )


def _run_alone(paths: list[Path], sources: list[str], workers: int) -> _Batch | str:
    """One chunk alone in a fresh pool -> its batch, or "timeout" / "crash"."""
    pool = worker_pool(workers)
    fut = pool.submit(_parse_chunk, paths, sources)
    try:
        return fut.result(timeout=_chunk_timeout(len(paths)))
    except FutureTimeout:
        _kill_pool()
        return "timeout"
    except BrokenProcessPool:
        _kill_pool()
        return "crash"


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


_POOL: dict[int, ProcessPoolExecutor] = {}
_PR_SET_PDEATHSIG = 1


def _worker_init(parent: int, memory_mb: int) -> None:
    """In each worker, first: die with the parent (a kill -9 of the run leaves no worker behind),
    and a memory limit above what the worker inherited (a file that asks the reader for more
    fails alone: MemoryError, or the worker dies and the file is found by ``_isolate``)."""
    import signal

    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the pool's own shutdown still ends the workers
        pass
    if parent and os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)
    if memory_mb > 0:
        try:
            import resource

            used = 0
            with open("/proc/self/status") as fh:
                for line in fh:
                    if line.startswith("VmData:"):
                        used = int(line.split()[1]) * 1024
            limit = used + memory_mb * 2**20
            resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
        except (OSError, ValueError, ImportError):
            pass


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """The process pool that parses workbooks, started once and kept for every batch of the run
    (a pool per batch paid the start and the warm-up each time). Its processes are forked at
    once, here, from the thread that asks first (the flow asks before it starts any other); a
    pool replaced after a crash starts its workers from a fork server (a fork from a task thread
    could copy a lock held by another thread)."""
    pool = _POOL.get(workers)
    if pool is None:
        close_worker_pool()
        _warm_up()
        import multiprocessing as mp

        ctx = None
        if _CRASHED:
            ctx = mp.get_context("forkserver")
            ctx.set_forkserver_preload(["connectors.workbooks"])
        pool = _POOL[workers] = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=ctx,
            initializer=_worker_init,
            # A fork server's workers are its children (it ends with the run): no parent check.
            initargs=(0 if ctx is not None else os.getpid(), WORKER_MEMORY_MB),
        )
        list(pool.map(int, range(workers)))  # start every process now
    return pool


_CRASHED: list[bool] = []


def _kill_pool() -> None:
    """End the pool at once, its workers killed (a stuck or broken pool never joins)."""
    if not _CRASHED:
        _CRASHED.append(True)
    for pool in _POOL.values():
        for proc in list(getattr(pool, "_processes", {}).values()):
            with contextlib.suppress(Exception):  # already gone
                proc.kill()
        pool.shutdown(wait=False, cancel_futures=True)
    _POOL.clear()


def close_worker_pool() -> None:
    for pool in _POOL.values():
        pool.shutdown(wait=True, cancel_futures=True)
    _POOL.clear()


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


def read_submissions(
    folder: Path,
    period: str | None = None,
    workers: int | None = None,
    skip_checksums: set[str] | frozenset[str] = frozenset(),
) -> tuple[SubmissionData, pd.DataFrame, list[dict]]:
    """Parse every workbook under ``folder`` -> (accepted rows, quarantine, per-file report).

    Report entries: file (path relative to folder), status (accepted | rejected | skipped |
    duplicate), message, counts {read, accepted, quarantined, per_sheet}, checksum, cell_code,
    period, warnings, notes (count). ``period`` (YYYY-MM) keeps only that period's workbooks
    (others: skipped); None keeps all. Files whose checksum is in ``skip_checksums`` are not
    parsed (skipped). Two workbooks for the same cell and period: the latest ``Ngày lập`` (then
    file mtime, then name) is kept; the other is reported ``duplicate`` and marked superseded in
    ``workbooks``; its rows are not in the tables.
    """
    folder = Path(folder)
    workers = workers or min(2, os.cpu_count() or 1)
    listed, report = list_submissions(folder)
    to_parse: list[Path] = []
    source_of: dict[Path, str] = {}
    checksums: dict[Path, str] = {}
    readable: list[tuple[Path, str]] = []
    for p, rel in listed:
        try:
            checksums[p] = _checksum(p)
        except OSError as exc:
            report.append(
                {
                    "file": rel,
                    "status": "rejected",
                    "message": f"Tệp {rel}: không đọc được ({exc.strerror or type(exc).__name__})",
                    "counts": _counts({}),
                }
            )
            continue
        readable.append((p, rel))
    copies = identical_copies(readable, checksums)  # the same bytes twice: read once, the copy named
    report += copies
    once = {e["file"] for e in copies}
    for p, rel in readable:
        if rel in once:
            continue
        if checksums[p] in skip_checksums:
            report.append(
                {
                    "file": rel,
                    "status": "skipped",
                    "checksum": checksums[p],
                    "counts": _counts({}),
                    "message": f"Tệp {rel}: đã đọc ở lần chạy trước (không đổi)",
                }
            )
            continue
        to_parse.append(p)
        source_of[p] = rel
    results = _parse_all(to_parse, [source_of[p] for p in to_parse], workers)

    good: list[tuple[Path, WorkbookResult]] = []
    for p, res in zip(to_parse, results, strict=True):
        rel = source_of[p]
        entry = {
            "file": rel,
            "checksum": res.meta.get("checksum"),
            "cell_code": res.meta.get("cell_code"),
            "period": res.meta.get("period"),
            "warnings": list(res.meta.get("warnings", [])),
            "notes": len(res.meta.get("notes", [])),
            "counts": _counts(res.meta),
        }
        if res.error:
            entry.update(status="rejected", message=res.error)
        elif period is not None and res.meta.get("period") != period:
            entry.update(status="skipped", message=f"Tệp {rel}: kỳ {res.meta.get('period')} khác kỳ {period}")
        else:
            entry.update(status="accepted", message="; ".join(res.meta.get("warnings", [])))
            good.append((p, res))
        entry["_result"] = res
        report.append(entry)

    # Same cell and period twice: latest created_on, then mtime, then name wins.
    def rank(item: tuple[Path, WorkbookResult]) -> tuple:
        p, res = item
        created = res.meta.get("created_on")
        return (
            pd.Timestamp(created) if pd.notna(created) else pd.Timestamp.min,
            res.meta.get("mtime", 0.0),
            source_of[p],
        )

    kept: dict[tuple[str, str], tuple[Path, WorkbookResult]] = {}
    superseded: set[str] = set()
    for item in sorted(good, key=rank, reverse=True):
        key = (item[1].meta["cell_code"], item[1].meta["period"])
        if key in kept:
            superseded.add(str(item[0]))
        else:
            kept[key] = item
    by_result = {id(e["_result"]): e for e in report if "_result" in e}
    for p, res in good:
        if str(p) in superseded:
            winner = source_of[kept[(res.meta["cell_code"], res.meta["period"])][0]]
            e = by_result[id(res)]
            e.update(
                status="duplicate",
                message=f"Tệp {source_of[p]}: chi bộ {res.meta['cell_code']} kỳ {res.meta['period']} "
                f"đã có tệp mới hơn {winner} — dùng tệp {winner}, bỏ qua tệp này",
            )

    data = SubmissionData.empty()
    frames: dict[str, list[pd.DataFrame]] = {t: [] for t in SHEET_TABLES.values()}
    wb_rows = []
    quarantines: list[pd.DataFrame] = []
    for p, res in good:
        sup = str(p) in superseded
        wb_rows.append(
            {
                "cell_code": res.meta["cell_code"],
                "period": res.meta["period"],
                "created_on": res.meta.get("created_on"),
                "secretary": res.meta.get("secretary"),
                "_source": res.meta["_source"],
                "checksum": res.meta["checksum"],
                "superseded": sup,
            }
        )
        quarantines.append(res.quarantine)
        if sup:
            continue
        for t, df in res.tables.items():
            frames[t].append(df)
    for t, parts in frames.items():
        parts = [x for x in parts if len(x)]
        if parts:
            setattr(data, t, pd.concat(parts, ignore_index=True))
        else:
            base = getattr(data, t)
            setattr(data, t, base.astype({"_row": "int64"}) if "_row" in base else base)
    if wb_rows:
        wb = pd.DataFrame(wb_rows)
        for c in ("cell_code", "period", "secretary", "_source", "checksum"):
            wb[c] = wb[c].astype("string")
        wb["created_on"] = pd.to_datetime(wb["created_on"]).astype("datetime64[ns]")
        wb["superseded"] = wb["superseded"].astype(bool)
        data.workbooks = wb
    else:
        data.workbooks = data.workbooks.assign(superseded=pd.Series(dtype=bool))
    for e in report:
        e.pop("_result", None)
    q = [x for x in quarantines if len(x)]
    quarantine = pd.concat(q, ignore_index=True)[QUARANTINE_COLUMNS] if q else empty_quarantine()
    return data, quarantine, report


def notes_frame(result: WorkbookResult) -> pd.DataFrame:
    """The per-row notes of a parsed workbook as a frame (NOTE_COLUMNS)."""
    notes = result.meta.get("notes") or []
    return pd.DataFrame(notes, columns=NOTE_COLUMNS) if notes else empty_notes()
