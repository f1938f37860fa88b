"""Prefect artifacts of a run, and masking of personal data in logs.

Artifacts (keys ``<prefix>-counts`` and ``<prefix>-summary``; reusing a key across runs keeps a
history in the UI):
- a table: open findings per list and grassroots organisation (codes and counts only);
- a markdown page: the totals, counts per list, the trend over past runs, links to the files.
Neither holds names, member codes or personal IDs; every text that goes in is masked all the same.

Logs: ``install_log_masking()`` masks ID-like numbers (9 to 12 digits: CMND, CCCD, one that lost
its leading zero, phone numbers) in every log record of the process, at creation, so whichever
handler Prefect or anyone configures later (the API handler included) only sees masked text.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from connectors.publish.labels import LIST_TITLES, SEVERITY_LABELS

log = logging.getLogger("dvsync.publish")

ID_LIKE = re.compile(r"(?<!\d)\d{9,12}(?!\d)")
MAX_TABLE_ROWS = 5000  # the UI stays usable; the full counts are in summary.json and findings.csv
SPARK = "▁▂▃▄▅▆▇█"


def mask_personal(text: str, extra: Iterable[str] = ()) -> str:
    """Replace ID-like numbers by '*' but their last four digits; also mask each of ``extra``
    (e.g. names known to the caller) entirely."""
    out = ID_LIKE.sub(lambda m: "*" * (len(m.group(0)) - 4) + m.group(0)[-4:], text)
    for word in extra:
        if word:
            out = out.replace(word, "***")
    return out


def _mask_record(record: logging.LogRecord) -> None:
    if not getattr(record, "_dvsync_masked", False):
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to logging's own error report
            message = None
        if message is not None:
            masked = mask_personal(message)
            if masked != message:
                record.msg, record.args = masked, None
            record._dvsync_masked = True
    # Tracebacks quote exception messages: format now, masked (formatters reuse exc_text), or mask
    # what another handler formatted first.
    if record.exc_text:
        record.exc_text = mask_personal(record.exc_text)
    elif record.exc_info:
        record.exc_text = mask_personal(logging.Formatter().formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = mask_personal(record.stack_info)


class PersonalDataFilter(logging.Filter):
    """A logging filter that masks ID-like numbers; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        _mask_record(record)
        return True


MASKED_LOGGERS = [
    "",
    "prefect",
    "prefect.flow_runs",
    "prefect.task_runs",
    "prefect.extra",
    "dvsync",
    "flows",
    "rules",
    "connectors",
]


def install_log_masking() -> None:
    """Mask personal IDs in every log record of this process (idempotent).

    A log-record factory does the work, so it survives Prefect re-applying its logging
    configuration; the filter is also put on the handlers of Prefect's and dvsync's loggers, for
    records made before the factory was installed.
    """
    current = logging.getLogRecordFactory()
    if not getattr(current, "_dvsync_masking", False):

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = current(*args, **kwargs)
            _mask_record(record)
            return record

        factory._dvsync_masking = True  # type: ignore[attr-defined]
        logging.setLogRecordFactory(factory)
    for name in MASKED_LOGGERS:
        logger = logging.getLogger(name)
        for target in [logger, *logger.handlers]:
            if not any(isinstance(f, PersonalDataFilter) for f in target.filters):
                target.addFilter(PersonalDataFilter())


# --- artifacts ---------------------------------------------------------------------------------
def _open_findings(findings: pd.DataFrame) -> pd.DataFrame:
    f = pd.DataFrame(index=findings.index)
    for col in ["list_code", "committee_code", "severity", "status"]:
        f[col] = (
            findings[col] if col in findings.columns else pd.Series(pd.NA, index=findings.index)
        ).astype("string")
    f["status"] = f["status"].fillna("new")
    f["committee_code"] = f["committee_code"].fillna("—")
    return f


