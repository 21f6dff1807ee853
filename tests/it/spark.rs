//! Spark (pyspark in local mode, on Debian's Java) reads a lake to-parquet wrote: partition
//! discovery finds every symbol and year, and every row, type and value is the input's.

use tickerlake_tests::{WorkDir, fixture, spark_python};

#[test]
fn spark_reads_the_lake_with_partition_discovery_and_every_value() {
    let w = WorkDir::new();
    // Genuine answers: Stooq's AAPL download (as bars of a symbol named AAPL), the recorded
    // Yahoo bars, and the same bars under names that need escaping or look like numbers.
    let mut input = tickerlake_tests::stooq_aapl_bars(&w, "2015-01-01");
    let records = std::fs::read_to_string(fixture("records/bars.ndjson")).unwrap();
    input.push_str(&records);
    for (from, to) in [("\"AAPL\"", "\"^GSPC\""), ("\"WSU.DE\"", "\"0005.HK\"")] {
        input.push_str(&records.replace(from, to));
    }
    let input = w.write("input.ndjson", input);
    w.cmd("to-parquet")
        .args(["--lake", "lake"])
        .arg(&input)
        .succeeds();
    let python =
        spark_python().expect("no target/venv-spark: run `make venv-spark` (make test does)");
    let out = std::process::Command::new(python)
        .arg(tickerlake_tests::repo_root().join("tests/interop/check_spark.py"))
        .arg(w.join("lake"))
        .arg(&input)
        .env("TZ", "UTC")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("spark ok:"), "{text}");
}
