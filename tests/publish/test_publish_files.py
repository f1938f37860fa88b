"""findings.csv / quarantine.csv / summary.json: deterministic bytes, contract columns, atomic writes."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from connectors.publish import files
from connectors.publish.files import write_findings_csv, write_quarantine_csv, write_summary_json
from schemas.contract import FINDING_COLUMNS, QUARANTINE_COLUMNS


def test_findings_csv_is_byte_identical_for_the_same_rows(tmp_path: Path, findings) -> None:
    a = write_findings_csv(findings, tmp_path / "a" / "findings.csv")
    shuffled = findings.sample(frac=1, random_state=3).reset_index(drop=True)
    b = write_findings_csv(shuffled, tmp_path / "b" / "findings.csv")
    c = write_findings_csv(findings, tmp_path / "a" / "findings.csv")  # rewrite in place
    assert a.read_bytes() == b.read_bytes() == c.read_bytes()
    raw = a.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" not in raw
    back = pd.read_csv(a, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert list(back.columns) == [*FINDING_COLUMNS, "ref"]
    assert len(back) == len(findings)
    assert "079085001234" in set(back["central_value"])  # IDs stay text (leading zero kept)
    assert sorted(os.listdir(tmp_path / "a")) == ["findings.csv"]  # no temp file left


def test_findings_csv_columns_first_extras_after_and_missing_filled(tmp_path: Path, findings) -> None:
    df = findings.drop(columns=["rule"]).assign(zz_extra=1.0)[["zz_extra", *findings.columns.drop("rule")]]
    df["due_date"] = pd.to_datetime(df["due_date"])
    path = write_findings_csv(df, tmp_path / "findings.csv")
    back = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert list(back.columns) == [*FINDING_COLUMNS, "zz_extra", "ref"]  # extras keep their order
    assert set(back["rule"]) == {""}
    assert set(back["zz_extra"]) == {"1"}
    assert set(back["due_date"]) == {"", "2025-02-20"}


def test_quarantine_csv(tmp_path: Path) -> None:
    q = pd.DataFrame(
        {
            "source": ["b.xlsx", "a.xlsx"],
            "sheet": ["DanhSach", "DanhSach"],
            "row": [12, np.nan],
            "column": ["Số CCCD", "Ngày sinh"],
            "rule": ["id_format", "date"],
            "value": ["********1234", "31/02"],
            "message": ["Số CCCD không hợp lệ", "Ngày không hợp lệ"],
        }
    )
    path = write_quarantine_csv(q, tmp_path / "quarantine.csv")
    text = path.read_bytes().decode("utf-8-sig")
    assert text.splitlines()[0] == ",".join(QUARANTINE_COLUMNS)
    assert ",12," in text and "12.0" not in text and "nan" not in text.lower()
    assert text.splitlines()[1].startswith("a.xlsx")
    empty = write_quarantine_csv(pd.DataFrame(columns=QUARANTINE_COLUMNS), tmp_path / "empty.csv")
    assert empty.read_bytes().decode("utf-8-sig") == ",".join(QUARANTINE_COLUMNS) + "\n"


def test_summary_json_sorted_and_typed(tmp_path: Path) -> None:
    summary = {
        "z": 1,
        "as_of": date(2025, 3, 5),
        "counts": {"B": np.int64(2), "A": 1},
        "out": tmp_path,
        "tên": "Đảng bộ",
    }
    path = write_summary_json(summary, tmp_path / "summary.json")
    text = path.read_text(encoding="utf-8")
    data = json.loads(text)
    assert list(data) == sorted(data) and list(data["counts"]) == ["A", "B"]
    assert data["as_of"] == "2025-03-05" and data["counts"]["B"] == 2 and "Đảng bộ" in text


def test_failed_write_keeps_the_previous_file(tmp_path: Path, findings, monkeypatch) -> None:
    path = write_findings_csv(findings, tmp_path / "findings.csv")
    before = path.read_bytes()

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(files.os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        write_findings_csv(findings.iloc[:3], path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["findings.csv"]
