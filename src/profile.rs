//! The bank's conventions as one resolved set: the shared convention flags
//! ([`ConventionArgs`]) turned into the [`Setup`] every portfolio command runs on.

use anyhow::{Context, Result};
use chrono::NaiveDate;

use crate::cli::ConventionArgs;
use crate::collection::{Ladder, LadderFile};
use crate::engine::Conventions;
use crate::ops::portfolio::Setup;
use crate::rulefile;

impl ConventionArgs {
    /// The setup for these dates (ascending, not empty): the engine conventions, the buckets and
    /// the ladder (read from `--ladder`: 66 when missing, 78 with file/line/key when bad).
    pub fn setup(&self, dates: Vec<NaiveDate>) -> Result<Setup> {
        let ladder = match &self.ladder {
            None => Ladder::default(),
            Some(p) => rulefile::load_with(p, |f: LadderFile| Ok(Ladder::from_file(f)?))
                .context("--ladder")?,
        };
        Ok(Setup {
            dates,
            conv: self.conventions(),
            buckets: self.buckets.clone(),
            ladder,
            ladder_file: self.ladder.clone(),
        })
    }

    /// The engine's conventions alone.
    pub fn conventions(&self) -> Conventions {
        Conventions {
            grace_days: self.grace_days,
            tolerance: self.tolerance,
            order: self.order.0.clone(),
            penalty_first: self.penalty_first,
            penalty_multiplier: self.penalty_multiplier,
            compound_interest: !self.no_compound,
            prepay: self.prepay,
        }
    }
}
