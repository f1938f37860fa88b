"""The same loads and runs give the same frames on SQLite and on PostgreSQL."""

from __future__ import annotations

import pandas as pd


def scenario(store, wb, ff) -> dict[str, pd.DataFrame]:
    t_out = {
        "member_code": "A",
        "kind": "official",
        "to_org": "X9",
        "letter_date": "2026-04-10",
        "notice_sent_on": None,
        "fees_paid_through": "2026-03",
    }
    store.load_workbooks(
        [
            wb(
                "C1",
                "2026-04",
                "2026-05-02",
                members=["A", "B"],
                transfers_out=[t_out],
                activity=[("A", "2026-04", False, False, False), ("B", "2026-04", True, False, True)],
            ),
            wb(
                "C2",
                "2026-10",
                "2026-11-02",
                members=["D", "E"],
                screening=[("D", 4, "Ghi chú")],
                activity=[("D", "2026-10", False, True, False)],
            ),
        ]
    )
    store.load_workbooks(
        [
            wb("C1", "2026-10", "2026-11-01", members=["B"], activity=[("B", "2026-10", False, False, True)]),
            wb(
                "C1",
                "2026-10",
                "2026-11-04",
                members=["B", "F"],
                version="-v2",
                activity=[("B", "2026-10", True, False, True), ("F", "2026-10", None, None, None)],
                quarantine=[
                    {
                        "source": "C1_2026-10-v2.xlsx",
                        "sheet": "DanhSach",
                        "row": 9,
                        "column": "Số CCCD",
                        "rule": "cccd",
                        "value": "********1234",
                        "message": "Sai cấu trúc",
                    }
                ],
            ),
        ]
    )
    store.record_run(
        {"run_id": "r1", "as_of": "2026-11-15", "period": "2026-10"},
        ff([{"member_code": "A", "due_date": "2026-11-01"}, {"member_code": "B"}], "2026-11-15"),
    )
    out = store.record_run(
        {"run_id": "r2", "as_of": "2026-11-16", "period": "2026-10"},
        ff(
            [{"member_code": "B", "field": "full_name", "central_value": "Lê Thị Hoà"}, {"member_code": "B"}],
            "2026-11-16",
        ),
    )
    subs = store.submissions("2026-10")
    frames = {f"subs.{k}": v for k, v in subs.tables().items()}
    wbs = store.workbooks().drop(columns=["loaded_at"])
    runs = store.runs().drop(columns=["started_at", "finished_at"])
    return {
        **frames,
        "quarantine": store.quarantine("2026-10"),
        "workbooks": wbs,
        "record_run": out,
        "history": store.history(),
        "events": store.events(),
        "runs": runs,
        "coverage": store.coverage("2026-10", cells=["C3"]),
    }


def test_sqlite_and_postgresql_give_equal_frames(make_store, wb, ff):
    lite = scenario(make_store("sqlite"), wb, ff)
    pg = scenario(make_store("postgresql"), wb, ff)
    assert lite.keys() == pg.keys()
    for name in lite:
        pd.testing.assert_frame_equal(lite[name], pg[name], obj=name)
    # The scenario is not trivial.
    assert len(lite["subs.activity"]) == 5 and len(lite["subs.roster"]) == 4
    assert set(lite["history"]["status"]) == {"new", "open", "resolved"}
