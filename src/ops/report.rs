//! The work behind `daihou report NAME`: one streamed pass over the book
//! ([`portfolio::scan`], every date the report needs at once), the saved classify runs for the
//! grades, the follow-up log and the visit plans where a report needs them; the figures come
//! from the pure `crate::report` modules, laid out by [`crate::report::docs`]. `portfolio`,
//! `management`, `collections` and `vintage` fold each loan into their figures as it streams
//! (the first two through `fold`, as `migration` and `vintage` through their own consumers):
//! nothing per loan is kept but, when grades are computed in the pass, the loans of the grouped borrowers the
//! borrower-level rules may regrade (contagion's borrower type: corporate under cn2023), until
//! those rules have run over them.
//!
//! * Grades are read from the classify run saved for a date (`classify --save`). For a date
//!   without one, `portfolio` and `management` compute them in their own pass with the classify
//!   op's work ([`Grading`], then its borrower-level rules over the grouped borrowers), and
//!   stderr says so; so does `migration` for its two ends (the grade matrix), replaying an end
//!   it would otherwise read from a saved `overdue` run.
//! * A loan is **restructured** on a date when a restructure (not cancelled) is in force then.

use std::collections::{BTreeMap, HashMap, HashSet};

use anyhow::Result;
use chrono::{Days, NaiveDate};

use crate::buckets::Buckets;
use crate::classify::rules::RuleSet;
use crate::classify::stage::Staging;
use crate::classify::Grade;
use crate::cli::LoanFilterArgs;
use crate::collection::{self, PromiseState};
use crate::context::Ctx;
use crate::db::report::{LoanFilter, SavedCursor, SavedGrade, SavedTable};
use crate::db::{self, book};
use crate::engine::{self, InstallmentStatus};
use crate::i18n::Lang;
use crate::ops::classify::{self, Grading};
use crate::ops::portfolio::{self, Consumer, LoanAssessment, Setup};
use crate::output::Document;
use crate::profile;
use crate::report::collections::{self, ContactRow, Due, LoanFacts, LoanKpis, Plan, Promise};
use crate::report::conduct::{self, AuditRules, Logged};
use crate::report::docs::{self, Decision};
use crate::report::migration::Series;
use crate::report::ratios::{HeadlineAcc, ParOptions, PortfolioAcc};
use crate::report::vintage::{self, Triangle};
use crate::report::{Graded, LoanState, Top};
use crate::visits::Contact;

/// What every report takes besides its dates.
#[derive(Clone, Debug)]
pub struct Options {
    /// The conventions, buckets and ladder (`dates` empty: each report sets its own).
    pub base: Setup,
    /// The rule set and staging that grade a date without a saved classify run (classify's
    /// `--rules`, `--staging`).
    pub rules: RuleSet,
    pub staging: Staging,
    /// Only loans of this officer, branch or region (a follow-up counts with its loan).
    pub filters: LoanFilterArgs,
    pub par: ParOptions,
    pub lang: Lang,
    /// The conduct limits (the visit policy's `[conduct]`) and the reachable window.
    pub audit: AuditRules,
    /// Days after falling overdue within which the first contact is due.
    pub first_contact_days: u32,
}

impl Options {
    fn setup(&self, dates: Vec<NaiveDate>) -> Setup {
        Setup {
            dates,
            ..self.base.clone()
        }
    }

    fn buckets(&self) -> &Buckets {
        &self.base.buckets
    }

    /// Whether the filters admit a loan of this officer, branch and region.
    fn admits(&self, officer: &str, branch: &str, region: &str) -> bool {
        let f = &self.filters;
        f.officer.as_deref().is_none_or(|x| x == officer)
            && f.branch.as_deref().is_none_or(|x| x == branch)
            && f.region.as_deref().is_none_or(|x| x == region)
    }

    fn admits_loan(&self, b: &book::LoanBook) -> bool {
        self.admits(&b.info.officer, &b.info.branch, &b.info.region)
    }
}

/// The saved grades of each date (None where no run was saved, or where `wanted` says no).
fn grades_for(
    ctx: &Ctx,
    dates: &[NaiveDate],
    wanted: impl Fn(usize) -> bool,
) -> Result<SavedGrades> {
    let conn = db::open(&ctx.db, db::Mode::Read, ctx.busy_timeout)?;
    let mut out = Vec::with_capacity(dates.len());
    for (k, d) in dates.iter().enumerate() {
        out.push(if wanted(k) {
            db::report::saved_grades(&conn, *d)?
        } else {
            None
        });
    }
    Ok(out)
}

/// Says that the grades of `dates` are computed in the report's pass under `req`'s rules.
fn note_computed(ctx: &Ctx, dates: &[NaiveDate], req: &classify::Request) {
    let dates: Vec<String> = dates.iter().map(NaiveDate::to_string).collect();
    ctx.note(&format!(
        "report: grades computed for {} (no saved classify run; rules {}, staging {}), not read",
        dates.join(", "),
        req.rules.name,
        req.staging.name
    ));
}

fn graded(g: &SavedGrade) -> Graded {
    graded_as(g.grade, g.stage, g.provision)
}

fn graded_as(grade: Grade, stage: u8, provision: rust_decimal::Decimal) -> Graded {
    Graded {
        label: grade.zh().to_string(),
        rank: grade.rank(),
        npl: grade.is_npl(),
        provision,
        stage,
    }
}

/// Grades computed in the report's own pass for the dates without a saved classify run: the
/// classify op's work ([`Grading`]) under the report's rule set and staging
/// ([`Options::rules`]), per loan as the book streams, then its borrower-level rules over the
/// grouped borrowers once the pass is done.
///
/// The request's dates are the scan's ([`Computing::load`]: graded as the loan comes, kept
/// for the dates without a saved run), or some of them ([`Computing::picked`]: only those
/// graded, each into its own place of the loan's [`AtDates`]).
struct Computing<'r> {
    grading: Grading<'r>,
    /// The borrowers the borrower-level rules may regrade ([`classify::regraded_borrowers`]):
    /// only their grouped loans are held for them.
    regraded: HashSet<String>,
    /// Per date of the scan: its index among the request's dates; None when the request's
    /// dates are the scan's.
    pick: Option<Vec<Option<usize>>>,
    /// Per date of the request: where in [`AtDates`] its grades go, None: not kept (a saved
    /// run has them).
    at: Vec<Option<usize>>,
}

