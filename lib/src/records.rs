//! The record contracts: one JSON object per line, `snake_case` keys, dates `YYYY-MM-DD`,
//! timestamps RFC 3339 UTC. Documented in `docs/records.md`; JSON Schemas generated from these
//! types live in `docs/schemas/` (`make schemas`).
//!
//! Every type rejects unknown keys (`deny_unknown_fields`): a program that *consumes* a record
//! must not guess what a typo like `adjclose` meant. Programs that *pass records through* wrap
//! them in [`crate::ndjson::WithExtra`], which keeps unknown keys and writes them back out.

use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::decimal::Decimal;
use crate::symbol::Symbol;
use crate::volume::Volume;

/// A record type that travels as NDJSON.
pub trait Record: Serialize + serde::de::DeserializeOwned + JsonSchema {
    /// Name used in `--kind`, file names and messages.
    const KIND: &'static str;

    /// Checks rules a type cannot express (e.g. a split needs a ratio). The error names the field.
    fn validate(&self) -> Result<(), FieldError> {
        Ok(())
    }

    /// A hand-written decoder for the common spelling of this record, tried before serde. It
    /// answers `Some` only with exactly what the strict decoder would return (before
    /// validation), and `None` whenever the strict decoder must decide, so it never changes a
    /// result or an error.
    fn decode_fast(_line: &[u8]) -> Option<Self> {
        None
    }
}

/// A record that is well-formed JSON but breaks a rule of its contract.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {expected}")]
pub struct FieldError {
    pub field: &'static str,
    pub expected: String,
}

impl FieldError {
    pub fn new(field: &'static str, expected: impl Into<String>) -> FieldError {
        FieldError {
            field,
            expected: expected.into(),
        }
    }
}

/// Strict `YYYY-MM-DD` dates (chrono alone would take `2024-1-5`).
pub mod date_format {
    use chrono::NaiveDate;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn parse(text: &str) -> Result<NaiveDate, String> {
        let b = text.as_bytes();
        let shape = b.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
        if !shape {
            return Err(format!("expected a date as YYYY-MM-DD, found {text:?}"));
        }
        // Digits checked above; chrono's format-string parser is ~10x slower on this hot path.
        let num =
            |r: std::ops::Range<usize>| b[r].iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
        NaiveDate::from_ymd_opt(num(0..4) as i32, num(5..7), num(8..10))
            .ok_or_else(|| format!("{text:?} is not a calendar date"))
    }

    /// `YYYY-MM-DD` without going through a format string.
    pub fn format(d: &NaiveDate) -> String {
        use chrono::Datelike;
        let (y, m, day) = (d.year(), d.month(), d.day());
        if (0..=9999).contains(&y) {
            let y = y as u32;
            let digits = [
                y / 1000,
                y / 100 % 10,
                y / 10 % 10,
                y % 10,
                10,
                m / 10,
                m % 10,
                10,
                day / 10,
                day % 10,
            ];
            digits
                .iter()
                .map(|&c| {
                    if c == 10 {
                        '-'
                    } else {
                        char::from(b'0' + c as u8)
                    }
                })
                .collect()
        } else {
            d.format("%Y-%m-%d").to_string()
        }
    }

    pub fn serialize<S: Serializer>(d: &NaiveDate, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        parse(&text).map_err(serde::de::Error::custom)
    }

    pub mod option {
        use chrono::NaiveDate;
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(d: &Option<NaiveDate>, s: S) -> Result<S::Ok, S::Error> {
            match d {
                Some(d) => super::serialize(d, s),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
            let text = <Option<std::borrow::Cow<'de, str>>>::deserialize(d)?;
            text.map(|t| super::parse(&t).map_err(serde::de::Error::custom))
                .transpose()
        }
    }
}

/// RFC 3339 timestamps, stored and written in UTC (`2025-10-29T20:00:01Z`). An input with an
/// offset is converted to UTC.
pub mod timestamp_format {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn parse(text: &str) -> Result<DateTime<Utc>, String> {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.to_utc())
            .map_err(|_| {
                format!("expected an RFC 3339 timestamp like 2025-10-29T20:00:01Z, found {text:?}")
            })
    }

