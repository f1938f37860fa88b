"""The findings frame every rule returns, and what the run adds to it.

A rule returns the columns of ``RULE_OUTPUT_COLUMNS`` (``make_findings`` builds them);
``finalize`` adds the id, the committee, the severity and the rule's source.
"""

from __future__ import annotations

import hashlib

import pandas as pd

from schemas.contract import FINDING_COLUMNS, GRASSROOTS_KINDS, RULE_OUTPUT_COLUMNS, Status
from schemas.lists import LISTS as LIST_SPECS
from schemas.tree import nearest_of_kind

# list code -> (severity, source cited in findings.csv), from the one registry of lists.
LISTS: dict[str, tuple[str, str]] = {code: (spec.severity.value, spec.source) for code, spec in LIST_SPECS.items()}


def make_findings(list_code: str, frame: pd.DataFrame, **columns) -> pd.DataFrame:
    """Build a rule's output: one finding per row of ``frame``.

    ``columns`` maps output columns to a column name of ``frame``, a Series aligned with it,
    or a scalar. Unnamed output columns are empty.
    """
    n = len(frame)
    out = pd.DataFrame(index=frame.index)
    out["list_code"] = list_code
    for col in RULE_OUTPUT_COLUMNS[1:]:
        value = columns.get(col)
        if value is None:
            out[col] = pd.Series([pd.NA] * n, index=frame.index, dtype="string")
        elif isinstance(value, str) and value in frame.columns:
            out[col] = frame[value]
        else:
            out[col] = value
    for col in RULE_OUTPUT_COLUMNS:
        if col == "due_date":
            out[col] = pd.to_datetime(out[col], errors="coerce")
        else:
            out[col] = out[col].astype("string")
    return out.reset_index(drop=True)[RULE_OUTPUT_COLUMNS]


def empty_findings() -> pd.DataFrame:
    return make_findings("", pd.DataFrame()).iloc[0:0]


def committee_of(organizations: pd.DataFrame) -> pd.Series:
    """org_code -> code of its grassroots organisation (itself when it is one); NA above it, and
    on or below a cycle (``schemas.tree``)."""
    return nearest_of_kind(organizations, GRASSROOTS_KINDS)


def finding_ids(df: pd.DataFrame) -> pd.Series:
    key = (
        df["list_code"].fillna("")
        + "|"
        + df["org_code"].fillna("")
        + "|"
        + df["member_code"].fillna("")
        + "|"
        + df["field"].fillna("")
        + "|"
        + df["ref"].fillna("")
    )
    return key.map(lambda k: hashlib.sha1(k.encode("utf-8")).hexdigest()[:16]).astype("string")


def finalize(findings: pd.DataFrame, organizations: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Add id, committee, severity and source; order rows deterministically."""
    df = findings.copy()
    df["finding_id"] = finding_ids(df)
    df = df.drop_duplicates("finding_id")
    df["as_of"] = as_of.strftime("%Y-%m-%d")
    df["severity"] = df["list_code"].map(lambda c: LISTS[c][0]).astype("string")
    df["rule"] = df["list_code"].map(lambda c: LISTS[c][1]).astype("string")
    df["committee_code"] = df["org_code"].map(committee_of(organizations)).astype("string")
    df["due_date"] = pd.to_datetime(df["due_date"]).dt.strftime("%Y-%m-%d").astype("string")
    df["status"] = Status.NEW.value
    df["first_seen"] = df["as_of"]
    df = df.sort_values(["list_code", "org_code", "member_code", "field", "ref"], na_position="first")
    return df[[*FINDING_COLUMNS, "ref"]].reset_index(drop=True)