/// The classify request of a report's dates, under the report's rule set and staging.
fn classify_request(setup: &Setup, o: &Options) -> classify::Request {
    classify::Request {
        setup: setup.clone(),
        rules: o.rules.clone(),
        staging: o.staging.clone(),
        listing: None,
        labels: crate::cli::GradeLabels::Zh,
        save: None,
    }
}

/// The saved grades of each date of a setup, by loan (None: no saved run).
type SavedGrades = Vec<Option<HashMap<String, SavedGrade>>>;

/// Where a report's grades come from: the saved runs, and for the dates without one the
/// classify request to compute them with.
struct GradeSources {
    saved: SavedGrades,
    req: Option<classify::Request>,
}

impl GradeSources {
    /// The saved grades of each date of `setup` (as [`grades_for`]); where a date has none, the
    /// request to compute them in the pass, with one stderr note naming those dates.
    fn load(ctx: &Ctx, setup: &Setup, o: &Options) -> Result<GradeSources> {
        let saved = grades_for(ctx, &setup.dates, |_| true)?;
        let conn = db::open(&ctx.db, db::Mode::Read, ctx.busy_timeout)?;
        let active = setup.conventions_json();
        let mut runs = db::report::saved_runs(&conn, &setup.dates, &active)?;
        runs.retain(|r| r.table == SavedTable::Grades);
        note_other_conventions(ctx, &runs, setup, o);
        let missing: Vec<NaiveDate> = setup
            .dates
            .iter()
            .zip(&saved)
            .filter(|(_, g)| g.is_none())
            .map(|(d, _)| *d)
            .collect();
        if missing.is_empty() {
            return Ok(GradeSources { saved, req: None });
        }
        let req = classify_request(setup, o);
        note_computed(ctx, &missing, &req);
        Ok(GradeSources {
            saved,
            req: Some(req),
        })
    }

    /// The grading of the dates without a saved run, if any.
    fn computing(&self, ctx: &Ctx) -> Result<Option<Computing<'_>>> {
        self.req
            .as_ref()
            .map(|r| Computing::load(ctx, r, &self.saved))
            .transpose()
    }
}

impl<'r> Computing<'r> {
    fn load(
        ctx: &Ctx,
        req: &'r classify::Request,
        grades: &[Option<HashMap<String, SavedGrade>>],
    ) -> Result<Computing<'r>> {
        let conn = db::open(&ctx.db, db::Mode::Read, ctx.busy_timeout)?;
        Ok(Computing {
            grading: Grading::load(&conn, req)?,
            regraded: classify::regraded_borrowers(&conn, &req.rules)?,
            pick: None,
            at: grades
                .iter()
                .enumerate()
                .map(|(k, g)| g.is_none().then_some(k))
                .collect(),
        })
    }

    /// The grading of `req`'s dates, some of the scan's: `pick[k]` the index among them of
    /// the scan's date `k`, `at[j]` where the request's date `j` goes in [`AtDates`].
    fn picked(
        ctx: &Ctx,
        req: &'r classify::Request,
        pick: Vec<Option<usize>>,
        at: Vec<usize>,
    ) -> Result<Computing<'r>> {
        let conn = db::open(&ctx.db, db::Mode::Read, ctx.busy_timeout)?;
        Ok(Computing {
            grading: Grading::load(&conn, req)?,
            regraded: classify::regraded_borrowers(&conn, &req.rules)?,
            pick: Some(pick),
            at: at.into_iter().map(Some).collect(),
        })
    }

    /// Grades the loan for the dates computed here: into its states, and the rows of a grouped
    /// borrower's loan that the borrower-level rules may regrade kept for
    /// [`Computing::borrowers`] (without the texts the report does not read: the rule, the
    /// trace and the override's note; a loan is held with them). Another grouped borrower's
    /// loan keeps its grades: those rules would give it one segment only, which no report reads.
    fn loan(&self, a: &LoanAssessment<'_>, at: &mut AtDates) {
        let mut rows = Vec::new();
        match &self.pick {
            None => self.grading.loan(a, &mut rows),
            Some(pick) => {
                let dates: Vec<portfolio::Assessment> = a
                    .dates
                    .iter()
                    .filter_map(|x| {
                        pick[x.date].map(|j| portfolio::Assessment {
                            date: j,
                            ..x.clone()
                        })
                    })
                    .collect();
                let picked = LoanAssessment {
                    book: a.book,
                    dates: &dates,
                };
                self.grading.loan(&picked, &mut rows);
            }
        }
        for (j, mut row, summary) in rows {
            let Some(k) = self.at[j] else {
                continue;
            };
            if let Some(s) = &mut at.states[k] {
                s.grade = Some(graded_as(row.grade, row.stage, row.provision));
            }
            at.eligible[k] = row.eligible_for_upgrade_review;
            if self.grading.grouped(&row) && self.regraded.contains(&row.borrower_id) {
                row.grade_rule = String::new();
                row.reasons = String::new();
                row.override_text = None;
                at.grouped.push((k, row, summary));
            }
        }
    }

    /// The borrower-level rules (contagion) over the grouped borrowers' loans, once every loan
    /// is graded: their grades and upgrade eligibility rewritten where the rules raise them.
    fn borrowers<'a>(&self, loans: impl Iterator<Item = &'a mut AtDates>) -> Result<()> {
        let mut loans: Vec<&mut AtDates> = loans.filter(|l| !l.grouped.is_empty()).collect();
        let mut aggs = classify::Borrowers::new(self.grading.request().setup.dates.len());
        let mut rows = classify::MemoryRows::default();
        // Where each held loan's row went: (loan, date index, borrower).
        let mut went = Vec::new();
        for (i, l) in loans.iter_mut().enumerate() {
            for (k, row, summary) in std::mem::take(&mut l.grouped) {
                aggs.add(&self.grading.request().rules, k, &row, &summary);
                went.push((i, k, row.borrower_id.clone()));
                rows.0
                    .entry((row.borrower_id.clone(), k))
                    .or_default()
                    .push(row);
            }
        }
        classify::borrower_rules(&mut rows, self.grading.request(), aggs)?;
        for (i, k, borrower) in went {
            let l = &mut loans[i];
            let Some(s) = &mut l.states[k] else {
                continue;
            };
            let now = rows.0[&(borrower, k)]
                .iter()
                .find(|r| r.loan_id == s.loan_id);
            if let Some(now) = now {
                s.grade = Some(graded_as(now.grade, now.stage, now.provision));
                l.eligible[k] = now.eligible_for_upgrade_review;
            }
        }
        Ok(())
    }
}

