"""The malformed-input corpus: real .xlsx files and central rows, each with what it must yield.

Every case asserts conservation (rows read = accepted + quarantined, per sheet/table) and that
nothing raises. Expected quarantine lines are (sheet, Excel row, rule); expected notes are
(sheet, row, rule) lines of the normalisation log; file faults name the file.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
from corpus_builders import CELL, GOOD_ROSTER, central_frames, headers, info_rows, write_workbook

from connectors.workbooks import notes_frame, parse_workbook, read_submissions
from schemas.central import validate_central
from schemas.contract import QUARANTINE_COLUMNS
from schemas.normalize import to_tcvn3, to_vni

FUTURE = (pd.Timestamp.today() + pd.DateOffset(years=1)).strftime("%d/%m/%Y")


def roster_with(*rows: list) -> list[list]:
    return [list(r) for r in rows]


def r(**kw) -> list:
    """A roster row: the first good row with some columns replaced."""
    base = dict(
        zip(["code", "name", "birth", "gender", "pid", "adm", "off", "status"], GOOD_ROSTER[0], strict=True)
    )
    base.update(kw)
    return list(base.values())


def moji(text: str) -> str:
    return "".join(bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in text.encode("utf-8"))


@dataclass
class WCase:
    name: str
    build: Callable[[Path], Path]
    error: str | None = None  # substring of the file-level message
    quarantine: set[tuple[str, int, str]] = field(default_factory=set)
    notes: set[tuple[str, int, str]] = field(default_factory=set)  # subset expected
    warnings: list[str] = field(default_factory=list)  # substrings of file-level warnings
    check: Callable[[object], None] | None = None


def wb(name: str, **kw) -> Callable[[Path], Path]:
    # The file name carries the cell code (one cell, one voice: connectors.workbooks.name_agrees).
    return lambda d: write_workbook(d / f"{name}_{CELL}.xlsx", **kw)


def raw_file(name: str, content: bytes) -> Callable[[Path], Path]:
    def build(d: Path) -> Path:
        p = d / name
        p.write_bytes(content)
        return p

    return build


def _ole(encrypted: bool) -> bytes:
    """A minimal OLE2 compound-file header; an encrypted xlsx names an EncryptedPackage stream."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16 + b"\x3e\x00\x03\x00\xfe\xff\x09\x00"
    body = b"\x00" * (512 - len(header))
    names = (
        "EncryptionInfo".encode("utf-16-le") + b"\x00" * 8 + "EncryptedPackage".encode("utf-16-le")
        if encrypted
        else "Workbook".encode("utf-16-le")
    )
    return header + body + names + b"\x00" * 1024


def _corrupt_zip(d: Path) -> Path:
    p = d / "corrupt.xlsx"
    good = write_workbook(d / "tmp_good.xlsx")
    p.write_bytes(good.read_bytes()[:400])  # truncated: a zip with no central directory
    good.unlink()
    return p


def _zip_not_excel(d: Path) -> Path:
    p = d / "archive.xlsx"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("readme.txt", "không phải Excel")
    return p


def _two_same_cell(d: Path) -> Path:
    write_workbook(d / f"a_old_{CELL}.xlsx", info=info_rows(created="01/11/2026"))
    return write_workbook(d / f"b_new_{CELL}.xlsx", info=info_rows(created="10/11/2026"))


def _nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def _assert_name(expected: str) -> Callable[[object], None]:
    def check(res) -> None:
        assert res.tables["roster"]["full_name"].iloc[0] == expected

    return check


def _assert_roster(column: str, expected) -> Callable[[object], None]:
    def check(res) -> None:
        assert res.tables["roster"][column].iloc[0] == expected

    return check


ROSTER_H = headers("DanhSach")
ACT_H = headers("SinhHoat")

