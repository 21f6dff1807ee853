//! Reading the lake back: whole partitions, filtered scans with row groups pruned by their
//! statistics, and each symbol's last date from the footers alone.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use chrono::{Datelike, NaiveDate};
use tickerlake::Symbol;
use tickerlake::records::Bar;

use crate::LakeError;
use crate::bars::bars_from_batch;
use crate::file::read_batches;
use crate::layout::{PartitionKey, io_err, partitions};
use crate::location::{Dir, Lake, Partitions};

/// Reads the bars of one partition file (empty when it does not exist).
pub fn read_partition(root: &Path, key: &PartitionKey) -> Result<Vec<Bar>, LakeError> {
    read_partition_file(&key.file(root), key)
}

pub(crate) fn read_partition_file(path: &Path, key: &PartitionKey) -> Result<Vec<Bar>, LakeError> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for batch in read_batches(path)? {
        bars_from_batch(&batch, key.symbol(), &mut out).map_err(|e| e.in_file(path))?;
    }
    Ok(out)
}

/// The bars of a partition file's bytes (`name` for messages).
pub(crate) fn read_partition_bytes(
    bytes: bytes::Bytes,
    name: &str,
    key: &PartitionKey,
) -> Result<Vec<Bar>, LakeError> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let path = Path::new(name);
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .and_then(|b| b.with_batch_size(65_536).build())
        .map_err(|e| LakeError::from(e).in_file(path))?;
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| LakeError::from(e).in_file(path))?;
        bars_from_batch(&batch, key.symbol(), &mut out).map_err(|e| e.in_file(path))?;
    }
    Ok(out)
}

/// Which bars a scan returns.
#[derive(Debug, Clone, Default)]
pub struct ScanFilter {
    /// Only these symbols (empty: all).
    pub symbols: BTreeSet<Symbol>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

impl ScanFilter {
    fn wants_symbol(&self, s: &Symbol) -> bool {
        self.symbols.is_empty() || self.symbols.contains(s)
    }

    fn wants_year(&self, y: i32) -> bool {
        self.from.is_none_or(|f| y >= f.year()) && self.to.is_none_or(|t| y <= t.year())
    }

    pub fn wants(&self, bar: &Bar) -> bool {
        self.wants_symbol(&bar.symbol)
            && self.from.is_none_or(|f| bar.date >= f)
            && self.to.is_none_or(|t| bar.date <= t)
    }
}

/// Streams the bars of a lake that pass `filter`, partition by partition, sorted by symbol and
/// date. Partitions are pruned by the symbol and year in their path.
pub fn scan(
    root: &Path,
    filter: &ScanFilter,
    each: impl FnMut(Vec<Bar>) -> Result<(), LakeError>,
) -> Result<(), LakeError> {
    scan_source(&Dir(root), filter, each)
}

/// [`scan`] of a lake wherever it is.
pub fn scan_lake(
    lake: &Lake,
    filter: &ScanFilter,
    each: impl FnMut(Vec<Bar>) -> Result<(), LakeError>,
) -> Result<(), LakeError> {
    lake.with(|source| scan_source(source, filter, each))
}

/// [`scan`] of a lake's partitions.
pub fn scan_source(
    source: &dyn Partitions,
    filter: &ScanFilter,
    mut each: impl FnMut(Vec<Bar>) -> Result<(), LakeError>,
) -> Result<(), LakeError> {
    let keys = source.partitions()?;
    let symbol_year: Vec<&PartitionKey> = keys
        .iter()
        .filter(|k| matches!(k, PartitionKey::SymbolYear(..)))
        .collect();
    for key in symbol_year {
        if let PartitionKey::SymbolYear(s, y) = key
            && (!filter.wants_symbol(s) || !filter.wants_year(*y))
        {
            continue;
        }
        let mut bars = read_pruned(source, key, filter)?;
        bars.retain(|b| filter.wants(b));
        if !bars.is_empty() {
            each(bars)?;
        }
    }
    // Month partitions hold every symbol: gather them, then hand them out sorted by symbol.
    let months: Vec<&PartitionKey> = keys
        .iter()
        .filter(|k| matches!(k, PartitionKey::YearMonth(..)))
        .collect();
    if !months.is_empty() {
        let mut all = Vec::new();
        for key in months {
            if let PartitionKey::YearMonth(y, _) = key
                && !filter.wants_year(*y)
            {
                continue;
            }
            let mut bars = read_pruned(source, key, filter)?;
            bars.retain(|b| filter.wants(b));
            all.extend(bars);
        }
        all.sort_by(|a, b| (a.symbol.as_str(), a.date).cmp(&(b.symbol.as_str(), b.date)));
        if !all.is_empty() {
            each(all)?;
        }
    }
    Ok(())
}

/// Reads only the row groups of a partition whose statistics can hold rows the filter wants:
/// `date` min/max against `--from`/`--to`, and `symbol` min/max against the wanted symbols where
/// the file has a symbol column.
pub fn read_partition_pruned(
    root: &Path,
    key: &PartitionKey,
    filter: &ScanFilter,
) -> Result<Vec<Bar>, LakeError> {
    read_pruned(&Dir(root), key, filter)
}

fn read_pruned(
    source: &dyn Partitions,
    key: &PartitionKey,
    filter: &ScanFilter,
) -> Result<Vec<Bar>, LakeError> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::file::statistics::Statistics;
    let path = std::path::PathBuf::from(source.name(key));
    let bytes = source.read(key)?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .map_err(|e| LakeError::from(e).in_file(&path))?;
    let meta = builder.metadata().clone();
    let schema = meta.file_metadata().schema_descr();
    let col = |name: &str| (0..schema.num_columns()).find(|&i| schema.column(i).name() == name);
    let (date_col, symbol_col) = (col("date"), col("symbol"));
    let from = filter.from.map(crate::bars::days_since_epoch);
    let to = filter.to.map(crate::bars::days_since_epoch);
    let keep: Vec<usize> = (0..meta.num_row_groups())
        .filter(|&i| {
            let rg = meta.row_group(i);
            let dates_ok = match date_col.map(|c| rg.column(c).statistics()) {
                Some(Some(Statistics::Int32(s))) => match (s.min_opt(), s.max_opt()) {
                    (Some(lo), Some(hi)) => {
                        from.is_none_or(|f| *hi >= f) && to.is_none_or(|t| *lo <= t)
                    }
                    _ => true,
                },
                _ => true,
            };
            let symbols_ok = filter.symbols.is_empty()
                || match symbol_col.map(|c| rg.column(c).statistics()) {
                    Some(Some(Statistics::ByteArray(s))) => match (s.min_opt(), s.max_opt()) {
                        (Some(lo), Some(hi)) => filter.symbols.iter().any(|sym| {
                            lo.data() <= sym.as_str().as_bytes()
                                && sym.as_str().as_bytes() <= hi.data()
                        }),
                        _ => true,
                    },
                    _ => true,
                };
            dates_ok && symbols_ok
        })
        .collect();
    let mut out = Vec::new();
    if keep.is_empty() {
        return Ok(out);
    }
    let reader = builder
        .with_row_groups(keep)
        .with_batch_size(65_536)
        .build()
        .map_err(|e| LakeError::from(e).in_file(&path))?;
    for batch in reader {
        let batch = batch.map_err(|e| LakeError::from(e).in_file(&path))?;
        bars_from_batch(&batch, key.symbol(), &mut out).map_err(|e| e.in_file(&path))?;
    }
    Ok(out)
}

