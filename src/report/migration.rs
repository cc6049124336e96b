//! Migration between two dates (RULES.md §4): the transition matrix by count and balance, cures
//! included, and bucket roll rates.
//!
//! * States are the buckets (or grades) in order, best first, plus two edges: `new` (a loan in
//!   the book at the second date only) as a **from** state and `closed` (a loan in the book at
//!   the first date only: paid off or written off) as a **to** state.
//! * The matrix lists every (from, to) pair, zero cells included, rows `new` then the states,
//!   columns the states then `closed`. `balance_from` is the balance at the first date,
//!   `balance_to` at the second. `share_loans` = loans / loans in the from state; `share_balance`
//!   = balance_from / balance_from of the from state (`None` for `new`, which had no balance).
//! * A **cure** is a move to a better state (a lower index), `closed` not counted.
//! * **Roll rate** A → B (B the next-worse state) between consecutive dates t−1 and t =
//!   balance in B at t / balance in A at t−1 (OCC), computed from the two dates' totals.

use std::collections::HashMap;

use rust_decimal::Decimal;

use super::ratio;
use super::ratios::{share_of, Headline, HeadlineAcc, ParOptions};
use super::LoanState;
use crate::buckets::Buckets;

/// A loan's state at one date: its index in the state list and its balance.
#[derive(Clone, Debug, PartialEq)]
pub struct StateOf<'a> {
    pub loan_id: &'a str,
    pub state: usize,
    pub balance: Decimal,
}

/// A from or to state of the matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Edge {
    New,
    State(usize),
    Closed,
}

/// One cell of the transition matrix.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    pub from: Edge,
    pub to: Edge,
    pub loans: u64,
    pub balance_from: Decimal,
    pub balance_to: Decimal,
    pub share_loans: Option<Decimal>,
    pub share_balance: Option<Decimal>,
}

/// Totals of the movement between the two dates.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Flow {
    pub stayed_loans: u64,
    pub worse_loans: u64,
    pub worse_balance: Decimal,
    /// Moved to a better state (cures), with their balance at the first date.
    pub cured_loans: u64,
    pub cured_balance: Decimal,
    pub closed_loans: u64,
    pub closed_balance: Decimal,
    pub new_loans: u64,
    pub new_balance: Decimal,
}

/// The transition matrix between `from` and `to` over `n_states` states, and its flow totals.
/// A loan id appearing twice in one list counts once (the first).
pub fn matrix(from: &[StateOf<'_>], to: &[StateOf<'_>], n_states: usize) -> (Vec<Cell>, Flow) {
    let later: HashMap<&str, &StateOf<'_>> = to.iter().rev().map(|s| (s.loan_id, s)).collect();
    let earlier: HashMap<&str, &StateOf<'_>> = from.iter().rev().map(|s| (s.loan_id, s)).collect();
    let mut acc = Moves::default();
    let mut seen = std::collections::HashSet::new();
    for s in from {
        if seen.insert(s.loan_id) {
            acc.add(
                Some((s.state, s.balance)),
                later.get(s.loan_id).map(|t| (t.state, t.balance)),
            );
        }
    }
    let mut seen_to = std::collections::HashSet::new();
    for t in to {
        if !earlier.contains_key(t.loan_id) && seen_to.insert(t.loan_id) {
            acc.add(None, Some((t.state, t.balance)));
        }
    }
    acc.finish(n_states)
}

/// The matrix and flow accumulated one loan at a time (the book streams; workers merge).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Moves {
    cells: HashMap<(Edge, Edge), (u64, Decimal, Decimal)>,
    flow: Flow,
}

impl Moves {
    /// One loan: its (state, balance) at the first date and at the second, `None` when not in
    /// the book then.
    pub fn add(&mut self, from: Option<(usize, Decimal)>, to: Option<(usize, Decimal)>) {
        let flow = &mut self.flow;
        match (from, to) {
            (Some((a, bal)), to) => {
                let (b, bal_to) = match to {
                    Some((j, t)) => (Edge::State(j), t),
                    None => (Edge::Closed, Decimal::ZERO),
                };
                let c = self.cells.entry((Edge::State(a), b)).or_default();
                c.0 += 1;
                c.1 += bal;
                c.2 += bal_to;
                match b {
                    Edge::Closed => {
                        flow.closed_loans += 1;
                        flow.closed_balance += bal;
                    }
                    Edge::State(j) if j < a => {
                        flow.cured_loans += 1;
                        flow.cured_balance += bal;
                    }
                    Edge::State(j) if j > a => {
                        flow.worse_loans += 1;
                        flow.worse_balance += bal;
                    }
                    _ => flow.stayed_loans += 1,
                }
            }
            (None, Some((j, t))) => {
                let c = self.cells.entry((Edge::New, Edge::State(j))).or_default();
                c.0 += 1;
                c.2 += t;
                flow.new_loans += 1;
                flow.new_balance += t;
            }
            (None, None) => {}
        }
    }

