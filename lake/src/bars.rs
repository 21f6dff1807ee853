//! Bars ⇄ Arrow record batches, with the lake's column types.
//!
//! Prices are `decimal(18,6)` by default: exact, what the design specifies, read by DuckDB and
//! pyarrow as decimals. `float64` is the alternative for pandas users, who would otherwise get
//! Python `Decimal` objects. A price with more than 6 decimals is rounded half-to-even to 6 and
//! counted; a price that does not fit `decimal(18,6)` is bad input.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::builder::{
    Date32Builder, Decimal128Builder, Float64Builder, Int32Builder, Int64Builder, StringBuilder,
    TimestampMillisecondBuilder,
};
use arrow_array::types::Int32Type;
use arrow_array::{Array, ArrayRef, DictionaryArray, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use chrono::{DateTime, NaiveDate, Utc};
use tickerlake::records::{Bar, BarRef};
use tickerlake::{Decimal, Symbol, Volume};

use crate::LakeError;

/// Column types of prices and volumes (one definition, in the library's configuration).
pub use tickerlake::config::{PriceType, VolumeType};

/// The column types a lake or a file holds bars in, fixed when it is created (the lake's marker
/// records them): prices `decimal(18,6)` or `float64`, volumes `int64` or `float64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ColumnTypes {
    pub prices: PriceType,
    pub volume: VolumeType,
}

impl ColumnTypes {
    /// Prices of `prices`, whole volumes: what every lake written before volumes could be
    /// fractional holds.
    pub fn with_prices(prices: PriceType) -> ColumnTypes {
        ColumnTypes {
            prices,
            volume: VolumeType::Int64,
        }
    }
}

fn volume_type(v: VolumeType) -> DataType {
    match v {
        VolumeType::Int64 => DataType::Int64,
        VolumeType::Float64 => DataType::Float64,
    }
}

/// Digits after the point of `decimal(18,6)`.
pub const SCALE: u8 = tickerlake::records::PRICE_SCALE;
/// Total digits of `decimal(18,6)`.
pub const PRECISION: u8 = 18;
const MAX_UNITS: i128 = tickerlake::records::MAX_PRICE_UNITS;

pub const PRICE_COLUMNS: [&str; 5] = ["open", "high", "low", "close", "adj_close"];

fn price_type(p: PriceType) -> DataType {
    match p {
        PriceType::Decimal => DataType::Decimal128(PRECISION, SCALE as i8),
        PriceType::Float64 => DataType::Float64,
    }
}

fn dictionary_string() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

/// The bar schema. With `with_symbol` the first column is `symbol` (a single file); in the lake
/// the symbol (and the year) are partition keys in the path, not columns.
pub fn bar_schema(types: ColumnTypes, with_symbol: bool) -> SchemaRef {
    let prices = types.prices;
    let mut fields = Vec::with_capacity(13);
    if with_symbol {
        fields.push(Field::new("symbol", DataType::Utf8, false));
    }
    fields.push(Field::new("date", DataType::Date32, false));
    for p in PRICE_COLUMNS {
        fields.push(Field::new(p, price_type(prices), true));
    }
    fields.push(Field::new("volume", volume_type(types.volume), true));
    fields.push(Field::new("vwap", price_type(prices), true));
    fields.push(Field::new("transactions", DataType::Int64, true));
    fields.push(Field::new("currency", dictionary_string(), true));
    fields.push(Field::new("provider", dictionary_string(), false));
    fields.push(Field::new(
        "source_ts",
        DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
        true,
    ));
    Arc::new(Schema::new(fields))
}

/// Rounds a decimal half-to-even to 6 decimals and returns it in millionths, with whether
/// rounding changed it. `None` if it does not fit `decimal(18,6)`.
pub fn to_units(d: Decimal) -> Option<(i128, bool)> {
    let (units, rounded) = d.round_to_units(SCALE);
    (units.abs() <= MAX_UNITS).then_some((units, rounded))
}

