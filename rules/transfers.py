"""Transfers of party activity (QĐ 294-QĐ/TW point 6.3; docs/rules.md, "Transfers").

Three sources are paired: central ``transfers`` (the record of fact), the sending cell's
``ChuyenDi`` rows and the receiving cell's ``ChuyenDen`` rows. Central decides whether a
finding exists (rules.md); the cells' rows, when they pair with a central transfer, fill
``cell_value`` and the detail so the committee sees where central lags behind the cells.
``ref`` = transfer_id.
"""

from __future__ import annotations

import pandas as pd

from rules.calendar import add_working_days
from rules.common import ancestors, dmy, dmy1, emit, isin, month_labels, none, own_rows, screened, txt
from rules.registry import TREE, provides, rule
from schemas.labels import org_phrase

OVERDUE_WORKING_DAYS = 30  # QĐ 294 point 6.3.1: present the letter within 30 working days


def _screened_transfers(transfers: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    """Transfers of active/exempt members, with the member's name."""
    m = screened(members)
    m = m[isin(m["member_code"], transfers["member_code"]).to_numpy()]  # probe the big side, hash the small
    m = m[["member_code", "full_name", "cell_code"]].rename(
        columns={"full_name": "_name", "cell_code": "_member_cell"}
    )
    return transfers.merge(m, on="member_code", how="inner")


def _org(codes: pd.Series, organizations: pd.DataFrame | None) -> pd.Series:
    """Organisations by name and code: "Chi bộ 3 (93.001.000.003)"; a to_org outside the
    database's scope: "93.999 (ngoài phạm vi CSDL)" (schemas.labels.org_phrase, one map)."""
    return txt(org_phrase(codes, organizations))


def _who(t: pd.DataFrame) -> pd.Series:
    return "Đảng viên " + txt(t["member_code"]) + " (" + txt(t.get("_name")) + ")"


@provides("paired_out", transfers="central.transfers", transfers_out="live.transfers_out")
def pair_out(transfers: pd.DataFrame, transfers_out: pd.DataFrame) -> pd.DataFrame:
    """transfer_id -> the sending cell's ChuyenDi row (member, from_cell = submitting cell, kind).

    When several rows pair, the one with the same letter date wins."""
    cols = ["member_code", "cell_code", "kind", "letter_date", "notice_sent_on", "fees_paid_through"]
    out = transfers_out[[c for c in cols if c in transfers_out.columns] + ["period"]]
    out = out.rename(
        columns={
            "cell_code": "from_cell",
            "letter_date": "_out_letter",
            "notice_sent_on": "_out_notice",
            "fees_paid_through": "_out_fees",
        }
    )
    p = transfers[["transfer_id", "member_code", "from_cell", "kind", "letter_date"]].merge(
        out, on=["member_code", "from_cell", "kind"], how="inner"
    )
    p = p.assign(_same=(p["_out_letter"] == p["letter_date"]).fillna(False))
    p = p.sort_values(["_same", "period"]).drop_duplicates("transfer_id", keep="last")
    return p[["transfer_id", *[c for c in ("_out_letter", "_out_notice", "_out_fees") if c in p.columns]]]


@provides(
    "paired_in",
    transfers="central.transfers",
    transfers_in="live.transfers_in",
    organizations="central.organizations",
)
def pair_in(transfers: pd.DataFrame, transfers_in: pd.DataFrame, organizations: pd.DataFrame) -> pd.DataFrame:
    """transfer_id -> the receiving cell's ChuyenDen row (member, cell at or under to_org, kind)."""
    cols = ["member_code", "cell_code", "kind", "letter_date", "received_on", "dossier_received_on", "period"]
    inn = transfers_in[[c for c in cols if c in transfers_in.columns]].rename(
        columns={
            "cell_code": "_in_cell",
            "kind": "_in_kind",
            "letter_date": "_in_letter",
            "received_on": "_in_received",
            "dossier_received_on": "_in_dossier",
        }
    )
    p = transfers[["transfer_id", "member_code", "to_org", "kind", "letter_date"]].merge(
        inn, on="member_code", how="inner"
    )
    p = p[(p["_in_kind"] == p["kind"]).fillna(True)]
    anc = ancestors(organizations).rename(columns={"org_code": "_in_cell", "ancestor": "to_org"})
    p = p.merge(anc.assign(_under=True), on=["_in_cell", "to_org"], how="left")
    p = p[p["_under"].fillna(False).astype(bool) | (p["_in_cell"] == p["to_org"]).fillna(False)]
    p = p.assign(_same=(p["_in_letter"] == p["letter_date"]).fillna(False))
    p = p.sort_values(["_same", "period"]).drop_duplicates("transfer_id", keep="last")
    return p[["transfer_id", "_in_cell", "_in_received", "_in_dossier"]]


def _with_pairs(t: pd.DataFrame, paired_out: pd.DataFrame | None, paired_in: pd.DataFrame | None):
    if paired_out is not None and not paired_out.empty:
        t = t.merge(paired_out, on="transfer_id", how="left")
    if paired_in is not None and not paired_in.empty:
        t = t.merge(paired_in, on="transfer_id", how="left")
    for c in ("_out_notice", "_in_cell", "_in_received", "_in_dossier"):
        if c not in t.columns:
            t[c] = pd.NA
    return t


# Source: QĐ 294-QĐ/TW point 6.3.1 — letter presented to the receiving cell within 30 working days.
@rule(
    "TRANSFER_OVERDUE",
    scope=TREE,
    transfers="central.transfers",
    members="screened",
    as_of="as_of",
    paired_in="paired_in",
    organizations="central.organizations",
)
def transfer_overdue(
    transfers: pd.DataFrame,
    members: pd.DataFrame,
    as_of: pd.Timestamp,
    paired_in: pd.DataFrame | None = None,
    organizations: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Official transfer in transit (not received) and as_of > letter_date + 30 working days."""
    t = _screened_transfers(transfers, members)
    t = t[(t["kind"] == "official") & t["received_on"].isna() & t["letter_date"].notna()]
    if t.empty:
        return none()
    t = t.assign(_due=add_working_days(t["letter_date"], OVERDUE_WORKING_DAYS))
    t = t[t["_due"] < pd.Timestamp(as_of).normalize()]
    if t.empty:
        return none()
    t = _with_pairs(t, None, paired_in)
    said = dmy(t["_in_received"])
    cell_note = (
        " "
        + _org(t["_in_cell"], organizations)
        + " báo đã tiếp nhận ngày "
        + txt(said)
        + " nhưng CSDL trung ương chưa cập nhật."
    ).where(said.notna(), "")
    detail = (
        _who(t)
        + " có giấy giới thiệu chuyển sinh hoạt chính thức ngày "
        + dmy(t["letter_date"])
        + " từ "
        + _org(t["from_cell"], organizations)
        + " đến "
        + _org(t["to_org"], organizations)
        + ", quá hạn 30 ngày làm việc (hạn "
        + dmy(t["_due"])
        + ") mà chưa được tiếp nhận tính đến "
        + dmy1(as_of)
        + "."
        + cell_note
    )
    return emit(
        "TRANSFER_OVERDUE",
        t,
        org_code="from_cell",
        member_code="member_code",
        field="received_on",
        central_value=dmy(t["letter_date"]),
        cell_value=said,
        due_date="_due",
        detail=detail,
        ref="transfer_id",
    )


# Source: KH 71-KH/ĐU §2.1.3 — phiếu báo đảng viên chuyển sinh hoạt đảng chính thức.
@rule(
    "TRANSFER_NOT_NOTIFIED",
    scope=TREE,
    transfers="central.transfers",
    members="screened",
    paired_out="paired_out",
    organizations="central.organizations",
)
def transfer_not_notified(
    transfers: pd.DataFrame,
    members: pd.DataFrame,
    paired_out: pd.DataFrame | None = None,
    organizations: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Official transfer with no written notice to the receiving committee (notice_sent_on null)."""
    t = _screened_transfers(transfers, members)
    t = t[(t["kind"] == "official") & t["notice_sent_on"].isna()]
    if t.empty:
        return none()
    t = _with_pairs(t, paired_out, None)
    said = dmy(t["_out_notice"])
    cell_note = (
        " Chi bộ gửi đi báo đã gửi thông báo ngày " + txt(said) + ", CSDL trung ương chưa ghi nhận."
    ).where(said.notna(), "")
    detail = (
        _who(t)
        + " chuyển sinh hoạt chính thức từ "
        + _org(t["from_cell"], organizations)
        + " đến "
        + _org(t["to_org"], organizations)
        + " (giấy giới thiệu ngày "
        + txt(dmy(t["letter_date"]), "?")
        + ") nhưng chưa có phiếu báo gửi cấp ủy nơi đến."
        + cell_note
    )
    return emit(
        "TRANSFER_NOT_NOTIFIED",
        t,
        org_code="from_cell",
        member_code="member_code",
        field="notice_sent_on",
        cell_value=said,
        detail=detail,
        ref="transfer_id",
    )


# Source: QĐ 294-QĐ/TW point 6.3; HD 01-HD/TW point 8 — the dossier follows the member.
@rule(
    "TRANSFER_DOSSIER_MISSING",
    scope=TREE,
    transfers="central.transfers",
    members="screened",
    paired_in="paired_in",
    organizations="central.organizations",
)
def transfer_dossier_missing(
    transfers: pd.DataFrame,
    members: pd.DataFrame,
    paired_in: pd.DataFrame | None = None,
    organizations: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Official transfer received, but the dossier has not reached the receiving committee."""
    t = _screened_transfers(transfers, members)
    t = t[(t["kind"] == "official") & t["received_on"].notna() & t["dossier_received_on"].isna()]
    if t.empty:
        return none()
    t = _with_pairs(t, None, paired_in)
    said = dmy(t["_in_dossier"])
    cell_note = (
        " "
        + _org(t["_in_cell"], organizations)
        + " báo đã nhận hồ sơ ngày "
        + txt(said)
        + ", CSDL trung ương chưa cập nhật."
    ).where(said.notna(), "")
    detail = (
        _who(t)
        + " đã được tiếp nhận ngày "
        + dmy(t["received_on"])
        + " (chuyển từ "
        + _org(t["from_cell"], organizations)
        + ", giấy giới thiệu ngày "
        + txt(dmy(t["letter_date"]), "?")
        + ") nhưng hồ sơ đảng viên chưa được chuyển đến "
        + _org(t["to_org"], organizations)
        + "."
        + cell_note
    )
    return emit(
        "TRANSFER_DOSSIER_MISSING",
        t,
        org_code="to_org",
        member_code="member_code",
        field="dossier_received_on",
        central_value=dmy(t["received_on"]),
        cell_value=said,
        detail=detail,
        ref="transfer_id",
    )


# Source: QĐ 294-QĐ/TW point 6.3 — the receiving side only accepts a member the sender sent.
@rule(
    "TRANSFER_UNMATCHED_IN",
    scope=TREE,
    transfers="central.transfers",
    transfers_in="period.transfers_in",
    organizations="central.organizations",
)
def transfer_unmatched_in(
    transfers: pd.DataFrame, transfers_in: pd.DataFrame, organizations: pd.DataFrame
) -> pd.DataFrame:
    """A ChuyenDen row of cell X for member M with no central transfer of M (either kind) whose
    to_org is X or an ancestor of X. ``transfers_in``: the period's ChuyenDen rows."""
    inn = transfers_in[transfers_in["member_code"].notna()]
    if inn.empty:
        return none()
    anc = ancestors(organizations).rename(columns={"org_code": "cell_code", "ancestor": "to_org"})
    inn_anc = pd.concat(
        [
            inn[["member_code", "cell_code"]].assign(to_org=inn["cell_code"]),
            inn[["member_code", "cell_code"]].merge(anc, on="cell_code", how="inner"),
        ],
        ignore_index=True,
    ).astype("string")
    sent = transfers[["member_code", "to_org"]].dropna().astype("string").drop_duplicates()
    hit = inn_anc.merge(sent, on=["member_code", "to_org"], how="inner")[["member_code", "cell_code"]]
    hit = hit.drop_duplicates().assign(_hit=True)
    inn = inn.merge(hit, on=["member_code", "cell_code"], how="left")
    inn = inn[inn["_hit"].isna()].drop_duplicates(["member_code", "cell_code"])
    if inn.empty:
        return none()
    # Where the cell says the member came from: a code is named (and flagged when outside the
    # database's scope); anything else is kept as the cell wrote it.
    frm = txt(inn.get("from_org"))
    is_code = frm.str.fullmatch(r"\d{2}(?:\.\d{3}){1,4}").fillna(False).astype(bool)
    frm = _org(frm, organizations).where(is_code, frm)
    from_txt = (" từ " + frm).where(frm != "", "")
    rec = dmy(inn["received_on"]) if "received_on" in inn.columns else pd.Series(pd.NA, index=inn.index)
    rec_txt = (" ngày " + txt(rec)).where(rec.notna(), "")
    detail = (
        _org(inn["cell_code"], organizations)
        + " báo tiếp nhận đảng viên "
        + txt(inn["member_code"])
        + from_txt
        + rec_txt
        + " nhưng CSDL trung ương không có quyết định chuyển sinh hoạt nào đến chi bộ hoặc cấp ủy cấp trên của chi bộ."
    )
    return emit(
        "TRANSFER_UNMATCHED_IN",
        inn,
        org_code="cell_code",
        member_code="member_code",
        field="transfer",
        cell_value=rec,
        detail=detail,
    )


@provides("still_on_sender", transfers="central.transfers", members="central.members", roster="period.roster")
def still_on_sender_pairs(
    transfers: pd.DataFrame, members: pd.DataFrame, roster: pd.DataFrame
) -> pd.DataFrame:
    """Transfers behind TRANSFER_STILL_ON_SENDER, with member_code and cell_code (= from_cell).

    The member's latest official transfer (by letter date) is received, and the member is still
    on the sending cell's roster as own. Status active/exempt/transferred_out (a transfer out of
    the database's scope leaves the member transferred_out: still the sender's fault)."""
    ok = members[isin(members["member_code"], transfers["member_code"]).to_numpy()]
    ok = ok[ok["status"].isin(["active", "exempt", "transferred_out"])]
    t = transfers[(transfers["kind"] == "official") & isin(transfers["member_code"], ok["member_code"])]
    t = t.sort_values(["letter_date", "received_on", "transfer_id"], na_position="first")
    t = t.drop_duplicates("member_code", keep="last")
    t = t[t["received_on"].notna()]
    own = own_rows(roster)[["member_code", "cell_code"]].drop_duplicates()
    t = t.merge(own.rename(columns={"cell_code": "from_cell"}), on=["member_code", "from_cell"], how="inner")
    t = t.merge(ok[["member_code", "full_name"]].rename(columns={"full_name": "_name"}), on="member_code")
    return t.assign(cell_code=t["from_cell"])


# Source: QĐ 294-QĐ/TW point 6.3 — after the receipt the member belongs to the receiving cell.
@rule(
    "TRANSFER_STILL_ON_SENDER",
    scope=TREE,
    transfers="central.transfers",
    members="central.members",
    roster="period.roster",
    pairs="still_on_sender",
    organizations="central.organizations",
)
def transfer_still_on_sender(
    transfers: pd.DataFrame,
    members: pd.DataFrame,
    roster: pd.DataFrame,
    pairs: pd.DataFrame | None = None,
    organizations: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Official transfer received, member still on the sending cell's roster as own."""
    t = still_on_sender_pairs(transfers, members, roster) if pairs is None else pairs
    if t.empty:
        return none()
    detail = (
        _who(t)
        + " đã được "
        + _org(t["to_org"], organizations)
        + " tiếp nhận ngày "
        + dmy(t["received_on"])
        + " (giấy giới thiệu ngày "
        + txt(dmy(t["letter_date"]), "?")
        + ") nhưng vẫn có tên trong danh sách đảng viên của "
        + _org(t["from_cell"], organizations)
        + "."
    )
    return emit(
        "TRANSFER_STILL_ON_SENDER",
        t,
        org_code="from_cell",
        member_code="member_code",
        field="roster",
        central_value="to_org",
        cell_value="from_cell",
        detail=detail,
        ref="transfer_id",
    )


# Source: QĐ 294-QĐ/TW point 6.3.2 — temporary transfer of 3 months to under 1 year.
@rule(
    "TEMP_TRANSFER_EXPIRED",
    scope=TREE,
    transfers="central.transfers",
    members="screened",
    as_of="as_of",
    organizations="central.organizations",
)
def temp_transfer_expired(
    transfers: pd.DataFrame,
    members: pd.DataFrame,
    as_of: pd.Timestamp,
    organizations: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Temporary transfer past temporary_until (temporary_until < as_of) with no return."""
    t = _screened_transfers(transfers, members)
    t = t[
        (t["kind"] == "temporary")
        & t["returned_on"].isna()
        & (t["temporary_until"] < pd.Timestamp(as_of).normalize()).fillna(False)
    ]
    if t.empty:
        return none()
    detail = (
        _who(t)
        + " sinh hoạt tạm thời tại "
        + _org(t["to_org"], organizations)
        + " đến ngày "
        + dmy(t["temporary_until"])
        + " đã hết hạn (tính đến "
        + dmy1(as_of)
        + ") nhưng chưa trở về "
        + _org(t["from_cell"], organizations)
        + "."
    )
    return emit(
        "TEMP_TRANSFER_EXPIRED",
        t,
        org_code="from_cell",
        member_code="member_code",
        field="returned_on",
        central_value=dmy(t["temporary_until"]),
        due_date="temporary_until",
        detail=detail,
        ref="transfer_id",
    )


# Source: QĐ 342-QĐ/TW; QĐ 294-QĐ/TW point 6.3 — fees paid up to the month of the letter.
@rule(
    "TRANSFER_FEES_GAP",
    scope=TREE,
    transfers="central.transfers",
    members="screened",
    organizations="central.organizations",
)
def transfer_fees_gap(
    transfers: pd.DataFrame, members: pd.DataFrame, organizations: pd.DataFrame | None = None
) -> pd.DataFrame:
    """fees_paid_through (YYYY-MM) earlier than the month of letter_date, either kind."""
    t = _screened_transfers(transfers, members)
    t = t[t["fees_paid_through"].notna() & t["letter_date"].notna()]
    if t.empty:
        return none()
    letter_month = t["letter_date"].dt.strftime("%Y-%m").astype("string")
    paid = t["fees_paid_through"].astype("string").str.slice(0, 7)
    t = t.assign(_letter_month=letter_month, _paid=paid)
    t = t[(t["_paid"] < t["_letter_month"]).fillna(False)]
    if t.empty:
        return none()
    paid_lbl, letter_lbl = month_labels(t["_paid"]), month_labels(t["_letter_month"])
    detail = (
        _who(t)
        + " chuyển sinh hoạt từ "
        + _org(t["from_cell"], organizations)
        + " (giấy giới thiệu ngày "
        + dmy(t["letter_date"])
        + ") mới đóng đảng phí đến hết tháng "
        + paid_lbl
        + ", chưa đóng đến tháng "
        + letter_lbl
        + "."
    )
    return emit(
        "TRANSFER_FEES_GAP",
        t,
        org_code="from_cell",
        member_code="member_code",
        field="fees_paid_through",
        central_value="_paid",
        cell_value="_letter_month",
        detail=detail,
        ref="transfer_id",
    )
