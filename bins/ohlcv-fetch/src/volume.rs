//! Volumes as the providers write them: whole numbers, often in exponent notation
//! (`1.12117471e+08`) or with a zero fraction (`2084.0`).

/// A volume cell: `None` when missing, the whole number otherwise. A fractional volume (some
/// flat files count fractional shares) is refused with the value, never rounded: the lake's
/// volume column holds whole shares.
pub fn parse(text: &str) -> Result<Option<i64>, String> {
    let t = text.trim();
    if tickerlake::csv_cells::is_missing(t) {
        return Ok(None);
    }
    if let Ok(n) = t.parse::<i64>() {
        return if n < 0 {
            Err(format!("expected a volume ≥ 0, found {t}"))
        } else {
            Ok(Some(n))
        };
    }
    match t.parse::<f64>() {
        Ok(x) => from_f64(x).map(Some),
        Err(_) => Err(format!(
            "expected a number, found {:?}",
            tickerlake::echo::shorten(t)
        )),
    }
}

/// A volume sent as a number.
pub fn from_f64(x: f64) -> Result<i64, String> {
    if !(x.is_finite() && (0.0..9.2e18).contains(&x)) {
        return Err(format!("expected a volume ≥ 0, found {x}"));
    }
    if x.fract() != 0.0 {
        return Err(format!(
            "a fractional volume ({x}): the lake holds whole shares, so the bar is not written"
        ));
    }
    Ok(x as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_volumes_in_every_spelling_and_nothing_else() {
        assert_eq!(parse("99149603"), Ok(Some(99_149_603)));
        assert_eq!(parse("1.12117471e+08"), Ok(Some(112_117_471)));
        assert_eq!(parse("2084.0"), Ok(Some(2084)));
        assert_eq!(parse(""), Ok(None));
        assert_eq!(parse("NaN"), Ok(None));
        assert!(parse("-5").is_err());
        assert!(parse("12.5").unwrap_err().contains("12.5"));
        assert!(parse("lots").is_err());
        assert!(parse("1e30").is_err());
    }
}
