//! `daihou restructure LOAN_ID --as-of D`: the loan's position at D and the restructuring
//! options (taking effect on D + 1) side by side; the work and the rows are
//! `ops::restructure`.
//!
//! Output: without option flags, the default menu; with them, that one option. `--schedule`
//! prints the option's full new schedule. With option flags, `--format csv` prints the
//! restructures row that `daihou import restructures` takes unchanged (it generates the same
//! schedule from the same ledger), and `--schedule --format csv` the schedule rows carrying its
//! `restructure_id` that `daihou import schedule` takes as that restructure's version (say,
//! after the negotiation changed a row).

use anyhow::{Context, Result};

use crate::classify::rules::RuleSet;
use crate::cli::{Format, RestructureArgs};
use crate::context::Ctx;
use crate::db;
use crate::exit;
use crate::money;
use crate::ops::restructure::{propose, Proposal, RestructureRow, ScheduleRow};
use crate::output::{self, Report};
use crate::restructure::proposal::Flags;

pub fn run(ctx: &Ctx, args: &RestructureArgs) -> Result<()> {
    let flags = Flags {
        extend_months: args.extend_months.unwrap_or(0),
        interest_only_months: args.interest_only_months.unwrap_or(0),
        holiday_months: args.holiday_months.unwrap_or(0),
        rate: args.rate,
        capitalise_arrears: args.capitalise_arrears,
        method: args.method,
    };
    if args.schedule && flags.is_empty() {
        return Err(exit::usage(
            "--schedule prints one option's schedule: give its flags (--extend-months, --rate, …)",
        ));
    }
    let rules = RuleSet::resolve(&args.rules).context("--rules")?;
    let conv = args.conv.conventions();
    let conn = db::open(&ctx.db, db::Mode::Read, ctx.busy_timeout)?;
    let as_of = ctx.as_of;
    let loan = &args.loan_id;
    let o = match propose(&conn, loan, as_of, &flags, &conv, &rules)? {
        None => {
            return Err(exit::no_input(format!(
                "loan_id {loan}: no such loan in the ledger"
            )))
        }
        Some(Proposal::Nothing(why)) => {
            ctx.note(&why);
            return Ok(());
        }
        Some(Proposal::Options(o)) => o,
    };
    let (p, a) = (&o.position, &o.arrears);
    ctx.note(&format!(
        "loan_id {loan} at {as_of}: DPD {}, arrears {} (principal {}, interest {}, fee {}), outstanding principal {}, penalty interest {}; options take effect {}",
        p.dpd,
        money::fmt_amount(a.total()),
        money::fmt_amount(a.principal),
        money::fmt_amount(a.interest),
        money::fmt_amount(a.fee),
        money::fmt_amount(p.outstanding_principal),
        money::fmt_amount(p.penalty_interest),
        o.effective,
    ));
    if flags.is_empty() {
        return output::emit(ctx, &Report::of(&o.rows()));
    }
    let (spec, outcome) = o.the_option().map_err(exit::usage)?;
    let id = o.restructure_id(loan, args.restructure_id.as_deref());
    if args.schedule {
        return output::emit(ctx, &Report::of(&ScheduleRow::of(loan, &id, outcome)));
    }
    if ctx.format == Format::Csv {
        let row = RestructureRow::of(loan, &id, o.effective, &args.reason, spec, outcome);
        return output::emit(ctx, &Report::of(&[row]));
    }
    output::emit(ctx, &Report::of(&o.rows()))
}
