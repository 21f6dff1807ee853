//! A fast path for decoding one NDJSON bar, for the common spelling of a bar line.
//!
//! Bars are most of every byte the pipeline moves, and a general JSON decoder spends most of
//! its time on generality a bar line does not use. [`decode`] scans the line once, by hand, and
//! answers only when it is certain to give **exactly** what the strict decoder gives; on
//! anything unusual (an escape in a string, an exponent, a number with more than 15 significant
//! digits, a price written as a string, an unknown or repeated key, a missing field, bad JSON)
//! it answers `None` and the caller runs the strict decoder, which decodes the unusual but valid
//! line or reports precisely what is wrong with it. So the fast path never changes a result or
//! an error message; a property test checks it against the strict decoder.

use chrono::{DateTime, NaiveDate, Utc};

use crate::records::{Bar, date_format, timestamp_format};
use crate::{Decimal, Symbol};

/// Significant digits up to which a JSON number's digits are exactly the shortest digits of the
/// `f64` the strict decoder parses it into (any two decimals of at most 15 significant digits
/// are distinct doubles), so it can be read digit by digit.
const EXACT_DIGITS: u32 = 15;

/// The bar on `line`, or `None` if the strict decoder must decide.
pub(crate) fn decode(line: &[u8]) -> Option<Bar> {
    let mut s = Scanner { b: line, i: 0 };
    s.ws();
    s.eat(b'{')?;
    let mut seen = 0u16;
    let mut symbol = None;
    let mut date = None;
    let mut prices: [Option<Decimal>; 6] = [None; 6];
    let (mut volume, mut transactions) = (None, None);
    let (mut currency, mut provider, mut source_ts) = (None, None, None);
    s.ws();
    if s.peek() == Some(b'}') {
        return None; // no fields: the strict decoder names the missing one
    }
    loop {
        s.ws();
        let key = s.plain_string()?;
        let field = Field::from_key(key)?;
        let bit = 1u16 << field as u16;
        if seen & bit != 0 {
            return None;
        }
        seen |= bit;
        s.ws();
        s.eat(b':')?;
        s.ws();
        match field {
            Field::Symbol => symbol = Some(Symbol::parse(ascii(s.plain_string()?)?).ok()?),
            Field::Date => date = Some(date_format::parse(ascii(s.plain_string()?)?).ok()?),
            Field::Open
            | Field::High
            | Field::Low
            | Field::Close
            | Field::AdjClose
            | Field::Vwap => {
                prices[field.price_slot()] = if s.null() { None } else { Some(s.decimal()?) };
            }
            Field::Volume => volume = if s.null() { None } else { Some(s.whole()?) },
            Field::Transactions => transactions = if s.null() { None } else { Some(s.whole()?) },
            Field::Currency => {
                currency = if s.null() {
                    None
                } else {
                    Some(ascii(s.plain_string()?)?.to_string())
                }
            }
            Field::Provider => provider = Some(ascii(s.plain_string()?)?.to_string()),
            Field::SourceTs => {
                source_ts = if s.null() {
                    None
                } else {
                    Some(timestamp(ascii(s.plain_string()?)?)?)
                }
            }
        }
        s.ws();
        match s.next()? {
            b',' => continue,
            b'}' => break,
            _ => return None,
        }
    }
    s.ws();
    if s.i != line.len() {
        return None;
    }
    let [open, high, low, close, adj_close, vwap] = prices;
    Some(Bar {
        symbol: symbol?,
        date: date?,
        open,
        high,
        low,
        close,
        adj_close,
        volume,
        vwap,
        transactions,
        currency,
        provider: provider?,
        source_ts,
    })
}

#[derive(Clone, Copy)]
enum Field {
    Symbol,
    Date,
    Open,
    High,
    Low,
    Close,
    AdjClose,
    Vwap,
    Volume,
    Transactions,
    Currency,
    Provider,
    SourceTs,
}

