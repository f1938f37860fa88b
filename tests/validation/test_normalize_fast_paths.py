"""The bulk (Arrow) fast paths of schemas.normalize give exactly what the per-value paths give.

Each fast path handles the common shape of a big column in bulk and leaves the rest to the
per-value code; these tests feed both the same tricky values and compare the results.
"""

from __future__ import annotations

import itertools
import unicodedata

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import normalize as nz
from schemas.central import DOC_LABELS, FORM_LABELS, GENDER_LABELS, KIND_LABELS, STATUS_LABELS

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
WS = list(nz._WS_CHARS)  # every whitespace character Python knows


def arrow(values: list, name: str | None = "col", chunk: int = 7) -> pd.Series:
    """An Arrow-backed string Series in several chunks, with a non-default index, like the export."""
    arr = pa.array(values, type=pa.large_string())
    chunks = [arr.slice(i, chunk) for i in range(0, len(arr), chunk)] or [arr]
    return pd.Series(
        pd.arrays.ArrowStringArray(pa.chunked_array(chunks, type=pa.large_string())),
        index=pd.RangeIndex(100, 100 + len(values)),
        name=name,
    )


# --- parse_dates ----------------------------------------------------------------------------------
TRICKY_DATES = [
    "2020-01-05",
    "2020-02-29",  # leap day
    "2019-02-29",  # no such day: strptime would roll it to 03-01
    "2021-02-30",
    "2021-02-31",
    "2021-04-31",
    "2000-02-29",
    "1900-02-29",  # 1900 is not a leap year
    "2021-13-01",
    "2021-00-10",
    "2021-04-00",
    "2021-04-32",
    "1899-12-31",  # years outside 1900–2100
    "1900-01-01",
    "2100-12-31",
    "2101-01-01",
    "0000-01-01",
    "0001-01-01",  # outside what datetime64[ns] holds
    "1677-09-21",
    "2262-04-12",
    "9999-12-31",
    "2020-01-05 10:30",
    "2020-01-05T10:30:15",
    "2020-01-05 10:30:15.123",
    "2021-02-30 10:00",
    "2020-01-05T",
    "2020-01-05 25:00",
    "2020-01-05\n",
    " 2020-01-05",
    "2020-01-05 ",
    "2020-1-5",
    "2020/01/05",
    "2020.01.05",
    "05/01/2020",
    "5-1-2020",
    "31/02/2020",
    "12/25/2020",
    "ngày 5 tháng 4 năm 2020",
    "44197",
    "1985",
    "１９９０-01-01",
    "2020-01-05x",
    "garbage",
    "",
    " ",
    None,
]


