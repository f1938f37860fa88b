"""connectors.partitions.MemberIndex: the member lookup built once per run routes every row as the
per-chunk hash did (pc.index_in), whatever the codes look like."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from connectors.partitions import MemberIndex, route


def _reference(codes: list, member_part: pd.Series) -> np.ndarray:
    """What route() gave before: one pc.index_in per call, normalised codes looked up again."""
    keys = pa.array(member_part.index.astype(object), pa.string())
    parts = member_part.to_numpy(dtype=np.int64)

    def look(values: list) -> np.ndarray:
        pos = pc.index_in(pa.array(values, pa.string()), value_set=keys).to_numpy(zero_copy_only=False)
        pos = np.nan_to_num(pos.astype("float64"), nan=-1).astype(np.int64)
        return np.where(pos >= 0, parts[np.clip(pos, 0, None)], -1)

    from schemas.normalize import clean_code

    where = look(codes)
    miss = where < 0
    if miss.any():
        again = clean_code(pd.Series(codes, dtype="string")[miss])
        where[miss] = look(again.astype(object).where(again.notna(), None).tolist())
    return np.where(where < 0, 0, where)


def test_member_index_routes_as_the_per_chunk_hash() -> None:
    codes = ["9300000001", "09300000001", "12", "012", "0012", "A-17", "Đ12", "x" * 40, "1" * 17, "1" * 18]
    member_part = pd.Series(
        np.arange(len(codes), dtype=np.int64) % 4 + 1, index=pd.Index(codes, dtype="string")
    )
    index = MemberIndex(member_part)
    rows = [
        *codes,
        "12.0",  # a float's ".0": found after normalisation
        " 012 ",
        "9300000002",  # unknown
        None,
        "",
        "A-17 ",
        "0000000000000000000012",
        "00012",
    ]
    frame = pd.DataFrame({"member_code": pd.Series(rows, dtype="string")})
    want = _reference(rows, member_part)
    assert route(frame, index).tolist() == want.tolist()
    assert route(frame, member_part).tolist() == want.tolist()  # a plain map still works
    # "12", "012" and "0012" stay apart (the length is part of the integer key).
    assert route(frame, index)[2:5].tolist() == member_part.iloc[2:5].tolist()


def test_member_index_is_reused_across_chunks() -> None:
    rng = np.random.default_rng(3)
    keys = [f"{c:010d}" for c in rng.choice(10**9, size=5000, replace=False)]
    member_part = pd.Series(rng.integers(0, 7, size=len(keys)), index=pd.Index(keys, dtype="string"))
    index = MemberIndex(member_part)
    for k in range(5):
        sample = [keys[i] for i in rng.integers(0, len(keys), 300)] + [f"x{k}", "123"]
        frame = pd.DataFrame({"member_code": pd.Series(sample, dtype="string")})
        assert route(frame, index).tolist() == _reference(sample, member_part).tolist()
