"""Issue #20 end to end: committees answer in their workbooks, the board decides, over several nights.

Night 1 publishes (demo data). A grassroots committee returns its workbook with one answer of each
kind, one hostile answer for another committee's finding, an unknown finding code and the board's
acceptance it may not give; a second file claims to be the committee's but is another committee's
workbook. Night 2 carries the answers (findings.csv, the committee's workbook, the results
database) and quarantines the hostile ones, nothing lost. The board accepts one explanation with
``dvsync accept`` and another in its own (the root committee's) workbook. Night 3: both accepted,
gone from the lists and the counts. Night 4: central changes the first one's values: it reopens by
itself, marked as changed, while the other stays accepted. Real files, a real SQLite results
database, the real flow.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from schemas.answer_labels import ACCEPT_LABEL, RESPONSE_LABELS

HEADER_ROW = 4  # Excel row of a list sheet's header (connectors/publish/_workbook.HEADER_ROW + 1)


def _findings(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "findings.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")


def _summary(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))


def _book(out: Path, code: str) -> Path:
    return out / "committees" / code / f"{code}.xlsx"


def _rows(path: Path) -> dict[str, dict[str, str]]:
    """finding_id -> {header: text} over every list sheet of a committee workbook."""
    wb = openpyxl.load_workbook(path, read_only=True)
    found: dict[str, dict[str, str]] = {}
    for ws in wb.worksheets:
        rows = list(ws.iter_rows(values_only=True))
        if len(rows) < HEADER_ROW or "Mã phát hiện" not in rows[HEADER_ROW - 1]:
            continue
        head = [str(h) if h is not None else "" for h in rows[HEADER_ROW - 1]]
        for r in rows[HEADER_ROW:]:
            rec = {h: ("" if v is None else str(v)) for h, v in zip(head, r, strict=False)}
            rec["_sheet"] = ws.title
            found[rec["Mã phát hiện"]] = rec
    wb.close()
    return found


def _answer(
    path: Path, answers: dict[str, tuple[str, str]], replace_id: dict[str, str] | None = None
) -> None:
    """Fill the answer columns of the rows of ``answers`` (finding_id -> (drop-down text, note)) in
    place, as a secretary would in Excel; ``replace_id``: a row's Mã phát hiện overwritten."""
    wb = openpyxl.load_workbook(path)
    done = set()
    for ws in wb.worksheets:
        if ws.max_row < HEADER_ROW:
            continue
        head = [c.value for c in ws[HEADER_ROW]]
        if "Mã phát hiện" not in head or "Kết quả xử lý" not in head:
            continue
        fid_col = head.index("Mã phát hiện") + 1
        res_col = head.index("Kết quả xử lý") + 1
        note_col = head.index("Ghi chú / giải trình") + 1
        for row in range(HEADER_ROW + 1, ws.max_row + 1):
            fid = ws.cell(row, fid_col).value
            if fid in (replace_id or {}):
                ws.cell(row, fid_col).value = replace_id[fid]
                fid = replace_id[fid]
            if fid in answers and fid not in done:
                ws.cell(row, res_col).value, ws.cell(row, note_col).value = answers[fid]
                done.add(fid)
    assert done == set(answers), set(answers) - done
    wb.save(path)


def _append_row(path: Path, finding_id: str, response: str) -> None:
    """A row the committee typed itself under the first list sheet (a code dvsync never issued)."""
    wb = openpyxl.load_workbook(path)
    for ws in wb.worksheets:
        head = [c.value for c in ws[HEADER_ROW]] if ws.max_row >= HEADER_ROW else []
        if "Mã phát hiện" in head:
            row = ws.max_row + 1
            ws.cell(row, head.index("Mã phát hiện") + 1).value = finding_id
            ws.cell(row, head.index("Kết quả xử lý") + 1).value = response
            break
    wb.save(path)