WORKBOOK_CASES: list[WCase] = [
    WCase("good", wb("good")),
    WCase(
        "member_codes_as_numbers",
        wb("num_codes", roster=[r(code=1001), GOOD_ROSTER[1]]),
        notes={("DanhSach", 2, "code_leading_zero")},
        check=_assert_roster("member_code", "0001001"),
    ),
    WCase(
        "cccd_as_number_11_digits",
        wb("num_id", roster=[r(pid=79080123456, birth="05/04/1980")]),
        notes={("DanhSach", 2, "id_leading_zero")},
        check=_assert_roster("personal_id", "079080123456"),
    ),
    WCase(
        "cccd_as_number_10_digits",
        wb("num_id10", roster=[r(pid=1080123456)]),
        notes={("DanhSach", 2, "id_leading_zero")},
        check=_assert_roster("personal_id", "001080123456"),
    ),
    WCase("nfd_name", wb("nfd", roster=[r(name=_nfd("Nguyễn Văn An"))]), check=_assert_name("Nguyễn Văn An")),
    WCase(
        "tcvn3_name",
        wb("tcvn3", roster=[r(name=to_tcvn3("Nguyễn Văn An"))]),
        notes={("DanhSach", 2, "encoding_tcvn3")},
        check=_assert_name("Nguyễn Văn An"),
    ),
    WCase(
        "vni_name",
        wb("vni", roster=[r(name=to_vni("Trần Thị Hoà"))]),
        notes={("DanhSach", 2, "encoding_vni")},
        check=_assert_name("Trần Thị Hoà"),
    ),
    WCase(
        "utf8_read_as_cp1252",
        wb("moji", roster=[r(name=moji("Đặng Quốc Vượng"))]),
        notes={("DanhSach", 2, "encoding_utf8_as_cp1252")},
        check=_assert_name("Đặng Quốc Vượng"),
    ),
    WCase(
        "unconvertible_encoding",
        wb("garbled", roster=[r(name="Nguy¶¶n ø§Çn")]),
        notes={("DanhSach", 2, "encoding_uncertain")},
    ),
    WCase(
        "upper_case_double_spaces",
        wb("spaces", roster=[r(name="  NGUYỄN   VĂN  AN ")]),
        check=_assert_name("NGUYỄN VĂN AN"),
    ),
    WCase(
        "mm_dd_date",
        wb("mmdd", roster=[r(birth="12/25/1980")]),
        notes={("DanhSach", 2, "unreadable_date")},
        check=_assert_roster("birth_date", pd.NaT) if False else None,
    ),
    WCase(
        "dd_mm_never_swapped",
        wb("ddmm", roster=[r(birth="05/04/1980")]),
        check=_assert_roster("birth_date", pd.Timestamp("1980-04-05")),
    ),
    WCase(
        "date_forms",
        wb("forms", roster=[r(birth="5.4.1980", adm="3-2-2010", off="2011-02-03")]),
        check=_assert_roster("admission_date", pd.Timestamp("2010-02-03")),
    ),
    WCase(
        "excel_serial_and_date_cells",
        wb("serial", roster=[r(birth=29316, adm=dt.date(2010, 2, 3))]),
        check=_assert_roster("birth_date", pd.Timestamp("1980-04-05")),
    ),
    WCase(
        "serial_as_text",
        wb("serialtext", roster=[r(birth="29316")]),
        check=_assert_roster("birth_date", pd.Timestamp("1980-04-05")),
    ),
    WCase(
        "date_in_future", wb("future", roster=[r(off=FUTURE)]), notes={("DanhSach", 2, "dates_not_future")}
    ),
    WCase(
        "two_digit_year", wb("yy", roster=[r(birth="05/04/80")]), notes={("DanhSach", 2, "unreadable_date")}
    ),
    WCase(
        "missing_member_code",
        wb("nokey", roster=[GOOD_ROSTER[0], r(code="")]),
        quarantine={("DanhSach", 3, "missing_required")},
    ),
    WCase(
        "duplicate_member_rows",
        wb("dup", roster=[GOOD_ROSTER[0], GOOD_ROSTER[1], GOOD_ROSTER[0]]),
        quarantine={("DanhSach", 4, "duplicate_key")},
    ),
    WCase(
        "unknown_status",
        wb("status", roster=[r(status="Nghỉ")]),
        quarantine={("DanhSach", 2, "unknown_value")},
    ),
    WCase(
        "empty_status_defaults",
        wb("nostatus", roster=[r(status="")]),
        notes={("DanhSach", 2, "default_value")},
    ),
    WCase(
        "id_disagrees_with_birth",
        wb("idbirth", roster=[r(pid="001185123456")]),
        notes={("DanhSach", 2, "id_matches_birth")},
    ),
    WCase(
        "id_wrong_gender",
        wb("idgender", roster=[r(pid="001180123456")]),
        notes={("DanhSach", 2, "id_matches_birth")},
    ),
    WCase(
        "id_malformed", wb("idbad", roster=[r(pid="0010801234X6")]), notes={("DanhSach", 2, "id_well_formed")}
    ),
    WCase(
        "official_not_12_months",
        wb("off12", roster=[r(off="04/02/2011")]),
        notes={("DanhSach", 2, "official_after_12_months")},
    ),
    WCase(
        "official_before_ceremony",
        wb("offbefore", roster=[r(off="03/02/2009")]),
        notes={("DanhSach", 2, "ceremony_le_official")},
    ),
    WCase(
        "under_18_at_admission",
        wb("minor", roster=[r(birth="05/04/1995")]),
        notes={("DanhSach", 2, "adult_at_admission")},
    ),
    WCase(
        "activity_bad_values",
        wb(
            "act",
            sheets={
                "SinhHoat": [
                    ACT_H,
                    ["0001001", "10/2026", "Có", "", "x"],
                    ["0001002", "13/2026", "Có", "", "x"],
                    ["0001003", "10/2026", "?", "", ""],
                    ["0001001", "10/2026", "", "", ""],
                ]
            },
        ),
        quarantine={
            ("SinhHoat", 3, "unreadable_month"),
            ("SinhHoat", 4, "unreadable_bool"),
            ("SinhHoat", 5, "duplicate_key"),
        },
    ),
    WCase(
        "ratings_text_and_unknown",
        wb(
            "xl",
            sheets={
                "XepLoai": [
                    headers("XepLoai"),
                    ["0001001", 2025, "Hoàn thành tốt nhiệm vụ"],
                    ["0001002", "2025", "Tốt"],
                    ["0001003", "năm ngoái", "HTNV"],
                ]
            },
        ),
        quarantine={("XepLoai", 3, "unknown_value"), ("XepLoai", 4, "unreadable_int")},
    ),
    WCase(
        "screening_category_out_of_range",
        wb("dg", sheets={"DanhGia": [headers("DanhGia"), ["0001001", 4, "x"], ["0001002", 7, ""]]}),
        quarantine={("DanhGia", 3, "isin")},
    ),
    WCase(
        "candidate_without_id",
        wb(
            "ct",
            sheets={
                "CamTinh": [
                    headers("CamTinh"),
                    ["", "Vũ Thị Hạnh", "01/01/2000", "Cán bộ"],
                    ["001300000123", "Vũ Thị Hà", "01/01/2000", "Sinh viên"],
                ]
            },
        ),
        quarantine={("CamTinh", 2, "missing_required"), ("CamTinh", 3, "unknown_value")},
    ),
    WCase(
        "transfer_unknown_kind",
        wb(
            "cd",
            sheets={
                "ChuyenDi": [
                    headers("ChuyenDi"),
                    ["0001001", "Chính thức", "Chi bộ X", "01/10/2026", "", "09/2026"],
                    ["0001002", "Luân chuyển", "Chi bộ Y", "01/10/2026", "", ""],
                ]
            },
        ),
        quarantine={("ChuyenDi", 3, "unknown_value")},
    ),
    WCase(
        "header_variants",
        wb(
            "hv",
            sheets={"DanhSach": [[h.upper().replace("Ố", "O") for h in ROSTER_H], *GOOD_ROSTER]},
            roster=False,
        ),
    ),
    WCase(
        "title_rows_above_header",
        wb(
            "title",
            roster=False,
            sheets={"DanhSach": [["DANH SÁCH ĐẢNG VIÊN"], [], ROSTER_H, GOOD_ROSTER[0], [], r(code="")]},
        ),
        quarantine={("DanhSach", 6, "missing_required")},
    ),
    WCase("sheet_name_variant", wb("sn", roster=False, sheets={"Danh sách": [ROSTER_H, *GOOD_ROSTER]})),
    WCase(
        "numeric_cell_code",
        wb("cc", info=info_rows(cell="93.15.0.1.2")),
        check=lambda res: res.meta["cell_code"] == CELL or pytest.fail(res.meta["cell_code"]),
    ),
    WCase(
        "extra_unknown_header",
        wb(
            "extra", roster=False, sheets={"DanhSach": [[*ROSTER_H, "Quê quán"], [*GOOD_ROSTER[0], "Hà Nội"]]}
        ),
        warnings=["cột không có trong mẫu"],
    ),
    WCase("formulas", wb("formula", formulas=True), warnings=["công thức"]),
    WCase(
        "optional_sheet_without_key_column",
        wb("optbad", sheets={"SinhHoat": [["Mã đảng viên", "Dự sinh hoạt"], ["0001001", "Có"]]}),
        warnings=["SinhHoat: thiếu cột Tháng"],
    ),
    # --- file-level faults ---
    WCase("empty_file", raw_file("empty.xlsx", b""), error="tệp rỗng"),
    WCase(
        "text_renamed_xlsx",
        raw_file("notes.xlsx", "Danh sách đảng viên\n".encode()),
        error="không phải tệp Excel",
    ),
    WCase("zip_not_excel", _zip_not_excel, error="bị hỏng"),
    WCase("truncated_xlsx", _corrupt_zip, error="bị hỏng"),
    WCase("password_protected", raw_file("locked.xlsx", _ole(encrypted=True)), error="mật khẩu"),
    WCase("legacy_xls", raw_file("old.xlsx", _ole(encrypted=False)), error=".xls"),
    WCase("missing_danhsach", wb("nods", roster=False), error="thiếu sheet DanhSach"),
    WCase("missing_thongtin", wb("noinfo", info=False), error="thiếu sheet ThongTin"),
    WCase("missing_period", wb("noperiod", info=[["Mã chi bộ", CELL]]), error="thiếu Kỳ báo cáo"),
    WCase("unreadable_period", wb("badperiod", info=info_rows(period="tháng mười")), error="Kỳ báo cáo"),
    WCase(
        "missing_key_header",
        wb("nokeyhdr", roster=False, sheets={"DanhSach": [["Mã ĐV", *ROSTER_H[1:]], *GOOD_ROSTER]}),
        error="thiếu cột Mã đảng viên",
    ),
    WCase("merged_header_cells", wb("merged", merge_header="DanhSach"), error="gộp"),
]


