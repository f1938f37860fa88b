"""`dvsync accept FINDING_ID --note …`: the board accepts a committee's explanation (issue #20).

The decision is recorded in the results database with who (``--by``) and when; from the next night
the finding has status ``accepted`` and leaves the committee's open lists and the counts, until its
central or cell values change: then it reopens by itself.
"""

from __future__ import annotations

import getpass
import re
import unicodedata
from pathlib import Path

from schemas.errors import EXIT_OK, UsageError
from schemas.responses import FINDING_ID_PATTERN, NOTE_MAX


def results_url(results: str | None, out: str | None) -> str:
    """--results, else DVSYNC_RESULTS_URL, else the SQLite file of the output folder (which must
    exist: the board accepts findings a night has recorded)."""
    from flows.inputs import check_url, with_password
    from schemas.settings import Settings

    settings = Settings.from_env()
    url = results or settings.results_url
    if url:
        url = with_password(url, settings.results_password)
        check_url(url, "CSDL kết quả")
        return url
    base = Path(out) if out else settings.out or Path("dvsync-out")
    db = base / "results.sqlite"
    if not db.is_file():
        raise UsageError(
            f"Không thấy CSDL kết quả {db}: dùng --results URL hoặc --out DIR của đối soát hằng đêm"
        )
    return f"sqlite:///{db.resolve().as_posix()}"


def accept(finding_id: str, note: str, by: str | None, results: str | None, out: str | None) -> int:
    from connectors.answers import AnswerStore
    from connectors.lock import results_faults
    from connectors.store import ResultsStore
    from flows.inputs import today

    fid = (finding_id or "").strip().lower()
    if not re.fullmatch(FINDING_ID_PATTERN, fid):
        raise UsageError(
            f"Mã phát hiện không hợp lệ: {finding_id[:40]!r} (16 ký tự 0-9, a-f, cột Mã phát hiện)"
        )
    note = unicodedata.normalize("NFC", " ".join((note or "").split()))
    if not note:
        raise UsageError("--note: ghi lý do Ban Tổ chức chấp nhận giải trình")
    if len(note) > NOTE_MAX:
        raise UsageError(f"--note dài quá {NOTE_MAX} ký tự")
    who = unicodedata.normalize("NFC", (by or "").strip()) or f"Ban Tổ chức ({getpass.getuser()})"
    url = results_url(results, out)
    store = ResultsStore(url)
    try:
        with results_faults(url):
            store.migrate()
        try:
            with results_faults(url):
                decision = AnswerStore(store).accept(fid, note, who, today().date())
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    finally:
        store.dispose()
    print(
        f"Đã ghi: Ban Tổ chức chấp nhận giải trình của phát hiện {fid} "
        f"(người quyết định: {decision['decided_by']}, ngày {decision['decided_on']:%d/%m/%Y}); "
        "từ lần đối soát sau, phát hiện ra khỏi danh sách cần xử lý cho đến khi số liệu thay đổi"
    )
    return EXIT_OK