/// A loan on each date of a setup: its state when in the book, whether it is eligible for
/// upgrade review, and (grades computed in the pass) the grade rows of a grouped borrower's
/// loan still to go through the borrower-level rules.
#[derive(Default)]
struct AtDates {
    states: Vec<Option<LoanState>>,
    eligible: Vec<bool>,
    grouped: Vec<classify::Graded>,
}

/// The loan on each date of the setup (its state when in the book: originated, not closed),
/// graded from the saved runs and, for the other dates, by `computing`.
fn at_dates(
    a: &LoanAssessment<'_>,
    setup: &Setup,
    grades: &[Option<HashMap<String, SavedGrade>>],
    computing: Option<&Computing<'_>>,
) -> AtDates {
    let id = &a.book.info.loan_id;
    let saved = |k: usize| grades[k].as_ref().and_then(|m| m.get(id));
    let mut at = AtDates {
        states: states(a, setup, grades),
        eligible: (0..setup.dates.len())
            .map(|k| saved(k).is_some_and(|g| g.eligible_for_upgrade_review))
            .collect(),
        grouped: Vec::new(),
    };
    if let Some(c) = computing {
        c.loan(a, &mut at);
    }
    at
}

/// The loan on each date of the setup: its state when in the book (originated, not closed).
fn states(
    a: &LoanAssessment<'_>,
    setup: &Setup,
    grades: &[Option<HashMap<String, SavedGrade>>],
) -> Vec<Option<LoanState>> {
    let b = a.book;
    let mut out = vec![None; setup.dates.len()];
    for x in a.dates {
        let p = &x.position;
        if p.closed {
            continue;
        }
        let date = setup.dates[x.date];
        out[x.date] = Some(LoanState {
            loan_id: b.info.loan_id.clone(),
            product: b.info.product.clone(),
            branch: b.info.branch.clone(),
            region: b.info.region.clone(),
            officer: b.info.officer.clone(),
            balance: p.outstanding_principal,
            dpd: p.dpd,
            restructured: b.versions.iter().any(|v| v.effective <= date),
            grade: grades[x.date]
                .as_ref()
                .and_then(|m| m.get(&b.info.loan_id))
                .map(graded),
        });
    }
    out
}

/// A report's figures folded one loan at a time as the book streams (each key range its own,
/// merged at the end): memory grows with the figures, not with the book.
trait Fold: Send + Sized {
    /// The loan's states at the report's dates, graded (after the borrower-level rules when
    /// its borrower is grouped and grades are computed in the pass).
    fn add(&mut self, at: &AtDates);
    /// What the loan adds besides its graded states, once, as it streams.
    fn loan(&mut self, _a: &LoanAssessment<'_>, _at: &AtDates) {}
    fn merge(&mut self, later: Self);
}

/// What every worker of [`fold`] reads: the report's options, its dates, and the grades.
struct Grades<'a> {
    o: &'a Options,
    setup: &'a Setup,
    saved: &'a [Option<HashMap<String, SavedGrade>>],
    computing: Option<&'a Computing<'a>>,
}

/// The consumer of [`fold`]: each loan admitted folded in at once, but the loans of a grouped
/// borrower whose grades are computed in the pass, held until the borrower-level rules have
/// run over them ([`Computing::borrowers`]).
struct Folding<'a, A> {
    acc: A,
    held: Vec<AtDates>,
    grades: &'a Grades<'a>,
}

impl<A: Fold> Consumer for Folding<'_, A> {
    fn loan(&mut self, a: &LoanAssessment<'_>) -> Result<()> {
        let g = self.grades;
        if !g.o.admits_loan(a.book) {
            return Ok(());
        }
        let at = at_dates(a, g.setup, g.saved, g.computing);
        self.acc.loan(a, &at);
        if at.grouped.is_empty() {
            self.acc.add(&at);
        } else {
            self.held.push(at);
        }
        Ok(())
    }

    fn merge(&mut self, later: Self) {
        self.acc.merge(later.acc);
        self.held.extend(later.held);
    }
}

/// The loans admitted at each date of `setup`, graded from the saved runs or, for the dates
/// without one, computed in the same pass, folded into `make()`'s figures.
fn fold<A: Fold>(ctx: &Ctx, o: &Options, setup: &Setup, make: impl Fn() -> A + Sync) -> Result<A> {
    let sources = GradeSources::load(ctx, setup, o)?;
    let computing = sources.computing(ctx)?;
    let grades = Grades {
        o,
        setup,
        saved: &sources.saved,
        computing: computing.as_ref(),
    };
    let mut f = portfolio::scan(ctx, setup, |_| Folding {
        acc: make(),
        held: Vec::new(),
        grades: &grades,
    })?;
    if let Some(c) = &computing {
        c.borrowers(f.held.iter_mut())?;
    }
    for at in &f.held {
        f.acc.add(at);
    }
    Ok(f.acc)
}

impl Fold for PortfolioAcc {
    fn add(&mut self, at: &AtDates) {
        if let Some(s) = &at.states[0] {
            PortfolioAcc::add(self, s);
        }
    }
    fn merge(&mut self, later: Self) {
        PortfolioAcc::merge(self, &later);
    }
}

/// `report portfolio` as of `as_of`: from the classify run saved for the date when it is current
/// (`saved_sources`: its positions are the ledger's), else one pass over
/// the book with the saved grades if any.
pub fn portfolio(ctx: &Ctx, as_of: NaiveDate, o: &Options) -> Result<Document> {
    if saved_sources(ctx, &[as_of], o)?[0] == Some(SavedTable::Grades) {
        let conn = db::open(&ctx.db, db::Mode::Read, ctx.busy_timeout)?;
        let mut book = PortfolioAcc::new(o.buckets(), o.par);
        let n = db::report::saved_book(&conn, as_of, |l| {
            if o.admits(&l.officer, &l.branch, &l.region) {
                book.add(&LoanState {
                    grade: Some(graded(&l.grade)),
                    loan_id: l.loan_id,
                    product: l.product,
                    branch: l.branch,
                    region: l.region,
                    officer: l.officer,
                    balance: l.outstanding_principal,
                    dpd: l.dpd,
                    restructured: l.restructured,
                });
            }
        })?;
        ctx.debug(&format!(
            "report portfolio: read from the classify run saved for {as_of} ({n} loans)"
        ));
        return Ok(docs::portfolio(as_of, &book, o.lang));
    }
    let setup = o.setup(vec![as_of]);
    let book = fold(ctx, o, &setup, || PortfolioAcc::new(o.buckets(), o.par))?;
    Ok(docs::portfolio(as_of, &book, o.lang))
}

