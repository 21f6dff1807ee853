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

use crate::Decimal;
use crate::records::{BarRef, date_format, timestamp_format};
use crate::symbol;

/// Significant digits up to which a JSON number's digits are exactly the shortest digits of the
/// `f64` the strict decoder parses it into (any two decimals of at most 15 significant digits
/// are distinct doubles), so it can be read digit by digit.
const EXACT_DIGITS: u32 = 15;

/// The bar on `line`, or `None` if the strict decoder must decide.
pub(crate) fn decode(line: &[u8]) -> Option<BarRef<'_>> {
    // One UTF-8 check for the whole line (the strict decoder checks every string); strings
    // are then cut out of it at quote characters, which are always char boundaries.
    decode_text(std::str::from_utf8(line).ok()?)
}

/// [`decode`] for a line already checked as UTF-8.
pub(crate) fn decode_text(line: &str) -> Option<BarRef<'_>> {
    let mut s = Scanner::new(line);
    s.ws();
    s.eat(b'{')?;
    let mut seen = 0u16;
    let mut symbol = None;
    let mut date: Option<(&str, NaiveDate)> = None; // with its text, for the timestamp
    let mut prices: [Option<Decimal>; 6] = [None; 6];
    let (mut volume, mut transactions) = (None, None);
    let (mut currency, mut provider, mut source_ts) = (None, None, None);
    s.ws();
    if s.peek() == Some(b'}') {
        return None; // no fields: the strict decoder names the missing one
    }
    let mut expected = Field::Symbol;
    loop {
        s.ws();
        let field = s.key(expected)?;
        expected = field.next_written();
        let bit = 1u16 << field as u16;
        if seen & bit != 0 {
            return None;
        }
        seen |= bit;
        s.ws();
        s.eat(b':')?;
        s.ws();
        match field {
            Field::Symbol => {
                let text = s.plain_str()?;
                if !symbol::is_valid(text) {
                    return None;
                }
                symbol = Some(text);
            }
            Field::Date => {
                let text = s.plain_str()?;
                date = Some((text, date_format::parse(text).ok()?));
            }
            Field::Open
            | Field::High
            | Field::Low
            | Field::Close
            | Field::AdjClose
            | Field::Vwap => {
                prices[field.price_slot()] = if s.null() { None } else { Some(s.decimal()?) };
            }
            Field::Volume => {
                volume = if s.null() {
                    None
                } else {
                    Some(crate::Volume::Whole(s.whole()?))
                }
            }
            Field::Transactions => transactions = if s.null() { None } else { Some(s.whole()?) },
            Field::Currency => currency = if s.null() { None } else { Some(s.plain_str()?) },
            Field::Provider => provider = Some(s.plain_str()?),
            Field::SourceTs => {
                source_ts = if s.null() {
                    None
                } else {
                    Some(timestamp(s.plain_str()?, date)?)
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
    Some(BarRef {
        symbol: symbol?,
        date: date?.1,
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
    /// The quoted key, with its closing quote.
    fn quoted(self) -> &'static [u8] {
        match self {
            Field::Symbol => b"symbol\"",
            Field::Date => b"date\"",
            Field::Open => b"open\"",
            Field::High => b"high\"",
            Field::Low => b"low\"",
            Field::Close => b"close\"",
            Field::AdjClose => b"adj_close\"",
            Field::Vwap => b"vwap\"",
            Field::Volume => b"volume\"",
            Field::Transactions => b"transactions\"",
            Field::Currency => b"currency\"",
            Field::Provider => b"provider\"",
            Field::SourceTs => b"source_ts\"",
        }
    }

    /// Whether `rest` starts with the quoted key: one arm per key, so that each comparison has
    /// a constant length and compiles to a couple of integer compares instead of a `memcmp`.
    fn starts(self, rest: &[u8]) -> bool {
        match self {
            Field::Symbol => rest.starts_with(b"symbol\""),
            Field::Date => rest.starts_with(b"date\""),
            Field::Open => rest.starts_with(b"open\""),
            Field::High => rest.starts_with(b"high\""),
            Field::Low => rest.starts_with(b"low\""),
            Field::Close => rest.starts_with(b"close\""),
            Field::AdjClose => rest.starts_with(b"adj_close\""),
            Field::Vwap => rest.starts_with(b"vwap\""),
            Field::Volume => rest.starts_with(b"volume\""),
            Field::Transactions => rest.starts_with(b"transactions\""),
            Field::Currency => rest.starts_with(b"currency\""),
            Field::Provider => rest.starts_with(b"provider\""),
            Field::SourceTs => rest.starts_with(b"source_ts\""),
        }
    }

    /// The key that follows this one in lines tickerlake writes (the Bar's field order, optional
    /// fields left out): the first guess for the next key.
    fn next_written(self) -> Field {
        match self {
            Field::Symbol => Field::Date,
            Field::Date => Field::Open,
            Field::Open => Field::High,
            Field::High => Field::Low,
            Field::Low => Field::Close,
            Field::Close => Field::AdjClose,
            Field::AdjClose => Field::Volume,
            Field::Volume | Field::Vwap | Field::Transactions | Field::Currency => Field::Provider,
            Field::Provider => Field::SourceTs,
            Field::SourceTs => Field::Symbol,
        }
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

/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+00:00)`, the spelling every tickerlake program and most
/// providers write; anything else (other offsets, leap seconds, lower-case letters) is left to
/// the strict parser. `known` is the bar's date with its text, reused when the timestamp falls
/// on it.
fn timestamp(text: &str, known: Option<(&str, NaiveDate)>) -> Option<DateTime<Utc>> {
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
    let date = match known {
        Some((day, date)) if day == &text[..10] => date,
        _ => date_format::parse(text.get(..10)?).ok()?,
    };
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
    /// The line, known to be UTF-8, and its bytes.
    text: &'a str,
    b: &'a [u8],
    i: usize,
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Marks (in the lowest set bit's byte, exactly) the first byte of `word` that is a quote, a
/// backslash or a control character.
fn special_bytes(word: u64) -> u64 {
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    let quote = zero(word ^ (ONES * u64::from(b'"')));
    let backslash = zero(word ^ (ONES * u64::from(b'\\')));
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGHS;
    quote | backslash | control
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str) -> Scanner<'a> {
        Scanner {
            text,
            b: text.as_bytes(),
            i: 0,
        }
    }

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
        if self.peek() == Some(b'n') && self.b[self.i..].starts_with(b"null") {
            self.i += 4;
            true
        } else {
            false
        }
    }

    /// A string without escapes or control characters: where its contents start and end.
    fn plain_span(&mut self) -> Option<(usize, usize)> {
        self.eat(b'"')?;
        let start = self.i;
        let mut at = start;
        // Eight bytes at a time; strings here are mostly shorter than 16 bytes.
        let end = loop {
            match self.b.get(at..at + 8) {
                Some(chunk) => {
                    let mut word = [0u8; 8];
                    word.copy_from_slice(chunk);
                    let hits = special_bytes(u64::from_le_bytes(word));
                    if hits != 0 {
                        break at + (hits.trailing_zeros() / 8) as usize;
                    }
                    at += 8;
                }
                None => {
                    break at
                        + self.b[at..]
                            .iter()
                            .position(|&c| c == b'"' || c == b'\\' || c < 0x20)?;
                }
            }
        };
        if self.b[end] != b'"' {
            return None;
        }
        self.i = end + 1;
        Some((start, end))
    }

    /// A key of the bar contract, written plainly (`"close"`); any other key, or a key
    /// spelled with escapes, is left to the strict decoder.
    fn key(&mut self, expected: Field) -> Option<Field> {
        self.eat(b'"')?;
        let rest = &self.b[self.i..];
        // Lines from one writer repeat one key order: guess first, one comparison.
        if expected.starts(rest) {
            self.i += expected.quoted().len();
            return Some(expected);
        }
        let is = |name: &[u8]| {
            rest.len() > name.len() && rest.starts_with(name) && rest[name.len()] == b'"'
        };
        let (field, len) = match *rest.first()? {
            b's' if is(b"symbol") => (Field::Symbol, 6),
            b's' if is(b"source_ts") => (Field::SourceTs, 9),
            b'd' if is(b"date") => (Field::Date, 4),
            b'o' if is(b"open") => (Field::Open, 4),
            b'h' if is(b"high") => (Field::High, 4),
            b'l' if is(b"low") => (Field::Low, 3),
            b'c' if is(b"close") => (Field::Close, 5),
            b'c' if is(b"currency") => (Field::Currency, 8),
            b'a' if is(b"adj_close") => (Field::AdjClose, 9),
            b'v' if is(b"volume") => (Field::Volume, 6),
            b'v' if is(b"vwap") => (Field::Vwap, 4),
            b't' if is(b"transactions") => (Field::Transactions, 12),
            b'p' if is(b"provider") => (Field::Provider, 8),
            _ => return None,
        };
        self.i += len + 1;
        Some(field)
    }

    fn plain_str(&mut self) -> Option<&'a str> {
        let (start, end) = self.plain_span()?;
        self.text.get(start..end)
    }

    /// Digits from the cursor on: how many, and their value (wrapped on overflow, so only
    /// meaningful for up to 19 digits).
    fn digits(&mut self) -> (usize, u64) {
        let start = self.i;
        let mut value = 0u64;
        while let Some(&c) = self.b.get(self.i) {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            value = value.wrapping_mul(10).wrapping_add(u64::from(d));
            self.i += 1;
        }
        (self.i - start, value)
    }

    /// A JSON number without exponent and with at most 15 significant digits, read straight
    /// into normalised form (trailing fractional zeros dropped), in one pass over its digits.
    fn decimal(&mut self) -> Option<Decimal> {
        let negative = self.peek() == Some(b'-');
        if negative {
            self.i += 1;
        }
        let int_start = self.i;
        let (int_len, mut mantissa) = self.digits();
        if int_len == 0 || (int_len > 1 && self.b[int_start] == b'0') {
            return None; // not JSON
        }
        // The mantissa up to the last non-zero fractional digit, and that digit's place.
        let (mut frac_len, mut kept) = (0, 0);
        if self.peek() == Some(b'.') {
            self.i += 1;
            let mut all = mantissa;
            while let Some(&c) = self.b.get(self.i) {
                let d = c.wrapping_sub(b'0');
                if d > 9 {
                    break;
                }
                all = all.wrapping_mul(10).wrapping_add(u64::from(d));
                frac_len += 1;
                if d != 0 {
                    kept = frac_len;
                    mantissa = all;
                }
                self.i += 1;
            }
            if frac_len == 0 {
                return None;
            }
        }
        // 18 digits in all keep the mantissa within an i64 (and unwrapped).
        if matches!(self.peek(), Some(b'e' | b'E')) || int_len + frac_len > 18 {
            return None;
        }
        // Leading zeros add nothing; any more digits and the f64 may not spell them back.
        if mantissa >= 10u64.pow(EXACT_DIGITS) {
            return None;
        }
        let mantissa = i64::try_from(mantissa).ok()?;
        let scale = if mantissa == 0 { 0 } else { kept as u8 };
        Some(Decimal::from_normalized(
            if negative { -mantissa } else { mantissa },
            scale,
        ))
    }

    /// A non-negative JSON integer that fits an `i64`.
    fn whole(&mut self) -> Option<i64> {
        let start = self.i;
        let (len, value) = self.digits();
        if len == 0 || len > 18 || (len > 1 && self.b[start] == b'0') {
            return None;
        }
        if matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        i64::try_from(value).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Bar;
    use crate::ndjson::{decode as full_decode, strict_decode};
    use proptest::prelude::*;

    fn strict(line: &str) -> Option<Bar> {
        strict_decode::<Bar>(line.as_bytes()).ok()
    }

    #[test]
    fn takes_the_common_spelling() {
        let line = r#"{"symbol":"ADEE","date":"2016-01-04","open":21.64,"high":22.58,"low":21.49,"close":22.43,"adj_close":19.52,"volume":364268,"provider":"yahoo","source_ts":"2016-01-04T21:13:00.000Z"}"#;
        let fast = decode(line.as_bytes()).expect("fast path");
        assert_eq!(Some(fast.to_bar()), strict(line));
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
        assert_eq!(Some(fast.to_bar()), strict(line));
    }

    #[test]
    fn finds_special_bytes_at_every_position() {
        for len in 0..40 {
            for special in [b'"', b'\\', b'\n', 0u8, 0x1f] {
                for at in 0..=len {
                    let mut body = vec![b'a'; len];
                    body.extend_from_slice(b"\xC3\xA9zz"); // non-ASCII is not special
                    if at < len {
                        body[at] = special;
                    }
                    let mut line = vec![b'"'];
                    line.extend_from_slice(&body);
                    line.push(b'"');
                    let text = String::from_utf8(line.clone()).expect("UTF-8");
                    let mut s = Scanner::new(&text);
                    let got = s.plain_span();
                    if at < len && special != b'"' {
                        assert_eq!(got, None, "{line:?}");
                    } else if at < len {
                        assert_eq!(got, Some((1, 1 + at)), "{line:?}");
                    } else {
                        assert_eq!(got, Some((1, line.len() - 1)), "{line:?}");
                    }
                }
            }
        }
    }
}
