//! The error catalogue (STYLE §4, after hledger's `test/errors/`): one bad input per case, the
//! exit code and the message it must produce. Every case also checks that daihou did not panic,
//! printed its errors once with the `daihou: error:` prefix, kept PII out of stderr, and left a
//! ledger preloaded with examples/tape exactly as it was.
//!
//! To add a case: append to `cases()`. The expected text is a substring of stderr, copied from
//! the message the code produces, so a reworded message shows up here as a failing case.

use std::path::PathBuf;

use crate::common::*;

/// The input file of a case.
enum Input {
    /// Written into the test folder under this name.
    File(&'static str, Vec<u8>),
    /// A file or folder under tests/fixtures/.
    Fixture(&'static str),
    /// A name that exists nowhere.
    Missing(&'static str),
    /// An empty folder created under this name.
    Dir(&'static str),
}

struct Case {
    name: &'static str,
    /// The `import` kind: loans | schedule | repayments | followups | tape.
    kind: &'static str,
    input: Input,
    /// Extra arguments after `import KIND FILE` (options, or a second file).
    args: Vec<String>,
    /// Extra files to write first (a name ending in `/` makes a folder).
    extra: Vec<(&'static str, Vec<u8>)>,
    /// A ledger path relative to the test folder instead of the preloaded ledger.
    db: Option<&'static str>,
    /// Run `args` alone (another subcommand) instead of `import KIND FILE args…`.
    raw: bool,
    code: i32,
    expect: &'static str,
    /// Text that must not appear on stderr (PII values, row values after a header error).
    never: Vec<&'static str>,
}

fn case(
    name: &'static str,
    kind: &'static str,
    input: Input,
    code: i32,
    expect: &'static str,
) -> Case {
    Case {
        name,
        kind,
        input,
        args: Vec::new(),
        extra: Vec::new(),
        db: None,
        raw: false,
        code,
        expect,
        never: Vec::new(),
    }
}

impl Case {
    fn args(mut self, args: &[&str]) -> Case {
        self.args = args.iter().map(|a| a.to_string()).collect();
        self
    }
    fn extra(mut self, name: &'static str, contents: impl Into<Vec<u8>>) -> Case {
        self.extra.push((name, contents.into()));
        self
    }
    fn db(mut self, db: &'static str) -> Case {
        self.db = Some(db);
        self
    }
    fn raw(mut self) -> Case {
        self.raw = true;
        self
    }
    fn never(mut self, values: &[&'static str]) -> Case {
        self.never.extend_from_slice(values);
        self
    }
}

const REP_H: &str = "txn_id,loan_id,paid_on,amount\n";
const SCH_H: &str = "loan_id,installment_no,due_date,principal_due,interest_due\n";
const FU_H: &str =
    "loan_id,contact_date,channel,officer,outcome,promise_date,promise_amount,note\n";
const FU_NEW_H: &str = "loan_id,contact_date,channel,officer,outcome,promise_date,promise_amount,note,contact_time,contact_party,connected,consent_window\n";
const LOAN_H: &str = "loan_id,borrower_id,borrower_name,borrower_type,region,branch,officer,product,currency,principal,annual_rate,origination_date,term_months,repayment_method,repayment_frequency,collateral,phone,id_number";
const LOAN_ROW: &str = "LN2099000001,BR009901,测试人,individual,浙江省杭州市,杭州西湖支行,陈立新,个人消费贷款,CNY,80000.00,9.0,2023-01-16,24,annuity,monthly,信用,13900001111,330106198304234540";

/// The PII of `LOAN_ROW` and of the first loan of examples/tape: never on stderr.
const PII: [&str; 6] = [
    "测试人",
    "13900001111",
    "330106198304234540",
    "何志刚",
    "13641016150",
    "330106198304234540",
];

/// A repayments file: the header and `rows` (each ending in a newline).
fn rep(rows: &str) -> Vec<u8> {
    format!("{REP_H}{rows}").into_bytes()
}

/// A loans file with one row: `LOAN_ROW` with some columns replaced.
fn loan(over: &[(&str, &str)]) -> Vec<u8> {
    let header: Vec<&str> = LOAN_H.split(',').collect();
    let mut row: Vec<String> = LOAN_ROW.split(',').map(String::from).collect();
    for (col, v) in over {
        let i = header.iter().position(|h| h == col).unwrap();
        row[i] = v.to_string();
    }
    format!("{LOAN_H}\n{}\n", row.join(",")).into_bytes()
}

fn followup(rows: &str) -> Vec<u8> {
    format!("{FU_H}{rows}").into_bytes()
}

fn cases() -> Vec<Case> {
    use Input::*;
    let gbk = {
        let text = std::fs::read_to_string(example_tape().join("loans.csv")).unwrap();
        let head: String = text.lines().take(3).map(|l| format!("{l}\n")).collect();
        encoding_rs::GBK.encode(&head).0.into_owned()
    };
    let utf16 = {
        let mut b = vec![0xFF, 0xFE];
        for u in "txn_id,loan_id,paid_on,amount\n".encode_utf16() {
            b.extend(u.to_le_bytes());
        }
        b
    };
    let utf16_be = {
        let mut b = vec![0xFE, 0xFF];
        for u in "txn_id,loan_id,paid_on,amount\n".encode_utf16() {
            b.extend(u.to_be_bytes());
        }
        b
    };
    let big = {
        let mut s = String::from(
            "txn_id,loan_id,paid_on,amount,channel\nT9000000001,LN2023000001,2026-06-01,5.00,",
        );
        s.push_str(&"a".repeat(10 << 20));
        s.push('\n');
        s.into_bytes()
    };
    let headerless = {
        let text = std::fs::read_to_string(example_tape().join("loans.csv")).unwrap();
        text.lines()
            .skip(1)
            .take(2)
            .map(|l| format!("{l}\n"))
            .collect::<String>()
    };

    vec![
        // --- header ---------------------------------------------------------------------------
        case("wrong header", "repayments", File("repayments.csv", b"txn_id,loan,paid_on,amt\nT1,LN2023000001,2026-06-01,5.00\n".to_vec()), 65,
            "repayments.csv: header does not match the repayments contract: missing column(s) loan_id, amount; unknown column(s) loan, amt (a foreign tape needs --map); expected columns: txn_id, loan_id, paid_on, amount, channel, reverses_txn_id"),
        case("duplicated header", "repayments", File("repayments.csv", b"txn_id,loan_id,paid_on,amount,Amount\nT1,LN2023000001,2026-06-01,5.00,5.00\n".to_vec()), 65,
            "repayments.csv: header does not match the repayments contract: duplicated column(s) Amount;"),
        case("missing columns", "loans", File("loans.csv", {
                let t = String::from_utf8(loan(&[])).unwrap();
                t.replace(",principal,", ",").replace(",phone,", ",").replace(",80000.00,", ",").replace(",13900001111,", ",").into_bytes()
            }), 65, "loans.csv: header does not match the loans contract: missing column(s) principal, phone;")
            .never(&PII),
        case("no header row: a loans file starting with data", "loans", File("loans.csv", headerless.into_bytes()), 65,
            "loans.csv: the first line has none of the loans column names: is the header row missing, or is this a foreign tape (which needs --map)?")
            .never(&PII),
        // --- encoding and framing ---------------------------------------------------------------
        case("GBK read as UTF-8", "loans", File("loans.csv", gbk), 65,
            "loans.csv line 2, field 3: not valid UTF-8; if the tape comes from a GBK system, pass --encoding gbk"),
        case("UTF-8 read as GBK", "loans", Fixture("../../examples/tape/loans.csv"), 65,
            "loans.csv line 2: not valid GBK/GB18030; if the file is UTF-8, drop --encoding (or the mapping's encoding)")
            .args(&["--encoding", "gbk"]).never(&PII),
        case("UTF-16 LE with BOM", "repayments", File("repayments.csv", utf16), 65,
            "repayments.csv: the file is UTF-16; daihou reads UTF-8 or GBK/GB18030 (convert it with `iconv -f UTF-16 -t UTF-8`)"),
        case("UTF-16 BE with BOM", "repayments", File("repayments.csv", utf16_be), 65,
            "repayments.csv: the file is UTF-16;"),
        case("BOM only", "repayments", File("repayments.csv", vec![0xEF, 0xBB, 0xBF]), 65,
            "repayments.csv: the file is empty; expected a header row"),
        case("empty file", "loans", File("loans.csv", Vec::new()), 65,
            "loans.csv: the file is empty; expected a header row"),
        case("CRLF line endings (positive control, dry run)", "repayments",
            File("repayments.csv", rep("T9000000001,LN2023000001,2026-06-01,5.00\nT9000000002,LN2023000001,2026-06-02,6.00\n").iter().flat_map(|&b| if b == b'\n' { vec![b'\r', b'\n'] } else { vec![b] }).collect()),
            0, "repayments.csv: 2 rows, 2 new, 0 changed, 0 unchanged")
            .args(&["--dry-run"]),
        case("header only (positive control, dry run)", "repayments", File("repayments.csv", rep("")), 0,
            "repayments.csv: 0 rows, 0 new, 0 changed, 0 unchanged")
            .args(&["--dry-run"]),
        case("quoted delimiter: a decimal comma", "repayments", File("repayments.csv", rep("T9000000001,LN2023000001,2026-06-01,\"5,00\"\n")), 65,
            "repayments.csv line 2, column amount: \"5,00\" is not a decimal amount"),
        case("quote left open swallows the next lines", "loans", File("loans.csv", {
                let mut t = String::from_utf8(loan(&[("officer", "\"陈立新")])).unwrap();
                t.push_str(LOAN_ROW);
                t.push('\n');
                t.into_bytes()
            }), 65, "loans.csv line 2: has 7 fields, expected 18 as in the header; the row runs over 2 lines: is a quote left open?")
            .never(&PII),
        case("quote left open in the last column", "repayments", File("repayments.csv", rep("T9000000001,LN2023000001,2026-06-01,\"5.00\nT9000000002,LN2023000001,2026-06-01,5.00\n")), 65,
            "repayments.csv line 2, column amount: the value (running over 2 lines; is a quote left open?) is not a decimal amount"),
        case("ragged row: too many fields", "repayments", File("repayments.csv", rep("T9000000001,LN2023000001,2026-06-01,5.00,x\n")), 65,
            "repayments.csv line 2: has 5 fields, expected 4 as in the header"),
        case("ragged row: too few fields", "repayments", File("repayments.csv", rep("T9000000001,LN2023000001,2026-06-01,5.00\nT9000000002,LN2023000001,2026-06-01\n")), 65,
            "repayments.csv line 3: has 3 fields, expected 4 as in the header"),
        // --- keys and references ----------------------------------------------------------------
        case("empty key", "repayments", File("repayments.csv", rep(",LN2023000001,2026-06-01,5.00\n")), 65,
            "repayments.csv line 2, column txn_id: empty value; a key column needs a value"),
        case("duplicate keys", "repayments", File("repayments.csv", rep("T9000000001,LN2023000001,2026-06-01,5.00\nT9000000002,LN2023000001,2026-06-01,5.00\nT9000000001,LN2023000001,2026-06-03,7.00\n")), 65,
            "repayments.csv line 2: duplicate key (txn_id T9000000001) with different content on line 4 (different paid_on, amount)"),
        case("duplicate schedule keys", "schedule", File("schedule.csv", format!("{SCH_H}LN2023000001,1,2023-02-16,3000.00,600.00\nLN2023000001,1,2023-02-17,3000.00,600.00\n").into_bytes()), 65,
            "schedule.csv line 2: duplicate key (loan_id LN2023000001, installment_no 1) with different content on line 3 (different due_date)"),
        case("unknown loan", "repayments", File("repayments.csv", rep("T9000000001,LN2099999999,2026-06-01,5.00\n")), 65,
            "repayments.csv line 2, column loan_id: \"LN2099999999\" is not a loan in the ledger (import its loans row first)"),
        case("schedule of an unknown loan", "schedule", File("schedule.csv", format!("{SCH_H}LN2099999999,1,2023-02-16,3000.00,600.00\n").into_bytes()), 65,
            "schedule.csv line 2, column loan_id: \"LN2099999999\" is not a loan in the ledger"),
        case("installment number 0", "schedule", File("schedule.csv", format!("{SCH_H}LN2023000001,0,2023-02-16,3000.00,600.00\n").into_bytes()), 65,
            "schedule.csv line 2, column installment_no: \"0\" must be between 1 and 9999"),
        // --- dates ------------------------------------------------------------------------------
        case("2026-02-30", "repayments", File("repayments.csv", rep("T9000000001,LN2023000001,2026-02-30,5.00\n")), 65,
            "repayments.csv line 2, column paid_on: \"2026-02-30\" is not a real date (expected YYYY-MM-DD)"),
        case("a date with slashes", "repayments", File("repayments.csv", rep("T9000000001,LN2023000001,2026/06/01,5.00\n")), 65,
            "repayments.csv line 2, column paid_on: \"2026/06/01\" is not a date in YYYY-MM-DD form"),
        case("maturity before origination", "loans", File("loans.csv", loan(&[("origination_date", "2026-01-31")])).also_maturity(), 65,
            "loans.csv line 2, column maturity_date: \"2025-12-31\" must be after origination_date"),
        // --- amounts ----------------------------------------------------------------------------
        case("negative amount", "repayments", File("repayments.csv", rep("T9000000001,LN2023000001,2026-06-01,-5.00\n")), 65,
            "repayments.csv line 2, column amount: \"-5.00\" must be greater than zero"),
        case("1e400", "repayments", File("repayments.csv", rep("T9000000001,LN2023000001,2026-06-01,1e400\n")), 65,
            "repayments.csv line 2, column amount: \"1e400\" is not a decimal amount"),
        case("NaN", "repayments", File("repayments.csv", rep("T9000000001,LN2023000001,2026-06-01,NaN\n")), 65,
            "repayments.csv line 2, column amount: \"NaN\" is not a decimal amount"),
        case("40 digits, more than Decimal holds", "repayments", File("repayments.csv", rep(&format!("T9000000001,LN2023000001,2026-06-01,{}\n", "9".repeat(40)))), 65,
            "column amount: \"9999999999999999999999999999999999999999\" is too large (limit 999999999999999.99)"),
        case("thousands separator", "repayments", File("repayments.csv", rep("T9000000001,LN2023000001,2026-06-01,\"1,000.00\"\n")), 65,
            "repayments.csv line 2, column amount: \"1,000.00\" uses a thousands separator; expected a plain decimal such as 1234.56"),
        case("three decimals", "repayments", File("repayments.csv", rep("T9000000001,LN2023000001,2026-06-01,10.005\n")), 65,
            "repayments.csv line 2, column amount: \"10.005\" has more than 2 decimal places"),
        case("rate above 100 %", "loans", File("loans.csv", loan(&[("annual_rate", "150")])), 65,
            "loans.csv line 2, column annual_rate: \"150\" is not a rate between 0 and 100 (percent per year)"),
        // --- text fields ------------------------------------------------------------------------
        case("a 10 MB field", "repayments", File("repayments.csv", big), 65,
            "repayments.csv line 2, column channel: \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa…\" is longer than 200 characters"),
        case("NUL byte in a field", "repayments", File("repayments.csv", rep("T9000000001,LN20230\x0000001,2026-06-01,5.00\n")), 65,
            "repayments.csv line 2, column loan_id: \"LN20230\\000001\" contains a NUL byte"),
        case("NUL byte in a PII field is not echoed", "loans", File("loans.csv", loan(&[("borrower_name", "测试\0人")])), 65,
            "loans.csv line 2, column borrower_name: the value contains a NUL byte")
            .never(&PII).never(&["测试"]),
        case("a bad phone is not echoed", "loans", File("loans.csv", loan(&[("phone", "13900001111 ext 12345678901234567890123456789012345678901234567890")])), 65,
            "loans.csv line 2, column phone: the value is longer than 64 characters")
            .never(&PII).never(&["ext 1234"]),
        case("borrower_type invalid", "loans", File("loans.csv", loan(&[("borrower_type", "person")])), 65,
            "loans.csv line 2, column borrower_type: \"person\" is not one of individual, corporate")
            .never(&PII),
        case("repayment_method invalid", "loans", File("loans.csv", loan(&[("repayment_method", "balloon")])), 65,
            "loans.csv line 2, column repayment_method: \"balloon\" is not one of annuity, equal_principal, interest_only, bullet")
            .never(&PII),
        case("currency invalid", "loans", File("loans.csv", loan(&[("currency", "RMB1")])), 65,
            "loans.csv line 2, column currency: \"RMB1\" is not a three-letter ISO 4217 code such as CNY"),
        case("term 0 months", "loans", File("loans.csv", loan(&[("term_months", "0")])), 65,
            "loans.csv line 2, column term_months: \"0\" must be between 1 and 1200"),
        case("duplicate loan_id", "loans", File("loans.csv", {
                let mut t = loan(&[]);
                t.extend(format!("{}\n", LOAN_ROW.replace("BR009901", "BR009902")).into_bytes());
                t
            }), 65, "loans.csv line 2: duplicate key (loan_id LN2099000001) with different content on line 3 (different borrower_id)")
            .never(&PII),
        // --- followups and reversals ------------------------------------------------------------
        case("promise_to_pay without promise_date", "followups", File("followups.csv", followup("LN2023000001,2026-06-01,phone,陈立新,promise_to_pay,,500.00,承诺还款\n")), 65,
            "followups.csv line 2, column promise_date: empty value; a promise_to_pay needs the promised date"),
        case("promise before the contact", "followups", File("followups.csv", followup("LN2023000001,2026-06-01,phone,陈立新,promise_to_pay,2026-05-01,500.00,承诺还款\n")), 65,
            "followups.csv line 2, column promise_date: \"2026-05-01\" is before contact_date"),
        case("followup channel invalid", "followups", File("followups.csv", followup("LN2023000001,2026-06-01,fax,陈立新,contacted,,,\n")), 65,
            "followups.csv line 2, column channel: \"fax\" is not one of phone, sms, visit, letter, legal, wechat, app"),
        case("followup contact_time not HH:MM", "followups", File("followups.csv", format!("{FU_NEW_H}LN2023000001,2026-06-01,phone,陈立新,contacted,,,,24:00,,,\n").into_bytes()), 65,
            "followups.csv line 2, column contact_time: \"24:00\" is not a time HH:MM (00:00 to 23:59)"),
        case("followup contact_party unknown", "followups", File("followups.csv", format!("{FU_NEW_H}LN2023000001,2026-06-01,phone,陈立新,contacted,,,,,neighbour,,\n").into_bytes()), 65,
            "followups.csv line 2, column contact_party: \"neighbour\" is not one of debtor, guarantor, contact, third_party"),
        case("followup connected not a boolean", "followups", File("followups.csv", format!("{FU_NEW_H}LN2023000001,2026-06-01,phone,陈立新,contacted,,,,,,maybe,\n").into_bytes()), 65,
            "followups.csv line 2, column connected: \"maybe\" is not true or false"),
        case("an unanswered dial marked connected", "followups", File("followups.csv", format!("{FU_NEW_H}LN2023000001,2026-06-01,phone,陈立新,no_answer,,,,,,true,\n").into_bytes()), 65,
            "followups.csv line 2, column connected: \"true\" is true but the outcome is no_answer (an unanswered dial is not connected)"),
        case("one followup_id on two different rows", "followups", File("followups.csv", format!("followup_id,{FU_H}D1,LN2023000001,2026-06-01,phone,陈立新,contacted,,,\nD1,LN2023000001,2026-06-01,phone,陈立新,refused,,,\n").into_bytes()), 65,
            "followups.csv line 2: duplicate key (followup_id D1) with different content on line 3 (different outcome)"),
        case("reversal naming its own txn_id", "repayments", File("repayments.csv", b"txn_id,loan_id,paid_on,amount,reverses_txn_id\nT9000000001,LN2023000001,2026-06-01,5.00,T9000000001\n".to_vec()), 65,
            "repayments.csv line 2, column reverses_txn_id: \"T9000000001\" names the row's own txn_id; a reversal must name an earlier transaction"),
        // --- mappings ---------------------------------------------------------------------------
        case("mapping names a missing column", "repayments", Fixture("../../examples/tape/repayments.csv"), 65,
            "repayments.csv: header does not match the repayments contract: the mapping names column(s) the file does not have: amount = \"Betrag\"")
            .args(&["--map", "MAP/missing_column.toml"]),
        case("mapping with an unknown key", "repayments", Fixture("../../examples/tape/repayments.csv"), 78,
            "unknown field `colour`, expected one of `delimiter`")
            .args(&["--map", "MAP/unknown_key.toml"]),
        case("mapping with an unknown contract column", "repayments", Fixture("../../examples/tape/repayments.csv"), 78,
            "unknown_column.toml: [repayments] names \"betrag\", which is not a repayments column")
            .args(&["--map", "MAP/unknown_column.toml"]),
        case("mapping with a bad delimiter", "repayments", Fixture("../../examples/tape/repayments.csv"), 78,
            "bad_delimiter.toml: delimiter must be one ASCII character (or \"tab\")")
            .args(&["--map", "MAP/bad_delimiter.toml"]),
        case("mapping without a section", "repayments", Fixture("../../examples/tape/repayments.csv"), 78,
            "no_section.toml: has no [loans], [schedule], [repayments] or [followups] section")
            .args(&["--map", "MAP/no_section.toml"]),
        case("mapping without the section for the kind", "loans", Fixture("../../examples/tape/loans.csv"), 78,
            "the mapping has no [loans] section")
            .args(&["--map", "MAP/no_loans_section.toml"]),
        case("missing mapping file", "repayments", Fixture("../../examples/tape/repayments.csv"), 66,
            "mapping nomap.toml: no such file")
            .args(&["--map", "nomap.toml"]),
        // --- files and folders ------------------------------------------------------------------
        case("a directory where a file was expected", "repayments", Dir("repayments.csv"), 66,
            "repayments.csv: is a directory, expected a CSV file"),
        case("missing CSV file", "repayments", Missing("nope.csv"), 66,
            "nope.csv: no such file"),
        case("missing tape folder", "tape", Missing("nofolder"), 66,
            "nofolder: no such folder"),
        case("tape folder without tape files", "tape", Dir("emptytape"), 66,
            "emptytape: no tape files found; expected loans.csv, schedule.csv, repayments.csv, followups.csv or restructures.csv"),
        case("a file given to import tape without --map", "tape", Fixture("../../examples/tape/loans.csv"), 2,
            "`import tape` takes a folder of tape files (or one file with --map)"),
        case("standard input named twice", "repayments", Missing("-"), 2,
            "`-` (standard input) can be given only once")
            .args(&["-"]),
        // --- schedule-visits: policy and calendar files, ranges ----------------------------------
        case("visit policy with an unknown key", "", Missing(""), 78,
            "--policy: policy.toml line 2, column 1, key capacity.visitors: unknown field")
            .extra("policy.toml", b"[capacity]\nvisitors = 3\n".to_vec())
            .args(&["schedule-visits", "--as-of", "2026-06-30", "--policy", "policy.toml"]).raw(),
        case("visit policy with a zero capacity", "", Missing(""), 78,
            "policy.toml line 2, column 1, key capacity.visits_per_day: must be at least 1")
            .extra("policy.toml", b"[capacity]\nvisits_per_day = 0\n".to_vec())
            .args(&["schedule-visits", "--as-of", "2026-06-30", "--policy", "policy.toml"]).raw(),
        case("visit policy with an impossible time", "", Missing(""), 78,
            "policy.toml line 2, column 1, key conduct.no_contact_from: expected a time")
            .extra("policy.toml", b"[conduct]\nno_contact_from = \"25:00\"\n".to_vec())
            .args(&["schedule-visits", "--as-of", "2026-06-30", "--policy", "policy.toml"]).raw(),
        case("missing visit policy", "", Missing(""), 66,
            "nopolicy.toml: no such file")
            .args(&["schedule-visits", "--as-of", "2026-06-30", "--policy", "nopolicy.toml"]).raw(),
        case("calendar with an impossible date", "", Missing(""), 78,
            "--calendar: cal.toml line 2, column 8, key holiday.date: the value is not a real date")
            .extra("cal.toml", b"[[holiday]]\ndate = \"2026-02-30\"\n".to_vec())
            .args(&["schedule-visits", "--as-of", "2026-06-30", "--calendar", "cal.toml"]).raw(),
        case("calendar with an unknown key", "", Missing(""), 78,
            "cal.toml line 3, column 1, key holiday.day: unknown field")
            .extra("cal.toml", b"[[holiday]]\ndate = \"2026-02-01\"\nday = 3\n".to_vec())
            .args(&["schedule-visits", "--as-of", "2026-06-30", "--calendar", "cal.toml"]).raw(),
        case("missing calendar", "", Missing(""), 66,
            "nocal.toml: no such file")
            .args(&["schedule-visits", "--as-of", "2026-06-30", "--calendar", "nocal.toml"]).raw(),
        case("visit plan of zero days", "", Missing(""), 2,
            "0 is not in 1..=260")
            .args(&["schedule-visits", "--as-of", "2026-06-30", "--days", "0"]).raw(),
        case("visit plan ending before it starts", "", Missing(""), 2,
            "--to is before --from")
            .args(&["schedule-visits", "--as-of", "2026-06-30", "--from", "2026-07-10", "--to", "2026-07-01"]).raw(),
        case("visit plan starting before its as-of date", "", Missing(""), 2,
            "--from is before --as-of: a plan starts on or after its date")
            .args(&["schedule-visits", "--as-of", "2026-06-30", "--from", "2026-06-01"]).raw(),
        case("visit plan with an impossible --to", "", Missing(""), 2,
            "invalid value '2026-02-30' for '--to <DATE>'")
            .args(&["schedule-visits", "--as-of", "2026-02-01", "--to", "2026-02-30"]).raw(),
        case("visit plan over a holiday-only range", "", Missing(""), 2,
            "no working day from 2026-10-03 in the calendar")
            .args(&["schedule-visits", "--as-of", "2026-10-03", "--to", "2026-10-04"]).raw(),
        // --- the ledger -------------------------------------------------------------------------
        case("ledger path is a directory", "repayments", Fixture("../../examples/tape/repayments.csv"), 66,
            "ledger dbdir: is a directory, expected a SQLite file")
            .extra("dbdir/", Vec::new()).db("dbdir"),
        case("ledger cannot be created (its folder is a file)", "repayments", Fixture("../../examples/tape/repayments.csv"), 73,
            "cannot create ledger afile/ledger.db:")
            .extra("afile", b"x".to_vec()).db("afile/ledger.db"),
        case("ledger is not a SQLite file", "repayments", Fixture("../../examples/tape/repayments.csv"), 78,
            "notdb.db is not a SQLite file, so not a daihou ledger")
            .extra("notdb.db", b"hello, not a database\n".to_vec()).db("notdb.db"),
        case("missing ledger for a read-only command", "", Missing(""), 66,
            "ledger nope.db not found; create it with `daihou import` (or pass --db)")
            .args(&["overdue", "--as-of", "2026-06-30"]).db("nope.db").raw(),
        case("missing ledger in a missing folder", "", Missing(""), 66,
            "ledger nofolder/nope.db not found")
            .args(&["overdue", "--as-of", "2026-06-30"]).db("nofolder/nope.db").raw(),
        // --- the bank profile (daihou.toml) ----------------------------------------------------
        case("profile with an unknown key", "", Missing(""), 78,
            "p.toml line 2, column 1, key overdue.grace_dayz: unknown key `grace_dayz` in [overdue]; expected one of buckets, grace_days")
            .extra("p.toml", b"[overdue]\ngrace_dayz = 3\n".to_vec())
            .args(&["--profile", "p.toml", "overdue", "--as-of", "2026-06-30"]).raw(),
        case("profile with an unknown section", "", Missing(""), 78,
            "p.toml line 1, column 2, key overdu: unknown section [overdu]; expected [conventions] (every command) or [overdue]")
            .extra("p.toml", b"[overdu]\ngrace_days = 3\n".to_vec())
            .args(&["--profile", "p.toml", "overdue", "--as-of", "2026-06-30"]).raw(),
        case("profile value of the wrong type", "", Missing(""), 78,
            "p.toml line 3, column 15, key overdue.no_compound: expected true or false (as --no-compound takes), found string")
            .extra("p.toml", b"[overdue]\ngrace_days = 3\nno_compound = \"yes\"\n".to_vec())
            .args(&["--profile", "p.toml", "overdue", "--as-of", "2026-06-30"]).raw(),
        case("profile value its flag refuses", "", Missing(""), 78,
            "p.toml line 2, column 22, key conventions.penalty_multiplier: invalid value '11' for '--penalty-multiplier <X>': is not a number between 0 and 10")
            .extra("p.toml", b"[conventions]\npenalty_multiplier = 11\n".to_vec())
            .args(&["--profile", "p.toml", "overdue", "--as-of", "2026-06-30"]).raw(),
        case("profile naming a missing rule file", "", Missing(""), 78,
            "key overdue.ladder: no such file: ")
            .extra("p.toml", b"[overdue]\nladder = \"rules/ladder.toml\"\n".to_vec())
            .args(&["--profile", "p.toml", "overdue", "--as-of", "2026-06-30"]).raw(),
        case("a bad daihou.toml beside the ledger", "", Missing(""), 78,
            "daihou.toml line 2, column 14, key conventions.grace_days: expected a string or a number (as --grace-days takes), found boolean")
            .extra("daihou.toml", b"[conventions]\ngrace_days = true\n".to_vec())
            .args(&["overdue", "--as-of", "2026-06-30"]).raw(),
        case("missing profile file", "", Missing(""), 66,
            "the profile (from --profile): nope.toml: no such file")
            .args(&["--profile", "nope.toml", "overdue", "--as-of", "2026-06-30"]).raw(),
        case("profile --init over an existing profile", "", Missing(""), 73,
            "p.toml exists; `profile --init` never overwrites a profile")
            .extra("p.toml", b"[overdue]\ngrace_days = 3\n".to_vec())
            .args(&["--profile", "p.toml", "profile", "--init"]).raw(),
        case("restructure --rate not a rate", "", Missing(""), 2,
            "invalid value 'abc' for '--rate <PCT>': is not an annual rate in percent such as 4.35")
            .args(&["--as-of", "2026-06-30", "restructure", "LN2024000023", "--rate", "abc"]).raw(),
        case("restructure --method unknown", "", Missing(""), 2,
            "invalid value 'weekly' for '--method <METHOD>': is not one of annuity, equal_principal, interest_only, bullet")
            .args(&["--as-of", "2026-06-30", "restructure", "LN2024000023", "--method", "weekly"]).raw(),
        case("tolerance-pct above 100", "", Missing(""), 2,
            "invalid value '101' for '--tolerance-pct <PCT>': is not a percentage between 0 and 100")
            .args(&["overdue", "--as-of", "2026-06-30", "--tolerance-pct", "101"]).raw(),
    ]
}

/// Lets a case add a maturity_date column to a one-row loans file.
trait AlsoMaturity {
    fn also_maturity(self) -> Self;
}

impl AlsoMaturity for Input {
    fn also_maturity(self) -> Input {
        match self {
            Input::File(name, bytes) => {
                let t = String::from_utf8(bytes).unwrap();
                let mut lines = t.lines();
                let h = lines.next().unwrap();
                let r = lines.next().unwrap();
                Input::File(
                    name,
                    format!("{h},maturity_date\n{r},2025-12-31\n").into_bytes(),
                )
            }
            other => other,
        }
    }
}

#[test]
fn error_catalogue() {
    let template = Env::new();
    template.preload_example();
    let cases = cases();
    assert!(cases.len() >= 30, "{} cases", cases.len());
    let mut names = std::collections::HashSet::new();
    let mut failures = Vec::new();
    for c in &cases {
        assert!(names.insert(c.name), "two cases named {}", c.name);
        let env = Env::new();
        env.copy_ledger_from(&template);
        let before = env.snapshot();
        for (name, contents) in &c.extra {
            if let Some(dir) = name.strip_suffix('/') {
                std::fs::create_dir_all(env.path(dir)).unwrap();
            } else {
                env.write(name, contents);
            }
        }
        let input: String = match &c.input {
            Input::File(name, bytes) => {
                env.write(name, bytes);
                name.to_string()
            }
            Input::Fixture(p) => s(&fixture(p)).to_string(),
            Input::Missing(name) => name.to_string(),
            Input::Dir(name) => {
                std::fs::create_dir_all(env.path(name)).unwrap();
                name.to_string()
            }
        };
        let map_dir = fixture("errors");
        let mut args: Vec<String> = if c.raw {
            Vec::new()
        } else {
            vec!["import".into(), c.kind.into(), input]
        };
        args.extend(
            c.args
                .iter()
                .map(|a| a.replace("MAP/", &format!("{}/", s(&map_dir)))),
        );
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let db: PathBuf = c.db.map_or_else(|| env.db(), PathBuf::from);
        let (code, out, err) = output_of(&mut env.cmd_db(&db, &args));

        let mut problems = Vec::new();
        if code != c.code {
            problems.push(format!("exit {code}, expected {}", c.code));
        }
        if !err.contains(c.expect) {
            problems.push(format!("stderr lacks `{}`", c.expect));
        }
        if err.contains("panicked") || err.contains("RUST_BACKTRACE") {
            problems.push("panicked".into());
        }
        for v in &c.never {
            if err.contains(v) {
                problems.push(format!("stderr shows `{v}`"));
            }
        }
        if err.len() > 4096 {
            problems.push(format!("stderr is {} bytes long", err.len()));
        }
        if code != 0 {
            if !out.is_empty() {
                problems.push(format!("stdout not empty: {out}"));
            }
            // Our own errors are printed once, every line with the prefix; clap's usage errors
            // have their own format.
            let ours = err.starts_with("daihou: error: ");
            if code != 2 || ours {
                if let Some(l) = err.lines().find(|l| !l.starts_with("daihou: error: ")) {
                    problems.push(format!("a stderr line without the prefix: {l}"));
                }
            }
        }
        let after = env.snapshot();
        if after != before {
            problems.push("the ledger changed".into());
        }
        if let Some(db) = c.db {
            if code != 0
                && !c.extra.iter().any(|(n, _)| n.trim_end_matches('/') == db)
                && env.path(db).exists()
            {
                problems.push(format!("a failed run created the ledger {db}"));
            }
        }
        if !problems.is_empty() {
            failures.push(format!(
                "case `{}`: {}\n  stderr: {}",
                c.name,
                problems.join("; "),
                err.trim_end().replace('\n', "\n          ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} catalogue cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
