"""Corrected workbooks for the nights after the first: cells send their period's workbook again,
with data changed, and the planted findings change with them.

``correct_workbooks`` rewrites a share of the period's cell workbooks in place (the sheets' XML
edited inside the zip, as the demo writes them; no spreadsheet library, a few ms a file), each with
a new "Ngày lập" and:

- a finding resolved where the cell had one the roster can fix: a listed person unknown to central
  or no longer active (ROSTER_NOT_IN_CENTRAL, ROSTER_INACTIVE_LISTED) dropped from DanhSach, or a
  planted name or gender mismatch (ROSTER_FIELD_MISMATCH) set back to central's value;
- a new finding: an ordinary member (in no planted finding or near miss, present and not excused
  in the period's SinhHoat, no transfer) left off the roster (ROSTER_MISSING_IN_CELL; the
  member's SinhHoat, XepLoai and DanhGia rows go too), or, every other workbook, listed under
  another given name (ROSTER_FIELD_MISMATCH, full_name).

Workbooks with planted input faults are never chosen (their expected quarantine lines name rows).
Returns the expected findings after the corrections (the input's minus the resolved, plus the new)
and what changed.
"""

from __future__ import annotations

import re
import sqlite3
import zipfile
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

KEY = ["list_code", "org_code", "member_code", "field"]
SHEET_FILES = {"ThongTin": 1, "DanhSach": 2, "SinhHoat": 3, "XepLoai": 4, "DanhGia": 8}
_ROW = re.compile(r'<row r="(\d+)"[^>]*>(.*?)</row>', re.S)
_CELL = re.compile(r'<c r="([A-Z]+)\d+"([^>]*)>(.*?)</c>', re.S)
_TEXT = re.compile(r"<t[^>]*>(.*?)</t>", re.S)
_GIVEN = ["Khang", "Phúc", "Thịnh", "Quyết", "Nhàn"]
_FIXABLE = {"full_name": "B", "gender": "D"}
_ESC = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})


def _unescape(v: str) -> str:
    return v.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&")


def _cells(row_xml: str) -> dict[str, str]:
    out = {}
    for col, _attrs, body in _CELL.findall(row_xml):
        t = _TEXT.search(body)
        out[col] = _unescape(t.group(1)) if t else re.sub(r"<[^>]+>", "", body)
    return out


def _text_cell(col: str, r: int, value: str) -> str:
    return f'<c r="{col}{r}" t="inlineStr"><is><t xml:space="preserve">{value.translate(_ESC)}</t></is></c>'


class _Sheet:
    """One worksheet's rows, edited and written back renumbered."""

    def __init__(self, xml: str) -> None:
        first = xml.index("<sheetData>") + len("<sheetData>")
        last = xml.index("</sheetData>")
        self.head, self.tail = xml[:first], xml[last:]
        self.rows = [body for _n, body in _ROW.findall(xml[first:last])]

    def codes(self) -> list[str]:
        return [_cells(b).get("A", "") for b in self.rows]

    def drop(self, code: str) -> int:
        keep = [b for i, b in enumerate(self.rows) if i == 0 or _cells(b).get("A", "") != code]
        dropped = len(self.rows) - len(keep)
        self.rows = keep
        return dropped

    def set(self, row: int, col: str, value: str) -> None:
        body = self.rows[row]
        cell = re.compile(rf'<c r="{col}\d+"[^>]*>.*?</c>', re.S)
        new = _text_cell(col, 0, value)
        self.rows[row] = cell.sub(lambda _m: new, body, count=1) if cell.search(body) else body + new

    def xml(self) -> str:
        out = []
        for n, body in enumerate(self.rows, start=1):
            body = re.sub(r'(<c r="[A-Z]+)\d+"', rf'\g<1>{n}"', body)
            out.append(f'<row r="{n}">{body}</row>')
        return self.head + "".join(out) + self.tail


