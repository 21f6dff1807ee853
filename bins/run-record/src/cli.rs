//! Command line of `run-record`.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use tickerlake::cli::{CommonArgs, LocalPath, Program};

const EXAMPLES: &str = "\
Examples:
  # The settings pipeline.sh works from (data directory and its paths, gates, retention).
  run-record settings

  # A hand-made run around one program, recorded like the pipeline's.
  export RUN_ID=$(date -u +%Y%m%dT%H%M%SZ)-manual
  run_dir=$(run-record begin --data data --pipeline manual | sed -n 's/^run_dir=//p')
  t0=$EPOCHREALTIME; qa-check --lake data/lake --summary \"$run_dir/qa.summary.json\" > /dev/null; rc=$?
  run-record step --run \"$run_dir\" --name qa --exit $rc --status ok --started $t0 \\
      --finished $EPOCHREALTIME --summary \"$run_dir/qa.summary.json\" -- qa-check --lake data/lake
  run-record end --run \"$run_dir\" --exit $rc
  lake-status --data data --alerts --run \"$run_dir\" | run-record alert --run \"$run_dir\"

pipeline.sh calls begin, step and end around every program it runs; most users only ever type
`pipeline.sh status`. A run's record is DATA/runs/<date>_<run_id>/metadata.json (schema
tickerlake.run/1, docs/schemas/run.schema.json); end also appends runs/index.ndjson, replaces
runs/latest.json and state/watermarks.json and pings HC_URL; alert sends what lake-status --alerts
decided on every channel (ALERT_WEBHOOK, TELEGRAM_TOKEN + TELEGRAM_CHAT_ID, ALERT_COMMAND). The
status view is lake-status.

Exit status: 0 done, 2 usage (a data directory that is not one), 65 a record that cannot be
read, 66 a run directory missing, 74 I/O error, 78 bad configuration.";

/// The pipeline's run records: begin, steps and end of a run (metadata.json, runs/index.ndjson,
/// watermarks, heartbeat), and the alerts' sending
#[derive(Debug, Parser)]
#[command(name = "run-record", version, after_help = EXAMPLES, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    #[command(flatten)]
    pub common: CommonArgs,
}

impl Program for Cli {
    fn common(&self) -> &CommonArgs {
        &self.common
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the pipeline's settings as KEY=VALUE lines (pipeline.sh reads them)
    Settings {
        /// Data directory [default: pipeline.data_dir]
        #[arg(long, value_name = "DIR", value_parser = LocalPath)]
        data: Option<PathBuf>,
    },
    /// Make DIR the pipeline's data directory (created and marked when missing or empty; one
    /// holding other files is refused, exit 2)
    Claim {
        #[arg(long, value_name = "DIR", value_parser = LocalPath)]
        data: PathBuf,
    },
    /// Begin a run: the run directory, its first record, the HC_URL start ping. Prints
    /// run_dir=… and as_of=… lines
    Begin {
        /// Data directory (created and marked when new; one holding other files is refused)
        #[arg(long, value_name = "DIR", value_parser = LocalPath)]
        data: PathBuf,
        /// The pipeline: universe, nightly, training, all, backup…
        #[arg(long, value_name = "NAME")]
        pipeline: String,
        /// The trading session the run is about [default: the last closed New York session]
        #[arg(long, value_name = "YYYY-MM-DD")]
        as_of: Option<chrono::NaiveDate>,
        /// The run's log file (recorded, relative to the data directory)
        #[arg(long, value_name = "FILE", value_parser = LocalPath)]
        log: Option<PathBuf>,
        /// Record runs still marked running as failed (only while holding the pipeline's lock,
        /// as pipeline.sh does: then none can be running)
        #[arg(long)]
        close_abandoned: bool,
    },
    /// Add a finished step to a run's record
    Step {
        /// The run directory (begin's run_dir)
        #[arg(long, value_name = "DIR", value_parser = LocalPath)]
        run: PathBuf,
        /// The step's name (scrape, filter, fetch, to-parquet, qa, qlib…)
        #[arg(long)]
        name: String,
        /// How it went, as the pipeline judged it
        #[arg(long, value_enum)]
        status: StepStatus,
        /// The program's exit code
        #[arg(long = "exit", value_name = "CODE", allow_negative_numbers = true)]
        exit_code: i32,
        /// Start, seconds since the epoch (bash: $EPOCHREALTIME)
        #[arg(long, value_name = "SECS")]
        started: f64,
        /// End, seconds since the epoch
        #[arg(long, value_name = "SECS")]
        finished: f64,
        /// The program's --summary (or --report) JSON: its whole numbers become the step's counts
        #[arg(long, value_name = "FILE", value_parser = LocalPath)]
        summary: Option<PathBuf>,
        /// A file the step wrote: recorded with size and SHA-256 (repeat)
        #[arg(long, value_name = "FILE", value_parser = LocalPath)]
        output: Vec<PathBuf>,
        /// The command as run
        #[arg(last = true, value_name = "ARGV")]
        argv: Vec<String>,
    },
    /// End a run: facts, the HC_URL exit-code ping, the index and watermarks
    End {
        /// The run directory
        #[arg(long, value_name = "DIR", value_parser = LocalPath)]
        run: PathBuf,
        /// The pipeline's exit code
        #[arg(long = "exit", value_name = "CODE", allow_negative_numbers = true)]
        exit_code: i32,
    },
    /// Send the alerts `lake-status --alerts` decided (JSON lines on stdin) on every channel
    /// the environment configures, and record them in the run's metadata.json
    Alert {
        /// The run directory
        #[arg(long, value_name = "DIR", value_parser = LocalPath)]
        run: PathBuf,
    },
    /// Write a training set's metadata.json, config.yaml and notes.md into DIR
    TrainingSet {
        /// The run that made it
        #[arg(long, value_name = "DIR", value_parser = LocalPath)]
        run: PathBuf,
        /// The set's directory (bars.parquet inside)
        #[arg(long, value_name = "DIR", value_parser = LocalPath)]
        dir: PathBuf,
        /// Its version name, v<N>_<date>
        #[arg(long)]
        name: String,
    },
    /// Write the JSON Schemas of the run record and its index line into DIR
    Schema {
        #[arg(long, value_name = "DIR", value_parser = LocalPath)]
        dir: PathBuf,
    },
    /// Copy a verified backup archive to s3://BUCKET/PREFIX/<date>/ with its SHA256SUMS, read it
    /// back and compare, and remove the prefix's days older than --keep (endpoint and keys:
    /// lake.s3, else AWS_*)
    S3Backup {
        /// The archive (pipeline.sh backup's, already verified)
        #[arg(value_name = "ARCHIVE", value_parser = LocalPath)]
        archive: PathBuf,
        /// The backups' prefix
        #[arg(long, value_name = "s3://BUCKET/PREFIX", value_parser = tickerlake::cli::LakeArg)]
        to: tickerlake::cli::LakeLocation,
        /// The backup's day (its folder under the prefix)
        #[arg(long, value_name = "YYYY-MM-DD")]
        date: chrono::NaiveDate,
        /// Days kept (today's included)
        #[arg(long, value_name = "N")]
        keep: u32,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StepStatus {
    Ok,
    Warn,
    Fail,
    Skipped,
}
