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


def _csv_bytes(df: pd.DataFrame, columns: list[str], sort_by: list[str]) -> bytes:
    df = df.copy()
    for col in columns:
        if col not in df.columns:
            df[col] = pd.NA
    extras = [c for c in df.columns if c not in columns]
    text = _as_text(df[[*columns, *extras]])
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
    """quarantine.csv: QUARANTINE_COLUMNS first, then extras. ``value`` must already be masked."""
    return atomic_write_bytes(path, _csv_bytes(q, QUARANTINE_COLUMNS, QUARANTINE_SORT))


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
