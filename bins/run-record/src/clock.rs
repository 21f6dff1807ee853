//! Times as the run record writes them, and the trading session a run is about.

use chrono::{DateTime, NaiveDate, Timelike, Utc};
use tickerlake::calendar::Calendar;

/// Now, RFC 3339 UTC with milliseconds and `Z`.
pub fn now_rfc3339() -> String {
    rfc3339(Utc::now())
}

pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Seconds since the epoch with a fraction (bash's `$EPOCHREALTIME`), as RFC 3339.
pub fn from_epoch(secs: f64) -> Option<String> {
    if !secs.is_finite() || secs < 0.0 {
        return None;
    }
    let whole = secs.trunc() as i64;
    let nanos = ((secs - secs.trunc()) * 1e9) as u32;
    DateTime::from_timestamp(whole, nanos).map(rfc3339)
}

/// The newest New York session that has closed at `now`: today's after 21:30 UTC (16:00 in New
/// York plus a margin in winter, more in summer), else the trading day before. A nightly run at
/// 01:00 UTC is about the previous evening's session.
pub fn last_closed_session(now: DateTime<Utc>) -> NaiveDate {
    let today = now.date_naive();
    let after_close = (now.hour(), now.minute()) >= (21, 30);
    if after_close && Calendar::Xnys.is_trading_day(today) {
        return today;
    }
    Calendar::Xnys.previous_trading_day(today).unwrap_or(today)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().expect("time")
    }

    #[test]
    fn a_nightly_run_is_about_the_session_before() {
        // Tuesday 01:00 UTC: Monday's session.
        assert_eq!(
            last_closed_session(at("2026-11-24T01:00:00Z")).to_string(),
            "2026-11-23"
        );
        // Monday 01:00 UTC: Friday's.
        assert_eq!(
            last_closed_session(at("2026-11-23T01:00:00Z")).to_string(),
            "2026-11-20"
        );
        // Friday after Thanksgiving, late: Friday itself (a trading day).
        assert_eq!(
            last_closed_session(at("2026-11-27T22:00:00Z")).to_string(),
            "2026-11-27"
        );
        // The morning after Thanksgiving: Wednesday's.
        assert_eq!(
            last_closed_session(at("2026-11-27T01:00:00Z")).to_string(),
            "2026-11-25"
        );
    }

    #[test]
    fn epoch_seconds_with_a_fraction() {
        assert_eq!(
            from_epoch(1_700_000_000.25).as_deref(),
            Some("2023-11-14T22:13:20.250Z")
        );
        assert_eq!(from_epoch(f64::NAN), None);
    }
}
