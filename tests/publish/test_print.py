"""Issue #18: a committee workbook prints (LibreOffice headless, A4) on few legible pages.

The workbook is rendered to PDF with ``soffice --headless --convert-to pdf``, as a secretary's
office suite would print it: every sheet one page wide, landscape; pages at most one per sheet
plus one per 25 findings; the header row again at the top of every page of a long list; every
finding on paper; text at a readable size. LibreOffice is installed by
``.ci/system-deps-print.sh`` (``make system-deps``): without it this test fails, it never skips.
"""

from __future__ import annotations

import math
import re
import shutil
import statistics
import subprocess
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from connectors.publish._workbook import HEADER_ROW, LINE_PT, wrapped_lines
from connectors.publish.labels import COLUMN_HEADERS, LIST_SHEET_NAMES, LIST_TITLES
from connectors.publish.xlsx import committee_workbook_path, write_committee_workbooks
from rules.findings import finalize, make_findings
from schemas.lists import LISTS

AS_OF = pd.Timestamp("2026-11-16")
LONG_LIST = "DOSSIER_MISSING_DOC"
LONG_ROWS = 60
INSTALL = "bash .ci/system-deps-print.sh (make system-deps)"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:  # CI installs it: a missing renderer is a broken machine, not a reason to skip
        pytest.fail(f"{name} is not installed; the print test needs it: {INSTALL}")
    return path


def _orgs() -> pd.DataFrame:
    rows = [
        ("93.001.000.009.000", "Đảng bộ Công ty Cổ phần Cờ Đỏ 9", "grassroots_committee", None, True),
        *[
            (
                f"93.001.000.009.00{i}",
                f"Chi bộ phòng Kế hoạch – Tài chính số {i}",
                "cell",
                "93.001.000.009.000",
                True,
            )
            for i in range(1, 5)
        ],
    ]
    return pd.DataFrame(rows, columns=["org_code", "name", "kind", "parent_code", "active"])


def _detail(i: int, code: str) -> str:
    """As long as the rules' sentences: a missing document's about 110 characters (the list that
    grows long), the others about 230 (a transfer's, names and codes included)."""
    if code == LONG_LIST:
        return f"Hồ sơ đảng viên 93{i:08d} (Nguyễn Thị Thanh Hương) thiếu phiếu bổ sung hồ sơ đảng viên (mẫu 3-HSĐV) năm 2025."
    return (
        f"Đảng viên 93{i:08d} (Nguyễn Thị Thanh Hương) có tên trong danh sách đảng viên của Chi bộ "
        f"phòng Kế hoạch – Tài chính số {i % 4 + 1} (93.001.000.009.00{i % 4 + 1}) kỳ 10/2026, "
        f"{LIST_TITLES[code].lower()}; đề nghị chi bộ kiểm tra và báo cáo cấp ủy trước ngày 30/11/2026."
    )


def _findings() -> pd.DataFrame:
    parts = []
    for code, spec in LISTS.items():
        n = LONG_ROWS if code == LONG_LIST else 1 + len(code) % 2
        frame = pd.DataFrame({"i": range(n)})
        frame["member"] = [f"93{i:08d}" if spec.subject == "member" else f"********{i:04d}" for i in range(n)]
        frame["field"] = [spec.fields[i % len(spec.fields)] for i in range(n)]
        frame["org"] = [f"93.001.000.009.00{i % 4 + 1}" for i in range(n)]
        frame["detail"] = [_detail(i, code) for i in range(n)]
        parts.append(
            make_findings(
                code,
                frame,
                org_code="org",
                member_code="member" if spec.subject != "none" else None,
                field="field",
                # As the rules fill them: a missing document has no values to compare.
                central_value=None
                if code == LONG_LIST
                else pd.Series("2026-09", index=frame.index, dtype="string"),
                cell_value=None
                if code == LONG_LIST
                else pd.Series("2026-10", index=frame.index, dtype="string"),
                detail="detail",
                ref=frame["i"].astype("string"),
            )
        )
    return finalize(pd.concat(parts, ignore_index=True), _orgs(), AS_OF)


