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
//! - [`report`]: what each rule took, per source and per market.

pub mod classes;
pub mod cli;
pub mod junk;
pub mod merge;
pub mod options;
pub mod report;

use std::collections::HashSet;

use tickerlake::config::Config;
use tickerlake::ndjson::{NdjsonReader, NdjsonWriter, Rejects};
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
}

impl HasExitCode for Error {
    fn exit_code(&self) -> ExitCode {
        match self {
            Error::Lib(e) => e.exit_code(),
            Error::Usage(_) => ExitCode::Usage,
        }
    }
}

pub fn run(cli: Cli, config: Config) -> Result<ExitCode, Error> {
    let opts = options::options(&cli, &config)?;
    tickerlake::io::refuse_outputs_over_inputs(
        &[
            ("--report", opts.report.as_deref()),
            ("--rejects", opts.rejects.as_deref()),
        ],
        &opts.inputs,
    )?;
    execute(&opts)
}

/// Every record of every input, with the keys the contract does not know.
fn read(opts: &Options, rejects: &mut Rejects) -> Result<Vec<Record>, Error> {
    let mut records = Vec::new();
    for path in &opts.inputs {
        let input = tickerlake::io::Input::open(path)?;
        let mut reader = NdjsonReader::new(input.reader, input.name);
        while let Some(next) = reader.next_record_with_extra::<Ticker>() {
            match next {
                Ok(r) => records.push(r),
                Err(e) => rejects.handle(e)?,
            }
        }
    }
    Ok(records)
}

pub fn execute(opts: &Options) -> Result<ExitCode, Error> {
    let started = std::time::Instant::now();
    let mut rejects = Rejects::to_path(opts.rejects.as_deref())?;
    let records = read(opts, &mut rejects)?;
    let mut report = Report::new(&records);
    let (merged, duplicates) = merge::merge(records, &opts.source_precedence);
    report.merged = duplicates;
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
    Ok(if rejected > 0 {
        ExitCode::Findings
    } else {
        ExitCode::Success
    })
}
