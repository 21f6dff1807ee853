//! `--lake DIR` or `s3://…`: bars upserted into the Hive-partitioned lake, grouped input in one streaming
//! pass, any other order buffered up to `--max-memory` and spilled into the staged partitions.

use std::collections::BTreeMap;

use lake::remote_writer::S3LakeWriter;
use lake::{LakeError, LakeWriter, Layout, PartitionKey, PriceType, Rounded};
use tickerlake::Symbol;
use tickerlake::ndjson::Rejects;
use tickerlake::records::Bar;

use crate::input::for_each_bar;
use crate::{Error, Options, Summary, warn_rounded};

/// Rows waiting for their partition, with a rough size.
struct Pending {
    rows: BTreeMap<PartitionKey, Vec<Bar>>,
    /// The partition the latest rows went to, not yet in `rows`: input runs partition by
    /// partition, so most rows join it without a key to build or a map to search.
    run: Option<(PartitionKey, Vec<Bar>)>,
    /// Rows of the last run: the next one is likely as long (a month's load, a year's).
    last_run: usize,
    bytes: u64,
}

impl Pending {
    fn push(&mut self, layout: Layout, bar: Bar) {
        self.bytes += BAR_BYTES;
        if let Some((key, rows)) = &mut self.run
            && key.holds(&bar)
        {
            rows.push(bar);
            return;
        }
        self.end_run();
        let key = PartitionKey::of(layout, &bar);
        // As long as the last run (a symbol's year is at most ~260 bars): one allocation instead
        // of doublings, and none much larger than needed — a fresh large block is a page fault
        // per page touched.
        let mut rows = Vec::with_capacity(self.last_run.clamp(1, RUN_CAPACITY));
        rows.push(bar);
        self.run = Some((key, rows));
    }

    fn end_run(&mut self) {
        use std::collections::btree_map::Entry;
        if let Some((key, mut rows)) = self.run.take() {
            self.last_run = rows.len();
            match self.rows.entry(key) {
                Entry::Vacant(v) => {
                    v.insert(rows);
                }
                Entry::Occupied(o) => o.into_mut().append(&mut rows),
            }
        }
    }

    /// Every pending partition with its rows.
    fn take(&mut self) -> Vec<(PartitionKey, Vec<Bar>)> {
        self.end_run();
        self.bytes = 0;
        std::mem::take(&mut self.rows).into_iter().collect()
    }
}

/// Rows a new run of a partition has room for at most.
const RUN_CAPACITY: usize = 264;

/// Estimated heap and inline size of a bar in memory.
const BAR_BYTES: u64 = 256;

/// Bars → the lake. Input grouped by symbol (as `ohlcv-fetch` writes it) is written symbol by
/// symbol in one pass; any other order is buffered up to `--max-memory` and flushed into staged
/// partitions, which later flushes merge with. Nothing replaces a lake file before the whole
/// input has been read and found good.
pub(crate) fn write_lake(
    opts: &Options,
    lake: &lake::Lake,
    layout: Layout,
) -> Result<(Summary, u64), Error> {
    let mut rejects = Rejects::to_path(opts.rejects.as_deref())?;
    let writer = match (lake.s3(), lake.local()) {
        (Some(s3), _) => Writer::S3(S3LakeWriter::new(s3, layout, opts.types, opts.write)?),
        (None, Some(dir)) => Writer::Local(LakeWriter::new(dir, layout, opts.types, opts.write)?),
        (None, None) => return Err(Error::Lake(LakeError::Internal("lake"))),
    };
    let mut pending = Pending {
        rows: BTreeMap::new(),
        run: None,
        last_run: RUN_CAPACITY,
        bytes: 0,
    };
    let mut summary = Summary::default();
    let mut current: Option<Symbol> = None;
    let mut seen: std::collections::HashSet<Symbol> = std::collections::HashSet::new();
    let mut grouped = true;
    let (mut rounded, mut rounded_examples) = (0u64, Vec::new());
    // Batches of partitions are merged, encoded and staged on a thread of their own while the
    // next batch is read, so neither waits for the other; one batch at most waits to be taken
    // (the hand-off is a rendezvous), which is why a batch is at most half of --max-memory.
    let budget = opts.max_memory / 2;
    let (batches, encoded) = std::sync::mpsc::sync_channel::<Vec<(PartitionKey, Vec<Bar>)>>(0);
    let (read, writer) = std::thread::scope(|scope| {
        let encoder = std::thread::Builder::new()
            .name("lake-encoder".into())
            .spawn_scoped(scope, move || -> Result<Writer<'_>, LakeError> {
                let mut writer = writer;
                let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
                for jobs in encoded {
                    writer.upsert_many(jobs, threads)?;
                }
                Ok(writer)
            })
            .map_err(|_| Error::Lake(LakeError::Internal("no thread for the encoder")))?;
        let hand_off = |pending: &mut Pending| -> Result<(), Error> {
            // Refused only when the encoder has stopped on an error: that error is reported.
            batches
                .send(pending.take())
                .map_err(|_| Error::Lake(LakeError::Internal("encoder")))
        };
        let read = for_each_bar(opts, &mut rejects, |bar, input, line| {
            summary.rows_in += 1;
            check_bar(opts, &bar, input, line, &mut rounded, &mut rounded_examples)?;
            // Grouped input: a symbol's partitions are complete when the next symbol starts, so
            // they are written then and memory holds one symbol. Once a symbol comes back, the
            // input is not grouped: rows then wait until --max-memory is reached.
            if grouped && layout == Layout::SymbolYear && current.as_ref() != Some(&bar.symbol) {
                if seen.contains(&bar.symbol) {
                    grouped = false;
                    tracing::debug!(
                        symbol = %bar.symbol,
                        "input is not grouped by symbol: buffering up to --max-memory"
                    );
                } else {
                    if pending.bytes >= GROUPED_FLUSH_BYTES.min(budget) {
                        hand_off(&mut pending)?;
                    }
                    seen.insert(bar.symbol.clone());
                    current = Some(bar.symbol.clone());
                }
            }
            pending.push(layout, bar);
            if pending.bytes >= budget {
                hand_off(&mut pending)?;
            }
            Ok(())
        })
        .and_then(|()| hand_off(&mut pending));
        drop(batches);
        let writer = encoder
            .join()
            .unwrap_or(Err(LakeError::Internal("the encoder thread panicked")));
        Ok::<_, Error>((read, writer))
    })?;
    // A partition that failed to be written stops the run (it is earlier input than any line
    // being read then); so does bad input.
    let writer = match (read, writer) {
        (_, Err(e)) => return Err(e.into()),
        (Err(e), Ok(_)) => return Err(e),
        (Ok(()), Ok(w)) => w,
    };
    summary.rows_rejected = rejects.count();
    warn_rounded(rounded, &rounded_examples, false)?;
    // The set-aside lines are safe on disk before any partition is replaced.
    let rejected = rejects.finish()?;
    let written = writer.commit()?;
    summary.rows_written = written.rows_written;
    summary.partitions_touched = written.partitions_touched;
    summary.partitions_created = written.partitions_created;
    summary.partitions_unchanged = written.partitions_unchanged;
    summary.prices_rounded = rounded;
    summary.nulls_kept = written.nulls_kept;
    summary.bytes = written.bytes_written;
    Ok((summary, rejected))
}

