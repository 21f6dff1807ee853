#!/usr/bin/env python3
"""The benchmark's peer for Polygon flat files: what quantmini (the project behind design notes
003/004) does — boto3 downloads the day files, polars parses them and writes the lake.

  peer_flatfiles.py --endpoint URL --bucket B --prefix P --start D --end D --out DIR|s3://B/P

Downloads every weekday's `P/YYYY/MM/YYYY-MM-DD.csv.gz` from `--start` to `--end` (a missing key
is skipped) with boto3 on 4 threads (the same number of files in flight as ohlcv-fetch's
default), decompresses and parses each with polars, keeps the New York date of `window_start`,
and writes the same lake layout as to-parquet (`symbol=…/year=…/*.parquet`, Hive partitions):
to a directory with polars' partitioned writer, to `s3://` through pyarrow's S3 file system (the
same endpoint). Keys: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY.
"""

import argparse
import datetime
import gzip
import io
import os
from concurrent.futures import ThreadPoolExecutor

import boto3
import polars as pl
from botocore.config import Config


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--bucket", required=True)
    ap.add_argument("--prefix", required=True)
    ap.add_argument("--start", required=True)
    ap.add_argument("--end", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    s3 = boto3.client("s3", endpoint_url=a.endpoint, region_name="us-east-1",
                      config=Config(s3={"addressing_style": "path"}, max_pool_connections=8))
    day = datetime.date.fromisoformat(a.start)
    end = datetime.date.fromisoformat(a.end)
    keys = []
    while day <= end:
        if day.weekday() < 5:
            keys.append(f"{a.prefix}/{day.year:04d}/{day.month:02d}/{day.isoformat()}.csv.gz")
        day += datetime.timedelta(days=1)

    def fetch(key):
        try:
            body = s3.get_object(Bucket=a.bucket, Key=key)["Body"].read()
        except s3.exceptions.NoSuchKey:
            return None
        return pl.read_csv(io.BytesIO(gzip.decompress(body)),
                           schema_overrides={"ticker": pl.Utf8, "volume": pl.Float64,
                                             "window_start": pl.Int64})

    with ThreadPoolExecutor(4) as pool:
        frames = [f for f in pool.map(fetch, keys) if f is not None]
    df = pl.concat(frames)
    date = pl.from_epoch(pl.col("window_start"), time_unit="ns").dt.convert_time_zone("America/New_York").dt.date()
    df = df.select(
        pl.col("ticker").alias("symbol"),
        date.alias("date"),
        "open", "high", "low", "close",
        pl.col("volume").cast(pl.Int64),
        pl.col("transactions").cast(pl.Int64),
    ).with_columns(pl.col("date").dt.year().alias("year")).sort("symbol", "date")
    if a.out.startswith("s3://"):
        import pyarrow.dataset as ds
        from pyarrow import fs
        scheme, host = a.endpoint.split("://", 1)
        target = fs.S3FileSystem(endpoint_override=host, scheme=scheme, region="us-east-1",
                                 access_key=os.environ["AWS_ACCESS_KEY_ID"],
                                 secret_key=os.environ["AWS_SECRET_ACCESS_KEY"])
        ds.write_dataset(df.to_arrow(), a.out.removeprefix("s3://"), filesystem=target,
                         format="parquet", partitioning=["symbol", "year"], partitioning_flavor="hive",
                         existing_data_behavior="overwrite_or_ignore", max_partitions=1 << 20)
    else:
        df.write_parquet(a.out, partition_by=["symbol", "year"])


if __name__ == "__main__":
    main()