    /// Adds another worker's moves.
    pub fn merge(&mut self, o: &Moves) {
        for (k, v) in &o.cells {
            let c = self.cells.entry(*k).or_default();
            c.0 += v.0;
            c.1 += v.1;
            c.2 += v.2;
        }
        let (f, g) = (&mut self.flow, &o.flow);
        f.stayed_loans += g.stayed_loans;
        f.worse_loans += g.worse_loans;
        f.worse_balance += g.worse_balance;
        f.cured_loans += g.cured_loans;
        f.cured_balance += g.cured_balance;
        f.closed_loans += g.closed_loans;
        f.closed_balance += g.closed_balance;
        f.new_loans += g.new_loans;
        f.new_balance += g.new_balance;
    }

    /// Every (from, to) cell over `n_states` states, zero cells included, and the flow.
    pub fn finish(&self, n_states: usize) -> (Vec<Cell>, Flow) {
        let cells = &self.cells;
        let rows: Vec<Edge> = std::iter::once(Edge::New)
            .chain((0..n_states).map(Edge::State))
            .collect();
        let cols: Vec<Edge> = (0..n_states)
            .map(Edge::State)
            .chain(std::iter::once(Edge::Closed))
            .collect();
        let mut out = Vec::with_capacity(rows.len() * cols.len());
        for &r in &rows {
            let (row_loans, row_bal) = cols.iter().fold((0u64, Decimal::ZERO), |(n, b), &c| {
                let v = cells.get(&(r, c));
                (
                    n + v.map_or(0, |v| v.0),
                    b + v.map_or(Decimal::ZERO, |v| v.1),
                )
            });
            for &c in &cols {
                let (n, bf, bt) = cells.get(&(r, c)).cloned().unwrap_or_default();
                out.push(Cell {
                    from: r,
                    to: c,
                    loans: n,
                    balance_from: bf,
                    balance_to: bt,
                    share_loans: share_of(n, row_loans),
                    share_balance: if r == Edge::New {
                        None
                    } else {
                        ratio(bf, row_bal)
                    },
                });
            }
        }
        (out, self.flow.clone())
    }
}

/// The figures of the migration report over dates `0..n`, accumulated one loan at a time: the
/// bucket matrix from the first date to the last, the flow of each consecutive step, the
/// balance per bucket per date, the headline per date, and the grade matrix from the first
/// date to the last (kept only when every loan in the book at both ends carries a grade).
#[derive(Clone, Debug)]
pub struct Series {
    buckets: Buckets,
    first_last: Moves,
    steps: Vec<Moves>,
    totals: Vec<Vec<Decimal>>,
    heads: Vec<HeadlineAcc>,
    grades: Moves,
    /// Loans in the book at the first / last date without a grade.
    ungraded_ends: u64,
    loans_ends: [u64; 2],
}

/// What [`Series::finish`] gives.
#[derive(Clone, Debug, PartialEq)]
pub struct Figures {
    pub matrix: Vec<Cell>,
    pub flows: Vec<Flow>,
    pub totals: Vec<Vec<Decimal>>,
    pub heads: Vec<Headline>,
    /// Empty unless every loan at both ends is graded.
    pub grade_matrix: Vec<Cell>,
}

impl Series {
    pub fn new(dates: usize, buckets: &Buckets, par: ParOptions) -> Series {
        let n = buckets.as_slice().len();
        Series {
            buckets: buckets.clone(),
            first_last: Moves::default(),
            steps: vec![Moves::default(); dates.saturating_sub(1)],
            totals: vec![vec![Decimal::ZERO; n]; dates],
            heads: vec![HeadlineAcc::new(par); dates],
            grades: Moves::default(),
            ungraded_ends: 0,
            loans_ends: [0, 0],
        }
    }

    /// One loan: its state at each date (None when not in the book then).
    pub fn add(&mut self, at: &[Option<LoanState>]) {
        let Some(last) = at.len().checked_sub(1) else {
            return;
        };
        self.add_between(at);
        self.add_ends(at[0].as_ref(), at[last].as_ref());
    }

    /// What a loan's states add but for the headlines and grades of the two ends: what does
    /// not depend on the grades ([`Series::add_ends`] adds the rest).
    pub fn add_between(&mut self, at: &[Option<LoanState>]) {
        let Some(last) = at.len().checked_sub(1) else {
            return;
        };
        let pos = |k: usize| {
            at[k]
                .as_ref()
                .map(|l| (self.buckets.index(l.dpd), l.balance))
        };
        self.first_last.add(pos(0), pos(last));
        for k in 0..last {
            self.steps[k].add(pos(k), pos(k + 1));
        }
        for (k, l) in at.iter().enumerate() {
            if let Some(l) = l {
                self.totals[k][self.buckets.index(l.dpd)] += l.balance;
                if k != 0 && k != last {
                    self.heads[k].add(l);
                }
            }
        }
    }

