//! `daihou report`: the hand-worked fixture (tests/fixtures/report, see its README) through
//! every report, golden outputs in CSV and JSON, xlsx read back, the HTML page in a real browser,
//! and the bad-input cases of the issue.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::common::{csv_rows, fixture, s, Env};

fn loaded() -> Env {
    let env = Env::new();
    let (code, _, err) = env.run(&["-q", "import", "tape", s(&fixture("report"))]);
    assert_eq!(code, 0, "{err}");
    env
}

const PORTFOLIO: &[&str] = &["report", "portfolio", "--as-of", "2026-03-31"];
const MIGRATION: &[&str] = &[
    "report",
    "migration",
    "--from",
    "2026-01-31",
    "--to",
    "2026-03-31",
    "--every",
    "month-end",
];
const VINTAGE: &[&str] = &["report", "vintage", "--as-of", "2026-03-31"];

fn run_ok(env: &Env, args: &[&str], extra: &[&str]) -> (String, String) {
    let mut a: Vec<&str> = args.to_vec();
    a.extend_from_slice(extra);
    let (code, out, err) = env.run(&a);
    assert_eq!(code, 0, "{a:?}: {err}");
    (out, err)
}

fn table<'a>(rows: &'a [HashMap<String, String>], name: &str) -> Vec<&'a HashMap<String, String>> {
    rows.iter().filter(|r| r["table"] == name).collect()
}

#[test]
fn portfolio_figures_by_hand() {
    let env = loaded();
    let (out, _) = run_ok(&env, PORTFOLIO, &["--format", "csv"]);
    let rows = csv_rows(&out);
    let h = table(&rows, "headline");
    assert_eq!(h.len(), 1);
    let h = h[0];
    // In the book on 2026-03-31: R1 400 (paid 2 of 3), R2 3000 (DPD 39), R3 200 (cured),
    // R4 5000 (DPD 141), R5 1000; R6 closed. 400+3000+200+5000+1000 = 9600.
    assert_eq!(h["loans"], "5");
    assert_eq!(h["balance"], "9600.00");
    // 逾期贷款率: R2 + R4 = 8000 / 9600 = 0.8333…
    assert_eq!(h["overdue_balance"], "8000.00");
    assert_eq!(h["overdue_ratio"], "0.833333");
    // PAR1 and PAR30: R2 (39 > 30) + R4 = 8000 / 9600; PAR90: R4 5000 / 9600 = 0.5208333…
    assert_eq!(h["par1"], "0.833333");
    assert_eq!(h["par30"], "0.833333");
    assert_eq!(h["par90_balance"], "5000.00");
    assert_eq!(h["par90"], "0.520833");
    let b: Vec<(String, String, String)> = table(&rows, "by_bucket")
        .iter()
        .map(|r| {
            (
                r["bucket"].clone(),
                r["loans"].clone(),
                r["balance"].clone(),
            )
        })
        .collect();
    assert_eq!(b[0], ("current".into(), "3".into(), "1600.00".into())); // 400+200+1000
    assert_eq!(b[2], ("31-60".into(), "1".into(), "3000.00".into()));
    assert_eq!(b[4], ("91-180".into(), "1".into(), "5000.00".into()));
    // By officer: O1 has R1 400 + R2 3000 + R5 1000 = 4400, PAR30 3000 / 4400 = 0.681818
    let o1 = table(&rows, "by_officer")
        .into_iter()
        .find(|r| r["officer"] == "O1")
        .unwrap();
    assert_eq!(
        (o1["balance"].as_str(), o1["par30"].as_str()),
        ("4400.00", "0.681818")
    );
}

