//! Command-line declarations only (clap derive). Doc comments are the help text.
//! Combination checks live in `context.rs` and the commands.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::builder::FalseyValueParser;
use clap::{Args, Parser, Subcommand, ValueEnum};
use rust_decimal::Decimal;

use crate::buckets::Buckets;
use crate::engine::{Component, Prepay};
use crate::schedule::Method;

use crate::exit::EXIT_CODES_HELP;
pub use crate::i18n::Lang;

/// daihou (贷后): post-loan management over one SQLite ledger.
///
/// Example: daihou --db bank.db import tape examples/tape && daihou --db bank.db overdue --as-of 2026-06-30
#[derive(Debug, Parser)]
#[command(name = "daihou", version, after_help = EXIT_CODES_HELP, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Flags that mean the same thing for every subcommand.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// The ledger file (SQLite). Created by `import` when missing; other commands need it to exist.
    #[arg(
        long,
        global = true,
        env = "DAIHOU_DB",
        default_value = "daihou.db",
        value_name = "PATH"
    )]
    pub db: PathBuf,

    /// The date the answer is for, YYYY-MM-DD (default: today, local time; echoed on stderr).
    #[arg(long, global = true, env = "DAIHOU_AS_OF", value_name = "DATE|latest")]
    pub as_of: Option<String>,

    /// Output format of the data written to stdout (or -o).
    #[arg(long, global = true, env = "DAIHOU_FORMAT", value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Write the data to FILE (via FILE.tmp and a rename, so a reader never sees half a file).
    #[arg(short = 'o', long = "output", global = true, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Print errors only (no summary line).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// More on stderr: per-step timings and data warnings about single loans.
    #[arg(short, long, global = true)]
    pub verbose: bool,

    /// Colour in table output and on stderr: auto means a terminal, NO_COLOR unset and TERM not dumb.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    /// Seconds to wait for another daihou run that holds the ledger before giving up (exit 75).
    #[arg(
        long,
        global = true,
        env = "DAIHOU_BUSY_TIMEOUT",
        default_value_t = 30,
        value_name = "SECS"
    )]
    pub busy_timeout: u64,

    /// Language of table headers and values: zh (中文) or en (default: zh when the locale,
    /// LC_ALL/LC_MESSAGES/LANG, starts with zh). CSV and JSON keys and values never change.
    #[arg(
        long,
        global = true,
        env = "DAIHOU_LANG",
        value_enum,
        value_name = "LANG"
    )]
    pub lang: Option<Lang>,

    /// Start CSV output with a UTF-8 byte-order mark, so Excel on Chinese Windows opens it
    /// without 乱码.
    #[arg(long, global = true)]
    pub csv_bom: bool,

    /// Only these columns, in this order, in every format (e.g. loan_id,dpd,overdue_total);
    /// an unknown name lists the output's columns.
    #[arg(long, global = true, value_name = "LIST", value_delimiter = ',')]
    pub columns: Option<Vec<String>>,

    /// The bank profile (TOML) that sets the default of every convention flag of every command
    /// (see `daihou profile`). Without it: daihou.toml beside the ledger, when there is one.
    #[arg(long, global = true, env = "DAIHOU_PROFILE", value_name = "FILE")]
    pub profile: Option<PathBuf>,

    /// Show individual borrowers' names, phone numbers and ID numbers unmasked (noted on stderr;
    /// a file written with -o is then created with mode 0600). Company names are never masked.
    #[arg(long, global = true)]
    pub show_pii: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
    /// `report` only, with -o: one self-contained page with charts.
    Html,
    /// `report` only, with -o: an Excel workbook, one sheet per table.
    Xlsx,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per run
