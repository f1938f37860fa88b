"""``read_submissions``: every workbook of a folder read in the workers, one per cell and period
kept (the latest), the tables concatenated, one report line per file."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from connectors.workbooks.listing import _checksum, identical_copies, list_submissions
from connectors.workbooks.naming import name_agrees
from connectors.workbooks.results import _counts
from connectors.workbooks.workers import _parse_all
from schemas._common import empty_quarantine
from schemas.contract import QUARANTINE_COLUMNS, SHEET_TABLES
from schemas.datasets import SubmissionData, WorkbookResult
from schemas.precedence import newest


def read_submissions(
    folder: Path,
    period: str | None = None,
    workers: int | None = None,
    skip_checksums: set[str] | frozenset[str] = frozenset(),
) -> tuple[SubmissionData, pd.DataFrame, list[dict]]:
    """Parse every workbook under ``folder`` -> (accepted rows, quarantine, per-file report).

    Report entries: file (path relative to folder), status (accepted | rejected | skipped |
    duplicate), message, counts {read, accepted, quarantined, per_sheet}, checksum, cell_code,
    period, warnings, notes (count). ``period`` (YYYY-MM) keeps only that period's workbooks
    (others: skipped); None keeps all. Files whose checksum is in ``skip_checksums`` are not
    parsed (skipped). Two workbooks for the same cell and period: the latest ``Ngày lập`` (then
    file mtime, then name) is kept; the other is reported ``duplicate`` and marked superseded in
    ``workbooks``; its rows are not in the tables.
    """
    folder = Path(folder)
    workers = workers or min(2, os.cpu_count() or 1)
    listed, report = list_submissions(folder)
    to_parse: list[Path] = []
    source_of: dict[Path, str] = {}
    checksums: dict[Path, str] = {}
    readable: list[tuple[Path, str]] = []
    for p, rel in listed:
        try:
            checksums[p] = _checksum(p)
        except OSError as exc:
            report.append(
                {
                    "file": rel,
                    "status": "rejected",
                    "message": f"Tệp {rel}: không đọc được ({exc.strerror or type(exc).__name__})",
                    "counts": _counts({}),
                }
            )
            continue
        readable.append((p, rel))
    copies = identical_copies(readable, checksums)  # the same bytes twice: read once, the copy named
    report += copies
    once = {e["file"] for e in copies}
    for p, rel in readable:
        if rel in once:
            continue
        if checksums[p] in skip_checksums:
            report.append(
                {
                    "file": rel,
                    "status": "skipped",
                    "checksum": checksums[p],
                    "counts": _counts({}),
                    "message": f"Tệp {rel}: đã đọc ở lần chạy trước (không đổi)",
                }
            )
            continue
        to_parse.append(p)
        source_of[p] = rel
    results = _parse_all(to_parse, [source_of[p] for p in to_parse], workers)

    good: list[tuple[Path, WorkbookResult]] = []
    for p, res in zip(to_parse, results, strict=True):
        rel = source_of[p]
        entry = {
            "file": rel,
            "checksum": res.meta.get("checksum"),
            "cell_code": res.meta.get("cell_code"),
            "period": res.meta.get("period"),
            "warnings": list(res.meta.get("warnings", [])),
            "notes": len(res.meta.get("notes", [])),
            "counts": _counts(res.meta),
        }
        if res.error:
            entry.update(status="rejected", message=res.error)
        elif period is not None and res.meta.get("period") != period:
            entry.update(status="skipped", message=f"Tệp {rel}: kỳ {res.meta.get('period')} khác kỳ {period}")
        else:
            entry.update(status="accepted", message="; ".join(res.meta.get("warnings", [])))
            good.append((p, res))
        entry["_result"] = res
        report.append(entry)

    # Same cell and period twice: the one schemas.precedence puts last speaks (a file named for its
    # cell, then the later Ngày lập, then the later file time, then the name), as in the store.
    ranks = pd.DataFrame(
        {
            "cell_code": [r.meta["cell_code"] for _p, r in good],
            "period": [r.meta["period"] for _p, r in good],
            "named": [
                name_agrees(
                    str(r.meta["cell_code"]), [Path(source_of[p]).stem, *Path(source_of[p]).parent.parts]
                )
                for p, r in good
            ],
            "created": [r.meta.get("created_on") for _p, r in good],
            "mtime": [r.meta.get("mtime", 0.0) for _p, r in good],
            "name": [source_of[p] for p, _r in good],
        }
    )
    winners = newest(
        ranks, ["cell_code", "period"], named="named", created="created", mtime="mtime", name="name"
    )
    kept: dict[tuple[str, str], tuple[Path, WorkbookResult]] = {
        (ranks.at[i, "cell_code"], ranks.at[i, "period"]): good[i] for i in winners.index
    }
    superseded: set[str] = {str(good[i][0]) for i in ranks.index.difference(winners.index)}
    by_result = {id(e["_result"]): e for e in report if "_result" in e}
    for p, res in good:
        if str(p) in superseded:
            winner = source_of[kept[(res.meta["cell_code"], res.meta["period"])][0]]
            e = by_result[id(res)]
            e.update(
                status="duplicate",
                message=f"Tệp {source_of[p]}: chi bộ {res.meta['cell_code']} kỳ {res.meta['period']} "
                f"đã có tệp mới hơn {winner} — dùng tệp {winner}, bỏ qua tệp này",
            )

    data = SubmissionData.empty()
    frames: dict[str, list[pd.DataFrame]] = {t: [] for t in SHEET_TABLES.values()}
    wb_rows = []
    quarantines: list[pd.DataFrame] = []
    for p, res in good:
        sup = str(p) in superseded
        wb_rows.append(
            {
                "cell_code": res.meta["cell_code"],
                "period": res.meta["period"],
                "created_on": res.meta.get("created_on"),
                "secretary": res.meta.get("secretary"),
                "_source": res.meta["_source"],
                "checksum": res.meta["checksum"],
                "superseded": sup,
            }
        )
        quarantines.append(res.quarantine)
        if sup:
            continue
        for t, df in res.tables.items():
            frames[t].append(df)
    for t, parts in frames.items():
        parts = [x for x in parts if len(x)]
        if parts:
            setattr(data, t, pd.concat(parts, ignore_index=True))
        else:
            base = getattr(data, t)
            setattr(data, t, base.astype({"_row": "int64"}) if "_row" in base else base)
    if wb_rows:
        wb = pd.DataFrame(wb_rows)
        for c in ("cell_code", "period", "secretary", "_source", "checksum"):
            wb[c] = wb[c].astype("string")
        wb["created_on"] = pd.to_datetime(wb["created_on"]).astype("datetime64[ns]")
        wb["superseded"] = wb["superseded"].astype(bool)
        data.workbooks = wb
    else:
        data.workbooks = data.workbooks.assign(superseded=pd.Series(dtype=bool))
    for e in report:
        e.pop("_result", None)
    q = [x for x in quarantines if len(x)]
    quarantine = pd.concat(q, ignore_index=True)[QUARANTINE_COLUMNS] if q else empty_quarantine()
    return data, quarantine, report
