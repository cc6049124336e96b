//! Headline ratios of one date and the distribution tables (RULES.md §4).
//!
//! * **PAR_x** = balance of loans with DPD **> x**, plus restructured loans whatever their DPD
//!   (CGAP; [`ParOptions::include_restructured`], default on), / total balance. Balance-weighted,
//!   never a count. daihou reports PAR1, PAR30 and PAR90 ([`PAR_DAYS`]); note PAR1 is DPD ≥ 2.
//! * **逾期贷款率** = balance of loans with any amount overdue (DPD ≥ 1) / total balance: the
//!   whole outstanding principal of such a loan counts, not only its overdue part.
//! * **不良贷款率** (NPL ratio) = balance of loans graded NPL / total balance.
//! * **偏离度** = balance of loans with DPD > 90 / NPL balance (supervisors expect ≤ 100 %),
//!   with the list of loans over 90 DPD not graded NPL.
//! * **拨备覆盖率** = provisions / NPL balance; **贷款拨备率** = provisions / total balance.
//! * Tables: by bucket (every bucket, empty ones too), by grade × bucket (non-empty cells), and
//!   by one dimension (product, branch, region, officer), sorted by key; all of them
//!   accumulated one loan at a time by [`PortfolioAcc`].

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::{count, ratio, LoanState};
use crate::buckets::Buckets;

/// The PAR thresholds reported: PAR_x counts DPD > x.
pub const PAR_DAYS: [u32; 3] = [1, 30, 90];

/// How PAR is counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParOptions {
    /// Restructured loans are at risk whatever their DPD (CGAP). Default true.
    pub include_restructured: bool,
}

impl Default for ParOptions {
    fn default() -> Self {
        ParOptions {
            include_restructured: true,
        }
    }
}

/// One PAR figure.
#[derive(Clone, Debug, PartialEq)]
pub struct Par {
    pub days: u32,
    pub loans: u64,
    pub balance: Decimal,
    pub ratio: Option<Decimal>,
}

/// The grade-based figures (present only when every loan is graded).
#[derive(Clone, Debug, PartialEq)]
pub struct GradeFigures {
    pub npl_loans: u64,
    pub npl_balance: Decimal,
    /// 不良贷款率.
    pub npl_ratio: Option<Decimal>,
    /// 偏离度 = balance over 90 DPD / NPL balance.
    pub deviation: Option<Decimal>,
    /// Loans over 90 DPD not graded NPL, in loan_id order.
    pub over90_not_npl: Vec<String>,
    pub provisions: Decimal,
    /// 拨备覆盖率 = provisions / NPL balance.
    pub coverage: Option<Decimal>,
    /// 贷款拨备率 = provisions / total balance.
    pub provision_rate: Option<Decimal>,
}

/// The headline figures of one date.
#[derive(Clone, Debug, PartialEq)]
pub struct Headline {
    pub loans: u64,
    pub balance: Decimal,
    pub overdue_loans: u64,
    pub overdue_balance: Decimal,
    /// 逾期贷款率.
    pub overdue_ratio: Option<Decimal>,
    pub par: Vec<Par>,
    pub over90_loans: u64,
    pub over90_balance: Decimal,
    /// `None` unless every loan carries a grade (and there is at least one loan).
    pub graded: Option<GradeFigures>,
}

impl Headline {
    /// The PAR figure for `days`, if reported.
    pub fn par(&self, days: u32) -> Option<&Par> {
        self.par.iter().find(|p| p.days == days)
    }
}

/// Whether `l` is at risk for PAR_days.
pub fn at_risk(l: &LoanState, days: u32, opt: ParOptions) -> bool {
    l.dpd > days || (opt.include_restructured && l.restructured)
}

/// The headline figures over `loans`.
pub fn headline(loans: &[LoanState], opt: ParOptions) -> Headline {
    let mut acc = HeadlineAcc::new(opt);
    for l in loans {
        acc.add(l);
    }
    acc.finish()
}