pub enum Command {
    /// Import CSV loan tapes into the ledger (all or nothing per run; reruns are idempotent).
    ///
    /// Examples: daihou import tape examples/tape;
    /// daihou import repayments --encoding gbk 还款流水.csv;
    /// daihou import tape --map examples/maps/loan_payments_2016.toml loan_payments.csv
    Import(ImportArgs),
    /// Five-tier grades (五级分类), IFRS 9 stages, collection segments and provisions, with a
    /// trace of every rule that fired.
    ///
    /// Examples: daihou classify --as-of 2026-06-30; daihou classify --rules cn-card --format csv;
    /// daihou classify --from 2026-01-01 --to 2026-12-31 --every month-end --save;
    /// daihou classify --print-rules cn2023 > my-rules.toml
    Classify(ClassifyArgs),
    /// Risk-ranked visit and call plans per officer over working days, within capacity and the
    /// conduct rules; saved in the ledger (a rerun for the same --as-of replaces it).
    ///
    /// Examples: daihou schedule-visits --as-of 2026-03-02 --days 5;
    /// daihou schedule-visits --as-of 2026-02-13 --days 10 --calendar examples/calendars/cn-2026.toml
    /// --ics visits.ics --sheets sheets/; daihou schedule-visits --print-policy > policy.toml
    ScheduleVisits(ScheduleVisitsArgs),
    /// Loans overdue as of a date: days past due, arrears, penalty interest, next collection action.
    Overdue(OverdueArgs),
    /// The post-loan report (贷后管理报告): portfolio, migration, vintage.
    ///
    /// Examples: daihou report portfolio --as-of 2026-06-30;
    /// daihou report migration --from 2026-01-31 --to 2026-06-30 --every month-end;
    /// daihou report vintage --as-of 2026-06-30 --format html -o vintage.html
    Report(ReportArgs),
    /// Restructuring options (贷款重组) for one loan, side by side, before the negotiation.
    ///
    /// Examples: daihou restructure L0042 --as-of 2026-06-30 (the default menu);
    /// daihou restructure L0042 --as-of 2026-06-30 --extend-months 12 --capitalise-arrears --schedule;
    /// daihou restructure L0042 --as-of 2026-06-30 --extend-months 12 --format csv > restructures.csv
    Restructure(RestructureArgs),
    /// The conventions in effect for every command and where each comes from (built-in, the
    /// profile file and line, the environment, a flag); --init writes a profile to start from.
    ///
    /// Examples: daihou profile; daihou --profile bank.toml profile --grace-days 3;
    /// daihou --db bank.db profile --init (writes daihou.toml beside bank.db)
    Profile(ProfileArgs),
}

/// `daihou profile`: the resolved conventions with their origins.
#[derive(Debug, Args)]
pub struct ProfileArgs {
    /// Write a commented profile holding every built-in default to the --profile path (else
    /// daihou.toml beside the ledger); an existing file is never overwritten (exit 73).
    #[arg(long)]
    pub init: bool,

    #[command(flatten)]
    pub conv: ConventionArgs,
}

/// `daihou restructure`: the position at --as-of and the options taking effect the next day.
#[derive(Debug, Args)]
pub struct RestructureArgs {
    /// The loan to restructure.
    #[arg(value_name = "LOAN_ID")]
    pub loan_id: String,

    /// Extend the term (展期) by N months.
    #[arg(long, value_name = "N")]
    pub extend_months: Option<u32>,

    /// N months of interest only (只还息) before the amortisation.
    #[arg(long, value_name = "N")]
    pub interest_only_months: Option<u32>,

    /// A payment holiday (延期还本付息) of N months; its interest is capitalised.
    #[arg(long, value_name = "N")]
    pub holiday_months: Option<u32>,

    /// The new annual rate in percent, e.g. 4.35.
    #[arg(long, value_name = "PCT", value_parser = rate)]
    pub rate: Option<Decimal>,

    /// Capitalise the arrears into the new principal (else the kind's own rule applies).
    #[arg(long)]
    pub capitalise_arrears: bool,

    /// The new repayment method: annuity, equal_principal, interest_only or bullet.
    #[arg(long, value_name = "METHOD", value_parser = method)]
    pub method: Option<Method>,

    /// Print the full new schedule of the option the flags describe (as CSV: schedule rows
    /// carrying the restructure_id, which `import schedule` takes as that restructure's version).
    #[arg(long)]
    pub schedule: bool,

    /// The restructure_id of the rows --format csv prints (default LOAN_ID-RYYYYMMDD of the
    /// effective date).
    #[arg(long, value_name = "ID")]
    pub restructure_id: Option<String>,

    /// The reason written in the row --format csv prints.
    #[arg(long, value_name = "TEXT", default_value = "negotiated restructure")]
    pub reason: String,

