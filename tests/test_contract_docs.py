"""docs/contract.md against the code: the two cannot drift apart.

The document is parsed by its headings and the first markdown table under each: every table's
first column holds one name in backticks, exactly as the code spells it. Checked: the central
tables (columns in order, keys, types, allowed values), the workbook sheets (headers in order, the
internal names, required sheets, allowed values), findings.csv and quarantine.csv, the 27 list
codes (once each, with their severity), every ``DVSYNC_*`` setting of the production code, every
option of every command, the exit statuses, the links, and (when the reviewers' contract is
beside the repository) every name of ``../shared/contract.md``.
"""

from __future__ import annotations

import argparse
import inspect
import re
from pathlib import Path

import pytest

from schemas import contract as C

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "contract.md"
SHARED = ROOT.parent / "shared" / "contract.md"
PRODUCTION = ["dvsync", "flows", "connectors", "schemas", "rules"]
SETTING = re.compile(r"\bDVSYNC_[A-Z0-9_]*[A-Z0-9]\b")


# --- parsing -----------------------------------------------------------------------------------
def _sections(text: str) -> list[tuple[str, list[str]]]:
    """(heading text, lines up to the next heading), fenced code blocks skipped."""
    out: list[tuple[str, list[str]]] = []
    fenced = False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
            continue
        if fenced:
            continue
        m = re.match(r"#{1,6} (.+)$", line)
        if m:
            out.append((m.group(1).strip(), []))
        elif out:
            out[-1][1].append(line)
    return out


def _cells(line: str) -> list[str]:
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]


def _table(lines: list[str]) -> list[list[str]]:
    """The body rows of the first table of ``lines`` (its header and separator left out)."""
    rows: list[str] = []
    for line in lines:
        if line.startswith("|"):
            rows.append(line)
        elif rows:
            break
    assert len(rows) >= 2 and re.fullmatch(r"\|[\s:|-]+\|", rows[1].strip()), f"no table in {lines[:3]}"
    return [_cells(r) for r in rows[2:]]


def _name(cell: str) -> str:
    m = re.fullmatch(r"`([^`]+)`", cell)
    assert m, f"first column must be one name in backticks, got {cell!r}"
    return m.group(1)


def _ticked(cell: str) -> set[str]:
    return set(re.findall(r"`([^`]+)`", cell))


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def sections(doc) -> list[tuple[str, list[str]]]:
    return _sections(doc)


def _tables(sections, pattern: str) -> dict[str, tuple[str, list[list[str]]]]:
    """name -> (rest of the heading, table rows) for every heading matching ``pattern``
    (a regex whose group 1 is the name in backticks and group 2 the rest)."""
    found: dict[str, tuple[str, list[list[str]]]] = {}
    for title, lines in sections:
        m = re.fullmatch(pattern, title)
        if m:
            assert m.group(1) not in found, f"two sections for {m.group(1)}"
            found[m.group(1)] = (m.group(2), _table(lines))
    return found


def _one(sections, title: str) -> list[list[str]]:
    hits = [lines for t, lines in sections if t == title]
    assert len(hits) == 1, f"expected one section {title!r}, found {len(hits)}"
    return _table(hits[0])


# --- 1. central database -------------------------------------------------------------------------
CENTRAL_VALUES = [
    ("organizations", "kind", C.ORG_KINDS),
    ("members", "gender", C.GENDERS),
    ("members", "status", C.MEMBER_STATUSES),
    ("ratings", "rating", C.RATINGS),
    ("disciplines", "form", C.DISCIPLINE_FORMS),
    ("transfers", "kind", C.TRANSFER_KINDS),
    ("dossier_documents", "doc_type", C.DOC_TYPES),
]


def _central(sections) -> dict[str, tuple[str, list[list[str]]]]:
    return _tables(sections, r"Central table `([^`]+)`(.*)")


def test_central_tables_and_columns_in_order(sections):
    tables = _central(sections)
    assert list(tables) == list(C.CENTRAL_TABLES)
    for table, columns in C.CENTRAL_TABLES.items():
        rows = tables[table][1]
        assert [_name(r[0]) for r in rows] == columns, table