@pytest.mark.parametrize("case", WORKBOOK_CASES, ids=lambda c: c.name)
def test_workbook_case(case: WCase, tmp_path: Path) -> None:
    path = case.build(tmp_path)
    res = parse_workbook(path)
    if case.error:
        assert res.error is not None, res.meta
        assert path.name in res.error and case.error in res.error, res.error
        assert res.tables == {}
    else:
        assert res.error is None, res.error
    # conservation, sheet by sheet
    for sheet, n in res.meta["rows_read"].items():
        assert n == res.meta["rows_accepted"][sheet] + res.meta["rows_quarantined"][sheet], sheet
        assert len(res.quarantine[res.quarantine["sheet"] == sheet]) == res.meta["rows_quarantined"][sheet]
    assert list(res.quarantine.columns) == QUARANTINE_COLUMNS
    got_q = {
        (s, int(row), rule)
        for s, row, rule in res.quarantine[["sheet", "row", "rule"]].itertuples(index=False)
    }
    assert {(s, row, rule.split(";")[0]) for s, row, rule in got_q} == case.quarantine
    assert res.quarantine["message"].str.startswith("Dòng ").all()
    notes = notes_frame(res)
    got_n = {(s, int(row), rule) for s, row, rule in notes[["sheet", "row", "rule"]].itertuples(index=False)}
    assert case.notes <= got_n, got_n
    for w in case.warnings:
        assert any(w in x for x in res.meta["warnings"]), res.meta["warnings"]
    if case.check:
        case.check(res)
    # the same file through the folder reader: one report entry, same counts, nothing lost
    data, q, report = read_submissions(tmp_path, workers=1)
    entry = next(e for e in report if e["file"] == path.name)
    assert entry["counts"]["read"] == entry["counts"]["accepted"] + entry["counts"]["quarantined"]
    if case.error:
        assert entry["status"] == "rejected" and entry["message"] == res.error


