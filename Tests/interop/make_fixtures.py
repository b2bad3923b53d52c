"""Regenerates the small Parquet fixtures under Tests/SharedTests/Fixtures (used by the Swift
unit tests, including the mutation test). Run: .venv/bin/python Tests/interop/make_fixtures.py"""
import os, sys
import pyarrow.parquet as pq
sys.path.insert(0, os.path.dirname(__file__))
from parquet_matrix import base_table

OUT = os.path.join(os.path.dirname(__file__), "../SharedTests/Fixtures")
os.makedirs(OUT, exist_ok=True)
t = base_table(n=200, seed=3)
pq.write_table(t, f"{OUT}/pyarrow_v1_snappy.parquet")
pq.write_table(t, f"{OUT}/pyarrow_v2_zstd.parquet", data_page_version="2.0", compression="zstd", row_group_size=90)
pq.write_table(t, f"{OUT}/pyarrow_gzip_fallback.parquet", compression="gzip", dictionary_pagesize_limit=64, data_page_size=256)
pq.write_table(t, f"{OUT}/pyarrow_delta_lz4.parquet", compression="lz4", use_dictionary=False, data_page_version="2.0",
               column_encoding={"i32": "DELTA_BINARY_PACKED", "s": "DELTA_LENGTH_BYTE_ARRAY", "uniq": "DELTA_BYTE_ARRAY",
                                "f64": "BYTE_STREAM_SPLIT", "dec18": "BYTE_STREAM_SPLIT"})
pq.write_table(t.select(["ts_ms", "ts_ns", "s", "b"]), f"{OUT}/pyarrow_int96_brotli.parquet", compression="brotli",
               use_deprecated_int96_timestamps=True)
import polars as pl
pl.from_arrow(t.select(["i64", "f64", "s", "d", "ts_us"])).write_parquet(f"{OUT}/polars_default.parquet")