#[test]
fn migration_figures_by_hand() {
    let env = loaded();
    let (out, err) = run_ok(&env, MIGRATION, &["--format", "csv"]);
    assert!(
        err.contains(
            "computed positions from the ledger for 3 date(s): 2026-01-31, 2026-02-28, 2026-03-31"
        ),
        "{err}"
    );
    let rows = csv_rows(&out);
    let cell = |from: &str, to: &str| {
        table(&rows, "matrix")
            .into_iter()
            .find(|r| r["from_bucket"] == from && r["to_bucket"] == to)
            .unwrap()
    };
    // current on 01-31: R1 1200, R2 3000, R3 600, R6 700 = 4 loans, 5500.
    // current → current: R1, R3 = 1800 / 5500 = 0.3272727…
    let c = cell("current", "current");
    assert_eq!(
        (c["loans"].as_str(), c["balance_from"].as_str()),
        ("2", "1800.00")
    );
    assert_eq!(c["share_balance"], "0.327273");
    assert_eq!(c["balance_to"], "600.00"); // R1 400 + R3 200
                                           // current → 31-60: R2 3000 / 5500 = 0.5454545…
    assert_eq!(cell("current", "31-60")["share_balance"], "0.545455");
    // current → closed: R6 700 / 5500 = 0.1272727…
    assert_eq!(cell("current", "closed")["share_balance"], "0.127273");
    // 61-90 → 91-180: R4, all of its row
    assert_eq!(cell("61-90", "91-180")["share_loans"], "1.000000");
    // new → current: R5, 1000 on 03-31
    assert_eq!(cell("new", "current")["balance_to"], "1000.00");
    // Flow 02-28 → 03-31: R3 cured (1-30 → current, 600), R2 worse (3000)
    let f = table(&rows, "flow");
    assert_eq!(f.len(), 2);
    assert_eq!(
        (f[1]["cured_loans"].as_str(), f[1]["cured_balance"].as_str()),
        ("1", "600.00")
    );
    assert_eq!(f[1]["worse_balance"], "3000.00");
    // Flow 01-31 → 02-28: R6 closed 700, R5 new 1500, R2 R3 R4 worse 3000+600+5000 = 8600
    assert_eq!(f[0]["worse_balance"], "8600.00");
    assert_eq!(
        (
            f[0]["closed_balance"].as_str(),
            f[0]["new_balance"].as_str()
        ),
        ("700.00", "1500.00")
    );
    // Roll current → 1-30 in February: 1-30 on 02-28 (R2 3000 + R3 600) / current on 01-31 5500
    let r = table(&rows, "roll_rates");
    assert_eq!(r[0]["roll_rate"], "0.654545");
    // 1-30 → 31-60 in March: R2 3000 / (R2 3000 + R3 600) = 0.8333…
    let march = r
        .iter()
        .find(|x| x["from_date"] == "2026-02-28" && x["from_bucket"] == "1-30")
        .unwrap();
    assert_eq!(march["roll_rate"], "0.833333");
    let heads = table(&rows, "headline");
    assert_eq!(heads.len(), 3);
    // PAR30 on 02-28: R4 5000 (DPD 110) / (800+3000+600+5000+1500 = 10900) = 0.4587155…
    assert_eq!(heads[1]["par30"], "0.458716");
}

#[test]
fn vintage_figures_by_hand() {
    let env = loaded();
    let (out, _) = run_ok(&env, VINTAGE, &["--format", "csv"]);
    let rows = csv_rows(&out);
    let get = |cohort: &str, mob: &str| {
        rows.iter()
            .find(|r| r["cohort"] == cohort && r["mob"] == mob)
            .unwrap_or_else(|| panic!("{cohort} MOB {mob}"))
    };
    // 2025-10 (R4, 5000): DPD 20 on 11-30 (MOB 1), 51 on 12-31 (MOB 2), 110 on 02-28 (MOB 4).
    assert_eq!(get("2025-10", "1")["ever_30_share"], "0.000000");
    assert_eq!(get("2025-10", "2")["ever_m2_share"], "1.000000");
    assert_eq!(get("2025-10", "3")["ever_90_share"], "0.000000");
    assert_eq!(get("2025-10", "4")["ever_90_share"], "1.000000");
    // 2025-12 (R3, 800): 42 DPD on 03-15 before its payment, so ever 30+ at MOB 3 though
    // current at the month end.
    assert_eq!(get("2025-12", "3")["ever_30_amount"], "800.00");
    // 2026-01 (R1 1200, R2 3000, R6 700 = 4900): R2 at 39 on 03-31: 3000 / 4900 = 0.6122448…
    let j = get("2026-01", "2");
    assert_eq!(
        (j["loans"].as_str(), j["original_amount"].as_str()),
        ("3", "4900.00")
    );
    assert_eq!(j["ever_30_share"], "0.612245");
    // MOB 0 of a cohort is its origination month; the triangle has 6 + 4 + 3 + 2 rows.
    assert_eq!(rows.len(), 15);
}

#[test]
fn golden_outputs() {
    let env = loaded();
    for (name, args) in [
        ("portfolio", PORTFOLIO),
        ("migration", MIGRATION),
        ("vintage", VINTAGE),
    ] {
        for fmt in ["csv", "json"] {
            let (out, _) = run_ok(&env, args, &["--format", fmt]);
            insta::assert_snapshot!(format!("report_{name}_{fmt}"), out);
        }
    }
}

#[test]
fn json_has_named_arrays() {
    let env = loaded();
    let (out, _) = run_ok(&env, PORTFOLIO, &["--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "headline",
            "by_bucket",
            "by_product",
            "by_branch",
            "by_region",
            "by_officer"
        ]
    );
    assert_eq!(v["headline"][0]["par90"], "0.520833");
    assert_eq!(v["headline"][0]["loans"], 5);
}

