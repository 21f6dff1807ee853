//! The run's options, free of clap types: built once from the command line and `config.yaml`.

use std::path::PathBuf;

use tickerlake::config::Config;
use tickerlake::records::AssetType;

use crate::Error;
use crate::cli::Cli;
use crate::junk::Keep;

#[derive(Debug, Clone)]
pub struct Options {
    /// `-` for stdin.
    pub inputs: Vec<PathBuf>,
    pub keep: Keep,
    pub source_precedence: Vec<String>,
    /// Empty: every share class is kept.
    pub class_preference: Option<Vec<char>>,
    pub report: Option<PathBuf>,
    pub rejects: Option<PathBuf>,
    pub verbose: bool,
    pub previous: Option<PathBuf>,
    pub status: Option<PathBuf>,
    pub state: Option<PathBuf>,
    pub failed_nights: u32,
    pub delta: Option<PathBuf>,
    pub as_of: chrono::NaiveDate,
    pub accept_mass_delisting: bool,
    pub max_delist_pct: f64,
    pub archive_after_months: u32,
    pub listing_sources: Vec<String>,
    pub sample: Option<Sample>,
    pub shard: Option<(u64, u64)>,
}

/// Which sample of the universe is written.
#[derive(Debug, Clone)]
pub enum Sample {
    Stratified(crate::sample::Stratified),
    Plain { n: usize, seed: u64 },
}

pub fn options(cli: &Cli, config: &Config) -> Result<Options, Error> {
    let f = &config.filter;
    let mut asset_types = f.asset_types.clone();
    if cli.keep_etfs && !asset_types.contains(&AssetType::Etf) {
        asset_types.push(AssetType::Etf);
    }
    let mics = |list: &[String]| -> Result<Vec<String>, Error> {
        list.iter()
            .map(|m| {
                let m = m.trim().to_ascii_uppercase();
                if tickerlake::listing::venue(&m).is_some() || tickerlake::listing::is_us_venue(&m)
                {
                    Ok(m)
                } else {
                    Err(Error::Usage(format!(
                        "--exchanges: {} is no venue tickerlake names listings on (MICs: XNAS, \
                         XNYS, XPAR…)",
                        tickerlake::echo::echo(&m)
                    )))
                }
            })
            .collect()
    };
    let countries = |list: &[String]| -> Result<Vec<String>, Error> {
        list.iter()
            .map(|c| {
                let c = c.trim().to_ascii_uppercase();
                if c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()) {
                    Ok(c)
                } else {
                    Err(Error::Usage(format!(
                        "--countries: {}: expected ISO 3166 alpha-2 codes like US, SE",
                        tickerlake::echo::echo(&c)
                    )))
                }
            })
            .collect()
    };
    let inputs = if cli.inputs.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        cli.inputs.clone()
    };
    let stdins = inputs
        .iter()
        .chain(&cli.previous)
        .chain(&cli.status)
        .chain(&cli.state)
        .filter(|p| tickerlake::io::is_stdio(p))
        .count();
    if stdins > 1 {
        return Err(Error::Usage("stdin (-) can be read once".into()));
    }
    if (cli.status.is_some()
        || cli.state.is_some()
        || cli.delta.is_some()
        || cli.accept_mass_delisting)
        && cli.previous.is_none()
    {
        return Err(Error::Usage(
            "--status, --state, --delta and --accept-mass-delisting go with --previous (the \
             universe the statuses change from)"
                .into(),
        ));
    }
    Ok(Options {
        inputs,
        keep: Keep {
            junk_chars: f.junk_chars.chars().collect(),
            asset_types,
            exchanges: if cli.exchanges.is_empty() {
                f.exchanges.clone()
            } else {
                mics(&cli.exchanges)?
            },
            countries: if cli.countries.is_empty() {
                f.countries.clone()
            } else {
                countries(&cli.countries)?
            },
        },
        source_precedence: f.source_precedence.clone(),
        class_preference: (!cli.keep_classes).then(|| {
            f.class_preference
                .iter()
                .filter_map(|c| c.chars().next())
                .collect()
        }),
        report: cli.report.clone(),
        rejects: cli.rejects.clone(),
        verbose: cli.common.verbose > 0,
        previous: cli.previous.clone(),
        status: cli.status.clone(),
        state: cli.state.clone(),
        failed_nights: f.delist_after_failed_nights,
        delta: cli.delta.clone(),
        as_of: cli.as_of.unwrap_or_else(|| chrono::Utc::now().date_naive()),
        accept_mass_delisting: cli.accept_mass_delisting,
        max_delist_pct: f.max_delist_pct,
        archive_after_months: f.archive_after_months,
        listing_sources: f.listing_sources.clone(),
        sample: sample(cli, config)?,
        shard: cli.shard,
    })
}

fn sample(cli: &Cli, config: &Config) -> Result<Option<Sample>, Error> {
    let f = &config.filter;
    if let Some(n) = cli.target {
        let failed = cli.failed_pct.unwrap_or(f.failed_pct);
        if !(0.0..=100.0).contains(&failed) {
            return Err(Error::Usage(format!(
                "--failed-pct {failed}: expected a percentage from 0 to 100"
            )));
        }
        return Ok(Some(Sample::Stratified(crate::sample::Stratified {
            target: n.unwrap_or(f.target_stocks as usize),
            failed_share: failed / 100.0,
            seed: cli.seed,
            thresholds: f.market_cap_thresholds.clone(),
            no_cap: if cli.exclude_no_cap {
                tickerlake::config::NoMarketCap::Exclude
            } else {
                f.no_market_cap
            },
        })));
    }
    Ok(cli.sample.map(|n| Sample::Plain {
        n: n.unwrap_or(f.sample_size as usize),
        seed: cli.seed,
    }))
}
