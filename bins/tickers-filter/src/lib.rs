//! `tickers-filter`: the universe the nightly fetch works from, made from scraped listings.
//!
//! Records are read whole (a universe is tens of thousands of listings), merged by name, judged
//! by the rules in their documented order, thinned to one share class per issuer, and written
//! sorted by name, byte for byte the same for the same input and configuration.
//!
//! - [`cli`], [`options`]: the command line, and the plain options the run takes;
//! - [`merge`]: several sources' records of one listing made one;
//! - [`junk`]: the rules, and how a security name is read;
//! - [`classes`]: one share class per issuer;
//! - [`lifecycle`]: statuses over the previous universe, delistings only with evidence;
//! - [`sample`]: the market-cap stratified sample, the test-mode sample, shards;
//! - [`report`]: what each rule took, per source and per market.

pub mod classes;
pub mod cli;
pub mod junk;
pub mod lifecycle;
pub mod merge;
pub mod options;
pub mod report;
pub mod sample;

use std::collections::HashSet;

use tickerlake::config::Config;
use tickerlake::ndjson::{NdjsonWriter, Rejects};
use tickerlake::records::Ticker;
use tickerlake::{ExitCode, HasExitCode};

use crate::cli::Cli;
use crate::junk::Rule;
use crate::merge::Record;
use crate::options::Options;
use crate::report::Report;

/// Everything that ends a run early.
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

pub fn run(cli: Cli, config: Config) -> Result<ExitCode, Error> {
    let opts = options::options(&cli, &config)?;
    tickerlake::io::refuse_outputs_over_inputs(
        &[
            ("--report", opts.report.as_deref()),
            ("--rejects", opts.rejects.as_deref()),
            ("--delta", opts.delta.as_deref()),
        ],
        &opts
            .inputs
            .iter()
            .chain(&opts.previous)
            .chain(&opts.status)
            .chain(&opts.state)
            .cloned()
            .collect::<Vec<_>>(),
    )?;
    execute(&opts)
}

/// Every record of `paths`, with the keys the contract does not know, decoded on all cores
/// (`tickerlake::parallel`: results and bad lines in input order).
fn read(paths: &[std::path::PathBuf], rejects: &mut Rejects) -> Result<Vec<Record>, Error> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut records = Vec::new();
    for path in paths {
        let input = tickerlake::io::Input::open(path)?;
        let name = input.name.clone();
        let chunker = tickerlake::parallel::Chunker::new(
            input.reader,
            name.clone(),
            tickerlake::ndjson::DEFAULT_MAX_LINE,
        );
        let decode = |chunk: &tickerlake::parallel::Chunk| {
            let mut reader = chunk.reader(&name, tickerlake::ndjson::DEFAULT_MAX_LINE);
            let mut got = Vec::new();
            let mut bad = Vec::new();
            while let Some(next) = reader.next_record_with_extra::<Ticker>() {
                match next {
                    Ok(r) => got.push(r),
                    Err(e) => bad.push(e),
                }
            }
            (got, bad)
        };
        tickerlake::parallel::map_ordered(
            chunker,
            threads,
            decode,
            |(got, bad): (Vec<Record>, Vec<tickerlake::ndjson::ReadError>)| -> Result<(), Error> {
                for e in bad {
                    rejects.handle(e)?;
                }
                records.extend(got);
                Ok(())
            },
        )?;
    }
    Ok(records)
}