def test_corpus_size() -> None:
    assert len(WORKBOOK_CASES) + len(CENTRAL_CASES) >= 40


def test_personal_data_masked_in_quarantine(tmp_path: Path) -> None:
    bad = [r(code="", name="Nguyễn Văn An", pid="001080123456")]
    res = parse_workbook(
        write_workbook(
            tmp_path / f"m_{CELL}.xlsx",
            roster=bad,
            sheets={"CamTinh": [headers("CamTinh"), ["001300000123", "Vũ Thị Hà", "01/01/2000", "Học sinh"]]},
        )
    )
    assert "Nguyễn" not in res.quarantine.to_csv() and "001300000123" not in res.quarantine.to_csv()
    row = res.quarantine[res.quarantine["sheet"] == "CamTinh"].iloc[0]
    assert row["column"] == "candidate_kind"


def test_two_workbooks_same_cell_and_period(tmp_path: Path) -> None:
    _two_same_cell(tmp_path)
    other = "other_93.015.000.001.003.xlsx"
    write_workbook(tmp_path / other, info=info_rows(cell="93.015.000.001.003"))
    data, q, report = read_submissions(tmp_path, workers=1)
    status = {e["file"]: e["status"] for e in report}
    old, new = f"a_old_{CELL}.xlsx", f"b_new_{CELL}.xlsx"
    assert status == {old: "duplicate", new: "accepted", other: "accepted"}
    assert new in next(e["message"] for e in report if e["file"] == old)
    assert set(data.roster["_source"]) == {new, other}
    assert data.workbooks.set_index("_source")["superseded"].to_dict() == {
        old: True,
        new: False,
        other: False,
    }


