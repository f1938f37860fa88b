"""Checked before parsed (issue #15): an untrusted file's kind, size, zip parts and sheet extent,
from its bytes and the zip's directory, before any reader sees it."""

from __future__ import annotations

import io
import os
import re
import stat
import zipfile
from pathlib import Path

from connectors.workbooks.naming import safe_name
from connectors.workbooks.results import FileFault

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_MARK = "EncryptedPackage".encode("utf-16-le")


def _sniff(name: str, data: bytes) -> None:
    if len(data) == 0:
        raise FileFault(f"Tệp {name}: tệp rỗng (0 byte) — gửi lại tệp báo cáo")
    if data.startswith(_OLE_MAGIC):
        if _ENCRYPTED_MARK in data:
            raise FileFault(
                f"Tệp {name}: tệp có đặt mật khẩu — gỡ mật khẩu (File > Info > Protect Workbook) rồi gửi lại"
            )
        raise FileFault(
            f"Tệp {name}: định dạng Excel cũ (.xls) — mở và lưu lại dạng .xlsx (Excel Workbook) rồi gửi lại"
        )
    if not data.startswith(b"PK\x03\x04"):
        raise FileFault(
            f"Tệp {name}: không phải tệp Excel .xlsx — dùng mẫu của dvsync (dvsync template) và lưu dạng .xlsx"
        )


# --- checked before parsed (issue #15) ------------------------------------------------------------
# A workbook over any of these limits gets one quarantine line and is never given to the reader
# (python-calamine allocates the whole used range of a sheet: one cell at XFD1048576 asks for
# 512 GiB and aborts the process). A cell's real workbook is a few hundred KB; the limits leave
# a wide margin. Checked from the zip's central directory and one pass over each sheet's XML
# (the pass that already looks for formulas), never by parsing.
MAX_FILE_BYTES = 20 * 2**20  # the .xlsx file itself
MAX_UNZIPPED_BYTES = 200 * 2**20  # all of its parts, decompressed (as declared, then as read)
MAX_RATIO = 100  # decompressed / compressed, for any part over 1 MiB (a zip bomb: ~1000)
MAX_PARTS = 1000  # zip members
MAX_SHEET_ROWS = 100_000  # rows of one sheet (a cell of 2,000 members x 12 months: 24,000)
MAX_SHEET_COLUMNS = 256  # columns of one sheet (IV; the widest contract sheet has 12)
MAX_SHEET_CELLS = 5_000_000  # rows x columns of one sheet, as the reader would allocate it


_DIMENSION = re.compile(rb'<dimension ref="([A-Z]{1,3})?([0-9]{1,9})?(?::([A-Z]{1,3})([0-9]{1,9}))?"')
# A cell or row reference at row 100,000 or beyond (6 or more digits), or at column AA or beyond:
# one search that finds nothing in a normal sheet; only then the exact extent is computed.
_FAR = re.compile(rb' r="(?:[A-Z]{0,4}[0-9]{6}|[A-Z]{2})')
_FAR_ROW = re.compile(rb' r="[A-Z]{0,4}[0-9]{6,}"')
_WIDE_COL = re.compile(rb' r="([A-Z]{2,})[0-9]')
_ROW_REF = re.compile(rb' r="[A-Z]{0,4}([0-9]+)"')


def _col_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def _sheet_extent(xml: bytes) -> tuple[int, int]:
    """(rows, columns) the reader would allocate for this sheet XML: the farthest row and column
    any cell or row names. Cheap for every normal sheet: one search that finds nothing."""
    rows = cols = 0
    if not _FAR.search(xml):
        return rows, cols
    if _FAR_ROW.search(xml):
        rows = max(int(m) for m in _ROW_REF.findall(xml))
    wide = _WIDE_COL.findall(xml)
    if wide:
        cols = max(_col_number(m) for m in wide)
        if rows == 0:
            rows = max((int(m) for m in _ROW_REF.findall(xml)), default=0)
    return rows, cols


