"""The cells' submissions of the demo: rosters, attendance, ratings, transfers, candidates, notes.

Built from the final central state (so the clean rows agree with central) plus the plants'
overrides, as long tables sorted by workbook, ready for ``workbooks.write_all``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dvsync.demo.faults import plant as plant_faults
from dvsync.demo.generator import STATUS_LABEL, Demo
from dvsync.demo.population import isin
from dvsync.demo.workbooks import NAT_DAY, Layout
from schemas.contract import RATING_LABELS, SHEETS

_FAULT_COLUMNS = ["_fault", "_rule", "_column", "_dots"]
_KIND_LABEL = {"official": "Chính thức", "temporary": "Tạm thời"}


def _days(d) -> np.ndarray:
    """datetime64 -> int64 days since 1970 (NaT -> NAT_DAY)."""
    a = np.asarray(d, dtype="datetime64[D]")
    out = a.astype(np.int64)
    out[np.isnat(a)] = NAT_DAY
    return out


def _month_label(p: str) -> str:
    return f"{p[5:7]}/{p[:4]}"


def _roster_frame(demo: Demo, idx: np.ndarray, cells: np.ndarray, status: np.ndarray) -> pd.DataFrame:
    m = demo.m
    return pd.DataFrame(
        {
            "wb_cell": cells,
            "member_code": m["code"][idx],
            "full_name": m["full_name"][idx],
            "birth_date": m["birth"][idx],
            "gender": np.where(m["female"][idx], "Nữ", "Nam"),
            "personal_id": demo.ids[idx],
            "admission_date": m["ceremony"][idx],
            "official_date": m["official"][idx],
            "roster_status": status,
            "_m": idx,
            "_exempt": m["status"][idx] == "exempt",
        }
    )


def rosters(demo: Demo) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(period rosters with the plants applied, clean base rosters of every cell for earlier periods)."""
    m = demo.m
    screened = np.isin(m["status"], ["active", "exempt"])
    in_sub = isin(m["cell"], demo.submitting)
    transit = np.zeros(len(m), dtype=bool)
    transit[list(demo.in_transit)] = True
    base_idx = np.flatnonzero(screened & in_sub & ~transit)
    base = _roster_frame(
        demo,
        base_idx,
        m["cell"][base_idx],
        np.where(m["status"][base_idx] == "exempt", STATUS_LABEL["exempt"], STATUS_LABEL["active"]),
    )
    period = base[~base["_m"].isin(list(demo.drop_own))].set_index("_m", drop=False)
    for i, ids in demo.roster_ids.items():
        if i in period.index:
            period.loc[i, "personal_id"] = ids
    for i, over in demo.overrides.items():
        for field, value in over.items():
            period.loc[i, field] = value
    extra = []
    for a in demo.added:
        if a["member"] >= 0:
            i = a["member"]
            extra.append(
                _roster_frame(
                    demo,
                    np.array([i]),
                    np.array([a["cell"]], dtype=object),
                    np.array([STATUS_LABEL[a["status"]]], dtype=object),
                )
            )
        else:
            p = a["person"]
            extra.append(
                pd.DataFrame(
                    {
                        "wb_cell": [a["cell"]],
                        "member_code": [p["code"]],
                        "full_name": [p["full_name"]],
                        "birth_date": [p["birth"]],
                        "gender": ["Nữ" if p["female"] else "Nam"],
                        "personal_id": [p["personal_id"]],
                        "admission_date": [p["ceremony"]],
                        "official_date": [p["official"]],
                        "roster_status": [STATUS_LABEL[a["status"]]],
                        "_m": [-1],
                        "_exempt": [False],
                    }
                )
            )
    if demo.guests:
        g = np.array([i for _h, i in demo.guests])
        extra.append(
            _roster_frame(
                demo,
                g,
                np.array([h for h, _i in demo.guests], dtype=object),
                np.full(len(g), STATUS_LABEL["guest"], dtype=object),
            )
        )
    period = pd.concat([period.reset_index(drop=True), *extra], ignore_index=True)
    return period, base