/// The headline figures accumulated one loan at a time (the book streams; workers merge).
#[derive(Clone, Debug, PartialEq)]
pub struct HeadlineAcc {
    opt: ParOptions,
    loans: u64,
    balance: Decimal,
    overdue: (u64, Decimal),
    par: [(u64, Decimal); PAR_DAYS.len()],
    over90: (u64, Decimal),
    ungraded: u64,
    npl: (u64, Decimal),
    provisions: Decimal,
    over90_not_npl: Vec<String>,
}

impl HeadlineAcc {
    pub fn new(opt: ParOptions) -> HeadlineAcc {
        HeadlineAcc {
            opt,
            loans: 0,
            balance: Decimal::ZERO,
            overdue: (0, Decimal::ZERO),
            par: [(0, Decimal::ZERO); PAR_DAYS.len()],
            over90: (0, Decimal::ZERO),
            ungraded: 0,
            npl: (0, Decimal::ZERO),
            provisions: Decimal::ZERO,
            over90_not_npl: Vec::new(),
        }
    }

    pub fn add(&mut self, l: &LoanState) {
        let add = |t: &mut (u64, Decimal)| {
            t.0 += 1;
            t.1 += l.balance;
        };
        self.loans += 1;
        self.balance += l.balance;
        if l.dpd >= 1 {
            add(&mut self.overdue);
        }
        if l.dpd > 90 {
            add(&mut self.over90);
        }
        for (t, &days) in self.par.iter_mut().zip(PAR_DAYS.iter()) {
            if at_risk(l, days, self.opt) {
                add(t);
            }
        }
        match &l.grade {
            None => self.ungraded += 1,
            Some(g) => {
                self.provisions += g.provision;
                if g.npl {
                    add(&mut self.npl);
                } else if l.dpd > 90 {
                    self.over90_not_npl.push(l.loan_id.clone());
                }
            }
        }
    }

    /// Adds another worker's loans.
    pub fn merge(&mut self, o: &HeadlineAcc) {
        let add = |a: &mut (u64, Decimal), b: &(u64, Decimal)| {
            a.0 += b.0;
            a.1 += b.1;
        };
        self.loans += o.loans;
        self.balance += o.balance;
        add(&mut self.overdue, &o.overdue);
        add(&mut self.over90, &o.over90);
        for (a, b) in self.par.iter_mut().zip(&o.par) {
            add(a, b);
        }
        self.ungraded += o.ungraded;
        add(&mut self.npl, &o.npl);
        self.provisions += o.provisions;
        self.over90_not_npl.extend(o.over90_not_npl.iter().cloned());
    }

    /// Whether there is a loan and every loan carries a grade (the grade-based figures exist).
    fn all_graded(&self) -> bool {
        self.loans > 0 && self.ungraded == 0
    }

    pub fn finish(&self) -> Headline {
        let balance = self.balance;
        let graded = self.all_graded().then(|| {
            let mut over90_not_npl = self.over90_not_npl.clone();
            over90_not_npl.sort();
            GradeFigures {
                npl_loans: self.npl.0,
                npl_balance: self.npl.1,
                npl_ratio: ratio(self.npl.1, balance),
                deviation: ratio(self.over90.1, self.npl.1),
                over90_not_npl,
                provisions: self.provisions,
                coverage: ratio(self.provisions, self.npl.1),
                provision_rate: ratio(self.provisions, balance),
            }
        });
        Headline {
            loans: self.loans,
            balance,
            overdue_loans: self.overdue.0,
            overdue_balance: self.overdue.1,
            overdue_ratio: ratio(self.overdue.1, balance),
            par: PAR_DAYS
                .iter()
                .zip(&self.par)
                .map(|(&days, &(n, b))| Par {
                    days,
                    loans: n,
                    balance: b,
                    ratio: ratio(b, balance),
                })
                .collect(),
            over90_loans: self.over90.0,
            over90_balance: self.over90.1,
            graded,
        }
    }
}

