//! Values echoed in messages, cut short.
//!
//! An error names the offending value so the user can find it, but a 10 MB CSV field or a
//! pasted blob must not become a 10 MB stderr line (or a log line no tool can read): every
//! echoed value is cut to [`MAX_ECHO`] characters, with its full length said.

/// Longest value echoed whole, in characters.
pub const MAX_ECHO: usize = 64;

/// Longest message printed whole, in characters.
pub const MAX_MESSAGE: usize = 2000;

/// `value` quoted as Rust's `{:?}` quotes it, cut to [`MAX_ECHO`] characters:
/// `"abc…" (10485760 bytes)`.
pub fn echo(value: &str) -> String {
    match value.char_indices().nth(MAX_ECHO) {
        None => format!("{value:?}"),
        Some((at, _)) => format!("{:?}… ({} bytes)", &value[..at], value.len()),
    }
}

/// `text` as it is, cut to [`MAX_ECHO`] characters when longer (for a name the input chose, such
/// as an unknown key).
pub fn cut(text: &str) -> String {
    match text.char_indices().nth(MAX_ECHO) {
        None => text.to_string(),
        Some((at, _)) => format!("{}… ({} bytes)", &text[..at], text.len()),
    }
}

/// A message whose quoted values (`"…"` and `` `…` ``) are cut to [`MAX_ECHO`] characters
/// each, and which is itself cut to [`MAX_MESSAGE`]: for messages built by code we do not
/// control (serde's, csv's), which quote the offending value whole.
pub fn shorten(message: &str) -> String {
    if message.len() <= MAX_ECHO {
        return message.to_string();
    }
    let mut out = String::with_capacity(message.len().min(MAX_MESSAGE + 64));
    let mut rest = message;
    while let Some(open) = rest.find(['"', '`']) {
        let quote = rest.as_bytes()[open];
        out.push_str(&rest[..=open]);
        let body = &rest[open + 1..];
        // The closing quote (a `\"` inside a Debug-quoted string is not one).
        let mut close = None;
        let mut escaped = false;
        for (i, b) in body.bytes().enumerate() {
            match b {
                b'\\' if quote == b'"' && !escaped => escaped = true,
                b if b == quote && !escaped => {
                    close = Some(i);
                    break;
                }
                _ => escaped = false,
            }
        }
        let (inner, after) = match close {
            Some(c) => (&body[..c], &body[c..]),
            None => (body, ""),
        };
        match inner.char_indices().nth(MAX_ECHO) {
            Some((at, _)) => {
                out.push_str(&inner[..at]);
                out.push('…');
                if let Some(rest_after) = after.strip_prefix(quote as char) {
                    out.push(quote as char);
                    out.push_str(&format!(" ({} bytes)", inner.len()));
                    rest = rest_after;
                } else {
                    out.push_str(&format!(" ({} bytes)", inner.len()));
                    rest = "";
                }
            }
            None => {
                out.push_str(inner);
                if let Some(rest_after) = after.strip_prefix(quote as char) {
                    out.push(quote as char);
                    rest = rest_after;
                } else {
                    rest = "";
                }
            }
        }
    }
    out.push_str(rest);
    match out.char_indices().nth(MAX_MESSAGE) {
        Some((at, _)) => format!("{}… ({} bytes)", &out[..at], out.len()),
        None => out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_are_echoed_whole() {
        assert_eq!(echo("abc"), "\"abc\"");
        assert_eq!(
            shorten("found \"abc\", expected `x`"),
            "found \"abc\", expected `x`"
        );
    }

    #[test]
    fn long_values_are_cut_with_their_length() {
        let big = "x".repeat(10_000);
        let e = echo(&big);
        assert!(e.len() < 100, "{e}");
        assert!(e.ends_with("… (10000 bytes)"), "{e}");
        let m = shorten(&format!(
            "a: invalid type: string \"{big}\", expected a number"
        ));
        assert!(m.len() < 200, "{m}");
        assert!(
            m.contains("(10000 bytes)") && m.ends_with(", expected a number"),
            "{m}"
        );
        let m = shorten(&format!("unknown variant `{big}`, expected `a` or `b`"));
        assert!(
            m.contains("(10000 bytes)") && m.ends_with("`a` or `b`"),
            "{m}"
        );
    }

    #[test]
    fn unclosed_quotes_and_long_messages_are_cut_too() {
        let big = "é".repeat(5_000);
        let m = shorten(&format!("found \"{big}"));
        assert!(m.chars().count() < 120, "{m}");
        let m = shorten(&"word ".repeat(2_000));
        assert!(m.chars().count() < MAX_MESSAGE + 40, "{}", m.len());
    }
}
