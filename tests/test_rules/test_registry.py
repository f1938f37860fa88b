"""rules.registry: every list of schemas/lists.py has one rule, the plan follows the lists' declared
dependencies, a bad registry fails with a clear error before anything runs, and a list run alone
(with what it depends on, as rulekit.run runs it) gives what the whole reconcile() gives."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
from rulekit import central, ctx, dossier, member, roster_row, submissions

from rules import reconcile
from rules.reconcile import finalize_findings
from rules.registry import DEPENDENCIES, MEMBER, REGISTRY, TREE, PlanError, Registry
from schemas.lists import LISTS, ListSpec


def test_every_list_has_exactly_one_rule_and_every_rule_produces_lists():
    rules = list(dict.fromkeys(REGISTRY.rules.values()))
    produced = [code for r in rules for code in r.codes]
    assert sorted(produced) == sorted(LISTS)  # every list, none twice
    for r in rules:
        assert r.codes and set(r.codes) <= set(LISTS), r
        # A list's family names the module that holds its rule (schemas/lists.py).
        assert {LISTS[c].family for c in r.codes} == {r.fn.__module__.removeprefix("rules.")}, r


def test_the_plan_respects_every_declared_dependency():
    for scope in (None, MEMBER, TREE):
        plan = REGISTRY.plan(scope)
        at = {code: i for i, r in enumerate(plan) for code in r.codes}
        for r in plan:
            assert all(LISTS[c].depends_on == () or r.scope == scope or scope is None for c in r.codes)
            for d in REGISTRY.dependencies(r):
                assert at[d] < at[r.codes[0]], f"{r} runs before {d}"
    assert {c for r in REGISTRY.plan() for c in r.codes} == set(LISTS)
    member = {c for r in REGISTRY.plan(MEMBER) for c in r.codes}
    tree = {c for r in REGISTRY.plan(TREE) for c in r.codes}
    assert member | tree == set(LISTS) and not member & tree
    assert {"BADGE_WITHHELD", "REMOVAL_ABSENCE_OR_FEES"} <= member and "SCREEN_TRANSFER_RULES" in tree


def test_the_plan_is_deterministic_whatever_the_registration_order():
    again = Registry()
    for p in reversed(list(REGISTRY.providers.values())):
        again.add_provider(p)
    for r in reversed(list(dict.fromkeys(REGISTRY.rules.values()))):
        again.add_rule(r)
    assert [r.codes for r in again.plan()] == [r.codes for r in REGISTRY.plan()]
    # Ties go in the lists' order: nothing is moved but what a dependency moves.
    order = [c for r in REGISTRY.plan() for c in r.codes]
    assert order.index("TRANSFER_STILL_ON_SENDER") < order.index("ROSTER_WRONG_CELL")
    assert (
        order.index("ROSTER_MISSING_IN_CELL")
        < order.index("ROSTER_NOT_IN_CENTRAL")
        < order.index("INVALID_PERSONAL_ID")
    )


def test_only_plans_the_lists_asked_and_what_they_depend_on():
    codes = lambda only: [c for r in REGISTRY.plan(only=only) for c in r.codes]  # noqa: E731
    assert codes(["BADGE_DUE"]) == ["REMOVAL_ABSENCE_OR_FEES", "REMOVAL_TWO_YEARS_KHT", "BADGE_DUE"]
    assert codes(["SCREEN_TRANSFER_RULES"]) == [
        "TRANSFER_OVERDUE",
        "TRANSFER_DOSSIER_MISSING",
        "SCREEN_TRANSFER_RULES",
    ]
    assert codes(["ROSTER_WRONG_CELL"]) == ["TRANSFER_STILL_ON_SENDER", "ROSTER_WRONG_CELL"]
    assert codes(["ADMISSION_ELIGIBLE"]) == ["ADMISSION_ELIGIBLE", "ADMISSION_NOT_ELIGIBLE"]
    with pytest.raises(PlanError, match="NOPE: not a list"):
        REGISTRY.plan(only=["NOPE"])


# --- a bad registry fails before anything runs ---------------------------------------------------------


def lists(**depends_on: tuple[str, ...]) -> dict[str, ListSpec]:
    """Made-up lists (copies of one real spec) with the given dependencies."""
    spec = LISTS["INVALID_PERSONAL_ID"]
    return {code: dataclasses.replace(spec, code=code, depends_on=deps) for code, deps in depends_on.items()}


def finds(members: pd.DataFrame, found: pd.DataFrame | None = None) -> pd.DataFrame:
    return members.iloc[0:0]


def registry(scopes: dict[str, str] | None = None, **depends_on: tuple[str, ...]) -> Registry:
    """One rule per made-up list (scope member unless ``scopes`` says otherwise)."""
    reg = Registry(lists(**depends_on))
    for code, deps in depends_on.items():
        inputs = {"found": DEPENDENCIES} if deps else {}
        reg.rule(code, scope=(scopes or {}).get(code, MEMBER), members="central.members", **inputs)(finds)
    return reg


def test_a_well_formed_made_up_registry_plans():
    reg = registry(C=("B",), A=(), B=("A",), D=())
    assert [r.codes for r in reg.plan()] == [("A",), ("B",), ("C",), ("D",)]


def test_an_unknown_dependency_fails_with_its_name():
    reg = Registry(lists(A=("NOPE",)))
    reg.rule("A", scope=MEMBER, members="central.members")(finds)
    with pytest.raises(PlanError, match="A depends on NOPE: not a list"):
        reg.plan()


@pytest.mark.parametrize(
    ("depends_on", "circle"),
    [
        ({"A": ("B",), "B": ("C",), "C": ("A",)}, "A -> B -> C -> A"),
        ({"A": ("A",)}, "A -> A"),
        ({"A": (), "B": ("C",), "C": ("B",)}, "B -> C -> B"),
    ],
)
def test_a_circle_of_dependencies_fails_naming_the_circle(depends_on, circle):
    with pytest.raises(PlanError, match=f"circle: {circle}"):
        registry(**depends_on).plan()


def test_a_circle_through_a_rule_of_two_lists_fails():
    # A -> X -> B has no circle, but one rule makes A and B: it would have to run before and after X.
    reg = Registry(lists(A=("X",), B=(), X=("B",)))
    reg.rule("A", "B", scope=MEMBER, members="central.members", found=DEPENDENCIES)(finds)
    reg.rule("X", scope=MEMBER, members="central.members", found=DEPENDENCIES)(finds)
    with pytest.raises(PlanError, match="rules depend on each other in a circle: A, B, X"):
        reg.plan()


def test_a_dependency_across_scopes_fails():
    with pytest.raises(PlanError, match=r"B \(member\) depends on A \(tree\)"):
        registry({"A": TREE}, A=(), B=("A",)).plan()


def test_a_list_without_a_rule_fails():
    reg = Registry(lists(A=(), B=()))
    reg.rule("A", scope=MEMBER, members="central.members")(finds)
    with pytest.raises(PlanError, match="no rule produces B"):
        reg.plan()


def test_registration_refuses_unknown_lists_second_rules_and_unbound_parameters():
    reg = registry(A=(), B=())
    with pytest.raises(PlanError, match="NOPE is not a list"):
        reg.rule("NOPE", scope=MEMBER, members="central.members")(finds)
    with pytest.raises(PlanError, match="already produced: A"):
        reg.rule("A", scope=MEMBER, members="central.members")(finds)
    with pytest.raises(PlanError, match="parameter members of finds is bound to no input"):
        Registry(lists(A=())).rule("A", scope=MEMBER)(finds)
    with pytest.raises(PlanError, match="has no parameter roster"):
        Registry(lists(A=())).rule("A", scope=MEMBER, members="central.members", roster="period.roster")(
            finds
        )
    with pytest.raises(PlanError, match="depend on none"):
        Registry(lists(A=())).rule("A", scope=MEMBER, members="central.members", found=DEPENDENCIES)(finds)
    with pytest.raises(PlanError, match="scope 'partition'"):
        Registry(lists(A=())).rule("A", scope="partition", members="central.members")(finds)


def test_an_input_nothing_provides_fails_at_plan_time():
    reg = Registry(lists(A=()))
    reg.rule("A", scope=MEMBER, members="screened")(finds)
    with pytest.raises(PlanError, match="takes screened, which nothing provides"):
        reg.plan()
    reg.provides("screened", members="screened_again")(lambda members: members)
    reg.provides("screened_again", members="screened")(lambda members: members)
    with pytest.raises(
        PlanError, match="inputs computed from each other: screened -> screened_again -> screened"
    ):
        reg.plan()


# --- a list alone gives what the whole reconcile gives ------------------------------------------------


def scenario():
    """A little of everything: most lists have a finding, and each dependency has something to pass."""
    official = {"kind": "official", "notice_sent_on": "2026-09-02", "fees_paid_through": "2026-09"}
    c = central(
        members=[
            member("1", admission_decision_date="1990-01-01"),
            member("2"),
            member("3", cell_code="GC", personal_id="001180000003"),
            member("4", cell_code="C2", admission_decision_date="1986-01-01"),
            member("5", cell_code="C2"),
            member("6", full_name="Lê Văn Đúng"),
            member("7", official_date=None, admission_date="2024-01-10"),
            member("8", status="transferred_out"),
            member("9", cell_code="C3", personal_id=member("1")["personal_id"]),
        ],
        dossier_documents=dossier("1", "2", "4"),
        ratings=[
            {"member_code": "2", "year": 2025, "rating": "KHTNV"},
            {"member_code": "4", "year": 2024, "rating": "KHTNV"},
            {"member_code": "4", "year": 2025, "rating": "KHTNV"},
        ],
        disciplines=[{"member_code": "6", "decided_on": "2026-06-01", "form": "Khiển trách"}],
        transfers=[
            {  # in transit since June, no notice, fees behind: overdue, not notified, fees gap
                **official,
                "transfer_id": "T2",
                "member_code": "2",
                "from_cell": "C1",
                "to_org": "C2",
                "letter_date": "2026-06-01",
                "notice_sent_on": None,
                "fees_paid_through": "2026-04",
            },
            {  # received, still on the sender's roster
                **official,
                "transfer_id": "T5",
                "member_code": "5",
                "from_cell": "C1",
                "to_org": "C2",
                "letter_date": "2026-09-01",
                "received_on": "2026-09-10",
                "dossier_received_on": "2026-09-10",
            },
            {  # received without its dossier
                **official,
                "transfer_id": "T1",
                "member_code": "1",
                "from_cell": "C3",
                "to_org": "C1",
                "letter_date": "2026-08-03",
                "received_on": "2026-08-20",
            },
            {  # temporary, expired
                **official,
                "kind": "temporary",
                "transfer_id": "T6",
                "member_code": "6",
                "from_cell": "C1",
                "to_org": "C2",
                "letter_date": "2026-05-04",
                "temporary_until": "2026-10-01",
            },
        ],
    )
    absent = [
        {
            "cell_code": "C1",
            "member_code": "7",
            "month": f"2026-{m:02d}",
            "attended": m > 3,
            "excused": False,
            "fees_paid": True,
        }
        for m in range(1, 11)
    ]
    cadre = {
        "cell_code": "C1",
        "personal_id": "001096001234",
        "birth_date": "1996-03-10",
        "candidate_kind": "Cán bộ",
        "rating_y1": "HTTNV",
        "rating_y2": "HTXSNV",
        "rating_y3": "HTTNV",
        "course_certificate_on": "2024-06-01",
        "background_verified": True,
        "political_conclusion_on": "2026-09-01",
    }
    s = submissions(
        roster=[
            roster_row("1"),
            roster_row("99"),
            roster_row("5"),
            roster_row("6", full_name="Lê Văn Sai"),
            roster_row("4"),
            roster_row("8"),
            roster_row("9"),
            roster_row("9", cell="C2"),
        ],
        activity=absent,
        screening=[{"cell_code": "C1", "member_code": "6", "category": 4}],
        transfers_in=[
            {"cell_code": "C2", "member_code": "6", "kind": "official", "letter_date": "2026-09-01"}
        ],
        candidates=[cadre, {"cell_code": "C1", "personal_id": "001096009999"}],
    )
    return c, s


def test_each_list_alone_gives_what_reconcile_gives():
    c, s = scenario()
    whole = reconcile(c, s, ctx())
    hit = set(whole["list_code"])
    # Not a vacuous comparison: the lists that depend on others, and those, have findings.
    assert {code for code, spec in LISTS.items() if spec.depends_on} <= hit
    assert {d for spec in LISTS.values() for d in spec.depends_on} - {"REMOVAL_ABSENCE_OR_FEES"} <= hit
    assert len(hit) >= 24, sorted(set(LISTS) - hit)
    # Raw findings (finalize only adds columns, row by row, and orders rows within a list).
    everything = REGISTRY.run(c, s, ctx())
    for r in REGISTRY.plan():
        alone = REGISTRY.run(c, s, ctx(), only=r.codes)
        for code in r.codes:
            assert set(alone[code]["list_code"]) <= {code}, code
            pd.testing.assert_frame_equal(alone[code], everything[code], obj=code)
    # And finalized, as rulekit.run gives them, for the lists that depend on others.
    for code in ("BADGE_WITHHELD", "SCREEN_TRANSFER_RULES", "ROSTER_WRONG_CELL"):
        found = REGISTRY.run(c, s, ctx(), only=[code])
        alone = finalize_findings([found[code]], c.organizations, ctx())
        pd.testing.assert_frame_equal(
            alone, whole[whole["list_code"] == code].reset_index(drop=True), obj=code
        )