/// The decimal a stored value stands for.
pub fn from_units(units: i128) -> Option<Decimal> {
    Decimal::new(i64::try_from(units).ok()?, SCALE)
}

/// A price that had more than 6 decimals, kept for the warning.
#[derive(Debug, Clone, PartialEq)]
pub struct Rounded {
    pub symbol: String,
    pub date: NaiveDate,
    pub column: &'static str,
    pub value: Decimal,
}

/// Collects bars into column builders.
pub struct BarBatchBuilder {
    prices: PriceType,
    volumes: VolumeType,
    with_symbol: bool,
    schema: SchemaRef,
    symbol: StringBuilder,
    date: Date32Builder,
    dec: Vec<Decimal128Builder>,
    flt: Vec<Float64Builder>,
    /// The volume column: one of the two, as `volumes` says.
    volume: Int64Builder,
    volume_f: Float64Builder,
    transactions: Int64Builder,
    currency: RepeatedStrings,
    provider: RepeatedStrings,
    source_ts: TimestampMillisecondBuilder,
    rows: usize,
    /// Prices rounded to 6 decimals so far, and the first few of them.
    pub rounded: u64,
    pub rounded_examples: Vec<Rounded>,
}

const PRICE_SLOTS: usize = 6; // open high low close adj_close vwap

impl BarBatchBuilder {
    pub fn new(types: ColumnTypes, with_symbol: bool) -> BarBatchBuilder {
        BarBatchBuilder::with_capacity(types, with_symbol, 1024)
    }

    /// A builder with room for `rows` rows before its first batch (its columns would
    /// otherwise grow by doubling, copying as they go).
    pub fn with_capacity(types: ColumnTypes, with_symbol: bool, rows: usize) -> BarBatchBuilder {
        let prices = types.prices;
        let volume_rows = |t: VolumeType| if types.volume == t { rows } else { 0 };
        let dec = match prices {
            PriceType::Decimal => (0..PRICE_SLOTS)
                .map(|_| Decimal128Builder::with_capacity(rows))
                .collect(),
            PriceType::Float64 => Vec::new(),
        };
        let flt = match prices {
            PriceType::Float64 => (0..PRICE_SLOTS)
                .map(|_| Float64Builder::with_capacity(rows))
                .collect(),
            PriceType::Decimal => Vec::new(),
        };
        let symbol = if with_symbol {
            StringBuilder::with_capacity(rows, rows * 4)
        } else {
            StringBuilder::new()
        };
        BarBatchBuilder {
            prices,
            volumes: types.volume,
            with_symbol,
            schema: bar_schema(types, with_symbol),
            symbol,
            date: Date32Builder::with_capacity(rows),
            dec,
            flt,
            volume: Int64Builder::with_capacity(volume_rows(VolumeType::Int64)),
            volume_f: Float64Builder::with_capacity(volume_rows(VolumeType::Float64)),
            transactions: Int64Builder::with_capacity(rows),
            currency: RepeatedStrings::with_capacity(rows),
            provider: RepeatedStrings::with_capacity(rows),
            source_ts: TimestampMillisecondBuilder::with_capacity(rows).with_timezone("UTC"),
            rows: 0,
            rounded: 0,
            rounded_examples: Vec::new(),
        }
    }

    pub fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Appends one bar. Fails, appending nothing, when a price does not fit `decimal(18,6)` or a
    /// fractional volume meets an `int64` volume column.
    pub fn push(&mut self, bar: &Bar) -> Result<(), LakeError> {
        self.push_ref(&bar.as_ref())
    }

