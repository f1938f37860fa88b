"""TRANSFER_*, TEMP_TRANSFER_EXPIRED (docs/rules.md, "Transfers"). as_of = Monday 16/11/2026."""

from __future__ import annotations

from rulekit import central, codes, member, one, roster_row, run, submissions


def transfer(tid: str = "T1", member_code: str = "1", **kw) -> dict:
    """An official transfer C1 -> C2, notified, received with its dossier, fees paid."""
    base = {
        "transfer_id": tid,
        "member_code": member_code,
        "kind": "official",
        "from_cell": "C1",
        "to_org": "C2",
        "letter_date": "2026-09-01",
        "notice_sent_on": "2026-09-02",
        "received_on": "2026-09-10",
        "dossier_received_on": "2026-09-10",
        "fees_paid_through": "2026-09",
    }
    base.update(kw)
    return base


def in_transit(letter: str, tid: str = "T1", member_code: str = "1") -> dict:
    return transfer(
        tid,
        member_code,
        letter_date=letter,
        received_on=None,
        dossier_received_on=None,
        fees_paid_through=letter[:7],
    )


def test_complete_transfer_has_no_findings():
    c = central(members=[member("1", cell_code="C2")], transfers=[transfer()])
    assert run(c, None, "TRANSFER", "TEMP").empty


def test_overdue_boundary_29_30_31_working_days():
    # Letters on Tue 6/10 (29 working days before 16/11), Mon 5/10 (30) and Fri 2/10 (31).
    c = central(
        members=[member("1"), member("2"), member("3")],
        transfers=[
            in_transit("2026-10-06", "T29", "1"),
            in_transit("2026-10-05", "T30", "2"),
            in_transit("2026-10-02", "T31", "3"),
        ],
    )
    f = run(c, None, "TRANSFER_OVERDUE")
    row = one(f, "TRANSFER_OVERDUE")
    assert (row["member_code"], row["ref"], row["org_code"]) == ("3", "T31", "C1")
    assert row["due_date"] == "2026-11-13"
    assert "02/10/2026" in row["detail"] and "13/11/2026" in row["detail"]


def test_letter_before_tet_gets_the_holiday_week():
    # Letter Fri 30/1/2026: 30 working days end on 20/3 because Tết closes 16–20/2.
    c = central(members=[member("1")], transfers=[in_transit("2026-01-30")])
    assert run(c, None, "TRANSFER_OVERDUE", as_of="2026-03-20", period="2026-02").empty
    row = one(run(c, None, "TRANSFER_OVERDUE", as_of="2026-03-23", period="2026-02"), "TRANSFER_OVERDUE")
    assert row["due_date"] == "2026-03-20"


def test_overdue_mentions_receipt_reported_by_receiving_cell():
    c = central(members=[member("1")], transfers=[in_transit("2026-09-01")])
    s = submissions(
        transfers_in=[
            {
                "cell_code": "C2",
                "member_code": "1",
                "kind": "official",
                "from_org": "C1",
                "letter_date": "2026-09-01",
                "received_on": "2026-09-15",
            }
        ]
    )
    row = one(run(c, s, "TRANSFER_OVERDUE"), "TRANSFER_OVERDUE")
    assert (
        row["cell_value"] == "15/09/2026"
        and "Chi bộ Nghiệp vụ (C2) báo đã tiếp nhận ngày 15/09/2026" in row["detail"]
    )


def test_not_notified_whatever_the_receipt_and_cell_notice_shown():
    c = central(
        members=[member("1", cell_code="C2"), member("2")],
        transfers=[
            transfer("T1", "1", notice_sent_on=None),
            transfer("T2", "2", notice_sent_on=None, kind="temporary", temporary_until="2027-01-01"),
        ],
    )
    s = submissions(
        transfers_out=[
            {
                "cell_code": "C1",
                "member_code": "1",
                "kind": "official",
                "to_org": "C2",
                "letter_date": "2026-09-01",
                "notice_sent_on": "2026-09-03",
            }
        ]
    )
    row = one(run(c, s, "TRANSFER_NOT"), "TRANSFER_NOT_NOTIFIED")
    assert (row["org_code"], row["member_code"], row["ref"]) == ("C1", "1", "T1")
    assert row["cell_value"] == "03/09/2026"