    /// A loan's states at the first and the last date: their headlines and the grade matrix.
    pub fn add_ends(&mut self, first: Option<&LoanState>, last: Option<&LoanState>) {
        let n = self.heads.len();
        if let Some(l) = first {
            self.heads[0].add(l);
        }
        if let Some(l) = last.filter(|_| n > 1) {
            self.heads[n - 1].add(l);
        }
        for (e, l) in [first, last].into_iter().enumerate() {
            if let Some(l) = l {
                self.loans_ends[e] += 1;
                self.ungraded_ends += u64::from(l.grade.is_none());
            }
        }
        let grade = |l: Option<&LoanState>| {
            l.and_then(|l| l.grade.as_ref().map(|g| (usize::from(g.rank), l.balance)))
        };
        self.grades.add(grade(first), grade(last));
    }

    /// Adds another worker's loans.
    pub fn merge(&mut self, o: &Series) {
        self.first_last.merge(&o.first_last);
        for (a, b) in self.steps.iter_mut().zip(&o.steps) {
            a.merge(b);
        }
        for (a, b) in self.totals.iter_mut().zip(&o.totals) {
            for (x, y) in a.iter_mut().zip(b) {
                *x += *y;
            }
        }
        for (a, b) in self.heads.iter_mut().zip(&o.heads) {
            a.merge(b);
        }
        self.grades.merge(&o.grades);
        self.ungraded_ends += o.ungraded_ends;
        self.loans_ends[0] += o.loans_ends[0];
        self.loans_ends[1] += o.loans_ends[1];
    }

    pub fn finish(&self) -> Figures {
        let n = self.buckets.as_slice().len();
        let graded = self.ungraded_ends == 0 && self.loans_ends[0] > 0 && self.loans_ends[1] > 0;
        Figures {
            matrix: self.first_last.finish(n).0,
            flows: self.steps.iter().map(|m| m.finish(n).1).collect(),
            totals: self.totals.clone(),
            heads: self.heads.iter().map(HeadlineAcc::finish).collect(),
            grade_matrix: if graded {
                self.grades.finish(crate::classify::Grade::ALL.len()).0
            } else {
                Vec::new()
            },
        }
    }
}

/// One roll rate.
#[derive(Clone, Debug, PartialEq)]
pub struct Roll {
    /// Index of the date pair: rates between dates k and k+1.
    pub step: usize,
    pub from_state: usize,
    pub balance_from: Decimal,
    pub balance_to: Decimal,
    pub rate: Option<Decimal>,
}

