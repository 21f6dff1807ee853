//! Ticker symbols: validation and the one mapping from a symbol to a file or directory name.
//!
//! A canonical symbol is what the Ticker and Bar records carry (`AAPL`, `BRK.B`, `ABR-D`, `7203`,
//! `^GSPC`, `ES=F`). It is checked before it is ever used in a path, and [`Symbol::file_name`] is
//! the only way to turn it into one, so `../x`, `A/B`, NUL bytes or Windows device names such as
//! `CON` can never escape a directory or collide with another symbol.

use std::fmt;

/// Longest accepted symbol, in bytes.
pub const MAX_LEN: usize = 32;

/// Characters a symbol may hold besides `A-Z` and `0-9`.
pub const PUNCTUATION: &str = ".-_^=&";

/// A validated canonical symbol.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Symbol(String);

/// Why a text is not a symbol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SymbolError {
    #[error("empty symbol")]
    Empty,
    #[error("symbol {shown} is longer than {MAX_LEN} bytes")]
    TooLong { shown: String },
    #[error(
        "symbol {shown} holds {bad:?}: expected upper-case A-Z, digits 0-9 and {PUNCTUATION:?}{hint}"
    )]
    BadChar {
        shown: String,
        bad: char,
        hint: String,
    },
    #[error("symbol {shown} must start with a letter, a digit or '^'")]
    BadStart { shown: String },
    #[error("symbol {shown} must not end with '.'")]
    TrailingDot { shown: String },
}

/// Shows untrusted text safely in an error message: quoted, escaped, and cut short.
fn shown(text: &str) -> String {
    let mut s: String = text.chars().take(40).collect();
    if s.len() < text.len() {
        s.push('…');
    }
    format!("{s:?}")
}

/// Bytes a symbol may hold: `A-Z 0-9` and [`PUNCTUATION`].
const ALLOWED: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = b'A';
    while c <= b'Z' {
        t[c as usize] = true;
        c += 1;
    }
    let mut c = b'0';
    while c <= b'9' {
        t[c as usize] = true;
        c += 1;
    }
    let p = PUNCTUATION.as_bytes();
    let mut i = 0;
    while i < p.len() {
        t[p[i] as usize] = true;
        i += 1;
    }
    t
};

/// Whether `text` is a symbol under the rules [`Symbol::parse`] enforces, without allocating.
pub fn is_valid(text: &str) -> bool {
    let b = text.as_bytes();
    match (b.first(), b.last()) {
        (Some(&first), Some(&last)) => {
            b.len() <= MAX_LEN
                && (first.is_ascii_alphanumeric() || first == b'^')
                && last != b'.'
                && b.iter().all(|&c| ALLOWED[usize::from(c)])
        }
        _ => false,
    }
}

impl Symbol {
    /// Checks `text` against the symbol rules.
    pub fn parse(text: &str) -> Result<Symbol, SymbolError> {
        if is_valid(text) {
            return Ok(Symbol(text.to_string()));
        }
        // Invalid: find the first rule it breaks, for the message.
        if text.is_empty() {
            return Err(SymbolError::Empty);
        }
        if text.len() > MAX_LEN {
            return Err(SymbolError::TooLong { shown: shown(text) });
        }
        for c in text.chars() {
            if !(c.is_ascii_uppercase() || c.is_ascii_digit() || PUNCTUATION.contains(c)) {
                let hint = if text.chars().any(|c| c.is_ascii_lowercase())
                    && text
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || PUNCTUATION.contains(c))
                {
                    format!(" (did you mean {:?}?)", text.to_ascii_uppercase())
                } else {
                    String::new()
                };
                return Err(SymbolError::BadChar {
                    shown: shown(text),
                    bad: c,
                    hint,
                });
            }
        }
        let first = text.as_bytes()[0];
        if !(first.is_ascii_alphanumeric() || first == b'^') {
            return Err(SymbolError::BadStart { shown: shown(text) });
        }
        if text.ends_with('.') {
            return Err(SymbolError::TrailingDot { shown: shown(text) });
        }
        Ok(Symbol(text.to_string()))
    }

    /// A symbol from text already known to be valid ([`is_valid`]); checked in debug builds.
    pub(crate) fn from_valid(text: &str) -> Symbol {
        debug_assert!(is_valid(text), "{text:?}");
        Symbol(text.to_string())
    }

    /// Like [`Symbol::parse`] after upper-casing and trimming: for symbols typed on a command line.
    pub fn parse_lenient(text: &str) -> Result<Symbol, SymbolError> {
        Symbol::parse(&text.trim().to_ascii_uppercase())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The file or directory name for this symbol, the same on every platform.
    ///
    /// `A-Z 0-9 . - _` stay as they are; every other allowed character is percent-encoded
    /// (`^GSPC` → `%5EGSPC`, `ES=F` → `ES%3DF`), which Hive readers (DuckDB, pyarrow) decode back;
    /// and a name whose stem is a Windows device name (`CON`, `NUL.A`, `COM1`…) has its first
    /// letter encoded (`CON` → `%43ON`). `%` never occurs in a symbol, so the mapping is
    /// injective, and it has no lower case, so it is also injective on case-insensitive disks.
    pub fn file_name(&self) -> String {
        let mut out = String::with_capacity(self.0.len() + 4);
        let stem = self.0.split('.').next().unwrap_or("");
        let reserved = is_windows_device(stem);
        for (i, c) in self.0.chars().enumerate() {
            let plain =
                c.is_ascii_uppercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_');
            if plain && !(reserved && i == 0) {
                out.push(c);
            } else {
                out.push_str(&format!("%{:02X}", c as u32));
            }
        }
        out
    }

    /// The inverse of [`Symbol::file_name`], for reading a directory back. `None` if `name` is
    /// not a name this module produced.
    pub fn from_file_name(name: &str) -> Option<Symbol> {
        let mut text = String::with_capacity(name.len());
        let mut chars = name.chars();
        while let Some(c) = chars.next() {
            if c == '%' {
                let hex: String = chars.by_ref().take(2).collect();
                let byte = u8::from_str_radix(&hex, 16)
                    .ok()
                    .filter(|_| hex.len() == 2)?;
                text.push(char::from(byte));
            } else {
                text.push(c);
            }
        }
        let sym = Symbol::parse(&text).ok()?;
        (sym.file_name() == name).then_some(sym)
    }
}

