"""Tiny, readable fixtures for the rules tests: lists of dicts -> CentralData / SubmissionData.

Dates are ISO strings in the fixtures; the builders give every table the dtypes of
dvsync/datasets.py (string text, datetime64 dates, Int64 years, boolean flags).
"""

from __future__ import annotations

import pandas as pd

from schemas.contract import CENTRAL_DATE_COLUMNS, CENTRAL_TABLES, LINEAGE_COLUMNS, SHEET_TABLES, SHEETS
from schemas.datasets import CentralData, RunContext, SubmissionData
from schemas.lists import LISTS

AS_OF = pd.Timestamp("2026-11-16")  # a Monday, as in the demo data
PERIOD = "2026-10"

INT_COLUMNS = {"year", "years", "category"}
BOOL_COLUMNS = {
    "active",
    "attended",
    "excused",
    "fees_paid",
    "emulation_fighter",
    "provincial_merit",
    "background_verified",
    "superseded",
}
SUBMISSION_DATE_COLUMNS = {
    "birth_date",
    "admission_date",
    "official_date",
    "letter_date",
    "notice_sent_on",
    "received_on",
    "dossier_received_on",
    "course_certificate_on",
    "political_conclusion_on",
    "created_on",
}

# Province P > upper U > grassroots committee G > cells C1, C2, C3; and a grassroots cell GC under U.
ORGS = [
    {"org_code": "P", "name": "Tỉnh ủy", "kind": "province", "parent_code": None, "active": True},
    {
        "org_code": "U",
        "name": "Đảng ủy Các cơ quan tỉnh",
        "kind": "upper",
        "parent_code": "P",
        "active": True,
    },
    {
        "org_code": "G",
        "name": "Đảng bộ Sở Y tế",
        "kind": "grassroots_committee",
        "parent_code": "U",
        "active": True,
    },
    {"org_code": "C1", "name": "Chi bộ Văn phòng", "kind": "cell", "parent_code": "G", "active": True},
    {"org_code": "C2", "name": "Chi bộ Nghiệp vụ", "kind": "cell", "parent_code": "G", "active": True},
    {"org_code": "C3", "name": "Chi bộ Thanh tra", "kind": "cell", "parent_code": "G", "active": True},
    {
        "org_code": "GC",
        "name": "Chi bộ Báo tỉnh",
        "kind": "grassroots_cell",
        "parent_code": "U",
        "active": True,
    },
]


def member(code: str, **kw) -> dict:
    """A consistent active full member of cell C1, born 10/05/1980 (male, ID 001080012345)."""
    base = {
        "member_code": code,
        "full_name": "Nguyễn Văn An",
        "gender": "Nam",
        "birth_date": "1980-05-10",
        "personal_id": "001080" + code.rjust(6, "0")[-6:] if code.isdigit() else "001080012345",
        "dossier_no": None,
        "card_no": "12345678",
        "admission_decision_date": "2005-03-01",
        "admission_date": "2005-03-15",
        "official_date": "2006-03-15",
        "cell_code": "C1",
        "status": "active",
        "status_date": None,
        "updated_at": None,
    }
    base.update(kw)
    return base


def _frame(rows: list[dict], columns: list[str], dates: set[str] | list[str]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=list(dict.fromkeys([*columns, *(k for r in rows for k in r)])))
    for c in df.columns:
        if c in dates:
            df[c] = pd.to_datetime(df[c], errors="coerce")
        elif c in INT_COLUMNS:
            df[c] = pd.to_numeric(df[c], errors="coerce").astype("Int64")
        elif c in BOOL_COLUMNS:
            df[c] = df[c].astype("boolean")
        else:
            df[c] = df[c].astype("string")
    return df


def central(orgs: list[dict] | None = None, **tables: list[dict]) -> CentralData:
    data = {}
    for name, cols in CENTRAL_TABLES.items():
        rows = (ORGS if orgs is None else orgs) if name == "organizations" else tables.get(name, [])
        data[name] = _frame(rows, cols, set(CENTRAL_DATE_COLUMNS.get(name, [])))
    return CentralData(**data)


