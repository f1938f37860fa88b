"""Partitioned extraction (connectors.spill): the member tables streamed to per-partition files in
the one snapshot read give exactly the partitions of the in-memory split, on every reading path."""

from __future__ import annotations

import uuid
from pathlib import Path

import pandas as pd
import pytest
from pgtest import PG_URL

from connectors.central import read_central
from connectors.partitions import MEMBER_TABLES, split_central
from connectors.spill import PartitionSpill, SpilledPartition
from dvsync.demo.loading import copy_tables, drop_schema

TARGET = 300  # members per partition: the 1,500-member demo gives several


@pytest.fixture(scope="module")
def pg_demo(demo_small: Path, tmp_path_factory) -> tuple[str, Path]:
    schema = f"spill_{uuid.uuid4().hex[:8]}"
    copy_tables(f"sqlite:///{demo_small / 'central.sqlite'}", PG_URL, schema=schema)
    mapping = tmp_path_factory.mktemp("spill-mapping") / "pg.yaml"
    mapping.write_text(f"schema: {schema}\n", encoding="utf-8")
    yield PG_URL, mapping
    drop_schema(PG_URL, schema)


def _split(source: str, mapping: Path | None) -> tuple[dict, list[dict], pd.Series]:
    return split_central(read_central(source, mapping=mapping), TARGET)


@pytest.mark.parametrize("path", ["sqlite-arrow", "postgresql-chunks"])
def test_spilled_partitions_equal_the_in_memory_split(path, demo_small, pg_demo, tmp_path) -> None:
    source, mapping = (
        (f"sqlite:///{demo_small / 'central.sqlite'}", None) if path == "sqlite-arrow" else pg_demo
    )
    whole, parts, member_part = _split(source, mapping)
    assert len(parts) >= 3

    spill = PartitionSpill(tmp_path / "spill", TARGET)
    # chunk_size=97: PostgreSQL's tables arrive in many chunks, split across the partitions.
    got_whole = read_central(source, mapping=mapping, chunk_size=97, sink=spill)
    assert set(got_whole) == {"organizations", "transfers"}
    for t in got_whole:
        pd.testing.assert_frame_equal(got_whole[t], whole[t])
    pd.testing.assert_series_equal(spill.member_part, member_part)

    got = spill.partitions()
    assert len(got) == len(parts)
    assert all(isinstance(p, SpilledPartition) for p in got)
    for i, (mine, theirs) in enumerate(zip(got, parts, strict=True)):
        loaded = mine.load()
        assert mine.rows.get("members", 0) == len(theirs["members"])
        for t in MEMBER_TABLES:
            pd.testing.assert_frame_equal(
                loaded[t].reset_index(drop=True),
                theirs[t].reset_index(drop=True),
                check_dtype=path == "sqlite-arrow",  # chunked reads type each partition's chunks
                obj=f"{path} partition {i} {t}",
            )
    spill.cleanup()
    assert not (tmp_path / "spill").exists()


def test_one_partition_is_kept_in_memory_and_writes_nothing(demo_small, tmp_path) -> None:
    source = f"sqlite:///{demo_small / 'central.sqlite'}"
    spill = PartitionSpill(tmp_path / "spill", target=10**9)
    read_central(source, sink=spill)
    (only,) = spill.partitions()
    assert isinstance(only, dict)
    assert not (tmp_path / "spill").exists()
    _, parts, _ = split_central(read_central(source), 10**9)
    for t in MEMBER_TABLES:
        pd.testing.assert_frame_equal(only[t], parts[0][t])


def test_a_retry_starts_the_spill_again(demo_small, tmp_path) -> None:
    # The sink is started again from nothing when the read is retried: no file of the first
    # attempt survives to double a partition's rows.
    source = f"sqlite:///{demo_small / 'central.sqlite'}"
    spill = PartitionSpill(tmp_path / "spill", TARGET)
    read_central(source, sink=spill)
    first = [sum(p.rows.values()) for p in spill.partitions()]
    read_central(source, sink=spill)
    again = [sum(p.rows.values()) for p in spill.partitions()]
    assert again == first
    total = sum(len(df) for p in spill.partitions() for df in p.load().values())
    assert total == sum(first)
