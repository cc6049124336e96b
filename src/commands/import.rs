//! `daihou import`: CSV tapes into the ledger, all or nothing per run, idempotent on natural keys.

use std::collections::HashSet;
use std::io::{IsTerminal, Read};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};

use crate::cli::{Encoding, ImportArgs, ImportKind};
use crate::context::Ctx;
use crate::db::{self, ledger, ledger::Outcome};
use crate::exit;
use crate::mapping::{Mapping, Section};
use crate::output::{self, Cell, Report};
use crate::records::{self, FieldError, Kind};
use crate::schedule;
use crate::tape::{self, Input, ReadSpec, Tape, TextEncoding};

/// One file to import as one table.
struct Job {
    kind: Kind,
    input: Input,
    section: Option<Section>,
}

/// Counts for one file.
#[derive(Clone, Debug, Default)]
struct Stats {
    kind: &'static str,
    file: String,
    sha256: String,
    rows: u64,
    new: u64,
    changed: u64,
    unchanged: u64,
    skipped: u64,
    ms: u64,
}

/// A parsed row of any kind.
enum Parsed {
    Loan(Box<records::LoanRecord>),
    Schedule(records::ScheduleRecord),
    Repayment(records::RepaymentRecord),
    Followup(records::FollowupRecord),
}

impl Stats {
    fn count(&mut self, o: Outcome) {
        match o {
            Outcome::New => self.new += 1,
            Outcome::Changed => self.changed += 1,
            Outcome::Unchanged => self.unchanged += 1,
        }
    }
}

impl Parsed {
    fn loan_id(&self) -> &str {
        match self {
            Parsed::Loan(r) => &r.loan_id,
            Parsed::Schedule(r) => &r.loan_id,
            Parsed::Repayment(r) => &r.loan_id,
            Parsed::Followup(r) => &r.loan_id,
        }
    }

    fn parse(
        kind: Kind,
        row: &dyn records::Row,
        opts: &records::ParseOptions,
    ) -> Result<Parsed, FieldError> {
        Ok(match kind {
            Kind::Loans => Parsed::Loan(Box::new(records::parse_loan(row, opts)?)),
            Kind::Schedule => Parsed::Schedule(records::parse_schedule(row, opts)?),
            Kind::Repayments => Parsed::Repayment(records::parse_repayment(row, opts)?),
            Kind::Followups => Parsed::Followup(records::parse_followup(row, opts)?),
        })
    }

    /// The natural key, as text for messages.
    fn key(&self) -> String {
        match self {
            Parsed::Loan(r) => format!("loan_id {}", r.loan_id),
            Parsed::Schedule(r) => {
                format!("loan_id {}, installment_no {}", r.loan_id, r.installment_no)
            }
            Parsed::Repayment(r) => format!("txn_id {}", r.txn_id),
            Parsed::Followup(r) => format!(
                "an identical followup of loan_id {} on {}",
                r.loan_id, r.contact_date
            ),
        }
    }

    /// What makes two rows the same row: the natural key, or for a followup (which has none)
    /// its whole content, so two different contacts on one day are not duplicates.
    fn identity(&self) -> String {
        match self {
            Parsed::Followup(r) => r.followup_id(),
            _ => self.key(),
        }
    }

    /// A 64-bit hash of the fields that make up [`Parsed::identity`] (equal identities hash
    /// equally), computed without building the text.
    fn key_hash(&self) -> u64 {
        match self {
            Parsed::Loan(r) => fnv1a(FNV_OFFSET, r.loan_id.as_bytes()),
            Parsed::Schedule(r) => fnv1a(
                fnv1a(FNV_OFFSET, r.loan_id.as_bytes()),
                &r.installment_no.to_le_bytes(),
            ),
            Parsed::Repayment(r) => fnv1a(FNV_OFFSET, r.txn_id.as_bytes()),
            Parsed::Followup(r) => fnv1a(FNV_OFFSET, r.followup_id().as_bytes()),
        }
    }
}

const FNV_OFFSET: u64 = 0xcbf29ce484222325;

fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

/// Quotes a (non-PII) value for an error message, shortened and with control characters shown.
fn quote(v: &str) -> String {
    let mut s: String = v.chars().take(40).flat_map(char::escape_debug).collect();
    if v.chars().count() > 40 {
        s.push('…');
    }
    format!("\"{s}\"")
}

