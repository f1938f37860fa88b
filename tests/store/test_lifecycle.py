"""rules.lifecycle: the new / open / resolved decision as a pure function, without a database.

Findings are named by their member (A, B, ...); nights are 15, 16, 17 November. The committees'
answers (explained, accepted, facts_changed) are laid over later by rules.answers: not here.
"""

from __future__ import annotations

import pandas as pd
import pytest

from rules import lifecycle
from schemas.contract import FINDING_COLUMNS

D15, D16, D17 = "2026-11-15", "2026-11-16", "2026-11-17"
SCOPE = "nightly"


def findings(as_of: str, *members: str, detail: str = "Chi tiết") -> pd.DataFrame:
    """Tonight's findings as rules.findings.finalize returns them; finding_id = the member."""
    rows = [
        {
            **dict.fromkeys([*FINDING_COLUMNS, "ref"], pd.NA),
            "finding_id": m,
            "as_of": as_of,
            "list_code": "ROSTER_NOT_IN_CENTRAL",
            "severity": "error",
            "org_code": "C1",
            "member_code": m,
            "detail": detail,
            "status": "new",
            "first_seen": as_of,
        }
        for m in members
    ]
    return pd.DataFrame(rows, columns=[*FINDING_COLUMNS, "ref"]).astype("string")


def events(*rows: tuple) -> pd.DataFrame:
    """A night's events: (finding_id, status, first_seen) rows."""
    return pd.DataFrame(list(rows), columns=lifecycle.EVENT_COLUMNS).astype("string")


def dated(*rows: tuple) -> pd.DataFrame:
    """Events of several nights: (as_of, finding_id, status, first_seen, run_id) rows."""
    return pd.DataFrame(list(rows), columns=["as_of", *lifecycle.EVENT_COLUMNS, "run_id"]).astype("string")


def stored(*rows: dict) -> pd.DataFrame:
    """Rows of the findings table (the columns not given are empty)."""
    return pd.DataFrame(list(rows), columns=lifecycle.ROW_COLUMNS).astype("string")


def row(member: str, as_of: str, status: str, first_seen: str, **state: str) -> dict:
    """A findings table row as the store keeps it after night ``as_of`` saw ``member``."""
    base = findings(as_of, member).iloc[0].to_dict()
    return {
        **base,
        "scope": SCOPE,
        "status": status,
        "first_seen": first_seen,
        "last_seen": as_of,
        "last_run_id": f"run-{as_of}",
        **state,
    }


def history(previous_as_of=None, previous=None, rows=(), attempt=(), earlier=None, latest=True):
    """What the store would have read of the scope's history."""
    return lifecycle.History(
        previous_as_of=previous_as_of,
        previous=events() if previous is None else previous,
        latest=latest,
        stored=stored(*rows),
        attempt=list(attempt),
        earlier=dated() if earlier is None else earlier,
    )


def decide(hist: lifecycle.History, tonight: pd.DataFrame, as_of: str, **kw) -> lifecycle.Night:
    return lifecycle.decide(hist, tonight, as_of, scope=SCOPE, run_id=f"run-{as_of}", **kw)


def statuses(frame: pd.DataFrame) -> dict[str, tuple]:
    return {r.finding_id: (r.status, r.first_seen) for r in frame.itertuples()}


# --- one night from the night before -------------------------------------------------------------
def test_first_night_all_new():
    night = decide(history(), findings(D15, "A", "B"), D15)
    assert statuses(night.findings) == {"A": ("new", D15), "B": ("new", D15)}
    assert statuses(night.events) == {"A": ("new", D15), "B": ("new", D15)}
    assert night.counts == {
        "n_findings": 2,
        "n_new": 2,
        "n_open": 0,
        "n_resolved": 0,
        "counts": {"ROSTER_NOT_IN_CENTRAL": 2},
    }
    # The findings table gets both rows, seen tonight, not resolved.
    assert night.write[
        ["finding_id", "status", "first_seen", "last_seen", "last_run_id"]
    ].values.tolist() == [
        ["A", "new", D15, D15, "run-2026-11-15"],
        ["B", "new", D15, D15, "run-2026-11-15"],
    ]
    assert night.write["resolved_on"].isna().all() and night.delete == []


def test_seen_again_is_open_and_keeps_first_seen():
    prev = events(("A", "new", D15))
    night = decide(history(D15, prev, [row("A", D15, "new", D15)]), findings(D16, "A"), D16)
    assert statuses(night.findings) == {"A": ("open", D15)}
    assert night.write[["status", "first_seen", "last_seen"]].values.tolist() == [["open", D15, D16]]


