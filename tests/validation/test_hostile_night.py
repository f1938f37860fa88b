"""Issue #15 on a whole night: the attack corpus planted in a demo's submissions folder; the
night completes, every attack gets its line in quarantine.csv, and every other cell's findings
and quarantine lines are those of a clean night (tests/validation/hostile_night.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hostile_night import compare


@pytest.mark.slow
def test_hostile_night_against_a_clean_one(demo_small: Path, prefect_harness, tmp_path: Path) -> None:
    got = compare(demo_small, tmp_path)
    assert got["lines"] == got["attacks"] >= 22
    assert got["runs_completed"] == 2
    assert got["findings_other_cells_equal"] > 0