    /// The classification rule set the grade consequence is read from, as `classify --rules`:
    /// a built-in name (cn2023, cn2007, cn-card) or a TOML file in the same format.
    #[arg(long, default_value = "cn2023", value_name = "NAME|FILE")]
    pub rules: String,

    /// The position at --as-of is counted with the same conventions as `overdue` (--buckets
    /// and --ladder do not change a proposal).
    #[command(flatten)]
    pub conv: ConventionArgs,
}

/// What an import file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ImportKind {
    Loans,
    Schedule,
    Repayments,
    Followups,
    /// Restructures (贷款重组): loan_id, restructure_id, effective_date, kind, reason and
    /// optional new terms; the new schedule version is generated from the ledger at import.
    Restructures,
    /// Analyst overrides of a loan's grade (loan_id, effective_date, grade, reason, analyst,
    /// optional expires_on).
    Overrides,
    /// Risk events of a loan or a borrower (loan_id or borrower_id, event_date, code, note).
    Events,
    /// A folder holding loans.csv, schedule.csv, repayments.csv, followups.csv,
    /// restructures.csv, overrides.csv, events.csv (any present), or, with --map, one file
    /// carrying every table the mapping describes.
    Tape,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Encoding {
    #[value(name = "utf-8", alias = "utf8")]
    Utf8,
    /// GBK, read as its superset GB18030.
    Gbk,
    Gb18030,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// loans | schedule | repayments | followups | tape
    #[arg(value_enum)]
    pub kind: ImportKind,

    /// CSV files (`-` reads standard input); for `tape`, a folder.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// A TOML mapping for a foreign tape: column names, delimiter, date formats, constants.
    #[arg(long, value_name = "FILE")]
    pub map: Option<PathBuf>,

    /// Text encoding of the files (tapes from Chinese core systems are often GBK).
    #[arg(long, value_enum)]
    pub encoding: Option<Encoding>,

    /// Do the whole import, print what would change, then roll it back.
    #[arg(long)]
    pub dry_run: bool,

    /// Show at most this many bad rows (the rest are counted; nothing is written).
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub max_errors: usize,

    /// For cron: a tape folder holding any file that would not be imported (say
    /// `repayment.csv`) is an error (exit 65) instead of a warning.
    #[arg(long)]
    pub strict: bool,
}

/// Options of `overdue`.
#[derive(Debug, Args)]
pub struct OverdueArgs {
    /// Only loans at or above this many days past due.
    #[arg(long, value_name = "DAYS")]
    pub min_dpd: Option<u32>,

    /// Only loans in this bucket (a label of --buckets, e.g. 31-60 or M2).
    #[arg(long, value_name = "LABEL")]
    pub bucket: Option<String>,

    #[command(flatten)]
    pub filters: LoanFilterArgs,

    /// List every active loan, not only the overdue ones (with --installments: closed ones too).
    #[arg(long, conflicts_with = "from")]
    pub all: bool,

    /// One row per installment instead of per loan: due date, when it was settled, days late.
    #[arg(long, conflicts_with = "from")]
    pub installments: bool,

    /// A summary per officer, branch, region or product instead of the loan list: loans,
    /// overdue loans, balance, balance of overdue loans (逾期贷款余额) and the overdue ratio.
    #[arg(long, value_enum, value_name = "FIELD", conflicts_with_all = ["installments", "all"])]
    pub group_by: Option<crate::ops::overdue::GroupBy>,

    #[command(flatten)]
    pub range: RangeArgs,

    /// Store the positions in the ledger (a rerun for the same date replaces them).
    #[arg(long)]
    pub save: bool,

    /// With --save: compute and store, then roll back.
    #[arg(long, requires = "save")]
    pub dry_run: bool,

    #[command(flatten)]
    pub conv: ConventionArgs,
}

/// A range of as-of dates computed in one pass, shared by the commands that take one
/// (`#[command(flatten)]`); `RangeArgs::dates` (src/commands/mod.rs) expands it.
#[derive(Debug, Clone, Default, Args)]
pub struct RangeArgs {
    /// First date of a range (with --to and --every): every date of it in one pass.
    #[arg(long, value_name = "DATE", requires_all = ["to", "every"], value_parser = date)]
    pub from: Option<NaiveDate>,

    /// Last date of a range.
    #[arg(long, value_name = "DATE", requires = "from", value_parser = date)]
    pub to: Option<NaiveDate>,

