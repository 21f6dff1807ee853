//! From a canonical ticker to the symbol Yahoo knows it by.
//!
//! Rules, in order (`config.yaml`, `fetch.yahoo`):
//! 1. `overrides` (canonical → Yahoo), for whatever no rule covers;
//! 2. indices and futures (`^GSPC`, `ES=F`) are Yahoo's own spelling already;
//! 3. a share class takes a dash instead of the dot (`BRK.B` → `BRK-B`, `BT.A` on XLON → `BT-A.L`);
//! 4. a US preferred series takes `-P` before its letter (`ABR-D` → `ABR-PD`) when the ticker says
//!    it is a preferred;
//! 5. the venue's suffix by its MIC (`suffixes`: XLON `.L`, XETR `.DE`, …); Hong Kong codes are
//!    four digits (`5` → `0005.HK`). US venues have none.

use tickerlake::config::YahooConfig;
use tickerlake::records::{AssetType, Ticker};

/// US venues (ISO 10383 operating and segment MICs): Yahoo lists them without a suffix.
const US_VENUES: [&str; 24] = [
    "XNAS", "XNGS", "XNMS", "XNCM", "XNYS", "XASE", "ARCX", "XARC", "BATS", "BATY", "EDGA", "EDGX",
    "IEXG", "XCHI", "XCIS", "XPHL", "XBOS", "MEMX", "LTSE", "XOTC", "OTCM", "PINX", "OOTC", "EXPM",
];

/// The Yahoo symbol for `ticker`; a venue that is neither a US one nor in
/// `fetch.yahoo.suffixes` has none (fetching it without a suffix would fetch the US listing of
/// the same letters, another company's prices).
pub fn yahoo_symbol(ticker: &Ticker, cfg: &YahooConfig) -> Result<String, String> {
    let canonical = ticker.symbol.as_str();
    if let Some(mapped) = cfg.overrides.get(canonical) {
        return Ok(mapped.clone());
    }
    if canonical.starts_with('^') || canonical.contains('=') {
        return Ok(canonical.to_string());
    }
    let suffix = match ticker.exchange.as_deref() {
        None => "",
        Some(mic) => match cfg.suffixes.get(mic) {
            Some(s) => s.as_str(),
            None if US_VENUES.contains(&mic) => "",
            None => {
                return Err(format!(
                    "{mic}: a venue with no Yahoo suffix in fetch.yahoo.suffixes (not a US \
                     venue either); add one there, or an override for {canonical}"
                ));
            }
        },
    };
    let mut base = canonical.replace('.', "-");
    if suffix.is_empty()
        && ticker.asset_type == Some(AssetType::Preferred)
        && let Some((root, series)) = base.split_once('-')
        && !series.starts_with('P')
    {
        base = format!("{root}-P{series}");
    }
    if ticker.exchange.as_deref() == Some("XHKG")
        && base.len() < 4
        && base.bytes().all(|b| b.is_ascii_digit())
    {
        base = format!("{base:0>4}");
    }
    Ok(format!("{base}{suffix}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tickerlake::Symbol;

    fn ticker(symbol: &str, mic: Option<&str>, asset: Option<AssetType>) -> Ticker {
        let mut t = Ticker::new(Symbol::parse(symbol).unwrap());
        t.exchange = mic.map(str::to_string);
        t.asset_type = asset;
        t
    }

    #[test]
    fn canonical_tickers_map_to_yahoo_symbols() {
        let cfg = YahooConfig::default();
        for (symbol, mic, asset, yahoo) in [
            ("AAPL", Some("XNAS"), Some(AssetType::Stock), "AAPL"),
            ("AAPL", None, None, "AAPL"),
            ("BRK.B", Some("XNYS"), Some(AssetType::Stock), "BRK-B"),
            ("BF.B", None, None, "BF-B"),
            ("ABR-D", Some("XNYS"), Some(AssetType::Preferred), "ABR-PD"),
            ("WSU", Some("XETR"), None, "WSU.DE"),
            ("VOD", Some("XLON"), None, "VOD.L"),
            ("BT.A", Some("XLON"), None, "BT-A.L"),
            ("AIR", Some("XPAR"), None, "AIR.PA"),
            ("ASML", Some("XAMS"), None, "ASML.AS"),
            ("VOLV.B", Some("XSTO"), None, "VOLV-B.ST"),
            ("NOVO.B", Some("XCSE"), None, "NOVO-B.CO"),
            ("7203", Some("XTKS"), None, "7203.T"),
            ("5", Some("XHKG"), None, "0005.HK"),
            ("0700", Some("XHKG"), None, "0700.HK"),
            ("BHP", Some("XASX"), None, "BHP.AX"),
            ("RY", Some("XTSE"), None, "RY.TO"),
            ("^GSPC", None, None, "^GSPC"),
            ("ES=F", None, None, "ES=F"),
        ] {
            assert_eq!(
                yahoo_symbol(&ticker(symbol, mic, asset), &cfg).unwrap(),
                yahoo,
                "{symbol} {mic:?}"
            );
        }
    }

    #[test]
    fn overrides_win_and_unknown_venues_are_never_fetched_as_us_listings() {
        let mut cfg = YahooConfig::default();
        cfg.overrides.insert("RDS.A".into(), "SHEL".into());
        assert_eq!(
            yahoo_symbol(&ticker("RDS.A", Some("XNYS"), None), &cfg).unwrap(),
            "SHEL"
        );
        for mic in ["XLNO", "MARS"] {
            let e = yahoo_symbol(&ticker("XYZ", Some(mic), None), &cfg).unwrap_err();
            assert!(e.contains(mic), "{e}");
        }
        assert_eq!(
            yahoo_symbol(&ticker("XYZ", Some("BATS"), None), &cfg).unwrap(),
            "XYZ"
        );
    }
}
