"""Small hand-built organisation tree and findings for the publication tests."""

from __future__ import annotations

from datetime import date

import pandas as pd

from rules.findings import finalize, make_findings

AS_OF = date(2025, 3, 5)
PLANTED_ID = "079085001234"  # a personal ID planted in findings; must never reach logs/artifacts
PLANTED_NAME = "Nguyễn Thị Hoà"  # a member's name planted the same way
OLD_ID = "281234567"  # 9-digit CMND


def org_tree() -> pd.DataFrame:
    rows = [
        ("P", "Đảng bộ tỉnh", "province", None, True),
        ("U1", "Đảng bộ huyện Một", "upper", "P", True),
        ("U2", "Đảng bộ huyện Hai", "upper", "P", True),
        ("G1", "Đảng bộ xã An Bình", "grassroots_committee", "U1", True),
        ("G2", "Chi bộ cơ sở Trường THPT", "grassroots_cell", "U1", True),
        ("G3", "Đảng bộ xã Phú Lợi", "grassroots_committee", "U2", True),
        ("C1", "Chi bộ thôn 1", "cell", "G1", True),
        ("C2", "Chi bộ thôn 2", "cell", "G1", True),
        ("C3", "Chi bộ thôn 3", "cell", "G3", True),
        ("C4", "Chi bộ thôn 4 (giải thể)", "cell", "G3", False),
    ]
    return pd.DataFrame(rows, columns=["org_code", "name", "kind", "parent_code", "active"])


def findings_frame(orgs: pd.DataFrame | None = None) -> pd.DataFrame:
    """Findings in every cell; member codes carry their cell (M-C1-01 ...) for the isolation test."""
    orgs = org_tree() if orgs is None else orgs
    parts = []
    for cell in ["C1", "C2", "G2", "C3"]:
        members = pd.DataFrame({"m": [f"M-{cell}-{i:02d}" for i in range(1, 4)]})
        parts.append(
            make_findings(
                "ROSTER_MISSING_IN_CELL",
                members,
                org_code=cell,
                member_code="m",
                detail="Có trong CSDL, thiếu trong danh sách chi bộ.",
            )
        )
        one = members.iloc[[0]]
        parts.append(
            make_findings(
                "ROSTER_FIELD_MISMATCH",
                one,
                org_code=cell,
                member_code="m",
                field="birth_date",
                central_value="1985-07-14",
                cell_value="1985-07-15",
                detail="Ngày sinh khác nhau.",
            )
        )
        parts.append(
            make_findings(
                "TRANSFER_OVERDUE",
                members.iloc[[1]],
                org_code=cell,
                member_code="m",
                due_date="2025-02-20",
                ref="T1",
                detail="Chuyển sinh hoạt quá 30 ngày làm việc.",
            )
        )
    # Personal data planted in C1: an ID mismatch with a name in the detail.
    mm = pd.DataFrame({"m": ["M-C1-01"]})
    parts.append(
        make_findings(
            "ROSTER_FIELD_MISMATCH",
            mm,
            org_code="C1",
            member_code="m",
            field="personal_id",
            central_value=PLANTED_ID,
            cell_value=OLD_ID,
            detail=f"Số CCCD của {PLANTED_NAME} khác nhau.",
        )
    )
    parts.append(
        make_findings(
            "SUBMISSION_MISSING",
            pd.DataFrame({"x": [1]}),
            org_code="C3",
            detail="Chi bộ chưa gửi báo cáo tháng 02/2025.",
        )
    )
    parts.append(
        make_findings(
            "BADGE_DUE",
            pd.DataFrame({"m": ["M-G2-03"]}),
            org_code="G2",
            member_code="m",
            field="30",
            detail="Đủ 30 năm tuổi Đảng.",
        )
    )
    df = finalize(pd.concat(parts, ignore_index=True), orgs, pd.Timestamp(AS_OF))
    # An older open finding, to exercise "oldest open".
    old = df["list_code"].eq("TRANSFER_OVERDUE") & df["org_code"].eq("C3")
    df.loc[old, "status"] = "open"
    df.loc[old, "first_seen"] = "2025-01-10"
    return df
