"""Returned committee workbooks (issue #20): read, validated, recorded.

A committee answers in its own workbook (``committees/<org>/<org>.xlsx``): on each list sheet it
fills ``Kết quả xử lý`` and ``Ghi chú / giải trình`` beside the findings, saves it as .xlsx and
puts it in the responses folder (``--responses DIR``, ``DVSYNC_RESPONSES``). Each night every
file not read before (by checksum) is read once, like a cell's workbook:

- checked before it is parsed (size, zip, sheet extent: ``connectors.workbooks``' limits);
- the committee is the one the summary sheet names (``Tổ chức đảng: … (<code>)``); a file whose
  name or folder names another organisation code, or whose list sheets name another committee,
  is rejected whole (one line);
- each answered row is validated (``schemas.responses``, Pandera), then checked against the
  findings recorded in the results database: an unknown ``finding_id`` (``response_unknown``), a
  finding outside the committee's subtree (``response_other_committee``), a row moved to another
  list or member (``response_changed_list``), the board's acceptance written by a committee
  (``response_not_board``) are each one quarantine line;
- everything read is recorded (``connectors.answers``): the answers, the quarantined rows with
  their reason, the board's acceptances as decisions. An answer identical to the finding's last
  one (the workbook carries it back) is not recorded twice.

Quarantine lines name the file, sheet and row; they come back every night while the file stays in
the folder. Notes are never logged (they may hold personal data).
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from schemas.normalize import header_key
from schemas.responses import (
    ACCEPT_CODE,
    FINDING_ID_HEADER,
    NOTE_HEADER,
    NOTE_MAX,
    RESPONSE_HEADER,
    response_code,
    validate_answers,
)

log = logging.getLogger("dvsync.responses")

SUMMARY_SHEET = "Tổng hợp"
HEADER_SCAN_ROWS = 10
BOARD_CODE = "_ban-to-chuc"  # the board's workbook of unplaced findings (connectors.publish.xlsx)
_CODE_IN_PARENS = re.compile(r"\(([^()\s]+)\)\s*(?:—|$)")
_CODE_TOKEN = re.compile(r"(?<![0-9A-Za-z])[0-9]{2}(?:\.[0-9]{3}){4}(?![0-9A-Za-z]|\.[0-9])")


@dataclass
class ReturnedWorkbook:
    """One returned workbook as read: its committee and its answered rows (or a file fault)."""

    file: str
    checksum: str
    committee_code: str | None = None
    error: str | None = None
    rule: str = "response_file"
    rows: pd.DataFrame = field(default_factory=pd.DataFrame)


ROW_FIELDS = ["sheet", "row", "list_code", "finding_id", "member_code", "response_text", "note"]


def _text(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    s = unicodedata.normalize("NFC", str(v)).strip()
    return s or None


def _sheet_lists() -> dict[str, str]:
    from connectors.publish.labels import LIST_SHEET_NAMES

    return {header_key(name[:31]): code for code, name in LIST_SHEET_NAMES.items()}


def _member_headers() -> set[str]:
    from connectors.publish.labels import COLUMN_HEADERS, SUBJECT_HEADERS

    return {header_key(h) for h in [*SUBJECT_HEADERS.values(), COLUMN_HEADERS.get("member_code", "")] if h}


def read_returned(path: Path, source: str) -> ReturnedWorkbook:
    """Read one returned workbook (never raises for a bad file: the fault is ``error``)."""
    from connectors.workbooks import FileFault, _precheck, _read_limited, safe_name

    name = safe_name(source)
    try:
        data = _read_limited(path)
    except FileFault as exc:
        return ReturnedWorkbook(name, "unread:" + hashlib.sha256(source.encode()).hexdigest(), error=str(exc))
    except OSError as exc:
        return ReturnedWorkbook(
            name,
            "unread:" + hashlib.sha256(source.encode()).hexdigest(),
            error=f"Tệp {name}: không đọc được ({exc.strerror or exc})",
        )
    checksum = hashlib.sha256(data).hexdigest()
    book = ReturnedWorkbook(name, checksum)
    try:
        _precheck(name, data)
    except FileFault as exc:
        book.error = str(exc)
        return book
    try:
        import openpyxl

        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - any unreadable file is one line
        book.error = (
            f"Tệp {name}: không phải tệp Excel .xlsx đọc được — lưu lại bằng Excel (.xlsx) rồi gửi lại"
        )
        return book
    try:
        _read_sheets(wb, book, source)
    finally:
        wb.close()
    return book


def _read_sheets(wb: Any, book: ReturnedWorkbook, source: str) -> None:
    name = book.file
    if SUMMARY_SHEET not in wb.sheetnames:
        book.error = (
            f"Tệp {name}: không có sheet {SUMMARY_SHEET} — không phải sổ danh sách dvsync gửi cấp ủy; "
            "trả lời ngay trên sổ đã nhận"
        )
        return
    head = [
        _text(r[0]) for r in wb[SUMMARY_SHEET].iter_rows(min_row=1, max_row=3, max_col=1, values_only=True)
    ]
    found = [m.group(1) for t in head if t for m in [_CODE_IN_PARENS.search(t)] if m]
    if not found:
        book.error = (
            f"Tệp {name}: sheet {SUMMARY_SHEET} không ghi mã tổ chức đảng — trả lời ngay trên sổ đã nhận"
        )
        return
    code = found[0]
    book.committee_code = code
    named = set(_CODE_TOKEN.findall(source)) | ({BOARD_CODE} if BOARD_CODE in source else set())
    if named and code not in named:
        book.error = (
            f"Tệp {name}: sổ của tổ chức {code} nhưng tên tệp/thư mục ghi mã {', '.join(sorted(named))} — "
            "mỗi cấp ủy chỉ gửi lại sổ của mình; tệp không được đọc"
        )
        book.rule = "response_wrong_committee"
        if len(named) == 1:
            book.committee_code = named.pop()  # the sender: its own workbook shows the line
        return
    lists, members = _sheet_lists(), _member_headers()
    keys = {
        header_key(FINDING_ID_HEADER): "finding_id",
        header_key(RESPONSE_HEADER): "response_text",
        header_key(NOTE_HEADER): "note",
    }
    rows: list[tuple] = []
    for ws in wb.worksheets:
        if ws.title == SUMMARY_SHEET or getattr(ws, "sheet_state", "visible") != "visible":
            continue
        it = ws.iter_rows(values_only=True)
        top: list[tuple] = []
        header_at = None
        for i, r in enumerate(it):
            top.append(r)
            ks = [header_key(v) for v in r]
            if header_key(FINDING_ID_HEADER) in ks and header_key(RESPONSE_HEADER) in ks:
                header_at = i
                break
            if i >= HEADER_SCAN_ROWS:
                break
        if header_at is None:
            continue  # no answer columns (the summary of cells' faults, a sheet of one's own)
        subtitle = " ".join(_text(v) or "" for r in top[:header_at] for v in r[:1])
        other = [m for m in re.findall(r"\(([^()\s]+)\)\s*—", subtitle) if m != code]
        if other:
            book.error = (
                f"Tệp {name}: sheet {ws.title} là danh sách của tổ chức {other[0]}, không phải của {code} — "
                "mỗi cấp ủy chỉ trả lời trên sổ của mình; tệp không được đọc"
            )
            book.rule = "response_wrong_committee"
            return
        ks = [header_key(v) for v in top[header_at]]
        col = {keys[k]: j for j, k in enumerate(ks) if k in keys}
        member_col = next((j for j, k in enumerate(ks) if k in members), None)
        list_code = lists.get(header_key(ws.title))
        for n, r in enumerate(it, start=header_at + 2):

            def cell(j: int | None, r: tuple = r) -> str | None:
                return _text(r[j]) if j is not None and j < len(r) else None

            response, note = cell(col.get("response_text")), cell(col.get("note"))
            if response is None and note is None:
                continue
            rows.append(
                (
                    ws.title,
                    n,
                    list_code,
                    cell(col.get("finding_id")),
                    cell(member_col),
                    response,
                    note[: NOTE_MAX + 1] if note else None,
                )
            )
    book.rows = pd.DataFrame(rows, columns=ROW_FIELDS).astype(
        {c: "string" for c in ROW_FIELDS if c != "row"} | {"row": "Int64"}
    )


def _lines(rows: pd.DataFrame, rule: pd.Series | str, message: pd.Series | str) -> pd.DataFrame:
    return pd.DataFrame(
        {"_pos": rows.index.to_numpy(), "rule": rule, "message": message},
        index=rows.index,
    )


def check_rows(
    book: ReturnedWorkbook,
    stored: pd.DataFrame,
    pairs: pd.DataFrame,
    roots: set[str],
    last: pd.DataFrame,
) -> pd.DataFrame:
    """The answered rows of ``book`` with ``status`` (recorded / rejected / unchanged), ``rule``,
    ``message``, ``response`` (code) and ``facts`` (of the stored finding).

    ``stored``: the findings recorded (``AnswerStore.stored_findings``); ``pairs``: the tree's
    (ancestor_code, org_code) pairs; ``roots``: codes of the board (tree roots and BOARD_CODE);
    ``last``: the last recorded answer per finding_id (response, note)."""
    from rules.answers import facts

    rows = book.rows.reset_index(drop=True).copy()
    rows["response"] = response_code(rows["response_text"])
    rows["status"] = "recorded"
    rows["rule"] = pd.NA
    rows["message"] = pd.NA
    rows = rows.astype({"rule": "string", "message": "string", "status": "string"})

    def reject(mask: pd.Series, rule: str, message: pd.Series | str) -> None:
        mask = mask.fillna(False) & (rows["status"] == "recorded")
        if mask.any():
            rows.loc[mask, "status"] = "rejected"
            rows.loc[mask, "rule"] = rule
            msg = message[mask] if isinstance(message, pd.Series) else message
            rows.loc[mask, "message"] = msg

    issues = validate_answers(rows)
    if len(issues):
        first = issues.drop_duplicates("_pos").set_index("_pos")
        bad = pd.Series(rows.index.isin(first.index), index=rows.index)
        msgs = pd.Series(first["message"].reindex(rows.index).to_numpy(), index=rows.index, dtype="string")
        rules = first["rule"].reindex(rows.index)
        for rule in rules.dropna().unique():
            reject(bad & (rules == rule), str(rule), msgs)

    st = stored.set_index("finding_id")
    known = rows["finding_id"].isin(st.index)
    reject(
        ~known,
        "response_unknown",
        "Mã phát hiện không có trong kết quả đối chiếu — đừng sửa cột Mã phát hiện",
    )
    got = st.reindex(rows["finding_id"].to_numpy())
    got.index = rows.index
    committee = book.committee_code or ""
    is_board = committee in roots
    inside = pd.Series(False, index=rows.index)
    if is_board:
        inside[:] = True
    else:
        sub = set(pairs.loc[pairs["ancestor_code"] == committee, "org_code"].dropna())
        inside = got["org_code"].isin(sub)
    reject(
        ~inside,
        "response_other_committee",
        "phát hiện của tổ chức " + got["org_code"].fillna("?").astype("string") + f", không thuộc {committee}"
        " — mỗi cấp ủy chỉ trả lời phát hiện của mình",
    )
    moved = (rows["list_code"].isna() | (rows["list_code"] != got["list_code"])).fillna(True)
    member_moved = (
        rows["member_code"].notna() & (rows["member_code"] != got["member_code"].astype("string"))
    ).fillna(False)
    reject(
        moved | member_moved,
        "response_changed_list",
        "dòng đã bị chuyển sang danh sách khác hoặc sửa mã đảng viên — trả lời ngay trên dòng đã nhận, "
        "không sửa, không chép dòng sang sheet khác",
    )
    reject(
        (rows["response"] == ACCEPT_CODE) & (not is_board),
        "response_not_board",
        "chỉ Ban Tổ chức được chọn 'Chấp nhận giải trình'",
    )
    reject(
        (rows["response"] == ACCEPT_CODE) & (got["status"] == "resolved"),
        "response_resolved",
        "phát hiện đã được khắc phục, không cần chấp nhận",
    )
    rows["facts"] = facts(got)
    rows.loc[rows["status"] == "rejected", "facts"] = pd.NA
    # The workbook carries the last answer back: the same answer again is not a new one.
    if last is not None and len(last):
        prev = last.reindex(rows["finding_id"].to_numpy())
        same = (
            (pd.Series(prev["response"].to_numpy(), index=rows.index) == rows["response"])
            & (
                pd.Series(prev["note"].fillna("").to_numpy(), index=rows.index).astype("string")
                == rows["note"].fillna("")
            )
        ).fillna(False)
        rows.loc[same & (rows["status"] == "recorded"), "status"] = "unchanged"
    # A duplicated finding_id in one file: the last row counts, the others are lines.
    live = rows[rows["status"] != "rejected"]
    dup = pd.Series(False, index=rows.index)
    dup[live.index] = live["finding_id"].notna() & live.duplicated("finding_id", keep="last")
    reject(dup, "response_duplicate", "mã phát hiện lặp lại trong tệp — chỉ dòng cuối được ghi nhận")
    return rows


def ingest_responses(
    folder: Path,
    results_url: str,
    organizations: pd.DataFrame,
    as_of: date | str,
) -> tuple[dict, pd.DataFrame]:
    """Read the new returned workbooks of ``folder`` into the results database; -> (counts,
    quarantine lines of every returned workbook still in the folder)."""
    from connectors.answers import AnswerStore
    from connectors.workbooks import list_submissions
    from rules.answers import latest
    from schemas.tree import ancestor_pairs

    folder = Path(folder)
    store = AnswerStore(results_url)
    counts = {"files": 0, "files_new": 0, "files_rejected": 0, "answers": 0, "unchanged": 0, "quarantined": 0}
    counts["decisions"] = 0
    present: set[str] = set()
    try:
        listed, _skipped = list_submissions(folder)
        known = store.known_checksums()
        orgs = organizations.astype({"org_code": "string"})
        pairs = ancestor_pairs(orgs)
        parent = (
            orgs["parent_code"].astype("string")
            if "parent_code" in orgs.columns
            else pd.Series(pd.NA, index=orgs.index)
        )
        roots = set(orgs.loc[parent.isna() | ~parent.isin(orgs["org_code"]), "org_code"].dropna()) | {
            BOARD_CODE
        }
        recorded = store.answers()  # the last answer of each finding: not recorded twice
        for path, source in listed:
            if path.suffix.lower() not in (".xlsx", ".xlsm"):
                continue
            counts["files"] += 1
            digest = _file_digest(path)
            if digest and digest in known:
                present.add(digest)
                continue
            book = read_returned(path, source)
            present.add(book.checksum)
            if book.checksum in known:
                continue
            counts["files_new"] += 1
            meta = {"checksum": book.checksum, "file": book.file, "committee_code": book.committee_code}
            meta["received_on"] = as_of
            if (
                book.error is None
                and book.committee_code not in roots
                and book.committee_code not in set(orgs["org_code"])
            ):
                book.error = (
                    f"Tệp {book.file}: tổ chức {book.committee_code} không có trong CSDL trung ương — "
                    "trả lời ngay trên sổ đã nhận"
                )
            if book.error is not None:
                counts["files_rejected"] += 1
                log.warning("%s", book.error)
                store.record_file(
                    {**meta, "error": book.error, "rule": book.rule, "rows_answered": 0}, pd.DataFrame()
                )
                continue
            stored = store.stored_findings(book.rows["finding_id"].dropna().unique())
            last = latest(recorded, ["responded_on", "id"])[["response", "note"]]
            rows = check_rows(book, stored, pairs, roots, last)
            rec = rows[rows["status"] != "unchanged"]
            answers = rec[rec["response"].fillna("") != ACCEPT_CODE].assign(
                file=book.file, committee_code=book.committee_code, responded_on=pd.Timestamp(as_of)
            )
            answers.loc[rec["status"] == "rejected", "response"] = answers["response"].str.lstrip("?")
            accepts = rec[(rec["response"] == ACCEPT_CODE) & (rec["status"] == "recorded")]
            rejected_accepts = rec[(rec["response"] == ACCEPT_CODE) & (rec["status"] == "rejected")]
            answers = pd.concat(
                [
                    answers,
                    rejected_accepts.assign(
                        file=book.file, committee_code=book.committee_code, responded_on=pd.Timestamp(as_of)
                    ),
                ],
                ignore_index=True,
            )
            decisions = pd.DataFrame(
                {
                    "finding_id": accepts["finding_id"].to_numpy(),
                    "decision": "accepted",
                    "note": accepts["note"].to_numpy(),
                    "decided_by": f"Ban Tổ chức ({book.committee_code}, tệp {book.file})",
                    "decided_on": pd.Timestamp(as_of),
                    "decided_at": pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds"),
                    "facts": accepts["facts"].to_numpy(),
                    "source": book.file,
                }
            )
            store.record_file({**meta, "rows_answered": len(rows)}, answers, decisions)
            new = answers.loc[answers["status"] == "recorded", ["finding_id", "response", "note"]]
            if len(new):
                start = int(recorded["id"].max()) + 1 if len(recorded) else 0
                new = new.assign(
                    id=range(start, start + len(new)), responded_on=pd.Timestamp(as_of).strftime("%Y-%m-%d")
                )
                recorded = pd.concat([recorded, new], ignore_index=True)
            n_rej = int((rows["status"] == "rejected").sum())
            counts["answers"] += int((answers["status"] == "recorded").sum())
            counts["unchanged"] += int((rows["status"] == "unchanged").sum())
            counts["quarantined"] += n_rej
            counts["decisions"] += len(decisions)
            log.info(
                "Sổ trả lời %s (%s): %d trả lời, %d dòng cách ly",
                book.file,
                book.committee_code,
                len(rows),
                n_rej,
            )
        lines = store.rejected_lines(present)
    finally:
        store.dispose()
    return counts, lines


def _file_digest(path: Path) -> str | None:
    try:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        return h.hexdigest()
    except OSError:
        return None