    pub fn format(t: &DateTime<Utc>) -> String {
        t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
    }

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        parse(&text).map_err(serde::de::Error::custom)
    }

    pub mod option {
        use chrono::{DateTime, Utc};
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(
            t: &Option<DateTime<Utc>>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => super::serialize(t, s),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<DateTime<Utc>>, D::Error> {
            let text = <Option<std::borrow::Cow<'de, str>>>::deserialize(d)?;
            text.map(|t| super::parse(&t).map_err(serde::de::Error::custom))
                .transpose()
        }
    }
}

/// Whole numbers (volumes, counts) that some producers print as `1234.0`. A fractional value is
/// an error, never silently truncated.
pub mod whole_number {
    use serde::{Deserializer, Serializer};
    use std::fmt;

    struct V;
    impl serde::de::Visitor<'_> for V {
        type Value = Option<i64>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a whole number or null")
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Option<i64>, E> {
            Ok(None)
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Option<i64>, E> {
            Ok(None)
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Option<i64>, E> {
            Ok(Some(v))
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Option<i64>, E> {
            i64::try_from(v)
                .map(Some)
                .map_err(|_| E::custom(format!("{v} is too large")))
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Option<i64>, E> {
            // CSV fields arrive as text; an empty one is null.
            let t = v.trim();
            if t.is_empty() {
                return Ok(None);
            }
            match t.parse::<i64>() {
                Ok(n) => Ok(Some(n)),
                Err(_) => match t.parse::<f64>() {
                    Ok(f) => self.visit_f64(f),
                    Err(_) => Err(E::custom(format!("expected a whole number, found {t:?}"))),
                },
            }
        }

        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Option<i64>, E> {
            // 2^63 is the first f64 that does not fit.
            if v.fract() == 0.0 && v.abs() < 9.223_372_036_854_776e18 {
                Ok(Some(v as i64))
            } else {
                Err(E::custom(format!("expected a whole number, found {v}")))
            }
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        d.deserialize_any(V)
    }

    pub fn serialize<S: Serializer>(v: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.serialize_i64(*v),
            None => s.serialize_none(),
        }
    }
}

/// Decimals a price keeps in the lake (`decimal(18,6)`); more are rounded half to even.
pub const PRICE_SCALE: u8 = 6;
/// The largest price in units of `10^-6`: 12 digits before the point, as `decimal(18,6)` holds.
pub const MAX_PRICE_UNITS: i128 = 999_999_999_999_999_999;

/// Checks that a price fits the lake's `decimal(18,6)` (after rounding to 6 decimals): a bar
/// the lake cannot hold is refused by every program alike, not only when it reaches the lake.
pub fn check_price(field: &'static str, price: Decimal) -> Result<(), FieldError> {
    if price.round_to_units(PRICE_SCALE).0.abs() <= MAX_PRICE_UNITS {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            format!(
                "expected a price with at most 12 digits before the point, found {}",
                crate::echo::echo(&price.to_string())
            ),
        ))
    }
}

/// Checks a currency code: three ASCII letters, case kept as the source states it
/// (`GBp` is pence, `GBP` pounds, `ZAc` cents).
pub fn check_currency(code: &str) -> Result<(), String> {
    if code.len() == 3 && code.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(())
    } else {
        Err(format!(
            "expected a 3-letter currency code (USD, EUR, GBp…), found {}",
            crate::echo::echo(code)
        ))
    }
}

fn check_opt_currency(field: &'static str, c: &Option<String>) -> Result<(), FieldError> {
    match c {
        Some(c) => check_currency(c).map_err(|e| FieldError::new(field, e)),
        None => Ok(()),
    }
}

fn check_provider(p: &str) -> Result<(), FieldError> {
    if !p.is_empty()
        && p.len() <= 32
        && p.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    {
        Ok(())
    } else {
        Err(FieldError::new(
            "provider",
            format!(
                "expected a lower-case provider name like \"yahoo\", found {}",
                crate::echo::echo(p)
            ),
        ))
    }
}

