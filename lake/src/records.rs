//! The other record kinds (actions, tickers, findings, fetch errors) ⇄ Arrow, through
//! arrow-json's serde bridge with an explicit schema per kind. These streams are small (a
//! universe, a night's findings), so clarity wins over a hand-written builder per kind; bars,
//! the big stream, have their own ([`crate::bars`]).

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_json::ReaderBuilder;
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tickerlake::Decimal;
use tickerlake::records::{Action, FetchError, Finding, Record, Ticker};

use crate::LakeError;
use crate::bars::{PRECISION, PriceType, SCALE, from_units, to_units};

fn utf8(name: &str, nullable: bool) -> Field {
    Field::new(name, DataType::Utf8, nullable)
}

fn price(name: &str, prices: PriceType) -> Field {
    let t = match prices {
        PriceType::Decimal => DataType::Decimal128(PRECISION, SCALE as i8),
        PriceType::Float64 => DataType::Float64,
    };
    Field::new(name, t, true)
}

/// The schema of a record kind's single file.
pub fn schema(kind: tickerlake::records::Kind, prices: PriceType) -> SchemaRef {
    use tickerlake::records::Kind;
    let ts = DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()));
    let fields = match kind {
        Kind::Bars => {
            return crate::bars::bar_schema(crate::bars::ColumnTypes::with_prices(prices), true);
        }
        Kind::Actions => vec![
            utf8("symbol", false),
            Field::new("date", DataType::Date32, false),
            utf8("action", false),
            price("ratio", prices),
            price("amount", prices),
            utf8("currency", true),
            utf8("provider", false),
        ],
        Kind::Tickers => vec![
            utf8("symbol", false),
            utf8("name", true),
            utf8("exchange", true),
            utf8("asset_type", true),
            utf8("currency", true),
            utf8("country", true),
            utf8("source", true),
            utf8("isin", true),
            Field::new("market_cap", DataType::Float64, true),
            utf8("sector", true),
            utf8("industry", true),
            Field::new(
                "indexes",
                DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
                true,
            ),
            utf8("status", false),
            Field::new("first_seen", DataType::Date32, true),
            Field::new("last_seen", DataType::Date32, true),
        ],
        Kind::Findings => vec![
            utf8("check", false),
            utf8("severity", false),
            utf8("symbol", true),
            Field::new("date", DataType::Date32, true),
            // An object whose keys differ by check: kept as JSON text (DuckDB: `details::JSON`).
            utf8("details", false),
            utf8("run_id", false),
        ],
        Kind::Errors => vec![
            utf8("symbol", false),
            utf8("provider", false),
            utf8("code", false),
            Field::new("attempts", DataType::Int64, false),
            utf8("message", false),
            utf8("run_id", false),
            Field::new("ts", ts, false),
        ],
    };
    Arc::new(Schema::new(fields))
}

/// A record as the file stores it: prices rounded to `decimal(18,6)` (half-to-even, counted),
/// `details` as JSON text.
pub trait Columnar: Record {
    /// Prepares the record for its columns; `rounded` counts prices changed by rounding.
    fn to_row(&self, prices: PriceType, rounded: &mut u64) -> Result<serde_json::Value, LakeError>;

    /// The record back from a row read with arrow-json.
    fn from_row(row: serde_json::Value) -> Result<Self, LakeError> {
        serde_json::from_value(row).map_err(|e| LakeError::Corrupt(format!("{}: {e}", Self::KIND)))
    }
}

fn rounded_price(
    v: Option<Decimal>,
    column: &'static str,
    prices: PriceType,
    rounded: &mut u64,
) -> Result<Option<Decimal>, LakeError> {
    match (v, prices) {
        (Some(d), PriceType::Decimal) => {
            let (units, r) = to_units(d).ok_or_else(|| LakeError::OutOfRange {
                column,
                value: d.to_string(),
            })?;
            *rounded += u64::from(r);
            Ok(from_units(units))
        }
        (v, _) => Ok(v),
    }
}

fn to_value<T: Serialize>(t: &T) -> Result<serde_json::Value, LakeError> {
    serde_json::to_value(t).map_err(|e| LakeError::Corrupt(e.to_string()))
}

impl Columnar for Action {
    fn to_row(&self, prices: PriceType, rounded: &mut u64) -> Result<serde_json::Value, LakeError> {
        let mut a = self.clone();
        a.ratio = rounded_price(a.ratio, "ratio", prices, rounded)?;
        a.amount = rounded_price(a.amount, "amount", prices, rounded)?;
        to_value(&a)
    }
}

impl Columnar for Ticker {
    fn to_row(&self, _: PriceType, _: &mut u64) -> Result<serde_json::Value, LakeError> {
        to_value(self)
    }

    fn from_row(mut row: serde_json::Value) -> Result<Self, LakeError> {
        // An empty list comes back as [] or null; the record omits it.
        if let Some(obj) = row.as_object_mut()
            && obj.get("indexes").is_some_and(|v| v.is_null())
        {
            obj.remove("indexes");
        }
        serde_json::from_value(row).map_err(|e| LakeError::Corrupt(format!("tickers: {e}")))
    }
}

impl Columnar for Finding {
    fn to_row(&self, _: PriceType, _: &mut u64) -> Result<serde_json::Value, LakeError> {
        let mut row = to_value(self)?;
        if let Some(obj) = row.as_object_mut() {
            let text = serde_json::to_string(&self.details)
                .map_err(|e| LakeError::Corrupt(e.to_string()))?;
            obj.insert("details".into(), serde_json::Value::String(text));
        }
        Ok(row)
    }

