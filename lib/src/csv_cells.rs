//! What every CSV reader agrees on: which cells are missing values, and which header names
//! mean which bar field.
//!
//! A missing value is a JSON `null` in NDJSON; in CSV it is an empty cell or one of the
//! spellings pandas reads as missing by default (`NA`, `null`, `NaN`, `N/A`, `None`…), which is
//! what pandas, R and the providers' downloads write. Any other text in a numeric column is an
//! error naming the column, in every program.

/// Cell texts that mean "no value" (pandas' default `na_values`, and the empty cell).
pub const MISSING: [&str; 19] = [
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
];

/// Whether a CSV cell (surrounding blanks aside) is a missing value.
pub fn is_missing(cell: &str) -> bool {
    MISSING.contains(&cell.trim())
}

/// The bar field a CSV header names, for the common provider downloads: Yahoo's
/// `Date,Open,High,Low,Close,Adj Close,Volume`, Stooq's `Date,Open,High,Low,Close,Volume` (and
/// its Polish `Data,Otwarcie,Najwyzszy,Najnizszy,Zamkniecie,Wolumen`), Stooq's bulk files'
/// `<TICKER>,<DATE>,…,<VOL>`, and the record's own names. Case, blanks and `<…>` are ignored;
/// other names are returned as given (lower case), to be refused as unknown fields.
pub fn bar_field(header: &str) -> String {
    let name = header
        .trim()
        .trim_start_matches('\u{feff}')
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_lowercase()
        .replace([' ', '-'], "_");
    let field = match name.as_str() {
        "date" | "data" | "day" => "date",
        "symbol" | "ticker" => "symbol",
        "open" | "otwarcie" => "open",
        "high" | "najwyzszy" | "najwyższy" => "high",
        "low" | "najnizszy" | "najniższy" => "low",
        "close" | "zamkniecie" | "zamknięcie" => "close",
        "adj_close" | "adjclose" | "adjusted_close" => "adj_close",
        "volume" | "vol" | "wolumen" => "volume",
        _ => return name,
    };
    field.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_headers_name_bar_fields() {
        let yahoo = [
            "Date",
            "Open",
            "High",
            "Low",
            "Close",
            "Adj Close",
            "Volume",
        ];
        assert_eq!(
            yahoo.map(bar_field),
            [
                "date",
                "open",
                "high",
                "low",
                "close",
                "adj_close",
                "volume"
            ]
        );
        let polish = [
            "Data",
            "Otwarcie",
            "Najwyzszy",
            "Najnizszy",
            "Zamkniecie",
            "Wolumen",
        ];
        assert_eq!(
            polish.map(bar_field),
            ["date", "open", "high", "low", "close", "volume"]
        );
        assert_eq!(bar_field("<TICKER>"), "symbol");
        assert_eq!(bar_field("\u{feff}Date"), "date");
        assert_eq!(bar_field("Dividends"), "dividends");
    }

    #[test]
    fn missing_values_are_pandas_spellings_only() {
        for m in ["", " ", "NA", "null", "NaN", "N/A", "None"] {
            assert!(is_missing(m), "{m:?}");
        }
        for v in ["0", "na_value", "-", "1.5"] {
            assert!(!is_missing(v), "{v:?}");
        }
    }
}