pub fn execute(opts: &Options) -> Result<ExitCode, Error> {
    let started = std::time::Instant::now();
    let mut rejects = Rejects::to_path(opts.rejects.as_deref())?;
    let records = read(&opts.inputs, &mut rejects)?;
    let lines_rejected = rejects.count() > 0;
    // What the lifecycle reads as evidence, gathered only when there is one to run.
    let evidence = opts
        .previous
        .is_some()
        .then(|| lifecycle::Evidence::of(&records));
    let mut report = Report::new(&records);
    let (merged, duplicates) = merge::merge(records, &opts.source_precedence);
    report.merged = duplicates;
    let mut kept = apply_rules(merged, opts, &mut report);
    if let (Some(path), Some(evidence)) = (&opts.previous, evidence) {
        // The previous universe is this program's own output: a bad line there is an error,
        // never set aside (its listings would read as new next time).
        let mut previous = read(std::slice::from_ref(path), &mut Rejects::none())?;
        // The lifecycle walks both universes in name order.
        previous.sort_by(|a, b| a.record.symbol.cmp(&b.record.symbol));
        let previous_len = previous.len() as u64;
        let mut names = HashSet::new();
        if let Some(twice) = previous
            .iter()
            .find(|r| !names.insert(r.record.symbol.as_str()))
        {
            return Err(Error::Data(format!(
                "{}: {} is listed twice: not a universe tickers-filter wrote",
                path.display(),
                twice.record.symbol
            )));
        }
        drop(names);
        // A run older than the universe it follows would undo what it saw.
        if let Some(newest) = previous.iter().filter_map(|r| r.record.last_seen).max()
            && opts.as_of < newest
        {
            return Err(Error::Usage(format!(
                "--as-of {}: before {newest}, the newest last_seen of --previous {}: a run \
                 follows the universe it changes",
                opts.as_of,
                path.display()
            )));
        }
        if lines_rejected {
            tracing::warn!(
                "input lines were set aside (--rejects): this run's listings are not all known, \
                 so nothing is delisted"
            );
        }
        let rules = lifecycle::Rules {
            as_of: opts.as_of,
            sources_ok: match &opts.status {
                Some(p) => Some(sources_ok(p)?),
                None => None,
            },
            max_delist_pct: opts.max_delist_pct,
            archive_after_months: opts.archive_after_months,
            accept_mass_delisting: opts.accept_mass_delisting,
            fetch_failures: match &opts.state {
                Some(p) => Some(fetch_failures(p)?),
                None => None,
            },
            failed_nights: opts.failed_nights,
            evidence,
            listing_sources: opts.listing_sources.clone(),
            lines_rejected,
        };
        let (universe, life) = lifecycle::apply(kept, previous, &rules);
        kept = universe;
        for (source, (gone, before)) in &life.mass_delisting {
            let what = if opts.accept_mass_delisting {
                "accepted (--accept-mass-delisting)"
            } else {
                "refused: they keep their status (--accept-mass-delisting if the venue really \
                 delisted them)"
            };
            tracing::warn!(
                "{source}: {gone} of its {before} active listings vanished at once, more than \
                 filter.max_delist_pct ({} %): {what}",
                opts.max_delist_pct
            );
        }
        if let Some(path) = &opts.delta {
            let mut out = NdjsonWriter::new(
                tickerlake::io::Output::open(Some(path))?,
                path.display().to_string(),
            );
            for t in &life.delta {
                out.write(t)?;
            }
            out.into_inner()?.finish()?;
        }
        let new = life.transitions.get("new").copied().unwrap_or(0);
        if previous_len > 0 && new > 20 && new * 2 > previous_len {
            tracing::warn!(
                "{new} of this run's listings are new to --previous ({previous_len} listings): \
                 is it a whole universe, not a sample or a shard? Listings it lacks have no history"
            );
        }
        report.lifecycle = Some(life);
    }
    match &opts.sample {
        Some(options::Sample::Stratified(s)) => {
            let (drawn, sampled) = sample::stratified(kept, s);
            if sampled.failed_short > 0 {
                tracing::warn!(
                    "--failed-pct: {} delisted listings short: the sample has fewer failed \
                     listings than asked, and more active ones",
                    sampled.failed_short
                );
            }
            kept = drawn;
            report.sample = Some(sampled);
        }
        Some(options::Sample::Plain { n, seed }) => kept = sample::plain(kept, *n, *seed),
        None => {}
    }
    if let Some((part, parts)) = opts.shard {
        kept = sample::shard(kept, part, parts);
    }
    report.finish(&kept, started.elapsed().as_secs_f64());
    report.print(opts.verbose);
    if let Some(path) = &opts.report {
        tickerlake::cli::write_summary(path, &report)?;
    }
    let mut out = NdjsonWriter::new(tickerlake::io::Output::stdout(), "<stdout>");
    for r in &kept {
        out.write(r)?;
    }
    out.into_inner()?.finish()?;
    let rejected = rejects.finish()?;
    let mut code = if rejected > 0 {
        ExitCode::Findings
    } else {
        ExitCode::Success
    };
    if report.lifecycle.as_ref().is_some_and(|l| l.refused()) && !opts.accept_mass_delisting {
        code = code.merge(ExitCode::TempFail);
    }
    Ok(code)
}

