//! The lifecycle over the previous universe (`--previous`): new listings become `active`, listings
//! seen again stay `active` (or come back to it), a listing gone from a source that was read whole
//! becomes `delisted`, and one delisted more than `filter.archive_after_months` ago `archived`.
//!
//! A delisting needs evidence, never a guess:
//! - the listing's source must have been read whole this run: its entry in `--status`
//!   (tickers-scrape's status file) says `ok`, or, without `--status`, the source gave records to
//!   this run's input. A source that failed, or was not run, delists nothing: its listings keep
//!   their previous state (the notes' "scraper fails → no purge");
//! - if more than `filter.max_delist_pct` of a source's active listings vanish at once, none of
//!   them is delisted (a source that half-delivered reads as mass delistings): the run reports
//!   it and exits 75, unless `--accept-mass-delisting`.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Months, NaiveDate};
use tickerlake::records::Status;

use crate::merge::Record;

/// One status change, for `--delta`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Transition {
    pub symbol: String,
    /// `none` for a new listing.
    pub from: &'static str,
    pub to: &'static str,
    pub date: NaiveDate,
    pub reason: String,
}

/// A source's entry in tickers-scrape's status file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusEntry {
    /// `ok`, and no row set aside (a bad symbol, an unknown venue): every listing is known.
    pub ok: bool,
    /// Records it gave: this run's input must hold as many of its records.
    pub records: u64,
    /// The day of its listing: this run's records of it must be of that day.
    pub as_of: NaiveDate,
}

/// What `--status` says of each source.
pub type SourcesOk = HashMap<String, StatusEntry>;

/// What this run's input holds of a source (before any rule).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InputOf {
    /// Distinct listings of its newest day (`last_seen`): duplicates and older scrapes do not
    /// make a short delivery whole.
    pub records: u64,
    /// The newest `last_seen` of its records: the day of its listing.
    pub newest: Option<NaiveDate>,
}

/// The rules of a lifecycle run.
#[derive(Debug, Clone)]
pub struct Rules {
    pub as_of: NaiveDate,
    /// From `--status`; `None`: a source counts as read whole when it gave records.
    pub sources_ok: Option<SourcesOk>,
    pub max_delist_pct: f64,
    pub archive_after_months: u32,
    pub accept_mass_delisting: bool,
    /// From `--state`: each symbol's failed fetches in a row; a listing is delisted only when
    /// it has at least `failed_nights` of them.
    pub fetch_failures: Option<HashMap<String, u32>>,
    pub failed_nights: u32,
    /// What this run's input proves.
    pub evidence: Evidence,
    /// Sources whose absence is a delisting (exchange listings; not index tables or screens).
    pub listing_sources: Vec<String>,
    /// Input lines were set aside: this run's listings are not all known, nothing is delisted.
    pub lines_rejected: bool,
}

/// What this run's input proves, gathered from its records before any rule.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    /// Per source.
    pub input: HashMap<String, InputOf>,
    /// Every listing read, kept by the rules or not: still listed.
    pub listed: HashSet<String>,
    /// ISINs read: a security still listed under another name (a venue written first this
    /// time) is not delisted.
    pub isins: HashSet<String>,
}

impl Evidence {
    pub fn of(records: &[Record]) -> Evidence {
        let mut e = Evidence::default();
        for r in records {
            let t = &r.record;
            e.listed.insert(t.symbol.as_str().to_string());
            if let Some(isin) = &t.isin {
                e.isins.insert(isin.clone());
            }
            if let Some(source) = &t.source {
                let i = e.input.entry(source.clone()).or_default();
                i.newest = i.newest.max(t.last_seen);
            }
        }
        // Distinct listings of each source's newest day.
        let mut distinct: HashSet<(&str, &str)> = HashSet::new();
        for r in records {
            let t = &r.record;
            if let Some(source) = &t.source
                && let Some(i) = e.input.get_mut(source)
                && t.last_seen == i.newest
                && distinct.insert((source.as_str(), t.symbol.as_str()))
            {
                i.records += 1;
            }
        }
        e
    }
}

/// Fewest active listings of one venue in one source for the guard to watch the venue alone.
const VENUE_GUARD_MIN: u64 = 20;

impl Rules {
    /// Whether `source` was read whole this run: its absence from it is evidence.
    fn read_whole(&self, source: &str) -> bool {
        if self.lines_rejected || !self.listing_sources.iter().any(|s| s == source) {
            return false;
        }
        let Some(input) = self.evidence.input.get(source) else {
            return false;
        };
        match &self.sources_ok {
            None => input.records > 0,
            Some(status) => status.get(source).is_some_and(|e| {
                e.ok && input.records >= e.records && input.newest == Some(e.as_of)
            }),
        }
    }

