//! The program: tickers in, bars out, failures on the dead-letter list, a summary at the end.

use std::path::Path;
use std::time::Instant;

use chrono::{NaiveDate, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use tickerlake::config::Config;
use tickerlake::config::ProviderName;
use tickerlake::io::{Input, Output, input_paths};
use tickerlake::ndjson::{NdjsonReader, NdjsonWriter, ReadError};
use tickerlake::records::{Action, ActionKind, FetchError, FetchErrorCode, Status, Ticker};
use tickerlake::{ExitCode, HasExitCode, Symbol};

use crate::cli::Cli;
use crate::options::Options;
use crate::polygon_rest::PolygonRest;
use crate::provider::{Chain, Fetched, Lane, Provider, Request};
use crate::raw::RawDir;
use crate::stooq::Stooq;
use crate::workers::{Done, Pool, fetch_all};
use crate::yahoo::Yahoo;
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
    #[error(transparent)]
    Flat(crate::flatfiles::FlatError),
}

impl HasExitCode for Error {
    fn exit_code(&self) -> ExitCode {
        match self {
            Error::Lib(e) => e.exit_code(),
            Error::Usage(_) => ExitCode::Usage,
            Error::Config(_) => ExitCode::Config,
            Error::Lake { source, .. } => source.exit_code(),
            Error::State(e) => e.exit_code(),
            Error::Flat(e) => e.exit_code(),
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
    volumes: lake::VolumeType,
) -> Result<Fetched, net::polite::Failed> {
    use tickerlake::Record;
    let Ok(Fetched::Data { bars, actions }) = &result else {
        return result;
    };
    // A volume the lake's column cannot hold (a fractional one in whole shares,
    // `lake.volume_type`) fails its symbol here, not the whole night's write later.
    let unholdable = |b: &tickerlake::Bar| {
        lake::bars::check_volume(volumes, b.volume)
            .err()
            .map(|e| tickerlake::records::FieldError::new("volume", e.to_string()))
    };
    let bad = bars
        .iter()
        .find_map(|b| {
            b.validate()
                .err()
                .or_else(|| unholdable(b))
                .map(|e| (b.date, e))
        })
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
    /// Not tried because every provider's circuit breaker opened.
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
    /// Symbols served, by provider.
    pub providers: BTreeMap<String, u64>,
    /// Symbols a later provider of the chain served after an earlier one failed.
    pub fell_back: u64,
    /// Symbols whose whole history was fetched again because a split or dividend appeared that
    /// the state did not know.
    pub restated: u64,
    pub restated_symbols: Vec<String>,
    /// Day files read (`polygon-flatfiles`), and trading days whose file is not there yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub day_files: Option<crate::flatfiles::DayFiles>,
    pub seconds: f64,
}

pub fn run(cli: Cli, config: Config) -> Result<ExitCode, Error> {
    let opts = Options::new(&cli, &config)?;
    execute(&opts, &config)
}

/// The chain of per-symbol providers `--provider` names, each with its own rate and breaker.
fn chain(opts: &Options, config: &Config) -> Result<Chain, Error> {
    let mut lanes = Vec::new();
    for (i, name) in opts.providers.iter().enumerate() {
        // --base-url points the first provider elsewhere (a mirror, the replay server).
        let base_url = if i == 0 { opts.base_url.clone() } else { None };
        let (provider, rate): (Box<dyn Provider>, f64) = match name {
            ProviderName::Yahoo => (
                Box::new(Yahoo::new(config.fetch.yahoo.clone(), base_url)),
                config.fetch.rate,
            ),
            ProviderName::Stooq => (
                Box::new(Stooq::new(config.providers.stooq.clone(), base_url)),
                config.providers.stooq.rate.0,
            ),
            ProviderName::PolygonRest => (
                Box::new(
                    PolygonRest::new(
                        &config.providers.polygon,
                        base_url,
                        opts.actions.is_some() && !opts.actions_window,
                    )
                    .map_err(Error::Config)?,
                ),
                config.providers.polygon.rate.0,
            ),
            ProviderName::PolygonFlatfiles => {
                return Err(Error::Usage(
                    "polygon-flatfiles cannot be chained with per-symbol providers".into(),
                ));
            }
        };
        lanes.push(Lane {
            provider,
            rate: RateLimiter::new(opts.rate.unwrap_or(rate)),
            breaker: Breaker::new(config.fetch.breaker_failures),
        });
    }
    Ok(Chain { lanes })
}

/// Runs with parsed options (`config` for the settings no flag overrides).
pub fn execute(opts: &Options, config: &Config) -> Result<ExitCode, Error> {
    let started = Instant::now();
    // The state file is read and written by design; no other output may land on it, on an
    // input or inside the lake.
    let mut protected = opts.inputs.clone();
    protected.extend(opts.day_files.iter().cloned());
    protected.extend(opts.state.iter().cloned());
    protected.extend(
        opts.since_lake
            .iter()
            .filter_map(|l| l.dir().map(Path::to_path_buf)),
    );
    tickerlake::io::refuse_outputs_over_inputs(
        &[
            ("--actions", opts.actions.as_deref()),
            ("--errors", opts.errors.as_deref()),
            ("--summary", opts.summary.as_deref()),
        ],
        &protected,
    )?;
    let by_day = opts.providers == [ProviderName::PolygonFlatfiles];
    if !by_day && (opts.all_tickers || !opts.day_files.is_empty()) {
        return Err(Error::Usage(
            "--all-tickers and --input read day files: give them with --provider polygon-flatfiles"
                .into(),
        ));
    }
    let mut tickers = if by_day && opts.all_tickers {
        if !opts.inputs.is_empty() || !opts.symbols.is_empty() {
            return Err(Error::Usage(
                "--all-tickers takes every ticker of the day files: give no tickers".into(),
            ));
        }
        Vec::new()
    } else {
        read_tickers(opts)?
    };
    let today = Utc::now().date_naive();
    if let Some(days) = opts.max_universe_age {
        check_universe_age(&tickers, days, today)?;
    }
    let state = match &opts.state {
        Some(path) => Some(State::load(path)?),
        None => None,
    };
    let before = tickers.len();
    if let Some(st) = &state {
        tickers.retain(|t| !st.skips(t, opts.retry_dlq));
    }
    let skipped_dead_letter = (before - tickers.len()) as u64;
    let ranges = ranges(opts, config, &tickers)?;
    let chain = if by_day {
        None
    } else {
        Some(chain(opts, config)?)
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
            ticker: t.clone(),
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
    let stdout = Output::stdout();
    let name = stdout.name();
    let mut sink = Sink {
        bars_out: NdjsonWriter::new(stdout, name),
        actions_out: open_side(opts.actions.as_deref())?,
        errors_out: open_side(opts.errors.as_deref())?,
        summary: Summary {
            requested: requests.len() as u64,
            skipped_dead_letter,
            ..Summary::default()
        },
        state,
        latencies: Vec::with_capacity(requests.len()),
        run_id: tickerlake::logging::run_id().to_string(),
        today,
        dead_letter_after: config.fetch.dead_letter_after,
        progress: tickerlake::progress::Progress::items(
            "symbols",
            Some(requests.len() as u64),
            opts.quiet,
        ),
        restate: Vec::new(),
        refused_credentials: None,
        day_files_missing: false,
        first_provider: opts.providers.first().map_or("yahoo", |p| p.as_str()),
        volumes: config.lake.volume_type,
    };

    let mut all_down = false;
    if let Some(chain) = &chain {
        let pool = Pool {
            chain,
            clients: &clients,
            retry: &opts.retry,
            workers: opts.workers,
            raw: raw.as_ref(),
        };
        let not_started = fetch_all(&pool, &requests, |done: Done| {
            let request = &requests[done.index];
            sink.take(request, ranges[done.index].last_stored, done, false)
        })?;
        sink.summary.not_tried += not_started as u64;
        // A split or dividend the state did not know: the symbol's whole history again, so the
        // lake's upsert replaces every stored row at the new scale.
        let restate: Vec<Request> = std::mem::take(&mut sink.restate)
            .into_iter()
            .map(|i| Request {
                start: WHOLE_HISTORY,
                ..requests[i].clone()
            })
            .collect();
        if !restate.is_empty() && !chain.all_down() {
            tracing::info!(
                symbols = restate.len(),
                "a new split or dividend: fetching these symbols' whole history again"
            );
            let not_started = fetch_all(&pool, &restate, |done: Done| {
                let request = &restate[done.index];
                sink.take(request, None, done, true)
            })?;
            sink.summary.not_tried += not_started as u64;
        } else {
            sink.summary.not_tried += restate.len() as u64;
        }
        all_down = chain.all_down();
        if opts.actions_window {
            let got = window_actions(opts, config, &clients, raw.as_ref(), &tickers, today)?;
            sink.write_window_actions(got)?;
        }
    } else {
        if raw.is_some() {
            return Err(Error::Usage(
                "--raw-dir: day files are raw already; keep them with any S3 client and read \
                 them again with --input"
                    .into(),
            ));
        }
        let report = flat_files(opts, config, &requests, &ranges, today, &mut sink)?;
        sink.summary.day_files = Some(report);
    }
    sink.progress.finish();
    let Sink {
        bars_out,
        actions_out,
        errors_out,
        mut summary,
        state,
        mut latencies,
        refused_credentials,
        day_files_missing,
        ..
    } = sink;
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

    if let Some(message) = refused_credentials {
        return Err(Error::Config(message));
    }
    let code = if all_down {
        tracing::error!(
            "every provider failed {} requests in a row: stopped (circuit breaker); {} symbols not tried",
            config.fetch.breaker_failures,
            summary.not_tried
        );
        ExitCode::Unavailable
    } else if summary.failed > 0 || summary.not_tried > 0 || day_files_missing {
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

/// Where each symbol's result goes: bars to stdout, actions and failures to their files, the
/// state and the summary updated.
struct Sink {
    bars_out: NdjsonWriter<Output>,
    actions_out: Option<NdjsonWriter<Output>>,
    errors_out: Option<NdjsonWriter<Output>>,
    summary: Summary,
    state: Option<State>,
    latencies: Vec<std::time::Duration>,
    run_id: String,
    today: NaiveDate,
    dead_letter_after: u32,
    progress: tickerlake::progress::Progress,
    /// Requests (by index) whose history is fetched again after the first pass.
    restate: Vec<usize>,
    /// A provider refused the credentials: the run ends with exit 78 and this message.
    refused_credentials: Option<String>,
    /// A trading day's file was missing or not read: the run ends with exit 75.
    day_files_missing: bool,
    first_provider: &'static str,
    /// The lake's volume column (`lake.volume_type`): what a bar's volume must fit.
    volumes: lake::VolumeType,
}

impl Sink {
    /// Takes one symbol's outcome. `last_stored` is the symbol's last bar in the lake (none when
    /// its whole history was asked for); `restating` marks the second pass.
    fn take(
        &mut self,
        request: &Request,
        last_stored: Option<NaiveDate>,
        done: Done,
        restating: bool,
    ) -> Result<(), Error> {
        let symbol = request.symbol().as_str();
        let tries = done.outcome.tries;
        self.summary.retries += u64::from(tries.retries);
        if tries.attempts > 0 {
            self.latencies.push(done.elapsed);
        }
        if !restating {
            self.progress.inc(1);
        }
        let latency_ms = done.elapsed.as_millis() as u64;
        let result = match done.outcome.result {
            Ok((fetched, provider)) => {
                refuse_invalid(Ok(fetched), tries.attempts, self.volumes).map(|f| (f, provider))
            }
            Err(e) => Err(e),
        };
        match result {
            Ok((Fetched::Data { bars, actions }, served)) => {
                let provider = served.provider;
                let past: Vec<Action> = actions
                    .iter()
                    .filter(|a| a.date <= request.end)
                    .cloned()
                    .collect();
                if !restating
                    && last_stored.is_some()
                    && let Some(st) = &self.state
                    && let Some(new) = past
                        .iter()
                        .find(|a| served.restated_by(a.action) && !st.knows_action(symbol, a))
                {
                    tracing::info!(
                        symbol,
                        "{} {} not seen before: its whole history is fetched again",
                        action_text(new),
                        new.date
                    );
                    self.restate.push(done.index);
                    return Ok(());
                }
                warn_on_currency(&request.ticker, &bars);
                if let Some(st) = &mut self.state {
                    st.record_ok(symbol, bars.last().map(|b| b.date), latency_ms, provider);
                    st.remember_actions(symbol, &past, request.end);
                    if restating {
                        st.record_restatement(symbol, self.today);
                    }
                }
                if restating {
                    self.summary.restated += 1;
                    self.summary.restated_symbols.push(symbol.to_string());
                }
                self.served(provider, done.outcome.fell_back);
                // Only the re-fetched lookback days: nothing new yet.
                if last_stored.is_some_and(|l| bars.iter().all(|b| b.date <= l)) {
                    self.summary.up_to_date += 1;
                } else {
                    self.summary.ok += 1;
                }
                let n = bars.len();
                self.summary.bars += n as u64;
                // When the provider said so: the lake keeps the newest answer for a date.
                let fetched_at = Some(done.fetched_at);
                for mut bar in bars {
                    bar.source_ts = bar.source_ts.or(fetched_at);
                    self.bars_out.write(&bar)?;
                }
                self.summary.actions += actions.len() as u64;
                if let Some(out) = &mut self.actions_out {
                    for action in &actions {
                        out.write(action)?;
                    }
                }
                tracing::debug!(symbol, provider, bars = n, "fetched");
            }
            Ok((Fetched::UpToDate, served)) => {
                let provider = served.provider;
                self.summary.up_to_date += 1;
                self.served(provider, done.outcome.fell_back);
                if let Some(st) = &mut self.state {
                    st.record_ok(symbol, None, latency_ms, provider);
                }
                tracing::debug!(symbol, "up to date");
            }
            Err(failed) if failed.breaker_open && tries.attempts == 0 => {
                self.summary.not_tried += 1;
            }
            Err(failed) => {
                if failed.code == FetchErrorCode::Auth && self.refused_credentials.is_none() {
                    self.refused_credentials = Some(failed.message.clone());
                }
                self.fail(request, failed, latency_ms)?;
            }
        }
        Ok(())
    }

    fn served(&mut self, provider: &str, fell_back: u32) {
        *self
            .summary
            .providers
            .entry(provider.to_string())
            .or_default() += 1;
        if fell_back > 0 {
            self.summary.fell_back += 1;
        }
    }

    fn fail(
        &mut self,
        request: &Request,
        failed: net::polite::Failed,
        latency_ms: u64,
    ) -> Result<(), Error> {
        let symbol = request.symbol();
        self.summary.failed += 1;
        let dead_letter_after = self.dead_letter_after;
        if let Some(st) = &mut self.state
            && st.record_failure(
                symbol.as_str(),
                failed.code,
                &failed.message,
                latency_ms,
                dead_letter_after,
                self.today,
            )
        {
            self.summary.dead_lettered += 1;
            tracing::warn!(
                %symbol,
                "failed on {dead_letter_after} runs in a row: dead-lettered (skipped until --retry-dlq)"
            );
        }
        tracing::warn!(
            %symbol,
            code = ?failed.code,
            attempts = failed.attempts,
            "{}", failed.message
        );
        if let Some(out) = &mut self.errors_out {
            out.write(&FetchError {
                symbol: symbol.clone(),
                provider: self.first_provider.to_string(),
                code: failed.code,
                attempts: failed.attempts,
                message: failed.message,
                run_id: self.run_id.clone(),
                ts: Utc::now(),
            })?;
        }
        Ok(())
    }

    /// The actions of `--actions-window`: written, counted; a failure is the run's.
    fn write_window_actions(
        &mut self,
        got: Result<Vec<Action>, net::polite::Failed>,
    ) -> Result<(), Error> {
        match got {
            Ok(actions) => {
                self.summary.actions += actions.len() as u64;
                if let Some(out) = &mut self.actions_out {
                    for a in &actions {
                        out.write(a)?;
                    }
                }
                Ok(())
            }
            Err(failed) if failed.code == FetchErrorCode::Auth => {
                Err(Error::Config(failed.message))
            }
            Err(failed) => {
                self.summary.failed += 1;
                tracing::warn!(code = ?failed.code, "--actions-window: {}", failed.message);
                Ok(())
            }
        }
    }
}

/// `polygon-flatfiles`: the days after each symbol's last stored bar (the earliest of them)
/// through `--end`, read from the bucket or `--input` files, handed to `sink` symbol by symbol.
fn flat_files(
    opts: &Options,
    config: &Config,
    requests: &[Request],
    ranges: &[Range],
    today: NaiveDate,
    sink: &mut Sink,
) -> Result<crate::flatfiles::DayFiles, Error> {
    use crate::flatfiles::{self, Source};
    let end = opts.end.unwrap_or(today);
    // The window: from the earliest symbol's start; a symbol with nothing stored (its whole
    // history) does not drag it back to 1900 — flat files are read a day at a time.
    let given = opts.start.or(opts
        .days_back
        .map(|n| end - chrono::Days::new(u64::from(n))));
    let mut from = given.or_else(|| {
        ranges
            .iter()
            .filter(|r| r.last_stored.is_some())
            .map(|r| r.start)
            .min()
    });
    let mut last_stored: BTreeMap<Symbol, NaiveDate> = BTreeMap::new();
    if opts.all_tickers
        && let Some(location) = &opts.since_lake
    {
        last_stored = lake::Lake::open(location, config)
            .and_then(|l| l.last_dates(&std::collections::BTreeSet::new()))
            .map_err(|source| Error::Lake {
                lake: location.to_string(),
                source,
            })?;
        let watermark = last_stored.values().max().copied();
        let lookback = u64::from(opts.lookback_days);
        from =
            given.or(watermark.map(|w| (w + chrono::Days::new(1)) - chrono::Days::new(lookback)));
    }
    let from = match from {
        Some(f) if f > end => return Ok(crate::flatfiles::DayFiles::default()),
        Some(f) => f,
        None if opts.day_files.is_empty() => {
            return Err(Error::Usage(
                "polygon-flatfiles reads a file per day: give --start or --days-back for a first \
                 load (the lake has none of these symbols yet)"
                    .into(),
            ));
        }
        None => NaiveDate::MIN,
    };
    let universe: std::collections::HashMap<&Symbol, usize> = requests
        .iter()
        .enumerate()
        .map(|(i, r)| (r.symbol(), i))
        .collect();
    let wanted = |s: &Symbol| opts.all_tickers || universe.contains_key(s);
    let polygon = &config.providers.polygon;
    let store;
    let source = if opts.day_files.is_empty() {
        store = flatfiles::store(polygon, config.http.timeout.0)
            .map_err(Error::Flat)?
            .with_retry(objstore::Retry {
                waits: opts.retry.steps.clone(),
                ..objstore::Retry::default()
            });
        Source::Bucket {
            store: &store,
            prefix: &polygon.s3_prefix,
            workers: polygon.s3_workers as usize,
        }
    } else {
        Source::Files(&opts.day_files, given)
    };
    let (days, mut report) =
        flatfiles::read_days(&source, from, end, &wanted).map_err(Error::Flat)?;
    let first_day = days.first().map(|d| d.date);
    let last_day = days.last().map(|d| d.date);
    let mut rows = flatfiles::by_symbol(days);
    let fetched_at = Utc::now();
    let outcome = |result| crate::provider::Outcome {
        result,
        tries: net::polite::Tries::default(),
        fell_back: 0,
    };
    let served = crate::provider::Served {
        provider: crate::polygon_rest::PROVIDER,
        split_restates: false,
        dividend_restates: false,
    };
    // The universe's symbols, in symbol order, then (--all-tickers) every other one.
    let mut order: Vec<(Request, Option<NaiveDate>)> = requests
        .iter()
        .zip(ranges)
        .map(|(r, range)| (r.clone(), range.last_stored))
        .collect();
    if opts.all_tickers {
        for symbol in rows.keys() {
            if !universe.contains_key(symbol) {
                order.push((
                    Request {
                        ticker: Ticker::new(symbol.clone()),
                        start: from,
                        end,
                    },
                    last_stored.get(symbol).copied(),
                ));
            }
        }
    }
    order.sort_by(|a, b| a.0.symbol().cmp(b.0.symbol()));
    sink.summary.requested = order.len() as u64;
    for (index, (request, stored)) in order.iter().enumerate() {
        let bars: Vec<tickerlake::records::Bar> = rows
            .remove(request.symbol())
            .unwrap_or_default()
            .iter()
            .filter(|b| b.date >= request.start && b.date <= request.end)
            .map(|b| b.to_bar(request.symbol()))
            .collect();
        let covered = match (first_day, last_day) {
            (Some(f), Some(l)) => f <= request.end && l >= request.start,
            _ => false,
        };
        let result = if !bars.is_empty() {
            Ok((
                Fetched::Data {
                    bars,
                    actions: Vec::new(),
                },
                served,
            ))
        } else if covered {
            let (code, message) = flatfiles::absent_message(
                first_day.unwrap_or(from).max(request.start),
                last_day.unwrap_or(end).min(request.end),
            );
            Err(net::polite::Failed {
                code,
                attempts: 1,
                message: format!("{}: {message}", request.symbol()),
                breaker_open: false,
            })
        } else {
            Ok((Fetched::UpToDate, served))
        };
        let done = Done {
            index,
            outcome: outcome(result),
            elapsed: std::time::Duration::ZERO,
            fetched_at,
        };
        sink.take(request, *stored, done, false)?;
    }
    report.symbols = order.len() as u64;
    if !report.missing.is_empty() {
        sink.day_files_missing = true;
    }
    Ok(report)
}

/// `--actions-window`: Polygon's splits and dividends from `actions_back_days` before `--end`
/// to `actions_ahead_days` after it, for the universe's symbols.
fn window_actions(
    opts: &Options,
    config: &Config,
    clients: &Clients,
    raw: Option<&RawDir>,
    tickers: &[Ticker],
    today: NaiveDate,
) -> Result<Result<Vec<Action>, net::polite::Failed>, Error> {
    let polygon = &config.providers.polygon;
    let base_url = match opts.providers.first() {
        Some(ProviderName::PolygonRest) => opts.base_url.clone(),
        _ => None,
    };
    let rest = PolygonRest::new(polygon, base_url, true).map_err(Error::Config)?;
    let lane = Lane {
        provider: Box::new(rest.clone()),
        rate: RateLimiter::new(opts.rate.unwrap_or(polygon.rate.0)),
        breaker: Breaker::new(config.fetch.breaker_failures),
    };
    let send = |r: &net::http::Request<'_>| clients.send(0, r);
    let end = opts.end.unwrap_or(today);
    let from = end - chrono::Days::new(u64::from(polygon.actions_back_days));
    let to = end + chrono::Days::new(u64::from(polygon.actions_ahead_days));
    let symbols: std::collections::BTreeSet<&Symbol> = tickers.iter().map(|t| &t.symbol).collect();
    let mut ask =
        crate::provider::Asker::new(&send, &opts.retry, &lane, raw, "actions-window".into());
    Ok(rest.market_actions(&mut ask, from, to).map(|all| {
        all.into_iter()
            .filter(|a| symbols.contains(&a.symbol))
            .collect()
    }))
}

fn action_text(a: &Action) -> &'static str {
    match a.action {
        ActionKind::Split => "a split on",
        ActionKind::Dividend => "a dividend on",
    }
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
pub const WHOLE_HISTORY: NaiveDate = match NaiveDate::from_ymd_opt(1900, 1, 1) {
    Some(d) => d,
    None => NaiveDate::MIN,
};

/// Each ticker's range. `--end` defaults to today (UTC). With `--since-lake`, a symbol in the
/// lake starts the day after its last bar less `--lookback` days (so a long outage is fetched
/// whole, and a symbol with no new trading day asks for a few days and is up to date), one the
/// lake lacks at the start of its history; `--start` / `--days-back` override both. Without
/// `--since-lake`, `--start` or `--days-back` is required.
fn ranges(opts: &Options, config: &Config, tickers: &[Ticker]) -> Result<Vec<Range>, Error> {
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
    let Some(location) = &opts.since_lake else {
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
    let last = lake::Lake::open(location, config)
        .and_then(|lake| lake.last_dates(&symbols))
        .map_err(|source| match source {
            lake::LakeError::NotALake { .. } => Error::Lake {
                lake: "--since-lake".into(),
                source,
            },
            source => Error::Lake {
                lake: location.to_string(),
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
