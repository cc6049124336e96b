//! The replay: one sweep over the loan's events (due dates, ends of grace,
//! payments, as-of dates) per reversal epoch, in integer fen and day
//! numbers, taking a [`Position`] snapshot at each as-of date.

use super::penalty::accrued_fen;
use super::prepare::{day_no, Inst, Prepared};
use super::{
    days_u32, money, Component, Conventions, Detail, Installment, InstallmentState,
    InstallmentStatus, LoanTerms, Payment, Position, Prepay, Status,
};
use chrono::NaiveDate;

/// Where the sweep puts positions: straight into the result when
/// the dates are visited in input order, else by index.
enum Out {
    InOrder(Vec<Position>),
    ByIndex(Vec<Option<Position>>),
}

impl Out {
    fn put(&mut self, k: usize, p: Position) {
        match self {
            Out::InOrder(v) => v.push(p),
            Out::ByIndex(v) => v[k] = Some(p),
        }
    }
}

/// The engine behind [`super::positions`] (`as_ofs` not empty): prepares
/// once, then sweeps once per reversal epoch.
pub(super) fn positions(
    terms: &LoanTerms,
    inst: &[Installment],
    pays: &[Payment],
    as_ofs: &[NaiveDate],
    conv: &Conventions,
    detail: Detail,
) -> Vec<Position> {
    let mut prep = Prepared::new(terms, inst, pays, conv);
    let n = as_ofs.len();
    let mut day_buf = [0i32; 16];
    let day_vec: Vec<i32>;
    let days: &[i32] = if n <= day_buf.len() {
        for (b, &d) in day_buf.iter_mut().zip(as_ofs) {
            *b = day_no(d);
        }
        &day_buf[..n]
    } else {
        day_vec = as_ofs.iter().map(|&d| day_no(d)).collect();
        &day_vec
    };

    // Visit dates ascending; skip the sort when they already are.
    let ascending = days.windows(2).all(|w| w[0] <= w[1]);
    let sorted: Vec<usize>;
    let (order, mut out) = if ascending {
        (None, Out::InOrder(Vec::with_capacity(n)))
    } else {
        let mut o: Vec<usize> = (0..n).collect();
        o.sort_by_key(|&k| (days[k], k));
        sorted = o;
        (Some(&sorted[..]), Out::ByIndex(vec![None; n]))
    };
    let at = |j: usize| order.map_or(j, |o| o[j]);

    let mut mask: Vec<bool> = Vec::new();
    let mut insts = std::mem::take(&mut prep.insts);
    let mut start = 0;
    while start < n {
        // Reversals in force for the first date of this group.
        let epoch = |d: i32| prep.reversals.partition_point(|r| r.0 <= d);
        let k = epoch(days[at(start)]);
        let mut end = start + 1;
        if !prep.reversals.is_empty() {
            while end < n && epoch(days[at(end)]) == k {
                end += 1;
            }
        } else {
            end = n;
        }
        let excluded: Option<&[bool]> = if k == 0 {
            None
        } else {
            mask.clear();
            mask.resize(prep.pays.len(), false);
            for r in &prep.reversals[..k] {
                mask[r.1] = true;
            }
            Some(&mask)
        };
        // The last group may consume the schedule; earlier ones copy it.
        let work = if end == n {
            std::mem::take(&mut insts)
        } else {
            insts.clone()
        };
        let mut sweep = Sweep::new(&prep, work, detail);
        sweep.run(excluded, as_ofs, days, order, start..end, &mut out);
        start = end;
    }

    match out {
        Out::InOrder(v) => v,
        Out::ByIndex(v) => v
            .into_iter()
            .zip(as_ofs)
            .map(|(p, &d)| p.unwrap_or_else(|| Position::empty(d)))
            .collect(),
    }
}

struct Sweep<'p> {
    prep: &'p Prepared,
    insts: Vec<Inst>,
    /// First installment with remainder > tolerance (drives DPD).
    front: usize,
    /// First installment with remainder > 0 (drives the waterfall).
    wf: usize,
    /// Penalty balance over Overdue installments, fen.
    s_bal: i128,
    /// Installments in grace (few), with the balance-days they accrued.
    grace: Vec<(usize, i128)>,
    /// Fen-days accrued over confirmed-overdue installments.
    acc: i128,
    last_t: Option<i32>,
    op: i128,
    oi: i128,
    of: i128,
    n_overdue: u32,
    outstanding_p: i128,
    pen_paid: i128,
    paid_total: i128,
    prepaid: i128,
    overpaid: i128,
    last_pay: Option<NaiveDate>,
    max_dpd: u32,
    n_settled: usize,
    /// (acc, rounded penalty in fen) of the last penalty computation.
    pen_cache: (i128, i128),
    detail: Detail,
}

