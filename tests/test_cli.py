"""The command line's contract with its users: demo only when asked, usage errors in one line and
in a second (before any Prefect server starts), passwords kept out of the flow's parameters."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows.inputs import split_password, with_password


def _cli(
    *args: str, env: dict | None = None, cwd: Path | None = None
) -> tuple[subprocess.CompletedProcess, float]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("DVSYNC_")}
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "dvsync.cli", *args],
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )
    return proc, time.perf_counter() - start


def _one_line(proc: subprocess.CompletedProcess) -> str:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    return lines[0]


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    (tmp_path / "bang-nop").mkdir()
    return tmp_path / "bang-nop"


CASES = [
    # (arguments, environment, words the one line must hold)
    (["nightly"], {}, ["DVSYNC_CENTRAL_URL", "--demo"]),
    (["nightly", "--central", "sqlite:///{tmp}/x.sqlite"], {}, ["DVSYNC_SUBMISSIONS"]),
    (["nightly", "--central", "sqlite:///{tmp}/x.sqlite", "--submissions", "{tmp}/none"], {}, ["bảng nộp"]),
    (["nightly", "--demo", "--as-of", "31/02/2026"], {}, ["31/02/2026"]),
    (["nightly", "--demo", "--as-of", "2026-13-01"], {}, ["2026-13-01"]),
    (["nightly", "--demo", "--period", "13/2026"], {}, ["13/2026"]),
    (["nightly", "--demo"], {"DVSYNC_WORKERS": "abc"}, ["DVSYNC_WORKERS"]),
    (["nightly", "--demo", "--submissions", "{folder}"], {}, ["--demo"]),
    (["nightly", "--central", "ftp://host/db", "--submissions", "{folder}"], {}, ["ftp"]),
    (["nightly", "--central", "nonsense", "--submissions", "{folder}"], {}, ["URL"]),
    (
        [
            "nightly",
            "--central",
            "odbc:DRIVER={{No Such Driver 9}};SERVER=x;PWD=Sec-ret-1",
            "--submissions",
            "{folder}",
        ],
        {},
        ["No Such Driver 9", "cài"],
    ),
    (
        ["nightly", "--submissions", "{folder}"],
        {"DVSYNC_CENTRAL_URL": "mssql+pyodbc://u:pw-77@h/db"},
        ["ODBC"],
    ),
    (["nightly", "--demo", "--mapping", "{tmp}/none.yaml"], {}, ["ánh xạ"]),
    (["audit", "--committee", "../../etc", "--demo"], {}, ["../../etc"]),
    (["nightly", "--demo", "--chunk-size", "0"], {}, ["--chunk-size"]),
    (["check", "{tmp}/none.xlsx"], {}, ["none.xlsx"]),
]


@pytest.mark.parametrize(("args", "env", "words"), CASES, ids=[" ".join(c[0])[:50] for c in CASES])
def test_usage_errors_exit_2_with_one_line_in_seconds(
    args: list[str], env: dict, words: list[str], folder: Path, tmp_path: Path
) -> None:
    args = [a.format(tmp=tmp_path, folder=folder) for a in args]
    proc, seconds = _cli(*args, env={**env, "PREFECT_HOME": str(tmp_path / "prefect")}, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    line = _one_line(proc)
    assert line.startswith("dvsync: ")
    for word in words:
        assert word in line, line
    assert "pw-77" not in line and "Sec-ret-1" not in line
    assert seconds < 30, seconds  # in a second or two on a quiet machine: no Prefect server started
    assert not (tmp_path / "prefect").exists()  # Prefect was not even set up
    assert not (tmp_path / "dvsync-out").exists()  # nothing written


@pytest.mark.parametrize(
    ("url", "stripped", "password"),
    [
        ("postgresql+psycopg://u:p%40ss@h:5432/db", "postgresql+psycopg://u@h:5432/db", "p@ss"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db", None),
        ("sqlite:////tmp/x.sqlite", "sqlite:////tmp/x.sqlite", None),
        (
            "odbc:DRIVER={PostgreSQL Unicode};UID=u;PWD={a;b}}c};SERVER=h",
            "odbc:DRIVER={PostgreSQL Unicode};UID=u;SERVER=h",
            "a;b}c",
        ),
        ("odbc:DRIVER={X};pwd=plain", "odbc:DRIVER={X}", "plain"),
    ],
)
def test_password_leaves_the_url_and_comes_back(url: str, stripped: str, password: str | None) -> None:
    rest, pw = split_password(url)
    assert (rest, pw) == (stripped, password)
    back = with_password(rest, pw)
    assert split_password(back) == (stripped, password)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rindex(")") + 2] != "Z"


@pytest.mark.slow
def test_a_killed_run_leaves_no_prefect_server_behind(tmp_path: Path) -> None:
    """kill -9 of a bare `dvsync nightly` while its temporary Prefect server runs: the watchdog
    ends the server (and itself) within seconds."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DVSYNC_")}
    env.update(
        PREFECT_HOME=str(tmp_path / "prefect"), DVSYNC_HOME=str(tmp_path / "home"), DVSYNC_DEMO_MEMBERS="300"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "dvsync.cli", "nightly", "--demo", "--out", str(tmp_path / "out")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 120
    server = []
    while time.time() < deadline and not server:
        kids = _children(proc.pid)
        server = [k for k in kids if b"uvicorn" in Path(f"/proc/{k}/cmdline").read_bytes()]
        time.sleep(0.2)
    assert server, "the run's temporary Prefect server did not start"
    kids = _children(proc.pid)
    proc.kill()
    proc.wait()
    deadline = time.time() + 20
    while time.time() < deadline and any(_alive(k) for k in kids):
        time.sleep(0.2)
    assert not [k for k in kids if _alive(k)]
