//! An exact decimal number for prices.
//!
//! Prices travel through the pipeline as decimals, never as binary floats that re-print with
//! noise: `129.04` in, `129.04` out. A [`Decimal`] is `mantissa × 10^-scale` with at most 18
//! significant digits, kept normalised (no trailing fractional zeros), so equal values compare
//! and hash equal whatever their spelling (`1.50` = `1.5`).
//!
//! JSON numbers reach us through serde_json as `f64` (its `float_roundtrip` feature makes that
//! parse exact), and a `f64` becomes the shortest decimal that round-trips it. So any number
//! written with at most 15 significant digits, and any number printed by a shortest-round-trip
//! printer (Python, JavaScript, Rust, Java), passes through unchanged. Strings (`"129.04"`) and
//! CSV fields are parsed digit by digit and are exact up to 18 significant digits.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// Most significant digits a [`Decimal`] holds (what fits an `i64` mantissa).
pub const MAX_DIGITS: u32 = 18;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decimal {
    mantissa: i64,
    scale: u8,
}

/// Why a text is not a decimal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecimalError {
    #[error("expected a decimal number, found {0:?}")]
    Syntax(String),
    #[error("{0:?} has more than {MAX_DIGITS} significant digits")]
    TooManyDigits(String),
    #[error("expected a finite number, found {0}")]
    NotFinite(String),
    #[error("{0:?} is out of range (at most 18 digits, 18 of them after the point)")]
    OutOfRange(String),
}

