//! Typed rows of the CSV contract, parsed and validated from text fields. Pure: no I/O.
//!
//! The header names are the contract (column order is free). Each `parse_*` reads one row through
//! a [`Row`] accessor and returns either the typed record or a [`FieldError`] naming the column
//! and what was expected; the caller adds the file, line and (for non-PII columns) the value.

use std::borrow::Cow;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::collection::{Channel, Outcome, Party};
use crate::dates;
use crate::money;
use crate::schedule::{Frequency, Method};

/// Which table a tape file feeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Loans,
    Schedule,
    Repayments,
    Followups,
    Restructures,
    Overrides,
    Events,
}

impl Kind {
    /// In import order: a restructure is priced on the loan's schedule and repayments.
    pub const ALL: [Kind; 7] = [
        Kind::Loans,
        Kind::Schedule,
        Kind::Repayments,
        Kind::Followups,
        Kind::Restructures,
        Kind::Overrides,
        Kind::Events,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Loans => "loans",
            Kind::Schedule => "schedule",
            Kind::Repayments => "repayments",
            Kind::Followups => "followups",
            Kind::Restructures => "restructures",
            Kind::Overrides => "overrides",
            Kind::Events => "events",
        }
    }

    /// Columns every file of this kind must have (by header name, in any order).
    pub fn required(self) -> &'static [&'static str] {
        match self {
            Kind::Loans => &[
                "loan_id",
                "borrower_id",
                "borrower_name",
                "borrower_type",
                "region",
                "branch",
                "officer",
                "product",
                "currency",
                "principal",
                "annual_rate",
                "origination_date",
                "term_months",
                "repayment_method",
                "collateral",
                "phone",
                "id_number",
            ],
            Kind::Schedule => &[
                "loan_id",
                "installment_no",
                "due_date",
                "principal_due",
                "interest_due",
            ],
            Kind::Repayments => &["txn_id", "loan_id", "paid_on", "amount"],
            Kind::Followups => &[
                "loan_id",
                "contact_date",
                "channel",
                "officer",
                "outcome",
                "promise_date",
                "promise_amount",
                "note",
            ],
            Kind::Restructures => &[
                "loan_id",
                "restructure_id",
                "effective_date",
                "kind",
                "reason",
            ],
            Kind::Overrides => &["loan_id", "effective_date", "grade", "reason", "analyst"],
            Kind::Events => &["event_date", "code", "note"],
        }
    }

    /// Columns a file may have.
    pub fn optional(self) -> &'static [&'static str] {
        match self {
            Kind::Loans => &[
                "repayment_frequency",
                "first_due_date",
                "maturity_date",
                "status",
            ],
            // A row of a restructure's schedule version (the bank's own), not of the original.
            Kind::Schedule => &["fee_due", "restructure_id"],
            Kind::Repayments => &["channel", "reverses_txn_id"],
            Kind::Followups => &[
                "followup_id",
                "contact_time",
                "contact_party",
                "connected",
                "consent_window",
            ],
            Kind::Restructures => &[
                "new_principal",
                "new_annual_rate",
                "new_term_months",
                "new_method",
                "holiday_months",
                "interest_only_months",
            ],
            Kind::Overrides => &["expires_on"],
            // One of the two names whom the event is about.
            Kind::Events => &["loan_id", "borrower_id"],
        }
    }

    /// The columns that form the natural key of a row.
    pub fn key_columns(self) -> &'static [&'static str] {
        match self {
            Kind::Loans => &["loan_id"],
            Kind::Schedule => &["loan_id", "restructure_id", "installment_no"],
            Kind::Repayments => &["txn_id"],
            Kind::Followups => &[],
            Kind::Restructures => &["restructure_id"],
            Kind::Overrides => &["loan_id", "effective_date"],
            Kind::Events => &["loan_id", "borrower_id", "event_date", "code"],
        }
    }
}

/// Columns holding borrower PII: their values never appear in an error or a log.
pub fn is_pii(column: &str) -> bool {
    matches!(column, "borrower_name" | "phone" | "id_number")
}

/// Read access to one row's fields by contract column name; an absent column reads as "".
pub trait Row {
    fn get(&self, column: &str) -> Cow<'_, str>;
}

/// How dates and terms are written in the tape.
#[derive(Clone, Debug, Default)]
pub struct ParseOptions {
    /// chrono formats tried in order; `None` means strict `YYYY-MM-DD`.
    pub date_formats: Option<Vec<String>>,
    /// The unit of the `term_months` column in this tape.
    pub term_unit: TermUnit,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TermUnit {
    #[default]
    Months,
    Days,
    Years,
}

/// A bad field: the column and what was expected (never the value itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub column: &'static str,
    pub expected: String,
}

impl FieldError {
    /// The user-facing message for this error on `line` of file `name`, where `value` is the
    /// field as read: `loans.csv line 1042, column principal: "12,3x" is not a decimal amount`.
    /// The value is quoted only when its column is not PII and it does not run over lines (a
    /// quote left open swallows the following lines, which may hold borrower data).
    pub fn message(&self, name: &str, line: u64, value: &str) -> String {
        let col = self.column;
        if value.is_empty() {
            let rest = self
                .expected
                .strip_prefix("is empty; ")
                .unwrap_or(&self.expected);
            format!("{name} line {line}, column {col}: empty value; {rest}")
        } else if is_pii(col) {
            format!(
                "{name} line {line}, column {col}: the value {}",
                self.expected
            )
        } else if value.contains('\n') {
            format!(
                "{name} line {line}, column {col}: the value (running over {} lines; is a quote left open?) {}",
                value.split('\n').count(),
                self.expected
            )
        } else {
            format!(
                "{name} line {line}, column {col}: {} {}",
                quote(value),
                self.expected
            )
        }
    }
}

