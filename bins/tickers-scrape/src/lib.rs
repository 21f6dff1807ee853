//! `tickers-scrape`: ticker universes from exchange listings.
//!
//! A source's files are read whole (listings are a few MB at most), their digest kept, their
//! structure checked, and only then parsed into Ticker records named as listings are
//! (`tickerlake::listing`). A source whose structure drifted, or whose row count fell below
//! `scrape.min_rows_ratio` of its last good run, yields nothing: a half-parsed listing must never
//! reach the universe, where the missing rows would read as delistings.
//!
//! Sources run one after another; each ends `ok`, `structure_error` or `fetch_error` in the status
//! file, and one source's failure never stops the others.
//!
//! - [`cli`], [`options`]: the command line, and the plain options the run takes;
//! - [`download`]: a source's files fetched politely (pauses, retries honouring `Retry-After`,
//!   proxies), over the `net` crate `ohlcv-fetch` uses too;
//! - [`link`]: a file found by its name among the links of its downloads page;
//! - [`raw`]: `--raw-dir`, every download kept as it came;
//! - [`source`]: raw files, what a parse yields, structure errors, text decoding;
//! - [`sources`]: one module per kind of source (Nasdaq Trader, the SEC, Euronext, Xetra, the Nasdaq
//!   screener, HTML index tables, hand-kept lists);
//! - [`status`]: the per-source status file and the row-count guard;
//! - [`summary`]: per-source counts and the universe's totals per market and index.

pub mod cli;
pub mod download;
pub mod link;
pub mod options;
pub mod raw;
pub mod source;
pub mod sources;
pub mod status;
pub mod summary;

use std::io::Read;
use std::time::Instant;

use sha2::{Digest, Sha256};
use tickerlake::config::{Config, SourceKind};
use tickerlake::ndjson::NdjsonWriter;
use tickerlake::records::Ticker;
use tickerlake::{ExitCode, HasExitCode};

use crate::cli::Cli;
use crate::download::{Downloaded, Downloader, Fetch};
use crate::options::{Options, Planned};
use crate::raw::RawDir;
use crate::source::{Context, Parsed, RawFile, StructureError};
use crate::status::{FileDigest, GoodRun, Outcome, SourceStatus, StatusFile};
use crate::summary::{SourceSummary, Summary};

/// Everything that ends a run early (a source's failure does not: it is its status).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Lib(#[from] tickerlake::Error),
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Data(String),
    #[error("{0}")]
    Config(String),
}

impl From<tickerlake::scrape_status::StatusError> for Error {
    fn from(e: tickerlake::scrape_status::StatusError) -> Error {
        match e {
            tickerlake::scrape_status::StatusError::Io { path, source } => {
                Error::Lib(tickerlake::Error::Read { name: path, source })
            }
            bad => Error::Data(bad.to_string()),
        }
    }
}

impl HasExitCode for Error {
    fn exit_code(&self) -> ExitCode {
        match self {
            Error::Lib(e) => e.exit_code(),
            Error::Usage(_) => ExitCode::Usage,
            Error::Data(_) => ExitCode::DataErr,
            Error::Config(_) => ExitCode::Config,
        }
    }
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
    execute(&opts)
}

/// Reads the files whole.
fn read_files(opts: &Options) -> Result<Vec<RawFile>, Error> {
    let mut files = Vec::new();
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
        files.push(RawFile {
            name: input.name,
            bytes,
        });
    }
    Ok(files)
}

fn digests(files: &[RawFile]) -> Vec<FileDigest> {
    files
        .iter()
        .map(|f| FileDigest {
            name: f.name.clone(),
            bytes: f.bytes.len() as u64,
            sha256: format!("{:x}", Sha256::digest(&f.bytes)),
        })
        .collect()
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

/// How one source's run went.
pub struct SourceRun {
    outcome: Outcome,
    tickers: Vec<Ticker>,
    counts: source::Counts,
    files: Vec<FileDigest>,
    code: Option<String>,
    message: Option<String>,
    /// Requests retried while downloading it.
    retries: u32,
}

impl SourceRun {
    fn failed(outcome: Outcome, code: &str, message: String, files: Vec<FileDigest>) -> SourceRun {
        SourceRun {
            outcome,
            tickers: Vec::new(),
            counts: Default::default(),
            files,
            code: Some(code.to_string()),
            message: Some(message),
            retries: 0,
        }
    }
}

/// What the run needs besides the options.
struct Runner<'a> {
    opts: &'a Options,
    downloader: Option<Downloader>,
    raw: Option<RawDir>,
    /// Downloads `--raw-dir` could not keep: the run ends with exit 74.
    raw_failures: u64,
}

