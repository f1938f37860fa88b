"""File names fit for one line, and the cell code a file's name (or folder) carries (issue #15:
one cell, one voice)."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path
from typing import Any

NAME_SHOWN = 80  # characters of a file name shown in a line


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def safe_name(name: str) -> str:
    """A file name fit for one log or quarantine line: control and bidi characters (a newline
    would forge a log line) replaced by '?', at most NAME_SHOWN characters. A changed name keeps
    a short hash of the real one, so two files never share a shown name."""
    clean = _CONTROL.sub("?", unicodedata.normalize("NFC", name))
    if clean == name and len(name) <= NAME_SHOWN:
        return name
    tag = hashlib.sha1(name.encode("utf-8", "surrogateescape")).hexdigest()[:6]
    if len(clean) > NAME_SHOWN:
        clean = clean[: NAME_SHOWN - 1] + "…"
    return f"{clean}~{tag}"


_CODE_TOKEN = re.compile(r"(?<![0-9])[0-9]{2}(?:\.[0-9]{3}){4}(?![0-9]|\.[0-9])")


def name_codes(name: str) -> list[str]:
    """Organisation codes (dd.ddd.ddd.ddd.ddd) written in a file or folder name, as whole tokens."""
    return _CODE_TOKEN.findall(name)


def cell_of_name(source: Any) -> str | None:
    """The one cell code a file's path (name and folders) carries, or None (none, or several)."""
    codes = set(name_codes(str(source)))
    return codes.pop() if len(codes) == 1 else None


def name_agrees(code: str, parts: list[str]) -> bool:
    """The file "speaks for" cell ``code`` when the code appears, as a whole token (not inside a
    longer run of digits and dots: ``193.015…`` or ``….0021`` do not count), in the file's name or in the name of a folder holding it
    inside the submissions folder: ``93.015.000.001.002_2026-10.xlsx``,
    ``93.015.000.001.002/bao-cao-thang-10.xlsx``."""
    if not code:
        return False
    for part in parts:
        start = part.find(code)
        while start >= 0:
            end = start + len(code)
            before = part[start - 1] if start else ""
            a0, a1 = part[end : end + 1], part[end + 1 : end + 2]
            # Not inside a longer code or number: no digit or dot before, no digit or dot-digit
            # after (letters touch a code only where the code itself starts or ends with one).
            bad_before = before.isdigit() or before == "." or (before.isalpha() and code[0].isalpha())
            bad_after = a0.isdigit() or (a0 == "." and a1.isdigit()) or (a0.isalpha() and code[-1].isalpha())
            if not bad_before and not bad_after:
                return True
            start = part.find(code, start + 1)
    return False


def _name_parts(source: str, path: Path, folder_too: bool) -> list[str]:
    """The names a file's cell code may appear in: its stem and the folders of ``source`` (the
    path inside the submissions folder); for a lone file (``dvsync check``) its parent folder."""
    rel = Path(source)
    parts = [Path(path.name).stem, *rel.parent.parts]
    if folder_too:
        parts.append(path.parent.name)
    return parts


def safe_source(folder: Path, path: Path) -> str:
    """A file's path inside the submissions folder, each part made fit for a line (safe_name)."""
    return "/".join(safe_name(part) for part in path.relative_to(folder).parts)


def _shown(value: Any, limit: int = 60) -> str:
    """A cell's text fit for a message: no control characters, at most ``limit`` characters."""
    text = _CONTROL.sub("?", str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"
