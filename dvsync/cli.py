"""`dvsync`: the command line. Every run command calls the same Prefect flow as the deployments.

Exit status: 0 run completed (findings and quarantined rows are results); 1 `check` found
something to fix; 2 usage or configuration error; 3 a source could not be read after retries.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dvsync.settings import prefect_defaults

EXIT_OK, EXIT_FIX, EXIT_USAGE, EXIT_SOURCE = 0, 1, 2, 3


def _source_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--central",
        help="SQLAlchemy URL or odbc:<connection string> of the central database "
        "(default: $DVSYNC_CENTRAL_URL, else the bundled demo data)",
    )
    p.add_argument("--submissions", help="folder of the cells' workbooks")
    p.add_argument("--out", help="output folder (default: $DVSYNC_OUT or ./dvsync-out)")
    p.add_argument("--as-of", dest="as_of", help="reference date, YYYY-MM-DD or dd/mm/yyyy (default: today)")
    p.add_argument("--period", help="submission month YYYY-MM (default: the month before --as-of)")
    p.add_argument("--results", help="results database URL (default: SQLite in the output folder)")
    p.add_argument("--mapping", help="YAML mapping of the central tables and columns")
    p.add_argument("--chunk-size", dest="chunk_size", type=int, default=100_000, help="rows per fetch")
    p.add_argument(
        "--partition-members",
        dest="partition_members",
        type=int,
        default=250_000,
        help="members per partition: validation and member rules run one partition at a time, "
        "or in parallel on Dask (default 250000)",
    )
    p.add_argument(
        "--dask-address",
        dest="dask_address",
        help="run the tasks on an existing Dask cluster (default: $DVSYNC_DASK_ADDRESS, else locally)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dvsync", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("nightly", help="the nightly reconciliation (on the bundled demo data by default)")
    _source_options(p)

    p = sub.add_parser("audit", help="the full dossier audit of one committee's subtree")
    p.add_argument("--committee", required=True, help="org_code of the committee")
    _source_options(p)

    p = sub.add_parser("demo", help="write a synthetic central database and cell workbooks")
    p.add_argument("--members", type=int, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True)
    p.add_argument("--as-of", dest="as_of", help="reference date of the data (default 2026-11-16)")
    p.add_argument("--workers", type=int, default=None, help="processes writing workbooks")

    p = sub.add_parser("check", help="check one cell workbook and print what to fix, row by row")
    p.add_argument("file")

    p = sub.add_parser("template", help="write an empty submission workbook")
    p.add_argument("file")
    return parser


class _NoTraceback:
    """Logging filter: a known, user-facing error (unreachable source, bad mapping or option) is
    reported in one line by the CLI; Prefect's own failure records lose their stack trace."""

    def __init__(self, known: tuple[type[BaseException], ...]) -> None:
        self.known = known

    def filter(self, record) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and isinstance(exc, self.known):
            record.exc_info = None
            record.exc_text = None
            record.msg, record.args = f"{type(exc).__name__}: {exc}", ()
        return True


def _quiet_known_errors(known: tuple[type[BaseException], ...]) -> None:
    import logging

    quiet = _NoTraceback(known)
    for name in ("", "prefect", "prefect.flow_runs", "prefect.task_runs"):
        for handler in logging.getLogger(name).handlers:
            handler.addFilter(quiet)


def _run_flow(args: argparse.Namespace, mode: str) -> int:
    prefect_defaults()
    from connectors.central import MappingError, SourceUnavailable
    from dvsync.inputs import UsageError
    from dvsync.settings import Settings
    from flows.nightly import nightly_reconciliation
    from flows.runner import with_task_runner

    _quiet_known_errors((SourceUnavailable, MappingError, UsageError))
    try:
        flow_fn, dask_workers = with_task_runner(
            nightly_reconciliation, args.dask_address or Settings.from_env().dask_address
        )
        summary = flow_fn(
            central=args.central,
            submissions=args.submissions,
            out=args.out,
            as_of=args.as_of,
            period=args.period,
            results=args.results,
            mapping=args.mapping,
            committee=getattr(args, "committee", None),
            mode=mode,
            chunk_size=args.chunk_size,
            dask_workers=dask_workers,
            partition_members=args.partition_members,
        )
    except SourceUnavailable as exc:
        print(f"dvsync: không đọc được nguồn dữ liệu: {exc}", file=sys.stderr)
        return EXIT_SOURCE
    except (UsageError, MappingError, FileNotFoundError) as exc:
        print(f"dvsync: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(
        f"Hoàn tất: {summary['findings']} phát hiện, {summary['quarantined_rows']} dòng cách ly; "
        f"kết quả tại {args.out or 'dvsync-out'}"
    )
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "nightly":
        return _run_flow(args, "nightly")
    if args.command == "audit":
        return _run_flow(args, "audit")
    if args.command == "demo":
        import time

        from dvsync.demo import generate

        kwargs = {"workers": args.workers}
        if args.as_of:
            from dvsync.inputs import parse_as_of

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

        return check_workbook(Path(args.file))
    if args.command == "template":
        from dvsync.check import write_template

        write_template(Path(args.file))
        print(f"Đã tạo mẫu: {args.file}")
        return EXIT_OK
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
