"""The console a person follows: Vietnamese lines with counts and times, Prefect's chatter hidden.

Prefect prints every task's "Created/Finished in state Completed()" and its own server notices;
an operator at the terminal needs one line per stage, progress while workbooks are read, and the
warnings. ``person_console()`` installs a filter and a short format on Prefect's console handlers
(the run's logs in Prefect's database keep everything); ``--verbose`` leaves them as they are.
"""

from __future__ import annotations

import logging
from pathlib import Path

from flows.logs import set_inner_formatter

# Stage keys stay English (summary.json's durations, the benchmark); a person reads these.
STAGE_LABELS = {
    "extract central": "Đọc CSDL trung ương",
    "validate central": "Kiểm tra dữ liệu trung ương",
    "load partition": "Nạp phần dữ liệu",
    "read workbooks": "Đọc bảng nộp",
    "store submissions": "Lưu kho bảng nộp",
    "reconcile": "Đối chiếu",
    "read responses": "Đọc sổ trả lời của cấp ủy",
    "record history": "Ghi lịch sử phát hiện",
    "publish": "Xuất danh sách",
    "publish artifacts": "Ghi tóm tắt lên Prefect",
}
TABLE_LABELS = {
    "organizations": "tổ chức",
    "members": "đảng viên",
    "ratings": "xếp loại",
    "disciplines": "kỷ luật",
    "transfers": "chuyển sinh hoạt",
    "dossier_documents": "tài liệu hồ sơ",
    "badges": "huy hiệu",
    "activity_gaps": "gián đoạn sinh hoạt",
}

_PREFECT_DIR = str(Path(logging.__file__).parent)  # replaced below once prefect is importable
try:
    import prefect

    _PREFECT_DIR = str(Path(prefect.__file__).parent)
except ImportError:  # pragma: no cover - prefect is a dependency
    pass


def number(n: float | int) -> str:
    """Vietnamese grouping: 3005 -> '3.005'; 1.5 -> '1,5'."""
    if isinstance(n, float) and not n.is_integer():
        return f"{n:,.1f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    return f"{int(n):,}".replace(",", ".")


def seconds(s: float) -> str:
    return f"{s:.1f}".replace(".", ",") + " giây"


class PersonFilter(logging.Filter):
    """Keep warnings and errors, and dvsync's own lines; drop Prefect's engine chatter and the
    stage-start marks (a stage is one line, when it ends)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if str(record.pathname).startswith(_PREFECT_DIR):
            # Prefect's own lines: its warnings pass; a failure it reports (with the exception, or
            # "Finished in state Failed") is said once, by the CLI's last line.
            return (
                record.levelno >= logging.WARNING
                and record.exc_info is None
                and not str(record.msg).startswith(("Finished in state", "Task run failed", "Encountered"))
            )
        return record.levelno >= logging.WARNING or not str(record.msg).startswith("▶")


def person_console() -> None:
    formatter = logging.Formatter("%(asctime)s  %(message)s", datefmt="%H:%M:%S")
    for name in ("", "prefect", "prefect.flow_runs", "prefect.task_runs"):
        for handler in logging.getLogger(name).handlers:
            if type(handler).__name__ == "PrefectConsoleHandler" and not any(
                isinstance(f, PersonFilter) for f in handler.filters
            ):
                handler.addFilter(PersonFilter())
                set_inner_formatter(handler, formatter)
