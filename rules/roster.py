"""Roster reconciliation: central members vs the cells' rosters of the period (docs/rules.md, "Roster").

Every function takes the run's rosters (``roster``: the DanhSach rows of the period's live
workbooks, see ``rules.common.period_rows``) and central tables, and returns findings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rules.common import (
    dmy,
    emit,
    id_key,
    is_inactive,
    is_screened,
    isin,
    lit,
    month_label,
    none,
    positions,
    screened,
    status_label,
    take,
    txt,
)
from rules.registry import TREE, provides, rule
from schemas.contract import CELL_KINDS, ROSTER_FIELDS
from schemas.labels import FIELD_LABELS, org_phrase
from schemas.normalize import fold_name

_PAIR = ["member_code", "cell_code"]


def _org(codes: pd.Series, organizations: pd.DataFrame | None) -> pd.Series:
    """Cells named as a person reads them: "Chi bộ 3 (93.001.000.003)" (schemas.labels)."""
    return org_phrase(codes, organizations)


@provides("roster_match", members="central.members", roster="period.roster")
def match_roster(members: pd.DataFrame, roster: pd.DataFrame) -> np.ndarray:
    """Each roster row's position in ``members`` (-1: a code central does not know).

    The one join the roster rules share: ``tree_rules`` computes it once and hands it to each
    rule (``match=``); a rule called alone computes it itself. Member codes are unique in
    validated central, so a position stands for the inner join's row."""
    return positions(roster["member_code"], members["member_code"])


def _match(members: pd.DataFrame, roster: pd.DataFrame, match: np.ndarray | None) -> np.ndarray:
    return match_roster(members, roster) if match is None else match


def _pair_mask(rows: pd.DataFrame, pairs: pd.DataFrame | None) -> np.ndarray:
    """True where a row's (member_code, cell_code) is in ``pairs`` (TRANSFER_STILL_ON_SENDER cases)."""
    hit = np.zeros(len(rows), dtype=bool)
    if pairs is None or pairs.empty or rows.empty:
        return hit
    # Only rows of the pairs' members can hit: the two-column join runs on those few.
    near = isin(rows["member_code"], pairs["member_code"]).to_numpy()
    if near.any():
        p = pairs[_PAIR].astype("string").drop_duplicates().assign(_hit=True)
        got = rows.loc[near, _PAIR].astype("string").merge(p, on=_PAIR, how="left")["_hit"]
        hit[near] = got.fillna(False).astype(bool).to_numpy()
    return hit


def _first_pairs(rows: pd.DataFrame) -> np.ndarray:
    """True on the first row of each (member_code, cell_code), as ``drop_duplicates`` keeps; only
    rows whose member code repeats can repeat a pair, so the two-column hashing runs on those few."""
    again = rows["member_code"].duplicated(keep=False).to_numpy()
    keep = np.ones(len(rows), dtype=bool)
    if again.any():
        keep[again] = ~rows[again].duplicated(_PAIR).to_numpy()
    return keep


