//! The built-in XNYS calendar against `exchange_calendars` (PyPI, pinned in
//! requirements-dev.txt), the calendar library the Python quant stack uses, for 1980–2030.

use chrono::NaiveDate;
use tickerlake::calendar::Calendar;
use tickerlake_tests::venv_python;

#[test]
fn xnys_agrees_with_exchange_calendars_from_1980_to_2030() {
    let python = venv_python().expect("no .venv: run `make venv` (make test does)");
    let script = "import exchange_calendars as xc\n\
                  c = xc.get_calendar('XNYS', start='1980-01-01', end='2030-12-31')\n\
                  print('\\n'.join(d.strftime('%Y-%m-%d') for d in c.sessions))\n";
    let out = std::process::Command::new(python)
        .args(["-c", script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Vec<NaiveDate> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    let from = NaiveDate::from_ymd_opt(1980, 1, 1).unwrap();
    let to = NaiveDate::from_ymd_opt(2030, 12, 31).unwrap();
    let ours: Vec<NaiveDate> = Calendar::Xnys.trading_days(from, to).collect();
    let only_ours: Vec<_> = ours.iter().filter(|d| !theirs.contains(d)).collect();
    let only_theirs: Vec<_> = theirs.iter().filter(|d| !ours.contains(d)).collect();
    assert!(
        only_ours.is_empty() && only_theirs.is_empty(),
        "open only here: {only_ours:?}; open only in exchange_calendars: {only_theirs:?}"
    );
    // And the same sessions once each, in order.
    assert_eq!(ours, theirs);
}
