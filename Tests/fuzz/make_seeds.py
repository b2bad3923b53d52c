"""Writes the small seed corpora of the fuzz harnesses (Tests/fuzz/corpus/<harness>/seed-*).

Run from the repository root with the interop venv: .venv/bin/python Tests/fuzz/make_seeds.py
The seeds (seed-*) are files the real writers produce (pyarrow, polars, hnswlib, numpy), kept tiny so each
execution is fast; the Parquet fixtures of the unit tests and config/trainer.yml are read as extra
seed folders by run.sh and are not copied. The wire seeds come from the harness itself
(TRAINER_FUZZ_WRITE_SEEDS, see build.sh); `make_seeds.py wire` rewrites the committed ones for the
current protocol version and adds the kinds the harness may not have written yet (wire_seeds below),
without touching the other corpora. The other files of each corpus (named by their SHA-1)
are inputs found by the one-million-execution runs, minimized with libFuzzer's -merge=1 (for Parquet
and YAML only the small ones), so a short run starts from that coverage.
"""
import io
import json
import os
import pathlib
import sys
import tempfile
import zlib

import hnswlib
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = pathlib.Path(__file__).resolve().parent / "corpus"


def out(harness: str, name: str, data: bytes) -> None:
    d = ROOT / harness
    d.mkdir(parents=True, exist_ok=True)
    (d / f"seed-{name}").write_bytes(data)


def parquet_bytes(table: pa.Table, **kw) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf, **kw)
    return buf.getvalue()


def parquet_seeds() -> None:
    n = 12
    rng = np.random.default_rng(7)
    table = pa.table({
        "id": pa.array([f"item-{i}" for i in range(n)]),
        "x": pa.array(rng.normal(size=n)),
        "f": pa.array(rng.normal(size=n).astype(np.float32)),
        "k": pa.array(rng.integers(0, 1000, size=n, dtype=np.int64)),
        "s": pa.array(rng.integers(-5, 5, size=n, dtype=np.int32)),
        "b": pa.array([i % 3 == 0 for i in range(n)]),
        "cat": pa.array([["a", "b", None][i % 3] for i in range(n)]),
        "opt": pa.array([None if i % 4 == 0 else float(i) for i in range(n)]),
    })
    for codec in ["none", "snappy", "gzip", "brotli", "zstd", "lz4"]:
        out("parquet", f"pyarrow-{codec}", parquet_bytes(table, compression=codec, row_group_size=8))
    out("parquet", "pyarrow-v1-pages", parquet_bytes(table, data_page_version="1.0", compression="none"))
    out("parquet", "pyarrow-plain", parquet_bytes(table, use_dictionary=False, compression="none"))
    out("parquet", "pyarrow-delta", parquet_bytes(
        table.select(["id", "k", "s", "cat"]), use_dictionary=False, compression="none",
        column_encoding={"id": "DELTA_BYTE_ARRAY", "k": "DELTA_BINARY_PACKED", "s": "DELTA_BINARY_PACKED",
                         "cat": "DELTA_LENGTH_BYTE_ARRAY"}))
    out("parquet", "pyarrow-bss", parquet_bytes(
        table.select(["x", "f"]), use_dictionary=False, compression="none",
        column_encoding={"x": "BYTE_STREAM_SPLIT", "f": "BYTE_STREAM_SPLIT"}))
    out("parquet", "pyarrow-int96", parquet_bytes(
        pa.table({"t": pa.array(np.arange(n).astype("datetime64[ms]"))}), use_deprecated_int96_timestamps=True,
        compression="none"))
    out("parquet", "pyarrow-fixed", parquet_bytes(
        pa.table({"d": pa.array([b"abcd", b"efgh", None] * 4, type=pa.binary(4)),
                  "dec": pa.array([1, 2, 3] * 4, type=pa.decimal128(9, 2)),
                  "day": pa.array(np.arange(n).astype("datetime64[D]"))}), compression="none"))
    out("parquet", "pyarrow-empty", parquet_bytes(table.slice(0, 0), compression="none"))
    buf = io.BytesIO()
    pl.DataFrame({"id": [f"p{i}" for i in range(n)], "v": [float(i) for i in range(n)],
                  "c": ["x", "y", "z"] * 4}).write_parquet(buf)
    out("parquet", "polars", buf.getvalue())


def hnsw_seeds() -> None:
    rng = np.random.default_rng(3)
    with tempfile.TemporaryDirectory() as tmp:
        for dim, n, m, name in [(4, 40, 4, "d4-n40"), (16, 12, 4, "d16-n12"), (4, 0, 4, "d4-empty")]:
            p = hnswlib.Index(space="l2", dim=dim)
            p.init_index(max_elements=max(n, 1) + 5, M=m, ef_construction=20, random_seed=1)
            if n:
                p.add_items(rng.normal(size=(n, dim)).astype(np.float32), np.arange(n))
            path = os.path.join(tmp, "i.bin")
            p.save_index(path)
            out("hnsw_index", f"hnswlib-{name}", pathlib.Path(path).read_bytes())
        p = hnswlib.Index(space="l2", dim=4)
        p.init_index(max_elements=20, M=4, ef_construction=20, random_seed=1)
        p.add_items(rng.normal(size=(20, 4)).astype(np.float32), np.arange(100, 120))
        p.mark_deleted(105)
        path = os.path.join(tmp, "d.bin")
        p.save_index(path)
        out("hnsw_index", "hnswlib-deleted", pathlib.Path(path).read_bytes())


