"""`dvsync`: dòng lệnh. Mỗi lệnh chạy đúng luồng Prefect mà các deployment chạy.

Exit status: 0 run completed (findings and quarantined rows are results); 1 `check` found
something to fix; 2 usage or configuration error; 3 a source, the results database or the output
folder could not be read or written after retries. Always one line on error, never a traceback
(``DVSYNC_DEBUG=1`` keeps them for the IT staff).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from schemas.errors import EXIT_OK, EXIT_SOURCE, EXIT_USAGE, DvsyncError

EXIT_FIX = 1

_EPILOG_NIGHTLY = """\
Thiết lập (biến môi trường; tùy chọn dòng lệnh được ưu tiên hơn):
  DVSYNC_CENTRAL_URL     CSDL trung ương (hoặc DVSYNC_CENTRAL_SECRET: tên Secret block của Prefect)
  DVSYNC_SUBMISSIONS     thư mục bảng nộp của chi bộ
  DVSYNC_OUT             thư mục kết quả (mặc định ./dvsync-out)
  DVSYNC_RESULTS_URL     CSDL kết quả (mặc định SQLite trong thư mục kết quả)
  DVSYNC_MAPPING         tệp ánh xạ bảng/cột (YAML)
  DVSYNC_RESPONSES       thư mục sổ trả lời của các cấp ủy (sổ danh sách đã điền kết quả xử lý)
  DVSYNC_CENTRAL_PASSWORD, DVSYNC_RESULTS_PASSWORD  mật khẩu, nếu không ghi trong URL

Ví dụ:
  dvsync nightly --demo --out dvsync-out
  dvsync nightly --central 'postgresql+psycopg://dvsync@db/dangvien' --submissions /srv/bang-nop --out /srv/dvsync
