//! One file per subcommand; each is thin: read args, call db:: and the domain, render a Report.

pub mod classify;
pub mod import;
pub mod overdue;
pub mod profile;
pub mod report;
pub mod restructure;
pub mod schedule_visits;

use anyhow::Result;

use crate::cli::Command;
use crate::context::Ctx;
use crate::{db, exit};

pub fn dispatch(ctx: &Ctx, command: &Command) -> Result<()> {
    use crate::cli::Format;
    if matches!(ctx.format, Format::Html | Format::Xlsx) && !matches!(command, Command::Report(_)) {
        return Err(exit::usage(format!(
            "--format {} is for `daihou report` only; use table, csv or json",
            if ctx.format == Format::Html {
                "html"
            } else {
                "xlsx"
            }
        )));
    }
    match command {
        Command::Import(a) => {
            let existed = ctx.db.exists();
            let result = import::run(ctx, a).map_err(|e| {
                let nothing = if a.dry_run {
                    "nothing was changed"
                } else {
                    "nothing was imported"
                };
                db::explain_write_failure(e, &ctx.db, nothing)
            });
            // A failed or dry-run import leaves no ledger where there was none.
            if !existed && (result.is_err() || a.dry_run) {
                db::remove_if_unused(&ctx.db, ctx.busy_timeout);
            }
            result
        }
        Command::Overdue(a) => overdue::run(ctx, a)
            .map_err(|e| db::explain_write_failure(e, &ctx.db, "nothing was saved")),
        Command::Classify(a) => classify::run(ctx, a)
            .map_err(|e| db::explain_write_failure(e, &ctx.db, "nothing was saved")),
        Command::ScheduleVisits(a) => schedule_visits::run(ctx, a),
        Command::Report(a) => report::run(ctx, a),
        Command::Restructure(a) => restructure::run(ctx, a),
        // Needs the parsed profile and flags: run by `crate::run` before dispatch.
        Command::Profile(a) => profile::run(ctx, a, None, None, None),
    }
}

impl crate::cli::RangeArgs {
    /// The dates of `--from … --to … --every …`, ascending; None without a range. A range
    /// holds 1 to 3660 dates (exit 2 otherwise).
    pub fn dates(&self) -> Result<Option<Vec<chrono::NaiveDate>>> {
        let (Some(from), Some(to), Some(every)) = (self.from, self.to, self.every) else {
            return Ok(None);
        };
        if to < from {
            return Err(exit::usage("--to is before --from"));
        }
        let dates = every.dates(from, to, 3660);
        if dates.is_empty() {
            return Err(exit::usage(
                "the range --from … --to holds no date of the --every step",
            ));
        }
        if dates.len() > 3660 {
            return Err(exit::usage(
                "the range holds more than 3660 dates; split it",
            ));
        }
        Ok(Some(dates))
    }
}

impl crate::cli::Every {
    /// The dates of this step from `from` to `to`, ascending: the month ends between them, or
    /// every 7th / every day from `from` on; of a week or day step at most `limit + 1` (enough
    /// for the caller to refuse more than `limit`).
    pub fn dates(
        self,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
        limit: usize,
    ) -> Vec<chrono::NaiveDate> {
        use crate::cli::Every;
        let n = match self {
            Every::MonthEnd => return crate::dates::month_ends(from, to),
            Every::Week => 7,
            Every::Day => 1,
        };
        from.iter_days()
            .step_by(n)
            .take_while(|d| *d <= to)
            .take(limit + 1)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::cli::{Every, RangeArgs};
    use crate::test_support::d;

    fn range(from: &str, to: &str, every: Every) -> RangeArgs {
        RangeArgs {
            from: Some(d(from)),
            to: Some(d(to)),
            every: Some(every),
        }
    }

    #[test]
    fn a_range_expands_to_its_steps_within_bounds() {
        assert_eq!(RangeArgs::default().dates().unwrap(), None);
        let ends = range("2026-01-15", "2026-03-31", Every::MonthEnd)
            .dates()
            .unwrap();
        assert_eq!(
            ends,
            Some(vec![d("2026-01-31"), d("2026-02-28"), d("2026-03-31")])
        );
        let weeks = range("2026-01-01", "2026-01-15", Every::Week)
            .dates()
            .unwrap();
        assert_eq!(
            weeks,
            Some(vec![d("2026-01-01"), d("2026-01-08"), d("2026-01-15")])
        );
        let one = range("2026-01-01", "2026-01-01", Every::Day)
            .dates()
            .unwrap();
        assert_eq!(one, Some(vec![d("2026-01-01")]));
        for (r, why) in [
            (
                range("2026-02-01", "2026-01-01", Every::Day),
                "--to is before --from",
            ),
            (
                range("2026-01-01", "2026-01-30", Every::MonthEnd),
                "holds no date",
            ),
            (
                range("2000-01-01", "2010-12-31", Every::Day),
                "more than 3660 dates",
            ),
        ] {
            let e = r.dates().unwrap_err();
            assert_eq!(crate::exit::code_for(&e), 2);
            assert!(e.to_string().contains(why), "{e}");
        }
        // 3660 days is the limit.
        let max = range("2000-01-01", "2010-01-07", Every::Day)
            .dates()
            .unwrap()
            .unwrap();
        assert_eq!(max.len(), 3660);
    }
}
