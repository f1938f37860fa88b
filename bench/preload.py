"""The results store preloaded with the year: every month from January to the month before the
period, as the cells' earlier workbooks would have left it, so that a night reads the year's
attendance back as a real October night does (~10x the period's activity rows).

For each earlier month M and each cell whose period workbook is stored and that has no stored
workbook of its own for M (the demo's planted absences come with real earlier workbooks, kept as
they are), one accepted workbook of period M is added, with one SinhHoat row per member of the
period's workbook for month M: present (an excused absence stays excused), fees paid. Written in
the results database itself (INSERT ... SELECT from the period's rows: seconds, where loading the
same rows through workbooks would take the first night ten times), into the store's own tables
(connectors.store). SQLite results database only (the bench's).
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from connectors.store import SUB, WORKBOOKS


def earlier_months(period: str) -> list[str]:
    year, month = int(period[:4]), int(period[5:7])
    return [f"{year}-{m:02d}" for m in range(1, month)]


def preload_year(results: Path, period: str) -> dict:
    start = time.perf_counter()
    act, wb = SUB["activity"], WORKBOOKS
    act_cols = [c.name for c in act.columns if c.name != "id"]
    wb_cols = [c.name for c in wb.columns]
    con = sqlite3.connect(results)
    added_books = added_rows = 0
    try:
        forms = [
            r[0] for r in con.execute(f'SELECT DISTINCT month FROM "{act.name}" WHERE period = ?', (period,))
        ]
        mine = [
            str(f)
            for f in forms
            if f is not None and (period in str(f) or f"{period[5:7]}/{period[:4]}" in str(f))
        ]
        sample = mine[0] if mine else period
        for month in earlier_months(period):
            value = _month_value(sample, period, month)
            created = f"{month}-28"
            tag = f"preload-{month}-"
            book_values = {
                "checksum": f"'{tag}' || w.checksum",
                "file": "replace(w.file, ?, ?)",
                "period": "?",
                "created_on": "?",
                "loaded_at": "w.loaded_at",
                "load_seq": "0",
                "status": "'accepted'",
                "superseded_by": "NULL",
                "error": "NULL",
                "rows_detail": "NULL",
            }
            exprs = [book_values.get(c, f"w.{c}") for c in wb_cols]
            cur = con.execute(
                f'INSERT INTO "{wb.name}" ({", ".join(wb_cols)}) SELECT {", ".join(exprs)} '
                f"FROM \"{wb.name}\" w WHERE w.status = 'accepted' AND w.period = ? "
                f'AND w.cell_code NOT IN (SELECT cell_code FROM "{wb.name}" '
                f"WHERE period = ? AND status = 'accepted' AND cell_code IS NOT NULL)",
                (period, month, month, created, period, month),
            )
            added_books += cur.rowcount
            row_values = {
                "checksum": f"'{tag}' || a.checksum",
                "period": "?",
                "_source": "replace(a._source, ?, ?)",
                "month": "?",
                "attended": "CASE WHEN a.excused THEN a.attended ELSE 1 END",
                "fees_paid": "1",
            }
            exprs = [row_values.get(c, f"a.{c}") for c in act_cols]
            cur = con.execute(
                f'INSERT INTO "{act.name}" ({", ".join(act_cols)}) SELECT {", ".join(exprs)} '
                f'FROM "{act.name}" a JOIN "{wb.name}" w ON w.checksum = a.checksum '
                f"WHERE w.status = 'accepted' AND w.period = ? AND a.month = ? "
                f"AND EXISTS (SELECT 1 FROM \"{wb.name}\" n WHERE n.checksum = '{tag}' || a.checksum)",
                (month, period, month, value, period, sample),
            )
            added_rows += cur.rowcount
        con.commit()
        total = con.execute(f'SELECT count(*) FROM "{act.name}"').fetchone()[0]
    finally:
        con.close()
    return {
        "months": earlier_months(period),
        "workbooks_added": added_books,
        "activity_rows_added": added_rows,
        "activity_rows_in_store": total,
        "seconds": round(time.perf_counter() - start, 1),
    }


def _month_value(sample: str, period: str, month: str) -> str:
    """The stored form of ``month`` given the stored form of the period's month (``sample``)."""
    if period in sample:
        return sample.replace(period, month)
    mm, yyyy = period[5:7], period[:4]
    if f"{mm}/{yyyy}" in sample:
        return sample.replace(f"{mm}/{yyyy}", f"{month[5:7]}/{month[:4]}")
    raise ValueError(f"unknown month form in the store: {sample!r}")
