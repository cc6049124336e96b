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
#[doc(hidden)]
pub mod rng;
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

/// Parses `args` and runs the command. Help and version print and return Ok.
pub fn run<I, T>(args: I) -> Result<()>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    // The profile sets the defaults of the convention flags, so it is read before clap parses.
    let active = profile::for_args(&args)?;
    let matches = match profile::command(active.as_ref()).try_get_matches_from(&args) {
        Ok(m) => m,
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
    let cli = match <cli::Cli as clap::FromArgMatches>::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            std::process::exit(e.exit_code());
        }
    };
    let today = chrono::Local::now().date_naive();
    let ctx = context::Ctx::from_args(&cli.global, today)?;
    if ctx.show_pii {
        ctx.note(
            "daihou: --show-pii: borrower names, phone numbers and ID numbers are shown unmasked",
        );
    }
    if let Some(p) = &active {
        ctx.debug(&format!(
            "profile {} (from {})",
            p.path.display(),
            p.found.describe()
        ));
    }
    if let cli::Command::Profile(a) = &cli.command {
        return commands::profile::run(
            &ctx,
            a,
            active.as_ref(),
            matches.subcommand_matches("profile"),
            cli.global.profile.as_deref(),
        );
    }
    commands::dispatch(&ctx, &cli.command)
}