def _rewrite(path: Path, sheets: dict[int, _Sheet]) -> None:
    tmp = path.with_suffix(".tmp")
    with (
        zipfile.ZipFile(path) as src,
        zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as dst,
    ):
        for info in src.infolist():
            data = src.read(info.filename)
            for k, sheet in sheets.items():
                if info.filename == f"xl/worksheets/sheet{k}.xml":
                    data = sheet.xml().encode("utf-8")
            dst.writestr(info, data, compresslevel=1)
    tmp.replace(path)


def _central(data: Path, codes: list[str]) -> tuple[pd.DataFrame, set[str]]:
    """Central's rows of ``codes`` (name, gender, cell, status) and the codes with a transfer."""
    con = sqlite3.connect(f"file:{data / 'central.sqlite'}?mode=ro", uri=True)
    try:
        con.execute("CREATE TEMP TABLE pick(code TEXT PRIMARY KEY)")
        con.executemany("INSERT OR IGNORE INTO pick VALUES (?)", [(c,) for c in codes])
        members = pd.read_sql(
            "SELECT member_code, full_name, gender, cell_code, status FROM members "
            "JOIN pick ON pick.code = members.member_code",
            con,
        )
        moved = {
            r[0] for r in con.execute("SELECT member_code FROM transfers JOIN pick ON code = member_code")
        }
    finally:
        con.close()
    return members.drop_duplicates("member_code").set_index("member_code"), moved


