//! `qa-check`: data-quality checks over daily bars, with an exit status cron can gate on.
//!
//! - [`checks`]: the check ids and severities, and the per-symbol pass;
//! - [`calendar`]: trading days, from the exchange calendar or inferred from the input;
//! - input: Bar NDJSON regrouped by symbol (`tickerlake::series`) or the lake (`lake::series`);
//! - [`context`]: actions, universe and fetch state;
//! - [`report`]: findings out, the summary, the table and the exit status.

pub mod calendar;
pub mod checks;
pub mod cli;
mod context;
pub mod report;

use std::path::PathBuf;
use std::time::Instant;

use chrono::NaiveDate;
use lake::bars::days_since_epoch;
use lake::series::BarSource;
use lake::series::SymbolSeries;
use lake::{LakeError, ScanFilter};
use tickerlake::calendar::Calendar;
use tickerlake::config::Config;
use tickerlake::records::{Severity, Ticker};
use tickerlake::{ExitCode, HasExitCode, Symbol};

use crate::calendar::TradingDays;
use crate::checks::{Check, Events, Rules, SymbolReport, analyze};
use crate::cli::{CalendarArg, Cli, Profile};
use crate::report::{Findings, Summary};

/// Everything that ends a run early (findings never do).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Lib(#[from] tickerlake::Error),
    #[error("{0}")]
    Lake(#[from] LakeError),
    #[error(transparent)]
    State(#[from] tickerlake::fetch_state::StateError),
    /// The input (after --symbols and --from) holds no bar.
    #[error("{0}")]
    NoBars(String),
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Config(String),
}

impl HasExitCode for Error {
    fn exit_code(&self) -> ExitCode {
        match self {
            Error::Lib(e) => e.exit_code(),
            Error::Lake(e) => e.exit_code(),
            Error::State(e) => e.exit_code(),
            Error::NoBars(_) => ExitCode::DataErr,
            Error::Usage(_) => ExitCode::Usage,
            Error::Config(_) => ExitCode::Config,
        }
    }
}

/// The run's options, free of clap types.
#[derive(Debug, Clone)]
pub struct Options {
    pub source: BarSource,
    pub filter: ScanFilter,
    pub actions: Option<PathBuf>,
    pub state: Option<PathBuf>,
    pub universe: Option<PathBuf>,
    pub as_of: NaiveDate,
    pub checks: Vec<Check>,
    pub rules: Rules,
    pub calendar: Option<CalendarArg>,
    pub full_history: bool,
    pub summary: Option<PathBuf>,
    pub quiet: bool,
}

pub fn options(cli: &Cli, config: &Config) -> Result<Options, Error> {
    let date = |flag: &str, v: &Option<String>| -> Result<Option<NaiveDate>, Error> {
        v.as_deref()
            .map(|t| {
                tickerlake::records::date_format::parse(t)
                    .map_err(|e| Error::Usage(format!("{flag}: {e}")))
            })
            .transpose()
    };
    let checks: Vec<Check> = if cli.checks.is_empty() {
        match cli.profile {
            Profile::Nightly => Check::nightly().to_vec(),
            Profile::Training => Check::TRAINING.to_vec(),
        }
    } else {
        let mut v = Vec::new();
        for id in cli.checks.iter().filter(|s| !s.is_empty()) {
            let c = Check::parse(id).ok_or_else(|| {
                Error::Usage(format!(
                    "--checks: unknown check {id:?} (known: {})",
                    Check::ALL.map(Check::id).join(", ")
                ))
            })?;
            if !v.contains(&c) {
                v.push(c);
            }
        }
        if v.is_empty() {
            return Err(Error::Usage(format!(
                "--checks: no check given: a gate that runs nothing would pass anything (known: {})",
                Check::ALL.map(Check::id).join(", ")
            )));
        }
        // A check named on purpose whose input is missing would silently check nothing.
        for c in &v {
            let missing = match c {
                Check::Coverage if cli.universe.is_none() => Some("--universe FILE"),
                Check::FetchError if cli.state.is_none() => Some("--state FILE"),
                Check::StockCount if config.qa.training.stocks == 0 => {
                    Some("qa.training.stocks in config.yaml")
                }
                _ => None,
            };
            if let Some(what) = missing {
                return Err(Error::Usage(format!(
                    "--checks {}: needs {what}, or it would check nothing",
                    c.id()
                )));
            }
        }
        v
    };
    let as_of = date("--as-of", &cli.as_of)?.unwrap_or_else(|| chrono::Utc::now().date_naive());
    let mut rules = Rules::new(&checks, &config.qa).map_err(Error::Config)?;
    rules.as_of = days_since_epoch(as_of);
    Ok(Options {
        source: cli.input.source(config)?,
        filter: cli.input.filter.filter(),
        actions: cli.actions.clone(),
        state: cli.state.clone(),
        universe: cli.universe.clone(),
        as_of,
        checks,
        rules,
        calendar: cli.calendar,
        full_history: cli.full_history,
        summary: cli.summary.clone(),
        quiet: cli.common.quiet,
    })
}

pub fn run(cli: Cli, config: Config) -> Result<ExitCode, Error> {
    let opts = options(&cli, &config)?;
    let mut protected = match &opts.source {
        BarSource::Ndjson(inputs) => inputs.clone(),
        BarSource::Lake(lake) => lake
            .local()
            .map(|d| vec![d.to_path_buf()])
            .unwrap_or_default(),
    };
    protected.extend(
        opts.actions
            .iter()
            .chain(&opts.universe)
            .chain(&opts.state)
            .cloned(),
    );
    tickerlake::io::refuse_outputs_over_inputs(
        &[("--summary", opts.summary.as_deref())],
        &protected,
    )?;
    if let BarSource::Ndjson(inputs) = &opts.source {
        tickerlake::io::hint_if_stdin_is_tty("qa-check", inputs, opts.quiet);
    }
    execute(&opts)
}

/// Which calendar: the flag; else the universe's, when its exchanges share a built-in one;
/// infer when they do not; XNYS when there is no universe to tell.
fn choose_calendar(flag: Option<CalendarArg>, universe: Option<&[Ticker]>) -> Option<Calendar> {
    match flag {
        Some(CalendarArg::Xnys) => Some(Calendar::Xnys),
        Some(CalendarArg::Infer) => None,
        None => match universe {
            None => Some(Calendar::Xnys),
            Some(tickers) => {
                let mut cals: Vec<Option<Calendar>> = Vec::new();
                for t in tickers {
                    let c = t
                        .exchange
                        .as_deref()
                        .map_or(Some(Calendar::Xnys), Calendar::for_mic);
                    if !cals.contains(&c) {
                        cals.push(c);
                    }
                }
                match cals.as_slice() {
                    [one] => *one,
                    [] => Some(Calendar::Xnys),
                    _ => None,
                }
            }
        },
    }
}

pub fn execute(opts: &Options) -> Result<ExitCode, Error> {
    let started = Instant::now();
    let events: Events = match &opts.actions {
        Some(p) => context::load_actions(p)?,
        None => Events::new(),
    };
    let universe = opts
        .universe
        .as_deref()
        .map(context::load_universe)
        .transpose()?;
    let state = opts.state.as_deref().map(context::load_state).transpose()?;
    let exchange = choose_calendar(opts.calendar, universe.as_deref());
    let mut findings = Findings::stdout(&opts.rules);
    let mut pass = Pass {
        opts,
        events: &events,
        days: exchange.map(TradingDays::exchange),
        held: Vec::new(),
        last_dates: Vec::new(),
        rows: 0,
        valued_rows: 0,
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let each = |series: SymbolSeries, pass: &mut Pass<'_>, findings: &mut Findings| {
        pass.add(series, findings)
    };
    opts.source
        .for_each_symbol(&opts.filter, threads, |s| each(s, &mut pass, &mut findings))?;
    if pass.rows == 0 {
        // A gate over nothing would pass anything.
        return Err(Error::NoBars(match &opts.source {
            BarSource::Lake(lake) => format!("{lake}: no bars to check"),
            BarSource::Ndjson(_) => "no bars in the input: nothing was checked".into(),
        }));
    }
    if pass.valued_rows == 0 {
        return Err(Error::NoBars(format!(
            "{} bar(s), not one with a price or a volume: nothing to check",
            pass.rows
        )));
    }
    // Inferred calendar: the trading days are known only now.
    let mut days = match pass.days.take() {
        Some(d) => d,
        None => TradingDays::infer(&pass.held, opts.rules.qa.infer_min_share_pct),
    };
    for report in std::mem::take(&mut pass.held) {
        pass.last_dates.push((report.symbol.clone(), report.last()));
        let hits = report::calendar_hits(report, &mut days, opts);
        findings.write(hits)?;
    }
    let whole = report::WholeSet {
        as_of: days_since_epoch(opts.as_of),
        symbols: &pass.last_dates,
        universe: universe.as_deref(),
        state: state.as_ref(),
    };
    findings.write(report::set_hits(&whole, &mut days, &opts.rules))?;
    let summary = Summary {
        rows: pass.rows,
        symbols: pass.last_dates.len() as u64,
        universe: universe.as_ref().map(|u| u.len() as u64),
        calendar: match exchange {
            Some(Calendar::Xnys) => "xnys",
            None => "infer",
        },
        as_of: opts.as_of,
        seconds: started.elapsed().as_secs_f64(),
    };
    findings.finish(summary, opts)
}

/// The streaming pass: per symbol, analyzed as it completes.
struct Pass<'a> {
    opts: &'a Options,
    events: &'a Events,
    /// The exchange calendar; `None` while the calendar is being inferred.
    days: Option<TradingDays>,
    /// With an inferred calendar: the reports waiting for it.
    held: Vec<SymbolReport>,
    /// Each symbol's last bar date, in input order.
    last_dates: Vec<(Symbol, Option<i32>)>,
    rows: u64,
    /// Rows with at least one price or a volume.
    valued_rows: u64,
}

impl Pass<'_> {
    fn add(&mut self, series: SymbolSeries, findings: &mut Findings) -> Result<(), Error> {
        self.rows += series.rows.len() as u64;
        self.valued_rows += series
            .rows
            .iter()
            .filter(|r| r.volume.is_some() || r.prices().iter().any(|p| !p.is_nan()))
            .count() as u64;
        let events = self
            .events
            .get(&series.symbol)
            .map_or(&[][..], Vec::as_slice);
        let report = analyze(series.symbol, series.rows, events, &self.opts.rules);
        match &mut self.days {
            Some(days) => {
                self.last_dates.push((report.symbol.clone(), report.last()));
                let hits = report::calendar_hits(report, days, self.opts);
                findings.write(hits)
            }
            None => {
                self.held.push(report);
                Ok(())
            }
        }
    }
}

/// Severity order for the exit status.
pub fn fails(severity: Severity, fail_on: Severity) -> bool {
    severity >= fail_on
}
