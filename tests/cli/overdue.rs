//! `daihou overdue`: exact DPD against real reported delinquency, the example tape, saving,
//! ranges, filters, privacy and golden outputs.

use std::collections::HashMap;

use crate::common::*;

fn example_env() -> Env {
    let env = Env::new();
    let (code, _, err) = env.run(&["-q", "import", "tape", s(&example_tape())]);
    assert_eq!(code, 0, "{err}");
    env
}

/// loan_payments_data_2016.csv carries the lender's own past_due_days; daihou must reproduce it.
#[test]
fn real_loan_payments_2016_match_reported_past_due_days() {
    let env = Env::new();
    let map = root().join("examples/maps/loan_payments_2016.toml");
    let data = fixture("real/loan_payments_data_2016.csv");
    let (code, _, err) = env.run(&["-q", "import", "tape", "--map", s(&map), s(&data)]);
    assert_eq!(code, 0, "{err}");

    let (code, out, err) = env.run(&["overdue", "--as-of", "2016-12-08", "--format", "csv"]);
    assert_eq!(code, 0, "{err}");
    let overdue: HashMap<String, HashMap<String, String>> = csv_rows(&out)
        .into_iter()
        .map(|r| (r["loan_id"].clone(), r))
        .collect();
    let (code, out, err) = env.run(&[
        "overdue",
        "--as-of",
        "2016-12-08",
        "--installments",
        "--all",
        "--format",
        "csv",
    ]);
    assert_eq!(code, 0, "{err}");
    let history: HashMap<String, HashMap<String, String>> = csv_rows(&out)
        .into_iter()
        .map(|r| (r["loan_id"].clone(), r))
        .collect();

    let source = std::fs::read_to_string(&data).unwrap();
    let (mut collection, mut collection_paidoff_ok, mut collection_paidoff, mut paidoff) =
        (0, 0, 0, 0);
    for r in csv_rows(&source) {
        let id = &r["Loan_ID"];
        match r["loan_status"].as_str() {
            "COLLECTION" => {
                collection += 1;
                let row = overdue
                    .get(id)
                    .unwrap_or_else(|| panic!("{id} is COLLECTION but not overdue"));
                assert_eq!(row["dpd"], r["past_due_days"], "{id}");
                assert_eq!(
                    row["overdue_principal"],
                    format!("{}.00", r["Principal"]),
                    "{id}"
                );
            }
            "COLLECTION_PAIDOFF" => {
                collection_paidoff += 1;
                assert!(!overdue.contains_key(id), "{id} was paid off");
                let h = &history[id];
                assert_eq!(h["status"], "settled", "{id}");
                if h["days_late"] == r["past_due_days"] {
                    collection_paidoff_ok += 1;
                }
            }
            "PAIDOFF" => {
                paidoff += 1;
                assert!(!overdue.contains_key(id), "{id} is PAIDOFF");
                assert_eq!(history[id]["status"], "settled", "{id}");
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!((collection, collection_paidoff, paidoff), (100, 100, 300));
    assert_eq!(overdue.len(), 100);
    assert!(
        collection_paidoff_ok >= 99,
        "only {collection_paidoff_ok} of 100 days_late matched"
    );
}

/// The example tape's special loans (examples/tape/README.md) come out as designed.
#[test]
fn example_tape_overdue_loans_are_exact() {
    let env = example_env();
    let (code, out, err) = env.run(&["overdue", "--as-of", "2026-06-30", "--format", "csv"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("overdue as of 2026-06-30: 6 of"), "{err}");
    let rows = csv_rows(&out);
    let got: Vec<(String, String, String, String)> = rows
        .iter()
        .map(|r| {
            (
                r["loan_id"].clone(),
                r["dpd"].clone(),
                r["overdue_principal"].clone(),
                r["overdue_interest"].clone(),
            )
        })
        .collect();
    let want = [
        ("LN2024000015", "207", "9977.62", "2719.68"),
        ("LN2024000023", "100", "13333.32", "2733.33"),
        ("LN2025000025", "75", "0.00", "7200.00"),
        ("LN2024000013", "45", "111111.12", "5537.04"),
        ("LN2024000019", "20", "2597.35", "0.00"),
        ("LN2025000029", "5", "3368.90", "315.31"),
    ];
    let want: Vec<(String, String, String, String)> = want
        .iter()
        .map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string()))
        .collect();
    assert_eq!(got, want);
    let by_id: HashMap<&str, &HashMap<String, String>> =
        rows.iter().map(|r| (r["loan_id"].as_str(), r)).collect();
    // The loan nobody followed up breaches the first-contact SLA.
    assert_eq!(by_id["LN2025000025"]["sla_breached"], "true");
    assert_eq!(by_id["LN2025000025"]["last_contact"], "");
    assert_eq!(
        by_id["LN2024000015"]["next_action"],
        "legal_review_asset_preservation"
    );
    assert_eq!(
        by_id["LN2024000013"]["next_action"],
        "collection_notice_and_visit"
    );
    assert_eq!(by_id["LN2025000029"]["term"], "short");
    assert_eq!(by_id["LN2024000023"]["term"], "long");
    // PII is masked by default.
    assert!(by_id["LN2024000015"]["borrower"].contains('*'));
    assert!(by_id["LN2024000015"]["phone"].contains("****"));
}

#[test]
fn filters_narrow_the_list() {
    let env = example_env();
    let ids = |args: &[&str]| -> Vec<String> {
        let mut a = vec!["overdue", "--as-of", "2026-06-30", "--format", "csv"];
        a.extend_from_slice(args);
        let (code, out, err) = env.run(&a);
        assert_eq!(code, 0, "{err}");
        csv_rows(&out)
            .into_iter()
            .map(|r| r["loan_id"].clone())
            .collect()
    };
    assert_eq!(ids(&["--min-dpd", "91"]), ["LN2024000015", "LN2024000023"]);
    assert_eq!(ids(&["--min-dpd", "90"]).len(), 2);
    assert_eq!(ids(&["--bucket", "1-30"]), ["LN2024000019", "LN2025000029"]);
    assert_eq!(ids(&["--buckets", "m", "--bucket", "M2"]), ["LN2024000013"]);
    assert_eq!(
        ids(&["--officer", "陈立新"]),
        ["LN2025000025", "LN2024000013"]
    );
    assert!(ids(&["--region", "nowhere"]).is_empty());
    let all = ids(&["--all"]);
    assert!(all.len() > 6 && all[..6].iter().all(|i| i.starts_with("LN")));
    let (code, _, err) = env.run(&["overdue", "--as-of", "2026-06-30", "--bucket", "nope"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn an_earlier_as_of_sees_the_book_as_it_was() {
    let env = example_env();
    // On 2026-06-25 LN2025000029's installment is due today: not overdue yet (DPD 0);
    // on 2026-06-26 it is DPD 1.
    let dpd_of = |date: &str, id: &str| -> Option<String> {
        let (_, out, _) = env.run(&["overdue", "--as-of", date, "--format", "csv"]);
        csv_rows(&out)
            .into_iter()
            .find(|r| r["loan_id"] == id)
            .map(|r| r["dpd"].clone())
    };
    assert_eq!(dpd_of("2026-06-25", "LN2025000029"), None);
    assert_eq!(dpd_of("2026-06-26", "LN2025000029").as_deref(), Some("1"));
}

#[test]
fn save_replaces_the_date_and_dry_run_keeps_nothing() {
    let env = example_env();
    let (code, _, err) = env.run(&[
        "overdue",
        "--as-of",
        "2026-06-30",
        "--save",
        "--dry-run",
        "--format",
        "csv",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("dry run"), "{err}");
    assert_eq!(env.sql("SELECT count(*) FROM positions"), ["0"]);
    let (code, _, err) = env.run(&[
        "overdue",
        "--as-of",
        "2026-06-30",
        "--save",
        "--format",
        "csv",
    ]);
    assert_eq!(code, 0, "{err}");
    let first = env.sql("SELECT * FROM positions ORDER BY loan_id");
    assert_eq!(
        env.sql("SELECT count(*) FROM positions WHERE dpd > 0"),
        ["6"]
    );
    let (code, _, err) = env.run(&[
        "overdue",
        "--as-of",
        "2026-06-30",
        "--save",
        "--format",
        "csv",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(env.sql("SELECT * FROM positions ORDER BY loan_id"), first);
    assert_eq!(env.sql("SELECT count(*) FROM position_runs"), ["1"]);
}

#[test]
fn a_range_saves_every_month_end_in_one_pass_and_matches_single_dates() {
    let env = example_env();
    let (code, out, err) = env.run(&[
        "overdue",
        "--from",
        "2025-07-01",
        "--to",
        "2026-06-30",
        "--every",
        "month-end",
        "--save",
        "--format",
        "csv",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(env.sql("SELECT count(*) FROM position_runs"), ["12"]);
    assert!(out.starts_with(
        "as_of,bucket,loans,outstanding_principal,overdue_principal,overdue_interest\n"
    ));
    let range = env.sql("SELECT * FROM positions WHERE as_of = '2026-03-31' ORDER BY loan_id");
    assert!(!range.is_empty());
    // The same date computed alone gives the same rows.
    let single = Env::new();
    let (code, _, err) = single.run(&["-q", "import", "tape", s(&example_tape())]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = single.run(&[
        "overdue",
        "--as-of",
        "2026-03-31",
        "--save",
        "--format",
        "csv",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        single.sql("SELECT * FROM positions ORDER BY loan_id"),
        range
    );
}

#[test]
fn pii_is_shown_only_on_request() {
    let env = example_env();
    let real_name =
        env.sql("SELECT borrower_name FROM loans WHERE loan_id = 'LN2024000015'")[0].clone();
    let (_, out, err) = env.run(&["overdue", "--as-of", "2026-06-30", "--format", "json"]);
    assert!(!out.contains(&real_name), "masked by default");
    assert!(!err.contains(&real_name));
    let (code, out, err) = env.run(&[
        "overdue",
        "--as-of",
        "2026-06-30",
        "--format",
        "json",
        "--show-pii",
    ]);
    assert_eq!(code, 0);
    assert!(out.contains(&real_name));
    assert!(err.contains("--show-pii"), "{err}");
}

#[test]
fn a_missing_ledger_is_exit_66_and_is_not_created() {
    let env = Env::new();
    let (code, _, err) = env.run(&["overdue", "--as-of", "2026-06-30"]);
    assert_eq!(code, 66, "{err}");
    assert!(err.contains("not found"), "{err}");
    assert!(!env.db().exists());
}

#[test]
fn bad_flags_are_usage_errors() {
    let env = example_env();
    for args in [
        vec!["overdue", "--as-of", "2026-02-30"],
        vec!["overdue", "--tolerance", "abc"],
        vec!["overdue", "--order", "interest,bogus"],
        vec!["overdue", "--buckets", "1-30"],
        vec![
            "overdue",
            "--from",
            "2026-06-30",
            "--to",
            "2026-01-31",
            "--every",
            "month-end",
        ],
    ] {
        let (code, _, err) = env.run(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn csv_output_neutralises_formula_injection() {
    let env = example_env();
    let loans = std::fs::read_to_string(example_tape().join("loans.csv")).unwrap();
    // Give one overdue loan an officer name a spreadsheet would run.
    let patched: String = loans
        .lines()
        .map(|l| {
            if l.starts_with("LN2024000015,") {
                l.replace("周海峰", "=HYPERLINK(\"x\")")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let f = env.write("loans.csv", patched + "\n");
    let (code, _, err) = env.run(&["-q", "import", "loans", s(&f)]);
    assert_eq!(code, 0, "{err}");
    let (_, out, _) = env.run(&["overdue", "--as-of", "2026-06-30", "--format", "csv"]);
    let row = csv_rows(&out)
        .into_iter()
        .find(|r| r["loan_id"] == "LN2024000015")
        .unwrap();
    assert_eq!(row["officer"], "'=HYPERLINK(\"x\")");
}

#[test]
fn golden_outputs() {
    let env = example_env();
    for fmt in ["table", "csv", "json"] {
        let (code, out, err) = env.run(&["overdue", "--as-of", "2026-06-30", "--format", fmt]);
        assert_eq!(code, 0, "{err}");
        insta::assert_snapshot!(format!("overdue_example_{fmt}"), out);
    }
    let (code, out, err) = env.run(&[
        "overdue",
        "--from",
        "2026-04-30",
        "--to",
        "2026-06-30",
        "--every",
        "month-end",
        "--format",
        "csv",
    ]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("overdue_example_range_csv", out);
}

/// `--installments --all` of the overdue loans of the example tape, in every format and with
/// `--columns`: the listing (written row by row as the scan makes it, in CSV and JSON) is the
/// same bytes as the report of all its rows was.
#[test]
fn golden_installments() {
    let env = example_env();
    let listing = [
        "overdue",
        "--as-of",
        "2026-06-30",
        "--installments",
        "--all",
        "--min-dpd",
        "1",
    ];
    for fmt in ["table", "csv", "json"] {
        let (code, out, err) = env.run(&[&listing[..], &["--format", fmt]].concat());
        assert_eq!(code, 0, "{err}");
        insta::assert_snapshot!(format!("overdue_example_installments_{fmt}"), out);
    }
    let picked = ["--columns", "status,loan_id,days_late", "--format"];
    for fmt in ["csv", "json"] {
        let (code, out, err) = env.run(&[&listing[..], &picked, &[fmt]].concat());
        assert_eq!(code, 0, "{err}");
        insta::assert_snapshot!(format!("overdue_example_installments_columns_{fmt}"), out);
    }
    // Written to a file: the same bytes, no .tmp left.
    let file = env.path("inst.json");
    let (code, _, err) = env.run(&[&listing[..], &["--format", "json", "-o", s(&file)]].concat());
    assert_eq!(code, 0, "{err}");
    let (_, out, _) = env.run(&[&listing[..], &["--format", "json"]].concat());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), out);
    assert!(!env.path("inst.json.tmp").exists());
}

/// A book of several key ranges and more rows than a chunk: the listing written as the scan
/// makes it is in key order (loan, then schedule), the same rows in CSV and JSON, and the same
/// bytes as with `--save` (whose rows are handed over after the scan).
#[test]
fn installments_of_several_key_ranges_are_in_key_order() {
    let env = Env::new();
    let tape = write_tape(&env, "K", 3000, 12, 6);
    let (code, _, err) = env.run(&["-q", "import", "tape", s(&tape)]);
    assert_eq!(code, 0, "{err}");
    let listing = [
        "overdue",
        "--as-of",
        "2024-06-30",
        "--installments",
        "--all",
    ];
    let (code, csv, err) = env.run(&[&listing[..], &["--format", "csv"]].concat());
    assert_eq!(code, 0, "{err}");
    let rows = csv_rows(&csv);
    assert_eq!(rows.len(), 3000 * 12);
    let key = |r: &HashMap<String, String>| {
        (
            r["loan_id"].clone(),
            r["installment_no"].parse::<u32>().unwrap(),
        )
    };
    let keys: Vec<_> = rows.iter().map(key).collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "not in key order");
    let (code, json, err) = env.run(&[&listing[..], &["--format", "json"]].concat());
    assert_eq!(code, 0, "{err}");
    let json: Vec<HashMap<String, serde_json::Value>> = serde_json::from_str(&json).unwrap();
    assert_eq!(json.len(), rows.len());
    for (j, r) in json.iter().zip(&rows) {
        assert_eq!(j["loan_id"], r["loan_id"].as_str());
        assert_eq!(j["status"], r["status"].as_str());
        assert_eq!(j["principal_due"], r["principal_due"].as_str());
    }
    let (code, saved, err) = env.run(&[&listing[..], &["--save", "--format", "csv"]].concat());
    assert_eq!(code, 0, "{err}");
    assert!(saved == csv, "--save lists the same rows");
}

#[test]
fn conventions_are_flags() {
    let env = example_env();
    let rows = |extra: &[&str]| -> HashMap<String, HashMap<String, String>> {
        let mut a = vec!["overdue", "--as-of", "2026-06-30", "--format", "csv"];
        a.extend_from_slice(extra);
        let (code, out, err) = env.run(&a);
        assert_eq!(code, 0, "{extra:?}: {err}");
        csv_rows(&out)
            .into_iter()
            .map(|r| (r["loan_id"].clone(), r))
            .collect()
    };
    let base = rows(&[]);
    assert_eq!(base["LN2025000029"]["dpd"], "5");
    // Grace: 5 days past due is not overdue with 5 days of grace, but is with 4 (DPD still 5).
    assert!(!rows(&["--grace-days", "5"]).contains_key("LN2025000029"));
    assert_eq!(rows(&["--grace-days", "4"])["LN2025000029"]["dpd"], "5");
    // Tolerance: LN2024000019 owes 2597.35; below a 2600.00 materiality threshold it is not overdue.
    assert!(!rows(&["--tolerance", "2600"]).contains_key("LN2024000019"));
    assert!(rows(&["--tolerance", "2597.34"]).contains_key("LN2024000019"));
    // Penalty multiplier and compounding change the penalty, not the DPD.
    let p = |r: &HashMap<String, HashMap<String, String>>| {
        r["LN2024000015"]["penalty_interest"].clone()
    };
    let doubled = rows(&["--penalty-multiplier", "3"]);
    assert_eq!(doubled["LN2024000015"]["dpd"], "207");
    let (p1, p3): (f64, f64) = (p(&base).parse().unwrap(), p(&doubled).parse().unwrap());
    assert!((p3 - 2.0 * p1).abs() <= 0.02, "{p1} vs {p3}");
    let simple: f64 = p(&rows(&["--no-compound"])).parse().unwrap();
    assert!(simple < p1, "{simple} < {p1}");
    // Penalty first: payments go to penalty before the installments, so arrears can only grow.
    let pf = rows(&["--penalty-first"]);
    for (id, r) in &base {
        let d0: u32 = r["dpd"].parse().unwrap();
        let d1: u32 = pf.get(id).map_or(0, |x| x["dpd"].parse().unwrap());
        assert!(d1 >= d0, "{id}: {d1} < {d0}");
    }
    // Own buckets.
    let own = rows(&["--buckets", "current:0,early:1-30,late:31+"]);
    assert_eq!(own["LN2024000015"]["bucket"], "late");
    assert_eq!(own["LN2025000029"]["bucket"], "early");
}

#[test]
fn a_bank_ladder_replaces_the_default() {
    let env = example_env();
    let ladder = env.write(
        "ladder.toml",
        "[[step]]\nfrom_dpd = 1\naction = \"call\"\ncontact_within_days = 30\n\n\
         [[step]]\nfrom_dpd = 60\naction = \"visit\"\nrequire_channel = \"visit\"\nchannel_within_days = 30\n",
    );
    let (code, out, err) = env.run(&[
        "overdue",
        "--as-of",
        "2026-06-30",
        "--format",
        "csv",
        "--ladder",
        s(&ladder),
    ]);
    assert_eq!(code, 0, "{err}");
    let rows: HashMap<String, HashMap<String, String>> = csv_rows(&out)
        .into_iter()
        .map(|r| (r["loan_id"].clone(), r))
        .collect();
    assert_eq!(rows["LN2024000013"]["next_action"], "call");
    assert_eq!(rows["LN2024000015"]["next_action"], "visit");
    let bad = env.write("bad.toml", "[[step]]\nfrom_dpd = 0\naction = \"x\"\n");
    let (code, _, err) = env.run(&["overdue", "--as-of", "2026-06-30", "--ladder", s(&bad)]);
    assert_eq!(code, 78, "{err}");
    assert!(
        err.contains("bad.toml: step 1 (x): from_dpd must be >= 1"),
        "{err}"
    );
    // An unknown key or a wrong type is placed: file, line, column and key.
    let typo = env.write(
        "typo.toml",
        "[[step]]\nfrom_dpd = 1\naction = \"x\"\nwithin = 3\n",
    );
    let (code, _, err) = env.run(&["overdue", "--as-of", "2026-06-30", "--ladder", s(&typo)]);
    assert_eq!(code, 78, "{err}");
    assert!(
        err.contains("typo.toml line 4, column 1, key step.within: unknown field `within`"),
        "{err}"
    );
    let (code, _, err) = env.run(&["overdue", "--as-of", "2026-06-30", "--ladder", "nope.toml"]);
    assert_eq!(code, 66, "{err}");
    assert!(err.contains("--ladder: nope.toml: no such file"), "{err}");
}

#[test]
fn output_file_that_cannot_be_created_is_73_and_leaves_nothing() {
    let env = example_env();
    let target = env.path("no/such/folder/overdue.csv");
    let (code, out, err) = env.run(&[
        "overdue",
        "--as-of",
        "2026-06-30",
        "--format",
        "csv",
        "-o",
        s(&target),
    ]);
    assert_eq!(code, 73, "{err}");
    assert!(out.is_empty());
    assert!(err.contains("cannot create"), "{err}");
    assert!(!target.exists());
    // And -o writes the whole file, with no .tmp left behind.
    let ok = env.path("overdue.csv");
    let (code, _, err) = env.run(&[
        "overdue",
        "--as-of",
        "2026-06-30",
        "--format",
        "csv",
        "-o",
        s(&ok),
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read_to_string(&ok).unwrap().lines().count(), 7);
    assert!(!env.path("overdue.csv.tmp").exists());
}

#[cfg(unix)]
#[test]
fn a_reader_that_goes_away_is_not_an_error() {
    let env = example_env();
    let bin = assert_cmd::cargo::cargo_bin("daihou");
    // Far more than a pipe buffer of output, cut after one byte, in every format.
    for fmt in ["csv", "json", "table"] {
        let script = format!(
            "'{}' --db '{}' overdue --as-of 2026-06-30 --installments --all --format {fmt} | head -c 1 >/dev/null; \
             echo \"${{PIPESTATUS[0]}}\"",
            bin.display(),
            env.db().display()
        );
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(&script)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "0",
            "{fmt}: {stderr}"
        );
        assert!(!stderr.contains("error"), "{fmt}: {stderr}");
    }
}

/// The loans column of a range CSV, summed per date.
fn loans_per_date(out: &str) -> HashMap<String, u64> {
    let mut per: HashMap<String, u64> = HashMap::new();
    for r in csv_rows(out) {
        *per.entry(r["as_of"].clone()).or_default() += r["loans"].parse::<u64>().unwrap();
    }
    per
}

/// Issue 15.1: a range applies --officer/--branch/--region/--min-dpd/--bucket (the aging
/// table of the loans they admit); --as-of, --installments and --all with a range are refused.
#[test]
fn a_range_applies_the_filters_or_refuses_them() {
    let env = example_env();
    let range = [
        "overdue",
        "--from",
        "2026-06-01",
        "--to",
        "2026-06-30",
        "--every",
        "month-end",
        "--format",
        "csv",
    ];
    let run = |extra: &[&str]| -> (i32, String, String) {
        let mut a = range.to_vec();
        a.extend_from_slice(extra);
        env.run(&a)
    };
    let count = |extra: &[&str]| -> u64 {
        let mut a = vec!["overdue", "--as-of", "2026-06-30", "--format", "csv"];
        a.extend_from_slice(extra);
        let (code, out, err) = env.run(&a);
        assert_eq!(code, 0, "{err}");
        csv_rows(&out).len() as u64
    };
    let (code, out, err) = run(&[]);
    assert_eq!(code, 0, "{err}");
    let whole = loans_per_date(&out)["2026-06-30"];
    assert_eq!(whole, count(&["--all"]));
    for filter in [
        &["--officer", "陈立新"][..],
        &["--min-dpd", "91"],
        &["--bucket", "1-30"],
    ] {
        let (code, out, err) = run(filter);
        assert_eq!(code, 0, "{filter:?}: {err}");
        let n = loans_per_date(&out)["2026-06-30"];
        assert!(n < whole, "{filter:?}: {n} of {whole}");
        let mut all = filter.to_vec();
        all.push("--all");
        assert_eq!(n, count(&all), "{filter:?}");
    }
    let (code, out, _) = run(&["--region", "nowhere"]);
    assert_eq!(code, 0);
    assert_eq!(loans_per_date(&out)["2026-06-30"], 0);
    for refused in [
        &["--as-of", "2026-06-30"][..],
        &["--installments"],
        &["--all"],
    ] {
        let (code, out, err) = run(refused);
        assert_eq!(code, 2, "{refused:?}: {err}");
        assert!(out.is_empty());
    }
}

/// Issue 15.2: a range holding one date still gives the range output, and stderr does not say
/// "as of <today>".
#[test]
fn a_range_of_one_date_gives_the_range_output() {
    let env = example_env();
    let (code, out, err) = env.run(&[
        "overdue",
        "--from",
        "2026-06-01",
        "--to",
        "2026-06-30",
        "--every",
        "month-end",
        "--format",
        "csv",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("as_of,bucket,loans,outstanding_principal,overdue_principal,"),
        "{out}"
    );
    assert!(out.lines().skip(1).all(|l| l.starts_with("2026-06-30,")));
    assert!(!err.contains("today"), "{err}");
    assert!(
        err.contains("1 dates from 2026-06-30 to 2026-06-30"),
        "{err}"
    );
}

/// Issue 15.10: the summary describes the loans listed, and a filter value no loan has says
/// so, with the nearest values the ledger holds.
#[test]
fn summaries_describe_what_was_printed() {
    let env = example_env();
    let listed = |extra: &[&str]| -> (usize, String) {
        let mut a = vec!["overdue", "--as-of", "2026-06-30", "--format", "csv"];
        a.extend_from_slice(extra);
        let (code, out, err) = env.run(&a);
        assert_eq!(code, 0, "{err}");
        (csv_rows(&out).len(), err)
    };
    let (overdue, err) = listed(&["--officer", "陈立新"]);
    let (active, _) = listed(&["--officer", "陈立新", "--all"]);
    assert!(overdue > 0 && active > overdue);
    assert!(
        err.contains(&format!("{overdue} of {active} active loans overdue")),
        "{err}"
    );
    let (n, err) = listed(&["--officer", "陈立"]);
    assert_eq!(n, 0);
    assert!(
        err.contains("no loan has officer '陈立' (did you mean: 陈立新"),
        "{err}"
    );
    let (_, err) = listed(&["--branch", "nowhere"]);
    assert!(err.contains("no loan has branch 'nowhere'"), "{err}");
    // A value that exists but lists nothing is not "unknown".
    let (_, err) = listed(&["--officer", "陈立新", "--min-dpd", "9999"]);
    assert!(!err.contains("no loan has"), "{err}");
}
