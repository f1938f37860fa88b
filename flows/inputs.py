"""Resolve a run's inputs: explicit options (or flow parameters) > environment > nothing.

The flow's edge: deployments reach the flow directly, so the flow reads its settings here, once,
into a frozen ``RunInputs``. The bundled demo data is used only when asked (`dvsync nightly
--demo` builds it and passes its files); with no central database configured a run is a usage
error (exit 2) saying what to set. ``check_inputs`` validates everything that can
be validated without side effects and is called by the CLI before any Prefect server starts;
``resolve_inputs`` does the same inside the flow (deployments reach the flow directly), then
creates the output folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from schemas.errors import UsageError
from schemas.secrets import split_password, with_password  # noqa: F401 (used by the CLI)
from schemas.settings import Settings

_SCHEMES = ("sqlite", "postgresql", "mssql", "mysql", "mariadb", "oracle")


@dataclass(frozen=True)
class RunInputs:
    central: str
    submissions: Path
    out: Path  # where this run publishes (an audit: <base>/audits/<committee>/<as_of>)
    as_of: pd.Timestamp
    period: str
    results: str
    workers: int
    demo: bool
    mapping: Path | None = None
    committee: str | None = None
    base_out: Path | None = None  # the nightly's output folder (an audit's is below it)
    responses: Path | None = None  # the committees' returned workbooks (issue #20)

    @property
    def mode(self) -> str:
        return "audit" if self.committee else "nightly"


def parse_as_of(text: str) -> pd.Timestamp:
    """ISO `YYYY-MM-DD` or Vietnamese `dd/mm/yyyy` (never mm/dd)."""
    text = str(text).strip()
    if m := re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text):
        y, mo, d = m.groups()
    elif m := re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", text):
        d, mo, y = m.groups()
    else:
        raise UsageError(f"Ngày không hợp lệ: {text[:40]!r} (dùng YYYY-MM-DD hoặc dd/mm/yyyy)")
    try:
        return pd.Timestamp(int(y), int(mo), int(d))
    except ValueError:
        raise UsageError(f"Ngày không hợp lệ: {text!r} (không có ngày này)") from None


def parse_period(text: str) -> str:
    """`YYYY-MM` or `MM/YYYY` -> `YYYY-MM`."""
    text = str(text).strip()
    if m := re.fullmatch(r"(\d{4})-(\d{1,2})", text):
        y, mo = m.groups()
    elif m := re.fullmatch(r"(\d{1,2})/(\d{4})", text):
        mo, y = m.groups()
    else:
        raise UsageError(f"Kỳ báo cáo không hợp lệ: {text[:40]!r} (dùng YYYY-MM hoặc MM/YYYY)")
    if not 1 <= int(mo) <= 12:
        raise UsageError(f"Kỳ báo cáo không hợp lệ: {text!r} (tháng 1–12)")
    return f"{int(y):04d}-{int(mo):02d}"


def default_period(as_of: pd.Timestamp) -> str:
    """The month before as_of: cells send a month's workbook after the month ends."""
    return (as_of.to_period("M") - 1).strftime("%Y-%m")


def today() -> pd.Timestamp:
    """Today in Vietnam (the nightly runs at 01:00 Asia/Ho_Chi_Minh, whatever the host's zone)."""
    return pd.Timestamp.now(tz="Asia/Ho_Chi_Minh").tz_localize(None).normalize()


def check_committee(code: str | None) -> str | None:
    if code is None:
        return None
    from schemas.contract import ORG_CODE_MAX_LENGTH, ORG_CODE_PATTERN, RESERVED_FILE_NAMES

    # The committee code names the audit's output folder: the organisation codes' own pattern.
    code = str(code).strip()
    if (
        len(code) > ORG_CODE_MAX_LENGTH
        or not re.fullmatch(ORG_CODE_PATTERN, code)
        or code.split(".")[0].upper() in RESERVED_FILE_NAMES
    ):
        raise UsageError(f"Mã tổ chức không hợp lệ: {code[:40]!r} (chữ, số, nối bằng '.', '-', '_')")
    return code


def check_url(url: str, what: str) -> None:
    """A source URL whose scheme, dialect and driver are usable here: else a usage error (exit 2)
    saying what to install or set, instead of a traceback once the run has started."""
    from connectors.central import ODBC_PREFIX, redact

    if url.startswith(ODBC_PREFIX):
        _check_odbc(url[len(ODBC_PREFIX) :], what)
        return
    from sqlalchemy.engine import make_url

    try:
        u = make_url(url)
    except Exception:  # noqa: BLE001 - ArgumentError may echo the URL
        raise UsageError(
            f"{what}: URL không hợp lệ {redact(url)!r} (ví dụ postgresql+psycopg://user@host/db, "
            "sqlite:///duong/dan.sqlite, mssql+pyodbc://…, odbc:DRIVER={…};…)"
        ) from None
    if u.get_backend_name() not in _SCHEMES:
        raise UsageError(f"{what}: loại CSDL không hỗ trợ {u.drivername!r} trong {redact(url)}")
    try:
        u.get_dialect()
    except Exception as exc:  # noqa: BLE001 - unknown dialect or missing DBAPI package
        raise UsageError(
            f"{what}: không dùng được {u.drivername!r}: {type(exc).__name__}: {exc}"[:300]
        ) from None
    if u.get_backend_name() == "sqlite":
        db = u.database or ""
        if what.startswith("CSDL trung") and db and db != ":memory:" and not Path(db).is_file():
            raise UsageError(f"{what}: không thấy tệp SQLite {db}")
    if u.get_driver_name() == "pyodbc":
        driver = u.query.get("driver") or "ODBC Driver 18 for SQL Server"
        _check_odbc(f"DRIVER={{{driver}}}", what)