def test_folder_never_stops_and_conserves(tmp_path: Path) -> None:
    """Every corpus file in one folder, parsed in 2 processes: the good ones are all there."""
    for case in WORKBOOK_CASES:
        sub = tmp_path / case.name
        sub.mkdir()
        case.build(sub)
    (tmp_path / "~$open.xlsx").write_bytes(b"lock")
    data, q, report = read_submissions(tmp_path, workers=2)
    by_status = pd.Series([e["status"] for e in report]).value_counts().to_dict()
    assert by_status["rejected"] == sum(1 for c in WORKBOOK_CASES if c.error)
    for e in report:
        assert e["counts"]["read"] == e["counts"]["accepted"] + e["counts"]["quarantined"]
    kept = [e for e in report if e["status"] == "accepted"]
    assert len(data.roster) == sum(
        e["counts"]["per_sheet"].get("DanhSach", {}).get("accepted", 0) for e in kept
    )
    assert (data.roster["_row"] >= 2).all()
    # all workbooks share a cell and period: every accepted one but the latest is a duplicate
    assert by_status.get("duplicate", 0) >= 1


def test_period_filter_and_skip_checksums(tmp_path: Path) -> None:
    oct_, sep = f"oct_{CELL}.xlsx", f"sep_{CELL}.xlsx"
    write_workbook(tmp_path / oct_)
    p = write_workbook(tmp_path / sep, info=info_rows(period="09/2026"))
    data, _, report = read_submissions(tmp_path, period="2026-10", workers=1)
    assert {e["file"]: e["status"] for e in report} == {oct_: "accepted", sep: "skipped"}
    import hashlib

    done = {hashlib.sha256(p.read_bytes()).hexdigest()}
    data, _, report = read_submissions(tmp_path, workers=1, skip_checksums=done)
    assert {e["file"]: e["status"] for e in report} == {oct_: "accepted", sep: "skipped"}
    assert set(data.roster["period"]) == {"2026-10"}


