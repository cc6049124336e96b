//! `--map FILE`: a small TOML file that lets a foreign tape be imported without editing it.
//!
//! ```toml
//! delimiter = ";"                       # one character, or "tab"; default ","
//! skip_rows = 0                         # lines before the header to skip
//! encoding = "gbk"                      # utf-8 | gbk | gb18030 (--encoding beats it)
//! date_formats = ["%y%m%d"]             # chrono formats, tried in order; default YYYY-MM-DD
//!
//! [loans]                               # one section per table the file feeds
//! columns = { loan_id = "loan_id", origination_date = "date", principal = "amount" }
//! constants = { currency = "CZK", annual_rate = "0", repayment_method = "annuity" }
//! term_unit = "months"                  # months | days | years, for the term_months column
//! skip_if_empty = ["paid_off_time"]     # rows whose source column is empty are skipped
//! date_formats = ["%m/%d/%Y %H:%M"]     # overrides the top-level list for this section
//! ```
//! A `columns` value names a column of the tape, or is a template such as `"{Loan_ID}-payoff"`.
//! Tape columns that no section uses are ignored. Mapping problems are configuration errors (78).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::records::{Kind, TermUnit};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    delimiter: Option<String>,
    skip_rows: Option<usize>,
    encoding: Option<String>,
    date_formats: Option<Vec<String>>,
    loans: Option<RawSection>,
    schedule: Option<RawSection>,
    repayments: Option<RawSection>,
    followups: Option<RawSection>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSection {
    #[serde(default)]
    columns: BTreeMap<String, String>,
    #[serde(default)]
    constants: BTreeMap<String, toml::Value>,
    term_unit: Option<String>,
    #[serde(default)]
    skip_if_empty: Vec<String>,
    date_formats: Option<Vec<String>>,
}

/// A validated mapping.
#[derive(Clone, Debug, Default)]
pub struct Mapping {
    pub delimiter: Option<u8>,
    pub skip_rows: usize,
    pub encoding: Option<String>,
    pub sections: Vec<Section>,
}

/// How one table is read from the tape.
#[derive(Clone, Debug)]
pub struct Section {
    pub kind: Kind,
    /// contract column → tape column name or template
    pub columns: BTreeMap<String, String>,
    /// contract column → fixed value
    pub constants: BTreeMap<String, String>,
    pub term_unit: TermUnit,
    /// tape columns: a row where any of them is empty is skipped
    pub skip_if_empty: Vec<String>,
    pub date_formats: Option<Vec<String>>,
}

impl Mapping {
    /// The section for `kind`, if the mapping has one.
    pub fn section(&self, kind: Kind) -> Option<&Section> {
        self.sections.iter().find(|s| s.kind == kind)
    }

