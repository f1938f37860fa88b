"""ADMISSION_ELIGIBLE / ADMISSION_NOT_ELIGIBLE (seeds 000, 001; docs/rules.md, "Admission"). as_of = 16/11/2026."""

from __future__ import annotations

import pytest
from rulekit import central, codes, one, run, submissions


def cadre(**kw) -> dict:
    """A cadre who meets every criterion: 30 years old, fresh certificate, verified, HTTNV x3 + one HTXSNV."""
    base = {
        "cell_code": "C1",
        "personal_id": "001096001234",
        "full_name": "Phạm Minh Châu",
        "birth_date": "1996-03-10",
        "candidate_kind": "Cán bộ",
        "rating_y1": "HTTNV",
        "rating_y2": "HTXSNV",
        "rating_y3": "HTTNV",
        "emulation_fighter": False,
        "provincial_merit": False,
        "course_certificate_on": "2024-06-01",
        "background_verified": True,
        "political_conclusion_on": "2026-09-01",
    }
    base.update(kw)
    return base


def student(**kw) -> dict:
    base = cadre(
        candidate_kind="Học sinh, sinh viên",
        birth_date="2006-09-01",
        personal_id="001306005678",
        rating_y1="Khá",
        rating_y2="Giỏi",
        rating_y3="Xuất sắc",
    )
    base.update(kw)
    return base


def assess(*rows: dict, **context):
    return run(central(), submissions(candidates=list(rows)), "ADMISSION", **context)


def test_eligible_cadre_and_student_with_masked_ids():
    f = assess(cadre(), student())
    assert codes(f) == [
        ("ADMISSION_ELIGIBLE", "C1", "********1234", "cadre"),
        ("ADMISSION_ELIGIBLE", "C1", "********5678", "student"),
    ]
    assert "001096001234" not in " ".join(f["detail"])


@pytest.mark.parametrize(
    ("row", "words"),
    [
        (cadre(birth_date="2008-11-17"), "tuổi 17"),  # 18 on 17/11/2026: one day short
        (cadre(birth_date="1965-11-16"), "tuổi 61"),
        (cadre(course_certificate_on="2021-11-15"), "đã quá 5 năm"),
        (cadre(course_certificate_on=None), "CN-NTVĐ"),
        (cadre(background_verified=False), "chưa thẩm tra lý lịch"),
        (cadre(political_conclusion_on=None), "kết luận về tiêu chuẩn chính trị"),
        (cadre(rating_y1="HTNV"), "chưa đều từ Hoàn thành tốt"),
        (cadre(rating_y2="HTTNV"), "không có năm Hoàn thành xuất sắc"),
        (student(rating_y1="Trung bình"), "chưa đều từ Khá"),
        (student(rating_y3="Khá"), "chỉ có 1 năm Giỏi hoặc Xuất sắc"),
    ],
)
def test_each_criterion_failing_alone(row, words):
    r = one(assess(row), "ADMISSION_NOT_ELIGIBLE")
    assert words in r["detail"] and r["cell_value"].count(";") == 0  # exactly one failed criterion


def test_boundaries_that_still_pass():
    f = assess(
        cadre(birth_date="2008-11-16", personal_id="001208000001"),  # 18 today
        cadre(birth_date="1965-11-17", personal_id="001065000002"),  # 60 until tomorrow
        cadre(course_certificate_on="2021-11-16", personal_id="001096000003"),  # exactly 5 years
        cadre(rating_y2="HTTNV", emulation_fighter=True, personal_id="001096000004"),
        cadre(rating_y2="HTTNV", provincial_merit=True, personal_id="001096000005"),
        cadre(
            rating_y1="Hoàn thành tốt nhiệm vụ",
            rating_y2="Hoàn thành xuất sắc nhiệm vụ",
            personal_id="001096000006",
        ),
        student(rating_y1="giỏi", rating_y2="Khá", rating_y3="Giỏi", personal_id="001306000007"),
    )
    assert set(f["list_code"]) == {"ADMISSION_ELIGIBLE"} and len(f) == 7


def test_born_29_february_turns_18_on_28_february():
    row = student(birth_date="2008-02-29", personal_id="001308000009", period="2026-01")
    assert one(assess(row, as_of="2026-02-27", period="2026-01"), "ADMISSION_NOT_ELIGIBLE")["detail"].count(
        "tuổi 17"
    )
    assert one(assess(row, as_of="2026-02-28", period="2026-01"), "ADMISSION_ELIGIBLE") is not None


def test_several_failures_are_all_named():
    r = one(
        assess(student(background_verified=False, rating_y3="Khá", course_certificate_on=None)),
        "ADMISSION_NOT_ELIGIBLE",
    )
    assert r["cell_value"].count(";") == 2
