//! The one integration-test binary: CLI tests of every subcommand.

mod bench_smoke;
mod common;
mod errors;
mod examples;
mod followups;
mod import;
mod import_checks;
mod overdue;
mod reliability;
mod restructure;
mod schedule_visits;