fn is_windows_device(stem: &str) -> bool {
    let upper = stem.to_ascii_uppercase();
    match upper.as_str() {
        "CON" | "PRN" | "AUX" | "NUL" => true,
        s if s.len() == 4 && (s.starts_with("COM") || s.starts_with("LPT")) => {
            s.as_bytes()[3].is_ascii_digit()
        }
        _ => false,
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Symbol {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for Symbol {
    type Err = SymbolError;
    fn from_str(s: &str) -> Result<Symbol, SymbolError> {
        Symbol::parse(s)
    }
}

impl serde::Serialize for Symbol {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Symbol {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Symbol, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Symbol;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a ticker symbol string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Symbol, E> {
                Symbol::parse(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(V)
    }
}

impl schemars::JsonSchema for Symbol {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Symbol".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Canonical ticker symbol: upper-case letters, digits and . - _ ^ = &, starting with a letter, digit or ^, at most 32 bytes, not ending in '.'.",
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_LEN,
            "pattern": "^[A-Z0-9^][A-Z0-9._^=&-]*$"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_real_symbols() {
        for s in [
            "AAPL", "BRK.B", "BF.B", "ABR-D", "7203", "0700", "^GSPC", "ES=F", "EURUSD=X",
            "VOLV-B", "A", "M&T",
        ] {
            assert!(Symbol::parse(s).is_ok(), "{s}");
        }
    }

    #[test]
    fn refuses_path_tricks_and_junk() {
        for s in [
            "",
            "../X",
            "..",
            ".",
            "A/B",
            "A\\B",
            "A\0B",
            "A B",
            "aapl",
            "-X",
            ".X",
            "X.",
            "É",
            &"A".repeat(33),
        ] {
            assert!(Symbol::parse(s).is_err(), "{s:?} should be refused");
        }
    }

    #[test]
    fn lower_case_gets_a_hint_and_lenient_parse_fixes_it() {
        let err = Symbol::parse("brk.b").unwrap_err().to_string();
        assert!(err.contains("did you mean \"BRK.B\""), "{err}");
        assert_eq!(Symbol::parse_lenient(" brk.b ").unwrap().as_str(), "BRK.B");
    }

    #[test]
    fn file_names_are_safe_and_reversible() {
        for (sym, name) in [
            ("AAPL", "AAPL"),
            ("BRK.B", "BRK.B"),
            ("^GSPC", "%5EGSPC"),
            ("ES=F", "ES%3DF"),
            ("CON", "%43ON"),
            ("NUL.A", "%4EUL.A"),
            ("COM1", "%43OM1"),
            ("COM", "COM"),
            ("CONX", "CONX"),
            ("M&T", "M%26T"),
        ] {
            let s = Symbol::parse(sym).unwrap();
            assert_eq!(s.file_name(), name);
            assert_eq!(Symbol::from_file_name(name), Some(s));
        }
        assert_eq!(
            Symbol::from_file_name("CON"),
            None,
            "CON is never a name we write"
        );
        assert_eq!(Symbol::from_file_name("%2E%2E"), None);
        assert_eq!(Symbol::from_file_name("a%"), None);
    }

    proptest::proptest! {
        #[test]
        fn any_valid_symbol_maps_to_a_plain_component(s in "[A-Z0-9^][A-Z0-9._^=&-]{0,31}") {
            if let Ok(sym) = Symbol::parse(&s) {
                let name = sym.file_name();
                proptest::prop_assert!(!name.contains('/') && !name.contains('\\') && !name.contains('\0'));
                proptest::prop_assert!(name != "." && name != ".." && !name.starts_with('.'));
                proptest::prop_assert!(!is_windows_device(name.split('.').next().unwrap_or("")));
                proptest::prop_assert!(name.chars().all(|c| !c.is_ascii_lowercase()));
                proptest::prop_assert_eq!(Symbol::from_file_name(&name), Some(sym));
            }
        }

        #[test]
        fn distinct_symbols_never_share_a_file_name(a in "[A-Z0-9^][A-Z0-9._^=&-]{0,6}", b in "[A-Z0-9^][A-Z0-9._^=&-]{0,6}") {
            if let (Ok(x), Ok(y)) = (Symbol::parse(&a), Symbol::parse(&b))
                && x != y {
                    proptest::prop_assert_ne!(x.file_name().to_ascii_lowercase(), y.file_name().to_ascii_lowercase());
                }
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,50}") {
            let _ = Symbol::parse(&s);
        }
    }
}