def _pdf_pages(pdf: Path) -> list[str]:
    info = subprocess.run([_tool("pdfinfo"), str(pdf)], capture_output=True, text=True, check=True).stdout
    n = int(re.search(r"^Pages:\s+(\d+)", info, flags=re.M)[1])
    text = subprocess.run(
        [_tool("pdftotext"), "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    pages = text.split("\f")
    return pages[:n]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> tuple[Path, Path, pd.DataFrame]:
    soffice = _tool("soffice")
    out = tmp_path_factory.mktemp("print")
    findings = _findings()
    write_committee_workbooks(findings, _orgs(), out, AS_OF.date(), workers=1)
    xlsx = committee_workbook_path(out, "93.001.000.009.000")
    profile = out / "lo-profile"  # a private LibreOffice profile: tests may run side by side
    proc = subprocess.run(
        [
            soffice,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            "pdf",
            "--outdir",
            str(out / "pdf"),
            str(xlsx),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    pdf = out / "pdf" / (xlsx.stem + ".pdf")
    assert proc.returncode == 0 and pdf.exists(), proc.stdout + proc.stderr
    return xlsx, pdf, findings


def test_pages_few_and_every_finding_printed(rendered) -> None:
    xlsx, pdf, findings = rendered
    sheets = openpyxl.load_workbook(xlsx, read_only=True).sheetnames
    pages = _pdf_pages(pdf)
    assert len(sheets) == 1 + len(LISTS)
    # One page wide: a sheet is at least one page; a page holds about 25 findings or more.
    assert len(sheets) <= len(pages) <= len(sheets) + math.ceil(len(findings) / 25), (len(pages), len(sheets))
    text = "".join(pages)
    missing = [f for f in findings["finding_id"] if f not in text]
    assert not missing, f"{len(missing)} findings not on paper, e.g. {missing[:3]}"


def test_long_list_repeats_its_header_on_every_page(rendered) -> None:
    _, pdf, _ = rendered
    pages = _pdf_pages(pdf)
    # The page header (top margin) names the list on every page of its sheet.
    title = LIST_TITLES[LONG_LIST]
    mine = [p for p in pages if title in " ".join(p.split("\n", 1)[0].split())]
    assert len(mine) >= 2, "the long list should need more than one page"
    assert all(COLUMN_HEADERS["finding_id"] in p and COLUMN_HEADERS["detail"] in p for p in mine)
    assert all(re.search(r"Trang \d+/\d+", p) for p in pages)


def test_text_legible_not_shrunk(rendered) -> None:
    """Word boxes of a list page: the body text (11 pt, scaled to fit one page wide) prints at
    about 7 pt or more (word boxes of 8 pt and more), not at the 6 pt of a sheet far wider than
    the paper (the answer columns of issue #20 included in the page width)."""
    _, pdf, _ = rendered
    html = subprocess.run(
        [_tool("pdftotext"), "-bbox", "-f", "3", "-l", "3", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    heights = [
        float(b) - float(a) for a, b in re.findall(r'yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)"', html)
    ]
    assert len(heights) > 50
    assert statistics.median(heights) >= 8.0, statistics.median(heights)


def test_row_heights_fit_wrapped_text_and_headers(rendered) -> None:
    xlsx, _, _ = rendered
    wb = openpyxl.load_workbook(xlsx)
    for code in (LONG_LIST, "ADMISSION_NOT_ELIGIBLE", "TRANSFER_FEES_GAP"):
        ws = wb[LIST_SHEET_NAMES[code]]
        header = [c.value for c in ws[HEADER_ROW + 1]]
        assert ws.row_dimensions[HEADER_ROW + 1].height >= 2 * LINE_PT  # two-line headers, not cut
        col = header.index(COLUMN_HEADERS["detail"]) + 1
        width = ws.column_dimensions[openpyxl.utils.get_column_letter(col)].width
        for r in range(HEADER_ROW + 2, ws.max_row + 1):
            lines = wrapped_lines(ws.cell(r, col).value, width)
            assert lines >= 2 and ws.row_dimensions[r].height >= lines * LINE_PT
        assert ws.cell(HEADER_ROW + 2, col).alignment.wrap_text
    fees = wb[LIST_SHEET_NAMES["TRANSFER_FEES_GAP"]]
    values = {c.value for row in fees.iter_rows(min_row=HEADER_ROW + 2) for c in row}
    assert {"09/2026", "10/2026"} <= values and not {"2026-09", "2026-10"} & values
