//! `daihou restructure LOAN_ID --as-of D`: the loan's position at D and the restructuring
//! options (taking effect on D + 1) side by side; the work is `ops::restructure::propose`.
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
use crate::ops::restructure::{propose, Proposal};
use crate::output::{self, Cell, Report};
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
    let proposal =
        propose(&conn, &args.loan_id, as_of, &flags, &conv, &rules)?.ok_or_else(|| {
            exit::no_input(format!(
                "loan_id {}: no such loan in the ledger",
                args.loan_id
            ))
        })?;
    let o = match proposal {
        Proposal::Nothing(why) => {
            ctx.note(&why);
            return Ok(());
        }
        Proposal::Options(o) => o,
    };
    let p = &o.position;
    ctx.note(&format!(
        "loan_id {} at {as_of}: DPD {}, arrears {} (principal {}, interest {}, fee {}), outstanding principal {}, penalty interest {}; options take effect {}",
        args.loan_id,
        p.dpd,
        money::fmt_amount(o.arrears.total()),
        money::fmt_amount(o.arrears.principal),
        money::fmt_amount(o.arrears.interest),
        money::fmt_amount(o.arrears.fee),
        money::fmt_amount(p.outstanding_principal),
        money::fmt_amount(p.penalty_interest),
        o.effective,
    ));

    if !flags.is_empty() {
        let (spec, outcome) = &o.outcomes[0];
        let outcome = outcome
            .as_ref()
            .map_err(|e| exit::usage(format!("{}: not possible: {e}", spec.label)))?;
        let id = args
            .restructure_id
            .clone()
            .unwrap_or_else(|| format!("{}-R{}", args.loan_id, o.effective.format("%Y%m%d")));
        if args.schedule {
            // As CSV, schedule rows `import` takes as that restructure's schedule version.
            let mut r = Report::new(&[
                "loan_id",
                "restructure_id",
                "installment_no",
                "due_date",
                "principal_due",
                "interest_due",
                "fee_due",
            ]);
            for i in &outcome.version.installments {
                r.push(vec![
                    Cell::Text(args.loan_id.clone()),
                    Cell::Text(id.clone()),
                    Cell::Int(i.installment_no.into()),
                    Cell::Date(i.due_date),
                    Cell::Money(i.principal_due),
                    Cell::Money(i.interest_due),
                    Cell::Money(i.fee_due),
                ]);
            }
            return output::emit(ctx, &r);
        }
        if ctx.format == Format::Csv {
            let v = &outcome.version;
            let mut r = Report::new(&[
                "loan_id",
                "restructure_id",
                "effective_date",
                "kind",
                "reason",
                "new_principal",
                "new_annual_rate",
                "new_term_months",
                "new_method",
                "holiday_months",
                "interest_only_months",
            ]);
            r.push(vec![
                Cell::Text(args.loan_id.clone()),
                Cell::Text(id),
                Cell::Date(o.effective),
                v.kind.as_str().into(),
                Cell::Text(args.reason.clone()),
                Cell::Null,
                spec.terms
                    .annual_rate_pct
                    .map_or(Cell::Null, |d| Cell::Text(d.normalize().to_string())),
                Cell::Int(v.term_months.into()),
                spec.terms.method.map_or(Cell::Null, |m| m.as_str().into()),
                Cell::Int(spec.terms.holiday_months.into()),
                Cell::Int(spec.terms.interest_only_months.into()),
            ]);
            return output::emit(ctx, &r);
        }
    }

    let mut r = Report::new(&[
        "option",
        "kind",
        "arrears",
        "first_payment",
        "installment",
        "term_months",
        "last_due",
        "total_interest",
        "npv_given_up",
        "observation_start",
        "observation_end",
        "grade",
    ])
    .table_shows(&[
        "option",
        "kind",
        "arrears",
        "first_payment",
        "installment",
        "term_months",
        "last_due",
        "total_interest",
        "npv_given_up",
        "grade",
    ]);
    let sq = &o.status_quo;
    r.push(vec![
        "current terms".into(),
        Cell::Null,
        "overdue".into(),
        sq.installment.map_or(Cell::Null, Cell::Money),
        sq.installment.map_or(Cell::Null, Cell::Money),
        Cell::Int(sq.term_months.into()),
        sq.last_due.map_or(Cell::Null, Cell::Date),
        Cell::Money(sq.total_interest),
        Cell::Money(rust_decimal::Decimal::ZERO),
        Cell::Null,
        Cell::Null,
        Cell::Null,
    ]);
    for (spec, outcome) in &o.outcomes {
        match outcome {
            Ok(x) => r.push(vec![
                Cell::Text(spec.label.clone()),
                spec.kind.as_str().into(),
                x.version.rule.as_str().into(),
                Cell::Money(x.first_payment),
                Cell::Money(x.installment),
                Cell::Int(x.version.term_months.into()),
                Cell::Date(x.last_due),
                Cell::Money(x.total_interest),
                Cell::Money(x.npv_given_up),
                Cell::Date(x.observation.start),
                Cell::Date(x.observation.end),
                Cell::Text(x.grade.clone()),
            ]),
            Err(e) => r.push(vec![
                Cell::Text(spec.label.clone()),
                spec.kind.as_str().into(),
                Cell::Null,
                Cell::Null,
                Cell::Null,
                Cell::Null,
                Cell::Null,
                Cell::Null,
                Cell::Null,
                Cell::Null,
                Cell::Null,
                Cell::Text(format!("not possible: {e}")),
            ]),
        }
    }
    output::emit(ctx, &r)
}
