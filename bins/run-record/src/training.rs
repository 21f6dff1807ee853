//! A training set's own files: `metadata.json` (what it holds, how it was made, its QA verdict),
//! `config.yaml` (the configuration it was made with, as written) and a `notes.md` to fill in —
//! the notes' experiment template — so that every version can be reproduced and compared.

use std::path::Path;

use serde_json::{Value, json};

use crate::{Error, clock};
use tickerlake::runs::{RunRecord, Status};

/// Writes the set's files into `dir` (the set's directory before it is installed).
pub fn write(run: &Path, dir: &Path, name: &str) -> Result<(), Error> {
    let record = RunRecord::read(&run.join("metadata.json"))?;
    let step = |n: &str| record.steps.iter().find(|s| s.name == n);
    let counts = |n: &str| -> Value {
        step(n).map_or(Value::Null, |s| {
            serde_json::to_value(&s.counts).unwrap_or_default()
        })
    };
    let qa_summary: Value = std::fs::read(run.join("training-qa.summary.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null);
    let checks: serde_json::Map<String, Value> = qa_summary["checks"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| {
                    Some((
                        c["check"].as_str()?.to_string(),
                        json!({"passed": c["findings"].as_u64() == Some(0), "findings": c["findings"], "colour": c["colour"]}),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    let bars = dir.join("bars.parquet");
    let (bytes, sha) = crate::facts::file_digest(&bars).unwrap_or_default();
    let meta = json!({
        "schema": "tickerlake.training/1",
        "name": name,
        "created_at": clock::now_rfc3339(),
        "run_id": record.run_id,
        "symbols": qa_summary["symbols"],
        "rows": qa_summary["rows"],
        "tickers": counts("training-sample"),
        "fetch": counts("training-fetch"),
        "written": counts("training-set"),
        "quality_checks": checks,
        "qa_passed": step("training-qa").is_some_and(|s| s.status == Status::Ok),
        "files": [{"path": "bars.parquet", "bytes": bytes, "sha256": sha}],
        "config": {"sha256": record.config.sha256, "snapshot": record.config.snapshot},
    });
    tickerlake::atomic::write_json_atomic(dir.join("metadata.json"), &meta)
        .map_err(|e| Error::write(&dir.join("metadata.json"), e))?;
    if let Some(cfg) = &record.config.path {
        // The file as written: ${VAR} references, never their values.
        let text = std::fs::read(cfg).map_err(|e| Error::read(Path::new(cfg), e))?;
        tickerlake::atomic::write_atomic(dir.join("config.yaml"), &text)
            .map_err(|e| Error::write(&dir.join("config.yaml"), e))?;
    }
    let notes = format!(
        "# experiment: {name}\n\n\
         Training set {name}, made by run {run} on {date}: {symbols} symbols, {rows} bars\n\
         (metadata.json; the configuration it was made with is config.yaml).\n\n\
         ## hypothesis\n\n\
         ## changes\n- config: (what differs from the previous version)\n\n\
         ## results\n- training time:\n- validation loss:\n- test accuracy:\n\n\
         ## conclusion\n\n\
         ## next experiment\n",
        run = record.run_id,
        date = record.started_at.get(..10).unwrap_or(""),
        symbols = qa_summary["symbols"],
        rows = qa_summary["rows"],
    );
    tickerlake::atomic::write_atomic(dir.join("notes.md"), notes.as_bytes())
        .map_err(|e| Error::write(&dir.join("notes.md"), e))
}
