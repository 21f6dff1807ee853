//! The program: tickers in, bars out, failures on the dead-letter list, a summary at the end.

use std::path::Path;
use std::time::Instant;

use chrono::{NaiveDate, Utc};
use serde::Serialize;
use tickerlake::config::Config;
use tickerlake::io::{Input, Output, input_paths};
use tickerlake::ndjson::{NdjsonReader, NdjsonWriter, ReadError};
use tickerlake::records::{FetchError, Status, Ticker};
use tickerlake::{ExitCode, HasExitCode, Symbol};

use crate::cli::Cli;
use crate::options::Options;
use crate::provider::{Fetched, Provider, Request, Yahoo};
use crate::raw::RawDir;
use crate::workers::{Done, Pool, fetch_all};
use net::http::ClientConfig;
use net::polite::{Breaker, RateLimiter};
use net::proxies::Clients;
use tickerlake::fetch_state::State;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Lib(#[from] tickerlake::Error),
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Config(String),
    #[error("{lake}: {source}")]
    Lake {
        lake: String,
        source: lake::LakeError,
    },
    #[error(transparent)]
    State(#[from] tickerlake::fetch_state::StateError),
}

impl HasExitCode for Error {
    fn exit_code(&self) -> ExitCode {
        match self {
            Error::Lib(e) => e.exit_code(),
            Error::Usage(_) => ExitCode::Usage,
            Error::Config(_) => ExitCode::Config,
            Error::Lake { source, .. } => source.exit_code(),
            Error::State(e) => e.exit_code(),
        }
    }
}

/// An answer holding a record the contract refuses (a currency that is not three letters, a
/// price the lake cannot hold) becomes that symbol's `PARSE` failure: what ohlcv-fetch writes is
/// always what to-parquet, qa-check and qlib-bin accept, and one odd answer never stops the
/// night's load of every other symbol.
fn refuse_invalid(
    result: Result<Fetched, net::polite::Failed>,
    attempts: u32,
) -> Result<Fetched, net::polite::Failed> {
    use tickerlake::Record;
    let Ok(Fetched::Data { bars, actions }) = &result else {
        return result;
    };
    let bad = bars
        .iter()
        .find_map(|b| b.validate().err().map(|e| (b.date, e)))
        .or_else(|| {
            actions
                .iter()
                .find_map(|a| a.validate().err().map(|e| (a.date, e)))
        });
    match bad {
        None => result,
        Some((date, e)) => Err(net::polite::Failed {
            code: tickerlake::records::FetchErrorCode::Parse,
            attempts: attempts.max(1),
            message: format!(
                "the answer holds a record no tickerlake program accepts ({date}: {}: {}): none \
                 of this symbol's records written",
                e.field,
                tickerlake::echo::shorten(&e.expected)
            ),
            breaker_open: false,
        }),
    }
}

/// The run's figures (stderr at the end, `--summary FILE` as JSON).
#[derive(Debug, Default, Clone, Serialize)]
pub struct Summary {
    pub requested: u64,
    pub ok: u64,
    pub up_to_date: u64,
    pub failed: u64,
    /// Not tried because the circuit breaker opened.
    pub not_tried: u64,
    /// Put on the dead-letter list by this run.
    pub dead_lettered: u64,
    /// Skipped: on the dead-letter list.
    pub skipped_dead_letter: u64,
    pub bars: u64,
    pub actions: u64,
    pub retries: u64,
    pub p50_latency_ms: u64,
    pub p95_latency_ms: u64,
    /// Proxies that failed and were dropped: their symbols were fetched direct.
    pub proxies_dropped: u64,
    pub seconds: f64,
}

pub fn run(cli: Cli, config: Config) -> Result<ExitCode, Error> {
    let opts = Options::new(&cli, &config);
    execute(&opts, &config)
}

/// Runs with parsed options (`config` for the settings no flag overrides).
pub fn execute(opts: &Options, config: &Config) -> Result<ExitCode, Error> {
    let started = Instant::now();
    // The state file is read and written by design; no other output may land on it, on an
    // input or inside the lake.
    let mut protected = opts.inputs.clone();
    protected.extend(opts.state.iter().chain(&opts.since_lake).cloned());
    tickerlake::io::refuse_outputs_over_inputs(
        &[
            ("--actions", opts.actions.as_deref()),
            ("--errors", opts.errors.as_deref()),
            ("--summary", opts.summary.as_deref()),
        ],
        &protected,
    )?;
    let mut tickers = read_tickers(opts)?;
    let today = Utc::now().date_naive();
    if let Some(days) = opts.max_universe_age {
        check_universe_age(&tickers, days, today)?;
    }
    let mut state = match &opts.state {
        Some(path) => Some(State::load(path)?),
        None => None,
    };
    let before = tickers.len();
    if let Some(st) = &state {
        tickers.retain(|t| !st.skips(t, opts.retry_dlq));
    }
    let skipped_dead_letter = (before - tickers.len()) as u64;
    let ranges = ranges(opts, &tickers)?;
    let provider = match config.fetch.provider.as_str() {
        "yahoo" => Yahoo::new(config.fetch.yahoo.clone(), opts.base_url.clone()),
        other => {
            return Err(Error::Config(format!(
                "fetch.provider: {other:?} is not a provider ohlcv-fetch knows (yahoo)"
            )));
        }
    };
    let clients = Clients::new(
        &ClientConfig::from_http(&config.http),
        &opts.proxies,
        opts.rotate_every,
    )
    .map_err(Error::Config)?;
    let requests: Vec<Request> = tickers
        .iter()
        .zip(&ranges)
        .map(|(t, r)| Request {
            symbol: t.symbol.clone(),
            provider_symbol: provider.provider_symbol(t),
            start: r.start,
            end: r.end,
        })
        .collect();
    let raw = match &opts.raw_dir {
        Some(dir) => {
            Some(
                RawDir::create(dir, today).map_err(|source| tickerlake::Error::Create {
                    path: dir.display().to_string(),
                    source,
                })?,
            )
        }
        None => None,
    };
    let rate = RateLimiter::new(opts.rate);
    let breaker = Breaker::new(config.fetch.breaker_failures);
    let pool = Pool {
        provider: &provider,
        clients: &clients,
        rate: &rate,
        breaker: &breaker,
        retry: &opts.retry,
        workers: opts.workers,
        raw: raw.as_ref(),
    };

    let stdout = Output::stdout();
    let name = stdout.name();
    let mut bars_out = NdjsonWriter::new(stdout, name);
    let mut actions_out = open_side(opts.actions.as_deref())?;
    let mut errors_out = open_side(opts.errors.as_deref())?;
    let mut summary = Summary {
        requested: requests.len() as u64,
        skipped_dead_letter,
        ..Summary::default()
    };
    let dead_letter_after = config.fetch.dead_letter_after;
    let mut latencies = Vec::with_capacity(requests.len());
    let run_id = tickerlake::logging::run_id();
    // Symbols done, on a terminal only (never in cron mail or a pipe's stderr).
    let progress =
        tickerlake::progress::Progress::items("symbols", Some(requests.len() as u64), opts.quiet);
    let not_started = fetch_all(&pool, &requests, |done: Done| -> Result<(), Error> {
        let request = &requests[done.index];
        summary.retries += u64::from(done.tries.retries);
        if done.tries.attempts > 0 {
            latencies.push(done.elapsed);
        }
        progress.inc(1);
        let latency_ms = done.elapsed.as_millis() as u64;
        match refuse_invalid(done.result, done.tries.attempts) {
            Ok(Fetched::Data { bars, actions }) => {
                warn_on_currency(&tickers[done.index], &bars);
                if let Some(st) = &mut state {
                    st.record_ok(
                        request.symbol.as_str(),
                        bars.last().map(|b| b.date),
                        latency_ms,
                    );
                }
                // Only the re-fetched lookback days: nothing new yet.
                let last_stored = ranges[done.index].last_stored;
                if last_stored.is_some_and(|l| bars.iter().all(|b| b.date <= l)) {
                    summary.up_to_date += 1;
                } else {
                    summary.ok += 1;
                }
                let n = bars.len();
                summary.bars += n as u64;
                // When the provider said so: the lake keeps the newest answer for a date.
                let fetched_at = Some(done.fetched_at);
                for mut bar in bars {
                    bar.source_ts = bar.source_ts.or(fetched_at);
                    bars_out.write(&bar)?;
                }
                summary.actions += actions.len() as u64;
                if let Some(out) = &mut actions_out {
                    for action in &actions {
                        out.write(action)?;
                    }
                }
                tracing::debug!(symbol = %request.symbol, bars = n, "fetched");
            }
            Ok(Fetched::UpToDate) => {
                summary.up_to_date += 1;
                if let Some(st) = &mut state {
                    st.record_ok(request.symbol.as_str(), None, latency_ms);
                }
                tracing::debug!(symbol = %request.symbol, "up to date");
            }
            Err(failed) if failed.breaker_open && done.tries.attempts == 0 => {
                summary.not_tried += 1;
            }
            Err(failed) => {
                summary.failed += 1;
                if let Some(st) = &mut state
                    && st.record_failure(
                        request.symbol.as_str(),
                        failed.code,
                        &failed.message,
                        latency_ms,
                        dead_letter_after,
                        today,
                    )
                {
                    summary.dead_lettered += 1;
                    tracing::warn!(
                        symbol = %request.symbol,
                        "failed on {dead_letter_after} runs in a row: dead-lettered (skipped until --retry-dlq)"
                    );
                }
                tracing::warn!(
                    symbol = %request.symbol,
                    code = ?failed.code,
                    attempts = failed.attempts,
                    "{}", failed.message
                );
                if let Some(out) = &mut errors_out {
                    out.write(&FetchError {
                        symbol: request.symbol.clone(),
                        provider: provider.name().to_string(),
                        code: failed.code,
                        attempts: failed.attempts,
                        message: failed.message,
                        run_id: run_id.to_string(),
                        ts: Utc::now(),
                    })?;
                }
            }
        }
        Ok(())
    })?;
    progress.finish();
    summary.not_tried += not_started as u64;
    latencies.sort();
    let percentile = |p: f64| -> u64 {
        if latencies.is_empty() {
            return 0;
        }
        let i = ((latencies.len() - 1) as f64 * p).round() as usize;
        latencies[i.min(latencies.len() - 1)].as_millis() as u64
    };
    summary.p50_latency_ms = percentile(0.50);
    summary.p95_latency_ms = percentile(0.95);
    summary.proxies_dropped = clients.dropped() as u64;

    bars_out.into_inner()?.finish()?;
    if let (Some(st), Some(path)) = (&state, &opts.state) {
        st.save(path)?;
    }
    for out in [actions_out, errors_out].into_iter().flatten() {
        out.into_inner()?.finish()?;
    }
    summary.seconds = started.elapsed().as_secs_f64();
    report(&summary, opts.summary.as_deref())?;

    let code = if breaker.is_open() {
        tracing::error!(
            "the provider failed {} requests in a row: stopped (circuit breaker); {} symbols not tried",
            config.fetch.breaker_failures,
            summary.not_tried
        );
        ExitCode::Unavailable
    } else if summary.failed > 0 {
        ExitCode::TempFail
    } else {
        ExitCode::Success
    };
    let raw_failures = raw.as_ref().map_or(0, RawDir::failures);
    if raw_failures > 0 {
        tracing::error!(
            "--raw-dir: {raw_failures} answer(s) could not be kept (see above); the bars were \
             written"
        );
        return Ok(code.merge(ExitCode::IoErr));
    }
    Ok(code)
}

fn open_side(path: Option<&Path>) -> Result<Option<NdjsonWriter<Output>>, Error> {
    let Some(path) = path else { return Ok(None) };
    let out = Output::open(Some(path))?;
    let name = out.name();
    Ok(Some(NdjsonWriter::new(out, name)))
}

fn report(summary: &Summary, file: Option<&Path>) -> Result<(), Error> {
    tracing::info!(
        requested = summary.requested,
        ok = summary.ok,
        up_to_date = summary.up_to_date,
        failed = summary.failed,
        not_tried = summary.not_tried,
        dead_lettered = summary.dead_lettered,
        skipped_dead_letter = summary.skipped_dead_letter,
        bars = summary.bars,
        actions = summary.actions,
        retries = summary.retries,
        p50_ms = summary.p50_latency_ms,
        p95_ms = summary.p95_latency_ms,
        seconds = summary.seconds,
        "summary"
    );
    if let Some(path) = file {
        tickerlake::cli::write_summary(path, summary)?;
    }
    Ok(())
}

/// The tickers to fetch: `--symbols`, or Ticker records from the inputs (active ones; a
/// symbol listed twice is fetched once).
fn read_tickers(opts: &Options) -> Result<Vec<Ticker>, Error> {
    let mut tickers = Vec::new();
    if !opts.symbols.is_empty() {
        if !opts.inputs.is_empty() {
            return Err(Error::Usage(
                "give --symbols or ticker files, not both".into(),
            ));
        }
        for s in &opts.symbols {
            let symbol =
                Symbol::parse(s.trim()).map_err(|e| Error::Usage(format!("--symbols: {e}")))?;
            tickers.push(Ticker::new(symbol));
        }
    } else {
        tickerlake::io::hint_if_stdin_is_tty("ohlcv-fetch", &opts.inputs, opts.quiet);
        for path in input_paths(&opts.inputs) {
            let input = Input::open(&path)?;
            let mut reader = NdjsonReader::new(input.reader, input.name);
            while let Some(record) = reader.next_record::<Ticker>() {
                match record {
                    Ok(t) if t.status == Status::Active || opts.include_delisted => tickers.push(t),
                    Ok(_) => {}
                    Err(ReadError::Io(e)) => return Err(e.into()),
                    Err(ReadError::Bad(bad)) => {
                        return Err(tickerlake::Error::Record(bad.error).into());
                    }
                }
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    tickers.retain(|t| seen.insert(t.symbol.clone()));
    Ok(tickers)
}

/// The dates one symbol is fetched for, both inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// The symbol's last bar in the lake (`--since-lake`).
    pub last_stored: Option<NaiveDate>,
}

/// Before the start of any daily history Yahoo has (the S&P 500 from 1927, IBM from 1962): a
/// symbol with nothing stored gets all of it.
const WHOLE_HISTORY: NaiveDate = match NaiveDate::from_ymd_opt(1900, 1, 1) {
    Some(d) => d,
    None => NaiveDate::MIN,
};

/// Each ticker's range. `--end` defaults to today (UTC). With `--since-lake`, a symbol in the
/// lake starts the day after its last bar less `--lookback` days (so a long outage is fetched
/// whole, and a symbol with no new trading day asks for a few days and is up to date), one the
/// lake lacks at the start of its history; `--start` / `--days-back` override both. Without
/// `--since-lake`, `--start` or `--days-back` is required.
fn ranges(opts: &Options, tickers: &[Ticker]) -> Result<Vec<Range>, Error> {
    let end = opts.end.unwrap_or_else(|| Utc::now().date_naive());
    let given = match (opts.start, opts.days_back) {
        (Some(s), _) => Some(s),
        (None, Some(n)) => Some(end - chrono::Days::new(u64::from(n))),
        (None, None) => None,
    };
    if let Some(start) = given
        && start > end
    {
        return Err(Error::Usage(format!(
            "--start {start} is after --end {end}"
        )));
    }
    let Some(lake) = &opts.since_lake else {
        let start = given.ok_or_else(|| {
            Error::Usage(
                "which dates? give --since-lake DIR, --start YYYY-MM-DD or --days-back N".into(),
            )
        })?;
        let range = Range {
            start,
            end,
            last_stored: None,
        };
        return Ok(vec![range; tickers.len()]);
    };
    let symbols = tickers.iter().map(|t| t.symbol.clone()).collect();
    // A directory that is not a lake (its parent, say) is refused, never read as an empty lake
    // that would send every symbol back to 1900.
    let last = lake::last_dates(lake, &symbols).map_err(|source| match source {
        lake::LakeError::NotALake { .. } => Error::Lake {
            lake: "--since-lake".into(),
            source,
        },
        source => Error::Lake {
            lake: lake.display().to_string(),
            source,
        },
    })?;
    let lookback = u64::from(opts.lookback_days);
    Ok(tickers
        .iter()
        .map(|t| {
            let last_stored = last.get(&t.symbol).copied();
            let from_lake = last_stored.map_or(WHOLE_HISTORY, |last| {
                (last + chrono::Days::new(1)) - chrono::Days::new(lookback)
            });
            Range {
                start: given.unwrap_or(from_lake),
                end,
                last_stored,
            }
        })
        .collect())
}

/// Refuses a universe older than `days` (its newest `last_seen`): fetching a stale universe
/// misses new listings and keeps asking for dead ones.
fn check_universe_age(tickers: &[Ticker], days: u32, today: NaiveDate) -> Result<(), Error> {
    let newest = tickers.iter().filter_map(|t| t.last_seen).max();
    let Some(newest) = newest else {
        return Err(Error::Config(format!(
            "--max-universe-age {days}d: the tickers carry no last_seen, so the universe's age is unknown"
        )));
    };
    let age = (today - newest).num_days();
    if age > i64::from(days) {
        return Err(Error::Config(format!(
            "the universe is {age} days old (newest last_seen {newest}), more than --max-universe-age {days}d: refresh it (tickers-scrape) first"
        )));
    }
    Ok(())
}

/// Prices in another unit than the universe says (`GBp` pence against `GBP` pounds, a listing
/// that changed its quote currency) are written as Yahoo states them, and said out loud: a lake
/// must never mix units in silence.
fn warn_on_currency(ticker: &Ticker, bars: &[tickerlake::records::Bar]) {
    let Some(expected) = ticker.currency.as_deref() else {
        return;
    };
    if let Some(got) = bars
        .iter()
        .filter_map(|b| b.currency.as_deref())
        .find(|c| *c != expected)
    {
        tracing::warn!(
            symbol = %ticker.symbol,
            "the provider quotes {got}, the universe says {expected}: bars are written in {got}"
        );
    }
}