    /// Step of a range: month-end, week or day.
    #[arg(long, value_enum, requires = "from")]
    pub every: Option<Every>,
}

/// The loan filters shared by the commands that list loans (`#[command(flatten)]`).
#[derive(Debug, Clone, Default, Args)]
pub struct LoanFilterArgs {
    /// Only loans of this officer (客户经理).
    #[arg(long)]
    pub officer: Option<String>,

    /// Only loans of this branch.
    #[arg(long)]
    pub branch: Option<String>,

    /// Only loans of this region.
    #[arg(long)]
    pub region: Option<String>,
}

/// The engine's conventions (how a bank counts), shared by every command that assesses the
/// book (`#[command(flatten)]`). `ConventionArgs::setup` (src/profile.rs) turns them into an
/// `ops::portfolio::Setup`.
#[derive(Debug, Clone, Args)]
pub struct ConventionArgs {
    /// Aging buckets: `days` (current,1-30,31-60,61-90,91-180,181-360,360+), `m` (M0..M6+), or a
    /// bank's own list such as `0,1-30,31-90,91+` or `current:0,1-30,31+`.
    #[arg(long, env = "DAIHOU_BUCKETS", default_value = "days", value_name = "SPEC", value_parser = Buckets::resolve)]
    pub buckets: Buckets,

    /// An installment counts as overdue only after this many days past its due date; DPD is
    /// still counted from the due date.
    #[arg(
        long,
        env = "DAIHOU_GRACE_DAYS",
        default_value_t = 0,
        value_name = "DAYS"
    )]
    pub grace_days: u32,

    /// An unpaid remainder at or below this amount does not count as overdue (materiality).
    #[arg(long, env = "DAIHOU_TOLERANCE", default_value = "0", value_name = "AMOUNT", value_parser = tolerance)]
    pub tolerance: Decimal,

    /// Relative materiality: an arrear counts (moves DPD) only when it also exceeds this
    /// percentage of the outstanding principal, e.g. 1 as in the EU default definition; both
    /// thresholds must be exceeded. 0: no relative threshold.
    #[arg(long, env = "DAIHOU_TOLERANCE_PCT", default_value = "0", value_name = "PCT", value_parser = percent)]
    pub tolerance_pct: Decimal,

    /// Penalty interest (罚息) rate as a multiple of the contract rate.
    #[arg(long, env = "DAIHOU_PENALTY_MULTIPLIER", default_value = "1.5", value_name = "X", value_parser = multiplier)]
    pub penalty_multiplier: Decimal,

    /// Do not charge penalty on overdue interest (no 复利).
    #[arg(long, env = "DAIHOU_NO_COMPOUND", value_parser = FalseyValueParser::new())]
    pub no_compound: bool,

    /// Pay accrued penalty interest first, before anything an installment owes (so it can move DPD).
    #[arg(long, env = "DAIHOU_PENALTY_FIRST", value_parser = FalseyValueParser::new())]
    pub penalty_first: bool,

    /// Order in which a payment settles an installment's parts.
    #[arg(long, env = "DAIHOU_ORDER", default_value = "fee,interest,principal", value_name = "LIST", value_parser = order)]
    pub order: Order,

    /// What money beyond everything due does: next_installments or reduce_principal_last.
    #[arg(long, env = "DAIHOU_PREPAY", default_value = "next_installments", value_name = "MODE", value_parser = Prepay::parse)]
    pub prepay: Prepay,

    /// A collection ladder (TOML) replacing the built-in one.
    #[arg(long, env = "DAIHOU_LADDER", value_name = "FILE")]
    pub ladder: Option<PathBuf>,
}

/// The order in which a payment settles an installment's parts (`--order`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order(pub Vec<Component>);

fn order(s: &str) -> Result<Order, String> {
    Component::parse_order(s).map(Order)
}

fn date(s: &str) -> Result<NaiveDate, String> {
    crate::dates::parse_iso(s).map_err(|e| e.to_string())
}

fn grade(s: &str) -> Result<crate::classify::Grade, String> {
    crate::classify::Grade::parse(s).ok_or_else(|| {
        "not a grade (expected 正常 关注 次级 可疑 损失 or pass, special_mention, substandard, \
         doubtful, loss)"
            .to_string()
    })
}

