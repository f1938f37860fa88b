"""Issue #15: no cell's file can stop the night, hide its data, or speak for another cell.

The attack corpus: real .xlsx files (and folder entries) built here as a hostile cell would send
them, each with the line it must get. Every attack is read through the folder reader with the
genuine workbooks of two other cells beside it; those cells' rows must come out exactly as in a
clean read (every other cell's lists unchanged), and conservation must hold per file and sheet.
"""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from corpus_builders import CELL, GOOD_ROSTER, headers, info_rows, write_workbook

from connectors import workbooks as W
from connectors.publish.files import write_findings_csv, write_quarantine_csv
from connectors.quarantine import file_faults
from connectors.store import ResultsStore
from connectors.workbooks import read_submissions
from dvsync.check import check_workbook

OTHER = "93.015.000.001.003"  # a genuine cell beside the attacker
THIRD = "93.015.000.001.004"
HOSTILE = CELL  # the attacking cell (its own code is CELL)


def good(d: Path, name: str | None = None, cell: str = CELL, **kw) -> Path:
    return write_workbook(d / (name or f"{cell}_2026-10.xlsx"), info=info_rows(cell=cell), **kw)


def patched(src: Path, dst: Path, part: str, fn: Callable[[bytes], bytes], extra: dict | None = None) -> Path:
    """A copy of ``src`` with one zip part rewritten (and extra parts added)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            zout.writestr(info.filename, fn(data) if info.filename == part else data)
        for name, data in (extra or {}).items():
            zout.writestr(name, data)
    dst.write_bytes(buf.getvalue())
    if dst != src and src.parent == dst.parent:
        src.unlink()
    return dst


ROSTER_PART = "xl/worksheets/sheet2.xml"  # write_workbook: ThongTin, then DanhSach


def _far_cell(dimension: str | None) -> Callable[[bytes], bytes]:
    def fn(xml: bytes) -> bytes:
        xml = re.sub(rb'<dimension ref="[^"]*"/>', b"" if dimension is None else dimension.encode(), xml)
        return xml.replace(
            b"</sheetData>", b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>'
        )

    return fn


def far_cell(d: Path) -> Path:
    return patched(
        good(d, "t.xlsx"), d / f"{CELL}_far.xlsx", ROSTER_PART, _far_cell('<dimension ref="A1:XFD1048576"/>')
    )


def far_cell_no_dimension(d: Path) -> Path:
    return patched(good(d, "t.xlsx"), d / f"{CELL}_nodim.xlsx", ROSTER_PART, _far_cell(None))


def far_cell_lying_dimension(d: Path) -> Path:
    return patched(
        good(d, "t.xlsx"), d / f"{CELL}_lie.xlsx", ROSTER_PART, _far_cell('<dimension ref="A1:H4"/>')
    )


def declared_only(d: Path) -> Path:
    return patched(
        good(d, "t.xlsx"),
        d / f"{CELL}_decl.xlsx",
        ROSTER_PART,
        lambda x: re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:XFD1048576"/>', x),
    )


def wide_columns(d: Path) -> Path:
    return patched(
        good(d, "t.xlsx"),
        d / f"{CELL}_wide.xlsx",
        ROSTER_PART,
        lambda x: x.replace(b"</sheetData>", b'<row r="90000"><c r="ZZ90000"><v>1</v></c></row></sheetData>'),
    )


def zip_bomb(d: Path) -> Path:
    # ~1 MB on disk, 250 MB of XML once decompressed.
    return patched(
        good(d, "t.xlsx"),
        d / f"{CELL}_bomb.xlsx",
        "",
        lambda x: x,
        {"xl/worksheets/sheet9.xml": b" " * (250 * 2**20)},
    )


def ratio_bomb(d: Path) -> Path:
    return patched(
        good(d, "t.xlsx"), d / f"{CELL}_ratio.xlsx", "", lambda x: x, {"xl/media/x.bin": b"\0" * (30 * 2**20)}
    )


def too_big(d: Path) -> Path:
    return patched(
        good(d, "t.xlsx"),
        d / f"{CELL}_big.xlsx",
        "",
        lambda x: x,
        {"xl/media/image1.png": os.urandom(21 * 2**20)},
    )


def many_rows(d: Path) -> Path:
    rows = "".join(
        f'<row r="{i}"><c r="A{i}" t="inlineStr"><is><t>x</t></is></c></row>' for i in range(2, 100_003)
    )
    return patched(
        good(d, "t.xlsx"),
        d / f"{CELL}_rows.xlsx",
        ROSTER_PART,
        lambda x: x.replace(b"</sheetData>", rows.encode() + b"</sheetData>"),
    )


def many_parts(d: Path) -> Path:
    return patched(
        good(d, "t.xlsx"),
        d / f"{CELL}_parts.xlsx",
        "",
        lambda x: x,
        {f"customXml/i{i}.xml": b"<a/>" for i in range(1001)},
    )


def lying_size(d: Path) -> Path:
    """A sheet part that decompresses to more than its header declares."""
    src = good(d, "t.xlsx")
    with zipfile.ZipFile(src) as z:
        part = z.getinfo(ROSTER_PART)
        header_offset = part.header_offset
    data = bytearray(src.read_bytes())
    src.unlink()
    # Central directory: the sheet's uncompressed size set to 10 bytes (CRC no longer matches).
    needle = ROSTER_PART.encode()
    cd = data.rfind(b"PK\x01\x02", 0, data.rfind(needle))
    data[cd + 24 : cd + 28] = (10).to_bytes(4, "little")
    data[header_offset + 22 : header_offset + 26] = (10).to_bytes(4, "little")
    dst = d / f"{CELL}_lying.xlsx"
    dst.write_bytes(bytes(data))
    return dst


def other_cell_speaks(d: Path) -> Path:
    """The attacker's own file name, the victim's code in ThongTin, a later date."""
    return write_workbook(
        d / f"{HOSTILE}_2026-10.xlsx",
        info=info_rows(cell=OTHER, created="28/11/2026"),
        roster=[GOOD_ROSTER[0]],
    )


def no_code_in_name(d: Path) -> Path:
    return write_workbook(d / "bao-cao-thang-10.xlsx", info=info_rows(cell=OTHER, created="28/11/2026"))


def code_inside_longer(d: Path) -> Path:
    return write_workbook(d / f"1{OTHER}9.xlsx", info=info_rows(cell=OTHER, created="28/11/2026"))


def wrong_folder(d: Path) -> Path:
    (d / HOSTILE).mkdir()
    return write_workbook(d / HOSTILE / "thang10.xlsx", info=info_rows(cell=OTHER, created="28/11/2026"))


def hidden_twin(d: Path) -> Path:
    import xlsxwriter

    p = d / f"{CELL}_hidden.xlsx"
    wb = xlsxwriter.Workbook(str(p))
    info = wb.add_worksheet("ThongTin")
    for i, row in enumerate(info_rows()):
        info.write_row(i, 0, row)
    ghost = wb.add_worksheet("Danh Sách")
    ghost.write_row(0, 0, headers("DanhSach"))
    ghost.write_row(1, 0, ["0009999", "Người Ẩn", "01/01/1970", "Nam", "", "", "", "Đang sinh hoạt"])
    ghost.hide()
    ws = wb.add_worksheet("DanhSach")
    ws.write_row(0, 0, headers("DanhSach"))
    for i, row in enumerate(GOOD_ROSTER, start=1):
        ws.write_row(i, 0, row)
    ws.activate()
    wb.close()
    return p


def only_very_hidden(d: Path) -> Path:
    p = write_workbook(d / f"{CELL}_vhidden.xlsx")
    return patched(
        p,
        p,
        "xl/workbook.xml",
        lambda x: x.replace(b'name="DanhSach"', b'name="DanhSach" state="veryHidden"'),
    )


def twin_visible(d: Path) -> Path:
    return write_workbook(
        d / f"{CELL}_twins.xlsx", sheets={"Danh Sách": [headers("DanhSach"), GOOD_ROSTER[0]]}
    )


def newline_name(d: Path) -> Path:
    return write_workbook(d / f"{CELL}\n2026-11-30 01:00:00 INFO | Flow run completed.xlsx")


def bidi_name(d: Path) -> Path:
    return write_workbook(d / f"{CELL}_\u202exslx.exe.xlsx")


def long_name(d: Path) -> Path:
    return write_workbook(d / (f"{CELL}_" + "a" * 200 + ".xlsx"))


def dot_file(d: Path) -> Path:
    return write_workbook(d / f".{CELL}_2026-10.xlsx")


def dot_folder(d: Path) -> Path:
    (d / ".an").mkdir()
    return write_workbook(d / ".an" / f"{CELL}_2026-10.xlsx")


def lock_file(d: Path) -> Path:
    p = d / f"~${CELL}_2026-10.xlsx"
    p.write_bytes(b"lock")
    return p


def symlink_out(d: Path) -> Path:
    outside = d.parent / f"outside-{d.name}"
    outside.mkdir(exist_ok=True)
    target = good(outside, cell=CELL)
    link = d / f"{CELL}_link.xlsx"
    link.symlink_to(target)
    return link


def symlink_dir_out(d: Path) -> Path:
    outside = d.parent / f"outside-dir-{d.name}"
    outside.mkdir(exist_ok=True)
    good(outside, cell=CELL)
    link = d / CELL
    link.symlink_to(outside, target_is_directory=True)
    return link


def identical_copy(d: Path) -> Path:
    src = good(d)
    dst = d / f"{CELL}_2026-10 (1).xlsx"
    dst.write_bytes(src.read_bytes())
    return dst


def fifo(d: Path) -> Path:
    p = d / f"{CELL}_fifo.xlsx"
    os.mkfifo(p)
    return p


def control_headers(d: Path) -> Path:
    return write_workbook(
        d / f"{CELL}_ctl.xlsx",
        sheets={
            "XepLoai": [
                ["Mã đảng viên", "Năm", "Xếp loại", "Ghi\nchú\x1b[31m"],
                ["0001001", 2025, "HTTNV", "x"],
            ]
        },
    )


@dataclass
class Attack:
    name: str
    build: Callable[[Path], Path]
    line: str  # substring of the line the attack must get
    status: str = "rejected"  # its report status: rejected | skipped | accepted (with a warning line)


ATTACKS = [
    Attack("far_cell_XFD1048576", far_cell, "vùng dữ liệu 1,048,576 dòng × 16,384 cột"),
    Attack("far_cell_no_dimension", far_cell_no_dimension, "vùng dữ liệu 1,048,576 dòng"),
    Attack("far_cell_lying_dimension", far_cell_lying_dimension, "vùng dữ liệu 1,048,576 dòng"),
    Attack("declared_dimension_only", declared_only, "vùng dữ liệu 1,048,576 dòng"),
    Attack("wide_columns", wide_columns, "702 cột"),
    Attack("zip_bomb_250MB", zip_bomb, "giải nén"),
    Attack("ratio_bomb", ratio_bomb, "bom zip"),
    Attack("file_over_20MB", too_big, "tệp quá lớn"),
    Attack("rows_over_100000", many_rows, "100,002 dòng"),
    Attack("parts_over_1000", many_parts, "thành phần"),
    Attack("lying_zip_size", lying_size, "không giải nén đúng"),
    Attack(
        "thongtin_names_other_cell",
        other_cell_speaks,
        f"Mã chi bộ {OTHER} nhưng tên tệp/thư mục ghi mã {HOSTILE}",
    ),
    Attack("folder_of_other_cell", wrong_folder, f"ghi mã {HOSTILE}"),
    Attack(
        "hidden_twin_sheet",
        hidden_twin,
        "bị ẩn — dvsync không đọc sheet ẩn, chỉ đọc sheet DanhSach đang hiện",
        "accepted",
    ),
    Attack("only_very_hidden_roster", only_very_hidden, "'DanhSach' bị ẩn"),
    Attack("two_visible_rosters", twin_visible, "cùng là sheet DanhSach"),
    Attack(
        "newline_in_name", newline_name, "?2026-11-30 01:00:00 INFO | Flow run completed.xlsx~", "accepted"
    ),
    Attack("bidi_override_name", bidi_name, "_?xslx.exe.xlsx~", "accepted"),
    Attack("very_long_name", long_name, "quá 80 ký tự", "accepted"),
    Attack("dot_file", dot_file, "tệp ẩn (tên bắt đầu bằng dấu chấm)", "skipped"),
    Attack("dot_folder", dot_folder, "thư mục ẩn", "skipped"),
    Attack("excel_lock_file", lock_file, "tệp khoá tạm của Excel", "skipped"),
    Attack("symlink_out_of_folder", symlink_out, "liên kết tượng trưng trỏ ra ngoài thư mục nộp", "skipped"),
    Attack("symlinked_folder_out", symlink_dir_out, "liên kết tới thư mục ngoài thư mục nộp", "skipped"),
    Attack("fifo", fifo, "không phải tệp thường", "skipped"),
    Attack("identical_copy", identical_copy, "trùng nội dung với tệp", "skipped"),
    Attack("control_chars_in_header", control_headers, "Ghi?chú?[31m", "accepted"),
]


def _clean(d: Path) -> None:
    good(d, cell=OTHER)
    good(d, cell=THIRD, name=f"{THIRD}/bao-cao.xlsx") if (d / THIRD).mkdir() is None else None


def _others(data) -> pd.DataFrame:
    r = data.roster
    r = r[r["cell_code"].isin([OTHER, THIRD])].drop(columns=["_source"])
    return r.sort_values(["cell_code", "member_code"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def clean_read(tmp_path_factory) -> pd.DataFrame:
    d = tmp_path_factory.mktemp("clean")
    _clean(d)
    data, q, report = read_submissions(d, workers=1)
    assert {e["status"] for e in report} == {"accepted"} and q.empty
    return _others(data)


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: a.name)
def test_attack_gets_its_line_and_others_are_unchanged(attack: Attack, tmp_path: Path, clean_read) -> None:
    d = tmp_path / "sub"
    d.mkdir()
    _clean(d)
    attack.build(d)
    data, q, report = read_submissions(d, workers=1)
    mine = [e for e in report if not e["file"].startswith((OTHER, THIRD))]
    lines = [e["message"] for e in mine] + [w for e in mine for w in e.get("warnings") or []]
    assert any(attack.line in m for m in lines), lines
    assert attack.status in {e["status"] for e in mine}, mine
    for m in lines:  # one line each: no newline, no control character, a bounded name
        assert not re.search(r"[\x00-\x1f\x7f\u202e]", m), repr(m)
    for e in report:
        assert e["counts"]["read"] == e["counts"]["accepted"] + e["counts"]["quarantined"], e
    pd.testing.assert_frame_equal(_others(data), clean_read)
    if attack.status == "rejected":
        assert HOSTILE not in set(data.roster["cell_code"]) and len(data.roster) == len(clean_read)


def test_attacks_never_supersede_the_victim_in_the_store(tmp_path: Path) -> None:
    """The hostile workbook (victim's code in ThongTin, later date) is rejected; the victim's
    genuine submission stays the accepted one, its rows unchanged."""
    d = tmp_path / "sub"
    d.mkdir()
    genuine = good(d, cell=OTHER)
    store = ResultsStore(f"sqlite:///{tmp_path / 'r.sqlite'}")
    store.migrate()
    store.load_workbooks(W._parse_all([genuine], [genuine.name], 1))
    before = store.submissions("2026-10").roster
    hostile = other_cell_speaks(d)
    counts = store.load_workbooks(W._parse_all([hostile], [hostile.name], 1))
    assert counts["rejected"] == 1 and counts["superseded"] == 0
    books = store.workbooks().set_index("file")
    assert books.loc[genuine.name, "status"] == "accepted"
    assert f"Mã chi bộ {OTHER}" in books.loc[hostile.name, "error"]
    pd.testing.assert_frame_equal(store.submissions("2026-10").roster, before)


@pytest.mark.parametrize(
    "build", [no_code_in_name, code_inside_longer], ids=["no_code", "code_inside_longer"]
)
def test_a_file_whose_name_names_no_cell_never_speaks_over_the_cell(build, tmp_path: Path) -> None:
    """Any file name is read (contract §2), but a file whose name carries no cell code, claiming
    a cell with a later date, ranks below that cell's own named submission: it never supersedes it."""
    d = tmp_path / "sub"
    d.mkdir()
    genuine = good(d, cell=OTHER)
    store = ResultsStore(f"sqlite:///{tmp_path / 'r.sqlite'}")
    store.migrate()
    store.load_workbooks(W._parse_all([genuine], [genuine.name], 1))
    before = store.submissions("2026-10").roster
    claim = build(d)
    counts = store.load_workbooks(W._parse_all([claim], [claim.name], 1))
    assert counts["rejected"] == 0  # read: any file name is allowed
    books = store.workbooks().set_index("file")
    assert books.loc[genuine.name, "status"] == "accepted"
    assert books.loc[claim.name, "status"] == "superseded"
    pd.testing.assert_frame_equal(store.submissions("2026-10").roster, before)


def test_check_says_hidden_sheet_and_name_rule(tmp_path: Path) -> None:
    out = io.StringIO()
    assert check_workbook(hidden_twin(tmp_path), out) == 1
    text = out.getvalue()
    assert "bị ẩn" in text and "CẦN SỬA" in text
    out = io.StringIO()
    assert check_workbook(other_cell_speaks(tmp_path), out) == 1
    assert f"Mã chi bộ {OTHER}" in out.getvalue()
    out = io.StringIO()
    assert check_workbook(good(tmp_path), out) == 0
    assert "đúng quy tắc" in out.getvalue()


def test_field_warnings_and_duplicates_reach_quarantine(tmp_path: Path) -> None:
    """An unreadable birth date (blanked) and an ID disagreeing with the birth year are warning
    lines of the stored quarantine; a second copy for the same cell and period gets a line."""
    d = tmp_path / "sub"
    d.mkdir()
    row = list(GOOD_ROSTER[0])
    row[2] = "31/02/1980"
    row2 = list(GOOD_ROSTER[1])
    row2[4] = "079199000111"  # born 1985, the ID says 1999
    first = write_workbook(d / f"{CELL}_a.xlsx", info=info_rows(created="01/11/2026"), roster=[row, row2])
    second = write_workbook(d / f"{CELL}_b.xlsx", info=info_rows(created="05/11/2026"), roster=[row, row2])
    store = ResultsStore(f"sqlite:///{tmp_path / 'r.sqlite'}")
    store.migrate()
    files = [first, second]
    store.load_workbooks(W._parse_all(files, [p.name for p in files], 1))
    present = {W._checksum(p) for p in files}
    q = pd.concat([file_faults(store.workbooks(), "2026-10", present), store.quarantine("2026-10", present)])
    warn = q[q["severity"] == "warning"]
    assert ((warn["source"] == second.name) & (warn["rule"] == "unreadable_date") & (warn["row"] == 2)).any()
    assert ((warn["source"] == second.name) & warn["rule"].str.contains("id")).any(), warn[
        ["rule", "message"]
    ]
    dup = warn[warn["rule"] == "duplicate_workbook"]
    assert list(dup["source"]) == [first.name] and second.name in dup["message"].iloc[0]
    assert set(q["_cell"].dropna()) == {CELL}
    # quarantine.csv: the severity column after the contract's columns, no _cell
    write_quarantine_csv(q, tmp_path / "quarantine.csv")
    header = (tmp_path / "quarantine.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert header == "source,sheet,row,column,rule,value,message,severity"


def test_outputs_safe_to_open_and_ids_masked(tmp_path: Path) -> None:
    """Formula text written by a cell reaches the CSVs neutralised; a 12-digit ID typed into the
    wrong column is masked in quarantine.csv."""
    d = tmp_path / "sub"
    d.mkdir()
    formulas = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3", "\t=1"]
    write_workbook(
        d / f"{CELL}_x.xlsx",
        formula_text=False,  # the cell typed the text of a formula (a string cell)
        sheets={
            "SinhHoat": [headers("SinhHoat"), ["0001001", "001080123456", "Có", "Không", "Có"]],
            "XepLoai": [
                headers("XepLoai"),
                ["0001001", 2025, "079185000111"],
                *[["0001002", 2000 + i, f] for i, f in enumerate(formulas)],
            ],
        },
    )
    data, q, report = read_submissions(d, workers=1)
    assert len(q) >= 6
    write_quarantine_csv(q, tmp_path / "quarantine.csv")
    text = (tmp_path / "quarantine.csv").read_text(encoding="utf-8-sig")
    assert "001080123456" not in text and "079185000111" not in text
    assert "********3456" in text and "********0111" in text
    csv = pd.read_csv(tmp_path / "quarantine.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    for col in csv.columns:
        assert not csv[col].str.match(r"^[=+\-@\t\r]").any(), (col, csv[col].tolist())
    assert any(v.startswith("'=HYPERLINK") for v in csv["value"])
    f = pd.DataFrame(
        {
            "list_code": ["ROSTER_FIELD_MISMATCH"] * 3,
            "cell_value": ["=1+1", "-5", "@x"],
            "finding_id": ["a", "b", "c"],
        }
    )
    write_findings_csv(f, tmp_path / "findings.csv")
    got = pd.read_csv(tmp_path / "findings.csv", dtype=str, encoding="utf-8-sig").set_index("finding_id")[
        "cell_value"
    ]
    assert got.to_dict() == {"a": "'=1+1", "b": "-5", "c": "'@x"}


def test_a_crash_costs_one_file(tmp_path: Path, monkeypatch) -> None:
    """With the pre-parse limits lifted, the far cell aborts its worker (the reader asks for
    512 GiB past the worker's memory limit): the pool is rebuilt, the chunk bisected, and only
    that file is lost, with its line."""
    # The limits live where _precheck reads them (connectors.workbooks.checks).
    monkeypatch.setattr(W.checks, "MAX_SHEET_ROWS", 10**9)
    monkeypatch.setattr(W.checks, "MAX_SHEET_COLUMNS", 10**9)
    monkeypatch.setattr(W.checks, "MAX_SHEET_CELLS", 10**19)
    W.close_worker_pool()
    d = tmp_path / "sub"
    d.mkdir()
    files = [good(d, cell=f"93.015.000.002.{i:03d}") for i in range(9)]
    bad = far_cell(d)
    try:
        results = W._parse_all([*files, bad], [p.name for p in [*files, bad]], 2, isolate=True)
    finally:
        W.close_worker_pool()
    errors = {r.meta["_source"]: r.error for r in results if r.error}
    assert W._CRASHED, "the worker did not die"
    # Isolated in a fresh pool: the crash line, or the pre-parse line (its workers start from a
    # fork server, with the module's own limits).
    assert list(errors) == [bad.name]
    assert "dừng đột ngột" in errors[bad.name] or "vùng dữ liệu" in errors[bad.name]
    assert sum(r.meta["rows_accepted"]["DanhSach"] for r in results if not r.error) == 9 * len(GOOD_ROSTER)


def test_workers_have_a_memory_limit_and_die_with_their_parent(tmp_path: Path) -> None:
    root = str(Path(__file__).resolve().parents[2])
    script = (
        f"import sys, time; sys.path.insert(0, {root!r})\n"
        "from connectors.workbooks import worker_pool\n"
        "pool = worker_pool(2)\n"
        "print(' '.join(str(p) for p in pool._processes), flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    pids = [int(x) for x in proc.stdout.readline().split()]
    assert len(pids) == 2
    limits = Path(f"/proc/{pids[0]}/limits").read_text()
    data_limit = next(line for line in limits.splitlines() if line.startswith("Max data size"))
    assert "unlimited" not in data_limit.split()[3]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 10
    while time.time() < deadline and any(Path(f"/proc/{p}").exists() and "Z" not in _state(p) for p in pids):
        time.sleep(0.1)
    assert not [p for p in pids if Path(f"/proc/{p}").exists() and "Z" not in _state(p)]


def _state(pid: int) -> str:
    try:
        return next(x for x in Path(f"/proc/{pid}/status").read_text().splitlines() if x.startswith("State:"))
    except (OSError, StopIteration):
        return "Z"


def test_corpus_size() -> None:
    assert len(ATTACKS) >= 27  # plus the unnamed files' store test below


def test_cell_faults_reach_the_committee_workbook(tmp_path: Path) -> None:
    """The quarantine lines of a cell's workbook (warnings too) are on a sheet of its grassroots
    committee's workbook, values as strings (never formulas); another committee does not get them."""
    import openpyxl

    from connectors.publish.xlsx import committee_workbook_path, write_committee_workbooks
    from schemas.contract import FINDING_COLUMNS

    orgs = pd.DataFrame(
        [
            {
                "org_code": "93.015.000.000.000",
                "name": "Đảng bộ",
                "kind": "upper",
                "parent_code": None,
                "active": 1,
            },
            {
                "org_code": "93.015.000.001.000",
                "name": "ĐB cơ sở A",
                "kind": "grassroots_committee",
                "parent_code": "93.015.000.000.000",
                "active": 1,
            },
            {
                "org_code": CELL,
                "name": "Chi bộ 2",
                "kind": "cell",
                "parent_code": "93.015.000.001.000",
                "active": 1,
            },
            {
                "org_code": "93.015.000.002.000",
                "name": "ĐB cơ sở B",
                "kind": "grassroots_committee",
                "parent_code": "93.015.000.000.000",
                "active": 1,
            },
        ]
    )
    q = pd.DataFrame(
        [
            {
                "source": f"{CELL}_x.xlsx",
                "sheet": "DanhSach",
                "row": 5,
                "column": "birth_date",
                "rule": "unreadable_date",
                "value": "1980",
                "message": "Dòng 5: Ngày sinh không đọc được (đã bỏ trống giá trị này)",
                "severity": "warning",
                "_cell": CELL,
            },
            {
                "source": f"{CELL}_x.xlsx",
                "sheet": "XepLoai",
                "row": 3,
                "column": "rating",
                "rule": "unknown_value",
                "value": '=HYPERLINK("x")',
                "message": "Dòng 3: Xếp loại 079185000111 không thuộc danh sách",
                "severity": "error",
                "_cell": CELL,
            },
        ]
    )
    findings = pd.DataFrame(columns=FINDING_COLUMNS)
    write_committee_workbooks(
        findings, orgs, tmp_path, pd.Timestamp("2026-11-16").date(), workers=1, quarantine=q
    )
    wb = openpyxl.load_workbook(committee_workbook_path(tmp_path, "93.015.000.001.000"))
    ws = wb["Lỗi bảng nộp"]
    values = [[c.value for c in row] for row in ws.iter_rows(min_row=5)]
    assert (
        len(values) == 2
        and values[0][1] == CELL
        and "Ngày sinh" in values[1][7]
        or "Ngày sinh" in values[0][7]
    )
    cell = next(c for row in ws.iter_rows(min_row=5) for c in row if c.value == '=HYPERLINK("x")')
    assert cell.data_type == "s"  # a string, not a formula
    assert "079185000111" not in str(values) and "********0111" in values[1][7]  # masked here too
    other = committee_workbook_path(tmp_path, "93.015.000.002.000")
    assert not other.exists() or "Lỗi bảng nộp" not in openpyxl.load_workbook(other).sheetnames


def test_folder_and_store_agree_which_file_speaks_for_the_cell(tmp_path: Path) -> None:
    """One "newest workbook wins" (schemas.precedence): read in the same night, a newer file whose
    name carries no cell code loses to the cell's own named one, in the folder reader (its
    duplicate line names the one used) and in the store alike."""
    d = tmp_path / "sub"
    d.mkdir()
    genuine = good(d)  # Ngày lập 05/11/2026, named for its cell
    claim = write_workbook(d / "bao-cao-thang-10.xlsx", info=info_rows(cell=CELL, created="28/11/2026"))
    data, _q, report = read_submissions(d, workers=1)
    status = {e["file"]: e["status"] for e in report}
    assert status == {genuine.name: "accepted", claim.name: "duplicate"}
    assert set(data.workbooks.loc[~data.workbooks["superseded"], "_source"]) == {genuine.name}
    store = ResultsStore(f"sqlite:///{tmp_path / 'r.sqlite'}")
    store.migrate()
    files = [genuine, claim]
    store.load_workbooks(W._parse_all(files, [p.name for p in files], 1))
    books = store.workbooks().set_index("file")
    assert books.loc[genuine.name, "status"] == "accepted"
    assert books.loc[claim.name, "status"] == "superseded"