/// Loans and balance in one cell of a distribution.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Tally {
    pub loans: u64,
    pub balance: Decimal,
}

impl Tally {
    fn add(&mut self, l: &LoanState) {
        self.loans += 1;
        self.balance += l.balance;
    }

    fn merge(&mut self, o: &Tally) {
        self.loans += o.loans;
        self.balance += o.balance;
    }
}

/// One bucket of the distribution.
#[derive(Clone, Debug, PartialEq)]
pub struct BucketRow {
    pub bucket: String,
    pub loans: u64,
    pub balance: Decimal,
    /// balance / total balance.
    pub share: Option<Decimal>,
}

/// One non-empty grade × bucket cell.
#[derive(Clone, Debug, PartialEq)]
pub struct GradeBucketRow {
    pub grade: String,
    pub bucket: String,
    pub loans: u64,
    pub balance: Decimal,
    pub share: Option<Decimal>,
}

/// One IFRS 9 stage.
#[derive(Clone, Debug, PartialEq)]
pub struct StageRow {
    pub stage: u8,
    pub loans: u64,
    pub balance: Decimal,
    /// balance / total balance.
    pub share: Option<Decimal>,
    pub provision: Decimal,
    /// provision / balance of the stage.
    pub coverage: Option<Decimal>,
}

/// A value of a dimension: its loans, and the balance overdue and at risk (PAR30).
#[derive(Clone, Debug, Default, PartialEq)]
struct Group {
    tally: Tally,
    overdue: Decimal,
    par30: Decimal,
}

/// The portfolio figures of one date accumulated one loan at a time (the book streams; workers
/// merge; the order the loans come in does not change the answer): the headline, the
/// distributions by bucket, grade × bucket, stage and dimension, and the loans over 90 DPD not
/// graded NPL. Memory grows with the buckets, grades and dimension values, not with the book
/// (but for that last list).
#[derive(Clone, Debug, PartialEq)]
pub struct PortfolioAcc {
    buckets: Buckets,
    opt: ParOptions,
    head: HeadlineAcc,
    by_bucket: Vec<Tally>,
    /// Per grade (rank, label): a tally per bucket.
    by_grade: Vec<(u8, String, Vec<Tally>)>,
    /// Stages 1, 2, 3: the graded loans and their provisions.
    stages: [(Tally, Decimal); 3],
    /// Whether any loan carried a grade.
    graded: bool,
    /// Per [`Dimension::ALL`]: its values.
    dims: [BTreeMap<String, Group>; 4],
    /// Graded, not NPL, over 90 DPD (listed when every loan is graded).
    over90_not_npl: Vec<LoanState>,
}

impl PortfolioAcc {
    pub fn new(buckets: &Buckets, opt: ParOptions) -> PortfolioAcc {
        PortfolioAcc {
            buckets: buckets.clone(),
            opt,
            head: HeadlineAcc::new(opt),
            by_bucket: vec![Tally::default(); buckets.as_slice().len()],
            by_grade: Vec::new(),
            stages: Default::default(),
            graded: false,
            dims: Default::default(),
            over90_not_npl: Vec::new(),
        }
    }

    /// The figures over `loans`.
    pub fn of(loans: &[LoanState], buckets: &Buckets, opt: ParOptions) -> PortfolioAcc {
        let mut acc = PortfolioAcc::new(buckets, opt);
        for l in loans {
            acc.add(l);
        }
        acc
    }

