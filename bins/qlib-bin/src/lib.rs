//! `qlib-bin`: bars to Microsoft Qlib's binary format, laid out byte for byte as Qlib's own
//! `scripts/dump_bin.py` writes it (`docs/qlib-format.md`), and written safely.
//!
//! - [`input`]: Bar NDJSON, the lake, or dump_bin's CSV → instruments (dates and float32 values);
//! - [`store`]: names, directories, the `.bin` layout, and the new store swapped in at once.

pub mod adjust;
pub mod cli;
pub mod input;
pub mod options;
pub mod store;
pub mod update;

use std::path::Path;
use std::time::Instant;

use lake::LakeError;
use lake::series::BarSource;
use rayon::prelude::*;
use serde::Serialize;
use tickerlake::config::Config;
use tickerlake::{ExitCode, HasExitCode};

use crate::cli::{Adjust, CalendarArg, Cli, Command, InputFormat};
use crate::input::{Instrument, Shape};
use crate::options::{AllOptions, InputOptions, UpdateOptions};
use crate::store::Staging;

/// Everything that ends a run early.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Lib(#[from] tickerlake::Error),
    #[error("{0}")]
    Lake(#[from] LakeError),
    #[error("{input}:{line}: {field}: {message}")]
    Bad {
        input: String,
        line: u64,
        field: String,
        message: String,
    },
    /// Input that cannot become a store (bad symbols, dates off the calendar); nothing written.
    #[error("{0}")]
    Data(String),
    #[error("{0}")]
    Usage(String),
    #[error("{0}: another qlib-bin is writing this store; try again when it has finished")]
    Locked(String),
}

impl HasExitCode for Error {
    fn exit_code(&self) -> ExitCode {
        match self {
            Error::Lib(e) => e.exit_code(),
            Error::Lake(e) => e.exit_code(),
            Error::Bad { .. } | Error::Data(_) => ExitCode::DataErr,
            Error::Usage(_) => ExitCode::Usage,
            Error::Locked(_) => ExitCode::TempFail,
        }
    }
}

pub use tickerlake::series::day_text;

/// What a run did.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Summary {
    /// Symbols written (all) or touched (update).
    pub symbols: u64,
    /// update: symbols the store did not have.
    pub new_symbols: u64,
    pub fields: Vec<String>,
    /// Values written (all) or appended (update).
    pub values: u64,
    pub calendar_days: u64,
    /// update: days added to the calendar.
    pub new_days: u64,
    pub files: u64,
    /// update: rows dated inside a symbol's stored range whose values differ from the store.
    pub changed_rows: u64,
    /// update: symbols rewritten whole (--rewrite-changed, or restated with --adjust qlib).
    pub rewritten_symbols: u64,
    /// update: restated symbols left as they were until their whole history comes (exit 1).
    pub waiting_symbols: u64,
    pub seconds: f64,
}

pub fn run(cli: Cli, config: Config) -> Result<ExitCode, Error> {
    let verbose = cli.common.verbose > 0;
    match cli.command {
        Command::All(args) => {
            let args = AllOptions::from(&args);
            check_paths(&args.input, cli.common.quiet)?;
            let summary = all(&args, &config)?;
            report(&summary, args.input.summary.as_deref(), verbose)?;
            Ok(ExitCode::Success)
        }
        Command::Update(args) => {
            let args = UpdateOptions::from(&args);
            check_paths(&args.input, cli.common.quiet)?;
            let summary = update::update(&args, &config)?;
            report(&summary, args.input.summary.as_deref(), verbose)?;
            Ok(if summary.waiting_symbols > 0 {
                ExitCode::Findings
            } else {
                ExitCode::Success
            })
        }
    }
}

/// The store must not land on an input or in the lake, nor the summary in the store; a prompt
/// waiting on a terminal's stdin gets a hint.
fn check_paths(input: &InputOptions, quiet: bool) -> Result<(), Error> {
    let mut protected = input.inputs.clone();
    protected.extend(
        input
            .lake
            .iter()
            .filter_map(|l| l.dir().map(std::path::Path::to_path_buf)),
    );
    tickerlake::io::refuse_outputs_over_inputs(
        &[("-o", Some(input.output.as_path()))],
        &protected,
    )?;
    protected.push(input.output.clone());
    tickerlake::io::refuse_outputs_over_inputs(
        &[("--summary", input.summary.as_deref())],
        &protected,
    )?;
    if input.lake.is_none() {
        tickerlake::io::hint_if_stdin_is_tty("qlib-bin", &input.inputs, quiet);
    }
    Ok(())
}

