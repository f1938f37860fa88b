"""Quarantine lines about whole files, and the rows counted per sheet, from the sync store's
table of workbooks (the store keeps them; these read them for the night's outputs)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def sheet_counts(workbooks: pd.DataFrame, period: str) -> dict[str, dict[str, int]]:
    """Rows read / accepted / quarantined per sheet over the period's current workbooks."""
    import json

    current = workbooks[(workbooks["status"] == "accepted") & (workbooks["period"] == period)]
    totals: dict[str, dict[str, int]] = {}
    for detail in current["rows_detail"].dropna():
        for kind, per_sheet in json.loads(detail).items():
            for sheet, n in (per_sheet or {}).items():
                entry = totals.setdefault(
                    f"submissions.{sheet}", {"read": 0, "accepted": 0, "quarantined": 0}
                )
                entry[kind] += int(n)
    return dict(sorted(totals.items()))


def file_faults(workbooks: pd.DataFrame, period: str, present: set[str] | None = None) -> pd.DataFrame:
    """One quarantine line per rejected workbook of the period (or of no readable period):
    a file-level fault names the file and loses nothing silently (severity ``error``; a folder
    entry skipped unread, ``warning``). With ``present`` (the checksums in the folder), a second
    workbook for the same cell and period still in the folder gets a ``warning`` line naming
    the one used."""
    from connectors.workbooks import cell_of_name
    from schemas.contract import QUARANTINE_COLUMNS

    columns = [*QUARANTINE_COLUMNS, "severity", "_cell"]
    if workbooks.empty:
        return pd.DataFrame(columns=columns)
    bad = workbooks[
        (workbooks["status"] == "rejected")
        & workbooks["superseded_by"].isna()
        & (workbooks["period"].isna() | (workbooks["period"] == period))
    ]
    lines = pd.DataFrame(
        {
            "source": bad["file"].astype("string"),
            "sheet": "",
            "row": pd.NA,
            "column": "",
            "rule": "file",
            "value": "",
            "message": bad["error"].astype("string"),
            "severity": np.where(bad["checksum"].str.startswith("skipped:"), "warning", "error"),
            # The cell a rejected file is about: its own ThongTin when read, else the one code its
            # name or folder carries (the committee of that cell sees the line).
            "_cell": bad["cell_code"]
            .astype("object")
            .where(
                bad["cell_code"].notna(),
                bad["file"].map(cell_of_name),
            ),
        }
    )
    if present is not None:
        dup = workbooks[
            (workbooks["status"] == "superseded")
            & (workbooks["period"] == period)
            & workbooks["checksum"].isin(present)
        ]
        if len(dup):
            winner = dup["superseded_by"].map(workbooks.set_index("checksum")["file"]).fillna("?")
            shown = period[5:7] + "/" + period[:4]
            lines = pd.concat(
                [
                    lines,
                    pd.DataFrame(
                        {
                            "source": dup["file"].astype("string"),
                            "sheet": "",
                            "row": pd.NA,
                            "column": "",
                            "rule": "duplicate_workbook",
                            "value": "",
                            "message": [
                                f"Tệp {f}: chi bộ {c} kỳ {shown} đã có tệp {w} (tên tệp ghi mã chi bộ, hoặc ngày lập mới hơn, hoặc gửi sau)"
                                f" — dùng tệp {w}, tệp này không được dùng; xoá tệp thừa khỏi thư mục nộp"
                                for f, c, w in zip(dup["file"], dup["cell_code"], winner, strict=True)
                            ],
                            "severity": "warning",
                            "_cell": dup["cell_code"].astype("object"),
                        }
                    ),
                ],
                ignore_index=True,
            )
    return lines[columns].sort_values(["source", "rule"]).reset_index(drop=True)