def test_dossier_missing_goes_to_the_receiving_organisation():
    c = central(members=[member("1", cell_code="C2")], transfers=[transfer(dossier_received_on=None)])
    row = one(run(c, None, "TRANSFER_DOSSIER"), "TRANSFER_DOSSIER_MISSING")
    assert row["org_code"] == "C2" and row["committee_code"] == "G" and "10/09/2026" in row["detail"]


def test_unmatched_in_accepts_a_transfer_to_an_ancestor():
    c = central(
        members=[member("1", cell_code="C2"), member("2", cell_code="C2"), member("3", cell_code="C2")],
        transfers=[transfer("T1", "1", to_org="C2"), transfer("T2", "2", to_org="G")],
    )
    rows = [
        {
            "cell_code": "C2",
            "member_code": m,
            "kind": "official",
            "from_org": "X",
            "received_on": "2026-10-05",
        }
        for m in ("1", "2", "3")
    ]
    f = run(c, submissions(transfers_in=rows), "TRANSFER_UNMATCHED")
    assert codes(f) == [("TRANSFER_UNMATCHED_IN", "C2", "3", "transfer")]
    assert "05/10/2026" in f.iloc[0]["detail"]


def test_still_on_sender_only_for_the_latest_transfer():
    # 1 went C1 -> C2 and came back C2 -> C1: being on C1 again is right.
    c = central(
        members=[member("1"), member("2", cell_code="C2")],
        transfers=[
            transfer("T1", "1"),
            transfer(
                "T1b",
                "1",
                from_cell="C2",
                to_org="C1",
                letter_date="2026-10-01",
                received_on="2026-10-05",
                fees_paid_through="2026-10",
            ),
            transfer("T2", "2"),
        ],
    )
    s = submissions(roster=[roster_row("1"), roster_row("2"), roster_row("2", cell="C2")])
    f = run(c, s, "TRANSFER_STILL", "ROSTER_WRONG")
    assert codes(f) == [("TRANSFER_STILL_ON_SENDER", "C1", "2", "roster")]


def test_temporary_transfer_expired_boundary():
    t = dict(kind="temporary", received_on="2026-05-01", dossier_received_on=None, notice_sent_on=None)
    c = central(
        members=[member("1"), member("2"), member("3")],
        transfers=[
            transfer("A", "1", temporary_until="2026-11-15", **t),
            transfer("B", "2", temporary_until="2026-11-16", **t),
            transfer("C", "3", temporary_until="2026-11-01", returned_on="2026-11-01", **t),
        ],
    )
    row = one(run(c, None, "TEMP"), "TEMP_TRANSFER_EXPIRED")
    assert (row["member_code"], row["due_date"]) == ("1", "2026-11-15") and "15/11/2026" in row["detail"]


def test_fees_gap_month_before_letter_month():
    c = central(
        members=[member("1"), member("2"), member("3")],
        transfers=[
            transfer("A", "1", fees_paid_through="2026-08"),
            transfer("B", "2", fees_paid_through="2026-09"),
            transfer("C", "3", fees_paid_through=None),
        ],
    )
    row = one(run(c, None, "TRANSFER_FEES"), "TRANSFER_FEES_GAP")
    assert (row["member_code"], row["central_value"], row["cell_value"]) == ("1", "2026-08", "2026-09")
    assert "08/2026" in row["detail"] and "09/2026" in row["detail"]


def test_transfers_of_inactive_members_are_not_screened():
    c = central(members=[member("1", status="deceased")], transfers=[in_transit("2026-01-05")])
    assert run(c, None, "TRANSFER", "TEMP").empty


def test_in_transit_member_on_neither_roster_is_fine_and_guest_at_host_is_not_wrong_cell():
    c = central(
        members=[member("1"), member("2"), member("3", cell_code="C2")],
        transfers=[in_transit("2026-11-02", "T", "2")],
    )
    s = submissions(
        roster=[
            roster_row("1"),
            roster_row("3", cell="C2"),
            roster_row("1", cell="C2", roster_status="guest"),
        ]
    )
    assert run(c, s, "ROSTER", "TRANSFER", "DUPLICATE").empty
