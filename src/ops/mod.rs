//! Operations: the work behind each command, with typed inputs and typed results. A command
//! parses its arguments, calls an op and hands the result to `output`; an op owns the order of
//! the work (open, read, call the domain, write in one transaction) but no SQL and no rules.

pub mod classify;
pub mod import;
pub mod overdue;
pub mod portfolio;
pub mod profile;
pub mod report;
pub mod restructure;
pub mod visits;
