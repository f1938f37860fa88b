"""Fixtures of the publication tests (data in publish_data.py)."""

from __future__ import annotations

import pandas as pd
import pytest
from publish_data import findings_frame, org_tree


@pytest.fixture
def orgs() -> pd.DataFrame:
    return org_tree()


@pytest.fixture
def findings() -> pd.DataFrame:
    return findings_frame()


# The session's Prefect harness is tests/conftest.py's ``prefect_harness`` (one per session).
