//! A small harness for running the real tickerlake binaries in tests (after uutils' and xsv's):
//! a fresh temporary work directory per test, binaries found next to the test executable,
//! stdin from a fixture, and assertions that print the whole output on failure.
//!
//! The binaries must be built first (`cargo build --workspace --bins`; `make test` does it).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test harness panics by design

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `fixtures/<rel>` in the repository.
pub fn fixture(rel: &str) -> PathBuf {
    repo_root().join("fixtures").join(rel)
}

/// `../shared/<rel>` next to the repository (bench kit, seeds).
pub fn shared(rel: &str) -> PathBuf {
    repo_root().join("../shared").join(rel)
}

/// Path of a workspace binary, built in the same profile as this test.
pub fn bin(name: &str) -> PathBuf {
    // target/<profile>/deps/it-<hash> → target/<profile>/<name>
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(Path::parent).unwrap();
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} is not built: run `cargo build --workspace --bins` first (`make test` does)",
        path.display()
    );
    path
}

/// The Python of the project's venv (`make venv`), if there is one.
pub fn venv_python() -> Option<PathBuf> {
    let p = std::env::var_os("TICKERLAKE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".venv/bin/python"));
    p.is_file().then_some(p)
}

/// The Python of `target/venv-qlib` (pyqlib; `make venv-qlib`, which `make test` runs), or
/// `$TICKERLAKE_QLIB_PYTHON`.
pub fn qlib_python() -> Option<PathBuf> {
    let p = std::env::var_os("TICKERLAKE_QLIB_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/venv-qlib/bin/python"));
    p.is_file().then_some(p)
}

/// The Python of `target/venv-spark` (pyspark; `make venv-spark`, which `make test` runs), or
/// `$TICKERLAKE_SPARK_PYTHON`.
pub fn spark_python() -> Option<PathBuf> {
    let p = std::env::var_os("TICKERLAKE_SPARK_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/venv-spark/bin/python"));
    p.is_file().then_some(p)
}

/// A temporary directory for one test.
pub struct WorkDir {
    dir: tempfile::TempDir,
}

impl Default for WorkDir {
    fn default() -> Self {
        Self::new()
    }
}

impl WorkDir {
    pub fn new() -> WorkDir {
        WorkDir {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn join(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, contents).unwrap();
        p
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.join(rel)).unwrap()
    }

    /// Runs a bash script in this directory (for pipelines: `prog | head -1`, redirections).
    pub fn bash(&self, script: &str) -> Output {
        Command::new("bash")
            .arg("-c")
            .arg(script)
            .current_dir(self.path())
            .output()
            .unwrap()
    }

    /// A command for a workspace binary, run in this directory with a clean logging setup.
    pub fn cmd(&self, program: &str) -> Cmd {
        let mut c = Command::new(bin(program));
        c.current_dir(self.path());
        c.env_remove("RUN_ID")
            .env_remove("TICKERLAKE_CONFIG")
            .env_remove("TICKERLAKE_LOG_FORMAT");
        Cmd {
            cmd: c,
            stdin: None,
            program: program.to_string(),
        }
    }
}

impl WorkDir {
    /// `pipeline.sh` of the repository, run in this directory with the workspace's binaries
    /// (`TICKERLAKE_BIN`) and no alert channel or heartbeat from the caller's environment.
    pub fn pipeline(&self) -> Cmd {
        let mut c = Command::new("bash");
        c.arg(repo_root().join("pipeline.sh"));
        c.current_dir(self.path());
        let bins = bin("run-record").parent().unwrap().to_path_buf();
        c.env("TICKERLAKE_BIN", bins);
        for k in [
            "RUN_ID",
            "TICKERLAKE_CONFIG",
            "TICKERLAKE_LOG_FORMAT",
            "TICKERLAKE_TRIGGER",
            "ALERT_WEBHOOK",
            "ALERT_COMMAND",
            "TELEGRAM_TOKEN",
            "TELEGRAM_CHAT_ID",
            "HC_URL",
        ] {
            c.env_remove(k);
        }
        Cmd {
            cmd: c,
            stdin: None,
            program: "pipeline.sh".to_string(),
        }
    }
}

