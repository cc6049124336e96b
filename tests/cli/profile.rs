//! The bank profile: `--profile` / DAIHOU_PROFILE / daihou.toml beside the ledger, precedence
//! built-in < profile < environment < flag, `daihou profile` and its origins, `--init`.

use crate::common::*;

/// The conventions `overdue --save` recorded for 2026-06-30, as JSON.
fn saved_conventions(env: &Env) -> serde_json::Value {
    let rows = env.sql("SELECT conventions FROM position_runs WHERE as_of = '2026-06-30'");
    serde_json::from_str(&rows[0]).unwrap()
}

/// Runs `overdue --save` for 2026-06-30 with these extra environment variables and flags and
/// returns (grace_days, tolerance, penalty_multiplier, loans overdue) as saved.
fn overdue_under(
    env: &Env,
    vars: &[(&str, &str)],
    flags: &[&str],
) -> (u64, String, String, String) {
    let mut args = vec![
        "--as-of",
        "2026-06-30",
        "overdue",
        "--save",
        "--format",
        "csv",
    ];
    args.extend_from_slice(flags);
    let mut c = env.cmd(&args);
    for (k, v) in vars {
        c.env(k, v);
    }
    let (code, _, err) = output_of(&mut c);
    assert_eq!(code, 0, "{err}");
    let conv = saved_conventions(env);
    let overdue = env.sql("SELECT overdue FROM position_runs WHERE as_of = '2026-06-30'");
    (
        conv["grace_days"].as_u64().unwrap(),
        conv["tolerance"].as_str().unwrap().to_string(),
        conv["penalty_multiplier"].as_str().unwrap().to_string(),
        overdue[0].clone(),
    )
}

#[test]
fn built_in_then_profile_then_environment_then_flag() {
    let env = Env::new();
    env.preload_example();
    let built_in = overdue_under(&env, &[], &[]);
    assert_eq!(built_in, (0, "0.00".into(), "1.5".into(), "6".into()));

    // daihou.toml beside the ledger is found without being named; the overdue section beats
    // the shared one. Grace of 5 days takes the loan at DPD 5 out of the list.
    env.write(
        "daihou.toml",
        "[conventions]\ngrace_days = 3\ntolerance = \"0.50\"\npenalty_multiplier = 2\n\n[overdue]\ngrace_days = 5\n",
    );
    let profile = overdue_under(&env, &[], &[]);
    assert_eq!(profile, (5, "0.50".into(), "2".into(), "5".into()));

    let vars = [
        ("DAIHOU_GRACE_DAYS", "0"),
        ("DAIHOU_TOLERANCE", "1"),
        ("DAIHOU_PENALTY_MULTIPLIER", "1.2"),
    ];
    let environment = overdue_under(&env, &vars, &[]);
    assert_eq!(environment, (0, "1.00".into(), "1.2".into(), "6".into()));

    let flags = [
        "--grace-days",
        "5",
        "--tolerance",
        "2",
        "--penalty-multiplier",
        "1",
    ];
    let flag = overdue_under(&env, &vars, &flags);
    assert_eq!(flag, (5, "2.00".into(), "1".into(), "5".into()));

    // --profile (and DAIHOU_PROFILE) name another file instead of the one beside the ledger.
    env.write("other.toml", "[overdue]\ngrace_days = 1\n");
    let named = overdue_under(&env, &[], &["--profile", "other.toml"]);
    assert_eq!(named.0, 1);
    let by_env = overdue_under(&env, &[("DAIHOU_PROFILE", "other.toml")], &[]);
    assert_eq!(by_env.0, 1);
    assert_eq!(by_env.1, "0.00", "the other profile has no tolerance");
}