impl<'p> Sweep<'p> {
    fn new(prep: &'p Prepared, insts: Vec<Inst>, detail: Detail) -> Self {
        Sweep {
            prep,
            insts,
            front: 0,
            wf: 0,
            s_bal: 0,
            grace: Vec::new(),
            acc: 0,
            last_t: None,
            op: 0,
            oi: 0,
            of: 0,
            n_overdue: 0,
            outstanding_p: prep.outstanding_p,
            pen_paid: 0,
            paid_total: 0,
            prepaid: 0,
            overpaid: 0,
            last_pay: None,
            max_dpd: 0,
            n_settled: prep.initially_settled,
            pen_cache: (0, 0),
            detail,
        }
    }

    /// Visits the dates `order[range]` (`range` itself when `order` is None).
    fn run(
        &mut self,
        excluded: Option<&[bool]>,
        as_ofs: &[NaiveDate],
        days: &[i32],
        order: Option<&[usize]>,
        range: std::ops::Range<usize>,
        out: &mut Out,
    ) {
        self.advance_pointers();
        let prep = self.prep;
        let n = self.insts.len();
        let pays = &prep.pays;
        let use_confirm = prep.grace > 0;
        let (mut pi, mut di, mut ci, mut ai) = (0usize, 0usize, 0usize, range.start);
        let at = |j: usize| order.map_or(j, |o| o[j]);
        let skip = |k: usize| excluded.is_some_and(|m| m[k]) || pays[k].amount == 0;
        while ai < range.end {
            while pi < pays.len() && skip(pi) {
                pi += 1;
            }
            let mut x = days[at(ai)];
            if pi < pays.len() {
                x = x.min(pays[pi].day);
            }
            if di < n {
                x = x.min(self.insts[di].due);
            }
            if use_confirm && ci < n {
                // i32::MAX (beyond the calendar) never wins the min.
                x = x.min(self.insts[ci].confirm);
            }
            self.accrue_to(x);
            if pi < pays.len() && pays[pi].day == x {
                // Worst moment of the day: just before its payments.
                let d = self.dpd_at(x);
                self.max_dpd = self.max_dpd.max(d);
                while pi < pays.len() && pays[pi].day == x {
                    if !skip(pi) {
                        self.apply(pays[pi].date, x, pays[pi].amount);
                    }
                    pi += 1;
                }
            }
            while ai < range.end && days[at(ai)] == x {
                let k = at(ai);
                out.put(k, self.snapshot(as_ofs[k], x));
                ai += 1;
            }
            while di < n && self.insts[di].due == x {
                self.due_event(di);
                di += 1;
            }
            if use_confirm {
                while ci < n && self.insts[ci].confirm == x {
                    self.confirm_event(ci);
                    ci += 1;
                }
            }
        }
    }

    #[inline]
    fn balance(&self, k: usize) -> i64 {
        let x = &self.insts[k];
        if self.prep.compound {
            x.p + x.i
        } else {
            x.p
        }
    }

    /// Accrues penalty for days last_t+1 ..= x on the balances at the end of last_t.
    fn accrue_to(&mut self, x: i32) {
        if let Some(lt) = self.last_t {
            let days = i128::from(x) - i128::from(lt);
            if days <= 0 {
                return;
            }
            // Saturating: unreachable by real loans, but never a panic.
            self.acc = self.acc.saturating_add(self.s_bal.saturating_mul(days));
            for gi in 0..self.grace.len() {
                let k = self.grace[gi].0;
                self.grace[gi].1 += i128::from(self.balance(k)) * days;
            }
        }
        self.last_t = Some(x);
    }

    /// round_fen(accrued penalty) in fen, cached while nothing accrues.
    fn penalty_accrued(&mut self) -> i128 {
        if self.pen_cache.0 != self.acc {
            let prep = self.prep;
            self.pen_cache = (
                self.acc,
                accrued_fen(self.acc, prep.factor, prep.factor_int),
            );
        }
        self.pen_cache.1
    }

