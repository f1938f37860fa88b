"""One workbook read with python-calamine into raw sheet columns (no validation: that runs
batched, ``connectors.workbooks.validate``); faults of the file or a sheet raise FileFault."""

from __future__ import annotations

import hashlib
import io
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from connectors.workbooks.checks import _precheck, _read_limited, _sniff
from connectors.workbooks.listing import _checksum_or_empty
from connectors.workbooks.naming import (
    _CONTROL,
    NAME_SHOWN,
    _name_parts,
    _shown,
    name_agrees,
    name_codes,
    safe_name,
)
from connectors.workbooks.results import FileFault
from schemas._common import mask_values
from schemas.contract import INFO_LABELS, INFO_SHEET, REQUIRED_SHEETS, SHEETS
from schemas.normalize import header_key, parse_dates, parse_months, restore_org_code
from schemas.submission import KEY_COLUMNS

HEADER_SCAN_ROWS = 10  # a title block above the header row is common
TEXT_COLUMNS = {"member_code", "personal_id"}  # Excel turns these into numbers
_SHEET_KEYS = {header_key(s): s for s in [INFO_SHEET, *SHEETS]}
_INFO_KEYS = {header_key(k): v for k, v in INFO_LABELS.items()}


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