impl Runner<'_> {
    /// The files of the source: `--input`'s, a download's, none for a list; every download
    /// kept in `--raw-dir`, pages included.
    fn files(&mut self, index: usize, p: &Planned) -> Result<Result<Downloaded, Fetch>, Error> {
        if !self.opts.inputs.is_empty() {
            return Ok(Ok(Downloaded {
                files: read_files(self.opts)?,
                pages: Vec::new(),
            }));
        }
        let Some(downloader) = &self.downloader else {
            return Ok(Ok(Downloaded::default()));
        };
        if p.source.kind == SourceKind::List {
            return Ok(Ok(Downloaded::default()));
        }
        let got = downloader.source_files(index, &p.name, &p.source);
        let kept: &[RawFile] = match &got {
            Ok(d) => &[d.pages.as_slice(), d.files.as_slice()].concat(),
            Err(Fetch::NoLink { pages, .. }) => pages,
            Err(Fetch::Failed { .. }) => &[],
        };
        if let Some(raw) = &self.raw {
            for f in kept {
                if let Err(e) = raw.keep(&p.name, f) {
                    tracing::error!("{}: {}: --raw-dir: not kept: {e}", p.name, f.name);
                    self.raw_failures += 1;
                }
            }
        }
        Ok(got)
    }

    fn source(
        &mut self,
        index: usize,
        p: &Planned,
        last_good: Option<&GoodRun>,
    ) -> Result<SourceRun, Error> {
        let retried_before = self.retries();
        let mut run = self.parsed_source(index, p, last_good)?;
        run.retries = self.retries() - retried_before;
        Ok(run)
    }

    fn retries(&self) -> u32 {
        self.downloader.as_ref().map_or(0, |d| d.retries.get())
    }

    fn parsed_source(
        &mut self,
        index: usize,
        p: &Planned,
        last_good: Option<&GoodRun>,
    ) -> Result<SourceRun, Error> {
        let opts = self.opts;
        let (files, pages) = match self.files(index, p)? {
            Ok(got) => (got.files, got.pages),
            Err(Fetch::Failed { code, message }) => {
                tracing::error!(
                    code = code.as_str(),
                    "{}: download failed: {message}: no records",
                    p.name
                );
                let outcome = Outcome::FetchError;
                return Ok(SourceRun::failed(
                    outcome,
                    code.as_str(),
                    message,
                    Vec::new(),
                ));
            }
            Err(Fetch::NoLink { message, pages }) => {
                tracing::error!(
                    code = status::STRUCTURE,
                    "{}: structure error: {message}: no records",
                    p.name
                );
                let outcome = Outcome::StructureError;
                return Ok(SourceRun::failed(
                    outcome,
                    status::STRUCTURE,
                    message,
                    digests(&pages),
                ));
            }
        };
        let mut digests = digests(&pages);
        digests.extend(self::digests(&files));
        let cx = Context {
            source: p.name.clone(),
            as_of: opts.as_of,
        };
        let kind = p.source.kind;
        let parsed = parse(
            kind,
            &files,
            &p.source.tickers,
            p.source.table.as_ref(),
            &cx,
        )
        .and_then(|parsed| check_records(parsed, &p.name, kind == SourceKind::List))
        .map_err(|e| (status::STRUCTURE, e))
        .and_then(|parsed| {
            // A list shrinks when its owner edits it; --allow-shrink accepts a listing that did.
            let guarded = kind != SourceKind::List && !opts.allow_shrink;
            let last = last_good.filter(|_| guarded);
            match status::guard(parsed.tickers.len() as u64, last, opts.min_rows_ratio) {
                Some(why) => Err((status::SHRANK, StructureError::new(&p.name, why))),
                None => Ok(parsed),
            }
        });
        Ok(match parsed {
            Ok(parsed) => SourceRun {
                outcome: Outcome::Ok,
                tickers: parsed.tickers,
                counts: parsed.counts,
                files: digests,
                code: None,
                message: None,
                retries: 0,
            },
            Err((code, e)) => {
                tracing::error!(code, "{}: structure error: {e}: no records", p.name);
                SourceRun::failed(Outcome::StructureError, code, e.to_string(), digests)
            }
        })
    }
}

pub fn execute(opts: &Options) -> Result<ExitCode, Error> {
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
    let downloader = if opts.inputs.is_empty() {
        Some(Downloader::new(&opts.download).map_err(Error::Config)?)
    } else {
        None
    };
    let mut runner = Runner {
        opts,
        downloader,
        raw: opts.raw_dir.as_deref().map(|d| RawDir::new(d, opts.as_of)),
        raw_failures: 0,
    };
    let mut tickers: Vec<Ticker> = Vec::new();
    let mut summaries = Vec::new();
    for (index, p) in opts.sources.iter().enumerate() {
        let source_started = Instant::now();
        let last_good = status_file
            .sources
            .get(&p.name)
            .and_then(|s| s.last_good.clone());
        let run = runner.source(index, p, last_good.as_ref())?;
        let seconds = source_started.elapsed().as_secs_f64();
        let records = run.tickers.len() as u64;
        if let Some(path) = &opts.status {
            let entry = SourceStatus {
                kind: p.source.kind.name().to_string(),
                status: run.outcome,
                as_of: opts.as_of,
                records,
                counts: run.counts.clone(),
                files: run.files.clone(),
                seconds,
                code: run.code.clone(),
                message: run.message.clone(),
                last_good: if run.outcome == Outcome::Ok {
                    Some(GoodRun {
                        as_of: opts.as_of,
                        records,
                    })
                } else {
                    last_good
                },
            };
            status_file.sources.insert(p.name.clone(), entry);
            // After each source: a run stopped half-way keeps what it learnt.
            status_file.save(path)?;
        }
        summaries.push(SourceSummary::new(p, &run, seconds));
        tickers.extend(run.tickers);
    }
    tickers.sort_by(|a, b| {
        (a.symbol.as_str(), a.source.as_deref()).cmp(&(b.symbol.as_str(), b.source.as_deref()))
    });
    let summary = Summary::new(summaries, &tickers, started.elapsed().as_secs_f64());
    summary.print(opts.verbose);
    if let Some(path) = &opts.summary {
        tickerlake::cli::write_summary(path, &summary)?;
    }
    // The records last: the status and the summary describe the sources whatever the reader of
    // stdout does (`| head` closes it early).
    let mut out = NdjsonWriter::new(tickerlake::io::Output::stdout(), "<stdout>");
    for t in &tickers {
        out.write(t)?;
    }
    out.into_inner()?.finish()?;
    let code = summary.exit_code();
    Ok(if runner.raw_failures > 0 {
        code.merge(ExitCode::IoErr)
    } else {
        code
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
