"""Prefect tasks of the committees' answers (issue #20): the returned workbooks read before the
history is recorded, the answers and decisions applied to tonight's findings after it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from prefect import get_run_logger, task
from prefect.cache_policies import NONE

from connectors.lock import results_faults
from flows import console
from flows.tasks import stage


@task(name="read-responses", cache_policy=NONE)
def read_responses(
    folder: str | None, results_url: str, organizations: pd.DataFrame, as_of: str
) -> tuple[dict | None, pd.DataFrame | None]:
    """The committees' returned workbooks of ``folder`` into the results database: (counts,
    quarantine lines of the returned workbooks still there); (None, None) without a folder."""
    from connectors.responses import ingest_responses

    if not folder:
        return None, None
    with stage("read responses"), results_faults(results_url):
        counts, lines = ingest_responses(Path(folder), results_url, organizations, as_of)
    get_run_logger().info(
        "Sổ trả lời của cấp ủy: %s tệp (%s tệp mới, %s bị từ chối), %s trả lời ghi nhận, %s dòng cách ly, "
        "%s quyết định của Ban Tổ chức",
        *(
            console.number(counts[k])
            for k in ("files", "files_new", "files_rejected", "answers", "quarantined", "decisions")
        ),
    )
    return counts, lines


@task(name="apply-answers", cache_policy=NONE)
def apply_answers(results_url: str, run: dict, findings: pd.DataFrame) -> pd.DataFrame:
    """Tonight's findings with their last answer (``response``, ``response_note``,
    ``responded_on``, ``facts_changed``) and status (``explained``, ``accepted`` besides the
    history's); an accepted finding whose values changed is reopened (a decision recorded), and
    the run's counts per list leave the accepted findings out."""
    from connectors.answers import AnswerStore
    from connectors.store import _scope
    from rules.answers import apply_answers as _apply

    store = AnswerStore(results_url)
    try:
        with results_faults(results_url):
            answers, decisions = store.answers(), store.decisions()
        out, reopened = _apply(findings, answers, decisions, run["as_of"])
        if len(reopened):
            reopened["decided_at"] = pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds")
            with results_faults(results_url):
                store.add_decisions(reopened)
            get_run_logger().info(
                "%s phát hiện đã được chấp nhận giải trình mở lại vì số liệu thay đổi",
                console.number(len(reopened)),
            )
        accepted = out["status"] == "accepted"
        if accepted.any():
            counts = out.loc[~accepted & (out["status"] != "resolved"), "list_code"].value_counts().to_dict()
            with results_faults(results_url):
                store.set_run_counts(_scope(run), run["as_of"], counts)
    finally:
        store.dispose()
    return out
