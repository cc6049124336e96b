//! The one integration-test binary: CLI tests of every subcommand.

mod bench_smoke;
mod common;
mod errors;
mod examples;
mod import;
mod overdue;
mod reliability;
mod report;
mod restructure;
mod schedule_visits;