def _activity(demo: Demo, roster: pd.DataFrame, month: str, wb_period: str) -> pd.DataFrame:
    """One SinhHoat row per own roster row for ``month``, then the plants' rows of that workbook."""
    own = roster[roster["roster_status"] != STATUS_LABEL["guest"]]
    away = own["_m"].isin(list(demo.away)).to_numpy()
    exempt = own["_exempt"].to_numpy(dtype=bool)
    act = pd.DataFrame(
        {
            "wb_cell": own["wb_cell"].to_numpy(),
            "member_code": own["member_code"].to_numpy(),
            "month": month,
            "attended": ~(exempt | away),
            "excused": away,
            "fees_paid": True,
        }
    )
    cells = set(own["wb_cell"])
    plants = [s for s in demo.sinh if s["wb"] == wb_period and s["cell"] in cells]
    if plants:
        p = pd.DataFrame(
            {
                "wb_cell": [s["cell"] for s in plants],
                "member_code": [demo.code(s["member"]) for s in plants],
                "month": [s["month"] for s in plants],
                "attended": [s["attended"] for s in plants],
                "excused": [s["excused"] for s in plants],
                "fees_paid": [s["fees"] for s in plants],
            }
        )
        act = pd.concat([act, p], ignore_index=True).drop_duplicates(
            ["wb_cell", "member_code", "month"], keep="last"
        )
    act["month"] = act["month"].map(_month_label)
    return act


