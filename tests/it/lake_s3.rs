//! The lake on a real S3 server (s3s-fs on 127.0.0.1, checking signatures): written, upserted
//! and read back by every program that reads a lake, compared with the same lake on disk, and
//! read by pyarrow through its own S3 client.

use tickerlake_tests::{S3Server, WorkDir, ndjson_values};

/// The AAPL history of the genuine Stooq download as Bar records, split at `cut`: (up to cut,
/// from a year before cut on — overlapping, as a nightly look-back does).
fn bars(w: &WorkDir) -> (std::path::PathBuf, std::path::PathBuf) {
    let text = tickerlake_tests::stooq_aapl_bars(w, "1900-01-01");
    let lines: Vec<&str> = text.lines().collect();
    let cut = lines
        .iter()
        .position(|l| l.contains("\"date\":\"2025-06-02\""))
        .unwrap();
    let overlap = lines
        .iter()
        .position(|l| l.contains("\"date\":\"2024-06-03\""))
        .unwrap();
    (
        w.write("old.ndjson", lines[..cut].join("\n") + "\n"),
        w.write("new.ndjson", lines[overlap..].join("\n") + "\n"),
    )
}

struct S3Env {
    server: S3Server,
    root: std::path::PathBuf,
}

impl S3Env {
    fn start(w: &WorkDir) -> S3Env {
        let root = w.join("s3");
        std::fs::create_dir_all(root.join("market")).unwrap();
        S3Env {
            server: S3Server::start(&root),
            root,
        }
    }

