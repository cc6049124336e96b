//! The reference engine (tests only): the original all-`Decimal`
//! implementation of the module doc's rules, kept verbatim. It is slow and
//! simple; the differential test proves the integer engine gives the same
//! positions on thousands of generated loans.

use super::*;
use crate::money::round_fen;

pub(super) fn days_between(from: NaiveDate, to: NaiveDate) -> i64 {
    to.signed_duration_since(from).num_days()
}

pub(super) fn positions(
    terms: &LoanTerms,
    inst: &[Installment],
    pays: &[Payment],
    as_ofs: &[NaiveDate],
    conv: &Conventions,
) -> Vec<Position> {
    if as_ofs.is_empty() {
        return Vec::new();
    }
    let prep = Prepared::new(terms, inst, pays, conv);

    // Visit dates ascending; skip the sort when they already are.
    let ascending = as_ofs.windows(2).all(|w| w[0] <= w[1]);
    let order: Vec<usize> = if ascending {
        (0..as_ofs.len()).collect()
    } else {
        let mut o: Vec<usize> = (0..as_ofs.len()).collect();
        o.sort_by_key(|&k| (as_ofs[k], k));
        o
    };

    let mut out: Vec<Option<Position>> = vec![None; as_ofs.len()];
    let mut mask: Vec<bool> = Vec::new();
    let mut start = 0;
    while start < order.len() {
        // Reversals in force for the first date of this group.
        let epoch = |d: NaiveDate| prep.reversals.partition_point(|r| r.0 <= d);
        let k = epoch(as_ofs[order[start]]);
        let mut end = start + 1;
        while end < order.len() && epoch(as_ofs[order[end]]) == k {
            end += 1;
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
        let mut sweep = Sweep::new(&prep);
        sweep.run(excluded, as_ofs, &order[start..end], &mut out);
        start = end;
    }

    out.into_iter()
        .zip(as_ofs)
        .map(|(p, &d)| p.unwrap_or_else(|| Position::empty(d)))
        .collect()
}

// ---------------------------------------------------------------------------
// Preparation (once per loan)
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Inst {
    no: u32,
    due: NaiveDate,
    /// due + grace (None: beyond the calendar, never overdue).
    confirm: Option<NaiveDate>,
    p: Decimal,
    i: Decimal,
    f: Decimal,
    status: Status,
    /// Balance-days accrued while in grace.
    grace_acc: Decimal,
    /// Entered in the settled log.
    logged: bool,
    /// Index into the input slice.
    src: usize,
}

impl Inst {
    fn total(&self) -> Decimal {
        self.p + self.i + self.f
    }
}

struct PayRow<'a> {
    date: NaiveDate,
    /// 0 for ignored rows.
    amount: Decimal,
    txn: &'a str,
}

struct Prepared<'a> {
    insts: Vec<Inst>,
    pays: Vec<PayRow<'a>>,
    /// (reversal date, index into pays), date ascending; valid ones only.
    reversals: Vec<(NaiveDate, usize)>,
    /// (applies from date; None = always, message).
    warnings: Vec<(Option<NaiveDate>, String)>,
    order: [Component; 3],
    tol: Decimal,
    grace: u32,
    /// annual_rate_pct × penalty_multiplier; penalty = balance-days × factor / 36000.
    factor: Decimal,
    compound: bool,
    penalty_first: bool,
    prepay: Prepay,
    initially_settled: usize,
}

impl<'a> Prepared<'a> {
    fn new(
        terms: &LoanTerms,
        inst: &[Installment],
        pays: &'a [Payment],
        conv: &Conventions,
    ) -> Prepared<'a> {
        let mut warnings: Vec<(Option<NaiveDate>, String)> = Vec::new();

        let mut order = [Component::Fee, Component::Interest, Component::Principal];
        let mut n = 0;
        for c in conv
            .order
            .iter()
            .chain([Component::Fee, Component::Interest, Component::Principal].iter())
        {
            if *c != Component::Penalty && !order[..n].contains(c) && n < 3 {
                order[n] = *c;
                n += 1;
            }
        }

