//! Text as people read it: numbers grouped, sizes and durations in units, and values from the
//! data directory made safe for a terminal, a log line or a chat message.

/// Text from the data directory, safe for a terminal: control characters (an escape sequence
/// could retitle the window, clear the screen or fake a status) become `?`.
pub fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// 75.0 → "1m15s", 2.5 → "2.5s".
pub fn seconds(s: f64) -> String {
    if s >= 60.0 {
        format!(
            "{}m{:02}s",
            (s / 60.0).floor(),
            (s % 60.0).round() as u64 % 60
        )
    } else {
        format!("{s:.1}s")
    }
}

/// 12345678 → "12,345,678".
pub fn group(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// 2_600_000 → "2.5 MiB".
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped_sizes_readable_and_control_characters_gone() {
        assert_eq!(group(0), "0");
        assert_eq!(group(1234), "1,234");
        assert_eq!(group(-1234567), "-1,234,567");
        assert_eq!(seconds(75.0), "1m15s");
        assert_eq!(size(512), "512 B");
        assert_eq!(size(2_621_440), "2.5 MiB");
        assert_eq!(clean("a\x1b]0;PWNED\x07b\r"), "a?]0;PWNED?b?");
        assert_eq!(clean("\u{9b}31m"), "?31m");
    }
}
