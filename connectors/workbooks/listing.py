"""The submissions folder: which files are read, which are skipped (with a line each), and the
files whose bytes are another's."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from connectors.workbooks.naming import safe_source
from connectors.workbooks.results import _counts, _failed
from schemas.datasets import WorkbookResult


def _checksum(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _checksum_or_empty(path: Path) -> str:
    try:
        return _checksum(path)
    except OSError:
        return ""


def skipped_results(skipped: list[dict]) -> list[WorkbookResult]:
    """The folder entries not read (``list_submissions``), as rejected results the sync store
    keeps like a rejected file: keyed ``skipped:<hash of name and reason>``, so the line comes
    back every night while the entry stays, and goes when it is removed."""
    out = []
    for e in skipped:
        key = hashlib.sha256(f"{e['file']}\n{e['message']}".encode("utf-8", "surrogateescape")).hexdigest()
        out.append(_failed(Path(e["file"]), f"skipped:{key[:40]}", e["message"], source=e["file"]))
    return out


def identical_copies(listed: list[tuple[Path, str]], sums: dict[Path, str]) -> list[dict]:
    """Files whose bytes are those of another file of the folder (same checksum): each is read
    once, under the first name; the others get a ``skipped`` entry naming it (never silent)."""
    first: dict[str, str] = {}
    out = []
    for p, src in listed:
        c = sums.get(p)
        if c is None:
            continue
        if c in first:
            out.append(
                {
                    "file": src,
                    "status": "skipped",
                    "checksum": c,
                    "message": f"Tệp {src}: trùng nội dung với tệp {first[c]} — chỉ đọc một lần; xoá bản sao",
                    "counts": _counts({}),
                }
            )
        else:
            first[c] = src
    return out


def list_submissions(folder: Path) -> tuple[list[tuple[Path, str]], list[dict]]:
    """The files of the submissions folder to read, [(path, source)] sorted by source, and a
    report entry (status ``skipped``, a Vietnamese line) for every entry not read: hidden
    files and folders (name starting with a dot), Excel's lock files (``~$``), symbolic links
    that lead out of the folder (never followed) and anything that is not a regular file.
    Symbolic links that stay inside the folder are read (their target once, by checksum).
    Folders are walked without following links."""
    folder = Path(folder)
    root = os.path.realpath(folder)
    files: list[tuple[Path, str]] = []
    skipped: list[dict] = []

    def skip(path: Path, why: str) -> None:
        src = safe_source(folder, path)
        skipped.append(
            {"file": src, "status": "skipped", "message": f"Tệp {src}: {why}", "counts": _counts({})}
        )

    if not folder.is_dir():
        return files, skipped
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        here = Path(dirpath)
        for d in sorted(dirnames):
            p = here / d
            if d.startswith("."):
                skip(p, "thư mục ẩn (tên bắt đầu bằng dấu chấm), không đọc")
            elif os.path.islink(p):
                target = os.path.realpath(p)
                inside = target == root or target.startswith(root + os.sep)
                skip(
                    p,
                    "liên kết tới thư mục "
                    + ("trong thư mục nộp, không đọc lại" if inside else "ngoài thư mục nộp, không đọc"),
                )
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and not os.path.islink(here / d))
        for f in sorted(filenames):
            p = here / f
            if f.startswith("~$"):
                skip(p, "tệp khoá tạm của Excel, bỏ qua")
                continue
            if f.startswith("."):
                skip(p, "tệp ẩn (tên bắt đầu bằng dấu chấm), không đọc — đổi tên nếu là báo cáo")
                continue
            try:
                if os.path.islink(p):
                    target = os.path.realpath(p)
                    if not target.startswith(root + os.sep):
                        skip(p, "liên kết tượng trưng trỏ ra ngoài thư mục nộp, không đọc")
                        continue
                st = os.stat(p)
            except OSError as exc:
                skip(p, f"không đọc được ({exc.strerror or type(exc).__name__})")
                continue
            if not stat.S_ISREG(st.st_mode):
                skip(p, "không phải tệp thường, không đọc")
                continue
            files.append((p, safe_source(folder, p)))
    files.sort(key=lambda x: x[1])
    skipped.sort(key=lambda e: e["file"])
    return files, skipped
