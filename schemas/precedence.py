"""Which workbook speaks for a cell and period ("the newest workbook wins"), decided here only.

Later wins, in this order: a file whose name (or folder) carries its cell's code over one whose
name carries none (any name is read, but an unnamed file never speaks over the cell's own); then
the later Ngày lập (missing = oldest); then the later load (an earlier night's workbook loses to
tonight's); then the later file time; then the later file name. The store, the folder reader and
the rules all ask this module; a column a caller does not have counts as equal for every row.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def by_precedence(
    frame: pd.DataFrame,
    *,
    named: str | None = None,
    created: str | None = None,
    load: str | None = None,
    mtime: str | None = None,
    name: str | None = None,
) -> pd.DataFrame:
    """``frame`` sorted so that, within any group, the workbook that speaks for it comes last
    (stable: rows equal on every key keep their order)."""
    n = len(frame)
    keys: list[np.ndarray] = []
    if named is not None:
        keys.append(frame[named].astype("boolean").fillna(False).to_numpy(dtype=np.int8))
    if created is not None:
        c = pd.to_datetime(frame[created].astype("object"), errors="coerce")
        keys.append(c.isna().to_numpy() * -1)  # missing = oldest
        keys.append(c.fillna(pd.Timestamp(0)).to_numpy(dtype="datetime64[ns]").astype(np.int64))
    if load is not None:
        keys.append(pd.to_numeric(frame[load], errors="coerce").fillna(-1).to_numpy(dtype=np.float64))
    if mtime is not None:
        keys.append(pd.to_numeric(frame[mtime], errors="coerce").fillna(0.0).to_numpy(dtype=np.float64))
    if name is not None:
        # Codes of the names in sorted order: lexsort needs numbers, the order is the names'.
        keys.append(pd.factorize(frame[name].astype("string").fillna(""), sort=True)[0])
    if not keys or n < 2:
        return frame
    order = np.lexsort(keys[::-1])  # lexsort: the last key is the primary one
    return frame.iloc[order]


def newest(frame: pd.DataFrame, by: Sequence[str], **columns: str | None) -> pd.DataFrame:
    """One row per group of ``by``: the workbook that speaks for it (rows in precedence order)."""
    ranked = by_precedence(frame, **columns)
    return ranked[~ranked.duplicated(list(by), keep="last")]
