//! Command line of the `replay-server` developer tool.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Parser;
use tickerlake::ExitCode;
use tickerlake::cli::{CommonArgs, Program};

use crate::{Error, ReplayServer, Routes};

const EXAMPLES: &str = "\
Examples:
  # Serve the Yahoo recordings on a free port; the port is the first line on stdout.
  replay-server fixtures/replay/yahoo.yaml > port.txt &
  curl \"http://127.0.0.1:$(cat port.txt)/v8/finance/chart/AAPL?interval=1d\"

  # Fixed port, request log as JSON lines, stop after 60 idle seconds.
  replay-server fixtures/replay/yahoo.yaml --port 8765 --log requests.ndjson --idle-exit 60s

The mapping file format and every fault are described in docs/replay-server.md.";

/// Replays recorded HTTP responses on 127.0.0.1 with injected faults (429/5xx sequences,
/// Retry-After, random failures, delays, truncated bodies, resets), for offline tests and the demo.
#[derive(Debug, Parser)]
#[command(name = "replay-server", version, after_long_help = EXAMPLES)]
pub struct Cli {
    /// Route mapping file (YAML)
    #[arg(value_name = "ROUTES", value_parser = tickerlake::cli::LocalPath)]
    pub routes: PathBuf,

    /// Port to listen on; 0 picks a free one. The bound port is printed on stdout.
    #[arg(long, default_value_t = 0)]
    pub port: u16,

    /// Loopback address to bind (only loopback addresses are accepted)
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub bind: IpAddr,

    /// Append one JSON line per request to FILE (default: none; -v logs requests on stderr)
    #[arg(long, value_name = "FILE", value_parser = tickerlake::cli::LocalPath)]
    pub log: Option<PathBuf>,

    /// Exit after this long without a request (e.g. 30s, 5m)
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_span)]
    pub idle_exit: Duration,

    /// Exit after this long in any case
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_span)]
    pub max_time: Duration,

    #[command(flatten)]
    pub common: CommonArgs,
}

fn parse_span(s: &str) -> Result<Duration, String> {
    tickerlake::config::Span::parse(s).map(|s| s.0)
}

impl Program for Cli {
    fn common(&self) -> &CommonArgs {
        &self.common
    }
}

pub fn run(cli: Cli, _config: tickerlake::config::Config) -> Result<ExitCode, Error> {
    let routes = Routes::from_file(&cli.routes)?;
    let sink: Option<Box<dyn Write + Send>> = match &cli.log {
        Some(p) => {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(|source| Error::Io {
                    path: p.display().to_string(),
                    source,
                })?;
            Some(Box::new(f))
        }
        None => None,
    };
    let server = ReplayServer::start_with_log(routes, SocketAddr::new(cli.bind, cli.port), sink)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", server.addr().port())
        .and_then(|()| out.flush())
        .map_err(|source| Error::Io {
            path: "<stdout>".into(),
            source,
        })?;
    drop(out);
    tracing::info!(addr = %server.addr(), "serving");
    let started = Instant::now();
    let mut seen = 0;
    loop {
        std::thread::sleep(Duration::from_millis(50));
        let new = server.requests_since(seen);
        for r in &new {
            tracing::info!(method = %r.method, target = %r.target, status = ?r.status, fault = ?r.fault, "request");
        }
        seen += new.len();
        if server.idle_for() >= cli.idle_exit || started.elapsed() >= cli.max_time {
            return Ok(ExitCode::Success);
        }
    }
}
