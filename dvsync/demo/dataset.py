"""What a demo data set is: its generator version, the default as_of and period, and the size
from which it is built province by province."""

from __future__ import annotations

from datetime import date

import numpy as np

GENERATOR_VERSION = "1.3"  # 1.3: national data sets; single-province data identical to 1.2
NATIONAL_FROM = 2_000_000  # members: from here generate() builds the 34 provinces one by one
DEFAULT_AS_OF = date(2026, 11, 16)


def default_period(as_of: date) -> str:
    """The month before as_of (cells send a month's workbook after it ends)."""
    first = date(as_of.year, as_of.month, 1)
    prev = np.datetime64(first, "M") - 1
    return str(prev)
