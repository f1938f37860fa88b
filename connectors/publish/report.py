"""The board report: one self-contained HTML page per run (inline CSS and inline SVG, no script,
no network), for the organisation board's morning review.

Sections: key figures; counts per list (table and bar chart); counts per committee (upper
committees: table, bar chart and a list x committee grid; grassroots organisations: table);
the trend over past runs (line chart and table); the age of open findings (histogram and table).
Counts only: no names, member codes or personal IDs appear on the page.

This module prepares the values (counts formatted, labels chosen, the charts' coordinates);
the markup is the Jinja2 template ``templates/report.html.j2`` (package data), autoescaped.

``runs``: one row per (run, list) with columns ``as_of`` (date or ISO text), ``list_code`` and
``count`` (open findings, status new or open, of that list at that run); ``run_id`` optional.
A wide frame (``as_of`` plus one column per list code) is accepted too, and so is an empty one.
When ``runs`` lacks ``as_of`` of this run, the current counts are added as its last point.
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined

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

# Every value below reaches the page through the template, which escapes it: organisation names
# come from the central database and may hold markup.
_ENV = Environment(
    loader=PackageLoader("connectors.publish", "templates"),
    autoescape=True,
    undefined=StrictUndefined,  # a misspelt field fails the run instead of printing nothing
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def _d(value: object) -> str:
    """Any date -> dd/mm/yyyy."""
    ts = pd.Timestamp(value)
    return ts.strftime("%d/%m/%Y")


def _fmt(n: float) -> str:
    return f"{int(n):,}".replace(",", ".")  # Vietnamese thousands separator


def _signed(n: float) -> str:
    """+1.234 / -56 / 0: a change between runs, Vietnamese grouping."""
    return ("+" if n > 0 else "") + _fmt(n)


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


# --- chart geometry (the markup is in templates/_report_macros.html.j2) -----------------------
# Coordinates are passed as text with one decimal where the chart needs sub-pixel positions.
def _px(v: float) -> str:
    return f"{v:.1f}"


def hbar_chart(
    chart_id: str, title: str, items: list[tuple[str, float, str, str]], width: int = 1100
) -> dict:
    """Horizontal bars: items are (label, value, colour, tooltip)."""
    label_w, row_h, top = 430, 24, 28
    plot_w = width - label_w - 70
    top_value, steps = _scale(max((v for _, v, _, _ in items), default=0))
    height = top + row_h * max(len(items), 1) + 24
    bars = []
    for i, (label, value, colour, tip) in enumerate(items):
        y = top + i * row_h
        w = plot_w * value / top_value
        bars.append(
            {
                "label": _short(label, 62),
                "text_y": y + 16,
                "y": y + 4,
                "w": _px(w),
                "colour": colour,
                "tip": tip,
                "value_x": _px(label_w + w + 6),
                "value": _fmt(value),
            }
        )
    return {
        "id": chart_id,
        "title": title,
        "width": width,
        "height": height,
        "top": top,
        "bottom": height - 20,
        "tick_y": height - 6,
        "label_w": label_w,
        "label_x": label_w - 8,
        "bar_h": row_h - 8,
        "empty_y": top + 16,
        "ticks": [
            {"x": _px(label_w + plot_w * k / steps), "label": _fmt(top_value * k / steps)}
            for k in range(steps + 1)
        ],
        "bars": bars,
    }


def _frame(
    chart_id: str,
    title: str,
    width: int,
    height: int,
    box: tuple[int, int, int, int],
    top_value: float,
    steps: int,
) -> dict:
    """What the columns and lines charts share: the frame, the value gridlines, the base axis."""
    left, right, top, bottom = box
    plot_h = height - top - bottom
    ticks = []
    for k in range(steps + 1):
        y = top + plot_h - plot_h * k / steps
        ticks.append({"y": _px(y), "text_y": _px(y + 4), "label": _fmt(top_value * k / steps)})
    return {
        "id": chart_id,
        "title": title,
        "width": width,
        "height": height,
        "left": left,
        "right": width - right,
        "tick_x": left - 6,
        "base": top + plot_h,
        "label_y": top + plot_h + 18,
        "ticks": ticks,
    }


def _legend(keys: list[str], x: float, y: float) -> list[dict]:
    out = []
    for key in keys:
        label = "Tổng số" if key == "total" else SEVERITY_LABELS.get(key, key)
        out.append(
            {
                "x": _px(x),
                "box_y": _px(y - 10),
                "text_x": _px(x + 16),
                "y": _px(y),
                "colour": COLOURS[key],
                "label": label,
            }
        )
        x += 30 + 8 * len(label)
    return out


def columns_chart(
    chart_id: str,
    title: str,
    labels: list[str],
    stacks: dict[str, list[float]],
    width: int = 1100,
    height: int = 320,
) -> dict:
    """Vertical columns stacked by severity (the age histogram)."""
    left, right, top, bottom = 60, 20, 30, 60
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(s[i] for s in stacks.values()) for i in range(len(labels))]
    top_value, steps = _scale(max(totals, default=0))
    slot = plot_w / max(len(labels), 1)
    columns = []
    for i, label in enumerate(labels):
        x = left + slot * i + slot * 0.15
        base = top + plot_h
        stack = []
        for sev, values in stacks.items():
            h = plot_h * values[i] / top_value
            if h <= 0:
                continue
            base -= h
            stack.append(
                {
                    "y": _px(base),
                    "h": _px(h),
                    "colour": COLOURS[sev],
                    "label": SEVERITY_LABELS[sev],
                    "value": _fmt(values[i]),
                }
            )
        columns.append(
            {
                "label": label,
                "x": _px(x),
                "mid": _px(x + slot * 0.35),
                "stack": stack,
                "total": _fmt(totals[i]),
                "total_y": _px(base - 4),
            }
        )
    chart = _frame(chart_id, title, width, height, (left, right, top, bottom), top_value, steps)
    chart.update(bar_w=_px(slot * 0.7), columns=columns, legend=_legend(list(stacks), left, height - 16))
    return chart


def lines_chart(
    chart_id: str,
    title: str,
    dates: list[pd.Timestamp],
    series: dict[str, list[float]],
    width: int = 1100,
    height: int = 340,
) -> dict:
    """Line chart over run dates (time scale); one line per series key (total and severities)."""
    left, right, top, bottom = 60, 60, 30, 64
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value, steps = _scale(max((v for vs in series.values() for v in vs), default=0))
    chart = _frame(chart_id, title, width, height, (left, right, top, bottom), top_value, steps)
    chart.update(empty_x=left + 10, empty_y=top + 20, dates=[], series=[], legend=[])
    if not dates:
        return chart
    t0, t1 = dates[0].value, dates[-1].value
    span = (t1 - t0) or 1

    def px(i: int) -> float:
        return left + (plot_w * (dates[i].value - t0) / span if len(dates) > 1 else plot_w / 2)

    # Date labels at least 80 px apart, the latest run always labelled.
    shown: list[int] = []
    for i in reversed(range(len(dates))):
        if not shown or px(shown[-1]) - px(i) >= 80:
            shown.append(i)
    chart["dates"] = [{"x": _px(px(i)), "label": _d(dates[i])} for i in shown]
    for key, values in series.items():
        pts = [(px(i), top + plot_h - plot_h * v / top_value) for i, v in enumerate(values)]
        chart["series"].append(
            {
                "key": key,
                "d": "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in pts),
                "colour": COLOURS[key],
                "width": 3 if key == "total" else 2,
                "points": [
                    {"x": _px(x), "y": _px(y), "when": _d(when), "value": _fmt(v)}
                    for (x, y), v, when in zip(pts, values, dates, strict=True)
                ],
            }
        )
    chart["legend"] = _legend(list(series), left, height - 14)
    return chart


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


def _cell(v: object, num: bool = False, alpha: float = 0) -> dict:
    """A table cell: a count (formatted, right-aligned) or a text; ``alpha`` tints a grid cell."""
    return {
        "text": _fmt(v) if num else str(v),
        "num": num,
        "title": "",
        "alpha": f"{alpha:.2f}" if alpha else "",
    }


def _list_cell(code: str, short: bool = False) -> dict:
    """A list as a person names it (its title, or its sheet name in the grid); the internal code
    only in the tooltip, for the IT staff."""
    text = LIST_SHEET_NAMES.get(code, code) if short else LIST_TITLES.get(code, code)
    return {"text": text, "num": False, "title": f"{LIST_TITLES.get(code, code)} — mã {code}", "alpha": ""}


def _row(cells: list[dict], cls: str = "") -> dict:
    return {"cls": cls, "cells": cells}


def report_context(
    findings: pd.DataFrame, runs: pd.DataFrame | None, organizations: pd.DataFrame, as_of: date | str
) -> dict:
    """Everything the template shows, computed: counts formatted, labels chosen, charts laid out."""
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
            _row(
                [
                    _list_cell(c),
                    _cell(SEVERITY_LABELS.get(sev, sev)),
                    _cell(n, True),
                    _cell(int(per_list["new"].get(c, 0)), True),
                    _cell(int(res_list.get(c, 0)), True),
                ],
                f"sev-{sev}",
            )
        )
    rows.append(
        _row(
            [
                _cell("Tổng cộng"),
                _cell(""),
                _cell(len(open_), True),
                _cell(int((open_["status"] == "new").sum()), True),
                _cell(len(resolved), True),
            ],
            "total",
        )
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
    lists = {"chart": hbar_chart("chart-lists", "Phát hiện cần xử lý theo danh sách", bars), "rows": rows}

    # Per committee.
    def per(col: str) -> pd.DataFrame:
        g = open_.groupby(col)
        t = pd.DataFrame({s: g["severity"].apply(lambda x, s=s: int((x == s).sum())) for s in SEVERITIES})
        t["total"] = g.size()
        t["new"] = g["status"].apply(lambda x: int((x == "new").sum()))
        t["oldest"] = g["first_seen"].min()
        return t.sort_values(["total", "error"], ascending=False)

    committees: dict = {"uppers": [], "grid": None, "grassroots": [], "grassroots_count": "0"}
    chart_title = "Phát hiện cần xử lý theo đảng bộ cấp trên cơ sở"
    if len(open_):
        up = per("upper_code")
        committees["chart"] = hbar_chart(
            "chart-committees",
            chart_title,
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
        committees["uppers"] = [
            _row(
                [_cell(names.get(c, c or "(ngoài phạm vi)")), _cell(c)]
                + [_cell(int(r[k]), True) for k in [*SEVERITIES, "total", "new"]]
            )
            for c, r in up.iterrows()
        ]
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
                    cells.append(_cell(v, True, 0.08 + 0.6 * v / peak if v else 0))
                grows.append(_row([_list_cell(c, short=True), *cells]))
            committees["grid"] = {"columns": [u or "—" for u in uppers], "rows": grows}
        gr = per("committee_code")
        # An audit publishes a subtree: its root's parent lies outside it (NA), shown empty.
        parent_upper = {c: "" if pd.isna(v := upper.get(c, "")) else v for c in gr.index}
        committees["grassroots"] = [
            _row(
                [_cell(names.get(c, c or "(ngoài phạm vi)")), _cell(c), _cell(parent_upper.get(c, ""))]
                + [_cell(int(r[k]), True) for k in [*SEVERITIES, "total", "new"]]
                + [_cell(_d(r["oldest"]) if pd.notna(r["oldest"]) else "")]
            )
            for c, r in gr.iterrows()
        ]
        committees["grassroots_count"] = _fmt(len(gr))
    else:
        committees["chart"] = hbar_chart("chart-committees", chart_title, [])

    from connectors.publish.answers_report import answering_context

    answering = answering_context(findings, names, as_of_ts)  # issue #20: only when answered

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
    trend = {
        "chart": lines_chart("chart-trend", "Phát hiện cần xử lý qua các lần chạy", dates, series, width=560),
        "rows": [
            _row(
                [_cell(_d(when))]
                + [_cell(int(r[k]), True) for k in ["total", *SEVERITIES]]
                + [_cell("" if pd.isna(delta[when]) else _signed(delta[when]))]
            )
            for when, r in list(wide.iterrows())[-15:][::-1]  # newest first
        ],
    }

    # Age of open findings.
    seen = pd.to_datetime(open_["first_seen"], errors="coerce")
    age = (as_of_ts - seen).dt.days.clip(lower=0)
    labels = [b[0] for b in AGE_BUCKETS]
    stacks = {
        s: [int(((open_["severity"] == s) & age.between(lo, hi)).sum()) for _, lo, hi in AGE_BUCKETS]
        for s in SEVERITIES
    }
    oldest = seen.min()
    ageing = {
        "oldest": _d(oldest) if pd.notna(oldest) else "",
        "oldest_days": _fmt(int(age.max())) if pd.notna(oldest) else "",
        "chart": columns_chart(
            "chart-age", "Phát hiện chưa khắc phục theo số ngày tồn đọng", labels, stacks, width=560
        ),
        "rows": [
            _row(
                [_cell(label)]
                + [_cell(stacks[s][i], True) for s in SEVERITIES]
                + [_cell(sum(stacks[s][i] for s in SEVERITIES), True)]
            )
            for i, label in enumerate(labels)
        ],
    }
    return {
        "as_of": _d(as_of_ts),
        "kpis": [{"label": label, "value": _fmt(v), "cls": c} for label, v, c in kpis],
        "lists": lists,
        "committees": committees,
        "answering": answering,
        "trend": trend,
        "ageing": ageing,
    }


def render_board_report(
    findings: pd.DataFrame, runs: pd.DataFrame | None, organizations: pd.DataFrame, as_of: date | str
) -> str:
    """The board report's HTML (``templates/report.html.j2``)."""
    return _ENV.get_template("report.html.j2").render(report_context(findings, runs, organizations, as_of))


def write_board_report(
    findings: pd.DataFrame,
    runs: pd.DataFrame | None,
    organizations: pd.DataFrame,
    out_path: Path,
    as_of: date | str,
) -> Path:
    """Write the board report for one run at ``out_path`` (atomically) and return the path."""
    page = render_board_report(findings, runs, organizations, as_of)
    return atomic_write_bytes(Path(out_path), page.encode("utf-8"))
