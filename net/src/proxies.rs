//! Rotation through HTTP or SOCKS proxies (`http.proxies`, `--proxy`): the notes' VPN rotation
//! done with standard proxies. Items (symbols, listing sources) are assigned to proxies in blocks
//! of `rotate_every` by their position, so a rerun uses the same proxy for the same item; a proxy
//! that cannot be reached is dropped for the rest of the run with one warning, and its items go
//! direct.

use std::sync::atomic::{AtomicBool, Ordering};

use tickerlake::config::ProxyUrl;

use crate::http::{Answer, Client, ClientConfig, Failure, Request};

struct Proxied {
    url: ProxyUrl,
    client: Client,
    dead: AtomicBool,
}

/// The direct client and one client per proxy.
pub struct Clients {
    direct: Client,
    proxies: Vec<Proxied>,
    rotate_every: usize,
}

impl Clients {
    /// `base` without a proxy; `rotate_every` 0: every symbol through the first proxy.
    pub fn new(
        base: &ClientConfig,
        proxies: &[ProxyUrl],
        rotate_every: usize,
    ) -> Result<Clients, String> {
        let direct = Client::new(&ClientConfig {
            proxy: None,
            ..base.clone()
        })?;
        let proxies = proxies
            .iter()
            .map(|url| {
                let client = Client::new(&ClientConfig {
                    proxy: Some(url.clone()),
                    ..base.clone()
                })?;
                Ok(Proxied {
                    url: url.clone(),
                    client,
                    dead: AtomicBool::new(false),
                })
            })
            .collect::<Result<_, String>>()?;
        Ok(Clients {
            direct,
            proxies,
            rotate_every,
        })
    }

    /// The proxy the symbol at `index` goes through (`None`: direct).
    pub fn slot(&self, index: usize) -> Option<usize> {
        match (self.proxies.len(), self.rotate_every) {
            (0, _) => None,
            (_, 0) => Some(0),
            (n, every) => Some(index / every % n),
        }
    }

    /// Proxies dropped so far in this run (their items went direct: the notes' "VPN fallback").
    pub fn dropped(&self) -> usize {
        self.proxies
            .iter()
            .filter(|p| p.dead.load(Ordering::Relaxed))
            .count()
    }

    /// GETs `url` for the symbol at `index`, through its proxy while that proxy works.
    pub fn get(&self, index: usize, url: &str) -> Result<Answer, Failure> {
        self.send(index, &Request::get(url))
    }

    /// Sends `request` for the item at `index`, through its proxy while that proxy works.
    pub fn send(&self, index: usize, request: &Request<'_>) -> Result<Answer, Failure> {
        let Some(p) = self.slot(index).map(|k| &self.proxies[k]) else {
            return self.direct.send(request);
        };
        if p.dead.load(Ordering::Relaxed) {
            return self.direct.send(request);
        }
        match p.client.send(request) {
            Err(Failure::Proxy(why)) => {
                if !p.dead.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        proxy = %p.url.redacted(),
                        "proxy failed ({why}): its requests go direct for the rest of the run"
                    );
                }
                self.direct.send(request)
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn base() -> ClientConfig {
        ClientConfig {
            user_agent: "t".into(),
            connect_timeout: Duration::from_secs(1),
            timeout: Duration::from_secs(2),
            proxy: None,
        }
    }

    #[test]
    fn symbols_rotate_through_the_proxies_in_blocks() {
        let urls = [
            ProxyUrl::new("http://127.0.0.1:1"),
            ProxyUrl::new("socks5://u:p@127.0.0.1:2"),
        ];
        let c = Clients::new(&base(), &urls, 3).unwrap();
        let slots: Vec<Option<usize>> = (0..8).map(|i| c.slot(i)).collect();
        assert_eq!(slots, [0, 0, 0, 1, 1, 1, 0, 0].map(Some).to_vec());
        assert_eq!(Clients::new(&base(), &urls, 0).unwrap().slot(7), Some(0));
        assert_eq!(Clients::new(&base(), &[], 3).unwrap().slot(7), None);
    }
}
