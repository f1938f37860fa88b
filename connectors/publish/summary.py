"""What publication says about a run besides its lists: summary.json's content, and the subtree a
committee's audit is limited to."""

from __future__ import annotations

import pandas as pd

from schemas.datasets import SubmissionData


def scope_to_committee(findings: pd.DataFrame, organizations: pd.DataFrame, committee: str) -> pd.DataFrame:
    """Keep only findings of the committee's subtree: a committee receives only its own members."""
    from schemas.errors import UsageError
    from schemas.tree import subtree

    codes = subtree(organizations, committee)
    if not codes:  # not in the export, or quarantined with its place in the tree (schemas.tree)
        raise UsageError(
            f"Không có tổ chức đảng mã {committee} trong cây tổ chức của CSDL trung ương "
            "(không có trong bảng tổ chức, hoặc bị cách ly vì mã hay mã cấp trên sai)"
        )
    return findings[findings["org_code"].isin(codes)].reset_index(drop=True)


def build_summary(
    inp,
    run: dict,
    central_counts: dict,
    subs: SubmissionData,
    files: dict,
    findings: pd.DataFrame,
    quarantine: pd.DataFrame,
    durations: dict[str, float],
) -> dict:
    """summary.json's content (contract §3): inputs with passwords masked, rows read / accepted /
    quarantined per source, counts per list and committee of what is still to do, durations."""
    from schemas.secrets import redact as redact_url

    counts = {
        "central." + t: {k: c[k] for k in ("read", "accepted", "quarantined")}
        for t, c in central_counts.items()
    }
    counts.update(files.get("rows", {}))
    by_status = findings["status"].value_counts().sort_index().to_dict()
    # The counts are of what is still to do (an explanation the board accepted is not, issue #20).
    findings = findings[~findings["status"].isin(["resolved", "accepted"])]
    per_list = findings.groupby("list_code").size().sort_index().to_dict()
    per_committee = (
        findings.groupby(["committee_code", "list_code"], dropna=False).size().reset_index(name="count")
    )
    per_committee["committee_code"] = per_committee["committee_code"].fillna("")
    by_committee: dict[str, dict[str, int]] = {}
    for row in per_committee.itertuples(index=False):
        by_committee.setdefault(row.committee_code, {})[row.list_code] = int(row.count)
    return {
        "run_id": run["run_id"],
        "as_of": run["as_of"],
        "period": run["period"],
        "mode": run["mode"],
        "committee": run["committee"],
        "inputs": {
            "central": redact_url(inp.central),
            "submissions": str(inp.submissions),
            "results": redact_url(inp.results),
            "demo": inp.demo,
        },
        "files": {k: v for k, v in files.items() if k != "rows"},
        "workbooks_accepted": int((subs.workbooks["period"] == inp.period).sum()),
        "rows": counts,
        "quarantined_rows": len(quarantine),
        "findings": len(findings),
        "findings_by_status": {k: int(v) for k, v in by_status.items()},
        "counts_per_list": {k: int(v) for k, v in per_list.items()},
        "counts_per_committee": by_committee,
        "durations_seconds": durations,
    }
