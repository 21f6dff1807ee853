//! Fetching many symbols on `workers` threads, each result handed to the caller's thread as soon
//! as its symbol is done, so output streams symbol by symbol.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::provider::{Chain, Outcome, Request};
use crate::raw::RawDir;
use net::proxies::Clients;

/// What the workers share.
pub struct Pool<'a> {
    pub chain: &'a Chain,
    pub clients: &'a Clients,
    pub retry: &'a net::polite::RetryPolicy,
    pub workers: usize,
    /// Where 200 answers are kept (`--raw-dir`).
    pub raw: Option<&'a RawDir>,
}

/// One symbol, done.
pub struct Done {
    /// Position in the request list.
    pub index: usize,
    pub outcome: Outcome,
    /// From the first request to the verdict, waits included.
    pub elapsed: Duration,
    /// When the verdict came: the `source_ts` of the symbol's bars.
    pub fetched_at: chrono::DateTime<chrono::Utc>,
}

/// Fetches every request and calls `sink` with each result, in completion order, on this
/// thread. Stops taking new symbols once every provider's breaker is open or `sink` fails (its error is
/// returned after the requests in flight end). Returns how many requests were never started.
pub fn fetch_all<E>(
    pool: &Pool<'_>,
    requests: &[Request],
    mut sink: impl FnMut(Done) -> Result<(), E>,
) -> Result<usize, E> {
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel::<Done>();
    let workers = pool.workers.clamp(1, requests.len().max(1));
    let mut outcome = Ok(());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let tx = tx.clone();
            let (next, stop) = (&next, &stop);
            scope.spawn(move || {
                loop {
                    if stop.load(Ordering::Relaxed) || pool.chain.all_down() {
                        return;
                    }
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(request) = requests.get(index) else {
                        return;
                    };
                    let started = Instant::now();
                    let send = |r: &net::http::Request<'_>| pool.clients.send(index, r);
                    let outcome = pool.chain.fetch(&send, request, pool.retry, pool.raw);
                    let done = Done {
                        index,
                        outcome,
                        elapsed: started.elapsed(),
                        fetched_at: chrono::Utc::now(),
                    };
                    if tx.send(done).is_err() {
                        return;
                    }
                }
            });
        }
        drop(tx);
        for done in rx {
            if outcome.is_ok()
                && let Err(e) = sink(done)
            {
                outcome = Err(e);
                stop.store(true, Ordering::Relaxed);
            }
        }
    });
    outcome?;
    let started = next.load(Ordering::Relaxed).min(requests.len());
    Ok(requests.len() - started)
}
