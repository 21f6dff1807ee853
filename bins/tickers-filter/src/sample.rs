//! Samples of the universe, each a deterministic function of the listings' names and a seed (the
//! same universe and seed give the same sample whatever the input order; a listing added or
//! removed changes a sample by at most that listing and the one that takes or gives up its
//! place):
//!
//! - `--target N`: stratified by market cap. Each listing falls in a bucket of its market
//!   (`filter.market_cap_thresholds`: upper bounds per market, keyed by MIC, by market — `us`,
//!   `se`… — or `default`); each bucket gets a quota proportional to its share of the universe,
//!   rounded by largest remainder so the quotas sum to N exactly (ties to the larger bucket, then
//!   the bucket's name); within a bucket the listings with the smallest seeded hash of their
//!   name are drawn. Listings without a market cap form their own bucket (`unknown`), or are
//!   excluded (`filter.no_market_cap: exclude`), and are counted either way.
//! - `--failed-pct P`: that share of N drawn the same way from the delisted and archived
//!   listings, the rest from the active ones, so a training set is not made of survivors only.
//! - `--sample N`: the notes' test mode: N listings by seeded hash alone.
//! - `--shard I/N`: the listings whose unseeded hash falls in part I of N, for N cron hosts
//!   fetching disjoint parts.

use std::collections::BTreeMap;

use tickerlake::records::Status;

use tickerlake::config::NoMarketCap as NoCap;

use crate::merge::Record;

pub use tickerlake::stable_hash::stable_hash;

/// The stratified sample's settings.
#[derive(Debug, Clone)]
pub struct Stratified {
    pub target: usize,
    /// Share of the target (0–1) drawn from delisted and archived listings.
    pub failed_share: f64,
    pub seed: u64,
    /// Upper bounds of the buckets, by MIC, market or `default`.
    pub thresholds: BTreeMap<String, Vec<f64>>,
    pub no_cap: NoCap,
}

/// One bucket's figures, for the report.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Bucket {
    /// Listings of the universe in it.
    pub listings: u64,
    pub quota: u64,
    pub drawn: u64,
}

/// What a sample did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SampleReport {
    pub target: u64,
    pub drawn: u64,
    /// By `active|failed` `market` `bucket` (`us <2e9`, `us unknown`).
    pub buckets: BTreeMap<String, Bucket>,
    /// Listings left out for having no market cap (`filter.no_market_cap: exclude`).
    pub no_cap_excluded: u64,
    /// Failed listings asked for and not there (the rest came from active ones).
    pub failed_short: u64,
}

/// The bucket of a listing: `market label`, or `None` when it has no cap and those are excluded.
fn bucket_of(r: &Record, s: &Stratified) -> Option<String> {
    let t = &r.record;
    let market = tickerlake::listing::market(t.symbol.as_str(), t.exchange.as_deref());
    let bounds = t
        .exchange
        .as_ref()
        .and_then(|mic| s.thresholds.get(&mic.to_ascii_lowercase()))
        .or_else(|| s.thresholds.get(&market))
        .or_else(|| s.thresholds.get("default"));
    let Some(cap) = t.market_cap else {
        return match s.no_cap {
            NoCap::Bucket => Some(format!("{market} unknown")),
            NoCap::Exclude => None,
        };
    };
    // Numbered, so that the buckets sort by size: `1 <2e9`, `2 2e9-10e9`…
    let label = match bounds {
        None => "all".to_string(),
        Some(bounds) => match bounds.iter().position(|b| cap < *b) {
            Some(0) => format!("1 <{}", short(bounds[0])),
            Some(k) => format!("{} {}-{}", k + 1, short(bounds[k - 1]), short(bounds[k])),
            None => format!(
                "{} >={}",
                bounds.len() + 1,
                short(*bounds.last().unwrap_or(&0.0))
            ),
        },
    };
    Some(format!("{market} {label}"))
}

/// `2e9`, `500e6`: thresholds as the configuration writes them.
fn short(v: f64) -> String {
    if v >= 1e3 && v.is_finite() {
        let exp = v.log10().floor() as i32;
        let exp = exp - exp.rem_euclid(3);
        let mant = v / 10f64.powi(exp);
        format!("{}e{exp}", (mant * 1000.0).round() / 1000.0)
    } else {
        format!("{v}")
    }
}

/// Quotas summing to `n` exactly, proportional to `sizes` (largest remainder; ties to the
/// larger bucket, then the earlier key).
fn quotas(sizes: &[(String, usize)], n: usize) -> Vec<usize> {
    let total: usize = sizes.iter().map(|(_, s)| s).sum();
    if total == 0 {
        return vec![0; sizes.len()];
    }
    let n = n.min(total);
    let exact: Vec<f64> = sizes
        .iter()
        .map(|(_, s)| *s as f64 * n as f64 / total as f64)
        .collect();
    let mut q: Vec<usize> = exact.iter().map(|e| e.floor() as usize).collect();
    let mut left = n - q.iter().sum::<usize>();
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    order.sort_by(|&a, &b| {
        let (fa, fb) = (exact[a] - exact[a].floor(), exact[b] - exact[b].floor());
        fb.total_cmp(&fa)
            .then(sizes[b].1.cmp(&sizes[a].1))
            .then(sizes[a].0.cmp(&sizes[b].0))
    });
    for k in order {
        if left == 0 {
            break;
        }
        if q[k] < sizes[k].1 {
            q[k] += 1;
            left -= 1;
        }
    }
    q
}

