"""`dvsync accept`: usage errors are one line and exit 2; the decision is kept with who and when."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.answers import AnswerStore
from connectors.store import ResultsStore
from dvsync.cli import main
from schemas.contract import FINDING_COLUMNS


@pytest.fixture
def results(tmp_path: Path) -> str:
    import pandas as pd

    url = f"sqlite:///{tmp_path / 'results.sqlite'}"
    store = ResultsStore(url)
    store.migrate()
    row = {c: None for c in [*FINDING_COLUMNS, "ref"]}
    row.update(finding_id="00112233aabbccdd", list_code="ROSTER_NOT_IN_CENTRAL", org_code="C1", status="new")
    store.record_run({"run_id": "r", "as_of": "2026-11-16"}, pd.DataFrame([row]).astype("string"))
    store.dispose()
    return url


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["accept", "xyz", "--note", "n"], "Mã phát hiện không hợp lệ"),
        (["accept", "ffffffffffffffff", "--note", "n"], "không có phát hiện mã ffffffffffffffff"),
        (["accept", "00112233aabbccdd", "--note", "  "], "--note"),
    ],
)
def test_usage_errors(results, argv, says, capsys):
    assert main([*argv, "--results", results]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("dvsync: ") and says in err[0]


def test_no_results_database(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DVSYNC_RESULTS_URL", raising=False)
    assert main(["accept", "00112233aabbccdd", "--note", "n", "--out", str(tmp_path / "none")]) == 2
    assert "Không thấy CSDL kết quả" in capsys.readouterr().err


def test_accept_recorded_with_who(results, capsys):
    assert (
        main(
            ["accept", "00112233AABBCCDD", "--note", "Đã  xác minh", "--by", "Lê Văn C", "--results", results]
        )
        == 0
    )
    assert "00112233aabbccdd" in capsys.readouterr().out
    d = AnswerStore(results).decisions()
    assert d[["finding_id", "decision", "note", "decided_by", "source"]].values.tolist() == [
        ["00112233aabbccdd", "accepted", "Đã xác minh", "Lê Văn C", "cli"]
    ]
    assert d.iloc[0]["decided_at"].endswith("+00:00")
