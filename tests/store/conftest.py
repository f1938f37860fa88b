"""Fixtures of the results-database tests: a fresh store on SQLite and on PostgreSQL.

PostgreSQL: 127.0.0.1:5432, user postgres, database ``test`` (override with DVSYNC_TEST_PG_URL).
Each test gets its own schema ``dvsync_store_<session>_<n>``, dropped afterwards. The tests do
not skip when the server is missing: CI has it.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import os
import uuid

import pandas as pd
import pytest
import sqlalchemy as sa

from connectors.store import ResultsStore
from dvsync.datasets import SubmissionData, WorkbookResult
from schemas.contract import FINDING_COLUMNS, QUARANTINE_COLUMNS, SHEET_TABLES

PG_URL = os.environ.get("DVSYNC_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SESSION = uuid.uuid4().hex[:8]
_counter = itertools.count()


def pg_schema() -> str:
    return f"dvsync_store_{SESSION}_{next(_counter)}"


def drop_schema(schema: str) -> None:
    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture
def make_store(tmp_path):
    """make_store(backend) -> a migrated ResultsStore; cleaned up after the test."""
    made: list[tuple[ResultsStore, str | None]] = []

    def factory(backend: str = "sqlite", migrate: bool = True, name: str = "results") -> ResultsStore:
        if backend == "sqlite":
            store, schema = ResultsStore(f"sqlite:///{tmp_path / (name + '.sqlite')}"), None
        else:
            schema = pg_schema()
            store = ResultsStore(f"{PG_URL}?schema={schema}")
        made.append((store, schema))
        if migrate:
            store.migrate()
        return store

    yield factory
    for store, schema in made:
        store.dispose()
        if schema:
            drop_schema(schema)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, make_store) -> ResultsStore:
    return make_store(request.param)


# --- building WorkbookResults without the parser --------------------------------------------------
@functools.cache
def _columns(name: str) -> list[str]:
    return list(SubmissionData.empty().tables()[name].columns)


def _typed(rows: list[dict], name: str) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=_columns(name))
    for col in df.columns:
        if col in {"birth_date", "admission_date", "official_date", "letter_date", "notice_sent_on",
                   "received_on", "dossier_received_on", "course_certificate_on", "political_conclusion_on"}:
            df[col] = pd.to_datetime(df[col]).astype("datetime64[ns]")
        elif col in {"attended", "excused", "fees_paid", "emulation_fighter", "provincial_merit",
                     "background_verified"}:
            df[col] = df[col].astype("boolean")
        elif col in {"year", "category", "_row"}:
            df[col] = df[col].astype("Int64")
        else:
            df[col] = df[col].astype("string")
    return df


def workbook(cell: str, period: str, created_on: str | None = None, *, members: list[str] | None = None,
             activity: list[tuple] | None = None, transfers_out: list[dict] | None = None,
             transfers_in: list[dict] | None = None, screening: list[tuple] | None = None,
             candidates: list[dict] | None = None, quarantine: list[dict] | None = None,
             names: dict[str, str] | None = None, version: str = "", error: str | None = None) -> WorkbookResult:
    """A WorkbookResult as connectors.workbooks.parse_workbook would return it.

    ``activity``: (member_code, month, attended, excused, fees_paid) tuples.
    """
    source = f"{cell}_{period}{version}.xlsx"
    checksum = hashlib.sha256(f"{cell}|{period}|{created_on}|{version}|{error}".encode()).hexdigest()
    members = members if members is not None else [f"{cell}-M{i}" for i in range(1, 4)]
    names = names or {}

    def lineage(sheet: str, rows: list[dict]) -> list[dict]:
        return [{"cell_code": cell, "period": period, "_source": source, "_sheet": sheet, "_row": i + 2, **r}
                for i, r in enumerate(rows)]

    tables = {
        "roster": lineage("DanhSach", [
            {"member_code": m, "full_name": names.get(m, f"Nguyễn Văn {m}"), "birth_date": "1980-01-02",
             "gender": "Nam", "personal_id": "001080000001", "admission_date": "2005-05-19",
             "official_date": "2006-05-19" if i % 2 == 0 else None, "roster_status": "active"}
            for i, m in enumerate(members)
        ]),
        "activity": lineage("SinhHoat", [
            {"member_code": m, "month": mo, "attended": a, "excused": e, "fees_paid": f}
            for m, mo, a, e, f in (activity or [])
        ]),
        "ratings": lineage("XepLoai", []),
        "transfers_out": lineage("ChuyenDi", transfers_out or []),
        "transfers_in": lineage("ChuyenDen", transfers_in or []),
        "candidates": lineage("CamTinh", candidates or []),
        "screening": lineage("DanhGia", [{"member_code": m, "category": c, "note": n}
                                         for m, c, n in (screening or [])]),
    }
    frames = {name: _typed(rows, name) for name, rows in tables.items()}
    if error:
        frames = {}
    q = pd.DataFrame(quarantine or [], columns=QUARANTINE_COLUMNS)
    q = q.astype({c: "string" for c in QUARANTINE_COLUMNS if c != "row"}).astype({"row": "Int64"})
    meta = {
        "cell_code": None if error else cell, "period": None if error else period,
        "created_on": pd.Timestamp(created_on) if created_on else None, "secretary": "Trần Thị B",
        "_source": source, "checksum": checksum,
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
        base.update(list_code="ROSTER_NOT_IN_CENTRAL", severity="error", org_code="C1", committee_code="G1",
                    detail="Chi tiết", rule="HD 12", status="new", as_of=as_of, first_seen=as_of)
        base.update(r)
        key = "|".join(str(base[c]) for c in ("list_code", "org_code", "member_code", "field", "ref"))
        base["finding_id"] = _h.sha1(key.encode()).hexdigest()[:16]
        out.append(base)
    df = pd.DataFrame(out, columns=[*FINDING_COLUMNS, "ref"]).astype("string")
    return df


@pytest.fixture
def wb():
    return workbook


@pytest.fixture
def ff():
    return findings_frame
