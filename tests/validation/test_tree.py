"""schemas/tree.py: the one organisation tree (ancestors, subtree, depth, cycles, orphans, safe codes)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from schemas import tree as T
from schemas.central import validate_table

# P (province)
# └── U (upper)
#     ├── G1 (grassroots committee) ── C1, C2 (cells)
#     └── G2 (grassroots cell)
SANE = [
    ("P", None, "province"),
    ("U", "P", "upper"),
    ("G1", "U", "grassroots_committee"),
    ("C1", "G1", "cell"),
    ("C2", "G1", "cell"),
    ("G2", "U", "grassroots_cell"),
]


def orgs(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["org_code", "parent_code", "kind"]).astype("string")


def pairs_of(frame: pd.DataFrame) -> set[tuple[str, str]]:
    p = T.ancestor_pairs(frame)
    return set(zip(p["org_code"], p["ancestor_code"], strict=True))


def test_ancestors_subtree_depth_and_nearest_on_a_sane_tree() -> None:
    tree = orgs(SANE)
    assert pairs_of(tree) >= {("C1", "C1"), ("C1", "G1"), ("C1", "U"), ("C1", "P"), ("G2", "U")}
    assert len(T.ancestor_pairs(tree)) == 1 + 2 + 3 + 4 + 4 + 3
    # nearest ancestors first: level 0 (itself), then 1, 2 ...
    assert T.ancestor_pairs(tree)["level"].is_monotonic_increasing
    assert T.subtree(tree, "G1") == {"G1", "C1", "C2"}
    assert T.subtree(tree, "U") == {"U", "G1", "C1", "C2", "G2"}
    assert T.subtree(tree, "nowhere") == set()
    assert T.depths(tree).to_dict() == {"P": 0, "U": 1, "G1": 2, "C1": 3, "C2": 3, "G2": 2}
    grassroots = T.nearest_of_kind(tree, ["grassroots_committee", "grassroots_cell"])
    assert grassroots.to_dict() == {"P": None, "U": None, "G1": "G1", "C1": "G1", "C2": "G1", "G2": "G2"}
    assert T.cycles(tree).empty
    assert not T.detached(tree).any()
    faults = T.tree_faults(tree)
    assert not faults[list(T.FAULT_RULES)].to_numpy().any()


def test_a_small_cycle_is_found_and_walked_round_once() -> None:
    # G1 and its cell C1 point at each other; C2 hangs below the cycle.
    tree = orgs([*SANE[:2], ("G1", "C1", "grassroots_committee"), ("C1", "G1", "cell"), *SANE[4:]])
    assert T.cycles(tree).to_dict() == {"G1": "G1 → C1 → G1", "C1": "C1 → G1 → C1"}
    assert T.depths(tree)[["G1", "C1", "C2"]].tolist() == [-1, -1, -1]
    assert T.detached(tree)[["G1", "C1", "C2"]].all() and not T.detached(tree)[["P", "U", "G2"]].any()
    # a chain stops at its first revisit: each pair once, nothing beyond the cycle
    assert pairs_of(tree) & {(c, a) for c in ("G1", "C1", "C2") for a in ("U", "P")} == set()
    assert {("C2", "G1"), ("C2", "C1"), ("G1", "C1"), ("C1", "G1")} <= pairs_of(tree)
    assert not T.ancestor_pairs(tree).duplicated(["org_code", "ancestor_code"]).any()
    faults = T.tree_faults(tree)
    assert faults["tree_cycle"].tolist() == [False, False, True, True, False, False]
    assert not faults["tree_orphan"].any()  # C2's parent exists: it is detached, not an orphan


def test_a_cycle_at_the_root_leaves_no_root_and_never_loops() -> None:
    tree = orgs([("P", "U", "province"), *SANE[1:]])  # P parent U, U parent P: no root at all
    assert set(T.cycles(tree).index) == {"P", "U"}
    assert T.detached(tree).all()
    assert (T.depths(tree) == -1).all()
    assert (
        T.nearest_of_kind(tree, ["upper"]).isna().sum() == 0
    )  # U is everyone's nearest upper, even on the cycle
    assert T.tree_faults(tree)["tree_cycle"].sum() == 2


def test_a_self_parent_is_a_cycle_of_one() -> None:
    tree = orgs([("P", "P", "province"), *SANE[1:]])
    assert T.cycles(tree).to_dict() == {"P": "P → P"}


def test_orphans_are_parents_missing_from_the_export_not_the_children_of_rejected_rows() -> None:
    tree = orgs([*SANE, ("G3", "ZZ", "grassroots_committee"), ("C3", "G3", "cell")])
    faults = T.tree_faults(tree)
    assert tree.loc[faults["tree_orphan"].to_numpy(), "org_code"].tolist() == ["G3"]
    # Once G3 is rejected, C3's parent is missing from the accepted rows but was in the export.
    accepted = tree[tree["org_code"] != "G3"]
    again = T.tree_faults(accepted, known_codes=tree["org_code"])
    assert not again["tree_orphan"].any()
    assert T.detached(accepted)["C3"] and not T.detached(accepted)["C1"]
    # An audit's committee heads its subtree: not detached there.
    sub = tree[tree["org_code"].isin(T.subtree(tree, "G1"))]
    assert T.detached(sub).all() and not T.detached(sub, roots=["G1"]).any()


def test_deep_chains_and_the_depth_bound() -> None:
    n = 2_000
    chain = orgs([(f"O{i}", f"O{i - 1}" if i else None, "cell") for i in range(n)])
    depth = T.depths(chain)
    assert depth.iloc[-1] == n - 1 and T.cycles(chain).empty
    faults = T.tree_faults(chain)
    assert faults["tree_too_deep"].sum() == n - 1 - T.MAX_DEPTH
    # A walk is bounded: at most MAX_DEPTH levels above an organisation.
    assert T.ancestor_pairs(chain)["level"].max() == T.MAX_DEPTH
    # A ring of the same size: every organisation on one cycle, found in log2(n) rounds.
    ring = orgs([(f"R{i}", f"R{(i + 1) % n}", "cell") for i in range(n)])
    assert T.tree_faults(ring)["tree_cycle"].all()
    assert T.cycles(ring)["R0"].startswith("R0 → R1 → R2") and T.cycles(ring)["R0"].endswith("…")
    assert T.ancestor_pairs(ring)["level"].max() == T.MAX_DEPTH


def test_a_national_size_tree_with_a_root_cycle_is_vectorised() -> None:
    n = 300_000
    idx = np.arange(n)
    codes = np.array([f"{i:06d}" for i in idx], dtype=object)
    parent = np.where(idx == 0, codes[1], codes[np.maximum(idx - 1, 0) // 10])  # 0 <-> 1 cycle at the top
    big = pd.DataFrame({"org_code": codes, "parent_code": parent, "kind": "cell"}).astype("string")
    faults = T.tree_faults(big)
    assert faults["tree_cycle"].sum() == 2 and not faults["tree_orphan"].any()
    assert T.detached(big).all()


@pytest.mark.parametrize(
    ("code", "safe"),
    [
        ("93.001.000.001.000", True),
        ("a1_c1", True),
        ("HN-01.2", True),
        ("../../escaped", False),
        ("/tmp/x", False),
        ("A\x00B", False),
        ('A<B>:"|?*', False),
        ("CON", False),
        ("con.001", False),
        ("LPT9", False),
        ("CONSOLE", True),
        ("A..B", False),
        (".hidden", False),
        ("A ", False),
        ("Đảng-01", False),
        ("x" * 65, False),
        ("x" * 64, True),
        ("", False),
    ],
)
def test_safe_org_codes(code: str, safe: bool) -> None:
    assert T.safe_org_codes(pd.Series([code], dtype="string")).tolist() == [safe]
    assert T.is_safe_org_code(code) is safe


def test_validation_quarantines_each_fault_with_one_line_naming_the_organisation() -> None:
    raw = pd.DataFrame(
        {
            "org_code": ["P", "U", "../../escaped", "C1", "X", "Y", "Q", "A\x00B", "CON", "93.15.0.1.2"],
            "name": ["Tỉnh", "Huyện", "Thoát", "Chi bộ 1", "X", None, "Q", "nul", "con", "Chi bộ 2"],
            "kind": ["province", "upper", "grassroots_committee", "cell", "upper", "upper", "grassroots_cell"]
            + ["cell"] * 3,
            "parent_code": [None, "P", "U", "../../escaped", "Y", "X", "ZZ", "U", "U", "U"],
            "active": [1] * 10,
        }
    )
    accepted, quarantine, _ = validate_table("organizations", raw)
    # The rest of the tree stays: C1 (below a rejected code) detached, the padded code restored.
    assert accepted["org_code"].tolist() == ["P", "U", "C1", "93.015.000.001.002"]
    lines = quarantine.set_index("row")
    assert lines["rule"].to_dict() == {
        3: "org_code_unsafe",
        5: "tree_cycle",
        6: "tree_cycle",
        7: "tree_orphan",
        8: "org_code_unsafe",
        9: "org_code_unsafe",
    }
    assert "'../../escaped' (Thoát)" in lines.loc[3, "message"]
    assert "X → Y → X" in lines.loc[5, "message"] and "Y → X → Y" in lines.loc[6, "message"]
    assert "'ZZ'" in lines.loc[7, "message"]
    assert lines.loc[8, "value"] == "A\\x00B" and "\x00" not in "".join(quarantine["message"])
    assert (quarantine["source"] == "central.organizations").all()
    assert all(m.startswith(f"Bản ghi {r}: ") for r, m in lines["message"].items())


def test_codes_that_differ_only_in_case_would_share_a_folder() -> None:
    raw = pd.DataFrame(
        {
            "org_code": ["P", "G1", "g1", "C1"],
            "name": ["Tỉnh", "Xã 1", "Xã 1 (nhập trùng)", "Chi bộ 1"],
            "kind": ["province", "grassroots_committee", "grassroots_committee", "cell"],
            "parent_code": [None, "P", "P", "g1"],
            "active": [1] * 4,
        }
    )
    accepted, quarantine, _ = validate_table("organizations", raw)
    assert accepted["org_code"].tolist() == ["P", "G1", "C1"]  # C1 stays, detached below g1
    assert quarantine["rule"].tolist() == ["org_code_case_clash"]
    assert "'g1'" in quarantine["message"].iloc[0] and "'G1'" in quarantine["message"].iloc[0]
