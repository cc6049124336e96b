//! The one integration-test binary: CLI tests of every subcommand.

mod bench_smoke;
mod classify;
mod common;
mod errors;
mod examples;
mod first_day;
mod flags;
mod followups;
mod import;
mod import_checks;
mod lang;
mod ledger_files;
mod overdue;
mod privacy;
mod profile;
mod reliability;
mod report;
mod restructure;
mod schedule_visits;
