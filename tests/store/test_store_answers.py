"""The answers' tables (issue #20, migration 0004) on SQLite and PostgreSQL: a returned workbook
recorded whole (answers recorded and rejected, the board's decisions), read back in order; the
board's acceptance by command, refused for an unknown or resolved finding; the quarantine lines of
the files still in the folder; the run's counts without the accepted findings."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pytest

from connectors.answers import AnswerStore
from rules.answers import apply_answers, facts


def _night(store, ff, as_of, rows):
    return store.record_run({"run_id": f"r-{as_of}", "as_of": as_of, "period": "2026-10"}, ff(rows, as_of))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_answers_decisions_round_trip(make_store, ff, backend):
    store = make_store(backend)
    rows = [
        {"member_code": "A", "central_value": "Nguyễn Văn A", "cell_value": "Nguyen Van A"},
        {"member_code": "B"},
        {"member_code": "C"},
    ]
    night1 = _night(store, ff, "2026-11-16", rows)
    ids = list(night1["finding_id"])
    answers = AnswerStore(store)
    stored = answers.stored_findings(ids)
    assert list(stored["finding_id"]) == sorted(ids)
    assert set(stored["status"]) == {"new"}

    got_facts = facts(stored.set_index("finding_id").loc[ids].reset_index())
    rows_read = pd.DataFrame(
        {
            "file": "G1.xlsx",
            "sheet": "Sai thông tin",
            "row": [5, 6, 7],
            "committee_code": "G1",
            "finding_id": [ids[0], ids[1], "0123456789abcdef"],
            "response": ["explained", "fixed", "fixed"],
            "note": ["Tên không dấu là đúng", None, None],
            "responded_on": pd.Timestamp("2026-11-17"),
            "facts": [got_facts[0], got_facts[1], None],
            "status": ["recorded", "recorded", "rejected"],
            "rule": [None, None, "response_unknown"],
            "message": [None, None, "Mã phát hiện không có trong kết quả đối chiếu"],
        }
    )
    answers.record_file(
        {"checksum": "c1", "file": "G1.xlsx", "committee_code": "G1", "received_on": "2026-11-17"}, rows_read
    )
    assert answers.known_checksums() == {"c1"}
    recorded = answers.answers()
    assert list(recorded["finding_id"]) == ids[:2]
    assert list(recorded["responded_on"]) == ["2026-11-17", "2026-11-17"]
    assert recorded.iloc[0]["note"] == "Tên không dấu là đúng"
    assert len(answers.answers(status=None)) == 3  # nothing lost
    files = answers.files()
    assert files.iloc[0][["status", "rows_recorded", "rows_quarantined"]].tolist() == ["accepted", "2", "1"]
    lines = answers.rejected_lines({"c1"})
    assert lines[["source", "row", "rule", "value", "_cell"]].astype(str).values.tolist() == [
        ["G1.xlsx", "7", "response_unknown", "0123456789abcdef", "G1"]
    ]
    assert answers.rejected_lines(set()).empty

    # The board accepts A's explanation; a finding never seen, or resolved, cannot be accepted.
    decision = answers.accept(ids[0], "Đã xác minh", "Trần Thị Bình", date(2026, 11, 18))
    assert decision["facts"] == got_facts[0]
    with pytest.raises(ValueError, match="không có phát hiện"):
        answers.accept("ffffffffffffffff", "x", "y", date(2026, 11, 18))
    night2 = _night(store, ff, "2026-11-18", rows[:1] + rows[1:2])  # C resolved
    with pytest.raises(ValueError, match="đã được khắc phục"):
        answers.accept(ids[2], "x", "y", date(2026, 11, 18))
    decisions = answers.decisions()
    assert decisions[["finding_id", "decision", "decided_by", "decided_on"]].values.tolist() == [
        [ids[0], "accepted", "Trần Thị Bình", "2026-11-18"]
    ]

    # Tonight: A accepted, B open with its answer; the run's counts leave A out.
    out, reopened = apply_answers(night2, answers.answers(), decisions, "2026-11-18")
    assert reopened.empty
    assert out.set_index("finding_id").loc[ids[0], "status"] == "accepted"
    answers.set_run_counts("nightly", "2026-11-18", {"ROSTER_NOT_IN_CENTRAL": 1})
    runs = store.runs().set_index("as_of")
    assert json.loads(runs.loc["2026-11-18", "counts"]) == {"ROSTER_NOT_IN_CENTRAL": 1}
    assert json.loads(runs.loc["2026-11-16", "counts"]) == {"ROSTER_NOT_IN_CENTRAL": 3}

    # The values change: it reopens, the decision kept with who (dvsync) and when.
    changed = night2.copy()
    changed.loc[changed["finding_id"] == ids[0], "central_value"] = "Nguyễn Văn Anh"
    out, reopened = apply_answers(changed, answers.answers(), decisions, "2026-11-19")
    reopened["decided_at"] = "2026-11-19T01:00:00+00:00"
    assert answers.add_decisions(reopened) == 1
    assert answers.decisions()["decision"].tolist() == ["accepted", "reopened"]
    assert answers.decisions().iloc[1]["decided_by"] == "dvsync"
