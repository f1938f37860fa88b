"""The central tables of contract §1 built from a Demo (members, ratings, disciplines, transfers,
dossier documents, badges, activity gaps)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd

from dvsync.demo import names
from dvsync.demo.base import DemoBase, iso
from dvsync.demo.calendar import (
    DAY,
    year_of,
)
from dvsync.demo.population import (
    badges,
)
from schemas.contract import CENTRAL_TABLES

RATING_P = {"HTXSNV": 0.12, "HTTNV": 0.62, "HTNV": 0.26}


class CentralTables(DemoBase):
    def central_tables(self) -> dict[str, pd.DataFrame]:
        m, rng, o = self.m, self.rng, self.orgs
        n = len(m)
        orgs = pd.DataFrame(
            {
                "org_code": o.code,
                "name": o.name,
                "kind": o.kind,
                "parent_code": o.parent,
                "active": o.active.astype(int),
            }
        )
        official = ~np.isnat(m["official"])
        card = np.full(n, None, dtype=object)
        nums = rng.choice(90_000_000, size=int(official.sum()), replace=False) + 10_000_000
        card[official] = nums.astype(str).astype(object)
        serial = np.zeros(n, dtype=np.int64)
        for dc in names.DOSSIER_CODES:  # unique 6-digit serial per province letter code
            sel = np.flatnonzero(m["dossier_code"] == dc)
            # More than 999,999 members under one code (a national data set): 7-digit serials.
            top = min(len(sel) * 2, 999_999) if len(sel) <= 999_999 else len(sel) * 2
            serial[sel] = rng.permutation(top or 1)[: len(sel)] + 1
        dossier = np.char.add(np.char.zfill(serial.astype(str), 6), m["dossier_code"].astype(str)).astype(
            object
        )
        seconds = rng.integers(0, 86400 * 30, n)
        upd = m["status_date"].astype("datetime64[s]") + seconds.astype("timedelta64[s]")
        upd = np.minimum(upd, self.as_of.astype("datetime64[s]") - np.timedelta64(3600, "s"))
        members = pd.DataFrame(
            {
                "member_code": m["code"],
                "full_name": m["full_name"],
                "gender": np.where(m["female"], "Nữ", "Nam"),
                "birth_date": _iso(m["birth"]),
                "personal_id": self.ids,
                "dossier_no": dossier,
                "card_no": card,
                "admission_decision_date": _iso(m["decision"]),
                "admission_date": _iso(m["ceremony"]),
                "official_date": _iso(m["official"]),
                "cell_code": m["cell"],
                "status": m["status"],
                "status_date": _iso(m["status_date"]),
                "updated_at": np.char.replace(np.datetime_as_string(upd, unit="s"), "T", " ").astype(object),
            }
        )
        return {
            "organizations": orgs,
            "members": members,
            "ratings": self.ratings_table(),
            "disciplines": self.disciplines_table(),
            "transfers": self.transfers_table(),
            "dossier_documents": self.documents_table(),
            "badges": self.badges_table(),
            "activity_gaps": self.gaps_table(),
        }

    def rated(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        m, rng = self.m, self.rng
        idx, yrs, val = [], [], []
        cy = year_of(m["ceremony"])
        sy = year_of(m["status_date"])
        levels = np.array(list(RATING_P), dtype=object)
        p = np.array(list(RATING_P.values()))
        for y in range(self.LY - 2, self.LY + 1):
            ok = ((m["status"] == "active") | ((m["status"] == "exempt") & (sy > y))) & (cy <= y)
            sel = np.flatnonzero(ok)
            idx.append(sel)
            yrs.append(np.full(len(sel), y))
            val.append(levels[rng.choice(3, size=len(sel), p=p)])
        idx, yrs, val = np.concatenate(idx), np.concatenate(yrs), np.concatenate(val)
        if self.rating_over:
            df = pd.DataFrame({"i": idx, "y": yrs, "r": val})
            over = pd.DataFrame(
                [(i, y, r) for i, d in self.rating_over.items() for y, r in d.items()],
                columns=["i", "y", "r"],
            )
            df = pd.concat([df, over]).drop_duplicates(["i", "y"], keep="last").sort_values(["i", "y"])
            idx, yrs, val = df["i"].to_numpy(), df["y"].to_numpy(), df["r"].to_numpy()
        self._ratings = (idx, yrs, val)
        return idx, yrs, val

    def ratings_table(self) -> pd.DataFrame:
        idx, yrs, val = self.rated()
        return pd.DataFrame({"member_code": self.m["code"][idx], "year": yrs, "rating": val})

    def disciplines_table(self) -> pd.DataFrame:
        m = self.m
        exp = np.flatnonzero(m["status"] == "expelled")
        rows = [
            {
                "member_code": m["code"][i],
                "decided_on": iso(m["status_date"][i]),
                "form": "khai_tru",
                "decided_by": self.grass.get(m["cell"][i]) or m["cell"][i],
            }
            for i in exp
        ]
        rows += [
            {
                "member_code": m["code"][d["member"]],
                "decided_on": iso(d["decided_on"]),
                "form": d["form"],
                "decided_by": d["decided_by"],
            }
            for d in self.disc
        ]
        return pd.DataFrame(rows, columns=CENTRAL_TABLES["disciplines"])

    def transfers_table(self) -> pd.DataFrame:
        cols = CENTRAL_TABLES["transfers"]
        rows = []
        for t in self.transfers:
            r = {c: t.get(c) for c in cols}
            r["member_code"] = self.code(t["member"])
            for c in cols[5:11]:
                r[c] = iso(t[c])
            rows.append(r)
        return pd.DataFrame(rows, columns=cols)

    def documents_table(self) -> pd.DataFrame:
        m, rng = self.m, self.rng
        n = len(m)
        dec, cer, off = m["decision"], m["ceremony"], m["official"]
        parts = []

        def add(code: str, sel: np.ndarray, when: np.ndarray, year: int = -1):
            parts.append((sel, np.full(len(sel), code, dtype=object), np.minimum(when, self.as_of), year))

        everyone = np.arange(n)
        for code, lo, hi in [
            ("CN-NTVD", -400, -150),
            ("1-KND", -120, -60),
            ("2-KND", -100, -40),
            ("3-KND", -90, -30),
        ]:
            add(code, everyone, dec + rng.integers(lo, hi, n) * DAY)
        add("QD-KN", everyone, dec)
        add("1-HSDV", everyone, cer + rng.integers(10, 60, n) * DAY)
        add("2-HSDV", everyone, cer + rng.integers(10, 60, n) * DAY)
        o = np.flatnonzero(~np.isnat(off))
        add("QD-CT", o, off[o] + rng.integers(5, 30, len(o)) * DAY)
        y = np.flatnonzero(year_of(cer) < self.LY)
        jan = np.datetime64(f"{self.LY + 1}-01-10")
        add("3-HSDV", y, jan + rng.integers(0, 80, len(y)) * DAY, self.LY)
        idx = np.concatenate([p[0] for p in parts])
        code = np.concatenate([p[1] for p in parts])
        when = np.concatenate([p[2] for p in parts])
        year = np.concatenate([np.full(len(p[0]), p[3]) for p in parts])
        if self.doc_remove:
            key = pd.MultiIndex.from_arrays([idx, code])
            drop = pd.MultiIndex.from_tuples([(i, c) for i, c, _y in self.doc_remove])
            keep = ~key.isin(drop)
            idx, code, when, year = idx[keep], code[keep], when[keep], year[keep]
        order = np.lexsort((code, idx))
        idx, code, when, year = idx[order], code[order], when[order], year[order]
        return pd.DataFrame(
            {
                "member_code": m["code"][idx],
                "doc_type": code,
                "year": pd.Series(year).where(year > 0).astype("Int64"),
                "received_on": _iso(when),
            }
        )

    def badges_table(self) -> pd.DataFrame:
        idx, years, awarded = badges(self.m, self.P)
        order = np.lexsort((years, idx))
        return pd.DataFrame(
            {
                "member_code": self.m["code"][idx[order]],
                "years": years[order],
                "awarded_on": _iso(awarded[order]),
            }
        )

    def gaps_table(self) -> pd.DataFrame:
        m = self.m
        sel = np.flatnonzero(~np.isnat(m["gap_from"]))
        return pd.DataFrame(
            {
                "member_code": m["code"][sel],
                "from_date": _iso(m["gap_from"][sel]),
                "to_date": _iso(m["gap_to"][sel]),
            }
        )


def _iso(d: np.ndarray) -> np.ndarray:
    s = np.datetime_as_string(np.asarray(d, dtype="datetime64[D]"), unit="D").astype(object)
    s[np.isnat(np.asarray(d, dtype="datetime64[D]"))] = None
    return s


_INT_COLUMNS = {"active", "year", "years"}


def write_sqlite(
    path: Path, tables: dict[str, pd.DataFrame], chunk: int = 500_000, append: bool = False
) -> dict[str, int]:
    """Plain tables with the contract's names; executemany in chunks (fast, little memory).
    ``append``: add the rows to the tables already in ``path`` (one province after another)."""
    if path.exists() and not append:
        path.unlink()
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    counts = {}
    try:
        for name, columns in CENTRAL_TABLES.items():
            df = tables[name]
            decl = ", ".join(f'"{c}" {"INTEGER" if c in _INT_COLUMNS else "TEXT"}' for c in columns)
            con.execute(f'CREATE TABLE {"IF NOT EXISTS " if append else ""}"{name}" ({decl})')
            sql = f'INSERT INTO "{name}" VALUES ({", ".join("?" * len(columns))})'
            for start in range(0, len(df), chunk):
                part = df.iloc[start : start + chunk]
                cols = []
                for c in columns:
                    s = part[c]
                    if c in _INT_COLUMNS:
                        cols.append([None if pd.isna(v) else int(v) for v in s.tolist()])
                    else:
                        cols.append(s.astype(object).where(s.notna(), None).tolist())
                con.executemany(sql, zip(*cols, strict=True))
            counts[name] = len(df)
        con.commit()
    finally:
        con.close()
    return counts