def _same(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Element-wise equality of two aligned-by-position text columns, NA never equal."""
    eq = a.reset_index(drop=True).astype("string") == b.reset_index(drop=True).astype("string")
    return eq.fillna(False).to_numpy(dtype=bool)


def _where(mask: np.ndarray, pos: np.ndarray, central: np.ndarray) -> np.ndarray:
    """Rows (numbers) under ``mask`` whose member central knows and ``central`` (a mask over the
    members) selects."""
    rows = np.flatnonzero(mask & (pos >= 0))
    return rows[central[pos[rows]]]


def _known(
    roster: pd.DataFrame, rows: np.ndarray, members: pd.DataFrame, pos: np.ndarray, columns: list[str]
):
    """Roster ``rows`` beside central's ``columns`` of their member (suffix ``_c``)."""
    columns = [c for c in columns if c in members.columns]
    return pd.concat(
        [roster.iloc[rows].reset_index(drop=True), take(members, pos[rows], columns, "_c")], axis=1
    )


# Source: contract §4 ROSTER_MISSING_IN_CELL; QĐ 294-QĐ/TW, HD 12-HD/BTCTW (danh sách đảng viên).
@rule(
    "ROSTER_MISSING_IN_CELL",
    scope=TREE,
    members="central.members",
    roster="period.roster",
    transfers="central.transfers",
    cells_sent="cells_sent",
    period="period",
    match="roster_match",
    organizations="central.organizations",
)
def roster_missing_in_cell(
    members: pd.DataFrame,
    roster: pd.DataFrame,
    transfers: pd.DataFrame,
    cells_sent: pd.Index,
    period: str,
    match: np.ndarray | None = None,
    organizations: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Central member active/exempt in cell C, C sent a workbook, C's roster lacks them (own or guest),
    and no official transfer of theirs out of C is in transit (in transit: expected on neither roster)."""
    pos = _match(members, roster, match)
    expected = (
        is_screened(members["status"]).to_numpy(dtype=bool)
        & isin(members["cell_code"], cells_sent).to_numpy()
    )
    # Listed: some roster row has the member in this very cell.
    rows = np.flatnonzero(pos >= 0)
    same = _same(roster["cell_code"].iloc[rows], members["cell_code"].iloc[pos[rows]])
    listed = np.zeros(len(members), dtype=bool)
    listed[pos[rows][same]] = True
    m = members[expected & ~listed]
    tr = transfers[(transfers["kind"] == "official") & transfers["received_on"].isna()]
    transit = tr[["member_code", "from_cell"]].rename(columns={"from_cell": "cell_code"})
    m = m.merge(transit.astype("string").drop_duplicates().assign(_transit=True), on=_PAIR, how="left")
    m = m[m["_transit"].isna()]
    if m.empty:
        return none()
    detail = (
        "Đảng viên "
        + txt(m["member_code"])
        + " ("
        + txt(m["full_name"])
        + ") "
        + status_label(m["status"])
        + " tại "
        + txt(_org(m["cell_code"], organizations))
        + " theo CSDL trung ương nhưng không có trong danh sách chi bộ gửi kỳ "
        + month_label(period)
        + "."
    )
    return emit(
        "ROSTER_MISSING_IN_CELL",
        m,
        org_code="cell_code",
        member_code="member_code",
        field="roster",
        central_value="cell_code",
        detail=detail,
    )


# Source: contract §4 ROSTER_NOT_IN_CENTRAL; HD 12-HD/BTCTW (cơ sở dữ liệu đảng viên).
@rule(
    "ROSTER_NOT_IN_CENTRAL",
    scope=TREE,
    members="central.members",
    roster="period.roster",
    period="period",
    match="roster_match",
    organizations="central.organizations",
)
def roster_not_in_central(
    members: pd.DataFrame,
    roster: pd.DataFrame,
    period: str,
    match: np.ndarray | None = None,
    organizations: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """A roster row (own or guest) whose member code central does not know."""
    unknown = _match(members, roster, match) < 0
    r = roster[roster["member_code"].notna().to_numpy() & unknown]
    if r.empty:
        return none()
    row = txt(r["_row"].astype("string") if "_row" in r.columns else None)
    where = ("dòng " + row + " ").where(row != "", "")
    detail = (
        "Danh sách đảng viên của "
        + txt(_org(r["cell_code"], organizations))
        + " kỳ "
        + month_label(period)
        + " ("
        + where
        + "sheet DanhSach) có đảng viên "
        + txt(r["member_code"])
        + " ("
        + txt(r["full_name"])
        + ") nhưng mã này không có trong CSDL trung ương."
    )
    return emit(
        "ROSTER_NOT_IN_CENTRAL",
        r,
        org_code="cell_code",
        member_code="member_code",
        field="member_code",
        cell_value="member_code",
        detail=detail,
    )


# Source: contract §4 ROSTER_WRONG_CELL; Điều lệ Đảng, QĐ 294-QĐ/TW (sinh hoạt ở một chi bộ).
@rule(
    "ROSTER_WRONG_CELL",
    scope=TREE,
    members="central.members",
    roster="period.roster",
    still_on_sender="still_on_sender",
    match="roster_match",
    organizations="central.organizations",
)
def roster_wrong_cell(
    members: pd.DataFrame,
    roster: pd.DataFrame,
    still_on_sender: pd.DataFrame | None = None,
    match: np.ndarray | None = None,
    organizations: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Own row in cell X while central has the member (active/exempt) in another cell.

    Guests (Sinh hoạt tạm thời) are never wrong-cell members; pairs already reported as
    TRANSFER_STILL_ON_SENDER are left to that list."""
    pos = _match(members, roster, match)
    own = is_screened(roster["roster_status"]).to_numpy(dtype=bool) & ~_pair_mask(roster, still_on_sender)
    rows = _where(own, pos, is_screened(members["status"]).to_numpy(dtype=bool))
    central_cell = members["cell_code"].iloc[pos[rows]]
    moved = ~_same(roster["cell_code"].iloc[rows], central_cell) & central_cell.notna().to_numpy()
    if not moved.any():
        return none()
    r = _known(roster, rows[moved], members, pos, ["full_name", "cell_code"])
    detail = (
        "Đảng viên "
        + txt(r["member_code"])
        + " ("
        + txt(r["full_name_c"])
        + ") được "
        + txt(_org(r["cell_code"], organizations))
        + " kê khai là đảng viên của chi bộ, nhưng CSDL trung ương ghi sinh hoạt tại "
        + txt(_org(r["cell_code_c"], organizations))
        + "."
    )
    return emit(
        "ROSTER_WRONG_CELL",
        r,
        org_code="cell_code",
        member_code="member_code",
        field="cell_code",
        central_value="cell_code_c",
        cell_value="cell_code",
        detail=detail,
    )


# Source: contract §4 ROSTER_INACTIVE_LISTED; HD 12-HD/BTCTW (cơ sở dữ liệu đảng viên).
@rule(
    "ROSTER_INACTIVE_LISTED",
    scope=TREE,
    members="central.members",
    roster="period.roster",
    still_on_sender="still_on_sender",
    match="roster_match",
    organizations="central.organizations",
)
def roster_inactive_listed(
    members: pd.DataFrame,
    roster: pd.DataFrame,
    still_on_sender: pd.DataFrame | None = None,
    match: np.ndarray | None = None,
    organizations: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """On a roster (own or guest) while central says transferred_out/deceased/removed/expelled/left."""
    pos = _match(members, roster, match)
    rows = _where(~_pair_mask(roster, still_on_sender), pos, is_inactive(members["status"]).to_numpy())
    r = _known(roster, rows, members, pos, ["full_name", "status", "status_date"])
    if r.empty:
        return none()
    r = r.drop_duplicates(_PAIR)
    since = dmy(r["status_date_c"]) if "status_date_c" in r.columns else pd.Series(pd.NA, index=r.index)
    since_txt = (" từ ngày " + txt(since)).where(since.notna(), "")
    detail = (
        "Đảng viên "
        + txt(r["member_code"])
        + " ("
        + txt(r["full_name_c"])
        + ") có tên trong danh sách đảng viên của "
        + txt(_org(r["cell_code"], organizations))
        + " nhưng theo CSDL trung ương "
        + status_label(r["status_c"])
        + since_txt
        + "."
    )
    return emit(
        "ROSTER_INACTIVE_LISTED",
        r,
        org_code="cell_code",
        member_code="member_code",
        field="status",
        central_value="status_c",
        cell_value="roster_status",
        detail=detail,
    )


def _norm_field(name: str, s: pd.Series) -> pd.Series:
    if name in ("birth_date", "admission_date", "official_date"):
        return pd.to_datetime(s, errors="coerce").dt.normalize()
    if name == "personal_id":
        return id_key(s)
    return s.astype("string")


def _display(name: str, s: pd.Series) -> pd.Series:
    if name in ("birth_date", "admission_date", "official_date"):
        return dmy(s)
    return s.astype("string")


# Source: contract §4 ROSTER_FIELD_MISMATCH; HD 12-HD/BTCTW (cơ sở dữ liệu đảng viên).
@rule(
    "ROSTER_FIELD_MISMATCH",
    scope=TREE,
    members="central.members",
    roster="period.roster",
    match="roster_match",
    organizations="central.organizations",
)
def roster_field_mismatch(
    members: pd.DataFrame,
    roster: pd.DataFrame,
    match: np.ndarray | None = None,
    organizations: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per roster row of a known member and per field: both values present and different after
    normalisation (names folded for case/NFC/tone placement, IDs restored, dates as dates)."""
    if roster.empty:
        return none()
    cols = ["member_code", "cell_code", *[f for f in ROSTER_FIELDS if f in roster.columns]]
    pos = _match(members, roster, match)
    rows = _where(_first_pairs(roster), pos, np.ones(len(members), dtype=bool))
    r = _known(roster[cols], rows, members, pos, [f for f in ROSTER_FIELDS if f in roster.columns])
    out = []
    for name in ROSTER_FIELDS:
        if name not in roster.columns:
            continue
        a, b = _norm_field(name, r[f"{name}_c"]), _norm_field(name, r[name])
        differ = (a.notna() & b.notna() & (a != b)).fillna(False).astype(bool)
        if name in ("full_name", "gender") and differ.any():
            # Fold only the rows whose raw text differs (folding is per-string Python work).
            fa, fb = fold_name(a[differ]), fold_name(b[differ])
            differ.loc[differ] = (fa != fb).fillna(False).astype(bool).to_numpy()
        d = r[differ]
        if d.empty:
            continue
        cv, kv = _display(name, d[f"{name}_c"]), _display(name, d[name])
        detail = (
            FIELD_LABELS[name]
            + " của đảng viên "
            + txt(d["member_code"])
            + " khác nhau: CSDL trung ương ghi '"
            + txt(cv)
            + "', danh sách đảng viên của "
            + txt(_org(d["cell_code"], organizations))
            + " ghi '"
            + txt(kv)
            + "'."
        )
        out.append(
            emit(
                "ROSTER_FIELD_MISMATCH",
                d,
                org_code="cell_code",
                member_code="member_code",
                field=name,
                central_value=cv,
                cell_value=kv,
                detail=detail,
            )
        )
    return pd.concat(out, ignore_index=True) if out else none()


# Source: contract §4 DUPLICATE_PERSON; CT 51-CT/TW (số định danh cá nhân là khoá).
@rule(
    "DUPLICATE_PERSON",
    scope=TREE,
    members="central.members",
    roster="period.roster",
    match="roster_match",
    organizations="central.organizations",
)
def duplicate_person(
    members: pd.DataFrame,
    roster: pd.DataFrame,
    match: np.ndarray | None = None,
    organizations: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """(a) member codes (any status) sharing a personal ID, one finding per code;
    (b) one member code on two or more cells' rosters as own, one finding per listing cell."""
    out = []
    pid = id_key(members["personal_id"])
    shared = (pid.notna() & pid.duplicated(keep=False)).to_numpy()  # no copy of the million rows
    m = members[shared].assign(_pid=pid[shared])
    if not m.empty:
        codes = m.groupby("_pid")["member_code"].agg(lambda s: ", ".join(sorted(s.astype(str))))
        m = m.assign(_codes=m["_pid"].map(codes).astype("string"))
        detail = (
            "Số CCCD "
            + txt(m["_pid"])
            + " của đảng viên "
            + txt(m["member_code"])
            + " ("
            + txt(m["full_name"])
            + ") trùng với mã đảng viên khác trong CSDL trung ương; các mã dùng chung số này: "
            + m["_codes"]
            + "."
        )
        out.append(
            emit(
                "DUPLICATE_PERSON",
                m,
                org_code="cell_code",
                member_code="member_code",
                field="personal_id",
                central_value="_pid",
                cell_value="_codes",
                detail=detail,
            )
        )
    pos = _match(members, roster, match)
    sel = (
        is_screened(roster["roster_status"]).to_numpy(dtype=bool)
        & roster[_PAIR].notna().all(axis=1).to_numpy()
    )
    rows = np.flatnonzero(sel)
    rows = rows[_first_pairs(roster[_PAIR].iloc[rows])]
    rows = rows[roster["member_code"].iloc[rows].duplicated(keep=False).to_numpy()]
    own = roster[_PAIR].iloc[rows]
    if not own.empty:
        cells = own.groupby("member_code")["cell_code"].agg(lambda s: ", ".join(sorted(s.astype(str))))
        named = (
            own.assign(_o=txt(_org(own["cell_code"], organizations)))
            .sort_values("cell_code")
            .groupby("member_code")["_o"]
            .agg("; ".join)
        )
        own = own.assign(
            _cells=own["member_code"].map(cells).astype("string"),
            _named=own["member_code"].map(named).astype("string"),
        )
        at = pos[rows]
        central = pd.Series(pd.NA, index=own.index, dtype="string")
        central[at >= 0] = members["cell_code"].iloc[at[at >= 0]].to_numpy()
        own = own.assign(_central=central).reset_index(drop=True)
        central_txt = (
            "; CSDL trung ương ghi sinh hoạt tại " + txt(_org(own["_central"], organizations))
        ).where(own["_central"].notna(), "")
        detail = (
            "Đảng viên "
            + txt(own["member_code"])
            + " có tên là đảng viên chính thức của chi bộ trong danh sách của "
            + "nhiều chi bộ: "
            + own["_named"]
            + central_txt
            + "."
        )
        out.append(
            emit(
                "DUPLICATE_PERSON",
                own,
                org_code="cell_code",
                member_code="member_code",
                field="roster",
                central_value="_central",
                cell_value="_cells",
                detail=detail,
            )
        )
    return pd.concat(out, ignore_index=True) if out else none()


# Source: contract §4 SUBMISSION_MISSING; KH 71-KH/ĐU (báo cáo định kỳ của chi bộ).
@rule(
    "SUBMISSION_MISSING",
    scope=TREE,
    organizations="central.organizations",
    members="central.members",
    cells_sent="cells_sent",
    period="period",
)
def submission_missing(
    organizations: pd.DataFrame, members: pd.DataFrame, cells_sent: pd.Index, period: str
) -> pd.DataFrame:
    """An active cell (cell/grassroots_cell) with active/exempt members that sent no workbook."""
    orgs = organizations[organizations["kind"].isin(CELL_KINDS)]
    # An unknown `active` flag is read as active: a missing report is worth asking about.
    orgs = orgs[orgs["active"].astype("boolean").fillna(True).astype(bool)]
    counts = screened(members).groupby("cell_code").size()
    orgs = orgs.assign(_n=orgs["org_code"].map(counts).fillna(0).astype(int))
    orgs = orgs[(orgs["_n"] > 0) & ~isin(orgs["org_code"], cells_sent)]
    if orgs.empty:
        return none()
    detail = (
        txt(_org(orgs["org_code"], organizations))
        + " chưa gửi báo cáo kỳ "
        + month_label(period)
        + " (CSDL trung ương ghi "
        + orgs["_n"].astype("string")
        + " đảng viên đang sinh hoạt hoặc miễn sinh hoạt)."
    )
    return emit(
        "SUBMISSION_MISSING",
        orgs,
        org_code="org_code",
        field="period",
        central_value=orgs["_n"].astype("string"),
        detail=detail,
        ref=lit(orgs, period),
    )