def build_layout(demo: Demo, out_dir: str, faults: bool = False) -> Layout:
    """The long tables of every workbook; with ``faults``, the input faults of dvsync.demo.faults
    are planted in the period's workbooks and listed in ``Layout.faults`` (file, sheet, row)."""
    period = demo.period
    roster, base = rosters(demo)
    shown, extra = plant_faults(demo, roster) if faults else (roster, {})
    # Workbooks: one per submitting cell for the period, then the earlier periods of the plants.
    wbs = [(c, period) for c in demo.submitting] + sorted(
        (c, p) for c, ps in demo.extra_wb.items() for p in ps if c in set(demo.submitting)
    )
    wb_index = {key: w for w, key in enumerate(wbs)}
    per = {name: [] for name in SHEETS}

    def add(sheet: str, df: pd.DataFrame, wb_period: str, cols: list[str]) -> None:
        if df.empty:
            return
        w = np.array([wb_index[(c, wb_period)] for c in df["wb_cell"]], dtype=np.int64)
        keep = cols + [c for c in _FAULT_COLUMNS if c in df.columns]
        per[sheet].append((w, df[keep].reset_index(drop=True)))

    ros_cols = [
        "member_code",
        "full_name",
        "birth_date",
        "gender",
        "personal_id",
        "admission_date",
        "official_date",
        "roster_status",
    ]
    act_cols = ["member_code", "month", "attended", "excused", "fees_paid"]
    add("DanhSach", shown, period, ros_cols)
    add("SinhHoat", _activity(demo, roster, period, period), period, act_cols)
    for c, p in wbs[len(demo.submitting) :]:
        earlier = base[base["wb_cell"] == c]
        add("DanhSach", earlier, p, ros_cols)
        add("SinhHoat", _activity(demo, earlier, p, p), p, act_cols)

    # XepLoai: the latest year's ratings of the own rows, as central has them.
    idx, yrs, val = demo._ratings
    latest = pd.Series(val[yrs == demo.LY], index=idx[yrs == demo.LY])
    own = roster[(roster["roster_status"] != STATUS_LABEL["guest"]) & (roster["_m"] >= 0)]
    own = own[own["_m"].isin(latest.index)]
    rating = latest.reindex(own["_m"]).to_numpy()
    labelled = np.array([RATING_LABELS[r] for r in rating], dtype=object) if len(rating) else rating
    use_label = (own["_m"] % 3 == 0).to_numpy()  # some cells write the full text, others the code
    add(
        "XepLoai",
        pd.DataFrame(
            {
                "wb_cell": own["wb_cell"].to_numpy(),
                "member_code": own["member_code"].to_numpy(),
                "year": demo.LY,
                "rating": np.where(use_label, labelled, rating),
            }
        ),
        period,
        ["member_code", "year", "rating"],
    )

    # ChuyenDi / ChuyenDen of the period.
    sub = set(demo.submitting)
    out_rows, in_rows = [], []
    for t in demo.transfers:
        code = demo.code(t["member"])
        if str(np.datetime64(t["letter_date"], "M")) == period and t["from_cell"] in sub:
            out_rows.append(
                {
                    "wb_cell": t["from_cell"],
                    "member_code": code,
                    "kind": _KIND_LABEL[t["kind"]],
                    "to_org": t["to_org"],
                    "letter_date": t["letter_date"],
                    "notice_sent_on": t["notice_sent_on"],
                    "fees_paid_through": _month_label(t["fees_paid_through"]),
                }
            )
        arrived = t["received_on"] if t["kind"] == "official" else t["letter_date"]
        if t["in_cell"] in sub and not np.isnat(arrived) and str(np.datetime64(arrived, "M")) == period:
            in_rows.append(
                {
                    "wb_cell": t["in_cell"],
                    "member_code": code,
                    "kind": _KIND_LABEL[t["kind"]],
                    "from_org": t["from_cell"],
                    "letter_date": t["letter_date"],
                    "received_on": arrived if t["kind"] == "official" else arrived + np.timedelta64(3, "D"),
                    "dossier_received_on": t["dossier_received_on"],
                }
            )
    for x in demo.chuyenden_extra:
        in_rows.append(
            {
                "wb_cell": x["cell"],
                "member_code": x["member_code"],
                "kind": x["kind"],
                "from_org": x["from_org"],
                "letter_date": x["letter_date"],
                "received_on": x["received_on"],
                "dossier_received_on": x["dossier_received_on"],
            }
        )
    add(
        "ChuyenDi",
        pd.DataFrame(out_rows, columns=["wb_cell", *SHEETS["ChuyenDi"].values()]),
        period,
        list(SHEETS["ChuyenDi"].values()),
    )
    add(
        "ChuyenDen",
        pd.DataFrame(in_rows, columns=["wb_cell", *SHEETS["ChuyenDen"].values()]),
        period,
        list(SHEETS["ChuyenDen"].values()),
    )
    cand = pd.DataFrame(demo.candidates).rename(columns={"cell": "wb_cell"})
    add("CamTinh", cand, period, list(SHEETS["CamTinh"].values()))
    dg = pd.DataFrame(
        [
            {
                "wb_cell": d["cell"],
                "member_code": demo.code(d["member"]),
                "category": d["category"],
                "note": d["note"],
            }
            for d in demo.danhgia
        ],
        columns=["wb_cell", "member_code", "category", "note"],
    )
    add("DanhGia", dg, period, ["member_code", "category", "note"])
    # The planted faults' extra rows go after the clean rows of their workbook.
    for sheet, df in extra.items():
        add(sheet, df, period, list(SHEETS[sheet].values()))

    sheets, offsets, dots = {}, {}, {}
    fault_rows: list[dict] = []
    files = [f"{c}_{p}.xlsx" for c, p in wbs]
    n_wb = len(wbs)
    for sheet, cols in SHEETS.items():
        names = list(cols.values())
        if per[sheet]:
            w = np.concatenate([p[0] for p in per[sheet]])
            df = pd.concat([p[1] for p in per[sheet]], ignore_index=True)
        else:
            w = np.zeros(0, dtype=np.int64)
            df = pd.DataFrame({c: [] for c in names})
        order = np.argsort(w, kind="stable")
        w = w[order]
        df = df.iloc[order].reset_index(drop=True)
        offsets[sheet] = np.searchsorted(w, np.arange(n_wb + 1), side="left")
        if "_dots" in df.columns:
            dots[sheet] = df["_dots"].eq(True).to_numpy()
        if "_fault" in df.columns:
            hit = np.flatnonzero(df["_fault"].notna().to_numpy())
            rows = hit - offsets[sheet][w[hit]] + 2  # Excel rows: the header is row 1
            for h, r in zip(hit, rows, strict=True):
                rec = {"source": files[w[h]], "sheet": sheet, "row": int(r), "fault": df.at[h, "_fault"]}
                rule = df.at[h, "_rule"] if "_rule" in df.columns else None
                if pd.notna(rule):
                    rec["rule_contains"] = rule
                else:
                    rec["column"] = df.at[h, "_column"]
                    rec["member_code"] = df.at[h, "member_code"]
                fault_rows.append(rec)
        arrays = []
        for c, kind in zip(names, _kinds(sheet), strict=True):
            s = df[c]
            if kind == "d":
                arrays.append(
                    _days(pd.to_datetime(s).to_numpy("datetime64[D]")) if len(s) else np.zeros(0, np.int64)
                )
            elif kind in "yn":
                arrays.append(s.to_numpy())
            else:
                arrays.append(s.astype(object).where(s.notna(), None).to_numpy(dtype=object))
        sheets[sheet] = arrays

    # ThongTin: the secretary is the cell's first listed member; made a few days after the month.
    first_name = roster.drop_duplicates("wb_cell").set_index("wb_cell")["full_name"]
    info = []
    for c, p in wbs:
        month_end = (np.datetime64(p, "M") + 1).astype("datetime64[D]")
        created = min(month_end + np.timedelta64(2 + (hash_code(c) % 9), "D"), demo.as_of)
        sec = first_name.get(c, "Nguyễn Văn An")
        info.append([c, _month_label(p), int(np.datetime64(created, "D").astype(np.int64)), str(sec).strip()])
    return Layout(
        files=files,
        info=info,
        sheets=sheets,
        offsets=offsets,
        seed=demo.seed,
        out_dir=out_dir,
        dots=dots,
        faults=fault_rows,
    )


def hash_code(s: str) -> int:
    """A stable small hash (Python's hash() is salted per process)."""
    import zlib

    return zlib.crc32(s.encode())


def _kinds(sheet: str) -> str:
    from dvsync.demo.workbooks import KINDS

    return KINDS[sheet]
