"""The board report's section on the committees' answers (issue #20): per committee, findings
answered, fixed (answered, then resolved), explained (awaiting the board) and accepted, unanswered
and their age; the oldest unanswered errors first. Counts and finding codes only: no names,
member codes or personal IDs.

Shown only when there is something to show (an answer or a decision): without answers the report
is the one it always was.
"""

from __future__ import annotations

import html

import pandas as pd

from connectors.publish.labels import LIST_TITLES

TOP_UNANSWERED = 20


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _n(v: float) -> str:
    return f"{int(v):,}".replace(",", ".")


def _d(v: object) -> str:
    ts = pd.Timestamp(v)
    return "" if pd.isna(ts) else ts.strftime("%d/%m/%Y")


def has_answers(findings: pd.DataFrame) -> bool:
    if "response" not in findings.columns:
        return False
    return bool(
        findings["response"].notna().any() or findings["status"].isin(["explained", "accepted"]).any()
    )


def answering_table(findings: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """One row per committee_code: answered, fixed, explained, accepted, unanswered,
    unanswered_errors, oldest_days (of its unanswered errors, else of any unanswered)."""
    f = findings.copy()
    for c in ("response", "facts_changed"):
        if c not in f.columns:
            f[c] = pd.NA
    f["committee_code"] = f["committee_code"].astype("string").fillna("")
    status = f["status"].astype("string")
    answered = f["response"].notna()
    unanswered = status.isin(["new", "open"]) & (~answered | f["facts_changed"].notna())
    age = (as_of - pd.to_datetime(f["first_seen"], errors="coerce")).dt.days.clip(lower=0)
    err = f["severity"].astype("string") == "error"
    t = pd.DataFrame(
        {
            "committee_code": f["committee_code"],
            "answered": answered.astype(int),
            "fixed": (answered & (status == "resolved")).astype(int),
            "explained": (status == "explained").astype(int),
            "accepted": (status == "accepted").astype(int),
            "unanswered": unanswered.astype(int),
            "unanswered_errors": (unanswered & err).astype(int),
            "age_error": age.where(unanswered & err),
            "age_any": age.where(unanswered),
        }
    )
    g = t.groupby("committee_code").agg(
        answered=("answered", "sum"),
        fixed=("fixed", "sum"),
        explained=("explained", "sum"),
        accepted=("accepted", "sum"),
        unanswered=("unanswered", "sum"),
        unanswered_errors=("unanswered_errors", "sum"),
        age_error=("age_error", "max"),
        age_any=("age_any", "max"),
    )
    g["oldest_days"] = g["age_error"].fillna(g["age_any"])
    g = g.sort_values(
        ["age_error", "unanswered_errors", "age_any", "unanswered"],
        ascending=False,
        na_position="last",
        kind="mergesort",
    )
    return g.drop(columns=["age_error", "age_any"])


def answering_section(findings: pd.DataFrame, names: dict[str, str], as_of: pd.Timestamp) -> str:
    """The HTML of the section (empty when no committee has answered and nothing was decided)."""
    if not has_answers(findings):
        return ""
    table = answering_table(findings, as_of)
    totals = table.sum(numeric_only=True)
    head = (
        "<tr><th>Tổ chức cơ sở đảng</th><th>Mã</th><th>Đã trả lời</th><th>Đã khắc phục sau trả lời</th>"
        "<th>Giải trình chờ Ban Tổ chức</th><th>Giải trình được chấp nhận</th><th>Chưa trả lời</th>"
        "<th>Trong đó sai sót</th><th>Chưa trả lời lâu nhất (ngày)</th></tr>"
    )
    body = []
    for code, r in table.iterrows():
        oldest = "" if pd.isna(r["oldest_days"]) else _n(r["oldest_days"])
        body.append(
            f"<tr><td>{_e(names.get(code, code or '(ngoài phạm vi)'))}</td><td>{_e(code)}</td>"
            + "".join(
                f'<td class="n">{_n(r[k])}</td>'
                for k in ("answered", "fixed", "explained", "accepted", "unanswered", "unanswered_errors")
            )
            + f'<td class="n">{oldest}</td></tr>'
        )
    body.append(
        '<tr class="total"><td>Tổng cộng</td><td></td>'
        + "".join(
            f'<td class="n">{_n(totals[k])}</td>'
            for k in ("answered", "fixed", "explained", "accepted", "unanswered", "unanswered_errors")
        )
        + "<td></td></tr>"
    )
    f = findings.copy()
    if "facts_changed" not in f.columns:
        f["facts_changed"] = pd.NA
    unanswered = (
        f["status"].isin(["new", "open"])
        & (f["response"].isna() | f["facts_changed"].notna())
        & (f["severity"] == "error")
    )
    oldest = f[unanswered].assign(seen_on=pd.to_datetime(f["first_seen"], errors="coerce"))
    oldest = oldest.sort_values(["seen_on", "list_code", "finding_id"], kind="mergesort").head(TOP_UNANSWERED)
    rows = [
        f"<tr><td>{_e(LIST_TITLES.get(r.list_code, r.list_code))}</td>"
        f"<td>{_e(names.get(r.org_code, r.org_code))}</td><td>{_e(r.org_code)}</td>"
        f"<td>{_d(r.seen_on)}</td><td class='n'>{_n(max((as_of - r.seen_on).days, 0)) if pd.notna(r.seen_on) else ''}</td>"
        f"<td>{_e(r.finding_id)}</td></tr>"
        for r in oldest.itertuples(index=False)
    ]
    worst = "<h3>Sai sót chưa trả lời lâu nhất</h3>" + (
        "<table><thead><tr><th>Danh sách</th><th>Tổ chức phải xử lý</th><th>Mã</th><th>Phát hiện từ</th>"
        "<th>Số ngày</th><th>Mã phát hiện</th></tr></thead><tbody>\n" + "\n".join(rows) + "\n</tbody></table>"
        if rows
        else "<p>Không có sai sót nào chưa trả lời.</p>"
    )
    return (
        "<h2>Trả lời của các cấp ủy</h2>"
        "<p class='muted'>Đã khắc phục sau trả lời: phát hiện đã trả lời và không còn trong lần đối chiếu này. "
        "Chưa trả lời: cần xử lý, chưa có trả lời hoặc số liệu đã thay đổi sau khi trả lời. "
        "Sắp xếp: tổ chức có sai sót chưa trả lời lâu nhất trước.</p>"
        f"<table><thead>{head}</thead><tbody>\n" + "\n".join(body) + "\n</tbody></table>" + worst
    )