#[test]
fn table_format_prints_each_table_under_its_title() {
    let env = loaded();
    let (out, _) = run_ok(&env, PORTFOLIO, &[]);
    assert!(out.starts_with("Headline ratios\n"), "{out}");
    assert!(out.contains("\nBy officer\n"));
    assert!(out.contains("83.33%")); // the overdue ratio as a percentage
    assert!(out.contains("9,600.00"));
}

#[test]
fn a_date_before_the_first_loan_gives_an_empty_report() {
    let env = loaded();
    let (out, _) = run_ok(
        &env,
        &["report", "portfolio", "--as-of", "2020-01-01"],
        &["--format", "csv"],
    );
    let rows = csv_rows(&out);
    let h = table(&rows, "headline");
    assert_eq!(
        (h[0]["loans"].as_str(), h[0]["balance"].as_str()),
        ("0", "0.00")
    );
    assert_eq!(h[0]["par30"], "", "no ratio of an empty book");
    let (out, _) = run_ok(
        &env,
        &["report", "vintage", "--as-of", "2020-01-01"],
        &["--format", "csv"],
    );
    assert_eq!(csv_rows(&out).len(), 0);
}

#[test]
fn bad_input_exits_2_with_the_reason() {
    let env = loaded();
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "report",
                "migration",
                "--from",
                "2026-03-31",
                "--to",
                "2026-01-31",
            ],
            "--from 2026-03-31 is after --to 2026-01-31",
        ),
        (&["report", "migration"], "report migration needs --from"),
        (&["report", "nosuch"], "invalid value 'nosuch'"),
        (
            &["report", "portfolio", "--format", "xlsx"],
            "--format xlsx needs -o FILE",
        ),
        (
            &["overdue", "--as-of", "2026-03-31", "--format", "html"],
            "--format html is for `daihou report` only",
        ),
        (
            &["report", "conduct"],
            "`daihou report conduct (needs the follow-up contact columns)` is not built yet",
        ),
        (
            &["report", "portfolio", "--from", "2026-01-01"],
            "--from and --every are for `report migration`",
        ),
        (
            &[
                "report",
                "migration",
                "--from",
                "2026-02-30",
                "--to",
                "2026-03-31",
            ],
            "--from \"2026-02-30\"",
        ),
    ];
    for (args, msg) in cases {
        let (code, out, err) = env.run(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert_eq!(out, "", "{args:?}");
        assert!(err.contains(msg), "{args:?}: {err}");
    }
}

#[test]
fn a_missing_ledger_is_66() {
    let env = Env::new();
    let (code, _, _) = env.run(PORTFOLIO);
    assert_eq!(code, 66);
    assert!(!env.db().exists());
}

#[test]
fn xlsx_reads_back_with_numbers_percentages_and_dates() {
    use calamine::{open_workbook, Data, Reader, Xlsx};
    let env = loaded();
    let path = env.path("portfolio.xlsx");
    run_ok(&env, PORTFOLIO, &["--format", "xlsx", "-o", s(&path)]);
    assert!(!env.path("portfolio.xlsx.tmp").exists());
    let mut wb: Xlsx<_> = open_workbook(&path).unwrap();
    assert_eq!(
        wb.sheet_names(),
        [
            "headline",
            "by_bucket",
            "by_product",
            "by_branch",
            "by_region",
            "by_officer"
        ]
    );
    let h = wb.worksheet_range("headline").unwrap();
    let col = |name: &str| {
        (0..h.width())
            .find(|&j| h.get_value((0, j as u32)) == Some(&Data::String(name.into())))
            .unwrap() as u32
    };
    // numbers stay numbers: 9600 and 5000/9600
    assert_eq!(h.get_value((1, col("balance"))), Some(&Data::Float(9600.0)));
    match h.get_value((1, col("par90"))) {
        Some(Data::Float(f)) => assert!((f - 0.520833).abs() < 1e-9, "{f}"),
        other => panic!("par90 is {other:?}"),
    }
    // the date is an Excel date (calamine sees its date format)
    match h.get_value((1, col("as_of"))) {
        Some(Data::DateTime(d)) => {
            // Excel's day 0 is 1899-12-30
            let day0 = chrono::NaiveDate::from_ymd_opt(1899, 12, 30).unwrap();
            let want = chrono::NaiveDate::from_ymd_opt(2026, 3, 31).unwrap() - day0;
            assert_eq!(d.as_f64(), want.num_days() as f64);
        }
        other => panic!("as_of is {other:?}"),
    }
    let b = wb.worksheet_range("by_bucket").unwrap();
    assert_eq!(b.get_value((1, 0)), Some(&Data::String("current".into())));
    assert_eq!(b.get_value((1, 2)), Some(&Data::Float(1600.0)));
    // the percent format is stored with the workbook's styles
    let bytes = std::fs::read(&path).unwrap();
    let styles = zip_entry(&bytes, "xl/styles.xml");
    assert!(
        styles.contains("0.00%") && styles.contains("yyyy-mm-dd"),
        "{styles}"
    );
    let sheet = zip_entry(&bytes, "xl/worksheets/sheet1.xml");
    assert!(sheet.contains("state=\"frozen\""), "header row frozen");
    assert!(sheet.contains("<cols>"), "column widths set");
}