/// Says once when saved runs the report reads were computed under other conventions than the
/// report's (`setup`'s engine conventions; for classify's runs also `o`'s rule set and
/// staging), naming the settings: a run under other engine conventions is replayed instead,
/// but its saved grades are read all the same.
fn note_other_conventions(ctx: &Ctx, runs: &[db::report::SavedRun], setup: &Setup, o: &Options) {
    let recorded = |t: SavedTable| -> Vec<(NaiveDate, String)> {
        runs.iter()
            .filter(|r| r.table == t)
            .map(|r| (r.as_of, r.conventions.clone()))
            .collect()
    };
    let graded = classify_request(setup, o).conventions_json();
    profile::note_other_conventions(
        ctx,
        "report",
        "runs",
        &recorded(SavedTable::Grades),
        &graded,
    );
    let engine = setup.conventions_json();
    profile::note_other_conventions(
        ctx,
        "report",
        "runs",
        &recorded(SavedTable::Positions),
        &engine,
    );
}

/// Where each date's positions are read from: the current saved run of the date (classify's
/// before overdue's: it carries the grades too), or None: replayed from the ledger. A run is
/// current when computed after the last import under the engine conventions asked. Every
/// report that reads saved runs asks here.
fn saved_sources(ctx: &Ctx, dates: &[NaiveDate], o: &Options) -> Result<Vec<Option<SavedTable>>> {
    let conn = db::open(&ctx.db, db::Mode::Read, ctx.busy_timeout)?;
    let active = o.base.conventions_json();
    let runs = db::report::saved_runs(&conn, dates, &active)?;
    note_other_conventions(ctx, &runs, &o.base, o);
    Ok(dates
        .iter()
        .map(|d| {
            runs.iter()
                .find(|r| r.as_of == *d && r.current)
                .map(|r| r.table)
        })
        .collect())
}

/// What the migration needs to turn a loan's saved rows and replayed positions into its state
/// at every date.
struct Migration<'a> {
    o: &'a Options,
    dates: &'a [NaiveDate],
    /// Per date: the saved table it is read from, None when replayed.
    sources: Vec<Option<SavedTable>>,
    /// Per date: its index in `replay.dates` when replayed.
    replayed: Vec<Option<usize>>,
    /// The replayed dates: those without a current saved run, and the ends graded here.
    replay: Setup,
    /// The saved grades of the two ends not read from classify's rows (see [`grades_for`]),
    /// indexed like `dates`, and the same indexed like `replay.dates`.
    grades: Vec<Option<HashMap<String, SavedGrade>>>,
    replay_grades: Vec<Option<HashMap<String, SavedGrade>>>,
    restructured: HashMap<String, NaiveDate>,
    /// The grading of the ends without saved grades (replayed), into [`AtDates`] of the two
    /// ends (0: the first date, 1: the last).
    computing: Option<&'a Computing<'a>>,
}

impl Migration<'_> {
    fn is_end(&self, k: usize) -> bool {
        k == 0 || k + 1 == self.dates.len()
    }

    /// The loan's state at date `k` from its saved row: graded at the two ends only, as the
    /// replay grades them.
    fn saved_state(&self, k: usize, r: db::report::SavedRow) -> LoanState {
        let date = self.dates[k];
        let grade = if !self.is_end(k) {
            None
        } else if r.grade.is_some() {
            r.grade.as_ref().map(graded)
        } else {
            self.grades[k]
                .as_ref()
                .and_then(|m| m.get(&r.loan_id))
                .map(graded)
        };
        LoanState {
            restructured: self
                .restructured
                .get(&r.loan_id)
                .is_some_and(|e| *e <= date),
            loan_id: r.loan_id,
            product: String::new(),
            branch: String::new(),
            region: String::new(),
            officer: String::new(),
            balance: r.outstanding_principal,
            dpd: r.dpd,
            grade,
        }
    }

    fn cursors(&self, range: &book::KeyRange, filter: &LoanFilter) -> Vec<Option<SavedCursor>> {
        self.sources
            .iter()
            .zip(self.dates)
            .map(|(t, d)| t.map(|t| SavedCursor::new(t, *d, range.clone(), filter.clone())))
            .collect()
    }

    /// The report's loan filter, for the cursors.
    fn filter(&self) -> LoanFilter {
        let f = &self.o.filters;
        LoanFilter {
            officer: f.officer.clone(),
            branch: f.branch.clone(),
            region: f.region.clone(),
        }
    }

    /// The first loan any saved date still holds (before `below` when given): its state at
    /// every date, taken from the cursors (None at the dates without one, the replayed ones).
    /// None when there is no such loan. `next` is a buffer for its id.
    fn next_saved(
        &self,
        conn: &rusqlite::Connection,
        cursors: &mut [Option<SavedCursor>],
        below: Option<&str>,
        next: &mut String,
    ) -> Result<Option<Vec<Option<LoanState>>>> {
        let mut found = false;
        for c in cursors.iter_mut().flatten() {
            if let Some(id) = c.peek(conn)? {
                if below.is_none_or(|b| id < b) && (!found || id < next.as_str()) {
                    next.clear();
                    next.push_str(id);
                    found = true;
                }
            }
        }
        if !found {
            return Ok(None);
        }
        let mut at = Vec::with_capacity(cursors.len());
        for (k, c) in cursors.iter_mut().enumerate() {
            let row = match c {
                Some(c) => c.take(conn, next)?,
                None => None,
            };
            at.push(row.map(|r| self.saved_state(k, r)));
        }
        Ok(Some(at))
    }

    /// The saved dates only: the saved rows of every date merged in loan order, one worker
    /// per key range, nothing replayed.
    fn read_saved(&self, ctx: &Ctx) -> Result<Series> {
        let ranges = {
            let conn = db::open(&ctx.db, db::Mode::Read, ctx.busy_timeout)?;
            book::split(&conn, portfolio::workers())?
        };
        let filter = &self.filter();
        let parts = std::thread::scope(|scope| -> Result<Vec<Series>> {
            let handles: Vec<_> = ranges
                .iter()
                .map(|range| {
                    scope.spawn(move || -> Result<Series> {
                        let conn = db::open(&ctx.db, db::Mode::Read, ctx.busy_timeout)?;
                        let mut cursors = self.cursors(range, filter);
                        let mut series = self.series();
                        let mut next = String::new();
                        while let Some(at) =
                            self.next_saved(&conn, &mut cursors, None, &mut next)?
                        {
                            series.add(&at);
                        }
                        Ok(series)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .map_err(|_| anyhow::anyhow!("a report migration worker panicked"))?
                })
                .collect()
        })?;
        let mut parts = parts.into_iter();
        let mut all = parts.next().unwrap_or_else(|| self.series());
        for p in parts {
            all.merge(&p);
        }
        Ok(all)
    }

    /// The saved rows the consumers of the scan did not read (see [`Streamed`]): of the loans
    /// outside every consumer's span `spans` (first and last loan read, inclusive), into
    /// `series`.
    fn read_gaps(
        &self,
        ctx: &Ctx,
        mut spans: Vec<(String, String)>,
        series: &mut Series,
    ) -> Result<()> {
        let conn = db::open(&ctx.db, db::Mode::Read, ctx.busy_timeout)?;
        let filter = self.filter();
        spans.sort();
        let mut next = String::new();
        let mut after: Option<String> = None;
        let his = spans
            .into_iter()
            .map(|(first, last)| (Some(first), Some(last)));
        for (hi, last) in his.chain([(None, None)]) {
            let range = book::KeyRange {
                lo: after.clone().unwrap_or_default(),
                hi,
            };
            let mut cursors = self.cursors(&range, &filter);
            // The range starts at the span's last loan, read already.
            if let Some(a) = &after {
                for c in cursors.iter_mut().flatten() {
                    c.take(&conn, a)?;
                }
            }
            while let Some(at) = self.next_saved(&conn, &mut cursors, None, &mut next)? {
                series.add(&at);
            }
            after = last;
        }
        Ok(())
    }

    fn series(&self) -> Series {
        Series::new(self.dates.len(), self.o.buckets(), self.o.par)
    }
}

/// The migration's consumer of the book stream: the replayed dates from the scan, the saved
/// ones from cursors that follow the consumer's loans (opened at its first loan). With grades
/// computed in the pass, a grouped borrower's loan adds its two ends once the borrower-level
/// rules have run (held until then).
///
/// The scan hands over only the loans originated by the last replayed date, which need not
/// be the last date: the loans of the saved dates it passes over (originated later) are read
/// from the cursors as they go by, with no replayed state; those outside every consumer's
/// span (`spans`: before its first loan, after its last) by [`Migration::read_gaps`] once
/// the scan is done.
struct Streamed<'a> {
    m: &'a Migration<'a>,
    series: Series,
    read: Option<(rusqlite::Connection, Vec<Option<SavedCursor>>)>,
    /// The first and last loan whose saved rows were read (with every saved row between).
    spans: Vec<(String, String)>,
    next: String,
    held: Vec<AtDates>,
    ctx: &'a Ctx,
}