fn report(s: &Summary, path: Option<&Path>, verbose: bool) -> Result<(), Error> {
    let text = format!(
        "qlib-bin: {} symbols ({} new), {} fields ({}), {} values, {} calendar days ({} new), {} files, {} changed rows, {} symbols rewritten, {} waiting, {:.2} s",
        s.symbols,
        s.new_symbols,
        s.fields.len(),
        s.fields.join(" "),
        s.values,
        s.calendar_days,
        s.new_days,
        s.files,
        s.changed_rows,
        s.rewritten_symbols,
        s.waiting_symbols,
        s.seconds
    );
    tickerlake::cli::print_summary(&text, s, verbose);
    if let Some(path) = path {
        tickerlake::cli::write_summary(path, s)?;
    }
    Ok(())
}

/// The `--adjust` of a run: the flag, else the store's (update), else `qlib.adjust`.
pub fn adjust_of(args: &InputOptions, config: &Config) -> Adjust {
    args.adjust.unwrap_or(config.qlib.adjust)
}

/// Reads every instrument of the input from `from` (or `--from`, the later) on, shaped as
/// `shape` says.
pub fn read_input(
    args: &InputOptions,
    config: &Config,
    from: Option<chrono::NaiveDate>,
    shape: Shape,
) -> Result<(Vec<String>, Vec<Instrument>), Error> {
    let mut filter = args.filter.clone();
    filter.from = filter.from.max(from);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let days = (
        filter.from.map(tickerlake::series::days_since_epoch),
        filter.to.map(tickerlake::series::days_since_epoch),
    );
    let bar_fields = || {
        input::fields_for_bars(if args.fields.is_empty() {
            &config.qlib.fields
        } else {
            &args.fields
        })
    };
    let (fields, mut instruments) = match (args.input_format, &args.lake) {
        (InputFormat::Csv, Some(_)) => {
            return Err(Error::Usage(
                "--lake holds bars: no --input-format csv".into(),
            ));
        }
        (InputFormat::Csv, None) if shape == Shape::AsGiven => {
            input::read_csv(&args.inputs, &args.fields, shape, days)?
        }
        (InputFormat::Csv, None) => input::read_csv(&args.inputs, &bar_fields()?, shape, days)?,
        (InputFormat::Ndjson, lake_dir) => {
            // Bars, from NDJSON or the lake: the one bar source applies --symbols, --from and --to.
            let fields = bar_fields()?;
            let mut out = Vec::new();
            let source = match lake_dir {
                Some(location) => BarSource::Lake(lake::Lake::open(location, config)?),
                None => BarSource::Ndjson(args.inputs.clone()),
            };
            source.for_each_symbol(&filter, threads, |s| {
                out.push(input::from_series(s, &fields, shape));
                Ok::<(), Error>(())
            })?;
            (fields, out)
        }
    };
    // dump_bin's CSV is no bar source: --symbols applies here.
    if args.input_format == InputFormat::Csv && !filter.symbols.is_empty() {
        instruments.retain(|i| {
            tickerlake::Symbol::parse_lenient(&i.symbol).is_ok_and(|s| filter.symbols.contains(&s))
        });
    }
    instruments.retain(|i| !i.dates.is_empty());
    Ok((fields, instruments))
}

