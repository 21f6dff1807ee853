//! Trading calendars: which dates an exchange is open.
//!
//! [`Calendar::Xnys`] is the New York Stock Exchange's (Nasdaq, XNAS, keeps the same holidays),
//! by rule rather than by table, so it needs no update each year: weekends; New Year's Day;
//! Martin Luther King Jr. Day (third Monday of January, since 1998); Washington's Birthday
//! (third Monday of February); Good Friday; Memorial Day (last Monday of May); Juneteenth (June
//! 19, since 2022); Independence Day; Labor Day (first Monday of September); Thanksgiving (fourth
//! Thursday of November); Christmas. A holiday on a Sunday is observed on the Monday after, one on
//! a Saturday on the Friday before, except New Year's Day, which then is not observed at all (the
//! Friday closes a year). Plus the special closures since 1972 (September 11, presidents'
//! funerals and days of mourning, election days through 1980, the 1977 blackout, hurricanes Gloria and Sandy). Early closes
//! are trading days. Checked against `exchange_calendars` for 1980–2030 (`tests/it/calendar.rs`);
//! before 1980 not every closure of the time is modelled.

use chrono::{Datelike, Days, NaiveDate, Weekday};

/// A trading calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Calendar {
    /// NYSE (and Nasdaq): US equities.
    Xnys,
}

/// Whole-day closures of the NYSE since 1972 that no holiday rule produces.
const XNYS_SPECIAL_CLOSURES: &[(i32, u32, u32)] = &[
    (1972, 11, 7), // presidential election days: closed through 1980
    (1976, 11, 2),
    (1980, 11, 4),
    (1972, 12, 28), // President Truman's funeral
    (1973, 1, 25),  // President Johnson's funeral
    (1977, 7, 14),  // New York City blackout
    (1985, 9, 27),  // Hurricane Gloria
    (1994, 4, 27),  // President Nixon's funeral
    (2001, 9, 11),  // September 11
    (2001, 9, 12),
    (2001, 9, 13),
    (2001, 9, 14),
    (2004, 6, 11),  // President Reagan's funeral
    (2007, 1, 2),   // President Ford's day of mourning
    (2012, 10, 29), // Hurricane Sandy
    (2012, 10, 30),
    (2018, 12, 5), // President G. H. W. Bush's day of mourning
    (2025, 1, 9),  // President Carter's day of mourning
];

impl Calendar {
    /// The calendar of an ISO 10383 market identifier code, where one is built in.
    pub fn for_mic(mic: &str) -> Option<Calendar> {
        match mic {
            "XNYS" | "XNAS" | "ARCX" | "XASE" | "BATS" | "IEXG" => Some(Calendar::Xnys),
            _ => None,
        }
    }

    /// Whether the exchange trades on `date`.
    pub fn is_trading_day(self, date: NaiveDate) -> bool {
        match self {
            Calendar::Xnys => {
                !matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
                    && !xnys_holiday(date)
                    && !XNYS_SPECIAL_CLOSURES
                        .iter()
                        .any(|&(y, m, d)| (date.year(), date.month(), date.day()) == (y, m, d))
            }
        }
    }

    /// The first trading day after `date`.
    pub fn next_trading_day(self, date: NaiveDate) -> Option<NaiveDate> {
        let mut d = date.succ_opt()?;
        while !self.is_trading_day(d) {
            d = d.succ_opt()?;
        }
        Some(d)
    }

    /// The last trading day before `date`.
    pub fn previous_trading_day(self, date: NaiveDate) -> Option<NaiveDate> {
        let mut d = date.pred_opt()?;
        while !self.is_trading_day(d) {
            d = d.pred_opt()?;
        }
        Some(d)
    }

    /// Trading days in `from..=to` (none when `from > to`).
    pub fn trading_days(self, from: NaiveDate, to: NaiveDate) -> impl Iterator<Item = NaiveDate> {
        from.iter_days()
            .take_while(move |d| *d <= to)
            .filter(move |d| self.is_trading_day(*d))
    }

    /// Trading days after `from`, up to and including `to`: how many sessions `from` lags `to`.
    pub fn sessions_between(self, from: NaiveDate, to: NaiveDate) -> usize {
        match from.succ_opt() {
            Some(next) if next <= to => self.trading_days(next, to).count(),
            _ => 0,
        }
    }
}

fn nth_weekday(year: i32, month: u32, weekday: Weekday, n: u8) -> Option<NaiveDate> {
    NaiveDate::from_weekday_of_month_opt(year, month, weekday, n)
}

