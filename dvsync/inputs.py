"""Resolve a run's inputs: explicit options > environment > the bundled demo data."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from dvsync.settings import Settings
from schemas.errors import UsageError  # noqa: E402,F401 (re-exported)


@dataclass(frozen=True)
class RunInputs:
    central: str
    submissions: Path
    out: Path
    as_of: pd.Timestamp
    period: str
    results: str
    workers: int
    demo: bool


def parse_as_of(text: str) -> pd.Timestamp:
    """ISO `YYYY-MM-DD` or Vietnamese `dd/mm/yyyy` (never mm/dd)."""
    text = text.strip()
    if m := re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text):
        y, mo, d = m.groups()
    elif m := re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", text):
        d, mo, y = m.groups()
    else:
        raise UsageError(f"Ngày không hợp lệ: {text!r} (dùng YYYY-MM-DD hoặc dd/mm/yyyy)")
    try:
        return pd.Timestamp(int(y), int(mo), int(d))
    except ValueError as exc:
        raise UsageError(f"Ngày không hợp lệ: {text!r}") from exc


def parse_period(text: str) -> str:
    """`YYYY-MM` or `MM/YYYY` -> `YYYY-MM`."""
    text = text.strip()
    if m := re.fullmatch(r"(\d{4})-(\d{1,2})", text):
        y, mo = m.groups()
    elif m := re.fullmatch(r"(\d{1,2})/(\d{4})", text):
        mo, y = m.groups()
    else:
        raise UsageError(f"Kỳ báo cáo không hợp lệ: {text!r} (dùng YYYY-MM)")
    if not 1 <= int(mo) <= 12:
        raise UsageError(f"Kỳ báo cáo không hợp lệ: {text!r}")
    return f"{int(y):04d}-{int(mo):02d}"


def default_period(as_of: pd.Timestamp) -> str:
    """The month before as_of: cells send a month's workbook after the month ends."""
    return (as_of.to_period("M") - 1).strftime("%Y-%m")


def resolve_inputs(
    central: str | None,
    submissions: str | None,
    out: str | None,
    as_of: str | None,
    period: str | None,
    results: str | None,
    settings: Settings | None = None,
    log=print,
) -> RunInputs:
    from connectors.central import resolve_source

    settings = settings or Settings.from_env()
    source = resolve_source(central)
    demo_meta: dict = {}
    if source is None:
        from dvsync.bundled import bundled_demo, demo_metadata

        demo_dir = bundled_demo(settings, log=log)
        demo_meta = demo_metadata(demo_dir)
        source = f"sqlite:///{(demo_dir / 'central.sqlite').as_posix()}"
        submissions = submissions or str(demo_dir / "submissions")
        log(f"Không chỉ định nguồn: dùng dữ liệu mẫu đi kèm ({demo_meta.get('members')} đảng viên)")
    if not submissions:
        raise UsageError("Thiếu thư mục bảng nộp của chi bộ (--submissions DIR)")
    folder = Path(submissions)
    if not folder.is_dir():
        raise UsageError(f"Không tìm thấy thư mục bảng nộp: {folder}")
    ts = (
        parse_as_of(as_of)
        if as_of
        else (pd.Timestamp(demo_meta["as_of"]) if demo_meta else pd.Timestamp.today().normalize())
    )
    per = parse_period(period) if period else demo_meta.get("period") if demo_meta and not as_of else None
    per = per or default_period(ts)
    out_dir = Path(out) if out else settings.out
    out_dir.mkdir(parents=True, exist_ok=True)
    results_url = (
        results or settings.results_url or f"sqlite:///{(out_dir / 'results.sqlite').resolve().as_posix()}"
    )
    return RunInputs(
        central=source,
        submissions=folder,
        out=out_dir,
        as_of=ts,
        period=per,
        results=results_url,
        workers=settings.workers,
        demo=bool(demo_meta),
    )
