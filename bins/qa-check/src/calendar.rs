//! Trading days for the checks that need them: the library's exchange calendar, or one inferred
//! from the input (a day is a trading day when enough of the symbols listed then have a bar).

use lake::bars::date_from_days;
use tickerlake::calendar::Calendar;

use crate::checks::SymbolReport;

/// Sorted trading days over a range that grows on demand, with a rule for days outside what was
/// inferred.
#[derive(Debug, Clone)]
pub struct TradingDays {
    rule: Rule,
    /// Inferred trading days and the range they were inferred over (inclusive).
    inferred: Option<(i32, i32, Vec<i32>)>,
    /// `days` covers `lo..=hi`.
    lo: i32,
    hi: i32,
    days: Vec<i32>,
}

#[derive(Debug, Clone, Copy)]
enum Rule {
    Exchange(Calendar),
    /// Outside an inferred range: Monday to Friday.
    Weekdays,
}

impl Rule {
    fn is_trading(self, day: i32) -> bool {
        let Some(d) = date_from_days(day) else {
            return false;
        };
        match self {
            Rule::Exchange(c) => c.is_trading_day(d),
            Rule::Weekdays => chrono::Datelike::weekday(&d).num_days_from_monday() < 5,
        }
    }
}

impl TradingDays {
    pub fn exchange(calendar: Calendar) -> TradingDays {
        TradingDays {
            rule: Rule::Exchange(calendar),
            inferred: None,
            lo: 0,
            hi: -1,
            days: Vec::new(),
        }
    }

    /// `--calendar infer`: a day within the input's dates is a trading day when at least
    /// `min_share_pct` % of the symbols listed on it (first bar ≤ day ≤ last bar) have a bar on
    /// it; outside them, weekdays are.
    pub fn infer(reports: &[SymbolReport], min_share_pct: f64) -> TradingDays {
        let mut t = TradingDays {
            rule: Rule::Weekdays,
            inferred: None,
            lo: 0,
            hi: -1,
            days: Vec::new(),
        };
        let (Some(lo), Some(hi)) = (
            reports.iter().filter_map(SymbolReport::first).min(),
            reports.iter().filter_map(SymbolReport::last).max(),
        ) else {
            return t;
        };
        let span = (hi - lo) as usize + 1;
        let mut have = vec![0u32; span];
        // Listed symbols per day as a difference array: +1 on the first bar, -1 after the last.
        let mut listed = vec![0i64; span + 1];
        for r in reports {
            for d in &r.dates {
                have[(d - lo) as usize] += 1;
            }
            if let (Some(f), Some(l)) = (r.first(), r.last()) {
                listed[(f - lo) as usize] += 1;
                listed[(l - lo) as usize + 1] -= 1;
            }
        }
        let mut days = Vec::new();
        let mut alive = 0i64;
        for k in 0..span {
            alive += listed[k];
            if have[k] > 0 && f64::from(have[k]) * 100.0 >= min_share_pct * alive as f64 {
                days.push(lo + k as i32);
            }
        }
        t.inferred = Some((lo, hi, days));
        t
    }

    /// Makes `days` cover `lo..=hi`.
    fn cover(&mut self, lo: i32, hi: i32) {
        if lo >= self.lo && hi <= self.hi {
            return;
        }
        // Grow by a year on each side at least, so that symbol after symbol does not rebuild.
        let (lo, hi) = if self.lo > self.hi {
            (lo - 366, hi + 366)
        } else {
            (lo.min(self.lo - 366), hi.max(self.hi + 366))
        };
        let mut days = Vec::with_capacity(((hi - lo) as usize) * 5 / 7 + 1);
        let rule = self.rule;
        let by_rule = |a: i32, b: i32, days: &mut Vec<i32>| {
            days.extend((a..=b).filter(|d| rule.is_trading(*d)));
        };
        match &self.inferred {
            Some((ilo, ihi, inferred)) => {
                by_rule(lo, (*ilo - 1).min(hi), &mut days);
                days.extend(inferred.iter().filter(|d| (lo..=hi).contains(*d)));
                by_rule((*ihi + 1).max(lo), hi, &mut days);
            }
            None => by_rule(lo, hi, &mut days),
        }
        (self.lo, self.hi, self.days) = (lo, hi, days);
    }

