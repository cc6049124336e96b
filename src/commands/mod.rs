//! One file per subcommand; each is thin: read args, call db:: and the domain, render a Report.

pub mod classify;
pub mod import;
pub mod overdue;
pub mod restructure;
pub mod schedule_visits;

use anyhow::Result;

use crate::cli::Command;
use crate::context::Ctx;
use crate::exit;

pub fn dispatch(ctx: &Ctx, command: &Command) -> Result<()> {
    match command {
        Command::Import(a) => import::run(ctx, a),
        Command::Overdue(a) => overdue::run(ctx, a),
        Command::Classify(a) => classify::run(ctx, a),
        Command::ScheduleVisits(a) => schedule_visits::run(ctx, a),
        Command::Report(_) => Err(not_built("report")),
        Command::Restructure(a) => restructure::run(ctx, a),
    }
}

fn not_built(name: &str) -> anyhow::Error {
    exit::usage(format!(
        "`daihou {name}` is not built yet; see the README's roadmap"
    ))
}