/// Quotes a (non-PII) value for an error message, shortened and with control characters shown.
pub fn quote(v: &str) -> String {
    let mut s: String = v.chars().take(40).flat_map(char::escape_debug).collect();
    if v.chars().count() > 40 {
        s.push('…');
    }
    format!("\"{s}\"")
}

/// A typed row of one tape kind.
pub trait Record: Sized {
    const KIND: Kind;
    fn parse(row: &dyn Row, opts: &ParseOptions) -> Res<Self>;
    fn loan_id(&self) -> &str;
    /// The natural key, as text for messages: `txn_id T1`.
    fn key(&self) -> String;
    /// Feeds the bytes that identify the row within a file to `out`, part by part: the natural
    /// key, or for a followup (which has none) its whole content, so two different contacts on
    /// one day are not duplicates.
    fn identity(&self, out: &mut dyn FnMut(&[u8]));
    /// Numbers the row among identical rows of its file when its kind keys rows by content
    /// (`seen` counts the content ids met so far in the file).
    fn number(&mut self, _seen: &mut Occurrences) {}
}

/// How often each content id occurred so far in one file.
pub type Occurrences = std::collections::HashMap<String, u32>;

impl Record for LoanRecord {
    const KIND: Kind = Kind::Loans;
    fn parse(row: &dyn Row, opts: &ParseOptions) -> Res<Self> {
        parse_loan(row, opts)
    }
    fn loan_id(&self) -> &str {
        &self.loan_id
    }
    fn key(&self) -> String {
        format!("loan_id {}", self.loan_id)
    }
    fn identity(&self, out: &mut dyn FnMut(&[u8])) {
        out(self.loan_id.as_bytes())
    }
}

impl Record for ScheduleRecord {
    const KIND: Kind = Kind::Schedule;
    fn parse(row: &dyn Row, opts: &ParseOptions) -> Res<Self> {
        parse_schedule(row, opts)
    }
    fn loan_id(&self) -> &str {
        &self.loan_id
    }
    fn key(&self) -> String {
        match &self.restructure_id {
            Some(r) => format!(
                "loan_id {}, restructure_id {r}, installment_no {}",
                self.loan_id, self.installment_no
            ),
            None => format!(
                "loan_id {}, installment_no {}",
                self.loan_id, self.installment_no
            ),
        }
    }
    fn identity(&self, out: &mut dyn FnMut(&[u8])) {
        out(self.loan_id.as_bytes());
        if let Some(r) = &self.restructure_id {
            // Never empty (an empty restructure_id is None), so never the same as no id.
            out(r.as_bytes());
        }
        out(&self.installment_no.to_le_bytes());
    }
}

impl Record for RepaymentRecord {
    const KIND: Kind = Kind::Repayments;
    fn parse(row: &dyn Row, opts: &ParseOptions) -> Res<Self> {
        parse_repayment(row, opts)
    }
    fn loan_id(&self) -> &str {
        &self.loan_id
    }
    fn key(&self) -> String {
        format!("txn_id {}", self.txn_id)
    }
    fn identity(&self, out: &mut dyn FnMut(&[u8])) {
        out(self.txn_id.as_bytes())
    }
}

impl Record for FollowupRecord {
    const KIND: Kind = Kind::Followups;
    fn parse(row: &dyn Row, opts: &ParseOptions) -> Res<Self> {
        parse_followup(row, opts)
    }
    fn loan_id(&self) -> &str {
        &self.loan_id
    }
    fn key(&self) -> String {
        format!("followup_id {}", self.followup_id)
    }
    fn identity(&self, out: &mut dyn FnMut(&[u8])) {
        out(self.followup_id.as_bytes())
    }
    /// Without a `followup_id`, the k-th of identical rows of one loan in a file is a contact of
    /// its own, keyed `<content id>#k` (the first keeps the content id): re-importing the file
    /// adds nothing, a file with one more identical row adds one.
    fn number(&mut self, seen: &mut Occurrences) {
        if self.id_given {
            return;
        }
        let n = seen.entry(self.content_id.clone()).or_insert(0);
        *n += 1;
        if *n > 1 {
            self.followup_id = format!("{}#{n}", self.content_id);
        }
    }
}

/// An analyst's override of a loan's grade (`overrides.csv`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OverrideRecord {
    pub loan_id: String,
    pub effective_date: NaiveDate,
    /// The grade's Chinese name (正常 关注 次级 可疑 损失), whichever name the file used.
    pub grade: String,
    pub reason: String,
    pub analyst: String,
    pub expires_on: Option<NaiveDate>,
}

pub fn parse_override(row: &dyn Row, opts: &ParseOptions) -> Res<OverrideRecord> {
    let loan_id = key(row, "loan_id")?;
    let effective_date = date(row, "effective_date", opts)?;
    let g = row.get("grade");
    let grade = crate::classify::Grade::parse(&g).ok_or_else(|| {
        err(
            "grade",
            "is not a grade (expected 正常, 关注, 次级, 可疑, 损失 or pass, special_mention, substandard, doubtful, loss)",
        )
    })?;
    let expires_on = opt_date(row, "expires_on", opts)?;
    if expires_on.is_some_and(|e| e <= effective_date) {
        return Err(err("expires_on", "is not after effective_date"));
    }
    Ok(OverrideRecord {
        loan_id,
        effective_date,
        grade: grade.zh().to_string(),
        reason: text(row, "reason", MAX_NOTE)?,
        analyst: text(row, "analyst", MAX_TEXT)?,
        expires_on,
    })
}

