"""Fault injection for the fault suite (tests/faults): nothing happens unless a test asks.

``DVSYNC_FAULT_AT=<point>`` makes the process kill itself with SIGKILL when it reaches that point,
exactly as an operator's ``kill -9`` would at that instant. The points are the stage names of
``flows.tasks.stage`` ("extract central", "store submissions", "record history", "publish", …) and
a few inside a stage ("record history:transaction", "publish:written", "publish:switched").
Only the tests set the variable.
"""

from __future__ import annotations

import os
import signal

from schemas.settings import settings


def fault_point(name: str) -> None:
    if settings().fault_at == name:
        os.kill(os.getpid(), signal.SIGKILL)
