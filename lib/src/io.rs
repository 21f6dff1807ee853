//! Inputs and outputs the Unix way: no path or `-` means stdin/stdout, anything else is a path
//! opened with an error that names it. Output files are written atomically.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};

use crate::atomic::AtomicFile;
use crate::error::Error;

const BUF: usize = 1 << 16;

/// `-`: stdin or stdout.
pub fn is_stdio(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Names that mean this process's standard output.
pub fn is_stdout_alias(path: &Path) -> bool {
    matches!(
        path.to_str(),
        Some("/dev/stdout" | "/dev/fd/1" | "/proc/self/fd/1")
    )
}

/// Names of already-open descriptors (`/dev/stderr`, `/dev/fd/3`, process substitution): written
/// where they point, never replaced by a rename.
fn is_descriptor_alias(path: &Path) -> bool {
    path.to_str().is_some_and(|p| {
        p == "/dev/stderr" || p.starts_with("/dev/fd/") || p.starts_with("/proc/self/fd/")
    })
}

/// Whether two outputs would write to the same place (both stdout, or the same path), which
/// would interleave their lines.
pub fn same_destination(a: Option<&Path>, b: Option<&Path>) -> bool {
    let stdout = |p: Option<&Path>| p.is_none_or(|p| is_stdio(p) || is_stdout_alias(p));
    match (a, b) {
        _ if stdout(a) && stdout(b) => true,
        (Some(a), Some(b)) => {
            a == b
                || matches!((std::fs::canonicalize(a), std::fs::canonicalize(b)), (Ok(x), Ok(y)) if x == y)
        }
        _ => false,
    }
}

/// Refuses an output file that is also one of the inputs (`--rejects bars.ndjson` while reading
/// `bars.ndjson`), or that lies inside a directory the run reads or writes (a summary written
/// into the lake or the Qlib store): it would replace data, and the data be lost. `outputs` are
/// (flag, path) pairs; stdout and absent outputs are fine; `protected` are the run's input files
/// and its data directories. Exit 2.
pub fn refuse_outputs_over_inputs(
    outputs: &[(&str, Option<&Path>)],
    protected: &[PathBuf],
) -> Result<(), Error> {
    // Two outputs on one file: the later would replace the earlier.
    let files: Vec<(&str, &Path)> = outputs
        .iter()
        .filter_map(|(flag, p)| p.map(|p| (*flag, p)))
        .filter(|(_, p)| !(is_stdio(p) || is_stdout_alias(p) || is_descriptor_alias(p)))
        .collect();
    for (k, (flag, a)) in files.iter().enumerate() {
        for (other, b) in &files[k + 1..] {
            if a == b || same_file(a, b) {
                return Err(Error::Usage(format!(
                    "{flag} and {other} name the same file ({}): one would replace the other",
                    a.display()
                )));
            }
        }
    }
    for (flag, output) in outputs {
        let Some(output) = output else { continue };
        if is_stdio(output) || is_stdout_alias(output) || is_descriptor_alias(output) {
            continue;
        }
        for input in protected.iter().filter(|i| !is_stdio(i)) {
            if same_file(output, input) {
                return Err(Error::Usage(format!(
                    "{flag} {}: that is also an input, which it would replace: write it elsewhere",
                    output.display()
                )));
            }
            // A directory that exists, or one this run creates (a new lake, a new store).
            if (input.is_dir() || !input.exists()) && inside(output, input) {
                return Err(Error::Usage(format!(
                    "{flag} {}: that is inside {}, which this run reads or writes: write it \
                     elsewhere",
                    output.display(),
                    input.display()
                )));
            }
        }
    }
    Ok(())
}

/// Whether `path` (which may not exist yet) lies inside the directory `dir` (which may not
/// exist yet either).
fn inside(path: &Path, dir: &Path) -> bool {
    let Some(dir) = resolve(dir) else {
        return false;
    };
    let Some(resolved) = resolve(path) else {
        return false;
    };
    resolved.starts_with(&dir) && resolved != dir
}

/// `path` made absolute, its nearest existing ancestor resolved (links, `..`), the rest
/// appended as written.
fn resolve(path: &Path) -> Option<PathBuf> {
    let absolute = std::path::absolute(path).ok()?;
    let mut existing = absolute.as_path();
    let mut rest: Vec<&std::ffi::OsStr> = Vec::new();
    while !existing.exists() {
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name);
                existing = parent;
            }
            _ => return None,
        }
    }
    let mut resolved = std::fs::canonicalize(existing).ok()?;
    for name in rest.iter().rev() {
        resolved.push(name);
    }
    Some(resolved)
}

/// Whether two paths name the same file (the same inode, through links and `..`), or the same
/// path when neither exists yet.
fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(x), Ok(y)) = (std::fs::metadata(a), std::fs::metadata(b)) {
            return x.dev() == y.dev() && x.ino() == y.ino();
        }
    }
    a == b
        || matches!((std::fs::canonicalize(a), std::fs::canonicalize(b)), (Ok(x), Ok(y)) if x == y)
}