    pub fn is_trading(&mut self, day: i32) -> bool {
        self.cover(day, day);
        self.days.binary_search(&day).is_ok()
    }

    /// Trading days in `from..=to`.
    pub fn range(&mut self, from: i32, to: i32) -> &[i32] {
        if from > to {
            return &[];
        }
        self.cover(from, to);
        let a = self.days.partition_point(|d| *d < from);
        let b = self.days.partition_point(|d| *d <= to);
        &self.days[a..b]
    }

    /// How many trading days `last` lags `as_of`: trading days after `last`, up to and including
    /// `as_of`.
    pub fn behind(&mut self, last: i32, as_of: i32) -> usize {
        self.range(last + 1, as_of).len()
    }

    /// The first of the last `n` trading days up to and including `end`.
    pub fn window_start(&mut self, end: i32, n: u32) -> i32 {
        // n trading days fit in n * 7 / 5 + 2 weeks of holidays' worth of calendar days.
        let mut span = i64::from(n) * 7 / 5 + 14;
        loop {
            let from = (i64::from(end) - span).max(i64::from(i32::MIN / 2)) as i32;
            let days = self.range(from, end);
            if days.len() >= n as usize || span > 400_000 {
                return days.len().checked_sub(n as usize).map_or(from, |k| days[k]);
            }
            span *= 2;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lake::bars::days_since_epoch;

    fn day(s: &str) -> i32 {
        days_since_epoch(s.parse().unwrap())
    }

    fn report(dates: &[&str]) -> SymbolReport {
        SymbolReport {
            symbol: tickerlake::Symbol::parse("X").unwrap(),
            hits: Vec::new(),
            dates: dates.iter().map(|d| day(d)).collect(),
            zero_volume: Vec::new(),
        }
    }

    #[test]
    fn xnys_days_and_lag() {
        let mut t = TradingDays::exchange(Calendar::Xnys);
        // Good Friday 2024-03-29 and the weekend are not trading days.
        assert!(!t.is_trading(day("2024-03-29")));
        assert_eq!(t.behind(day("2024-03-27"), day("2024-04-02")), 3);
        assert_eq!(t.behind(day("2024-04-02"), day("2024-04-02")), 0);
        assert_eq!(t.window_start(day("2024-04-02"), 3), day("2024-03-28"));
    }

    #[test]
    fn inferred_days_need_a_share_of_the_listed_symbols() {
        // Three symbols; one is listed only from the 4th. The 3rd is a holiday for all but one.
        let a = report(&["2024-01-01", "2024-01-02", "2024-01-04", "2024-01-05"]);
        let b = report(&[
            "2024-01-01",
            "2024-01-02",
            "2024-01-03",
            "2024-01-04",
            "2024-01-05",
        ]);
        let c = report(&["2024-01-04", "2024-01-05"]);
        let mut t = TradingDays::infer(&[a.clone(), b.clone(), c], 50.0);
        assert!(t.is_trading(day("2024-01-02")));
        // 1 of 2 listed symbols has the 3rd: 50 % is enough at 50.
        assert!(t.is_trading(day("2024-01-03")));
        let mut t = TradingDays::infer(&[a, b], 60.0);
        assert!(!t.is_trading(day("2024-01-03")));
        // After the input's last day, weekdays: 2024-01-06 is a Saturday.
        assert!(!t.is_trading(day("2024-01-06")));
        assert!(t.is_trading(day("2024-01-08")));
        assert_eq!(t.behind(day("2024-01-05"), day("2024-01-09")), 2);
    }
}
