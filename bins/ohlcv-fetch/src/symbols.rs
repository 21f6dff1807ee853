//! From a listing's name to the symbol Yahoo knows it by.
//!
//! Rules, in order (`config.yaml`, `fetch.yahoo`):
//! 1. `overrides` (name → Yahoo), for whatever no rule covers;
//! 2. indices, futures and currencies (`^GSPC`, `ES=F`) are Yahoo's own spelling already;
//! 3. a listing outside the US is named with its venue's suffix, which is Yahoo's (`AIR.PA`,
//!    `BT-A.L`, `SAP.DE`; `tickerlake::listing`); Hong Kong codes are four digits (`5.HK` →
//!    `0005.HK`);
//! 4. a US name is spelled with Yahoo's hyphens (`BRK.B` → `BRK-B`, `ABR-D` → `ABR-PD`,
//!    `AACT.WS` → `AACT-WT`, `GRP.U` → `GRP-UN`).
//!
//! A ticker whose `exchange` is a venue outside the US but whose name carries no suffix is
//! refused rather than fetched: without the suffix Yahoo answers with the US listing of the same
//! letters, another company's prices.

use tickerlake::config::YahooConfig;
use tickerlake::listing;
use tickerlake::records::Ticker;

/// The Yahoo symbol for `ticker`.
pub fn yahoo_symbol(ticker: &Ticker, cfg: &YahooConfig) -> Result<String, String> {
    let name = ticker.symbol.as_str();
    if let Some(mapped) = cfg.overrides.get(name) {
        return Ok(mapped.clone());
    }
    if name.starts_with('^') || name.contains('=') {
        return Ok(name.to_string());
    }
    if let Some(mic) = ticker.exchange.as_deref()
        && let Some(why) = listing::check_name(name, mic)
    {
        return Err(why);
    }
    match listing::split(name) {
        (local, Some(venue)) => {
            let local = if venue.mic == "XHKG"
                && local.len() < 4
                && local.bytes().all(|b| b.is_ascii_digit())
            {
                format!("{local:0>4}")
            } else {
                local.to_string()
            };
            Ok(format!("{local}.{}", venue.suffix))
        }
        (_, None) => match ticker.exchange.as_deref() {
            Some(mic) if !listing::is_us_venue(mic) => Err(format!(
                "{mic}: a venue outside the US that tickerlake names no listings on (no suffix \
                 in its venue table); add an override for {name}"
            )),
            // Not canonical (a name typed by hand): dots become dashes, as Yahoo writes them.
            _ => Ok(listing::hyphenated(name).unwrap_or_else(|| name.replace('.', "-"))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tickerlake::Symbol;
    use tickerlake::records::AssetType;

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
            ("ABR-D", None, None, "ABR-PD"),
            ("AACT.WS", Some("XNYS"), Some(AssetType::Warrant), "AACT-WT"),
            ("GRP.U", Some("ARCX"), Some(AssetType::Unit), "GRP-UN"),
            ("WSU.DE", Some("XETR"), None, "WSU.DE"),
            ("WSU.DE", None, None, "WSU.DE"),
            ("VOD.L", Some("XLON"), None, "VOD.L"),
            ("BT-A.L", Some("XLON"), None, "BT-A.L"),
            ("AIR.PA", Some("XPAR"), None, "AIR.PA"),
            ("AL2SI.PA", Some("ALXP"), None, "AL2SI.PA"),
            ("ASML.AS", Some("XAMS"), None, "ASML.AS"),
            ("VOLV-B.ST", Some("XSTO"), None, "VOLV-B.ST"),
            ("NOVO-B.CO", Some("XCSE"), None, "NOVO-B.CO"),
            ("7203.T", Some("XTKS"), None, "7203.T"),
            ("5.HK", Some("XHKG"), None, "0005.HK"),
            ("0700.HK", None, None, "0700.HK"),
            ("BHP.AX", Some("XASX"), None, "BHP.AX"),
            ("RY.TO", Some("XTSE"), None, "RY.TO"),
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
        // A listing outside the US without its venue's suffix is never fetched as the US one.
        let e = yahoo_symbol(&ticker("AIR", Some("XPAR"), None), &cfg).unwrap_err();
        assert!(e.contains("AIR.PA"), "{e}");
        assert_eq!(
            yahoo_symbol(&ticker("XYZ", Some("BATS"), None), &cfg).unwrap(),
            "XYZ"
        );
    }
}