impl Consumer for Streamed<'_> {
    fn detail(&self) -> engine::Detail {
        if self.m.computing.is_some() {
            engine::Detail::Installments
        } else {
            engine::Detail::Figures
        }
    }

    fn loan(&mut self, a: &LoanAssessment<'_>) -> Result<()> {
        let m = self.m;
        if !m.o.admits_loan(a.book) {
            return Ok(());
        }
        let id = a.book.info.loan_id.as_str();
        if self.read.is_none() && m.sources.iter().any(Option::is_some) {
            let conn = db::open(&self.ctx.db, db::Mode::Read, self.ctx.busy_timeout)?;
            let range = book::KeyRange {
                lo: id.to_string(),
                hi: None,
            };
            self.read = Some((conn, m.cursors(&range, &m.filter())));
            self.spans.push((id.to_string(), String::new()));
        }
        if let Some((conn, cursors)) = &mut self.read {
            // The saved loans before this one that the scan passed over.
            while let Some(at) = m.next_saved(conn, cursors, Some(id), &mut self.next)? {
                self.series.add(&at);
            }
            if let Some(span) = self.spans.last_mut() {
                span.1.clear();
                span.1.push_str(id);
            }
        }
        let mut replayed = states(a, &m.replay, &m.replay_grades);
        let mut at = Vec::with_capacity(m.dates.len());
        for k in 0..m.dates.len() {
            at.push(match (m.replayed[k], &mut self.read) {
                (Some(j), _) => replayed[j].take(),
                (None, Some((conn, cursors))) => match &mut cursors[k] {
                    Some(c) => c.take(conn, id)?.map(|r| m.saved_state(k, r)),
                    None => None,
                },
                (None, None) => None,
            });
        }
        let Some(c) = m.computing else {
            self.series.add(&at);
            return Ok(());
        };
        self.series.add_between(&at);
        let last = at.len() - 1;
        let mut ends = AtDates {
            states: vec![at[0].take(), at[last].take()],
            eligible: vec![false; 2],
            grouped: Vec::new(),
        };
        c.loan(a, &mut ends);
        if ends.grouped.is_empty() {
            self.series
                .add_ends(ends.states[0].as_ref(), ends.states[1].as_ref());
        } else {
            self.held.push(ends);
        }
        Ok(())
    }

    /// The range is done: its saved-run cursors and their connection (and page cache) go, not
    /// held with the consumer until the ranges are merged.
    fn finish(&mut self) -> Result<()> {
        self.read = None;
        Ok(())
    }

    fn merge(&mut self, later: Self) {
        self.series.merge(&later.series);
        self.spans.extend(later.spans);
        self.held.extend(later.held);
    }
}

