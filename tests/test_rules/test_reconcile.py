"""reconcile(): ids, committee, ordering, robustness (docs/rules.md, "Identity of a finding")."""

from __future__ import annotations

import pandas as pd
from rulekit import central, ctx, dossier, member, roster_row, submissions

from rules import reconcile
from schemas.contract import FINDING_COLUMNS


def scenario():
    c = central(
        members=[
            member("1", admission_decision_date="1990-01-01"),
            member("2"),
            member("3", cell_code="GC", personal_id="001180000003"),
        ],
        dossier_documents=dossier("1", "2"),
        ratings=[{"member_code": "2", "year": 2025, "rating": "KHTNV"}],
        transfers=[
            {
                "transfer_id": "T9",
                "member_code": "2",
                "kind": "official",
                "from_cell": "C1",
                "to_org": "C2",
                "letter_date": "2026-06-01",
                "notice_sent_on": None,
                "fees_paid_through": "2026-04",
            }
        ],
    )
    s = submissions(roster=[roster_row("1"), roster_row("99")])
    return c, s


def test_finding_id_is_stable_and_independent_of_as_of():
    c, s = scenario()
    a = reconcile(c, s, ctx())
    b = reconcile(c, s, ctx())
    later = reconcile(c, s, ctx(as_of="2026-11-20"))
    assert len(a) > 5 and a["finding_id"].is_unique
    assert a["finding_id"].tolist() == b["finding_id"].tolist()
    keep = ["finding_id", "list_code", "member_code"]
    assert set(map(tuple, a[keep].values)) <= set(map(tuple, later[keep].values))
    assert set(later["as_of"]) == {"2026-11-20"}


def test_output_shape_committee_and_sources():
    c, s = scenario()
    f = reconcile(c, s, ctx())
    assert list(f.columns) == [*FINDING_COLUMNS, "ref"]
    assert set(f["list_code"]) == {
        "BADGE_DUE",
        "DOSSIER_MISSING_DOC",
        "INVALID_PERSONAL_ID",
        "ROSTER_NOT_IN_CENTRAL",
        "SCREEN_NOT_COMPLETED",
        "SCREEN_TRANSFER_RULES",
        "SUBMISSION_MISSING",
        "TRANSFER_FEES_GAP",
        "TRANSFER_NOT_NOTIFIED",
        "TRANSFER_OVERDUE",
    }
    by = f.set_index("list_code")
    assert (
        by.loc["SUBMISSION_MISSING", "org_code"] == "GC"
        and by.loc["SUBMISSION_MISSING", "committee_code"] == "GC"
    )
    assert by.loc["TRANSFER_OVERDUE", "committee_code"] == "G" and by.loc[
        "TRANSFER_OVERDUE", "rule"
    ].startswith("QĐ 294")
    assert f["detail"].notna().all() and not f["detail"].str.contains("<NA>|nan|NaT").any()
    assert f["due_date"].dropna().str.match(r"^\d{4}-\d{2}-\d{2}$").all()


def test_empty_and_all_na_inputs():
    assert reconcile(central(), submissions(), ctx()).empty
    c = central(members=[{"member_code": "1", "status": "active", "cell_code": "C1"}])  # every other field NA
    f = reconcile(
        c, submissions(roster=[{"cell_code": "C1", "member_code": "1", "roster_status": "active"}]), ctx()
    )
    assert set(f["list_code"]) == {"DOSSIER_MISSING_DOC"}  # nothing else can be said without data


def test_input_frames_are_not_modified():
    c, s = scenario()
    before = c.members.copy(), s.roster.copy()
    reconcile(c, s, ctx())
    pd.testing.assert_frame_equal(c.members, before[0])
    pd.testing.assert_frame_equal(s.roster, before[1])


def test_rows_with_every_optional_value_missing():
    c = central(
        members=[member("1")],
        transfers=[{"transfer_id": "T1", "member_code": "1"}],
        ratings=[{"member_code": "1"}],
        disciplines=[{"member_code": "1"}],
        badges=[{"member_code": "1"}],
        activity_gaps=[{"member_code": "1"}],
        dossier_documents=[{"member_code": "1"}],
    )
    s = submissions(
        roster=[{"cell_code": "C1", "member_code": "1"}],
        activity=[{"cell_code": "C1", "member_code": "1", "month": "2026-10"}],
        transfers_in=[{"cell_code": "C1", "member_code": "1"}],
        transfers_out=[{"cell_code": "C1", "member_code": "1"}],
        candidates=[{"cell_code": "C1"}],
        screening=[{"cell_code": "C1", "member_code": "1"}],
    )
    f = reconcile(c, s, ctx())
    # The unmatched ChuyenDen row and the empty candidate are findings; nothing crashes on the NAs.
    assert {"TRANSFER_UNMATCHED_IN", "ADMISSION_NOT_ELIGIBLE"} <= set(f["list_code"])
    assert (
        not f["list_code"].isin(["ROSTER_MISSING_IN_CELL", "ROSTER_FIELD_MISMATCH", "TRANSFER_OVERDUE"]).any()
    )
