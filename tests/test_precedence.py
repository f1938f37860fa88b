"""schemas.precedence: the one "newest workbook wins" (store, folder reader and rules ask it)."""

from __future__ import annotations

import pandas as pd

from schemas.precedence import by_precedence, newest


def books(**cols) -> pd.DataFrame:
    return pd.DataFrame({"cell_code": ["A"] * len(next(iter(cols.values()))), **cols})


def test_named_outranks_a_later_date() -> None:
    b = books(named=[True, False], created=["2026-11-01", "2026-11-28"], name=["A_10.xlsx", "x.xlsx"])
    assert newest(b, ["cell_code"], named="named", created="created", name="name")["name"].tolist() == [
        "A_10.xlsx"
    ]


def test_later_date_then_later_load_then_time_then_name() -> None:
    b = books(
        created=[None, "2026-11-02", "2026-11-02", "2026-11-02", "2026-11-02"],
        load=[9, 1, 2, 2, 2],
        mtime=[9.0, 9.0, 1.0, 5.0, 5.0],
        name=["a", "b", "c", "d", "e"],
    )
    ranked = by_precedence(b, created="created", load="load", mtime="mtime", name="name")
    assert ranked["name"].tolist() == ["a", "b", "c", "d", "e"]  # missing date = oldest
    assert newest(b.iloc[::-1], ["cell_code"], created="created", load="load", mtime="mtime", name="name")[
        "name"
    ].tolist() == ["e"]


def test_one_row_per_group_and_columns_not_given_count_as_equal() -> None:
    b = pd.DataFrame(
        {"cell_code": ["A", "B", "A"], "period": ["2026-10"] * 3, "created": ["01/11", None, "02/11"]}
    )
    b["created"] = pd.to_datetime(b["created"] + "/2026", format="%d/%m/%Y")
    got = newest(b, ["cell_code", "period"], created="created")
    assert sorted(got.index.tolist()) == [1, 2]
    assert newest(b, ["cell_code"]).index.tolist() == [1, 2]  # no key: the last row of each group
