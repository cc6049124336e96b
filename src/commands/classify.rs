//! `daihou classify`: the grade (五级分类), IFRS 9 stage, collection segment and reference provision
//! of every active loan as of a date (or every date of a range, saved, in one pass).
//!
//! Two steps, as the rules need: (1) the book is streamed loan by loan (the same positions as
//! `overdue`, default conventions) and each loan is graded on its own facts, its row written to
//! the work table (`grades` with --save, a TEMP table otherwise); (2) the borrower-level rules
//! run over the borrowers that need them — corporate borrowers (contagion) and borrowers with more
//! than one loan (one collection segment per borrower) — reading and rewriting only their rows.
//! Memory holds one loan at a time per worker plus one small aggregate per such borrower and date.
//! Step 1 runs over key ranges of the book in parallel (as `overdue` does), on the same
//! positions as `overdue` (restructured loans replay their schedule versions).

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use anyhow::{Context, Result};
use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::classify::eval::{self, contagion};
use crate::classify::rules::{self, RuleSet};
use crate::classify::segment::{self, Segment};
use crate::classify::stage::{self, Staging};
use crate::classify::{
    BorrowerType, FollowupSummary, Grade, InstallmentRecord, LoanFacts, Override, Restructure,
};
use crate::cli::{ClassifyArgs, Every, GradeLabels};
use crate::context::Ctx;
use crate::db::grades::{self, GradeRow, Target};
use crate::db::{self, book};
use crate::engine::{self, Conventions};
use crate::exit;
use crate::money::round_fen;
use crate::output::{self, Cell, Report};
use crate::pii;
use crate::restructure;

/// The facts classification reads besides the book (small: loaded once).
struct Facts {
    restructures: HashMap<String, Vec<Restructure>>,
    overrides: HashMap<String, Vec<Override>>,
    events: grades::Events,
    grouped: HashSet<String>,
}

/// Per borrower and date: what the borrower-level step needs.
#[derive(Default)]
struct BorrowerAgg {
    corporate: bool,
    loans: u32,
    total: Decimal,
    /// (outstanding, grade) per loan.
    graded: Vec<(Decimal, Grade)>,
    summary: FollowupSummary,
    overdue: bool,
}

fn dates_of(ctx: &Ctx, args: &ClassifyArgs) -> Result<Vec<NaiveDate>> {
    let (Some(from), Some(to), Some(every)) = (&args.from, &args.to, args.every) else {
        return Ok(vec![ctx.as_of]);
    };
    let parse = |flag: &str, s: &str| {
        crate::dates::parse_iso(s).map_err(|e| exit::usage(format!("{flag} \"{s}\" {e}")))
    };
    let (from, to) = (parse("--from", from)?, parse("--to", to)?);
    if to < from {
        return Err(exit::usage("--to is before --from"));
    }
    let dates = match every {
        Every::MonthEnd => crate::dates::month_ends(from, to),
        Every::Week | Every::Day => {
            let step = if every == Every::Week { 7 } else { 1 };
            let mut v = Vec::new();
            let mut d = from;
            while d <= to {
                v.push(d);
                d = d + chrono::Days::new(step);
            }
            v
        }
    };
    if dates.is_empty() {
        return Err(exit::usage(
            "the range --from … --to holds no date of the --every step",
        ));
    }
    if dates.len() > 3660 {
        return Err(exit::usage(
            "the range holds more than 3660 dates; split it",
        ));
    }
    Ok(dates)
}

