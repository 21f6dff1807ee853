//! The dead man's switch: with `HC_URL` set, healthchecks.io's convention — `HC_URL/start?rid=RUN_ID`
//! when a run begins and `HC_URL/<exit code>?rid=RUN_ID` when it ends — so that a night that never
//! ran (cron stopped, the machine off) is noticed by the service, which nothing local can do.
//!
//! A ping is never an alert and never fails the run: it is retried twice on 429, 5xx or a network
//! failure and then given up with a warning. The URL holds the check's key: it is never logged.

use std::time::Duration;

/// The environment variable holding the ping URL.
pub const ENV: &str = "HC_URL";

/// Pings `HC_URL/<what>?rid=<run_id>`; the answer's status, or why there was none. `None` when no
/// `HC_URL` is set.
pub fn ping(
    base: Option<&str>,
    what: &str,
    run_id: &str,
    client: &net::http::ClientConfig,
) -> Option<Result<u16, String>> {
    let base = base.map(str::trim).filter(|b| !b.is_empty())?;
    let url = format!(
        "{}/{what}?rid={}",
        base.trim_end_matches('/'),
        percent_encode(run_id)
    );
    let client = match net::http::Client::new(client) {
        Ok(c) => c,
        Err(e) => return Some(Err(e)),
    };
    let mut last = Err("no attempt".to_string());
    for attempt in 1..=3u64 {
        match client.get(&url) {
            Ok(a) if a.status == 429 || a.status >= 500 => {
                last = Err(format!("HTTP {}", a.status));
            }
            Ok(a) => return Some(Ok(a.status)),
            Err(e) => last = Err(e.to_string().replace(base, "<HC_URL>")),
        }
        if attempt < 3 {
            std::thread::sleep(Duration::from_millis(500 * attempt));
        }
    }
    if let Err(e) = &last {
        tracing::warn!(ping = what, error = %e, "the HC_URL heartbeat could not be sent (the run goes on)");
    }
    Some(last)
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_url_no_ping() {
        let client = net::http::ClientConfig::from_http(&Default::default());
        assert_eq!(ping(None, "start", "r", &client), None);
        assert_eq!(ping(Some("  "), "start", "r", &client), None);
    }

    #[test]
    fn run_ids_are_encoded() {
        assert_eq!(
            percent_encode("20261123T010002Z-7f3a9c"),
            "20261123T010002Z-7f3a9c"
        );
        assert_eq!(percent_encode("a b&c"), "a%20b%26c");
    }
}
