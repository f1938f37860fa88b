"""The board report's section on the committees' answers (issue #20): per committee, findings
answered, fixed (answered, then resolved), explained (awaiting the board) and accepted, unanswered
and their age; the oldest unanswered errors first. Counts and finding codes only: no names,
member codes or personal IDs.

Shown only when there is something to show (an answer or a decision): without answers the report
is the one it always was. The values are prepared here; the markup is ``templates/_answers.html.j2``,
which escapes them.
"""

from __future__ import annotations

import pandas as pd

from connectors.publish.labels import LIST_TITLES

TOP_UNANSWERED = 20


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


def answering_context(findings: pd.DataFrame, names: dict[str, str], as_of: pd.Timestamp) -> dict | None:
    """The section's values for ``templates/_answers.html.j2`` (None when no committee has answered
    and nothing was decided: the report then has no such section)."""
    if not has_answers(findings):
        return None
    table = answering_table(findings, as_of)
    totals = table.sum(numeric_only=True)
    counts = ("answered", "fixed", "explained", "accepted", "unanswered", "unanswered_errors")
    committees = [
        {
            "name": names.get(code, code or "(ngoài phạm vi)"),
            "code": code,
            "counts": [_n(r[k]) for k in counts],
            "oldest_days": "" if pd.isna(r["oldest_days"]) else _n(r["oldest_days"]),
        }
        for code, r in table.iterrows()
    ]
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
    return {
        "committees": committees,
        "totals": [_n(totals[k]) for k in counts],
        "oldest": [
            {
                "list_title": LIST_TITLES.get(r.list_code, r.list_code),
                "org_name": names.get(r.org_code, r.org_code),
                "org_code": r.org_code,
                "seen_on": _d(r.seen_on),
                "days": _n(max((as_of - r.seen_on).days, 0)) if pd.notna(r.seen_on) else "",
                "finding_id": r.finding_id,
            }
            for r in oldest.itertuples(index=False)
        ],
    }