def test_central_keys_and_types(sections):
    for table, (_, rows) in _central(sections).items():
        assert [_name(r[0]) for r in rows if r[1] == "key"] == C.CENTRAL_KEYS[table], table
        assert all(r[1] in ("key", "") for r in rows), table
        dates = C.CENTRAL_DATE_COLUMNS.get(table, [])
        ints = C.CENTRAL_INTEGER_COLUMNS.get(table, [])
        for r in rows:
            col = _name(r[0])
            want = "date" if col in dates else "integer" if col in ints else "text"
            assert r[2] == want, f"{table}.{col}: type {r[2]!r}, code says {want}"


@pytest.mark.parametrize(("table", "column", "values"), CENTRAL_VALUES)
def test_central_allowed_values(sections, table, column, values):
    rows = {_name(r[0]): r for r in _central(sections)[table][1]}
    named = _ticked(" ".join(rows[column][1:]))
    assert set(values) <= named, f"{table}.{column}: missing {sorted(set(values) - named)}"


def test_dossier_document_codes(sections):
    assert [_name(r[0]) for r in _one(sections, "Dossier document codes")] == C.DOC_TYPES


def test_org_code_rules(doc):
    assert f"`{C.ORG_CODE_PATTERN}`" in doc
    assert f"at most {C.ORG_CODE_MAX_LENGTH} characters" in " ".join(doc.split())
    named = set(re.findall(r"`([A-Z]{3}\d?)`", doc))
    for stem, lo, hi in re.findall(r"`([A-Z]{3})(\d)`–`\1(\d)`", doc):
        named |= {f"{stem}{i}" for i in range(int(lo), int(hi) + 1)}
    assert set(C.RESERVED_FILE_NAMES) <= named, sorted(set(C.RESERVED_FILE_NAMES) - named)


# --- 2. cell workbook ----------------------------------------------------------------------------
SHEET_VALUES = [
    ("DanhSach", "Tình trạng", list(C.ROSTER_STATUSES)),
    ("XepLoai", "Xếp loại", [*C.RATINGS, *C.RATING_LABELS.values()]),
    ("ChuyenDi", "Loại", list(C.TRANSFER_KIND_LABELS)),
    ("ChuyenDen", "Loại", list(C.TRANSFER_KIND_LABELS)),
    ("CamTinh", "Đối tượng", list(C.CANDIDATE_KINDS)),
    ("CamTinh", "Xếp loại năm 1", [*C.RATINGS, *C.STUDENT_RATINGS]),
]


def _sheets(sections) -> dict[str, tuple[str, list[list[str]]]]:
    return _tables(sections, r"Sheet `([^`]+)`(.*)")


def test_sheets_and_headers_in_order(sections):
    sheets = _sheets(sections)
    assert list(sheets) == [C.INFO_SHEET, *C.SHEETS]
    expected = {C.INFO_SHEET: C.INFO_LABELS, **C.SHEETS}
    for sheet, headers in expected.items():
        rows = sheets[sheet][1]
        assert [(_name(r[0]), _name(r[1])) for r in rows] == list(headers.items()), sheet


def test_required_sheets(sections):
    required = [s for s, (rest, _) in _sheets(sections).items() if "(required)" in rest]
    assert required == C.REQUIRED_SHEETS


@pytest.mark.parametrize(("sheet", "header", "values"), SHEET_VALUES)
def test_sheet_allowed_values(sections, sheet, header, values):
    rows = {_name(r[0]): r for r in _sheets(sections)[sheet][1]}
    named = _ticked(" ".join(rows[header][2:]))
    assert set(values) <= named, f"{sheet}.{header}: missing {sorted(set(values) - named)}"


def test_yes_no_and_lineage(doc):
    for value in [*C.YES_VALUES, *C.NO_VALUES]:
        if value and value != "X":  # x is matched in any case
            assert f"`{value}`" in doc, value
    for col in C.LINEAGE_COLUMNS:
        assert f"`{col}`" in doc, col


# --- 3. outputs -----------------------------------------------------------------------------------
def _output_columns(rows: list[list[str]], contract: list[str]) -> list[str]:
    """Check the contract's columns come first, marked ``yes``, the rest ``extra``; the extras."""
    names = [_name(r[0]) for r in rows]
    marks = [r[1] for r in rows]
    assert len(set(names)) == len(names), names
    assert names[: len(contract)] == contract
    assert marks == ["yes"] * len(contract) + ["extra"] * (len(names) - len(contract))
    return names[len(contract) :]


