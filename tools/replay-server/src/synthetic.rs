//! Synthetic answers, for symbols that have no recording: the offline demo fetches a whole
//! universe of genuine listings, and only a handful of them have recorded Yahoo answers.
//!
//! A synthetic answer has the shape of the provider's (the fields ohlcv-fetch reads) and says
//! what it is twice: `meta.exchangeName` is `SYNTHETIC` and the response carries
//! `X-Replay-Synthetic: true`; the request log names the route. Its numbers are a seeded random
//! walk per symbol, the same for a day whatever window asks for it, so an incremental fetch meets
//! the bars a first fetch stored, and a later day (the clock moved on) brings new ones.

use chrono::{Datelike, NaiveDate, TimeZone, Utc};
use serde::Deserialize;
use tickerlake::calendar::Calendar;
use tickerlake::stable_hash::stable_hash as hash;

/// What a synthetic route generates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Synthetic {
    /// Yahoo's `/v8/finance/chart/{symbol}` daily bars (`period1`/`period2` or `range`).
    YahooChart,
}

/// The first day of every synthetic series: histories start within a few months after it.
const EPOCH: (i32, u32, u32) = (2023, 1, 3);

impl Synthetic {
    /// The answer to a request for `symbol` with these query parameters, at `today` (the last
    /// day a bar may have). Status and body.
    pub fn answer(
        self,
        symbol: &str,
        params: &std::collections::BTreeMap<String, String>,
        today: NaiveDate,
    ) -> (u16, Vec<u8>) {
        match self {
            Synthetic::YahooChart => yahoo_chart(symbol, params, today),
        }
    }
}

fn yahoo_chart(
    symbol: &str,
    params: &std::collections::BTreeMap<String, String>,
    today: NaiveDate,
) -> (u16, Vec<u8>) {
    let day_of = |key: &str| -> Option<NaiveDate> {
        let secs: i64 = params.get(key)?.parse().ok()?;
        Some(Utc.timestamp_opt(secs, 0).single()?.date_naive())
    };
    let first = series_start(symbol);
    let (from, to) = match (day_of("period1"), day_of("period2")) {
        (Some(a), Some(b)) => (a, b),
        _ => (first, today),
    };
    let from = from.max(first);
    let to = to.min(today);
    let mut timestamps = Vec::new();
    let (mut open, mut high, mut low, mut close, mut volume, mut adj) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    let mut walk = Walk::new(symbol);
    for day in Calendar::Xnys.trading_days(first, to) {
        let bar = walk.next(day);
        if day < from {
            continue;
        }
        // Noon UTC is the same exchange date in New York and in Europe.
        let noon = day.and_hms_opt(12, 0, 0).map(|t| t.and_utc().timestamp());
        timestamps.push(noon);
        open.push(bar.open);
        high.push(bar.high);
        low.push(bar.low);
        close.push(bar.close);
        adj.push(bar.close);
        volume.push(bar.volume);
    }
    let (zone, currency) = zone_and_currency(symbol);
    let body = serde_json::json!({
        "chart": {
            "result": [{
                "meta": {
                    "currency": currency,
                    "symbol": symbol,
                    "exchangeName": "SYNTHETIC",
                    "fullExchangeName": "replay-server synthetic answer (no recording of this symbol)",
                    "instrumentType": "EQUITY",
                    "exchangeTimezoneName": zone,
                    "dataGranularity": "1d",
                },
                "timestamp": timestamps,
                "indicators": {
                    "quote": [{"open": open, "high": high, "low": low, "close": close, "volume": volume}],
                    "adjclose": [{"adjclose": adj}],
                },
            }],
            "error": null,
        }
    });
    (200, body.to_string().into_bytes())
}

/// The exchange's time zone and currency by Yahoo's venue suffix (none: a US listing).
fn zone_and_currency(symbol: &str) -> (&'static str, &'static str) {
    match symbol.rsplit_once('.').map(|(_, s)| s) {
        Some("PA" | "AS" | "BR" | "LS" | "MI" | "IR" | "OL") => ("Europe/Paris", "EUR"),
        Some("DE" | "F") => ("Europe/Berlin", "EUR"),
        Some("L") => ("Europe/London", "GBP"),
        Some("ST") => ("Europe/Stockholm", "SEK"),
        _ => ("America/New_York", "USD"),
    }
}