/// `report migration` over `dates` (ascending, at least two): each date read from its current
/// saved run where there is one, the others replayed from the ledger in one pass, and so are
/// the ends whose grades are computed (no saved classify run): only those dates (the loans
/// originated after the last of them are read from the saved runs alone, see `Streamed`).
/// The answer is the same either way.
pub fn migration(ctx: &Ctx, dates: &[NaiveDate], o: &Options) -> Result<Document> {
    let sources = saved_sources(ctx, dates, o)?;
    let last = dates.len() - 1;
    // Grades at the two ends (the grade transition matrix), unless read with the positions:
    // from the saved runs, else computed in the pass (the end replayed for it).
    let grades = grades_for(ctx, dates, |k| {
        (k == 0 || k == last) && sources[k] != Some(SavedTable::Grades)
    })?;
    let graded_here: Vec<usize> = [0, last]
        .into_iter()
        .filter(|k| sources[*k] != Some(SavedTable::Grades) && grades[*k].is_none())
        .collect();
    let replay: Vec<usize> = (0..dates.len())
        .filter(|k| sources[*k].is_none() || graded_here.contains(k))
        .collect();
    let list = |ks: &[usize]| {
        ks.iter()
            .map(|k| dates[*k].to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !replay.is_empty() {
        ctx.note(&format!(
            "report migration: computed positions from the ledger for {} date(s): {}",
            replay.len(),
            list(&replay)
        ));
    }
    let saved: Vec<usize> = (0..dates.len()).filter(|k| !replay.contains(k)).collect();
    if !saved.is_empty() {
        ctx.debug(&format!(
            "report migration: read {} date(s) from saved runs: {}",
            saved.len(),
            list(&saved)
        ));
    }
    let mut replayed = vec![None; dates.len()];
    for (j, k) in replay.iter().enumerate() {
        replayed[*k] = Some(j);
    }
    let sources: Vec<Option<SavedTable>> = (0..dates.len())
        .map(|k| sources[k].filter(|_| replayed[k].is_none()))
        .collect();
    let restructured = {
        let conn = db::open(&ctx.db, db::Mode::Read, ctx.busy_timeout)?;
        db::report::restructured_since(&conn)?
    };
    let replay_setup = o.setup(replay.iter().map(|k| dates[*k]).collect());
    // The ends graded here: classify's request over their dates, each replayed date picked
    // as its end's index among them, and graded into the ends' AtDates (0 first, 1 last).
    let req = if graded_here.is_empty() {
        None
    } else {
        let ends: Vec<NaiveDate> = graded_here.iter().map(|k| dates[*k]).collect();
        let req = classify_request(&o.setup(ends.clone()), o);
        note_computed(ctx, &ends, &req);
        Some(req)
    };
    let computing = match &req {
        None => None,
        Some(req) => {
            let pick = replay
                .iter()
                .map(|k| graded_here.iter().position(|e| e == k))
                .collect();
            let at = graded_here
                .iter()
                .map(|k| usize::from(*k == last))
                .collect();
            Some(Computing::picked(ctx, req, pick, at)?)
        }
    };
    let m = Migration {
        o,
        dates,
        replay: replay_setup,
        replay_grades: replay.iter().map(|k| grades[*k].clone()).collect(),
        replayed,
        sources,
        grades,
        restructured,
        computing: computing.as_ref(),
    };
    let series = if replay.is_empty() {
        m.read_saved(ctx)?
    } else {
        let m = &m;
        let mut s = portfolio::scan(ctx, &m.replay, |_| Streamed {
            m,
            series: m.series(),
            read: None,
            spans: Vec::new(),
            next: String::new(),
            held: Vec::new(),
            ctx,
        })?;
        if let Some(c) = m.computing {
            c.borrowers(s.held.iter_mut())?;
        }
        for at in &s.held {
            s.series
                .add_ends(at.states[0].as_ref(), at.states[1].as_ref());
        }
        if m.sources.iter().any(Option::is_some) {
            m.read_gaps(ctx, s.spans, &mut s.series)?;
        }
        s.series
    };
    Ok(docs::migration(
        dates,
        &series.finish(),
        o.buckets(),
        o.lang,
    ))
}

/// `report vintage` as of `as_of`: cohorts observed at every month end up to `as_of`, each loan
/// folded into its cohort's sums as the book streams (`Vintage`).
pub fn vintage(ctx: &Ctx, as_of: NaiveDate, o: &Options) -> Result<Document> {
    let earliest = {
        let conn = db::open(&ctx.db, db::Mode::Read, ctx.busy_timeout)?;
        book::earliest_origination(&conn)?
    };
    let thresholds = vintage::default_thresholds();
    let dates = crate::dates::month_ends(earliest.unwrap_or(as_of), as_of);
    if dates.is_empty() {
        return Ok(docs::vintage(as_of, &Triangle::new(&thresholds), o.lang));
    }
    let setup = o.setup(dates);
    let v = portfolio::scan(ctx, &setup, |_| Vintage {
        o,
        setup: &setup,
        as_of,
        max_dpd: Vec::new(),
        triangle: Triangle::new(&thresholds),
    })?;
    Ok(docs::vintage(as_of, &v.triangle, o.lang))
}

/// The consumer of `report vintage`: each loan admitted, its worst DPD up to each observation
/// date of its cohort, folded into the triangle's sums (nothing per loan is kept).
struct Vintage<'a> {
    o: &'a Options,
    setup: &'a Setup,
    as_of: NaiveDate,
    /// The loan's worst DPD by month on book (reused from loan to loan).
    max_dpd: Vec<u32>,
    triangle: Triangle,
}

impl Consumer for Vintage<'_> {
    /// Only the figures (`max_dpd`): no installment statuses.
    fn detail(&self) -> engine::Detail {
        engine::Detail::Figures
    }

    fn loan(&mut self, a: &LoanAssessment<'_>) -> Result<()> {
        if !self.o.admits_loan(a.book) {
            return Ok(());
        }
        let Some(orig) = a.book.info.origination_date else {
            return Ok(());
        };
        let dates = &self.setup.dates;
        self.max_dpd.clear();
        self.max_dpd.extend(
            vintage::observation_dates(orig, self.as_of)
                .iter()
                .filter_map(|d| dates.iter().position(|x| x == d))
                .filter_map(|k| a.dates.iter().find(|x| x.date == k))
                .map(|x| x.position.max_dpd),
        );
        if !self.max_dpd.is_empty() {
            self.triangle
                .add(orig, a.book.terms.principal, &self.max_dpd);
        }
        Ok(())
    }

    fn merge(&mut self, later: Self) {
        self.triangle.merge(later.triangle);
    }
}

