"""The in-memory shape of what flows between stages: connectors -> schemas -> rules -> publish.

Dtypes, after validation (schemas/):
- text columns: pandas string dtype, Unicode NFC, stripped; missing = <NA>
- date columns: datetime64 (midnight), missing = NaT
- ``year``/``years``/``category``: nullable Int64; ``active`` and yes/no columns: boolean
- submission tables carry ``cell_code`` and ``period`` (YYYY-MM) of their workbook plus the
  lineage columns ``_source``, ``_sheet``, ``_row`` (Excel row number as the user sees it).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import pandas as pd

from schemas.contract import CENTRAL_TABLES, SHEET_TABLES


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="string") for c in columns})


@dataclass
class CentralData:
    organizations: pd.DataFrame
    members: pd.DataFrame
    ratings: pd.DataFrame
    disciplines: pd.DataFrame
    transfers: pd.DataFrame
    dossier_documents: pd.DataFrame
    badges: pd.DataFrame
    activity_gaps: pd.DataFrame

    @classmethod
    def empty(cls) -> CentralData:
        return cls(**{t: _empty(cols) for t, cols in CENTRAL_TABLES.items()})

    def tables(self) -> dict[str, pd.DataFrame]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class SubmissionData:
    """Accepted rows of every cell workbook, one DataFrame per sheet.

    ``workbooks`` has one row per accepted workbook: cell_code, period, created_on, secretary,
    _source (file name), checksum (sha256 of the file), superseded (bool).
    """

    workbooks: pd.DataFrame
    roster: pd.DataFrame
    activity: pd.DataFrame
    ratings: pd.DataFrame
    transfers_out: pd.DataFrame
    transfers_in: pd.DataFrame
    candidates: pd.DataFrame
    screening: pd.DataFrame

    @classmethod
    def empty(cls) -> SubmissionData:
        from schemas.contract import LINEAGE_COLUMNS, SHEETS

        base = ["cell_code", "period", *LINEAGE_COLUMNS]
        tables = {SHEET_TABLES[s]: _empty(base + list(cols.values())) for s, cols in SHEETS.items()}
        wb = _empty(["cell_code", "period", "created_on", "secretary", "_source", "checksum"])
        return cls(workbooks=wb, **tables)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class RunContext:
    """What every rule may need besides the data: built once per run from the settings read at the
    edge (flows/inputs.py), never changed after. ``as_of`` is the run's date, held as a Timestamp
    at midnight whatever it was given as; it is formatted only where it is shown or stored."""

    as_of: pd.Timestamp
    period: str  # YYYY-MM, the submission period being reconciled
    mode: str = "nightly"  # or "audit"
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "as_of", pd.Timestamp(self.as_of).normalize())


@dataclass
class WorkbookResult:
    """One parsed and validated cell workbook (connectors.workbooks.parse_workbook).

    ``meta``: cell_code, period (YYYY-MM), created_on, secretary, _source (file name),
    checksum (sha256 hex of the file bytes), rows_read / rows_accepted / rows_quarantined per sheet.
    ``tables``: internal table name (schemas.contract.SHEET_TABLES values) -> accepted rows, already
    carrying cell_code, period and the lineage columns.
    ``quarantine``: rejected rows, columns schemas.contract.QUARANTINE_COLUMNS.
    ``error``: a file-level fault (Vietnamese message naming the file); then ``tables`` is empty.
    ``rows``: instead of ``tables``, where the workbook's rows sit in the chunk of workbooks it was
    validated with (``connectors.workbooks.ChunkRows``): the nightly flow hands chunks to the
    store whole, never splitting them into a frame per workbook and sheet.
    """

    meta: dict
    tables: dict[str, pd.DataFrame]
    quarantine: pd.DataFrame
    error: str | None = None
    rows: Any = None
