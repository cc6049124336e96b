//! The one integration-test binary: CLI tests of every subcommand.

mod bench_smoke;
mod classify;
mod common;
mod errors;
mod examples;
mod flags;
mod import;
mod lang;
mod ledger_files;
mod overdue;
mod privacy;
mod reliability;
mod restructure;
mod schedule_visits;
