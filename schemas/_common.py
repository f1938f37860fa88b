"""Machinery shared by the central and submission schemas.

A table goes through three steps:
1. ``normalize_columns``: each column is normalised by its kind (code, id, name, date, enum...),
   every change is logged as a *note*, and every unreadable value becomes an *issue*.
2. ``run_model``: the Pandera model (types, enums, keys, cross-field rules) is run lazily and its
   failure cases become issues. Rows are split by us, never by ``drop_invalid_rows`` (pandera
   issues 1830/1852/2034 let invalid rows through), and failure cases without an index (a failed
   type coercion) are traced back to their rows by value.
3. ``split``: rows with a *reject* issue go to quarantine (one line per row), the others are
   accepted; *warn* issues (cross-field rules) and *notes* (automatic fixes) stay as notes.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pandera.pandas as pa

from schemas import normalize as nz
from schemas.contract import INFO_LABELS, QUARANTINE_COLUMNS, SHEETS

NOTE_COLUMNS = [*QUARANTINE_COLUMNS, "severity"]  # severity: warn (must fix) | note (fixed for you)
ISSUE_COLUMNS = ["_pos", "column", "rule", "value", "severity", "message"]

# Vietnamese label of every internal column, for messages (workbook headers first).
LABELS: dict[str, str] = {internal: header for cols in SHEETS.values() for header, internal in cols.items()}
LABELS.update({v: k for k, v in INFO_LABELS.items()})
LABELS.update(
    {
        "org_code": "Mã tổ chức",
        "name": "Tên tổ chức",
        "kind": "Loại",
        "parent_code": "Mã tổ chức cấp trên",
        "active": "Đang hoạt động",
        "dossier_no": "Số lý lịch",
        "card_no": "Số thẻ đảng viên",
        "admission_decision_date": "Ngày quyết định kết nạp",
        "admission_date": "Ngày vào Đảng",
        "cell_code": "Mã chi bộ",
        "status": "Trạng thái",
        "status_date": "Ngày trạng thái",
        "updated_at": "Ngày cập nhật",
        "rating": "Xếp loại",
        "decided_on": "Ngày quyết định",
        "form": "Hình thức kỷ luật",
        "decided_by": "Cấp quyết định",
        "transfer_id": "Mã chuyển sinh hoạt",
        "from_cell": "Chi bộ chuyển đi",
        "received_on": "Ngày tiếp nhận",
        "temporary_until": "Tạm thời đến ngày",
        "returned_on": "Ngày trở về",
        "doc_type": "Loại tài liệu",
        "years": "Số năm tuổi Đảng",
        "awarded_on": "Ngày trao",
        "from_date": "Từ ngày",
        "to_date": "Đến ngày",
        "year": "Năm",
    }
)

PERSONAL_NAME_COLUMNS = {"full_name", "secretary"}
PERSONAL_ID_COLUMNS = {"personal_id"}
BIRTH_COLUMNS = {"birth_date"}


def mask_values(column: str, values: pd.Series) -> pd.Series:
    """Personal data masked for quarantine.csv: IDs to the last 4 digits, names to initials,
    birth dates to the year."""
    text = values.astype("string")
    if column in PERSONAL_ID_COLUMNS:
        return nz.mask_id(nz.restore_id(text).fillna(text))
    if column in PERSONAL_NAME_COLUMNS:
        return nz.mask_name(text)
    if column in BIRTH_COLUMNS:
        d, ok = nz.parse_dates(values)
        year = text.str.extract(r"((?:19|20)\d\d)", expand=False)
        return d.dt.year.astype("Int64").astype("string").where(d.notna(), year).fillna("****")
    return text


@dataclass
class Col:
    """How one column is normalised and whether the row can live without it."""

    kind: str  # text | name | code | org_code | id | date | month | int | bool | enum
    required: bool = False
    labels: dict[str, str] | None = None  # enum: accepted text -> internal value
    empty_bool: bool | None = False  # bool: value of an empty cell
    default: str | None = None  # enum: value of an empty cell (noted)
    shown: str | None = None  # enum: the accepted values as told to the user


@dataclass
class Ctx:
    """Where the rows come from, for messages."""

    source: str | pd.Series  # a Series (aligned with ``rows``) when many workbooks are validated at once
    sheet: str
    rows: pd.Series  # row number as the user sees it, aligned with the frame positions
    row_word: str = "Dòng"  # "Bản ghi" for database rows
    today: pd.Timestamp = field(default_factory=lambda: pd.Timestamp.today().normalize())


def _issues(
    pos: np.ndarray,
    column: str,
    rule: str,
    values: pd.Series,
    severity: str,
    message: Callable[[pd.Series], pd.Series] | str,
) -> pd.DataFrame:
    masked = mask_values(column, values.reset_index(drop=True)) if len(pos) else pd.Series(dtype="string")
    msg = message(masked) if callable(message) else pd.Series([message] * len(pos), dtype="string")
    return pd.DataFrame(
        {
            "_pos": pos,
            "column": column,
            "rule": rule,
            "value": masked.to_numpy(),
            "severity": severity,
            "message": pd.Series(msg).astype("string").to_numpy(),
        }
    )


def _label(col: str) -> str:
    return LABELS.get(col, col)


def _fill_hint(col: str) -> str:
    if col == "member_code":
        return "bổ sung mã theo phần mềm 3.0"
    if col == "personal_id":
        return "bổ sung số CCCD 12 chữ số"
    return f"bổ sung {_label(col)}"


def normalize_columns(
    raw: pd.DataFrame, specs: dict[str, Col], ctx: Ctx
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Normalise ``raw`` (positions 0..n-1) column by column -> (clean frame, issues)."""
    raw = raw.reset_index(drop=True)
    out = pd.DataFrame(index=raw.index)
    issues: list[pd.DataFrame] = []
    for col, spec in specs.items():
        src = raw[col] if col in raw.columns else pd.Series([pd.NA] * len(raw), index=raw.index, dtype=object)
        text = src.astype("string").str.strip()
        present = text.notna() & (text != "")
        ok = pd.Series(True, index=raw.index)
        label = _label(col)
        if spec.kind in ("text", "name"):
            val = nz.nfc(src.astype("string"))
            fixed, changed, uncertain, enc = nz._fix_encoding(val)
            for name in ("tcvn3", "vni", "utf8_as_cp1252"):
                hit = changed & (enc == name).fillna(False)
                if hit.any():
                    pos = np.flatnonzero(hit.to_numpy())
                    issues.append(
                        _issues(
                            pos,
                            col,
                            f"encoding_{name}",
                            src[hit],
                            "note",
                            f"{label}: chuyển từ bảng mã {name.upper()} sang Unicode",
                        )
                    )
            val = fixed
            ok = ~uncertain
            bad_msg = f"{label} có ký tự lạ (phông TCVN3/VNI?), không chuyển được chắc chắn — gõ lại bằng Unicode dựng sẵn"
            bad_rule = "encoding_uncertain"
        elif spec.kind == "code":
            val = nz.clean_code(src)
            bad_msg, bad_rule = "", ""
        elif spec.kind == "org_code":
            val = nz.restore_org_code(src)
            restored = present & (val.str.len() > text.str.replace(r"\.0$", "", regex=True).str.len()).fillna(
                False
            )
            if restored.any():
                issues.append(
                    _issues(
                        np.flatnonzero(restored.to_numpy()),
                        col,
                        "code_leading_zero",
                        src[restored],
                        "note",
                        f"{label}: đã thêm số 0 bị Excel bỏ mất — định dạng ô là Văn bản (Text)",
                    )
                )
            bad_msg, bad_rule = "", ""
        elif spec.kind == "id":
            val = nz.restore_id(src)
            restored = present & nz.id_zero_restored(src, val)
            if restored.any():
                issues.append(
                    _issues(
                        np.flatnonzero(restored.to_numpy()),
                        col,
                        "id_leading_zero",
                        src[restored],
                        "note",
                        f"{label}: đã thêm số 0 đầu bị Excel bỏ mất — định dạng ô là Văn bản (Text)",
                    )
                )
            bad_msg, bad_rule = "", ""
        elif spec.kind == "date":
            val, ok = nz.parse_dates(src)
            bad_msg = f"{label} không đọc được — ghi ngày dạng dd/mm/yyyy (ví dụ 05/04/2020)"
            bad_rule = "unreadable_date"
        elif spec.kind == "month":
            val, ok = nz.parse_months(src)
            bad_msg = f"{label} không đọc được — ghi tháng dạng MM/YYYY (ví dụ 10/2026)"
            bad_rule = "unreadable_month"
        elif spec.kind == "int":
            val, ok = nz.parse_ints(src)
            bad_msg, bad_rule = f"{label} phải là số nguyên", "unreadable_int"
        elif spec.kind == "bool":
            val, ok = nz.parse_bools(src, spec.empty_bool)
            bad_msg, bad_rule = f"{label} chỉ nhận Có/Không (hoặc x/để trống)", "unreadable_bool"
        elif spec.kind == "enum":
            labels = spec.labels or {}
            val, ok = nz.map_enum(src, labels)
            allowed = spec.shown or ", ".join(dict.fromkeys(labels.values()))
            bad_msg = f"{label} không thuộc danh sách ({allowed}) — chọn một giá trị trong danh sách"
            bad_rule = "unknown_value"
            if spec.default is not None:
                empty = ~present
                if empty.any():
                    val = val.mask(empty, spec.default)
                    shown = next((k for k, v in labels.items() if v == spec.default), spec.default)
                    issues.append(
                        _issues(
                            np.flatnonzero(empty.to_numpy()),
                            col,
                            "default_value",
                            src[empty],
                            "note",
                            f"{label} trống — coi là '{shown}'",
                        )
                    )
        else:  # pragma: no cover - programming error
            raise ValueError(spec.kind)
        if col not in raw.columns:
            val = pd.Series([pd.NA] * len(raw), index=raw.index, dtype=val.dtype)
            ok = pd.Series(True, index=raw.index)
        out[col] = val
        bad = present & ~ok
        if bad.any():
            issues.append(
                _issues(
                    np.flatnonzero(bad.to_numpy()),
                    col,
                    bad_rule,
                    src[bad],
                    "reject" if spec.required else "warn",
                    bad_msg if spec.required else bad_msg + " (đã bỏ trống giá trị này)",
                )
            )
            if not spec.required and spec.kind not in ("text", "name"):
                out.loc[bad, col] = pd.NA if spec.kind != "date" else pd.NaT
        if spec.required:
            missing = ~present & out[col].isna()
            if missing.any():
                issues.append(
                    _issues(
                        np.flatnonzero(missing.to_numpy()),
                        col,
                        "missing_required",
                        src[missing],
                        "reject",
                        f"thiếu {label} — {_fill_hint(col)}",
                    )
                )
    return out, pd.concat(issues, ignore_index=True) if issues else pd.DataFrame(columns=ISSUE_COLUMNS)


