"""The organisation tree: kept for the callers that import it from here; the one implementation
is ``schemas.tree`` (bounded, vectorised walks; cycles found, never followed)."""

from __future__ import annotations

import pandas as pd

from schemas.tree import ancestor_pairs, subtree

__all__ = ["ancestors", "subtree"]


def ancestors(organizations: pd.DataFrame) -> pd.DataFrame:
    """Pairs (org_code, ancestor_code) for every organisation and each of its ancestors, itself included."""
    return ancestor_pairs(organizations)[["org_code", "ancestor_code"]]
