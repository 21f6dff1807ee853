//! `docgen`: man pages (section 1, with clap_mangen) and bash, zsh and fish completions (with
//! clap_complete) of every installed tickerlake program, generated from the same clap definitions
//! that parse their command lines, so they can never disagree with `--help`. `make install` runs
//! it; it is a build tool, not installed itself.

use std::path::{Path, PathBuf};

use clap::{CommandFactory, Parser, Subcommand};
use tickerlake::cli::{CommonArgs, LocalPath, Program};
use tickerlake::config::Config;
use tickerlake::{ExitCode, HasExitCode};

/// Man pages and shell completions of the tickerlake programs
#[derive(Debug, Parser)]
#[command(
    name = "docgen",
    version,
    after_help = "Examples:\n  docgen man target/man            # target/man/ohlcv-fetch.1 …\n  \
                  docgen completions target/completions   # bash/, zsh/, fish/ inside\n  \
                  man -l target/man/ohlcv-fetch.1"
)]
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
    /// Write DIR/<program>.1 for every program (and one page per subcommand, <program>-<sub>.1)
    Man {
        #[arg(value_parser = LocalPath)]
        dir: PathBuf,
    },
    /// Write DIR/bash/<program>, DIR/zsh/_<program> and DIR/fish/<program>.fish
    Completions {
        #[arg(value_parser = LocalPath)]
        dir: PathBuf,
    },
}

#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct Error {
    path: String,
    source: std::io::Error,
}

impl HasExitCode for Error {
    fn exit_code(&self) -> ExitCode {
        tickerlake::exit::io_exit_code(&self.source)
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error {
        path: path.display().to_string(),
        source,
    }
}

/// Every installed program's command definition.
pub fn programs() -> Vec<clap::Command> {
    vec![
        tickers_scrape::cli::Cli::command(),
        tickers_filter::cli::Cli::command(),
        ohlcv_fetch::cli::Cli::command(),
        to_parquet::cli::Cli::command(),
        qa_check::cli::Cli::command(),
        qlib_bin::cli::Cli::command(),
        run_record::cli::Cli::command(),
        lake_status::cli::Cli::command(),
    ]
}

pub fn run(cli: Cli, _config: Config) -> Result<ExitCode, Error> {
    match cli.command {
        Command::Man { dir } => {
            std::fs::create_dir_all(&dir).map_err(io(&dir))?;
            for cmd in programs() {
                write_man(&dir, cmd, None)?;
            }
        }
        Command::Completions { dir } => {
            use clap_complete::Shell;
            for (shell, sub, file) in [
                (Shell::Bash, "bash", "{}"),
                (Shell::Zsh, "zsh", "_{}"),
                (Shell::Fish, "fish", "{}.fish"),
            ] {
                let out = dir.join(sub);
                std::fs::create_dir_all(&out).map_err(io(&out))?;
                for mut cmd in programs() {
                    let name = cmd.get_name().to_string();
                    let path = out.join(file.replace("{}", &name));
                    let mut bytes = Vec::new();
                    clap_complete::generate(shell, &mut cmd, name, &mut bytes);
                    tickerlake::atomic::write_atomic(&path, &bytes).map_err(io(&path))?;
                }
            }
        }
    }
    Ok(ExitCode::Success)
}

/// The page of `cmd` (named `<parent>-<name>` for a subcommand), then its subcommands' pages.
fn write_man(dir: &Path, cmd: clap::Command, parent: Option<&str>) -> Result<(), Error> {
    let name = match parent {
        Some(p) => format!("{p}-{}", cmd.get_name()),
        None => cmd.get_name().to_string(),
    };
    // A subcommand page is named after its parent: a handful of strings, for the life of a run.
    let cmd = cmd.name(&*Box::leak(name.clone().into_boxed_str()));
    let mut bytes = Vec::new();
    let path = dir.join(format!("{name}.1"));
    clap_mangen::Man::new(cmd.clone())
        .render(&mut bytes)
        .map_err(io(&path))?;
    tickerlake::atomic::write_atomic(&path, &bytes).map_err(io(&path))?;
    for sub in cmd.get_subcommands() {
        if sub.get_name() != "help" {
            write_man(dir, sub.clone(), Some(&name))?;
        }
    }
    Ok(())
}
