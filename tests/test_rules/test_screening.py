"""SCREEN_* (KH 71-KH/ĐU §2.2) and REMOVAL_* (QĐ 294-QĐ/TW point 8.1); docs/rules.md. as_of = 16/11/2026."""

from __future__ import annotations

from rulekit import central, codes, member, one, run, submissions


def months(
    code: str,
    absent: list[str] = (),
    unpaid: list[str] = (),
    excused: list[str] = (),
    upto: int = 10,
    year: int = 2026,
    **row,
) -> list[dict]:
    """SinhHoat rows for January..``upto``, all in the period's workbook unless ``row`` says otherwise."""
    out = []
    for m in range(1, upto + 1):
        mm = f"{year}-{m:02d}"
        out.append(
            {
                "cell_code": "C1",
                "member_code": code,
                "month": mm,
                "attended": mm not in absent,
                "excused": mm in excused,
                "fees_paid": mm not in unpaid,
                **row,
            }
        )
    return out


def test_two_months_absent_is_not_three():
    c = central(members=[member("1")])
    s = submissions(activity=months("1", absent=["2026-02", "2026-07"]))
    assert run(c, s, "REMOVAL").empty


def test_three_months_absent_names_the_months():
    c = central(members=[member("1")])
    s = submissions(activity=months("1", absent=["2026-02", "2026-07", "2026-10"]))
    row = one(run(c, s, "REMOVAL"), "REMOVAL_ABSENCE_OR_FEES")
    assert (row["field"], row["ref"], row["central_value"]) == ("attendance", "2026", "3")
    assert "02/2026, 07/2026, 10/2026" in row["detail"]


def test_excused_month_does_not_count_for_absence_nor_fees():
    c = central(members=[member("1")])
    bad = ["2026-02", "2026-07", "2026-10"]
    s = submissions(activity=months("1", absent=bad, unpaid=bad, excused=["2026-07"]))
    assert run(c, s, "REMOVAL").empty


def test_exempt_member_absences_do_not_count_but_unpaid_fees_do():
    c = central(members=[member("1", status="exempt")])
    bad = ["2026-01", "2026-02", "2026-03"]
    s = submissions(activity=months("1", absent=bad, unpaid=bad))
    assert codes(run(c, s, "REMOVAL")) == [("REMOVAL_ABSENCE_OR_FEES", "C1", "1", "fees")]


def test_months_after_the_period_and_of_last_year_are_ignored():
    c = central(members=[member("1")])
    rows = months("1", absent=["2025-10", "2025-11", "2025-12"], year=2025, upto=12, period="2025-12")
    rows += months("1", absent=["2026-09", "2026-10"], upto=10)
    rows += [
        {
            "cell_code": "C1",
            "member_code": "1",
            "month": "2026-11",
            "attended": False,
            "excused": False,
            "fees_paid": True,
            "period": "2026-11",
        }
    ]
    assert run(c, submissions(activity=rows), "REMOVAL").empty


def test_earlier_workbooks_count_and_the_latest_workbook_wins_per_month():
    c = central(members=[member("1")])
    # March was sent absent in the March workbook, then corrected in a resent one (later created_on);
    # January and February come from earlier workbooks only.
    rows = [
        {
            "cell_code": "C1",
            "member_code": "1",
            "month": "2026-01",
            "attended": False,
            "excused": False,
            "fees_paid": True,
            "period": "2026-01",
        },
        {
            "cell_code": "C1",
            "member_code": "1",
            "month": "2026-02",
            "attended": False,
            "excused": False,
            "fees_paid": True,
            "period": "2026-02",
        },
        {
            "cell_code": "C1",
            "member_code": "1",
            "month": "2026-03",
            "attended": False,
            "excused": False,
            "fees_paid": True,
            "period": "2026-03",
            "_source": "march-v1.xlsx",
        },
        {
            "cell_code": "C1",
            "member_code": "1",
            "month": "2026-03",
            "attended": True,
            "excused": False,
            "fees_paid": True,
            "period": "2026-03",
            "_source": "march-v2.xlsx",
        },
    ]
    wbs = [
        {"cell_code": "C1", "period": "2026-03", "_source": "march-v1.xlsx", "created_on": "2026-04-02"},
        {"cell_code": "C1", "period": "2026-03", "_source": "march-v2.xlsx", "created_on": "2026-04-09"},
    ]
    assert run(c, submissions(workbooks=wbs, activity=rows), "REMOVAL").empty
    rows[3]["attended"] = False
    row = one(run(c, submissions(workbooks=wbs, activity=rows), "REMOVAL"), "REMOVAL_ABSENCE_OR_FEES")
    assert "01/2026, 02/2026, 03/2026" in row["detail"]


