"""Two nights started together on the same output and results database, in either order: one
waits for the other (the run lock), the history is the one of a run in date order, and the later
date's set stays published. A run that cannot get the lock in time exits 2 naming the holder."""

from __future__ import annotations

import json
import os
import socket
import uuid

import pytest
from faultkit import NIGHT1, NIGHT2, finish, history_dump, nightly, one_set, start, wait_for_lock_holder

from connectors.lock import acquire_run_lock


def together(fault_env, demo, out, first: str, second: str):
    """Start ``first``; once it holds the lock, start ``second``; both to the end."""
    a = start(fault_env, demo, out, first, DVSYNC_LOCK_WAIT="300")
    try:
        wait_for_lock_holder(out / "results.sqlite.lock", a)
        b = start(fault_env, demo, out, second, DVSYNC_LOCK_WAIT="300")
    except BaseException:
        a.kill()
        run = finish(a, timeout=10)
        raise AssertionError(f"the first run did not take the lock: rc {run.rc}: {run.err[-3000:]}") from None
    return finish(a), finish(b)


def test_two_nights_together_in_either_order(fault_env, demo, tmp_path):
    # The later date first: the earlier night waits, records its history, publishes beside.
    swapped = tmp_path / "later-first"
    late, early = together(fault_env, demo, swapped, NIGHT2, NIGHT1)
    assert late.rc == 0, late.err[-3000:]
    assert early.rc == 0, early.err[-3000:]
    assert "Chờ lượt chạy khác đang giữ khóa" in early.text
    assert "cũ hơn bộ kết quả đang công bố" in early.text
    home = one_set(swapped)
    assert json.loads((home / "summary.json").read_text())["as_of"] == NIGHT2
    beside = swapped / "older" / NIGHT1
    assert json.loads((beside / "summary.json").read_text())["as_of"] == NIGHT1
    assert (beside / "findings.csv").is_file()

    # The earlier date first: what a serial run in date order gives.
    serial = tmp_path / "earlier-first"
    early, late = together(fault_env, demo, serial, NIGHT1, NIGHT2)
    assert early.rc == 0 and late.rc == 0, (early.err[-2000:], late.err[-2000:])
    assert "Chờ lượt chạy khác đang giữ khóa" in late.text
    home = one_set(serial)
    assert json.loads((home / "summary.json").read_text())["as_of"] == NIGHT2
    assert not (serial / "older").exists()

    got = history_dump(f"sqlite:///{swapped / 'results.sqlite'}")
    want = history_dump(f"sqlite:///{serial / 'results.sqlite'}")
    assert got == want
    assert len(want["runs"]) == 2
    # The published lists too: the later set was republished with the statuses of the date order.
    for name in ("findings.csv", "quarantine.csv"):
        assert (swapped / name).read_bytes() == (serial / name).read_bytes(), name
    assert (swapped / "older" / NIGHT1 / "findings.csv").read_bytes() == (
        serial / ".previous" / "findings.csv"
    ).read_bytes()
    summaries = [json.loads((o / "summary.json").read_text()) for o in (swapped, serial)]
    assert summaries[0]["findings_by_status"] == summaries[1]["findings_by_status"]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_run_that_cannot_get_the_lock_exits_2_naming_the_holder(fault_env, demo, tmp_path, backend):
    out = tmp_path / "out"
    if backend == "sqlite":
        url = f"sqlite:///{out / 'results.sqlite'}"
    else:
        from pgtest import PG_URL

        url = f"{PG_URL}?schema=dvsync_lock_{uuid.uuid4().hex[:8]}"
    holder = acquire_run_lock(url, "2026-11-18", wait_s=0)
    try:
        # Killed if it ever reached the central database: it must stop before.
        run = nightly(
            fault_env,
            demo,
            out,
            NIGHT1,
            "--results",
            url,
            DVSYNC_LOCK_WAIT="1",
            DVSYNC_FAULT_AT="extract central",
        )
    finally:
        holder.release()
    assert run.rc == 2, run.text[-3000:]
    assert "Traceback" not in run.text
    line = run.last_line
    assert line.startswith("dvsync: "), line
    assert holder.run_id[:12] in line and str(os.getpid()) in line and "2026-11-18" in line, line
    assert socket.gethostname() in line, line
