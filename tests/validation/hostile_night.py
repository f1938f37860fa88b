"""Issue #15 measured on a whole night: a demo's submissions folder with a hostile corpus planted
beside the genuine workbooks, run through the nightly flow, compared with a clean night.

``plant(folder, cells)`` writes every attack (from real cells' genuine workbooks) and returns
what each must give: a quarantine.csv line (source, message substring, severity). ``compare``
runs the clean and the attacked night and returns the counts of the report.

    python -m tests.validation.hostile_night DEMO_DIR OUT_DIR     (e.g. ~/.cache/dvsync/demo-…)
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd


@dataclass
class Expect:
    attack: str
    source: str  # the quarantine line's source starts with this
    message: str  # and its message holds this
    severity: str = "error"


def _patched(
    src: Path, dst: Path, part: str | None, fn=None, extra: dict | None = None, comment: bytes = b""
) -> Path:
    buf = io.BytesIO()
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            zout.writestr(info.filename, fn(data) if part is not None and info.filename == part else data)
        for name, data in (extra or {}).items():
            zout.writestr(name, data)
        zout.comment = comment
    dst.write_bytes(buf.getvalue())
    return dst


def _sheet_part(path: Path, sheet: str) -> str:
    """The zip part of a sheet by name (workbook.xml order = sheetN.xml in the demo's files)."""
    with zipfile.ZipFile(path) as z:
        names = re.findall(rb'<sheet name="([^"]+)"', z.read("xl/workbook.xml"))
    return f"xl/worksheets/sheet{[n.decode() for n in names].index(sheet) + 1}.xml"


def _far(xml: bytes) -> bytes:
    return xml.replace(b"</sheetData>", b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>')


def _with_openpyxl(src: Path, dst: Path, edit) -> Path:
    import openpyxl

    wb = openpyxl.load_workbook(src)
    edit(wb)
    wb.save(dst)
    return dst


def _set_text(ws, row: int, col: int, text: str) -> None:
    cell = ws.cell(row=row, column=col)
    cell.value = text
    cell.data_type = "s"  # the text of a formula, as a cell types it: a string cell


def plant(folder: Path, cells: list[str], period: str) -> tuple[list[Expect], set[str]]:
    """Attacks by cells[0..6] (attackers), cells[7] the victim. -> (expected lines, attacker cells
    whose own lists may change)."""
    folder = Path(folder)
    a, victim = cells[:7], cells[7]
    genuine = {c: folder / f"{c}_{period}.xlsx" for c in cells}
    roster = _sheet_part(genuine[a[0]], "DanhSach")
    exp: list[Expect] = []

    # Checked before parsed
    def declared(xml: bytes) -> bytes:
        xml = re.sub(rb"<dimension[^>]*/>", b"", xml)
        return xml.replace(b"<sheetData>", b'<dimension ref="A1:XFD1048576"/><sheetData>', 1)

    for name, part, fn, extra, line in [
        ("far_cell", roster, _far, None, "vùng dữ liệu 1,048,576 dòng"),
        ("declared_dimension", roster, declared, None, "vùng dữ liệu 1,048,576 dòng"),
        ("zip_bomb", None, None, {"xl/worksheets/sheet99.xml": b" " * (250 * 2**20)}, "giải nén"),
        ("ratio_bomb", None, None, {"xl/media/x.bin": b"\0" * (30 * 2**20)}, "bom zip"),
        ("over_20MB", None, None, {"xl/media/image1.png": os.urandom(21 * 2**20)}, "tệp quá lớn"),
    ]:
        dst = folder / f"{a[0]}_{period}_{name}.xlsx"
        _patched(genuine[a[0]], dst, part, fn, extra)
        exp.append(Expect(name, dst.name, line))
    rows = "".join(
        f'<row r="{i}"><c r="A{i}" t="inlineStr"><is><t>x</t></is></c></row>' for i in range(2, 100_003)
    )
    dst = _patched(
        genuine[a[0]],
        folder / f"{a[0]}_{period}_rows.xlsx",
        roster,
        lambda x: x.replace(b"</sheetData>", rows.encode() + b"</sheetData>"),
    )
    exp.append(Expect("rows_over_100000", dst.name, "dòng × "))

    # One cell, one voice: a[0] writes the victim's code in ThongTin, with a later date.
    def speak_for_victim(wb) -> None:
        ws = wb["ThongTin"]
        for row in ws.iter_rows():
            if row[0].value and "chi bộ" in str(row[0].value).lower() and "mã" in str(row[0].value).lower():
                row[1].value = victim
            if row[0].value and "ngày lập" in str(row[0].value).lower():
                row[1].value = "30/11/2026"

    dst = _with_openpyxl(genuine[a[0]], folder / f"{a[0]}_{period}_v2.xlsx", speak_for_victim)
    exp.append(
        Expect(
            "thongtin_names_other_cell", dst.name, f"Mã chi bộ {victim} nhưng tên tệp/thư mục ghi mã {a[0]}"
        )
    )
    dst = _with_openpyxl(genuine[a[0]], folder / "bao-cao-chi-bo.xlsx", speak_for_victim)
    _patched(dst, dst, None, comment=b"other bytes")  # not a byte copy of the one above
    # Any name is read, but a file whose name names no cell never speaks over the cell's own file.
    exp.append(Expect("no_code_in_name", dst.name, "tệp này không được dùng", "warning"))

    # What is seen is what is read: a hidden "Danh Sách" in front of the visible roster (a[1]).
    def hidden_twin(wb) -> None:
        ghost = wb.create_sheet("Danh Sách", 1)
        for r in wb["DanhSach"].iter_rows(max_row=2, values_only=True):
            ghost.append(list(r))
        ghost.sheet_state = "hidden"

    dst = _with_openpyxl(genuine[a[1]], folder / f"{a[1]}_{period}_sua.xlsx", hidden_twin)
    exp.append(Expect("hidden_twin_sheet", dst.name, "bị ẩn — dvsync không đọc sheet ẩn", "warning"))

    # Outputs safe to open, masked wherever it lands (a[2]): formula text, IDs in wrong columns.
    def formulas_and_ids(wb) -> None:
        ws = wb["XepLoai"]
        code = wb["DanhSach"].cell(row=2, column=1).value
        for i, text in enumerate(
            ['=HYPERLINK("http://x","bấm")', "+cmd|' /C calc'!A0", "@SUM(1)", "079185000111"]
        ):
            r = ws.max_row + 1
            ws.cell(row=r, column=1).value = code
            ws.cell(row=r, column=2).value = 1990 + i
            _set_text(ws, r, 3, text)
        sh = wb["SinhHoat"]
        r = sh.max_row + 1
        sh.cell(row=r, column=1).value = code
        _set_text(sh, r, 2, "001080123456")

    dst = _with_openpyxl(genuine[a[2]], folder / f"{a[2]}_{period}_b.xlsx", formulas_and_ids)
    exp.append(Expect("formula_hyperlink", dst.name, "Xếp loại"))
    exp.append(Expect("id_in_month_column", dst.name, "Tháng"))

    # Warnings reach the committee (a[3]): an unreadable birth date, blanked.
    def bad_birth(wb) -> None:
        _set_text(wb["DanhSach"], 2, 3, "31/02/1980")

    dst = _with_openpyxl(genuine[a[3]], folder / f"{a[3]}_{period}_c.xlsx", bad_birth)
    exp.append(Expect("birth_date_31_02", dst.name, "không đọc được", "warning"))
    # A second copy for the same cell and period (a[4]): same content, other bytes.
    dst = _patched(genuine[a[4]], folder / f"{a[4]}_{period}_copy.xlsx", None, comment=b"copy")
    exp.append(Expect("duplicate_copy", f"{a[4]}_{period}", "— dùng tệp", "warning"))
    shutil.copy(genuine[a[4]], folder / f"{a[4]}_{period} (1).xlsx")
    exp.append(Expect("identical_copy", f"{a[4]}_{period}", "trùng nội dung với tệp", "warning"))
    # Names (a[5]): a newline that would forge a log line, a bidi override.
    dst = _patched(
        genuine[a[5]], folder / f"{a[5]}_{period}\n2026-11-30 01:00:00 INFO | ok.xlsx", None, comment=b"n"
    )
    exp.append(Expect("newline_in_name", f"{a[5]}_{period}?2026-11-30", "ký tự điều khiển", "warning"))
    dst = _patched(genuine[a[6]], folder / f"{a[6]}_{period}_\u202exslx.exe.xlsx", None, comment=b"b")
    exp.append(Expect("bidi_override_name", f"{a[6]}_{period}_?xslx", "ký tự điều khiển", "warning"))
    # Files: every entry skipped gets a line.
    shutil.copy(genuine[a[6]], folder / f".{a[6]}_{period}.xlsx")
    exp.append(Expect("dot_file", f".{a[6]}", "tệp ẩn", "warning"))
    (folder / ".nhap").mkdir()
    exp.append(Expect("dot_folder", ".nhap", "thư mục ẩn", "warning"))
    (folder / f"~${a[6]}_{period}.xlsx").write_bytes(b"lock")
    exp.append(Expect("excel_lock_file", "~$", "tệp khoá tạm", "warning"))
    outside = folder.parent / f"{folder.name}-outside"
    outside.mkdir(exist_ok=True)
    shutil.copy(genuine[victim], outside / "x.xlsx")
    (folder / f"{a[6]}_{period}_link.xlsx").symlink_to(outside / "x.xlsx")
    exp.append(Expect("symlink_out", f"{a[6]}_{period}_link", "ra ngoài thư mục nộp", "warning"))
    (folder / "lien-ket").symlink_to(outside, target_is_directory=True)
    exp.append(Expect("symlinked_folder_out", "lien-ket", "ngoài thư mục nộp", "warning"))
    os.mkfifo(folder / f"{a[6]}_{period}_fifo.xlsx")
    exp.append(Expect("fifo", f"{a[6]}_{period}_fifo", "không phải tệp thường", "warning"))
    return exp, set(a)


def run_night(demo: Path, submissions: Path, out: Path) -> dict:
    from flows.nightly import nightly_reconciliation

    meta = json.loads((demo / "demo.json").read_text())
    return nightly_reconciliation(
        central=f"sqlite:///{demo / 'central.sqlite'}",
        submissions=str(submissions),
        out=str(out),
        as_of=meta["as_of"],
    )


def _findings(out: Path, exclude: set[str]) -> pd.DataFrame:
    f = pd.read_csv(out / "findings.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    f = f[~f["org_code"].isin(exclude)]
    cols = [c for c in f.columns if c not in ("first_seen",)]
    return f[cols].sort_values(["finding_id"]).reset_index(drop=True)


def compare(demo: Path, root: Path) -> dict:
    """The clean night and the attacked night -> counts and checks (raises AssertionError)."""
    meta = json.loads((demo / "demo.json").read_text())
    period = meta["period"]
    clean_in = root / "clean-sub"
    shutil.copytree(demo / "submissions", clean_in)
    attacked_in = root / "attacked-sub"
    shutil.copytree(demo / "submissions", attacked_in)
    cells = sorted(p.name[: -len(f"_{period}.xlsx")] for p in clean_in.glob(f"*_{period}.xlsx"))
    cells = cells[:8]
    expects, attackers = plant(attacked_in, cells, period)
    clean = run_night(demo, clean_in, root / "clean-out")
    attacked = run_night(demo, attacked_in, root / "attacked-out")
    q = pd.read_csv(
        root / "attacked-out" / "quarantine.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig"
    )
    given = []
    for e in expects:
        hit = q[q["source"].str.startswith(e.source) & q["message"].str.contains(e.message, regex=False)]
        hit = hit[hit["severity"] == e.severity]
        assert len(hit), (
            e,
            q[q["source"].str.startswith(e.source)][["source", "message", "severity"]].to_dict("records"),
        )
        given.append(e.attack)
    text = (root / "attacked-out" / "quarantine.csv").read_text(encoding="utf-8-sig")
    assert "001080123456" not in text and "079185000111" not in text, "an ID unmasked"
    assert not re.search(r'(^|,)"?[=+@]', text, re.M), "a field that would run as a formula"
    before, after = _findings(root / "clean-out", attackers), _findings(root / "attacked-out", attackers)
    pd.testing.assert_frame_equal(before, after)
    # the other cells' quarantine lines are unchanged too
    qc = pd.read_csv(
        root / "clean-out" / "quarantine.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig"
    )
    skip = "|".join(map(re.escape, attackers)) + r"|bao-cao|^\.|^~|lien-ket"

    def others(d: pd.DataFrame) -> pd.DataFrame:
        return d[~d["source"].str.contains(skip)].reset_index(drop=True)

    pd.testing.assert_frame_equal(others(qc), others(q))
    for key, c in attacked["rows"].items():
        assert c["read"] == c["accepted"] + c["quarantined"], (key, c)
    return {
        "attacks": len(expects),
        "lines": len(given),
        "runs_completed": 2,
        "findings_clean": len(pd.read_csv(root / "clean-out" / "findings.csv", dtype=str)),
        "findings_other_cells_equal": len(before),
        "attacker_cells": len(attackers),
        "quarantine_lines_attacked": len(q),
        "durations": {
            "clean": clean["durations_seconds"]["total"],
            "attacked": attacked["durations_seconds"]["total"],
        },
    }


if __name__ == "__main__":
    print(json.dumps(compare(Path(sys.argv[1]), Path(sys.argv[2])), indent=1))
