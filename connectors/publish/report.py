"""The board report: one self-contained HTML page per run (inline CSS and inline SVG, no script,
no network), for the organisation board's morning review.

Sections: key figures; counts per list (table and bar chart); counts per committee (upper
committees: table, bar chart and a list x committee grid; grassroots organisations: table);
the trend over past runs (line chart and table); the age of open findings (histogram and table).
Counts only: no names, member codes or personal IDs appear on the page.

``runs``: one row per (run, list) with columns ``as_of`` (date or ISO text), ``list_code`` and
``count`` (open findings, status new or open, of that list at that run); ``run_id`` optional.
A wide frame (``as_of`` plus one column per list code) is accepted too, and so is an empty one.
When ``runs`` lacks ``as_of`` of this run, the current counts are added as its last point.
"""

from __future__ import annotations

import html
import math
from datetime import date
from pathlib import Path

import pandas as pd

from connectors.publish.files import atomic_write_bytes
from connectors.publish.labels import LIST_SHEET_NAMES, LIST_TITLES, SEVERITY_LABELS
from schemas.contract import LIST_CODES
from schemas.tree import nearest_of_kind

SEVERITIES = ["error", "warning", "info"]
COLOURS = {"error": "#C0392B", "warning": "#E0A800", "info": "#2F75B5", "total": "#333333"}
# Age buckets (days since first seen) of open findings: (label, lowest, highest).
AGE_BUCKETS = [
    ("0–7", 0, 7),
    ("8–30", 8, 30),
    ("31–90", 31, 90),
    ("91–180", 91, 180),
    ("181–365", 181, 365),
    ("> 365", 366, 10**6),
]
MAX_BARS = 30  # committees shown in a bar chart; the tables hold all of them

