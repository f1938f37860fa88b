"""Prefect artifacts and log masking: counts are published, planted personal data never is."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pandas as pd
import pytest
from publish_data import AS_OF, OLD_ID, PLANTED_ID, PLANTED_NAME

from connectors.publish.artifacts import (
    PersonalDataFilter,
    counts_table,
    install_log_masking,
    mask_personal,
    publish_artifacts,
    summary_markdown,
)


def test_mask_personal() -> None:
    assert mask_personal(f"CCCD {PLANTED_ID}, CMND {OLD_ID}.") == "CCCD ********1234, CMND *****4567."
    assert mask_personal("79085001234") == "*******1234"  # lost its leading zero
    assert (
        mask_personal("12345678 and 1234567890123 and 2025-03-05")
        == "12345678 and 1234567890123 and 2025-03-05"
    )
    assert mask_personal(f"{PLANTED_NAME} ok", extra=[PLANTED_NAME]) == "*** ok"


def test_filter_masks_args_and_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("dvsync.test.filter")
    caplog.handler.addFilter(PersonalDataFilter())
    with caplog.at_level(logging.INFO, logger="dvsync.test.filter"):
        logger.info("member %s has id %s", "M-1", PLANTED_ID)
        try:
            raise ValueError(f"bad id {OLD_ID}")
        except ValueError:
            logger.exception("failed")
    assert PLANTED_ID not in caplog.text and OLD_ID not in caplog.text
    assert "********1234" in caplog.text and "bad id *****4567" in caplog.text


def test_counts_and_markdown_hold_no_personal_data(findings) -> None:
    rows = counts_table(findings)
    assert sum(r["Cần xử lý"] for r in rows) == len(findings)
    assert {r["Tổ chức cơ sở đảng"] for r in rows} == {"G1", "G2", "G3"}
    md = summary_markdown(
        findings,
        {"as_of": AS_OF, "rows": {"read": 123}, "trend": {"2025-03-01": 30}},
        {"Báo cáo": "/tmp/out/report.html"},
    )
    for secret in [PLANTED_ID, OLD_ID, PLANTED_NAME, "M-C1-01"]:
        assert secret not in md and secret not in json.dumps(rows, ensure_ascii=False)
    assert "05/03/2025" in md and "01/03/2025" in md and "file:///tmp/out/report.html" in md
    assert f"**{len(findings)}** phát hiện cần xử lý" in md


def test_artifacts_and_logs_of_a_flow_run(prefect_harness, findings, tmp_path: Path) -> None:

    previous_factory = logging.getLogRecordFactory()
    install_log_masking()
    install_log_masking()  # idempotent
    try:
        _run_and_check(findings, tmp_path)
    finally:
        logging.setLogRecordFactory(previous_factory)  # leave other tests' logging as it was


def _run_and_check(findings: pd.DataFrame, tmp_path: Path) -> None:
    from prefect import flow, get_run_logger
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        LogFilter,
        LogFilterFlowRunId,
    )
    from prefect.logging.handlers import APILogWorker

    @flow(name="publish-artifacts-test")
    def tiny() -> str:
        from prefect.runtime import flow_run

        logger = get_run_logger()
        # Personal data reaching a log by mistake: the run logger and dvsync's own logger.
        logger.info("checking member with CCCD %s", PLANTED_ID)
        logger.warning(f"CMND {OLD_ID} found in a cell workbook")
        logging.getLogger("dvsync.publish").warning("id %s", PLANTED_ID)
        runs = pd.DataFrame(
            {"as_of": ["2025-02-01", "2025-03-01"], "list_code": ["BADGE_DUE"] * 2, "count": [40, 35]}
        )
        publish_artifacts(
            findings,
            {"as_of": AS_OF.isoformat(), "rows": {"members": 4321}},
            {"findings.csv": str(tmp_path / "findings.csv"), "Báo cáo": "https://example.invalid/r"},
            runs=runs,
        )
        return str(flow_run.id)

    run_id = tiny()
    APILogWorker.drain_all(timeout=30)
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
        )
        logs = []
        for _ in range(30):  # the log worker ships batches in the background
            logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])))
            if sum("CCCD" in log.message or "CMND" in log.message for log in logs) >= 2:
                break
            time.sleep(0.5)
    by_key = {a.key: a for a in artifacts}
    assert set(by_key) == {"dvsync-counts", "dvsync-summary"}
    table = (
        json.loads(by_key["dvsync-counts"].data)
        if isinstance(by_key["dvsync-counts"].data, str)
        else by_key["dvsync-counts"].data
    )
    assert sum(r["Cần xử lý"] for r in table) == len(findings)
    md = by_key["dvsync-summary"].data
    assert f"**{len(findings)}**" in md and "01/02/2025" in md and "4321" in md and "findings.csv" in md
    published = json.dumps([a.data for a in artifacts], ensure_ascii=False) + "".join(
        str(a.description) for a in artifacts
    )
    log_text = "\n".join(log.message for log in logs)
    assert "checking member with CCCD ********1234" in log_text
    assert "CMND *****4567" in log_text
    for secret in [PLANTED_ID, OLD_ID, PLANTED_NAME]:
        assert secret not in published
        assert secret not in log_text
