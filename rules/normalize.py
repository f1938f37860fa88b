"""Normalisation of Vietnamese text, identifiers and dates (domain.md, "Vietnamese data pitfalls").

Vectorised over pandas Series. Extended by the validation work (legacy encodings, date forms).
"""

from __future__ import annotations

import re
import unicodedata

import pandas as pd

# Old-style tone placement ("hoà", "thuỷ") -> new style ("hòa", "thủy"), for comparison only.
_TONE_FOLD = {
    "oà": "òa", "oá": "óa", "oả": "ỏa", "oã": "õa", "oạ": "ọa",
    "oè": "òe", "oé": "óe", "oẻ": "ỏe", "oẽ": "õe", "oẹ": "ọe",
    "uỳ": "ùy", "uý": "úy", "uỷ": "ủy", "uỹ": "ũy", "uỵ": "ụy",
}
_TONE_RE = re.compile("|".join(_TONE_FOLD))
_SPACES = re.compile(r"\s+")


def nfc(s: pd.Series) -> pd.Series:
    """Unicode NFC, spaces collapsed, stripped. NA stays NA."""
    s = s.astype("string")
    return s.map(lambda v: _SPACES.sub(" ", unicodedata.normalize("NFC", v)).strip(), na_action="ignore").astype(
        "string"
    )


def fold_name(s: pd.Series) -> pd.Series:
    """Comparison key of a name: NFC, spaces collapsed, lower case, tone placement folded."""
    s = nfc(s).str.lower()
    return s.map(lambda v: _TONE_RE.sub(lambda m: _TONE_FOLD[m.group(0)], v), na_action="ignore").astype("string")


def restore_id(s: pd.Series) -> pd.Series:
    """Digits of a personal ID; an 11-digit value (Excel dropped the leading 0) gets it back."""
    s = s.astype("string").str.replace(r"\.0$", "", regex=True).str.replace(r"\D", "", regex=True)
    s = s.mask(s.str.len() == 11, "0" + s)
    s = s.mask(s.str.len() == 8, "0" + s)  # 9-digit CMND that lost its zero
    return s.mask(s == "", pd.NA)


def mask_id(s: pd.Series) -> pd.Series:
    """Every digit but the last four replaced by '*' (for logs, artifacts, candidates' codes)."""
    s = s.astype("string")
    return s.map(lambda v: "*" * max(len(v) - 4, 0) + v[-4:], na_action="ignore").astype("string")
