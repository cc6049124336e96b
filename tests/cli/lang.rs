//! `--lang` (tables in Chinese or English) and `--csv-bom`. CSV and JSON never change with
//! the language: they are the contract.

use crate::common::*;

fn example_env() -> Env {
    let env = Env::new();
    env.preload_example();
    env
}

const AS_OF: [&str; 3] = ["overdue", "--as-of", "2026-06-30"];

fn with(extra: &[&str]) -> Vec<String> {
    AS_OF.iter().chain(extra).map(|s| s.to_string()).collect()
}

fn run(env: &Env, args: &[String], vars: &[(&str, &str)]) -> (i32, String, String) {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut c = env.cmd(&args);
    for (k, v) in vars {
        c.env(k, v);
    }
    output_of(&mut c)
}

#[test]
fn the_chinese_overdue_table() {
    let env = example_env();
    let (code, out, err) = run(&env, &with(&["--lang", "zh"]), &[]);
    assert_eq!(code, 0, "{err}");
    for header in [
        "逾期天数",
        "逾期本金",
        "逾期利息",
        "罚息",
        "客户经理",
        "下一步措施",
    ] {
        assert!(out.contains(header), "{header}: {out}");
    }
    assert!(out.contains("法律审查及财产保全"), "{out}");
    assert!(!out.contains("legal_review_asset_preservation"), "{out}");
    insta::assert_snapshot!("overdue_example_table_zh", out);
}

#[test]
fn the_language_comes_from_the_flag_then_daihou_lang_then_the_locale() {
    let env = example_env();
    let zh = run(&env, &with(&["--lang", "zh"]), &[]).1;
    let en = run(&env, &with(&[]), &[]).1;
    assert_ne!(zh, en);
    assert!(en.contains("next_action"), "LANG=C gives English: {en}");
    assert_eq!(run(&env, &with(&[]), &[("LANG", "zh_CN.UTF-8")]).1, zh);
    assert_eq!(run(&env, &with(&[]), &[("DAIHOU_LANG", "zh")]).1, zh);
    assert_eq!(
        run(
            &env,
            &with(&[]),
            &[("LANG", "zh_CN.UTF-8"), ("DAIHOU_LANG", "en")]
        )
        .1,
        en
    );
    assert_eq!(
        run(&env, &with(&["--lang", "en"]), &[("DAIHOU_LANG", "zh")]).1,
        en,
        "the flag beats the environment"
    );
    let (code, _, err) = run(&env, &with(&["--lang", "fr"]), &[]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn csv_and_json_are_the_same_in_every_language() {
    let env = example_env();
    for format in ["csv", "json"] {
        let en = run(&env, &with(&["--format", format, "--lang", "en"]), &[]);
        let zh = run(&env, &with(&["--format", format, "--lang", "zh"]), &[]);
        assert_eq!(en.0, 0, "{}", en.2);
        assert_eq!(en.1, zh.1, "{format}");
    }
}

#[test]
fn csv_bom_starts_the_csv_with_a_utf8_bom_for_excel() {
    let env = example_env();
    let plain = run(&env, &with(&["--format", "csv"]), &[]).1;
    let (code, bom, err) = run(&env, &with(&["--format", "csv", "--csv-bom"]), &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(bom, format!("\u{feff}{plain}"));
    // Into a file too; and only CSV gets one.
    let file = env.path("overdue.csv");
    let (code, _, err) = run(
        &env,
        &with(&["--format", "csv", "--csv-bom", "-o", s(&file)]),
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::read(&file)
        .unwrap()
        .starts_with(b"\xEF\xBB\xBFloan_id,"));
    let json = run(&env, &with(&["--format", "json", "--csv-bom"]), &[]).1;
    assert!(json.starts_with('['), "{json}");
}
