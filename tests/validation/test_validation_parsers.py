"""Property-based tests of the parsers (dates, IDs, names, encodings) and the row-splitting
guarantees (a failed coercion is quarantined, never lost; drop_invalid_rows is not used)."""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import pkgutil
import unicodedata

import numpy as np
import pandas as pd
import pandera.pandas as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pandera.typing import Series

import connectors.workbooks
import schemas._common
import schemas.central
import schemas.submission
from schemas._common import Ctx, run_model, split
from schemas.normalize import (
    _syllable_ok,  # noqa: PLC2701 - the plausibility test itself
    fix_encoding,
    fold_name,
    header_key,
    mask_id,
    parse_dates,
    restore_id,
    to_tcvn3,
    to_vni,
)

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
dates = st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2100, 12, 31))


@SETTINGS
@given(d=dates, sep=st.sampled_from(["/", "-", "."]), pad=st.booleans())
def test_parse_dates_dmy_forms(d: dt.date, sep: str, pad: bool) -> None:
    text = f"{d.day:02d}{sep}{d.month:02d}{sep}{d.year}" if pad else f"{d.day}{sep}{d.month}{sep}{d.year}"
    serial = (dt.datetime(d.year, d.month, d.day) - dt.datetime(1899, 12, 30)).days
    values = pd.Series(
        [text, d.isoformat(), d, dt.datetime(d.year, d.month, d.day, 13, 5), float(serial)], dtype=object
    )
    if 1900 <= serial <= 2100:  # a bare number that looks like a year is refused on purpose
        values = values.iloc[:4]
    got, ok = parse_dates(values)
    assert ok.all()
    assert (got == pd.Timestamp(d)).all()


@SETTINGS
@given(d=dates)
def test_parse_dates_never_guesses_mm_dd(d: dt.date) -> None:
    got, ok = parse_dates(pd.Series([f"{d.month:02d}/{d.day:02d}/{d.year}"]))
    if d.day > 12:  # month/day order is impossible as dd/mm: unreadable, never swapped
        assert not ok.iloc[0] and pd.isna(got.iloc[0])
    elif ok.iloc[0]:  # read as dd/mm, exactly as written
        assert got.iloc[0] == pd.Timestamp(d.year, d.day, d.month)


@SETTINGS
@given(st.text(max_size=20))
def test_parse_dates_total(text: str) -> None:
    got, ok = parse_dates(pd.Series([text, None, np.nan], dtype=object))
    assert len(got) == 3 and ok.iloc[1] and ok.iloc[2]
    assert ok.iloc[0] or pd.isna(got.iloc[0])


def test_parse_dates_datetime_fast_path() -> None:
    s = pd.Series(pd.to_datetime(["2020-01-05 10:00", None]))
    got, ok = parse_dates(s)
    assert got.iloc[0] == pd.Timestamp("2020-01-05") and ok.all()


cccd = st.builds(
    lambda prov, g, yy, rest: f"{prov:03d}{g}{yy:02d}{rest:06d}",
    st.integers(1, 96),
    st.integers(0, 5),
    st.integers(0, 99),
    st.integers(0, 999_999),
)


@SETTINGS
@given(pid=cccd)
def test_restore_id(pid: str) -> None:
    as_number = str(int(pid))
    forms = [pid, f"{pid[:3]} {pid[3:6]} {pid[6:]}", f"'{pid}", f"{pid[:3]}.{pid[3:6]}.{pid[6:]}"]
    if len(as_number) == 11:  # Excel dropped one leading zero
        forms += [as_number, as_number + ".0"]
    got = restore_id(pd.Series(forms))
    assert (got == pid).all(), got.tolist()
    assert (restore_id(got) == got).all()  # idempotent
    assert mask_id(got).str.endswith(pid[-4:]).all() and not mask_id(got).str.contains(pid[:8]).any()


@SETTINGS
@given(st.text(alphabet="0123456789O-l ", min_size=1, max_size=14))
def test_restore_id_keeps_letters_visible(text: str) -> None:
    got = restore_id(pd.Series([text])).iloc[0]
    if any(c.isalpha() for c in text):
        assert pd.notna(got) and any(c.isalpha() for c in got)


FAMILY = [
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Huỳnh",
    "Phan",
    "Vũ",
    "Võ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
    "Ngô",
    "Dương",
    "Lý",
    "Trương",
    "Đinh",
    "Lương",
    "Tạ",
    "Khổng",
    "Quách",
]
MIDDLE = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Quốc", "Ngọc", "Thanh", "Xuân", "Thu", "Hoàng", "Công"]
GIVEN = [
    "An",
    "Bình",
    "Cường",
    "Dũng",
    "Hà",
    "Hoà",
    "Hòa",
    "Thuỷ",
    "Thủy",
    "Hương",
    "Khánh",
    "Long",
    "Nguyệt",
    "Phượng",
    "Quỳnh",
    "Sơn",
    "Tuấn",
    "Uyên",
    "Vượng",
    "Yến",
    "Ánh",
    "Ẩn",
    "Lưu",
    "Thoả",
    "Khuê",
]
names = st.builds(
    lambda *p: " ".join(p), st.sampled_from(FAMILY), st.sampled_from(MIDDLE), st.sampled_from(GIVEN)
)


def _moji(text: str) -> str:
    return "".join(bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in text.encode("utf-8"))