fn tolerance(s: &str) -> Result<Decimal, String> {
    match crate::money::parse_amount(s) {
        Ok(d) if d < Decimal::ZERO => Err("must not be negative".to_string()),
        Ok(d) => Ok(d),
        Err(e) => Err(e.to_string()),
    }
}

fn rate(s: &str) -> Result<Decimal, String> {
    crate::money::parse_rate(s).map_err(|e| e.to_string())
}

fn method(s: &str) -> Result<Method, String> {
    s.parse()
        .map_err(|e: crate::schedule::ParseNameError| e.to_string())
}

fn percent(s: &str) -> Result<Decimal, String> {
    s.trim()
        .parse()
        .ok()
        .filter(|m: &Decimal| *m >= Decimal::ZERO && *m <= Decimal::ONE_HUNDRED)
        .ok_or_else(|| "is not a percentage between 0 and 100".to_string())
}

fn multiplier(s: &str) -> Result<Decimal, String> {
    s.trim()
        .parse()
        .ok()
        .filter(|m: &Decimal| *m >= Decimal::ZERO && *m <= Decimal::from(10))
        .ok_or_else(|| "is not a number between 0 and 10".to_string())
}

/// Options of `classify`.
#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// The rule set: a built-in name (cn2023, cn2007, cn-card) or a TOML file in the same format.
    #[arg(long, default_value = "cn2023", value_name = "NAME|FILE")]
    pub rules: String,

    /// IFRS 9 staging: the built-in `ifrs9` or a TOML file in the same format.
    #[arg(long, default_value = "ifrs9", value_name = "NAME|FILE")]
    pub staging: String,

    /// Print a built-in rule set (cn2023, cn2007, cn-card, ifrs9) as TOML, to start a bank's own.
    #[arg(long, value_name = "NAME")]
    pub print_rules: Option<String>,

    /// Grade labels in the output: zh (正常 关注 次级 可疑 损失) or en (pass, special_mention, …).
    #[arg(long, value_enum, default_value_t = GradeLabels::Zh, value_name = "LANG")]
    pub grade_labels: GradeLabels,

    #[command(flatten)]
    pub filters: LoanFilterArgs,

    /// Only loans of this grade (Chinese or English name).
    #[arg(long, value_parser = grade)]
    pub grade: Option<crate::classify::Grade>,

    /// Only loans in this IFRS 9 stage (1, 2 or 3).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=3))]
    pub stage: Option<u8>,

    /// Only loans whose grade or stage moved since the previous saved date.
    #[arg(long)]
    pub changed: bool,

    /// A range (--from, --to, --every): grades for every date in one pass, saved.
    #[command(flatten)]
    pub range: RangeArgs,

    /// Store the grades in the ledger (a rerun for the same date replaces them).
    #[arg(long)]
    pub save: bool,

    /// With --save: compute and store, then roll back.
    #[arg(long, requires = "save")]
    pub dry_run: bool,

    /// How the engine counts (the same flags as `overdue`: grace, tolerance, allocation order,
    /// …); the grades are read from the positions they give.
    #[command(flatten)]
    pub conv: ConventionArgs,
}

/// How grades are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GradeLabels {
    Zh,
    En,
}

/// Steps of an as-of range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Every {
    MonthEnd,
    Week,
    Day,
}