/// ISIN check: 2 letters, 9 alphanumerics, 1 check digit (Luhn over the digit expansion).
pub fn check_isin(isin: &str) -> Result<(), String> {
    let b = isin.as_bytes();
    let shape = b.len() == 12
        && b[..2].iter().all(u8::is_ascii_uppercase)
        && b[2..11]
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        && b[11].is_ascii_digit();
    if !shape {
        return Err(format!(
            "expected a 12-character ISIN like US0378331005, found {isin:?}"
        ));
    }
    let mut digits = Vec::with_capacity(24);
    for &c in b {
        if c.is_ascii_digit() {
            digits.push(c - b'0');
        } else {
            let v = c - b'A' + 10;
            digits.push(v / 10);
            digits.push(v % 10);
        }
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let x = d * 2;
                x / 10 + x % 10
            } else {
                d
            }
        })
        .sum();
    if sum.is_multiple_of(10) {
        Ok(())
    } else {
        Err(format!("ISIN {isin:?} fails its check digit"))
    }
}

/// Instrument type of a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssetType {
    Stock,
    Etf,
    Fund,
    Preferred,
    Warrant,
    Right,
    Unit,
    Note,
    Other,
}

/// Lifecycle of a ticker in the universe: active → delisted → archived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    #[default]
    Active,
    Delisted,
    Archived,
}

impl Status {
    /// As records and reports write it.
    pub fn name(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Delisted => "delisted",
            Status::Archived => "archived",
        }
    }
}

/// A listed security in a ticker universe.
///
/// Producers (`tickers-scrape`, `tickers-filter`) write every field; consumers need only
/// `symbol`, the listing's name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Ticker {
    /// The listing's name, unique across venues: the canonical symbol on a US venue (`BRK.B`,
    /// `ABR-D`), the local symbol and the venue's suffix elsewhere (`AIR.PA`, `BT-A.L`); see
    /// `crate::listing`.
    pub symbol: Symbol,
    /// The symbol as the source spelled it (`BRK/B`, `ABR$D`, `BRK-B`), when that differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_symbol: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    /// ISO 10383 market identifier code of the listing venue (XNAS, XNYS, ARCX, XLON…).
    #[serde(default)]
    pub exchange: Option<String>,
    #[serde(default)]
    pub asset_type: Option<AssetType>,
    /// Quote currency as the venue states it.
    #[serde(default)]
    pub currency: Option<String>,
    /// ISO 3166-1 alpha-2 country of the listing.
    #[serde(default)]
    pub country: Option<String>,
    /// Where the record came from (`nasdaqtrader`, `wikipedia_sp500`, `euronext`…).
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isin: Option<String>,
    /// Market capitalisation in `currency`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub market_cap: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sector: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub industry: Option<String>,
    /// Index memberships (`sp500`, `ndx`…).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indexes: Vec<String>,
    #[serde(default)]
    pub status: Status,
    #[serde(default, with = "date_format::option")]
    #[schemars(with = "Option<NaiveDate>")]
    pub first_seen: Option<NaiveDate>,
    #[serde(default, with = "date_format::option")]
    #[schemars(with = "Option<NaiveDate>")]
    pub last_seen: Option<NaiveDate>,
    /// The day `tickers-filter` found it gone from a listing that was read whole (status
    /// `delisted` or `archived`).
    #[serde(
        default,
        with = "date_format::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<NaiveDate>")]
    pub delisted_on: Option<NaiveDate>,
    /// Why: which listing it left (`absent from nasdaqtrader`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delisted_reason: Option<String>,
}

impl Ticker {
    /// An active ticker that says nothing but its symbol (`--symbols AAPL,MSFT`).
    pub fn new(symbol: Symbol) -> Ticker {
        Ticker {
            symbol,
            source_symbol: None,
            name: None,
            exchange: None,
            asset_type: None,
            currency: None,
            country: None,
            source: None,
            isin: None,
            market_cap: None,
            sector: None,
            industry: None,
            indexes: Vec::new(),
            status: Status::Active,
            first_seen: None,
            last_seen: None,
            delisted_on: None,
            delisted_reason: None,
        }
    }
}

impl Record for Ticker {
    const KIND: &'static str = "tickers";