@SETTINGS
@given(name=names)
def test_fix_encoding_round_trips(name: str) -> None:
    encoded = [to_tcvn3(name), to_vni(name), _moji(name), name]
    fixed, changed, uncertain = fix_encoding(pd.Series(encoded))
    for enc, got, ch, unsure in zip(encoded, fixed, changed, uncertain, strict=True):
        if got == name:
            assert ch == (enc != name) and not unsure
            continue
        # Never a wrong conversion: either flagged uncertain (both encodings spell Vietnamese,
        # "Thò Löu"), or - known limit - a legacy spelling that is itself plain Vietnamese
        # ("Phan Thò An" = VNI "Phan Thị An") left untouched.
        assert got == enc and not ch, (enc, got)
        assert unsure or all(_syllable_ok(w) for w in enc.split()), (enc, got)


@SETTINGS
@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x24F), max_size=15))
def test_fix_encoding_total(text: str) -> None:
    fixed, changed, uncertain = fix_encoding(pd.Series([text]))
    assert not (changed.iloc[0] and uncertain.iloc[0])
    if not changed.iloc[0]:
        assert fixed.iloc[0] == text


OLD_NEW = [
    ("oà", "òa"),
    ("oá", "óa"),
    ("oả", "ỏa"),
    ("oã", "õa"),
    ("oạ", "ọa"),
    ("uỳ", "ùy"),
    ("uý", "úy"),
    ("uỷ", "ủy"),
    ("uỹ", "ũy"),
    ("uỵ", "ụy"),
    ("oè", "òe"),
    ("oé", "óe"),
]


@SETTINGS
@given(name=names, pair=st.sampled_from(OLD_NEW), spaces=st.sampled_from([" ", "  ", "\t", " \u00a0"]))
def test_fold_name(name: str, pair: tuple[str, str], spaces: str) -> None:
    old, new = f"{name} H{pair[0]}", f"{name} H{pair[1]}"
    variants = [old, new, unicodedata.normalize("NFD", old), old.upper(), f"  {old.replace(' ', spaces)} "]
    folded = fold_name(pd.Series(variants))
    assert folded.nunique() == 1, folded.tolist()
    assert (fold_name(folded) == folded).all()


@SETTINGS
@given(
    st.sampled_from(["Số CCCD", "Mã đảng viên", "Đảng phí đã đóng hết tháng", "Ngày cấp giấy CN-NTVĐ"]),
    st.sampled_from([str.upper, str.lower, lambda s: unicodedata.normalize("NFD", s), lambda s: f"  {s}: "]),
)
def test_header_key(header: str, transform) -> None:
    assert header_key(transform(header)) == header_key(header)


# --- splitting rows ourselves ---------------------------------------------------------------------
class _IntModel(pa.DataFrameModel):
    code: Series[pd.StringDtype]
    year: Series[pd.Int64Dtype]

    class Config:
        coerce = True


def test_failed_coercion_with_empty_index_is_quarantined(monkeypatch) -> None:
    """pandera may report a failed coercion with a null index: the row must still be found."""
    df = pd.DataFrame({"code": ["a", "b", "c"], "year": ["2024", "x", "2025"]})
    try:
        _IntModel.validate(df, lazy=True)
        raise AssertionError("expected a failure")
    except pa.errors.SchemaErrors as exc:
        real = exc
    real.failure_cases["index"] = None  # what pandera does in the buggy cases

    class Broken:
        @staticmethod
        def validate(_df, lazy=True):
            raise real

    issues = run_model(df, Broken, warn_checks={})
    assert set(issues["_pos"]) == {1}
    ctx = Ctx(source="t.xlsx", sheet="XepLoai", rows=pd.Series([2, 3, 4]))
    accepted, quarantine, _ = split(df, issues, ctx)
    assert accepted["code"].tolist() == ["a", "c"] and quarantine["row"].tolist() == [3]
    assert len(accepted) + len(quarantine) == len(df)


def test_failed_coercion_real_pandera_is_quarantined() -> None:
    df = pd.DataFrame({"code": ["a", "b"], "year": ["2024", "hai nghìn"]})
    issues = run_model(df, _IntModel, warn_checks={})
    ctx = Ctx(source="t.xlsx", sheet="XepLoai", rows=pd.Series([2, 3]))
    accepted, quarantine, _ = split(df, issues, ctx)
    assert accepted["code"].tolist() == ["a"] and quarantine["row"].tolist() == [3]


def test_drop_invalid_rows_not_used() -> None:
    """pandera's drop_invalid_rows lets bad rows through (issues 1830, 1852, 2034): we never use it."""
    # connectors.workbooks is a package: every one of its modules.
    workbook_modules = [
        importlib.import_module(f"connectors.workbooks.{m.name}")
        for m in pkgutil.iter_modules(connectors.workbooks.__path__)
    ]
    for module in (schemas._common, schemas.central, schemas.submission, *workbook_modules):
        assert "drop_invalid_rows=True" not in inspect.getsource(module)
    for model in [*schemas.central.MODELS.values(), *schemas.submission.MODELS.values()]:
        assert not model.to_schema().drop_invalid_rows


def test_column_level_failure_rejects_every_row() -> None:
    """A check pandera cannot pin to rows (scalar result) must not let the rows through."""

    schema = pa.DataFrameSchema(
        {
            "code": pa.Column(
                "string", checks=pa.Check(lambda s: bool(s.str.len().max() < 2), name="short_codes")
            )
        }
    )
    df = pd.DataFrame({"code": pd.Series(["a", "bbb"], dtype="string")})
    issues = run_model(df, schema, warn_checks={})
    assert set(issues["_pos"]) == {0, 1}