    /// [`BarBatchBuilder::push`] for a borrowed bar.
    pub fn push_ref(&mut self, bar: &BarRef<'_>) -> Result<(), LakeError> {
        let values = [
            bar.open,
            bar.high,
            bar.low,
            bar.close,
            bar.adj_close,
            bar.vwap,
        ];
        const NAMES: [&str; PRICE_SLOTS] = ["open", "high", "low", "close", "adj_close", "vwap"];
        check_volume(self.volumes, bar.volume)?;
        if self.prices == PriceType::Decimal {
            let mut units = [None; PRICE_SLOTS];
            for (i, v) in values.iter().enumerate() {
                if let Some(d) = v {
                    let (u, rounded) = to_units(*d).ok_or_else(|| LakeError::OutOfRange {
                        column: NAMES[i],
                        value: d.to_string(),
                    })?;
                    if rounded {
                        self.rounded += 1;
                        if self.rounded_examples.len() < 5 {
                            self.rounded_examples.push(Rounded {
                                symbol: bar.symbol.to_string(),
                                date: bar.date,
                                column: NAMES[i],
                                value: *d,
                            });
                        }
                    }
                    units[i] = Some(u);
                }
            }
            for (b, u) in self.dec.iter_mut().zip(units) {
                b.append_option(u);
            }
        } else {
            for (b, v) in self.flt.iter_mut().zip(values) {
                b.append_option(v.map(Decimal::to_f64));
            }
        }
        if self.with_symbol {
            self.symbol.append_value(bar.symbol);
        }
        self.date.append_value(days_since_epoch(bar.date));
        match self.volumes {
            // Checked above: an int64 column meets only whole volumes.
            VolumeType::Int64 => self
                .volume
                .append_option(bar.volume.and_then(Volume::whole)),
            VolumeType::Float64 => self.volume_f.append_option(bar.volume.map(Volume::as_f64)),
        }
        self.transactions.append_option(bar.transactions);
        self.currency.append(bar.currency);
        self.provider.append(Some(bar.provider));
        self.source_ts
            .append_option(bar.source_ts.map(|t| t.timestamp_millis()));
        self.rows += 1;
        Ok(())
    }

    /// The rows so far as a batch; the builder is empty afterwards.
    pub fn finish(&mut self) -> Result<RecordBatch, LakeError> {
        let mut cols: Vec<ArrayRef> = Vec::with_capacity(13);
        if self.with_symbol {
            cols.push(Arc::new(self.symbol.finish()));
        }
        cols.push(Arc::new(self.date.finish()));
        let mut prices: Vec<ArrayRef> = match self.prices {
            PriceType::Decimal => self
                .dec
                .iter_mut()
                .map(|b| {
                    b.finish()
                        .with_precision_and_scale(PRECISION, SCALE as i8)
                        .map(|a| Arc::new(a) as ArrayRef)
                })
                .collect::<Result<_, _>>()?,
            PriceType::Float64 => self
                .flt
                .iter_mut()
                .map(|b| Arc::new(b.finish()) as ArrayRef)
                .collect(),
        };
        let vwap = prices.pop().ok_or(LakeError::Internal("no vwap column"))?;
        cols.extend(prices);
        cols.push(match self.volumes {
            VolumeType::Int64 => Arc::new(self.volume.finish()) as ArrayRef,
            VolumeType::Float64 => Arc::new(self.volume_f.finish()),
        });
        cols.push(vwap);
        cols.push(Arc::new(self.transactions.finish()));
        cols.push(Arc::new(self.currency.finish()?));
        cols.push(Arc::new(self.provider.finish()?));
        cols.push(Arc::new(self.source_ts.finish().with_timezone("UTC")));
        self.rows = 0;
        Ok(RecordBatch::try_new(Arc::clone(&self.schema), cols)?)
    }
}

/// A dictionary-encoded string column of a few values that repeat row after row (a bar's
/// provider and currency): the same array as arrow's `StringDictionaryBuilder` builds (keys
/// in order of first appearance), without hashing the value of every row.
struct RepeatedStrings {
    keys: Int32Builder,
    values: StringBuilder,
    /// Every value so far with its key.
    seen: HashMap<Box<str>, i32>,
    /// The latest value with its key: most rows repeat it.
    last: Option<(Box<str>, i32)>,
}

