"""connectors.central against real databases: PostgreSQL (psycopg and the PostgreSQL ODBC driver),
SQLite (pysqlite and the SQLite ODBC driver). No database is mocked; SQL Server cannot run here,
so its SQL is compiled and asserted. PostgreSQL and the drivers come from .ci/system-deps.sh.
"""

from __future__ import annotations

import logging
import sqlite3
import unicodedata
import uuid
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
import sqlalchemy as sa
from pgtest import PG_ODBC, PG_URL

from connectors.central import (
    MappingError,
    SourceUnavailable,
    build_select,
    load_mapping,
    make_engine,
    read_central,
    redact,
    resolve_source,
    snapshot_statements,
)
from connectors.central.base import _unify
from dvsync.demo.loading import copy_tables, create_table_ddl, drop_schema
from schemas.contract import CENTRAL_KEYS, CENTRAL_TABLES

NFD_NAME = unicodedata.normalize("NFD", "Trần Văn Hưởng")
NFD_PLACE = unicodedata.normalize("NFD", "Đảng bộ Quận Ba Đình")
assert unicodedata.normalize("NFC", NFD_NAME) != NFD_NAME

ORGS = [
    ("T01", "Tỉnh uỷ Thành phố Hồ Chí Minh", "province", None, 1),
    ("DU01", "Đảng uỷ Phường Bến Nghé", "grassroots_committee", "T01", 1),
    ("CB01", "Chi bộ Khu phố 1", "cell", "DU01", 1),
    ("CB02", "Chi bộ Khu phố 2 – Ấp Mỹ Hoà", "cell", "DU01", 0),
]
MEMBERS = [
    (
        "DV000001",
        "Nguyễn Thị Hoà",
        "Nữ",
        "1985-03-04",
        "001185000123",
        "HS-0001",
        "TH-0001",
        "2010-05-01",
        "2010-05-19",
        "2011-05-19",
        "CB01",
        "active",
        "2010-05-19",
        "2024-01-02",
    ),
    (
        "DV000002",
        "Đặng Thuỳ Dương",
        "Nữ",
        "1992-11-30",
        "079192004567",
        "HS-0002",
        None,
        "2024-08-01",
        "2024-08-20",
        None,
        "CB01",
        "active",
        "2024-08-20",
        "2024-08-21",
    ),
    (
        "DV000003",
        NFD_NAME,
        "Nam",
        "1970-01-15",
        "001070000456",
        "HS-0003",
        "TH-0003",
        "1995-02-01",
        "1995-02-03",
        "1996-02-03",
        "CB02",
        "exempt",
        "2020-06-30",
        "2023-12-31",
    ),
    (
        "DV000004",
        "Phạm Quốc Việt",
        "Nam",
        "1960-07-27",
        "012345678",
        "HS-0004",
        "TH-0004",
        "1988-09-01",
        "1988-09-02",
        "1989-09-02",
        "CB02",
        "transferred_out",
        "2025-03-01",
        "2025-03-02",
    ),
    (
        "DV000005",
        "Ngô Bảo Châu",
        "Nam",
        "1979-06-28",
        None,
        "HS-0005",
        "TH-0005",
        "2001-01-01",
        "2001-01-05",
        "2002-01-05",
        "CB01",
        "deceased",
        "2024-12-01",
        "2024-12-02",
    ),
    (
        "DV000006",
        "Lê Thị Ánh Tuyết",
        "Nữ",
        "2000-02-29",
        "092300000789",
        None,
        None,
        "2025-01-02",
        "2025-01-10",
        None,
        "CB02",
        "active",
        "2025-01-10",
        "2025-01-11",
    ),
]
RATINGS = [
    ("DV000001", 2023, "HTXSNV"),
    ("DV000001", 2024, "HTTNV"),
    ("DV000003", 2024, "KHTNV"),
    ("DV000006", 2025, "HTNV"),
]
DISCIPLINES = [("DV000003", "2025-04-01", "khien_trach", "Chi bộ Khu phố 2 – Ấp Mỹ Hoà")]
TRANSFERS = [
    (
        "CT-1",
        "DV000004",
        "official",
        "CB02",
        NFD_PLACE,
        "2025-02-10",
        "2025-02-12",
        "2025-03-01",
        None,
        None,
        None,
        "2025-01",
    ),
    (
        "CT-2",
        "DV000002",
        "temporary",
        "CB01",
        "Chi bộ Trường Đại học Cần Thơ",
        "2025-09-01",
        None,
        None,
        None,
        "2026-03-01",
        None,
        "2025-08",
    ),
]
DOCS = [
    ("DV000001", "QD-KN", None, "2010-05-10"),
    ("DV000001", "3-HSDV", 2024, "2025-01-15"),
    ("DV000002", "1-KND", None, None),
]
BADGES = [("DV000003", 30, "2025-02-03")]
GAPS = [("DV000003", "2000-01-01", "2000-12-31")]
DATA = {
    "organizations": ORGS,
    "members": MEMBERS,
    "ratings": RATINGS,
    "disciplines": DISCIPLINES,
    "transfers": TRANSFERS,
    "dossier_documents": DOCS,
    "badges": BADGES,
    "activity_gaps": GAPS,
}