# --- central rows --------------------------------------------------------------------------------
@dataclass
class CCase:
    name: str
    frames: dict[str, pd.DataFrame]
    quarantine: set[tuple[str, int, str]] = field(default_factory=set)  # (table, record no., rule)
    warnings: set[tuple[str, str]] = field(default_factory=set)  # (table, rule) counted
    normalized: set[tuple[str, str]] = field(default_factory=set)
    check: Callable[[object], None] | None = None


def _member(code: str = "0001002", **kw) -> dict:
    return {
        "member_code": code,
        "personal_id": "079185000111",
        "birth_date": "1985-11-12",
        "gender": "Nữ",
        "full_name": "Trần Thị Bình",
        "updated_at": "2025-01-01",
    } | kw


CENTRAL_CASES: list[CCase] = [
    CCase(
        "member_without_key", central_frames([{}, _member(code=None)]), {("members", 2, "missing_required")}
    ),
    CCase(
        "duplicate_member_latest_kept",
        central_frames(
            [
                {},
                _member(updated_at="2024-01-01"),
                _member(full_name="Trần Thị Bình Mới", updated_at="2026-01-01"),
            ]
        ),
        {("members", 2, "duplicate_key")},
        check=lambda d: (
            d.members.set_index("member_code").loc["0001002", "full_name"] == "Trần Thị Bình Mới"
            or pytest.fail("latest not kept")
        ),
    ),
    CCase(
        "malformed_id_stays",
        central_frames([{}, _member(personal_id="0791850X0111")]),
        warnings={("members", "id_well_formed")},
    ),
    CCase(
        "id_disagrees_birth_stays",
        central_frames([{}, _member(personal_id="079085000111")]),
        warnings={("members", "id_matches_birth")},
    ),
    CCase(
        "dates_disagree_stay",
        central_frames(
            [
                {},
                _member(
                    admission_decision_date="2012-05-01",
                    admission_date="2012-04-01",
                    official_date="2013-05-01",
                ),
            ]
        ),
        warnings={("members", "decision_le_ceremony"), ("members", "official_after_12_months")},
    ),
    CCase(
        "unknown_status", central_frames([{}, _member(status="archived")]), {("members", 2, "unknown_value")}
    ),
    CCase(
        "missing_cell", central_frames([{}, _member(cell_code=None)]), {("members", 2, "missing_required")}
    ),
    CCase(
        "tcvn3_name_converted",
        central_frames([{}, _member(full_name=to_tcvn3("Trần Thị Bình"))]),
        normalized={("members", "encoding_tcvn3")},
        check=lambda d: (d.members["full_name"] == "Trần Thị Bình").any() or pytest.fail("not converted"),
    ),
    CCase(
        "mixed_date_types",
        central_frames(
            [
                {"birth_date": dt.date(1980, 4, 5)},
                _member(birth_date=pd.Timestamp("1985-11-12")),
                _member(code="0001003", birth_date="12/11/1985"),
                _member(code="0001004", birth_date=dt.datetime(1985, 11, 12)),
            ]
        ),
        check=lambda d: d.members["birth_date"].notna().all() or pytest.fail("dates lost"),
    ),
    CCase(
        "unreadable_birth_date_stays",
        central_frames([{}, _member(birth_date="1985-13-45")]),
        warnings={("members", "unreadable_date")},
    ),
    CCase(
        "eleven_digit_id_restored",
        central_frames([{}, _member(personal_id="79185000111")]),
        normalized={("members", "id_leading_zero")},
        check=lambda d: "079185000111" in set(d.members["personal_id"]) or pytest.fail("not restored"),
    ),
    CCase(
        "future_birth_stays",
        central_frames([{}, _member(birth_date="2099-01-01")]),
        warnings={("members", "dates_not_future")},
    ),
    CCase(
        "probationary_with_card_stays",
        central_frames([{}, _member(official_date=None, card_no="87654321")]),
        warnings={("members", "probationary_without_card")},
    ),
    CCase(
        "ratings_strings_and_bad_year",
        central_frames(
            [{}],
            ratings=[
                {"member_code": "0001001", "year": "2024.0", "rating": "Hoàn thành tốt nhiệm vụ"},
                {"member_code": "0001001", "year": "abc", "rating": "HTNV"},
                {"member_code": "0001001", "year": 2025, "rating": "Giỏi"},
            ],
        ),
        {("ratings", 2, "unreadable_int"), ("ratings", 3, "unknown_value")},
    ),
    CCase(
        "transfers_without_id_or_kind",
        central_frames(
            [{}],
            transfers=[
                {
                    "transfer_id": "T1",
                    "member_code": "0001001",
                    "kind": "official",
                    "letter_date": "2026-09-01",
                },
                {"transfer_id": None, "member_code": "0001001", "kind": "official"},
                {"transfer_id": "T3", "member_code": "0001001", "kind": "lateral"},
            ],
        ),
        {("transfers", 2, "missing_required"), ("transfers", 3, "unknown_value")},
    ),
    CCase(
        "organizations_kind_and_codes",
        {
            "members": central_frames([{}])["members"],
            "organizations": pd.DataFrame(
                [
                    {
                        "org_code": "93.15.0.1.2",
                        "name": "Chi bộ",
                        "kind": "cell",
                        "parent_code": None,
                        "active": "1",
                    },
                    {
                        "org_code": "93.015.000.001.009",
                        "name": "?",
                        "kind": "team",
                        "parent_code": None,
                        "active": 1,
                    },
                ]
            ),
        },
        {("organizations", 2, "unknown_value")},
        normalized={("organizations", "code_leading_zero")},
    ),
    CCase(
        "discipline_unreadable_date",
        central_frames(
            [{}],
            disciplines=[
                {
                    "member_code": "0001001",
                    "decided_on": "hôm qua",
                    "form": "Khiển trách",
                    "decided_by": "Chi bộ",
                },
                {
                    "member_code": "0001001",
                    "decided_on": "2026-01-05",
                    "form": "Cảnh cáo",
                    "decided_by": "Đảng ủy",
                },
            ],
        ),
        {("disciplines", 1, "unreadable_date")},
    ),
    CCase(
        "activity_gap_backwards",
        central_frames(
            [{}],
            activity_gaps=[{"member_code": "0001001", "from_date": "2020-05-01", "to_date": "2019-01-01"}],
        ),
        warnings={("activity_gaps", "from_le_to")},
    ),
]


