"""ROSTER_*, DUPLICATE_PERSON, SUBMISSION_MISSING (docs/rules.md, "Roster")."""

from __future__ import annotations

import unicodedata

from rulekit import central, codes, member, roster_row, run, submissions

from rules import roster as ro

ROSTER = ("ROSTER_", "DUPLICATE_PERSON", "SUBMISSION_MISSING")


def test_clean_cell_has_no_roster_findings():
    c = central(members=[member("1"), member("2")])
    s = submissions(roster=[roster_row("1"), roster_row("2")])
    assert run(c, s, *ROSTER).empty


def test_missing_in_cell_names_member_and_period():
    c = central(members=[member("1"), member("2", full_name="Trần Thị Bình", gender="Nữ")])
    s = submissions(roster=[roster_row("1")])
    f = run(c, s, *ROSTER)
    assert codes(f) == [("ROSTER_MISSING_IN_CELL", "C1", "2", "roster")]
    row = f.iloc[0]
    assert row["committee_code"] == "G" and row["severity"] == "error"
    assert "Trần Thị Bình" in row["detail"] and "10/2026" in row["detail"]


def test_exempt_member_is_expected_too_but_inactive_is_not():
    c = central(members=[member("1"), member("2", status="exempt"), member("3", status="deceased")])
    s = submissions(roster=[roster_row("1")])
    assert codes(run(c, s, *ROSTER)) == [("ROSTER_MISSING_IN_CELL", "C1", "2", "roster")]


def test_member_in_transit_is_not_missing_from_either_roster():
    c = central(
        members=[member("1"), member("2")],
        transfers=[
            {
                "transfer_id": "T1",
                "member_code": "2",
                "kind": "official",
                "from_cell": "C1",
                "to_org": "C2",
                "letter_date": "2026-10-20",
                "notice_sent_on": "2026-10-20",
            }
        ],
    )
    s = submissions(roster=[roster_row("1"), roster_row("9", cell="C2")])
    f = run(c, s, "ROSTER_MISSING")
    assert f.empty


def test_temporary_transfer_out_still_expected_on_home_roster():
    c = central(
        members=[member("1"), member("2")],
        transfers=[
            {
                "transfer_id": "T1",
                "member_code": "2",
                "kind": "temporary",
                "from_cell": "C1",
                "to_org": "C2",
                "letter_date": "2026-09-01",
                "temporary_until": "2027-03-01",
            }
        ],
    )
    s = submissions(roster=[roster_row("1")])
    assert codes(run(c, s, "ROSTER_MISSING")) == [("ROSTER_MISSING_IN_CELL", "C1", "2", "roster")]


def test_cell_that_sent_nothing_gets_submission_missing_not_missing_members():
    c = central(
        members=[member("1"), member("2", cell_code="C2"), member("3", cell_code="C3", status="left")]
    )
    s = submissions(roster=[roster_row("1")])
    f = run(c, s, *ROSTER)
    assert codes(f) == [("SUBMISSION_MISSING", "C2", "", "period")]  # C3 has no screened member
    assert "10/2026" in f.iloc[0]["detail"] and f.iloc[0]["ref"] == "2026-10"


def test_cell_with_empty_roster_workbook_counts_as_sent():
    c = central(members=[member("1")])
    s = submissions(workbooks=[{"cell_code": "C1"}])
    assert codes(run(c, s, *ROSTER)) == [("ROSTER_MISSING_IN_CELL", "C1", "1", "roster")]


def test_not_in_central_own_and_guest_rows():
    c = central(members=[member("1")])
    s = submissions(roster=[roster_row("1"), roster_row("77"), roster_row("78", roster_status="guest")])
    f = run(c, s, *ROSTER)
    assert codes(f) == [
        ("ROSTER_NOT_IN_CENTRAL", "C1", "77", "member_code"),
        ("ROSTER_NOT_IN_CENTRAL", "C1", "78", "member_code"),
    ]
    assert "dòng 3" in f.iloc[0]["detail"]