def counts_table(findings: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of the counts artifact: one per (list, grassroots organisation) with findings."""
    f = _open_findings(findings)
    if f.empty:
        return []
    f["is_open"] = f["status"].isin(["new", "open"]).astype(int)
    f["is_new"] = (f["status"] == "new").astype(int)
    f["is_resolved"] = (f["status"] == "resolved").astype(int)
    g = (
        f.groupby(["list_code", "committee_code"], dropna=False)
        .agg(
            severity=("severity", "first"),
            open=("is_open", "sum"),
            new=("is_new", "sum"),
            resolved=("is_resolved", "sum"),
        )
        .reset_index()
        .sort_values(["open", "list_code", "committee_code"], ascending=[False, True, True])
    )
    return [
        {
            "Mã danh sách": mask_personal(str(r.list_code)),
            "Tổ chức cơ sở đảng": mask_personal(str(r.committee_code)),
            "Mức độ": SEVERITY_LABELS.get(str(r.severity), str(r.severity)),
            "Cần xử lý": int(r.open),
            "Mới": int(r.new),
            "Đã khắc phục": int(r.resolved),
        }
        for r in g.head(MAX_TABLE_ROWS).itertuples(index=False)
    ]


def _trend(findings: pd.DataFrame, summary: Mapping[str, Any], runs: pd.DataFrame | None) -> pd.Series:
    """Open findings per run date (oldest first), this run included."""
    from connectors.publish.report import _runs_long

    if runs is None and summary.get("trend") is not None:
        trend = summary["trend"]
        runs = pd.DataFrame(
            [{"as_of": k, "count": v} for k, v in trend.items()]
            if isinstance(trend, Mapping)
            else list(trend)
        )
        if "count" not in runs.columns and "total" in runs.columns:
            runs = runs.rename(columns={"total": "count"})
        if not runs.empty and "list_code" not in runs.columns:
            runs["list_code"] = "ALL"
    hist = _runs_long(runs)
    series = hist.groupby("as_of")["count"].sum()
    as_of = summary.get("as_of")
    if as_of is not None:
        now = pd.Timestamp(as_of).normalize()
        f = _open_findings(findings)
        series.loc[now] = int(f["status"].isin(["new", "open"]).sum())
    return series.sort_index()


def _numeric_leaves(d: Mapping[str, Any], prefix: str = "") -> list[tuple[str, float]]:
    out: list[tuple[str, float]] = []
    for k, v in sorted(d.items(), key=lambda kv: str(kv[0])):
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out += _numeric_leaves(v, key + ".")
        elif isinstance(v, int | float) and not isinstance(v, bool):
            out.append((key, v))
    return out


def _link(url: str) -> str:
    if re.match(r"^[a-z][a-z0-9+.-]*://", url, re.I):
        return url
    return Path(url).resolve().as_uri()


def summary_markdown(
    findings: pd.DataFrame,
    summary: Mapping[str, Any],
    links: Mapping[str, str],
    runs: pd.DataFrame | None = None,
) -> str:
    f = _open_findings(findings)
    open_ = f[f["status"].isin(["new", "open"])]
    as_of = summary.get("as_of")
    day = pd.Timestamp(as_of).strftime("%d/%m/%Y") if as_of is not None else ""
    sev = open_["severity"].value_counts()
    lines = [
        f"# Kết quả đối chiếu dữ liệu đảng viên {day}".rstrip(),
        "",
        f"**{len(open_)}** phát hiện cần xử lý (mới: **{int((open_['status'] == 'new').sum())}**, "
        f"đã khắc phục: **{int((f['status'] == 'resolved').sum())}**) — "
        + " · ".join(f"{SEVERITY_LABELS[s]}: {int(sev.get(s, 0))}" for s in ["error", "warning", "info"])
        + f" — {open_.loc[open_['committee_code'] != '—', 'committee_code'].nunique()} tổ chức cơ sở đảng.",
        "",
        "## Theo danh sách",
        "",
        "| Danh sách | Mã | Cần xử lý | Mới |",
        "|---|---|---:|---:|",
    ]
    per = open_.groupby("list_code").agg(
        n=("status", "size"), new=("status", lambda s: int((s == "new").sum()))
    )
    for code, r in per.sort_values("n", ascending=False).iterrows():
        lines.append(
            f"| {LIST_TITLES.get(str(code), str(code))} | `{code}` | {int(r['n'])} | {int(r['new'])} |"
        )
    if per.empty:
        lines.append("| Không có phát hiện nào | | 0 | 0 |")
    trend = _trend(findings, summary, runs)
    lines += ["", "## Diễn biến qua các lần chạy", ""]
    if len(trend) > 1:
        lo, hi = float(trend.min()), float(trend.max())
        spark = "".join(SPARK[int((v - lo) / (hi - lo) * 7) if hi > lo else 0] for v in trend.tail(30))
        lines += [
            f"`{spark}` ({len(trend.tail(30))} lần chạy gần nhất)",
            "",
            "| Ngày | Cần xử lý | Thay đổi |",
            "|---|---:|---:|",
        ]
        delta = trend.diff()
        for when in list(trend.index)[-10:][::-1]:
            d = "" if pd.isna(delta[when]) else f"{int(delta[when]):+d}"
            lines.append(f"| {when.strftime('%d/%m/%Y')} | {int(trend[when])} | {d} |")
    else:
        lines.append("Chưa có dữ liệu các lần chạy trước.")
    if links:
        lines += ["", "## Tệp kết quả", ""]
        lines += [f"- [{name}]({_link(str(url))})" for name, url in links.items()]
    leaves = [(k, v) for k, v in _numeric_leaves(summary) if not k.startswith("trend")]
    if leaves:
        lines += ["", "## Số liệu của lần chạy", "", "| Chỉ số | Giá trị |", "|---|---:|"]
        lines += [f"| `{k}` | {v:g} |" for k, v in leaves[:200]]
    return mask_personal("\n".join(lines) + "\n")


def publish_artifacts(
    findings: pd.DataFrame,
    summary: dict,
    links: dict[str, str],
    *,
    runs: pd.DataFrame | None = None,
    key_prefix: str = "dvsync",
) -> None:
    """Create the run's table and markdown artifacts (inside a flow run they attach to it).

    ``summary``: summary.json's dict; its ``as_of`` dates the run, its numeric leaves are listed,
    an optional ``trend`` ({as_of: count} or [{as_of, count}]) feeds the trend unless ``runs``
    (the board report's frame) is given. ``links``: label -> URL or local path of the outputs.
    """
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    key = re.sub(r"[^a-z0-9-]+", "-", key_prefix.lower()).strip("-")
    table = counts_table(findings)
    day = pd.Timestamp(summary["as_of"]).strftime("%d/%m/%Y") if summary.get("as_of") else ""
    more = " (rút gọn)" if len(table) == MAX_TABLE_ROWS else ""
    # _sync=True: this is sync code even when called from a task of an async flow.
    create_table_artifact(
        table=table
        or [
            {
                "Mã danh sách": "",
                "Tổ chức cơ sở đảng": "",
                "Mức độ": "",
                "Cần xử lý": 0,
                "Mới": 0,
                "Đã khắc phục": 0,
            }
        ],
        key=f"{key}-counts",
        description=f"Số phát hiện theo danh sách và tổ chức cơ sở đảng {day}{more}".strip(),
        _sync=True,  # type: ignore[call-arg]
    )
    create_markdown_artifact(
        markdown=summary_markdown(findings, summary, links, runs),
        key=f"{key}-summary",
        description=f"Tóm tắt kết quả đối chiếu {day}".strip(),
        _sync=True,  # type: ignore[call-arg]
    )
    log.info("artifacts %s-counts (%d rows) and %s-summary published", key, len(table), key)