impl RepeatedStrings {
    fn with_capacity(rows: usize) -> RepeatedStrings {
        RepeatedStrings {
            keys: Int32Builder::with_capacity(rows),
            values: StringBuilder::new(),
            seen: HashMap::new(),
            last: None,
        }
    }

    fn append(&mut self, value: Option<&str>) {
        let Some(value) = value else {
            self.keys.append_null();
            return;
        };
        let key = match &self.last {
            Some((v, key)) if &**v == value => *key,
            _ => {
                let key = match self.seen.get(value) {
                    Some(&key) => key,
                    None => {
                        let key = i32::try_from(self.seen.len()).unwrap_or(i32::MAX);
                        self.values.append_value(value);
                        self.seen.insert(value.into(), key);
                        key
                    }
                };
                self.last = Some((value.into(), key));
                key
            }
        };
        self.keys.append_value(key);
    }

    /// The column so far; the builder starts a new dictionary afterwards.
    fn finish(&mut self) -> Result<DictionaryArray<Int32Type>, LakeError> {
        self.seen.clear();
        self.last = None;
        let keys = self.keys.finish();
        let values = self.values.finish();
        Ok(DictionaryArray::try_new(keys, Arc::new(values))?)
    }
}

pub use tickerlake::series::{date_from_days, days_since_epoch};