const POW10: [i64; 19] = {
    let mut t = [1i64; 19];
    let mut i = 1;
    while i < 19 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// Powers of ten tried by the fast path of [`Decimal::from_f64`] (all exact in f64).
const F64_POW10: [f64; 10] = [1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

/// Every scale's power of ten as an `f64` (all exact: 10^22 is the last power of ten a double
/// holds exactly).
const F64_SCALES: [f64; 19] = [
    1.0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18,
];

impl Decimal {
    pub const ZERO: Decimal = Decimal {
        mantissa: 0,
        scale: 0,
    };

    /// `mantissa × 10^-scale`, normalised. `None` if the scale exceeds 18 or the mantissa has
    /// more than 18 digits.
    pub fn new(mantissa: i64, scale: u8) -> Option<Decimal> {
        (u32::from(scale) <= MAX_DIGITS && mantissa.unsigned_abs() < POW10[18].unsigned_abs())
            .then(|| Decimal { mantissa, scale }.normalized())
    }

    /// `mantissa × 10^-scale` from a parser that produced it normalised and in range.
    pub(crate) fn from_normalized(mantissa: i64, scale: u8) -> Decimal {
        let d = Decimal { mantissa, scale };
        debug_assert_eq!(Decimal::new(mantissa, scale), Some(d));
        d
    }

    pub fn mantissa(self) -> i64 {
        self.mantissa
    }

    pub fn scale(self) -> u8 {
        self.scale
    }

    pub fn is_zero(self) -> bool {
        self.mantissa == 0
    }

    pub fn is_negative(self) -> bool {
        self.mantissa < 0
    }

    fn normalized(mut self) -> Decimal {
        while self.scale > 0 && self.mantissa % 10 == 0 {
            self.mantissa /= 10;
            self.scale -= 1;
        }
        if self.mantissa == 0 {
            self.scale = 0;
        }
        self
    }

    /// The shortest decimal that round-trips `value` as an `f64`.
    pub fn from_f64(value: f64) -> Result<Decimal, DecimalError> {
        if !value.is_finite() {
            return Err(DecimalError::NotFinite(value.to_string()));
        }
        // Fast path for prices: the fewest decimals `s` for which an integer `m` with
        // m / 10^s == value exists gives the shortest round-tripping digits (the integer part
        // is fixed, so fewer decimals means fewer digits). Both operands are exact below 2^53
        // and IEEE division rounds correctly, so the check is exact.
        for (s, p) in F64_POW10.iter().enumerate() {
            let m = (value * p).round();
            if m.abs() >= 9_007_199_254_740_992.0 {
                break;
            }
            if m / p == value {
                return Ok(Decimal {
                    mantissa: m as i64,
                    scale: s as u8,
                }
                .normalized());
            }
        }
        // Otherwise zmij prints the shortest round-tripping digits into a stack buffer
        // (possibly in exponent form, which the parser accepts).
        zmij::Buffer::new().format_finite(value).parse()
    }

    /// The shortest decimal that round-trips `value` as an `f32`: what a provider that stores
    /// prices as float32 (Yahoo) meant before the value was widened to f64
    /// (`129.0399932861328` → `129.04`).
    pub fn from_f32(value: f32) -> Result<Decimal, DecimalError> {
        if !value.is_finite() {
            return Err(DecimalError::NotFinite(value.to_string()));
        }
        zmij::Buffer::new().format_finite(value).parse()
    }

    /// The nearest `f64` (correctly rounded).
    #[inline]
    pub fn to_f64(self) -> f64 {
        // Both operands are exact in f64 here, and IEEE division rounds correctly.
        if self.mantissa.unsigned_abs() < (1u64 << 53) {
            self.mantissa as f64 / F64_SCALES[usize::from(self.scale)]
        } else {
            self.to_string().parse().unwrap_or(f64::NAN)
        }
    }

    /// The value as an integer count of `10^-scale` units, if it fits an `i128` without
    /// losing digits (for fixed-scale columns such as Parquet `decimal(18,6)`).
    pub fn to_units(self, scale: u8) -> Option<i128> {
        let target = u32::from(scale);
        let own = u32::from(self.scale);
        if own > target {
            return None;
        }
        10i128
            .checked_pow(target - own)
            .and_then(|p| i128::from(self.mantissa).checked_mul(p))
    }

    /// The value as a count of `10^-scale` units, rounded half to even, and whether it was
    /// rounded (it had more than `scale` decimals).
    pub fn round_to_units(self, scale: u8) -> (i128, bool) {
        let m = i128::from(self.mantissa);
        if self.scale <= scale {
            return (m * 10i128.pow(u32::from(scale - self.scale)), false);
        }
        let div = 10i128.pow(u32::from(self.scale - scale));
        let (q, r) = (m.div_euclid(div), m.rem_euclid(div));
        // Half-to-even on the remainder (div_euclid rounds toward −∞, r ≥ 0).
        let twice = 2 * r;
        let units = if twice > div || (twice == div && q % 2 != 0) {
            q + 1
        } else {
            q
        };
        (units, true)
    }

    fn cmp_value(self, other: Decimal) -> Ordering {
        let s = self.scale.max(other.scale);
        // Scales are ≤ 18 and mantissas < 10^19, so the products fit an i128.
        let a = i128::from(self.mantissa) * 10i128.pow(u32::from(s - self.scale));
        let b = i128::from(other.mantissa) * 10i128.pow(u32::from(s - other.scale));
        a.cmp(&b)
    }
}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> Ordering {
        self.cmp_value(*other)
    }
}

impl FromStr for Decimal {
    type Err = DecimalError;

    /// Parses `-12.3400`, `+5`, `.5`, `5.`, `1.5e-3`, `2E+2`. Leading and trailing zeros do not
    /// count as significant digits.
    fn from_str(text: &str) -> Result<Decimal, DecimalError> {
        let syntax = || DecimalError::Syntax(text.to_string());
        let bytes = text.as_bytes();
        let mut i = 0;
        let negative = match bytes.first() {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let mut mantissa: i64 = 0;
        let mut digits_seen = 0u32; // any digit at all (syntax)
        let mut significant = 0u32; // digits after the leading zeros
        let mut frac_digits: i64 = 0;
        let mut trailing_zeros: i64 = 0; // zeros not yet folded into the mantissa
        let mut in_frac = false;
        while i < bytes.len() {
            match bytes[i] {
                d @ b'0'..=b'9' => {
                    digits_seen += 1;
                    if in_frac {
                        frac_digits += 1;
                    }
                    if d == b'0' {
                        if significant > 0 {
                            trailing_zeros += 1;
                        }
                    } else {
                        // Fold pending zeros, then the digit.
                        significant = significant
                            .saturating_add(u32::try_from(trailing_zeros).unwrap_or(u32::MAX))
                            .saturating_add(1);
                        if significant > MAX_DIGITS {
                            return Err(DecimalError::TooManyDigits(text.to_string()));
                        }
                        for _ in 0..trailing_zeros {
                            mantissa *= 10;
                        }
                        trailing_zeros = 0;
                        mantissa = mantissa * 10 + i64::from(d - b'0');
                    }
                }
                b'.' if !in_frac => in_frac = true,
                b'e' | b'E' => break,
                _ => return Err(syntax()),
            }
            i += 1;
        }
        if digits_seen == 0 {
            return Err(syntax());
        }
        let mut exponent: i64 = 0;
        if i < bytes.len() {
            // bytes[i] is 'e' or 'E'
            let exp_text = &text[i + 1..];
            if exp_text.is_empty() || exp_text.len() > 6 {
                return Err(syntax());
            }
            exponent = exp_text.parse::<i64>().map_err(|_| syntax())?;
        }
        // value = mantissa × 10^(trailing_zeros - frac_digits + exponent)
        let mut power = trailing_zeros - frac_digits + exponent;
        if mantissa == 0 {
            return Ok(Decimal::ZERO);
        }
        while power > 0 {
            significant += 1;
            if significant > MAX_DIGITS {
                return Err(DecimalError::OutOfRange(text.to_string()));
            }
            mantissa *= 10;
            power -= 1;
        }
        let scale = -power;
        if scale > i64::from(MAX_DIGITS) {
            return Err(DecimalError::OutOfRange(text.to_string()));
        }
        let mantissa = if negative { -mantissa } else { mantissa };
        Ok(Decimal {
            mantissa,
            scale: scale as u8,
        }
        .normalized())
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.scale == 0 {
            return write!(f, "{}", self.mantissa);
        }
        let p = POW10[usize::from(self.scale)].unsigned_abs();
        let abs = self.mantissa.unsigned_abs();
        let sign = if self.mantissa < 0 { "-" } else { "" };
        write!(
            f,
            "{sign}{}.{:0width$}",
            abs / p,
            abs % p,
            width = usize::from(self.scale)
        )
    }
}

impl serde::Serialize for Decimal {
    /// As a JSON number: whole numbers as integers, others as the nearest f64, which serde_json prints with the shortest digits that
    /// round-trip it, i.e. this decimal's own digits.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.scale == 0 {
            // Whole numbers print without a `.0`.
            return serializer.serialize_i64(self.mantissa);
        }
        // Up to 15 significant digits the nearest f64 prints back as these digits; beyond, only
        // if it round-trips (a float printed by a shortest printer); otherwise the digits are
        // written as they are, never rounded.
        let f = self.to_f64();
        if self.mantissa.unsigned_abs() < 1_000_000_000_000_000
            || Decimal::from_f64(f).is_ok_and(|d| d == *self)
        {
            return serializer.serialize_f64(f);
        }
        match serde_json::value::RawValue::from_string(self.to_string()) {
            Ok(raw) => raw.serialize(serializer),
            Err(_) => serializer.serialize_f64(f),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Decimal {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
        deserializer.deserialize_any(DecimalVisitor)
    }
}

struct DecimalVisitor;

impl serde::de::Visitor<'_> for DecimalVisitor {
    type Value = Decimal;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a decimal number")
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Decimal, E> {
        Decimal::new(v, 0).ok_or_else(|| E::custom(DecimalError::OutOfRange(v.to_string())))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Decimal, E> {
        let v = i64::try_from(v)
            .map_err(|_| E::custom(format!("{v} is out of range for a decimal")))?;
        self.visit_i64(v)
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Decimal, E> {
        Decimal::from_f64(v).map_err(E::custom)
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Decimal, E> {
        v.trim().parse().map_err(E::custom)
    }
}

impl schemars::JsonSchema for Decimal {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Decimal".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "An exact decimal with at most 18 significant digits, written as a JSON number (a string holding the number is accepted on input).",
            "type": ["number", "string"],
            "pattern": "^[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]+)?$"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_prints_canonically() {
        for (input, out) in [
            ("129.04", "129.04"),
            ("129.0400", "129.04"),
            ("-0.5", "-0.5"),
            (".5", "0.5"),
            ("5.", "5"),
            ("+7", "7"),
            ("0", "0"),
            ("-0.000", "0"),
            ("1.5e-3", "0.0015"),
            ("2E+2", "200"),
            ("0.000001", "0.000001"),
            ("00012.5", "12.5"),
            ("999999999999.999999", "999999999999.999999"),
        ] {
            assert_eq!(d(input).to_string(), out, "{input}");
        }
    }

    #[test]
    fn rejects_garbage_and_overflow() {
        for bad in [
            "", "-", ".", "1.2.3", "1e", "abc", "1,5", "NaN", "inf", "1e999999", " 1",
        ] {
            assert!(bad.parse::<Decimal>().is_err(), "{bad:?} should fail");
        }
        assert!(matches!(
            "1234567890123456789".parse::<Decimal>(),
            Err(DecimalError::TooManyDigits(_))
        ));
        assert!(matches!(
            "1e-19".parse::<Decimal>(),
            Err(DecimalError::OutOfRange(_))
        ));
        assert!(matches!(
            "1e19".parse::<Decimal>(),
            Err(DecimalError::OutOfRange(_))
        ));
        assert!(Decimal::new(i64::MAX, 0).is_none());
        assert!(serde_json::from_str::<Decimal>("9223372036854775807").is_err());
    }

    #[test]
    fn equal_values_compare_equal() {
        assert_eq!(d("1.50"), d("1.5"));
        assert!(d("1.5") < d("1.51"));
        assert!(d("-2") < d("-1.99"));
        assert_eq!(d("100").cmp(&d("1e2")), Ordering::Equal);
    }

    #[test]
    fn float32_noise_becomes_the_intended_price() {
        let noisy: f64 = 129.0399932861328;
        assert_eq!(
            Decimal::from_f32(noisy as f32).unwrap().to_string(),
            "129.04"
        );
        assert_eq!(
            Decimal::from_f64(noisy).unwrap().to_string(),
            "129.0399932861328"
        );
    }

    #[test]
    fn json_round_trip_is_exact() {
        for text in [
            "129.04",
            "0.1",
            "0.128348",
            "12345.678901",
            "3",
            "-7.25",
            "1e-05",
            "129.0399932861328",
        ] {
            let v: Decimal = serde_json::from_str(text).unwrap();
            let back = serde_json::to_string(&v).unwrap();
            let expect = d(text);
            assert_eq!(
                serde_json::from_str::<Decimal>(&back).unwrap(),
                expect,
                "{text} -> {back}"
            );
            assert!(!back.contains("0000000"), "noise in {back}");
        }
        let v: Decimal = serde_json::from_str("\"129.04\"").unwrap();
        assert_eq!(v.to_string(), "129.04");
    }

    #[test]
    fn eighteen_digits_are_written_exactly() {
        for text in [
            "999999999999.999999",
            "123456.789012345678",
            "0.123456789012345678",
        ] {
            let d: Decimal = serde_json::from_str(&format!("\"{text}\"")).unwrap();
            assert_eq!(serde_json::to_string(&d).unwrap(), text);
        }
    }

    #[test]
    fn units_at_fixed_scale() {
        assert_eq!(d("129.04").to_units(6), Some(129_040_000));
        assert_eq!(d("-0.000001").to_units(6), Some(-1));
        assert_eq!(d("0.0000001").to_units(6), None);
    }

    proptest::proptest! {
        #[test]
        fn display_parse_round_trip(m in -999_999_999_999_999_999i64..=999_999_999_999_999_999i64, s in 0u8..=18) {
            let v = Decimal::new(m, s).unwrap();
            proptest::prop_assert_eq!(v.to_string().parse::<Decimal>().unwrap(), v);
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,40}") {
            let _ = s.parse::<Decimal>();
        }

        #[test]
        fn fast_path_agrees_with_shortest_printing(bits in proptest::num::u64::ANY, m in -999_999_999_999i64..=999_999_999_999, sc in 0u8..=9) {
            for v in [f64::from_bits(bits), Decimal::new(m, sc).unwrap().to_f64()] {
                if v.is_finite() {
                    let slow: Result<Decimal, _> = zmij::Buffer::new().format_finite(v).parse();
                    proptest::prop_assert_eq!(Decimal::from_f64(v), slow, "{}", v);
                }
            }
        }

        #[test]
        fn fifteen_digit_decimals_survive_json(m in -999_999_999_999_999i64..=999_999_999_999_999i64, s in 0u8..=15) {
            let v = Decimal::new(m, s).unwrap();
            let json = serde_json::to_string(&v).unwrap();
            proptest::prop_assert_eq!(serde_json::from_str::<Decimal>(&json).unwrap(), v);
        }
    }
}
