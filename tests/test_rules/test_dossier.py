"""DOSSIER_MISSING_DOC and PROBATION_OVERDUE (docs/rules.md, "Dossier"). as_of = 16/11/2026."""

from __future__ import annotations

from rulekit import central, codes, dossier, member, one, run


def test_complete_dossier_has_no_findings():
    c = central(members=[member("1")], dossier_documents=dossier("1"))
    assert run(c, None, "DOSSIER").empty


def test_one_finding_per_missing_code():
    docs = [d for d in dossier("1") if d["doc_type"] not in ("3-KND", "QD-CT")]
    c = central(members=[member("1")], dossier_documents=docs)
    assert codes(run(c, None, "DOSSIER")) == [
        ("DOSSIER_MISSING_DOC", "C1", "1", "3-KND"),
        ("DOSSIER_MISSING_DOC", "C1", "1", "QD-CT"),
    ]


def test_probationary_member_needs_no_recognition_decision():
    c = central(
        members=[member("1", official_date=None, admission_date="2026-06-01")],
        dossier_documents=dossier("1", years=range(0), official=False),
    )
    assert run(c, None, "DOSSIER").empty  # admitted 2026: no 3-HSDV due for 2025 either


def test_nightly_supplement_only_for_last_year_and_only_if_admitted_before_it():
    c = central(
        members=[member("1", admission_date="2024-12-31"), member("2", admission_date="2025-01-01")],
        dossier_documents=dossier("1", years=range(0)) + dossier("2", years=range(0)),
    )
    f = run(c, None, "DOSSIER")
    assert codes(f) == [("DOSSIER_MISSING_DOC", "C1", "1", "3-HSDV")]
    assert f.iloc[0]["ref"] == "2025" and "năm 2025" in f.iloc[0]["detail"]


def test_audit_wants_every_year_since_admission():
    c = central(
        members=[member("1", admission_date="2021-05-01")],
        dossier_documents=dossier("1", years=range(2023, 2026)),
    )
    f = run(c, None, "DOSSIER", mode="audit")
    assert sorted(f["ref"]) == ["2022"]
    assert run(c, None, "DOSSIER").empty  # nightly looks at 2025 only


def test_probation_overdue_boundary():
    # Ceremony 5/10/2025: 12 months end 5/10/2026, +30 working days = 16/11/2026 = as_of: not yet.
    # Ceremony 2/10/2025: due 13/11/2026: overdue.
    c = central(
        members=[
            member("1", official_date=None, admission_date="2025-10-05"),
            member("2", official_date=None, admission_date="2025-10-02"),
            member("3", official_date="2026-10-02", admission_date="2025-10-02"),
        ]
    )
    row = one(run(c, None, "PROBATION"), "PROBATION_OVERDUE")
    assert (row["member_code"], row["due_date"]) == ("2", "2026-11-13")
    assert "02/10/2025" in row["detail"] and "13/11/2026" in row["detail"]


def test_probation_from_29_february():
    # Ceremony 29/2/2024: 12 months end 28/2/2025; +30 working days, skipping the Hùng Kings
    # holiday of Monday 7/4/2025, end on 14/4/2025.
    c = central(members=[member("1", official_date=None, admission_date="2024-02-29")])
    row = one(run(c, None, "PROBATION", as_of="2025-04-15", period="2025-03"), "PROBATION_OVERDUE")
    assert "28/02/2025" in row["detail"] and row["due_date"] == "2025-04-14"
    assert run(c, None, "PROBATION", as_of="2025-04-14", period="2025-03").empty