/// Reads bars back out of a batch with the bar schema (with or without a `symbol` column; without
/// it, `symbol` gives the partition's symbol).
pub fn bars_from_batch(
    batch: &RecordBatch,
    symbol: Option<&Symbol>,
    out: &mut Vec<Bar>,
) -> Result<(), LakeError> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{
        Date32Type, Decimal128Type, Float64Type, Int64Type, TimestampMillisecondType,
    };

    let col = |name: &'static str| {
        batch
            .column_by_name(name)
            .ok_or(LakeError::MissingColumn(name))
    };
    let symbols = match batch.column_by_name("symbol") {
        Some(c) => Some(string_values(c)?),
        None => None,
    };
    let dates = col("date")?
        .as_primitive_opt::<Date32Type>()
        .ok_or(LakeError::ColumnType("date"))?;
    // A value no bar can hold (NaN, ±inf, beyond the decimal range — a float64 file written by
    // another tool) is an error naming it, never read as a null.
    let unreadable = |name: &'static str, i: usize, value: String| {
        LakeError::Corrupt(format!(
            "{name}, row {}: {} is not a price a bar can hold (NaN, infinite or out of range)",
            i + 1,
            tickerlake::echo::echo(&value)
        ))
    };
    type PriceAt<'a> = Box<dyn Fn(usize) -> Result<Option<Decimal>, LakeError> + 'a>;
    let price = |name: &'static str| -> Result<PriceAt<'_>, LakeError> {
        let c = match batch.column_by_name(name) {
            Some(c) => c,
            None => return Ok(Box::new(|_| Ok(None))), // an older file without the column
        };
        if let Some(a) = c.as_primitive_opt::<Decimal128Type>() {
            let scale = match a.data_type() {
                DataType::Decimal128(_, s) => *s,
                _ => SCALE as i8,
            };
            let scale = u8::try_from(scale).map_err(|_| LakeError::ColumnType(name))?;
            Ok(Box::new(move |i| {
                if a.is_null(i) {
                    return Ok(None);
                }
                i64::try_from(a.value(i))
                    .ok()
                    .and_then(|m| Decimal::new(m, scale))
                    .map(Some)
                    .ok_or_else(|| unreadable(name, i, a.value(i).to_string()))
            }))
        } else if let Some(a) = c.as_primitive_opt::<Float64Type>() {
            Ok(Box::new(move |i| {
                if a.is_null(i) {
                    Ok(None)
                } else {
                    Decimal::from_f64(a.value(i))
                        .map(Some)
                        .map_err(|_| unreadable(name, i, a.value(i).to_string()))
                }
            }))
        } else {
            Err(LakeError::ColumnType(name))
        }
    };
    let int = |name: &'static str| -> Result<Option<&arrow_array::Int64Array>, LakeError> {
        match batch.column_by_name(name) {
            Some(c) => c
                .as_primitive_opt::<Int64Type>()
                .map(Some)
                .ok_or(LakeError::ColumnType(name)),
            None => Ok(None),
        }
    };
    let (open, high, low, close, adj, vwap) = (
        price("open")?,
        price("high")?,
        price("low")?,
        price("close")?,
        price("adj_close")?,
        price("vwap")?,
    );
    let volume = volumes(batch)?;
    let transactions = int("transactions")?;
    let currency = match batch.column_by_name("currency") {
        Some(c) => Some(string_values(c)?),
        None => None,
    };
    let provider = string_values(col("provider")?)?;
    let ts = match batch.column_by_name("source_ts") {
        Some(c) => Some(
            c.as_primitive_opt::<TimestampMillisecondType>()
                .ok_or(LakeError::ColumnType("source_ts"))?,
        ),
        None => None,
    };
    let opt_int = |a: Option<&arrow_array::Int64Array>, i: usize| {
        a.and_then(|a| (!a.is_null(i)).then(|| a.value(i)))
    };
    out.reserve(batch.num_rows());
    for i in 0..batch.num_rows() {
        let sym = match (&symbols, symbol) {
            (Some(s), _) => Symbol::parse(s(i).ok_or(LakeError::ColumnType("symbol"))?)
                .map_err(|e| LakeError::Corrupt(e.to_string()))?,
            (None, Some(s)) => s.clone(),
            (None, None) => return Err(LakeError::MissingColumn("symbol")),
        };
        let date = if dates.is_null(i) {
            None
        } else {
            date_from_days(dates.value(i))
        }
        .ok_or(LakeError::ColumnType("date"))?;
        out.push(Bar {
            symbol: sym,
            date,
            open: open(i)?,
            high: high(i)?,
            low: low(i)?,
            close: close(i)?,
            adj_close: adj(i)?,
            volume: volume(i)?,
            vwap: vwap(i)?,
            transactions: opt_int(transactions, i),
            currency: currency.as_ref().and_then(|c| c(i)).map(str::to_string),
            provider: provider(i).unwrap_or_default().to_string(),
            source_ts: ts
                .and_then(|t| (!t.is_null(i)).then(|| t.value(i)))
                .and_then(DateTime::<Utc>::from_timestamp_millis),
        });
    }
    Ok(())
}

/// Whole volumes a float64 column holds exactly: up to 2^53.
const FLOAT_WHOLE_MAX: u64 = 1 << 53;

/// Whether a volume column of type `column` holds `volume` exactly: a fractional volume needs
/// float64, a whole one beyond 2^53 needs int64. Never rounded.
pub fn check_volume(column: VolumeType, volume: Option<Volume>) -> Result<(), LakeError> {
    match (column, volume) {
        (VolumeType::Int64, Some(v @ Volume::Fractional(_))) => Err(LakeError::FractionalVolume {
            value: v.to_string(),
        }),
        (VolumeType::Float64, Some(Volume::Whole(n))) if n.unsigned_abs() > FLOAT_WHOLE_MAX => {
            Err(LakeError::VolumeBeyondFloat { value: n })
        }
        _ => Ok(()),
    }
}

/// Row index → the volume of that row.
pub(crate) type VolumeAt<'a> = Box<dyn Fn(usize) -> Result<Option<Volume>, LakeError> + 'a>;

