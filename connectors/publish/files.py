"""findings.csv, quarantine.csv and summary.json (contract §3), each written atomically.

Atomic: the bytes go to a temporary file in the destination folder, are fsynced, then
``os.replace``d over the old file, so a reader (or a crash) sees the old file or the new one,
never half of one. The CSVs are deterministic: same rows in any order -> the same bytes.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from schemas.contract import FINDING_COLUMNS, QUARANTINE_COLUMNS

FINDINGS_SORT = ["list_code", "org_code", "member_code", "field", "finding_id"]
QUARANTINE_SORT = ["source", "sheet", "row", "column", "rule", "value", "message"]


def _umask() -> int:
    # Read, not os.umask(0)-and-restore: that would race with other threads creating files.
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes the file 0600: give it the mode a plain open() would (readers share these files).
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def _as_text(df: pd.DataFrame) -> pd.DataFrame:
    """Every column as text, so output never depends on dtypes (no '12.0', no 'NaT', dates ISO)."""
    out = pd.DataFrame(index=df.index)
    for col in df.columns:
        s = df[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            s = s.dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_float_dtype(s) and s.dropna().mod(1).eq(0).all():
            s = s.astype("Int64")  # an int column that gained NaN became float
        elif pd.api.types.is_bool_dtype(s):
            s = s.map({True: "true", False: "false"})
        out[col] = s.astype("string").fillna("")
    return out


# A field a spreadsheet would run as a formula (OWASP "CSV injection"): it starts with one of
# these characters. Plain numbers (-5, +84, 1e3) stay as they are.
_FORMULA_START = r"^[=+\-@\t\r]"
_PLAIN_NUMBER = r"[+-]?(?:\d+(?:[.,]\d+)?|[.,]\d+)(?:[eE][+-]?\d+)?"
# Runs of 9 to 12 digits: a CMND (9), a CCCD (12), or one of them that lost leading zeros.
_ID_RUN = re.compile(r"(?<![0-9])[0-9]{9,12}(?![0-9])")


def neutralise_formulas(text: pd.DataFrame) -> pd.DataFrame:
    """Every text field that starts with = + - @ tab or carriage return, and is not a plain
    number, gets a leading apostrophe: Excel and LibreOffice show it as text, never run it."""
    out = text.copy()
    for col in out.columns:
        s = out[col]
        risky = s.str.contains(_FORMULA_START, regex=True).fillna(False)
        if risky.any():
            risky &= ~s.str.fullmatch(_PLAIN_NUMBER).fillna(False)
            out[col] = s.mask(risky, "'" + s)
    return out


def mask_id_runs(text: pd.Series) -> pd.Series:
    """Any run of 9-12 digits in the text (a personal ID, wherever a cell typed it) masked to
    its last four digits."""
    hit = text.str.contains(r"[0-9]{9}", regex=True).fillna(False)
    if not hit.any():
        return text
    masked = text[hit].map(lambda v: _ID_RUN.sub(lambda m: "*" * (len(m[0]) - 4) + m[0][-4:], v))
    return text.mask(hit, masked)


def _csv_bytes(df: pd.DataFrame, columns: list[str], sort_by: list[str], mask_ids: bool = False) -> bytes:
    df = df.copy()
    for col in columns:
        if col not in df.columns:
            df[col] = pd.NA
    extras = [c for c in df.columns if c not in columns]
    text = _as_text(df[[*columns, *extras]])
    if mask_ids:  # every column but the row number: a cell may type an ID anywhere
        for col in text.columns:
            if col != "row":
                text[col] = mask_id_runs(text[col])
    text = neutralise_formulas(text)
    keys = [c for c in sort_by if c in text.columns]
    # Sort on every column after the keys too: a total order whatever the input order.
    text = text.sort_values([*keys, *[c for c in text.columns if c not in keys]], kind="mergesort")
    buf = io.StringIO()
    text.to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue().encode("utf-8-sig")  # BOM: Excel opens Vietnamese text correctly


def write_findings_csv(findings: pd.DataFrame, path: Path) -> Path:
    """findings.csv: FINDING_COLUMNS first, then any extra columns (e.g. ``ref``) in their order."""
    return atomic_write_bytes(path, _csv_bytes(findings, FINDING_COLUMNS, FINDINGS_SORT))


def write_quarantine_csv(q: pd.DataFrame, path: Path) -> Path:
    """quarantine.csv: QUARANTINE_COLUMNS first, then extras (``severity``: ``error`` for a rejected
    row or file, ``warning`` for a field-level fault of an accepted one). ``value`` is masked by
    column already; any other 9-12 digit run, in any column, is masked here too."""
    q = q.drop(columns=[c for c in q.columns if str(c).startswith("_")])  # internal (e.g. _cell)
    if "severity" in q.columns:
        q = q.assign(severity=q["severity"].astype("string").fillna("error"))
    return atomic_write_bytes(path, _csv_bytes(q, QUARANTINE_COLUMNS, QUARANTINE_SORT, mask_ids=True))


def _json_default(o: Any) -> Any:
    if isinstance(o, datetime | date | pd.Timestamp):
        return o.isoformat()
    if isinstance(o, Path):
        return o.as_posix()
    if hasattr(o, "item"):  # numpy scalars
        return o.item()
    if isinstance(o, set | frozenset):
        return sorted(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def write_summary_json(summary: dict, path: Path) -> Path:
    """summary.json with sorted keys (stable diffs between runs)."""
    text = json.dumps(summary, ensure_ascii=False, indent=2, sort_keys=True, default=_json_default)
    return atomic_write_bytes(path, (text + "\n").encode("utf-8"))