/// The first day of `symbol`'s series: spread over half a year after [`EPOCH`].
fn series_start(symbol: &str) -> NaiveDate {
    let (y, m, d) = EPOCH;
    let epoch = NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default();
    let offset = hash(0, symbol) % 180;
    epoch + chrono::Days::new(offset)
}

struct Bar {
    open: f64,
    high: f64,
    low: f64,
    close: f64,
    volume: u64,
}

/// A seeded random walk: each day's numbers depend only on the symbol and the days before.
struct Walk {
    seed: u64,
    close: f64,
}

impl Walk {
    fn new(symbol: &str) -> Walk {
        let seed = hash(1, symbol);
        Walk {
            seed,
            close: 10.0 + (seed % 19_000) as f64 / 100.0,
        }
    }

    fn next(&mut self, day: NaiveDate) -> Bar {
        let h = hash(self.seed, &day.num_days_from_ce().to_string());
        let unit = |shift: u32| ((h >> shift) & 0xffff) as f64 / 65535.0;
        // Daily moves within ±2 %, an open near the last close, a range around both.
        let prev = self.close;
        let close = round2((prev * (1.0 + (unit(0) - 0.5) * 0.04)).max(0.5));
        let open = round2((prev * (1.0 + (unit(16) - 0.5) * 0.01)).max(0.5));
        let high = round2(open.max(close) * (1.0 + unit(32) * 0.01));
        let low = round2(open.min(close) * (1.0 - unit(48) * 0.01));
        self.close = close;
        Bar {
            open,
            high,
            low,
            close,
            volume: 200_000 + (h % 4_800_000),
        }
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bars(symbol: &str, from: &str, to: &str, today: &str) -> serde_json::Value {
        let day = |s: &str| s.parse::<NaiveDate>().expect("date");
        let secs = |s: &str| {
            day(s)
                .and_hms_opt(0, 0, 0)
                .expect("midnight")
                .and_utc()
                .timestamp()
                .to_string()
        };
        let params = [("period1", secs(from)), ("period2", secs(to))]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        let (status, body) = Synthetic::YahooChart.answer(symbol, &params, day(today));
        assert_eq!(status, 200);
        serde_json::from_slice(&body).expect("json")
    }

    #[test]
    fn a_day_has_the_same_bar_whatever_window_asks_for_it() {
        let wide = bars("ZZZT", "2024-01-01", "2024-03-01", "2030-01-01");
        let narrow = bars("ZZZT", "2024-02-01", "2024-02-10", "2030-01-01");
        let r = |v: &serde_json::Value, k: &str| v["chart"]["result"][0][k].clone();
        let ts_wide = r(&wide, "timestamp");
        let ts_narrow = r(&narrow, "timestamp");
        let first = ts_narrow[0].clone();
        let at = ts_wide
            .as_array()
            .expect("array")
            .iter()
            .position(|t| *t == first)
            .expect("narrow window inside the wide one");
        let close = |v: &serde_json::Value, i: usize| {
            v["chart"]["result"][0]["indicators"]["quote"][0]["close"][i].clone()
        };
        assert_eq!(close(&wide, at), close(&narrow, 0));
        assert_eq!(r(&wide, "meta")["exchangeName"], "SYNTHETIC");
    }

    #[test]
    fn no_bar_after_today_and_bars_are_consistent() {
        let v = bars("ABC.PA", "2024-01-01", "2030-01-01", "2024-06-28");
        let result = &v["chart"]["result"][0];
        let last = result["timestamp"]
            .as_array()
            .and_then(|a| a.last())
            .and_then(serde_json::Value::as_i64)
            .expect("bars");
        let last = Utc
            .timestamp_opt(last, 0)
            .single()
            .expect("ts")
            .date_naive();
        assert_eq!(last.to_string(), "2024-06-28");
        assert_eq!(result["meta"]["currency"], "EUR");
        let q = &result["indicators"]["quote"][0];
        let n = q["close"].as_array().map_or(0, Vec::len);
        for i in 0..n {
            let f = |k: &str| q[k][i].as_f64().expect("price");
            assert!(
                f("low") <= f("open").min(f("close")) && f("high") >= f("open").max(f("close"))
            );
        }
    }
}