@pytest.fixture(scope="module")
def nights(demo_small: Path, prefect_harness, tmp_path_factory) -> dict:
    from dvsync.cli import main
    from flows.nightly import nightly_reconciliation

    work = tmp_path_factory.mktemp("answers-e2e")
    central = work / "central.sqlite"
    shutil.copy(demo_small / "central.sqlite", central)  # night 4 changes it
    responses = work / "responses"
    responses.mkdir()
    out = work / "out"
    day1 = date.fromisoformat(json.loads((demo_small / "demo.json").read_text())["as_of"])
    days = [day1 + timedelta(days=i) for i in range(4)]
    state: dict = {"out": out, "responses": responses, "days": days, "central": central}

    def night(i: int) -> None:
        nightly_reconciliation(
            central=f"sqlite:///{central}",
            submissions=str(demo_small / "submissions"),
            out=str(out),
            as_of=days[i].isoformat(),
            responses=str(responses),
        )
        snap = work / f"night{i + 1}"
        shutil.copytree(out.resolve() / "committees", snap / "committees", symlinks=False)
        for name in ("findings.csv", "quarantine.csv", "summary.json"):
            shutil.copy(out / name, snap / name)
        shutil.copytree(out / "reports", snap / "reports")
        state[f"night{i + 1}"] = snap

    # --- night 1: publish ------------------------------------------------------------------------
    night(0)
    f1 = _findings(state["night1"])
    # The explanation the board will accept, then see reopen: a name that differs (central can
    # change it while the finding stays).
    d = f1[(f1["list_code"] == "ROSTER_FIELD_MISMATCH") & (f1["field"] == "full_name")].iloc[0]
    committee = d["committee_code"]
    mine = f1[(f1["committee_code"] == committee) & (f1["finding_id"] != d["finding_id"])]
    mine = mine.sort_values(["list_code", "finding_id"])
    assert len(mine) >= 6, f"committee {committee} has too few findings for the test"
    a, b, c, e, f, g = (mine.iloc[i]["finding_id"] for i in range(6))
    other = f1[(f1["committee_code"] != committee) & (f1["committee_code"] != "")].iloc[0]
    state.update(committee=committee, d=d, a=a, b=b, c=c, e=e, f=f, g=g, other=other)

    # The committee answers in its own workbook, dropped in the responses folder.
    returned = responses / f"{committee}.xlsx"
    shutil.copy(_book(state["night1"], committee), returned)
    _answer(
        returned,
        {
            a: (RESPONSE_LABELS["fixed"], "Đã sửa ngày 17/11"),
            b: (RESPONSE_LABELS["documented"], ""),
            c: (RESPONSE_LABELS["in_progress"], "Chờ chi bộ xác minh"),
            d["finding_id"]: (RESPONSE_LABELS["explained"], "Tên trong giấy khai sinh viết không dấu"),
            e: (RESPONSE_LABELS["explained"], "Đúng theo quyết định của cấp ủy"),
            other["finding_id"]: (RESPONSE_LABELS["fixed"], "trả lời hộ đơn vị khác"),  # hostile
            g: (ACCEPT_LABEL, "tự chấp nhận"),  # only the board may
        },
        replace_id={f: other["finding_id"]},
    )
    _append_row(returned, "0123456789abcdef", RESPONSE_LABELS["fixed"])
    # Another committee's workbook saved under this committee's name: rejected whole.
    theirs = responses / committee / f"{committee}-ban-sao.xlsx"
    theirs.parent.mkdir()
    shutil.copy(_book(state["night1"], other["committee_code"]), theirs)
    _answer(theirs, {other["finding_id"]: (RESPONSE_LABELS["fixed"], "")})

    # --- night 2: answers carried, hostile ones quarantined -----------------------------------------
    night(1)

    # --- the board decides: one explanation by command, another in its own workbook ----------------
    with sqlite3.connect(central) as con:
        (root,) = con.execute("SELECT org_code FROM organizations WHERE parent_code IS NULL").fetchone()
    state["root"] = root
    argv = ["accept", d["finding_id"], "--note", "Đã xác minh hồ sơ gốc", "--by", "Trần Thị Bình"]
    state["accept_exit"] = main([*argv, "--results", f"sqlite:///{out / 'results.sqlite'}"])
    board = responses / f"{root}.xlsx"
    shutil.copy(_book(state["night2"], root), board)
    _answer(board, {e: (ACCEPT_LABEL, "Ban Tổ chức đồng ý")})

    # --- night 3: accepted findings leave the lists ------------------------------------------------
    night(2)

    # --- night 4: central changes the first accepted finding's values: it reopens ------------------
    with sqlite3.connect(central) as con:
        con.execute(
            "UPDATE members SET full_name = full_name || ' Hữu' WHERE member_code = ?", (d["member_code"],)
        )
    night(3)
    return state