/// `qlib-bin all`.
pub fn all(args: &AllOptions, config: &Config) -> Result<Summary, Error> {
    let started = Instant::now();
    let target = &args.input.output;
    if target.exists() {
        if !target.is_dir() {
            return Err(Error::Usage(format!(
                "{}: not a directory",
                target.display()
            )));
        }
        let empty = std::fs::read_dir(target)
            .map_err(|source| tickerlake::Error::Open {
                path: target.display().to_string(),
                source,
            })?
            .next()
            .is_none();
        if !empty && !args.force {
            return Err(Error::Usage(format!(
                "{} is not empty: --force replaces it with the new store",
                target.display()
            )));
        }
        if !empty && !store::looks_like_store(target) {
            return Err(Error::Usage(format!(
                "{} holds something that is not a Qlib store (no calendars/, instruments/ or \
                 features/): not replacing it, even with --force",
                target.display()
            )));
        }
    }
    let adjust = adjust_of(&args.input, config);
    let shape = match adjust {
        Adjust::Qlib => Shape::Qlib,
        Adjust::None => Shape::AsGiven,
    };
    // One writer at a time on an existing store (an update under way is not replaced).
    let _lock = if store::looks_like_store(target) {
        Some(store::lock(target)?)
    } else {
        None
    };
    let (fields, instruments) = read_input(&args.input, config, None, shape)?;
    let named = name_all(
        &fields,
        instruments,
        args.input.symbol_style,
        args.input.na_tickers,
    )?;
    let calendar = calendar(&named, args.calendar)?;
    refuse_shrinking(target, &fields, &named, &calendar, args, config)?;
    let staging = Staging::new(target)?;
    staging.write(
        "calendars/day.txt",
        store::calendar_text(&calendar).as_bytes(),
    )?;
    let spans: Vec<(String, i32, i32)> = named
        .iter()
        .map(|(n, i)| (n.clone(), i.dates[0], i.dates[i.dates.len() - 1]))
        .collect();
    staging.write(
        "instruments/all.txt",
        store::instruments_text(&spans).as_bytes(),
    )?;
    // The feature files, on all cores.
    named
        .par_iter()
        .try_for_each(|(name, inst)| -> Result<(), Error> {
            let dir = store::feature_dir(name);
            for (field, values) in fields.iter().zip(&inst.values) {
                let carry_gaps = adjust == Adjust::Qlib && field == "factor";
                let bytes = store::bin_bytes(&calendar, &inst.dates, values, carry_gaps)
                    .map_err(|e| Error::Data(format!("{name}: {e}")))?;
                staging.write(&format!("features/{dir}/{field}.day.bin"), &bytes)?;
            }
            Ok(())
        })?;
    if adjust == Adjust::Qlib {
        let state = store::AdjustState {
            version: 1,
            symbols: named
                .iter()
                .filter_map(|(n, i)| i.carry.map(|c| (n.clone(), c)))
                .collect(),
            ..store::AdjustState::default()
        };
        staging.write(store::ADJUST_STATE, &state.to_json()?)?;
    }
    let watermark = store::Watermark::of(&calendar, named.len(), &fields, &args.input, adjust);
    staging.write(store::WATERMARK, &watermark.to_json()?)?;
    staging.commit()?;
    let values: u64 = named
        .iter()
        .map(|(_, i)| i.values.iter().map(|v| v.len() as u64).sum::<u64>())
        .sum();
    Ok(Summary {
        symbols: named.len() as u64,
        new_symbols: named.len() as u64,
        files: (named.len() * fields.len() + 3) as u64,
        fields,
        values,
        calendar_days: calendar.len() as u64,
        new_days: calendar.len() as u64,
        seconds: started.elapsed().as_secs_f64(),
        ..Summary::default()
    })
}

/// An export never replaces a store with nothing (no instrument, or no value at all), nor
/// (without `--allow-shrink`) with one holding far fewer instruments or far fewer days of them:
/// a typo in `--symbols`, a `--from` past the data, a lake that lost symbols or bars without
/// prices would otherwise empty a good store with exit 0.
fn refuse_shrinking(
    target: &Path,
    fields: &[String],
    named: &[(String, Instrument)],
    calendar: &[i32],
    args: &AllOptions,
    config: &Config,
) -> Result<(), Error> {
    let instruments = named.len();
    let filters = {
        let i = &args.input;
        let mut f = Vec::new();
        if !i.filter.symbols.is_empty() {
            let list: Vec<&str> = i.filter.symbols.iter().map(|s| s.as_str()).collect();
            f.push(format!(
                "--symbols {}",
                tickerlake::cli::echo(&list.join(","))
            ));
        }
        if let Some(from) = &i.filter.from {
            f.push(format!("--from {from}"));
        }
        if f.is_empty() {
            String::new()
        } else {
            format!(" (with {})", f.join(" "))
        }
    };
    let left_alone = if store::looks_like_store(target) {
        format!("; {} is left as it was", target.display())
    } else {
        String::new()
    };
    if instruments == 0 {
        return Err(Error::Data(format!(
            "no bars in the input{filters}: nothing to export{left_alone}"
        )));
    }
    let has_values = named
        .iter()
        .any(|(_, i)| i.values.iter().any(|f| f.iter().any(|v| v.is_finite())));
    if !has_values {
        return Err(Error::Data(format!(
            "the input{filters} has {instruments} instrument(s) but not one value to write \
             (every bar null; with --adjust qlib, also every bar without a volume > 0): nothing \
             to export{left_alone}"
        )));
    }
    if !store::looks_like_store(target) || args.allow_shrink {
        return Ok(());
    }
    let keep = 1.0 - config.qlib.max_shrink_pct / 100.0;
    let held = store::read_instruments(target)?;
    let refuse = |what: String| {
        Err(Error::Data(format!(
            "the input{filters} has {what}: more than qlib.max_shrink_pct ({}%) less than the \
             store {} holds; not replacing it (--allow-shrink does)",
            config.qlib.max_shrink_pct,
            target.display()
        )))
    };
    if (instruments as f64) < held.len() as f64 * keep {
        return refuse(format!(
            "{instruments} instrument(s), the store {}",
            held.len()
        ));
    }
    // Days of instruments: each instrument's span on its store's calendar.
    let span_days = |cal: &[i32], spans: &mut dyn Iterator<Item = (i32, i32)>| -> u64 {
        spans
            .map(|(a, b)| {
                let lo = cal.partition_point(|d| *d < a);
                let hi = cal.partition_point(|d| *d <= b);
                hi.saturating_sub(lo) as u64
            })
            .sum()
    };
    let old_calendar = store::read_calendar(target)?;
    let old_days = span_days(&old_calendar, &mut held.iter().map(|(_, a, b)| (*a, *b)));
    let new_days = span_days(
        calendar,
        &mut named
            .iter()
            .filter_map(|(_, i)| Some((*i.dates.first()?, *i.dates.last()?))),
    );
    if (new_days as f64) < old_days as f64 * keep {
        return refuse(format!("{new_days} instrument-days, the store {old_days}"));
    }
    // Values, not only rows: the closes (or the first field) with a value, in the export and in
    // the store it would replace — bars without prices are no history.
    let k = fields.iter().position(|f| f == "close").unwrap_or(0);
    let new_values: u64 = named
        .iter()
        .map(|(_, i)| {
            i.values
                .get(k)
                .map_or(0, |v| v.iter().filter(|x| x.is_finite()).count() as u64)
        })
        .sum();
    let old_values = store::count_values(target, &held, &fields[k])?;
    if (new_values as f64) < old_values as f64 * keep {
        return refuse(format!(
            "{new_values} day(s) with a {}, the store {old_values}",
            fields[k]
        ));
    }
    Ok(())
}

