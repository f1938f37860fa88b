"""Atomic publication (connectors.publish.release) in-process: sets, the one-step switch, newer
stays newer, carried files untouched, the earlier layout migrated, old and dead sets pruned."""

from __future__ import annotations

import json
import os
from pathlib import Path

from faultkit import one_set

from connectors.publish.release import Release


def publish(out: Path, run_id: str, as_of: str, text: str = "", workbook: bytes | None = None) -> bool:
    release = Release(out, run_id, as_of)
    folder = release.begin()
    (folder / "findings.csv").write_text(f"findings {as_of} {text}")
    (folder / "quarantine.csv").write_text(f"quarantine {as_of}")
    (folder / "summary.json").write_text(json.dumps({"as_of": as_of, "run_id": run_id}))
    (folder / "reports").mkdir(exist_ok=True)
    (folder / "reports" / f"bao-cao-{as_of}.html").write_text(as_of)
    book = folder / "committees" / "G1" / "G1.xlsx"
    book.parent.mkdir(parents=True, exist_ok=True)
    if workbook is not None:  # changed content: a new file, as write_committee_workbooks does
        tmp = book.with_suffix(".tmp")
        tmp.write_bytes(workbook)
        os.replace(tmp, book)
    return release.commit()


def test_switch_carry_and_prune(tmp_path):
    out = tmp_path / "out"
    assert publish(out, "r1", "2026-11-15", workbook=b"v1")
    book = out / "committees" / "G1" / "G1.xlsx"
    first = book.stat()
    assert publish(out, "r2", "2026-11-16")  # workbook unchanged: carried as a hard link
    assert book.read_bytes() == b"v1" and book.stat().st_mtime_ns == first.st_mtime_ns
    assert book.stat().st_ino == first.st_ino
    assert publish(out, "r3", "2026-11-17", workbook=b"v2")
    assert book.read_bytes() == b"v2"
    assert (out / "reports" / "bao-cao-2026-11-15.html").read_text() == "2026-11-15"  # earlier reports kept
    assert one_set(out).name == "r3"
    assert sorted(p.name for p in (out / ".sets").iterdir()) == ["r2", "r3"]  # current and previous
    # The previous set still holds what it held (a reader inside it is not disturbed).
    assert (out / ".previous" / "committees" / "G1" / "G1.xlsx").read_bytes() == b"v1"
    assert (out / "findings.csv").read_text() == "findings 2026-11-17 "


def test_an_older_night_is_published_beside(tmp_path):
    out = tmp_path / "out"
    publish(out, "r1", "2026-11-17")
    assert not publish(out, "r0", "2026-11-16")
    assert json.loads((out / "summary.json").read_text())["as_of"] == "2026-11-17"
    assert (out / "older" / "2026-11-16" / "findings.csv").read_text().startswith("findings 2026-11-16")
    assert publish(out, "r1b", "2026-11-17", "again")  # the same date again replaces
    assert (out / "findings.csv").read_text() == "findings 2026-11-17 again"
    publish(out, "r2", "2026-11-18")
    publish(out, "r3", "2026-11-19")
    assert (out / "older" / "2026-11-16" / "summary.json").is_file()  # kept while linked


def test_a_dead_runs_half_set_goes_at_the_next_start(tmp_path):
    out = tmp_path / "out"
    publish(out, "r1", "2026-11-16")
    dead = Release(out, "dead", "2026-11-17").begin()
    (dead / "findings.csv").write_text("half")
    assert one_set(out).name == "r1"  # never current
    publish(out, "r2", "2026-11-17")
    assert sorted(p.name for p in (out / ".sets").iterdir()) == ["r1", "r2"]


def test_the_earlier_layout_is_migrated(tmp_path):
    out = tmp_path / "out"
    (out / "committees" / "G1").mkdir(parents=True)
    (out / "committees" / "G1" / "G1.xlsx").write_bytes(b"old")
    (out / "reports").mkdir()
    (out / "reports" / "bao-cao-2026-11-15.html").write_text("old")
    for name in ("findings.csv", "quarantine.csv"):
        (out / name).write_text("old")
    (out / "summary.json").write_text(json.dumps({"as_of": "2026-11-15"}))
    (out / "results.sqlite").write_bytes(b"db")  # never moved
    publish(out, "r1", "2026-11-16")
    assert one_set(out).name == "r1"
    assert (out / "committees" / "G1" / "G1.xlsx").read_bytes() == b"old"  # carried
    assert (out / "reports" / "bao-cao-2026-11-15.html").read_text() == "old"
    assert (out / "results.sqlite").read_bytes() == b"db" and not (out / "results.sqlite").is_symlink()
    assert all((out / n).is_symlink() for n in ("findings.csv", "committees", "reports"))