    fn validate(&self) -> Result<(), FieldError> {
        if let Some(mic) = &self.exchange {
            let ok = mic.len() == 4
                && mic
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
            if !ok {
                return Err(FieldError::new(
                    "exchange",
                    format!("expected an ISO 10383 MIC like XNAS, found {mic:?}"),
                ));
            }
            if let Some(why) = crate::listing::check_name(self.symbol.as_str(), mic) {
                return Err(FieldError::new("symbol", why));
            }
        }
        if let Some(name) = &self.name
            && (name.len() > 512 || name.chars().any(char::is_control))
        {
            return Err(FieldError::new(
                "name",
                format!(
                    "expected a security name of at most 512 bytes without control characters, \
                     found {}",
                    crate::echo::echo(name)
                ),
            ));
        }
        for (field, text) in [
            ("sector", self.sector.as_deref()),
            ("industry", self.industry.as_deref()),
            ("source", self.source.as_deref()),
            ("delisted_reason", self.delisted_reason.as_deref()),
        ] {
            if let Some(t) = text
                && (t.is_empty() || t.len() > 256 || t.chars().any(char::is_control))
            {
                return Err(FieldError::new(
                    field,
                    format!(
                        "expected 1 to 256 bytes without control characters, found {}",
                        crate::echo::echo(t)
                    ),
                ));
            }
        }
        if let Some(tag) = self
            .indexes
            .iter()
            .find(|t| t.is_empty() || t.len() > 64 || t.chars().any(char::is_control))
        {
            return Err(FieldError::new(
                "indexes",
                format!(
                    "expected tags of 1 to 64 bytes without control characters, found {}",
                    crate::echo::echo(tag)
                ),
            ));
        }
        if let Some(text) = &self.source_symbol
            && (text.is_empty() || text.len() > 64 || text.chars().any(char::is_control))
        {
            return Err(FieldError::new(
                "source_symbol",
                format!(
                    "expected the source's spelling, 1 to 64 printable characters, found {}",
                    crate::echo::echo(text)
                ),
            ));
        }
        check_opt_currency("currency", &self.currency)?;
        if let Some(c) = &self.country
            && !(c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()))
        {
            return Err(FieldError::new(
                "country",
                format!("expected an ISO 3166 alpha-2 code like US, found {c:?}"),
            ));
        }
        if let Some(isin) = &self.isin {
            check_isin(isin).map_err(|e| FieldError::new("isin", e))?;
        }
        if let Some(m) = self.market_cap
            && !(m.is_finite() && m >= 0.0)
        {
            return Err(FieldError::new(
                "market_cap",
                format!("expected a number ≥ 0, found {m}"),
            ));
        }
        if let (Some(a), Some(b)) = (self.first_seen, self.last_seen)
            && b < a
        {
            return Err(FieldError::new(
                "last_seen",
                format!("{b} is before first_seen {a}"),
            ));
        }
        Ok(())
    }
}

/// One daily bar. Prices and volume may be null: a provider's null survives so QA can see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Bar {
    pub symbol: Symbol,
    /// Trading date in the exchange's time zone.
    #[serde(with = "date_format")]
    #[schemars(with = "NaiveDate")]
    pub date: NaiveDate,
    #[serde(default)]
    pub open: Option<Decimal>,
    #[serde(default)]
    pub high: Option<Decimal>,
    #[serde(default)]
    pub low: Option<Decimal>,
    /// Split-adjusted close.
    #[serde(default)]
    pub close: Option<Decimal>,
    /// Split- and dividend-adjusted close.
    #[serde(default)]
    pub adj_close: Option<Decimal>,
    /// Shares traded: whole as nearly every source counts them, fractional as some do.
    #[serde(default, with = "crate::volume::option")]
    #[schemars(with = "Option<f64>")]
    pub volume: Option<Volume>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vwap: Option<Decimal>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "whole_number"
    )]
    #[schemars(with = "Option<i64>")]
    pub transactions: Option<i64>,
    /// Currency of the prices, exactly as the provider states it (`GBp` is pence).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Provider the bar came from (`yahoo`, `polygon`, `stooq`…).
    pub provider: String,
    /// When the provider produced the value; the newest wins on upsert.
    #[serde(default, with = "timestamp_format::option")]
    #[schemars(with = "Option<DateTime<Utc>>")]
    pub source_ts: Option<DateTime<Utc>>,
}

impl Bar {
    /// The bar's fields, borrowed.
    pub fn as_ref(&self) -> BarRef<'_> {
        BarRef {
            symbol: self.symbol.as_str(),
            date: self.date,
            open: self.open,
            high: self.high,
            low: self.low,
            close: self.close,
            adj_close: self.adj_close,
            volume: self.volume,
            vwap: self.vwap,
            transactions: self.transactions,
            currency: self.currency.as_deref(),
            provider: &self.provider,
            source_ts: self.source_ts,
        }
    }
}