/// A batch's volume column, `int64` or `float64`, as an accessor (no column: every volume
/// null). A float that states no volume (NaN, infinite: another tool's file) is an error naming
/// it, never read as a null.
pub(crate) fn volumes(batch: &RecordBatch) -> Result<VolumeAt<'_>, LakeError> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, Int64Type};
    let Some(c) = batch.column_by_name("volume") else {
        return Ok(Box::new(|_| Ok(None)));
    };
    if let Some(a) = c.as_primitive_opt::<Int64Type>() {
        Ok(Box::new(move |i| {
            Ok((!a.is_null(i)).then(|| Volume::Whole(a.value(i))))
        }))
    } else if let Some(a) = c.as_primitive_opt::<Float64Type>() {
        Ok(Box::new(move |i| {
            if a.is_null(i) {
                return Ok(None);
            }
            Volume::from_f64(a.value(i)).map(Some).ok_or_else(|| {
                LakeError::Corrupt(format!(
                    "volume, row {}: {} is not a volume (NaN or infinite)",
                    i + 1,
                    a.value(i)
                ))
            })
        }))
    } else {
        Err(LakeError::ColumnType("volume"))
    }
}

/// Row index → string value of a column.
type StrAt<'a> = Box<dyn Fn(usize) -> Option<&'a str> + 'a>;

