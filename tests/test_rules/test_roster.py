"""ROSTER_*, DUPLICATE_PERSON, SUBMISSION_MISSING (docs/rules.md, "Roster")."""

from __future__ import annotations

from rulekit import central, codes, ctx, member, roster_row, submissions

from rules import reconcile


def run(c, s, **kw):
    return reconcile(c, s, ctx(**kw))


def test_clean_cell_has_no_findings():
    c = central(members=[member("1"), member("2")])
    s = submissions(roster=[roster_row("1"), roster_row("2")])
    assert run(c, s).empty


def test_missing_in_cell_names_member_and_period():
    c = central(members=[member("1"), member("2", full_name="Trần Thị Bình", gender="Nữ")])
    s = submissions(roster=[roster_row("1")])
    f = run(c, s)
    assert codes(f) == [("ROSTER_MISSING_IN_CELL", "C1", "2", "roster")]
    row = f.iloc[0]
    assert row["committee_code"] == "G"
    assert "Trần Thị Bình" in row["detail"] and "10/2026" in row["detail"]
