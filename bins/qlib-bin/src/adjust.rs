//! `--adjust qlib`: the values Qlib's Yahoo collector produces for its models
//! (`YahooNormalize1d.normalize`, `docs/qlib-format.md`), computed the way pandas
//! computes them (float64, the same operations in the same order), then stored as float32.
//!
//! For one symbol in date order:
//! 1. a row whose volume is ≤ 0 or missing is all NaN;
//! 2. `change` = close / previous close − 1 on the forward-filled close; while a change lies in
//!    [89, 111] (Yahoo's ×100 glitches) that row's prices are divided by 100;
//! 3. `f = adjclose / close`, forward-filled (1 when the symbol has no adjusted close at all);
//!    prices × f, volume ÷ f;
//! 4. `C0` = the first adjusted close there is: prices and `factor` ÷ C0, volume × C0;
//!    `adjclose` and `change` stay as they are.
//!
//! So `$close / $factor` is the raw close and `$volume * $factor` the raw volume, and every
//! series starts at `$close = 1`. [`Carry`] is what an update needs to continue a series
//! exactly: the scale, the last close and the last factor.

use serde::{Deserialize, Serialize};

/// One day of one symbol as the source gives it; NaN for a missing value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RawRow {
    pub date: i32,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub adjclose: f64,
    pub volume: f64,
}

/// The state of a symbol's adjusted series after its last row: what the next rows continue
/// from. `None` for "not known yet" (JSON has no NaN).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Carry {
    /// The date of the last row the state covers (days since 1970-01-01).
    pub date: i32,
    /// The scale: the first adjusted close of the series.
    pub c0: Option<f64>,
    /// The last close there was (forward-filled), after the ×100 fix: the next `change`'s base.
    pub close: Option<f64>,
    /// The last factor `adjclose / close` there was (forward-filled).
    pub f: Option<f64>,
}

/// The fields `--adjust qlib` computes.
pub const FIELDS: [&str; 8] = [
    "open", "high", "low", "close", "volume", "factor", "adjclose", "change",
];

/// The collector's bounds for a ×100 glitch in `change`.
const GLITCH: std::ops::RangeInclusive<f64> = 89.0..=111.0;

