"""Normalisation of Vietnamese text, identifiers and dates (domain.md, "Vietnamese data pitfalls").

Vectorised over pandas Series. Expensive per-value work (dates, encodings) runs once per
*unique* value and is mapped back, so a million-row column with a few thousand distinct
values costs a few thousand Python calls.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import re
import unicodedata
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# Old-style tone placement ("hoà", "thuỷ") -> new style ("hòa", "thủy"), for comparison only.
_TONE_FOLD = {
    "oà": "òa",
    "oá": "óa",
    "oả": "ỏa",
    "oã": "õa",
    "oạ": "ọa",
    "oè": "òe",
    "oé": "óe",
    "oẻ": "ỏe",
    "oẽ": "õe",
    "oẹ": "ọe",
    "uỳ": "ùy",
    "uý": "úy",
    "uỷ": "ủy",
    "uỹ": "ũy",
    "uỵ": "ụy",
}
_TONE_RE = re.compile("|".join(_TONE_FOLD))
_SPACES = re.compile(r"\s+")
# Python's \s spelled out character by character: pandas runs a pattern with \s through Python's
# re one value at a time (RE2's \s differs), a plain character class stays in Arrow.
_WS_CHARS = "".join(chr(c) for c in range(0x3001) if chr(c).isspace())
_WS = f"[{_WS_CHARS}]"
_WS_NOT_SPACE = "[" + _WS_CHARS.replace(" ", "") + "]"


def _map_unique(s: pd.Series, fn: Callable[[Any], Any], dtype: str | None = None) -> pd.Series:
    """Apply ``fn`` once per distinct non-null value (values repeat a lot in real columns)."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    if len(uniques) == 0:
        out = pd.Series([pd.NA] * len(s), index=s.index, dtype=object)
        return out.astype(dtype) if dtype else out
    mapped = np.empty(len(uniques) + 1, dtype=object)
    mapped[:-1] = [fn(u) for u in uniques.tolist()]  # iterating an Arrow array directly is ~10x slower
    mapped[-1] = pd.NA
    out = pd.Series(mapped[codes], index=s.index)  # code -1 picks the trailing NA
    return out.astype(dtype) if dtype else out


def _arrow(s: pd.Series) -> pa.ChunkedArray | None:
    """The Arrow strings behind a pandas string Series (no copy when Arrow-backed), else None."""
    if not isinstance(s.dtype, pd.StringDtype):
        return None
    arr = pa.array(s.array)
    return arr if isinstance(arr, pa.ChunkedArray) else pa.chunked_array([arr])


def _replace_where(s: pd.Series, probe: str, pattern: str, repl: str) -> pd.Series:
    """``s.str.replace(pattern, repl)`` run only on the values matching ``probe``: Arrow's regex
    replace allocates for every value, a search does not, and few values need the change."""
    hit = s.str.contains(probe, regex=True).fillna(False)
    if not hit.any():
        return s
    if hit.mean() > 0.5:
        return s.str.replace(pattern, repl, regex=True)
    return s.mask(hit, s[hit].str.replace(pattern, repl, regex=True))


def _clean_text(v: str) -> str:
    return _SPACES.sub(" ", unicodedata.normalize("NFC", v)).strip()


def nfc(s: pd.Series) -> pd.Series:
    """Unicode NFC, spaces collapsed, stripped. NA stays NA (empty strings stay empty)."""
    s = s.astype("string")
    if len(s) > 1000:  # big columns: collapse spaces vectorised, NFC only on non-ASCII values
        out = _replace_where(s, f"{_WS}{_WS}|{_WS_NOT_SPACE}", f"{_WS}+", " ").str.strip()
        # Spaces are collapsed already: only a character outside _NFC_ALREADY can still change.
        wide = ~out.str.fullmatch(_NFC_ALREADY).fillna(True)
        if wide.any():
            out = out.copy()
            out[wide] = _map_unique(out[wide], _clean_text, "string")
        return out
    return _map_unique(s, _clean_text, "string")


def fold_name(s: pd.Series) -> pd.Series:
    """Comparison key of a name: NFC, spaces collapsed, lower case, tone placement folded."""
    s = nfc(s).str.lower()
    return _map_unique(s, lambda v: _TONE_RE.sub(lambda m: _TONE_FOLD[m.group(0)], v), "string")


# Separators people type inside an ID ("079 085 123 456", "079.085.123.456"), and Excel's
# leading apostrophe that forces text. Letters are kept: "079O85…" must stay visibly wrong.
# Python's and Arrow's regex engines both run this spelled-out class the same way.
_ID_SEPARATORS_ARROW = f"[{_WS_CHARS}.\\-'’_]"
_ID_SEPARATORS = re.compile(_ID_SEPARATORS_ARROW)
_FLOAT_ID = re.compile(r"^\d+\.0+$|^\d+(\.\d+)?[eE]\+?\d+$")