impl Field {
    fn from_key(key: &[u8]) -> Option<Field> {
        Some(match key {
            b"symbol" => Field::Symbol,
            b"date" => Field::Date,
            b"open" => Field::Open,
            b"high" => Field::High,
            b"low" => Field::Low,
            b"close" => Field::Close,
            b"adj_close" => Field::AdjClose,
            b"vwap" => Field::Vwap,
            b"volume" => Field::Volume,
            b"transactions" => Field::Transactions,
            b"currency" => Field::Currency,
            b"provider" => Field::Provider,
            b"source_ts" => Field::SourceTs,
            _ => return None,
        })
    }

    fn price_slot(self) -> usize {
        match self {
            Field::Open => 0,
            Field::High => 1,
            Field::Low => 2,
            Field::Close => 3,
            Field::AdjClose => 4,
            _ => 5,
        }
    }
}

fn ascii(b: &[u8]) -> Option<&str> {
    // ASCII is valid UTF-8; anything else goes to the strict decoder, which checks UTF-8.
    if b.is_ascii() {
        std::str::from_utf8(b).ok()
    } else {
        None
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+00:00)`, the spelling every tickerlake program and most
/// providers write; anything else (other offsets, leap seconds, lower-case letters) is left to
/// the strict parser.
fn timestamp(text: &str) -> Option<DateTime<Utc>> {
    let b = text.as_bytes();
    if b.len() < 20 || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let rest = &b[19..];
    let (fraction, zone) = match rest.first() {
        Some(b'.') => {
            let digits = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if digits == 0 || digits > 9 {
                return None;
            }
            (&rest[1..=digits], &rest[1 + digits..])
        }
        _ => (&rest[..0], rest),
    };
    if zone != b"Z" && zone != b"+00:00" {
        return None;
    }
    let num = |r: &[u8]| -> Option<u32> {
        r.iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let date: NaiveDate = date_format::parse(&text[..10]).ok()?;
    let (h, m, s) = (num(&b[11..13])?, num(&b[14..16])?, num(&b[17..19])?);
    if s > 59 {
        return None; // a leap second: chrono's rules
    }
    let nanos = num(fraction)? * 10u32.pow(9 - fraction.len() as u32);
    let t = date.and_hms_nano_opt(h, m, s, nanos)?.and_utc();
    // Same value as the strict parser, by construction; checked in debug builds and tests.
    debug_assert_eq!(timestamp_format::parse(text).ok(), Some(t));
    Some(t)
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.next()? == c).then_some(())
    }

    /// JSON whitespace.
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    fn null(&mut self) -> bool {
        if self.b[self.i..].starts_with(b"null") {
            self.i += 4;
            true
        } else {
            false
        }
    }

    /// A string without escapes or control characters: its bytes between the quotes.
    fn plain_string(&mut self) -> Option<&'a [u8]> {
        self.eat(b'"')?;
        let start = self.i;
        let len = self.b[start..]
            .iter()
            .position(|&c| c == b'"' || c == b'\\' || c < 0x20)?;
        if self.b[start + len] != b'"' {
            return None;
        }
        self.i = start + len + 1;
        Some(&self.b[start..start + len])
    }

    /// Digits from here: how many and their value (`None` past 18 digits).
    fn digits(&mut self) -> (usize, Option<i64>) {
        let start = self.i;
        let mut value: i64 = 0;
        let mut fits = true;
        while let Some(d @ b'0'..=b'9') = self.peek() {
            self.i += 1;
            if self.i - start > 18 {
                fits = false;
            } else {
                value = value * 10 + i64::from(d - b'0');
            }
        }
        (self.i - start, fits.then_some(value))
    }

    /// A JSON number without exponent and with at most 15 significant digits.
    fn decimal(&mut self) -> Option<Decimal> {
        let negative = self.peek() == Some(b'-');
        if negative {
            self.i += 1;
        }
        let int_start = self.i;
        let (int_len, int) = self.digits();
        if int_len == 0 || (int_len > 1 && self.b[int_start] == b'0') {
            return None; // not JSON
        }
        let mut mantissa = int?;
        let mut scale = 0usize;
        if self.peek() == Some(b'.') {
            self.i += 1;
            let frac_start = self.i;
            let (frac_len, _) = self.digits();
            if frac_len == 0 || frac_len > 18 {
                return None;
            }
            for &d in &self.b[frac_start..self.i] {
                mantissa = mantissa.checked_mul(10)?.checked_add(i64::from(d - b'0'))?;
            }
            scale = frac_len;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            return None;
        }
        // Leading zeros add nothing to the mantissa; trailing ones are counted, conservatively.
        let significant = mantissa.checked_ilog10().map_or(0, |l| l + 1);
        if significant > EXACT_DIGITS {
            return None;
        }
        let mantissa = if negative { -mantissa } else { mantissa };
        Decimal::new(mantissa, u8::try_from(scale).ok()?)
    }

    /// A non-negative JSON integer that fits an `i64`.
    fn whole(&mut self) -> Option<i64> {
        let start = self.i;
        let (len, value) = self.digits();
        if len == 0 || (len > 1 && self.b[start] == b'0') {
            return None;
        }
        if matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ndjson::{decode as full_decode, strict_decode};
    use proptest::prelude::*;

    fn strict(line: &str) -> Option<Bar> {
        strict_decode::<Bar>(line.as_bytes()).ok()
    }

    #[test]
    fn takes_the_common_spelling() {
        let line = r#"{"symbol":"ADEE","date":"2016-01-04","open":21.64,"high":22.58,"low":21.49,"close":22.43,"adj_close":19.52,"volume":364268,"provider":"yahoo","source_ts":"2016-01-04T21:13:00.000Z"}"#;
        let fast = decode(line.as_bytes()).expect("fast path");
        assert_eq!(Some(fast), strict(line));
    }

    #[test]
    fn leaves_the_unusual_to_the_strict_decoder() {
        for line in [
            r#"{"symbol":"A\u0042","date":"2016-01-04","provider":"yahoo"}"#,
            r#"{"symbol":"AB","date":"2016-01-04","provider":"yahoo","open":1e2}"#,
            r#"{"symbol":"AB","date":"2016-01-04","provider":"yahoo","open":"1.5"}"#,
            r#"{"symbol":"AB","date":"2016-01-04","provider":"yahoo","open":0.1234567890123456}"#,
            r#"{"symbol":"AB","date":"2016-01-04","provider":"yahoo","volume":-5}"#,
            r#"{"symbol":"AB","date":"2016-01-04","provider":"yahoo","volume":5.0}"#,
            r#"{"symbol":"AB","date":"2016-01-04","provider":"yahoo","extra":1}"#,
            r#"{"symbol":"AB","symbol":"AC","date":"2016-01-04","provider":"yahoo"}"#,
            r#"{"symbol":"AB","date":"2016-01-04","provider":"yahoo","source_ts":"2016-01-04T21:13:00+01:00"}"#,
            r#"{"symbol":"AB","date":"2016-01-04","provider":"yahoo"} x"#,
            r#"{"symbol":"AB","date":"2016-01-04"}"#,
            r#"{"symbol":"AB","date":"2016-01-04","provider":"yahoo","open":01.5}"#,
        ] {
            assert_eq!(decode(line.as_bytes()), None, "{line}");
        }
    }

    /// A JSON number as a price writer might spell it.
    fn number() -> impl Strategy<Value = String> {
        prop_oneof![
            (any::<bool>(), 0u64..100_000_000, 0u32..12).prop_map(|(neg, m, s)| {
                let d = Decimal::new(m as i64, s as u8).expect("in range");
                format!("{}{d}", if neg { "-" } else { "" })
            }),
            any::<f64>().prop_map(|f| f.to_string()),
            any::<f32>().prop_map(|f| format!("{}", f64::from(f))),
            "-?[0-9]{1,20}(\\.[0-9]{0,20})?([eE][-+]?[0-9]{1,3})?",
            Just("null".to_string()),
            Just("\"1.5\"".to_string()),
        ]
    }

    fn string_value() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("\"yahoo\"".to_string()),
            Just("\"USD\"".to_string()),
            Just("\"GBp\"".to_string()),
            Just("\"A\\u0041\"".to_string()),
            Just("null".to_string()),
            "\"[ -~]{0,6}\"".prop_map(|s| s.replace('\\', "")),
        ]
    }

    fn field() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("\"symbol\":\"AAPL\"".to_string()),
            Just("\"symbol\":\"BRK.B\"".to_string()),
            Just("\"symbol\":\"aapl\"".to_string()),
            Just("\"date\":\"2024-02-29\"".to_string()),
            Just("\"date\":\"2023-02-29\"".to_string()),
            Just("\"provider\":\"yahoo\"".to_string()),
            string_value().prop_map(|v| format!("\"provider\":{v}")),
            string_value().prop_map(|v| format!("\"currency\":{v}")),
            prop::sample::select(vec!["open", "high", "low", "close", "adj_close", "vwap"])
                .prop_flat_map(|k| number().prop_map(move |n| format!("\"{k}\":{n}"))),
            (
                prop::sample::select(vec!["volume", "transactions"]),
                number()
            )
                .prop_map(|(k, n)| format!("\"{k}\":{n}")),
            (
                prop::sample::select(vec!["volume", "transactions"]),
                any::<i64>()
            )
                .prop_map(|(k, n)| format!("\"{k}\":{n}")),
            prop::sample::select(vec![
                "\"source_ts\":\"2024-01-02T21:00:00Z\"",
                "\"source_ts\":\"2024-01-02T21:00:00.123Z\"",
                "\"source_ts\":\"2024-01-02T21:00:00.123456789+00:00\"",
                "\"source_ts\":\"2024-01-02T21:00:60Z\"",
                "\"source_ts\":\"2024-01-02T25:00:00Z\"",
                "\"source_ts\":\"2024-01-02t21:00:00z\"",
                "\"source_ts\":null",
                "\"other\":1",
            ])
            .prop_map(str::to_string),
        ]
    }

    fn line() -> impl Strategy<Value = String> {
        (
            prop::collection::vec(field(), 0..14),
            prop::sample::select(vec!["", " ", "\t", "  "]),
            any::<bool>(),
        )
            .prop_map(|(mut fields, pad, complete)| {
                if complete {
                    fields.insert(0, "\"provider\":\"yahoo\"".to_string());
                    fields.insert(0, "\"date\":\"2024-01-02\"".to_string());
                    fields.insert(0, "\"symbol\":\"AAPL\"".to_string());
                    // Keep the first of each key, so most lines are valid records.
                    let mut keys = std::collections::HashSet::new();
                    fields.retain(|f| keys.insert(f.split(':').next().unwrap_or("").to_string()));
                }
                let sep = format!("{pad},{pad}");
                format!("{pad}{{{pad}{}{pad}}}{pad}", fields.join(&sep))
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// With the fast path, every line decodes to the same bar or the same error as with
        /// the strict decoder alone.
        #[test]
        fn agrees_with_the_strict_decoder(line in line()) {
            let b = line.as_bytes();
            prop_assert_eq!(full_decode::<Bar>(b), strict_decode::<Bar>(b), "{}", line);
        }

        #[test]
        fn never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode(&bytes);
        }
    }

    #[test]
    fn the_property_test_exercises_the_fast_path() {
        // Guards the property test against comparing only fallbacks.
        use proptest::strategy::ValueTree;
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let (mut fast, mut valid) = (0, 0);
        for _ in 0..2000 {
            let line = line().new_tree(&mut runner).expect("tree").current();
            fast += usize::from(decode(line.as_bytes()).is_some());
            valid += usize::from(strict(&line).is_some());
        }
        assert!(
            fast > 200 && valid > fast,
            "fast {fast}, valid {valid} of 2000"
        );
    }

    #[test]
    fn takes_unusual_but_plain_spellings() {
        // Guards the property test against testing nothing: valid common lines are fast.
        let line = r#" { "symbol" : "BRK.B" , "date":"2024-02-29", "open":null, "close":-0.0, "volume":0, "vwap":123456789.123456, "currency":"GBp", "provider":"yahoo", "source_ts":"2024-01-02T21:00:00.5+00:00" } "#;
        let fast = decode(line.as_bytes()).expect("fast path");
        assert_eq!(Some(fast), strict(line));
    }
}