    pub fn add(&mut self, l: &LoanState) {
        self.head.add(l);
        let b = self.buckets.index(l.dpd);
        self.by_bucket[b].add(l);
        if let Some(g) = &l.grade {
            self.graded = true;
            let n = self.by_bucket.len();
            let i = match self
                .by_grade
                .iter()
                .position(|x| x.0 == g.rank && x.1 == g.label)
            {
                Some(i) => i,
                None => {
                    self.by_grade
                        .push((g.rank, g.label.clone(), vec![Tally::default(); n]));
                    self.by_grade.len() - 1
                }
            };
            self.by_grade[i].2[b].add(l);
            let stage = usize::from(g.stage).checked_sub(1);
            if let Some(s) = stage.and_then(|i| self.stages.get_mut(i)) {
                s.0.add(l);
                s.1 += g.provision;
            }
            if !g.npl && l.dpd > 90 {
                self.over90_not_npl.push(l.clone());
            }
        }
        for (dim, groups) in Dimension::ALL.iter().zip(&mut self.dims) {
            let key = dim.key(l);
            let g = match groups.get_mut(key) {
                Some(g) => g,
                None => groups.entry(key.to_string()).or_default(),
            };
            g.tally.add(l);
            if l.dpd >= 1 {
                g.overdue += l.balance;
            }
            if at_risk(l, 30, self.opt) {
                g.par30 += l.balance;
            }
        }
    }

    /// Adds another worker's loans.
    pub fn merge(&mut self, o: &PortfolioAcc) {
        self.head.merge(&o.head);
        for (a, b) in self.by_bucket.iter_mut().zip(&o.by_bucket) {
            a.merge(b);
        }
        for (rank, label, cells) in &o.by_grade {
            match self
                .by_grade
                .iter_mut()
                .find(|x| x.0 == *rank && x.1 == *label)
            {
                Some(x) => {
                    for (a, b) in x.2.iter_mut().zip(cells) {
                        a.merge(b);
                    }
                }
                None => self.by_grade.push((*rank, label.clone(), cells.clone())),
            }
        }
        for (a, b) in self.stages.iter_mut().zip(&o.stages) {
            a.0.merge(&b.0);
            a.1 += b.1;
        }
        self.graded |= o.graded;
        for (a, b) in self.dims.iter_mut().zip(&o.dims) {
            for (k, g) in b {
                let x = a.entry(k.clone()).or_default();
                x.tally.merge(&g.tally);
                x.overdue += g.overdue;
                x.par30 += g.par30;
            }
        }
        self.over90_not_npl.extend(o.over90_not_npl.iter().cloned());
    }

    pub fn par(&self) -> ParOptions {
        self.opt
    }

    /// The total balance (the denominator of the shares).
    fn total(&self) -> Decimal {
        self.head.balance
    }

    pub fn headline(&self) -> Headline {
        self.head.finish()
    }

    /// Loans and balance in every bucket (empty buckets included), in bucket order.
    pub fn by_bucket(&self) -> Vec<BucketRow> {
        self.buckets
            .labels()
            .zip(&self.by_bucket)
            .map(|(label, t)| BucketRow {
                bucket: label.to_string(),
                loans: t.loans,
                share: ratio(t.balance, self.total()),
                balance: t.balance,
            })
            .collect()
    }

    /// The grades in rank (then label) order, with a tally per bucket.
    fn grades(&self) -> Vec<&(u8, String, Vec<Tally>)> {
        let mut v: Vec<&(u8, String, Vec<Tally>)> = self.by_grade.iter().collect();
        v.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        v
    }

    /// Non-empty grade × bucket cells, by grade rank then bucket; empty when no loan is graded.
    /// Ungraded loans (when some are graded) are left out of this table.
    pub fn by_grade_bucket(&self) -> Vec<GradeBucketRow> {
        let labels: Vec<&str> = self.buckets.labels().collect();
        let mut out = Vec::new();
        for (_, grade, cells) in self.grades() {
            for (b, t) in cells.iter().enumerate().filter(|(_, t)| t.loans > 0) {
                out.push(GradeBucketRow {
                    grade: grade.clone(),
                    bucket: labels[b].to_string(),
                    loans: t.loans,
                    share: ratio(t.balance, self.total()),
                    balance: t.balance,
                });
            }
        }
        out
    }

