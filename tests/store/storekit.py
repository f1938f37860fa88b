"""Helpers of the results-database tests: WorkbookResults and findings built by hand, real
workbooks derived from the demo's, and the flow's folder sync."""

from __future__ import annotations

import functools
import hashlib
import uuid

import pandas as pd
import sqlalchemy as sa
from pgtest import PG_URL  # noqa: E402

from connectors.store import ResultsStore
from schemas.contract import FINDING_COLUMNS, QUARANTINE_COLUMNS, SHEET_TABLES, SHEETS
from schemas.datasets import WorkbookResult
from schemas.submission import BOOL_COLUMNS, DATE_COLUMNS

SESSION = uuid.uuid4().hex[:8]


def drop_schema(schema: str) -> None:
    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


# --- building WorkbookResults without the parser --------------------------------------------------
@functools.cache
def _columns(name: str) -> list[str]:
    """The column order of connectors.workbooks: cell, period, the sheet's columns, lineage."""
    sheet = next(s for s, t in SHEET_TABLES.items() if t == name)
    return ["cell_code", "period", *SHEETS[sheet].values(), "_source", "_sheet", "_row"]


def _typed(rows: list[dict], name: str) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=_columns(name))
    for col in df.columns:
        if col in DATE_COLUMNS:
            df[col] = pd.to_datetime(df[col]).astype("datetime64[ns]")
        elif col in BOOL_COLUMNS:
            df[col] = df[col].astype("boolean")
        elif col in {"year", "category"}:
            df[col] = df[col].astype("Int64")
        elif col == "_row":
            df[col] = df[col].astype("int64")
        else:
            df[col] = df[col].astype("string")
    return df


def workbook(
    cell: str,
    period: str,
    created_on: str | None = None,
    *,
    members: list[str] | None = None,
    activity: list[tuple] | None = None,
    transfers_out: list[dict] | None = None,
    transfers_in: list[dict] | None = None,
    screening: list[tuple] | None = None,
    candidates: list[dict] | None = None,
    quarantine: list[dict] | None = None,
    names: dict[str, str] | None = None,
    version: str = "",
    error: str | None = None,
) -> WorkbookResult:
    """A WorkbookResult as connectors.workbooks.parse_workbook would return it.

    ``activity``: (member_code, month, attended, excused, fees_paid) tuples.
    """
    source = f"{cell}_{period}{version}.xlsx"
    checksum = hashlib.sha256(f"{cell}|{period}|{created_on}|{version}|{error}".encode()).hexdigest()
    members = members if members is not None else [f"{cell}-M{i}" for i in range(1, 4)]
    names = names or {}

    def lineage(sheet: str, rows: list[dict]) -> list[dict]:
        return [
            {"cell_code": cell, "period": period, "_source": source, "_sheet": sheet, "_row": i + 2, **r}
            for i, r in enumerate(rows)
        ]

    tables = {
        "roster": lineage(
            "DanhSach",
            [
                {
                    "member_code": m,
                    "full_name": names.get(m, f"Nguyễn Văn {m}"),
                    "birth_date": "1980-01-02",
                    "gender": "Nam",
                    "personal_id": "001080000001",
                    "admission_date": "2005-05-19",
                    "official_date": "2006-05-19" if i % 2 == 0 else None,
                    "roster_status": "active",
                }
                for i, m in enumerate(members)
            ],
        ),
        "activity": lineage(
            "SinhHoat",
            [
                {"member_code": m, "month": mo, "attended": a, "excused": e, "fees_paid": f}
                for m, mo, a, e, f in (activity or [])
            ],
        ),
        "ratings": lineage("XepLoai", []),
        "transfers_out": lineage("ChuyenDi", transfers_out or []),
        "transfers_in": lineage("ChuyenDen", transfers_in or []),
        "candidates": lineage("CamTinh", candidates or []),
        "screening": lineage(
            "DanhGia", [{"member_code": m, "category": c, "note": n} for m, c, n in (screening or [])]
        ),
    }
    frames = {name: _typed(rows, name) for name, rows in tables.items()}
    if error:
        frames = {}
    q = pd.DataFrame(quarantine or [], columns=QUARANTINE_COLUMNS)
    q = q.astype({c: "string" for c in QUARANTINE_COLUMNS if c != "row"}).astype({"row": "Int64"})
    meta = {
        "cell_code": None if error else cell,
        "period": None if error else period,
        "created_on": pd.Timestamp(created_on) if created_on else None,
        "secretary": "Trần Thị B",
        "_source": source,
        "checksum": checksum,
        "rows_read": {s: len(frames.get(t, [])) for s, t in SHEET_TABLES.items()},
        "rows_accepted": {s: len(frames.get(t, [])) for s, t in SHEET_TABLES.items()},
        "rows_quarantined": {},
    }
    return WorkbookResult(meta=meta, tables=frames, quarantine=q, error=error)