def _by_value(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    return nz._parse_dates_by_value(s)


def test_parse_dates_iso_fast_path_matches_per_value_parser() -> None:
    s = arrow(TRICKY_DATES * 3)
    got, ok = nz.parse_dates(s)
    want, want_ok = _by_value(s)
    pd.testing.assert_series_equal(got, want, check_names=False)
    pd.testing.assert_series_equal(ok, want_ok, check_names=False)
    assert got.name == ok.name == "col" and got.index.equals(s.index)
    assert str(got.dtype) == "datetime64[ns]" and ok.dtype == bool


@pytest.mark.parametrize(
    "text", ["2021-02-30", "2019-02-29", "1899-12-31", "2101-01-01", "0001-01-01", "9999-12-31"]
)
def test_parse_dates_iso_unreadable(text: str) -> None:
    got, ok = nz.parse_dates(arrow([text, "2020-01-05", None]))
    assert pd.isna(got.iloc[0]) and not ok.iloc[0]
    assert got.iloc[1] == pd.Timestamp("2020-01-05") and ok.iloc[1:].all()


@pytest.mark.parametrize(
    "dtype", ["string", "str", pd.StringDtype("python"), pd.StringDtype("python", na_value=np.nan)]
)
def test_parse_dates_same_for_every_string_dtype(dtype) -> None:
    want = nz.parse_dates(arrow(TRICKY_DATES))
    got = nz.parse_dates(
        pd.Series(TRICKY_DATES, index=pd.RangeIndex(100, 100 + len(TRICKY_DATES)), name="col", dtype=dtype)
    )
    pd.testing.assert_series_equal(got[0], want[0])
    pd.testing.assert_series_equal(got[1], want[1])


iso_like = st.builds(
    lambda y, m, d, t: f"{y:04d}-{m:02d}-{d:02d}{t}",
    st.integers(0, 9999) | st.integers(1895, 2105),
    st.integers(0, 13) | st.integers(0, 99),
    st.integers(0, 32) | st.integers(0, 99),
    st.sampled_from(["", " 10:00", "T23:59:59", " 9:00", "x"]),
)


@SETTINGS
@given(st.lists(iso_like | st.sampled_from(TRICKY_DATES), min_size=1, max_size=40))
def test_parse_dates_fast_path_property(values: list) -> None:
    s = arrow(values)
    got, ok = nz.parse_dates(s)
    want, want_ok = _by_value(s)
    pd.testing.assert_series_equal(got, want, check_names=False)
    pd.testing.assert_series_equal(ok, want_ok, check_names=False)


# --- map_enum -------------------------------------------------------------------------------------
ENUM_TEXT = [
    "CN-NTVD",
    "cn-ntvd",
    "CN NTVD",
    " 1-KND",
    "1-KND ",
    "1-kNd\u00a0",
    "1 knd",
    "\u00a02-HSDV",
    "QĐ-KN",
    "QD-KN",
    "qd kn",
    "CN–NTVD",
    "ＣＮ-ＮＴＶＤ",
    "Nam",
    "nam",
    "NAM",
    "Nữ",
    "nữ",
    "Nu\u0303",  # decomposed
    "nu",
    "F",
    "f",
    "Đã mất",
    "da mat",
    "Xoá tên",
    "Xóa tên",
    "xoa ten",
    "Chuyển đi",
    "Khiển trách",
    "khien_trach",
    "official",
    "xyz",
    "",
    " ",
    "\u3000",
    "\t",
    "-",
    None,
]
LABEL_SETS = [
    DOC_LABELS,
    GENDER_LABELS,
    STATUS_LABELS,
    FORM_LABELS,
    KIND_LABELS,
    # Keys sharing a header key (the last one wins), a blank key, a key without letters, no value.
    {"A-B": "first", "ab": "second", " ": "blank", "-": "dash", "xyz": None, "Nam ": "spaced"},
    {},
]


@pytest.mark.parametrize("labels", LABEL_SETS)
def test_map_enum_fast_path_matches_per_value(labels: dict) -> None:
    values = ENUM_TEXT + list(labels) + [k.lower() for k in labels]
    s = arrow(values * 2)
    table = {nz.header_key(k): v for k, v in labels.items()}
    got, ok = nz.map_enum(s, labels)
    want, want_ok = nz._map_enum_by_value(s, table)
    pd.testing.assert_series_equal(got, want)
    pd.testing.assert_series_equal(ok, want_ok)
    # The same text as plain Python objects (workbooks) takes the per-value path only.
    obj, obj_ok = nz.map_enum(pd.Series(values * 2, index=s.index, dtype=object), labels)
    pd.testing.assert_series_equal(got, obj)
    pd.testing.assert_series_equal(ok, obj_ok)


@SETTINGS
@given(st.lists(st.sampled_from(ENUM_TEXT + list(STATUS_LABELS)) | st.text(max_size=6), max_size=30))
def test_map_enum_property(values: list) -> None:
    s = arrow(values)
    table = {nz.header_key(k): v for k, v in STATUS_LABELS.items()}
    got, ok = nz.map_enum(s, STATUS_LABELS)
    want, want_ok = nz._map_enum_by_value(s, table)
    pd.testing.assert_series_equal(got, want)
    pd.testing.assert_series_equal(ok, want_ok)


# --- clean_code -----------------------------------------------------------------------------------
CODES = [
    "7900000123",
    " 7900000123 ",
    "79 000 00123",
    "7900000123.0",
    "123.0",
    "123.00",
    "123.5",
    "1.0\n",
    "A.0",
    ".0",
    "0",
    "0.0",
    "00",
    "7.9E+10",
    "ＡＢ123",
    "１２３.0",
    "Ａ\u0301",
    "e\u0301",
    "Đ123",
    "x\u2028y",
    "12\u200b3",
    "ABC\x7f",
    "a\x00b",
    "79-000",
    "'79",
    "~!",
    "",
    " ",
    None,
] + [f"79{w}01{w}" for w in WS]


def test_clean_code_fast_path_matches_full_steps() -> None:
    s = arrow(CODES * 2)
    got = nz.clean_code(s)
    pd.testing.assert_series_equal(got, nz._clean_code_steps(s))
    assert got.name == "col" and str(got.dtype) == "string"


def test_clean_code_all_clean_and_none_clean() -> None:
    clean = arrow(["7900000123", "A-1", "0", "x.05"])
    pd.testing.assert_series_equal(nz.clean_code(clean), nz._clean_code_steps(clean))
    dirty = arrow([" 1", "2.0", None, "\u00a0"])
    pd.testing.assert_series_equal(nz.clean_code(dirty), nz._clean_code_steps(dirty))
    empty = arrow([])
    pd.testing.assert_series_equal(nz.clean_code(empty), nz._clean_code_steps(empty))


def test_clean_code_every_short_code() -> None:
    """Every code of up to three characters over an alphabet of the cases that matter."""
    alphabet = ["0", "1", ".", "A", "~", " ", "\u00a0", "\t", "\x7f", "\u00e9", "\uff11"]
    values = ["".join(p) for n in range(4) for p in itertools.product(alphabet, repeat=n)]
    s = arrow(values, chunk=500)
    pd.testing.assert_series_equal(nz.clean_code(s), nz._clean_code_steps(s))


@SETTINGS
@given(
    st.lists(
        st.text(alphabet=st.sampled_from([*"0123456789.Aa-", *WS, "\u00e9", "\u0301", "\uff11"]), max_size=8)
    )
)
def test_clean_code_property(values: list) -> None:
    s = arrow(values)
    pd.testing.assert_series_equal(nz.clean_code(s), nz._clean_code_steps(s))


def test_clean_code_object_input() -> None:
    s = pd.Series([79000123, 79000123.0, " 7 9 ", None, "１２３.0"], dtype=object)
    want = nz._clean_code_steps(s.astype("string"))
    pd.testing.assert_series_equal(nz.clean_code(s), want)


# --- nfc and encodings ----------------------------------------------------------------------------
def test_nfc_already_characters_are_stable() -> None:
    """No character of _NFC_ALREADY changes under NFC, alone or next to another one: text made of
    them is NFC already (so nfc may skip it)."""
    chars = [chr(c) for c in range(0x80)] + sorted(nz.VIETNAMESE_LETTERS)
    pattern = "[\\x00-\\x7f" + "".join(chars[0x80:]) + "]*"
    assert pattern == nz._NFC_ALREADY
    for c in chars:
        assert unicodedata.normalize("NFC", c) == c
        assert unicodedata.combining(unicodedata.normalize("NFD", c)[0]) == 0
    for a, b in itertools.product(chars, repeat=2):
        assert unicodedata.normalize("NFC", a + b) == a + b, (a, b)


NAMES = [
    "Nguyễn Văn An",
    "NGUYỄN THỊ BÌNH",
    "Nguye\u0302\u0303n Văn An",  # decomposed
    "Nguyễn  Văn   An",
    " Trần Thị B ",
    "Lê\u00a0Văn",
    "Phạm\tMinh",
    "x\u2000y",  # a space NFC would turn into U+2002
    "Ångström \u212b",
    "Hoà Thuỷ",
    "Ａｎ",
    "ﬁ",
    "Đặng ẞ",
    "NguyÔn V¨n",
    "Nguyeãn Vaên",
    "Nguyá»…n",
    "a\u180eb",
    "\u200bAn",
    "An\ufeff",
    "\x85An",
    "",
    "  ",
    None,
]


def _nfc_before(s: pd.Series) -> pd.Series:
    """nfc's big-column path as it was before _NFC_ALREADY (every non-ASCII value through Python)."""
    s = s.astype("string")
    out = nz._replace_where(s, f"{nz._WS}{nz._WS}|{nz._WS_NOT_SPACE}", f"{nz._WS}+", " ").str.strip()
    wide = ~out.str.fullmatch(r"[\x00-\x7f]*").fillna(True)
    out = out.copy()
    out[wide] = nz._map_unique(out[wide], nz._clean_text, "string")
    return out


def test_nfc_fast_path_matches_python_nfc() -> None:
    s = arrow(NAMES * 60, chunk=100)  # more than 1,000 values: the bulk path
    got = nz.nfc(s)
    pd.testing.assert_series_equal(got, _nfc_before(s))
    assert got.iloc[2] == "Nguyễn Văn An" and got.iloc[7] == "x y"


def test_not_cp1252_matches_encoding_each_character() -> None:
    for c in map(chr, range(0x10000)):
        if "\ud800" <= c <= "\udfff":
            continue
        try:
            c.encode("cp1252")
            encodable = True
        except UnicodeEncodeError:
            encodable = ord(c) < 256
        assert (nz._NOT_CP1252.search(c) is None) == encodable, hex(ord(c))


def test_fix_encoding_matches_per_value() -> None:
    s = nz.nfc(arrow(NAMES * 60, chunk=100))
    fixed, changed, uncertain, enc = nz._fix_encoding(s)
    res = [
        nz._fix_one(v) if v is not None and nz._SUSPECT.search(v) else (v, None, False)
        for v in s.astype(object).where(s.notna(), None)
    ]
    pd.testing.assert_series_equal(
        fixed, pd.Series([r[0] for r in res], index=s.index, name="col", dtype="string")
    )
    pd.testing.assert_series_equal(uncertain, pd.Series([r[2] for r in res], index=s.index))
    pd.testing.assert_series_equal(enc, pd.Series([r[1] for r in res], index=s.index, dtype="string"))
    pd.testing.assert_series_equal(changed, (fixed != s).fillna(False).astype(bool))
    assert changed.any() and uncertain.any() and enc.notna().any()