INT_COLUMNS = {"active", "year", "years"}
DATE_COLUMNS = {
    "birth_date",
    "admission_decision_date",
    "admission_date",
    "official_date",
    "status_date",
    "updated_at",
    "decided_on",
    "letter_date",
    "notice_sent_on",
    "received_on",
    "dossier_received_on",
    "temporary_until",
    "returned_on",
    "awarded_on",
    "from_date",
    "to_date",
}


def _decl(col: str) -> str:
    return "INTEGER" if col in INT_COLUMNS else "DATE" if col in DATE_COLUMNS else "TEXT"


def write_sqlite(path: Path, data: dict[str, list[tuple]] = DATA) -> Path:
    con = sqlite3.connect(path)
    for table, cols in CENTRAL_TABLES.items():
        con.execute(f'CREATE TABLE "{table}" ({", ".join(f"{c} {_decl(c)}" for c in cols)})')
        con.executemany(f'INSERT INTO "{table}" VALUES ({", ".join("?" * len(cols))})', data.get(table, []))
    # The mapping test's source: software 3.0-like names, one Vietnamese column name.
    con.execute(
        'CREATE TABLE "DangVien" AS SELECT member_code AS "MaDangVien", full_name AS "Họ và tên", * '
        "FROM members"
    )
    con.commit()
    con.close()
    return path


@pytest.fixture(scope="module")
def sqlite_file(tmp_path_factory) -> Path:
    return write_sqlite(tmp_path_factory.mktemp("central") / "central.sqlite")


@pytest.fixture(scope="module")
def pg_schema(sqlite_file: Path):
    """The same data in an isolated PostgreSQL schema, dropped afterwards."""
    try:
        make_engine(PG_URL).connect().close()
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"PostgreSQL is not running on 127.0.0.1:5432 (run .ci/system-deps.sh): {exc}")
    schema = f"dvsync_test_{uuid.uuid4().hex[:10]}"
    counts = copy_tables(f"sqlite:///{sqlite_file}", PG_URL, schema=schema)
    assert counts == {t: len(DATA[t]) for t in CENTRAL_TABLES}
    engine = make_engine(PG_URL)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            f'CREATE TABLE "{schema}"."DangVien" AS SELECT member_code AS "MaDangVien", '
            f'full_name AS "Họ và tên", * FROM "{schema}".members'
        )
    engine.dispose()
    yield schema
    drop_schema(PG_URL, schema)