def _check_odbc(conn: str, what: str) -> None:
    try:
        import pyodbc
    except ImportError as exc:
        raise UsageError(
            f"{what}: thiếu trình quản lý ODBC ({exc}): cài unixODBC (apt-get install unixodbc)"
        ) from None
    m = re.search(r"(?i)\bdriver\s*=\s*(\{[^}]*\}|[^;]*)", conn)
    if not m:
        return  # a DSN: its driver is named in odbc.ini
    driver = m.group(1).strip().strip("{}")
    if driver.startswith("/"):
        if not Path(driver).exists():
            raise UsageError(f"{what}: không thấy trình điều khiển ODBC {driver}")
        return
    installed = pyodbc.drivers()
    if driver not in installed:
        have = ", ".join(installed) or "không có"
        raise UsageError(
            f"{what}: chưa cài trình điều khiển ODBC {driver!r} (đã có: {have}); "
            "cài nó (ví dụ apt-get install odbc-postgresql, hoặc msodbcsql18) rồi chạy lại"
        )


def _central(central: str | None, settings: Settings, load_secret: bool) -> str | None:
    if central:
        return with_password(central, settings.central_password)
    if settings.central_url:
        return with_password(settings.central_url, settings.central_password)
    if settings.central_secret:
        if not load_secret:
            return "secret:" + settings.central_secret  # checked once the flow can reach Prefect
        from connectors.central import resolve_source

        return resolve_source(None)
    return None


def resolve_inputs(
    central: str | None,
    submissions: str | None,
    out: str | None,
    as_of: str | None,
    period: str | None,
    results: str | None,
    mapping: str | None = None,
    committee: str | None = None,
    demo: bool = False,
    settings: Settings | None = None,
    log=print,
    prepare: bool = True,
    responses: str | None = None,
) -> RunInputs:
    """Every input of a run, checked. ``prepare=False`` (the CLI, before Prefect starts) has no
    side effect: no demo data built, no folder created, no Secret block loaded."""
    settings = settings or Settings.from_env()
    committee = check_committee(committee)
    ts = parse_as_of(as_of) if as_of else None
    per = parse_period(period) if period else None
    if demo:
        # The bundled demo: `dvsync nightly --demo` builds it and passes its files here. It never
        # mixes with production: no configured source, folder, results database or mapping.
        base = Path(out) if out else Path("dvsync-out")
        results_url = results
        map_path = Path(mapping) if mapping else None
        if prepare:
            if not (central and submissions):
                raise UsageError(
                    "demo: dữ liệu mẫu do `dvsync nightly --demo` chuẩn bị; một deployment cần nguồn thật"
                )
            source, folder = central, Path(submissions)
        else:
            source, folder = "sqlite://", None
    else:
        source = _central(central, settings, load_secret=prepare)
        if not source:
            raise UsageError(
                "Chưa cấu hình CSDL trung ương: đặt DVSYNC_CENTRAL_URL (hoặc DVSYNC_CENTRAL_SECRET) "
                "hoặc dùng --central URL; chạy thử trên dữ liệu mẫu: dvsync nightly --demo"
            )
        sub = submissions or settings.submissions
        if not sub:
            raise UsageError(
                "Chưa cấu hình thư mục bảng nộp: đặt DVSYNC_SUBMISSIONS hoặc dùng --submissions DIR"
            )
        folder = Path(sub)
        if not folder.is_dir():
            raise UsageError(f"Không tìm thấy thư mục bảng nộp: {folder}")
        base = Path(out) if out else settings.out or Path("dvsync-out")
        results_url = results or settings.results_url
        map_path = Path(mapping) if mapping else settings.mapping
        if not source.startswith("secret:"):
            check_url(source, "CSDL trung ương")
    if map_path is not None and not map_path.is_file():
        raise UsageError(f"Không tìm thấy tệp ánh xạ: {map_path}")
    # The committees' returned workbooks (--responses, DVSYNC_RESPONSES; the demo: only if given).
    resp_dir = Path(responses) if responses else (None if demo else settings.responses)
    if resp_dir is not None and not resp_dir.is_dir():
        raise UsageError(f"Không tìm thấy thư mục sổ trả lời của cấp ủy: {resp_dir}")
    if results_url:
        results_url = with_password(results_url, settings.results_password)
        check_url(results_url, "CSDL kết quả")
    if base.exists() and not base.is_dir():
        raise UsageError(f"Thư mục kết quả là một tệp: {base}")
    ts = ts if ts is not None else today()
    per = per or default_period(ts)
    out_dir = base / "audits" / committee / f"{ts:%Y-%m-%d}" if committee else base
    if prepare:
        out_dir.mkdir(parents=True, exist_ok=True)
        base.mkdir(parents=True, exist_ok=True)
    results_url = results_url or f"sqlite:///{(base / 'results.sqlite').resolve().as_posix()}"
    return RunInputs(
        central=source,
        submissions=folder if folder is not None else Path("."),
        out=out_dir,
        as_of=ts,
        period=per,
        results=results_url,
        workers=settings.workers,
        demo=demo,
        mapping=map_path,
        committee=committee,
        base_out=base,
        responses=resp_dir,
    )