        let tol = if conv.tolerance.is_sign_negative() {
            warnings.push((None, "negative tolerance taken as 0".to_string()));
            Decimal::ZERO
        } else {
            conv.tolerance
        };
        let rate = if terms.annual_rate_pct.is_sign_negative() && !terms.annual_rate_pct.is_zero() {
            warnings.push((None, "negative annual rate taken as 0".to_string()));
            Decimal::ZERO
        } else {
            terms.annual_rate_pct.min(Decimal::new(1_000_000, 0))
        };
        let mult = if conv.penalty_multiplier.is_sign_negative() {
            warnings.push((None, "negative penalty multiplier taken as 0".to_string()));
            Decimal::ZERO
        } else {
            conv.penalty_multiplier.min(Decimal::new(1_000_000, 0))
        };

        let grace = conv.grace_days;
        let mut insts: Vec<Inst> = Vec::with_capacity(inst.len());
        let mut sched_principal = Decimal::ZERO;
        for (src, r) in inst.iter().enumerate() {
            let label = |c: &str| format!("installment {} {c}", r.installment_no);
            let p = clamp_amount(
                r.principal_due,
                || label("principal_due"),
                &mut warnings,
                None,
            );
            let i = clamp_amount(
                r.interest_due,
                || label("interest_due"),
                &mut warnings,
                None,
            );
            let f = clamp_amount(r.fee_due, || label("fee_due"), &mut warnings, None);
            sched_principal = sched_principal.saturating_add(p);
            insts.push(Inst {
                no: r.installment_no,
                due: r.due_date,
                confirm: r
                    .due_date
                    .checked_add_days(chrono::Days::new(u64::from(grace))),
                p,
                i,
                f,
                status: Status::NotDue,
                grace_acc: Decimal::ZERO,
                logged: false,
                src,
            });
        }
        insts.sort_by_key(|x| (x.due, x.no));
        let mut initially_settled = 0;
        for x in insts.iter_mut() {
            if x.total() <= tol {
                x.status = Status::Settled;
                initially_settled += 1;
            }
        }
        if inst.is_empty() {
            warnings.push((None, "empty repayment schedule".to_string()));
        } else {
            let slack = tol.max(Decimal::new(1, 2));
            if sched_principal.saturating_sub(terms.principal).abs() > slack {
                warnings.push((
                    None,
                    format!(
                        "schedule principal {sched_principal} differs from loan principal {}",
                        terms.principal
                    ),
                ));
            }
        }

        // Payments sorted by (date, input order); reversals kept aside.
        let mut idx: Vec<usize> = (0..pays.len()).collect();
        idx.sort_by_key(|&k| (pays[k].paid_on, k));
        let mut rows: Vec<PayRow<'a>> = Vec::with_capacity(pays.len());
        let mut revs: Vec<usize> = Vec::new();
        for &k in &idx {
            let p = &pays[k];
            if p.reverses_txn_id.is_some() {
                revs.push(k);
                continue;
            }
            let amount = if p.amount <= Decimal::ZERO {
                if p.amount.is_sign_negative() && !p.amount.is_zero() {
                    warnings.push((
                        Some(p.paid_on),
                        format!(
                            "payment {} has negative amount {}; ignored",
                            p.txn_id, p.amount
                        ),
                    ));
                }
                Decimal::ZERO
            } else {
                clamp_amount(
                    p.amount,
                    || format!("payment {}", p.txn_id),
                    &mut warnings,
                    Some(p.paid_on),
                )
            };
            rows.push(PayRow {
                date: p.paid_on,
                amount,
                txn: &p.txn_id,
            });
        }
        let mut reversed = vec![false; rows.len()];
        let mut reversals = Vec::new();
        for k in revs {
            let r = &pays[k];
            let target = r.reverses_txn_id.as_deref().unwrap_or("");
            match rows.iter().position(|row| row.txn == target) {
                Some(t) if reversed[t] => warnings.push((
                    Some(r.paid_on),
                    format!(
                        "reversal {} repeats an earlier reversal of {target}; ignored",
                        r.txn_id
                    ),
                )),
                Some(t) => {
                    reversed[t] = true;
                    reversals.push((r.paid_on, t));
                }
                None => {
                    let is_rev = pays
                        .iter()
                        .any(|p| p.reverses_txn_id.is_some() && p.txn_id == target);
                    let why = if is_rev {
                        "reverses a reversal (not supported)"
                    } else {
                        "reverses unknown txn"
                    };
                    warnings.push((
                        Some(r.paid_on),
                        format!("reversal {} {why} {target}; ignored", r.txn_id),
                    ));
                }
            }
        }

