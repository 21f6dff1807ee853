//! `tickers-scrape`: ticker universes from exchange listings.
//!
//! A source's files are read whole (listings are a few MB at most), their digest kept, their
//! structure checked, and only then parsed into Ticker records named as listings are
//! (`tickerlake::listing`). A source whose structure drifted, or whose row count fell below
//! `scrape.min_rows_ratio` of its last good run, yields nothing: a half-parsed listing must never
//! reach the universe, where the missing rows would read as delistings.
//!
//! - [`cli`], [`options`]: the command line, and the plain options the run takes;
//! - [`source`]: raw files, what a parse yields, structure errors, text decoding;
//! - [`sources`]: one module per kind of source (Nasdaq Trader, the SEC, Euronext, Xetra, the Nasdaq
//!   screener, hand-kept lists);
//! - [`status`]: the per-source status file and the row-count guard.

pub mod cli;
pub mod options;
pub mod source;
pub mod sources;
pub mod status;

use std::io::Read;
use std::time::Instant;

use sha2::{Digest, Sha256};
use tickerlake::config::{Config, SourceKind};
use tickerlake::ndjson::NdjsonWriter;
use tickerlake::{ExitCode, HasExitCode};

use crate::cli::Cli;
use crate::options::Options;
use crate::source::{Context, Parsed, RawFile, StructureError};
use crate::status::{FileDigest, GoodRun, Outcome, SourceStatus, StatusFile};

/// Everything that ends a run early (a source's structure error does not: it is its status).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Lib(#[from] tickerlake::Error),
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Data(String),
}

impl HasExitCode for Error {
    fn exit_code(&self) -> ExitCode {
        match self {
            Error::Lib(e) => e.exit_code(),
            Error::Usage(_) => ExitCode::Usage,
            Error::Data(_) => ExitCode::DataErr,
        }
    }
}

/// The run's summary (stderr, `--summary`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Summary {
    pub source: String,
    pub status: Outcome,
    pub records: u64,
    #[serde(flatten)]
    pub counts: source::Counts,
    /// Records per venue (MIC; `none` without one).
    pub by_exchange: std::collections::BTreeMap<String, u64>,
    /// Records per index or group tag (`sp500`, `ndx`, a list's groups).
    pub by_index: std::collections::BTreeMap<String, u64>,
    pub seconds: f64,
}

pub fn run(cli: Cli, config: Config) -> Result<ExitCode, Error> {
    let opts = options::options(&cli, &config)?;
    tickerlake::io::refuse_outputs_over_inputs(
        &[
            ("--status", opts.status.as_deref()),
            ("--summary", opts.summary.as_deref()),
        ],
        &opts.inputs,
    )?;
    if opts.status.is_some()
        && opts.summary.is_some()
        && tickerlake::io::same_destination(opts.status.as_deref(), opts.summary.as_deref())
    {
        return Err(Error::Usage(
            "--status and --summary must be different files".into(),
        ));
    }
    execute(&opts, config.scrape.min_rows_ratio)
}

/// Reads the files whole, with their digests.
fn read_files(opts: &Options) -> Result<(Vec<RawFile>, Vec<FileDigest>), Error> {
    let mut files = Vec::new();
    let mut digests = Vec::new();
    for path in &opts.inputs {
        let mut input = tickerlake::io::Input::open(path)?;
        let mut bytes = Vec::new();
        input
            .reader
            .read_to_end(&mut bytes)
            .map_err(|source| tickerlake::Error::Read {
                name: input.name.clone(),
                source,
            })?;
        digests.push(FileDigest {
            name: input.name.clone(),
            bytes: bytes.len() as u64,
            sha256: format!("{:x}", Sha256::digest(&bytes)),
        });
        files.push(RawFile {
            name: input.name,
            bytes,
        });
    }
    Ok((files, digests))
}

/// Parses `files` as a source of `kind` (a list has its tickers in `listed` instead).
pub fn parse(
    kind: SourceKind,
    files: &[RawFile],
    listed: &[tickerlake::config::ListedTicker],
    table: Option<&tickerlake::config::HtmlTable>,
    cx: &Context,
) -> Result<Parsed, StructureError> {
    match kind {
        SourceKind::List => Ok(sources::list::parse(listed, cx)),
        SourceKind::HtmlTable => match table {
            Some(spec) => sources::html_table::parse(files, spec, cx),
            None => Err(StructureError::new(
                &cx.source,
                "no table: in its configuration",
            )),
        },
        SourceKind::Nasdaqtrader => sources::nasdaqtrader::parse(files, false, cx),
        SourceKind::NasdaqtraderTraded => sources::nasdaqtrader::parse(files, true, cx),
        SourceKind::Sec => sources::sec::parse(files, cx),
        SourceKind::Euronext => sources::euronext::parse(files, cx),
        SourceKind::Xetra => sources::xetra::parse(files, cx),
        SourceKind::NasdaqScreener => sources::screener::parse(files, cx),
    }
}