fn field_error(name: &str, line: u64, row: &dyn records::Row, e: &FieldError) -> String {
    let value = row.get(e.column);
    if value.is_empty() {
        let rest = e.expected.strip_prefix("is empty; ").unwrap_or(&e.expected);
        format!(
            "{name} line {line}, column {}: empty value; {rest}",
            e.column
        )
    } else if records::is_pii(e.column) {
        format!(
            "{name} line {line}, column {}: the value {}",
            e.column, e.expected
        )
    } else if value.contains('\n') {
        // Most likely a quote left open: the value swallowed the rest of the line and the lines
        // after it, which may hold borrower data, so it is not shown.
        format!(
            "{name} line {line}, column {}: the value (running over {} lines; is a quote left open?) {}",
            e.column,
            value.split('\n').count(),
            e.expected
        )
    } else {
        format!(
            "{name} line {line}, column {}: {} {}",
            e.column,
            quote(&row.get(e.column)),
            e.expected
        )
    }
}

/// Everything one import run carries across its files.
struct Run {
    errors: Vec<String>,
    max_errors: usize,
    /// Loans that are new or changed in this run: their generated schedule must be (re)built.
    regenerate: Vec<(String, schedule::Terms, Outcome)>,
    stats: Vec<Stats>,
}

impl Run {
    fn full(&self) -> bool {
        self.errors.len() >= self.max_errors
    }
}

pub fn run(ctx: &Ctx, args: &ImportArgs) -> Result<()> {
    let mapping = match &args.map {
        Some(p) => Some(load_mapping(p)?),
        None => None,
    };
    let encoding = match (
        args.encoding,
        mapping.as_ref().and_then(|m| m.encoding.as_deref()),
    ) {
        (Some(Encoding::Utf8), _) => TextEncoding::Utf8,
        (Some(_), _) => TextEncoding::Gb18030,
        (None, Some(e)) if !e.to_ascii_lowercase().starts_with("utf") => TextEncoding::Gb18030,
        _ => TextEncoding::Utf8,
    };
    let jobs = plan_jobs(args, mapping.as_ref())?;
    let delimiter = mapping.as_ref().and_then(|m| m.delimiter).unwrap_or(b',');
    let skip_rows = mapping.as_ref().map_or(0, |m| m.skip_rows);

    let mut conn = db::open(&ctx.db, db::Mode::Create, ctx.busy_timeout)?;
    db::checks_references_itself(&conn)?;
    let tx = db::begin(&mut conn)?;
    let mut db = ledger::Ledger::new(&tx);
    let mut run = Run {
        errors: Vec::new(),
        max_errors: args.max_errors.max(1),
        regenerate: Vec::new(),
        stats: Vec::new(),
    };
    let started_at = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    for job in &jobs {
        let spec = ReadSpec {
            kind: job.kind,
            encoding,
            delimiter,
            skip_rows,
            section: job.section.as_ref(),
        };
        import_file(ctx, &mut db, job, &spec, &mut run)?;
        if run.full() {
            break;
        }
    }
    let t = Instant::now();
    let generated = if run.errors.is_empty() {
        generate_schedules(&mut db, &mut run)?
    } else {
        0
    };
    ctx.debug(&format!(
        "generated {generated} schedules in {:.1} s",
        t.elapsed().as_secs_f64()
    ));

    if !run.errors.is_empty() {
        drop(db);
        drop(tx); // rolls back
        let n = run.errors.len();
        let mut msg = run.errors.join("\n");
        if n >= run.max_errors {
            msg.push_str(&format!(
                "\nstopped after {n} errors (--max-errors {}); nothing was imported",
                run.max_errors
            ));
        } else {
            msg.push_str(&format!(
                "\n{n} bad row{}; nothing was imported",
                if n == 1 { "" } else { "s" }
            ));
        }
        return Err(exit::data(msg));
    }
    for s in &run.stats {
        db.log_import(&ledger::ImportLog {
            kind: s.kind,
            file: &s.file,
            sha256: &s.sha256,
            rows: s.rows,
            new: s.new,
            changed: s.changed,
            unchanged: s.unchanged,
            skipped: s.skipped,
            started_at: &started_at,
            duration_ms: s.ms,
        })?;
    }
    drop(db);
    if args.dry_run {
        tx.rollback()?;
    } else {
        tx.commit().context("committing the import")?;
    }
    let prefix = if args.dry_run {
        "import (dry run)"
    } else {
        "import"
    };
    for s in &run.stats {
        let mut line = format!(
            "{prefix} {}: {} rows, {} new, {} changed, {} unchanged",
            s.file, s.rows, s.new, s.changed, s.unchanged
        );
        if s.skipped > 0 {
            line.push_str(&format!(", {} skipped", s.skipped));
        }
        line.push_str(&format!(", {:.1} s", s.ms as f64 / 1000.0));
        ctx.note(&line);
    }
    if generated > 0 {
        ctx.note(&format!(
            "{prefix}: generated repayment schedules for {generated} loan{}",
            if generated == 1 { "" } else { "s" }
        ));
    }
    if args.dry_run {
        ctx.note("dry run: rolled back, the ledger was not changed");
        let mut report = Report::new(&[
            "file",
            "kind",
            "rows",
            "new",
            "changed",
            "unchanged",
            "skipped",
        ]);
        for s in &run.stats {
            report.push(vec![
                Cell::Text(s.file.clone()),
                s.kind.into(),
                Cell::Int(s.rows as i64),
                Cell::Int(s.new as i64),
                Cell::Int(s.changed as i64),
                Cell::Int(s.unchanged as i64),
                Cell::Int(s.skipped as i64),
            ]);
        }
        output::emit(ctx, &report)?;
    }
    Ok(())
}