        Prepared {
            insts,
            pays: rows,
            reversals,
            warnings,
            order,
            tol,
            grace,
            factor: rate * mult,
            compound: conv.compound_interest,
            penalty_first: conv.penalty_first,
            prepay: conv.prepay,
            initially_settled,
        }
    }
}

// ---------------------------------------------------------------------------
// The sweep (once per reversal epoch)
// ---------------------------------------------------------------------------

struct Sweep<'p, 'a> {
    prep: &'p Prepared<'a>,
    insts: Vec<Inst>,
    /// First installment with remainder > tolerance (drives DPD).
    front: usize,
    /// First installment with remainder > 0 (drives the waterfall).
    wf: usize,
    /// Penalty balance over Overdue installments.
    s_bal: Decimal,
    /// Installments in grace (few).
    grace: Vec<usize>,
    /// Balance-days accrued over confirmed-overdue installments.
    acc: Decimal,
    last_t: Option<NaiveDate>,
    op: Decimal,
    oi: Decimal,
    of: Decimal,
    n_overdue: u32,
    outstanding_p: Decimal,
    pen_paid: Decimal,
    paid_total: Decimal,
    prepaid: Decimal,
    overpaid: Decimal,
    last_pay: Option<NaiveDate>,
    max_dpd: u32,
    /// (schedule index, entry).
    log: Vec<(usize, Settled)>,
    n_settled: usize,
}

impl<'p, 'a> Sweep<'p, 'a> {
    fn new(prep: &'p Prepared<'a>) -> Self {
        let outstanding_p = prep
            .insts
            .iter()
            .fold(Decimal::ZERO, |a, x| a.saturating_add(x.p));
        Sweep {
            prep,
            insts: prep.insts.clone(),
            front: 0,
            wf: 0,
            s_bal: Decimal::ZERO,
            grace: Vec::new(),
            acc: Decimal::ZERO,
            last_t: None,
            op: Decimal::ZERO,
            oi: Decimal::ZERO,
            of: Decimal::ZERO,
            n_overdue: 0,
            outstanding_p,
            pen_paid: Decimal::ZERO,
            paid_total: Decimal::ZERO,
            prepaid: Decimal::ZERO,
            overpaid: Decimal::ZERO,
            last_pay: None,
            max_dpd: 0,
            log: Vec::new(),
            n_settled: prep.initially_settled,
        }
    }

    fn run(
        &mut self,
        excluded: Option<&[bool]>,
        as_ofs: &[NaiveDate],
        order: &[usize],
        out: &mut [Option<Position>],
    ) {
        self.advance_pointers();
        let prep = self.prep;
        let n = self.insts.len();
        let pays = &prep.pays;
        let use_confirm = prep.grace > 0;
        let (mut pi, mut di, mut ci, mut ai) = (0usize, 0usize, 0usize, 0usize);
        let skip = |k: usize| excluded.is_some_and(|m| m[k]) || pays[k].amount.is_zero();
        while ai < order.len() {
            while pi < pays.len() && skip(pi) {
                pi += 1;
            }
            let mut x = as_ofs[order[ai]];
            if pi < pays.len() {
                x = x.min(pays[pi].date);
            }
            if di < n {
                x = x.min(self.insts[di].due);
            }
            if use_confirm && ci < n {
                if let Some(c) = self.insts[ci].confirm {
                    x = x.min(c);
                }
            }
            self.accrue_to(x);
            if pi < pays.len() && pays[pi].date == x {
                // Worst moment of the day: just before its payments.
                let d = self.dpd_at(x);
                self.max_dpd = self.max_dpd.max(d);
                while pi < pays.len() && pays[pi].date == x {
                    if !skip(pi) {
                        self.apply(x, pays[pi].amount);
                    }
                    pi += 1;
                }
            }
            while ai < order.len() && as_ofs[order[ai]] == x {
                out[order[ai]] = Some(self.snapshot(x));
                ai += 1;
            }
            while di < n && self.insts[di].due == x {
                self.due_event(di);
                di += 1;
            }
            if use_confirm {
                while ci < n && self.insts[ci].confirm == Some(x) {
                    self.confirm_event(ci);
                    ci += 1;
                }
            }
        }
    }

