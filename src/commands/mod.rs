//! One file per subcommand; each is thin: read args, call db:: and the domain, render a Report.

pub mod import;
pub mod overdue;
pub mod report;
pub mod restructure;
pub mod schedule_visits;

use anyhow::Result;

use crate::cli::Command;
use crate::context::Ctx;
use crate::exit;

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
        Command::Import(a) => import::run(ctx, a),
        Command::Overdue(a) => overdue::run(ctx, a),
        Command::Classify(_) => Err(not_built("classify")),
        Command::ScheduleVisits(a) => schedule_visits::run(ctx, a),
        Command::Report(a) => report::run(ctx, a),
        Command::Restructure(a) => restructure::run(ctx, a),
    }
}

fn not_built(name: &str) -> anyhow::Error {
    exit::usage(format!(
        "`daihou {name}` is not built yet; see the README's roadmap"
    ))
}