/// Name used for stdin/stdout in messages.
pub const STDIN_NAME: &str = "<stdin>";

/// An open input with the name errors use for it.
pub struct Input {
    pub name: String,
    pub reader: Box<dyn BufRead + Send>,
}

impl Input {
    /// Opens a path, or stdin for `-`.
    pub fn open(path: &Path) -> Result<Input, Error> {
        if is_stdio(path) {
            return Ok(Input::stdin());
        }
        let name = path.display().to_string();
        let file = File::open(path).map_err(|source| Error::Open {
            path: name.clone(),
            source,
        })?;
        if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
            return Err(Error::Open {
                path: name,
                source: io::Error::new(
                    io::ErrorKind::IsADirectory,
                    "is a directory, expected a file",
                ),
            });
        }
        Ok(Input {
            name,
            reader: Box::new(BufReader::with_capacity(BUF, file)),
        })
    }

    pub fn stdin() -> Input {
        Input {
            name: STDIN_NAME.to_string(),
            reader: Box::new(BufReader::with_capacity(BUF, io::stdin())),
        }
    }
}

/// The inputs a program was given: the paths in order, or stdin when there are none.
/// Opened one at a time, so a thousand files never hold a thousand descriptors.
pub fn input_paths(paths: &[PathBuf]) -> Vec<PathBuf> {
    if paths.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        paths.to_vec()
    }
}

/// When a program would read stdin and stdin is a terminal, nobody is likely to type NDJSON:
/// say what is expected instead of waiting in silence.
pub fn hint_if_stdin_is_tty(program: &str, paths: &[PathBuf], quiet: bool) {
    let reads_stdin = paths.is_empty() || paths.iter().any(|p| is_stdio(p));
    if reads_stdin && !quiet && io::stdin().is_terminal() {
        let _ = writeln!(
            io::stderr(),
            "{program}: reading records from the terminal; pipe data in or give a file (see {program} --help). Ctrl-D ends input."
        );
    }
}

/// Where a program's records go: stdout (block-buffered, locked), a file that replaces its
/// target atomically when the program finishes successfully, or, for a target that is not a
/// regular file (`/dev/null`, a named pipe, `/dev/stderr`), that target written directly:
/// renaming over a device would replace the device.
pub enum Output {
    Stdout(BufWriter<io::StdoutLock<'static>>),
    File(AtomicFile),
    Special { name: String, file: BufWriter<File> },
}

impl Output {
    /// stdout for `None` or `-`, else an atomic file.
    pub fn open(path: Option<&Path>) -> Result<Output, Error> {
        match path {
            None => Ok(Output::stdout()),
            Some(p) if is_stdio(p) || is_stdout_alias(p) => Ok(Output::stdout()),
            Some(p) => {
                let create = |source| Error::Create {
                    path: p.display().to_string(),
                    source,
                };
                match std::fs::metadata(p) {
                    Ok(m) if is_descriptor_alias(p) || (!m.is_file() && !m.is_dir()) => {
                        // Append: a descriptor opened with `>>` must not be overwritten from
                        // its start; for devices and pipes it makes no difference.
                        let file = std::fs::OpenOptions::new()
                            .append(true)
                            .open(p)
                            .map_err(create)?;
                        Ok(Output::Special {
                            name: p.display().to_string(),
                            file: BufWriter::with_capacity(BUF, file),
                        })
                    }
                    _ => AtomicFile::create(p).map(Output::File).map_err(create),
                }
            }
        }
    }

    pub fn stdout() -> Output {
        Output::Stdout(BufWriter::with_capacity(BUF, io::stdout().lock()))
    }

    pub fn name(&self) -> String {
        match self {
            Output::Stdout(_) => "<stdout>".to_string(),
            Output::File(f) => f.path().display().to_string(),
            Output::Special { name, .. } => name.clone(),
        }
    }

    /// Flushes stdout, or puts the file in place. The error of the final flush is reported,
    /// never swallowed by a drop.
    pub fn finish(self) -> Result<(), Error> {
        let name = self.name();
        match self {
            Output::Stdout(mut w) => w.flush(),
            Output::File(f) => f.commit(),
            Output::Special { mut file, .. } => file.flush(),
        }
        .map_err(|source| Error::Write { name, source })
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Output::Stdout(w) => w.write(buf),
            Output::File(f) => f.write(buf),
            Output::Special { file, .. } => file.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Output::Stdout(w) => w.write_all(buf),
            Output::File(f) => f.write_all(buf),
            Output::Special { file, .. } => file.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Output::Stdout(w) => w.flush(),
            Output::File(f) => f.flush(),
            Output::Special { file, .. } => file.flush(),
        }
    }
}