fn load_mapping(path: &Path) -> Result<Mapping> {
    let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            exit::no_input(format!("mapping {}: no such file", path.display()))
        }
        _ => exit::config(format!("mapping {}: cannot read: {e}", path.display())),
    })?;
    Mapping::parse(&text).map_err(|e| exit::config(format!("mapping {}: {e}", path.display())))
}

fn plan_jobs(args: &ImportArgs, mapping: Option<&Mapping>) -> Result<Vec<Job>> {
    let mut stdin: Option<Arc<Vec<u8>>> = None;
    let mut input_of = |p: &Path| -> Result<Input> {
        if p.as_os_str() == "-" {
            if stdin.is_some() {
                return Err(exit::usage("`-` (standard input) can be given only once"));
            }
            let mut buf = Vec::new();
            std::io::stdin()
                .lock()
                .read_to_end(&mut buf)
                .context("reading standard input")?;
            let rc = Arc::new(buf);
            stdin = Some(rc.clone());
            Ok(Input::Stdin(rc))
        } else {
            Ok(Input::Path(p.to_path_buf()))
        }
    };
    let mut jobs = Vec::new();
    match args.kind {
        ImportKind::Tape => {
            for f in &args.files {
                if f.is_dir() {
                    for (kind, path) in tape::tape_files(f)? {
                        jobs.push(Job {
                            kind,
                            input: Input::Path(path),
                            section: mapping.and_then(|m| m.section(kind).cloned()),
                        });
                    }
                } else if let Some(m) = mapping {
                    let input = input_of(f)?;
                    for sec in &m.sections {
                        jobs.push(Job {
                            kind: sec.kind,
                            input: input.clone(),
                            section: Some(sec.clone()),
                        });
                    }
                } else if !f.exists() && f.as_os_str() != "-" {
                    return Err(exit::no_input(format!("{}: no such folder", f.display())));
                } else {
                    return Err(exit::usage(format!(
                        "{}: `import tape` takes a folder of tape files (or one file with --map)",
                        f.display()
                    )));
                }
            }
        }
        other => {
            let kind = match other {
                ImportKind::Loans => Kind::Loans,
                ImportKind::Schedule => Kind::Schedule,
                ImportKind::Repayments => Kind::Repayments,
                _ => Kind::Followups,
            };
            let section = match mapping {
                Some(m) => Some(m.section(kind).cloned().ok_or_else(|| {
                    exit::config(format!("the mapping has no [{}] section", kind.as_str()))
                })?),
                None => None,
            };
            for f in &args.files {
                jobs.push(Job {
                    kind,
                    input: input_of(f)?,
                    section: section.clone(),
                });
            }
        }
    }
    // Loans first, so rows of the other tables can refer to loans of the same run.
    jobs.sort_by_key(|j| Kind::ALL.iter().position(|k| *k == j.kind));
    Ok(jobs)
}