def duplicate_issues(
    df: pd.DataFrame,
    keys: list[str],
    ctx: Ctx,
    order: pd.Series | None = None,
    group: pd.Series | None = None,
) -> pd.DataFrame:
    """Rows repeating a key: every occurrence but the kept one (first, or highest ``order``).
    ``group`` (aligned with ``df``) keeps keys apart between workbooks validated together."""
    label_keys = keys
    if group is not None:
        df = df.assign(_grp=group)
        keys = ["_grp", *keys]
    present = df[keys].notna().all(axis=1)
    if not present.any():
        return pd.DataFrame(columns=ISSUE_COLUMNS)
    sub = df.loc[present, keys]
    if order is not None:  # keep the latest (e.g. updated_at), ties -> first
        ranked = sub.assign(_o=order[present]).sort_values(
            "_o", ascending=False, kind="stable", na_position="last"
        )
        dup_sorted = ranked.duplicated(keys, keep="first")
        dup = dup_sorted.reindex(sub.index)
        kept = ranked[~dup_sorted].reset_index().set_index(keys)["index"]
    else:
        dup = sub.duplicated(keys, keep="first")
        kept = sub[~dup].reset_index().set_index(keys)["index"]
    if not dup.any():
        return pd.DataFrame(columns=ISSUE_COLUMNS)
    dups = sub[dup]
    idx = pd.MultiIndex.from_frame(dups) if len(keys) > 1 else pd.Index(dups[keys[0]])
    first_pos = kept.reindex(idx).to_numpy()
    first_rows = ctx.rows.to_numpy()[first_pos.astype(int)]
    keys = label_keys
    key_label = " + ".join(_label(k) for k in keys)
    pos = dups.index.to_numpy()
    values = dups[keys].astype("string").agg(" | ".join, axis=1) if len(keys) > 1 else dups[keys[0]]
    col = keys[0] if len(keys) == 1 else ";".join(keys)
    masked_col = keys[0] if keys[0] in PERSONAL_ID_COLUMNS else col
    out = _issues(
        pos,
        masked_col,
        "duplicate_key",
        values.astype("string"),
        "reject",
        lambda _m: pd.Series(
            [
                f"{key_label} trùng với {ctx.row_word.lower()} {r} — xoá dòng trùng hoặc sửa mã"
                for r in first_rows
            ],
            dtype="string",
        ),
    )
    out["column"] = col
    return out