impl Record for OverrideRecord {
    const KIND: Kind = Kind::Overrides;
    fn parse(row: &dyn Row, opts: &ParseOptions) -> Res<Self> {
        parse_override(row, opts)
    }
    fn loan_id(&self) -> &str {
        &self.loan_id
    }
    fn key(&self) -> String {
        format!(
            "loan_id {}, effective_date {}",
            self.loan_id, self.effective_date
        )
    }
    fn identity(&self, out: &mut dyn FnMut(&[u8])) {
        out(self.loan_id.as_bytes());
        out(self.effective_date.to_string().as_bytes());
    }
}

/// A risk event of a loan, or of a borrower (`events.csv`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRecord {
    /// Empty for a borrower-level event.
    pub loan_id: String,
    /// Empty for a loan-level event.
    pub borrower_id: String,
    pub event_date: NaiveDate,
    pub code: String,
    pub note: String,
}

impl EventRecord {
    /// The natural key as text: `loan:ID|date|code` or `borrower:ID|date|code`.
    pub fn event_id(&self) -> String {
        if self.loan_id.is_empty() {
            format!(
                "borrower:{}|{}|{}",
                self.borrower_id, self.event_date, self.code
            )
        } else {
            format!("loan:{}|{}|{}", self.loan_id, self.event_date, self.code)
        }
    }
}