    #[inline]
    fn dpd_at(&self, d: i32) -> u32 {
        match self.insts.get(self.front) {
            Some(x) => {
                let days = i64::from(d) - i64::from(x.due);
                if days > i64::from(self.prep.grace) && self.material() {
                    days_u32(days)
                } else {
                    0
                }
            }
            None => 0,
        }
    }

    /// The arrears exceed the relative threshold (always, without one).
    #[inline]
    fn material(&self) -> bool {
        let (num, den) = self.prep.tol_pct;
        num == 0 || (self.op + self.oi + self.of) * den > self.outstanding_p * num
    }

    #[inline]
    fn advance_pointers(&mut self) {
        while self.wf < self.insts.len() && self.insts[self.wf].total() == 0 {
            self.wf += 1;
        }
        while self.front < self.insts.len() && self.insts[self.front].total() <= self.prep.tol {
            self.front += 1;
        }
    }

    fn apply(&mut self, date: NaiveDate, day: i32, amount: i64) {
        let prep = self.prep;
        self.paid_total += i128::from(amount);
        self.last_pay = Some(date);
        let mut m = amount;
        if prep.penalty_first {
            let owed = (self.penalty_accrued() - self.pen_paid).max(0);
            // x <= m, so it fits an i64.
            let x = i128::from(m).min(owed) as i64;
            self.pen_paid += i128::from(x);
            m -= x;
        }
        let n = self.insts.len();
        loop {
            self.advance_pointers();
            if m == 0 || self.wf >= n {
                break;
            }
            let k = self.wf;
            let not_due = self.insts[k].due > day;
            if not_due && prep.prepay == Prepay::ReducePrincipalLast {
                break;
            }
            let paid = self.pay_inst(k, m, date, day, false);
            if not_due {
                self.prepaid += i128::from(paid);
            }
            m -= paid;
            if paid == 0 {
                // Cannot happen (remainder > 0 and m > 0); guard against loops.
                break;
            }
        }
        if m != 0 && prep.prepay == Prepay::ReducePrincipalLast {
            // Everything due is paid; all of wf.. are not yet due.
            for k in (self.wf..n).rev() {
                if m == 0 {
                    break;
                }
                let paid = self.pay_inst(k, m, date, day, true);
                self.prepaid += i128::from(paid);
                m -= paid;
            }
            for k in self.wf..n {
                if m == 0 {
                    break;
                }
                let paid = self.pay_inst(k, m, date, day, false);
                self.prepaid += i128::from(paid);
                m -= paid;
            }
            self.advance_pointers();
        }
        self.overpaid += i128::from(m);
    }

    /// Pays up to `m` into installment k in the configured order; returns the
    /// amount used.
    fn pay_inst(
        &mut self,
        k: usize,
        m: i64,
        date: NaiveDate,
        day: i32,
        principal_only: bool,
    ) -> i64 {
        let order = self.prep.order;
        let compound = self.prep.compound;
        let mut left = m;
        for c in order {
            if left == 0 {
                break;
            }
            if principal_only && c != Component::Principal {
                continue;
            }
            let x = &mut self.insts[k];
            let slot = match c {
                Component::Principal => &mut x.p,
                Component::Interest => &mut x.i,
                _ => &mut x.f,
            };
            let pay = left.min(*slot);
            if pay == 0 {
                continue;
            }
            *slot -= pay;
            left -= pay;
            let pay = i128::from(pay);
            let overdue = x.status == Status::Overdue;
            match c {
                Component::Principal => {
                    self.outstanding_p -= pay;
                    if overdue {
                        self.op -= pay;
                        self.s_bal -= pay;
                    }
                }
                Component::Interest => {
                    if overdue {
                        self.oi -= pay;
                        if compound {
                            self.s_bal -= pay;
                        }
                    }
                }
                _ => {
                    if overdue {
                        self.of -= pay;
                    }
                }
            }
        }
        if self.insts[k].status != Status::Settled && self.insts[k].total() <= self.prep.tol {
            self.settle(k, date, day);
        }
        m - left
    }