_SCHEMAS: dict[tuple, tuple] = {}


def _split_schema(model, warn_names: tuple[str, ...]) -> tuple[pa.DataFrameSchema, dict]:
    """The model's schema without its warning-level dataframe checks, and those checks' functions."""
    key = (id(model), warn_names)
    if key not in _SCHEMAS:
        schema = model.to_schema() if hasattr(model, "to_schema") else model
        if not isinstance(schema, pa.DataFrameSchema):  # a stand-in object with .validate (tests)
            _SCHEMAS[key] = (schema, {})
            return _SCHEMAS[key]
        warn_fns = {c.name: c._check_fn for c in schema.checks if c.name in warn_names}
        strict = copy.copy(schema)
        strict.checks = [c for c in schema.checks if c.name not in warn_names]
        _SCHEMAS[key] = (strict, warn_fns)
    return _SCHEMAS[key]


def run_model(
    df: pd.DataFrame,
    model: type[pa.DataFrameModel],
    warn_checks: dict[str, str],
    check_columns: dict[str, str] | None = None,
    messages: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Run ``model`` lazily on ``df`` (index = row positions) -> issues.

    Checks named in ``warn_checks`` (name -> Vietnamese message) are warnings; every other
    failure rejects its row. Failure cases with a null index (failed coercion, column-level
    failure) are traced back to the rows holding the failing value, so no bad row is let through.
    ``check_columns`` names the column whose value a cross-field check reports.
    """
    messages = messages or {}
    check_columns = check_columns or {}
    schema, warn_fns = _split_schema(model, tuple(sorted(warn_checks)))
    rows: list[pd.DataFrame] = []
    # Warnings are evaluated directly: pandera's failure-case formatting costs minutes when half
    # a million rows fail a cross-field rule (they are findings, not faults).
    for name, fn in warn_fns.items():
        ok = pd.Series(fn(df), index=df.index).fillna(True).astype(bool)
        if not ok.all():
            pos = df.index.to_numpy()[~ok.to_numpy()]
            value_col = check_columns.get(name)
            values = (
                df[value_col].loc[pos].astype("string")
                if value_col in df.columns
                else pd.Series([pd.NA] * len(pos), dtype="string")
            )
            rows.append(_issues(pos, value_col or name, name, values, "warn", warn_checks[name]))
    try:
        schema.validate(df, lazy=True)
        return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=ISSUE_COLUMNS)
    except pa.errors.SchemaErrors as exc:
        fc = exc.failure_cases.copy()
    frame_level = fc["schema_context"].astype(str).eq("DataFrameSchema") & fc["check"].astype(str).ne(
        "column_in_dataframe"
    )
    # A cross-field check lists every column of a failing row: one issue per row and check.
    fc.loc[frame_level, "column"] = ""
    for (column, check), grp in fc.groupby(
        [fc["column"].fillna("").astype(str), fc["check"].astype(str)], sort=False
    ):
        check_name = check.split("(")[0]
        idx = pd.to_numeric(grp["index"], errors="coerce")
        known = idx.dropna().astype(int).to_numpy()
        unknown = grp.loc[idx.isna(), "failure_case"]
        if len(unknown):
            # pandera could not say which rows: find them by value (a missing column -> every row).
            if column and column in df.columns:
                targets = set(unknown.astype(str))
                hit = df[column].astype("string").isin(targets).fillna(False).to_numpy()
                # no row holds the value (a column-level check failed): the whole column is suspect
                known = np.union1d(known, df.index.to_numpy()[hit] if hit.any() else df.index.to_numpy())
            elif not column or column not in df.columns:
                known = df.index.to_numpy()
        if len(known) == 0:
            continue
        known = np.unique(known)
        severity = "warn" if check_name in warn_checks else "reject"
        msg = (
            warn_checks.get(check_name)
            or messages.get(check_name)
            or (f"{_label(column)}: không đạt kiểm tra {check}" if column else f"không đạt kiểm tra {check}")
        )
        value_col = column or check_columns.get(check_name)
        values = (
            df[value_col].loc[known].astype("string")
            if value_col in df.columns
            else pd.Series([pd.NA] * len(known), dtype="string")
        )
        rows.append(_issues(known, value_col or check_name, check_name, values, severity, msg))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=ISSUE_COLUMNS)


def split(
    clean: pd.DataFrame, issues: pd.DataFrame, ctx: Ctx
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """-> (accepted rows, quarantine (one line per rejected row), notes (warn + note lines))."""
    rows = ctx.rows.reset_index(drop=True)
    issues = issues.copy()
    issues["_pos"] = issues["_pos"].astype(int)
    reject = issues[issues["severity"] == "reject"]
    bad_pos = np.unique(reject["_pos"].to_numpy())
    accepted = clean.drop(index=clean.index[bad_pos]) if len(bad_pos) else clean

    def lines(frame: pd.DataFrame) -> pd.DataFrame:
        if frame.empty:
            return pd.DataFrame(columns=NOTE_COLUMNS)
        row_no = rows.iloc[frame["_pos"].to_numpy()].to_numpy()
        return pd.DataFrame(
            {
                "source": ctx.source
                if isinstance(ctx.source, str)
                else ctx.source.reset_index(drop=True).iloc[frame["_pos"].to_numpy()].to_numpy(),
                "sheet": ctx.sheet,
                "row": row_no,
                "column": frame["column"].to_numpy(),
                "rule": frame["rule"].to_numpy(),
                "value": frame["value"].to_numpy(),
                "message": [
                    f"{ctx.row_word} {r}: {m}" for r, m in zip(row_no, frame["message"], strict=True)
                ],
                "severity": frame["severity"].to_numpy(),
            }
        )

    q = lines(reject)
    if not q.empty:  # one line per rejected row, every reason kept
        q = q.groupby(["source", "row"], sort=True, as_index=False).agg(
            {
                "sheet": "first",
                "column": ";".join,
                "rule": ";".join,
                "value": lambda v: ";".join("" if pd.isna(x) else str(x) for x in v),
                "message": lambda m: "; ".join([m.iloc[0], *(x.split(": ", 1)[1] for x in m.iloc[1:])]),
            }
        )
    quarantine = (
        q.reindex(columns=QUARANTINE_COLUMNS).astype({"row": "Int64"}) if not q.empty else empty_quarantine()
    )
    notes = lines(issues[issues["severity"] != "reject"])
    return accepted, quarantine, notes


def _empty(columns: tuple[str, ...]) -> pd.DataFrame:
    df = pd.DataFrame({c: pd.Series(dtype="string") for c in columns})
    df["row"] = df["row"].astype("Int64")
    return df


_EMPTY: dict[str, pd.DataFrame] = {}


def empty_quarantine() -> pd.DataFrame:
    # Built once: one per workbook adds up to minutes over tens of thousands of workbooks.
    if "q" not in _EMPTY:
        _EMPTY["q"] = _empty(tuple(QUARANTINE_COLUMNS))
    return _EMPTY["q"].copy(deep=False)


def empty_notes() -> pd.DataFrame:
    if "n" not in _EMPTY:
        _EMPTY["n"] = _empty(tuple(NOTE_COLUMNS))
    return _EMPTY["n"].copy(deep=False)
