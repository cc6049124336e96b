//! Import: CSV tapes into the ledger, all or nothing per run, idempotent on natural keys.
//!
//! Files are read in contract order (loans first, so the other tables can refer to loans of the
//! same run). Loans are upserted row by row; the other tables a loan at a time: the rows of one
//! loan (a tape is in loan order) are compared with the ledger in one query and written only
//! when something differs, so a re-import of an unchanged tape reads but does not write. Every
//! bad row is collected up to `max_errors`; any error rolls the whole run back. After the files,
//! the schedules of new or changed loans without an imported schedule are generated.

use std::collections::{BTreeMap, HashSet};
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};

use crate::context::Ctx;
use crate::db::{
    self,
    ledger::{self, Fact, Ledger, LoanFact, Outcome},
};
use crate::exit;
use crate::mapping::{Mapping, Section};
use crate::records::{
    quote, EventRecord, FollowupRecord, Kind, LoanRecord, Occurrences, OverrideRecord, Record,
    RepaymentRecord, RestructureRecord, Row, ScheduleRecord,
};
use crate::schedule;
use crate::tape::{self, Input, ReadSpec, Tape, TextEncoding};

/// One file to import as one table.
#[derive(Clone, Debug)]
pub struct Job {
    pub kind: Kind,
    pub input: Input,
    pub section: Option<Section>,
}

/// What an import run is asked to do.
#[derive(Clone, Debug)]
pub struct Options {
    pub jobs: Vec<Job>,
    pub encoding: TextEncoding,
    pub delimiter: u8,
    pub skip_rows: usize,
    /// Stop reading after this many bad rows (at least 1).
    pub max_errors: usize,
    /// Do everything, then roll back.
    pub dry_run: bool,
    /// List each changed row with its key and changed columns (a read per written row).
    pub verbose: bool,
}

/// Counts for one file.
#[derive(Clone, Debug, Default)]
pub struct FileStats {
    pub kind: &'static str,
    pub file: String,
    pub sha256: String,
    pub rows: u64,
    pub new: u64,
    pub changed: u64,
    pub unchanged: u64,
    pub skipped: u64,
    pub ms: u64,
}

impl FileStats {
    fn count(&mut self, o: Outcome) {
        match o {
            Outcome::New => self.new += 1,
            Outcome::Changed => self.changed += 1,
            Outcome::Unchanged => self.unchanged += 1,
        }
    }
}

/// The per-file counts a dry run lists.
impl crate::output::Tabular for FileStats {
    const COLUMNS: &'static [&'static str] = &[
        "file",
        "kind",
        "rows",
        "new",
        "changed",
        "unchanged",
        "skipped",
    ];
    fn cells(&self) -> Vec<crate::output::Cell> {
        use crate::output::Cell;
        let n = |v: u64| Cell::Int(i64::try_from(v).unwrap_or(i64::MAX));
        vec![
            Cell::Text(self.file.clone()),
            self.kind.into(),
            n(self.rows),
            n(self.new),
            n(self.changed),
            n(self.unchanged),
            n(self.skipped),
        ]
    }
}

/// What a successful run did (or, in a dry run, would have done).
#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub files: Vec<FileStats>,
    /// Loans whose repayment schedule was generated from the contract.
    pub generated: u64,
    /// Things imported as given that deserve a look (repeated rows, doubtful identity fields).
    pub warnings: Vec<String>,
    /// With `verbose`: each changed row, its key and the columns that changed.
    pub changes: Vec<String>,
}

/// Reads a `--map` file: 66 when missing, 78 when it cannot be read or is not a mapping.
pub fn load_mapping(path: &Path) -> Result<Mapping> {
    let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            exit::no_input(format!("mapping {}: no such file", path.display()))
        }
        _ => exit::config(format!("mapping {}: cannot read: {e}", path.display())),
    })?;
    Mapping::parse(&text).map_err(|e| exit::config(format!("mapping {}: {e}", path.display())))
}

