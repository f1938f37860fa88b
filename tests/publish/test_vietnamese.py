"""Issue #18: Vietnamese wherever a person reads, from one table of labels.

On the bundled demo, no cell of any committee workbook and no visible text of the board report
shows an internal code (list codes, field names, statuses, person types, ...) as a whole word;
findings.csv keeps its codes (list_code, field) and only its `detail` is Vietnamese throughout.
The registry of lists agrees with the contract, the labels, the rules and the demo generator.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from connectors.publish import labels as publish_labels
from connectors.publish._workbook import HEADER_ROW, SUMMARY_SHEET
from dvsync.demo.generator import FIELD
from rules import findings as rule_findings
from rules import transfers as tr
from schemas import contract, labels, lists

# Whole words only: a code inside a longer token (an e-mail, a file name) is not a label.
CODE_RE = re.compile(
    r"(?<![\w-])("
    + "|".join(sorted(map(re.escape, labels.INTERNAL_CODES), key=len, reverse=True))
    + r")(?![\w-])"
)


def codes_in(text: object) -> list[str]:
    return CODE_RE.findall(str(text)) if text is not None else []


class VisibleText(HTMLParser):
    """The text a reader sees: no <style>/<script>, no SVG tooltips (<title> inside <svg>), no
    attribute values (a `title` attribute is a tooltip)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.stack: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.stack.append(tag)

    def handle_endtag(self, tag):
        while self.stack and self.stack.pop() != tag:
            pass

    def handle_data(self, data):
        hidden = {"style", "script"} & set(self.stack) or ("svg" in self.stack and "title" in self.stack)
        if not hidden and data.strip():
            self.parts.append(data)


def visible_text(html: str) -> list[str]:
    p = VisibleText()
    p.feed(html)
    return p.parts


# --- one registry -------------------------------------------------------------------------------
def test_one_registry_of_lists_everywhere() -> None:
    assert lists.CODES == contract.LIST_CODES
    assert list(publish_labels.LIST_TITLES) == lists.CODES == list(publish_labels.LIST_SHEET_NAMES)
    assert list(rule_findings.LISTS) == lists.CODES
    assert all(rule_findings.LISTS[c] == (s.severity, s.source) for c, s in lists.LISTS.items())
    # The demo generator's table of `field` per list agrees with the registry.
    assert set(FIELD) <= set(lists.CODES)
    assert all(FIELD[c] in lists.LISTS[c].fields for c in FIELD)
    assert {s.family for s in lists.LISTS.values()} == set(lists.FAMILIES)
    sheets = list(lists.SHEET_NAMES.values())
    assert len(set(sheets)) == len(sheets) and all(len(n) <= 31 for n in sheets)
    # Every field value a list can carry has a Vietnamese label.
    assert all(not codes_in(labels.field_label(f)) for f in lists.ALL_FIELDS)


def test_schemas_is_the_bottom_floor() -> None:
    for module in ("lists", "labels"):
        source = (Path(contract.__file__).parent / f"{module}.py").read_text(encoding="utf-8")
        imports = re.findall(r"^\s*(?:from|import)\s+([\w.]+)", source, flags=re.M)
        assert not [m for m in imports if m.split(".")[0] in {"dvsync", "flows", "connectors", "rules"}]


def test_labels_and_conventions() -> None:
    assert labels.FIELD_LABELS["received_on"] == "Ngày tiếp nhận"
    assert labels.FIELD_LABELS["fees_paid_through"] == "Đảng phí đã đóng hết tháng"
    assert labels.MEMBER_STATUS_LABELS["deceased"] == "Đã từ trần"
    assert labels.PERSON_TYPE_LABELS == {"cadre": "Cán bộ", "student": "Học sinh, sinh viên"}
    assert labels.value_label("fees_paid_through", "2026-09") == "09/2026"
    assert labels.value_label("status", "removed") == "Đã xoá tên"
    assert labels.value_label("birth_date", "1985-07-14") == "14/07/1985"
    assert labels.vn_number(3005) == "3.005" and labels.vn_number(1234567) == "1.234.567"
    codes = pd.Series(["93.001", "99.999", None], dtype="string")
    got = labels.org_phrase(codes, {"93.001": "Chi bộ 3"}).tolist()
    assert got[:2] == ["Chi bộ 3 (93.001)", "99.999 (ngoài phạm vi CSDL)"] and pd.isna(got[2])


def test_transfer_details_name_organisations() -> None:
    orgs = pd.DataFrame(
        {
            "org_code": ["93.001.000.001", "93.001.000.003"],
            "name": ["Chi bộ 1", "Chi bộ 3"],
            "kind": ["cell", "cell"],
            "parent_code": [None, None],
            "active": [True, True],
        }
    )
    members = pd.DataFrame(
        {
            "member_code": ["M1", "M2"],
            "full_name": ["Nguyễn Văn An", "Trần Thị Bình"],
            "cell_code": ["93.001.000.001", "93.001.000.001"],
            "status": ["active", "active"],
        }
    )
    transfers = pd.DataFrame(
        {
            "transfer_id": ["T1", "T2"],
            "member_code": ["M1", "M2"],
            "kind": ["official", "official"],
            "from_cell": ["93.001.000.001", "93.001.000.001"],
            "to_org": ["93.001.000.003", "79.012.000.004"],
            "letter_date": pd.to_datetime(["2026-09-01", "2026-09-01"]),
            "notice_sent_on": pd.to_datetime([None, None]),
            "received_on": pd.to_datetime([None, None]),
            "dossier_received_on": pd.to_datetime([None, None]),
            "temporary_until": pd.to_datetime([None, None]),
            "returned_on": pd.to_datetime([None, None]),
            "fees_paid_through": [None, None],
        }
    )
    found = tr.transfer_not_notified(transfers, members, organizations=orgs).set_index("member_code")
    assert "từ Chi bộ 1 (93.001.000.001) đến Chi bộ 3 (93.001.000.003)" in found.at["M1", "detail"]
    assert "đến 79.012.000.004 (ngoài phạm vi CSDL)" in found.at["M2", "detail"]