fn last_weekday(year: i32, month: u32, weekday: Weekday) -> Option<NaiveDate> {
    (1..=5)
        .rev()
        .find_map(|n| NaiveDate::from_weekday_of_month_opt(year, month, weekday, n))
}

/// Easter Sunday (Gregorian; the anonymous algorithm of Meeus/Jones/Butcher).
fn easter(year: i32) -> Option<NaiveDate> {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32)
}

/// A fixed-date holiday as the exchange observes it: Saturday → Friday, Sunday → Monday.
fn observed(date: Option<NaiveDate>) -> Option<NaiveDate> {
    let d = date?;
    match d.weekday() {
        Weekday::Sat => d.pred_opt(),
        Weekday::Sun => d.succ_opt(),
        _ => Some(d),
    }
}

fn xnys_holiday(date: NaiveDate) -> bool {
    let y = date.year();
    let ymd = |m, d| NaiveDate::from_ymd_opt(y, m, d);
    let new_year = ymd(1, 1).and_then(|d| match d.weekday() {
        // On a Saturday it is not observed: the Friday before closes the previous year.
        Weekday::Sat => None,
        Weekday::Sun => d.succ_opt(),
        _ => Some(d),
    });
    let holidays = [
        new_year,
        (y >= 1998)
            .then(|| nth_weekday(y, 1, Weekday::Mon, 3))
            .flatten(),
        nth_weekday(y, 2, Weekday::Mon, 3),
        easter(y).and_then(|e| e.checked_sub_days(Days::new(2))),
        last_weekday(y, 5, Weekday::Mon),
        (y >= 2022).then(|| observed(ymd(6, 19))).flatten(),
        observed(ymd(7, 4)),
        nth_weekday(y, 9, Weekday::Mon, 1),
        nth_weekday(y, 11, Weekday::Thu, 4),
        observed(ymd(12, 25)),
    ];
    holidays.contains(&Some(date))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn holidays_and_their_observance() {
        let cal = Calendar::Xnys;
        for closed in [
            "2024-01-01", // New Year's Day
            "2023-01-02", // New Year's Day on a Sunday: Monday
            "2024-01-15", // MLK
            "2024-02-19", // Washington's Birthday
            "2024-03-29", // Good Friday
            "2024-05-27", // Memorial Day
            "2024-06-19", // Juneteenth
            "2027-06-18", // Juneteenth on a Saturday: Friday
            "2024-07-04",
            "2021-07-05", // July 4th on a Sunday: Monday
            "2024-09-02", // Labor Day
            "2024-11-28", // Thanksgiving
            "2024-12-25",
            "2021-12-24", // Christmas on a Saturday: Friday
            "2001-09-11",
            "2012-10-30",
            "2025-01-09",
            "2024-01-06", // a Saturday
        ] {
            assert!(!cal.is_trading_day(d(closed)), "{closed} is closed");
        }
        for open in [
            "2021-12-31", // New Year's Day 2022 on a Saturday: not observed
            "2021-06-18", // before Juneteenth was a holiday
            "2024-11-29", // the day after Thanksgiving (early close)
            "2024-12-24", // Christmas Eve (early close)
            "2024-01-02",
        ] {
            assert!(cal.is_trading_day(d(open)), "{open} is open");
        }
    }

    #[test]
    fn easter_dates() {
        for (y, e) in [
            (2000, "2000-04-23"),
            (2019, "2019-04-21"),
            (2024, "2024-03-31"),
            (2038, "2038-04-25"),
        ] {
            assert_eq!(easter(y), Some(d(e)));
        }
    }

    #[test]
    fn stepping_and_counting_sessions() {
        let cal = Calendar::Xnys;
        // Thursday before Good Friday 2024 → the Monday after Easter.
        assert_eq!(cal.next_trading_day(d("2024-03-28")), Some(d("2024-04-01")));
        assert_eq!(
            cal.previous_trading_day(d("2024-04-01")),
            Some(d("2024-03-28"))
        );
        // From Thursday to the next Wednesday: Mon, Tue, Wed.
        assert_eq!(cal.sessions_between(d("2024-03-28"), d("2024-04-03")), 3);
        assert_eq!(cal.sessions_between(d("2024-04-03"), d("2024-03-28")), 0);
        assert_eq!(
            cal.trading_days(d("2024-12-23"), d("2024-12-27")).count(),
            4
        );
        assert_eq!(Calendar::for_mic("XNAS"), Some(Calendar::Xnys));
        assert_eq!(Calendar::for_mic("XLON"), None);
    }
}
