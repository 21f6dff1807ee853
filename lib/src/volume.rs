//! A bar's traded volume, kept as the source said it.
//!
//! Nearly every source counts whole shares, and those stay integers on every path (NDJSON,
//! Parquet `int64`, comparisons). Some count fractional shares (Polygon's newer flat files,
//! Stooq for some symbols): such a value is kept as it came, never rounded, and needs a lake
//! whose volume column is `float64` (`lake.volume_type`, `to-parquet --volume-type`).

use std::fmt;

use serde::{Deserializer, Serializer};

/// A volume: whole (the common case, exact as `i64`) or fractional (finite, with a non-zero
/// fraction). The two never overlap — [`Volume::from_f64`] makes `2084.0` whole — so equality
/// is equality of value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Volume {
    Whole(i64),
    Fractional(f64),
}

/// 2^63: the first `f64` an `i64` cannot hold.
const I64_END: f64 = 9.223_372_036_854_776e18;

impl Volume {
    /// The volume a number states: whole when it has no fraction (and fits an `i64`), fractional
    /// otherwise; `None` for NaN and the infinities, which state no volume.
    pub fn from_f64(x: f64) -> Option<Volume> {
        if !x.is_finite() {
            return None;
        }
        Some(if x.fract() == 0.0 && x.abs() < I64_END {
            Volume::Whole(x as i64)
        } else {
            Volume::Fractional(x)
        })
    }

    /// Reads a volume written as text (`99149603`, `1.12117471e+08`, `2084.0`, `12.5`): `None`
    /// when it is not a finite number.
    pub fn parse(text: &str) -> Option<Volume> {
        let t = text.trim();
        if let Ok(n) = t.parse::<i64>() {
            return Some(Volume::Whole(n));
        }
        // Rust's float syntax also takes "inf" and "NaN": from_f64 refuses those.
        t.parse::<f64>().ok().and_then(Volume::from_f64)
    }

    /// The value as a float (exact for whole volumes up to 2^53, far beyond any day's trading).
    pub fn as_f64(self) -> f64 {
        match self {
            Volume::Whole(n) => n as f64,
            Volume::Fractional(x) => x,
        }
    }

    /// The whole number of shares, or `None` for a fractional volume.
    pub fn whole(self) -> Option<i64> {
        match self {
            Volume::Whole(n) => Some(n),
            Volume::Fractional(_) => None,
        }
    }

    pub fn is_negative(self) -> bool {
        self.as_f64() < 0.0
    }

    pub fn is_zero(self) -> bool {
        self.as_f64() == 0.0
    }
}

impl From<i64> for Volume {
    fn from(n: i64) -> Volume {
        Volume::Whole(n)
    }
}

/// A JSON integer for a whole volume, a JSON float for a fractional one.
impl serde::Serialize for Volume {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Volume::Whole(n) => s.serialize_i64(*n),
            Volume::Fractional(x) => s.serialize_f64(*x),
        }
    }
}

impl fmt::Display for Volume {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Volume::Whole(n) => write!(f, "{n}"),
            // Rust prints the shortest text that reads back as the same float.
            Volume::Fractional(x) => write!(f, "{x}"),
        }
    }
}

/// Serde for `Option<Volume>`: a JSON integer for a whole volume (also when a producer wrote
/// `1234.0` or `"1234"`), a JSON float for a fractional one, `null` (or an empty CSV cell) for
/// none. NaN, the infinities and text that is not a number are errors.
pub mod option {
    use super::*;

    struct V;
    impl serde::de::Visitor<'_> for V {
        type Value = Option<Volume>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a number or null")
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Option<Volume>, E> {
            Ok(None)
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Option<Volume>, E> {
            Ok(None)
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Option<Volume>, E> {
            Ok(Some(Volume::Whole(v)))
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Option<Volume>, E> {
            i64::try_from(v)
                .map(|n| Some(Volume::Whole(n)))
                .map_err(|_| E::custom(format!("{v} is too large")))
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Option<Volume>, E> {
            Volume::from_f64(v)
                .map(Some)
                .ok_or_else(|| E::custom(format!("expected a finite number, found {v}")))
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Option<Volume>, E> {
            // CSV fields arrive as text; an empty one is null.
            let t = v.trim();
            if t.is_empty() {
                return Ok(None);
            }
            Volume::parse(t).map(Some).ok_or_else(|| {
                E::custom(format!(
                    "expected a number, found {:?}",
                    crate::echo::shorten(t)
                ))
            })
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Volume>, D::Error> {
        d.deserialize_any(V)
    }

    pub fn serialize<S: Serializer>(v: &Option<Volume>, s: S) -> Result<S::Ok, S::Error> {
        serde::Serialize::serialize(v, s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_in_every_spelling_fractional_kept_as_said() {
        assert_eq!(Volume::parse("99149603"), Some(Volume::Whole(99_149_603)));
        assert_eq!(
            Volume::parse("1.12117471e+08"),
            Some(Volume::Whole(112_117_471))
        );
        assert_eq!(Volume::parse("2084.0"), Some(Volume::Whole(2084)));
        assert_eq!(Volume::parse("-5"), Some(Volume::Whole(-5)));
        assert_eq!(Volume::parse("12.5"), Some(Volume::Fractional(12.5)));
        assert_eq!(
            Volume::parse("1234567.123456"),
            Some(Volume::Fractional(1_234_567.123_456))
        );
        for bad in ["", "lots", "NaN", "inf", "-inf", "1e400"] {
            assert_eq!(Volume::parse(bad), None, "{bad}");
        }
        assert_eq!(Volume::Fractional(0.1).to_string(), "0.1");
        assert_eq!(Volume::Whole(7).to_string(), "7");
    }

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Row {
        #[serde(default, with = "option")]
        v: Option<Volume>,
    }

    #[test]
    fn json_keeps_integers_integers_and_fractions_exact() {
        for (text, want, back) in [
            (r#"{"v":12}"#, Some(Volume::Whole(12)), r#"{"v":12}"#),
            (r#"{"v":12.0}"#, Some(Volume::Whole(12)), r#"{"v":12}"#),
            (r#"{"v":"12"}"#, Some(Volume::Whole(12)), r#"{"v":12}"#),
            (
                r#"{"v":0.30000000000000004}"#,
                Some(Volume::Fractional(0.300_000_000_000_000_04)),
                r#"{"v":0.30000000000000004}"#,
            ),
            (r#"{"v":1.5e3}"#, Some(Volume::Whole(1500)), r#"{"v":1500}"#),
            (r#"{"v":null}"#, None, r#"{"v":null}"#),
            (r#"{}"#, None, r#"{"v":null}"#),
        ] {
            let row: Row = serde_json::from_str(text).unwrap();
            assert_eq!(row.v, want, "{text}");
            assert_eq!(serde_json::to_string(&row).unwrap(), back, "{text}");
        }
        for bad in [
            r#"{"v":"x"}"#,
            r#"{"v":true}"#,
            r#"{"v":18446744073709551615}"#,
        ] {
            assert!(serde_json::from_str::<Row>(bad).is_err(), "{bad}");
        }
    }
}