def _id_text(v: str) -> str:
    v = v.strip()
    if _FLOAT_ID.match(v):  # a number that went through float: "79085123456.0", "7.9085123456E+10"
        with contextlib.suppress(ValueError, OverflowError):
            v = str(int(float(v)))
    return _ID_SEPARATORS.sub("", v)


def _id_texts(s: pd.Series) -> pd.Series:
    """Vectorised ``_id_text``: only float-looking values take the per-value path."""
    s = s.astype("string").str.strip()
    floaty = s.str.contains(r"^\d+\.0+$|[eE]\+?\d+$", regex=True).fillna(False)
    if floaty.any():
        s = s.copy()
        s[floaty] = _map_unique(s[floaty], _id_text, "string")
    return _replace_where(s, _ID_SEPARATORS_ARROW, _ID_SEPARATORS_ARROW, "")


def restore_id(s: pd.Series) -> pd.Series:
    """Personal ID as text: separators removed; 11 digits (Excel dropped the leading 0) -> 12,
    8 digits (a 9-digit CMND that lost its 0) -> 9. Other characters are kept as they are."""
    s = _id_texts(s)
    digits = s.str.fullmatch(r"\d+").fillna(False)
    s = s.mask(digits & (s.str.len() == 11), "0" + s)
    s = s.mask(digits & (s.str.len() == 8), "0" + s)
    return s.mask(s == "", pd.NA)


def id_zero_restored(raw: pd.Series, restored: pd.Series) -> pd.Series:
    """True where ``restore_id`` added a leading zero (for the normalisation log)."""
    before = _id_texts(raw)
    return (restored.str.len() == before.str.len() + 1).fillna(False).astype(bool)


def restore_org_code(s: pd.Series) -> pd.Series:
    """An organisation code M1.M2.M3.M4.M5 with its zero padding back (M1 two digits, others three):
    "93.15.0.1.2" -> "93.015.000.001.002". Other shapes are kept (after float clean-up)."""

    def one(v: str) -> str:
        v = v.strip()
        if re.fullmatch(r"\d+\.0", v):
            v = v[:-2]
        parts = v.split(".")
        if len(parts) == 5 and all(p.isdigit() for p in parts):
            return ".".join([parts[0].zfill(2), *(p.zfill(3) for p in parts[1:])])
        return v

    out = _map_unique(s.astype("string"), one, "string")
    return out.mask(out == "", pd.NA)


# A code with nothing to clean: printable ASCII without whitespace, not ending in ".0" (a float's
# "123.0"; "A.0" is left to the full steps too, which keep it).
_CLEAN_CODE = r"^(?:[!-~]*(?:[!-/1-~]|[!--/-~]0)|0)$"


def clean_code(s: pd.Series) -> pd.Series:
    """A member/transfer code as text: stripped, a float's '.0' removed, empty -> NA."""
    s = s.astype("string")
    # Most codes are already clean: one RE2 pass finds them, only the others take the steps.
    done = pc.match_substring_regex(_arrow(s), _CLEAN_CODE).fill_null(False).to_numpy()
    if done.all():
        return s.copy()
    if not done.any():
        return _clean_code_steps(s)
    out = s.array.copy()
    out[~done] = _clean_code_steps(s[~done]).array
    return pd.Series(out, index=s.index, name=s.name)


def _clean_code_steps(s: pd.Series) -> pd.Series:
    out = _replace_where(s, _WS, f"{_WS}+", "")
    # Not str.replace with a back-reference: that leaves Arrow for a Python call per value.
    floaty = out.str.fullmatch(r"\d+\.0").fillna(False)
    if floaty.any():
        out = out.mask(floaty, out.str.slice(stop=-2))
    wide = ~out.str.fullmatch(r"[\x00-\x7f]*").fillna(True)
    if wide.any():  # only non-ASCII codes need NFC
        out = out.copy()
        out[wide] = _map_unique(out[wide], lambda v: unicodedata.normalize("NFC", v), "string")
    return out.mask(out == "", pd.NA)


def mask_id(s: pd.Series) -> pd.Series:
    """Every digit but the last four replaced by '*' (for logs, artifacts, candidates' codes)."""
    s = s.astype("string")
    return s.map(lambda v: "*" * max(len(v) - 4, 0) + v[-4:], na_action="ignore").astype("string")


def mask_name(s: pd.Series) -> pd.Series:
    """Initials only: "Nguyễn Văn An" -> "N***** V** A*"."""
    return _map_unique(
        nfc(s), lambda v: " ".join(w[0] + "*" * (len(w) - 1) for w in v.split(" ") if w), "string"
    )