/// A [`Bar`] whose strings are borrowed, from its NDJSON line or from a [`Bar`]: what the hot
/// paths decode into, so a bar on its way into a column batch is never allocated. `symbol` is a
/// valid symbol by construction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BarRef<'a> {
    pub symbol: &'a str,
    pub date: NaiveDate,
    pub open: Option<Decimal>,
    pub high: Option<Decimal>,
    pub low: Option<Decimal>,
    pub close: Option<Decimal>,
    pub adj_close: Option<Decimal>,
    pub volume: Option<Volume>,
    pub vwap: Option<Decimal>,
    pub transactions: Option<i64>,
    pub currency: Option<&'a str>,
    pub provider: &'a str,
    pub source_ts: Option<DateTime<Utc>>,
}

impl<'a> BarRef<'a> {
    /// The bar on an NDJSON line in its common spelling, or `None` when the strict decoder
    /// must decide (see [`Record::decode_fast`]). Not yet validated.
    pub fn decode_fast(line: &'a [u8]) -> Option<BarRef<'a>> {
        crate::fast_bar::decode(line)
    }

    /// [`BarRef::decode_fast`] for a line already known to be UTF-8 (see
    /// [`crate::parallel::line_text`]).
    pub fn decode_fast_text(line: &'a str) -> Option<BarRef<'a>> {
        crate::fast_bar::decode_text(line)
    }

    /// The one fast way every reader decodes a bar line: the common spelling straight from the
    /// line (from the chunk's text when the line is a slice of it, checked as UTF-8 once:
    /// [`crate::parallel::Chunk::text`]), validated. `None` when the strict decoder must decide
    /// — it also words the error.
    #[inline]
    pub fn decode_valid(text: Option<&'a str>, line: &'a [u8]) -> Option<BarRef<'a>> {
        match text.and_then(|t| crate::parallel::line_text(t, line)) {
            Some(l) => BarRef::decode_fast_text(l),
            None => BarRef::decode_fast(line),
        }
        .filter(|b| b.validate().is_ok())
    }

    /// The contract's rules, as [`Record::validate`] checks them for a [`Bar`].
    pub fn validate(&self) -> Result<(), FieldError> {
        check_provider(self.provider)?;
        for (field, price) in [
            ("open", self.open),
            ("high", self.high),
            ("low", self.low),
            ("close", self.close),
            ("adj_close", self.adj_close),
            ("vwap", self.vwap),
        ] {
            if let Some(p) = price {
                check_price(field, p)?;
            }
        }
        match self.currency {
            Some(c) => check_currency(c).map_err(|e| FieldError::new("currency", e)),
            None => Ok(()),
        }
    }

    pub fn to_bar(&self) -> Bar {
        Bar {
            symbol: Symbol::from_valid(self.symbol),
            date: self.date,
            open: self.open,
            high: self.high,
            low: self.low,
            close: self.close,
            adj_close: self.adj_close,
            volume: self.volume,
            vwap: self.vwap,
            transactions: self.transactions,
            currency: self.currency.map(str::to_string),
            provider: self.provider.to_string(),
            source_ts: self.source_ts,
        }
    }
}

impl Record for Bar {
    const KIND: &'static str = "bars";

    fn validate(&self) -> Result<(), FieldError> {
        self.as_ref().validate()
    }

    fn decode_fast(line: &[u8]) -> Option<Bar> {
        crate::fast_bar::decode(line).map(|b| b.to_bar())
    }
}

/// Corporate action kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    Split,
    Dividend,
}

/// A split (`ratio` = new shares per old share, `4` for 4:1) or a cash dividend
/// (`amount` per share in `currency`), on its ex-date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Action {
    pub symbol: Symbol,
    #[serde(with = "date_format")]
    #[schemars(with = "NaiveDate")]
    pub date: NaiveDate,
    pub action: ActionKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratio: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    pub provider: String,
}

impl Record for Action {
    const KIND: &'static str = "actions";