pub fn parse_event(row: &dyn Row, opts: &ParseOptions) -> Res<EventRecord> {
    let loan_id = opt_text(row, "loan_id", MAX_ID)?.unwrap_or_default();
    let borrower_id = opt_text(row, "borrower_id", MAX_ID)?.unwrap_or_default();
    if loan_id.is_empty() == borrower_id.is_empty() {
        return Err(err(
            "loan_id",
            if loan_id.is_empty() {
                "is empty, and so is borrower_id; an event names a loan or a borrower"
            } else {
                "and borrower_id are both given; an event names a loan or a borrower, not both"
            },
        ));
    }
    let event_date = date(row, "event_date", opts)?;
    let code = row.get("code").trim().to_ascii_lowercase();
    if !crate::classify::is_event_code(&code) {
        return Err(err(
            "code",
            format!(
                "is not an event code (expected one of {})",
                crate::classify::EVENT_CODES
                    .iter()
                    .map(|(c, _)| *c)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    Ok(EventRecord {
        loan_id,
        borrower_id,
        event_date,
        code,
        note: text(row, "note", MAX_NOTE)?,
    })
}

impl Record for EventRecord {
    const KIND: Kind = Kind::Events;
    fn parse(row: &dyn Row, opts: &ParseOptions) -> Res<Self> {
        parse_event(row, opts)
    }
    /// Empty for a borrower-level event.
    fn loan_id(&self) -> &str {
        &self.loan_id
    }
    fn key(&self) -> String {
        if self.loan_id.is_empty() {
            format!(
                "borrower_id {}, event_date {}, code {}",
                self.borrower_id, self.event_date, self.code
            )
        } else {
            format!(
                "loan_id {}, event_date {}, code {}",
                self.loan_id, self.event_date, self.code
            )
        }
    }
    fn identity(&self, out: &mut dyn FnMut(&[u8])) {
        out(self.event_id().as_bytes())
    }
}

fn err(column: &'static str, expected: impl Into<String>) -> FieldError {
    FieldError {
        column,
        expected: expected.into(),
    }
}

type Res<T> = Result<T, FieldError>;

const MAX_ID: usize = 64;
const MAX_TEXT: usize = 200;
const MAX_NOTE: usize = 2000;

fn text(row: &dyn Row, col: &'static str, max: usize) -> Res<String> {
    let v = row.get(col);
    check_text(col, &v, max)?;
    Ok(v.into_owned())
}

fn check_text(col: &'static str, v: &str, max: usize) -> Res<()> {
    if v.chars().count() > max {
        return Err(err(col, format!("is longer than {max} characters")));
    }
    if v.contains('\0') {
        return Err(err(col, "contains a NUL byte"));
    }
    Ok(())
}

fn key(row: &dyn Row, col: &'static str) -> Res<String> {
    let v = row.get(col);
    if v.is_empty() {
        return Err(err(col, "is empty; a key column needs a value"));
    }
    check_text(col, &v, MAX_ID)?;
    Ok(v.into_owned())
}

fn opt_text(row: &dyn Row, col: &'static str, max: usize) -> Res<Option<String>> {
    let v = text(row, col, max)?;
    Ok((!v.is_empty()).then_some(v))
}

fn amount(row: &dyn Row, col: &'static str) -> Res<Decimal> {
    money::parse_amount(&row.get(col)).map_err(|e| err(col, e.to_string()))
}

fn opt_amount(row: &dyn Row, col: &'static str) -> Res<Option<Decimal>> {
    if row.get(col).is_empty() {
        return Ok(None);
    }
    amount(row, col).map(Some)
}

fn positive(col: &'static str, d: Decimal) -> Res<Decimal> {
    if d <= Decimal::ZERO {
        return Err(err(col, "must be greater than zero"));
    }
    Ok(d)
}

fn non_negative(col: &'static str, d: Decimal) -> Res<Decimal> {
    if d < Decimal::ZERO {
        return Err(err(col, "must not be negative"));
    }
    Ok(d)
}

/// Parses a date in the tape's formats.
pub fn date_in(s: &str, opts: &ParseOptions) -> Result<NaiveDate, String> {
    match &opts.date_formats {
        None => dates::parse_iso(s).map_err(|e| e.to_string()),
        Some(f) => dates::parse_with_formats(s, f).map_err(|e| e.to_string()),
    }
}

fn date(row: &dyn Row, col: &'static str, opts: &ParseOptions) -> Res<NaiveDate> {
    let v = row.get(col);
    if v.is_empty() {
        return Err(err(col, "is empty; expected a date"));
    }
    date_in(&v, opts).map_err(|e| err(col, e))
}

fn opt_date(row: &dyn Row, col: &'static str, opts: &ParseOptions) -> Res<Option<NaiveDate>> {
    if row.get(col).is_empty() {
        return Ok(None);
    }
    date(row, col, opts).map(Some)
}

fn count(row: &dyn Row, col: &'static str, max: u32) -> Res<u32> {
    let v = row.get(col);
    let n: u32 = v.parse().map_err(|_| err(col, "is not a whole number"))?;
    if n == 0 || n > max {
        return Err(err(col, format!("must be between 1 and {max}")));
    }
    Ok(n)
}

fn one_of<T: Copy>(
    row: &dyn Row,
    col: &'static str,
    options: &[(&str, T)],
    expected: &str,
) -> Res<T> {
    let v = row.get(col);
    let lower = v.to_ascii_lowercase();
    options
        .iter()
        .find(|(name, _)| *name == lower)
        .map(|(_, t)| *t)
        .ok_or_else(|| err(col, format!("is not one of {expected}")))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BorrowerType {
    Individual,
    Corporate,
}

impl BorrowerType {
    pub fn as_str(self) -> &'static str {
        match self {
            BorrowerType::Individual => "individual",
            BorrowerType::Corporate => "corporate",
        }
    }
}

/// A loan contract row.
#[derive(Clone, Debug, PartialEq)]
pub struct LoanRecord {
    pub loan_id: String,
    pub borrower_id: String,
    pub borrower_name: String,
    pub borrower_type: BorrowerType,
    pub region: String,
    pub branch: String,
    pub officer: String,
    pub product: String,
    pub currency: String,
    pub principal: Decimal,
    pub annual_rate: Decimal,
    pub origination_date: NaiveDate,
    pub term_months: Option<u32>,
    pub term_days: Option<u32>,
    pub repayment_method: Method,
    pub repayment_frequency: Frequency,
    pub first_due_date: Option<NaiveDate>,
    pub maturity_date: Option<NaiveDate>,
    pub status: Option<String>,
    pub collateral: String,
    pub phone: String,
    pub id_number: String,
}

/// True for an 18-character 居民身份证 number (GB 11643: 17 digits and an ISO 7064 MOD 11-2
/// check character, 0-9 or X) whose birth date is a real date.
pub fn is_resident_id(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
        return false;
    }
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = b[..17]
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    let check = b"10X98765432"[(sum % 11) as usize];
    let birth = chrono::NaiveDate::parse_from_str(&s[6..14], "%Y%m%d").is_ok();
    b[17].to_ascii_uppercase() == check && birth
}

/// True for an 11-digit mainland mobile number (1[3-9]xxxxxxxxx), optionally written with a
/// `+86` / `86` prefix or with spaces or dashes between the groups.
pub fn is_mainland_mobile(s: &str) -> bool {
    let digits: String = s.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let d = digits
        .strip_prefix("+86")
        .or_else(|| digits.strip_prefix("86").filter(|r| r.len() == 11))
        .unwrap_or(&digits);
    d.len() == 11
        && d.bytes().all(|c| c.is_ascii_digit())
        && d.as_bytes()[0] == b'1'
        && (b'3'..=b'9').contains(&d.as_bytes()[1])
}

impl LoanRecord {
    /// The identity fields of an individual borrower that are present but do not look right:
    /// (column, what was expected). Warnings only: the row is imported as given.
    pub fn doubtful_identity(&self) -> Vec<(&'static str, &'static str)> {
        let mut out = Vec::new();
        if self.borrower_type != BorrowerType::Individual {
            return out;
        }
        if !self.id_number.is_empty() && !is_resident_id(&self.id_number) {
            out.push((
                "id_number",
                "is not an 18-character 居民身份证 number with a valid check character",
            ));
        }
        if !self.phone.is_empty() && !is_mainland_mobile(&self.phone) {
            out.push(("phone", "is not an 11-digit mainland mobile number"));
        }
        out
    }

    /// The contract terms the schedule generator needs.
    pub fn terms(&self) -> crate::schedule::Terms {
        crate::schedule::Terms {
            loan: crate::schedule::LoanTerms {
                principal: self.principal,
                annual_rate_pct: self.annual_rate,
            },
            origination: self.origination_date,
            term_months: self.term_months,
            term_days: self.term_days,
            method: self.repayment_method,
            frequency: self.repayment_frequency,
            first_due_date: self.first_due_date,
            maturity_date: self.maturity_date,
        }
    }
}

pub fn parse_loan(row: &dyn Row, opts: &ParseOptions) -> Res<LoanRecord> {
    let loan_id = key(row, "loan_id")?;
    let borrower_id = key(row, "borrower_id")?;
    let borrower_name = text(row, "borrower_name", MAX_TEXT)?;
    let borrower_type = one_of(
        row,
        "borrower_type",
        &[
            ("individual", BorrowerType::Individual),
            ("个人", BorrowerType::Individual),
            ("corporate", BorrowerType::Corporate),
            ("对公", BorrowerType::Corporate),
            ("企业", BorrowerType::Corporate),
        ],
        "individual, corporate",
    )?;
    let region = text(row, "region", MAX_TEXT)?;
    let branch = text(row, "branch", MAX_TEXT)?;
    let officer = text(row, "officer", MAX_TEXT)?;
    let product = text(row, "product", MAX_TEXT)?;
    let currency = row.get("currency").to_ascii_uppercase();
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(err(
            "currency",
            "is not a three-letter ISO 4217 code such as CNY",
        ));
    }
    let principal = positive("principal", amount(row, "principal")?)?;
    let annual_rate = money::parse_rate(&row.get("annual_rate"))
        .map_err(|e| err("annual_rate", e.to_string()))?;
    let origination_date = date(row, "origination_date", opts)?;
    let (mut term_months, mut term_days) = (None, None);
    if !row.get("term_months").is_empty() {
        match opts.term_unit {
            TermUnit::Months => term_months = Some(count(row, "term_months", 1200)?),
            TermUnit::Years => term_months = Some(count(row, "term_months", 100)? * 12),
            TermUnit::Days => term_days = Some(count(row, "term_months", 36600)?),
        }
    }
    let repayment_method = one_of(
        row,
        "repayment_method",
        &[
            ("annuity", Method::Annuity),
            ("等额本息", Method::Annuity),
            ("equal_principal", Method::EqualPrincipal),
            ("等额本金", Method::EqualPrincipal),
            ("interest_only", Method::InterestOnly),
            ("先息后本", Method::InterestOnly),
            ("按月付息到期还本", Method::InterestOnly),
            ("bullet", Method::Bullet),
            ("到期一次还本付息", Method::Bullet),
            ("一次性还本付息", Method::Bullet),
        ],
        "annuity, equal_principal, interest_only, bullet",
    )?;
    let repayment_frequency = if row.get("repayment_frequency").is_empty() {
        Frequency::Monthly
    } else {
        one_of(
            row,
            "repayment_frequency",
            &[
                ("monthly", Frequency::Monthly),
                ("按月", Frequency::Monthly),
                ("quarterly", Frequency::Quarterly),
                ("按季", Frequency::Quarterly),
            ],
            "monthly, quarterly",
        )?
    };
    let first_due_date = opt_date(row, "first_due_date", opts)?;
    let maturity_date = opt_date(row, "maturity_date", opts)?;
    if let Some(m) = maturity_date {
        if m <= origination_date {
            return Err(err("maturity_date", "must be after origination_date"));
        }
    }
    if let Some(f) = first_due_date {
        if f <= origination_date {
            return Err(err("first_due_date", "must be after origination_date"));
        }
    }
    if term_months.is_none() && term_days.is_none() && maturity_date.is_none() {
        return Err(err(
            "term_months",
            "is empty; a loan needs term_months or a maturity_date",
        ));
    }
    let status = opt_text(row, "status", MAX_ID)?;
    let collateral = text(row, "collateral", MAX_TEXT)?;
    let phone = text(row, "phone", MAX_ID)?;
    let id_number = text(row, "id_number", MAX_ID)?;
    Ok(LoanRecord {
        loan_id,
        borrower_id,
        borrower_name,
        borrower_type,
        region,
        branch,
        officer,
        product,
        currency,
        principal,
        annual_rate,
        origination_date,
        term_months,
        term_days,
        repayment_method,
        repayment_frequency,
        first_due_date,
        maturity_date,
        status,
        collateral,
        phone,
        id_number,
    })
}

/// One installment of an imported schedule.
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduleRecord {
    pub loan_id: String,
    pub installment_no: u32,
    pub due_date: NaiveDate,
    pub principal_due: Decimal,
    pub interest_due: Decimal,
    pub fee_due: Decimal,
    /// `Some`: a row of that restructure's schedule version (the bank's own), which wins over
    /// the version generated from the restructure's terms; `None`: the original schedule.
    pub restructure_id: Option<String>,
}

pub fn parse_schedule(row: &dyn Row, opts: &ParseOptions) -> Res<ScheduleRecord> {
    Ok(ScheduleRecord {
        loan_id: key(row, "loan_id")?,
        installment_no: count(row, "installment_no", 9999)?,
        due_date: date(row, "due_date", opts)?,
        principal_due: non_negative("principal_due", amount(row, "principal_due")?)?,
        interest_due: non_negative("interest_due", amount(row, "interest_due")?)?,
        fee_due: non_negative(
            "fee_due",
            opt_amount(row, "fee_due")?.unwrap_or(Decimal::ZERO),
        )?,
        restructure_id: opt_text(row, "restructure_id", MAX_ID)?,
    })
}

/// Money received, or (with `reverses_txn_id`) the reversal of an earlier receipt.
#[derive(Clone, Debug, PartialEq)]
pub struct RepaymentRecord {
    pub txn_id: String,
    pub loan_id: String,
    pub paid_on: NaiveDate,
    pub amount: Decimal,
    pub channel: String,
    pub reverses_txn_id: Option<String>,
}

pub fn parse_repayment(row: &dyn Row, opts: &ParseOptions) -> Res<RepaymentRecord> {
    let txn_id = key(row, "txn_id")?;
    let loan_id = key(row, "loan_id")?;
    let paid_on = date(row, "paid_on", opts)?;
    let amount = positive("amount", amount(row, "amount")?)?;
    let channel = text(row, "channel", MAX_TEXT)?;
    let reverses_txn_id = opt_text(row, "reverses_txn_id", MAX_ID)?;
    if reverses_txn_id.as_deref() == Some(txn_id.as_str()) {
        return Err(err(
            "reverses_txn_id",
            "names the row's own txn_id; a reversal must name an earlier transaction",
        ));
    }
    Ok(RepaymentRecord {
        txn_id,
        loan_id,
        paid_on,
        amount,
        channel,
        reverses_txn_id,
    })
}

/// A collection contact logged by an officer.
#[derive(Clone, Debug, PartialEq)]
pub struct FollowupRecord {
    /// The row's key in the ledger: the `followup_id` column when the tape has one, else the
    /// content id, numbered by the importer when identical rows repeat ([`Record::number`]).
    pub followup_id: String,
    /// True when `followup_id` came from the tape.
    pub id_given: bool,
    /// A stable hash of the row's content as given: the same row imported twice gets the same id.
    pub content_id: String,
    pub loan_id: String,
    pub contact_date: NaiveDate,
    pub channel: Channel,
    pub officer: String,
    pub outcome: Outcome,
    pub promise_date: Option<NaiveDate>,
    pub promise_amount: Option<Decimal>,
    pub note: String,
    /// Local time of the contact, `HH:MM`.
    pub contact_time: Option<String>,
    pub contact_party: Option<Party>,
    /// Whether the contact reached someone (`no_answer` is never connected).
    pub connected: Option<bool>,
    /// When the borrower agreed to be contacted, as written (e.g. `18:00-21:00`).
    pub consent_window: Option<String>,
}

impl FollowupRecord {
    /// The hash of the row's content: the columns of the first contract, then each newer
    /// optional column only when given (so a row without them keeps the id it always had).
    fn hash_content(&self, connected_given: Option<bool>) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        let promise_amount = self
            .promise_amount
            .map(money::fmt_amount)
            .unwrap_or_default();
        let promise_date = self.promise_date.map(|d| d.to_string()).unwrap_or_default();
        let contact_date = self.contact_date.to_string();
        for part in [
            self.loan_id.as_str(),
            contact_date.as_str(),
            self.channel.as_str(),
            self.officer.as_str(),
            self.outcome.as_str(),
            promise_date.as_str(),
            promise_amount.as_str(),
            self.note.as_str(),
        ] {
            h.update(part.as_bytes());
            h.update([0x1f]);
        }
        let newer = [
            ("contact_time", self.contact_time.as_deref()),
            ("contact_party", self.contact_party.map(Party::as_str)),
            (
                "connected",
                connected_given.map(|c| if c { "true" } else { "false" }),
            ),
            ("consent_window", self.consent_window.as_deref()),
        ];
        for (name, value) in newer {
            if let Some(v) = value {
                h.update(name.as_bytes());
                h.update(b"=");
                h.update(v.as_bytes());
                h.update([0x1f]);
            }
        }
        let digest = h.finalize();
        digest[..16].iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// `HH:MM` with hours 00-23 and minutes 00-59.
fn clock_time(row: &dyn Row, col: &'static str) -> Res<Option<String>> {
    let v = row.get(col);
    if v.is_empty() {
        return Ok(None);
    }
    let b = v.as_bytes();
    let ok = b.len() == 5
        && b[2] == b':'
        && [b[0], b[1], b[3], b[4]].iter().all(u8::is_ascii_digit)
        && (b[0] - b'0') * 10 + (b[1] - b'0') < 24
        && b[3] < b'6';
    if !ok {
        return Err(err(col, "is not a time HH:MM (00:00 to 23:59)"));
    }
    Ok(Some(v.into_owned()))
}

fn opt_bool(row: &dyn Row, col: &'static str) -> Res<Option<bool>> {
    let v = row.get(col);
    match v.to_ascii_lowercase().as_str() {
        "" => Ok(None),
        "true" | "1" | "yes" | "是" => Ok(Some(true)),
        "false" | "0" | "no" | "否" => Ok(Some(false)),
        _ => Err(err(col, "is not true or false")),
    }
}

pub fn parse_followup(row: &dyn Row, opts: &ParseOptions) -> Res<FollowupRecord> {
    let loan_id = key(row, "loan_id")?;
    let contact_date = date(row, "contact_date", opts)?;
    let channel = Channel::parse(&row.get("channel"))
        .ok_or_else(|| err("channel", format!("is not one of {}", Channel::names())))?;
    let officer = text(row, "officer", MAX_TEXT)?;
    let outcome = Outcome::parse(&row.get("outcome"))
        .ok_or_else(|| err("outcome", format!("is not one of {}", Outcome::names())))?;
    let promise_date = opt_date(row, "promise_date", opts)?;
    let promise_amount = match opt_amount(row, "promise_amount")? {
        Some(a) => Some(positive("promise_amount", a)?),
        None => None,
    };
    if outcome == Outcome::PromiseToPay && promise_date.is_none() {
        return Err(err(
            "promise_date",
            "is empty; a promise_to_pay needs the promised date",
        ));
    }
    if let Some(p) = promise_date {
        if p < contact_date {
            return Err(err("promise_date", "is before contact_date"));
        }
    }
    let note = text(row, "note", MAX_NOTE)?;
    let given_id = opt_text(row, "followup_id", MAX_ID)?;
    let contact_time = clock_time(row, "contact_time")?;
    let contact_party = match row.get("contact_party").as_ref() {
        "" => None,
        v => Some(
            Party::parse(v)
                .ok_or_else(|| err("contact_party", format!("is not one of {}", Party::names())))?,
        ),
    };
    let connected_given = opt_bool(row, "connected")?;
    if outcome == Outcome::NoAnswer && connected_given == Some(true) {
        return Err(err(
            "connected",
            "is true but the outcome is no_answer (an unanswered dial is not connected)",
        ));
    }
    let consent_window = opt_text(row, "consent_window", MAX_TEXT)?;
    let mut r = FollowupRecord {
        followup_id: String::new(),
        id_given: given_id.is_some(),
        content_id: String::new(),
        loan_id,
        contact_date,
        channel,
        officer,
        outcome,
        promise_date,
        promise_amount,
        note,
        contact_time,
        contact_party,
        connected: connected_given,
        consent_window,
    };
    r.content_id = r.hash_content(connected_given);
    r.followup_id = given_id.unwrap_or_else(|| r.content_id.clone());
    if outcome == Outcome::NoAnswer {
        r.connected = Some(false);
    }
    Ok(r)
}

/// A restructure (贷款重组): from `effective_date` the loan follows a new schedule version.
#[derive(Clone, Debug, PartialEq)]
pub struct RestructureRecord {
    pub loan_id: String,
    pub restructure_id: String,
    pub effective_date: NaiveDate,
    pub kind: crate::restructure::Kind,
    pub reason: String,
    pub new_principal: Option<Decimal>,
    pub new_annual_rate: Option<Decimal>,
    pub new_term_months: Option<u32>,
    pub new_method: Option<Method>,
    pub holiday_months: u32,
    pub interest_only_months: u32,
}

impl RestructureRecord {
    /// The new terms as the generator takes them.
    pub fn terms(&self) -> crate::restructure::NewTerms {
        crate::restructure::NewTerms {
            principal: self.new_principal,
            annual_rate_pct: self.new_annual_rate,
            term_months: self.new_term_months,
            method: self.new_method,
            holiday_months: self.holiday_months,
            interest_only_months: self.interest_only_months,
        }
    }
}

/// A month count that may be empty or 0 (read as 0).
fn months_or_zero(row: &dyn Row, col: &'static str) -> Res<u32> {
    let v = row.get(col);
    if v.is_empty() || v == "0" {
        return Ok(0);
    }
    count(row, col, 1200)
}

pub fn parse_restructure(row: &dyn Row, opts: &ParseOptions) -> Res<RestructureRecord> {
    let loan_id = key(row, "loan_id")?;
    let restructure_id = key(row, "restructure_id")?;
    let effective_date = date(row, "effective_date", opts)?;
    let kind = row
        .get("kind")
        .parse::<crate::restructure::Kind>()
        .map_err(|e| err("kind", e.to_string()))?;
    let reason = text(row, "reason", MAX_NOTE)?;
    let new_principal = match opt_amount(row, "new_principal")? {
        Some(p) => Some(positive("new_principal", p)?),
        None => None,
    };
    let new_annual_rate = if row.get("new_annual_rate").is_empty() {
        None
    } else {
        Some(
            money::parse_rate(&row.get("new_annual_rate"))
                .map_err(|e| err("new_annual_rate", e.to_string()))?,
        )
    };
    let new_term_months = if row.get("new_term_months").is_empty() {
        None
    } else {
        Some(count(row, "new_term_months", 1200)?)
    };
    let new_method = if row.get("new_method").is_empty() {
        None
    } else {
        Some(
            row.get("new_method")
                .parse::<Method>()
                .map_err(|e| err("new_method", e.to_string()))?,
        )
    };
    Ok(RestructureRecord {
        loan_id,
        restructure_id,
        effective_date,
        kind,
        reason,
        new_principal,
        new_annual_rate,
        new_term_months,
        new_method,
        holiday_months: months_or_zero(row, "holiday_months")?,
        interest_only_months: months_or_zero(row, "interest_only_months")?,
    })
}

impl Record for RestructureRecord {
    const KIND: Kind = Kind::Restructures;
    fn parse(row: &dyn Row, opts: &ParseOptions) -> Res<Self> {
        parse_restructure(row, opts)
    }
    fn loan_id(&self) -> &str {
        &self.loan_id
    }
    fn key(&self) -> String {
        format!("restructure_id {}", self.restructure_id)
    }
    fn identity(&self, out: &mut dyn FnMut(&[u8])) {
        out(self.restructure_id.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct MapRow(HashMap<&'static str, &'static str>);
    impl Row for MapRow {
        fn get(&self, column: &str) -> Cow<'_, str> {
            Cow::Borrowed(self.0.get(column).copied().unwrap_or(""))
        }
    }

    fn loan_row(over: &[(&'static str, &'static str)]) -> MapRow {
        let mut m: HashMap<&'static str, &'static str> = [
            ("loan_id", "L1"),
            ("borrower_id", "B1"),
            ("borrower_name", "张小三"),
            ("borrower_type", "individual"),
            ("currency", "cny"),
            ("principal", "100000.00"),
            ("annual_rate", "4.9"),
            ("origination_date", "2026-01-31"),
            ("term_months", "12"),
            ("repayment_method", "等额本息"),
            ("phone", "13812345678"),
        ]
        .into_iter()
        .collect();
        for (k, v) in over {
            m.insert(k, v);
        }
        MapRow(m)
    }

    #[test]
    fn a_good_loan_parses_with_aliases() {
        let l = parse_loan(&loan_row(&[]), &ParseOptions::default()).unwrap();
        assert_eq!(l.repayment_method, Method::Annuity);
        assert_eq!(l.currency, "CNY");
        assert_eq!(l.term_months, Some(12));
        assert_eq!(l.repayment_frequency, Frequency::Monthly);
    }

    #[test]
    fn bad_fields_name_their_column() {
        let cases: &[(&'static str, &'static str, &'static str)] = &[
            ("principal", "-5.00", "principal"),
            ("principal", "12,3x", "principal"),
            ("origination_date", "2026-02-30", "origination_date"),
            ("term_months", "0", "term_months"),
            ("term_months", "1.5", "term_months"),
            ("borrower_type", "person", "borrower_type"),
            ("repayment_method", "balloon", "repayment_method"),
            ("loan_id", "", "loan_id"),
            ("currency", "元", "currency"),
            ("maturity_date", "2025-01-01", "maturity_date"),
        ];
        for (col, val, expect_col) in cases {
            let e = parse_loan(&loan_row(&[(col, val)]), &ParseOptions::default()).unwrap_err();
            assert_eq!(e.column, *expect_col, "{col}={val}: {e:?}");
        }
    }

    #[test]
    fn term_units() {
        let opts = ParseOptions {
            term_unit: TermUnit::Days,
            ..Default::default()
        };
        let l = parse_loan(&loan_row(&[("term_months", "30")]), &opts).unwrap();
        assert_eq!((l.term_months, l.term_days), (None, Some(30)));
        let opts = ParseOptions {
            term_unit: TermUnit::Years,
            ..Default::default()
        };
        let l = parse_loan(&loan_row(&[("term_months", "2")]), &opts).unwrap();
        assert_eq!(l.term_months, Some(24));
    }

    #[test]
    fn repayments_and_reversals() {
        let row = MapRow(
            [
                ("txn_id", "T1"),
                ("loan_id", "L1"),
                ("paid_on", "2024-02-29"),
                ("amount", "10.005"),
            ]
            .into_iter()
            .collect(),
        );
        assert_eq!(
            parse_repayment(&row, &ParseOptions::default())
                .unwrap_err()
                .column,
            "amount"
        );
        let row = MapRow(
            [
                ("txn_id", "T1"),
                ("loan_id", "L1"),
                ("paid_on", "2024-02-29"),
                ("amount", "10.00"),
                ("reverses_txn_id", "T1"),
            ]
            .into_iter()
            .collect(),
        );
        assert_eq!(
            parse_repayment(&row, &ParseOptions::default())
                .unwrap_err()
                .column,
            "reverses_txn_id"
        );
    }

    #[test]
    fn followup_ids_are_stable_and_distinct() {
        let mk = |note: &'static str| {
            MapRow(
                [
                    ("loan_id", "L1"),
                    ("contact_date", "2026-03-01"),
                    ("channel", "phone"),
                    ("outcome", "promise_to_pay"),
                    ("promise_date", "2026-03-10"),
                    ("promise_amount", "500"),
                    ("note", note),
                ]
                .into_iter()
                .collect(),
            )
        };
        let a = parse_followup(&mk("a"), &ParseOptions::default()).unwrap();
        let a2 = parse_followup(&mk("a"), &ParseOptions::default()).unwrap();
        let b = parse_followup(&mk("b"), &ParseOptions::default()).unwrap();
        assert_eq!(a.followup_id, a2.followup_id);
        assert_ne!(a.followup_id, b.followup_id);
        assert_eq!(a.followup_id.len(), 32);
        assert_eq!(a.followup_id, a.content_id);
        assert!(!a.id_given);
    }

    /// The importer's rule (there is no other): a promise dated before its contact is refused,
    /// whatever the outcome, and a promise_to_pay needs its date.
    #[test]
    fn a_promise_before_the_contact_is_refused_for_any_outcome() {
        let mk = |outcome: &'static str, promise_date: &'static str| {
            MapRow(
                [
                    ("loan_id", "L1"),
                    ("contact_date", "2026-03-05"),
                    ("channel", "电话"),
                    ("outcome", outcome),
                    ("promise_date", promise_date),
                ]
                .into_iter()
                .collect(),
            )
        };
        let o = ParseOptions::default();
        for outcome in ["promise_to_pay", "contacted", "other"] {
            let e = parse_followup(&mk(outcome, "2026-03-04"), &o).unwrap_err();
            assert_eq!(e.column, "promise_date", "{outcome}");
            assert!(e.expected.contains("before contact_date"), "{e:?}");
            assert!(
                parse_followup(&mk(outcome, "2026-03-05"), &o).is_ok(),
                "{outcome}"
            );
        }
        let e = parse_followup(&mk("promise_to_pay", ""), &o).unwrap_err();
        assert_eq!(e.column, "promise_date");
        let f = parse_followup(&mk("Contacted", ""), &o).unwrap();
        assert_eq!((f.channel, f.outcome), (Channel::Phone, Outcome::Contacted));
        let e = parse_followup(&mk("maybe", ""), &o).unwrap_err();
        assert_eq!(e.column, "outcome");
    }

    #[test]
    fn identity_fields() {
        // GB 11643's own example and one with an X check character.
        assert!(is_resident_id("11010519491231002X"));
        assert!(!is_resident_id("110105194912310021"), "wrong check digit");
        assert!(is_resident_id("440524188001010014"));
        assert!(!is_resident_id("44052418800101001"), "17 characters");
        assert!(!is_resident_id("440524188013010014"), "month 13");
        assert!(is_mainland_mobile("13812345678"));
        assert!(is_mainland_mobile("+86 138-1234-5678"));
        assert!(!is_mainland_mobile("12812345678"));
        assert!(!is_mainland_mobile("0571-8888888"));
        let mut l = parse_loan(
            &loan_row(&[("id_number", "11010519491231002X")]),
            &ParseOptions::default(),
        )
        .unwrap();
        assert_eq!(l.doubtful_identity(), vec![]);
        l.phone = "5551234".into();
        l.id_number = "110105194912310021".into();
        let cols: Vec<&str> = l.doubtful_identity().iter().map(|(c, _)| *c).collect();
        assert_eq!(cols, ["id_number", "phone"]);
        l.borrower_type = BorrowerType::Corporate;
        assert_eq!(
            l.doubtful_identity(),
            vec![],
            "only individuals are checked"
        );
    }
}