def test_wrong_cell_own_row_but_guest_is_not_wrong_cell():
    c = central(members=[member("1"), member("2", cell_code="C2")])
    s = submissions(
        roster=[
            roster_row("1"),
            roster_row("2", cell="C2"),
            roster_row("1", cell="C2", roster_status="guest"),
            roster_row("2", cell="C3"),
        ]
    )
    f = run(c, s, "ROSTER_WRONG_CELL")
    assert codes(f) == [("ROSTER_WRONG_CELL", "C3", "2", "cell_code")]
    assert (f.iloc[0]["central_value"], f.iloc[0]["cell_value"]) == ("C2", "C3")


def test_inactive_listed_own_or_guest():
    c = central(
        members=[
            member("1"),
            member("2", status="deceased", status_date="2026-03-04"),
            member("3", status="expelled", cell_code="C2"),
        ]
    )
    s = submissions(roster=[roster_row("1"), roster_row("2"), roster_row("3", roster_status="guest")])
    f = run(c, s, "ROSTER_INACTIVE_LISTED", "ROSTER_WRONG_CELL")
    assert codes(f) == [
        ("ROSTER_INACTIVE_LISTED", "C1", "2", "status"),
        ("ROSTER_INACTIVE_LISTED", "C1", "3", "status"),
    ]
    assert "04/03/2026" in f.iloc[0]["detail"] and f.iloc[0]["central_value"] == "deceased"


def test_received_transfer_still_on_sender_is_not_wrong_cell_nor_inactive():
    c = central(
        members=[member("1"), member("2", cell_code="C2"), member("3", status="transferred_out")],
        transfers=[
            {
                "transfer_id": "T2",
                "member_code": "2",
                "kind": "official",
                "from_cell": "C1",
                "to_org": "C2",
                "letter_date": "2026-09-01",
                "notice_sent_on": "2026-09-01",
                "received_on": "2026-09-10",
                "dossier_received_on": "2026-09-10",
            },
            {
                "transfer_id": "T3",
                "member_code": "3",
                "kind": "official",
                "from_cell": "C1",
                "to_org": "HN",
                "letter_date": "2026-09-01",
                "notice_sent_on": "2026-09-01",
                "received_on": "2026-09-12",
                "dossier_received_on": "2026-09-12",
            },
        ],
    )
    s = submissions(roster=[roster_row("1"), roster_row("2"), roster_row("3"), roster_row("2", cell="C2")])
    f = run(c, s, "ROSTER_", "TRANSFER_STILL")
    assert codes(f) == [
        ("TRANSFER_STILL_ON_SENDER", "C1", "2", "roster"),
        ("TRANSFER_STILL_ON_SENDER", "C1", "3", "roster"),
    ]


def test_field_mismatch_ignores_case_nfd_spaces_and_tone_placement():
    nfd = unicodedata.normalize("NFD", "Nguyễn Văn Hòa")
    c = central(
        members=[member("1", full_name="Nguyễn Văn Hòa"), member("2", full_name="Lê Thị Thủy", gender="Nữ")]
    )
    s = submissions(
        roster=[
            roster_row("1", full_name="  NGUYỄN   văn " + nfd.split()[-1].upper().replace("Ò", "Ò")),
            roster_row("2", full_name="lê thị thuỷ", gender="nữ"),
        ]
    )
    assert run(c, s, "ROSTER_FIELD").empty
    s2 = submissions(
        roster=[roster_row("1", full_name=nfd), roster_row("2", full_name="Lê Thị Thúy", gender="Nữ")]
    )
    f = run(c, s2, "ROSTER_FIELD")
    assert codes(f) == [("ROSTER_FIELD_MISMATCH", "C1", "2", "full_name")]
    assert "Lê Thị Thủy" in f.iloc[0]["detail"] and "Lê Thị Thúy" in f.iloc[0]["detail"]


def test_field_mismatch_ids_and_dates():
    c = central(
        members=[
            member("1", personal_id="001080000001"),
            member("2", personal_id="001080000002"),
            member("3", personal_id=None),
            member("4"),
        ]
    )
    s = submissions(
        roster=[
            roster_row("1", personal_id="1080000001"[0:0] + "01080000001"),  # 11 digits: Excel ate the 0
            roster_row("2", personal_id="001080000099", birth_date="1980-05-11"),
            roster_row("3", personal_id="001080000003"),  # central empty: not a mismatch
            roster_row("4", official_date=None, admission_date="2005-03-15"),  # cell empty: not a mismatch
        ]
    )
    f = run(c, s, "ROSTER_FIELD")
    assert codes(f) == [
        ("ROSTER_FIELD_MISMATCH", "C1", "2", "birth_date"),
        ("ROSTER_FIELD_MISMATCH", "C1", "2", "personal_id"),
    ]
    bd = f[f["field"] == "birth_date"].iloc[0]
    assert (bd["central_value"], bd["cell_value"]) == ("10/05/1980", "11/05/1980")