    /// Whether this run's listing of `source` is newer than the day `t` was last seen: an older
    /// scrape is no evidence of anything that happened since.
    fn newer_than(&self, source: &str, t: &tickerlake::records::Ticker) -> bool {
        match (
            self.evidence.input.get(source).and_then(|i| i.newest),
            t.last_seen,
        ) {
            (Some(run), Some(seen)) => run > seen,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }
}

/// What the lifecycle did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Lifecycle {
    /// Transitions by kind (`new`, `relisted`, `delisted`, `archived`).
    pub transitions: BTreeMap<&'static str, u64>,
    /// Listings gone from a source that was not read whole: kept as they were.
    pub unconfirmed: BTreeMap<String, u64>,
    /// With `--state`: listings gone from their source whose fetch has not failed
    /// `filter.delist_after_failed_nights` nights in a row yet: still active.
    pub awaiting_fetch_failures: u64,
    /// Sources whose vanished share exceeded `filter.max_delist_pct`: (vanished, active before).
    pub mass_delisting: BTreeMap<String, (u64, u64)>,
    #[serde(skip)]
    pub delta: Vec<Transition>,
}

impl Lifecycle {
    /// Whether the run must end 75: a mass delisting refused.
    pub fn refused(&self) -> bool {
        !self.mass_delisting.is_empty()
    }

    fn note(&mut self, t: Transition) {
        *self.transitions.entry(t.to_kind()).or_insert(0) += 1;
        self.delta.push(t);
    }
}

impl Transition {
    fn to_kind(&self) -> &'static str {
        match (self.from, self.to) {
            ("none", _) => "new",
            (_, "active") => "relisted",
            (_, to) => to,
        }
    }
}

