//! The post-loan report's arithmetic (贷后管理报告): pure aggregation over plain per-loan values.
//! No SQL, no I/O, no clock; the command hands in one [`LoanState`] per loan and date, and gets
//! figures back. The figures of the book are accumulated one loan at a time
//! ([`ratios::PortfolioAcc`], [`ratios::HeadlineAcc`], [`migration::Series`],
//! [`collections::LoanKpis`], [`Top`]): each key range of the scan its own, merged at the end, the
//! answer the same whatever the order the loans come in. Definitions follow RULES.md §4; each is restated where it is computed.
//!
//! # Conventions
//! * **Balance** is the loan's outstanding principal as of the date (due or not yet due).
//!   "Total loans" (the denominator of every ratio) is the sum over the loans handed in; the
//!   caller decides which loans are in the book (daihou: originated on or before the date and
//!   not closed).
//! * **Ratios** are exact quotients rounded half away from zero to 6 decimal places
//!   ([`ratio`]), `None` when the denominator is zero. They are fractions (`0.052300`), never
//!   percent; renderers format them.
//! * **Grades** are data handed in ([`Graded`]: a label, a rank for ordering, whether it is NPL,
//!   the provision held). When no loan carries a grade, the grade-based figures are absent, not
//!   zero.
//!
//! Modules: [`ratios`] (headline ratios and the distribution tables), [`migration`] (transition
//! matrices and roll rates), [`vintage`] (the vintage triangle), [`conduct`] (the follow-up log
//! against the conduct rules), [`collections`] (officer KPIs), and [`docs`] (the figures laid
//! out as the tables and charts of a [`crate::output::Document`]).

pub mod collections;
pub mod conduct;
pub mod docs;
pub mod migration;
pub mod ratios;
pub mod vintage;

use rust_decimal::{Decimal, RoundingStrategy};

/// One loan as of one date: what every report aggregates.
#[derive(Clone, Debug, PartialEq)]
pub struct LoanState {
    pub loan_id: String,
    pub product: String,
    pub branch: String,
    pub region: String,
    pub officer: String,
    /// Outstanding principal as of the date.
    pub balance: Decimal,
    /// Days past due as of the date (the engine's DPD).
    pub dpd: u32,
    /// Restructured (重组) and counted in PAR by default.
    pub restructured: bool,
    /// The loan's grade, when a classification is available.
    pub grade: Option<Graded>,
}

/// A grade as the classification gave it.
#[derive(Clone, Debug, PartialEq)]
pub struct Graded {
    /// e.g. 正常, 关注, 次级, 可疑, 损失.
    pub label: String,
    /// Order of the grade, best first (正常 0 … 损失 4).
    pub rank: u8,
    /// 次级 + 可疑 + 损失 = 不良 (NPL).
    pub npl: bool,
    /// Loan-loss reserve held against the loan.
    pub provision: Decimal,
    /// IFRS 9 stage (1, 2, 3).
    pub stage: u8,
}

/// The `n` first of a stream of items in an order (`cmp`, total), kept as they come in: memory
/// stays under `2n` items, and the answer does not depend on the order they came in.
#[derive(Clone, Debug)]
pub struct Top<T> {
    n: usize,
    cmp: fn(&T, &T) -> std::cmp::Ordering,
    items: Vec<T>,
}

impl<T> Top<T> {
    pub fn new(n: usize, cmp: fn(&T, &T) -> std::cmp::Ordering) -> Top<T> {
        Top {
            n,
            cmp,
            items: Vec::new(),
        }
    }

    pub fn push(&mut self, x: T) {
        self.items.push(x);
        if self.items.len() >= 2 * self.n.max(1) {
            self.trim();
        }
    }

    fn trim(&mut self) {
        self.items.sort_by(self.cmp);
        self.items.truncate(self.n);
    }

    /// Takes in another worker's items.
    pub fn merge(&mut self, later: Top<T>) {
        for x in later.items {
            self.push(x);
        }
    }

    /// The first `n`, in order.
    pub fn finish(mut self) -> Vec<T> {
        self.trim();
        self.items
    }
}

/// A loan with a balance, for [`Top::by_balance`].
pub trait Exposure {
    fn loan_id(&self) -> &str;
    fn balance(&self) -> Decimal;
}

impl Exposure for LoanState {
    fn loan_id(&self) -> &str {
        &self.loan_id
    }
    fn balance(&self) -> Decimal {
        self.balance
    }
}

impl<T: Exposure> Top<T> {
    /// The `n` largest balances (ties: by loan_id).
    pub fn by_balance(n: usize) -> Top<T> {
        Top::new(n, |a, b| {
            b.balance()
                .cmp(&a.balance())
                .then_with(|| a.loan_id().cmp(b.loan_id()))
        })
    }
}

/// Places of a ratio.
pub const RATIO_DP: u32 = 6;

/// `num / den` rounded half away from zero to [`RATIO_DP`] places; `None` when `den` is zero.
pub fn ratio(num: Decimal, den: Decimal) -> Option<Decimal> {
    if den.is_zero() {
        return None;
    }
    let mut r = num
        .checked_div(den)?
        .round_dp_with_strategy(RATIO_DP, RoundingStrategy::MidpointAwayFromZero);
    r.rescale(RATIO_DP);
    Some(r)
}