#[test]
fn profile_shows_each_setting_and_where_it_comes_from() {
    let env = Env::new();
    env.write(
        "bank/daihou.toml",
        "# the bank's conventions\n[conventions]\ngrace_days = 3\ntolerance = 0.5\n\n[overdue]\nladder = \"ladder.toml\"\n\n[classify]\nrules = \"cn2007\"\n",
    );
    env.write(
        "bank/ladder.toml",
        "[[step]]\nfrom_dpd = 1\naction = \"call\"\ncontact_within_days = 30\n",
    );
    let mut c = env.cmd(&[
        "--profile",
        "bank/daihou.toml",
        "--format",
        "csv",
        "profile",
        "--penalty-multiplier",
        "1.2",
    ]);
    c.env("DAIHOU_TOLERANCE", "1");
    let (code, out, err) = output_of(&mut c);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("profile: bank/daihou.toml (from --profile)"),
        "{err}"
    );
    let rows: Vec<&str> = out.lines().collect();
    assert_eq!(rows[0], "command,key,value,origin");
    for want in [
        "overdue,grace_days,3,profile bank/daihou.toml:3".to_string(),
        "overdue,tolerance,1,environment DAIHOU_TOLERANCE".to_string(),
        "overdue,penalty_multiplier,1.2,flag --penalty-multiplier".to_string(),
        "overdue,prepay,next_installments,built-in".to_string(),
        // A rule file is named relative to the profile.
        "overdue,ladder,bank/ladder.toml,profile bank/daihou.toml:7".to_string(),
        "classify,rules,cn2007,profile bank/daihou.toml:10".to_string(),
        "classify,staging,ifrs9,built-in".to_string(),
        "overdue,no_compound,false,built-in".to_string(),
    ] {
        assert!(rows.iter().any(|r| *r == want), "no row `{want}` in\n{out}");
    }

    // A switch the profile turns on is turned off for one run through its environment variable.
    env.write("bank/daihou.toml", "[overdue]\nno_compound = true\n");
    let listed = |vars: &[(&str, &str)]| -> String {
        let mut c = env.cmd(&[
            "--profile",
            "bank/daihou.toml",
            "--format",
            "csv",
            "profile",
        ]);
        for (k, v) in vars {
            c.env(k, v);
        }
        let (code, out, err) = output_of(&mut c);
        assert_eq!(code, 0, "{err}");
        out.lines()
            .find(|l| l.starts_with("overdue,no_compound,"))
            .unwrap()
            .to_string()
    };
    assert_eq!(
        listed(&[]),
        "overdue,no_compound,true,profile bank/daihou.toml:2"
    );
    assert_eq!(
        listed(&[("DAIHOU_NO_COMPOUND", "0")]),
        "overdue,no_compound,false,environment DAIHOU_NO_COMPOUND"
    );
}

#[test]
fn init_writes_every_default_once_and_it_reads_back_as_the_built_ins() {
    let env = Env::new();
    let (code, _, err) = env.run(&["profile", "--init"]);
    assert_eq!(code, 0, "{err}");
    let written = std::fs::read_to_string(env.path("daihou.toml")).unwrap();
    // examples/daihou.toml documents every key with its default: the same sections and key
    // lines as --init writes (the help comments may lag a reworded flag by a regeneration).
    let example = std::fs::read_to_string(root().join("examples/daihou.toml")).unwrap();
    let keys = |t: &str| -> Vec<String> {
        t.lines()
            .map(|l| l.trim_start_matches("# "))
            .filter(|l| {
                l.starts_with('[') || l.split_once(" = ").is_some_and(|(k, _)| !k.contains(' '))
            })
            .map(str::to_string)
            .collect()
    };
    assert_eq!(
        keys(&written),
        keys(&example),
        "examples/daihou.toml is out of date (a convention flag was added or its default changed): regenerate it with `rm examples/daihou.toml && cargo run -q -- --profile examples/daihou.toml profile --init`"
    );
    assert!(keys(&example).len() >= 20, "{example}");
    // Read back: every setting it holds has the built-in value.
    let (code, out, err) = env.run(&["--format", "csv", "profile"]);
    assert_eq!(code, 0, "{err}");
    let rows = |t: &str| -> Vec<Vec<String>> {
        csv::Reader::from_reader(t.as_bytes())
            .records()
            .map(|r| r.unwrap().iter().map(str::to_string).collect())
            .collect()
    };
    let (mut from_file, mut built_in) = (0, 0);
    for r in rows(&out) {
        if r[3].starts_with("profile ") && r[3].contains("daihou.toml:") {
            from_file += 1;
        } else {
            assert_eq!(r[3], "built-in", "{r:?}");
            assert!(
                r[2].is_empty(),
                "only keys without a default are left out: {r:?}"
            );
            built_in += 1;
        }
    }
    assert!(from_file >= 14 && built_in >= 4, "{out}");
    let plain = Env::new();
    let (_, built_ins, _) = plain.run(&["--format", "csv", "profile"]);
    let values = |t: &str| -> Vec<Vec<String>> {
        rows(t)
            .into_iter()
            .map(|mut r| {
                r.truncate(3);
                r
            })
            .collect()
    };
    assert_eq!(values(&out), values(&built_ins));

    // Never over an existing file.
    let (code, _, err) = env.run(&["profile", "--init"]);
    assert_eq!(code, 73, "{err}");
    assert_eq!(
        std::fs::read_to_string(env.path("daihou.toml")).unwrap(),
        written
    );
}