def test_night2_answers_carried(nights):
    n2, d = nights["night2"], nights["d"]
    f2 = _findings(n2).set_index("finding_id")
    day2 = nights["days"][1].isoformat()
    expect = {
        nights["a"]: ("fixed", "open"),
        nights["b"]: ("documented", "open"),
        nights["c"]: ("in_progress", "open"),
        d["finding_id"]: ("explained", "explained"),
        nights["e"]: ("explained", "explained"),
    }
    for fid, (response, status) in expect.items():
        assert f2.at[fid, "response"] == response, fid
        assert f2.at[fid, "status"] == status, fid
        assert f2.at[fid, "responded_on"] == day2
    assert f2.at[d["finding_id"], "response_note"] == "Tên trong giấy khai sinh viết không dấu"
    # Nothing hostile reached a finding.
    assert f2.at[nights["other"]["finding_id"], "response"] == ""
    assert f2.at[nights["g"], "response"] == ""
    # The contract's columns first, the answer columns after the extras.
    assert list(f2.reset_index().columns)[-4:] == [
        "response",
        "response_note",
        "responded_on",
        "facts_changed",
    ]

    # The committee's workbook shows its last answer beside each finding.
    rows = _rows(_book(n2, nights["committee"]))
    assert rows[nights["a"]]["Kết quả xử lý"] == RESPONSE_LABELS["fixed"]
    assert rows[nights["c"]]["Ghi chú / giải trình"] == "Chờ chi bộ xác minh"
    assert rows[d["finding_id"]]["Kết quả xử lý"] == RESPONSE_LABELS["explained"]
    assert rows[d["finding_id"]]["Tình trạng trả lời"].startswith("Đã giải trình ngày")
    assert rows[nights["g"]]["Kết quả xử lý"] == ""
    summary = _summary(n2)
    assert summary["responses"]["answers"] == 5
    assert summary["findings_by_status"]["explained"] == 2


def test_night2_hostile_answers_quarantined_nothing_lost(nights):
    q = pd.read_csv(
        nights["night2"] / "quarantine.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig"
    )
    lines = q[q["rule"].str.startswith("response")]
    by_rule = lines.groupby("rule").size().to_dict()
    assert by_rule == {
        "response_other_committee": 1,
        "response_unknown": 1,
        "response_not_board": 1,
        "response_wrong_committee": 1,
    }, by_rule
    hostile = lines[lines["rule"] == "response_other_committee"].iloc[0]
    assert hostile["source"] == f"{nights['committee']}.xlsx"
    assert hostile["value"] == nights["other"]["finding_id"]
    assert nights["other"]["org_code"] in hostile["message"]
    assert int(hostile["row"]) > HEADER_ROW
    wrong = lines[lines["rule"] == "response_wrong_committee"].iloc[0]
    assert nights["other"]["committee_code"] in wrong["message"]
    # Every row the committee wrote is in the results database: 5 recorded, 3 quarantined.
    with sqlite3.connect(nights["out"] / "results.sqlite") as con:
        got = con.execute(
            "SELECT status, count(*) FROM answers WHERE file = ? GROUP BY status",
            (f"{nights['committee']}.xlsx",),
        ).fetchall()
        files = con.execute(
            "SELECT file, committee_code, status FROM response_files ORDER BY file"
        ).fetchall()
    assert dict(got) == {"recorded": 5, "rejected": 3}
    assert (
        f"{nights['committee']}/{nights['committee']}-ban-sao.xlsx",
        nights["committee"],  # the sender (its name): its own workbook lists the line
        "rejected",
    ) in files
    # The committee sees its rejected answers on its workbook's sheet of faults.
    wb = openpyxl.load_workbook(_book(nights["night2"], nights["committee"]), read_only=True)
    faults = [r for r in wb["Lỗi bảng nộp"].iter_rows(values_only=True) if r and r[1] == nights["committee"]]
    wb.close()
    assert len(faults) == 4, faults