@pytest.fixture(scope="module")
def pg_mapping(pg_schema: str, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("mapping") / "pg.yaml"
    path.write_text(f"schema: {pg_schema}\n", encoding="utf-8")
    return path


def _sources(sqlite_file: Path, pg_mapping: Path) -> dict[str, tuple[str, Path | None]]:
    return {
        "psycopg": (PG_URL, pg_mapping),
        "odbc-postgresql": (PG_ODBC, pg_mapping),
        "sqlite": (f"sqlite:///{sqlite_file}", None),
        "odbc-sqlite": (f"odbc:DRIVER={{SQLite3}};Database={sqlite_file}", None),
    }


def canonical(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Dates as ISO text (SQLite hands out text, others dates), rows by key: then paths must agree."""
    out = {}
    for t, df in frames.items():
        df = df.copy()
        for c in df.columns:
            if pd.api.types.is_datetime64_any_dtype(df[c]):
                df[c] = df[c].dt.strftime("%Y-%m-%d").astype("string[pyarrow]")
        out[t] = df.sort_values(CENTRAL_KEYS[t], kind="stable").reset_index(drop=True)
    return out


# --- reading through every path ----------------------------------------------------------------


@pytest.fixture(scope="module")
def frames_by_path(sqlite_file: Path, pg_mapping: Path) -> dict[str, dict[str, pd.DataFrame]]:
    # chunk_size=2: every table arrives in several chunks, the all-null ones included.
    return {
        name: read_central(src, mapping=mp, chunk_size=2, retries=0)
        for name, (src, mp) in _sources(sqlite_file, pg_mapping).items()
    }


def test_every_path_reads_the_same_frames(frames_by_path) -> None:
    base = canonical(frames_by_path["sqlite"])
    for name, frames in frames_by_path.items():
        assert list(frames) == list(CENTRAL_TABLES), name
        got = canonical(frames)
        for t in CENTRAL_TABLES:
            assert list(frames[t].columns) == CENTRAL_TABLES[t], (name, t)
            pd.testing.assert_frame_equal(got[t], base[t], check_dtype=True, obj=f"{name}.{t}")


def test_postgresql_paths_identical_without_normalising(frames_by_path) -> None:
    a, b = frames_by_path["psycopg"], frames_by_path["odbc-postgresql"]
    for t in CENTRAL_TABLES:
        key = CENTRAL_KEYS[t]
        pd.testing.assert_frame_equal(
            a[t].sort_values(key).reset_index(drop=True), b[t].sort_values(key).reset_index(drop=True), obj=t
        )
    assert pd.api.types.is_datetime64_any_dtype(a["members"]["birth_date"])  # real DATE columns


def test_vietnamese_text_unchanged_on_every_path(frames_by_path) -> None:
    expected = {m[0]: m[1] for m in MEMBERS}
    for name, frames in frames_by_path.items():
        members = frames["members"].set_index("member_code")
        for code, full_name in expected.items():
            assert members.loc[code, "full_name"] == full_name, (name, code)  # NFD stays NFD
        assert unicodedata.is_normalized("NFD", members.loc["DV000003", "full_name"])
        assert members.loc["DV000001", "personal_id"] == "001185000123", name  # leading zero kept
        assert members.loc["DV000004", "personal_id"] == "012345678", name
        to_org = frames["transfers"].set_index("transfer_id").loc["CT-1", "to_org"]
        assert to_org == NFD_PLACE, name
        orgs = frames["organizations"].set_index("org_code")
        assert orgs.loc["CB02", "name"] == "Chi bộ Khu phố 2 – Ấp Mỹ Hoà", name
        assert str(members["full_name"].dtype) == "string", name


def test_text_columns_are_arrow_backed(frames_by_path) -> None:
    for name, frames in frames_by_path.items():
        dtype = frames["members"]["full_name"].dtype
        assert isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow", name


# --- snapshot and read-only ----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["psycopg", "odbc-postgresql"])
def test_postgresql_snapshot_is_repeatable_read_and_read_only(
    path, sqlite_file, pg_mapping, pg_schema
) -> None:
    source, mapping = _sources(sqlite_file, pg_mapping)[path]
    seen: dict[str, str] = {}
    writer = make_engine(PG_URL)

    def inside(reader) -> None:
        seen["iso"] = reader.scalar("SHOW transaction_isolation")
        seen["ro"] = reader.scalar("SHOW transaction_read_only")
        seen["count"] = reader.scalar(f'SELECT count(*) FROM "{pg_schema}".members')  # takes the snapshot
        # Another session commits a new member meanwhile: the extraction must not see it.
        with writer.begin() as w:
            w.exec_driver_sql(
                f'INSERT INTO "{pg_schema}".members (member_code, full_name) '
                f"VALUES ('DV-LATE-{path}', 'Võ Thị Sáu')"
            )

    try:
        frames = read_central(source, mapping=mapping, tables=["members"], on_snapshot=inside, chunk_size=4)
        assert seen["iso"] == "repeatable read" and seen["ro"] == "on"
        assert len(frames["members"]) == int(seen["count"]) == len(MEMBERS)
        after = read_central(source, mapping=mapping, tables=["members"])
        assert f"DV-LATE-{path}" in set(after["members"]["member_code"])
    finally:
        with writer.begin() as w:
            w.exec_driver_sql(f"DELETE FROM \"{pg_schema}\".members WHERE member_code LIKE 'DV-LATE-%%'")
        writer.dispose()


def test_sqlite_is_opened_read_only(sqlite_file: Path, tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{sqlite_file}", read_only=True)
    with engine.connect() as conn, pytest.raises(sa.exc.OperationalError, match="readonly"):
        conn.exec_driver_sql("DELETE FROM members")
    engine.dispose()
    missing = tmp_path / "nope.sqlite"
    with pytest.raises(SourceUnavailable):
        read_central(f"sqlite:///{missing}", retries=0)
    assert not missing.exists()  # read-only mode never creates an empty database


@pytest.mark.parametrize("arrow", ["1", "0"], ids=["adbc", "sqlite3"])
def test_sqlite_reads_in_one_transaction(sqlite_file: Path, tmp_path: Path, monkeypatch, arrow: str) -> None:
    """Once the snapshot is taken, a member another process commits is not in the extraction
    (in rollback-journal mode the writer cannot even commit while the snapshot is held)."""
    import shutil
    import sqlite3

    monkeypatch.setenv("DVSYNC_SQLITE_ARROW", arrow)
    db = tmp_path / "central.sqlite"
    shutil.copy(sqlite_file, db)
    seen = {}

    def write_meanwhile(reader) -> None:
        seen["count"] = reader.scalar("SELECT count(*) FROM members")  # takes the snapshot
        writer = sqlite3.connect(db, timeout=0.1)
        try:
            writer.execute("INSERT INTO members (member_code, full_name) VALUES ('DV-LATE', 'Võ Thị Sáu')")
            writer.commit()
            seen["committed"] = True
        except sqlite3.OperationalError as exc:
            seen["committed"] = False
            assert "locked" in str(exc)
        finally:
            writer.close()

    frames = read_central(f"sqlite:///{db}", tables=["members"], on_snapshot=write_meanwhile)
    assert type(frames["members"]).__name__ == "DataFrame" and len(frames["members"]) == seen["count"]
    assert "DV-LATE" not in set(frames["members"]["member_code"])
    after = read_central(f"sqlite:///{db}", tables=["members"])
    assert ("DV-LATE" in set(after["members"]["member_code"])) == seen["committed"]


# --- mapping ------------------------------------------------------------------------------------


def _rename_mapping(path: Path, schema: str | None) -> Path:
    src = f"{schema}.DangVien" if schema else "DangVien"
    path.write_text(
        "tables:\n"
        "  members:\n"
        f"    source: {src}\n"
        "    columns:\n"
        "      member_code: MaDangVien\n"
        "      full_name: Họ và tên\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("path", ["psycopg", "odbc-postgresql", "sqlite", "odbc-sqlite"])
def test_mapping_renames_tables_and_columns(path, sqlite_file, pg_mapping, pg_schema, tmp_path) -> None:
    source, _ = _sources(sqlite_file, pg_mapping)[path]
    mapping = _rename_mapping(tmp_path / "m.yaml", pg_schema if "sqlite" not in path else None)
    frames = read_central(source, mapping=mapping, tables=["members"])
    df = frames["members"]
    assert list(df.columns) == CENTRAL_TABLES["members"]
    assert sorted(df["full_name"]) == sorted(m[1] for m in MEMBERS)
    assert sorted(df["member_code"]) == sorted(m[0] for m in MEMBERS)


@pytest.mark.parametrize("path", ["psycopg", "odbc-postgresql", "sqlite"])
def test_missing_tables_and_columns_are_all_named(path, sqlite_file, pg_mapping, pg_schema, tmp_path) -> None:
    source, _ = _sources(sqlite_file, pg_mapping)[path]
    prefix = f"{pg_schema}." if "sqlite" not in path else ""
    mapping = tmp_path / "bad.yaml"
    mapping.write_text(
        (f"schema: {pg_schema}\n" if prefix else "") + "tables:\n"
        f"  members: {{source: {prefix}DangVien, columns: {{member_code: MaDV, full_name: HoTen}}}}\n"
        f"  ratings: {{source: {prefix}XepLoaiDangVien}}\n"
        f"  badges: {{source: {prefix}badges, columns: {{years: SoNam}}}}\n",
        encoding="utf-8",
    )
    with pytest.raises(MappingError) as err:
        read_central(source, mapping=mapping, retries=0)
    msg = str(err.value)
    for name in ["DangVien.MaDV", "DangVien.HoTen", "XepLoaiDangVien", "badges.SoNam", str(mapping)]:
        assert name in msg, (name, msg)
    assert "4 mục" in msg and "\n" not in msg


def test_mapping_file_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "tables:\n  memberz: {source: X}\n  members: {columns: {fullname: HoTen}}\n", encoding="utf-8"
    )
    with pytest.raises(MappingError, match="memberz") as err:
        load_mapping(bad)
    assert "fullname" in str(err.value)
    with pytest.raises(MappingError, match="Không tìm thấy"):
        load_mapping(tmp_path / "absent.yaml")
    bad.write_text("tables: [1, 2\n", encoding="utf-8")
    with pytest.raises(MappingError, match="YAML"):
        load_mapping(bad)


def test_mapping_defaults_and_null_columns(sqlite_file: Path, tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(
        "tables:\n  members:\n    source: '[DangVien]'\n    columns: {member_code: MaDangVien, "
        "full_name: Họ và tên, card_no: null}\n  badges: {source: null}\n",
        encoding="utf-8",
    )
    mp = load_mapping(path)
    assert mp["members"].source == ("DangVien",)
    assert mp["members"].columns["gender"] == "gender" and mp["members"].columns["card_no"] is None
    assert mp["ratings"].source == ("ratings",)
    frames = read_central(f"sqlite:///{sqlite_file}", mapping=path, tables=["members", "badges"])
    assert frames["members"]["card_no"].isna().all()
    assert frames["badges"].empty and list(frames["badges"].columns) == CENTRAL_TABLES["badges"]


# --- SQL Server: compiled, not run ----------------------------------------------------------------


def _mssql():
    from sqlalchemy.dialects import mssql

    d = mssql.dialect()
    d.server_version_info = (16, 0)
    return d


def test_mssql_select_compiles_with_brackets(tmp_path: Path) -> None:
    path = tmp_path / "prod.yaml"
    path.write_text(
        "schema: dbo\ntables:\n  ratings:\n    source: DanhGiaXepLoai\n    columns:\n"
        "      member_code: MaDangVien\n      year: Nam\n      rating: Xếp loại\n",
        encoding="utf-8",
    )
    mp = load_mapping(path)
    sql = build_select("ratings", mp, _mssql())
    assert sql == (
        "SELECT [MaDangVien] AS [member_code], [Nam] AS [year], [Xếp loại] AS [rating] "
        "FROM [dbo].[DanhGiaXepLoai]"
    )
    assert build_select("badges", mp, _mssql()) == (
        "SELECT [member_code] AS [member_code], [years] AS [years], [awarded_on] AS [awarded_on] FROM [dbo].[badges]"
    )
    # The ODBC path: plain ANSI identifiers that SQL Server (QUOTED_IDENTIFIER ON), PostgreSQL and SQLite accept.
    assert build_select("ratings", mp) == (
        'SELECT "MaDangVien" AS "member_code", "Nam" AS "year", '
        '"Xếp loại" AS "rating" FROM "dbo"."DanhGiaXepLoai"'
    )
    assert snapshot_statements("mssql") == ["SET TRANSACTION ISOLATION LEVEL SNAPSHOT"]
    assert snapshot_statements("Microsoft SQL Server") == ["SET TRANSACTION ISOLATION LEVEL SNAPSHOT"]
    assert snapshot_statements("PostgreSQL") == ["SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"]


def test_mssql_tables_use_nvarchar() -> None:
    types = {
        "member_code": sa.Unicode(64),
        "full_name": sa.Unicode(),
        "birth_date": sa.Date(),
        "year": sa.BigInteger(),
    }
    ddl = create_table_ddl("members", types, _mssql(), schema="dbo")
    assert "CREATE TABLE dbo.members" in ddl
    assert "member_code NVARCHAR(64)" in ddl and "full_name NVARCHAR(max)" in ddl
    assert "birth_date DATE" in ddl and "year BIGINT" in ddl
    from sqlalchemy.dialects import postgresql

    pg = create_table_ddl("members", types, postgresql.dialect())
    assert "full_name VARCHAR," in pg and "member_code VARCHAR(64)" in pg


def test_mssql_engine_options_and_no_password_shown() -> None:
    url = (
        "mssql+pyodbc://dvsync:S3cr3t!pw@sql.tinhuy.vn:1433/DangVien30"
        "?driver=ODBC+Driver+18+for+SQL+Server&TrustServerCertificate=yes"
    )
    engine = make_engine(url, read_only=True)
    assert engine.dialect.fast_executemany is True
    args, _ = engine.dialect.create_connect_args(engine.url)
    conn_str = args[0]
    assert "DRIVER={ODBC Driver 18 for SQL Server}" in conn_str
    assert "TrustServerCertificate=yes" in conn_str and "Encrypt=yes" in conn_str
    assert "ApplicationIntent=ReadOnly" in conn_str and "LongAsMax=yes" in conn_str
    assert "S3cr3t!pw" not in repr(engine) and "S3cr3t!pw" not in redact(conn_str)
    strict = make_engine("mssql+pyodbc://u:p@h/db?driver=ODBC+Driver+18+for+SQL+Server")
    assert "TrustServerCertificate=no" in strict.dialect.create_connect_args(strict.url)[0][0]


def test_redact() -> None:
    assert redact("postgresql+psycopg://u:hunter22@h/db") == "postgresql+psycopg://u:***@h/db"
    assert redact("odbc:DRIVER={x};UID=u;PWD={a;b}}c};SERVER=s") == "odbc:DRIVER={x};UID=u;PWD=***;SERVER=s"
    assert "hunter22" not in redact("login failed for hunter22", "mssql+pyodbc://u:hunter22@h/db")


# --- unreachable sources --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "postgresql+psycopg://postgres:Pw-9f8e7d@127.0.0.1:1/test",
        "odbc:DRIVER={PostgreSQL Unicode};SERVER=127.0.0.1;PORT=1;DATABASE=test;UID=postgres;PWD=Pw-9f8e7d",
    ],
)
def test_unreachable_source_retries_then_one_clear_line(source: str, caplog) -> None:
    caplog.set_level(logging.INFO, logger="dvsync.central")
    with pytest.raises(SourceUnavailable) as err:
        read_central(source, retries=2, retry_delay=0.01)
    msg = str(err.value)
    assert "\n" not in msg and "Pw-9f8e7d" not in msg and "Traceback" not in msg
    assert "sau 3 lần thử" in msg and "127.0.0.1" in msg
    assert err.value.__cause__ is None and err.value.__suppress_context__
    retries = [r for r in caplog.records if "retry" in r.getMessage()]
    assert len(retries) == 2
    assert all("Pw-9f8e7d" not in r.getMessage() for r in caplog.records)


def test_missing_odbc_driver_is_not_retried() -> None:
    with pytest.raises(SourceUnavailable) as err:
        read_central("odbc:DRIVER={No Such Driver 99};SERVER=x;PWD=topsecret1", retries=5, retry_delay=10)
    assert "topsecret1" not in str(err.value) and "lần thử" not in str(err.value)


def test_bad_url_is_a_configuration_error() -> None:
    with pytest.raises(MappingError):
        read_central("nosuchdb+driver://u:pw@h/db")


# --- source resolution ------------------------------------------------------------------------------


def test_resolve_source_precedence(monkeypatch) -> None:
    monkeypatch.delenv("DVSYNC_CENTRAL_URL", raising=False)
    monkeypatch.delenv("DVSYNC_CENTRAL_SECRET", raising=False)
    assert resolve_source(None) is None
    monkeypatch.setenv("DVSYNC_CENTRAL_URL", "sqlite:///env.sqlite")
    assert resolve_source(None) == "sqlite:///env.sqlite"
    assert resolve_source("sqlite:///arg.sqlite") == "sqlite:///arg.sqlite"


def test_resolve_source_from_prefect_secret(monkeypatch, prefect_harness) -> None:
    from prefect.blocks.system import Secret

    name = f"dvsync-central-{uuid.uuid4().hex[:8]}"
    Secret(value="postgresql+psycopg://dvsync:from-secret@db/central").save(name, overwrite=True)
    monkeypatch.delenv("DVSYNC_CENTRAL_URL", raising=False)
    monkeypatch.setenv("DVSYNC_CENTRAL_SECRET", name)
    assert resolve_source(None) == "postgresql+psycopg://dvsync:from-secret@db/central"
    monkeypatch.setenv("DVSYNC_CENTRAL_SECRET", "no-such-block-x")
    with pytest.raises(SourceUnavailable, match="no-such-block-x"):
        resolve_source(None)


# --- chunks -------------------------------------------------------------------------------------


def test_chunks_with_different_types_concatenate() -> None:
    names = ["a", "b"]
    chunks = [
        pa.table({"a": pa.nulls(2), "b": pa.array([1, 2])}),
        pa.table(
            {"a": pa.array(["x", None], pa.large_string()), "b": pa.array(["3", "bốn"], pa.large_string())}
        ),
    ]
    out = _unify(chunks, names)
    assert out.column("a").to_pylist() == [None, None, "x", None]
    assert out.column("b").to_pylist() == ["1", "2", "3", "bốn"]
