"""Every list code of the contract, exact: precision and recall 1.0 against the planted findings
of a 10,000-member demo data set, through the whole nightly flow (at least 5 planted per list)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from schemas.contract import LIST_CODES

KEY = ["list_code", "org_code", "member_code", "field"]


@pytest.fixture(scope="module")
def run_10k(prefect_harness, tmp_path_factory) -> tuple[pd.DataFrame, pd.DataFrame]:
    from dvsync.demo import generate
    from flows.nightly import nightly_reconciliation

    demo = tmp_path_factory.mktemp("demo-10k")
    generate(members=10_000, out=demo, seed=11)
    out = tmp_path_factory.mktemp("out-10k")
    nightly_reconciliation(
        central=f"sqlite:///{demo / 'central.sqlite'}",
        submissions=str(demo / "submissions"),
        out=str(out),
        as_of=json.loads((demo / "demo.json").read_text())["as_of"],
    )
    found = pd.read_csv(out / "findings.csv", dtype=str, encoding="utf-8-sig").fillna("")
    expected = pd.read_csv(demo / "expected_findings.csv", dtype=str).fillna("")
    return found, expected


@pytest.mark.slow
@pytest.mark.parametrize("code", LIST_CODES)
def test_list_is_exact(run_10k: tuple[pd.DataFrame, pd.DataFrame], code: str) -> None:
    found, expected = run_10k
    got = set(found.loc[found["list_code"] == code, KEY].itertuples(index=False, name=None))
    want = set(expected.loc[expected["list_code"] == code, KEY].itertuples(index=False, name=None))
    assert len(want) >= 5, f"only {len(want)} planted {code}"
    true_pos = got & want
    precision = len(true_pos) / len(got) if got else 0.0
    recall = len(true_pos) / len(want)
    assert (precision, recall) == (1.0, 1.0), {
        "extra": sorted(got - want)[:5],
        "missed": sorted(want - got)[:5],
    }