/// The junk rules, then one share class per issuer: the listings kept, each left out counted.
fn apply_rules(merged: Vec<Record>, opts: &Options, report: &mut Report) -> Vec<Record> {
    let listed: HashSet<&str> = merged.iter().map(|r| r.record.symbol.as_str()).collect();
    let rules: Vec<Option<Rule>> = merged
        .iter()
        .map(|r| junk::rule_for(&r.record, &opts.keep, &listed))
        .collect();
    drop(listed);
    let mut kept: Vec<Record> = Vec::with_capacity(merged.len());
    for (r, rule) in merged.into_iter().zip(rules) {
        match rule {
            Some(rule) => report.left_out(&r.record, rule),
            None => kept.push(r),
        }
    }
    if let Some(preference) = &opts.class_preference {
        let drop = classes::classes_to_drop(&kept, preference);
        let mut drop = drop.into_iter().peekable();
        let mut i = 0;
        kept.retain(|r| {
            let gone = drop.peek() == Some(&i);
            if gone {
                drop.next();
                report.left_out(&r.record, Rule::ShareClass);
            }
            i += 1;
            !gone
        });
    }
    kept
}

/// Each symbol's failed fetches in a row, from ohlcv-fetch's state file (which must be there:
/// it is evidence).
fn fetch_failures(path: &std::path::Path) -> Result<std::collections::HashMap<String, u32>, Error> {
    if !path.exists() {
        return Err(Error::Lib(tickerlake::Error::Open {
            path: path.display().to_string(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        }));
    }
    let state = tickerlake::fetch_state::State::load(path).map_err(|e| match e {
        tickerlake::fetch_state::StateError::Bad { path, message } => {
            Error::Data(format!("{path}: not an ohlcv-fetch state file ({message})"))
        }
        other => Error::Lib(tickerlake::Error::Read {
            name: path.display().to_string(),
            source: std::io::Error::other(other.to_string()),
        }),
    })?;
    Ok(state
        .symbols
        .into_iter()
        .map(|(k, v)| (k, v.consecutive_failures))
        .collect())
}

/// What tickers-scrape's status file says of each source (which must be there: it is evidence).
fn sources_ok(path: &std::path::Path) -> Result<lifecycle::SourcesOk, Error> {
    if !path.exists() {
        return Err(Error::Lib(tickerlake::Error::Open {
            path: path.display().to_string(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        }));
    }
    use tickerlake::scrape_status::{Outcome, StatusError, StatusFile};
    let file = StatusFile::load(path).map_err(|e| match e {
        StatusError::Io { path, source } => {
            Error::Lib(tickerlake::Error::Read { name: path, source })
        }
        bad => Error::Data(bad.to_string()),
    })?;
    Ok(file
        .sources
        .into_iter()
        .map(|(name, s)| {
            // A row set aside (a bad symbol, an unknown venue) may be a listing: not all known.
            let set_aside = s.counts.bad_symbols > 0 || s.counts.unknown_venues > 0;
            let entry = lifecycle::StatusEntry {
                ok: s.status == Outcome::Ok && !set_aside,
                records: s.records,
                as_of: s.as_of,
            };
            (name, entry)
        })
        .collect())
}