/// The files to import: `kind` None is a tape (a folder, or one file with a mapping). `-` reads
/// standard input (once). Also returns the files of tape folders that are not tape files.
pub fn plan(
    kind: Option<Kind>,
    files: &[PathBuf],
    mapping: Option<&Mapping>,
) -> Result<(Vec<Job>, Vec<PathBuf>)> {
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
    let mut ignored = Vec::new();
    match kind {
        None => {
            for f in files {
                if f.is_dir() {
                    let (found, other) = tape::tape_files(f)?;
                    ignored.extend(other);
                    for (kind, path) in found {
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
        Some(kind) => {
            let section = match mapping {
                Some(m) => Some(m.section(kind).cloned().ok_or_else(|| {
                    exit::config(format!("the mapping has no [{}] section", kind.as_str()))
                })?),
                None => None,
            };
            for f in files {
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
    Ok((jobs, ignored))
}

/// Everything one import run carries across its files.
struct Run {
    errors: Vec<String>,
    max_errors: usize,
    /// Loans that are new or changed in this run: their generated schedule must be (re)built.
    regenerate: Vec<(String, schedule::Terms, Outcome)>,
    files: Vec<FileStats>,
    warnings: Vec<String>,
    changes: Vec<String>,
    verbose: bool,
    /// Errors beyond `max_errors`, counted but not shown.
    not_shown: u64,
    /// The loan_id of every loans row that failed to parse: rows of other files naming one are
    /// not reported again as naming an unknown loan.
    bad_loans: HashSet<String>,
    /// Restructure schedule versions read from schedule rows carrying a `restructure_id`, by id.
    versions: BTreeMap<String, ImportedVersion>,
}

/// The bank's own schedule version of one restructure: the schedule rows carrying its id.
#[derive(Clone)]
struct ImportedVersion {
    loan_id: String,
    /// The schedule file and the line of each row.
    file: String,
    lines: Vec<u64>,
    rows: Vec<crate::engine::Installment>,
    /// Index of the schedule file's counts in `Run::files` (set at the end of that file).
    file_idx: usize,
    /// Taken by a restructures row of this run (as a new restructure, or in error).
    used: bool,
}

impl ImportedVersion {
    /// Counts the version's rows in its schedule file's counts.
    fn count(&self, run_files: &mut [FileStats], o: Outcome) {
        if let Some(st) = run_files.get_mut(self.file_idx) {
            for _ in &self.rows {
                st.count(o);
            }
        }
    }

    /// The first and last line of the version's rows in its file.
    fn line_range(&self) -> (u64, u64) {
        let lo = self.lines.iter().copied().min().unwrap_or(0);
        (lo, self.lines.iter().copied().max().unwrap_or(lo))
    }

    /// A bad row of this version (its first, or row `i`), as an error line.
    fn error(&self, e: &crate::ops::restructure::RowError) -> String {
        let line = self.lines[e.version_row.unwrap_or(0).min(self.lines.len() - 1)];
        format!(
            "{} line {line}, column {}: {}",
            self.file, e.column, e.message
        )
    }
}

impl Run {
    /// True when the run has an error: from then on rows are still checked, never written.
    fn failed(&self) -> bool {
        !self.errors.is_empty()
    }

    /// Records an error: its message while fewer than `max_errors` are shown, else a count.
    fn error(&mut self, msg: String) {
        if self.errors.len() < self.max_errors {
            self.errors.push(msg);
        } else {
            self.not_shown += 1;
        }
    }
}

/// Imports every file of `opts` in one transaction: committed when every row is good (rolled
/// back in a dry run), else nothing is written and the error (exit 65) lists the bad rows.
pub fn run(ctx: &Ctx, opts: &Options) -> Result<Summary> {
    let mut conn = db::open(&ctx.db, db::Mode::Create, ctx.busy_timeout)?;
    db::checks_references_itself(&conn)?;
    let tx = db::begin(&mut conn)?;
    let c: &rusqlite::Connection = &tx;
    let mut db = Ledger::new(c);
    let mut run = Run {
        errors: Vec::new(),
        max_errors: opts.max_errors.max(1),
        regenerate: Vec::new(),
        files: Vec::new(),
        warnings: Vec::new(),
        changes: Vec::new(),
        verbose: opts.verbose,
        not_shown: 0,
        bad_loans: HashSet::new(),
        versions: BTreeMap::new(),
    };
    let started_at = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let mut generated = 0;
    let mut gen_time = std::time::Duration::ZERO;
    for job in &opts.jobs {
        // A restructure is priced on the loan's schedule: the schedules of this run's new or
        // changed loans are generated before the first restructures file is read.
        if job.kind == Kind::Restructures && run.errors.is_empty() {
            let t = Instant::now();
            generated += generate_schedules(&mut db, &mut run)?;
            gen_time += t.elapsed();
        }
        let spec = ReadSpec {
            kind: job.kind,
            encoding: opts.encoding,
            delimiter: opts.delimiter,
            skip_rows: opts.skip_rows,
            section: job.section.as_ref(),
        };
        match job.kind {
            // The loans and followups rows carry IN-list CHECKs (repayment_method; channel,
            // outcome, contact_party) that SQLite would check through a temporary b-tree per
            // row: every column they check is typed or range-checked by the parser, and these
            // files write nothing else, so they are written with the checks off.
            Kind::Loans => db::with_checks_off(c, || {
                import_file::<LoanRecord>(ctx, &mut db, job, &spec, &mut run)
            })?,
            Kind::Schedule => import_file::<ScheduleRecord>(ctx, &mut db, job, &spec, &mut run)?,
            Kind::Repayments => import_file::<RepaymentRecord>(ctx, &mut db, job, &spec, &mut run)?,
            Kind::Followups => db::with_checks_off(c, || {
                import_file::<FollowupRecord>(ctx, &mut db, job, &spec, &mut run)
            })?,
            Kind::Restructures => {
                import_file::<RestructureRecord>(ctx, &mut db, job, &spec, &mut run)?
            }
            Kind::Overrides => import_file::<OverrideRecord>(ctx, &mut db, job, &spec, &mut run)?,
            Kind::Events => import_file::<EventRecord>(ctx, &mut db, job, &spec, &mut run)?,
        }
    }
    if run.errors.is_empty() {
        let t = Instant::now();
        generated += generate_schedules(&mut db, &mut run)?;
        gen_time += t.elapsed();
    }
    if run.errors.is_empty() {
        import_versions(&mut db, &mut run, &started_at)?;
    }
    ctx.debug(&format!(
        "generated {generated} schedules in {:.1} s",
        gen_time.as_secs_f64()
    ));

    if !run.errors.is_empty() {
        drop(db);
        drop(tx); // rolls back
        let n = run.errors.len();
        let mut msg = run.errors.join("\n");
        if run.not_shown > 0 {
            let total = n as u64 + run.not_shown;
            msg.push_str(&format!(
                "\n{total} bad rows, {} more not shown (--max-errors {}); nothing was imported",
                run.not_shown, run.max_errors
            ));
        } else {
            msg.push_str(&format!(
                "\n{n} bad row{}; nothing was imported",
                if n == 1 { "" } else { "s" }
            ));
        }
        return Err(exit::data(msg));
    }
    for s in &run.files {
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
    if opts.dry_run {
        tx.rollback()?;
    } else {
        tx.commit().context("committing the import")?;
    }
    Ok(Summary {
        files: run.files,
        generated,
        warnings: run.warnings,
        changes: run.changes,
    })
}

/// A record type the import reads, and where its rows go.
trait Import: Record + Sized {
    type Sink<'a>: Sink<Self>;
    fn sink<'a>(db: &mut Ledger<'_>, name: &'a str) -> Result<Self::Sink<'a>>;
}

/// Where the rows of one file go.
trait Sink<T> {
    /// Takes one good row (only while the run has no error: once it has, nothing is written).
    fn row(&mut self, db: &mut Ledger<'_>, line: u64, r: T, run: &mut Run) -> Result<()>;
    /// The end of the file.
    fn end(&mut self, db: &mut Ledger<'_>, run: &mut Run) -> Result<()>;
    fn stats(&mut self) -> &mut FileStats;
}

/// Loans: upserted row by row; a new or changed loan gets its schedule (re)generated.
struct Loans<'a> {
    name: &'a str,
    st: FileStats,
    /// Doubtful identity fields: (column, expected, rows, their first lines).
    doubtful: Vec<(&'static str, &'static str, u64, Vec<u64>)>,
}

impl Import for LoanRecord {
    type Sink<'a> = Loans<'a>;
    fn sink<'a>(_: &mut Ledger<'_>, name: &'a str) -> Result<Loans<'a>> {
        Ok(Loans {
            name,
            st: FileStats::default(),
            doubtful: Vec::new(),
        })
    }
}

impl Sink<LoanRecord> for Loans<'_> {
    /// Written even after an error (the run rolls back anyway), so that rows of the other
    /// files naming this loan are not reported as unknown.
    fn row(&mut self, db: &mut Ledger<'_>, line: u64, r: LoanRecord, run: &mut Run) -> Result<()> {
        let o = write(db, self.name, line, &r, run)?;
        if o != Outcome::Unchanged {
            run.regenerate.push((r.loan_id.clone(), r.terms(), o));
        }
        self.st.count(o);
        for (col, expected) in r.doubtful_identity() {
            match self.doubtful.iter_mut().find(|d| d.0 == col) {
                Some(d) => {
                    d.2 += 1;
                    if d.3.len() < SHOWN_LINES {
                        d.3.push(line);
                    }
                }
                None => self.doubtful.push((col, expected, 1, vec![line])),
            }
        }
        Ok(())
    }

    /// One warning a column, never quoting a value (these columns are PII).
    fn end(&mut self, _: &mut Ledger<'_>, run: &mut Run) -> Result<()> {
        for (col, expected, n, lines) in self.doubtful.drain(..) {
            run.warnings.push(format!(
                "{} {}, column {col}: the value {expected} (imported as given)",
                self.name,
                lines_text(&lines, n)
            ));
        }
        Ok(())
    }

    fn stats(&mut self) -> &mut FileStats {
        &mut self.st
    }
}

/// Schedule, repayments, followups: the rows of one loan, in file order, written together.
struct PerLoan<'a, T> {
    name: &'a str,
    st: FileStats,
    /// The table was empty before this file: nothing to compare with.
    fresh: bool,
    lines: Vec<u64>,
    group: Vec<T>,
}

impl<'a, T: Record + LoanFact> PerLoan<'a, T> {
    fn new(db: &mut Ledger<'_>, name: &'a str) -> Result<Self> {
        Ok(PerLoan {
            name,
            st: FileStats::default(),
            // A first import into an empty table skips the comparison with the ledger.
            fresh: db.is_empty(T::KIND)?,
            lines: Vec::new(),
            group: Vec::new(),
        })
    }

    /// Writes the rows of one loan: refused when the loan is unknown, counted unchanged without
    /// writing when the ledger already holds them as they are, else upserted row by row.
    fn flush(&mut self, db: &mut Ledger<'_>, run: &mut Run) -> Result<()> {
        let Some(first) = self.group.first() else {
            return Ok(());
        };
        let loan_id = first.loan_id().to_string();
        if run.bad_loans.contains(&loan_id) {
            // Its loans row was bad and is reported already.
        } else if !db.loan_exists(&loan_id)? {
            let more = match self.group.len() {
                1 => String::new(),
                n => format!(" (nor on {} more rows of that loan)", n - 1),
            };
            run.error(format!(
                "{} line {}, column loan_id: {} is not a loan in the ledger (import its loans row first){more}",
                self.name,
                self.lines[0],
                quote(&loan_id)
            ));
        } else if run.failed() {
            // Checked, not written: the run will roll back.
        } else if !self.fresh && db.unchanged(&loan_id, &self.group)? {
            self.st.unchanged += self.group.len() as u64;
        } else {
            // A table empty before this file holds no generated installments.
            if T::KIND == Kind::Schedule && !self.fresh {
                db.drop_generated_schedule(&loan_id)?;
            }
            for (line, r) in self.lines.iter().zip(&self.group) {
                let o = write(db, self.name, *line, r, run)?;
                self.st.count(o);
            }
        }
        self.lines.clear();
        self.group.clear();
        Ok(())
    }
}

impl<T: Record + LoanFact> Sink<T> for PerLoan<'_, T> {
    fn row(&mut self, db: &mut Ledger<'_>, line: u64, r: T, run: &mut Run) -> Result<()> {
        if self
            .group
            .first()
            .is_some_and(|g| g.loan_id() != r.loan_id())
        {
            self.flush(db, run)?;
        }
        self.lines.push(line);
        self.group.push(r);
        Ok(())
    }

    fn end(&mut self, db: &mut Ledger<'_>, run: &mut Run) -> Result<()> {
        self.flush(db, run)
    }

    fn stats(&mut self) -> &mut FileStats {
        &mut self.st
    }
}

/// Schedule rows: the original schedule a loan at a time ([`PerLoan`]); rows carrying a
/// `restructure_id` are a restructure's schedule version, kept for its restructures row (read
/// later in the run) or, when the restructure is in the ledger already, imported at the end.
struct Schedules<'a> {
    original: PerLoan<'a, ScheduleRecord>,
}

impl Import for ScheduleRecord {
    type Sink<'a> = Schedules<'a>;
    fn sink<'a>(db: &mut Ledger<'_>, name: &'a str) -> Result<Self::Sink<'a>> {
        Ok(Schedules {
            original: PerLoan::new(db, name)?,
        })
    }
}

impl Sink<ScheduleRecord> for Schedules<'_> {
    fn row(
        &mut self,
        db: &mut Ledger<'_>,
        line: u64,
        r: ScheduleRecord,
        run: &mut Run,
    ) -> Result<()> {
        let Some(id) = r.restructure_id.clone() else {
            return self.original.row(db, line, r, run);
        };
        let name = self.original.name;
        let v = run
            .versions
            .entry(id.clone())
            .or_insert_with(|| ImportedVersion {
                loan_id: r.loan_id.clone(),
                file: name.to_string(),
                lines: Vec::new(),
                rows: Vec::new(),
                file_idx: usize::MAX,
                used: false,
            });
        let problem = if v.loan_id != r.loan_id {
            Some(format!(
                "{name} line {line}, column loan_id: {} is not the loan of restructure_id {} ({} on line {})",
                quote(&r.loan_id),
                quote(&id),
                v.loan_id,
                v.lines[0]
            ))
        } else if v.file != name {
            Some(format!(
                "{name} line {line}, column restructure_id: the schedule version of {} is in {} too; give it in one file",
                quote(&id),
                v.file
            ))
        } else {
            None
        };
        if let Some(msg) = problem {
            run.error(msg);
            return Ok(());
        }
        // A repeated installment is reported (or, when identical, warned about) with the file's
        // duplicates; the first stands.
        if !v.rows.iter().any(|i| i.installment_no == r.installment_no) {
            v.lines.push(line);
            v.rows.push(crate::engine::Installment {
                installment_no: r.installment_no,
                due_date: r.due_date,
                principal_due: r.principal_due,
                interest_due: r.interest_due,
                fee_due: r.fee_due,
            });
        }
        Ok(())
    }

    fn end(&mut self, db: &mut Ledger<'_>, run: &mut Run) -> Result<()> {
        self.original.end(db, run)?;
        // `import_file` pushes this file's counts next.
        let idx = run.files.len();
        for v in run.versions.values_mut() {
            if v.file == self.original.name && v.file_idx == usize::MAX {
                v.file_idx = idx;
            }
        }
        Ok(())
    }

    fn stats(&mut self) -> &mut FileStats {
        &mut self.original.st
    }
}

/// The schedule versions no restructures row of this run took: each for a restructure already
/// in the ledger ([`crate::ops::restructure::import_version`]), else an error.
fn import_versions(db: &mut Ledger<'_>, run: &mut Run, at: &str) -> Result<()> {
    let versions = std::mem::take(&mut run.versions);
    for (id, v) in versions.iter().filter(|(_, v)| !v.used) {
        let stored = crate::db::restructures::find(db.conn(), id)?;
        let got = match stored {
            None => Err(crate::ops::restructure::RowError {
                column: "restructure_id",
                message: format!(
                    "{} is not a restructure in the ledger nor in this import (import its restructures row with it)",
                    quote(id)
                ),
                version_row: None,
            }),
            Some(s) if s.loan_id != v.loan_id => Err(crate::ops::restructure::RowError {
                column: "loan_id",
                message: format!(
                    "{} is not the loan of restructure_id {} ({})",
                    quote(&v.loan_id),
                    quote(id),
                    s.loan_id
                ),
                version_row: None,
            }),
            Some(s) => {
                let src = crate::db::restructures::Source {
                    file: &v.file,
                    lines: v.line_range(),
                    at,
                };
                crate::ops::restructure::import_version(db.conn(), &s, &v.rows, src)
                    .with_context(|| format!("{} line {}: writing to the ledger", v.file, v.lines[0]))?
            }
        };
        match got {
            Ok(o) => v.count(&mut run.files, o),
            Err(e) => run.error(v.error(&e)),
        }
    }
    Ok(())
}

impl Import for RepaymentRecord {
    type Sink<'a> = PerLoan<'a, RepaymentRecord>;
    fn sink<'a>(db: &mut Ledger<'_>, name: &'a str) -> Result<Self::Sink<'a>> {
        PerLoan::new(db, name)
    }
}

impl Import for FollowupRecord {
    type Sink<'a> = PerLoan<'a, FollowupRecord>;
    fn sink<'a>(db: &mut Ledger<'_>, name: &'a str) -> Result<Self::Sink<'a>> {
        PerLoan::new(db, name)
    }
}

/// Restructures: one row at a time, each priced on the loan as the ledger holds it
/// (`ops::restructure`), so they are read after the loans, schedules and repayments.
struct Restructures<'a> {
    name: &'a str,
    st: FileStats,
    at: String,
}

impl Import for RestructureRecord {
    type Sink<'a> = Restructures<'a>;
    fn sink<'a>(_: &mut Ledger<'_>, name: &'a str) -> Result<Restructures<'a>> {
        Ok(Restructures {
            name,
            st: FileStats::default(),
            at: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        })
    }
}

impl Sink<RestructureRecord> for Restructures<'_> {
    fn row(
        &mut self,
        db: &mut Ledger<'_>,
        line: u64,
        r: RestructureRecord,
        run: &mut Run,
    ) -> Result<()> {
        if run.failed() {
            // Priced on the schedules this run would generate, which it will not: skipped.
            return Ok(());
        }
        // A new restructure takes the schedule version this run read for it (an existing one's
        // version is imported at the end of the run).
        let is_new = crate::db::restructures::find(db.conn(), &r.restructure_id)?.is_none();
        let version = match run.versions.get_mut(&r.restructure_id) {
            Some(v) if is_new && r.kind != crate::restructure::Kind::Cancelled => {
                v.used = true;
                Some(v.clone())
            }
            _ => None,
        };
        if let Some(v) = &version {
            if v.loan_id != r.loan_id {
                run.error(format!(
                        "{} line {line}, column loan_id: {} is not the loan of the schedule version of restructure_id {} ({} in {} line {})",
                        self.name,
                        quote(&r.loan_id),
                        quote(&r.restructure_id),
                        v.loan_id,
                        v.file,
                        v.lines[0]
                    ));
                return Ok(());
            }
        }
        let got = crate::ops::restructure::import_row(
            db.conn(),
            &r,
            version.as_ref().map(|v| v.rows.as_slice()),
            crate::db::restructures::Source {
                file: self.name,
                lines: (line, line),
                at: &self.at,
            },
        )
        .with_context(|| format!("{} line {line}: writing to the ledger", self.name))?;
        match (got, version) {
            (Ok(o), v) => {
                self.st.count(o);
                if let Some(v) = v {
                    v.count(&mut run.files, o);
                }
            }
            (Err(e), Some(v)) if e.version_row.is_some() => {
                let msg = v.error(&e);
                run.error(msg);
            }
            (Err(e), _) => {
                run.error(format!(
                    "{} line {line}, column {}: {}",
                    self.name, e.column, e.message
                ));
            }
        }
        Ok(())
    }

    fn end(&mut self, _: &mut Ledger<'_>, _: &mut Run) -> Result<()> {
        Ok(())
    }

    fn stats(&mut self) -> &mut FileStats {
        &mut self.st
    }
}

/// Overrides and events: few rows, upserted one by one after checking that the loan (or, for a
/// borrower-level event, the borrower) is in the ledger.
struct Judgements<'a> {
    name: &'a str,
    st: FileStats,
}

/// Whom a judgement row is about.
trait Subject {
    /// The borrower, when the row names a borrower instead of a loan.
    fn borrower(&self) -> Option<&str> {
        None
    }
}

impl Subject for OverrideRecord {}

impl Subject for EventRecord {
    fn borrower(&self) -> Option<&str> {
        (self.loan_id.is_empty()).then_some(self.borrower_id.as_str())
    }
}

impl<T: Record + Fact + Subject> Sink<T> for Judgements<'_> {
    fn row(&mut self, db: &mut Ledger<'_>, line: u64, r: T, run: &mut Run) -> Result<()> {
        let known = match r.borrower() {
            Some(b) => db.borrower_exists(b)?,
            None => db.loan_exists(r.loan_id())?,
        };
        if !known {
            let (col, id, what) = match r.borrower() {
                Some(b) => ("borrower_id", b, "a borrower of any loan"),
                None => ("loan_id", r.loan_id(), "a loan"),
            };
            run.error(format!(
                "{} line {line}, column {col}: {} is not {what} in the ledger (import its loans row first)",
                self.name,
                quote(id)
            ));
            return Ok(());
        }
        let o = r
            .upsert(db)
            .with_context(|| format!("{} line {line}: writing to the ledger", self.name))?;
        self.st.count(o);
        Ok(())
    }

    fn end(&mut self, _: &mut Ledger<'_>, _: &mut Run) -> Result<()> {
        Ok(())
    }

    fn stats(&mut self) -> &mut FileStats {
        &mut self.st
    }
}