/// Checks an input row against the lake's column types, with its line: a volume the lake's
/// column cannot hold exactly, or a price that does not fit decimal(18,6), is bad input; a price
/// with more than 6 decimals is counted (on the input, not on what survives deduplication) and,
/// under --strict, refused.
fn check_bar(
    opts: &Options,
    bar: &Bar,
    input: &str,
    line: u64,
    rounded: &mut u64,
    rounded_examples: &mut Vec<Rounded>,
) -> Result<(), Error> {
    let bad = |message: String| Error::BadRow {
        input: input.to_string(),
        line,
        message,
    };
    lake::bars::check_volume(opts.types.volume, bar.volume).map_err(|e| bad(e.to_string()))?;
    if opts.types.prices == PriceType::Decimal {
        for (column, v) in [
            ("open", bar.open),
            ("high", bar.high),
            ("low", bar.low),
            ("close", bar.close),
            ("adj_close", bar.adj_close),
            ("vwap", bar.vwap),
        ] {
            let Some(d) = v else { continue };
            match lake::bars::to_units(d) {
                None => {
                    let e = LakeError::OutOfRange {
                        column,
                        value: d.to_string(),
                    };
                    return Err(bad(e.to_string()));
                }
                Some((_, true)) => {
                    if opts.strict {
                        return Err(bad(format!(
                            "{column}: {d} has more than 6 decimals (--strict)"
                        )));
                    }
                    *rounded += 1;
                    if rounded_examples.len() < 5 {
                        rounded_examples.push(Rounded {
                            symbol: bar.symbol.to_string(),
                            date: bar.date,
                            column,
                            value: d,
                        });
                    }
                }
                Some((_, false)) => {}
            }
        }
    }
    Ok(())
}

/// The lake's writer: on disk, or on S3.
enum Writer<'a> {
    Local(LakeWriter),
    S3(S3LakeWriter<'a>),
}

impl Writer<'_> {
    fn upsert_many(
        &mut self,
        jobs: Vec<(PartitionKey, Vec<Bar>)>,
        threads: usize,
    ) -> Result<(), LakeError> {
        match self {
            Writer::Local(w) => w.upsert_many(jobs, threads),
            Writer::S3(w) => w.upsert_many(jobs, threads),
        }
    }

    fn commit(self) -> Result<lake::WriteSummary, LakeError> {
        match self {
            Writer::Local(w) => w.commit(),
            Writer::S3(w) => w.commit(),
        }
    }
}

/// Grouped input is flushed at a symbol boundary once this much is pending, so that partitions
/// are encoded many at a time (on all cores) while memory stays bounded.
const GROUPED_FLUSH_BYTES: u64 = 16 << 20;