    fn settle(&mut self, k: usize, date: NaiveDate, day: i32) {
        match self.insts[k].status {
            Status::Overdue => {
                let bal = self.balance(k);
                let x = &self.insts[k];
                self.s_bal -= i128::from(bal);
                self.op -= i128::from(x.p);
                self.oi -= i128::from(x.i);
                self.of -= i128::from(x.f);
                self.n_overdue = self.n_overdue.saturating_sub(1);
            }
            Status::Grace => self.grace.retain(|g| g.0 != k),
            Status::NotDue | Status::Settled => {}
        }
        self.insts[k].status = Status::Settled;
        self.n_settled += 1;
        self.log_settled(k, date, day);
    }

    fn log_settled(&mut self, k: usize, date: NaiveDate, day: i32) {
        let x = &mut self.insts[k];
        x.logged = true;
        x.settled_on = date;
        x.days_late = days_u32(i64::from(day) - i64::from(x.due));
    }

    /// End of the installment's due date.
    fn due_event(&mut self, k: usize) {
        match self.insts[k].status {
            Status::Settled => {
                if !self.insts[k].logged {
                    let x = &self.insts[k];
                    let (due, day) = (x.due_date, x.due);
                    self.log_settled(k, due, day);
                }
            }
            Status::NotDue => {
                if self.prep.grace == 0 {
                    self.make_overdue(k, 0);
                } else {
                    self.insts[k].status = Status::Grace;
                    self.grace.push((k, 0));
                }
            }
            Status::Grace | Status::Overdue => {}
        }
    }

    /// End of due_date + grace.
    fn confirm_event(&mut self, k: usize) {
        if self.insts[k].status == Status::Grace {
            let mut acc = 0;
            if let Some(g) = self.grace.iter().position(|g| g.0 == k) {
                acc = self.grace.remove(g).1;
            }
            self.make_overdue(k, acc);
        }
    }

    fn make_overdue(&mut self, k: usize, grace_acc: i128) {
        let bal = self.balance(k);
        let x = &mut self.insts[k];
        x.status = Status::Overdue;
        self.acc = self.acc.saturating_add(grace_acc);
        self.s_bal += i128::from(bal);
        self.op += i128::from(x.p);
        self.oi += i128::from(x.i);
        self.of += i128::from(x.f);
        self.n_overdue = self.n_overdue.saturating_add(1);
    }

    /// Each installment's status at day `d` (the end of the day).
    fn installment_states(&self, d: i32) -> Vec<InstallmentState> {
        self.insts
            .iter()
            .map(|x| {
                let (status, settled_on, days_late) = if x.logged {
                    (InstallmentStatus::Settled, Some(x.settled_on), x.days_late)
                } else if x.status == Status::Overdue {
                    let late = days_u32(i64::from(d) - i64::from(x.due));
                    (InstallmentStatus::Overdue, None, late)
                } else {
                    (InstallmentStatus::NotDue, None, 0)
                };
                InstallmentState {
                    index: x.src,
                    version: 0,
                    installment_no: x.no,
                    due_date: x.due_date,
                    status,
                    settled_on,
                    days_late,
                }
            })
            .collect()
    }

    fn snapshot(&mut self, as_of: NaiveDate, d: i32) -> Position {
        let dpd = self.dpd_at(d);
        self.max_dpd = self.max_dpd.max(dpd);
        let installments = match self.detail {
            Detail::Figures => Vec::new(),
            Detail::Installments => self.installment_states(d),
        };
        let penalty_interest = money((self.penalty_accrued() - self.pen_paid).max(0));
        let n = self.insts.len();
        Position {
            as_of,
            dpd,
            overdue_since: if dpd > 0 {
                self.insts.get(self.front).map(|x| x.due_date)
            } else {
                None
            },
            overdue_principal: money(self.op),
            overdue_interest: money(self.oi),
            overdue_fee: money(self.of),
            penalty_interest,
            outstanding_principal: money(self.outstanding_p),
            installments_overdue: self.n_overdue,
            last_payment_date: self.last_pay,
            paid_total: money(self.paid_total),
            prepaid_amount: money(self.prepaid),
            overpaid: money(self.overpaid),
            max_dpd: self.max_dpd,
            installments,
            matured: n == 0 || self.insts[n - 1].due <= d,
            closed: self.n_settled >= n,
            warnings: self
                .prep
                .warnings
                .iter()
                .filter(|w| w.0.is_none_or(|wd| wd <= as_of))
                .map(|w| w.1.clone())
                .collect(),
        }
    }
}