/// The conduct audit of the log `from..=to` (contacts up to `reachable_days` before `from` are
/// read too: they make the borrower reachable, or carry the consent window). Returns the
/// number of follow-ups checked and the breaches.
fn audit(
    ctx: &Ctx,
    from: NaiveDate,
    to: NaiveDate,
    o: &Options,
) -> Result<(usize, Vec<conduct::Breach>)> {
    let conn = db::open(&ctx.db, db::Mode::Read, ctx.busy_timeout)?;
    let since = from
        .checked_sub_days(Days::new(u64::from(o.audit.reachable_days)))
        .unwrap_or(from);
    let rows: Vec<db::report::LogRow> = db::report::followups(&conn, since, to)?
        .into_iter()
        .filter(|r| o.admits(&r.loan_officer, &r.branch, &r.region))
        .collect();
    // The latest consent window each borrower gave, as of each contact (rows are in date order).
    let mut consent: HashMap<String, (NaiveDate, chrono::NaiveTime, chrono::NaiveTime)> =
        HashMap::new();
    let mut unread = 0usize;
    let mut log = Vec::with_capacity(rows.len());
    for r in &rows {
        if let Some(w) = r.consent_window.as_deref().filter(|w| !w.trim().is_empty()) {
            match conduct::parse_window(w) {
                Some((a, b)) => {
                    consent.insert(r.borrower_id.clone(), (r.contact_date, a, b));
                }
                None => unread += 1,
            }
        }
        let time = r
            .contact_time
            .as_deref()
            .and_then(|t| chrono::NaiveTime::parse_from_str(t, "%H:%M").ok());
        log.push(Logged {
            loan_id: r.loan_id.clone(),
            borrower_id: r.borrower_id.clone(),
            officer: r.officer.clone(),
            contact: Contact {
                date: r.contact_date,
                time,
                channel: r.channel.clone(),
                connected: r.connected.unwrap_or(r.outcome != "no_answer"),
                party: r.contact_party.clone().unwrap_or_default(),
            },
            consent: consent.get(&r.borrower_id).map(|(_, a, b)| (*a, *b)),
        });
    }
    if unread > 0 {
        ctx.note(&format!(
            "report conduct: {unread} consent window(s) do not read as HH:MM-HH:MM and were not applied"
        ));
    }
    let checked = rows.iter().filter(|r| r.contact_date >= from).count();
    let breaches = conduct::audit(&log, &o.audit)
        .into_iter()
        .filter(|b| b.date >= from)
        .collect();
    Ok((checked, breaches))
}

/// `report conduct` over `from..=to`.
pub fn conduct(ctx: &Ctx, from: NaiveDate, to: NaiveDate, o: &Options) -> Result<Document> {
    let (checked, breaches) = audit(ctx, from, to, o)?;
    Ok(docs::conduct(
        from, to, checked, &breaches, &o.audit, o.lang,
    ))
}

/// The per-loan facts of the collections KPIs; `setup.dates` = [day before `from`, `to`].
fn in_book(x: Option<&portfolio::Assessment>) -> Option<&portfolio::Assessment> {
    x.filter(|x| !x.position.closed)
}

fn loan_facts(a: &LoanAssessment<'_>, setup: &Setup, from: NaiveDate) -> Option<LoanFacts> {
    let b = a.book;
    let at = |k: usize| a.dates.iter().find(|x| x.date == k);
    let (start, end) = (at(0), at(setup.dates.len() - 1)?);
    let to = setup.dates[setup.dates.len() - 1];
    let open_end = in_book(Some(end));
    if in_book(start).is_none() && open_end.is_none() {
        // Not in the book at the start, and closed (or never open) at the end: only counted
        // when it was open at some point in the period, which the contacts and payments show.
        if !b
            .followups
            .iter()
            .any(|f| f.contact_date >= from && f.contact_date <= to)
        {
            return None;
        }
    }
    let paid = engine::payments_in_force(&b.payments, to);
    let promises = collection::promises(&b.followups, &paid, to)
        .into_iter()
        .filter(|p| p.contact_date >= from && p.contact_date <= to)
        .map(|p| {
            (
                p.contact_date,
                match p.state {
                    PromiseState::Kept => Promise::Kept,
                    PromiseState::Broken => Promise::Broken,
                    PromiseState::Pending => Promise::Pending,
                },
            )
        })
        .collect();
    let mut contacts: Vec<NaiveDate> = b.followups.iter().map(|f| f.contact_date).collect();
    contacts.sort();
    Some(LoanFacts {
        officer: b.info.officer.clone(),
        dpd_start: in_book(start).map(|x| x.position.dpd),
        dpd_end: open_end.map(|x| x.position.dpd),
        dues: end
            .position
            .installments
            .iter()
            .map(|i| Due {
                due_date: i.due_date,
                days_late: if i.status == InstallmentStatus::NotDue {
                    0
                } else {
                    i.days_late
                },
                settled_on: i.settled_on,
            })
            .collect(),
        contacts,
        promises,
        payments: paid,
    })
}

/// The dates of a period report: the day before `from` (the start position) and `to`.
fn period_dates(from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    let start = from.pred_opt().unwrap_or(from);
    let mut v = vec![start, to];
    v.dedup();
    v
}

/// The KPIs of the period: the loans' part (`loans`) with the logged contacts and the visit
/// plans of the period.
fn kpis(
    ctx: &Ctx,
    from: NaiveDate,
    to: NaiveDate,
    loans: LoanKpis,
    o: &Options,
) -> Result<Vec<collections::OfficerKpis>> {
    let conn = db::open(&ctx.db, db::Mode::Read, ctx.busy_timeout)?;
    let contacts: Vec<ContactRow> = db::report::followups(&conn, from, to)?
        .into_iter()
        .filter(|r| o.admits(&r.loan_officer, &r.branch, &r.region))
        .map(|r| ContactRow {
            connected: r.connected.unwrap_or(r.outcome != "no_answer"),
            officer: r.officer,
            channel: r.channel,
        })
        .collect();
    let plans: BTreeMap<(String, String), Plan> = db::report::plan_items(&conn, from, to)?
        .into_iter()
        .map(|(k, t)| {
            (
                k,
                Plan {
                    planned: t.planned,
                    done: t.done,
                    late: t.late,
                    missed: t.missed,
                    open: t.open,
                },
            )
        })
        .collect();
    Ok(loans.finish(&contacts, &plans))
}

/// `report collections` over `from..=to`.
pub fn collections(ctx: &Ctx, from: NaiveDate, to: NaiveDate, o: &Options) -> Result<Document> {
    let setup = o.setup(period_dates(from, to));
    let loans = portfolio::scan(ctx, &setup, |_| Period {
        o,
        setup: &setup,
        from,
        loans: LoanKpis::new(from, to, o.first_contact_days),
    })?
    .loans;
    let k = kpis(ctx, from, to, loans, o)?;
    Ok(docs::collections(from, to, &k, o.lang))
}