def submissions(workbooks: list[dict] | None = None, **tables: list[dict]) -> SubmissionData:
    """Rows default to period 2026-10 and source '<cell>-<period>.xlsx'; the workbook index is
    derived from the rows (plus ``workbooks`` given explicitly, e.g. a cell with an empty roster)."""
    base = ["cell_code", "period", *LINEAGE_COLUMNS]
    data = {}
    seen: dict[tuple, dict] = {}
    for sheet, cols in SHEETS.items():
        table = SHEET_TABLES[sheet]
        rows = []
        for i, r in enumerate(tables.get(table, [])):
            r = {"period": PERIOD, "_sheet": sheet, "_row": str(i + 2), **r}
            r.setdefault("_source", f"{r['cell_code']}-{r['period']}.xlsx")
            rows.append(r)
            seen.setdefault((r["cell_code"], r["period"], r["_source"]), {})
        data[table] = _frame(rows, base + list(cols.values()), SUBMISSION_DATE_COLUMNS)
    wbs = []
    for w in workbooks or []:
        w = {"period": PERIOD, **w}
        w.setdefault("_source", f"{w['cell_code']}-{w['period']}.xlsx")
        wbs.append(w)
    known = {(w["cell_code"], w["period"], w["_source"]) for w in wbs}
    for key in seen:
        if key not in known:
            wbs.append(
                {"cell_code": key[0], "period": key[1], "_source": key[2], "created_on": f"{key[1]}-28"}
            )
    cols = ["cell_code", "period", "created_on", "secretary", "_source", "checksum", "superseded"]
    wb = _frame(wbs, cols, SUBMISSION_DATE_COLUMNS)
    wb["superseded"] = wb["superseded"].fillna(False)
    return SubmissionData(workbooks=wb, **data)


def roster_row(code: str, cell: str = "C1", **kw) -> dict:
    """The cell's DanhSach row for ``member(code)`` as the cell would list it (same values)."""
    m = member(code)
    row = {
        k: m[k]
        for k in (
            "member_code",
            "full_name",
            "birth_date",
            "gender",
            "personal_id",
            "admission_date",
            "official_date",
        )
    }
    row.update({"cell_code": cell, "roster_status": "active"})
    row.update(kw)
    return row


def ctx(as_of: str | pd.Timestamp = AS_OF, period: str = PERIOD, mode: str = "nightly") -> RunContext:
    return RunContext(as_of=pd.Timestamp(as_of), period=period, mode=mode)


def codes(findings: pd.DataFrame, list_code: str | None = None) -> list[tuple]:
    """(list_code, org_code, member_code, field) of the findings, sorted; filtered by list code."""
    f = findings if list_code is None else findings[findings["list_code"] == list_code]
    return sorted(
        tuple("" if pd.isna(v) else v for v in row)
        for row in f[["list_code", "org_code", "member_code", "field"]].itertuples(index=False)
    )


def dossier(*member_codes: str, years: range = range(2025, 2026), official: bool = True) -> list[dict]:
    """Every document of a complete dossier for the members (3-HSDV for ``years``)."""
    docs = ["CN-NTVD", "1-KND", "2-KND", "3-KND", "QD-KN", "1-HSDV", "2-HSDV"] + (
        ["QD-CT"] if official else []
    )
    rows = []
    for code in member_codes:
        rows += [{"member_code": code, "doc_type": d, "received_on": "2006-01-01"} for d in docs]
        rows += [
            {"member_code": code, "doc_type": "3-HSDV", "year": y, "received_on": f"{y}-12-31"} for y in years
        ]
    return rows


def run(c: CentralData, s: SubmissionData | None = None, *prefixes: str, **context) -> pd.DataFrame:
    """The finalized findings of the lists whose code starts with one of ``prefixes``.

    Only those lists' rules run, with the rules they depend on (the registry's plan), and their
    findings are finalized as reconcile() finalizes them: a rule's findings do not depend on the
    rules it does not depend on (``test_registry`` checks it list by list against reconcile()).
    No prefixes: the whole reconcile()."""
    from rules import reconcile
    from rules.reconcile import finalize_findings
    from rules.registry import REGISTRY

    s = s if s is not None else submissions()
    run_ctx = ctx(**context)
    if not prefixes:
        return reconcile(c, s, run_ctx)
    wanted = [code for code in LISTS if code.startswith(prefixes)]
    assert wanted, f"no list code starts with {prefixes}"
    found = REGISTRY.run(c, s, run_ctx, only=wanted)
    f = finalize_findings([found[code] for code in wanted], c.organizations, run_ctx)
    return f.reset_index(drop=True)


def one(findings: pd.DataFrame, list_code: str) -> pd.Series:
    """The single finding of ``list_code`` (fails the test when there are none or several)."""
    f = findings[findings["list_code"] == list_code]
    assert len(f) == 1, (
        f"expected one {list_code}, got {len(f)}: {f[['member_code', 'field']].values.tolist()}"
    )
    return f.iloc[0]
