"""Input faults planted in the cell submissions, none of which may change a finding.

Quarantined (``expected_quarantine.csv``: where connectors.workbooks must put each one):
- ``roster_no_code``: an extra DanhSach row without ``Mã đảng viên`` (no key);
- ``month_unreadable``: an extra SinhHoat row of a clean member with the month ``13/YYYY``;
- ``rating_unknown``: an extra XepLoai row of a clean member with a rating outside the four levels;
- ``not_xlsx`` / ``empty_file``: ``ghi-chu.xlsx`` holding plain text and an empty ``trong.xlsx``
  (file-level: one line each, ``source`` = the file, ``rule`` = ``file``, no sheet or row).

Normalised, never quarantined (``expected_normalised.csv``), on clean members' roster rows only:
- ``name_upper_spaces`` (upper case, doubled spaces) and ``name_nfd`` (decomposed Unicode): the
  rules compare names folded;
- ``id_number``: the CCCD typed as a number, its leading zero lost (the reader restores it);
- ``dotted_dates``: the row's dates written ``d.m.yyyy`` (text, no zero padding).

A clean member is an active own roster row of a member no expected finding or near miss names,
without a roster override and with a 12-digit ID. Faults use their own random stream, so the
central database and the expected findings are the same with and without them.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd

from dvsync.demo import names

QUARANTINE_COLUMNS = ["source", "sheet", "row", "rule_contains", "fault"]
NORMALISED_COLUMNS = ["source", "sheet", "row", "column", "fault", "member_code"]
COSMETIC = ["name_upper_spaces", "name_nfd", "id_number", "dotted_dates"]
UNKNOWN_RATINGS = ["Hoàn thành", "Tốt", "Loại A", "Khá"]
# File-level faults: name -> (content, fault)
FILE_FAULTS: dict[str, tuple[bytes, str]] = {
    "ghi-chu.xlsx": (
        "Ghi chú của chi bộ: danh sách đảng viên gửi kèm sau.\nNgười lập: Bí thư chi bộ\n".encode(),
        "not_xlsx",
    ),
    "trong.xlsx": (b"", "empty_file"),
}
FAULT_SEED = 0xFA17


def per_kind(members: int) -> int:
    """How many faults of each kind: about max(3, N/5000)."""
    return max(3, members // 5000)


def clean_rows(demo, roster: pd.DataFrame) -> np.ndarray:
    """Positions in ``roster`` of clean members' own rows (see the module docstring)."""
    involved = {e["member_code"] for e in demo.expected} | {n["member_code"] for n in demo.near}
    touched = set(demo.overrides) | set(demo.roster_ids)
    m = demo.m
    idx = roster["_m"].to_numpy()
    ok = (roster["roster_status"] == "Đang sinh hoạt").to_numpy() & (idx >= 0)
    safe = np.where(ok, idx, 0)
    ok &= ~m["special"][safe] & (m["status"][safe] == "active")
    ok &= ~roster["member_code"].isin(involved).to_numpy() & ~np.isin(idx, list(touched))
    pid = roster["personal_id"].astype("string")
    ok &= pid.str.fullmatch(r"0\d{11}").fillna(False).to_numpy(dtype=bool)
    # Not a cell's first row (its name is the workbook's secretary).
    ok &= roster["wb_cell"].duplicated().to_numpy()
    return np.flatnonzero(ok)