/// Why a parse that succeeded is not trusted: every record is checked against its contract
/// (one that fails is left out, with a warning), and a source that kept no record, or fewer
/// than half of the rows it read, has drifted — its rows were read as something they are not.
fn check_records(mut p: Parsed, source: &str, hand_kept: bool) -> Result<Parsed, StructureError> {
    let before = p.tickers.len();
    p.tickers.retain(|t| match tickerlake::Record::validate(t) {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!("{source}: {}: {e}: left out", t.symbol);
            false
        }
    });
    p.counts.bad_symbols += (before - p.tickers.len()) as u64;
    let c = &p.counts;
    let readable = c
        .rows
        .saturating_sub(c.test_issues + c.inactive + c.duplicates);
    let kept = p.tickers.len() as u64;
    if kept == 0 {
        return Err(StructureError::new(
            source,
            format!("no records from {} rows: every row was left out", c.rows),
        ));
    }
    // A hand-kept list has no format to drift: each bad entry was warned of.
    if kept * 2 < readable && !hand_kept {
        return Err(StructureError::new(
            source,
            format!(
                "only {kept} of {readable} rows could be read ({} unknown venues, {} bad \
                 symbols): the format has drifted",
                c.unknown_venues, c.bad_symbols
            ),
        ));
    }
    Ok(p)
}

