//! The one integration-test binary: CLI tests of every subcommand.

mod common;
mod import;
mod overdue;