impl Import for OverrideRecord {
    type Sink<'a> = Judgements<'a>;
    fn sink<'a>(_: &mut Ledger<'_>, name: &'a str) -> Result<Judgements<'a>> {
        Ok(Judgements {
            name,
            st: FileStats::default(),
        })
    }
}

impl Import for EventRecord {
    type Sink<'a> = Judgements<'a>;
    fn sink<'a>(_: &mut Ledger<'_>, name: &'a str) -> Result<Judgements<'a>> {
        Ok(Judgements {
            name,
            st: FileStats::default(),
        })
    }
}

/// Upserts one row; with `verbose`, notes which columns of a changed row changed.
fn write<T: Record + Fact>(
    db: &mut Ledger<'_>,
    name: &str,
    line: u64,
    r: &T,
    run: &mut Run,
) -> Result<Outcome> {
    let at = || format!("{name} line {line}: writing to the ledger");
    if !run.verbose {
        return r.upsert(db).with_context(at);
    }
    let (o, cols) = r.upsert_noting_changes(db).with_context(at)?;
    if o == Outcome::Changed {
        run.changes.push(format!(
            "{name} line {line}: {} changed: {}",
            r.key(),
            cols.join(", ")
        ));
    }
    Ok(o)
}

/// Reads one file into its sink, then looks for duplicate keys in it.
fn import_file<T: Import>(
    ctx: &Ctx,
    db: &mut Ledger<'_>,
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
    let mut sink = T::sink(db, &name)?;
    let mut rec = csv::StringRecord::new();
    let mut keys: Vec<u64> = Vec::new();
    let mut seen = Occurrences::new();
    let (mut rows, mut skipped) = (0u64, 0u64);
    while let Some(next) = tape.next(&mut rec)? {
        let line = match next {
            Ok(line) => line,
            Err(msg) => {
                run.error(msg);
                continue;
            }
        };
        if tape.skipped(&rec) {
            skipped += 1;
            continue;
        }
        rows += 1;
        let row = tape.row(&rec);
        let mut parsed = match T::parse(&row, &tape.opts) {
            Ok(p) => p,
            Err(e) => {
                run.error(e.message(&name, line, &row.get(e.column)));
                if T::KIND == Kind::Loans {
                    run.bad_loans.insert(row.get("loan_id").into_owned());
                }
                continue;
            }
        };
        parsed.number(&mut seen);
        keys.push(key_hash(&parsed));
        // After an error, rows are still checked (unknown loans too) but not written.
        sink.row(db, line, parsed, run)?;
    }
    sink.end(db, run)?;
    let (sha, bytes) = tape.finish();
    ctx.debug(&format!(
        "{name}: read {bytes} bytes in {:.1} s",
        t0.elapsed().as_secs_f64()
    ));
    find_duplicates::<T>(job, spec, &name, keys, run)?;
    let st = std::mem::take(sink.stats());
    run.files.push(FileStats {
        kind: job.kind.as_str(),
        file: job.input.display(),
        sha256: sha,
        rows,
        skipped,
        ms: t0.elapsed().as_millis() as u64,
        ..st
    });
    Ok(())
}