/// A command to run, builder style.
pub struct Cmd {
    cmd: Command,
    stdin: Option<Vec<u8>>,
    program: String,
}

impl Cmd {
    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Cmd {
        self.cmd.arg(a);
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(mut self, args: I) -> Cmd {
        self.cmd.args(args);
        self
    }

    pub fn env(mut self, k: &str, v: impl AsRef<OsStr>) -> Cmd {
        self.cmd.env(k, v);
        self
    }

    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Cmd {
        self.stdin = Some(bytes.into());
        self
    }

    /// The command itself, to spawn and signal (stdin, stdout and stderr as the caller sets).
    pub fn into_command(self) -> Command {
        self.cmd
    }

    pub fn stdin_fixture(self, rel: &str) -> Cmd {
        let bytes = std::fs::read(fixture(rel)).unwrap();
        self.stdin(bytes)
    }

    pub fn run(mut self) -> Run {
        self.cmd.stdin(if self.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        self.cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = self.cmd.spawn().unwrap();
        if let Some(bytes) = self.stdin.take() {
            let mut stdin = child.stdin.take().unwrap();
            // Feed stdin from a thread so a program that writes before reading all input cannot deadlock.
            let feeder = std::thread::spawn(move || {
                let _ = stdin.write_all(&bytes);
            });
            let out = child.wait_with_output().unwrap();
            let _ = feeder.join();
            return Run {
                out,
                program: self.program,
            };
        }
        Run {
            out: child.wait_with_output().unwrap(),
            program: self.program,
        }
    }

    pub fn succeeds(self) -> Run {
        self.run().code_is(0)
    }

    pub fn fails_with(self, code: i32) -> Run {
        self.run().code_is(code)
    }
}

/// A finished run.
pub struct Run {
    pub out: Output,
    program: String,
}

impl Run {
    pub fn code(&self) -> Option<i32> {
        self.out.status.code()
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }

    fn describe(&self) -> String {
        let cut = |s: String| match s.char_indices().nth(4000) {
            Some((at, _)) => format!("{}…[{} bytes]", &s[..at], s.len()),
            None => s,
        };
        format!(
            "{} exited with {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.program,
            self.out.status.code(),
            cut(self.stdout()),
            cut(self.stderr())
        )
    }

    pub fn code_is(self, code: i32) -> Run {
        assert_eq!(self.out.status.code(), Some(code), "{}", self.describe());
        self
    }

    pub fn stdout_is(self, expected: &str) -> Run {
        assert_eq!(self.stdout(), expected, "{}", self.describe());
        self
    }

    pub fn stderr_is_empty(self) -> Run {
        assert!(
            self.out.stderr.is_empty(),
            "expected a quiet stderr; {}",
            self.describe()
        );
        self
    }

    pub fn stderr_contains(self, needle: &str) -> Run {
        assert!(
            self.stderr().contains(needle),
            "stderr lacks {needle:?}; {}",
            self.describe()
        );
        self
    }

    pub fn stdout_contains(self, needle: &str) -> Run {
        assert!(
            self.stdout().contains(needle),
            "stdout lacks {needle:?}; {}",
            self.describe()
        );
        self
    }
}

/// Parses NDJSON text into JSON values (panics with the line on error).
pub fn ndjson_values(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("line {}: {e}: {l}", i + 1))
        })
        .collect()
}

