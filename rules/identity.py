"""Personal-ID (CCCD) structure: 3-digit province code of birth registration, century/gender digit,
two digits of the birth year, six serial digits (TT 59/2021/TT-BCA art. 7; docs/rules.md, "Identity").

``personal_id_problems`` is the structure check, usable by validation too.
"""

from __future__ import annotations

import pandas as pd

from rules.common import emit, none, screened, txt
from rules.registry import MEMBER, rule
from schemas.identity import PROVINCE_CODES, personal_id_problems  # noqa: F401 (one ID check)


# Source: Luật Căn cước 2023; TT 59/2021/TT-BCA art. 7 (cấu trúc số định danh cá nhân).
@rule("INVALID_PERSONAL_ID", scope=MEMBER, members="screened")
def invalid_personal_id(members: pd.DataFrame) -> pd.DataFrame:
    """Screened member whose central personal ID breaks the CCCD structure or disagrees with the
    birth year or gender (null and 9-digit CMND are not findings)."""
    m = screened(members)
    m = m[m["personal_id"].notna()]
    if m.empty:
        return none()
    why = personal_id_problems(m["personal_id"], m["birth_date"], m["gender"])
    m = m.assign(_why=why)[why.notna()]
    if m.empty:
        return none()
    detail = (
        "Số CCCD "
        + txt(m["personal_id"])
        + " của đảng viên "
        + txt(m["member_code"])
        + " ("
        + txt(m["full_name"])
        + ", sinh "
        + txt(m["birth_date"].dt.strftime("%d/%m/%Y").astype("string"), "?")
        + ", "
        + txt(m["gender"], "?")
        + ") sai cấu trúc: "
        + m["_why"]
        + "."
    )
    return emit(
        "INVALID_PERSONAL_ID",
        m,
        org_code="cell_code",
        member_code="member_code",
        field="personal_id",
        central_value="personal_id",
        detail=detail,
    )