/// A loan whose contract installment is 1000.30 and whose bank debits whole units, 1000 a month:
/// the 0.30 shortfall accumulates on the newest installment.
fn whole_unit_payer(env: &Env) {
    let mut sch = String::from("loan_id,installment_no,due_date,principal_due,interest_due\n");
    let mut rep = String::from("txn_id,loan_id,paid_on,amount,channel,reverses_txn_id\n");
    for k in 0..60u32 {
        let due = format!("{}-{:02}-15", 2024 + k / 12, k % 12 + 1);
        sch.push_str(&format!("R1,{},{due},1000.30,0.00\n", k + 1));
        if k < 24 {
            rep.push_str(&format!("T{k:03},R1,{due},1000.00,代扣,\n"));
        }
    }
    env.write(
        "tape/loans.csv",
        format!("loan_id,borrower_id,borrower_name,borrower_type,region,branch,officer,product,currency,\
         principal,annual_rate,origination_date,term_months,repayment_method,repayment_frequency,\
         collateral,phone,id_number\n\
         R1,B1,某某,individual,浙江省杭州市,杭州西湖支行,陈立新,个人消费贷款,CNY,60018.00,0,2023-12-15,60,annuity,monthly,信用,{},{}\n",
            phone(1),
            id_number(1)
        ),
    );
    env.write("tape/schedule.csv", sch);
    env.write("tape/repayments.csv", rep);
    let (code, _, err) = env.run(&["import", "tape", s(&env.path("tape"))]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_relative_threshold_keeps_a_whole_unit_payer_current() {
    let env = Env::new();
    whole_unit_payer(&env);
    let dpd = |flags: &[&str]| -> String {
        let mut args = vec![
            "--as-of",
            "2026-01-02",
            "--format",
            "csv",
            "overdue",
            "--all",
        ];
        args.extend_from_slice(flags);
        let (code, out, err) = env.run(&args);
        assert_eq!(code, 0, "{err}");
        let header: Vec<&str> = out.lines().next().unwrap().split(',').collect();
        let row: Vec<&str> = out.lines().nth(1).unwrap().split(',').collect();
        let col = |n: &str| row[header.iter().position(|h| *h == n).unwrap()].to_string();
        format!("{} {}", col("dpd"), col("overdue_principal"))
    };
    assert_eq!(dpd(&[]), "18 7.20");
    assert_eq!(
        dpd(&["--tolerance", "0.50"]),
        "18 7.20",
        "an absolute tolerance only delays it"
    );
    assert_eq!(
        dpd(&["--tolerance", "0.50", "--tolerance-pct", "1"]),
        "0 7.20"
    );
    // The same from the profile.
    env.write(
        "daihou.toml",
        "[conventions]\ntolerance = 0.5\ntolerance_pct = 1\n",
    );
    assert_eq!(dpd(&[]), "0 7.20");
    assert_eq!(dpd(&["--tolerance-pct", "0"]), "18 7.20");
}

#[test]
fn saving_under_other_conventions_than_the_saved_dates_says_which() {
    let env = Env::new();
    env.preload_example();
    let save = |as_of: &str, flags: &[&str]| -> String {
        let mut args = vec!["--as-of", as_of, "overdue", "--save", "--format", "csv"];
        args.extend_from_slice(flags);
        let (code, _, err) = env.run(&args);
        assert_eq!(code, 0, "{err}");
        err
    };
    let err = save("2026-05-31", &["--grace-days", "3"]);
    assert!(!err.contains("other conventions"), "{err}");
    // Rerunning the same date replaces it: nothing to compare with.
    let err = save("2026-05-31", &[]);
    assert!(!err.contains("other conventions"), "{err}");
    save(
        "2026-04-30",
        &["--grace-days", "3", "--penalty-multiplier", "2"],
    );
    let err = save("2026-06-30", &[]);
    let notes: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("other conventions"))
        .collect();
    assert_eq!(
        notes,
        ["overdue: note: positions saved for 2026-04-30 were computed under other conventions: grace_days 3 (now 0), penalty_multiplier 2 (now 1.5)"],
        "{err}"
    );
}

/// The stderr lines of `args` that say saved results counted another way.
fn convention_notes(env: &Env, args: &[&str]) -> Vec<String> {
    let (code, _, err) = env.run(args);
    assert_eq!(code, 0, "{args:?}: {err}");
    err.lines()
        .filter(|l| l.contains("other conventions"))
        .map(String::from)
        .collect()
}

#[test]
fn commands_that_read_a_saved_classify_run_say_once_when_it_counted_another_way() {
    let env = Env::new();
    env.preload_example();
    let csv = ["--format", "csv"];
    let classify = |as_of: &str, flags: &[&str]| {
        let args = [&["--as-of", as_of, "classify", "--save"][..], &csv, flags].concat();
        convention_notes(&env, &args)
    };
    assert!(classify("2026-05-31", &["--grace-days", "3"]).is_empty());

    // classify compares the first date with the previous saved run.
    assert_eq!(
        classify("2026-06-30", &[]),
        ["classify: note: grades saved for 2026-05-31 were computed under other conventions: grace_days 3 (now 0)"]
    );
    assert!(classify("2026-06-30", &["--grace-days", "3"]).is_empty());

    // Now 2026-06-30 is saved with grace 3: schedule-visits reads its grades and segments, and
    // report reads its run (portfolio; management reads its grades) — each says so once.
    let visits = |flags: &[&str]| {
        let args = [
            &["--as-of", "2026-06-30", "schedule-visits", "--dry-run"][..],
            &csv,
            flags,
        ];
        convention_notes(&env, &args.concat())
    };
    assert_eq!(
        visits(&[]),
        ["schedule-visits: note: grades saved for 2026-06-30 were computed under other conventions: grace_days 3 (now 0)"]
    );
    assert!(visits(&["--grace-days", "3"]).is_empty());
    for name in ["portfolio", "management"] {
        let report = |flags: &[&str]| {
            let args = [&["--as-of", "2026-06-30", "report", name][..], &csv, flags];
            convention_notes(&env, &args.concat())
        };
        let notes = report(&[]);
        assert_eq!(notes.len(), 1, "{name}: {notes:?}");
        assert!(
            notes[0].starts_with("report: note: runs saved for ")
                && notes[0].contains("2026-06-30")
                && notes[0].ends_with("other conventions: grace_days 3 (now 0)"),
            "{name}: {notes:?}"
        );
        assert!(report(&["--grace-days", "3"]).is_empty(), "{name}");
    }
}