def correct_workbooks(
    data: Path,
    submissions: Path,
    period: str,
    created_on: date,
    share: float,
    seed: int,
    expected: pd.DataFrame,
    exclude: set[str] = frozenset(),
) -> tuple[pd.DataFrame, dict]:
    """Rewrite ``share`` of the period's workbooks in ``submissions`` (seeded choice, none of
    ``exclude`` (file names) nor of the planted input faults); -> (expected findings after, stats).
    ``data``: the demo folder (central.sqlite, near_misses.csv, expected_quarantine.csv...)."""
    faulty: set[str] = set()
    for name in ("expected_quarantine.csv", "expected_normalised.csv"):
        if (data / name).exists():
            faulty |= set(pd.read_csv(data / name, dtype=str)["source"].dropna())
    files = sorted(
        p for p in submissions.glob(f"*_{period}.xlsx") if p.name not in faulty and p.name not in exclude
    )
    rng = np.random.default_rng(seed)
    expected = expected.fillna("").astype(str)
    # Cells with a finding their roster can fix send half of the corrections (they were told).
    fixable = expected["list_code"].isin(["ROSTER_NOT_IN_CENTRAL", "ROSTER_INACTIVE_LISTED"]) | (
        (expected["list_code"] == "ROSTER_FIELD_MISMATCH") & expected["field"].isin(list(_FIXABLE))
    )
    told = set(expected.loc[fixable, "org_code"])
    k = min(len(files), max(1, int(len(files) * share)))
    first = [i for i, p in enumerate(files) if p.name.rsplit("_", 1)[0] in told]
    first = sorted(rng.choice(first, size=min(len(first), k // 2), replace=False).tolist()) if first else []
    rest = sorted(set(range(len(files))) - set(first))
    picked = first + rng.choice(rest, size=min(len(rest), k - len(first)), replace=False).tolist()
    chosen = [files[i] for i in sorted(picked)]
    near = (
        pd.read_csv(data / "near_misses.csv", dtype=str).fillna("")
        if (data / "near_misses.csv").exists()
        else None
    )
    busy = set(expected["member_code"]) | (set(near["member_code"]) if near is not None else set())
    by_cell = {c: g for c, g in expected.groupby("org_code")}

    books = []
    for path in chosen:
        with zipfile.ZipFile(path) as z:
            sheets = {
                k: _Sheet(z.read(f"xl/worksheets/sheet{k}.xml").decode("utf-8")) for k in SHEET_FILES.values()
            }
        books.append((path, sheets))
    listed = [c for _p, s in books for c in s[2].codes()[1:]]
    central, moved = _central(data, listed)

    resolved: list[tuple] = []
    new: list[dict] = []
    stamp = created_on.strftime("%d/%m/%Y")
    for j, (path, sheets) in enumerate(books):
        cell = path.name.rsplit("_", 1)[0]
        roster = sheets[SHEET_FILES["DanhSach"]]
        info = sheets[SHEET_FILES["ThongTin"]]
        for i, body in enumerate(info.rows):
            if _cells(body).get("A", "").strip() == "Ngày lập":
                info.set(i, "B", stamp)
        mine = by_cell.get(cell)
        codes = roster.codes()
        # A finding resolved, where the roster can fix one.
        if mine is not None:
            for row in mine.itertuples(index=False):
                if (
                    row.list_code in ("ROSTER_NOT_IN_CENTRAL", "ROSTER_INACTIVE_LISTED")
                    and codes.count(row.member_code) == 1
                ):
                    for k in (2, 3, 4, 8):
                        sheets[k].drop(row.member_code)
                    resolved.append((row.list_code, row.org_code, row.member_code, row.field))
                    break
                if (
                    row.list_code == "ROSTER_FIELD_MISMATCH"
                    and row.field in _FIXABLE
                    and codes.count(row.member_code) == 1
                    and row.member_code in central.index
                    and (mine["member_code"] == row.member_code).sum() == 1
                ):
                    roster.set(
                        codes.index(row.member_code),
                        _FIXABLE[row.field],
                        str(central.at[row.member_code, row.field]),
                    )
                    resolved.append((row.list_code, row.org_code, row.member_code, row.field))
                    break
        # A new finding: an ordinary member dropped, or renamed.
        codes = roster.codes()
        present = {}
        for body in sheets[SHEET_FILES["SinhHoat"]].rows[1:]:
            c = _cells(body)
            present[c.get("A", "")] = c.get("C") == "Có" and c.get("D") == "Không"
        for i, code in enumerate(codes[2:], start=2):  # never the first listed (the secretary)
            c = _cells(roster.rows[i])
            if (
                code in busy
                or code in moved
                or codes.count(code) != 1
                or not present.get(code)
                or c.get("H") != "Đang sinh hoạt"
                or code not in central.index
                or central.at[code, "cell_code"] != cell
                or central.at[code, "status"] != "active"
            ):
                continue
            if j % 2 == 0:
                for k in (2, 3, 4, 8):
                    sheets[k].drop(code)
                new.append(
                    {
                        "list_code": "ROSTER_MISSING_IN_CELL",
                        "org_code": cell,
                        "member_code": code,
                        "field": "roster",
                    }
                )
            else:
                name = c.get("B", "").strip()
                head, _, given = name.rpartition(" ")
                other = next(g for g in _GIVEN if g != given)
                roster.set(i, "B", f"{head} {other}".strip())
                new.append(
                    {
                        "list_code": "ROSTER_FIELD_MISMATCH",
                        "org_code": cell,
                        "member_code": code,
                        "field": "full_name",
                    }
                )
            break
        _rewrite(path, sheets)

    gone = pd.MultiIndex.from_tuples(resolved, names=KEY) if resolved else None
    after = expected
    if gone is not None:
        after = expected[~pd.MultiIndex.from_frame(expected[KEY]).isin(gone)]
    added = pd.DataFrame(new, columns=KEY).assign(ref="", note="corrected workbook")
    after = pd.concat([after, added.reindex(columns=expected.columns, fill_value="")], ignore_index=True)
    stats = {
        "workbooks": len(chosen),
        "files": [p.name for p in chosen],
        "resolved": pd.Series([r[0] for r in resolved], dtype=str).value_counts().to_dict(),
        "new": added["list_code"].value_counts().to_dict(),
    }
    return after, stats


__all__ = ["correct_workbooks"]