/// A count as a Decimal (for count-based shares).
pub(crate) fn count(n: u64) -> Decimal {
    Decimal::from(n)
}

#[cfg(test)]
pub(crate) mod fixture {
    //! The small book every report test uses. Balances are chosen so each figure can be
    //! worked out by hand; the totals are written here once.
    use super::{Graded, LoanState};
    use crate::test_support::m;

    pub fn loan(id: &str, balance: &str, dpd: u32) -> LoanState {
        LoanState {
            loan_id: id.to_string(),
            product: "经营贷".to_string(),
            branch: "西湖支行".to_string(),
            region: "杭州".to_string(),
            officer: "E01".to_string(),
            balance: m(balance),
            dpd,
            restructured: false,
            grade: None,
        }
    }

    pub fn grade(label: &str, rank: u8, npl: bool, provision: &str) -> Option<Graded> {
        Some(Graded {
            label: label.to_string(),
            rank,
            npl,
            provision: m(provision),
            // 正常 stage 1, 关注 stage 2, NPL stage 3
            stage: if npl {
                3
            } else if rank == 0 {
                1
            } else {
                2
            },
        })
    }

    /// Six loans, total balance 10,000.00:
    /// | loan | balance | dpd | notes |
    /// |---|---|---|---|
    /// | A | 4000 | 0 | |
    /// | B | 2000 | 0 | restructured |
    /// | C | 1500 | 1 | |
    /// | D | 1000 | 31 | officer E02, branch 滨江支行 |
    /// | E |  900 | 91 | officer E02, product 消费贷 |
    /// | F |  600 | 200 | product 消费贷, region 宁波 |
    pub fn book() -> Vec<LoanState> {
        let mut v = vec![
            loan("A", "4000.00", 0),
            loan("B", "2000.00", 0),
            loan("C", "1500.00", 1),
            loan("D", "1000.00", 31),
            loan("E", "900.00", 91),
            loan("F", "600.00", 200),
        ];
        v[1].restructured = true;
        v[3].officer = "E02".into();
        v[3].branch = "滨江支行".into();
        v[4].officer = "E02".into();
        v[4].product = "消费贷".into();
        v[5].product = "消费贷".into();
        v[5].region = "宁波".into();
        v
    }

    /// The book graded: A 正常 (provision 60), B 关注 (60), C 关注 (45), D 关注 (30),
    /// E 关注 though 91 DPD (27: the 偏离度 case), F 可疑 (360). NPL = F only.
    pub fn graded_book() -> Vec<LoanState> {
        let mut v = book();
        let g = [
            grade("正常", 0, false, "60.00"),
            grade("关注", 1, false, "60.00"),
            grade("关注", 1, false, "45.00"),
            grade("关注", 1, false, "30.00"),
            grade("关注", 1, false, "27.00"),
            grade("可疑", 3, true, "360.00"),
        ];
        for (l, g) in v.iter_mut().zip(g) {
            l.grade = g;
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::m;

    #[test]
    fn top_keeps_the_largest_balances_whatever_the_order() {
        use super::fixture::book;
        // By balance: A 4000, B 2000, C 1500, D 1000, E 900, F 600.
        let ids = |t: Top<LoanState>| -> Vec<String> {
            t.finish().into_iter().map(|l| l.loan_id).collect()
        };
        let mut fwd = Top::by_balance(3);
        book().into_iter().for_each(|l| fwd.push(l));
        assert_eq!(ids(fwd), ["A", "B", "C"]);
        // Reversed, in two workers of three loans (each trims at 2n = 6: not before merging).
        let (mut a, mut b) = (Top::by_balance(3), Top::by_balance(3));
        let mut v = book();
        v.reverse();
        for (i, l) in v.into_iter().enumerate() {
            if i < 3 {
                a.push(l)
            } else {
                b.push(l)
            }
        }
        b.merge(a);
        assert_eq!(ids(b), ["A", "B", "C"]);
        // A tie on balance goes to the smaller loan_id.
        let mut t = Top::by_balance(1);
        let mut x = book();
        x[1].balance = x[0].balance;
        x.into_iter().rev().for_each(|l| t.push(l));
        assert_eq!(ids(t), ["A"]);
    }

    #[test]
    fn ratio_rounds_half_away_at_six_places_and_refuses_zero() {
        // 1/3 = 0.333333…
        assert_eq!(ratio(m("1"), m("3")), Some(m("0.333333")));
        // 2/3 = 0.6666666… → 0.666667
        assert_eq!(ratio(m("2"), m("3")), Some(m("0.666667")));
        // 1/16 = 0.0625 exactly, shown with 6 places
        assert_eq!(ratio(m("1"), m("16")).unwrap().to_string(), "0.062500");
        // 0.0000005 is a midpoint: away from zero
        assert_eq!(ratio(m("5"), m("10000000")), Some(m("0.000001")));
        assert_eq!(ratio(m("1"), Decimal::ZERO), None);
    }
}
