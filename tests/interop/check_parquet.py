#!/usr/bin/env python3
"""Reads a to-parquet file or lake with real clients (DuckDB, pyarrow) and checks the schema
types, the partition columns, the row count and every value against the NDJSON input.

  check_parquet.py file|lake|s3lake PATH INPUT.ndjson decimal|float64 [int64|float64]

The last argument is the volume column's type (int64 unless given).

s3lake: PATH is s3://bucket/prefix, read by pyarrow's own S3 client (endpoint and keys from
AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY).

The expected rows are computed here independently: for a lake, one row per (symbol, date), the
newest source_ts winning (null oldest), ties to the later input line. Prints one line per client
and exits 1 on the first mismatch.
"""

import datetime
import json
import os
import sys
from decimal import Decimal

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds

PRICES = ["open", "high", "low", "close", "adj_close", "vwap"]


def load(path, dedupe):
    rows = []
    with open(path) as f:
        for line in f:
            if line.strip():
                rows.append(json.loads(line, parse_float=Decimal, parse_int=Decimal))
    if not dedupe:
        return rows
    best = {}
    for i, r in enumerate(rows):
        key = (r["symbol"], r["date"])
        rank = (r.get("source_ts") is not None, r.get("source_ts") or "", i)
        if key not in best or rank >= best[key][0]:
            best[key] = (rank, r)
    return [best[k][1] for k in sorted(best)]


def norm_price(v, kind):
    if v is None:
        return None
    if kind == "decimal":
        return Decimal(v).quantize(Decimal("0.000001"))
    return float(v)


VOLUME = "int64"


def norm_volume(v):
    if v is None:
        return None
    return int(v) if VOLUME == "int64" else float(v)


def expected(rows, kind):
    out = []
    for r in rows:
        ts = r.get("source_ts")
        out.append((
            r["symbol"], r["date"],
            *[norm_price(r.get(p), kind) for p in PRICES],
            norm_volume(r.get("volume")),
            r.get("currency"), r["provider"],
            None if ts is None else iso_ms(ts),
        ))
    return out


def fail(msg):
    print(f"MISMATCH: {msg}")
    sys.exit(1)


def compare(client, got, want):
    if len(got) != len(want):
        fail(f"{client}: {len(got)} rows, expected {len(want)}")
    for g, w in zip(got, want):
        if g != w:
            fail(f"{client}: row {w[:2]}: got {g}, expected {w}")


def iso_ms(text):
    """Epoch milliseconds of an RFC 3339 timestamp (what timestamp(ms) keeps)."""
    t = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    return (t - epoch) // datetime.timedelta(milliseconds=1)


def ms_text(ms):
    return None if ms is None else int(ms)


def ts_text(v):
    if v is None:
        return None
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    return (v - epoch) // datetime.timedelta(milliseconds=1)


def s3_table(url):
    from pyarrow import fs
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    scheme, host = endpoint.split("://", 1)
    s3 = fs.S3FileSystem(
        endpoint_override=host, scheme=scheme, region=os.environ.get("AWS_REGION", "us-east-1"),
        access_key=os.environ["AWS_ACCESS_KEY_ID"], secret_key=os.environ["AWS_SECRET_ACCESS_KEY"])
    base = url.removeprefix("s3://").rstrip("/")
    # Listed first (ListObjectsV2), as pyarrow does for a directory: some S3 servers answer a
    # HEAD of the prefix itself with an error. Hidden objects (the lake's marker) are not data.
    infos = s3.get_file_info(fs.FileSelector(base, recursive=True))
    paths = [i.path for i in infos if i.type == fs.FileType.File and "/." not in i.path]
    return ds.dataset(paths, filesystem=s3, format="parquet", partitioning="hive",
                      partition_base_dir=base).to_table()


def main():
    global VOLUME
    mode, path, input_path, kind = sys.argv[1:5]
    VOLUME = sys.argv[5] if len(sys.argv) > 5 else "int64"
    want = expected(load(input_path, dedupe=(mode != "file")), kind)
    if mode == "file":
        want_sorted = want
    else:
        want_sorted = sorted(want, key=lambda r: (r[0], r[1]))
    if mode == "s3lake":
        check_pyarrow(s3_table(path), mode, kind, want_sorted)
        return

    price_type = "DECIMAL(18,6)" if kind == "decimal" else "DOUBLE"
    con = duckdb.connect()
    src = f"read_parquet('{path}/**/*.parquet', hive_partitioning=true)" if mode == "lake" else f"read_parquet('{path}')"
    types = {name: typ for name, typ, *_ in con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()}
    want_types = {"date": "DATE", "open": price_type, "adj_close": price_type, "volume": "BIGINT" if VOLUME == "int64" else "DOUBLE",
                  "provider": "VARCHAR", "source_ts": "TIMESTAMP WITH TIME ZONE", "symbol": "VARCHAR"}
    if mode == "lake":
        want_types["year"] = "BIGINT"
    for col, t in want_types.items():
        if types.get(col) != t:
            fail(f"duckdb: column {col} is {types.get(col)}, expected {t} ({types})")
    cols = ", ".join(["symbol", "strftime(date, '%Y-%m-%d')", *PRICES, "volume", "currency", "provider", "epoch_ms(source_ts)"])
    order = " ORDER BY symbol, date" if mode == "lake" else ""
    got = [(*r[:-1], ms_text(r[-1])) for r in con.execute(f"SELECT {cols} FROM {src}{order}").fetchall()]
    got = [(g[0], g[1], *[norm_price(v, kind) for v in g[2:8]], *g[8:]) for g in got]
    compare("duckdb", got, want_sorted)
    if mode == "lake":
        bad_year = con.execute(f"SELECT count(*) FROM {src} WHERE year <> year(date)").fetchone()[0]
        if bad_year:
            fail(f"duckdb: {bad_year} rows whose year partition is not their date's year")
    print(f"duckdb ok: {len(got)} rows, types {sorted(want_types.items())}")

    if mode == "lake":
        table = ds.dataset(path, format="parquet", partitioning="hive").to_table()
    else:
        table = ds.dataset(path, format="parquet").to_table()
    check_pyarrow(table, mode, kind, want_sorted)


def check_pyarrow(table, mode, kind, want_sorted):
    if mode != "file":
        if table.schema.field("symbol").type != pa.string() or not pa.types.is_integer(table.schema.field("year").type):
            fail(f"pyarrow: partition columns {table.schema}")
    want_price = pa.decimal128(18, 6) if kind == "decimal" else pa.float64()
    for col, t in [("date", pa.date32()), ("open", want_price), ("volume", pa.int64() if VOLUME == "int64" else pa.float64()), ("source_ts", pa.timestamp("ms", tz="UTC"))]:
        if table.schema.field(col).type != t:
            fail(f"pyarrow: column {col} is {table.schema.field(col).type}, expected {t}")
    d = table.to_pydict()
    got = []
    for i in range(table.num_rows):
        got.append((
            d["symbol"][i], d["date"][i].isoformat(),
            *[norm_price(d[p][i], kind) for p in PRICES],
            d["volume"][i], d["currency"][i], d["provider"][i], ts_text(d["source_ts"][i]),
        ))
    if mode != "file":
        got.sort(key=lambda r: (r[0], r[1]))
    compare("pyarrow", got, want_sorted)
    print(f"pyarrow ok: {len(got)} rows ({mode})")


if __name__ == "__main__":
    main()
