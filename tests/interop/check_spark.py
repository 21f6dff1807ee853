#!/usr/bin/env python3
"""Reads a to-parquet lake with Spark (pyspark, local mode) and checks partition discovery, the
column types, the row count and every value against the NDJSON input.

  check_spark.py LAKE_DIR INPUT.ndjson

Spark finds `symbol` and `year` from the directories (`basePath`); partition type inference is
off, as docs/lake.md advises (a symbol like `0005.HK`'s digits must not become a number), so
both come back as strings and `year` is cast. The expected rows are computed here from the
input: one per (symbol, date), the newest source_ts winning (null oldest), ties to the later
line, field by field (a null never erases an older value); prices as decimal(18,6).
"""

import datetime
import json
import sys
from decimal import Decimal

from pyspark.sql import SparkSession
from pyspark.sql import types as T

PRICES = ["open", "high", "low", "close", "adj_close", "vwap"]
SIX = Decimal("0.000001")


KEPT = [*PRICES, "volume", "transactions", "currency"]


def expected(path):
    versions = {}
    with open(path) as f:
        for i, line in enumerate(f):
            if not line.strip():
                continue
            r = json.loads(line, parse_float=Decimal, parse_int=Decimal)
            rank = (r.get("source_ts") is not None, r.get("source_ts") or "", i)
            versions.setdefault((r["symbol"], r["date"]), []).append((rank, r))
    out = []
    for key in sorted(versions):
        r = {}
        for _, v in sorted(versions[key], key=lambda x: x[0]):
            for k, value in v.items():
                if value is not None or k not in KEPT:
                    r[k] = value
        ts = r.get("source_ts")
        out.append((
            r["symbol"], r["date"],
            *[None if r.get(p) is None else Decimal(r[p]).quantize(SIX) for p in PRICES],
            None if r.get("volume") is None else int(r["volume"]),
            r.get("currency"), r["provider"],
            None if ts is None else millis(datetime.datetime.fromisoformat(ts.replace("Z", "+00:00"))),
        ))
    return out


def millis(t):
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    return (t - epoch) // datetime.timedelta(milliseconds=1)


def fail(msg):
    print(f"MISMATCH: {msg}")
    sys.exit(1)


def main():
    lake, input_path = sys.argv[1:3]
    want = expected(input_path)
    spark = (
        SparkSession.builder.master("local[2]").appName("tickerlake-check")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    df = spark.read.option("basePath", lake).parquet(lake)
    types = {f.name: f.dataType for f in df.schema.fields}
    want_types = {
        "date": T.DateType(), "open": T.DecimalType(18, 6), "adj_close": T.DecimalType(18, 6),
        "volume": T.LongType(), "provider": T.StringType(), "source_ts": T.TimestampType(),
        "symbol": T.StringType(), "year": T.StringType(),
    }
    for col, t in want_types.items():
        if types.get(col) != t:
            fail(f"spark: column {col} is {types.get(col)}, expected {t} ({df.schema})")
    bad_year = df.filter("cast(year as int) <> year(date)").count()
    if bad_year:
        fail(f"spark: {bad_year} rows whose year partition is not their date's year")
    rows = df.orderBy("symbol", "date").collect()
    got = []
    for r in rows:
        ts = r["source_ts"]
        got.append((
            r["symbol"], r["date"].isoformat(),
            *[r[p] for p in PRICES],
            r["volume"], r["currency"], r["provider"],
            None if ts is None else millis(ts.replace(tzinfo=datetime.timezone.utc)),
        ))
    if len(got) != len(want):
        fail(f"spark: {len(got)} rows, expected {len(want)}")
    for g, w in zip(got, want):
        if g != w:
            fail(f"spark: row {w[:2]}: got {g}, expected {w}")
    print(f"spark ok: {len(got)} rows, {df.select('symbol').distinct().count()} symbols")
    spark.stop()


if __name__ == "__main__":
    main()