/// Draws `n` of `records` stratified by bucket; the figures go into `report` under `group`.
fn draw(
    records: Vec<Record>,
    n: usize,
    s: &Stratified,
    group: &str,
    report: &mut SampleReport,
) -> Vec<Record> {
    let mut strata: BTreeMap<String, Vec<Record>> = BTreeMap::new();
    for r in records {
        match bucket_of(&r, s) {
            Some(b) => strata.entry(b).or_default().push(r),
            None => report.no_cap_excluded += 1,
        }
    }
    let sizes: Vec<(String, usize)> = strata.iter().map(|(k, v)| (k.clone(), v.len())).collect();
    let q = quotas(&sizes, n);
    let mut out = Vec::new();
    for ((key, mut members), quota) in strata.into_iter().zip(q) {
        members.sort_by_cached_key(|r| {
            (
                stable_hash(s.seed, r.record.symbol.as_str()),
                r.record.symbol.clone(),
            )
        });
        let listings = members.len() as u64;
        members.truncate(quota);
        report.buckets.insert(
            format!("{group} {key}"),
            Bucket {
                listings,
                quota: quota as u64,
                drawn: members.len() as u64,
            },
        );
        out.extend(members);
    }
    out
}

/// The stratified sample of `universe` (sorted by name on return).
pub fn stratified(universe: Vec<Record>, s: &Stratified) -> (Vec<Record>, SampleReport) {
    let mut report = SampleReport {
        target: s.target as u64,
        ..SampleReport::default()
    };
    let (failed, active): (Vec<Record>, Vec<Record>) = universe
        .into_iter()
        .partition(|r| r.record.status != Status::Active);
    let want_failed = (s.target as f64 * s.failed_share).round() as usize;
    let failed_cap = failed
        .iter()
        .filter(|r| r.record.market_cap.is_some() || s.no_cap == NoCap::Bucket)
        .count();
    let n_failed = want_failed.min(failed_cap);
    report.failed_short = (want_failed - n_failed) as u64;
    let mut out = draw(failed, n_failed, s, "failed", &mut report);
    out.extend(draw(active, s.target - n_failed, s, "active", &mut report));
    out.sort_by(|a, b| a.record.symbol.cmp(&b.record.symbol));
    report.drawn = out.len() as u64;
    (out, report)
}

/// The notes' test mode: `n` listings by seeded hash alone, sorted by name.
pub fn plain(mut universe: Vec<Record>, n: usize, seed: u64) -> Vec<Record> {
    universe.sort_by_cached_key(|r| {
        (
            stable_hash(seed, r.record.symbol.as_str()),
            r.record.symbol.clone(),
        )
    });
    universe.truncate(n);
    universe.sort_by(|a, b| a.record.symbol.cmp(&b.record.symbol));
    universe
}

/// Part `part` (1-based) of `parts` of the universe.
pub fn shard(universe: Vec<Record>, part: u64, parts: u64) -> Vec<Record> {
    universe
        .into_iter()
        .filter(|r| stable_hash(0, r.record.symbol.as_str()) % parts == part - 1)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas_sum_to_the_target_by_largest_remainder() {
        let sizes = |v: &[usize]| -> Vec<(String, usize)> {
            v.iter()
                .enumerate()
                .map(|(i, s)| (format!("b{i}"), *s))
                .collect()
        };
        assert_eq!(quotas(&sizes(&[50, 30, 20]), 10), [5, 3, 2]);
        // 10 × (1/3, 1/3, 1/3): 3.33 each, the extra one to the first by name.
        assert_eq!(quotas(&sizes(&[30, 30, 30]), 10), [4, 3, 3]);
        // Never more than a bucket holds; a target above the universe takes it all.
        assert_eq!(quotas(&sizes(&[1, 99]), 100), [1, 99]);
        assert_eq!(quotas(&sizes(&[1, 99]), 500), [1, 99]);
        assert_eq!(quotas(&sizes(&[0, 0]), 5), [0, 0]);
        for n in 0..=100 {
            assert_eq!(quotas(&sizes(&[7, 13, 29, 51]), n).iter().sum::<usize>(), n);
        }
    }

    #[test]
    fn market_caps_are_written_short() {
        assert_eq!(short(2e9), "2e9");
        assert_eq!(short(500e6), "500e6");
        assert_eq!(short(1e15), "1e15");
    }
}