def npy_seeds() -> None:
    def npy(arr, version=None) -> bytes:
        buf = io.BytesIO()
        np.lib.format.write_array(buf, arr, version=version, allow_pickle=False)
        return buf.getvalue()
    a = np.arange(12, dtype="<f4").reshape(3, 4)
    out("npy", "v1", npy(a))
    out("npy", "v2", npy(a, (2, 0)))
    out("npy", "v3", npy(a, (3, 0)))
    out("npy", "empty", npy(np.zeros((0, 4), dtype="<f4")))
    out("npy", "f8", npy(a.astype("<f8")))
    out("npy", "fortran", npy(np.asfortranarray(a)))
    out("npy", "rank1", npy(np.arange(3, dtype="<f4")))


def json_seeds() -> None:
    records = [
        {"id": "a1", "category": "shoes", "price": 12.5, "tags": ["x", {"y": [1, 2]}], "a": None},
        {"id": "b\u00e9\\n\"q\"", "category": "\U0001F600", "price": -1e-3, "big": 12345678901234567890, "a": True},
        {"id": 7, "price": 0, "nested": {"k": {"l": []}}, "a": False},
    ]
    out("json_metadata", "array", json.dumps(records, ensure_ascii=False).encode())
    out("json_metadata", "array-ascii", json.dumps(records, indent=1).encode())
    out("json_metadata", "lines", "\n".join(json.dumps(r) for r in records).encode() + b"\n")
    out("json_metadata", "lines-crlf", "\r\n".join(json.dumps(r) for r in records).encode())
    out("json_metadata", "empty-array", b"[]")


def yaml_seeds() -> None:
    out("yaml_config", "minimal", b"input:\n  features: f.parquet\n  id_column: id\nfeatures:\n  numeric: [a, b]\n")
    out("yaml_config", "anchors", b"""seed: 1
input: &in {features: f.parquet, item_metadata: m.json, id_column: id}
features: {numeric: [a], onehot: [c], target_encode: [t2], target: y, log_transform: [a]}
cleaning: {numeric_missing: median, outliers: clip, iqr_k: 2.5}
onehot: {min_frequency: 0.1, max_categories: 8}
target_encoding: {smooth: auto, cv: 3}
weighting: {domain_column: d, domain_weights: {x: 2.0, "y": 0.5}}
index: {space: l2, M: 8, ef_construction: 50, ef_search: 20, threads: 2}
cluster: {mode: local, shards: 2, workers: 2, refine: {k: 4, ef: 8}, tls: {cert: c.pem, key: k.pem}}
export: {output_dir: out, tensorboard: {enabled: false, metadata_columns: [c]}}
incremental: {delete_missing: false}
""")


WIRE_VERSION = 4  # WireMessage.version


def wire_frame(msg_type: int, payload: bytes) -> bytes:
    return b"RCTW" + WIRE_VERSION.to_bytes(2, "little") + msg_type.to_bytes(2, "little") + len(payload).to_bytes(4, "little") \
        + zlib.crc32(payload).to_bytes(4, "little") + payload


def wire_seeds() -> None:
    """The wire harness's seeds at the current protocol version: the raw-* seeds (mode byte 0, then a
    framed message) get the version in their header; RESULT_CHUNK (17) and CHUNK_RECEIVED (18) are
    written in both modes (raw-, and framed-: mode 1, the type, the payload)."""
    d = ROOT / "wire"
    for f in sorted(d.glob("raw-*")):
        b = bytearray(f.read_bytes())
        if len(b) >= 17 and b[1:5] == b"RCTW":
            b[5:7] = WIRE_VERSION.to_bytes(2, "little")
            f.write_bytes(bytes(b))
    data = bytes([5]) * 44
    chunk = (0x80000001).to_bytes(4, "little") + (2).to_bytes(4, "little") + (99).to_bytes(8, "little") + (300).to_bytes(8, "little") \
        + (0x12345678).to_bytes(4, "little") + (256).to_bytes(8, "little") + len(data).to_bytes(4, "little") + data
    for name, t, payload in [("result-chunk", 17, chunk), ("chunk-received", 18, (1 << 20).to_bytes(8, "little"))]:
        (d / f"raw-{name}").write_bytes(b"\x00" + wire_frame(t, payload))
        (d / f"framed-{name}").write_bytes(bytes([1, t]) + payload)


if __name__ == "__main__":
    if sys.argv[1:] == ["wire"]:
        wire_seeds()
        sys.exit(0)
    wire_seeds()
    parquet_seeds()
    hnsw_seeds()
    npy_seeds()
    json_seeds()
    yaml_seeds()
    for d in sorted(ROOT.iterdir()):
        files = list(d.iterdir())
        print(f"{d.name}: {len(files)} files, {sum(f.stat().st_size for f in files)} bytes")
