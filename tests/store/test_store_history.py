"""Findings history: new -> open -> resolved, idempotent reruns, one transaction."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

TABLES = ["runs", "findings", "finding_events"]


def dump(store) -> dict[str, list]:
    out = {}
    with store.engine.connect() as conn:
        for t in TABLES:
            rows = conn.execute(sa.text(f"SELECT * FROM {t}")).mappings().all()
            out[t] = sorted(
                (
                    tuple(
                        sorted(
                            (k, str(v))
                            for k, v in r.items()
                            if k not in ("started_at", "finished_at", "run_id", "attempts", "last_run_id")
                        )
                    )
                )
                for r in rows
            )
    return out


def run(store, ff, as_of: str, members: list[str], run_id: str | None = None, **extra) -> pd.DataFrame:
    return store.record_run(
        {"run_id": run_id or f"run-{as_of}", "as_of": as_of, "period": as_of[:7], **extra},
        ff([{"member_code": m} for m in members], as_of),
    )


def test_new_open_resolved(store, ff):
    d1 = run(store, ff, "2026-10-15", ["A", "B"])
    assert list(d1["status"]) == ["new", "new"] and list(d1["first_seen"]) == ["2026-10-15"] * 2
    d2 = run(store, ff, "2026-10-16", ["A", "C"])
    assert dict(zip(d2["member_code"], d2["status"], strict=True)) == {"A": "open", "C": "new"}
    assert dict(zip(d2["member_code"], d2["first_seen"], strict=True)) == {
        "A": "2026-10-15",
        "C": "2026-10-16",
    }
    hist = store.history().set_index("member_code")
    assert hist.loc["B", "status"] == "resolved"
    assert hist.loc["B", "resolved_on"] == "2026-10-16"
    assert hist.loc["B", "last_seen"] == "2026-10-15"
    assert hist.loc["A", "status"] == "open" and hist.loc["A", "last_seen"] == "2026-10-16"
    assert pd.isna(hist.loc["A", "resolved_on"])
    # B comes back: a new case (first_seen of the new episode); its first episode stays in the events.
    d3 = run(store, ff, "2026-10-17", ["A", "B"])
    assert dict(zip(d3["member_code"], d3["status"], strict=True)) == {"A": "open", "B": "new"}
    assert d3.set_index("member_code").loc["B", "first_seen"] == "2026-10-17"
    hist = store.history().set_index("member_code")
    assert hist.loc["C", "status"] == "resolved" and pd.isna(hist.loc["B", "resolved_on"])
    ev = store.events()
    assert len(ev[ev["finding_id"] == hist.loc["B", "finding_id"]]) == 3  # new, resolved, new
    runs = store.runs()
    assert list(runs["as_of"]) == ["2026-10-15", "2026-10-16", "2026-10-17"]
    assert list(runs["n_new"]) == [2, 1, 1] and list(runs["n_resolved"]) == [0, 1, 1]


def test_rerun_same_as_of_is_a_no_op(store, ff):
    run(store, ff, "2026-10-15", ["A", "B"])
    first = run(store, ff, "2026-10-16", ["A", "C"], run_id="x1")
    snapshot = dump(store)
    again = run(store, ff, "2026-10-16", ["A", "C"], run_id="x2")
    pd.testing.assert_frame_equal(first, again)
    assert dump(store) == snapshot
    runs = store.runs()
    assert len(runs) == 2 and runs["attempts"].tolist() == [1, 2]
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM findings")).scalar() == 3
        assert conn.execute(sa.text("SELECT count(*) FROM finding_events")).scalar() == 5


def test_rerun_with_other_inputs_replaces_that_day(store, ff):
    run(store, ff, "2026-10-15", ["A"])
    run(store, ff, "2026-10-16", ["A", "B", "C"])
    # The day is re-run after a fix of the inputs: B disappears, A is resolved.
    out = run(store, ff, "2026-10-16", ["C"])
    assert list(out["status"]) == ["new"]
    hist = store.history().set_index("member_code")
    assert "B" not in hist.index  # never really seen
    assert hist.loc["A", "status"] == "resolved" and hist.loc["A", "resolved_on"] == "2026-10-16"
    # And back to the first inputs: the same state as if the fix never happened.
    run(store, ff, "2026-10-16", ["A", "B", "C"])
    hist = store.history().set_index("member_code")
    assert hist.loc["A", "status"] == "open" and pd.isna(hist.loc["A", "resolved_on"])
    assert hist.loc["B", "status"] == "new"


def test_audit_scope_does_not_resolve_nightly(store, ff):
    run(store, ff, "2026-10-15", ["A", "B"])
    run(store, ff, "2026-10-16", ["A"], mode="audit", committee="G1")
    run(store, ff, "2026-10-16", ["A", "B"])
    hist = store.history()
    nightly = hist[hist["scope"] == "nightly"]
    assert set(nightly["status"]) == {"open"}
    assert set(hist["scope"]) == {"nightly", "audit:G1"}


def test_finding_columns_follow_the_latest_run(store, ff):
    store.record_run(
        {"run_id": "a", "as_of": "2026-10-15"},
        ff([{"member_code": "A", "detail": "cũ", "due_date": "2026-10-01"}], "2026-10-15"),
    )
    store.record_run(
        {"run_id": "b", "as_of": "2026-10-16"},
        ff([{"member_code": "A", "detail": "mới", "due_date": "2026-10-01"}], "2026-10-16"),
    )
    hist = store.history().iloc[0]
    assert hist["detail"] == "mới" and hist["due_date"] == "2026-10-01" and hist["as_of"] == "2026-10-16"


def test_failed_record_leaves_history_intact(store, ff):
    run(store, ff, "2026-10-15", ["A", "B"])
    before = dump(store)
    bad = ff([{"member_code": "A"}, {"member_code": "C"}], "2026-10-16")
    bad.loc[1, "finding_id"] = bad.loc[0, "finding_id"]
    with pytest.raises(ValueError):
        store.record_run({"run_id": "bad", "as_of": "2026-10-16"}, bad)
    bad = ff([{"member_code": "A"}, {"member_code": "C"}], "2026-10-16")
    bad.loc[1, "due_date"] = "not a date"
    with pytest.raises(Exception):  # noqa: B017 - fails after the events were written
        store.record_run({"run_id": "bad2", "as_of": "2026-10-16"}, bad)
    assert dump(store) == before


def test_empty_run(store, ff):
    run(store, ff, "2026-10-15", ["A"])
    out = store.record_run({"run_id": "e", "as_of": "2026-10-16"}, ff([], "2026-10-16"))
    assert len(out) == 0
    assert store.history()["status"].tolist() == ["resolved"]


def test_include_resolved(store, ff):
    run(store, ff, "2026-10-15", ["A", "B"])
    current = ff([{"member_code": "A"}], "2026-10-16")
    out = store.record_run({"run_id": "r", "as_of": "2026-10-16"}, current, include_resolved=True)
    assert list(out.columns) == list(current.columns)
    assert dict(out.dtypes) == dict(current.dtypes)
    assert out[["member_code", "status", "as_of", "first_seen"]].values.tolist() == [
        ["A", "open", "2026-10-16", "2026-10-15"],
        ["B", "resolved", "2026-10-16", "2026-10-15"],
    ]
    # A rerun returns the same frame.
    again = store.record_run({"run_id": "r2", "as_of": "2026-10-16"}, current, include_resolved=True)
    pd.testing.assert_frame_equal(out, again)


def test_trend(store, ff):
    run(store, ff, "2026-10-15", ["A", "B"])
    store.record_run(
        {"run_id": "t", "as_of": "2026-10-16"},
        ff([{"member_code": "A"}, {"member_code": "A", "list_code": "BADGE_DUE"}], "2026-10-16"),
    )
    trend = store.trend()
    assert trend.values.tolist() == [
        ["2026-10-15", "ROSTER_NOT_IN_CENTRAL", 2],
        ["2026-10-16", "BADGE_DUE", 1],
        ["2026-10-16", "ROSTER_NOT_IN_CENTRAL", 1],
    ]
