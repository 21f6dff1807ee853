//! Links on a downloads page: the file whose address changes with every release (Xetra's
//! `…/resource/blob/1528/<hash>/data/t7-xetr-allTradableInstruments.csv`) found by its file name,
//! its address resolved against the page as a browser resolves it (RFC 3986 section 5: the
//! page's address after redirects, its `<base href>`, dot segments removed). Only http(s) links
//! are candidates: a `javascript:` or `mailto:` link is never requested.

/// The links on `page` (fetched from `page_url`, after redirects) whose file name is `name`,
/// compared case-insensitively and percent-decoded, as absolute http(s) addresses, in page order,
/// each once.
pub fn links_named(page: &[u8], page_url: &str, name: &str) -> Vec<String> {
    let text = String::from_utf8_lossy(page);
    let html = scraper::Html::parse_document(&text);
    let (Ok(anchors), Ok(bases)) = (
        scraper::Selector::parse("a[href]"),
        scraper::Selector::parse("base[href]"),
    ) else {
        return Vec::new();
    };
    let base = html
        .select(&bases)
        .next()
        .and_then(|b| b.value().attr("href"))
        .and_then(|href| resolve(page_url, href.trim()))
        .unwrap_or_else(|| page_url.to_string());
    let mut found: Vec<String> = Vec::new();
    for href in html.select(&anchors).filter_map(|a| a.value().attr("href")) {
        let Some(url) = resolve(&base, href.trim()) else {
            continue;
        };
        let path = url.split(['?', '#']).next().unwrap_or("");
        let last = path.rsplit('/').next().unwrap_or("");
        if percent_decode(last).eq_ignore_ascii_case(name) && !found.contains(&url) {
            found.push(url);
        }
    }
    found
}

/// `reference` read on the page at `base` (an absolute http(s) address), as an absolute http(s)
/// address; `None` for another scheme or a base that is no http(s) address.
pub fn resolve(base: &str, reference: &str) -> Option<String> {
    let base = Parts::of(base)?;
    if !matches!(base.scheme.as_str(), "http" | "https") {
        return None;
    }
    // Whitespace and control characters inside an href are dropped, as browsers do.
    let reference: String = reference
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let (scheme, authority, path, query) = match Parts::of(&reference) {
        Some(r) => {
            if !matches!(r.scheme.as_str(), "http" | "https") {
                return None;
            }
            (r.scheme, r.authority, remove_dot_segments(&r.path), r.query)
        }
        None => {
            let (without_fragment, _) = split_at(&reference, '#');
            let (rest, query) = split_at(without_fragment, '?');
            if let Some(after) = rest.strip_prefix("//") {
                let (authority, path) = match after.find('/') {
                    Some(k) => (&after[..k], &after[k..]),
                    None => (after, ""),
                };
                (
                    base.scheme.clone(),
                    Some(authority.to_string()),
                    remove_dot_segments(path),
                    query.map(str::to_string),
                )
            } else if rest.is_empty() {
                (
                    base.scheme.clone(),
                    base.authority.clone(),
                    base.path.clone(),
                    query.map(str::to_string).or(base.query.clone()),
                )
            } else if rest.starts_with('/') {
                (
                    base.scheme.clone(),
                    base.authority.clone(),
                    remove_dot_segments(rest),
                    query.map(str::to_string),
                )
            } else {
                let merged = match (&base.authority, base.path.rfind('/')) {
                    (Some(_), None) => format!("/{rest}"),
                    (_, Some(k)) => format!("{}{rest}", &base.path[..=k]),
                    (None, None) => rest.to_string(),
                };
                (
                    base.scheme.clone(),
                    base.authority.clone(),
                    remove_dot_segments(&merged),
                    query.map(str::to_string),
                )
            }
        }
    };
    let authority = authority.filter(|a| !a.is_empty())?;
    let path = if path.is_empty() {
        "/".to_string()
    } else {
        path
    };
    Some(match query {
        Some(q) => format!("{scheme}://{authority}{path}?{q}"),
        None => format!("{scheme}://{authority}{path}"),
    })
}

/// An absolute address's parts (the fragment dropped).
struct Parts {
    scheme: String,
    authority: Option<String>,
    path: String,
    query: Option<String>,
}

impl Parts {
    /// `None` unless `text` starts with a scheme (`letter *( letter / digit / + / - / . ) ":"`).
    fn of(text: &str) -> Option<Parts> {
        let colon = text.find(':')?;
        let scheme = &text[..colon];
        let mut bytes = scheme.bytes();
        if !bytes.next()?.is_ascii_alphabetic()
            || !bytes.all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        {
            return None;
        }
        let (rest, _) = split_at(&text[colon + 1..], '#');
        let (rest, query) = split_at(rest, '?');
        let (authority, path) = match rest.strip_prefix("//") {
            Some(after) => match after.find('/') {
                Some(k) => (Some(after[..k].to_string()), after[k..].to_string()),
                None => (Some(after.to_string()), String::new()),
            },
            None => (None, rest.to_string()),
        };
        Some(Parts {
            scheme: scheme.to_ascii_lowercase(),
            authority,
            path,
            query: query.map(str::to_string),
        })
    }
}

