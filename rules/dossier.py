"""Member dossier and probation (HD 01-HD/TW point 8, Điều lệ Đảng art. 5; docs/rules.md, "Dossier")."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rules.calendar import add_working_days
from rules.common import dmy, dmy1, emit, isin, none, screened, txt
from rules.registry import MEMBER, rule

REQUIRED_DOCS = ["CN-NTVD", "1-KND", "2-KND", "3-KND", "QD-KN", "1-HSDV", "2-HSDV"]
DOC_LABELS = {
    "CN-NTVD": "giấy chứng nhận học lớp nhận thức về Đảng (CN-NTVĐ)",
    "1-KND": "đơn xin vào Đảng (mẫu 1-KNĐ)",
    "2-KND": "lý lịch của người xin vào Đảng (mẫu 2-KNĐ)",
    "3-KND": "giấy giới thiệu người vào Đảng (mẫu 3-KNĐ)",
    "QD-KN": "quyết định kết nạp đảng viên",
    "1-HSDV": "lý lịch đảng viên (mẫu 1-HSĐV)",
    "2-HSDV": "phiếu đảng viên (mẫu 2-HSĐV)",
    "QD-CT": "quyết định công nhận đảng viên chính thức",
    "3-HSDV": "phiếu bổ sung hồ sơ đảng viên (mẫu 3-HSĐV)",
}
PROBATION_MONTHS = 12
RECOGNITION_WORKING_DAYS = 30  # the cell considers recognition within 30 working days


def _required(members: pd.DataFrame, as_of: pd.Timestamp, mode: str) -> pd.DataFrame:
    """(member_code, doc_type, year) that the dossier must hold; year only for 3-HSDV."""
    codes = members["member_code"].to_numpy()
    parts = [
        pd.DataFrame(
            {
                "member_code": np.repeat(codes, len(REQUIRED_DOCS)),
                "doc_type": np.tile(REQUIRED_DOCS, len(codes)),
            }
        )
    ]
    full = members.loc[members["official_date"].notna(), "member_code"]
    parts.append(pd.DataFrame({"member_code": full.to_numpy(), "doc_type": "QD-CT"}))
    last = pd.Timestamp(as_of).year - 1
    first_year = members["admission_date"].dt.year + 1
    if mode == "audit":
        # Every year from the year after admission to the year before as_of.
        first = first_year.fillna(last + 1).astype(int).to_numpy()
        counts = np.clip(last - first + 1, 0, None)
        rep = np.repeat(codes, counts)
        starts = np.repeat(first, counts)
        offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        years = starts + offsets
    else:
        # Nightly: only last year's supplement, from members admitted before last year.
        due = (first_year <= last).fillna(False).to_numpy()
        rep, years = codes[due], np.full(due.sum(), last)
    parts.append(pd.DataFrame({"member_code": rep, "doc_type": "3-HSDV", "year": years}))
    req = pd.concat(parts, ignore_index=True)
    req["member_code"] = req["member_code"].astype("string")
    req["doc_type"] = req["doc_type"].astype("string")
    req["year"] = req["year"].astype("Int64")
    return req


def _missing_nightly(m: pd.DataFrame, docs: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """(member_code, doc_type, year) missing, one document type at a time (hash look-ups, no
    member x document cross product)."""
    last = pd.Timestamp(as_of).year - 1
    doc_type = docs["doc_type"].astype("string")
    parts = []
    for code in [*REQUIRED_DOCS, "QD-CT", "3-HSDV"]:
        held = docs["member_code"][(doc_type == code).fillna(False).to_numpy()]
        need = m
        if code == "QD-CT":
            need = m[m["official_date"].notna()]
        elif code == "3-HSDV":
            need = m[(m["admission_date"].dt.year < last).fillna(False)]
            year = pd.to_numeric(docs["year"], errors="coerce")
            held = docs["member_code"][((doc_type == code) & (year == last)).fillna(False).to_numpy()]
        miss = need.loc[~isin(need["member_code"], held).to_numpy(), ["member_code"]]
        parts.append(miss.assign(doc_type=code, year=last if code == "3-HSDV" else None))
    req = pd.concat(parts, ignore_index=True)
    return req.astype({"member_code": "string", "doc_type": "string", "year": "Int64"})


# Source: HD 01-HD/TW point 8; HD 12-HD/BTCTW (mẫu hồ sơ); 3-HSĐV every year.
@rule(
    "DOSSIER_MISSING_DOC",
    scope=MEMBER,
    members="screened",
    dossier_documents="central.dossier_documents",
    as_of="as_of",
    mode="mode",
)
def dossier_missing_doc(
    members: pd.DataFrame, dossier_documents: pd.DataFrame, as_of: pd.Timestamp, mode: str = "nightly"
) -> pd.DataFrame:
    """One finding per required document (per year for 3-HSDV) absent from ``dossier_documents``.

    A document is held when a row exists for it (its ``received_on`` may be unknown)."""
    m = screened(members)
    if m.empty:
        return none()
    if mode == "audit":
        req = _required(m, as_of, mode)
        held = dossier_documents[["member_code", "doc_type", "year"]].astype(
            {"member_code": "string", "doc_type": "string", "year": "Int64"}
        )
        # Only 3-HSDV is per year; the other documents match whatever their year column holds.
        held = held.assign(year=held["year"].where(held["doc_type"] == "3-HSDV")).drop_duplicates()
        req = req.merge(held.assign(_held=True), on=["member_code", "doc_type", "year"], how="left")
        req = req[req["_held"].isna()].drop(columns="_held")
    else:
        req = _missing_nightly(m, dossier_documents, as_of)
    if req.empty:
        return none()
    names = m.loc[
        isin(m["member_code"], req["member_code"]).to_numpy(), ["member_code", "full_name", "cell_code"]
    ]
    req = req.merge(names, on="member_code", how="left")
    year_txt = (" năm " + req["year"].astype("string")).fillna("")
    label = req["doc_type"].map(DOC_LABELS).astype("string")
    detail = (
        "Hồ sơ đảng viên "
        + txt(req["member_code"])
        + " ("
        + txt(req["full_name"])
        + ") thiếu "
        + label
        + year_txt
        + "."
    )
    return emit(
        "DOSSIER_MISSING_DOC",
        req,
        org_code="cell_code",
        member_code="member_code",
        field=req["doc_type"],
        detail=detail,
        ref=req["year"].astype("string"),
    )


# Source: Điều lệ Đảng art. 5; HD 01-HD/TW — 12 months of probation, recognition within 30 working days.
@rule("PROBATION_OVERDUE", scope=MEMBER, members="screened", as_of="as_of")
def probation_overdue(members: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Probationary (official_date null), and as_of > (ceremony + 12 months) + 30 working days."""
    m = screened(members)
    m = m[m["official_date"].isna() & m["admission_date"].notna()]
    if m.empty:
        return none()
    end = m["admission_date"] + pd.DateOffset(months=PROBATION_MONTHS)
    m = m.assign(_end=end, _due=add_working_days(end, RECOGNITION_WORKING_DAYS))
    m = m[m["_due"] < pd.Timestamp(as_of).normalize()]
    if m.empty:
        return none()
    detail = (
        "Đảng viên dự bị "
        + txt(m["member_code"])
        + " ("
        + txt(m["full_name"])
        + ") vào Đảng ngày "
        + dmy(m["admission_date"])
        + ", hết 12 tháng dự bị ngày "
        + dmy(m["_end"])
        + ", quá hạn xét công nhận chính thức (hạn "
        + dmy(m["_due"])
        + ", 30 ngày làm việc) tính đến "
        + dmy1(as_of)
        + " mà chưa được công nhận."
    )
    return emit(
        "PROBATION_OVERDUE",
        m,
        org_code="cell_code",
        member_code="member_code",
        field="official_date",
        central_value=dmy(m["admission_date"]),
        due_date="_due",
        detail=detail,
    )
