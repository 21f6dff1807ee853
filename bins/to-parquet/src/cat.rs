//! `--cat`: a Parquet file or the lake back out as NDJSON, checked on the way.

use std::path::{Path, PathBuf};

use lake::records::Columnar;
use lake::{LakeError, ScanFilter};
use tickerlake::io::Output;
use tickerlake::ndjson::NdjsonWriter;
use tickerlake::{ExitCode, Symbol};

use crate::Error;

pub(crate) fn cat_rows<T: Columnar>(files: &[PathBuf]) -> Result<ExitCode, Error> {
    let out = Output::stdout();
    let name = out.name();
    let mut writer = NdjsonWriter::new(out, name);
    for path in files {
        must_be_file(path)?;
        for batch in lake::file::read_batches(path)? {
            let mut rows: Vec<T> = Vec::new();
            lake::records::records_from_batch(&batch, &mut rows).map_err(|e| e.in_file(path))?;
            for r in &rows {
                writer.write(r)?;
            }
        }
    }
    writer.into_inner()?.finish()?;
    Ok(ExitCode::Success)
}

pub(crate) fn cat_lake(lake: &lake::Lake, filter: &ScanFilter) -> Result<ExitCode, Error> {
    // A place that is not a lake is refused before anything is written.
    lake.check_readable()?;
    let out = Output::stdout();
    let name = out.name();
    let mut writer = NdjsonWriter::new(out, name);
    let mut failed: Option<tickerlake::Error> = None;
    lake::scan_lake(lake, filter, |bars| {
        for b in &bars {
            if let Err(e) = writer.write(b) {
                failed = Some(e);
                return Err(LakeError::Internal("output closed"));
            }
        }
        Ok(())
    })
    .map_err(|e| match failed.take() {
        Some(out_err) => Error::Lib(out_err),
        None => Error::Lake(e),
    })?;
    writer.into_inner()?.finish()?;
    Ok(ExitCode::Success)
}

pub(crate) fn cat_files(files: &[PathBuf], filter: &ScanFilter) -> Result<ExitCode, Error> {
    let out = Output::stdout();
    let name = out.name();
    let mut writer = NdjsonWriter::new(out, name);
    for path in files {
        must_be_file(path)?;
        let mut bars = Vec::new();
        let known = lake::bar_schema(lake::ColumnTypes::default(), true);
        for batch in lake::file::read_batches(path)? {
            // A column no bar has would be dropped without a word: refused instead.
            if let Some(extra) = batch
                .schema()
                .fields()
                .iter()
                .find(|f| known.field_with_name(f.name()).is_err())
            {
                return Err(Error::Lake(LakeError::Corrupt(format!(
                    "{}: column {} is not a bar field ({}): --cat would drop it",
                    path.display(),
                    tickerlake::echo::echo(extra.name()),
                    known
                        .fields()
                        .iter()
                        .map(|f| f.name().as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))));
            }
            // A lake partition file has its symbol in the path, not in a column.
            let symbol = path
                .components()
                .filter_map(|c| {
                    c.as_os_str()
                        .to_str()?
                        .strip_prefix("symbol=")
                        .and_then(Symbol::from_file_name)
                })
                .next_back();
            lake::bars_from_batch(&batch, symbol.as_ref(), &mut bars)
                .map_err(|e| e.in_file(path))?;
        }
        for (row, b) in bars.iter().enumerate() {
            // What --cat writes is what every program accepts: a foreign file's bar that breaks
            // the contract is named, not passed on.
            if let Err(e) = tickerlake::Record::validate(b) {
                return Err(Error::Lake(LakeError::Corrupt(format!(
                    "{}: row {}: {}: {}",
                    path.display(),
                    row + 1,
                    e.field,
                    e.expected
                ))));
            }
            if filter.wants(b) {
                writer.write(b)?;
            }
        }
    }
    writer.into_inner()?.finish()?;
    Ok(ExitCode::Success)
}

/// An input of `--cat` that is not a file is a missing input (66).
fn must_be_file(path: &Path) -> Result<(), Error> {
    if path.is_file() {
        return Ok(());
    }
    Err(Error::Lib(tickerlake::Error::Open {
        path: path.display().to_string(),
        source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such Parquet file"),
    }))
}
