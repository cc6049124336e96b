//! Global flags and their environment variables.

use crate::common::*;

#[test]
fn a_bad_as_of_names_where_it_came_from() {
    let env = Env::new();
    env.preload_example();
    let (code, _, err) = output_of(env.cmd(&["overdue"]).env("DAIHOU_AS_OF", "2026-13-01"));
    assert_eq!(code, 2, "{err}");
    let lines = error_lines(&err);
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].starts_with(
            "daihou: error: DAIHOU_AS_OF (the environment variable behind --as-of) \"2026-13-01\""
        ),
        "{err}"
    );
    let (code, _, err) = env.run(&["overdue", "--as-of", "2026-13-01"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.starts_with("daihou: error: --as-of \"2026-13-01\""),
        "{err}"
    );
    // The flag beats a good or bad environment value.
    let (code, _, err) = output_of(
        env.cmd(&["overdue", "--as-of", "2026-06-30"])
            .env("DAIHOU_AS_OF", "bad"),
    );
    assert_eq!(code, 0, "{err}");
}

#[test]
fn help_describes_verbose_lang_and_exit_codes() {
    let env = Env::new();
    let (code, out, _) = env.run(&["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("data warnings"), "{out}");
    assert!(!out.contains("Print per-step timings on stderr"), "{out}");
    for needle in [
        "--lang",
        "DAIHOU_LANG",
        "--csv-bom",
        "74 no space left",
        "130 interrupted",
    ] {
        assert!(out.contains(needle), "{needle}: {out}");
    }
}
