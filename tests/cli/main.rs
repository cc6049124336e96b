//! The one integration-test binary: CLI tests of every subcommand.

mod common;
mod examples;
mod import;
mod overdue;