    /// The balance of each grade (by rank, best first; a rank under its first label).
    pub fn by_grade(&self) -> Vec<(String, Decimal)> {
        let mut out: Vec<(u8, String, Decimal)> = Vec::new();
        for (rank, label, cells) in self.grades() {
            let balance: Decimal = cells.iter().map(|t| t.balance).sum();
            match out.iter_mut().find(|x| x.0 == *rank) {
                Some(x) => x.2 += balance,
                None => out.push((*rank, label.clone(), balance)),
            }
        }
        out.into_iter().map(|x| (x.1, x.2)).collect()
    }

    /// Stages 1, 2 and 3 (every stage, empty ones too) over the graded loans; empty when no
    /// loan is graded.
    pub fn by_stage(&self) -> Vec<StageRow> {
        if !self.graded {
            return Vec::new();
        }
        (1..=3u8)
            .zip(&self.stages)
            .map(|(stage, (t, provision))| StageRow {
                stage,
                loans: t.loans,
                share: ratio(t.balance, self.total()),
                coverage: ratio(*provision, t.balance),
                balance: t.balance,
                provision: *provision,
            })
            .collect()
    }

    /// Loans, balance, overdue and PAR30 per value of `dim`, sorted by value.
    pub fn by_dimension(&self, dim: Dimension) -> Vec<GroupRow> {
        let i = Dimension::ALL.iter().position(|d| *d == dim).unwrap_or(0);
        self.dims[i]
            .iter()
            .map(|(key, g)| GroupRow {
                key: key.clone(),
                loans: g.tally.loans,
                share: ratio(g.tally.balance, self.total()),
                overdue_ratio: ratio(g.overdue, g.tally.balance),
                par30: ratio(g.par30, g.tally.balance),
                balance: g.tally.balance,
                overdue_balance: g.overdue,
                par30_balance: g.par30,
            })
            .collect()
    }

    /// The loans over 90 DPD not graded NPL, in loan_id order; empty unless every loan is
    /// graded (as [`GradeFigures::over90_not_npl`]).
    pub fn over90_not_npl(&self) -> Vec<&LoanState> {
        if !self.head.all_graded() {
            return Vec::new();
        }
        let mut v: Vec<&LoanState> = self.over90_not_npl.iter().collect();
        v.sort_by(|a, b| a.loan_id.cmp(&b.loan_id));
        v
    }
}

/// A dimension of the book.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dimension {
    Product,
    Branch,
    Region,
    Officer,
}

impl Dimension {
    pub const ALL: [Dimension; 4] = [
        Dimension::Product,
        Dimension::Branch,
        Dimension::Region,
        Dimension::Officer,
    ];

    /// The snake_case name (CSV column and table name).
    pub fn name(self) -> &'static str {
        match self {
            Dimension::Product => "product",
            Dimension::Branch => "branch",
            Dimension::Region => "region",
            Dimension::Officer => "officer",
        }
    }

    pub fn key(self, l: &LoanState) -> &str {
        match self {
            Dimension::Product => &l.product,
            Dimension::Branch => &l.branch,
            Dimension::Region => &l.region,
            Dimension::Officer => &l.officer,
        }
    }
}

/// One value of a dimension.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupRow {
    pub key: String,
    pub loans: u64,
    pub balance: Decimal,
    /// balance / total balance of the book.
    pub share: Option<Decimal>,
    pub overdue_balance: Decimal,
    /// 逾期贷款率 within the group.
    pub overdue_ratio: Option<Decimal>,
    pub par30_balance: Decimal,
    /// PAR30 within the group.
    pub par30: Option<Decimal>,
}