/// The consumer of `report collections`: each loan's facts of the period folded into the
/// loans' KPIs as the book streams.
struct Period<'a> {
    o: &'a Options,
    setup: &'a Setup,
    from: NaiveDate,
    loans: LoanKpis,
}

impl Consumer for Period<'_> {
    fn loan(&mut self, a: &LoanAssessment<'_>) -> Result<()> {
        if self.o.admits_loan(a.book) {
            if let Some(f) = loan_facts(a, self.setup, self.from) {
                self.loans.add(&f);
            }
        }
        Ok(())
    }

    fn merge(&mut self, later: Self) {
        self.loans.merge(&later.loans);
    }
}

/// The month-end before `as_of` (the management report compares with it).
pub fn previous_month_end(as_of: NaiveDate) -> NaiveDate {
    let first = as_of - Days::new(u64::from(chrono::Datelike::day(&as_of)) - 1);
    first.pred_opt().unwrap_or(first)
}

/// `report management` as of `as_of`: the headline and its change since the previous month-end,
/// the portfolio, the month's migration, collections and conduct, and the loans that need a
/// decision (over 90 DPD not graded NPL, eligible for upgrade review, and the largest balances
/// with a promise to pay due in the month and broken) — one pass over the book for both dates.
pub fn management(ctx: &Ctx, as_of: NaiveDate, o: &Options) -> Result<Document> {
    let previous = previous_month_end(as_of);
    let from = previous.succ_opt().unwrap_or(previous);
    let setup = o.setup(vec![previous, as_of]);
    let m = fold(ctx, o, &setup, || Management {
        setup: &setup,
        from,
        before: HeadlineAcc::new(o.par),
        now: PortfolioAcc::new(o.buckets(), o.par),
        at_risk: Top::by_balance(docs::TOP),
        series: Series::new(2, o.buckets(), o.par),
        loans: LoanKpis::new(from, as_of, o.first_contact_days),
        decisions: Vec::new(),
        broken: Top::by_balance(docs::TOP),
    })?;
    // The decisions of each loan in loan order (a loan's reasons in the order they are asked),
    // then the broken promises on the largest balances.
    let mut decisions = m.decisions;
    decisions.sort_by(|a, b| a.loan_id.cmp(&b.loan_id));
    decisions.extend(m.broken.finish());
    let mut doc = docs::management(
        (as_of, &m.now.headline()),
        (previous, &m.before.finish()),
        &m.at_risk.finish(),
        &decisions,
        o.lang,
    );
    docs::append(
        &mut doc,
        "portfolio",
        docs::portfolio(as_of, &m.now, o.lang),
    );
    docs::append(
        &mut doc,
        "migration",
        docs::migration(&setup.dates, &m.series.finish(), o.buckets(), o.lang),
    );
    let k = kpis(ctx, from, as_of, m.loans, o)?;
    docs::append(
        &mut doc,
        "collections",
        docs::collections(from, as_of, &k, o.lang),
    );
    let (checked, breaches) = audit(ctx, from, as_of, o)?;
    docs::append(
        &mut doc,
        "conduct",
        docs::conduct(from, as_of, checked, &breaches, &o.audit, o.lang),
    );
    Ok(doc)
}

/// The management report's figures of the previous month-end (date 0) and `as_of` (date 1).
struct Management<'a> {
    setup: &'a Setup,
    from: NaiveDate,
    before: HeadlineAcc,
    now: PortfolioAcc,
    /// Overdue loans at `as_of`, the largest balances.
    at_risk: Top<LoanState>,
    series: Series,
    loans: LoanKpis,
    /// Over 90 DPD not graded NPL, and eligible for upgrade review, at `as_of`.
    decisions: Vec<Decision>,
    /// A promise whose date fell in the month and was not kept, the largest balances.
    broken: Top<Decision>,
}

fn decision(now: &LoanState, reason: &'static str) -> Decision {
    Decision {
        loan_id: now.loan_id.clone(),
        officer: now.officer.clone(),
        reason,
        dpd: now.dpd,
        balance: now.balance,
    }
}

impl Fold for Management<'_> {
    fn loan(&mut self, a: &LoanAssessment<'_>, at: &AtDates) {
        if let Some(f) = loan_facts(a, self.setup, self.from) {
            self.loans.add(&f);
        }
        let Some(now) = &at.states[1] else {
            return;
        };
        let as_of = self.setup.dates[1];
        let broken = !a.book.followups.is_empty() && {
            let paid = engine::payments_in_force(&a.book.payments, as_of);
            collection::promises(&a.book.followups, &paid, as_of)
                .iter()
                .any(|p| p.state == PromiseState::Broken && p.promise_date >= self.from)
        };
        if broken {
            self.broken.push(decision(now, "broken_promise"));
        }
    }

    fn add(&mut self, at: &AtDates) {
        if let Some(s) = &at.states[0] {
            self.before.add(s);
        }
        if let Some(now) = &at.states[1] {
            self.now.add(now);
            if now.dpd > 0 {
                self.at_risk.push(now.clone());
            }
            if now.dpd > 90 && now.grade.as_ref().is_some_and(|g| !g.npl) {
                self.decisions.push(decision(now, "over90_not_npl"));
            }
            if at.eligible[1] {
                self.decisions
                    .push(decision(now, "eligible_for_upgrade_review"));
            }
        }
        self.series.add(&at.states);
    }

    fn merge(&mut self, later: Self) {
        self.before.merge(&later.before);
        self.now.merge(&later.now);
        self.at_risk.merge(later.at_risk);
        self.series.merge(&later.series);
        self.loans.merge(&later.loans);
        self.decisions.extend(later.decisions);
        self.broken.merge(later.broken);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::d;

    #[test]
    fn previous_month_end_is_the_last_day_of_the_month_before() {
        assert_eq!(previous_month_end(d("2026-03-31")), d("2026-02-28"));
        assert_eq!(previous_month_end(d("2026-03-01")), d("2026-02-28"));
        assert_eq!(previous_month_end(d("2024-03-15")), d("2024-02-29"));
        assert_eq!(previous_month_end(d("2026-01-10")), d("2025-12-31"));
    }

    #[test]
    fn a_period_starts_from_the_day_before() {
        assert_eq!(
            period_dates(d("2026-03-01"), d("2026-03-31")),
            vec![d("2026-02-28"), d("2026-03-31")]
        );
    }
}