/// The last stored date of each symbol, from the Parquet footers only (row-group statistics of
/// the `date` column in each symbol's newest year): no data page is read. `symbols` limits the
/// answer (empty: every symbol in the lake). Month-partitioned lakes are answered by a scan.
pub fn last_dates(
    root: &Path,
    symbols: &BTreeSet<Symbol>,
) -> Result<BTreeMap<Symbol, NaiveDate>, LakeError> {
    let mut out = BTreeMap::new();
    let keys = partitions(root)?;
    let mut newest: BTreeMap<&Symbol, i32> = BTreeMap::new();
    for key in &keys {
        if let PartitionKey::SymbolYear(s, y) = key
            && (symbols.is_empty() || symbols.contains(s))
        {
            let e = newest.entry(s).or_insert(*y);
            *e = (*e).max(*y);
        }
    }
    for (symbol, year) in newest {
        let key = PartitionKey::SymbolYear(symbol.clone(), year);
        if let Some(d) = max_date_from_footer(&key.file(root))? {
            out.insert(symbol.clone(), d);
        }
    }
    if keys
        .iter()
        .any(|k| matches!(k, PartitionKey::YearMonth(..)))
    {
        let filter = ScanFilter {
            symbols: symbols.clone(),
            ..ScanFilter::default()
        };
        scan(root, &filter, |bars| {
            for b in bars {
                let e = out.entry(b.symbol).or_insert(b.date);
                *e = (*e).max(b.date);
            }
            Ok(())
        })?;
    }
    Ok(out)
}

/// Highest `date` in a file, from its row-group statistics.
pub fn max_date_from_footer(path: &Path) -> Result<Option<NaiveDate>, LakeError> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let f = fs::File::open(path).map_err(io_err(path))?;
    let reader = SerializedFileReader::new(f).map_err(|e| LakeError::from(e).in_file(path))?;
    max_date_of(reader.metadata()).map_err(|e| e.in_file(path))
}

/// Highest `date` a file's metadata states, from its row-group statistics.
pub(crate) fn max_date_of(
    meta: &parquet::file::metadata::ParquetMetaData,
) -> Result<Option<NaiveDate>, LakeError> {
    use parquet::file::statistics::Statistics;
    let schema = meta.file_metadata().schema_descr();
    let Some(idx) = (0..schema.num_columns()).find(|&i| schema.column(i).name() == "date") else {
        return Err(LakeError::MissingColumn("date"));
    };
    let mut max: Option<i32> = None;
    for rg in meta.row_groups() {
        match rg.column(idx).statistics() {
            Some(Statistics::Int32(s)) => {
                if let Some(m) = s.max_opt() {
                    max = Some(max.map_or(*m, |x: i32| x.max(*m)));
                }
            }
            _ => return Err(LakeError::Corrupt("no statistics for date".into())),
        }
    }
    Ok(max.and_then(crate::bars::date_from_days))
}