/// The adjusted values of `rows` (sorted, one per date), continuing `carry` when the series
/// already has rows before them. Returns `values[f][k]` for each of `fields` (names from
/// [`FIELDS`]) and the state after the last row.
pub fn adjust(rows: &[RawRow], carry: Option<&Carry>, fields: &[String]) -> (Vec<Vec<f32>>, Carry) {
    let n = rows.len();
    // NaN volume too: the collector masks `volume <= 0 | isnan(volume)`.
    let masked = |r: &RawRow| r.volume.is_nan() || r.volume <= 0.0;
    let mut open = Vec::with_capacity(n);
    let mut high = Vec::with_capacity(n);
    let mut low = Vec::with_capacity(n);
    let mut close = Vec::with_capacity(n);
    let mut adjclose = Vec::with_capacity(n);
    let mut volume = Vec::with_capacity(n);
    for r in rows {
        let nan_if = |x: f64| if masked(r) { f64::NAN } else { x };
        open.push(nan_if(r.open));
        high.push(nan_if(r.high));
        low.push(nan_if(r.low));
        close.push(nan_if(r.close));
        adjclose.push(nan_if(r.adjclose));
        volume.push(nan_if(r.volume));
    }
    let before = carry.and_then(|c| c.close).unwrap_or(f64::NAN);

    // ×100 glitches: every flagged row at once, then again, as the collector's loop does. A
    // division can only flag the row after it, so this ends; the bound is a guard.
    let mut rounds = 0;
    loop {
        let change = changes(&close, before);
        let flagged: Vec<usize> = (0..n).filter(|&k| GLITCH.contains(&change[k])).collect();
        if flagged.is_empty() || rounds > n {
            break;
        }
        for k in flagged {
            for col in [&mut high, &mut close, &mut low, &mut open, &mut adjclose] {
                col[k] /= 100.0;
            }
        }
        rounds += 1;
    }
    let mut change = changes(&close, before);
    let last_close = close
        .iter()
        .rev()
        .copied()
        .find(|c| !c.is_nan())
        .unwrap_or(before);
    for (k, r) in rows.iter().enumerate() {
        if masked(r) {
            change[k] = f64::NAN;
        }
    }

    // The factor, forward-filled; a symbol that never had an adjusted close has factor 1.
    // Decided on the rows as given (the collector: whether the column exists), not the masked ones.
    let no_adjclose =
        carry.is_none_or(|c| c.f.is_none()) && rows.iter().all(|r| r.adjclose.is_nan());
    let mut last_f = carry.and_then(|c| c.f).unwrap_or(f64::NAN);
    let mut factor = Vec::with_capacity(n);
    for k in 0..n {
        let f = if no_adjclose {
            1.0
        } else {
            adjclose[k] / close[k]
        };
        if !f.is_nan() {
            last_f = f;
        }
        factor.push(last_f);
    }
    for k in 0..n {
        let f = factor[k];
        open[k] *= f;
        high[k] *= f;
        low[k] *= f;
        close[k] *= f;
        volume[k] /= f;
    }
    let c0 = carry
        .and_then(|c| c.c0)
        .or_else(|| close.iter().copied().find(|c| !c.is_nan()))
        .unwrap_or(f64::NAN);
    for k in 0..n {
        open[k] /= c0;
        high[k] /= c0;
        low[k] /= c0;
        close[k] /= c0;
        factor[k] /= c0;
        volume[k] *= c0;
    }

    let next = Carry {
        date: rows
            .last()
            .map_or(carry.map_or(i32::MIN, |c| c.date), |r| r.date),
        c0: Some(c0).filter(|c| !c.is_nan()),
        close: Some(last_close).filter(|c| !c.is_nan()),
        f: Some(last_f).filter(|f| !f.is_nan()),
    };
    let cols = |name: &str| -> Vec<f32> {
        let col: &[f64] = match name {
            "open" => &open,
            "high" => &high,
            "low" => &low,
            "close" => &close,
            "volume" => &volume,
            "factor" => &factor,
            "adjclose" => &adjclose,
            _ => &change,
        };
        col.iter().map(|v| *v as f32).collect()
    };
    (fields.iter().map(|f| cols(f)).collect(), next)
}