fn import_file(
    ctx: &Ctx,
    db: &mut ledger::Ledger<'_>,
    job: &Job,
    spec: &ReadSpec<'_>,
    run: &mut Run,
) -> Result<()> {
    let t0 = Instant::now();
    let progress = !ctx.quiet
        && std::io::stderr().is_terminal()
        && job.input.byte_len().unwrap_or(0) > 16 << 20;
    let mut tape = Tape::open(job.input.clone(), spec, progress)?;
    let name = tape.name.clone();
    let mut st = Stats {
        kind: job.kind.as_str(),
        file: job.input.display(),
        ..Default::default()
    };
    let mut rec = csv::StringRecord::new();
    let mut keys: Vec<u64> = Vec::new();
    // Rows of one loan, in file order: a tape in loan order is compared with the ledger one
    // loan at a time (one seek a loan, not one a row), so a re-import of an unchanged tape
    // reads but does not write. A first import into an empty table skips the comparison.
    let fresh = job.kind != Kind::Loans && db.is_empty(job.kind.as_str())?;
    let mut group: Vec<(u64, Parsed)> = Vec::new();
    while let Some(next) = tape.next(&mut rec)? {
        let line = match next {
            Ok(line) => line,
            Err(msg) => {
                run.errors.push(msg);
                if run.full() {
                    break;
                }
                continue;
            }
        };
        if tape.skipped(&rec) {
            st.skipped += 1;
            continue;
        }
        st.rows += 1;
        let row = tape.row(&rec);
        let parsed = match Parsed::parse(job.kind, &row, &tape.opts) {
            Ok(p) => p,
            Err(e) => {
                run.errors.push(field_error(&name, line, &row, &e));
                if run.full() {
                    break;
                }
                continue;
            }
        };
        keys.push(parsed.key_hash());
        if !run.errors.is_empty() {
            group.clear();
            continue; // keep checking rows, but stop writing: the run will roll back
        }
        if let Parsed::Loan(r) = &parsed {
            let o = db
                .upsert_loan(r)
                .with_context(|| format!("{name} line {line}: writing to the ledger"))?;
            if o != Outcome::Unchanged {
                run.regenerate.push((r.loan_id.clone(), r.terms(), o));
            }
            st.count(o);
            continue;
        }
        if group
            .first()
            .is_some_and(|(_, g)| g.loan_id() != parsed.loan_id())
        {
            write_group(db, &name, &mut group, fresh, &mut st, run)?;
            if run.full() {
                break;
            }
        }
        group.push((line, parsed));
    }
    if run.errors.is_empty() && !group.is_empty() {
        write_group(db, &name, &mut group, fresh, &mut st, run)?;
    }
    let (sha, bytes) = tape.finish();
    st.sha256 = sha;
    ctx.debug(&format!(
        "{name}: read {bytes} bytes in {:.1} s",
        t0.elapsed().as_secs_f64()
    ));
    if !run.full() {
        find_duplicates(job, spec, &name, keys, run)?;
    }
    st.ms = t0.elapsed().as_millis() as u64;
    run.stats.push(st);
    Ok(())
}