/// Shares by count (used by the migration module too).
pub(crate) fn share_of(n: u64, total: u64) -> Option<Decimal> {
    ratio(count(n), count(total))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::{book, graded_book};
    use crate::test_support::m;

    fn of(loans: &[LoanState]) -> PortfolioAcc {
        PortfolioAcc::of(loans, &Buckets::default_days(), ParOptions::default())
    }

    #[test]
    fn headline_par_and_overdue_ratio_on_the_fixture() {
        let h = headline(&book(), ParOptions::default());
        assert_eq!(h.loans, 6);
        // 4000+2000+1500+1000+900+600
        assert_eq!(h.balance, m("10000.00"));
        // 逾期贷款率: C, D, E, F overdue: 1500+1000+900+600 = 4000 / 10000
        assert_eq!(h.overdue_loans, 4);
        assert_eq!(h.overdue_balance, m("4000.00"));
        assert_eq!(h.overdue_ratio, Some(m("0.400000")));
        // PAR1: DPD > 1 is D, E, F = 2500, plus restructured B 2000 = 4500 / 10000
        // (C at DPD 1 is not "more than 1 day").
        let p1 = h.par(1).unwrap();
        assert_eq!((p1.loans, p1.balance), (4, m("4500.00")));
        assert_eq!(p1.ratio, Some(m("0.450000")));
        // PAR30: D 1000 (31 > 30) + E 900 + F 600 + B 2000 = 4500 / 10000
        assert_eq!(h.par(30).unwrap().ratio, Some(m("0.450000")));
        // PAR90: E 900 + F 600 + B 2000 = 3500 / 10000
        assert_eq!(h.par(90).unwrap().balance, m("3500.00"));
        assert_eq!(h.par(90).unwrap().ratio, Some(m("0.350000")));
        // Over 90: E, F = 1500
        assert_eq!((h.over90_loans, h.over90_balance), (2, m("1500.00")));
        assert_eq!(h.graded, None, "no grades handed in, no NPL figures");
    }

    #[test]
    fn headline_accumulated_in_two_workers_equals_the_whole() {
        let v = graded_book();
        let (mut a, mut b) = (
            HeadlineAcc::new(ParOptions::default()),
            HeadlineAcc::new(ParOptions::default()),
        );
        // E (the 偏离度 loan) and F (NPL) in the second worker, listed before the first's
        for l in &v[4..] {
            b.add(l);
        }
        for l in &v[..4] {
            a.add(l);
        }
        b.merge(&a);
        assert_eq!(b.finish(), headline(&v, ParOptions::default()));
    }

    #[test]
    fn portfolio_accumulated_in_two_workers_in_any_order_equals_the_whole() {
        let mut v = graded_book();
        v[3].grade = None; // D ungraded: the grade tables leave it out, the headline has no NPL
        for book in [graded_book(), v] {
            let whole = of(&book);
            let (mut a, mut b) = (of(&book[3..]), of(&book[..3]));
            // the later worker's loans first, then the earlier's merged in
            a.merge(&b);
            b.merge(&of(&book[3..]));
            for x in [a, b] {
                assert_eq!(x.headline(), whole.headline());
                assert_eq!(x.by_bucket(), whole.by_bucket());
                assert_eq!(x.by_grade_bucket(), whole.by_grade_bucket());
                assert_eq!(x.by_grade(), whole.by_grade());
                assert_eq!(x.by_stage(), whole.by_stage());
                for dim in Dimension::ALL {
                    assert_eq!(x.by_dimension(dim), whole.by_dimension(dim));
                }
                assert_eq!(x.over90_not_npl(), whole.over90_not_npl());
            }
        }
        // Graded: 正常 4000, 关注 2000+1500+1000+900 = 5400, 可疑 600; E (91 DPD, 关注) listed.
        let g = of(&graded_book());
        assert_eq!(
            g.by_grade(),
            vec![
                ("正常".to_string(), m("4000.00")),
                ("关注".to_string(), m("5400.00")),
                ("可疑".to_string(), m("600.00")),
            ]
        );
        let ids: Vec<&str> = g
            .over90_not_npl()
            .iter()
            .map(|l| l.loan_id.as_str())
            .collect();
        assert_eq!(ids, ["E"]);
        // One loan ungraded: no grade figures, so no list either.
        let mut v = graded_book();
        v[0].grade = None;
        assert!(of(&v).over90_not_npl().is_empty());
    }

    #[test]
    fn par_without_restructured() {
        let h = headline(
            &book(),
            ParOptions {
                include_restructured: false,
            },
        );
        // PAR1 = D+E+F = 2500 / 10000; PAR30 the same; PAR90 = E+F = 1500 / 10000
        assert_eq!(h.par(1).unwrap().ratio, Some(m("0.250000")));
        assert_eq!(h.par(30).unwrap().ratio, Some(m("0.250000")));
        assert_eq!(h.par(90).unwrap().ratio, Some(m("0.150000")));
    }

    #[test]
    fn par_boundaries_30_and_90_are_strict() {
        use crate::report::fixture::loan;
        let v = vec![
            loan("a", "100", 30),
            loan("b", "100", 31),
            loan("c", "100", 90),
            loan("d", "100", 91),
        ];
        let h = headline(&v, ParOptions::default());
        // PAR30: b, c, d = 300 / 400 = 0.75; PAR90: d = 100 / 400 = 0.25
        assert_eq!(h.par(30).unwrap().ratio, Some(m("0.750000")));
        assert_eq!(h.par(90).unwrap().ratio, Some(m("0.250000")));
        assert_eq!(h.over90_loans, 1);
    }

    #[test]
    fn graded_figures_npl_deviation_provisions() {
        let h = headline(&graded_book(), ParOptions::default());
        let g = h.graded.unwrap();
        // NPL = F 600 / 10000 = 0.06
        assert_eq!((g.npl_loans, g.npl_balance), (1, m("600.00")));
        assert_eq!(g.npl_ratio, Some(m("0.060000")));
        // 偏离度 = over 90 (E 900 + F 600 = 1500) / NPL 600 = 2.5
        assert_eq!(g.deviation, Some(m("2.500000")));
        assert_eq!(g.over90_not_npl, vec!["E".to_string()]);
        // provisions 60+60+45+30+27+360 = 582; coverage 582/600 = 0.97; rate 582/10000 = 0.0582
        assert_eq!(g.provisions, m("582.00"));
        assert_eq!(g.coverage, Some(m("0.970000")));
        assert_eq!(g.provision_rate, Some(m("0.058200")));
    }

    #[test]
    fn graded_figures_need_every_loan_graded_and_npl_zero_gives_none() {
        let mut v = graded_book();
        v[0].grade = None;
        assert_eq!(headline(&v, ParOptions::default()).graded, None);
        let mut v = graded_book();
        v.pop(); // drop F, the only NPL loan
        let g = headline(&v, ParOptions::default()).graded.unwrap();
        assert_eq!(g.npl_balance, Decimal::ZERO);
        assert_eq!(g.deviation, None);
        assert_eq!(g.coverage, None);
        assert_eq!(headline(&[], ParOptions::default()).overdue_ratio, None);
    }

    #[test]
    fn bucket_distribution_lists_every_bucket() {
        let rows =
            PortfolioAcc::of(&book(), &Buckets::default_days(), ParOptions::default()).by_bucket();
        let got: Vec<(&str, u64, Decimal, Option<Decimal>)> = rows
            .iter()
            .map(|r| (r.bucket.as_str(), r.loans, r.balance, r.share))
            .collect();
        assert_eq!(
            got,
            vec![
                ("current", 2, m("6000.00"), Some(m("0.600000"))), // A 4000 + B 2000
                ("1-30", 1, m("1500.00"), Some(m("0.150000"))),    // C
                ("31-60", 1, m("1000.00"), Some(m("0.100000"))),   // D
                ("61-90", 0, m("0"), Some(m("0.000000"))),
                ("91-180", 1, m("900.00"), Some(m("0.090000"))), // E
                ("181-360", 1, m("600.00"), Some(m("0.060000"))), // F
                ("360+", 0, m("0"), Some(m("0.000000"))),
            ]
        );
    }

    #[test]
    fn grade_by_bucket_cells() {
        let rows = of(&graded_book()).by_grade_bucket();
        let got: Vec<(&str, &str, u64, Decimal)> = rows
            .iter()
            .map(|r| (r.grade.as_str(), r.bucket.as_str(), r.loans, r.balance))
            .collect();
        assert_eq!(
            got,
            vec![
                ("正常", "current", 1, m("4000.00")),
                ("关注", "current", 1, m("2000.00")),
                ("关注", "1-30", 1, m("1500.00")),
                ("关注", "31-60", 1, m("1000.00")),
                ("关注", "91-180", 1, m("900.00")),
                ("可疑", "181-360", 1, m("600.00")),
            ]
        );
        assert!(of(&book()).by_grade_bucket().is_empty());
    }

    #[test]
    fn stage_totals() {
        let rows = of(&graded_book()).by_stage();
        let got: Vec<(u8, u64, Decimal, Decimal, Option<Decimal>)> = rows
            .iter()
            .map(|r| (r.stage, r.loans, r.balance, r.provision, r.coverage))
            .collect();
        assert_eq!(
            got,
            vec![
                // stage 1: A 4000, provision 60; 60 / 4000 = 0.015
                (1, 1, m("4000.00"), m("60.00"), Some(m("0.015000"))),
                // stage 2: B 2000 + C 1500 + D 1000 + E 900 = 5400; 60+45+30+27 = 162;
                // 162 / 5400 = 0.03
                (2, 4, m("5400.00"), m("162.00"), Some(m("0.030000"))),
                // stage 3: F 600, 360; 360 / 600 = 0.6
                (3, 1, m("600.00"), m("360.00"), Some(m("0.600000"))),
            ]
        );
        assert_eq!(rows[1].share, Some(m("0.540000"))); // 5400 / 10000
        assert!(of(&book()).by_stage().is_empty());
    }

    #[test]
    fn by_officer_and_product() {
        let rows = of(&book()).by_dimension(Dimension::Officer);
        // E01: A 4000, B 2000, C 1500, F 600 = 8100; overdue C+F = 2100; PAR30 B+F = 2600
        // E02: D 1000, E 900 = 1900; overdue 1900; PAR30 1900
        assert_eq!(rows.len(), 2);
        let e01 = &rows[0];
        assert_eq!(
            (e01.key.as_str(), e01.loans, e01.balance),
            ("E01", 4, m("8100.00"))
        );
        assert_eq!(e01.share, Some(m("0.810000"))); // 8100 / 10000
        assert_eq!(e01.overdue_balance, m("2100.00"));
        assert_eq!(e01.overdue_ratio, Some(m("0.259259"))); // 2100 / 8100 = 0.2592592…
        assert_eq!(e01.par30_balance, m("2600.00"));
        assert_eq!(e01.par30, Some(m("0.320988"))); // 2600 / 8100 = 0.3209876…
        let e02 = &rows[1];
        assert_eq!(
            (e02.key.as_str(), e02.loans, e02.balance),
            ("E02", 2, m("1900.00"))
        );
        assert_eq!(e02.par30, Some(m("1.000000")));
        let p = of(&book()).by_dimension(Dimension::Product);
        // 消费贷: E 900 + F 600 = 1500; 经营贷: 8500. Sorted by key (UTF-8 bytes): 消 < 经.
        let keys: Vec<(&str, Decimal)> = p.iter().map(|r| (r.key.as_str(), r.balance)).collect();
        assert_eq!(
            keys,
            vec![("消费贷", m("1500.00")), ("经营贷", m("8500.00"))]
        );
    }
}