def test_duplicate_personal_id_in_central_and_member_on_two_rosters():
    c = central(
        members=[
            member("1", personal_id="001080012345"),
            member("2", personal_id="01080012345", cell_code="C2", status="left"),
            member("3", personal_id="001080000003"),
            member("4", personal_id="001080000004"),
        ]
    )
    s = submissions(
        roster=[
            roster_row("3"),
            roster_row("3", cell="C2"),
            roster_row("3", cell="C3", roster_status="guest"),
        ]
    )
    f = run(c, s, "DUPLICATE")
    assert codes(f) == [
        ("DUPLICATE_PERSON", "C1", "1", "personal_id"),
        ("DUPLICATE_PERSON", "C1", "3", "roster"),
        ("DUPLICATE_PERSON", "C2", "2", "personal_id"),
        ("DUPLICATE_PERSON", "C2", "3", "roster"),
    ]
    assert f.iloc[0]["cell_value"] == "1, 2"


def test_superseded_workbook_rows_are_ignored():
    c = central(members=[member("1"), member("2")])
    s = submissions(
        workbooks=[
            {"cell_code": "C1", "_source": "old.xlsx", "created_on": "2026-11-01", "superseded": True},
            {"cell_code": "C1", "_source": "new.xlsx", "created_on": "2026-11-03"},
        ],
        roster=[
            roster_row("1", _source="old.xlsx"),
            roster_row("2", _source="old.xlsx"),
            roster_row("1", _source="new.xlsx"),
        ],
    )
    assert codes(run(c, s, *ROSTER)) == [("ROSTER_MISSING_IN_CELL", "C1", "2", "roster")]


def test_only_the_period_rosters_count():
    c = central(members=[member("1")])
    s = submissions(roster=[roster_row("1", period="2026-09")])
    assert codes(run(c, s, *ROSTER)) == [("SUBMISSION_MISSING", "C1", "", "period")]


def test_functions_accept_empty_frames():
    c, s = central(), submissions()
    assert ro.roster_field_mismatch(c.members, s.roster).empty
    assert ro.duplicate_person(c.members, s.roster).empty
    assert run(c, s).empty


def test_shared_match_gives_the_same_lists_as_each_rule_alone():
    # tree_rules joins the rosters to central once (match_roster) and hands the positions to
    # every rule; a rule called alone joins by itself. Both must find the same rows.
    c = central(
        members=[
            member("1"),
            member("2", cell="C2"),
            member("3", status="deceased"),
            member("4", full_name="Lê Văn Tư"),
            member("5"),
        ]
    )
    s = submissions(
        roster=[
            roster_row("1"),
            roster_row("2"),  # central has 2 in C2
            roster_row("3"),  # deceased
            roster_row("4", full_name="Lê Văn Tứ"),
            roster_row("9"),  # unknown to central
            roster_row("1", cell="C2"),  # 1 listed as own by two cells
        ]
    )
    m, r = c.members, s.roster
    match = ro.match_roster(m, r)
    assert match.tolist() == [0, 1, 2, 3, -1, 0]
    pairs = [
        (ro.roster_not_in_central(m, r, "2026-10"), ro.roster_not_in_central(m, r, "2026-10", match)),
        (ro.roster_wrong_cell(m, r), ro.roster_wrong_cell(m, r, None, match)),
        (ro.roster_inactive_listed(m, r), ro.roster_inactive_listed(m, r, None, match)),
        (ro.roster_field_mismatch(m, r), ro.roster_field_mismatch(m, r, match)),
        (ro.duplicate_person(m, r), ro.duplicate_person(m, r, match)),
    ]
    for alone, shared in pairs:
        assert not alone.empty
        assert alone.equals(shared)