# --- the bundled demo, end to end ---------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_out(prefect_harness, tmp_path_factory) -> tuple[Path, Path]:
    from dvsync.bundled import bundled_demo
    from flows.nightly import nightly_reconciliation

    demo = bundled_demo(log=lambda *_: None)
    out = tmp_path_factory.mktemp("vi-out")
    nightly_reconciliation(
        central=f"sqlite:///{demo / 'central.sqlite'}",
        submissions=str(demo / "submissions"),
        out=str(out),
        as_of=json.loads((demo / "demo.json").read_text())["as_of"],
    )
    return demo, out


def test_generator_plants_every_list_of_the_registry(demo_out) -> None:
    demo, _ = demo_out
    expected = pd.read_csv(demo / "expected_findings.csv", dtype=str, keep_default_na=False)
    assert set(expected["list_code"]) == set(lists.CODES)


def test_no_internal_code_in_any_workbook_cell_or_report_text(demo_out) -> None:
    _, out = demo_out
    hits: list[str] = []
    books = sorted((out / "committees").rglob("*.xlsx"))
    assert len(books) > 5
    n_cells = 0
    for path in books:
        wb = openpyxl.load_workbook(path, read_only=True)
        for ws in wb.worksheets:
            hits += [f"{path.name} sheet name {ws.title!r}: {c}" for c in codes_in(ws.title)]
            for row in ws.iter_rows(values_only=True):
                for value in row:
                    n_cells += value is not None
                    hits += [f"{path.name} [{ws.title}] {value!r}: {c}" for c in codes_in(value)]
        wb.close()
    assert n_cells > 1000
    report = next((out / "reports").glob("bao-cao-*.html")).read_text(encoding="utf-8")
    texts = visible_text(report)
    assert any("Danh sách" in t for t in texts)
    hits += [f"report {t.strip()[:80]!r}: {c}" for t in texts for c in codes_in(t)]
    assert not hits, f"{len(hits)} internal codes shown to a person, e.g.:\n" + "\n".join(hits[:25])


def test_findings_csv_keeps_codes_and_speaks_vietnamese_in_detail(demo_out) -> None:
    _, out = demo_out
    f = pd.read_csv(out / "findings.csv", dtype=str, encoding="utf-8-sig", keep_default_na=False)
    assert set(f["list_code"]) <= set(lists.CODES)  # codes stay codes (contract)
    assert {"received_on", "roster", "status"} <= set(f["field"])
    bad = f[f["detail"].map(lambda d: bool(codes_in(d)))]
    assert bad.empty, bad[["list_code", "detail"]].head(10).to_string()
    # Organisations by name and code, transfer targets included.
    overdue = f.loc[f["list_code"] == "TRANSFER_OVERDUE", "detail"]
    assert overdue.str.contains(
        r"từ .+ \(\d{2}(?:\.\d{3})+\) đến .+ \((?:\d{2}(?:\.\d{3})+|ngoài phạm vi CSDL)\)"
    ).all()
    assert overdue.str.contains("(ngoài phạm vi CSDL)", regex=False).any()


def test_workbook_values_headers_and_numbers(demo_out) -> None:
    _, out = demo_out
    manifest = json.loads((out / "committees" / "manifest.json").read_text(encoding="utf-8"))["committees"]
    # The committee holding admission lists: its candidates are identified by a masked CCCD.
    seen_admission = seen_status = False
    for entry in manifest.values():
        wb = openpyxl.load_workbook(out / entry["file"], read_only=True)
        for code in ("ADMISSION_ELIGIBLE", "ADMISSION_NOT_ELIGIBLE"):
            name = lists.SHEET_NAMES[code]
            if name in wb.sheetnames:
                rows = list(wb[name].iter_rows(values_only=True))
                header = rows[HEADER_ROW]
                assert "Số CCCD (che)" in header and "Mã đảng viên" not in header
                col = header.index("Số CCCD (che)")
                assert all(re.fullmatch(r"\*{8}\d{4}", r[col]) for r in rows[HEADER_ROW + 1 :])
                seen_admission = True
        name = lists.SHEET_NAMES["ROSTER_INACTIVE_LISTED"]
        if name in wb.sheetnames:
            rows = list(wb[name].iter_rows(values_only=True))
            values = {v for r in rows[HEADER_ROW + 1 :] for v in r}
            assert values & set(labels.MEMBER_STATUS_LABELS.values())
            seen_status = True
        summary = [v for r in wb[SUMMARY_SHEET].iter_rows(values_only=True) for v in r if isinstance(v, str)]
        assert not any(re.search(r"\d,\d{3}", v) for v in summary)
        wb.close()
    assert seen_admission and seen_status