/// `text` split at the first `at`: before, and after if it is there.
fn split_at(text: &str, at: char) -> (&str, Option<&str>) {
    match text.split_once(at) {
        Some((a, b)) => (a, Some(b)),
        None => (text, None),
    }
}

/// RFC 3986 section 5.2.4.
fn remove_dot_segments(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let absolute = path.starts_with('/');
    let segments: Vec<&str> = path.split('/').collect();
    let last = segments.len().saturating_sub(1);
    for (i, seg) in segments.iter().enumerate() {
        if i == 0 && absolute {
            continue;
        }
        match *seg {
            "." => {
                if i == last {
                    out.push("");
                }
            }
            ".." => {
                out.pop();
                if i == last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    let joined = out.join("/");
    if absolute {
        format!("/{joined}")
    } else {
        joined
    }
}

/// `%XX` escapes decoded (invalid ones kept as they are); the text is what a file name shows.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_resolve_as_rfc_3986_says() {
        // RFC 3986 section 5.4.1, on its base.
        let base = "http://a/b/c/d;p?q";
        for (reference, target) in [
            ("g", "http://a/b/c/g"),
            ("./g", "http://a/b/c/g"),
            ("g/", "http://a/b/c/g/"),
            ("/g", "http://a/g"),
            ("//g", "http://g/"),
            ("?y", "http://a/b/c/d;p?y"),
            ("g?y", "http://a/b/c/g?y"),
            ("#s", "http://a/b/c/d;p?q"),
            ("g#s", "http://a/b/c/g"),
            ("", "http://a/b/c/d;p?q"),
            (".", "http://a/b/c/"),
            ("./", "http://a/b/c/"),
            ("..", "http://a/b/"),
            ("../", "http://a/b/"),
            ("../g", "http://a/b/g"),
            ("../..", "http://a/"),
            ("../../g", "http://a/g"),
            ("../../../g", "http://a/g"),
            ("/./g", "http://a/g"),
            ("/../g", "http://a/g"),
            ("g.", "http://a/b/c/g."),
            ("..g", "http://a/b/c/..g"),
            ("./../g", "http://a/b/g"),
            ("g/./h", "http://a/b/c/g/h"),
            ("g/../h", "http://a/b/c/h"),
            ("https://x.example/f.csv", "https://x.example/f.csv"),
            ("HTTP://X/f", "http://X/f"),
        ] {
            assert_eq!(
                resolve(base, reference).as_deref(),
                Some(target),
                "{reference}"
            );
        }
        for other in [
            "javascript:alert(1)//f.csv",
            "mailto:a@b",
            "file:///etc/passwd",
            "ftp://h/f",
        ] {
            assert_eq!(resolve(base, other), None, "{other}");
        }
    }

    #[test]
    fn links_are_found_by_file_name_on_the_page_after_redirects_and_its_base() {
        let page = br#"<html><head></head><body>
            <a href="javascript:void('/t7-xetr-allTradableInstruments.csv')">js</a>
            <a href="mailto:x@example.com?subject=t7-xetr-allTradableInstruments.csv">mail</a>
            <!-- <a href="/old/t7-xetr-allTradableInstruments.csv">old</a> -->
            <a href="../blob/T7-XETR-allTradableInstruments.csv?x=1&amp;y=2">all</a>
            <a href="../blob/T7-XETR-allTradableInstruments.csv?x=1&amp;y=2">again</a>
            <a href="/other/t7%2Dxetr-allTradableInstruments.csv">encoded</a>
        </body></html>"#;
        let found = links_named(
            page,
            "https://www.example.com/deep/a/Downloads",
            "t7-xetr-allTradableInstruments.csv",
        );
        assert_eq!(
            found,
            [
                "https://www.example.com/deep/blob/T7-XETR-allTradableInstruments.csv?x=1&y=2",
                "https://www.example.com/other/t7%2Dxetr-allTradableInstruments.csv",
            ]
        );
        let with_base = br#"<html><head><base href="/x/"></head><body>
            <a href="f.csv">f</a></body></html>"#;
        assert_eq!(
            links_named(with_base, "http://127.0.0.1:9/p/q", "f.csv"),
            ["http://127.0.0.1:9/x/f.csv"]
        );
        assert!(links_named(b"not html at all \xff", "http://h/", "f.csv").is_empty());
    }
}