/// Options of `schedule-visits`.
#[derive(Debug, Args)]
pub struct ScheduleVisitsArgs {
    /// Working days to plan, from --as-of (or --from) on [default: 10].
    #[arg(long, value_name = "N", conflicts_with = "to",
          value_parser = clap::value_parser!(u32).range(1..=260))]
    pub days: Option<u32>,

    /// First day of the plan (default: --as-of); with --to instead of --days.
    #[arg(long, value_name = "DATE", value_parser = date)]
    pub from: Option<NaiveDate>,

    /// Last day of the plan (the working days in --from … --to are planned).
    #[arg(long, value_name = "DATE", value_parser = date)]
    pub to: Option<NaiveDate>,

    /// Only the plan of these borrowers (by their largest loan); the plan saved is the whole
    /// book's.
    #[command(flatten)]
    pub filters: LoanFilterArgs,

    /// A visit policy (TOML) replacing some or all of the built-in one (see --print-policy).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,

    /// Print the policy in effect (the built-in one, or --policy) and exit.
    #[arg(long)]
    pub print_policy: bool,

    /// Holidays and make-up working days (调休), TOML; weekends are off without it.
    /// Example: examples/calendars/cn-2026.toml.
    #[arg(long, value_name = "FILE")]
    pub calendar: Option<PathBuf>,

    /// Also write the planned visits as an iCalendar file (RFC 5545).
    #[arg(long, value_name = "FILE")]
    pub ics: Option<PathBuf>,

    /// Also write one day sheet per officer and day into DIR, as Markdown and HTML.
    #[arg(long, value_name = "DIR")]
    pub sheets: Option<PathBuf>,

    /// The classification rule set, as `classify --rules`: a built-in name (cn2023, cn2007,
    /// cn-card) or a TOML file. Its restructure observation marks the loans visited as
    /// restructured (`restructured_months`); without a saved `classify` run for the date its DPD
    /// rules grade and its segment rules segment.
    #[arg(long, default_value = "cn2023", value_name = "NAME|FILE")]
    pub rules: String,

    /// Plan and print, save nothing (the transaction is rolled back).
    #[arg(long)]
    pub dry_run: bool,

    /// How the positions the plan reads are computed (as `overdue`), and the ladder.
    #[command(flatten)]
    pub conv: ConventionArgs,
}

/// The reports of `daihou report`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportName {
    /// Balances by grade, bucket, product, branch, region and officer; PAR1/30/90; 逾期贷款率;
    /// with a saved classify run: 不良贷款率, 偏离度, provisions, IFRS 9 stages.
    Portfolio,
    /// Bucket transition matrix (count and balance, cures included) and roll rates between dates.
    Migration,
    /// Share of original amount ever 30+ / M2+ / 90+ DPD by origination month and month on book.
    Vintage,
    /// Officer KPIs over a period: contacts, first contact within 7 days, promises, recoveries,
    /// cures, visit plan completion.
    Collections,
    /// The follow-up log checked against the collection conduct rules, each breach listed.
    Conduct,
    /// The monthly management report: headline and change, portfolio, migration, collections,
    /// conduct, loans that need a decision.
    Management,
}

/// Options of `report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// portfolio | migration | vintage | collections | conduct | management
    #[arg(value_enum, value_name = "NAME")]
    pub name: ReportName,

    // Not the shared `RangeArgs`: a report's --from/--to are its ends (migration reads both
    // dates, collections and conduct the days between), --to defaults to --as-of and --every
    // is optional, where an as-of range needs all three and takes only the steps. The steps
    // themselves are the same (`Every::dates`).
    /// migration: the first date; collections, conduct: the first day of the period (default
    /// the first day of the month of --to).
    #[arg(long, value_name = "DATE")]
    pub from: Option<String>,

    /// migration, collections, conduct: the last date (default --as-of).
    #[arg(long, value_name = "DATE")]
    pub to: Option<String>,

    /// migration: also every date of this step between --from and --to (roll rates per step).
    #[arg(long, value_enum)]
    pub every: Option<Every>,

    #[command(flatten)]
    pub filters: LoanFilterArgs,

    #[command(flatten)]
    pub conv: ConventionArgs,

    /// Leave restructured loans out of PAR unless they are past due (CGAP counts them).
    #[arg(long)]
    pub par_exclude_restructured: bool,

    /// conduct, collections, management: the visit policy (TOML) whose `[conduct]` limits the
    /// log is checked against (default the built-in policy; see `schedule-visits --print-policy`).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,

    /// portfolio, management, migration: the rule set, as `classify --rules` (a built-in name
    /// — cn2023, cn2007, cn-card — or a TOML file in the same format), that grades a date
    /// without a saved classify run; a saved run's grades are read as saved.
    #[arg(long, default_value = "cn2023", value_name = "NAME|FILE")]
    pub rules: String,

    /// The IFRS 9 staging of those dates, as `classify --staging`: the built-in `ifrs9` or a
    /// TOML file in the same format.
    #[arg(long, default_value = "ifrs9", value_name = "NAME|FILE")]
    pub staging: String,
}

/// A subcommand that is planned but not built yet.
#[derive(Debug, Args)]
pub struct PendingArgs {}
