"""Writes the matrix of Parquet files the reader is checked against, and converts pyarrow's view
of a file to the JSON values `trainer parquet cat` prints."""
import base64, datetime, decimal, math
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

N = 3000


def base_table(n=N, seed=0):
    rng = np.random.default_rng(seed)
    def nulls(arr, p=0.1):
        mask = rng.random(n) < p
        return pa.array(arr, mask=mask)
    words = np.array(["alpha", "beta", "gamma", "délta", "ε", "", "tab\there", "quote\"s"])
    return pa.table({
        "i8": nulls(rng.integers(-128, 127, n).astype(np.int8)),
        "i16": nulls(rng.integers(-2**15, 2**15 - 1, n).astype(np.int16)),
        "i32": nulls(rng.integers(-2**31, 2**31 - 1, n).astype(np.int32)),
        "i64": nulls(rng.integers(-2**62, 2**62, n).astype(np.int64)),
        "u8": nulls(rng.integers(0, 255, n).astype(np.uint8)),
        "u16": nulls(rng.integers(0, 2**16 - 1, n).astype(np.uint16)),
        "u32": nulls(rng.integers(0, 2**32 - 1, n).astype(np.uint32)),
        "u64": nulls(rng.integers(0, 2**63, n).astype(np.uint64) * 2 + 1),
        "f32": nulls(rng.standard_normal(n).astype(np.float32)),
        "f64": nulls(np.where(rng.random(n) < 0.02, np.nan, rng.standard_normal(n) * 1e6)),
        "b": nulls(rng.random(n) < 0.5),
        "s": nulls(words[rng.integers(0, len(words), n)]),
        "uniq": pa.array([f"item-{i:07d}" for i in range(n)]),
        "bin": nulls([bytes([i % 256, (i * 7) % 256]) for i in range(n)], 0.05),
        "d": nulls(pa.array(rng.integers(-1000, 30000, n).astype(np.int32)).cast(pa.date32())),
        "ts_ms": nulls(pa.array(rng.integers(0, 2**41, n)).cast(pa.timestamp("ms"))),
        "ts_us": nulls(pa.array(rng.integers(-2**50, 2**50, n)).cast(pa.timestamp("us", tz="UTC"))),
        "ts_ns": nulls(pa.array(rng.integers(0, 2**62, n)).cast(pa.timestamp("ns"))),
        "dec9": nulls(pa.array([decimal.Decimal(int(x)).scaleb(-2) for x in rng.integers(-10**8, 10**8, n)], pa.decimal128(9, 2))),
        "dec18": nulls(pa.array([decimal.Decimal(int(x)).scaleb(-4) for x in rng.integers(-10**17, 10**17, n)], pa.decimal128(18, 4))),
        "dec38": nulls(pa.array([decimal.Decimal(int(x) * 10**19 + 7).scaleb(-10) for x in rng.integers(-10**18, 10**18, n)], pa.decimal128(38, 10))),
        "f16": nulls(pa.array(rng.standard_normal(n).astype(np.float16))),
    })


