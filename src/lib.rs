//! daihou (贷后): post-loan management over one SQLite ledger.
//!
//! Facts (loans, schedules, repayments, followups) come in through `import`; everything else is
//! derived from them for a given as-of date by pure domain modules (`schedule`, `engine`, …).

pub mod buckets;
pub mod calendar;
pub mod classify;
pub mod cli;
pub mod collection;
pub mod commands;
pub mod context;
pub mod dates;
pub mod db;
pub mod engine;
pub mod exit;
#[doc(hidden)]
pub mod hooks;
pub mod i18n;
pub mod mapping;
pub mod money;
pub mod ops;
pub mod output;
pub mod pii;
pub mod profile;
pub mod records;
pub mod render;
pub mod report;
pub mod restructure;
pub mod rulefile;
pub mod schedule;
#[cfg(feature = "synth")]
#[doc(hidden)]
pub mod synth;
pub mod tape;
#[cfg(test)]
mod test_support;
pub mod visits;

use std::ffi::OsString;

use anyhow::Result;
use clap::Parser;

/// Parses `args` and runs the command. Help and version print and return Ok.
pub fn run<I, T>(args: I) -> Result<()>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            let code = e.exit_code();
            let _ = e.print();
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                return Ok(());
            }
            std::process::exit(code);
        }
    };
    let today = chrono::Local::now().date_naive();
    let ctx = context::Ctx::from_args(&cli.global, today)?;
    if ctx.show_pii {
        ctx.note(
            "daihou: --show-pii: borrower names, phone numbers and ID numbers are shown unmasked",
        );
    }
    commands::dispatch(&ctx, &cli.command)
}