    fn balance(&self, k: usize) -> Decimal {
        let x = &self.insts[k];
        if self.prep.compound {
            x.p + x.i
        } else {
            x.p
        }
    }

    /// Accrues penalty for days last_t+1 ..= x on the balances at the end of last_t.
    fn accrue_to(&mut self, x: NaiveDate) {
        if let Some(lt) = self.last_t {
            let days = days_between(lt, x);
            if days <= 0 {
                return;
            }
            let d = Decimal::from(days);
            if !self.s_bal.is_zero() {
                self.acc = self.acc.saturating_add(self.s_bal.saturating_mul(d));
            }
            for gi in 0..self.grace.len() {
                let k = self.grace[gi];
                let add = self.balance(k).saturating_mul(d);
                let g = &mut self.insts[k].grace_acc;
                *g = g.saturating_add(add);
            }
        }
        self.last_t = Some(x);
    }

    fn penalty_accrued(&self) -> Decimal {
        if self.acc.is_zero() || self.prep.factor.is_zero() {
            return Decimal::ZERO;
        }
        round_fen(self.acc.saturating_mul(self.prep.factor) / Decimal::new(36000, 0))
    }

    fn dpd_at(&self, d: NaiveDate) -> u32 {
        match self.insts.get(self.front) {
            Some(x) => {
                let days = days_between(x.due, d);
                if days > i64::from(self.prep.grace) {
                    days_u32(days)
                } else {
                    0
                }
            }
            None => 0,
        }
    }

    fn advance_pointers(&mut self) {
        while self.wf < self.insts.len() && self.insts[self.wf].total().is_zero() {
            self.wf += 1;
        }
        while self.front < self.insts.len() && self.insts[self.front].total() <= self.prep.tol {
            self.front += 1;
        }
    }

    fn apply(&mut self, date: NaiveDate, amount: Decimal) {
        let prep = self.prep;
        self.paid_total = self.paid_total.saturating_add(amount);
        self.last_pay = Some(date);
        let mut m = amount;
        if prep.penalty_first {
            let owed = (self.penalty_accrued() - self.pen_paid).max(Decimal::ZERO);
            let x = m.min(owed);
            self.pen_paid += x;
            m -= x;
        }
        let n = self.insts.len();
        loop {
            self.advance_pointers();
            if m.is_zero() || self.wf >= n {
                break;
            }
            let k = self.wf;
            let not_due = self.insts[k].due > date;
            if not_due && prep.prepay == Prepay::ReducePrincipalLast {
                break;
            }
            let paid = self.pay_inst(k, m, date, false);
            if not_due {
                self.prepaid += paid;
            }
            m -= paid;
            if paid.is_zero() {
                // Cannot happen (remainder > 0 and m > 0); guard against loops.
                break;
            }
        }
        if !m.is_zero() && prep.prepay == Prepay::ReducePrincipalLast {
            // Everything due is paid; all of wf.. are not yet due.
            for k in (self.wf..n).rev() {
                if m.is_zero() {
                    break;
                }
                let paid = self.pay_inst(k, m, date, true);
                self.prepaid += paid;
                m -= paid;
            }
            for k in self.wf..n {
                if m.is_zero() {
                    break;
                }
                let paid = self.pay_inst(k, m, date, false);
                self.prepaid += paid;
                m -= paid;
            }
            self.advance_pointers();
        }
        self.overpaid += m;
    }

