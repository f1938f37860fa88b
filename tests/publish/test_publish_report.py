"""The board report: self-contained HTML, rendered in a real headless Chromium (DOM dump + screenshot)."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from publish_data import AS_OF, OLD_ID, PLANTED_ID, PLANTED_NAME

from connectors.publish.report import COLOURS, _scale, write_board_report

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="module")
def chromium() -> str:
    if not os.access(CHROMIUM, os.X_OK):
        if os.environ.get("CI"):
            pytest.fail("Chromium missing: run .ci/system-deps-browser.sh")
        pytest.skip("Chromium missing (bash .ci/system-deps-browser.sh installs it)")
    return CHROMIUM


def run_chromium(binary: str, tmp: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp / "chromium-profile"
    profile.mkdir(exist_ok=True)
    return subprocess.run(
        [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )


def runs_frame() -> pd.DataFrame:
    rows = []
    for i, day in enumerate(["2025-01-15", "2025-02-01", "2025-02-15", "2025-03-01"]):
        rows += [
            (f"r{i}", day, "ROSTER_MISSING_IN_CELL", 20 - 2 * i),
            (f"r{i}", day, "TRANSFER_OVERDUE", 6 - i),
            (f"r{i}", day, "ROSTER_FIELD_MISMATCH", 9 - i),
            (f"r{i}", day, "BADGE_DUE", 2),
        ]
    return pd.DataFrame(rows, columns=["run_id", "as_of", "list_code", "count"])


class SvgCensus(HTMLParser):
    """Counts the drawn shapes inside each <svg id=...> of a DOM dump."""

    def __init__(self) -> None:
        super().__init__()
        self.svg: str | None = None
        self.shapes: dict[str, dict[str, int]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "svg":
            self.svg = a.get("id") or ""
            self.shapes.setdefault(self.svg, {})
        elif self.svg is not None:
            key = f"{tag}.{a.get('class')}" if a.get("class") else tag
            self.shapes[self.svg][key] = self.shapes[self.svg].get(key, 0) + 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self.svg = None


def read_png(path: Path) -> np.ndarray:
    """Decode an 8-bit RGB/RGBA PNG (enough for Chromium's screenshots) to an (h, w, channels) array."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, ihdr = 8, [], None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + n]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + n
    assert ihdr is not None
    w, h, depth, ctype, _, _, interlace = ihdr
    assert depth == 8 and ctype in (2, 6) and interlace == 0
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = w * bpp
    out = np.zeros((h, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.int32)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = np.frombuffer(raw, dtype=np.uint8, count=stride, offset=y * (stride + 1) + 1).astype(np.int32)
        if f == 0:
            cur = line
        elif f == 1:
            cur = np.cumsum(line.reshape(w, bpp), axis=0).reshape(-1) & 255
        elif f == 2:
            cur = (line + prev) & 255
        else:  # Average and Paeth depend on the pixel to the left: byte by byte
            L, P, C = line.tolist(), prev.tolist(), [0] * stride
            for i in range(stride):
                a = C[i - bpp] if i >= bpp else 0
                b = P[i]
                if f == 3:
                    C[i] = (L[i] + ((a + b) >> 1)) & 255
                else:
                    c = P[i - bpp] if i >= bpp else 0
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    C[i] = (L[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
            cur = np.array(C, dtype=np.int32)
        out[y] = cur
        prev = cur
    return out.reshape(h, w, bpp)[:, :, :3]


def pixels_of(img: np.ndarray, hex_colour: str) -> int:
    rgb = tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return int(np.all(img == np.array(rgb, dtype=np.uint8), axis=2).sum())


def test_report_is_self_contained_and_has_no_personal_data(tmp_path: Path, orgs, findings) -> None:
    path = write_board_report(findings, runs_frame(), orgs, tmp_path / "board.html", AS_OF)
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text, re.I)
    assert "@import" not in text and "url(" not in text and "<script" not in text and "<link" not in text
    for secret in [PLANTED_ID, OLD_ID, PLANTED_NAME, "M-C1-01"]:
        assert secret not in text
    assert "05/03/2025" in text and "2025-03-05" not in text  # dates dd/mm/yyyy
    assert "Đảng viên có trong CSDL nhưng thiếu trong danh sách chi bộ" in text
    assert 'lang="vi"' in text and "Diễn biến qua các lần đối chiếu" in text


def test_report_renders_in_headless_chromium(tmp_path: Path, orgs, findings, chromium: str) -> None:
    path = write_board_report(findings, runs_frame(), orgs, tmp_path / "report" / "board.html", AS_OF)
    dom = run_chromium(chromium, tmp_path, "--dump-dom", path.as_uri()).stdout
    census = SvgCensus()
    census.feed(dom)
    shapes = census.shapes
    n_lists = findings["list_code"].nunique()
    assert shapes["chart-lists"].get("rect.bar") == n_lists
    assert shapes["chart-committees"].get("rect.bar") == 2  # U1, U2
    assert shapes["chart-trend"].get("path.line") == 4  # total + 3 severities
    assert shapes["chart-trend"].get("circle") == 4 * 5  # 4 past runs + this one
    assert shapes["chart-age"].get("rect.bar", 0) >= 2  # 0-7 days and 31-90 days
    assert "Báo cáo đối chiếu dữ liệu đảng viên" in dom

    shot = tmp_path / "board.png"
    run_chromium(
        chromium,
        tmp_path,
        f"--screenshot={shot}",
        "--window-size=1280,2000",
        "--hide-scrollbars",
        path.as_uri(),
    )
    assert shot.stat().st_size > 20_000
    img = read_png(shot)
    assert img.shape[:2] == (2000, 1280)
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > 50  # not a blank page
    # The charts were painted: bars in the severities' colours cover real areas.
    assert pixels_of(img, COLOURS["error"]) > 2000
    assert pixels_of(img, COLOURS["warning"]) > 500
    assert pixels_of(img, COLOURS["info"]) > 200
    if os.environ.get("DVSYNC_KEEP_SCREENSHOT"):  # to look at it by eye
        shutil.copy(shot, os.environ["DVSYNC_KEEP_SCREENSHOT"])


def test_report_with_no_findings_and_no_history(tmp_path: Path, orgs, findings, chromium: str) -> None:
    path = write_board_report(findings.iloc[0:0], pd.DataFrame(), orgs, tmp_path / "empty.html", AS_OF)
    dom = run_chromium(chromium, tmp_path, "--dump-dom", path.as_uri()).stdout
    census = SvgCensus()
    census.feed(dom)
    assert set(census.shapes) >= {"chart-lists", "chart-committees", "chart-trend", "chart-age"}
    assert "Không có phát hiện nào" in dom


def test_report_accepts_wide_runs_and_resolved(tmp_path: Path, orgs, findings) -> None:
    wide = pd.DataFrame(
        {"as_of": ["2025-02-01", "2025-03-01"], "ROSTER_MISSING_IN_CELL": [10, 12], "BADGE_DUE": [1, 0]}
    )
    df = findings.copy()
    df.loc[df.index[:3], "status"] = "resolved"
    text = write_board_report(df, wide, orgs, tmp_path / "w.html", "2025-03-05").read_text(encoding="utf-8")
    assert "01/02/2025" in text and "01/03/2025" in text
    assert text.count('class="line"') == 4


def test_axis_scale() -> None:
    assert _scale(0) == (1, 1)
    assert _scale(23) == (25, 5)
    top, steps = _scale(12345)
    assert top >= 12345 and steps <= 6


def test_organisation_names_are_escaped(tmp_path: Path, orgs, findings) -> None:
    """Names come from the central database: markup in them is shown as text, never run."""
    hostile = orgs.copy()
    hostile.loc[hostile["org_code"] == "U1", "name"] = "<script>alert(1)</script>"
    hostile.loc[hostile["org_code"] == "G1", "name"] = "Đảng bộ \"A\" & 'B' <img src=x onerror=alert(1)>"
    answered = findings.copy()  # the answers section prints names too (issue #20)
    answered["response"] = pd.NA
    answered.loc[answered.index[0], "response"] = "fixed"
    path = write_board_report(answered, runs_frame(), hostile, tmp_path / "board.html", AS_OF)
    text = path.read_text(encoding="utf-8")
    assert "<script" not in text and "<img" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "Đảng bộ &#34;A&#34; &amp; &#39;B&#39; &lt;img src=x onerror=alert(1)&gt;" in text
    assert "Trả lời của các cấp ủy" in text
    # An HTML parser reads back the names as they are in the database.
    texts: list[str] = []
    parser = HTMLParser()
    parser.handle_data = texts.append  # type: ignore[method-assign]
    parser.feed(text)
    assert "<script>alert(1)</script>" in texts
    assert "Đảng bộ \"A\" & 'B' <img src=x onerror=alert(1)>" in texts


def test_template_ships_with_the_package() -> None:
    """The markup is package data: found through the package, as from an installed wheel."""
    from importlib.resources import files

    templates = files("connectors.publish") / "templates"
    for name in ("report.html.j2", "_report_macros.html.j2", "_answers.html.j2"):
        assert (templates / name).is_file(), name