CSS = """
body{font-family:"DejaVu Sans","Liberation Sans",Arial,sans-serif;margin:24px auto;max-width:1180px;
color:#222;font-size:14px;line-height:1.4}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:2px solid #8B0000;
padding-bottom:4px;color:#8B0000}h3{font-size:15px;margin:18px 0 6px}
.muted{color:#666}.kpis{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.kpi{border:1px solid #ddd;border-radius:6px;padding:10px 14px;min-width:140px;background:#fafafa}
.kpi b{display:block;font-size:24px}.kpi.error b{color:#C0392B}.kpi.warning b{color:#B8860B}
.kpi.info b{color:#2F75B5}
table{border-collapse:collapse;margin:8px 0 16px;font-size:13px}
th,td{border:1px solid #ccc;padding:4px 8px;vertical-align:top}th{background:#eee;text-align:center}
td.n{text-align:right;font-variant-numeric:tabular-nums}tr.total td{font-weight:bold;background:#f4f4f4}
.sev-error{border-left:6px solid #C0392B}.sev-warning{border-left:6px solid #E0A800}
.sev-info{border-left:6px solid #2F75B5}
svg.chart{display:block;margin:8px 0 16px;max-width:100%;height:auto;font-family:inherit}
svg.chart text{font-size:12px;fill:#333}svg.chart .axis{stroke:#999;stroke-width:1}
svg.chart .grid{stroke:#e5e5e5;stroke-width:1}
.grid-table td.n{min-width:34px}details{margin:8px 0}summary{cursor:pointer;color:#2F75B5}
.cols{display:flex;gap:28px;align-items:flex-start}.cols>div{flex:1;min-width:0}
@media print{body{margin:0;max-width:none}h2{page-break-after:avoid}svg.chart,table{page-break-inside:avoid}}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _d(value: object) -> str:
    """Any date -> dd/mm/yyyy."""
    ts = pd.Timestamp(value)
    return ts.strftime("%d/%m/%Y")


def _fmt(n: float) -> str:
    return f"{int(n):,}".replace(",", ".")  # Vietnamese thousands separator


def _signed(n: float) -> str:
    """+1.234 / -56 / 0: a change between runs, Vietnamese grouping."""
    return ("+" if n > 0 else "") + _fmt(n)


def _list_cell(code: str, short: bool = False) -> str:
    """A list as a person names it (its title, or its sheet name in the grid); the internal code
    only in the tooltip, for the IT staff."""
    text = LIST_SHEET_NAMES.get(code, code) if short else LIST_TITLES.get(code, code)
    tip = f"{LIST_TITLES.get(code, code)} — mã {code}"
    return f'<td title="{_e(tip)}">{_e(text)}</td>'


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _scale(v: float) -> tuple[float, int]:
    """Top of a count axis and its number of steps: steps of 1, 2 or 5 x 10^k, at most 6 of them."""
    step = 1.0
    while math.ceil(v / step) > 6:
        for m in (2, 2.5, 2):  # 1 -> 2 -> 5 -> 10 -> 20 ...
            step *= m
            if math.ceil(v / step) <= 6:
                break
    n = max(1, math.ceil(v / step))
    return step * n, n


# --- SVG charts --------------------------------------------------------------------------------
def svg_hbar(chart_id: str, title: str, items: list[tuple[str, float, str, str]], width: int = 1100) -> str:
    """Horizontal bars: items are (label, value, colour, tooltip)."""
    label_w, row_h, top = 430, 24, 28
    plot_w = width - label_w - 70
    top_value, steps = _scale(max((v for _, v, _, _ in items), default=0))
    height = top + row_h * max(len(items), 1) + 24
    out = [
        f'<svg class="chart" id="{chart_id}" role="img" aria-label="{_e(title)}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
        f'<text x="0" y="16" font-weight="bold">{_e(title)}</text>',
    ]
    for k in range(steps + 1):
        x = label_w + plot_w * k / steps
        out.append(f'<line class="grid" x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{height - 20}"/>')
        out.append(
            f'<text x="{x:.1f}" y="{height - 6}" text-anchor="middle">{_fmt(top_value * k / steps)}</text>'
        )
    if not items:
        out.append(f'<text x="{label_w}" y="{top + 16}">Không có phát hiện nào.</text>')
    for i, (label, value, colour, tip) in enumerate(items):
        y = top + i * row_h
        w = plot_w * value / top_value
        out.append(f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end">{_e(_short(label, 62))}</text>')
        out.append(
            f'<rect class="bar" x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" '
            f'fill="{colour}"><title>{_e(tip)}</title></rect>'
        )
        out.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 16}">{_fmt(value)}</text>')
    out.append(f'<line class="axis" x1="{label_w}" y1="{top}" x2="{label_w}" y2="{height - 20}"/>')
    out.append("</svg>")
    return "\n".join(out)


def svg_stacked_columns(
    chart_id: str,
    title: str,
    labels: list[str],
    stacks: dict[str, list[float]],
    width: int = 1100,
    height: int = 320,
) -> str:
    """Vertical columns stacked by severity (the age histogram)."""
    left, right, top, bottom = 60, 20, 30, 60
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(s[i] for s in stacks.values()) for i in range(len(labels))]
    top_value, steps = _scale(max(totals, default=0))
    slot = plot_w / max(len(labels), 1)
    out = [
        f'<svg class="chart" id="{chart_id}" role="img" aria-label="{_e(title)}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
        f'<text x="0" y="16" font-weight="bold">{_e(title)}</text>',
    ]
    for k in range(steps + 1):
        y = top + plot_h - plot_h * k / steps
        out.append(f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}"/>')
        out.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(top_value * k / steps)}</text>'
        )
    for i, label in enumerate(labels):
        x = left + slot * i + slot * 0.15
        base = top + plot_h
        for sev, values in stacks.items():
            h = plot_h * values[i] / top_value
            if h <= 0:
                continue
            base -= h
            out.append(
                f'<rect class="bar" x="{x:.1f}" y="{base:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" '
                f'fill="{COLOURS[sev]}"><title>{_e(label)} — {_e(SEVERITY_LABELS[sev])}: '
                f"{_fmt(values[i])}</title></rect>"
            )
        out.append(
            f'<text x="{x + slot * 0.35:.1f}" y="{base - 4:.1f}" text-anchor="middle">'
            f"{_fmt(totals[i])}</text>"
        )
        out.append(
            f'<text x="{x + slot * 0.35:.1f}" y="{top + plot_h + 18}" text-anchor="middle">{_e(label)}</text>'
        )
    out.append(
        f'<line class="axis" x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}"/>'
    )
    out.append(_legend(list(stacks), left, height - 16))
    out.append("</svg>")
    return "\n".join(out)


def _legend(keys: list[str], x: float, y: float) -> str:
    parts = []
    for key in keys:
        label = "Tổng số" if key == "total" else SEVERITY_LABELS.get(key, key)
        parts.append(
            f'<rect x="{x:.1f}" y="{y - 10:.1f}" width="12" height="12" fill="{COLOURS[key]}"/>'
            f'<text x="{x + 16:.1f}" y="{y:.1f}">{_e(label)}</text>'
        )
        x += 30 + 8 * len(label)
    return '<g class="legend">' + "".join(parts) + "</g>"


def svg_lines(
    chart_id: str,
    title: str,
    dates: list[pd.Timestamp],
    series: dict[str, list[float]],
    width: int = 1100,
    height: int = 340,
) -> str:
    """Line chart over run dates (time scale); one line per series key (total and severities)."""
    left, right, top, bottom = 60, 60, 30, 64
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value, steps = _scale(max((v for vs in series.values() for v in vs), default=0))
    out = [
        f'<svg class="chart" id="{chart_id}" role="img" aria-label="{_e(title)}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
        f'<text x="0" y="16" font-weight="bold">{_e(title)}</text>',
    ]
    for k in range(steps + 1):
        y = top + plot_h - plot_h * k / steps
        out.append(f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}"/>')
        out.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(top_value * k / steps)}</text>'
        )
    out.append(
        f'<line class="axis" x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}"/>'
    )
    if not dates:
        out.append(f'<text x="{left + 10}" y="{top + 20}">Chưa có dữ liệu các lần chạy trước.</text>')
        out.append("</svg>")
        return "\n".join(out)
    t0, t1 = dates[0].value, dates[-1].value
    span = (t1 - t0) or 1

    def px(i: int) -> float:
        return left + (plot_w * (dates[i].value - t0) / span if len(dates) > 1 else plot_w / 2)

    # Date labels at least 80 px apart, the latest run always labelled.
    shown: list[int] = []
    for i in reversed(range(len(dates))):
        if not shown or px(shown[-1]) - px(i) >= 80:
            shown.append(i)
    for i in shown:
        out.append(
            f'<text x="{px(i):.1f}" y="{top + plot_h + 18}" text-anchor="middle">{_d(dates[i])}</text>'
        )
    for key, values in series.items():
        pts = [(px(i), top + plot_h - plot_h * v / top_value) for i, v in enumerate(values)]
        d = "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in pts)
        out.append(
            f'<path class="line" data-series="{_e(key)}" d="{d}" fill="none" stroke="{COLOURS[key]}" '
            f'stroke-width="{3 if key == "total" else 2}"/>'
        )
        for (x, y), v, when in zip(pts, values, dates, strict=True):
            out.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{COLOURS[key]}"><title>{_d(when)}: '
                f"{_fmt(v)}</title></circle>"
            )
    out.append(_legend(list(series), left, height - 14))
    out.append("</svg>")
    return "\n".join(out)


# --- data --------------------------------------------------------------------------------------
def _nearest_of_kind(organizations: pd.DataFrame, kinds: list[str]) -> pd.Series:
    """org_code -> nearest ancestor-or-self of one of ``kinds`` (``schemas.tree``)."""
    return nearest_of_kind(organizations, kinds)


def _runs_long(runs: pd.DataFrame | None) -> pd.DataFrame:
    cols = ["as_of", "list_code", "count"]
    if runs is None or runs.empty or "as_of" not in runs.columns:
        return pd.DataFrame(columns=cols)
    df = runs.copy()
    if "list_code" not in df.columns:  # wide: one column per list
        value_cols = [c for c in df.columns if c in LIST_CODES]
        df = df.melt(id_vars=["as_of"], value_vars=value_cols, var_name="list_code", value_name="count")
    df["as_of"] = pd.to_datetime(df["as_of"]).dt.normalize()
    df["count"] = pd.to_numeric(df["count"], errors="coerce").fillna(0)
    if "run_id" in df.columns:  # several runs on one day: the last one counts
        last = df.groupby("as_of")["run_id"].transform("max")
        df = df[df["run_id"] == last]
    return df.groupby(["as_of", "list_code"], as_index=False)["count"].sum()[cols]


def _table(head: list[str], rows: list[list[str]], cls: str = "") -> str:
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "\n".join(f"<tr{r[0]}>" + "".join(r[1:]) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>\n{body}\n</tbody></table>'


def _td(v: object, num: bool = False, style: str = "") -> str:
    cls = ' class="n"' if num else ""
    st = f' style="{style}"' if style else ""
    return f"<td{cls}{st}>{_fmt(v) if num else _e(v)}</td>"


def write_board_report(
    findings: pd.DataFrame,
    runs: pd.DataFrame | None,
    organizations: pd.DataFrame,
    out_path: Path,
    as_of: date | str,
) -> Path:
    """Write the board report for one run at ``out_path`` (atomically) and return the path."""
    as_of_ts = pd.Timestamp(as_of).normalize()
    f = findings.copy()
    for col in ["list_code", "severity", "status", "org_code", "committee_code", "first_seen"]:
        if col not in f.columns:
            f[col] = pd.NA
        f[col] = f[col].astype("string")
    f["status"] = f["status"].fillna("new")
    f["severity"] = f["severity"].fillna("info")
    names = dict(
        zip(organizations["org_code"].astype("string"), organizations["name"].astype("string"), strict=True)
    )
    upper = _nearest_of_kind(organizations, ["upper"])
    f["upper_code"] = f["org_code"].map(upper).astype("string").fillna(f["committee_code"]).fillna("")
    f["committee_code"] = f["committee_code"].fillna("")
    # Explained findings await the board: still to act on; accepted ones are not (issue #20).
    open_ = f[f["status"].isin(["new", "open", "explained"])].copy()
    resolved = f[f["status"] == "resolved"]
    order = {c: i for i, c in enumerate(LIST_CODES)}

    sections: list[str] = []
    # Key figures.
    by_sev = open_["severity"].value_counts()
    kpis = [
        ("Phát hiện cần xử lý", len(open_), ""),
        ("Mới kể từ lần trước", int((open_["status"] == "new").sum()), ""),
        ("Đã khắc phục", len(resolved), ""),
    ]
    kpis += [(SEVERITY_LABELS[s], int(by_sev.get(s, 0)), s) for s in SEVERITIES]
    kpis.append(
        (
            "Tổ chức cơ sở có phát hiện",
            open_.loc[open_["committee_code"] != "", "committee_code"].nunique(),
            "",
        )
    )
    sections.append(
        '<div class="kpis">'
        + "".join(f'<div class="kpi {c}"><b>{_fmt(v)}</b>{_e(label)}</div>' for label, v, c in kpis)
        + "</div>"
    )

    # Per list.
    per_list = open_.groupby("list_code").agg(
        n=("list_code", "size"), new=("status", lambda s: (s == "new").sum()), severity=("severity", "first")
    )
    res_list = resolved.groupby("list_code").size()
    codes = sorted(set(per_list.index) | set(res_list.index), key=lambda c: (order.get(c, 99), c))
    rows = []
    for c in codes:
        n = int(per_list["n"].get(c, 0))
        sev = per_list["severity"].get(c, "info") if c in per_list.index else "info"
        rows.append(
            [
                f' class="sev-{_e(sev)}"',
                _list_cell(c),
                _td(SEVERITY_LABELS.get(sev, sev)),
                _td(n, True),
                _td(int(per_list["new"].get(c, 0)), True),
                _td(int(res_list.get(c, 0)), True),
            ]
        )
    rows.append(
        [
            ' class="total"',
            _td("Tổng cộng"),
            _td(""),
            _td(len(open_), True),
            _td(int((open_["status"] == "new").sum()), True),
            _td(len(resolved), True),
        ]
    )
    bars = [
        (
            LIST_TITLES.get(c, c),
            float(per_list["n"].get(c, 0)),
            COLOURS.get(per_list["severity"].get(c, "info") if c in per_list.index else "info", "#777"),
            f"{LIST_SHEET_NAMES.get(c, c)}: {_fmt(per_list['n'].get(c, 0))}",
        )
        for c in codes
        if c in per_list.index
    ]
    sections.append(
        "<h2>1. Số phát hiện theo danh sách</h2>"
        + svg_hbar("chart-lists", "Phát hiện cần xử lý theo danh sách", bars)
        + _table(["Danh sách", "Mức độ", "Cần xử lý", "Mới", "Đã khắc phục"], rows)
    )

    # Per committee.
    def per(col: str) -> pd.DataFrame:
        g = open_.groupby(col)
        t = pd.DataFrame({s: g["severity"].apply(lambda x, s=s: int((x == s).sum())) for s in SEVERITIES})
        t["total"] = g.size()
        t["new"] = g["status"].apply(lambda x: int((x == "new").sum()))
        t["oldest"] = g["first_seen"].min()
        return t.sort_values(["total", "error"], ascending=False)

    parts = ["<h2>2. Số phát hiện theo tổ chức đảng</h2>"]
    if len(open_):
        up = per("upper_code")
        parts.append(
            svg_hbar(
                "chart-committees",
                "Phát hiện cần xử lý theo đảng bộ cấp trên cơ sở",
                [
                    (
                        names.get(c, c or "(ngoài phạm vi)"),
                        float(r["total"]),
                        COLOURS["error"] if r["error"] else COLOURS["warning"],
                        f"{c}: {_fmt(r['total'])}",
                    )
                    for c, r in up.head(MAX_BARS).iterrows()
                ],
            )
        )
        parts.append(
            _table(
                ["Đảng bộ cấp trên cơ sở", "Mã", "Sai sót", "Cảnh báo", "Thông tin", "Tổng số", "Mới"],
                [
                    ["", _td(names.get(c, c or "(ngoài phạm vi)")), _td(c)]
                    + [_td(int(r[k]), True) for k in [*SEVERITIES, "total", "new"]]
                    for c, r in up.iterrows()
                ],
            )
        )
        # Grid list x upper committee: where each problem concentrates.
        uppers = list(up.index)
        if len(uppers) <= 40:
            grid = open_.groupby(["list_code", "upper_code"]).size().unstack(fill_value=0)
            peak = max(int(grid.to_numpy().max()), 1) if grid.size else 1
            grows = []
            for c in sorted(grid.index, key=lambda c: (order.get(c, 99), c)):
                cells = []
                for u in uppers:
                    v = int(grid.at[c, u]) if u in grid.columns else 0
                    alpha = 0.08 + 0.6 * v / peak if v else 0
                    cells.append(_td(v, True, f"background:rgba(192,57,43,{alpha:.2f})" if v else ""))
                grows.append(["", _list_cell(c, short=True), *cells])
            parts.append(
                "<h3>Danh sách × đảng bộ cấp trên cơ sở</h3>"
                + _table(["Danh sách", *[u or "—" for u in uppers]], grows, "grid-table")
            )
        gr = per("committee_code")
        # An audit publishes a subtree: its root's parent lies outside it (NA), shown empty.
        parent_upper = {c: "" if pd.isna(v := upper.get(c, "")) else v for c in gr.index}
        grows = [
            ["", _td(names.get(c, c or "(ngoài phạm vi)")), _td(c), _td(parent_upper.get(c, ""))]
            + [_td(int(r[k]), True) for k in [*SEVERITIES, "total", "new"]]
            + [_td(_d(r["oldest"]) if pd.notna(r["oldest"]) else "")]
            for c, r in gr.iterrows()
        ]
        parts.append(
            f"<details{' open' if len(gr) <= 30 else ''}><summary>Theo tổ chức cơ sở đảng "
            f"({_fmt(len(gr))})</summary>"
            + _table(
                [
                    "Tổ chức cơ sở đảng",
                    "Mã",
                    "Cấp trên",
                    "Sai sót",
                    "Cảnh báo",
                    "Thông tin",
                    "Tổng số",
                    "Mới",
                    "Phát hiện lâu nhất",
                ],
                grows,
            )
            + "</details>"
        )
    else:
        parts.append(svg_hbar("chart-committees", "Phát hiện cần xử lý theo đảng bộ cấp trên cơ sở", []))
    sections.append("\n".join(parts))
    from connectors.publish.answers_report import answering_section

    answering = answering_section(findings, names, as_of_ts)  # issue #20: only when answered
    if answering:
        sections.append(answering)

    # Trend.
    hist = _runs_long(runs)
    if as_of_ts not in set(hist["as_of"]):
        now = open_.groupby("list_code").size().rename("count").reset_index().assign(as_of=as_of_ts)
        hist = pd.concat([hist, now[["as_of", "list_code", "count"]]], ignore_index=True)
    hist = hist[hist["as_of"] <= as_of_ts]
    from rules.findings import LISTS  # severity of each list, for past runs

    hist = hist.assign(severity=hist["list_code"].map(lambda c: LISTS.get(c, ("info", ""))[0]))
    wide = hist.pivot_table(index="as_of", columns="severity", values="count", aggfunc="sum", fill_value=0)
    wide = wide.reindex(columns=SEVERITIES, fill_value=0).sort_index()
    wide["total"] = wide[SEVERITIES].sum(axis=1)
    dates = list(wide.index)
    series = {"total": wide["total"].tolist(), **{s: wide[s].tolist() for s in SEVERITIES}}
    delta = wide["total"].diff()
    trows = [
        ["", _td(_d(when))]
        + [_td(int(r[k]), True) for k in ["total", *SEVERITIES]]
        + [_td("" if pd.isna(delta[when]) else _signed(delta[when]))]
        for when, r in list(wide.iterrows())[-15:][::-1]
    ]  # newest first
    trend = (
        "<h2>3. Diễn biến qua các lần đối chiếu</h2>"
        + svg_lines("chart-trend", "Phát hiện cần xử lý qua các lần chạy", dates, series, width=560)
        + _table(["Ngày đối chiếu", "Tổng số", "Sai sót", "Cảnh báo", "Thông tin", "Thay đổi"], trows)
    )

    # Age of open findings.
    seen = pd.to_datetime(open_["first_seen"], errors="coerce")
    age = (as_of_ts - seen).dt.days.clip(lower=0)
    labels = [b[0] for b in AGE_BUCKETS]
    stacks = {
        s: [int(((open_["severity"] == s) & age.between(lo, hi)).sum()) for _, lo, hi in AGE_BUCKETS]
        for s in SEVERITIES
    }
    arows = [
        ["", _td(label)]
        + [_td(stacks[s][i], True) for s in SEVERITIES]
        + [_td(sum(stacks[s][i] for s in SEVERITIES), True)]
        for i, label in enumerate(labels)
    ]
    oldest = seen.min()
    note = (
        f"<p>Lâu nhất: từ {_d(oldest)} ({_fmt(int(age.max()))} ngày).</p>"
        if pd.notna(oldest)
        else "<p>Không có phát hiện nào chưa khắc phục.</p>"
    )
    ageing = (
        "<h2>4. Thời gian tồn đọng</h2>"
        + note
        + svg_stacked_columns(
            "chart-age", "Phát hiện chưa khắc phục theo số ngày tồn đọng", labels, stacks, width=560
        )
        + _table(["Số ngày tồn đọng", "Sai sót", "Cảnh báo", "Thông tin", "Tổng số"], arows)
    )
    # Side by side: the whole page then fits a 1280 x 2000 screen for the morning review.
    sections.append(f'<div class="cols"><div>{trend}</div><div>{ageing}</div></div>')

    page = f"""<!DOCTYPE html>
<html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Báo cáo đối chiếu dữ liệu đảng viên — {_d(as_of_ts)}</title>
<style>{CSS}</style></head>
<body>
<h1>Báo cáo đối chiếu dữ liệu đảng viên</h1>
<p class="muted">Ngày đối chiếu: {_d(as_of_ts)} · Ban Tổ chức · Chỉ có số liệu tổng hợp, không có thông tin cá nhân.</p>
{chr(10).join(sections)}
<p class="muted">Lập bởi dvsync.</p>
</body></html>
"""
    return atomic_write_bytes(Path(out_path), page.encode("utf-8"))
