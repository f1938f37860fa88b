"""What the committees' answers and the board's decisions make of tonight's findings (issue #20).

Pure functions: tonight's findings (with their history status ``new``/``open``/``resolved``), the
answers recorded and the board's decisions in, the findings with their answer columns and final
status out. Statuses:

- ``accepted``: the board accepted the finding's explanation and its central and cell values are
  those it accepted; it leaves the committees' open lists and the counts;
- ``explained``: the committee's last answer is "Giải trình – không phải sai sót", given on the
  values the finding still has: awaiting the board;
- otherwise the history's status (``new``, ``open``, ``resolved``).

A finding whose values changed after its last answer is marked (``facts_changed``): its answer no
longer stands. An accepted finding whose values changed reopens by itself: a ``reopened``
decision is recorded (who: ``dvsync``; when: tonight).
"""

from __future__ import annotations

import pandas as pd

ANSWER_OUTPUT_COLUMNS = ["response", "response_note", "responded_on", "facts_changed"]
FACT_COLUMNS = ["central_value", "cell_value"]
SYSTEM = "dvsync"


def facts(findings: pd.DataFrame) -> pd.Series:
    """Fingerprint (16 hex digits) of each finding's central and cell values; stable across
    processes and versions (pandas' fixed-key hash of the NFC text, missing = empty)."""
    import unicodedata

    cols = {}
    for c in FACT_COLUMNS:
        s = findings[c] if c in findings.columns else pd.Series(pd.NA, index=findings.index)
        text = s.astype("string").fillna("").str.strip()
        cols[c] = text.map(lambda v: unicodedata.normalize("NFC", v)) if text.str.len().any() else text
    h = pd.util.hash_pandas_object(pd.DataFrame(cols, index=findings.index), index=False)
    return h.map("{:016x}".format).astype("string")


def latest(frame: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """The last row per finding_id after sorting by ``order`` (stable)."""
    if frame is None or frame.empty:
        return pd.DataFrame(columns=[*(frame.columns if frame is not None else []), "finding_id"]).set_index(
            "finding_id"
        )
    return (
        frame.sort_values(order, kind="mergesort")
        .drop_duplicates("finding_id", keep="last")
        .set_index("finding_id")
    )


def apply_answers(
    findings: pd.DataFrame, answers: pd.DataFrame, decisions: pd.DataFrame, as_of: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """-> (findings with ``response``, ``response_note``, ``responded_on``, ``facts_changed`` and
    the final ``status``; the ``reopened`` decisions to record).

    ``answers``: recorded answers (finding_id, response, note, responded_on, facts, id);
    ``decisions``: every decision (finding_id, decision, facts, id)."""
    out = findings.copy()
    now = facts(out)
    ids = out["finding_id"].astype("string")
    last = latest(answers, ["responded_on", "id"]) if answers is not None and len(answers) else None
    dec = latest(decisions, ["id"]) if decisions is not None and len(decisions) else None
    empty = pd.Series(pd.NA, index=out.index, dtype="string")

    if last is not None:
        a = last.reindex(ids.to_numpy())
        response = pd.Series(a["response"].to_numpy(), index=out.index, dtype="string")
        note = pd.Series(a["note"].to_numpy(), index=out.index, dtype="string")
        on = pd.Series(a["responded_on"].to_numpy(), index=out.index, dtype="string")
        answered_facts = pd.Series(a["facts"].to_numpy(), index=out.index, dtype="string")
    else:
        response, note, on, answered_facts = empty, empty, empty, empty
    answered = response.notna()
    answer_stale = (answered & (answered_facts != now)).fillna(False)

    if dec is not None:
        d = dec.reindex(ids.to_numpy())
        decision = pd.Series(d["decision"].to_numpy(), index=out.index, dtype="string")
        decided_facts = pd.Series(d["facts"].to_numpy(), index=out.index, dtype="string")
    else:
        decision, decided_facts = empty, empty
    live = out["status"].astype("string") != "resolved"
    accepted = (decision == "accepted").fillna(False)
    still = (accepted & (decided_facts == now)).fillna(False)
    reopen = accepted & ~still & live

    status = out["status"].astype("string")
    explained = live & answered & ~answer_stale & (response == "explained").fillna(False) & ~reopen
    status = status.mask(explained, "explained").mask(live & still, "accepted")
    out["status"] = status
    out["response"] = response
    out["response_note"] = note
    out["responded_on"] = on
    changed = (answer_stale | reopen) & live
    out["facts_changed"] = changed.map({True: "true", False: pd.NA}).astype("string")

    reopened = pd.DataFrame(
        {
            "finding_id": ids[reopen].to_numpy(),
            "decision": "reopened",
            "note": "Số liệu đã thay đổi sau khi Ban Tổ chức chấp nhận giải trình: phát hiện mở lại",
            "decided_by": SYSTEM,
            "decided_on": as_of,
            "facts": now[reopen].to_numpy(),
            "source": SYSTEM,
        }
    )
    return out, reopened