    fn validate(&self) -> Result<(), FieldError> {
        check_provider(&self.provider)?;
        check_opt_currency("currency", &self.currency)?;
        match self.action {
            ActionKind::Split => {
                match self.ratio {
                    Some(r) if r > Decimal::ZERO => {}
                    Some(r) => {
                        return Err(FieldError::new(
                            "ratio",
                            format!("expected a ratio > 0, found {r}"),
                        ));
                    }
                    None => {
                        return Err(FieldError::new(
                            "ratio",
                            "a split needs a ratio (new shares per old share)",
                        ));
                    }
                }
                if self.amount.is_some() {
                    return Err(FieldError::new("amount", "a split has no amount"));
                }
            }
            ActionKind::Dividend => {
                match self.amount {
                    Some(a) if !a.is_negative() => {}
                    Some(a) => {
                        return Err(FieldError::new(
                            "amount",
                            format!("expected an amount ≥ 0, found {a}"),
                        ));
                    }
                    None => {
                        return Err(FieldError::new(
                            "amount",
                            "a dividend needs an amount per share",
                        ));
                    }
                }
                if self.currency.is_none() {
                    return Err(FieldError::new(
                        "currency",
                        "a dividend needs the currency of its amount",
                    ));
                }
                if self.ratio.is_some() {
                    return Err(FieldError::new("ratio", "a dividend has no ratio"));
                }
            }
        }
        Ok(())
    }
}

/// Severity of a QA finding. Ordered: `info` < `warn` < `critical`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warn,
    Critical,
}

/// One data-quality finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    /// Check id (`lag`, `missing_dates`, `ohlc`…).
    pub check: String,
    pub severity: Severity,
    /// Null for findings about the whole universe.
    #[serde(default)]
    pub symbol: Option<Symbol>,
    #[serde(default, with = "date_format::option")]
    #[schemars(with = "Option<NaiveDate>")]
    pub date: Option<NaiveDate>,
    /// Check-specific facts (values, thresholds).
    #[serde(default)]
    pub details: serde_json::Map<String, serde_json::Value>,
    pub run_id: String,
}

impl Record for Finding {
    const KIND: &'static str = "findings";

    fn validate(&self) -> Result<(), FieldError> {
        if self.check.is_empty()
            || !self
                .check
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(FieldError::new(
                "check",
                format!(
                    "expected a check id like \"missing_dates\", found {:?}",
                    self.check
                ),
            ));
        }
        Ok(())
    }
}

/// Why fetching a symbol failed, as kept on the dead-letter list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum FetchErrorCode {
    /// Rate limited (HTTP 429) past every retry.
    #[serde(rename = "YF429")]
    Yf429,
    /// The provider answered with no bars.
    #[serde(rename = "YFEMPTY")]
    YfEmpty,
    /// Server errors (HTTP 5xx) past every retry.
    #[serde(rename = "HTTP5XX")]
    Http5xx,
    /// Unknown or delisted symbol (HTTP 404).
    #[serde(rename = "NOTFOUND")]
    NotFound,
    /// The response could not be parsed.
    #[serde(rename = "PARSE")]
    Parse,
    /// Connection-level failure (refused, reset, DNS, TLS).
    #[serde(rename = "NET")]
    Net,
    /// No complete answer in time.
    #[serde(rename = "TIMEOUT")]
    Timeout,
    /// The provider refused the credentials (a wrong or missing key): the run stops, exit 78.
    #[serde(rename = "AUTH")]
    Auth,
}

/// A dead-letter record: a symbol that could not be fetched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FetchError {
    pub symbol: Symbol,
    pub provider: String,
    pub code: FetchErrorCode,
    /// Requests made; 0 when the ticker could not be asked for (a venue without a provider
    /// symbol).
    pub attempts: u32,
    pub message: String,
    pub run_id: String,
    #[serde(with = "timestamp_format")]
    #[schemars(with = "DateTime<Utc>")]
    pub ts: DateTime<Utc>,
}

impl Record for FetchError {
    const KIND: &'static str = "errors";

    fn validate(&self) -> Result<(), FieldError> {
        // attempts 0: the ticker could not be asked for at all (a venue the provider has no
        // symbol for).
        check_provider(&self.provider)
    }
}