def plant(demo, roster: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """-> (the period roster as the cells type it: cosmetic faults applied, fault columns added;
    extra rows per sheet, with ``wb_cell`` and ``_fault`` / ``_rule`` columns).

    Fault columns: ``_fault`` (kind or None), ``_rule`` (what the reader's rule contains, None for
    the normalised ones), ``_column`` (the normalised column), ``_dots`` (dates as d.m.yyyy)."""
    rng = np.random.default_rng([demo.seed, FAULT_SEED])
    k = per_kind(demo.n_target)
    shown = roster.copy()
    shown["personal_id"] = shown["personal_id"].astype(object)  # an ID typed as a number is an int
    shown["_fault"] = None
    shown["_rule"] = None
    shown["_column"] = None
    shown["_dots"] = False
    clean = clean_rows(demo, roster)
    n_need = len(COSMETIC) * k + 2 * k
    picks = rng.choice(clean, size=min(n_need, len(clean)), replace=False) if len(clean) else clean
    cosmetic, rest = picks[: len(COSMETIC) * k], picks[len(COSMETIC) * k :]
    fault_col = shown.columns.get_loc("_fault")
    col_col = shown.columns.get_loc("_column")
    for j, kind in enumerate(COSMETIC):
        pos = cosmetic[j * k : (j + 1) * k]
        if not len(pos):
            continue
        shown.iloc[pos, fault_col] = kind
        name_col = shown.columns.get_loc("full_name")
        if kind == "name_upper_spaces":
            shown.iloc[pos, name_col] = [n.upper().replace(" ", "  ") for n in roster["full_name"].iloc[pos]]
            shown.iloc[pos, col_col] = "full_name"
        elif kind == "name_nfd":
            shown.iloc[pos, name_col] = [
                unicodedata.normalize("NFD", n) for n in roster["full_name"].iloc[pos]
            ]
            shown.iloc[pos, col_col] = "full_name"
        elif kind == "id_number":
            id_col = shown.columns.get_loc("personal_id")
            shown.iloc[pos, id_col] = [int(x) for x in roster["personal_id"].iloc[pos]]
            shown.iloc[pos, col_col] = "personal_id"
        else:
            shown.iloc[pos, shown.columns.get_loc("_dots")] = True
            shown.iloc[pos, col_col] = "birth_date;admission_date;official_date"

    extra: dict[str, pd.DataFrame] = {}
    # DanhSach: rows without a member code, in random submitting cells.
    cells = np.asarray(roster["wb_cell"].unique(), dtype=object)
    where = cells[rng.choice(len(cells), size=k, replace=len(cells) < k)] if len(cells) else cells
    female = rng.random(len(where)) < 0.5
    birth = demo.as_of - rng.integers(25 * 365, 50 * 365, len(where)) * np.timedelta64(1, "D")
    extra["DanhSach"] = pd.DataFrame(
        {
            "wb_cell": where,
            "member_code": None,
            "full_name": names.full_names(rng, female),
            "birth_date": birth,
            "gender": np.where(female, "Nữ", "Nam"),
            "personal_id": None,
            "admission_date": pd.NaT,
            "official_date": pd.NaT,
            "roster_status": "Đang sinh hoạt",
            "_fault": "roster_no_code",
            "_rule": "missing_required",
        }
    )
    # SinhHoat / XepLoai: an unreadable month, an unknown rating, for clean members of the cell.
    sin, xep = rest[:k], rest[k : 2 * k]
    extra["SinhHoat"] = pd.DataFrame(
        {
            "wb_cell": roster["wb_cell"].to_numpy()[sin],
            "member_code": roster["member_code"].to_numpy()[sin],
            "month": f"13/{demo.period[:4]}",
            "attended": True,
            "excused": False,
            "fees_paid": True,
            "_fault": "month_unreadable",
            "_rule": "unreadable_month",
        }
    )
    extra["XepLoai"] = pd.DataFrame(
        {
            "wb_cell": roster["wb_cell"].to_numpy()[xep],
            "member_code": roster["member_code"].to_numpy()[xep],
            "year": demo.LY,
            "rating": np.array(UNKNOWN_RATINGS, dtype=object)[np.arange(len(xep)) % len(UNKNOWN_RATINGS)],
            "_fault": "rating_unknown",
            "_rule": "unknown_value",
        }
    )
    return shown, extra


def write_files(out_dir: str | Path) -> list[dict]:
    """The file-level faults, written into the submissions folder; -> their expected lines."""
    rows = []
    for name, (content, fault) in FILE_FAULTS.items():
        (Path(out_dir) / name).write_bytes(content)
        rows.append({"source": name, "sheet": "", "row": None, "rule_contains": "file", "fault": fault})
    return rows


def frames(records: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(expected_quarantine, expected_normalised) from the layout's and the files' fault records."""
    q = [r for r in records if r.get("rule_contains")]
    n = [r for r in records if not r.get("rule_contains")]
    eq = pd.DataFrame(q, columns=QUARANTINE_COLUMNS).astype({"row": "Int64"})
    en = pd.DataFrame(n, columns=NORMALISED_COLUMNS).astype({"row": "Int64"})
    return (
        eq.sort_values(["source", "sheet", "row"], kind="stable").reset_index(drop=True),
        en.sort_values(["source", "sheet", "row"], kind="stable").reset_index(drop=True),
    )
