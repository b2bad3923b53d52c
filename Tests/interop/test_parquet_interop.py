"""`trainer parquet cat` against pyarrow, cell by cell, over files written by pyarrow, pandas and polars."""
import json
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import trainer
from parquet_matrix import write_matrix, expected_columns, same


@pytest.fixture(scope="module")
def matrix(tmp_path_factory):
    return write_matrix(tmp_path_factory.mktemp("matrix"))


def cat(path, *extra):
    out = trainer("parquet", "cat", path, *extra).stdout
    return [json.loads(line) for line in out.splitlines()]


def test_every_cell_of_every_file_matches_pyarrow(matrix):
    failures = []
    for name, path in matrix.items():
        want, types = expected_columns(path)
        rows = cat(path)
        n = len(next(iter(want.values())))
        assert len(rows) == n, f"{name}: {len(rows)} rows, pyarrow has {n}"
        for col, values in want.items():
            bad = [i for i, v in enumerate(values) if not same(rows[i].get(col, "<missing>"), v, types[col])]
            if bad:
                i = bad[0]
                failures.append(f"{name}.{col}: {len(bad)} cells differ, first row {i}: ours {rows[i].get(col)!r}, pyarrow {values[i]!r}")
    assert not failures, "\n".join(failures)


def test_schema_lists_types_codecs_and_rows(matrix):
    out = trainer("parquet", "schema", matrix["v1_zstd"]).stdout
    assert "rows        3000" in out
    assert "dec38\tFIXED_LEN_BYTE_ARRAY(16)\tDECIMAL(38,10)\toptional\tZSTD" in out
    assert "s\tBYTE_ARRAY\tSTRING\toptional\tZSTD" in out
    assert "ts_ns\tINT64\tTIMESTAMP(nanos,utc=false)" in out


def test_projection_and_limit(matrix):
    rows = cat(matrix["tiny_pages_row_groups"], "--columns", "uniq,i32", "--limit", "1000")
    assert len(rows) == 1000 and set(rows[0]) == {"uniq", "i32"}
    assert rows[999]["uniq"] == "item-0000999"


def test_million_rows(tmp_path):
    n = 1_000_000
    rng = np.random.default_rng(5)
    t = pa.table({"id": np.arange(n), "cat": pa.array(np.array(["x", "y", "z"])[rng.integers(0, 3, n)]),
                  "v": pa.array(rng.standard_normal(n), mask=rng.random(n) < 0.1)})
    pq.write_table(t, tmp_path / "big.parquet")
    out = trainer("parquet", "cat", tmp_path / "big.parquet").stdout.splitlines()
    assert len(out) == n
    want = t.column("v").to_pylist()
    for i in (0, 1, 12345, n - 1):
        row = json.loads(out[i])
        assert row["id"] == i and row["v"] == want[i] and row["cat"] == t.column("cat")[i].as_py()


def test_nested_columns_are_skipped_unless_asked_for(tmp_path):
    t = pa.table({"flat": [1, 2], "nested": [[1, 2], [3]], "s": pa.array([{"a": 1}, {"a": 2}])})
    pq.write_table(t, tmp_path / "nested.parquet")
    rows = cat(tmp_path / "nested.parquet")
    assert rows == [{"flat": 1}, {"flat": 2}]
    p = trainer("parquet", "cat", tmp_path / "nested.parquet", "--columns", "nested.list.element", check=False)
    assert p.returncode == 3 and "unsupported" in p.stderr and "nested.list.element" in p.stderr
    p = trainer("parquet", "cat", tmp_path / "nested.parquet", "--columns", "nope", check=False)
    assert p.returncode == 3 and "no column 'nope'" in p.stderr and "flat" in p.stderr


def test_bad_files_are_refused_by_name(tmp_path):
    (tmp_path / "junk.parquet").write_bytes(b"not parquet at all, really")
    p = trainer("parquet", "schema", tmp_path / "junk.parquet", check=False)
    assert p.returncode == 3 and "junk.parquet" in p.stderr and "PAR1" in p.stderr
    pq.write_table(pa.table({"a": [1, 2, 3]}), tmp_path / "ok.parquet")
    data = (tmp_path / "ok.parquet").read_bytes()
    (tmp_path / "cut.parquet").write_bytes(data[: len(data) // 2])
    p = trainer("parquet", "cat", tmp_path / "cut.parquet", check=False)
    assert p.returncode == 3 and "cut.parquet" in p.stderr
    (tmp_path / "enc.parquet").write_bytes(data[:-4] + b"PARE")
    p = trainer("parquet", "schema", tmp_path / "enc.parquet", check=False)
    assert p.returncode == 3 and "encrypted" in p.stderr


@pytest.mark.parametrize("codec,dictionary", [("snappy", True), ("none", False), ("snappy", False)])
def test_pyarrow_reads_our_writer_back_exactly(tmp_path, codec, dictionary):
    from parquet_matrix import base_table
    t = base_table(n=5000, seed=9).select(["i8", "i16", "i32", "i64", "f32", "f64", "b", "s", "uniq", "d", "ts_ms", "ts_us"])
    t = t.set_column(t.schema.get_field_index("ts_us"), "ts_us", t.column("ts_us").cast(pa.timestamp("us")))
    t = t.drop_columns(["ts_ms"])
    src = tmp_path / "src.parquet"
    pq.write_table(t, src)
    out = tmp_path / "ours.parquet"
    args = ["parquet", "convert", src, out, "--codec", codec, "--row-group-rows", 1700]
    if not dictionary:
        args.append("--no-dictionary")
    trainer(*args)
    back = pq.read_table(out)
    assert back.num_rows == t.num_rows
    assert pq.ParquetFile(out).metadata.num_row_groups == 3
    for name in t.column_names:
        want, got = t.column(name), back.column(name)
        if pa.types.is_integer(want.type) and want.type.bit_width < 32:
            want = want.cast(pa.int32())  # the writer stores small ints as plain INT32
        if pa.types.is_timestamp(want.type):
            assert got.type == pa.timestamp("us", tz="UTC")
            got = got.cast(pa.timestamp("us"))
        assert got.to_pylist() == want.to_pylist() or (
            pa.types.is_floating(want.type) and np.array_equal(np.array(got.to_pylist(), dtype=float),
                                                            np.array(want.to_pylist(), dtype=float), equal_nan=True)), name


def test_convert_refuses_types_the_writer_cannot_hold(matrix, tmp_path):
    p = trainer("parquet", "convert", matrix["v1_snappy"], tmp_path / "x.parquet", check=False)
    assert p.returncode == 3 and "cannot be written" in p.stderr
    assert not (tmp_path / "x.parquet").exists()


def test_empty_table(tmp_path):
    pq.write_table(pa.table({"a": pa.array([], pa.int64()), "s": pa.array([], pa.string())}), tmp_path / "empty.parquet")
    assert trainer("parquet", "cat", tmp_path / "empty.parquet").stdout == ""
    assert "rows        0" in trainer("parquet", "schema", tmp_path / "empty.parquet").stdout