/// Instrument names for the inputs, sorted in the byte order of the names (as dump_all lists
/// `NAME.csv` files). A bad or colliding name stops the run before anything is written.
pub fn name_all(
    fields: &[String],
    instruments: Vec<Instrument>,
    style: cli::SymbolStyle,
    na_tickers: cli::NaTickers,
) -> Result<Vec<(String, Instrument)>, Error> {
    if fields.is_empty() {
        return Err(Error::Data("no field to write".into()));
    }
    let mut named: Vec<(String, Instrument)> = Vec::with_capacity(instruments.len());
    let mut refused = Vec::new();
    let mut skipped = Vec::new();
    for i in instruments {
        match store::instrument_name(&i.symbol, style) {
            Ok(name) => named.push((name, i)),
            Err(store::BadName::ReadAsNa(name)) if na_tickers == cli::NaTickers::Skip => {
                skipped.push(name)
            }
            Err(e) => refused.push(e.to_string()),
        }
    }
    if !skipped.is_empty() {
        tracing::warn!(
            "left out {} ticker(s) pandas would read back as missing values: {}",
            skipped.len(),
            skipped.join(", ")
        );
    }
    if !refused.is_empty() {
        return Err(Error::Data(format!(
            "{} symbol(s) cannot be Qlib instruments: {}",
            refused.len(),
            refused.join("; ")
        )));
    }
    named.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some(w) = named.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(Error::Data(format!(
            "two inputs become the instrument {} (--symbol-style maps them together)",
            w[0].0
        )));
    }
    Ok(named)
}

/// The store's calendar: the union of the input dates, or the NYSE's trading days over them
/// (then every input date must be one).
fn calendar(named: &[(String, Instrument)], which: CalendarArg) -> Result<Vec<i32>, Error> {
    let mut all: Vec<i32> = named
        .iter()
        .flat_map(|(_, i)| i.dates.iter().copied())
        .collect();
    all.sort_unstable();
    all.dedup();
    match which {
        CalendarArg::Union => Ok(all),
        CalendarArg::Xnys => {
            let (Some(&lo), Some(&hi)) = (all.first(), all.last()) else {
                return Ok(all);
            };
            let (Some(a), Some(b)) = (
                tickerlake::series::date_from_days(lo),
                tickerlake::series::date_from_days(hi),
            ) else {
                return Ok(all);
            };
            let days: Vec<i32> = tickerlake::calendar::Calendar::Xnys
                .trading_days(a, b)
                .map(tickerlake::series::days_since_epoch)
                .collect();
            let off: Vec<String> = all
                .iter()
                .filter(|d| days.binary_search(d).is_err())
                .take(5)
                .map(|d| day_text(*d))
                .collect();
            if !off.is_empty() {
                return Err(Error::Data(format!(
                    "bars on days the NYSE is closed ({}…): --calendar union keeps them",
                    off.join(", ")
                )));
            }
            Ok(days)
        }
    }
}