    fn cmd(&self, w: &WorkDir, program: &str) -> tickerlake_tests::Cmd {
        w.cmd(program)
            .env("AWS_ENDPOINT_URL", self.server.endpoint())
            .env("AWS_ACCESS_KEY_ID", S3Server::ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", S3Server::SECRET_KEY)
    }
}

/// Each object of the lake (s3s-fs keeps an object as a file) with its bytes.
fn objects(root: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.join("market/lake")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "parquet") {
                out.push((p.display().to_string(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_lake_on_s3_is_written_upserted_and_read_back_by_every_reader() {
    let w = WorkDir::new();
    let s3 = S3Env::start(&w);
    let (old, new) = bars(&w);
    let url = "s3://market/lake";
    for (lake, env) in [(url, true), ("local", false)] {
        for input in [&old, &new] {
            let cmd = if env {
                s3.cmd(&w, "to-parquet")
            } else {
                w.cmd("to-parquet")
            };
            cmd.args(["--lake", lake]).arg(input).succeeds();
        }
    }
    // The same layout and bytes as on disk: every object is the local lake's file.
    let remote = objects(&s3.root);
    assert_eq!(remote.len(), 43, "one object per year 1984–2026");
    for (path, bytes) in &remote {
        let rel = path.split("market/lake/").nth(1).unwrap();
        assert_eq!(
            &std::fs::read(w.join("local").join(rel)).unwrap(),
            bytes,
            "{rel}"
        );
    }
    // A rerun changes nothing: no object rewritten.
    let before: Vec<_> = remote
        .iter()
        .map(|(p, _)| std::fs::metadata(p).unwrap().modified().unwrap())
        .collect();
    let run = s3
        .cmd(&w, "to-parquet")
        .args(["--lake", url, "--summary", "again.json"])
        .arg(&new)
        .succeeds();
    drop(run);
    let again: serde_json::Value = serde_json::from_str(&w.read("again.json")).unwrap();
    assert_eq!(again["partitions_touched"], 0);
    assert_eq!(again["partitions_unchanged"], 3, "2024, 2025, 2026");
    let after: Vec<_> = objects(&s3.root)
        .iter()
        .map(|(p, _)| std::fs::metadata(p).unwrap().modified().unwrap())
        .collect();
    assert_eq!(before, after);

    // Every reader gets from S3 what it gets from disk.
    let cat = |lake: &str| {
        s3.cmd(&w, "to-parquet")
            .args(["--cat", "--lake", lake, "--from", "2020-01-01"])
            .succeeds()
            .stdout()
    };
    assert_eq!(cat(url), cat("local"));
    let qa = |lake: &str| {
        let out = s3
            .cmd(&w, "qa-check")
            .args([
                "--lake",
                lake,
                "--as-of",
                "2026-02-04",
                "--profile",
                "training",
            ])
            .run()
            .stdout();
        ndjson_values(&out)
            .into_iter()
            .map(|mut f| {
                f.as_object_mut().unwrap().remove("run_id");
                f
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(qa(url), qa("local"));
    for (lake, out) in [(url, "qlib-s3"), ("local", "qlib-local")] {
        s3.cmd(&w, "qlib-bin")
            .args(["all", "--lake", lake, "-o", out])
            .succeeds();
    }
    let features = |dir: &str| {
        let d = w.join(dir).join("features/aapl");
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| {
                let p = e.unwrap().path();
                (
                    p.file_name().unwrap().to_string_lossy().into(),
                    std::fs::read(&p).unwrap(),
                )
            })
            .collect();
        files.sort();
        files
    };
    assert!(!features("qlib-s3").is_empty());
    assert_eq!(features("qlib-s3"), features("qlib-local"));
    // ohlcv-fetch --since-lake reads the last date from the footer: with no look-back the
    // symbol is up to date, with no request.
    let run = s3
        .cmd(&w, "ohlcv-fetch")
        .args(["--since-lake", url, "--symbols", "AAPL", "--lookback", "0"])
        .args(["--end", "2026-02-03", "--base-url", "http://127.0.0.1:9"])
        .args(["--summary", "fetch.json"])
        .succeeds();
    assert_eq!(run.stdout(), "");
    let fetch: serde_json::Value = serde_json::from_str(&w.read("fetch.json")).unwrap();
    assert_eq!(fetch["up_to_date"], 1);

    // pyarrow reads the S3 lake through its own S3 client: every row, type and value.
    let both = w.write(
        "both.ndjson",
        std::fs::read_to_string(&old).unwrap() + &std::fs::read_to_string(&new).unwrap(),
    );
    tickerlake_tests::check_parquet(
        "s3lake",
        url,
        &both,
        &["decimal"],
        &[
            ("AWS_ENDPOINT_URL", &s3.server.endpoint()),
            ("AWS_ACCESS_KEY_ID", S3Server::ACCESS_KEY),
            ("AWS_SECRET_ACCESS_KEY", S3Server::SECRET_KEY),
        ],
    );
}

#[test]
fn a_prefix_that_is_not_ours_a_missing_lake_and_a_wrong_secret_are_refused() {
    let w = WorkDir::new();
    let s3 = S3Env::start(&w);
    let (old, _) = bars(&w);
    // Another tool's objects under the prefix: nothing is written into it.
    std::fs::create_dir_all(s3.root.join("market/theirs")).unwrap();
    std::fs::write(s3.root.join("market/theirs/notes.txt"), "mine").unwrap();
    s3.cmd(&w, "to-parquet")
        .args(["--lake", "s3://market/theirs"])
        .arg(&old)
        .fails_with(2)
        .stderr_contains("not a tickerlake lake");
    let mut left: Vec<String> = std::fs::read_dir(s3.root.join("market/theirs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into())
        .collect();
    left.sort();
    assert_eq!(left, ["notes.txt"]);
    // An empty prefix is no lake to read (never a lake with no rows).
    s3.cmd(&w, "to-parquet")
        .args(["--cat", "--lake", "s3://market/nothing"])
        .fails_with(66);
    s3.cmd(&w, "qa-check")
        .args(["--lake", "s3://market/nothing"])
        .fails_with(66);
    // A wrong secret: the server refuses the signature; 78, the secret never printed.
    let run = s3
        .cmd(&w, "to-parquet")
        .env("AWS_SECRET_ACCESS_KEY", "wrong-secret-value")
        .args(["--lake", "s3://market/lake"])
        .arg(&old)
        .fails_with(78);
    assert!(
        run.stderr().contains("SignatureDoesNotMatch"),
        "{}",
        run.stderr()
    );
    assert!(!run.stderr().contains("wrong-secret-value"));
    // Other URL schemes and bucket names S3 does not allow: usage errors.
    w.cmd("to-parquet")
        .args(["--cat", "--lake", "gs://market/lake"])
        .fails_with(2);
    w.cmd("to-parquet")
        .args(["--cat", "--lake", "s3://Market_Data/lake"])
        .fails_with(2);
}

#[test]
fn a_second_writer_to_the_same_partition_is_detected_not_overwritten() {
    use lake::remote_writer::S3LakeWriter;
    let w = WorkDir::new();
    let s3 = S3Env::start(&w);
    let (old, _) = bars(&w);
    let url = "s3://market/lake";
    s3.cmd(&w, "to-parquet")
        .args(["--lake", url])
        .arg(&old)
        .succeeds();
    // Writer A reads the 2025 partition (and its ETag) and stages a change…
    let endpoint = tickerlake::config::S3Endpoint {
        endpoint: s3.server.endpoint(),
        region: "us-east-1".into(),
        path_style: true,
        access_key_id: tickerlake::config::Secret::new(S3Server::ACCESS_KEY),
        secret_access_key: tickerlake::config::Secret::new(S3Server::SECRET_KEY),
        session_token: tickerlake::config::Secret::default(),
        workers: 2,
    };
    let remote = lake::remote::S3Lake::open(
        "market",
        "lake",
        &endpoint,
        std::time::Duration::from_secs(5),
    )
    .unwrap();
    let bar = |close: &str| -> tickerlake::records::Bar {
        serde_json::from_str(&format!(
            r#"{{"symbol":"AAPL","date":"2025-05-30","close":{close},"provider":"stooq","source_ts":"2030-01-01T00:00:00Z"}}"#
        ))
        .unwrap()
    };
    let key = lake::PartitionKey::SymbolYear(tickerlake::Symbol::parse("AAPL").unwrap(), 2025);
    let mut a = S3LakeWriter::new(
        &remote,
        lake::Layout::SymbolYear,
        lake::ColumnTypes::default(),
        lake::WriteOptions::default(),
    )
    .unwrap();
    a.upsert_many(vec![(key.clone(), vec![bar("1.5")])], 1)
        .unwrap();
    // …writer B changes the same partition first…
    let b_input = w.write(
        "b.ndjson",
        serde_json::to_string(&bar("2.5")).unwrap() + "\n",
    );
    s3.cmd(&w, "to-parquet")
        .args(["--lake", url])
        .arg(&b_input)
        .succeeds();
    // …so A's PUT is refused, and B's rows stand.
    let e = a.commit().unwrap_err();
    assert!(
        matches!(e, lake::LakeError::Store(objstore::StoreError::Changed(_))),
        "{e}"
    );
    let cat = s3
        .cmd(&w, "to-parquet")
        .args([
            "--cat",
            "--lake",
            url,
            "--from",
            "2025-05-30",
            "--to",
            "2025-05-30",
        ])
        .succeeds()
        .stdout();
    assert_eq!(ndjson_values(&cat)[0]["close"], 2.5);
}

#[test]
fn a_store_that_dies_during_a_write_is_given_up_on_not_retried_object_after_object() {
    let w = WorkDir::new();
    let s3 = S3Env::start(&w);
    // 60 partitions: one symbol-year each.
    let mut lines = Vec::new();
    for s in 0..20 {
        for year in 2021..2024 {
            lines.push(format!(
                r#"{{"symbol":"S{s:02}","date":"{year}-03-01","close":{}.5,"provider":"stooq","source_ts":null}}"#,
                10 + s
            ));
        }
    }
    let input = w.write("bars.ndjson", lines.join("\n") + "\n");
    // The marker look-up, the claim and the listing pass; every request after them gets a 503.
    let proxy = tickerlake_tests::FaultProxy::dying(s3.server.port, 4, 503);
    let started = std::time::Instant::now();
    let run = w
        .cmd("to-parquet")
        .env(
            "AWS_ENDPOINT_URL",
            format!("http://127.0.0.1:{}", proxy.port),
        )
        .env("AWS_ACCESS_KEY_ID", S3Server::ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", S3Server::SECRET_KEY)
        .args(["--lake", "s3://market/dying"])
        .arg(&input)
        .fails_with(69);
    let took = started.elapsed();
    assert!(
        run.stderr().contains("the store is down or unreachable") || run.stderr().contains("503"),
        "{}",
        run.stderr()
    );
    // Each of the 60 objects tried four times would be 240 requests and 40 s of waits: the
    // requests in flight (8 workers) end their retries, and nothing is tried after them.
    let tried = proxy.failed.load(std::sync::atomic::Ordering::SeqCst);
    assert!(tried <= 4 * (8 + 3), "{tried} requests to a dead store");
    assert!(took < std::time::Duration::from_secs(30), "{took:?}");
    // Nothing of the new lake but what was written before the store died.
    let mut stack = vec![s3.root.join("market/dying")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten() {
            let p = e.unwrap().path();
            assert!(
                p.extension().is_none_or(|x| x != "parquet"),
                "{}",
                p.display()
            );
            stack.push(p);
        }
    }
}