/// `--print-rules NAME`: the built-in TOML text, as it is compiled in.
fn print_rules(ctx: &Ctx, name: &str) -> Result<()> {
    let text = match rules::builtin_text(name) {
        Ok(t) => t,
        Err(_) => stage::BUILTIN
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| *t)
            .ok_or_else(|| {
                exit::usage(format!(
                    "--print-rules: unknown rule set {name:?} (expected {}, ifrs9)",
                    rules::BUILTIN
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?,
    };
    let write = |w: &mut dyn std::io::Write| -> Result<()> {
        w.write_all(text.as_bytes())?;
        w.flush()?;
        Ok(())
    };
    match &ctx.output {
        Some(p) => output::write_atomically(p, write),
        None => write(&mut std::io::stdout().lock()),
    }
}

pub fn run(ctx: &Ctx, args: &ClassifyArgs) -> Result<()> {
    if let Some(name) = &args.print_rules {
        return print_rules(ctx, name);
    }
    let rules = RuleSet::resolve(&args.rules).context("--rules")?;
    let staging = Staging::resolve(&args.staging).context("--staging")?;
    let grade_filter = args
        .grade
        .as_deref()
        .map(|g| {
            Grade::parse(g).ok_or_else(|| {
                exit::usage(format!(
                    "--grade {g:?} is not a grade (expected 正常 关注 次级 可疑 损失 or pass, special_mention, substandard, doubtful, loss)"
                ))
            })
        })
        .transpose()?;
    let dates = dates_of(ctx, args)?;
    let single = dates.len() == 1 && args.from.is_none();
    if single && !ctx.as_of_given {
        ctx.note(&format!(
            "daihou: as of {} (today; pass --as-of to choose)",
            dates[0]
        ));
    }
    let save = args.save || !single;
    let t0 = Instant::now();
    let conn = db::open(
        &ctx.db,
        if save {
            db::Mode::Write
        } else {
            db::Mode::Read
        },
        ctx.busy_timeout,
    )?;
    let target = if save { Target::Saved } else { Target::Temp };
    let tx = if save {
        Some(db::begin_shared(&conn)?)
    } else {
        grades::create_temp(&conn)?;
        None
    };
    let c: &rusqlite::Connection = &conn;
    // The previous saved date before the first one, for previous_grade and --changed.
    let before_first = grades::previous_date(c, dates[0])?;
    if save {
        for d in &dates {
            grades::clear(c, *d)?;
        }
    }
    let facts = Facts {
        restructures: grades::restructures(c)?,
        overrides: grades::overrides(c)?,
        events: grades::events(c)?,
        grouped: grades::grouped_borrowers(c)?,
    };

    // Step 1: every loan on its own facts. The book is split into key ranges graded in
    // parallel, each worker on its own read connection (as `overdue` does); the rows come back
    // in batches and are written here, in this connection's transaction (or TEMP table).
    let mut aggs: HashMap<(usize, String), BorrowerAgg> = HashMap::new();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4);
    let ranges = book::split(c, threads)?;
    std::thread::scope(|scope| -> Result<()> {
        let (sender, receiver) = std::sync::mpsc::sync_channel::<Vec<Graded>>(8);
        let handles: Vec<_> = ranges
            .iter()
            .map(|range| {
                let sender = sender.clone();
                let (rules, staging, facts, dates) = (&rules, &staging, &facts, &dates);
                scope.spawn(move || grade_part(ctx, rules, staging, facts, dates, range, sender))
            })
            .collect();
        drop(sender);
        let mut ins = grades::inserter(c, target)?;
        let mut write_error = None;
        for batch in receiver {
            if write_error.is_some() {
                continue; // keep draining so the workers can finish
            }
            for (k, row, summary) in batch {
                if facts.grouped.contains(&row.borrower_id) {
                    let a = aggs.entry((k, row.borrower_id.clone())).or_default();
                    a.corporate = row.borrower_type == "corporate";
                    a.loans += 1;
                    a.total += row.outstanding_principal;
                    a.graded.push((row.outstanding_principal, row.grade));
                    a.summary.add(&summary);
                    a.overdue |= row.dpd > 0;
                }
                if let Err(e) = grades::insert(&mut ins, &row) {
                    write_error = Some(e);
                    break;
                }
            }
        }
        for h in handles {
            h.join()
                .map_err(|_| anyhow::anyhow!("a classify worker thread panicked"))??;
        }
        write_error.map_or(Ok(()), Err)
    })?;

    // Step 2: the borrower-level rules (contagion, one segment per borrower).
    let mut contagious = 0u64;
    for ((k, borrower), a) in &aggs {
        let bt = if a.corporate {
            BorrowerType::Corporate
        } else {
            BorrowerType::Individual
        };
        let floor = rules
            .contagion
            .as_ref()
            .and_then(|rule| contagion(rule, bt, a.graded.iter().copied()));
        let seg = (a.loans > 1).then(|| segment::segment(&rules.segment, &a.summary, a.overdue));
        if floor.is_none() && seg.is_none() {
            continue;
        }
        for mut row in grades::borrower_rows(c, target, dates[*k], borrower)? {
            let before = row.clone();
            if let Some(f) = &floor {
                if f.grade > row.grade {
                    contagious += 1;
                    if let Some(og) = row.override_grade.filter(|og| *og < f.grade) {
                        row.reasons.push_str(&format!(
                            "; override {og} not applied: hard floor {} {} holds",
                            f.rule, f.grade
                        ));
                    }
                    row.reasons = join(&row.reasons, &format!("{}: {}", f.rule, f.reason));
                    row.grade = f.grade;
                    row.grade_rule = f.rule.clone();
                    row.eligible_for_upgrade_review = false;
                    row.provision_rate = rules.provision_rate(row.grade);
                    row.provision = round_fen(row.outstanding_principal * row.provision_rate);
                    if row.grade >= staging.stage3_grade_from && row.stage < 3 {
                        row.stage = 3;
                        row.reasons = join(&row.reasons, &format!("stage 3: grade {}", row.grade));
                    }
                }
            }
            if let Some(s) = seg {
                row.segment = s.as_str().to_string();
            }
            if row != before {
                grades::update(c, target, &row)?;
            }
        }
    }
    if save {
        let conventions = serde_json::json!({
            "engine": "overdue defaults (grace 0, tolerance 0, fee,interest,principal, next_installments)",
            "rules": rules.name,
            "staging": staging.name,
        })
        .to_string();
        for d in &dates {
            grades::record_run(c, *d, &rules.name, &staging.name, &conventions)?;
        }
    }

    // The listing (one date) or the per-date summary (a range), then the summary lines.
    let filter = grades::Filter {
        officer: args.filters.officer.clone(),
        branch: args.filters.branch.clone(),
        region: args.filters.region.clone(),
        grade: grade_filter,
        stage: args.stage,
        changed: args.changed,
    };
    let previous = |k: usize| -> Option<(Target, NaiveDate)> {
        if k == 0 {
            before_first.map(|d| (Target::Saved, d))
        } else {
            Some((target, dates[k - 1]))
        }
    };
    let mut totals = Vec::new();
    for (k, d) in dates.iter().enumerate() {
        totals.push(grades::totals(c, target, *d, previous(k))?);
    }
    if single {
        let mut report = listing_report();
        grades::listing(c, target, dates[0], previous(0), &filter, |l| {
            report.push(listing_row(ctx, args.grade_labels, l));
            Ok(())
        })?;
        output::emit(ctx, &report)?;
    } else {
        output::emit(ctx, &range_report(&dates, &totals, args.grade_labels))?;
    }
    if let Some(tx) = tx {
        if args.dry_run {
            tx.rollback()?;
        } else {
            tx.commit().context("committing the saved grades")?;
        }
    }
    for (k, (d, t)) in dates.iter().zip(&totals).enumerate() {
        if single || ctx.verbose {
            ctx.note(&summary_line(
                *d,
                t,
                previous(k).map(|p| p.1),
                args.grade_labels,
            ));
        }
    }
    if contagious > 0 {
        ctx.debug(&format!(
            "classify: {contagious} loan grades raised by borrower contagion"
        ));
    }
    let secs = t0.elapsed().as_secs_f64();
    if save {
        let verb = if args.dry_run {
            "would save (dry run, rolled back)"
        } else {
            "saved"
        };
        let n: u64 = totals
            .iter()
            .map(|t| t.by_grade.iter().map(|g| g.0).sum::<u64>())
            .sum();
        ctx.note(&format!(
            "classify: {verb} {n} grades for {} date(s) under {} / {}, {secs:.1} s",
            dates.len(),
            rules.name,
            staging.name
        ));
    } else {
        ctx.debug(&format!("classify: {secs:.1} s"));
    }
    Ok(())
}

fn join(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else {
        format!("{a}; {b}")
    }
}

/// A graded loan on the date with this index, and its follow-up summary.
type Graded = (usize, GradeRow, FollowupSummary);

/// Grades the loans of one key range of the book for every date, sending the rows in batches.
fn grade_part(
    ctx: &Ctx,
    rules: &RuleSet,
    staging: &Staging,
    facts: &Facts,
    dates: &[NaiveDate],
    range: &book::KeyRange,
    sender: std::sync::mpsc::SyncSender<Vec<Graded>>,
) -> Result<()> {
    let conn = db::open(&ctx.db, db::Mode::Read, ctx.busy_timeout)?;
    let conv = Conventions::default();
    let mut batch: Vec<Graded> = Vec::new();
    let mut scan = book::Scan::prepare(&conn, range)?;
    scan.for_each(|b| {
        let active: Vec<NaiveDate> = dates
            .iter()
            .copied()
            .filter(|d| b.info.origination_date.is_none_or(|o| o <= *d))
            .collect();
        if active.is_empty() {
            return Ok(());
        }
        // The same positions as `overdue`: restructured loans replay their schedule versions.
        let positions = restructure::replay::positions(
            &b.terms,
            &b.installments,
            &b.versions,
            &b.payments,
            &active,
            &conv,
        );
        for p in positions.iter().filter(|p| !p.closed) {
            let k = dates.iter().position(|d| *d == p.as_of).unwrap_or(0);
            let (row, summary) = grade_loan(rules, staging, facts, b, p);
            batch.push((k, row, summary));
            if batch.len() >= 4096 {
                // A closed channel means the writer failed; it reports the error.
                let _ = sender.send(std::mem::take(&mut batch));
            }
        }
        Ok(())
    })?;
    if !batch.is_empty() {
        let _ = sender.send(batch);
    }
    Ok(())
}

/// Grades one loan as of one position: the row to store, and its follow-up summary (for the
/// borrower's segment).
fn grade_loan(
    rules: &RuleSet,
    staging: &Staging,
    facts: &Facts,
    b: &book::LoanBook,
    p: &engine::Position,
) -> (GradeRow, FollowupSummary) {
    // The schedule in force on the date (the original, or the combined restructure versions).
    let k = b.versions.partition_point(|v| v.effective <= p.as_of);
    let combined;
    let in_force: &[engine::Installment] = if k == 0 {
        &b.installments
    } else {
        combined = restructure::replay::combined(&b.installments, &b.versions, k);
        &combined
    };
    let settled = p.settled();
    let mut inst: Vec<InstallmentRecord> = in_force
        .iter()
        .map(|i| InstallmentRecord {
            installment_no: i.installment_no,
            due_date: i.due_date,
            settled_on: settled
                .iter()
                .find(|s| s.installment_no == i.installment_no && s.due_date == i.due_date)
                .map(|s| s.settled_on),
        })
        .collect();
    inst.sort_by_key(|i| (i.due_date, i.installment_no));
    let loan_id = b.info.loan_id.as_str();
    let borrower_id = b.info.borrower_id.as_str();
    let events = facts.events.of(loan_id, borrower_id);
    let borrower_type =
        BorrowerType::parse(&b.info.borrower_type).unwrap_or(BorrowerType::Individual);
    let f = LoanFacts {
        as_of: p.as_of,
        dpd: p.dpd,
        overdue_since: p.overdue_since,
        outstanding_principal: p.outstanding_principal,
        borrower_type,
        installments: &inst,
        restructures: facts
            .restructures
            .get(loan_id)
            .map_or(&[][..], |v| v.as_slice()),
        events: &events,
        overrides: facts
            .overrides
            .get(loan_id)
            .map_or(&[][..], |v| v.as_slice()),
    };
    let a = eval::assess(rules, &f);
    let (st, stage_reasons) = stage::stage(staging, &f, &a);
    let pays = effective_payments(&b.payments, p.as_of);
    let partial = match p.overdue_since {
        Some(since) => pays.iter().filter(|(d, _)| *d >= since).count() as u32,
        None => 0,
    };
    let summary = segment::summarize(&rules.segment, &b.followups, &pays, partial, p.as_of);
    let seg: Segment = segment::segment(&rules.segment, &summary, p.dpd > 0);
    let mut reasons = a.reasons();
    for r in stage_reasons {
        reasons = join(&reasons, &r);
    }
    (
        GradeRow {
            as_of: p.as_of,
            loan_id: loan_id.to_string(),
            borrower_id: borrower_id.to_string(),
            borrower_type: borrower_type.as_str().to_string(),
            dpd: p.dpd,
            outstanding_principal: p.outstanding_principal,
            grade: a.grade,
            stage: st,
            grade_rule: a.grade_rule.clone(),
            reasons,
            override_text: a.override_text.clone(),
            override_grade: a.override_grade,
            eligible_for_upgrade_review: a.eligible_for_upgrade_review,
            segment: seg.as_str().to_string(),
            provision_rate: a.provision_rate,
            provision: a.provision,
        },
        summary,
    )
}

/// Payments in force as of a date: reversal rows and the payments they reverse are left out.
fn effective_payments(pays: &[engine::Payment], as_of: NaiveDate) -> Vec<(NaiveDate, Decimal)> {
    let reversed: HashSet<&str> = pays
        .iter()
        .filter(|p| p.paid_on <= as_of)
        .filter_map(|p| p.reverses_txn_id.as_deref())
        .collect();
    pays.iter()
        .filter(|p| {
            p.reverses_txn_id.is_none()
                && p.paid_on <= as_of
                && !reversed.contains(p.txn_id.as_str())
        })
        .map(|p| (p.paid_on, p.amount))
        .collect()
}

fn label(g: Grade, l: GradeLabels) -> &'static str {
    match l {
        GradeLabels::Zh => g.zh(),
        GradeLabels::En => g.en(),
    }
}

fn listing_report() -> Report {
    Report::new(&[
        "loan_id",
        "borrower",
        "borrower_id",
        "borrower_type",
        "officer",
        "branch",
        "region",
        "product",
        "dpd",
        "outstanding_principal",
        "grade",
        "stage",
        "previous_grade",
        "previous_stage",
        "grade_rule",
        "reasons",
        "override",
        "eligible_for_upgrade_review",
        "segment",
        "provision_rate",
        "provision",
    ])
    .table_shows(&[
        "loan_id",
        "borrower",
        "officer",
        "dpd",
        "outstanding_principal",
        "grade",
        "stage",
        "previous_grade",
        "grade_rule",
        "segment",
        "provision",
    ])
}

fn listing_row(ctx: &Ctx, labels: GradeLabels, l: grades::Listed) -> Vec<Cell> {
    let name = if ctx.show_pii {
        l.borrower_name.clone()
    } else {
        pii::mask_name(&l.borrower_name)
    };
    let r = l.row;
    vec![
        Cell::Text(r.loan_id),
        Cell::Text(name),
        Cell::Text(r.borrower_id),
        Cell::Text(r.borrower_type),
        Cell::Text(l.officer),
        Cell::Text(l.branch),
        Cell::Text(l.region),
        Cell::Text(l.product),
        Cell::Int(r.dpd.into()),
        Cell::Money(r.outstanding_principal),
        Cell::Text(label(r.grade, labels).to_string()),
        Cell::Int(r.stage.into()),
        l.previous_grade
            .map_or(Cell::Null, |g| Cell::Text(label(g, labels).to_string())),
        l.previous_stage.map_or(Cell::Null, |s| Cell::Int(s.into())),
        Cell::Text(r.grade_rule),
        Cell::Text(r.reasons),
        r.override_text.map_or(Cell::Null, Cell::Text),
        Cell::Bool(r.eligible_for_upgrade_review),
        Cell::Text(r.segment),
        Cell::Text(r.provision_rate.normalize().to_string()),
        Cell::Money(r.provision),
    ]
}

fn range_report(dates: &[NaiveDate], totals: &[grades::Totals], labels: GradeLabels) -> Report {
    let mut cols: Vec<String> = vec!["as_of".into(), "loans".into()];
    for g in Grade::ALL {
        cols.push(label(g, labels).to_string());
    }
    cols.extend(["npl_principal", "provision", "moved_worse", "moved_better"].map(String::from));
    let names: Vec<&str> = cols.iter().map(String::as_str).collect();
    let mut r = Report::new(&names);
    for (d, t) in dates.iter().zip(totals) {
        let mut row = vec![
            Cell::Date(*d),
            Cell::Int(t.by_grade.iter().map(|g| g.0 as i64).sum()),
        ];
        for g in &t.by_grade {
            row.push(Cell::Int(g.0 as i64));
        }
        let npl: Decimal = t.by_grade[2..].iter().map(|g| g.1).sum();
        let prov: Decimal = t.by_grade.iter().map(|g| g.2).sum();
        row.push(Cell::Money(npl));
        row.push(Cell::Money(prov));
        row.push(Cell::Int(t.worse as i64));
        row.push(Cell::Int(t.better as i64));
        r.push(row);
    }
    r
}

/// `classify 2026-06-30: 42 loans; 正常 30 (1,234.00), 关注 8 (…), …; provision …; since 2026-05-31: 3 worse, 1 better`
fn summary_line(
    d: NaiveDate,
    t: &grades::Totals,
    previous: Option<NaiveDate>,
    labels: GradeLabels,
) -> String {
    let n: u64 = t.by_grade.iter().map(|g| g.0).sum();
    let parts: Vec<String> = Grade::ALL
        .iter()
        .zip(&t.by_grade)
        .map(|(g, (k, bal, _))| {
            format!(
                "{} {k} ({})",
                label(*g, labels),
                crate::money::fmt_thousands(*bal)
            )
        })
        .collect();
    let prov: Decimal = t.by_grade.iter().map(|g| g.2).sum();
    let mut s = format!(
        "classify {d}: {n} loans; {}; provision {}",
        parts.join(", "),
        crate::money::fmt_thousands(prov)
    );
    match previous {
        Some(p) => s.push_str(&format!(
            "; since {p}: {} worse, {} better",
            t.worse, t.better
        )),
        None => s.push_str("; no earlier saved date to compare"),
    }
    s
}