    fn from_row(mut row: serde_json::Value) -> Result<Self, LakeError> {
        if let Some(obj) = row.as_object_mut()
            && let Some(serde_json::Value::String(text)) = obj.get("details")
        {
            let parsed: serde_json::Value = serde_json::from_str(text)
                .map_err(|e| LakeError::Corrupt(format!("findings: details: {e}")))?;
            obj.insert("details".into(), parsed);
        }
        serde_json::from_value(row).map_err(|e| LakeError::Corrupt(format!("findings: {e}")))
    }
}

impl Columnar for FetchError {
    fn to_row(&self, _: PriceType, _: &mut u64) -> Result<serde_json::Value, LakeError> {
        to_value(self)
    }
}

/// Collects records of one kind into batches.
pub struct RowBatchBuilder {
    schema: SchemaRef,
    prices: PriceType,
    rows: Vec<serde_json::Value>,
    pub rounded: u64,
}

impl RowBatchBuilder {
    pub fn new(kind: tickerlake::records::Kind, prices: PriceType) -> RowBatchBuilder {
        RowBatchBuilder {
            schema: schema(kind, prices),
            prices,
            rows: Vec::new(),
            rounded: 0,
        }
    }

    pub fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn push<T: Columnar>(&mut self, record: &T) -> Result<(), LakeError> {
        let row = record.to_row(self.prices, &mut self.rounded)?;
        self.rows.push(row);
        Ok(())
    }

    pub fn finish(&mut self) -> Result<RecordBatch, LakeError> {
        // Decoded as +00:00 (arrow-json parses zone names only with chrono-tz), stored as UTC.
        let offset_schema = Arc::new(Schema::new(
            self.schema
                .fields()
                .iter()
                .map(|f| match f.data_type() {
                    DataType::Timestamp(u, Some(tz)) if tz.as_ref() == "UTC" => Field::new(
                        f.name(),
                        DataType::Timestamp(*u, Some("+00:00".into())),
                        f.is_nullable(),
                    ),
                    _ => f.as_ref().clone(),
                })
                .collect::<Vec<_>>(),
        ));
        let mut decoder = ReaderBuilder::new(Arc::clone(&offset_schema))
            .with_batch_size(self.rows.len().max(1))
            .build_decoder()?;
        decoder.serialize(&self.rows)?;
        self.rows.clear();
        let batch = decoder
            .flush()?
            .unwrap_or_else(|| RecordBatch::new_empty(offset_schema));
        relabel(&batch, "+00:00", "UTC")
    }
}

/// Reads records of one kind back out of a batch.
pub fn records_from_batch<T: Columnar + DeserializeOwned>(
    batch: &RecordBatch,
    out: &mut Vec<T>,
) -> Result<(), LakeError> {
    let batch = &utc_as_offset(batch)?;
    let mut buf = Vec::new();
    {
        let mut w = arrow_json::LineDelimitedWriter::new(&mut buf);
        w.write(batch)?;
        w.finish()?;
    }
    for line in buf.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let row: serde_json::Value =
            serde_json::from_slice(line).map_err(|e| LakeError::Corrupt(e.to_string()))?;
        out.push(T::from_row(row)?);
    }
    Ok(())
}

/// arrow-json prints zone-named timestamps only with the chrono-tz database; "UTC" is the
/// offset +00:00, so the same instants are relabelled (no values change).
fn utc_as_offset(batch: &RecordBatch) -> Result<RecordBatch, LakeError> {
    relabel(batch, "UTC", "+00:00")
}

fn relabel(batch: &RecordBatch, from: &str, to: &str) -> Result<RecordBatch, LakeError> {
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    use arrow_array::types::TimestampMillisecondType;
    let mut fields = Vec::with_capacity(batch.num_columns());
    let mut columns = Vec::with_capacity(batch.num_columns());
    for (f, c) in batch.schema().fields().iter().zip(batch.columns()) {
        match f.data_type() {
            DataType::Timestamp(TimeUnit::Millisecond, Some(tz)) if tz.as_ref() == from => {
                let a = c
                    .as_primitive::<TimestampMillisecondType>()
                    .clone()
                    .with_timezone(to.to_string());
                fields.push(Field::new(f.name(), a.data_type().clone(), f.is_nullable()));
                columns.push(Arc::new(a) as arrow_array::ArrayRef);
            }
            _ => {
                fields.push(f.as_ref().clone());
                columns.push(Arc::clone(c));
            }
        }
    }
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tickerlake::records::Kind;

    fn fixture<T: DeserializeOwned>(kind: &str) -> Vec<T> {
        let text = std::fs::read_to_string(format!(
            "{}/../fixtures/records/{kind}.ndjson",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn round_trip<T: Columnar + DeserializeOwned + PartialEq + std::fmt::Debug>(
        kind: Kind,
        name: &str,
    ) {
        let input: Vec<T> = fixture(name);
        for prices in [PriceType::Decimal, PriceType::Float64] {
            let mut b = RowBatchBuilder::new(kind, prices);
            for r in &input {
                b.push(r).unwrap();
            }
            let batch = b.finish().unwrap();
            assert_eq!(batch.schema(), schema(kind, prices));
            let mut out: Vec<T> = Vec::new();
            records_from_batch(&batch, &mut out).unwrap();
            assert_eq!(out, input, "{name} {prices:?}");
        }
    }

    #[test]
    fn every_kind_round_trips() {
        round_trip::<Action>(Kind::Actions, "actions");
        round_trip::<Ticker>(Kind::Tickers, "tickers");
        round_trip::<Finding>(Kind::Findings, "findings");
        round_trip::<FetchError>(Kind::Errors, "errors");
    }
}