def write_matrix(folder):
    """Returns {name: path} for every file in the matrix."""
    t = base_table()
    files = {}
    def w(name, table=t, **kw):
        path = str(folder / f"{name}.parquet")
        pq.write_table(table, path, **kw)
        files[name] = path
    w("pyarrow_default")
    for codec in ["none", "snappy", "gzip", "zstd", "lz4", "brotli"]:
        w(f"v1_{codec}", compression=codec)
        w(f"v2_{codec}", compression=codec, data_page_version="2.0")
    w("no_dictionary", use_dictionary=False)
    w("dictionary_fallback", dictionary_pagesize_limit=64, data_page_size=512)
    w("tiny_pages_row_groups", row_group_size=700, data_page_size=128, write_batch_size=50)
    w("delta", use_dictionary=False, column_encoding={
        "i32": "DELTA_BINARY_PACKED", "i64": "DELTA_BINARY_PACKED", "u16": "DELTA_BINARY_PACKED",
        "s": "DELTA_LENGTH_BYTE_ARRAY", "uniq": "DELTA_BYTE_ARRAY", "bin": "DELTA_BYTE_ARRAY",
        "f32": "BYTE_STREAM_SPLIT", "f64": "BYTE_STREAM_SPLIT", "i8": "BYTE_STREAM_SPLIT",
        "dec18": "BYTE_STREAM_SPLIT", "f16": "BYTE_STREAM_SPLIT"}, data_page_version="2.0")
    w("int96", table=t.select(["ts_ms", "ts_us", "ts_ns"]), use_deprecated_int96_timestamps=True)
    w("decimal_as_int", store_decimal_as_integer=True)
    w("format_1_0", table=t.drop_columns(["f16", "ts_ns"]), version="1.0")
    import pandas as pd
    df = pd.DataFrame({
        "id": np.arange(N), "name": [f"n{i % 17}" for i in range(N)],
        "x": np.where(np.arange(N) % 11 == 0, np.nan, np.linspace(-1, 1, N)),
        "flag": np.arange(N) % 3 == 0, "when": pd.date_range("2020-01-01", periods=N, freq="h"),
        "cat": pd.Categorical([["a", "b", "c"][i % 3] for i in range(N)]),
        "maybe": pd.array([None if i % 5 == 0 else i for i in range(N)], dtype="Int64"),
    })
    path = str(folder / "pandas_default.parquet")
    df.to_parquet(path)
    files["pandas_default"] = path
    import polars as pl
    pdf = pl.DataFrame({
        "id": np.arange(N), "name": [f"n{i % 17}" for i in range(N)],
        "x": [None if i % 13 == 0 else float(i) / 7 for i in range(N)],
        "when": pl.datetime_range(datetime.datetime(2021, 1, 1), datetime.datetime(2021, 1, 1) + datetime.timedelta(minutes=N - 1), "1m", eager=True),
        "day": [datetime.date(2020, 1, 1) + datetime.timedelta(days=i % 400) for i in range(N)],
        "small": pl.Series([i % 100 for i in range(N)], dtype=pl.Int8),
        "u": pl.Series([i for i in range(N)], dtype=pl.UInt32),
    })
    path = str(folder / "polars_default.parquet")
    pdf.write_parquet(path)
    files["polars_default"] = path
    path = str(folder / "polars_groups.parquet")
    pdf.write_parquet(path, row_group_size=256, compression="snappy", statistics=False)
    files["polars_groups"] = path
    return files


def iso(v, digits):
    if v is None:
        return None
    per = 10 ** digits
    s, f = divmod(v, per)
    day, rem = divmod(s, 86400)
    date = datetime.date(1970, 1, 1) + datetime.timedelta(days=day)
    frac = f"{f:0{digits}d}"
    return f"{date.isoformat()}T{rem // 3600:02d}:{rem // 60 % 60:02d}:{rem % 60:02d}.{frac}Z"


def expected_columns(path):
    """pyarrow's values for every column, converted to what our JSON must hold."""
    table = pq.read_table(path)
    schema = pq.ParquetFile(path).schema_arrow
    out = {}
    for name in table.column_names:
        col = table.column(name)
        typ = col.type
        if pa.types.is_timestamp(typ):
            digits = {"s": 0, "ms": 3, "us": 6, "ns": 9}[typ.unit]
            ints = pc.cast(col, pa.int64()).to_pylist()
            if digits == 0:  # seconds are stored as milliseconds
                ints, digits = [None if v is None else v * 1000 for v in ints], 3
            out[name] = [iso(v, digits) for v in ints]
        elif pa.types.is_date(typ):
            out[name] = [None if v is None else v.isoformat() for v in col.to_pylist()]
        elif pa.types.is_decimal(typ):
            out[name] = [None if v is None else format(v, "f") for v in col.to_pylist()]
        elif pa.types.is_binary(typ) or pa.types.is_fixed_size_binary(typ):
            out[name] = [None if v is None else base64.b64encode(v).decode() for v in col.to_pylist()]
        elif pa.types.is_dictionary(typ):
            out[name] = [None if v is None else v for v in col.to_pylist()]
        else:
            out[name] = col.to_pylist()
    return out, {n: schema.field(n).type for n in table.column_names}


def same(got, want, typ):
    if want is None or got is None:
        return got is None and want is None
    if isinstance(want, float):
        if math.isnan(want):
            return got == "NaN"
        if math.isinf(want):
            return got == ("Infinity" if want > 0 else "-Infinity")
        if pa.types.is_float16(typ):
            return np.float16(got) == np.float16(want)
        if pa.types.is_float32(typ):
            return np.float32(got) == np.float32(want)
        return float(got) == want and (want != 0 or math.copysign(1, float(got)) == math.copysign(1, want))
    if isinstance(want, bool):
        return got is want
    return got == want