/// The record kinds, for `--kind` flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// Ticker universes
    Tickers,
    /// Daily bars
    Bars,
    /// Splits and dividends
    Actions,
    /// QA findings
    Findings,
    /// The fetch dead-letter list
    Errors,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Tickers,
        Kind::Bars,
        Kind::Actions,
        Kind::Findings,
        Kind::Errors,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Tickers => Ticker::KIND,
            Kind::Bars => Bar::KIND,
            Kind::Actions => Action::KIND,
            Kind::Findings => Finding::KIND,
            Kind::Errors => FetchError::KIND,
        }
    }

    /// The JSON Schema of this kind's record, pretty-printed.
    pub fn json_schema(self) -> String {
        let schema = match self {
            Kind::Tickers => schemars::schema_for!(Ticker),
            Kind::Bars => schemars::schema_for!(Bar),
            Kind::Actions => schemars::schema_for!(Action),
            Kind::Findings => schemars::schema_for!(Finding),
            Kind::Errors => schemars::schema_for!(FetchError),
        };
        let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
        text.push('\n');
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: Record + PartialEq + std::fmt::Debug>(line: &str) -> T {
        let rec: T = serde_json::from_str(line).unwrap();
        rec.validate().unwrap();
        let out = serde_json::to_string(&rec).unwrap();
        let again: T = serde_json::from_str(&out).unwrap();
        assert_eq!(rec, again, "{out}");
        rec
    }

    #[test]
    fn bar_round_trips_with_exact_prices_and_nulls() {
        let line = r#"{"symbol":"AAPL","date":"2020-08-31","open":127.58,"high":131,"low":126,"close":129.04,"adj_close":126.8,"volume":225702700,"provider":"yahoo","source_ts":"2020-08-31T20:00:00Z"}"#;
        let bar: Bar = round_trip(line);
        assert_eq!(serde_json::to_string(&bar).unwrap(), line);
        let nulls = r#"{"symbol":"X","date":"2024-01-02","open":null,"high":null,"low":null,"close":null,"adj_close":null,"volume":null,"provider":"stooq","source_ts":null}"#;
        let bar: Bar = round_trip(nulls);
        assert_eq!(serde_json::to_string(&bar).unwrap(), nulls);
    }

    #[test]
    fn bar_refuses_unknown_fields_and_bad_types() {
        for bad in [
            r#"{"symbol":"X","date":"2024-01-02","adjclose":1,"provider":"p"}"#,
            r#"{"symbol":"X","date":"2024-1-2","provider":"p"}"#,
            r#"{"symbol":"X","date":"2024-02-30","provider":"p"}"#,
            r#"{"symbol":"x/y","date":"2024-01-02","provider":"p"}"#,
            r#"{"symbol":"X","date":"2024-01-02","volume":"many","provider":"p"}"#,
            r#"{"symbol":"X","date":"2024-01-02","open":"abc","provider":"p"}"#,
            r#"{"symbol":"X","date":"2024-01-02"}"#,
        ] {
            assert!(serde_json::from_str::<Bar>(bad).is_err(), "{bad}");
        }
        let bar: Bar = serde_json::from_str(
            r#"{"symbol":"X","date":"2024-01-02","volume":12.0,"provider":"Yahoo"}"#,
        )
        .unwrap();
        assert_eq!(bar.volume, Some(Volume::Whole(12)));
        assert_eq!(bar.validate().unwrap_err().field, "provider");
        // A fractional volume is kept as the source said it, and written back the same.
        let line = r#"{"symbol":"X","date":"2024-01-02","open":null,"high":null,"low":null,"close":null,"adj_close":null,"volume":1234.5678,"provider":"polygon","source_ts":null}"#;
        let bar: Bar = round_trip(line);
        assert_eq!(bar.volume, Some(Volume::Fractional(1234.5678)));
        assert_eq!(serde_json::to_string(&bar).unwrap(), line);
    }

    #[test]
    fn ticker_action_finding_error_round_trip() {
        let t: Ticker = round_trip(
            r#"{"symbol":"BRK.B","name":"Berkshire Hathaway Inc. Class B","exchange":"XNYS","asset_type":"stock","currency":"USD","country":"US","source":"wikipedia_sp500","isin":"US0846707026","market_cap":1.0e12,"sector":"Financials","indexes":["sp500"],"status":"active","first_seen":"2024-10-09","last_seen":"2024-10-09"}"#,
        );
        assert_eq!(t.indexes, vec!["sp500"]);
        let minimal: Ticker = round_trip(r#"{"symbol":"VOD.L","exchange":"XLON"}"#);
        assert_eq!(minimal.status, Status::Active);
        round_trip::<Action>(
            r#"{"symbol":"AAPL","date":"2020-08-31","action":"split","ratio":4,"provider":"yahoo"}"#,
        );
        round_trip::<Action>(
            r#"{"symbol":"AAPL","date":"2020-11-06","action":"dividend","amount":0.205,"currency":"USD","provider":"yahoo"}"#,
        );
        round_trip::<Finding>(
            r#"{"check":"lag","severity":"warn","symbol":"AAPL","date":"2024-01-05","details":{"trading_days":3},"run_id":"r1"}"#,
        );
        round_trip::<FetchError>(
            r#"{"symbol":"AAPL","provider":"yahoo","code":"YF429","attempts":5,"message":"HTTP 429","run_id":"r1","ts":"2024-01-05T22:00:00Z"}"#,
        );
    }

    #[test]
    fn contract_rules_name_the_field() {
        let split: Action = serde_json::from_str(
            r#"{"symbol":"A","date":"2020-01-02","action":"split","provider":"y"}"#,
        )
        .unwrap();
        assert_eq!(split.validate().unwrap_err().field, "ratio");
        let div: Action = serde_json::from_str(
            r#"{"symbol":"A","date":"2020-01-02","action":"dividend","amount":1,"provider":"y"}"#,
        )
        .unwrap();
        assert_eq!(div.validate().unwrap_err().field, "currency");
        let t: Ticker = serde_json::from_str(r#"{"symbol":"A","isin":"US0378331006"}"#).unwrap();
        assert_eq!(t.validate().unwrap_err().field, "isin");
        let t: Ticker = serde_json::from_str(r#"{"symbol":"A","exchange":"nasdaq"}"#).unwrap();
        assert_eq!(t.validate().unwrap_err().field, "exchange");
    }

    #[test]
    fn isin_check_digit() {
        assert!(check_isin("US0378331005").is_ok()); // Apple
        assert!(check_isin("FR0000120404").is_ok()); // Accor
        assert!(check_isin("US0378331004").is_err());
        assert!(check_isin("us0378331005").is_err());
    }

    #[test]
    fn dates_parse_and_format_strictly() {
        for text in ["2024-01-02", "2020-02-29", "0001-01-01", "9999-12-31"] {
            let d = date_format::parse(text).unwrap();
            assert_eq!(date_format::format(&d), text);
            assert_eq!(d, NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap());
        }
        for bad in [
            "2021-02-29",
            "2024-13-01",
            "2024-00-10",
            "2024-1-02",
            "2024/01/02",
            "20240102",
            "+2024-01-02",
            "2024-01-02T00:00:00Z",
        ] {
            assert!(date_format::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn timestamps_are_normalised_to_utc() {
        let t = timestamp_format::parse("2025-10-29T16:00:01-04:00").unwrap();
        assert_eq!(timestamp_format::format(&t), "2025-10-29T20:00:01Z");
    }

    #[test]
    fn every_kind_has_a_schema() {
        for k in Kind::ALL {
            let s = k.json_schema();
            assert!(s.contains("\"properties\""), "{}", k.name());
        }
    }
}

#[cfg(test)]
mod ticker_text_tests {
    use super::*;

    #[test]
    fn a_tickers_texts_are_bounded_and_printable() {
        let base = || Ticker::new(Symbol::parse("AAPL").unwrap());
        let mut t = base();
        t.name = Some("Apple\u{1b}[31m".into());
        assert_eq!(t.validate().unwrap_err().field, "name");
        let mut t = base();
        t.sector = Some("x".repeat(300));
        assert_eq!(t.validate().unwrap_err().field, "sector");
        let mut t = base();
        t.indexes = vec!["sp500".into(), String::new()];
        assert_eq!(t.validate().unwrap_err().field, "indexes");
        let mut t = base();
        t.name = Some("Berkshire Hathaway Inc. Class B".into());
        t.sector = Some("Financials".into());
        t.indexes = vec!["sp500".into()];
        assert!(t.validate().is_ok());
    }
}