/// Writes the rows of one loan: refused when the loan is unknown, counted unchanged without
/// writing when the ledger already holds them as they are, else upserted row by row.
fn write_group(
    db: &mut ledger::Ledger<'_>,
    name: &str,
    group: &mut Vec<(u64, Parsed)>,
    fresh: bool,
    st: &mut Stats,
    run: &mut Run,
) -> Result<()> {
    let Some((first_line, first)) = group.first() else {
        return Ok(());
    };
    let loan_id = first.loan_id().to_string();
    let first_line = *first_line;
    if !db.loan_exists(&loan_id)? {
        let more = match group.len() {
            1 => String::new(),
            n => format!(" (nor on {} more rows of that loan)", n - 1),
        };
        run.errors.push(format!(
            "{name} line {first_line}, column loan_id: {} is not a loan in the ledger (import its loans row first){more}",
            quote(&loan_id)
        ));
        group.clear();
        return Ok(());
    }
    let unchanged = !fresh
        && match first {
            Parsed::Schedule(_) => {
                let rows: Vec<&records::ScheduleRecord> = group
                    .iter()
                    .filter_map(|(_, p)| {
                        if let Parsed::Schedule(r) = p {
                            Some(r)
                        } else {
                            None
                        }
                    })
                    .collect();
                db.schedule_unchanged(&loan_id, &rows)?
            }
            Parsed::Repayment(_) => {
                let rows: Vec<&records::RepaymentRecord> = group
                    .iter()
                    .filter_map(|(_, p)| {
                        if let Parsed::Repayment(r) = p {
                            Some(r)
                        } else {
                            None
                        }
                    })
                    .collect();
                db.repayments_unchanged(&loan_id, &rows)?
            }
            Parsed::Followup(_) => {
                let ids: Vec<String> = group
                    .iter()
                    .filter_map(|(_, p)| {
                        if let Parsed::Followup(r) = p {
                            Some(r.followup_id())
                        } else {
                            None
                        }
                    })
                    .collect();
                db.followups_unchanged(&loan_id, &ids)?
            }
            Parsed::Loan(_) => false,
        };
    if unchanged {
        st.unchanged += group.len() as u64;
        group.clear();
        return Ok(());
    }
    if matches!(first, Parsed::Schedule(_)) {
        db.drop_generated_schedule(&loan_id)?;
    }
    for (line, p) in group.drain(..) {
        let o = match &p {
            Parsed::Schedule(r) => db.upsert_schedule(r),
            Parsed::Repayment(r) => db.upsert_repayment(r),
            Parsed::Followup(r) => db.insert_followup(r),
            Parsed::Loan(r) => db.upsert_loan(r),
        }
        .with_context(|| format!("{name} line {line}: writing to the ledger"))?;
        st.count(o);
    }
    Ok(())
}

/// Reports keys that occur more than once in one file, with their lines. Keys are first compared
/// by a 64-bit hash (8 bytes a row); only when hashes repeat is the file read again for the lines.
fn find_duplicates(
    job: &Job,
    spec: &ReadSpec<'_>,
    name: &str,
    mut keys: Vec<u64>,
    run: &mut Run,
) -> Result<()> {
    keys.sort_unstable();
    let mut dup_hashes: Vec<u64> = keys
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| w[0])
        .collect();
    dup_hashes.dedup();
    if dup_hashes.is_empty() {
        return Ok(());
    }
    drop(keys);
    let dup: HashSet<u64> = dup_hashes.into_iter().collect();
    let mut tape = Tape::open(job.input.clone(), spec, false)?;
    let mut rec = csv::StringRecord::new();
    let mut seen: Vec<(String, String, Vec<u64>)> = Vec::new();
    while let Some(next) = tape.next(&mut rec)? {
        let Ok(line) = next else { continue };
        if tape.skipped(&rec) {
            continue;
        }
        let Ok(parsed) = Parsed::parse(job.kind, &tape.row(&rec), &tape.opts) else {
            continue;
        };
        if dup.contains(&parsed.key_hash()) {
            let id = parsed.identity();
            match seen.iter_mut().find(|(k, _, _)| *k == id) {
                Some((_, _, lines)) => lines.push(line),
                None => seen.push((id, parsed.key(), vec![line])),
            }
        }
    }
    for (_, key, lines) in seen.into_iter().filter(|(_, _, l)| l.len() > 1) {
        let rest: Vec<String> = lines[1..].iter().map(u64::to_string).collect();
        run.errors.push(format!(
            "{name} line {}: duplicate key ({key}), also on line {}",
            lines[0],
            rest.join(", ")
        ));
        if run.full() {
            break;
        }
    }
    Ok(())
}

/// Builds the schedule of every new or changed loan that has no imported schedule.
fn generate_schedules(db: &mut ledger::Ledger<'_>, run: &mut Run) -> Result<u64> {
    let mut n = 0;
    for (loan_id, terms, outcome) in std::mem::take(&mut run.regenerate) {
        if db.has_imported_schedule(&loan_id)? {
            continue;
        }
        match schedule::generate(&terms) {
            // A change outside the contract terms (say, a new officer) leaves the schedule as it is.
            Ok(inst)
                if outcome == Outcome::Changed && db.generated_schedule_is(&loan_id, &inst)? => {}
            Ok(inst) => {
                db.replace_generated_schedule(&loan_id, &inst)?;
                n += 1;
            }
            Err(e) => {
                run.errors.push(format!(
                    "loans, loan_id {loan_id}: cannot generate a repayment schedule: {e} (import a schedule for it, or fix the contract)"
                ));
                if run.full() {
                    break;
                }
            }
        }
    }
    Ok(n)
}
