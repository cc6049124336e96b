//! Helpers shared by the unit tests of several modules.

use chrono::NaiveDate;
use rust_decimal::Decimal;

/// A `YYYY-MM-DD` date (tests only; panics on a bad literal).
pub fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("a YYYY-MM-DD literal")
}

/// A decimal amount (tests only; panics on a bad literal).
pub fn m(s: &str) -> Decimal {
    s.parse().expect("a decimal literal")
}

/// The bounded property-test run every module uses: 256 cases, no regression files, so
/// `cargo test` in CI stays fast and writes nothing.
pub fn prop_config() -> proptest::prelude::ProptestConfig {
    proptest::prelude::ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..proptest::prelude::ProptestConfig::default()
    }
}
