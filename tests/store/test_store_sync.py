"""The sync store: idempotent, incremental loading; supersession; the year's activity."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa


def test_same_workbook_twice_is_stored_once(store, wb):
    books = [wb("C1", "2026-10", "2026-11-02"), wb("C2", "2026-10", "2026-11-03")]
    first = store.load_workbooks(books)
    assert first["loaded"] == 2 and first["skipped"] == 0 and first["rows"] == 6
    assert store.known_checksums() == {b.meta["checksum"] for b in books}
    second = store.load_workbooks(books)
    assert second["loaded"] == 0 and second["skipped"] == 2 and second["rows"] == 0
    # The same file twice in one batch is stored once too.
    third = store.load_workbooks([wb("C3", "2026-10", "2026-11-03")] * 2)
    assert third["loaded"] == 1 and third["skipped"] == 1
    subs = store.submissions("2026-10")
    assert len(subs.workbooks) == 3 and len(subs.roster) == 9
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM sub_roster")).scalar() == 9


def test_corrected_workbook_supersedes(store, wb):
    old = wb("C1", "2026-10", "2026-11-02", members=["A", "B", "C"])
    new = wb("C1", "2026-10", "2026-11-05", members=["A", "B"], version="-v2")
    store.load_workbooks([old, wb("C2", "2026-10", "2026-11-02")])
    counts = store.load_workbooks([new])
    assert counts == {**counts, "loaded": 1, "superseded": 1}
    subs = store.submissions("2026-10")
    c1 = subs.roster[subs.roster["cell_code"] == "C1"]
    assert list(c1["member_code"]) == ["A", "B"]  # never mixed with the old copy
    assert set(c1["_source"]) == {"C1_2026-10-v2.xlsx"}
    assert set(subs.workbooks["checksum"]) == {new.meta["checksum"], subs.workbooks["checksum"].iloc[1]}
    status = store.workbooks().set_index("checksum")["status"]
    assert status[old.meta["checksum"]] == "superseded"
    assert status[new.meta["checksum"]] == "accepted"
    # The old copy is kept, with its rows and lineage.
    with store.engine.connect() as conn:
        kept = conn.execute(
            sa.text("SELECT count(*) FROM sub_roster WHERE checksum = :c"), {"c": old.meta["checksum"]}
        ).scalar()
        register = (
            conn.execute(
                sa.text(
                    "SELECT member_code FROM register_roster WHERE cell_code = 'C1' AND period = '2026-10' "
                    "ORDER BY member_code"
                )
            )
            .scalars()
            .all()
        )
    assert kept == 3
    assert register == ["A", "B"]


def test_older_copy_arriving_late_does_not_win(store, wb):
    new = wb("C1", "2026-10", "2026-11-05", members=["A", "B"], version="-v2")
    old = wb("C1", "2026-10", "2026-11-02", members=["A", "B", "C"])
    store.load_workbooks([new])
    counts = store.load_workbooks([old])
    assert counts["loaded"] == 1
    assert list(store.submissions("2026-10").roster["member_code"]) == ["A", "B"]
    assert store.workbooks().set_index("checksum").loc[old.meta["checksum"], "status"] == "superseded"


def test_same_date_later_load_wins(store, wb):
    a = wb("C1", "2026-10", "2026-11-02", members=["A"], version="-a")
    b = wb("C1", "2026-10", "2026-11-02", members=["B"], version="-b")
    store.load_workbooks([a, b])  # same batch: list order is load order
    assert list(store.submissions("2026-10").roster["member_code"]) == ["B"]


def test_activity_of_the_year_from_monthly_workbooks(store, wb):
    """Absences sent one month per workbook all reach the October reconciliation."""

    def month(period: str, absent: bool) -> object:
        return wb(
            "C1",
            period,
            f"{period}-28",
            members=["A", "B"],
            activity=[("A", period, not absent, False, True), ("B", period, True, False, True)],
        )

    # October first, then the late March workbook, then the others.
    store.load_workbooks([month("2026-10", True)])
    store.load_workbooks([month("2026-03", True)])
    store.load_workbooks([month("2026-07", True), month("2026-08", False)])
    store.load_workbooks(
        [wb("C1", "2025-12", "2025-12-28", members=["A"], activity=[("A", "2025-12", False, False, False)])]
    )  # last year: not read
    subs = store.submissions("2026-10")
    act = subs.activity
    assert sorted(act["month"].unique()) == ["2026-03", "2026-07", "2026-08", "2026-10"]
    absent = act[(act["member_code"] == "A") & ~act["attended"] & ~act["excused"]]
    assert sorted(absent["month"]) == ["2026-03", "2026-07", "2026-10"]
    # Only the period's roster is the roster of the run; the workbooks of the year are listed.
    assert set(subs.roster["period"]) == {"2026-10"}
    assert sorted(subs.workbooks["period"]) == ["2026-03", "2026-07", "2026-08", "2026-10"]
    # Reconciling August sees only January..August.
    assert sorted(store.submissions("2026-08").activity["month"].unique()) == [
        "2026-03",
        "2026-07",
        "2026-08",
    ]
    cov = store.coverage("2026-10", cells=["C1", "C9"])
    assert len(cov) == 20
    assert set(cov[cov["status"] == "received"]["period"]) == {"2026-03", "2026-07", "2026-08", "2026-10"}
    assert (cov[cov["cell_code"] == "C9"]["status"] == "missing").all()


def test_resent_month_latest_workbook_wins(store, wb):
    sep = wb("C1", "2026-09", "2026-10-02", members=["A"], activity=[("A", "2026-09", False, False, True)])
    # The October workbook resends September with the absence excused.
    octo = wb(
        "C1",
        "2026-10",
        "2026-11-02",
        members=["A"],
        activity=[("A", "2026-09", False, True, True), ("A", "2026-10", True, False, True)],
    )
    store.load_workbooks([octo, sep])
    act = store.submissions("2026-10").activity.set_index("month")
    assert bool(act.loc["2026-09", "excused"]) is True
    assert act.loc["2026-09", "_source"] == "C1_2026-10.xlsx"


def test_transfers_of_earlier_periods(store, wb):
    t_out = {
        "member_code": "A",
        "kind": "official",
        "to_org": "X9",
        "letter_date": "2026-04-10",
        "notice_sent_on": None,
        "fees_paid_through": "2026-03",
    }
    t_in = {
        "member_code": "Z",
        "kind": "official",
        "from_org": "Y1",
        "letter_date": "2026-05-01",
        "received_on": "2026-05-20",
        "dossier_received_on": None,
    }
    store.load_workbooks(
        [
            wb("C1", "2026-04", "2026-05-02", transfers_out=[t_out], transfers_in=[t_in]),
            wb("C1", "2026-10", "2026-11-02"),
        ]
    )
    subs = store.submissions("2026-10")
    assert list(subs.transfers_out["member_code"]) == ["A"]
    assert subs.transfers_out["letter_date"].iloc[0] == pd.Timestamp("2026-04-10")
    assert pd.isna(subs.transfers_out["notice_sent_on"].iloc[0])
    assert list(subs.transfers_in["period"]) == ["2026-04"]


def test_round_trip_keeps_columns_and_dtypes(store, wb):
    book = wb(
        "C1",
        "2026-10",
        "2026-11-02",
        activity=[("C1-M1", "2026-10", True, False, True)],
        screening=[("C1-M2", 4, "Không tham gia")],
        candidates=[
            {
                "personal_id": "001099000123",
                "full_name": "Lê Văn C",
                "birth_date": "1999-03-04",
                "candidate_kind": "cadre",
                "rating_y1": "HTTNV",
                "rating_y2": "HTTNV",
                "rating_y3": "HTXSNV",
                "emulation_fighter": False,
                "provincial_merit": None,
                "course_certificate_on": "2024-01-05",
                "background_verified": True,
                "political_conclusion_on": "2025-02-01",
            }
        ],
    )
    store.load_workbooks([book])
    subs = store.submissions("2026-10")
    for name, frame in subs.tables().items():
        if name == "workbooks":
            assert list(frame.columns) == [
                "cell_code",
                "period",
                "created_on",
                "secretary",
                "_source",
                "checksum",
                "superseded",
            ]
            continue
        original = book.tables[name]
        assert dict(frame.dtypes) == dict(original.dtypes), name
        pd.testing.assert_frame_equal(frame, original.reset_index(drop=True), check_like=False)
    wbk = subs.workbooks.iloc[0]
    assert wbk["created_on"] == pd.Timestamp("2026-11-02") and not wbk["superseded"]


def test_quarantine_keeps_lineage(store, wb):
    bad = {
        "source": "C1_2026-10.xlsx",
        "sheet": "DanhSach",
        "row": 7,
        "column": "Ngày sinh",
        "rule": "date",
        "value": "31/02/1980",
        "message": "Ngày không hợp lệ",
    }
    book = wb("C1", "2026-10", "2026-11-02", quarantine=[bad])
    broken = wb(
        "C2",
        "2026-10",
        None,
        error="Tệp C2.xlsx không mở được",
        quarantine=[
            {
                "source": "C2.xlsx",
                "sheet": None,
                "row": None,
                "column": None,
                "rule": "file",
                "value": None,
                "message": "Tệp C2.xlsx không mở được",
            }
        ],
    )
    counts = store.load_workbooks([book, broken])
    assert counts["loaded"] == 1 and counts["rejected"] == 1
    q = store.quarantine("2026-10")
    assert list(q.columns) == [
        "source",
        "sheet",
        "row",
        "column",
        "rule",
        "value",
        "message",
        "severity",
        "_cell",
    ]
    assert len(q) == 2
    row = q[q["sheet"] == "DanhSach"].iloc[0]
    assert row["row"] == 7 and row["source"] == "C1_2026-10.xlsx"
    # A rejected file is known (not parsed again) but contributes no rows.
    assert broken.meta["checksum"] in store.known_checksums()
    assert set(store.submissions("2026-10").workbooks["cell_code"]) == {"C1"}
    # Rejected files no longer in the folder can be left out.
    assert len(store.quarantine("2026-10", checksums={book.meta["checksum"]})) == 1
    # A corrected copy replaces the old one's quarantine.
    store.load_workbooks([wb("C1", "2026-10", "2026-11-09", version="-v2")])
    assert len(store.quarantine("2026-10")) == 1


def test_failed_load_leaves_store_unchanged(store, wb):
    store.load_workbooks([wb("C1", "2026-10", "2026-11-02")])
    before = store.workbooks()
    good = wb("C2", "2026-10", "2026-11-02")
    bad = wb("C3", "2026-10", "2026-11-02")
    bad.tables["roster"]["_row"] = bad.tables["roster"]["_row"].astype("object")
    bad.tables["roster"].loc[0, "_row"] = "not a number"
    with pytest.raises(Exception):  # noqa: B017 - any database/driver error
        store.load_workbooks([good, bad])
    pd.testing.assert_frame_equal(store.workbooks(), before)
    assert len(store.submissions("2026-10").roster) == 3


def test_arrow_reads_equal_sqlalchemy_reads(store, wb, monkeypatch):
    """The read-back goes through ADBC into Arrow; the SQLAlchemy fallback gives the same frames
    (values, dtypes, order), including empty tables, all-null columns and edge values."""
    books = [
        wb(
            "C1",
            "2026-10",
            "2026-11-02",
            activity=[("C1-M1", "2026-10", True, None, False), ("C1-M1", "2026-09", False, True, True)],
            screening=[("C1-M2", None, None), ("C1-M3", 4, 'Ghi chú có "ngoặc", dấu phẩy\nvà xuống dòng')],
            candidates=[
                {
                    "personal_id": "",
                    "full_name": "Lê Văn C",
                    "birth_date": "1899-12-31",
                    "candidate_kind": "cadre",
                    "rating_y1": None,
                    "rating_y2": "\\N",
                    "rating_y3": "HTXSNV",
                    "emulation_fighter": None,
                    "provincial_merit": True,
                    "course_certificate_on": None,
                    "background_verified": False,
                    "political_conclusion_on": "2025-02-01",
                }
            ],
        ),
        wb("C2", "2026-10", None),
        wb("C1", "2026-09", "2026-10-01", activity=[("C1-M1", "2026-09", None, None, None)]),
        wb("C3", "2026-10", None, error="Tệp C3.xlsx không mở được"),
    ]
    store.load_workbooks(books)
    adbc = store._adbc_connect()  # the fast path is really taken on both backends
    assert adbc is not None
    adbc.close()
    fast = (store.submissions("2026-10"), store.workbooks(), store.quarantine("2026-10"))
    assert fast[0].screening["note"].iloc[1] == 'Ghi chú có "ngoặc", dấu phẩy\nvà xuống dòng'
    assert (
        fast[0].candidates["personal_id"].iloc[0] == "" and fast[0].candidates["rating_y2"].iloc[0] == "\\N"
    )
    monkeypatch.setattr(type(store), "_adbc_connect", lambda self: None)
    slow = (store.submissions("2026-10"), store.workbooks(), store.quarantine("2026-10"))
    for name, frame in slow[0].tables().items():
        pd.testing.assert_frame_equal(fast[0].tables()[name], frame, check_exact=True, obj=name)
    pd.testing.assert_frame_equal(fast[1], slow[1], check_exact=True)
    pd.testing.assert_frame_equal(fast[2], slow[2], check_exact=True)
