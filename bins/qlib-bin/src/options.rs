//! The run's options, free of clap types: built once from the command line (and
//! `config.yaml`), then all the logic below takes these.

use std::path::PathBuf;

use lake::ScanFilter;

use crate::cli::{
    Adjust, AllArgs, CalendarArg, InputArgs, InputFormat, NaTickers, SymbolStyle, UpdateArgs,
};

/// Where the bars come from and how they become a store (both commands).
#[derive(Debug, Clone)]
pub struct InputOptions {
    /// NDJSON or CSV files; none or `-` is stdin.
    pub inputs: Vec<PathBuf>,
    /// Read the bars from this lake instead (a directory or `s3://…`).
    pub lake: Option<tickerlake::cli::LakeLocation>,
    pub input_format: InputFormat,
    /// `--symbols`, `--from` and `--to`.
    pub filter: ScanFilter,
    /// `--fields` as given (empty: `qlib.fields`, or every CSV column).
    pub fields: Vec<String>,
    /// `--adjust` as given (else the store's, else `qlib.adjust`).
    pub adjust: Option<Adjust>,
    pub symbol_style: SymbolStyle,
    pub na_tickers: NaTickers,
    /// The store.
    pub output: PathBuf,
    pub summary: Option<PathBuf>,
}

/// `qlib-bin all`.
#[derive(Debug, Clone)]
pub struct AllOptions {
    pub input: InputOptions,
    pub force: bool,
    pub allow_shrink: bool,
    pub calendar: CalendarArg,
}

/// `qlib-bin update`.
#[derive(Debug, Clone)]
pub struct UpdateOptions {
    pub input: InputOptions,
    pub since_watermark: bool,
    pub rewrite_changed: bool,
}

impl From<&InputArgs> for InputOptions {
    fn from(a: &InputArgs) -> InputOptions {
        InputOptions {
            inputs: a.bars.inputs.clone(),
            lake: a.bars.lake.clone(),
            input_format: a.input_format,
            filter: a.bars.filter.filter(),
            fields: a.fields.clone(),
            adjust: a.adjust,
            symbol_style: a.symbol_style,
            na_tickers: a.na_tickers,
            output: a.output.clone(),
            summary: a.summary.clone(),
        }
    }
}

impl From<&AllArgs> for AllOptions {
    fn from(a: &AllArgs) -> AllOptions {
        AllOptions {
            input: InputOptions::from(&a.input),
            force: a.force,
            allow_shrink: a.allow_shrink,
            calendar: a.calendar,
        }
    }
}

impl From<&UpdateArgs> for UpdateOptions {
    fn from(a: &UpdateArgs) -> UpdateOptions {
        UpdateOptions {
            input: InputOptions::from(&a.input),
            since_watermark: a.since_watermark,
            rewrite_changed: a.rewrite_changed,
        }
    }
}
