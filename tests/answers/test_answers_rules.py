"""rules/answers.py: the statuses the answers and the board's decisions give tonight's findings."""

from __future__ import annotations

import pandas as pd

from connectors.publish.answers_report import answering_table
from rules.answers import apply_answers, facts


def _findings(rows: list[dict]) -> pd.DataFrame:
    base = {
        "finding_id": None,
        "list_code": "ROSTER_FIELD_MISMATCH",
        "severity": "error",
        "status": "open",
        "committee_code": "G1",
        "org_code": "C1",
        "first_seen": "2026-11-01",
        "central_value": "x",
        "cell_value": "y",
    }
    return pd.DataFrame([{**base, **r} for r in rows]).astype("string")


def _answers(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"id": i, "note": None, "responded_on": "2026-11-17", **r} for i, r in enumerate(rows)]
    ).astype({"finding_id": "string", "response": "string", "responded_on": "string", "facts": "string"})


def test_facts_stable_and_sensitive():
    f = _findings([{"finding_id": "a"}, {"finding_id": "b", "cell_value": "z"}])
    h = facts(f)
    assert h.str.fullmatch(r"[0-9a-f]{16}").all()
    assert h[0] != h[1]
    # NFC: the same text typed decomposed is the same fact.
    nfd = _findings([{"finding_id": "a", "central_value": "Hoa\u0300"}])
    nfc = _findings([{"finding_id": "a", "central_value": "Hoà"}])
    assert facts(nfd)[0] == facts(nfc)[0]
    assert facts(f)[0] == h[0]


def test_statuses_from_answers_and_decisions():
    f = _findings(
        [
            {"finding_id": "fixed"},
            {"finding_id": "explained"},
            {"finding_id": "changed"},
            {"finding_id": "accepted"},
            {"finding_id": "reopen"},
            {"finding_id": "gone", "status": "resolved"},
            {"finding_id": "none", "status": "new"},
        ]
    )
    now = dict(zip(f["finding_id"], facts(f), strict=True))
    answers = _answers(
        [
            {
                "finding_id": "fixed",
                "response": "in_progress",
                "facts": now["fixed"],
                "responded_on": "2026-11-10",
            },
            {"finding_id": "fixed", "response": "fixed", "facts": now["fixed"]},  # the later one counts
            {"finding_id": "explained", "response": "explained", "facts": now["explained"]},
            {"finding_id": "changed", "response": "explained", "facts": "0" * 16},
            {"finding_id": "accepted", "response": "explained", "facts": now["accepted"]},
            {"finding_id": "reopen", "response": "explained", "facts": "1" * 16},
            {"finding_id": "gone", "response": "fixed", "facts": now["gone"]},
        ]
    )
    decisions = pd.DataFrame(
        [
            {"id": 1, "finding_id": "accepted", "decision": "accepted", "facts": now["accepted"]},
            {"id": 2, "finding_id": "reopen", "decision": "accepted", "facts": "1" * 16},
        ]
    ).astype({"finding_id": "string", "decision": "string", "facts": "string"})
    out, reopened = apply_answers(f, answers, decisions, "2026-11-18")
    got = out.set_index("finding_id")
    assert got["status"].to_dict() == {
        "fixed": "open",
        "explained": "explained",
        "changed": "open",
        "accepted": "accepted",
        "reopen": "open",
        "gone": "resolved",
        "none": "new",
    }
    assert got.loc["fixed", "response"] == "fixed"
    assert got["facts_changed"].fillna("").to_dict() == {
        "fixed": "",
        "explained": "",
        "changed": "true",
        "accepted": "",
        "reopen": "true",
        "gone": "",
        "none": "",
    }
    assert reopened[["finding_id", "decision", "decided_by", "decided_on"]].values.tolist() == [
        ["reopen", "reopened", "dvsync", "2026-11-18"]
    ]
    assert list(out.columns[-4:]) == ["response", "response_note", "responded_on", "facts_changed"]

    # The board report's counts of the same night, per committee.
    table = answering_table(out, pd.Timestamp("2026-11-18"))
    row = table.loc["G1"]
    assert row[["answered", "fixed", "explained", "accepted", "unanswered"]].tolist() == [6, 1, 1, 1, 3]
    assert row["oldest_days"] == 17


def test_no_answers_no_change():
    f = _findings([{"finding_id": "a"}, {"finding_id": "b", "status": "resolved"}])
    out, reopened = apply_answers(f, None, None, "2026-11-18")
    assert out["status"].tolist() == ["open", "resolved"]
    assert out[["response", "response_note", "responded_on", "facts_changed"]].isna().all().all()
    assert reopened.empty
