"""Vietnamese labels of the published outputs (no heavy imports: used by worker processes).

Derived from the one table at the bottom floor: ``schemas.lists`` (the 27 lists: titles, sheet
names) and ``schemas.labels`` (fields, statuses, severities, headers, Vietnamese conventions).
The names below are the ones the publishers and their tests have always imported.
"""

from __future__ import annotations

from schemas.labels import (
    COLUMN_HEADERS,
    FIELD_LABELS,
    FINDING_STATUS_LABELS,
    INTERNAL_CODES,
    MEMBER_STATUS_LABELS,
    SEVERITY_LABELS,
    SUBJECT_HEADERS,
    column_label,
    ddmmyyyy,
    field_label,
    mmyyyy,
    value_label,
    vn_number,
)
from schemas.lists import LISTS, SHEET_NAMES, TITLES

# list code -> Vietnamese title (printed at the top of each list sheet and in the summaries).
LIST_TITLES: dict[str, str] = dict(TITLES)
# list code -> worksheet name (Excel: at most 31 characters, none of []:*?/\, unique).
LIST_SHEET_NAMES: dict[str, str] = dict(SHEET_NAMES)
# A finding's status (new/open/resolved...) as the workbooks print it.
STATUS_LABELS: dict[str, str] = FINDING_STATUS_LABELS

__all__ = [
    "COLUMN_HEADERS",
    "FIELD_LABELS",
    "INTERNAL_CODES",
    "LISTS",
    "LIST_SHEET_NAMES",
    "LIST_TITLES",
    "MEMBER_STATUS_LABELS",
    "SEVERITY_LABELS",
    "STATUS_LABELS",
    "SUBJECT_HEADERS",
    "column_label",
    "ddmmyyyy",
    "field_label",
    "mmyyyy",
    "value_label",
    "vn_number",
]