def test_gone_is_resolved():
    prev = events(("A", "new", D15), ("B", "new", D15))
    rows = [row("A", D15, "new", D15), row("B", D15, "new", D15)]
    night = decide(history(D15, prev, rows), findings(D16, "A"), D16, include_resolved=True)
    assert statuses(night.events) == {"A": ("open", D15), "B": ("resolved", D15)}
    assert night.counts["n_resolved"] == 1 and night.counts["n_findings"] == 1
    written = night.write.set_index("finding_id")
    # B keeps the columns of the night that last saw it; its state says when it went.
    assert written.loc["B", ["status", "last_seen", "resolved_on", "as_of"]].tolist() == [
        "resolved",
        D15,
        D16,
        D15,
    ]
    # findings.csv also lists it: status resolved, tonight's as_of, same columns and dtypes.
    out = night.findings
    assert out[["finding_id", "status", "as_of", "first_seen"]].values.tolist() == [
        ["A", "open", D16, D15],
        ["B", "resolved", D16, D15],
    ]
    assert list(out.columns) == list(findings(D16).columns) and set(out.dtypes) == {pd.StringDtype()}


def test_back_after_resolved_is_a_new_case():
    prev = events(("B", "resolved", D15))  # resolved on the 16th... seen again on the 17th
    rows = [row("B", D15, "resolved", D15, resolved_on=D16)]
    night = decide(history(D16, prev, rows), findings(D17, "B"), D17)
    assert statuses(night.findings) == {"B": ("new", D17)}
    assert night.write[["status", "first_seen", "last_seen"]].values.tolist() == [["new", D17, D17]]
    assert night.write["resolved_on"].isna().all()


def test_rerun_of_the_same_inputs_writes_nothing():
    prev = events(("A", "new", D15))
    rows = [row("A", D16, "open", D15)]
    night = decide(history(D15, prev, rows, attempt=["A"]), findings(D16, "A"), D16)
    assert statuses(night.findings) == {"A": ("open", D15)}
    assert night.write.empty and night.delete == []


def test_rerun_without_a_finding_puts_it_back():
    # The first attempt of the 16th saw A (then new) and C; the corrected rerun sees only C.
    prev = events(("C", "new", D15))
    rows = [row("A", D16, "new", D16), row("C", D16, "open", D15)]
    earlier = dated((D15, "C", "new", D15, "run-15"))
    night = decide(history(D15, prev, rows, attempt=["A", "C"], earlier=earlier), findings(D16, "C"), D16)
    assert statuses(night.findings) == {"C": ("open", D15)}
    assert night.write.empty  # C unchanged
    assert night.delete == ["A"]  # A was never seen before: it leaves the table


def test_an_older_night_does_not_touch_the_findings_table():
    prev = events(("A", "new", D15))
    night = decide(history(D15, prev, latest=False), findings(D16, "A"), D16)
    assert statuses(night.findings) == {"A": ("open", D15)}
    assert night.write.empty and night.delete == []


def test_finding_ids_must_be_unique():
    tonight = pd.concat([findings(D15, "A"), findings(D15, "A")], ignore_index=True)
    with pytest.raises(ValueError):
        decide(history(), tonight, D15)


# --- an older night recorded under later ones: the later nights re-chained ----------------------
def test_older_night_rechains_the_next_one():
    # Serially: 15 A; 16 A, B; 17 A. Recorded 15, 17, then 16: the 17th saw A open (since the
    # 15th) and nothing of B; with the 16th in place, B was resolved on the 17th.
    sixteenth = lifecycle.night(events(("A", "new", D15)), pd.Series(["A", "B"]), D16)
    assert statuses(sixteenth) == {"A": ("open", D15), "B": ("new", D16)}
    step = lifecycle.rechain_night(sixteenth, events(("A", "open", D15)), D17)
    assert step.changed and step.touched == ["B"]
    assert statuses(step.events) == {"A": ("open", D15), "B": ("resolved", D16)}
    assert step.counts == {"n_new": 0, "n_open": 1, "n_resolved": 1}
    # Already in line: nothing to rewrite.
    again = lifecycle.rechain_night(sixteenth, step.events, D17)
    assert not again.changed and again.touched == []


def test_rebuild_from_the_events():
    # After the re-chain above: A seen on the 17th (stored row), B seen on the 16th (tonight's
    # findings) and resolved on the 17th; Z has no event left.
    ev = dated(
        (D15, "A", "new", D15, "r15"),
        (D16, "A", "open", D15, "r16"),
        (D16, "B", "new", D16, "r16"),
        (D17, "A", "open", D15, "r17"),
        (D17, "B", "resolved", D16, "r17"),
    )
    rows = [row("A", D17, "open", D15, last_run_id="r17"), row("Z", D15, "new", D15)]
    write, delete = lifecycle.rebuild(
        findings(D16, "A", "B", detail="ngày 16"), stored(*rows), ev, ["A", "B", "Z"], scope=SCOPE, as_of=D16
    )
    assert delete == ["Z"]
    assert write["finding_id"].tolist() == ["B"]  # A's stored row is already right
    b = write.iloc[0]
    assert [b["status"], b["first_seen"], b["last_seen"], b["resolved_on"], b["last_run_id"]] == [
        "resolved",
        D16,
        D16,
        D17,
        "r17",
    ]
    assert b["detail"] == "ngày 16" and b["as_of"] == D16  # the columns of the night that saw it