pub fn execute(opts: &Options, min_rows_ratio: f64) -> Result<ExitCode, Error> {
    let started = Instant::now();
    // One run at a time updates the status file: runs of several sources may share it.
    let _status_lock = match &opts.status {
        Some(p) => Some(status::lock(p)?),
        None => None,
    };
    let mut status_file = match &opts.status {
        Some(p) => StatusFile::load(p)?,
        None => StatusFile::default(),
    };
    let last_good = status_file
        .sources
        .get(&opts.source)
        .and_then(|s| s.last_good.clone());
    let (files, digests) = read_files(opts)?;
    let cx = Context {
        source: opts.source.clone(),
        as_of: opts.as_of,
    };
    let parsed = parse(opts.kind, &files, &opts.listed, opts.table.as_ref(), &cx)
        .and_then(|p| check_records(p, &opts.source, opts.kind == SourceKind::List))
        .map_err(|e| (status::STRUCTURE, e))
        .and_then(|p| {
            // A list shrinks when its owner edits it; --allow-shrink accepts a listing that did.
            let guarded = opts.kind != SourceKind::List && !opts.allow_shrink;
            let last = last_good.as_ref().filter(|_| guarded);
            match status::guard(p.tickers.len() as u64, last, min_rows_ratio) {
                Some(why) => Err((status::SHRANK, StructureError::new(&opts.source, why))),
                None => Ok(p),
            }
        });
    let seconds = started.elapsed().as_secs_f64();
    let (outcome, mut tickers, counts, code, message) = match parsed {
        Ok(p) => (Outcome::Ok, p.tickers, p.counts, None, None),
        Err((code, e)) => {
            tracing::error!(code, "{}: structure error: {e}: no records", opts.source);
            (
                Outcome::StructureError,
                Vec::new(),
                Default::default(),
                Some(code.to_string()),
                Some(e.to_string()),
            )
        }
    };
    tickers.sort_by(|a, b| a.symbol.cmp(&b.symbol));
    let records = tickers.len() as u64;
    if let Some(path) = &opts.status {
        let entry = SourceStatus {
            kind: opts.kind.name().to_string(),
            status: outcome,
            as_of: opts.as_of,
            records,
            counts: counts.clone(),
            files: digests,
            seconds,
            code,
            message,
            last_good: if outcome == Outcome::Ok {
                Some(GoodRun {
                    as_of: opts.as_of,
                    records,
                })
            } else {
                last_good
            },
        };
        status_file.sources.insert(opts.source.clone(), entry);
        status_file.save(path)?;
    }
    let mut by_exchange = std::collections::BTreeMap::new();
    for t in &tickers {
        *by_exchange
            .entry(t.exchange.clone().unwrap_or_else(|| "none".into()))
            .or_insert(0) += 1;
    }
    let mut by_index = std::collections::BTreeMap::new();
    for tag in tickers.iter().flat_map(|t| &t.indexes) {
        *by_index.entry(tag.clone()).or_insert(0) += 1;
    }
    let summary = Summary {
        source: opts.source.clone(),
        status: outcome,
        records,
        counts,
        by_exchange,
        by_index,
        seconds,
    };
    let text = format!(
        "tickers-scrape: {}: {records} records ({} rows, {} test issues, {} bad symbols, {} \
         unknown venues), {:.2} s",
        summary.source,
        summary.counts.rows,
        summary.counts.test_issues,
        summary.counts.bad_symbols,
        summary.counts.unknown_venues,
        seconds
    );
    tickerlake::cli::print_summary(&text, &summary, opts.verbose);
    if let Some(path) = &opts.summary {
        tickerlake::cli::write_summary(path, &summary)?;
    }
    // The records last: the status and the summary describe the source whatever the reader of
    // stdout does (`| head` closes it early).
    let mut out = NdjsonWriter::new(tickerlake::io::Output::stdout(), "<stdout>");
    for t in &tickers {
        out.write(t)?;
    }
    out.into_inner()?.finish()?;
    Ok(match outcome {
        Outcome::Ok => ExitCode::Success,
        _ => ExitCode::DataErr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const KINDS: [SourceKind; 6] = [
        SourceKind::NasdaqScreener,
        SourceKind::Nasdaqtrader,
        SourceKind::NasdaqtraderTraded,
        SourceKind::Sec,
        SourceKind::Euronext,
        SourceKind::Xetra,
    ];

    fn cx() -> Context {
        Context {
            source: "x".into(),
            as_of: chrono::NaiveDate::from_ymd_opt(2025, 1, 2).unwrap(),
        }
    }

    fn raw(bytes: Vec<u8>) -> RawFile {
        RawFile {
            name: "f".into(),
            bytes,
        }
    }

    /// Lines built from the pieces listing files are made of, so that the parsers get past
    /// their headers.
    fn listing_like() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            Just("Symbol|Security Name|Market Category|Test Issue|ETF".to_string()),
            Just("ACT Symbol|Security Name|Exchange|CQS Symbol|ETF|Round Lot Size|Test Issue|NASDAQ Symbol".to_string()),
            Just("File Creation Time: 0721202521:31||||".to_string()),
            Just("{\"fields\":[\"cik\",\"name\",\"ticker\",\"exchange\"],\"data\":[".to_string()),
            "[A-Za-z0-9$^+=#*.|/ -]{0,40}",
            "\\PC{0,20}",
        ];
        proptest::collection::vec(piece, 0..12).prop_map(|v| v.join("\n").into_bytes())
    }

    proptest! {
        #[test]
        fn no_bytes_make_a_parser_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            for kind in KINDS {
                let _ = parse(kind, &[raw(bytes.clone())], &[], None, &cx());
                let _ = parse(kind, &[raw(bytes.clone()), raw(bytes.clone())], &[], None, &cx());
            }
        }

        #[test]
        fn no_listing_like_text_makes_a_parser_panic(a in listing_like(), b in listing_like()) {
            for kind in KINDS {
                let _ = parse(kind, &[raw(a.clone()), raw(b.clone())], &[], None, &cx());
                let _ = parse(kind, &[raw(a.clone())], &[], None, &cx());
            }
        }
    }

    #[test]
    fn a_genuine_listing_cut_anywhere_never_panics_and_never_parses_half() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/real/");
        let read = |p: &str| std::fs::read(format!("{dir}{p}")).unwrap();
        let listed = read("nasdaqtrader/nasdaqlisted_20250721.txt");
        let other = read("nasdaqtrader/otherlisted_20250721.txt");
        let sec = read("sec/company_tickers_exchange_commit2025-08-24.json");
        for cut in (0..listed.len() - 40).step_by(997) {
            let files = [raw(listed[..cut].to_vec()), raw(other.clone())];
            assert!(
                parse(SourceKind::Nasdaqtrader, &files, &[], None, &cx()).is_err(),
                "{cut}"
            );
        }
        for cut in (0..sec.len() - 1).step_by(997) {
            assert!(
                parse(
                    SourceKind::Sec,
                    &[raw(sec[..cut].to_vec())],
                    &[],
                    None,
                    &cx()
                )
                .is_err()
            );
        }
    }
}
