//! The configuration a run used, as written in its file, with secrets redacted.
//!
//! The file is snapshotted before `${VAR}` substitution, so values that come from the
//! environment appear as the reference (`${POLYGON_API_KEY}`), never as the secret. A secret
//! written into the file itself against the advice is redacted by the setting's name (`…key`,
//! `…secret…`, `…token…`, `…password…`, `…webhook…`), and a URL's password (`user:pw@host`)
//! wherever it appears.

use std::path::Path;

use serde_json::Value;
use sha2::{Digest, Sha256};

use tickerlake::runs::ConfigSnapshot;

pub const REDACTED: &str = "<redacted>";

/// The snapshot of the file at `path` (`None`: the built-in defaults were used).
pub fn snapshot(path: Option<&Path>) -> ConfigSnapshot {
    let Some(path) = path else {
        return ConfigSnapshot {
            path: None,
            sha256: None,
            snapshot: Value::Null,
        };
    };
    let bytes = std::fs::read(path).unwrap_or_default();

    let text = String::from_utf8_lossy(&bytes);
    let mut tree: Value = serde_saphyr::from_str(&text).unwrap_or(Value::Null);
    redact(&mut tree, "");
    ConfigSnapshot {
        path: Some(path.display().to_string()),
        sha256: Some(format!("{:x}", Sha256::digest(&bytes))),
        snapshot: tree,
    }
}

/// Whether a setting of this name holds a secret.
fn secret_name(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.ends_with("key")
        || k.ends_with("key_id")
        || [
            "secret",
            "token",
            "password",
            "passwd",
            "webhook",
            "credential",
        ]
        .iter()
        .any(|w| k.contains(w))
}

/// Whether a value is only environment references (`${NAME}` or `${NAME:-default}` with an empty
/// default): nothing secret is written in it.
fn only_references(text: &str) -> bool {
    let mut rest = text.trim();
    if rest.is_empty() {
        return true;
    }
    while let Some(after) = rest.strip_prefix("${") {
        let Some(end) = after.find('}') else {
            return false;
        };
        let inner = &after[..end];
        let (name, default) = inner.split_once(":-").unwrap_or((inner, ""));
        if !default.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return false;
        }
        rest = after[end + 1..].trim_start();
    }
    rest.is_empty()
}

/// A URL's password replaced (`scheme://user:<redacted>@host`), unless it is a reference.
fn redact_url_password(text: &str) -> String {
    let Some((scheme, rest)) = text.split_once("://") else {
        return text.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return text.to_string();
    };
    let userinfo = &authority[..at];
    let Some((user, password)) = userinfo.split_once(':') else {
        return text.to_string();
    };
    if only_references(password) {
        return text.to_string();
    }
    format!("{scheme}://{user}:{REDACTED}{}", &rest[at..])
}

fn redact(value: &mut Value, key: &str) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                redact(v, k);
            }
        }
        Value::Array(items) => {
            for v in items {
                redact(v, key);
            }
        }
        Value::String(s) => {
            if secret_name(key) && !only_references(s) {
                *s = REDACTED.to_string();
            } else {
                *s = redact_url_password(s);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_written_in_the_file_are_redacted_and_references_kept() {
        let mut v: Value = serde_saphyr::from_str(
            "providers:\n  polygon:\n    api_key: sk_live_123\n    s3_secret_access_key: ${POLYGON_S3_SECRET_KEY:-}\n\
             http:\n  proxies: ['socks5://me:hunter2@host:1080', 'http://me:${PROXY_PASSWORD}@h:3128']\n\
             fetch:\n  workers: 6\n",
        )
        .expect("yaml");
        redact(&mut v, "");
        let text = v.to_string();
        assert!(
            !text.contains("sk_live_123") && !text.contains("hunter2"),
            "{text}"
        );
        assert!(text.contains("${POLYGON_S3_SECRET_KEY:-}"), "{text}");
        assert!(
            text.contains("http://me:${PROXY_PASSWORD}@h:3128"),
            "{text}"
        );
        assert!(text.contains("socks5://me:<redacted>@host:1080"), "{text}");
        assert_eq!(v["fetch"]["workers"], 6);
    }

    #[test]
    fn a_reference_with_a_default_is_not_only_a_reference() {
        assert!(only_references("${A}"));
        assert!(only_references("${A:-}"));
        assert!(!only_references("${A:-literal}"));
        assert!(!only_references("abc"));
    }
}