/// A string column, plain or dictionary-encoded, as an accessor.
fn string_values<'a>(c: &'a ArrayRef) -> Result<StrAt<'a>, LakeError> {
    use arrow_array::cast::AsArray;
    match c.data_type() {
        DataType::Utf8 => {
            let a = c.as_string::<i32>();
            Ok(Box::new(move |i| (!a.is_null(i)).then(|| a.value(i))))
        }
        DataType::LargeUtf8 => {
            let a = c.as_string::<i64>();
            Ok(Box::new(move |i| (!a.is_null(i)).then(|| a.value(i))))
        }
        DataType::Utf8View => {
            let a = c.as_string_view();
            Ok(Box::new(move |i| (!a.is_null(i)).then(|| a.value(i))))
        }
        DataType::Dictionary(k, v) if **k == DataType::Int32 && **v == DataType::Utf8 => {
            let d = c.as_dictionary::<Int32Type>();
            let values = d.values().as_string::<i32>();
            let keys = d.keys();
            Ok(Box::new(move |i| {
                (!keys.is_null(i)).then(|| values.value(keys.value(i) as usize))
            }))
        }
        _ => Err(LakeError::ColumnType("string")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn repeated_strings_build_what_arrows_dictionary_builder_builds() {
        use arrow_array::builder::StringDictionaryBuilder;
        let words = ["yahoo", "polygon", "USD", "GBp", "", "é"];
        for seed in 0..20 {
            let mut rng = fastrand::Rng::with_seed(seed);
            let mut ours = RepeatedStrings::with_capacity(4);
            let mut arrows = StringDictionaryBuilder::<Int32Type>::new();
            for batch in 0..3 {
                for _ in 0..rng.usize(0..300) {
                    let value = match rng.u8(0..10) {
                        0 => None,
                        1 => Some(format!("v{}", rng.u32(0..500))),
                        _ => Some(words[rng.usize(0..words.len())].to_string()),
                    };
                    ours.append(value.as_deref());
                    arrows.append_option(value.as_deref());
                }
                assert_eq!(
                    ours.finish().unwrap(),
                    arrows.finish(),
                    "seed {seed} batch {batch}"
                );
            }
        }
    }

    #[test]
    fn half_to_even_at_six_decimals() {
        assert_eq!(to_units(d("129.04")), Some((129_040_000, false)));
        assert_eq!(to_units(d("1.0000005")), Some((1_000_000, true)));
        assert_eq!(to_units(d("1.0000015")), Some((1_000_002, true)));
        assert_eq!(to_units(d("1.00000051")), Some((1_000_001, true)));
        assert_eq!(to_units(d("-1.0000005")), Some((-1_000_000, true)));
        assert_eq!(to_units(d("-1.0000015")), Some((-1_000_002, true)));
        assert_eq!(to_units(d("129.0399932861328")), Some((129_039_993, true)));
        assert_eq!(to_units(d("999999999999.999999")), Some((MAX_UNITS, false)));
        assert_eq!(to_units(d("1000000000000")), None);
    }

    #[test]
    fn dates_match_arrow() {
        for text in ["1970-01-01", "2024-02-29", "1900-03-01", "2100-12-31"] {
            let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap();
            assert_eq!(date_from_days(days_since_epoch(date)), Some(date));
        }
        assert_eq!(
            days_since_epoch(NaiveDate::from_ymd_opt(1970, 1, 2).unwrap()),
            1
        );
    }

    fn bars() -> Vec<Bar> {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/records/bars.ndjson"
        ))
        .unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn batch_round_trip_every_column_type() {
        let mut fractional = bars();
        fractional[0].volume = Some(Volume::Fractional(1234.5678));
        fractional[1].volume = Some(Volume::Fractional(0.000_001));
        for (prices, volume) in [
            (PriceType::Decimal, VolumeType::Int64),
            (PriceType::Float64, VolumeType::Int64),
            (PriceType::Decimal, VolumeType::Float64),
            (PriceType::Float64, VolumeType::Float64),
        ] {
            let input = match volume {
                VolumeType::Int64 => bars(),
                VolumeType::Float64 => fractional.clone(),
            };
            for with_symbol in [true, false] {
                let types = ColumnTypes { prices, volume };
                let mut b = BarBatchBuilder::new(types, with_symbol);
                for bar in &input {
                    if with_symbol || bar.symbol.as_str() == "AAPL" {
                        b.push(bar).unwrap();
                    }
                }
                let batch = b.finish().unwrap();
                let mut out = Vec::new();
                let aapl = Symbol::parse("AAPL").unwrap();
                bars_from_batch(&batch, Some(&aapl), &mut out).unwrap();
                let expect: Vec<&Bar> = input
                    .iter()
                    .filter(|x| with_symbol || x.symbol == aapl)
                    .collect();
                assert_eq!(
                    out.iter().collect::<Vec<_>>(),
                    expect,
                    "{types:?} {with_symbol}"
                );
            }
        }
    }

    #[test]
    fn out_of_range_is_an_error_and_appends_nothing() {
        let mut bar = bars().remove(0);
        bar.close = Some(d("1e15"));
        let mut b = BarBatchBuilder::new(ColumnTypes::default(), true);
        assert!(matches!(
            b.push(&bar),
            Err(LakeError::OutOfRange {
                column: "close",
                ..
            })
        ));
        assert_eq!(b.len(), 0);
        assert_eq!(b.finish().unwrap().num_rows(), 0);
    }

    #[test]
    fn a_fractional_volume_is_refused_by_whole_shares_and_appends_nothing() {
        let mut bar = bars().remove(0);
        bar.volume = Some(Volume::Fractional(10.5));
        let mut b = BarBatchBuilder::new(ColumnTypes::default(), true);
        let err = b.push(&bar).unwrap_err();
        assert!(
            matches!(&err, LakeError::FractionalVolume { value } if value == "10.5"),
            "{err}"
        );
        assert!(err.to_string().contains("--volume-type float64"), "{err}");
        assert_eq!(b.finish().unwrap().num_rows(), 0);
        // A float64 column refuses a whole volume it would round (beyond 2^53).
        let float = ColumnTypes {
            volume: VolumeType::Float64,
            ..ColumnTypes::default()
        };
        let mut b = BarBatchBuilder::new(float, true);
        bar.volume = Some(Volume::Whole((1 << 53) + 1));
        assert!(matches!(
            b.push(&bar),
            Err(LakeError::VolumeBeyondFloat { .. })
        ));
        bar.volume = Some(Volume::Whole(1 << 53));
        b.push(&bar).unwrap();
        assert_eq!(b.finish().unwrap().num_rows(), 1);
    }
}