# --- headers -----------------------------------------------------------------------------------
def header_key(text: object) -> str:
    """Key for matching headers/labels: no diacritics (đ -> d), no case, no spaces or punctuation.
    "Số  CCCD" / "so cccd" / "SỐ CCCD:" -> "socccd"."""
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return ""
    return _header_key(str(text))


@functools.lru_cache(maxsize=65536)
def _header_key(text: str) -> str:
    # Cached: the same header and label texts recur in every workbook.
    v = unicodedata.normalize("NFD", text).replace("đ", "d").replace("Đ", "D")
    v = "".join(c for c in v if not unicodedata.combining(c))
    return re.sub(r"[^0-9a-z]", "", v.lower())


# --- dates --------------------------------------------------------------------------------------
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)  # Excel's day 0 after its 1900 leap-year bug
_MIN_YEAR, _MAX_YEAR = 1900, 2100
_TIME = r"(?:[ Tt]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_ISO = re.compile(rf"^(\d{{4}})[-/.](\d{{1,2}})[-/.](\d{{1,2}}){_TIME}$")
_DMY = re.compile(rf"^(\d{{1,2}})\s*[/.\-]\s*(\d{{1,2}})\s*[/.\-]\s*(\d{{4}}){_TIME}$")
_VN_WORDS = re.compile(r"^ngày\s*(\d{1,2})\s*tháng\s*(\d{1,2})\s*năm\s*(\d{4})$")
_SERIAL = re.compile(r"^\d{1,6}(?:\.\d+)?$")
_ISO_BULK = r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[ T][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?"


def _serial_date(x: float) -> dt.datetime | None:
    # A bare year (1985) is not a date: refuse rather than turn it into 1905-06-07.
    if not (1 <= x < 2958466) or (float(x).is_integer() and _MIN_YEAR <= x <= _MAX_YEAR):
        return None
    d = _EXCEL_EPOCH + dt.timedelta(days=int(x))
    return d if _MIN_YEAR <= d.year <= _MAX_YEAR else None


def _ymd(y: str, m: str, d: str) -> dt.datetime | None:
    try:
        out = dt.datetime(int(y), int(m), int(d))
    except ValueError:  # 31/02, month 13 (an mm/dd date is never swapped back)
        return None
    return out if _MIN_YEAR <= out.year <= _MAX_YEAR else None


def parse_date_value(v: Any) -> tuple[dt.datetime | None, bool]:
    """One value -> (date or None, readable). Missing/empty is readable (None, True)."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None, True
    if isinstance(v, pd.Timestamp | dt.datetime):
        return dt.datetime(v.year, v.month, v.day), _MIN_YEAR <= v.year <= _MAX_YEAR
    if isinstance(v, dt.date):
        return dt.datetime(v.year, v.month, v.day), _MIN_YEAR <= v.year <= _MAX_YEAR
    if isinstance(v, bool | np.bool_):
        return None, False
    if isinstance(v, int | float | np.integer | np.floating):
        if np.isnan(v):
            return None, True
        d = _serial_date(float(v))
        return d, d is not None
    text = unicodedata.normalize("NFC", str(v)).strip().lower()
    if text == "":
        return None, True
    for rx, order in ((_DMY, (3, 2, 1)), (_ISO, (1, 2, 3)), (_VN_WORDS, (3, 2, 1))):
        m = rx.match(text)
        if m:
            d = _ymd(m.group(order[0]), m.group(order[1]), m.group(order[2]))
            return d, d is not None
    if _SERIAL.match(text):
        d = _serial_date(float(text))
        return d, d is not None
    return None, False


def parse_dates(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Dates of any accepted form -> (datetime64[ns] at midnight, ok).

    Accepted: d/m/yyyy with or without padding and '/', '-' or '.'; ISO yyyy-mm-dd (with an
    optional time); "ngày 5 tháng 4 năm 2020"; Excel serial numbers (as numbers or text);
    datetime/date/Timestamp objects. Never mm/dd: "12/25/2020" is unreadable. Years outside
    1900–2100 are unreadable. ``ok`` is False only where a value is present but unreadable.
    """
    s = pd.Series(s)
    if pd.api.types.is_datetime64_any_dtype(s):  # fast path: already dates
        d = s.dt.tz_localize(None) if getattr(s.dt, "tz", None) is not None else s
        d = d.dt.normalize().astype("datetime64[ns]")
        ok = d.isna() | ((d.dt.year >= _MIN_YEAR) & (d.dt.year <= _MAX_YEAR))
        return d.where(ok), ok.astype(bool)
    if pd.api.types.is_string_dtype(s) and not pd.api.types.is_object_dtype(s) and len(s):
        # Fast path: ISO dates (with or without a time), what SQL exports hand out, converted in
        # bulk by Arrow; only the other values take the per-distinct-value parser.
        arr = _arrow(s if isinstance(s.dtype, pd.StringDtype) else s.astype("string"))
        iso = pc.match_substring_regex(arr, f"^(?:{_ISO_BULK})$").fill_null(False).to_numpy()
        if iso.any():
            d = np.full(len(s), np.datetime64("NaT"), dtype="datetime64[ns]")
            d[iso] = _iso_dates(arr.filter(iso))
            ok = ~iso | ~np.isnat(d)
            rest = (s.notna().to_numpy() & ~iso).astype(bool)
            if rest.any():
                d_rest, ok_rest = _parse_dates_by_value(s[rest])
                d[rest] = d_rest.to_numpy()
                ok[rest] = ok_rest.to_numpy()
            return (
                pd.Series(d, index=s.index, name=s.name, dtype="datetime64[ns]"),
                pd.Series(ok, index=s.index, name=s.name, dtype=bool),
            )
    return _parse_dates_by_value(s)


_YEAR_FIRST = dt.datetime(_MIN_YEAR, 1, 1)
_YEAR_END = dt.datetime(_MAX_YEAR + 1, 1, 1)


def _iso_dates(iso: pa.ChunkedArray) -> np.ndarray:
    """Texts matching ``_ISO_BULK`` -> datetime64[ns] of their date part, NaT where that date does
    not exist or its year is outside the accepted range."""
    ts = pc.strptime(pc.utf8_slice_codeunits(iso, 0, 10), format="%Y-%m-%d", unit="s", error_is_null=True)
    # strptime rolls 2021-02-30 over to 2021-03-02: a real date keeps the day it was written with.
    real = pc.equal(pc.day(ts), pc.cast(pc.utf8_slice_codeunits(iso, 8, 10), pa.int64()))
    # The year range is checked before the cast to ns, which cannot hold years 1–1677 or 2263–9999.
    inside = pc.and_(pc.greater_equal(ts, _YEAR_FIRST), pc.less(ts, _YEAR_END))
    ts = pc.if_else(pc.and_(real, inside), ts, None)
    return ts.cast(pa.timestamp("ns")).to_numpy()


def _parse_dates_by_value(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    parsed = [parse_date_value(u) for u in uniques]
    values = np.array(
        [p[0] if p[0] is not None else np.datetime64("NaT") for p in parsed] + [np.datetime64("NaT")],
        dtype="datetime64[ns]",
    )
    oks = np.array([p[1] for p in parsed] + [True], dtype=bool)
    return (
        pd.Series(values[codes], index=s.index, dtype="datetime64[ns]"),
        pd.Series(oks[codes], index=s.index, dtype=bool),
    )


_MONTH = re.compile(r"^(?:tháng\s*)?(\d{1,2})\s*[/.\-]\s*(\d{4})$")
_MONTH_ISO = re.compile(r"^(\d{4})-(\d{1,2})$")


def _parse_month_value(v: Any) -> str | None:
    if isinstance(v, str):
        text = unicodedata.normalize("NFC", v).strip().lower()
        m = _MONTH.match(text)
        if m:
            mo, y = int(m.group(1)), int(m.group(2))
        else:
            m = _MONTH_ISO.match(text)
            if not m:
                d, ok = parse_date_value(text)
                return f"{d.year:04d}-{d.month:02d}" if d is not None else None
            y, mo = int(m.group(1)), int(m.group(2))
        return f"{y:04d}-{mo:02d}" if 1 <= mo <= 12 and _MIN_YEAR <= y <= _MAX_YEAR else None
    d, _ = parse_date_value(v)  # an Excel date typed in a month column: take its month
    return f"{d.year:04d}-{d.month:02d}" if d is not None else None


def parse_months(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Months "MM/YYYY", "M/YYYY", "YYYY-MM", "tháng 10/2026" or a date -> ("YYYY-MM", ok)."""
    s = pd.Series(s)
    present = s.notna() & (s.astype("string").str.strip() != "").fillna(False)
    out = _map_unique(s.where(present), _parse_month_value, "string")
    return out, (~present | out.notna()).astype(bool)


_YES = {"có", "co", "x", "yes", "y", "1", "true", "đã", "da", "rồi", "roi"}
_NO = {"không", "khong", "k", "no", "n", "0", "false", "chưa", "chua", ""}


def parse_bools(s: pd.Series, empty: bool | None = False) -> tuple[pd.Series, pd.Series]:
    """Có/Không, x/empty, 1/0, True/False -> (boolean, ok). Empty -> ``empty``."""

    def one(v: Any) -> Any:
        if isinstance(v, bool | np.bool_):
            return bool(v)
        if isinstance(v, int | float | np.integer | np.floating):
            return {1: True, 0: False}.get(float(v)) if not np.isnan(v) else None
        t = unicodedata.normalize("NFC", str(v)).strip().lower()
        return True if t in _YES else False if t in _NO else None

    s = pd.Series(s)
    out = _map_unique(s, one)
    ok = out.notna() | s.isna()
    filled = out.where(s.notna(), empty if empty is not None else pd.NA)
    return filled.astype("boolean"), ok.astype(bool)


def parse_ints(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Integers from numbers or text ("2025", "2025.0") -> (Int64, ok)."""
    s = pd.Series(s)
    if pd.api.types.is_integer_dtype(s):
        return s.astype("Int64"), pd.Series(True, index=s.index)
    num = pd.to_numeric(s.astype("string").str.strip().replace("", pd.NA), errors="coerce")
    whole = num.notna() & (num == np.floor(num.fillna(0)))
    out = num.where(whole).astype("Float64").astype("Int64")
    present = s.notna() & (s.astype("string").str.strip() != "").fillna(False)
    return out, (~present | whole).astype(bool)


def map_enum(s: pd.Series, labels: dict[str, str]) -> tuple[pd.Series, pd.Series]:
    """Map free text to an enum through ``labels`` (keys compared with ``header_key``) ->
    (value or NA, ok). Missing stays NA and is ok."""
    table = {header_key(k): v for k, v in labels.items()}
    s = pd.Series(s)
    arr = _arrow(s)
    keys = [k for k in labels if isinstance(k, str)]
    values = [table[header_key(k)] for k in keys]
    if arr is None or not len(s) or not all(v is None or isinstance(v, str) for v in values):
        return _map_enum_by_value(s, table)
    # Fast path: a value written exactly as a label key (most of a big column) is looked up in
    # bulk by Arrow; only the others take header_key, once per distinct value. A blank key is
    # left to the per-value path, where blank means missing.
    keys_arr = pa.array(keys, type=arr.type)
    real = pc.not_equal(pc.utf8_trim_whitespace(keys_arr), "")
    pos = pc.index_in(arr, value_set=keys_arr.filter(real))
    mapped = pc.take(pa.array(values, type=arr.type).filter(real), pos)
    out = pd.StringDtype().__from_arrow__(mapped)
    ok = pc.or_(pc.is_null(arr), pc.is_valid(mapped)).to_numpy()  # missing, or a key with a value
    rest = pc.and_(pc.is_null(pos), pc.is_valid(arr)).to_numpy()
    if rest.any():
        out_rest, ok_rest = _map_enum_by_value(s[rest], table)
        out[rest] = out_rest.array
        ok[rest] = ok_rest.to_numpy()
    return pd.Series(out, index=s.index), pd.Series(ok, index=s.index, dtype=bool)


def _map_enum_by_value(s: pd.Series, table: dict[str, str]) -> tuple[pd.Series, pd.Series]:
    present = s.notna() & (s.astype("string").str.strip() != "").fillna(False)
    out = _map_unique(s.where(present), lambda v: table.get(header_key(v)), "string")
    return out, (~present | out.notna()).astype(bool)


# --- legacy encodings ---------------------------------------------------------------------------
# TCVN3 (ABC, ".VnTime" fonts): each Vietnamese letter is one byte; Excel stores the byte as the
# cp1252 character, so "Nguyễn Văn" arrives as "NguyÔn V¨n".
_TCVN3_BYTES = {
    0xA1: "Ă",
    0xA2: "Â",
    0xA3: "Ê",
    0xA4: "Ô",
    0xA5: "Ơ",
    0xA6: "Ư",
    0xA7: "Đ",
    0xA8: "ă",
    0xA9: "â",
    0xAA: "ê",
    0xAB: "ô",
    0xAC: "ơ",
    0xAD: "ư",
    0xAE: "đ",
    0xB5: "à",
    0xB6: "ả",
    0xB7: "ã",
    0xB8: "á",
    0xB9: "ạ",
    0xBB: "ằ",
    0xBC: "ẳ",
    0xBD: "ẵ",
    0xBE: "ắ",
    0xC6: "ặ",
    0xC7: "ầ",
    0xC8: "ẩ",
    0xC9: "ẫ",
    0xCA: "ấ",
    0xCB: "ậ",
    0xCC: "è",
    0xCE: "ẻ",
    0xCF: "ẽ",
    0xD0: "é",
    0xD1: "ẹ",
    0xD2: "ề",
    0xD3: "ể",
    0xD4: "ễ",
    0xD5: "ế",
    0xD6: "ệ",
    0xD7: "ì",
    0xD8: "ỉ",
    0xDC: "ĩ",
    0xDD: "í",
    0xDE: "ị",
    0xDF: "ò",
    0xE1: "ỏ",
    0xE2: "õ",
    0xE3: "ó",
    0xE4: "ọ",
    0xE5: "ồ",
    0xE6: "ổ",
    0xE7: "ỗ",
    0xE8: "ố",
    0xE9: "ộ",
    0xEA: "ờ",
    0xEB: "ở",
    0xEC: "ỡ",
    0xED: "ớ",
    0xEE: "ợ",
    0xEF: "ù",
    0xF1: "ủ",
    0xF2: "ũ",
    0xF3: "ú",
    0xF4: "ụ",
    0xF5: "ừ",
    0xF6: "ử",
    0xF7: "ữ",
    0xF8: "ứ",
    0xF9: "ự",
    0xFA: "ỳ",
    0xFB: "ỷ",
    0xFC: "ỹ",
    0xFD: "ý",
    0xFE: "ỵ",
}
TCVN3_TO_UNICODE = {bytes([b]).decode("cp1252"): u for b, u in _TCVN3_BYTES.items()}
UNICODE_TO_TCVN3 = {u: c for c, u in TCVN3_TO_UNICODE.items()}

# VNI (VNI-Times fonts): a base letter followed by a modifier byte, read as cp1252:
# "Nguyễn Văn" -> "Nguyeãn Vaên".
_VNI_TONES = {"ù": "\u0301", "ø": "\u0300", "û": "\u0309", "õ": "\u0303", "ï": "\u0323"}
_VNI_HAT_TONES = {"á": "\u0301", "à": "\u0300", "å": "\u0309", "ã": "\u0303", "ä": "\u0323"}  # after â ê ô
_VNI_BREVE_TONES = {"é": "\u0301", "è": "\u0300", "ú": "\u0309", "ü": "\u0303", "ë": "\u0323"}  # after ă


def _build_vni() -> dict[str, str]:
    table: dict[str, str] = {}

    def add(src: str, dst: str) -> None:
        table[src] = unicodedata.normalize("NFC", dst)
        table[src.upper()] = unicodedata.normalize("NFC", dst).upper()

    for base in "aeo":
        add(base + "â", base + "\u0302")
        for mod, tone in _VNI_HAT_TONES.items():
            add(base + mod, base + "\u0302" + tone)
    add("aê", "ă")
    for mod, tone in _VNI_BREVE_TONES.items():
        add("a" + mod, "a\u0306" + tone)
    for base, uni in (("ô", "ơ"), ("ö", "ư")):
        add(base, uni)
        for mod, tone in _VNI_TONES.items():
            add(base + mod, uni + tone)
    for base in "aeouy":
        for mod, tone in _VNI_TONES.items():
            add(base + mod, base + tone)
    for src, dst in {"ñ": "đ", "í": "í", "ì": "ì", "æ": "ỉ", "ó": "ĩ", "ò": "ị", "î": "ỵ"}.items():
        add(src, dst)
    return table


VNI_TO_UNICODE = _build_vni()
UNICODE_TO_VNI = {v: k for k, v in sorted(VNI_TO_UNICODE.items(), key=lambda kv: -len(kv[0]))}
_VNI_RE = re.compile("|".join(re.escape(k) for k in sorted(VNI_TO_UNICODE, key=len, reverse=True)))

_VIET_LOWER = "àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ"
VIETNAMESE_LETTERS = frozenset(_VIET_LOWER + _VIET_LOWER.upper())
# Text of ASCII and precomposed Vietnamese letters only is NFC already: none of them decomposes or
# composes with its neighbour (tests check every pair), so names rarely need a Python call in nfc.
_NFC_ALREADY = r"[\x00-\x7f" + "".join(sorted(VIETNAMESE_LETTERS)) + "]*"
_PLAIN = frozenset(" abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.,'()/&")
# Characters of cp1252 that no Vietnamese text contains: the fingerprint of a legacy encoding.
_FOREIGN = re.compile(r"[^\x00-\x7f" + "".join(sorted(VIETNAMESE_LETTERS)) + r"]")
_VNI_MARK = re.compile(r"[öñæîäåëüïøûÖÑÆÎÄÅËÜÏØÛ]|[aeoAEO][âêÂÊ]|[aeAE][áàãåäÁÀÃÅÄ]|[aeoyAEOY][ùõÙÕ]")
_TCVN3_MARK = re.compile(r"[\xad¡¢£¤¥¦§¨©ª«¬®µ¶·¸¹»¼½¾ÆÇËÎÏÐÑ×ØÜÞßæçëîñö÷øûüþ]|[a-z][ÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚÝ]")
# Symbols TCVN3 text shows and VNI never does, and VNI's base+modifier pairs.
_TCVN3_ONLY = re.compile(r"[\xa1-\xbf×ÇÐÞß÷þç]")
_VNI_PAIR = re.compile(r"[aeoAEO][âêÂÊ]|[aeAE][áàãåäÁÀÃÅÄ]")
# Not a raw string: Python turns the escapes into the characters themselves, and pandas runs such
# a pattern in Arrow (a \u escape left in the pattern sends it through Python's re value by value).
_SUSPECT = re.compile(
    "[\u0080-\u00ff\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013-\u2122]"
)


# A character cp1252 has no byte for: above U+00FF and not one of the symbols of its 0x80–0x9F.
_CP1252_HIGH = "".join(c for c in bytes(range(0x80, 0xA0)).decode("cp1252", "ignore") if ord(c) > 0xFF)
_NOT_CP1252 = re.compile(rf"[^\x00-\xff{_CP1252_HIGH}]")


_TONES = frozenset("\u0300\u0301\u0303\u0309\u0323")
# A Vietnamese syllable (tone marks removed, vowel qualities kept): used to tell a right
# conversion from a wrong one ("Löu" read as TCVN3 gives "Lửu", VNI gives "Lưu").
_SYLLABLE = re.compile(
    r"^(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdđghklmnprstvx])?"
    r"(?:o(?=[aăe])|u(?=[âêyơa]))?"
    r"(?:(?:iê|yê|uô|ươ|[aăâeêioôơuưy])[mnpt]?"
    r"|[aêiy](?:ch|nh)"
    r"|(?:iê|yê|uô|ươ|[aăâeoôuư])(?:ng|c)"
    r"|ia|ya|ua|ưa"
    r"|(?:uô|ươ|[aâoôơuư])[iy]"
    r"|(?:iê|yê|ươ|[aăâeêiươ])[ou])$"
)


_VOWELS = frozenset("aăâeêioôơuưy")


@functools.lru_cache(maxsize=65536)
def _syllable_ok(word: str) -> bool:
    # Cached: names are made of a few thousand distinct words.
    decomposed = unicodedata.normalize("NFD", word.lower())
    if sum(c in _TONES for c in decomposed) > 1:
        return False
    base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONES))
    letters = unicodedata.normalize("NFC", decomposed)
    # The tone never sits on a closing glide i/o/u/y ("tàu", not "taù"), except old-style "uý".
    if (
        len(letters) >= 2
        and base[-1] in "iouy"
        and base[-2] in _VOWELS
        and base[-2:] != "uy"
        and any(c in _TONES for c in unicodedata.normalize("NFD", letters[-1]))
    ):
        return False
    return bool(_SYLLABLE.match(base))


def _plausible(v: str) -> bool:
    """Only Vietnamese letters, and every word holding a Vietnamese letter a possible syllable."""
    if not all(c in _PLAIN or c in VIETNAMESE_LETTERS for c in v):
        return False
    words = re.findall(r"[^\W\d_]+", v)
    return all(w.isascii() or _syllable_ok(w) for w in words)


def _cp1252_bytes(v: str) -> bytes | None:
    if _NOT_CP1252.search(v):  # most Vietnamese text: no need to try each character
        return None
    out = bytearray()
    for c in v:
        try:
            out += c.encode("cp1252")
        except UnicodeEncodeError:
            if ord(c) < 256:  # the five bytes cp1252 leaves undefined come through as latin-1
                out.append(ord(c))
            else:
                return None
    return bytes(out)


def _fix_one(v: str) -> tuple[str, str | None, bool]:
    """-> (text, encoding converted from or None, uncertain)."""
    raw = _cp1252_bytes(v)
    if raw is not None and not raw.isascii():
        try:
            fixed = unicodedata.normalize("NFC", raw.decode("utf-8"))
            if fixed != v:  # a clean decode is near proof; an odd result is left as it was, flagged
                return (fixed, "utf8_as_cp1252", False) if _plausible(fixed) else (v, None, True)
        except UnicodeDecodeError:
            pass
    candidates: list[tuple[str, str]] = []
    # Legacy text shows foreign symbols, or letters that spell no Vietnamese syllable ("Huúnh").
    unreadable = not _plausible(v)
    if _VNI_MARK.search(v) or unreadable:
        candidates.append((_VNI_RE.sub(lambda m: VNI_TO_UNICODE[m.group(0)], v), "vni"))
    if _TCVN3_MARK.search(v) or unreadable:
        candidates.append(("".join(TCVN3_TO_UNICODE.get(c, c) for c in v), "tcvn3"))
    candidates = [(c, e) for c, e in candidates if c != v]
    good = [(t, e) for t, e in candidates if _plausible(t)]
    if len(good) == 2:  # both readings are Vietnamese: decide by characters only one encoding emits
        if _TCVN3_ONLY.search(v):
            good = [g for g in good if g[1] == "tcvn3"]
        elif _VNI_PAIR.search(v):
            good = [g for g in good if g[1] == "vni"]
        # else: both spell Vietnamese ("Thò Löu": VNI "Thị Lưu" or TCVN3 "Thũ Lửu"): never guess
    if len(good) == 1:
        return unicodedata.normalize("NFC", good[0][0]), good[0][1], False
    if candidates or _FOREIGN.search(v) or unreadable:  # legacy-looking but no single clean reading
        return v, None, True
    return v, None, False


def fix_encoding(s: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Detect and convert TCVN3, VNI and UTF-8-read-as-cp1252 text.

    Returns (fixed text, changed mask, uncertain mask). Uncertain: the value looks like a legacy
    encoding (characters no Vietnamese text has) but no single conversion yields clean Vietnamese;
    the value is returned unchanged for the caller to quarantine. Use ``encoding_of`` for which
    encoding was converted.
    """
    fixed, changed, uncertain, _ = _fix_encoding(s)
    return fixed, changed, uncertain


def _fix_encoding(s: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series]:
    s = pd.Series(s).astype("string")
    suspect = s.str.contains(_SUSPECT.pattern, regex=True).fillna(False).astype(bool)
    fixed = s.copy()
    changed = pd.Series(False, index=s.index)
    uncertain = pd.Series(False, index=s.index)
    enc = pd.Series(pd.NA, index=s.index, dtype="string")
    if suspect.any():  # only values with non-ASCII Latin-1/cp1252 characters need a look
        rows = np.flatnonzero(suspect.to_numpy())
        codes, uniques = pd.factorize(s.iloc[rows])
        res = [_fix_one(u) for u in uniques.tolist()]
        # Most values come back unchanged: only the rows of the others are written.
        text = np.array([r[0] for r in res], dtype=object)
        new = np.array([r[0] != u for r, u in zip(res, uniques.tolist(), strict=True)], dtype=bool)[codes]
        fixed.iloc[rows[new]] = text[codes[new]]
        encoding = np.array([r[1] for r in res], dtype=object)[codes]
        named = np.array([r[1] is not None for r in res], dtype=bool)[codes]
        enc.iloc[rows[named]] = encoding[named]
        uncertain.iloc[rows] = np.array([r[2] for r in res], dtype=bool)[codes]
        changed = (fixed != s).fillna(False).astype(bool)
    return fixed, changed, uncertain, enc


def encoding_of(s: pd.Series) -> pd.Series:
    """Name of the legacy encoding each value was converted from ("tcvn3", "vni",
    "utf8_as_cp1252"), NA when none."""
    return _fix_encoding(s)[3]


def to_tcvn3(text: str) -> str:
    """Unicode -> TCVN3 as Excel shows it (test fixtures, round trips)."""
    return "".join(UNICODE_TO_TCVN3.get(c, c) for c in unicodedata.normalize("NFC", text))


def to_vni(text: str) -> str:
    """Unicode -> VNI as Excel shows it (test fixtures, round trips)."""
    return "".join(UNICODE_TO_VNI.get(c, c) for c in unicodedata.normalize("NFC", text))


def is_missing(v: Any) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and np.isnan(v))


def isin(s: pd.Series, values) -> pd.Series:
    """``s.isin(values)`` for text, NA -> False. pandas' isin on Arrow-backed strings goes through
    Python objects (tens of seconds on a million rows); pyarrow's is_in is a hash kernel."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(values, pd.Series | pd.Index):
        vals = pd.Series(values.to_numpy()) if isinstance(values, pd.Index) else values
    else:
        vals = pd.Series(list(values), dtype="string")
    if s.empty or vals.empty:
        return pd.Series(False, index=s.index, dtype=bool)
    arr = pa.array(s.astype("string"), type=pa.large_string(), from_pandas=True)
    value_set = pa.array(vals.astype("string"), type=pa.large_string(), from_pandas=True)
    # skip_nulls: an NA never matches; duplicates in the value set are harmless to the hash kernel.
    hit = pc.is_in(arr, value_set=value_set, skip_nulls=True)
    return pd.Series(hit.fill_null(False).to_numpy(zero_copy_only=False), index=s.index, dtype=bool)


def id_key(s: pd.Series) -> pd.Series:
    """``normalize.restore_id`` with a vectorised fast path for values that are digits already
    (after validation nearly all are); the others go through restore_id itself."""
    s = s.astype("string")
    digits = s.str.fullmatch(r"\d+").fillna(False).astype(bool)
    out = s.where(digits)
    n = out.str.len()
    out = out.mask((n == 11) | (n == 8), "0" + out)  # the leading zero Excel dropped
    other = s.notna() & ~digits
    if other.any():
        out[other] = restore_id(s[other]).to_numpy()
    return out.astype("string")