    /// Pays up to `m` into installment k in the configured order; returns the
    /// amount used.
    fn pay_inst(&mut self, k: usize, m: Decimal, date: NaiveDate, principal_only: bool) -> Decimal {
        let order = self.prep.order;
        let compound = self.prep.compound;
        let mut left = m;
        for c in order {
            if left.is_zero() {
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
            if pay.is_zero() {
                continue;
            }
            *slot -= pay;
            left -= pay;
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
            self.settle(k, date);
        }
        m - left
    }

    fn settle(&mut self, k: usize, date: NaiveDate) {
        match self.insts[k].status {
            Status::Overdue => {
                let bal = self.balance(k);
                let x = &self.insts[k];
                self.s_bal -= bal;
                self.op -= x.p;
                self.oi -= x.i;
                self.of -= x.f;
                self.n_overdue = self.n_overdue.saturating_sub(1);
            }
            Status::Grace => self.grace.retain(|&g| g != k),
            Status::NotDue | Status::Settled => {}
        }
        self.insts[k].status = Status::Settled;
        self.n_settled += 1;
        self.log_settled(k, date);
    }

    fn log_settled(&mut self, k: usize, date: NaiveDate) {
        let x = &mut self.insts[k];
        x.logged = true;
        let entry = Settled {
            installment_no: x.no,
            due_date: x.due,
            settled_on: date,
            days_late: days_u32(days_between(x.due, date)),
        };
        self.log.push((k, entry));
    }

    /// End of the installment's due date.
    fn due_event(&mut self, k: usize) {
        match self.insts[k].status {
            Status::Settled => {
                if !self.insts[k].logged {
                    let due = self.insts[k].due;
                    self.log_settled(k, due);
                }
            }
            Status::NotDue => {
                if self.prep.grace == 0 {
                    self.make_overdue(k);
                } else {
                    self.insts[k].status = Status::Grace;
                    self.grace.push(k);
                }
            }
            Status::Grace | Status::Overdue => {}
        }
    }

    /// End of due_date + grace.
    fn confirm_event(&mut self, k: usize) {
        if self.insts[k].status == Status::Grace {
            self.grace.retain(|&g| g != k);
            self.make_overdue(k);
        }
    }

    fn make_overdue(&mut self, k: usize) {
        let bal = self.balance(k);
        let x = &mut self.insts[k];
        x.status = Status::Overdue;
        self.acc = self.acc.saturating_add(x.grace_acc);
        x.grace_acc = Decimal::ZERO;
        self.s_bal = self.s_bal.saturating_add(bal);
        self.op = self.op.saturating_add(x.p);
        self.oi = self.oi.saturating_add(x.i);
        self.of = self.of.saturating_add(x.f);
        self.n_overdue = self.n_overdue.saturating_add(1);
    }

    fn snapshot(&mut self, d: NaiveDate) -> Position {
        let dpd = self.dpd_at(d);
        self.max_dpd = self.max_dpd.max(dpd);
        let mut by_inst: Vec<Option<&Settled>> = vec![None; self.insts.len()];
        for (k, e) in &self.log {
            by_inst[*k] = Some(e);
        }
        let installments = self
            .insts
            .iter()
            .zip(by_inst)
            .map(|(x, logged)| {
                let (status, settled_on, days_late) = match logged {
                    Some(e) => (InstallmentStatus::Settled, Some(e.settled_on), e.days_late),
                    None if x.status == Status::Overdue => (
                        InstallmentStatus::Overdue,
                        None,
                        days_u32(days_between(x.due, d)),
                    ),
                    None => (InstallmentStatus::NotDue, None, 0),
                };
                InstallmentState {
                    version: 0,
                    index: x.src,
                    installment_no: x.no,
                    due_date: x.due,
                    status,
                    settled_on,
                    days_late,
                }
            })
            .collect();
        let n = self.insts.len();
        Position {
            as_of: d,
            dpd,
            overdue_since: if dpd > 0 {
                self.insts.get(self.front).map(|x| x.due)
            } else {
                None
            },
            overdue_principal: self.op,
            overdue_interest: self.oi,
            overdue_fee: self.of,
            penalty_interest: (self.penalty_accrued() - self.pen_paid).max(Decimal::ZERO),
            outstanding_principal: self.outstanding_p,
            installments_overdue: self.n_overdue,
            last_payment_date: self.last_pay,
            paid_total: self.paid_total,
            prepaid_amount: self.prepaid,
            overpaid: self.overpaid,
            max_dpd: self.max_dpd,
            installments,
            matured: n == 0 || self.insts[n - 1].due <= d,
            closed: self.n_settled >= n,
            warnings: self
                .prep
                .warnings
                .iter()
                .filter(|w| w.0.is_none_or(|wd| wd <= d))
                .map(|w| w.1.clone())
                .collect(),
        }
    }
}
