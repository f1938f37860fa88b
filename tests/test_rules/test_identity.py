"""INVALID_PERSONAL_ID and the CCCD structure check (docs/rules.md, "Identity")."""

from __future__ import annotations

import pandas as pd
from rulekit import central, codes, member, one, run

from rules.identity import personal_id_problems


def check(pid: str | None, birth: str = "1980-05-10", gender: str = "Nam"):
    out = personal_id_problems(
        pd.Series([pid], dtype="string"),
        pd.Series(pd.to_datetime([birth])),
        pd.Series([gender], dtype="string"),
    )
    return out.iloc[0]


def test_valid_ids_and_tolerated_forms():
    assert pd.isna(check("001080012345"))  # Hà Nội, 1900s male, born 1980
    assert pd.isna(check("01080012345"))  # 11 digits: Excel dropped the leading 0
    assert pd.isna(check("123456789"))  # 9-digit CMND of an old record
    assert pd.isna(check(None))
    assert pd.isna(check("079305001234", "2005-01-31", "Nữ"))  # HCMC, 2000s female
    assert pd.isna(check("079200001234", "2000-02-29", "Nam"))  # 2000 is a 2000s year: digit 2


def test_structure_faults():
    assert "10 chữ số" in check("0010800123")
    assert "003" in check("003080012345")  # no province has code 003
    assert "thứ 4" in check("001180012345")  # female digit for a man
    assert "thứ 4" in check("001280012345")  # 2000s digit for someone born in 1980
    assert "5–6" in check("001081012345")  # born 1980, digits say 81


def test_finding_for_screened_members_only():
    c = central(
        members=[
            member("1", personal_id="001180012345"),
            member("2", personal_id="123456789"),
            member("3", personal_id="0010800123", status="deceased"),
            member("4", personal_id="01080012346"),
        ]
    )
    f = run(c, None, "INVALID")
    assert codes(f) == [("INVALID_PERSONAL_ID", "C1", "1", "personal_id")]
    row = one(f, "INVALID_PERSONAL_ID")
    assert row["central_value"] == "001180012345" and "10/05/1980" in row["detail"]