Mã thoát: 0 hoàn tất; 2 sai cách dùng hoặc thiếu thiết lập; 3 không đọc/ghi được nguồn hay kết quả."""


def _source_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--central",
        metavar="URL",
        help="CSDL trung ương: URL SQLAlchemy (mssql+pyodbc://…, postgresql+psycopg://…, sqlite:///…) "
        "hoặc odbc:<chuỗi kết nối> (mặc định: $DVSYNC_CENTRAL_URL, hoặc Secret $DVSYNC_CENTRAL_SECRET)",
    )
    p.add_argument(
        "--submissions",
        metavar="DIR",
        help="thư mục bảng nộp .xlsx của chi bộ (mặc định: $DVSYNC_SUBMISSIONS)",
    )
    p.add_argument("--out", metavar="DIR", help="thư mục kết quả (mặc định: $DVSYNC_OUT, hoặc ./dvsync-out)")
    p.add_argument(
        "--as-of",
        dest="as_of",
        metavar="NGÀY",
        help="ngày đối chiếu, dd/mm/yyyy hoặc YYYY-MM-DD (mặc định: hôm nay; với --demo: ngày của dữ liệu mẫu)",
    )
    p.add_argument(
        "--period",
        metavar="KỲ",
        help="kỳ báo cáo MM/YYYY hoặc YYYY-MM (mặc định: tháng trước ngày đối chiếu)",
    )
    p.add_argument(
        "--results",
        metavar="URL",
        help="CSDL kết quả (mặc định: $DVSYNC_RESULTS_URL, hoặc SQLite trong thư mục kết quả)",
    )
    p.add_argument(
        "--mapping",
        metavar="TỆP",
        help="tệp YAML ánh xạ tên bảng/cột của CSDL trung ương (mặc định: $DVSYNC_MAPPING)",
    )
    p.add_argument(
        "--responses",
        metavar="DIR",
        help="thư mục sổ trả lời: sổ danh sách cấp ủy gửi lại, đã điền cột Kết quả xử lý và Ghi chú / giải trình "
        "(mặc định: $DVSYNC_RESPONSES)",
    )
    p.add_argument(
        "--demo",
        action="store_true",
        help="chạy trên dữ liệu mẫu đi kèm (không dùng cùng --central/--submissions; không đụng thiết lập thật)",
    )
    p.add_argument(
        "--chunk-size",
        dest="chunk_size",
        type=int,
        default=None,
        metavar="N",
        help="số dòng mỗi lần đọc (mặc định 100000)",
    )
    p.add_argument(
        "--partition-members",
        dest="partition_members",
        type=int,
        default=None,
        metavar="N",
        help="số đảng viên mỗi phần: kiểm tra và đối chiếu chạy từng phần một, hoặc song song trên Dask (mặc định 250000)",
    )
    p.add_argument(
        "--verbose",
        action="store_true",
        help="in cả nhật ký chi tiết của Prefect (từng tác vụ), cho nhân viên CNTT",
    )
    p.add_argument(
        "--dask-address",
        dest="dask_address",
        metavar="ĐỊA_CHỈ",
        help="chạy các tác vụ trên cụm Dask có sẵn (mặc định: $DVSYNC_DASK_ADDRESS, nếu không thì chạy tại máy)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dvsync",
        description="Đối chiếu dữ liệu đảng viên: CSDL trung ương với bảng nộp của chi bộ (Chỉ thị 28-CT/TW).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="LỆNH")
    fmt = argparse.RawDescriptionHelpFormatter

    p = sub.add_parser(
        "nightly",
        help="đối soát hằng đêm (--demo: trên dữ liệu mẫu)",
        description="Đối soát hằng đêm: đọc CSDL trung ương và bảng nộp, kiểm tra, đối chiếu, xuất danh sách.",
        epilog=_EPILOG_NIGHTLY,
        formatter_class=fmt,
    )
    _source_options(p)

    p = sub.add_parser(
        "audit",
        help="kiểm tra toàn bộ hồ sơ của một cấp ủy",
        description="Kiểm tra toàn bộ hồ sơ đảng viên của một cấp ủy và các tổ chức trực thuộc; "
        "kết quả ghi vào <out>/audits/<mã>/<ngày>/, không ghi đè kết quả hằng đêm.",
        epilog="Ví dụ:\n  dvsync audit --committee 93.001 --as-of 16/11/2026 --out /srv/dvsync",
        formatter_class=fmt,
    )
    p.add_argument("--committee", required=True, metavar="MÃ", help="mã tổ chức đảng (org_code) của cấp ủy")
    _source_options(p)

    p = sub.add_parser(
        "demo",
        help="tạo dữ liệu mẫu: CSDL trung ương và bảng nộp giả lập",
        description="Tạo CSDL trung ương (SQLite), bảng nộp của chi bộ và expected_findings.csv (các sai lệch cài sẵn).",
        epilog="Ví dụ:\n  dvsync demo --members 3000 --out /tmp/dvsync-demo",
        formatter_class=fmt,
    )
    p.add_argument("--members", type=int, required=True, metavar="N", help="số đảng viên")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="hạt giống ngẫu nhiên (mặc định 0)")
    p.add_argument("--out", required=True, metavar="DIR", help="thư mục ghi dữ liệu mẫu")
    p.add_argument("--as-of", dest="as_of", metavar="NGÀY", help="ngày của dữ liệu (mặc định 16/11/2026)")
    p.add_argument("--workers", type=int, default=None, metavar="N", help="số tiến trình ghi bảng nộp")

    p = sub.add_parser(
        "check",
        help="kiểm tra một bảng nộp và chỉ ra từng dòng cần sửa",
        description="Kiểm tra một bảng nộp .xlsx của chi bộ như dvsync sẽ đọc nó và in ra từng chỗ cần sửa "
        "(trang tính, dòng, cột, lý do). Mã thoát 0: hợp lệ; 1: có chỗ cần sửa; 2: không có tệp.",
        epilog="Ví dụ:\n  dvsync check bang-nop-10-2026.xlsx",
        formatter_class=fmt,
    )
    p.add_argument("file", metavar="TỆP.xlsx", help="bảng nộp cần kiểm tra")

    p = sub.add_parser(
        "template",
        help="tạo bảng nộp mẫu (trống) có sẵn trang tính, tiêu đề và danh sách chọn",
        description="Ghi một bảng nộp trống đúng mẫu: các trang ThongTin, DanhSach, SinhHoat, XepLoai, "
        "ChuyenDi, ChuyenDen, CamTinh, DanhGia với tiêu đề cột và danh sách chọn.",
        epilog="Ví dụ:\n  dvsync template bang-nop-mau.xlsx",
        formatter_class=fmt,
    )
    p.add_argument("file", metavar="TỆP.xlsx", help="nơi ghi bảng nộp mẫu")

    p = sub.add_parser(
        "accept",
        help="Ban Tổ chức chấp nhận giải trình của một phát hiện",
        description="Ban Tổ chức chấp nhận giải trình của cấp ủy về một phát hiện (cột Mã phát hiện trong sổ "
        "danh sách). Từ lần đối soát sau, phát hiện có trạng thái 'Giải trình được chấp nhận', ra khỏi danh "
        "sách cần xử lý và số liệu tổng hợp; nếu số liệu trung ương hoặc của chi bộ thay đổi, phát hiện tự mở "
        "lại. Mỗi quyết định được lưu cùng người quyết định và ngày.",
        epilog="Ví dụ:\n  dvsync accept 61fd171706a0b89c --note 'Đã xác minh: đúng theo quyết định số 12' "
        "--by 'Nguyễn Văn A' --out /srv/dvsync",
        formatter_class=fmt,
    )
    p.add_argument("finding_id", metavar="MÃ_PHÁT_HIỆN", help="mã phát hiện (16 ký tự, cột Mã phát hiện)")
    p.add_argument("--note", required=True, metavar="LÝ_DO", help="lý do chấp nhận (bắt buộc)")
    p.add_argument(
        "--by", metavar="TÊN", help="người quyết định (mặc định: Ban Tổ chức và tên người dùng máy)"
    )
    p.add_argument(
        "--results",
        metavar="URL",
        help="CSDL kết quả (mặc định: $DVSYNC_RESULTS_URL, hoặc SQLite trong thư mục kết quả)",
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        help="thư mục kết quả của đối soát hằng đêm (mặc định: $DVSYNC_OUT, hoặc ./dvsync-out)",
    )
    return parser


def _one_line(exc: BaseException) -> str:
    from connectors.central import redact

    text = " ".join(str(exc).split()) or type(exc).__name__
    return redact(text)[:500]


def _prepare(args: argparse.Namespace, mode: str) -> dict:
    """Check every option and setting before any Prefect server or flow starts (usage errors in a
    second, not after a temporary server's start), and keep passwords out of the flow's parameters:
    they go to the environment, which the flow reads (contract §5; README "Deploy")."""
    from flows.inputs import resolve_inputs, split_password
    from schemas.settings import ENV_CENTRAL_PASSWORD, ENV_RESULTS_PASSWORD, Settings

    settings = Settings.from_env()
    for name in ("chunk_size", "partition_members"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise DvsyncUsage(f"--{name.replace('_', '-')} phải lớn hơn 0")
    if args.demo and (args.central or args.submissions):
        raise DvsyncUsage("--demo chạy trên dữ liệu mẫu đi kèm: bỏ --central/--submissions")
    resolve_inputs(
        args.central,
        args.submissions,
        args.out,
        args.as_of,
        args.period,
        args.results,
        args.mapping,
        getattr(args, "committee", None),
        args.demo,
        settings=settings,
        prepare=False,
        responses=args.responses,
    )
    central, results = args.central, args.results
    if central:
        central, pw = split_password(central)
        if pw:
            os.environ[ENV_CENTRAL_PASSWORD] = pw
    if results:
        results, pw = split_password(results)
        if pw:
            os.environ[ENV_RESULTS_PASSWORD] = pw
    params = {
        "central": central,
        "submissions": args.submissions,
        "out": args.out,
        "as_of": args.as_of,
        "period": args.period,
        "results": results,
        "mapping": args.mapping,
        "demo": args.demo,
    }
    if args.demo:
        params.update(_demo_sources(settings, args))
    if args.responses:
        params["responses"] = args.responses
    for name in ("chunk_size", "partition_members"):
        if getattr(args, name) is not None:
            params[name] = getattr(args, name)
    if mode == "audit":
        params["committee"] = args.committee
    return params


def _demo_sources(settings, args: argparse.Namespace) -> dict:
    """The bundled demo's files (built on first use) and its own date and period, unless given."""
    from dvsync.bundled import bundled_demo, demo_metadata

    demo_dir = bundled_demo(settings, log=lambda m: print(m, flush=True))
    meta = demo_metadata(demo_dir)
    members = f"{int(meta.get('members') or 0):,}".replace(",", ".")
    print(f"Chạy trên dữ liệu mẫu đi kèm ({members} đảng viên)", flush=True)
    sources = {
        "central": f"sqlite:///{(demo_dir / 'central.sqlite').as_posix()}",
        "submissions": str(demo_dir / "submissions"),
    }
    if not args.as_of:
        sources["as_of"] = meta["as_of"]
        if not args.period:
            sources["period"] = meta["period"]
    return sources


class DvsyncUsage(DvsyncError):
    exit_code = EXIT_USAGE


def _run_flow(args: argparse.Namespace, mode: str) -> int:
    params = _prepare(args, mode)
    from dvsync.watchdog import start_watchdog
    from schemas.settings import Settings, prefect_defaults

    prefect_defaults()
    start_watchdog()  # a killed run leaves no temporary Prefect server or worker behind
    from flows.audit import dossier_audit
    from flows.logs import quiet_known_errors
    from flows.nightly import nightly_reconciliation
    from flows.runner import with_task_runner

    quiet_known_errors()
    if not args.verbose:
        from flows.console import person_console

        person_console()
    if not os.environ.get("PREFECT_API_URL"):
        print(
            "Khởi động máy chủ Prefect tạm thời (10–20 giây; đặt PREFECT_API_URL để dùng máy chủ có sẵn)…",
            flush=True,
        )
    flow_fn, dask_workers = with_task_runner(
        dossier_audit if mode == "audit" else nightly_reconciliation,
        args.dask_address or Settings.from_env().dask_address,
    )
    summary = flow_fn(**params, dask_workers=dask_workers)
    # Where this night's set is: the output folder, or beside it when an older night ran after a newer one.
    out = summary.get("published") or summary.get("out") or args.out or "dvsync-out"
    n, q = (f"{summary[k]:,}".replace(",", ".") for k in ("findings", "quarantined_rows"))
    print(f"Hoàn tất: {n} phát hiện, {q} dòng cách ly; kết quả tại {out}")
    if summary.get("board_report"):
        print(f"Báo cáo của Ban Tổ chức: {Path(out) / summary['board_report']}")
    print(f"Sổ danh sách của các cấp ủy: {Path(out) / 'committees'}")
    return EXIT_OK


def _debug() -> bool:
    """DVSYNC_DEBUG, read here too: the last guard runs when the settings themselves may be unreadable."""
    return os.environ.get("DVSYNC_DEBUG", "").lower() in ("1", "true")  # dvsync-env


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except DvsyncError as exc:
        print(f"dvsync: {_one_line(exc)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("dvsync: đã dừng theo yêu cầu; kết quả đã công bố trước đó không đổi", file=sys.stderr)
        return EXIT_SOURCE
    except Exception as exc:  # noqa: BLE001 - the last guard: one line, never a traceback
        if _debug():
            raise
        print(f"dvsync: lỗi không mong đợi ({type(exc).__name__}): {_one_line(exc)}", file=sys.stderr)
        return EXIT_SOURCE


def _dispatch(args: argparse.Namespace) -> int:
    if args.command in ("nightly", "audit"):
        return _run_flow(args, args.command)
    if args.command == "demo":
        import time

        from dvsync.demo import generate

        kwargs = {"workers": args.workers}
        if args.as_of:
            from flows.inputs import parse_as_of

            kwargs["as_of"] = parse_as_of(args.as_of).date()
        start = time.perf_counter()
        info = generate(
            members=args.members,
            out=Path(args.out),
            seed=args.seed,
            progress=lambda m: print(m, flush=True),
            **kwargs,
        )
        print(f"Xong trong {time.perf_counter() - start:.1f} s: {info}")
        return EXIT_OK
    if args.command == "check":
        from dvsync.check import check_workbook

        if not Path(args.file).is_file():
            raise DvsyncUsage(f"Không thấy tệp: {args.file}")
        return check_workbook(Path(args.file))
    if args.command == "accept":
        from dvsync.accept import accept

        return accept(args.finding_id, args.note, args.by, args.results, args.out)
    if args.command == "template":
        from dvsync.check import write_template

        write_template(Path(args.file))
        print(f"Đã tạo mẫu: {args.file}")
        return EXIT_OK
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
