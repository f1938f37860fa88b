"""The organisation tree: subtrees and ancestors, vectorised (the tree is a handful of levels deep)."""

from __future__ import annotations

import pandas as pd


def ancestors(organizations: pd.DataFrame) -> pd.DataFrame:
    """Pairs (org_code, ancestor_code) for every organisation and each of its ancestors, itself included."""
    parent = organizations.set_index("org_code")["parent_code"]
    pairs = [pd.DataFrame({"org_code": parent.index, "ancestor_code": parent.index})]
    current = pd.DataFrame({"org_code": parent.index, "ancestor_code": parent.to_numpy()})
    for _ in range(16):
        current = current[current["ancestor_code"].notna()]
        if current.empty:
            break
        pairs.append(current)
        current = current.assign(ancestor_code=current["ancestor_code"].map(parent).to_numpy())
    return pd.concat(pairs, ignore_index=True).astype("string")


def subtree(organizations: pd.DataFrame, root: str) -> set[str]:
    """Codes of `root` and every organisation below it."""
    pairs = ancestors(organizations)
    return set(pairs.loc[pairs["ancestor_code"] == root, "org_code"])
