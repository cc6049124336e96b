//! Exit codes and the mapping from errors to them.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success, including reruns that had nothing to do |
//! | 1 | unexpected failure (a bug) |
//! | 2 | usage: bad flags or flag combinations, a subcommand not built yet |
//! | 65 | input data invalid: bad row, missing column (EX_DATAERR) |
//! | 66 | input missing: CSV or database file not found (EX_NOINPUT) |
//! | 73 | cannot create or write the output file, or the ledger is not writable (EX_CANTCREAT) |
//! | 74 | no space left for the ledger or the output; nothing was written (EX_IOERR) |
//! | 75 | database still busy after the timeout; cron may retry (EX_TEMPFAIL) |
//! | 78 | configuration: ledger newer than this binary, bad mapping or rule file (EX_CONFIG) |
//! | 130 | interrupted by Ctrl-C (SIGINT); a write in progress was rolled back |

use std::fmt;

/// The documented exit codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    Bug = 1,
    Usage = 2,
    Data = 65,
    NoInput = 66,
    CantCreate = 73,
    IoErr = 74,
    Busy = 75,
    Config = 78,
}

/// The text shown at the foot of `--help`.
pub const EXIT_CODES_HELP: &str = "\
Exit codes: 0 success (also a rerun with nothing to do), 1 unexpected failure (a bug),
2 usage, 65 invalid input data, 66 input or ledger missing, 73 cannot create output or
ledger not writable, 74 no space left (nothing written), 75 ledger busy after
--busy-timeout (retry later), 78 configuration (ledger newer than this binary, bad mapping
or rules file), 130 interrupted (Ctrl-C; nothing half-written).";

/// An error that knows its exit code. Its message is shown as it is.
#[derive(Debug)]
pub struct Failure {
    pub code: Code,
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// Builds an error with the given exit code.
pub fn fail(code: Code, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Failure {
        code,
        message: message.into(),
    })
}

/// Invalid input data (65).
pub fn data(message: impl Into<String>) -> anyhow::Error {
    fail(Code::Data, message)
}

/// Missing input (66).
pub fn no_input(message: impl Into<String>) -> anyhow::Error {
    fail(Code::NoInput, message)
}

/// Configuration problem (78).
pub fn config(message: impl Into<String>) -> anyhow::Error {
    fail(Code::Config, message)
}

/// Usage problem (2).
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    fail(Code::Usage, message)
}

/// "No space left on device" (the same number on Linux, macOS and the BSDs).
const ENOSPC: i32 = 28;

/// Picks the exit code for an error by walking its chain (as ripgrep does for BrokenPipe).
/// A broken pipe on stdout is success: the reader went away.
pub fn code_for(err: &anyhow::Error) -> i32 {
    for cause in err.chain() {
        if let Some(f) = cause.downcast_ref::<Failure>() {
            return f.code as i32;
        }
        if let Some(e) = cause.downcast_ref::<rusqlite::Error>() {
            if let Some(code) = e.sqlite_error_code() {
                use rusqlite::ErrorCode as E;
                match code {
                    E::DatabaseBusy | E::DatabaseLocked => return Code::Busy as i32,
                    E::ReadOnly => return Code::CantCreate as i32,
                    E::DiskFull => return Code::IoErr as i32,
                    E::CannotOpen | E::PermissionDenied => return Code::NoInput as i32,
                    E::NotADatabase | E::DatabaseCorrupt => return Code::Data as i32,
                    _ => {}
                }
            }
        }
        // Writers that wrap an I/O error: the CSV and JSON renderers.
        if let Some(e) = cause.downcast_ref::<csv::Error>() {
            if let csv::ErrorKind::Io(io) = e.kind() {
                if io.kind() == std::io::ErrorKind::BrokenPipe {
                    return 0;
                }
            }
        }
        if let Some(e) = cause.downcast_ref::<serde_json::Error>() {
            if e.io_error_kind() == Some(std::io::ErrorKind::BrokenPipe) {
                return 0;
            }
        }
        if let Some(e) = cause.downcast_ref::<std::io::Error>() {
            if e.raw_os_error() == Some(ENOSPC) {
                return Code::IoErr as i32;
            }
            match e.kind() {
                std::io::ErrorKind::BrokenPipe => return 0,
                std::io::ErrorKind::NotFound => return Code::NoInput as i32,
                _ => {}
            }
        }
    }
    Code::Bug as i32
}

/// Prints `daihou: error: …` once on stderr, one line per line of the message.
pub fn print_error(err: &anyhow::Error) {
    let text = format!("{err:#}");
    let mut out = String::new();
    for line in text.lines() {
        out.push_str("daihou: error: ");
        out.push_str(line);
        out.push('\n');
    }
    if code_for(err) == Code::Busy as i32 {
        out.push_str("daihou: hint: another daihou run holds the ledger; retry later or raise --busy-timeout\n");
    }
    eprint!("{out}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_code_is_found_under_context() {
        let err = data("bad row").context("import loans.csv");
        assert_eq!(code_for(&err), 65);
    }

    #[test]
    fn io_not_found_is_66_and_broken_pipe_is_0() {
        let nf = anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::NotFound));
        assert_eq!(code_for(&nf), 66);
        let bp = anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert_eq!(code_for(&bp), 0);
        assert_eq!(code_for(&anyhow::anyhow!("boom")), 1);
    }
}