def _precheck(name: str, data: bytes) -> list[str]:
    """Size, compression ratio and sheet extent of an .xlsx, before any parsing: raises FileFault
    over a limit (one line, the file not read). Returns the sheet parts holding formulas."""
    mib = 2**20
    if len(data) > MAX_FILE_BYTES:
        raise FileFault(
            f"Tệp {name}: tệp quá lớn ({len(data) / mib:.1f} MB, tối đa {MAX_FILE_BYTES // mib} MB) "
            "— không đọc; chỉ gửi các sheet theo mẫu, bỏ ảnh và dữ liệu thừa"
        )
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return []  # not a zip after all: the reader says it is corrupt
    if len(infos) > MAX_PARTS:
        raise FileFault(f"Tệp {name}: tệp có {len(infos)} thành phần (tối đa {MAX_PARTS}) — không đọc")
    total = sum(i.file_size for i in infos)
    if total > MAX_UNZIPPED_BYTES:
        raise FileFault(
            f"Tệp {name}: nội dung giải nén {total / mib:.0f} MB (tối đa {MAX_UNZIPPED_BYTES // mib} MB) "
            "— không đọc; tệp quá lớn hoặc là 'bom zip'"
        )
    for i in infos:
        if i.file_size > mib and i.file_size > MAX_RATIO * max(i.compress_size, 1):
            raise FileFault(
                f"Tệp {name}: thành phần {safe_name(i.filename)} nén {i.file_size // max(i.compress_size, 1)} lần "
                f"(tối đa {MAX_RATIO}) — không đọc; tệp có dấu hiệu 'bom zip'"
            )
    formulas = []
    read = 0
    for i in infos:
        if not (i.filename.startswith("xl/worksheets/") and i.filename.endswith(".xml")):
            continue
        try:
            # ZipExtFile stops at the declared size and checks the CRC: a part that decompresses
            # to more than it declares fails here instead of in the reader.
            with zf.open(i) as fh:
                xml = fh.read(MAX_UNZIPPED_BYTES - read + 1)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError, NotImplementedError) as exc:
            # A part whose data does not match what the zip declares (size, CRC): never handed to
            # the reader, which would trust the stream rather than the declared size.
            raise FileFault(
                f"Tệp {name}: tệp Excel bị hỏng ({safe_name(i.filename)} không giải nén đúng) — lưu lại "
                "bằng Excel rồi gửi lại"
            ) from exc
        read += len(xml)
        if read > MAX_UNZIPPED_BYTES:
            raise FileFault(f"Tệp {name}: nội dung giải nén quá {MAX_UNZIPPED_BYTES // mib} MB — không đọc")
        part = safe_name(i.filename.rsplit("/", 1)[-1])
        dim = _DIMENSION.search(xml, 0, 4096)
        extents = [_sheet_extent(xml)]
        if dim and dim.group(4):
            extents.append((int(dim.group(4)), _col_number(dim.group(3))))
        for rows, cols in extents:
            if rows > MAX_SHEET_ROWS or cols > MAX_SHEET_COLUMNS or rows * max(cols, 1) > MAX_SHEET_CELLS:
                raise FileFault(
                    f"Tệp {name}: sheet ({part}) khai báo vùng dữ liệu {rows:,} dòng × {cols:,} cột "
                    f"(tối đa {MAX_SHEET_ROWS:,} dòng, {MAX_SHEET_COLUMNS} cột) — không đọc; xoá các ô "
                    "thừa ở xa bảng (Ctrl+End chỉ ô cuối) rồi lưu lại"
                )
        if b"<f>" in xml or b"<f " in xml:
            formulas.append(i.filename)
    return formulas


def _read_limited(path: Path) -> bytes:
    """The file's bytes: a regular file only (never a FIFO or a device, which would block), at
    most MAX_FILE_BYTES (FileFault over it, without reading it)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        st = os.fstat(fd)
        name = safe_name(path.name)
        if not stat.S_ISREG(st.st_mode):
            raise FileFault(f"Tệp {name}: không phải tệp thường — không đọc")
        if st.st_size > MAX_FILE_BYTES:
            raise FileFault(
                f"Tệp {name}: tệp quá lớn ({st.st_size / 2**20:.1f} MB, tối đa {MAX_FILE_BYTES // 2**20} MB) "
                "— không đọc; chỉ gửi các sheet theo mẫu, bỏ ảnh và dữ liệu thừa"
            )
        chunks = []
        while block := os.read(fd, max(st.st_size + 1, 1 << 16)):
            chunks.append(block)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)
    finally:
        os.close(fd)