/// This run's universe (`current`: the listings the rules kept, sorted by name) against the
/// previous universe: the universe with every listing's status, sorted by name, and what changed. A previous listing this run read
/// but the rules now leave out leaves the universe without a transition: it was not delisted.
pub fn apply(
    current: Vec<Record>,
    previous: Vec<Record>,
    rules: &Rules,
) -> (Vec<Record>, Lifecycle) {
    let mut life = Lifecycle::default();
    let as_of = rules.as_of;
    let listed = &rules.evidence.listed;
    // The mass-delisting guard: per source, and per venue of a source (a file that lost one
    // venue's rows is as half-delivered as one cut in the middle).
    let group = |source: &str, venue: Option<&str>| match venue {
        Some(v) => format!("{source} {v}"),
        None => source.to_string(),
    };
    let mut active_before: HashMap<String, u64> = HashMap::new();
    let mut vanished: HashMap<String, u64> = HashMap::new();
    for p in &previous {
        let t = &p.record;
        if t.status != Status::Active {
            continue;
        }
        let source = source_key(t.source.as_deref());
        let groups = [
            group(&source, None),
            group(&source, t.exchange.as_deref().or(Some("-"))),
        ];
        for g in &groups {
            *active_before.entry(g.clone()).or_insert(0) += 1;
        }
        if !listed.contains(t.symbol.as_str()) && rules.read_whole(&source) {
            for g in groups {
                *vanished.entry(g).or_insert(0) += 1;
            }
        }
    }
    // Refused groups, each as `source` or `source venue`.
    let mut refused: HashSet<String> = HashSet::new();
    for (g, gone) in &vanished {
        let before = active_before.get(g).copied().unwrap_or(0);
        let venue_group = g.contains(' ');
        if venue_group && before < VENUE_GUARD_MIN {
            continue;
        }
        if before > 0 && (*gone as f64) * 100.0 > rules.max_delist_pct * before as f64 {
            life.mass_delisting.insert(g.clone(), (*gone, before));
            if !rules.accept_mass_delisting {
                refused.insert(g.clone());
            }
        }
    }
    let is_refused = |t: &tickerlake::records::Ticker| {
        let source = source_key(t.source.as_deref());
        refused.contains(&source)
            || refused.contains(&group(&source, t.exchange.as_deref().or(Some("-"))))
    };
    // Index tags some record of this run carries: their source delivered; a tag no record
    // carries is kept from the previous universe (its source did not run, or failed).
    let tags_now: HashSet<String> = current
        .iter()
        .flat_map(|r| r.record.indexes.iter().cloned())
        .collect();

    // Both sorted by name: one walk pairs them.
    let mut previous = previous.into_iter().peekable();
    let mut rest: Vec<Record> = Vec::new();
    let mut out: Vec<Record> = Vec::with_capacity(current.len());
    for mut r in current {
        let name = r.record.symbol.as_str().to_string();
        while let Some(p) = previous.next_if(|p| p.record.symbol < r.record.symbol) {
            rest.push(p);
        }
        let paired = previous.next_if(|p| p.record.symbol == r.record.symbol);
        match paired {
            None => {
                let t = &mut r.record;
                t.status = Status::Active;
                t.delisted_on = None;
                t.delisted_reason = None;
                t.first_seen = Some(t.first_seen.map_or(as_of, |d| d.min(as_of)));
                t.last_seen = Some(as_of);
                life.note(Transition {
                    symbol: name,
                    from: "none",
                    to: "active",
                    date: as_of,
                    reason: format!("listed by {}", source_of(&r)),
                });
            }
            Some(prev) => {
                let was = prev.record.status;
                keep_history(&mut r, prev, &tags_now);
                let t = &mut r.record;
                t.status = Status::Active;
                t.last_seen = Some(as_of);
                t.delisted_on = None;
                t.delisted_reason = None;
                if was != Status::Active {
                    life.note(Transition {
                        symbol: name,
                        from: was.name(),
                        to: "active",
                        date: as_of,
                        reason: format!("listed again by {}", source_of(&r)),
                    });
                }
            }
        }
        out.push(r);
    }
    // What this run did not list: the previous universe's other listings, in name order.
    rest.extend(previous);
    let listed_out = std::mem::take(&mut out);
    let mut kept_rest: Vec<Record> = Vec::with_capacity(rest.len());
    for mut p in rest {
        let name = p.record.symbol.as_str().to_string();
        if listed.contains(&name) {
            // Still listed, left out by the rules this run.
            continue;
        }
        let source = source_key(p.record.source.as_deref());
        match p.record.status {
            Status::Active => {
                let isin_listed = p
                    .record
                    .isin
                    .as_ref()
                    .is_some_and(|i| rules.evidence.isins.contains(i));
                if !rules.read_whole(&source)
                    || !rules.newer_than(&source, &p.record)
                    || isin_listed
                {
                    *life.unconfirmed.entry(source).or_insert(0) += 1;
                } else if is_refused(&p.record) {
                    // Counted in mass_delisting; the listing keeps its state.
                } else if rules
                    .fetch_failures
                    .as_ref()
                    .is_some_and(|f| f.get(&name).copied().unwrap_or(0) < rules.failed_nights)
                {
                    life.awaiting_fetch_failures += 1;
                } else {
                    let reason = format!("absent from {}", display_source(&source));
                    p.record.status = Status::Delisted;
                    p.record.delisted_on = Some(as_of);
                    p.record.delisted_reason = Some(reason.clone());
                    life.note(Transition {
                        symbol: name,
                        from: "active",
                        to: "delisted",
                        date: as_of,
                        reason,
                    });
                }
            }
            Status::Delisted => {
                let since = p.record.delisted_on.or(p.record.last_seen);
                let due = since
                    .and_then(|d| d.checked_add_months(Months::new(rules.archive_after_months)));
                // More than the months: on the day they are up it is not archived yet.
                if due.is_some_and(|due| due < as_of) {
                    p.record.status = Status::Archived;
                    life.note(Transition {
                        symbol: name,
                        from: "delisted",
                        to: "archived",
                        date: as_of,
                        reason: format!(
                            "delisted more than {} months ago",
                            rules.archive_after_months
                        ),
                    });
                }
            }
            Status::Archived => {}
        }
        kept_rest.push(p);
    }
    // The two runs of names, merged.
    let mut out = Vec::with_capacity(listed_out.len() + kept_rest.len());
    let mut a = listed_out.into_iter().peekable();
    let mut b = kept_rest.into_iter().peekable();
    loop {
        let take_a = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => x.record.symbol <= y.record.symbol,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        out.extend(if take_a { a.next() } else { b.next() });
    }
    (out, life)
}

/// The listing's history carried over: first seen when it was first seen, and a stored value
/// never erased by this run's empty one.
fn keep_history(r: &mut Record, prev: Record, tags_now: &HashSet<String>) {
    let (t, mut p) = (&mut r.record, prev.record);
    t.first_seen = match (t.first_seen, p.first_seen) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    crate::merge::fill_empty_fields(t, &mut p);
    for tag in p.indexes {
        if !tags_now.contains(&tag) && !t.indexes.contains(&tag) {
            t.indexes.push(tag);
        }
    }
    t.indexes.sort();
    for (k, v) in prev.extra {
        r.extra.entry(k).or_insert(v);
    }
}

/// A source's key in the report: its name, `none` without one.
fn source_key(s: Option<&str>) -> String {
    match s {
        Some(s) if !s.is_empty() => s.to_string(),
        _ => "none".into(),
    }
}

fn source_of(r: &Record) -> String {
    display_source(r.record.source.as_deref().unwrap_or(""))
}

fn display_source(s: &str) -> String {
    if s.is_empty() {
        "a source without a name".into()
    } else {
        s.to_string()
    }
}