@pytest.mark.parametrize("case", CENTRAL_CASES, ids=lambda c: c.name)
def test_central_case(case: CCase) -> None:
    notes: list = []
    data, q, counts = validate_central(case.frames, notes_out=notes)
    for table, c in counts.items():
        assert c["read"] == c["accepted"] + c["quarantined"], table
        assert len(data.tables()[table]) == c["accepted"]
        assert c["quarantined"] == int((q["sheet"] == table).sum())
    got = {
        (s, int(row), rule.split(";")[0])
        for s, row, rule in q[["sheet", "row", "rule"]].itertuples(index=False)
    }
    assert got == case.quarantine
    for table, rule in case.warnings:
        assert counts[table]["warnings"].get(rule, 0) >= 1, counts[table]
    for table, rule in case.normalized:
        assert counts[table]["normalized"].get(rule, 0) >= 1, counts[table]
    assert q["message"].str.startswith("Bản ghi ").all()
    if case.check:
        case.check(data)


def test_central_member_with_bad_id_is_never_quarantined() -> None:
    frames = central_frames(
        [
            {},
            _member(personal_id="12"),
            _member(code="0001003", personal_id="0791850001119999", admission_date="2030-01-01"),
        ]
    )
    data, q, counts = validate_central(frames)
    assert set(data.members["member_code"]) == {"0001001", "0001002", "0001003"}
    assert q.empty