def findings_frame(rows: list[dict], as_of: str) -> pd.DataFrame:
    """A findings frame as rules.findings.finalize returns it (FINDING_COLUMNS + ref)."""
    import hashlib as _h

    out = []
    for r in rows:
        base = {c: pd.NA for c in [*FINDING_COLUMNS, "ref"]}
        base.update(
            list_code="ROSTER_NOT_IN_CENTRAL",
            severity="error",
            org_code="C1",
            committee_code="G1",
            detail="Chi tiết",
            rule="HD 12",
            status="new",
            as_of=as_of,
            first_seen=as_of,
        )
        base.update(r)
        key = "|".join(str(base[c]) for c in ("list_code", "org_code", "member_code", "field", "ref"))
        base["finding_id"] = _h.sha1(key.encode()).hexdigest()[:16]
        out.append(base)
    df = pd.DataFrame(out, columns=[*FINDING_COLUMNS, "ref"]).astype("string")
    return df


# --- real workbooks (connectors.workbooks, dvsync.demo) -------------------------------------------
def parse_files(paths: list) -> list[WorkbookResult]:
    """Parse files into per-workbook frames (``tables``), batched (much faster than one by one)."""
    from connectors import workbooks

    if hasattr(workbooks, "_parse_all"):
        return workbooks._parse_all(list(paths), [p.name for p in paths], 1)
    return [workbooks.parse_workbook(p) for p in paths]


def sync_folder(store: ResultsStore, folder) -> tuple[int, dict]:
    """What the nightly flow does with a folder: checksum, skip known files, parse the rest, load.

    Returns (files parsed, load counts)."""
    from pathlib import Path

    files = sorted(p for p in Path(folder).iterdir() if p.suffix == ".xlsx")
    known = store.known_checksums()
    todo = [p for p in files if hashlib.sha256(p.read_bytes()).hexdigest() not in known]
    from connectors.workbooks import _parse_all

    # As the flow: chunks of workbooks handed to the store whole (WorkbookResult.rows).
    results = _parse_all(todo, [p.name for p in todo], 1, whole_chunks=True) if todo else []
    return len(todo), store.load_workbooks(results)


def derive_workbook(
    src,
    dst,
    *,
    period: str | None = None,
    created_on: str | None = None,
    drop_members: tuple[str, ...] = (),
    activity: list[tuple] | None = None,
    keep_optional: bool = True,
) -> None:
    """Write a changed copy of a cell workbook (a correction, or another month's workbook).

    ``period`` YYYY-MM; ``created_on`` YYYY-MM-DD (Ngày lập); ``activity``: rows
    (member_code, "MM/YYYY", attended, excused, fees_paid) replacing the SinhHoat sheet."""
    from datetime import datetime

    import openpyxl

    wb = openpyxl.load_workbook(src)
    for row in wb["ThongTin"].iter_rows():
        if row[0].value == "Kỳ báo cáo" and period:
            row[1].value = f"{period[5:7]}/{period[:4]}"
        if row[0].value == "Ngày lập" and created_on:
            row[1].value = datetime.fromisoformat(created_on)
    ws = wb["DanhSach"]
    for r in range(ws.max_row, 1, -1):
        if str(ws.cell(r, 1).value) in drop_members:
            ws.delete_rows(r)
    if activity is not None:
        ws = wb["SinhHoat"]
        ws.delete_rows(2, ws.max_row)
        yes = {True: "Có", False: "Không"}
        for i, (m, month, att, exc, fees) in enumerate(activity, start=2):
            for j, v in enumerate([m, month, yes[att], yes[exc], yes[fees]], start=1):
                ws.cell(i, j).value = v
    if not keep_optional:
        for name in ["XepLoai", "ChuyenDi", "ChuyenDen", "CamTinh", "DanhGia"]:
            if name in wb.sheetnames:
                del wb[name]
    wb.save(dst)
