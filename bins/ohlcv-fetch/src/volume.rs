//! Volumes and trade counts as the providers write them: whole numbers, often in exponent
//! notation (`1.12117471e+08`) or with a zero fraction (`2084.0`); volumes sometimes with a
//! real fraction (fractional shares in Polygon's flat files, some Stooq symbols), kept as said.

use tickerlake::Volume;

/// A volume cell: `None` when missing (an empty cell, or one of the spellings pandas writes for
/// a missing value, `NaN` among them), the volume otherwise, fractional or not. Negative and
/// infinite values, and text that is not a number, are refused with the value.
pub fn parse(text: &str) -> Result<Option<Volume>, String> {
    let t = text.trim();
    if tickerlake::csv_cells::is_missing(t) {
        return Ok(None);
    }
    match t.parse::<f64>() {
        Ok(_) => Volume::parse(t)
            .filter(|v| !v.is_negative())
            .map(Some)
            .ok_or_else(|| {
                format!(
                    "expected a volume ≥ 0, found {}",
                    tickerlake::echo::shorten(t)
                )
            }),
        Err(_) => Err(format!(
            "expected a number, found {:?}",
            tickerlake::echo::shorten(t)
        )),
    }
}

/// A volume sent as a JSON number.
pub fn from_f64(x: f64) -> Result<Volume, String> {
    Volume::from_f64(x)
        .filter(|v| !v.is_negative())
        .ok_or_else(|| format!("expected a volume ≥ 0, found {x}"))
}

/// A count (trades): a whole number ≥ 0 in any of the spellings above.
pub fn parse_count(text: &str) -> Result<Option<i64>, String> {
    parse(text)?.map(count).transpose()
}

/// A count sent as a JSON number.
pub fn count_from_f64(x: f64) -> Result<i64, String> {
    count(from_f64(x)?)
}

fn count(v: Volume) -> Result<i64, String> {
    v.whole()
        .ok_or_else(|| format!("expected a whole number, found {v}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volumes_in_every_spelling_fractions_kept() {
        assert_eq!(parse("99149603"), Ok(Some(Volume::Whole(99_149_603))));
        assert_eq!(
            parse("1.12117471e+08"),
            Ok(Some(Volume::Whole(112_117_471)))
        );
        assert_eq!(parse("2084.0"), Ok(Some(Volume::Whole(2084))));
        assert_eq!(parse("12.5"), Ok(Some(Volume::Fractional(12.5))));
        assert_eq!(parse("3518.6672"), Ok(Some(Volume::Fractional(3518.6672))));
        assert_eq!(parse(""), Ok(None));
        assert_eq!(parse("NaN"), Ok(None));
        for bad in ["-5", "-0.5", "lots", "inf", "1e400"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert!(parse("-5").unwrap_err().contains("-5"));
        assert_eq!(from_f64(1.5), Ok(Volume::Fractional(1.5)));
        assert!(from_f64(f64::NAN).is_err() && from_f64(-1.0).is_err());
    }

    #[test]
    fn counts_are_whole() {
        assert_eq!(parse_count("2084.0"), Ok(Some(2084)));
        assert_eq!(parse_count(""), Ok(None));
        assert!(parse_count("12.5").unwrap_err().contains("12.5"));
        assert_eq!(count_from_f64(7.0), Ok(7));
        assert!(count_from_f64(7.5).is_err());
    }
}
