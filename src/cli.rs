//! Command-line declarations only (clap derive). Doc comments are the help text.
//! Combination checks live in `context.rs` and the commands.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::exit::EXIT_CODES_HELP;

/// daihou (贷后): post-loan management over one SQLite ledger.
///
/// Example: daihou --db bank.db import tape examples/tape && daihou --db bank.db overdue --as-of 2026-06-30
#[derive(Debug, Parser)]
#[command(name = "daihou", version, after_help = EXIT_CODES_HELP, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Flags that mean the same thing for every subcommand.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The ledger file (SQLite). Created by `import` when missing; other commands need it to exist.
    #[arg(
        long,
        global = true,
        env = "DAIHOU_DB",
        default_value = "daihou.db",
        value_name = "PATH"
    )]
    pub db: PathBuf,

    /// The date the answer is for, YYYY-MM-DD (default: today, local time; echoed on stderr).
    #[arg(long, global = true, env = "DAIHOU_AS_OF", value_name = "DATE")]
    pub as_of: Option<String>,

    /// Output format of the data written to stdout (or -o).
    #[arg(long, global = true, env = "DAIHOU_FORMAT", value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Write the data to FILE (via FILE.tmp and a rename, so a reader never sees half a file).
    #[arg(short = 'o', long = "output", global = true, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Print errors only (no summary line).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Print per-step timings on stderr.
    #[arg(short, long, global = true)]
    pub verbose: bool,

    /// Colour in table output and on stderr: auto means a terminal, NO_COLOR unset and TERM not dumb.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    /// Seconds to wait for another daihou run that holds the ledger before giving up (exit 75).
    #[arg(
        long,
        global = true,
        env = "DAIHOU_BUSY_TIMEOUT",
        default_value_t = 30,
        value_name = "SECS"
    )]
    pub busy_timeout: u64,

    /// Show borrower names, phone numbers and ID numbers unmasked (noted on stderr).
    #[arg(long, global = true)]
    pub show_pii: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import CSV loan tapes into the ledger (all or nothing per run; reruns are idempotent).
    ///
    /// Examples: daihou import tape examples/tape;
    /// daihou import repayments --encoding gbk 还款流水.csv;
    /// daihou import tape --map examples/maps/loan_payments_2016.toml loan_payments.csv
    Import(ImportArgs),
    /// Five-tier (五级分类) and IFRS 9 stage classification (not built yet).
    Classify(PendingArgs),
    /// Risk-ranked visit and call plans for officers (not built yet).
    ScheduleVisits(PendingArgs),
    /// Loans overdue as of a date: days past due, arrears, penalty interest, next collection action.
    Overdue(OverdueArgs),
    /// Portfolio, migration and vintage reports (not built yet).
    Report(PendingArgs),
}

/// What an import file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ImportKind {
    Loans,
    Schedule,
    Repayments,
    Followups,
    /// A folder holding loans.csv, schedule.csv, repayments.csv, followups.csv (any present),
    /// or, with --map, one file carrying every table the mapping describes.
    Tape,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Encoding {
    #[value(name = "utf-8", alias = "utf8")]
    Utf8,
    /// GBK, read as its superset GB18030.
    Gbk,
    Gb18030,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// loans | schedule | repayments | followups | tape
    #[arg(value_enum)]
    pub kind: ImportKind,

    /// CSV files (`-` reads standard input); for `tape`, a folder.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// A TOML mapping for a foreign tape: column names, delimiter, date formats, constants.
    #[arg(long, value_name = "FILE")]
    pub map: Option<PathBuf>,

    /// Text encoding of the files (tapes from Chinese core systems are often GBK).
    #[arg(long, value_enum)]
    pub encoding: Option<Encoding>,

    /// Do the whole import, print what would change, then roll it back.
    #[arg(long)]
    pub dry_run: bool,

    /// Stop after this many bad rows (all are reported; nothing is written).
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub max_errors: usize,
}

/// Options of `overdue`.
#[derive(Debug, Args)]
pub struct OverdueArgs {
    /// Only loans at or above this many days past due.
    #[arg(long, value_name = "DAYS")]
    pub min_dpd: Option<u32>,
}

/// A subcommand that is planned but not built yet.
#[derive(Debug, Args)]
pub struct PendingArgs {}