def test_board_accepts_then_night3_lists_and_counts(nights):
    assert nights["accept_exit"] == 0
    d, e = nights["d"]["finding_id"], nights["e"]
    with sqlite3.connect(nights["out"] / "results.sqlite") as con:
        decided = con.execute(
            "SELECT finding_id, decision, decided_by, decided_on, source FROM decisions ORDER BY id"
        ).fetchall()
    assert decided[0][:3] == (d, "accepted", "Trần Thị Bình")
    assert decided[0][4] == "cli"
    assert decided[1][:2] == (e, "accepted") and decided[1][2].startswith("Ban Tổ chức")
    assert decided[1][3] == nights["days"][2].isoformat()

    f2, f3 = (
        _findings(nights["night2"]).set_index("finding_id"),
        _findings(nights["night3"]).set_index("finding_id"),
    )
    assert f3.at[d, "status"] == "accepted"
    assert f3.at[e, "status"] == "accepted"
    # Gone from the committee's lists (and from every committee above it) ...
    assert d not in _rows(_book(nights["night3"], nights["committee"]))
    assert e not in _rows(_book(nights["night3"], nights["committee"]))
    assert d not in _rows(_book(nights["night3"], nights["root"]))
    assert nights["a"] in _rows(_book(nights["night3"], nights["committee"]))
    # ... and from the counts (summary.json counts what is still to do).
    s3 = _summary(nights["night3"])
    todo = f3[~f3["status"].isin(["resolved", "accepted"])]
    assert s3["findings"] == len(todo)
    for code in {nights["d"]["list_code"], f3.at[e, "list_code"]}:
        assert s3["counts_per_list"].get(code, 0) == int((todo["list_code"] == code).sum())
    committee = s3["counts_per_committee"][nights["committee"]]
    assert committee.get(nights["d"]["list_code"], 0) == int(
        (
            (todo["committee_code"] == nights["committee"]) & (todo["list_code"] == nights["d"]["list_code"])
        ).sum()
    )
    assert s3["findings_by_status"]["accepted"] == 2
    assert f2.at[d, "status"] == "explained"
    report = next((nights["night3"] / "reports").glob("*.html")).read_text(encoding="utf-8")
    assert "Trả lời của các cấp ủy" in report and "Sai sót chưa trả lời lâu nhất" in report


def test_night4_accepted_finding_reopens_when_its_facts_change(nights):
    d, e = nights["d"], nights["e"]
    f4 = _findings(nights["night4"]).set_index("finding_id")
    fid = d["finding_id"]
    assert f4.at[fid, "status"] == "open"
    assert f4.at[fid, "central_value"] != d["central_value"]
    assert f4.at[fid, "facts_changed"] == "true"
    assert f4.at[e, "status"] == "accepted"  # its values did not change
    rows = _rows(_book(nights["night4"], nights["committee"]))
    assert fid in rows
    assert rows[fid]["Kết quả xử lý"] == ""  # the old answer no longer stands
    assert rows[fid]["Tình trạng trả lời"].startswith("Số liệu đã thay đổi sau khi trả lời")
    s4 = _summary(nights["night4"])
    todo = f4[~f4["status"].isin(["resolved", "accepted"])]
    assert s4["findings"] == len(todo) and fid in todo.index
    assert s4["findings_by_status"]["accepted"] == 1
    with sqlite3.connect(nights["out"] / "results.sqlite") as con:
        last = con.execute(
            "SELECT decision, decided_by, decided_on FROM decisions WHERE finding_id = ? ORDER BY id DESC",
            (fid,),
        ).fetchone()
    assert last == ("reopened", "dvsync", nights["days"][3].isoformat())