const FNV_OFFSET: u64 = 0xcbf29ce484222325;

/// A 64-bit FNV-1a hash of the row's identity (equal identities hash equally), computed
/// without building it as text.
fn key_hash<T: Record>(r: &T) -> u64 {
    let mut h = FNV_OFFSET;
    r.identity(&mut |bytes| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x100000001b3);
        }
    });
    h
}

/// The row's identity as bytes (only for rows whose hash repeats).
fn identity<T: Record>(r: &T) -> Vec<u8> {
    let mut out = Vec::new();
    r.identity(&mut |bytes| {
        out.extend_from_slice(bytes);
        out.push(0x1f);
    });
    out
}

/// How many line numbers a message lists.
const SHOWN_LINES: usize = 10;

/// `line 4` / `lines 4, 9` / `lines 4, 9, … (25 rows)` for `n` rows of which `lines` are the first.
fn lines_text(lines: &[u64], n: u64) -> String {
    let list: Vec<String> = lines.iter().map(u64::to_string).collect();
    match n {
        1 => format!("line {}", list.join(", ")),
        n if n as usize > lines.len() => format!("lines {}, … ({n} rows)", list.join(", ")),
        _ => format!("lines {}", list.join(", ")),
    }
}

/// One key that occurs more than once in a file.
struct Repeated {
    key: String,
    /// The first row's contract columns.
    first: Vec<String>,
    lines: Vec<u64>,
    /// Later lines whose content differs from the first row's, with the differing columns.
    conflicts: Vec<(u64, Vec<&'static str>)>,
}

/// Finds keys that occur more than once in one file. A row repeated with the same content is
/// imported once (the upsert of the copy changes nothing) with one warning listing its lines;
/// the same key with different content is an error naming both lines and the differing
/// columns. Keys are first compared by a 64-bit hash (8 bytes a row); only when hashes repeat
/// is the file read again.
fn find_duplicates<T: Import>(
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
    let columns: Vec<&'static str> = T::KIND
        .required()
        .iter()
        .chain(T::KIND.optional())
        .copied()
        .collect();
    let mut tape = Tape::open(job.input.clone(), spec, false)?;
    let mut rec = csv::StringRecord::new();
    let mut seen = Occurrences::new();
    let mut found: Vec<(Vec<u8>, Repeated)> = Vec::new();
    while let Some(next) = tape.next(&mut rec)? {
        let Ok(line) = next else { continue };
        if tape.skipped(&rec) {
            continue;
        }
        let row = tape.row(&rec);
        let Ok(mut parsed) = T::parse(&row, &tape.opts) else {
            continue;
        };
        parsed.number(&mut seen);
        if !dup.contains(&key_hash(&parsed)) {
            continue;
        }
        let id = identity(&parsed);
        let values: Vec<String> = columns.iter().map(|c| row.get(c).into_owned()).collect();
        match found.iter_mut().find(|(k, _)| *k == id) {
            Some((_, r)) => {
                let differ: Vec<&'static str> = columns
                    .iter()
                    .zip(&values)
                    .zip(&r.first)
                    .filter(|((_, v), f)| v != f)
                    .map(|((c, _), _)| *c)
                    .collect();
                r.lines.push(line);
                if !differ.is_empty() {
                    r.conflicts.push((line, differ));
                }
            }
            None => found.push((
                id,
                Repeated {
                    key: parsed.key(),
                    first: values,
                    lines: vec![line],
                    conflicts: Vec::new(),
                },
            )),
        }
    }
    for (_, r) in found.into_iter().filter(|(_, r)| r.lines.len() > 1) {
        if r.conflicts.is_empty() {
            let n = r.lines.len() as u64;
            let shown = &r.lines[..r.lines.len().min(SHOWN_LINES)];
            run.warnings.push(format!(
                "{name} {}: the same row ({}) repeated; imported once",
                lines_text(shown, n),
                r.key
            ));
            continue;
        }
        let rest: Vec<String> = r
            .conflicts
            .iter()
            .map(|(line, cols)| format!("line {line} (different {})", cols.join(", ")))
            .collect();
        run.error(format!(
            "{name} line {}: duplicate key ({}) with different content on {}",
            r.lines[0],
            r.key,
            rest.join(", ")
        ));
    }
    Ok(())
}

/// Builds the schedule of every new or changed loan that has no imported schedule.
fn generate_schedules(db: &mut Ledger<'_>, run: &mut Run) -> Result<u64> {
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
                run.error(format!(
                    "loans, loan_id {loan_id}: cannot generate a repayment schedule: {e} (import a schedule for it, or fix the contract)"
                ));
            }
        }
    }
    Ok(n)
}
