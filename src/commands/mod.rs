//! One file per subcommand; each is thin: read args, call db:: and the domain, render a Report.

pub mod classify;
pub mod import;
pub mod overdue;
pub mod profile;
pub mod report;
pub mod restructure;
pub mod schedule_visits;

use anyhow::Result;

use crate::cli::Command;
use crate::context::Ctx;
use crate::{db, exit};

pub fn dispatch(ctx: &Ctx, command: &Command) -> Result<()> {
    use crate::cli::Format;
    if matches!(ctx.format, Format::Html | Format::Xlsx) && !matches!(command, Command::Report(_)) {
        return Err(exit::usage(format!(
            "--format {} is for `daihou report` only; use table, csv or json",
            if ctx.format == Format::Html {
                "html"
            } else {
                "xlsx"
            }
        )));
    }
    match command {
        Command::Import(a) => {
            let existed = ctx.db.exists();
            let result = import::run(ctx, a).map_err(|e| {
                let nothing = if a.dry_run {
                    "nothing was changed"
                } else {
                    "nothing was imported"
                };
                db::explain_write_failure(e, &ctx.db, nothing)
            });
            // A failed or dry-run import leaves no ledger where there was none.
            if !existed && (result.is_err() || a.dry_run) {
                db::remove_if_unused(&ctx.db, ctx.busy_timeout);
            }
            result
        }
        Command::Overdue(a) => overdue::run(ctx, a)
            .map_err(|e| db::explain_write_failure(e, &ctx.db, "nothing was saved")),
        Command::Classify(a) => classify::run(ctx, a)
            .map_err(|e| db::explain_write_failure(e, &ctx.db, "nothing was saved")),
        Command::ScheduleVisits(a) => schedule_visits::run(ctx, a),
        Command::Report(a) => report::run(ctx, a),
        Command::Restructure(a) => restructure::run(ctx, a),
        // Needs the parsed profile and flags: run by `crate::run` before dispatch.
        Command::Profile(a) => profile::run(ctx, a, None, None, None),
    }
}

fn not_built(name: &str) -> anyhow::Error {
    exit::usage(format!(
        "`daihou {name}` is not built yet; the README's \"Subcommands\" table lists what this version does"
    ))
}