/// Roll rates from per-date state totals: `totals[k][s]` is the balance in state `s` at date k.
/// For each consecutive pair and each state but the last: balance in s+1 at k+1 / balance in s
/// at k.
pub fn roll_rates(totals: &[Vec<Decimal>]) -> Vec<Roll> {
    let mut out = Vec::new();
    for (k, pair) in totals.windows(2).enumerate() {
        let n = pair[0].len().min(pair[1].len());
        for s in 0..n.saturating_sub(1) {
            let (a, b) = (pair[0][s], pair[1][s + 1]);
            out.push(Roll {
                step: k,
                from_state: s,
                balance_from: a,
                balance_to: b,
                rate: ratio(b, a),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::m;

    fn s(id: &str, state: usize, bal: &str) -> StateOf<'static> {
        StateOf {
            loan_id: Box::leak(id.to_string().into_boxed_str()),
            state,
            balance: m(bal),
        }
    }

    /// Three states (0 current, 1 1-30, 2 31+). At t0: A 0/1000, B 0/500, C 1/300, D 2/200,
    /// E 1/100. At t1: A 0/950, B 1/480 (worse), C 0/290 (cure), D 1/190 (cure), E gone
    /// (closed), G 0/800 (new).
    fn two_dates() -> (Vec<StateOf<'static>>, Vec<StateOf<'static>>) {
        (
            vec![
                s("A", 0, "1000"),
                s("B", 0, "500"),
                s("C", 1, "300"),
                s("D", 2, "200"),
                s("E", 1, "100"),
            ],
            vec![
                s("A", 0, "950"),
                s("B", 1, "480"),
                s("C", 0, "290"),
                s("D", 1, "190"),
                s("G", 0, "800"),
            ],
        )
    }

    fn cell(cells: &[Cell], from: Edge, to: Edge) -> &Cell {
        cells.iter().find(|c| c.from == from && c.to == to).unwrap()
    }

    #[test]
    fn moves_streamed_in_two_workers_equal_the_matrix() {
        let (a, b) = two_dates();
        // Worker 1 sees A, B, C; worker 2 sees D, E (closed) and G (new).
        let pos = |v: &[StateOf<'_>], id: &str| {
            v.iter()
                .find(|x| x.loan_id == id)
                .map(|x| (x.state, x.balance))
        };
        let (mut w1, mut w2) = (Moves::default(), Moves::default());
        for id in ["A", "B", "C"] {
            w1.add(pos(&a, id), pos(&b, id));
        }
        for id in ["D", "E", "G"] {
            w2.add(pos(&a, id), pos(&b, id));
        }
        w1.merge(&w2);
        assert_eq!(w1.finish(3), matrix(&a, &b, 3));
    }

    #[test]
    fn matrix_counts_balances_and_shares() {
        let (a, b) = two_dates();
        let (cells, flow) = matrix(&a, &b, 3);
        // 4 rows (new, 0, 1, 2) × 4 columns (0, 1, 2, closed)
        assert_eq!(cells.len(), 16);
        // current → current: A; 1 of 2 loans; balance 1000 of 1500 = 0.666667
        let c = cell(&cells, Edge::State(0), Edge::State(0));
        assert_eq!(
            (c.loans, c.balance_from, c.balance_to),
            (1, m("1000"), m("950"))
        );
        assert_eq!(c.share_loans, Some(m("0.500000")));
        assert_eq!(c.share_balance, Some(m("0.666667")));
        // current → 1-30: B, 500 of 1500 = 0.333333
        let c = cell(&cells, Edge::State(0), Edge::State(1));
        assert_eq!(c.share_balance, Some(m("0.333333")));
        // 1-30 → current: C (cure) 300 of (300+100) = 0.75; 1-30 → closed: E 100 / 400 = 0.25
        assert_eq!(
            cell(&cells, Edge::State(1), Edge::State(0)).share_balance,
            Some(m("0.750000"))
        );
        let c = cell(&cells, Edge::State(1), Edge::Closed);
        assert_eq!((c.loans, c.balance_to), (1, m("0")));
        assert_eq!(c.share_balance, Some(m("0.250000")));
        // 31+ → 1-30: D, all of its row
        assert_eq!(
            cell(&cells, Edge::State(2), Edge::State(1)).share_loans,
            Some(m("1.000000"))
        );
        // new → current: G 800; no balance share
        let c = cell(&cells, Edge::New, Edge::State(0));
        assert_eq!(
            (c.loans, c.balance_to, c.share_balance),
            (1, m("800"), None)
        );
        assert_eq!(c.share_loans, Some(m("1.000000")));
        // an empty cell is there with zero and its row's share
        let c = cell(&cells, Edge::State(2), Edge::State(2));
        assert_eq!((c.loans, c.share_loans), (0, Some(m("0.000000"))));
        // new row → closed is 0 loans out of 1
        assert_eq!(cell(&cells, Edge::New, Edge::Closed).loans, 0);
        // flow: stayed A; worse B 500; cured C 300 + D 200 = 2 loans, 500; closed E 100; new G 800
        assert_eq!(
            flow,
            Flow {
                stayed_loans: 1,
                worse_loans: 1,
                worse_balance: m("500"),
                cured_loans: 2,
                cured_balance: m("500"),
                closed_loans: 1,
                closed_balance: m("100"),
                new_loans: 1,
                new_balance: m("800"),
            }
        );
    }

    #[test]
    fn rows_shares_sum_to_one() {
        let (a, b) = two_dates();
        let (cells, _) = matrix(&a, &b, 3);
        for r in 0..3 {
            let sum: Decimal = cells
                .iter()
                .filter(|c| c.from == Edge::State(r))
                .filter_map(|c| c.share_loans)
                .sum();
            assert_eq!(sum, m("1.000000"), "row {r}");
        }
    }

    #[test]
    fn roll_rates_from_totals() {
        // t0: current 1500, 1-30 400, 31+ 200; t1: current 2040, 1-30 670, 31+ 0
        // (from two_dates: t1 current = A 950 + C 290 + G 800; 1-30 = B 480 + D 190)
        let totals = vec![
            vec![m("1500"), m("400"), m("200")],
            vec![m("2040"), m("670"), m("0")],
        ];
        let r = roll_rates(&totals);
        assert_eq!(r.len(), 2);
        // current → 1-30: 670 / 1500 = 0.446667
        assert_eq!((r[0].step, r[0].from_state), (0, 0));
        assert_eq!(r[0].rate, Some(m("0.446667")));
        // 1-30 → 31+: 0 / 400 = 0
        assert_eq!(r[1].rate, Some(m("0.000000")));
        // an empty from bucket has no rate
        let r = roll_rates(&[vec![m("0"), m("5")], vec![m("1"), m("2")]]);
        assert_eq!(r[0].rate, None);
        assert!(roll_rates(&totals[..1]).is_empty());
    }
}