def test_two_years_kht_and_screen_not_completed():
    c = central(
        members=[member("1"), member("2"), member("3")],
        ratings=[
            {"member_code": "1", "year": 2024, "rating": "KHTNV"},
            {"member_code": "1", "year": 2025, "rating": "KHTNV"},
            {"member_code": "2", "year": 2024, "rating": "KHTNV"},
            {"member_code": "2", "year": 2025, "rating": "HTNV"},
            {"member_code": "3", "year": 2023, "rating": "KHTNV"},
            {"member_code": "3", "year": 2025, "rating": "KHTNV"},
        ],
    )
    f = run(c, None, "REMOVAL", "SCREEN")
    assert codes(f) == [
        ("REMOVAL_TWO_YEARS_KHT", "C1", "1", "rating"),
        ("SCREEN_NOT_COMPLETED", "C1", "1", "rating"),
        ("SCREEN_NOT_COMPLETED", "C1", "3", "rating"),
    ]
    assert set(f["ref"]) == {"2025"}


def test_screen_discipline_half_open_twelve_months():
    c = central(
        members=[member("1"), member("2"), member("3")],
        disciplines=[
            {"member_code": "1", "decided_on": "2025-11-16", "form": "canh_cao"},  # excluded bound
            {"member_code": "2", "decided_on": "2025-11-17", "form": "khien_trach"},
            {"member_code": "3", "decided_on": "2026-11-17", "form": "khien_trach"},
        ],  # after as_of
    )
    row = one(run(c, None, "SCREEN"), "SCREEN_DISCIPLINE")
    assert row["member_code"] == "2" and "khiển trách" in row["detail"] and "17/11/2025" in row["detail"]


def test_screen_transfer_rules_from_transfer_findings():
    c = central(
        members=[member("1"), member("2", cell_code="C2")],
        transfers=[
            {
                "transfer_id": "T1",
                "member_code": "1",
                "kind": "official",
                "from_cell": "C1",
                "to_org": "C2",
                "letter_date": "2026-08-03",
                "notice_sent_on": "2026-08-03",
            },
            {
                "transfer_id": "T2",
                "member_code": "2",
                "kind": "official",
                "from_cell": "C1",
                "to_org": "C2",
                "letter_date": "2026-08-03",
                "notice_sent_on": "2026-08-03",
                "received_on": "2026-08-10",
            },
        ],
    )
    f = run(c, None, "SCREEN")
    assert codes(f) == [
        ("SCREEN_TRANSFER_RULES", "C1", "1", "transfer"),
        ("SCREEN_TRANSFER_RULES", "C2", "2", "transfer"),
    ]
    assert "T1" in f.iloc[0]["detail"]


def test_screen_low_standing_from_the_cells_category_4():
    c = central(members=[member("1"), member("2"), member("3", status="removed")])
    s = submissions(
        screening=[
            {"cell_code": "C1", "member_code": "1", "category": 4, "note": "Vi phạm quy chế"},
            {"cell_code": "C1", "member_code": "2", "category": 1},
            {"cell_code": "C1", "member_code": "3", "category": 4},
            {"cell_code": "C1", "member_code": "1", "category": 4, "period": "2026-09"},
        ]
    )
    row = one(run(c, s, "SCREEN"), "SCREEN_LOW_STANDING")
    assert row["member_code"] == "1" and "Vi phạm quy chế" in row["detail"]