/// Runs `../shared/bench/gen_bars.py` (the benchmark data generator, with `.venv`'s numpy) with
/// `args`, writing `name` in `w`; returns its path.
pub fn gen_bars(w: &WorkDir, name: &str, args: &[&str]) -> PathBuf {
    let python = venv_python().expect("no .venv: run `make venv` (make test does)");
    let out = std::process::Command::new(python)
        .arg(shared("bench/gen_bars.py"))
        .args(args)
        .arg("-o")
        .arg(w.join(name))
        .output()
        .expect("gen_bars.py runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    w.join(name)
}

/// The float32 values of a Qlib `.bin` file (the start index first), little-endian.
pub fn floats(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// A real S3-compatible server on 127.0.0.1 for one test: `s3s-fs` (installed by `.ci/run`;
/// `$TICKERLAKE_S3S_FS` names another binary) serving `root`, where each directory is a bucket
/// and each file an object. It checks request signatures (SigV4) against its one key pair.
pub struct S3Server {
    child: std::process::Child,
    pub port: u16,
}

impl S3Server {
    pub const ACCESS_KEY: &'static str = "tickerlake-test";
    pub const SECRET_KEY: &'static str = "tickerlake-test-secret";

    pub fn start(root: &Path) -> S3Server {
        let exe = std::env::var_os("TICKERLAKE_S3S_FS")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("s3s-fs"));
        let port = free_port();
        let child = Command::new(&exe)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args([
                "--access-key",
                Self::ACCESS_KEY,
                "--secret-key",
                Self::SECRET_KEY,
            ])
            .arg(root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "{}: {e}: the S3 tests need s3s-fs (cargo install --locked s3s-fs@0.14.1 \
                     --features binary; .ci/run installs it)",
                    exe.display()
                )
            });
        let server = S3Server { child, port };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "s3s-fs did not listen on {port}"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        server
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nobody listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A TCP proxy in front of a server that answers its first `fail` connections itself with
/// `status` (after reading the request head) and forwards every later one unchanged: a server
/// that is briefly unavailable.
pub struct FaultProxy {
    pub port: u16,
    pub failed: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl FaultProxy {
    pub fn start(upstream: u16, fail: usize, status: u16) -> FaultProxy {
        FaultProxy::run(upstream, 0, fail, status)
    }

    /// A server that dies: the first `pass` connections are forwarded, every later one is
    /// answered with `status` (`failed` counts them).
    pub fn dying(upstream: u16, pass: usize, status: u16) -> FaultProxy {
        FaultProxy::run(upstream, pass, usize::MAX, status)
    }

    fn run(upstream: u16, pass: usize, fail: usize, status: u16) -> FaultProxy {
        use std::io::Read;
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let failed = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = failed.clone();
        std::thread::spawn(move || {
            let mut seen = 0usize;
            for conn in listener.incoming() {
                let Ok(mut client) = conn else { return };
                seen += 1;
                if seen > pass && count.load(Ordering::SeqCst) < fail {
                    count.fetch_add(1, Ordering::SeqCst);
                    let mut head = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match client.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let _ = write!(
                        client,
                        "HTTP/1.1 {status} Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    );
                    continue;
                }
                let Ok(server) = std::net::TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let (mut c1, mut s1) = (client, server);
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut c1, &mut s1);
                    let _ = s1.shutdown(std::net::Shutdown::Write);
                });
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut s2, &mut c2);
                    let _ = c2.shutdown(std::net::Shutdown::Write);
                });
            }
        });
        FaultProxy { port, failed }
    }
}

/// Real clients read a to-parquet file or lake (`tests/interop/check_parquet.py`: DuckDB and
/// pyarrow, or pyarrow's own S3 client for `s3lake`) and must find every row, type and value of
/// `input`. `types` is the price type, then optionally the volume type; `env` adds variables
/// (the S3 endpoint and keys).
pub fn check_parquet(
    mode: &str,
    path: impl AsRef<OsStr>,
    input: &Path,
    types: &[&str],
    env: &[(&str, &str)],
) {
    let python = venv_python().expect("no .venv: run `make venv` (make test does)");
    let out = Command::new(python)
        .arg(repo_root().join("tests/interop/check_parquet.py"))
        .arg(mode)
        .arg(path.as_ref())
        .arg(input)
        .args(types)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{mode} {types:?}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The genuine Stooq AAPL download (fixtures/real/stooq) as canonical Bar NDJSON of symbol AAPL,
/// from `from` on (to-parquet reads the CSV, then streams it back), made in `w`.
pub fn stooq_aapl_bars(w: &WorkDir, from: &str) -> String {
    w.cmd("to-parquet")
        .args([
            "--input-format",
            "csv",
            "--symbol",
            "AAPL",
            "--provider",
            "stooq",
        ])
        .arg(fixture("real/stooq/aapl_us_d_1984-09-07_2026-02-03.csv"))
        .args(["-o", "stooq-aapl.parquet"])
        .succeeds();
    w.cmd("to-parquet")
        .args(["--cat", "stooq-aapl.parquet", "--from", from])
        .succeeds()
        .stdout()
}