/// One entry of a zip archive, through calamine's own zip dependency being unavailable here:
/// xlsx entries are deflated, so read them with the workbook reader's zip crate.
fn zip_entry(bytes: &[u8], name: &str) -> String {
    use std::io::Read;
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut s = String::new();
    z.by_name(name).unwrap().read_to_string(&mut s).unwrap();
    s
}

/// The browser, if one is installed.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

fn browser(bin: &Path, profile: &Path, extra: &[String], page: &Path) -> std::process::Output {
    std::process::Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("running the browser")
}

/// Renders each report's page in headless Chromium: the screenshot is there and not blank, every
/// chart has marks the browser laid out with a size, and the console shows no error.
#[test]
fn html_pages_render_in_a_real_browser() {
    let Some(bin) = chromium() else {
        if std::env::var_os("CI").is_some() {
            panic!("no chromium under CI: .ci/run installs it, so this must not skip");
        }
        eprintln!("SKIPPED html_pages_render_in_a_real_browser: no chromium on PATH (apt-get install chromium)");
        return;
    };
    let env = loaded();
    for (name, args, charts) in [
        ("portfolio", PORTFOLIO, 4),
        ("migration", MIGRATION, 3),
        ("vintage", VINTAGE, 2),
    ] {
        let page = env.path(&format!("{name}.html"));
        run_ok(&env, args, &["--format", "html", "-o", s(&page)]);
        let html = std::fs::read_to_string(&page).unwrap();
        assert_eq!(
            html.matches("<svg class=\"chart\"").count(),
            charts,
            "{name}"
        );
        assert!(
            !html.contains("<script"),
            "{name}: the page carries no script"
        );
        // A test copy with a probe that asks the browser what it drew: for each chart, the
        // number of marks whose box has a size.
        let probe = env.path(&format!("{name}-probe.html"));
        let script = r#"<script>
for (const svg of document.querySelectorAll('svg.chart')) {
  let n = 0;
  for (const m of svg.querySelectorAll('.mark')) { const b = m.getBBox(); if (b.width > 0 || b.height > 0) n++; }
  svg.setAttribute('data-drawn', String(n));
  const r = svg.getBoundingClientRect();
  svg.setAttribute('data-size', Math.round(r.width) + 'x' + Math.round(r.height));
}
</script></body>"#;
        let probed = html
            .replace(
                "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">",
                "",
            )
            .replace("</body>", script);
        std::fs::write(&probe, probed).unwrap();
        let profile = env.path(&format!("chrome-{name}"));
        let dom = browser(&bin, &profile, &["--dump-dom".to_string()], &probe);
        let dom_text = String::from_utf8_lossy(&dom.stdout);
        let drawn: Vec<usize> = dom_text
            .match_indices("data-drawn=\"")
            .map(|(i, m)| {
                let rest = &dom_text[i + m.len()..];
                rest[..rest.find('"').unwrap()].parse().unwrap()
            })
            .collect();
        assert_eq!(
            drawn.len(),
            charts,
            "{name}: {}",
            String::from_utf8_lossy(&dom.stderr)
        );
        assert!(
            drawn.iter().all(|&n| n > 0),
            "{name}: a chart drew nothing: {drawn:?}"
        );
        assert!(
            !dom_text.contains("data-size=\"0x"),
            "{name}: a chart has no width"
        );
        // The real page, as shipped: screenshot and console.
        let png = env.path(&format!("{name}.png"));
        let shot = browser(
            &bin,
            &profile,
            &[
                format!("--screenshot={}", png.display()),
                "--window-size=1200,2400".to_string(),
            ],
            &page,
        );
        let stderr = String::from_utf8_lossy(&shot.stderr);
        let console_errors: Vec<&str> = stderr
            .lines()
            .filter(|l| l.contains("CONSOLE") && (l.contains("ERROR") || l.contains("Uncaught")))
            .chain(stderr.lines().filter(|l| l.contains("Refused to")))
            .collect();
        assert!(console_errors.is_empty(), "{name}: {console_errors:?}");
        let bytes =
            std::fs::read(&png).unwrap_or_else(|e| panic!("{name}: no screenshot: {e}\n{stderr}"));
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        // a blank 1200x2400 page compresses to a few KB; charts and tables make it far larger
        assert!(
            bytes.len() > 40_000,
            "{name}: screenshot only {} bytes",
            bytes.len()
        );
    }
}