/// `ffill(close) / ffill(close).shift(1) − 1`, the first row against `before`.
fn changes(close: &[f64], before: f64) -> Vec<f64> {
    let mut prev = before;
    close
        .iter()
        .map(|&c| {
            let filled = if c.is_nan() { prev } else { c };
            let change = filled / prev - 1.0;
            prev = filled;
            change
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(date: i32, close: f64, adjclose: f64, volume: f64) -> RawRow {
        RawRow {
            date,
            open: close,
            high: close * 1.1,
            low: close * 0.9,
            close,
            adjclose,
            volume,
        }
    }

    fn all_fields() -> Vec<String> {
        FIELDS.iter().map(|s| s.to_string()).collect()
    }

    fn field<'a>(values: &'a [Vec<f32>], name: &str) -> &'a [f32] {
        &values[FIELDS.iter().position(|f| *f == name).unwrap()]
    }

    fn same_bits(a: &[f32], b: &[f32]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
    }

    #[test]
    fn adjusts_scales_masks_and_fixes_glitches_as_the_collector_does() {
        let rows = [
            row(1, 10.0, 5.0, 100.0),
            row(2, 12.0, 6.0, 0.0),       // no volume: every field NaN
            row(3, 1100.0, 550.0, 70.0),  // a x100 glitch against the last close, 10
            row(4, 11.0, f64::NAN, 50.0), // no adjusted close: the factor carries on
        ];
        let (v, carry) = adjust(&rows, None, &all_fields());
        // f = 0.5 throughout, C0 = the first adjusted close, 5.
        assert_eq!(field(&v, "close")[0], 1.0);
        assert_eq!(field(&v, "high")[0], (10.0f64 * 1.1 * 0.5 / 5.0) as f32);
        assert_eq!(field(&v, "volume")[0], 1000.0, "volume / f * C0");
        assert_eq!(field(&v, "factor")[0], 0.1, "f / C0");
        assert_eq!(field(&v, "adjclose")[0], 5.0, "unscaled");
        assert!(field(&v, "change")[0].is_nan());
        // Volume 0: the whole row, but the factor, which the collector forward-fills.
        for (name, col) in FIELDS.iter().zip(&v) {
            assert_eq!(col[1].is_nan(), *name != "factor", "{name}");
        }
        assert_eq!(
            field(&v, "close")[2],
            (11.0f64 * 0.5 / 5.0) as f32,
            "glitch / 100"
        );
        assert_eq!(field(&v, "adjclose")[2], 5.5);
        assert_eq!(field(&v, "change")[2], (11.0f64 / 10.0 - 1.0) as f32);
        assert_eq!(field(&v, "close")[3], (11.0f64 * 0.5 / 5.0) as f32);
        assert_eq!(field(&v, "factor")[3], 0.1, "forward-filled");
        assert!(field(&v, "adjclose")[3].is_nan());
        assert_eq!(field(&v, "change")[3], 0.0);
        // The invariants: $close / $factor is the raw close, $volume * $factor the raw volume.
        for k in [0, 2, 3] {
            let (c, f, vol) = (
                field(&v, "close")[k] as f64,
                field(&v, "factor")[k] as f64,
                field(&v, "volume")[k] as f64,
            );
            let raw_close = if k == 2 { 11.0 } else { rows[k].close };
            assert!((c / f - raw_close).abs() < 1e-5 * raw_close, "{k}");
            assert!(
                (vol * f - rows[k].volume).abs() < 1e-4 * rows[k].volume,
                "{k}"
            );
        }
        assert_eq!(
            carry,
            Carry {
                date: 4,
                c0: Some(5.0),
                close: Some(11.0),
                f: Some(0.5)
            }
        );
    }

    #[test]
    fn a_continued_series_is_bit_identical_to_the_whole() {
        let mut rows = Vec::new();
        let mut close = 40.0;
        for d in 0..60 {
            close *= 1.0 + ((d * 7919) % 13) as f64 / 300.0 - 0.02;
            let adj = if d % 11 == 5 { f64::NAN } else { close * 0.97 };
            let volume = if d % 17 == 3 { 0.0 } else { 1000.0 + d as f64 };
            rows.push(row(d, close, adj, volume));
        }
        let fields = all_fields();
        let (whole, end) = adjust(&rows, None, &fields);
        for cut in [1, 4, 20, 59] {
            let (head, carry) = adjust(&rows[..cut], None, &fields);
            let (tail, after) = adjust(&rows[cut..], Some(&carry), &fields);
            assert_eq!(after, end, "cut {cut}");
            for f in 0..fields.len() {
                let joined: Vec<f32> = head[f].iter().chain(&tail[f]).copied().collect();
                assert!(same_bits(&joined, &whole[f]), "cut {cut}, {}", fields[f]);
            }
        }
    }

    #[test]
    fn without_adjusted_closes_the_factor_is_one() {
        let rows = [row(1, 20.0, f64::NAN, 10.0), row(2, 22.0, f64::NAN, 10.0)];
        let (v, carry) = adjust(&rows, None, &all_fields());
        assert_eq!(field(&v, "close"), [1.0, 1.1]);
        assert_eq!(field(&v, "factor"), [0.05, 0.05]);
        assert_eq!(carry.f, Some(1.0));
        // Nothing valid at all: NaN, and no scale to carry.
        let (v, carry) = adjust(&[row(1, 5.0, 5.0, 0.0)], None, &all_fields());
        assert!(v.iter().all(|c| c[0].is_nan()));
        assert_eq!(carry.c0, None);
    }
}
