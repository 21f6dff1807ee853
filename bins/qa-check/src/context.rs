//! The side inputs: splits and dividends (`--actions`), the ticker universe (`--universe`) and
//! the fetch state (`--state`).

use std::collections::HashMap;
use std::path::Path;

use lake::bars::days_since_epoch;
use tickerlake::Record;
use tickerlake::fetch_state::State;
use tickerlake::ndjson::NdjsonReader;
use tickerlake::records::{Action, ActionKind, Status, Ticker};

use crate::Error;
use crate::checks::{Event, Events};

/// Every record of an NDJSON file; the first bad line is the error (file:line: field: why).
fn read_all<T: Record>(path: &Path) -> Result<Vec<T>, Error> {
    let input = tickerlake::io::Input::open(path)?;
    let mut reader = NdjsonReader::new(input.reader, input.name);
    let mut out = Vec::new();
    while let Some(r) = reader.next_record::<T>() {
        match r {
            Ok(v) => out.push(v),
            Err(tickerlake::ndjson::ReadError::Bad(bad)) => {
                return Err(Error::Lib(bad.error.into()));
            }
            Err(tickerlake::ndjson::ReadError::Io(e)) => return Err(Error::Lib(e)),
        }
    }
    Ok(out)
}

/// Splits (by ratio) and dividends (by amount) per symbol, sorted by date.
pub fn load_actions(path: &Path) -> Result<Events, Error> {
    let mut events: Events = HashMap::new();
    for a in read_all::<Action>(path)? {
        let value = match a.action {
            ActionKind::Split => a.ratio,
            ActionKind::Dividend => a.amount,
        }
        .map_or(f64::NAN, |d| d.to_f64());
        events.entry(a.symbol).or_default().push(Event {
            date: days_since_epoch(a.date),
            kind: a.action,
            value,
        });
    }
    for list in events.values_mut() {
        list.sort_by_key(|e| e.date);
    }
    Ok(events)
}

/// The active tickers of a universe file, in file order, each once.
pub fn load_universe(path: &Path) -> Result<Vec<Ticker>, Error> {
    let mut seen = std::collections::HashSet::new();
    Ok(read_all::<Ticker>(path)?
        .into_iter()
        .filter(|t| t.status == Status::Active && seen.insert(t.symbol.clone()))
        .collect())
}

/// The fetch state; unlike `ohlcv-fetch`, which starts afresh without one, a state file named on
/// the command line must exist.
pub fn load_state(path: &Path) -> Result<State, Error> {
    if !path.exists() {
        return Err(Error::Lib(tickerlake::Error::Open {
            path: path.display().to_string(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        }));
    }
    Ok(State::load(path)?)
}