def test_findings_csv_columns(sections):
    extras = _output_columns(_one(sections, "`findings.csv`"), C.FINDING_COLUMNS)
    added = [c for c in C.RULE_OUTPUT_COLUMNS if c not in C.FINDING_COLUMNS]  # ref
    assert set(added) <= set(extras)


def test_quarantine_csv_columns(sections):
    from connectors.publish.files import write_quarantine_csv

    extras = _output_columns(_one(sections, "`quarantine.csv`"), C.QUARANTINE_COLUMNS)
    if "severity" in inspect.getsource(write_quarantine_csv):
        assert "severity" in extras


def test_list_codes_once_each_with_severity(sections):
    from rules.findings import LISTS

    rows = _one(sections, "4. List codes")
    codes = [_name(r[0]) for r in rows]
    assert codes == C.LIST_CODES
    assert len(codes) == len(set(codes)) == 27
    for r in rows:
        assert r[2] == LISTS[_name(r[0])][0], f"{r[0]}: severity {r[2]!r}"
        assert all(r[1:5]), f"{r[0]}: family, severity, who must act and when are all needed"


# --- 5. command line and settings -------------------------------------------------------------------
def _production_settings() -> set[str]:
    found: set[str] = set()
    for folder in PRODUCTION:
        for path in (ROOT / folder).rglob("*.py"):
            found |= set(SETTING.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_setting_documented(sections):
    documented = [_name(r[0]) for r in _one(sections, "Settings (environment variables)")]
    assert len(documented) == len(set(documented))
    missing = _production_settings() - set(documented)
    assert not missing, f"DVSYNC_* settings read by the code, not in docs/contract.md: {sorted(missing)}"
    elsewhere = set(SETTING.findall((ROOT / "prefect.yaml").read_text(encoding="utf-8")))
    stale = set(documented) - _production_settings() - elsewhere
    assert not stale, f"documented settings nothing reads: {sorted(stale)}"


def _commands() -> dict[str, argparse.ArgumentParser]:
    from dvsync.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def test_every_command_documented(sections):
    titles = {m.group(1) for t, _ in sections if (m := re.fullmatch(r"`dvsync (\w+)`", t))}
    assert titles == set(_commands())


@pytest.mark.parametrize("command", ["nightly", "audit", "demo", "check", "template"])
def test_every_option_documented(sections, command):
    rows = _one(sections, f"`dvsync {command}`")
    names = [_name(r[0]) for r in rows]
    assert len(names) == len(set(names))
    actions = [a for a in _commands()[command]._actions if not isinstance(a, argparse._HelpAction)]
    options = {s for a in actions for s in a.option_strings}
    assert {n for n in names if n.startswith("-")} == options
    positionals = [a.dest.upper() for a in actions if not a.option_strings]
    documented = [n for n in names if not n.startswith("-")]
    assert len(documented) == len(positionals)
    for dest, name in zip(positionals, documented, strict=True):
        assert name.upper().startswith(dest), (dest, name)


def test_exit_statuses(sections):
    from dvsync.cli import EXIT_FIX
    from schemas.errors import EXIT_OK, EXIT_SOURCE, EXIT_USAGE

    rows = _one(sections, "Exit status")
    assert [int(_name(r[0])) for r in rows] == sorted({EXIT_OK, EXIT_FIX, EXIT_USAGE, EXIT_SOURCE})


# --- links and the reviewers' contract ---------------------------------------------------------------
def test_links_resolve(doc):
    for target in re.findall(r"\]\(([^)#]+)\)", doc):
        if "://" not in target:
            assert (DOC.parent / target).is_file(), target


@pytest.mark.skipif(not SHARED.is_file(), reason="../shared/contract.md is not beside this clone")
def test_every_name_of_the_reviewers_contract(doc):
    missing = []
    for span in re.findall(r"`([^`]+)`", SHARED.read_text(encoding="utf-8")):
        if "[" in span:  # a command synopsis: its options
            missing += [o for o in re.findall(r"--[\w-]+", span) if f"`{o}`" not in doc and o not in doc]
        elif span not in doc:
            missing.append(span)
    assert not missing, f"names of ../shared/contract.md missing here: {sorted(set(missing))}"
