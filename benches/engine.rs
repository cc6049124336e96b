//! Engine benchmark: the positions of a realistic generated book of 100,000
//! loans, for one date, twelve dates, and the heavier conventions.
//!
//!     cargo bench --bench engine
//!
//! (Before the split of `src/engine/`, the same book compared the integer
//! engine with the Decimal one, now test-only: the integer engine was
//! 3-4x faster.)

use chrono::NaiveDate;
use daihou::engine::{positions_with, Conventions, Detail, Installment, LoanTerms, Payment};
use rust_decimal::Decimal;

use daihou::rng::Rng;

type Loan = (LoanTerms, Vec<Installment>, Vec<Payment>);

/// Realistic book: 24 monthly installments, ~16 payments mostly around
/// the due dates (on time, late, partial), some loans stop paying.
fn book(n: usize, seed: u64) -> Vec<Loan> {
    let mut r = Rng::new(seed);
    let base = NaiveDate::from_ymd_opt(2022, 1, 10).unwrap();
    (0..n)
        .map(|_| {
            let start = base + chrono::Days::new(r.below(365));
            let p = 1_000_000 + r.below(2_000_000) as i64;
            let inst: Vec<Installment> = (0..24u32)
                .map(|k| Installment {
                    installment_no: k + 1,
                    due_date: start
                        .checked_add_months(chrono::Months::new(k + 1))
                        .unwrap(),
                    principal_due: Decimal::new(p / 24, 2),
                    interest_due: Decimal::new(r.below(20_000) as i64, 2),
                    fee_due: Decimal::new(if r.below(5) == 0 { 1_000 } else { 0 }, 2),
                })
                .collect();
            let mut pays = Vec::with_capacity(16);
            for (k, i) in inst.iter().take(16).enumerate() {
                let due = i.principal_due + i.interest_due + i.fee_due;
                let late = [0, 0, 0, 0, 1, 3, 10, 40][r.below(8) as usize];
                let early = r.below(3);
                let on = i.due_date + chrono::Days::new(late) - chrono::Days::new(early);
                let amount = if r.below(6) == 0 {
                    due * Decimal::new(5, 1)
                } else {
                    due
                }
                .round_dp(2);
                let amount =
                    Decimal::new(amount.mantissa() as i64 * 10i64.pow(2 - amount.scale()), 2);
                pays.push(Payment {
                    txn_id: format!("T{k}"),
                    paid_on: on,
                    amount,
                    reverses_txn_id: None,
                });
            }
            let terms = LoanTerms {
                annual_rate_pct: Decimal::new(4_90 + r.below(2000) as i64, 2),
                principal: Decimal::new(p / 24 * 24, 2),
            };
            (terms, inst, pays)
        })
        .collect()
}

fn run(loans: &[Loan], dates: &[NaiveDate], conv: &Conventions, detail: Detail) -> (f64, u64) {
    let t = std::time::Instant::now();
    let mut check = 0u64;
    for (terms, i, p) in loans {
        for pos in positions_with(terms, i, p, dates, conv, detail) {
            check = check.wrapping_mul(31).wrapping_add(u64::from(pos.dpd));
            check = check.wrapping_add(pos.penalty_interest.mantissa() as u64);
            if detail == Detail::Installments {
                check = check.wrapping_add(pos.installments.len() as u64);
            }
        }
    }
    (t.elapsed().as_secs_f64(), check)
}

fn main() {
    let loans = book(100_000, 0x2545F4914F6CDD1D);
    let one = [NaiveDate::from_ymd_opt(2024, 6, 30).unwrap()];
    let twelve: Vec<NaiveDate> = (0..12)
        .map(|k| {
            NaiveDate::from_ymd_opt(2023, 6, 30)
                .unwrap()
                .checked_add_months(chrono::Months::new(k))
                .unwrap()
        })
        .collect();
    let def = Conventions::default();
    let pf = Conventions {
        penalty_first: true,
        grace_days: 3,
        tolerance: Decimal::new(50, 2),
        ..Conventions::default()
    };
    // Warm caches (as in `daihou overdue`, which builds each loan just
    // before computing it): 1000 loans, 100 times.
    let small = &loans[..1000];
    let mut best = f64::MAX;
    for _ in 0..3 {
        let t = std::time::Instant::now();
        for _ in 0..100 {
            run(small, &one, &def, Detail::Installments);
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!("engine warm, 1 date, default: {best:.3} s per 100k loans");
    // `Detail::Figures`: the same positions without each installment's status (what a
    // portfolio scan asks for unless its consumer lists installments).
    let (inst, fig) = (Detail::Installments, Detail::Figures);
    for (name, dates, conv, detail) in [
        ("1 date, default", &one[..], &def, inst),
        ("1 date, default, figures only", &one[..], &def, fig),
        ("12 dates, default", &twelve[..], &def, inst),
        ("12 dates, default, figures only", &twelve[..], &def, fig),
        ("1 date, grace+tol+penalty_first", &one[..], &pf, inst),
    ] {
        let mut best = f64::MAX;
        let mut check = None;
        for _ in 0..3 {
            let (s, c) = run(&loans, dates, conv, detail);
            best = best.min(s);
            assert!(check.is_none_or(|k| k == c), "runs disagree");
            check = Some(c);
        }
        println!("engine {name}: {best:.3} s per 100k loans");
    }
}