    /// Parses and checks a mapping; errors read as "what is wrong" without the file name.
    pub fn parse(text: &str) -> Result<Mapping, String> {
        let raw: RawMapping = toml::from_str(text).map_err(|e| e.to_string().trim().to_string())?;
        let delimiter = match raw.delimiter.as_deref() {
            None => None,
            Some("tab") | Some("\t") | Some("\\t") => Some(b'\t'),
            Some(d) if d.len() == 1 && d.is_ascii() && d != "\"" && d != "\n" && d != "\r" => {
                Some(d.as_bytes()[0])
            }
            Some(_) => return Err("delimiter must be one ASCII character (or \"tab\")".to_string()),
        };
        if let Some(e) = &raw.encoding {
            if !matches!(
                e.to_ascii_lowercase().as_str(),
                "utf-8" | "utf8" | "gbk" | "gb18030"
            ) {
                return Err("encoding must be one of utf-8, gbk, gb18030".to_string());
            }
        }
        let mut sections = Vec::new();
        for (kind, sec) in [
            (Kind::Loans, raw.loans),
            (Kind::Schedule, raw.schedule),
            (Kind::Repayments, raw.repayments),
            (Kind::Followups, raw.followups),
        ] {
            let Some(sec) = sec else { continue };
            let known = |c: &str| kind.required().contains(&c) || kind.optional().contains(&c);
            for col in sec.columns.keys().chain(sec.constants.keys()) {
                if !known(col) {
                    return Err(format!(
                        "[{}] names \"{col}\", which is not a {} column (expected one of {})",
                        kind.as_str(),
                        kind.as_str(),
                        kind.required()
                            .iter()
                            .chain(kind.optional())
                            .copied()
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
            }
            let term_unit = match sec.term_unit.as_deref() {
                None | Some("months") => TermUnit::Months,
                Some("days") => TermUnit::Days,
                Some("years") => TermUnit::Years,
                Some(_) => {
                    return Err(format!(
                        "[{}] term_unit must be months, days or years",
                        kind.as_str()
                    ))
                }
            };
            let mut constants = BTreeMap::new();
            for (k, v) in sec.constants {
                let s = match v {
                    toml::Value::String(s) => s,
                    toml::Value::Integer(i) => i.to_string(),
                    toml::Value::Float(f) => f.to_string(),
                    toml::Value::Boolean(b) => b.to_string(),
                    _ => {
                        return Err(format!(
                            "[{}] constant {k} must be a string or a number",
                            kind.as_str()
                        ))
                    }
                };
                constants.insert(k, s);
            }
            sections.push(Section {
                kind,
                columns: sec.columns,
                constants,
                term_unit,
                skip_if_empty: sec.skip_if_empty,
                date_formats: sec.date_formats.or_else(|| raw.date_formats.clone()),
            });
        }
        if sections.is_empty() {
            return Err(
                "has no [loans], [schedule], [repayments] or [followups] section".to_string(),
            );
        }
        Ok(Mapping {
            delimiter,
            skip_rows: raw.skip_rows.unwrap_or(0),
            encoding: raw.encoding,
            sections,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sections_and_inherits_date_formats() {
        let m = Mapping::parse(
            r#"
            delimiter = ";"
            date_formats = ["%y%m%d"]
            [loans]
            columns = { loan_id = "id" }
            constants = { currency = "CZK", term_months = 12 }
            [repayments]
            date_formats = ["%m/%d/%Y"]
            "#,
        )
        .unwrap();
        assert_eq!(m.delimiter, Some(b';'));
        let loans = m.section(Kind::Loans).unwrap();
        assert_eq!(
            loans.date_formats.as_deref(),
            Some(&["%y%m%d".to_string()][..])
        );
        assert_eq!(loans.constants["term_months"], "12");
        let rep = m.section(Kind::Repayments).unwrap();
        assert_eq!(
            rep.date_formats.as_deref(),
            Some(&["%m/%d/%Y".to_string()][..])
        );
        assert!(m.section(Kind::Schedule).is_none());
    }

    #[test]
    fn rejects_unknown_things() {
        assert!(Mapping::parse("[loans]\ncolumns = { amount = \"x\" }")
            .unwrap_err()
            .contains("\"amount\""));
        assert!(Mapping::parse("delimiter = \";;\"\n[loans]").is_err());
        assert!(Mapping::parse("colour = 1\n[loans]").is_err());
        assert!(Mapping::parse("delimiter = \",\"")
            .unwrap_err()
            .contains("no [loans]"));
        assert!(Mapping::parse("[loans]\nterm_unit = \"weeks\"").is_err());
    }
}

#[cfg(test)]
mod prop_tests {
    use super::*;
    use proptest::prelude::*;

    use crate::test_support::prop_config as config;

    /// Lines of TOML built from the mapping's own keys and values, right and wrong.
    fn tomlish() -> impl Strategy<Value = String> {
        let key = prop_oneof![
            Just("delimiter"),
            Just("skip_rows"),
            Just("encoding"),
            Just("date_formats"),
            Just("columns"),
            Just("constants"),
            Just("term_unit"),
            Just("skip_if_empty"),
            Just("loan_id"),
            Just("colour"),
        ];
        let value = prop_oneof![
            Just("\";\"".to_string()),
            Just("\"tab\"".to_string()),
            Just("\"\\t\"".to_string()),
            Just("\"\"".to_string()),
            Just("\"\\\"\"".to_string()),
            Just("\"gbk\"".to_string()),
            Just("\"days\"".to_string()),
            Just("0".to_string()),
            Just("-1".to_string()),
            Just("18446744073709551616".to_string()),
            Just("1.5".to_string()),
            Just("true".to_string()),
            Just("[\"%y%m%d\", 1]".to_string()),
            Just("[\"id\"]".to_string()),
            Just("{ loan_id = \"{id}-x\", principal = \"amt\" }".to_string()),
            Just("{ currency = \"CNY\", term_months = 12, x = { y = 1 } }".to_string()),
            Just("{ amount = [1] }".to_string()),
            "\"[^\"\\\\\n]{0,8}\"",
        ];
        let line = prop_oneof![
            3 => (key, value).prop_map(|(k, v)| format!("{k} = {v}")),
            1 => prop_oneof![
                Just("[loans]"),
                Just("[schedule]"),
                Just("[repayments]"),
                Just("[followups]"),
                Just("[loans.columns]"),
                Just("[[loans]]"),
                Just("[other]"),
            ]
            .prop_map(str::to_string),
            1 => any::<String>(),
        ];
        prop::collection::vec(line, 0..10).prop_map(|l| l.join("\n"))
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn parse_never_panics_on_any_text(text in any::<String>()) {
            let _ = Mapping::parse(&text);
        }

        #[test]
        fn parse_never_panics_on_mapping_like_text(text in tomlish()) {
            if let Ok(m) = Mapping::parse(&text) {
                prop_assert!(!m.sections.is_empty());
                if let Some(d) = m.delimiter {
                    prop_assert!(d.is_ascii() && d != b'"' && d != b'\n' && d != b'\r');
                }
            }
        }
    }
}
