//! Deterministic synthetic loan tapes for benchmarks and the smoke test (examples/gen_tape.rs).
//!
//! ```text
//! cargo run --release --features synth --example gen_tape -- --loans 1000000 --seed 7 --as-of 2026-06-30 OUT/
//! ```
//!
//! Writes the four files of the import contract into OUT/ (created if missing): `loans.csv`,
//! `schedule.csv`, `repayments.csv`, `followups.csv`; UTF-8, LF, comma, header names from
//! `crate::records::Kind` (checked at start-up). The same arguments always give byte-identical
//! files: a built-in splitmix64 generator, one independent stream per loan and per borrower, no
//! clock, no hash-map iteration order.
//!
//! It streams loan by loan (memory stays small at any `--loans`) and prints rows, bytes and
//! seconds per file on stderr at the end.
//!
//! What the tape holds:
//!
//! * **Loans** `L000000001`…, in loan order, originated over the 5 years before `--as-of` (later
//!   loan ids are later loans, ± 20 days). About 80 % of borrowers have one loan, the others 2-3
//!   (spread over the following loans); ~7 % corporate. Methods ~55 % annuity, ~20 %
//!   equal_principal, ~15 % interest_only, ~10 % bullet (3-12 months, with `maturity_date`, so
//!   interest is actual/360 by days); terms 6-60 months; ~5 % of individual and ~25 % of corporate
//!   non-bullet loans are quarterly. Principals 5,000-2,000,000 (tiered by product, skewed to
//!   small), rates 3.2-24 %. `status` (正常 / 逾期 / 结清) is what the simulation gives on as-of.
//!   Every loans row is checked with `crate::records::parse_loan`, and the schedule comes from
//!   `crate::schedule::generate` on exactly the terms daihou will read back.
//! * **Schedule**: every installment of every loan, except ~1 % of loans that get no schedule
//!   rows, so that the import generates theirs (the same installments, same library).
//! * **Repayments** `T0000000001`…, in loan order and by date within a loan: only installments
//!   due on or before as-of are paid. Per loan: ~85 % pay on time (many on the due date, some
//!   1-5 days early), ~8 % pay some installments 1-60 days late, ~3 % pay some installments
//!   partially (the rest later or with the next one), ~3 % stop paying (1-700 days past due on
//!   as-of), ~1 % prepay every remaining installment in one payment and close. A payment is always
//!   whole installment amounts or a partial amount, so oldest-first, interest-then-principal
//!   allocation reproduces the story. ~0.3 % of payments are reversed 1-3 days later
//!   (`reverses_txn_id`) and paid again 0-2 days after the reversal. Nothing is dated after as-of.
//! * **Followups** for late, partial and stopped loans (about one per late installment, several
//!   per stopped loan, escalating phone → visit → letter → legal), with promise_to_pay rows
//!   carrying promise_date / promise_amount (kept, broken or still pending); a few notes contain
//!   an ASCII comma and are quoted.
//!
//! All names, phone numbers and ID numbers are invented (ID / USCC check characters are computed).

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::collection::{Channel, Outcome};
use crate::money;
use crate::records::{self, Kind, ParseOptions, Row};
use crate::rng::Rng;
use crate::schedule::{generate, Frequency, Method, Terms};
use chrono::{Datelike, Months, NaiveDate};

pub const USAGE: &str = "usage: gen_tape [--loans N] [--seed S] [--as-of YYYY-MM-DD] OUT_DIR
  --loans N       number of loans (default 1000)
  --seed S        seed of the generator (default 7); same arguments, same bytes
  --as-of DATE    no repayment or followup is dated after it (default 2026-06-30)
writes OUT_DIR/{loans,schedule,repayments,followups}.csv";

// ---------------------------------------------------------------------------------------------
// Random numbers: splitmix64 (`crate::rng`), one stream per loan / borrower so a loan does not
// depend on others.

fn stream(seed: u64, salt: u64, n: u64) -> Rng {
    let mut r = Rng::new(
        (seed ^ salt.wrapping_mul(0xD1B5_4A32_D192_ED03)) ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15),
    );
    r.next_u64();
    r
}

const SALT_LOAN: u64 = 1;
const SALT_BORROWER: u64 = 2;
const SALT_ASSIGN: u64 = 3;

// ---------------------------------------------------------------------------------------------
// Small fixed lists.

type Branch = (&'static str, &'static [&'static str]);

/// (region, administrative code used in ID numbers, branches with their officers)
const REGIONS: &[(&str, &str, &[Branch])] = &[
    (
        "浙江省杭州市",
        "330106",
        &[
            ("杭州西湖支行", &["陈立新", "李慧", "王涛"]),
            ("杭州滨江支行", &["刘敏", "张斌", "孙悦"]),
            ("杭州萧山支行", &["郑凯", "沈玲"]),
        ],
    ),
    (
        "浙江省宁波市",
        "330212",
        &[
            ("宁波鄞州支行", &["赵婷", "钱坤", "周洁"]),
            ("宁波海曙支行", &["俞峰", "应丽"]),
        ],
    ),
    (
        "江苏省苏州市",
        "320506",
        &[
            ("苏州工业园区支行", &["王建国", "顾倩", "陆明"]),
            ("苏州姑苏支行", &["吴磊", "朱琳"]),
        ],
    ),
    (
        "江苏省南京市",
        "320106",
        &[
            ("南京鼓楼支行", &["周海峰", "许静", "杨光"]),
            ("南京江宁支行", &["蒋涛", "韩雪"]),
        ],
    ),
    (
        "上海市浦东新区",
        "310115",
        &[
            ("上海陆家嘴支行", &["黄志伟", "姚佳", "施杰"]),
            ("上海张江支行", &["金晨", "倪娜"]),
        ],
    ),
    (
        "广东省深圳市",
        "440305",
        &[
            ("深圳南山支行", &["林志强", "邓婉", "黎明"]),
            ("深圳福田支行", &["陈嘉", "钟颖"]),
        ],
    ),
    (
        "四川省成都市",
        "510107",
        &[
            ("成都武侯支行", &["何勇", "罗琴", "唐欣"]),
            ("成都高新支行", &["曾宇", "彭丹"]),
        ],
    ),
    (
        "湖北省武汉市",
        "420106",
        &[
            ("武汉武昌支行", &["胡斌", "万莉", "熊涛"]),
            ("武汉江汉支行", &["夏雨", "程刚"]),
        ],
    ),
];
/// Relative size of each region's book.
const REGION_WEIGHTS: &[f64] = &[0.2, 0.1, 0.14, 0.12, 0.16, 0.12, 0.08, 0.08];

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "袁", "潘", "于", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁",
    "任", "沈", "姚", "卢", "姜", "崔", "钟", "谭", "陆", "汪", "范", "金", "石", "廖", "贾", "夏",
    "韦", "方", "白", "邹", "孟", "熊", "秦", "邱", "江", "尹", "薛", "段", "雷", "侯", "龙", "史",
    "欧阳", "司马", "上官",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀", "霞", "平", "刚", "桂", "英", "华", "玉", "萍", "红", "建", "文", "辉", "鹏", "宇",
    "浩", "凯", "欣", "婷", "雪", "琳", "晨", "阳", "佳", "子", "梓", "涵", "思", "雨", "俊", "博",
    "志", "海", "波", "宁", "飞", "鑫", "瑞", "嘉", "怡", "晓", "东", "亮", "倩", "颖", "斌", "峰",
];
const FIRM_WORDS: &[&str] = &[
    "青禾", "晨曦", "远帆", "澄澜", "华信", "恒泰", "瑞丰", "金穗", "宏达", "鼎盛", "嘉和", "新程",
    "云杉", "博远", "盛世", "永安", "汇通", "锦程", "天佑", "明德",
];
const FIRM_TRADES: &[&str] = &[
    "贸易",
    "餐饮管理",
    "精密机械",
    "电子科技",
    "建材",
    "物流",
    "纺织",
    "食品",
    "信息技术",
    "印务",
    "环保科技",
    "服饰",
];
const PHONE_PREFIXES: &[&str] = &[
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153",
    "155", "156", "157", "158", "159", "166", "173", "176", "177", "180", "181", "182", "183",
    "185", "186", "187", "188", "189", "191", "198", "199",
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Product {
    Consumer,
    Business,
    Auto,
    Renovation,
    Sme,
}

impl Product {
    fn name(self) -> &'static str {
        match self {
            Product::Consumer => "个人消费贷款",
            Product::Business => "个人经营贷款",
            Product::Auto => "汽车贷款",
            Product::Renovation => "家装贷款",
            Product::Sme => "小微企业流动资金贷款",
        }
    }

    /// (low, high, weight) principal tiers in yuan, and the rounding step.
    fn principal_tiers(self) -> (&'static [(i64, i64, f64)], i64) {
        match self {
            Product::Consumer => (
                &[
                    (5_000, 20_000, 0.35),
                    (20_000, 50_000, 0.30),
                    (50_000, 100_000, 0.20),
                    (100_000, 300_000, 0.15),
                ],
                500,
            ),
            Product::Business => (
                &[
                    (50_000, 200_000, 0.40),
                    (200_000, 500_000, 0.35),
                    (500_000, 1_000_000, 0.17),
                    (1_000_000, 2_000_000, 0.08),
                ],
                10_000,
            ),
            Product::Auto => (
                &[
                    (30_000, 100_000, 0.40),
                    (100_000, 200_000, 0.35),
                    (200_000, 500_000, 0.25),
                ],
                1_000,
            ),
            Product::Renovation => (&[(30_000, 100_000, 0.6), (100_000, 300_000, 0.4)], 1_000),
            Product::Sme => (
                &[
                    (200_000, 500_000, 0.35),
                    (500_000, 1_000_000, 0.35),
                    (1_000_000, 2_000_000, 0.30),
                ],
                10_000,
            ),
        }
    }

    /// (low, high, weight) annual-rate tiers in hundredths of a percent.
    fn rate_tiers(self) -> &'static [(i64, i64, f64)] {
        match self {
            Product::Consumer => &[(420, 800, 0.40), (800, 1500, 0.35), (1500, 2400, 0.25)],
            Product::Business => &[(365, 600, 0.60), (600, 1200, 0.40)],
            Product::Auto => &[(320, 600, 0.60), (600, 1000, 0.40)],
            Product::Renovation => &[(380, 900, 1.0)],
            Product::Sme => &[(320, 450, 0.50), (450, 800, 0.50)],
        }
    }

    fn collateral(self, rng: &mut Rng) -> &'static str {
        match self {
            Product::Consumer => rng.pick(&["信用", "信用", "信用", "保证"]),
            Product::Business => rng.pick(&["房产抵押", "房产抵押", "保证", "信用"]),
            Product::Auto => "车辆抵押",
            Product::Renovation => rng.pick(&["信用", "保证"]),
            Product::Sme => rng.pick(&["保证", "房产抵押", "应收账款质押", "存单质押"]),
        }
    }
}

const CH_DEBIT: &str = "代扣";
const CHANNELS: &[&str] = &[CH_DEBIT, "手机银行", "网银", "柜面"];
const CHANNEL_WEIGHTS: &[f64] = &[0.75, 0.12, 0.08, 0.05];

const NOTES_PROMISE: &[&str] = &[
    "客户承诺按期补足欠款",
    "客户称工资延迟发放，承诺发薪后还款",
    "客户称资金周转困难, 承诺下周还款",
    "财务称货款未回笼，承诺月底前归还",
    "客户承诺先还部分欠款",
];
const NOTES_CONTACTED: &[&str] = &[
    "已提醒客户还款，客户表示知悉",
    "客户称忘记还款，将尽快处理",
    "联系到客户家属，已转告还款事宜",
    "客户称扣款账户余额不足, 将转入资金",
];
const NOTES_NO_ANSWER: &[&str] = &[
    "电话无人接听",
    "电话关机",
    "多次拨打无人接听",
    "号码暂时无法接通",
];
const NOTES_REFUSED: &[&str] = &["客户态度消极，拒绝还款", "客户对息费有异议，拒绝还款"];
const NOTES_SMS: &[&str] = &["已发送逾期提醒短信", "已发送催收短信"];
const NOTES_VISIT: &[&str] = &["上门走访，客户经营困难", "上门走访，未见到客户本人"];
const NOTES_LETTER: &[&str] = &["已寄送催收函", "已寄送律师函"];
const NOTES_LEGAL: &[&str] = &["已移交法务部门，准备起诉", "已向法院提起诉讼"];

// ---------------------------------------------------------------------------------------------
// Column sets (checked against the contract at start-up).

const LOAN_HEADER: &[&str] = &[
    "loan_id",
    "borrower_id",
    "borrower_name",
    "borrower_type",
    "region",
    "branch",
    "officer",
    "product",
    "currency",
    "principal",
    "annual_rate",
    "origination_date",
    "term_months",
    "repayment_method",
    "repayment_frequency",
    "maturity_date",
    "status",
    "collateral",
    "phone",
    "id_number",
];
const SCHEDULE_HEADER: &[&str] = &[
    "loan_id",
    "installment_no",
    "due_date",
    "principal_due",
    "interest_due",
];
const REPAYMENT_HEADER: &[&str] = &[
    "txn_id",
    "loan_id",
    "paid_on",
    "amount",
    "channel",
    "reverses_txn_id",
];
const FOLLOWUP_HEADER: &[&str] = &[
    "loan_id",
    "contact_date",
    "channel",
    "officer",
    "outcome",
    "promise_date",
    "promise_amount",
    "note",
];

fn check_headers() -> Result<(), String> {
    for (kind, header) in [
        (Kind::Loans, LOAN_HEADER),
        (Kind::Schedule, SCHEDULE_HEADER),
        (Kind::Repayments, REPAYMENT_HEADER),
        (Kind::Followups, FOLLOWUP_HEADER),
    ] {
        for col in kind.required() {
            if !header.contains(col) {
                return Err(format!("{}: header lacks required {col}", kind.as_str()));
            }
        }
        for col in header {
            if !kind.required().contains(col) && !kind.optional().contains(col) {
                return Err(format!("{}: {col} is not a contract column", kind.as_str()));
            }
        }
    }
    Ok(())
}

const I_STATUS: usize = 16;

/// The loans row as daihou's parser sees it.
struct LoanRow<'a>(&'a [String]);

impl Row for LoanRow<'_> {
    fn get(&self, column: &str) -> Cow<'_, str> {
        match LOAN_HEADER.iter().position(|h| *h == column) {
            Some(i) => Cow::Borrowed(self.0[i].as_str()),
            None => Cow::Borrowed(""),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Plain, fast formatting into a line buffer.

fn push_u64(buf: &mut Vec<u8>, mut n: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.extend_from_slice(&tmp[i..]);
}

fn push_padded(buf: &mut Vec<u8>, n: u64, width: usize) {
    let mut tmp = [b'0'; 20];
    let mut i = tmp.len();
    let mut v = n;
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let start = (tmp.len() - width).min(i);
    buf.extend_from_slice(&tmp[start..]);
}

/// Fen as a plain decimal with two places (amounts here are never negative).
fn push_fen(buf: &mut Vec<u8>, fen: i64) {
    debug_assert!(fen >= 0);
    let f = fen.unsigned_abs();
    push_u64(buf, f / 100);
    buf.push(b'.');
    push_padded(buf, f % 100, 2);
}

fn push_date(buf: &mut Vec<u8>, day: i32) {
    let d = from_day(day);
    push_padded(buf, d.year() as u64, 4);
    buf.push(b'-');
    push_padded(buf, u64::from(d.month()), 2);
    buf.push(b'-');
    push_padded(buf, u64::from(d.day()), 2);
}

/// A CSV field, quoted only when it has to be.
fn push_field(buf: &mut Vec<u8>, s: &str) {
    if s.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
        buf.push(b'"');
        for b in s.bytes() {
            if b == b'"' {
                buf.push(b'"');
            }
            buf.push(b);
        }
        buf.push(b'"');
    } else {
        buf.extend_from_slice(s.as_bytes());
    }
}

fn fen_str(fen: i64) -> String {
    let mut b = Vec::with_capacity(24);
    push_fen(&mut b, fen);
    String::from_utf8(b).expect("ascii")
}

/// Rate in hundredths of a percent as daihou would print it: `4.35`, `7.2`, `18`.
fn rate_str(bp: i64) -> String {
    let (int, frac) = (bp / 100, bp % 100);
    match frac {
        0 => int.to_string(),
        f if f % 10 == 0 => format!("{int}.{}", f / 10),
        f => format!("{int}.{f:02}"),
    }
}

fn day_of(d: NaiveDate) -> i32 {
    d.num_days_from_ce()
}

fn from_day(day: i32) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt(day).expect("date in range")
}

fn iso(day: i32) -> String {
    let mut b = Vec::with_capacity(10);
    push_date(&mut b, day);
    String::from_utf8(b).expect("ascii")
}

// ---------------------------------------------------------------------------------------------
// Output files.

struct Out {
    name: &'static str,
    w: BufWriter<File>,
    rows: u64,
    bytes: u64,
}

impl Out {
    fn create(dir: &Path, name: &'static str, header: &[&str]) -> std::io::Result<Out> {
        let f = File::create(dir.join(name))?;
        let mut out = Out {
            name,
            w: BufWriter::with_capacity(1 << 20, f),
            rows: 0,
            bytes: 0,
        };
        let line = format!("{}\n", header.join(","));
        out.w.write_all(line.as_bytes())?;
        out.bytes += line.len() as u64;
        Ok(out)
    }

    /// Writes one finished line (with its `\n`) and clears the buffer.
    fn row(&mut self, line: &mut Vec<u8>) -> std::io::Result<()> {
        self.w.write_all(line)?;
        self.rows += 1;
        self.bytes += line.len() as u64;
        line.clear();
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Borrowers: every attribute derives from (seed, borrower number), so a borrower's loans agree.

struct Borrower {
    id: String,
    name: String,
    corporate: bool,
    region: usize,
    phone: String,
    id_number: String,
}

fn id_check(first17: &[u8]) -> u8 {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let s: u32 = first17
        .iter()
        .zip(W)
        .map(|(c, w)| u32::from(c - b'0') * w)
        .sum();
    b"10X98765432"[(s % 11) as usize]
}

const USCC_CHARS: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

fn uscc_check(first17: &[u8]) -> u8 {
    let mut s = 0u32;
    let mut w = 1u32;
    for c in first17 {
        let v = USCC_CHARS.iter().position(|x| x == c).expect("uscc char") as u32;
        s += v * w;
        w = w * 3 % 31;
    }
    USCC_CHARS[((31 - s % 31) % 31) as usize]
}

fn borrower(seed: u64, no: u64) -> Borrower {
    let mut r = stream(seed, SALT_BORROWER, no);
    let corporate = r.chance(0.07);
    let region = r.weighted(REGION_WEIGHTS);
    let code = REGIONS[region].1;
    let (name, id_number) = if corporate {
        let city = match REGIONS[region].0 {
            "上海市浦东新区" => "上海",
            r => &r[9..15], // "浙江省杭州市" -> "杭州"
        };
        let name = format!(
            "{city}{}{}有限公司",
            r.pick(FIRM_WORDS),
            r.pick(FIRM_TRADES)
        );
        let mut id = Vec::with_capacity(18);
        id.extend_from_slice(b"91");
        id.extend_from_slice(code.as_bytes());
        for _ in 0..9 {
            id.push(USCC_CHARS[r.below(USCC_CHARS.len() as u64) as usize]);
        }
        id.push(uscc_check(&id));
        (name, String::from_utf8(id).expect("ascii"))
    } else {
        let mut name = String::from(r.pick(SURNAMES));
        name.push_str(r.pick(GIVEN));
        if r.chance(0.6) {
            name.push_str(r.pick(GIVEN));
        }
        let birth = from_day(r.range(
            i64::from(day_of(NaiveDate::from_ymd_opt(1960, 1, 1).expect("date"))),
            i64::from(day_of(NaiveDate::from_ymd_opt(2003, 12, 31).expect("date"))),
        ) as i32);
        let mut id = Vec::with_capacity(18);
        id.extend_from_slice(code.as_bytes());
        push_padded(&mut id, birth.year() as u64, 4);
        push_padded(&mut id, u64::from(birth.month()), 2);
        push_padded(&mut id, u64::from(birth.day()), 2);
        push_padded(&mut id, r.below(1000), 3);
        let c = id_check(&id);
        id.push(c);
        (name, String::from_utf8(id).expect("ascii"))
    };
    let mut phone = Vec::with_capacity(11);
    phone.extend_from_slice(r.pick(PHONE_PREFIXES).as_bytes());
    push_padded(&mut phone, r.below(100_000_000), 8);
    let mut id = Vec::with_capacity(10);
    id.push(b'B');
    push_padded(&mut id, no + 1, 9);
    Borrower {
        id: String::from_utf8(id).expect("ascii"),
        name,
        corporate,
        region,
        phone: String::from_utf8(phone).expect("ascii"),
        id_number,
    }
}

/// Hands out borrowers to loans in loan order: a new borrower with 2-3 loans reserves later
/// loan slots. Only the reservations are kept in memory.
struct Assigner {
    rng: Rng,
    n: u64,
    next_borrower: u64,
    pending: std::collections::BTreeMap<u64, u64>,
}

impl Assigner {
    fn borrower_of(&mut self, loan: u64) -> u64 {
        if let Some(b) = self.pending.remove(&loan) {
            return b;
        }
        let b = self.next_borrower;
        self.next_borrower += 1;
        let loans = match self.rng.weighted(&[0.80, 0.15, 0.05]) {
            0 => 1,
            1 => 2,
            _ => 3,
        };
        for _ in 1..loans {
            let room = (self.n / 4).min(self.n - 1 - loan);
            if room == 0 {
                break;
            }
            let mut j = loan + 1 + self.rng.below(room);
            while self.pending.contains_key(&j) {
                j += 1;
            }
            if j < self.n {
                self.pending.insert(j, b);
            }
        }
        b
    }
}

// ---------------------------------------------------------------------------------------------
// Repayment behaviour.

#[derive(Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    OnTime,
    Late,
    Partial,
    Stop,
    Prepay,
}

const NONE: u32 = u32::MAX;

#[derive(Clone, Copy)]
struct Pay {
    day: i32,
    amount: i64,
    channel: &'static str,
    /// Index (in creation order) of the payment this row reverses, or NONE.
    reverses: u32,
    seq: u32,
}

#[derive(Clone, Copy)]
struct Followup {
    day: i32,
    channel: Channel,
    outcome: Outcome,
    promise: Option<(i32, i64)>,
    note: &'static str,
}

/// One installment in fen and day numbers.
#[derive(Clone, Copy)]
struct Inst {
    due: i32,
    amount: i64,
}

struct Sim<'a> {
    rng: &'a mut Rng,
    inst: &'a [Inst],
    orig: i32,
    as_of: i32,
    primary: &'static str,
    pays: &'a mut Vec<Pay>,
    fus: &'a mut Vec<Followup>,
}

impl Sim<'_> {
    fn pay(&mut self, day: i32, amount: i64, channel: &'static str) {
        let seq = self.pays.len() as u32;
        self.pays.push(Pay {
            day,
            amount,
            channel,
            reverses: NONE,
            seq,
        });
    }

    fn channel(&mut self) -> &'static str {
        if self.rng.chance(0.9) {
            self.primary
        } else {
            self.rng.pick(CHANNELS)
        }
    }

    /// Pays installment `k` (plus `extra`) on time: on the due date, or 1-5 days early.
    fn on_time(&mut self, k: usize, extra: i64) {
        let due = self.inst[k].due;
        let prev = if k == 0 {
            self.orig
        } else {
            self.inst[k - 1].due
        };
        let ch = self.channel();
        let early_room = (due - prev - 1).min(5);
        let day = if ch == CH_DEBIT || early_room < 1 || self.rng.chance(0.65) {
            due
        } else {
            due - self.rng.range(1, i64::from(early_room)) as i32
        };
        self.pay(day, self.inst[k].amount + extra, ch);
    }

    fn followup(
        &mut self,
        day: i32,
        channel: Channel,
        outcome: Outcome,
        promise: Option<(i32, i64)>,
    ) {
        let note = match (channel, outcome) {
            (_, Outcome::PromiseToPay) => self.rng.pick(NOTES_PROMISE),
            (Channel::Sms, _) => self.rng.pick(NOTES_SMS),
            (Channel::Visit, Outcome::Refused) => self.rng.pick(NOTES_REFUSED),
            (Channel::Visit, _) => self.rng.pick(NOTES_VISIT),
            (Channel::Letter, _) => self.rng.pick(NOTES_LETTER),
            (Channel::Legal, _) => self.rng.pick(NOTES_LEGAL),
            (_, Outcome::NoAnswer) => self.rng.pick(NOTES_NO_ANSWER),
            (_, Outcome::Refused) => self.rng.pick(NOTES_REFUSED),
            _ => self.rng.pick(NOTES_CONTACTED),
        };
        self.fus.push(Followup {
            day,
            channel,
            outcome,
            promise,
            note,
        });
    }

    fn run(&mut self, behaviour: Behaviour) {
        let n = self.inst.len();
        let m = self.inst.iter().take_while(|i| i.due <= self.as_of).count();
        match behaviour {
            Behaviour::OnTime => (0..m).for_each(|k| self.on_time(k, 0)),
            Behaviour::Late => self.late(m),
            Behaviour::Partial => self.partial(m, n),
            Behaviour::Stop => self.stop(m),
            Behaviour::Prepay => self.prepay(m, n),
        }
    }

    fn late(&mut self, m: usize) {
        if m == 0 {
            return;
        }
        let mut late: Vec<bool> = (0..m).map(|_| self.rng.chance(0.25)).collect();
        if !late.contains(&true) {
            late[self.rng.below(m as u64) as usize] = true;
        }
        for (k, is_late) in late.into_iter().enumerate() {
            if !is_late {
                self.on_time(k, 0);
                continue;
            }
            let u = self.rng.unit();
            let days = 1 + (59.0 * u * u * u) as i32;
            let due = self.inst[k].due;
            let paid = due + days;
            let ch = self.channel();
            self.pay(paid, self.inst[k].amount, ch);
            if days >= 3 && self.rng.chance(0.6) {
                let contact = due + self.rng.range(1, i64::from(days - 1).min(10)) as i32;
                let amount = self.inst[k].amount;
                match self.rng.weighted(&[0.55, 0.2, 0.15, 0.1]) {
                    0 => {
                        let promised = if self.rng.chance(0.7) {
                            paid
                        } else {
                            (paid - self.rng.range(1, 5) as i32).max(contact)
                        };
                        self.followup(
                            contact,
                            Channel::Phone,
                            Outcome::PromiseToPay,
                            Some((promised, amount)),
                        );
                    }
                    1 => self.followup(contact, Channel::Phone, Outcome::Contacted, None),
                    2 => self.followup(contact, Channel::Phone, Outcome::NoAnswer, None),
                    _ => self.followup(contact, Channel::Sms, Outcome::Other, None),
                }
            }
        }
    }

    fn partial(&mut self, m: usize, n: usize) {
        if m == 0 {
            return;
        }
        let mut partial = vec![false; m];
        partial[self.rng.below(m as u64) as usize] = true;
        if m > 3 && self.rng.chance(0.4) {
            partial[self.rng.below(m as u64) as usize] = true;
        }
        let mut carry = 0;
        for k in 0..m {
            if !partial[k] {
                self.on_time(k, carry);
                carry = 0;
                continue;
            }
            let due = self.inst[k].due;
            let amount = self.inst[k].amount + carry;
            carry = 0;
            let f = 0.2 + 0.7 * self.rng.unit();
            let step = if amount >= 100_000 { 10_000 } else { 100 };
            let mut part = ((amount as f64 * f) as i64) / step * step;
            if part <= 0 || part >= amount {
                part = amount / 2;
            }
            if part <= 0 {
                part = amount;
            }
            let ch = self.channel();
            self.pay(due, part, ch);
            let rest = amount - part;
            if rest == 0 {
                continue;
            }
            let next_is_plain = k + 1 < n && !partial.get(k + 1).copied().unwrap_or(false);
            let rest_day = if next_is_plain && self.rng.chance(0.5) {
                carry = rest; // paid together with the next installment
                self.inst[k + 1].due
            } else {
                let day = due + self.rng.range(3, 25) as i32;
                let ch = self.channel();
                self.pay(day, rest, ch);
                day
            };
            if self.rng.chance(0.8) {
                let contact = due + self.rng.range(1, 3) as i32;
                if self.rng.chance(0.7) {
                    let promised = rest_day.max(contact);
                    self.followup(
                        contact,
                        Channel::Phone,
                        Outcome::PromiseToPay,
                        Some((promised, rest)),
                    );
                } else {
                    self.followup(contact, Channel::Phone, Outcome::Contacted, None);
                }
            }
        }
        // A carry into an installment after as-of is paid with it, i.e. not yet.
    }

    fn stop(&mut self, m: usize) {
        if m == 0 {
            return;
        }
        let u = self.rng.unit();
        let target = 1 + (699.0 * u * u) as i32;
        // The first installment unpaid: the oldest one due within `target` days before as-of.
        let s = self.inst[..m]
            .iter()
            .position(|i| i.due >= self.as_of - target)
            .unwrap_or(m - 1);
        let s = if self.as_of - self.inst[s].due > 700 || self.inst[s].due >= self.as_of {
            // Matured long ago, or only due today: nothing to stop; pay like everyone else.
            (0..m).for_each(|k| self.on_time(k, 0));
            return;
        } else {
            s
        };
        (0..s).for_each(|k| self.on_time(k, 0));
        let stopped = self.inst[s].due;
        let mut t = stopped + self.rng.range(1, 3) as i32;
        let mut count = 0;
        while t <= self.as_of && count < 8 {
            let dpd = t - stopped;
            let owed: i64 = self.inst[s..m]
                .iter()
                .take_while(|i| i.due <= t)
                .map(|i| i.amount)
                .sum();
            let (channel, outcome) = if dpd < 30 {
                if self.rng.chance(0.25) {
                    (Channel::Sms, Outcome::Other)
                } else {
                    (Channel::Phone, self.phone_outcome())
                }
            } else if dpd < 90 {
                if self.rng.chance(0.25) {
                    (
                        Channel::Visit,
                        self.rng.pick(&[
                            Outcome::Contacted,
                            Outcome::Refused,
                            Outcome::PromiseToPay,
                        ]),
                    )
                } else {
                    (Channel::Phone, self.phone_outcome())
                }
            } else if dpd < 180 {
                match self.rng.below(3) {
                    0 => (Channel::Letter, Outcome::Other),
                    1 => (
                        Channel::Visit,
                        self.rng.pick(&[Outcome::Contacted, Outcome::Refused]),
                    ),
                    _ => (Channel::Phone, self.phone_outcome()),
                }
            } else if self.rng.chance(0.5) {
                (Channel::Legal, Outcome::Other)
            } else {
                (Channel::Letter, Outcome::Other)
            };
            let promise = (outcome == Outcome::PromiseToPay)
                .then(|| (t + self.rng.range(3, 15) as i32, owed.max(1)));
            self.followup(t, channel, outcome, promise);
            count += 1;
            t += self.rng.range(12, 45) as i32;
        }
    }

    fn phone_outcome(&mut self) -> Outcome {
        [
            Outcome::NoAnswer,
            Outcome::PromiseToPay,
            Outcome::Refused,
            Outcome::Contacted,
        ][self.rng.weighted(&[0.35, 0.3, 0.15, 0.2])]
    }

    fn prepay(&mut self, m: usize, n: usize) {
        let candidates = m.min(n.saturating_sub(1));
        if candidates == 0 {
            (0..m).for_each(|k| self.on_time(k, 0));
            return;
        }
        let k = self.rng.below(candidates as u64) as usize;
        let lo = self.inst[k].due + 1;
        let hi = (self.inst[k + 1].due - 1).min(self.as_of);
        if hi < lo {
            (0..m).for_each(|k| self.on_time(k, 0));
            return;
        }
        (0..=k).for_each(|j| self.on_time(j, 0));
        let day = self.rng.range(i64::from(lo), i64::from(hi)) as i32;
        let rest: i64 = self.inst[k + 1..].iter().map(|i| i.amount).sum();
        let ch = self.rng.pick(&["柜面", "网银"]);
        self.pay(day, rest, ch);
    }

    /// ~0.3 % of payments are reversed 1-3 days later and paid again 0-2 days after that.
    fn reversals(&mut self) {
        let originals = self.pays.len();
        for j in 0..originals {
            let p = self.pays[j];
            if p.day >= self.as_of || !self.rng.chance(0.003) {
                continue;
            }
            let rev = (p.day + self.rng.range(1, 3) as i32).min(self.as_of);
            let again = (rev + self.rng.range(0, 2) as i32).min(self.as_of);
            let seq = self.pays.len() as u32;
            self.pays.push(Pay {
                day: rev,
                amount: p.amount,
                channel: p.channel,
                reverses: p.seq,
                seq,
            });
            let ch = self.rng.pick(&["网银", "手机银行", "柜面"]);
            self.pay(again, p.amount, ch);
        }
    }
}

// ---------------------------------------------------------------------------------------------

/// What to generate.
pub struct Args {
    pub loans: u64,
    pub seed: u64,
    pub as_of: NaiveDate,
    pub out: PathBuf,
}

/// Parses `--loans N --seed S --as-of DATE OUT_DIR` (without the program name).
pub fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut loans = 1000u64;
    let mut seed = 7u64;
    let mut as_of = NaiveDate::from_ymd_opt(2026, 6, 30).expect("date");
    let mut out = None;
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            "--loans" => {
                loans = value("--loans")?
                    .parse()
                    .map_err(|_| "--loans: not a whole number".to_string())?;
                if loans == 0 || loans > 999_999_999 {
                    return Err("--loans must be between 1 and 999999999".into());
                }
            }
            "--seed" => {
                seed = value("--seed")?
                    .parse()
                    .map_err(|_| "--seed: not a whole number".to_string())?
            }
            "--as-of" => {
                let v = value("--as-of")?;
                as_of = NaiveDate::parse_from_str(&v, "%Y-%m-%d")
                    .map_err(|_| format!("--as-of: {v:?} is not a YYYY-MM-DD date"))?;
            }
            f if f.starts_with('-') && f != "-" => return Err(format!("unknown option {f}")),
            _ => {
                if out.is_some() {
                    return Err("only one output folder".into());
                }
                out = Some(PathBuf::from(a));
            }
        }
    }
    Ok(Args {
        loans,
        seed,
        as_of,
        out: out.ok_or("missing OUT_DIR")?,
    })
}

/// Writes the tape into `args.out`.
pub fn run(args: &Args) -> std::io::Result<()> {
    check_headers().map_err(|e| std::io::Error::other(format!("the contract changed: {e}")))?;
    let t0 = Instant::now();
    std::fs::create_dir_all(&args.out)?;
    let mut loans_out = Out::create(&args.out, "loans.csv", LOAN_HEADER)?;
    let mut sched_out = Out::create(&args.out, "schedule.csv", SCHEDULE_HEADER)?;
    let mut pay_out = Out::create(&args.out, "repayments.csv", REPAYMENT_HEADER)?;
    let mut fu_out = Out::create(&args.out, "followups.csv", FOLLOWUP_HEADER)?;

    let n = args.loans;
    let seed = args.seed;
    let as_of = day_of(args.as_of);
    let start = day_of(
        args.as_of
            .checked_sub_months(Months::new(60))
            .expect("as-of is a sane date"),
    );
    let span = i64::from(as_of - start);
    let mut assigner = Assigner {
        rng: stream(seed, SALT_ASSIGN, 0),
        n,
        next_borrower: 0,
        pending: Default::default(),
    };
    let opts = ParseOptions::default();

    let mut line: Vec<u8> = Vec::with_capacity(512);
    let mut fields: Vec<String> = vec![String::new(); LOAN_HEADER.len()];
    let mut inst: Vec<Inst> = Vec::new();
    let mut pays: Vec<Pay> = Vec::new();
    let mut fus: Vec<Followup> = Vec::new();
    let mut txn_of: Vec<u64> = Vec::new();
    let mut next_txn: u64 = 1;
    let mut no_schedule = 0u64;
    let mut behaviour_counts = [0u64; 5];
    let progress_every = (n / 10).max(1);

    for i in 0..n {
        let mut r = stream(seed, SALT_LOAN, i);
        let b = borrower(seed, assigner.borrower_of(i));
        let loan_id = {
            let mut v = Vec::with_capacity(10);
            v.push(b'L');
            push_padded(&mut v, i + 1, 9);
            String::from_utf8(v).expect("ascii")
        };

        // Contract terms.
        let product = if b.corporate {
            Product::Sme
        } else {
            [
                Product::Consumer,
                Product::Business,
                Product::Auto,
                Product::Renovation,
            ][r.weighted(&[0.5, 0.25, 0.2, 0.05])]
        };
        let method = [
            Method::Annuity,
            Method::EqualPrincipal,
            Method::InterestOnly,
            Method::Bullet,
        ][r.weighted(&[0.55, 0.20, 0.15, 0.10])];
        let frequency =
            if method != Method::Bullet && r.chance(if b.corporate { 0.25 } else { 0.05 }) {
                Frequency::Quarterly
            } else {
                Frequency::Monthly
            };
        let mut term: i64 = match method {
            Method::Bullet => r.range(3, 12),
            Method::InterestOnly => r.pick(&[6, 12, 12, 12, 24, 24, 36]),
            _ if r.chance(0.15) => r.range(6, 60),
            _ => r.pick(&[6, 12, 12, 12, 18, 24, 24, 24, 36, 36, 36, 48, 60, 60]),
        };
        if frequency == Frequency::Quarterly {
            term = (term + 2) / 3 * 3;
        }
        let (tiers, step) = product.principal_tiers();
        let (lo, hi, _) = tiers[r.weighted(&tiers.iter().map(|t| t.2).collect::<Vec<_>>())];
        let principal_fen = if product == Product::Auto && r.chance(0.3) {
            r.range(lo * 100, hi * 100) // an odd amount, to the fen
        } else {
            r.range(lo / step, hi / step) * step * 100
        };
        let rates = product.rate_tiers();
        let (rlo, rhi, _) = rates[r.weighted(&rates.iter().map(|t| t.2).collect::<Vec<_>>())];
        let rate_bp = r.range(rlo / 5, rhi / 5) * 5;
        let base = i64::from(start) + (i as i64 * span) / n as i64;
        let orig = (base + r.range(-20, 20)).clamp(i64::from(start), i64::from(as_of) - 1) as i32;
        let maturity = (method == Method::Bullet).then(|| {
            let o = from_day(orig);
            day_of(
                crate::dates::add_months_clamped(o, term as u32, o.day()).expect("date in range"),
            )
        });
        let (branch, officers) = r.pick(REGIONS[b.region].2);
        let officer = r.pick(officers);
        let primary = CHANNELS[r.weighted(CHANNEL_WEIGHTS)];

        let values: [String; 20] = [
            loan_id.clone(),
            b.id.clone(),
            b.name.clone(),
            (if b.corporate {
                "corporate"
            } else {
                "individual"
            })
            .to_string(),
            REGIONS[b.region].0.to_string(),
            branch.to_string(),
            officer.to_string(),
            product.name().to_string(),
            "CNY".to_string(),
            fen_str(principal_fen),
            rate_str(rate_bp),
            iso(orig),
            term.to_string(),
            method.as_str().to_string(),
            frequency.as_str().to_string(),
            maturity.map(iso).unwrap_or_default(),
            String::new(), // status, filled in after the simulation
            product.collateral(&mut r).to_string(),
            b.phone.clone(),
            b.id_number.clone(),
        ];
        for (f, v) in fields.iter_mut().zip(values) {
            *f = v;
        }
        // Exactly the terms daihou will read back from this row.
        let record = records::parse_loan(&LoanRow(&fields), &opts).unwrap_or_else(|e| {
            panic!(
                "generated loans row {loan_id} is invalid: {} {}",
                e.column, e.expected
            )
        });
        let terms: Terms = record.terms();
        let schedule = generate(&terms)
            .unwrap_or_else(|e| panic!("no schedule for generated loan {loan_id}: {e}"));
        inst.clear();
        inst.extend(schedule.iter().map(|s| Inst {
            due: day_of(s.due_date),
            amount:
                money::to_fen(s.principal_due + s.interest_due).expect("installments fit in fen"),
        }));

        // Repayments and followups.
        let behaviour = match r.weighted(&[0.85, 0.08, 0.03, 0.03, 0.01]) {
            0 => Behaviour::OnTime,
            1 => Behaviour::Late,
            2 => Behaviour::Partial,
            3 => Behaviour::Stop,
            _ => Behaviour::Prepay,
        };
        behaviour_counts[behaviour as usize] += 1;
        pays.clear();
        fus.clear();
        {
            let mut sim = Sim {
                rng: &mut r,
                inst: &inst,
                orig,
                as_of,
                primary,
                pays: &mut pays,
                fus: &mut fus,
            };
            sim.run(behaviour);
            sim.pays.retain(|p| p.day <= as_of);
            for (k, p) in sim.pays.iter_mut().enumerate() {
                p.seq = k as u32; // no reversal yet, so nothing refers to the old numbers
            }
            sim.reversals();
        }
        pays.sort_unstable_by_key(|p| (p.day, p.seq));
        fus.retain(|f| f.day <= as_of && f.day > orig);
        fus.sort_by_key(|f| f.day);
        fus.dedup_by_key(|f| f.day);

        let total: i64 = inst.iter().map(|i| i.amount).sum();
        // Overdue as daihou counts it: an installment due on as-of itself is not late yet.
        let due_before_as_of: i64 = inst
            .iter()
            .take_while(|i| i.due < as_of)
            .map(|i| i.amount)
            .sum();
        let paid: i64 = pays
            .iter()
            .map(|p| {
                if p.reverses == NONE {
                    p.amount
                } else {
                    -p.amount
                }
            })
            .sum();
        fields[I_STATUS] = if paid >= total {
            "结清"
        } else if paid < due_before_as_of {
            "逾期"
        } else {
            "正常"
        }
        .to_string();

        // loans.csv
        for (k, f) in fields.iter().enumerate() {
            if k > 0 {
                line.push(b',');
            }
            push_field(&mut line, f);
        }
        line.push(b'\n');
        loans_out.row(&mut line)?;

        // schedule.csv (~1 % of loans have none: daihou generates theirs)
        if r.chance(0.01) {
            no_schedule += 1;
        } else {
            for s in &schedule {
                line.extend_from_slice(loan_id.as_bytes());
                line.push(b',');
                push_u64(&mut line, u64::from(s.installment_no));
                line.push(b',');
                push_date(&mut line, day_of(s.due_date));
                line.push(b',');
                push_fen(
                    &mut line,
                    money::to_fen(s.principal_due).expect("fits in fen"),
                );
                line.push(b',');
                push_fen(
                    &mut line,
                    money::to_fen(s.interest_due).expect("fits in fen"),
                );
                line.push(b'\n');
                sched_out.row(&mut line)?;
            }
        }

        // repayments.csv
        txn_of.clear();
        txn_of.resize(pays.len(), 0);
        for p in &pays {
            let txn = next_txn;
            next_txn += 1;
            txn_of[p.seq as usize] = txn;
            line.push(b'T');
            push_padded(&mut line, txn, 10);
            line.push(b',');
            line.extend_from_slice(loan_id.as_bytes());
            line.push(b',');
            push_date(&mut line, p.day);
            line.push(b',');
            push_fen(&mut line, p.amount);
            line.push(b',');
            line.extend_from_slice(p.channel.as_bytes());
            line.push(b',');
            if p.reverses != NONE {
                let orig_txn = txn_of[p.reverses as usize];
                assert!(orig_txn != 0, "a reversal precedes its payment");
                line.push(b'T');
                push_padded(&mut line, orig_txn, 10);
            }
            line.push(b'\n');
            pay_out.row(&mut line)?;
        }

        // followups.csv
        for f in &fus {
            line.extend_from_slice(loan_id.as_bytes());
            line.push(b',');
            push_date(&mut line, f.day);
            line.push(b',');
            line.extend_from_slice(f.channel.as_str().as_bytes());
            line.push(b',');
            line.extend_from_slice(officer.as_bytes());
            line.push(b',');
            line.extend_from_slice(f.outcome.as_str().as_bytes());
            line.push(b',');
            if let Some((day, amount)) = f.promise {
                push_date(&mut line, day.max(f.day));
                line.push(b',');
                push_fen(&mut line, amount);
            } else {
                line.push(b',');
            }
            line.push(b',');
            push_field(&mut line, f.note);
            line.push(b'\n');
            fu_out.row(&mut line)?;
        }

        if (i + 1) % progress_every == 0 && n >= 100_000 {
            eprintln!(
                "gen_tape: {}/{n} loans, {:.1} s",
                i + 1,
                t0.elapsed().as_secs_f64()
            );
        }
    }

    let mut outs = [loans_out, sched_out, pay_out, fu_out];
    for o in &mut outs {
        o.w.flush()?;
    }
    let secs = t0.elapsed().as_secs_f64();
    eprintln!(
        "gen_tape: {n} loans, {} borrowers, seed {seed}, as-of {}, into {}",
        assigner.next_borrower,
        args.as_of,
        args.out.display()
    );
    eprintln!(
        "gen_tape: behaviour on-time {} / late {} / partial {} / stopped {} / prepaid {}; {no_schedule} loans without schedule rows (daihou generates them)",
        behaviour_counts[0], behaviour_counts[1], behaviour_counts[2], behaviour_counts[3], behaviour_counts[4]
    );
    let (mut rows, mut bytes) = (0, 0);
    for o in &outs {
        eprintln!(
            "gen_tape: {:<15} {:>11} rows {:>14} bytes",
            o.name, o.rows, o.bytes
        );
        rows += o.rows;
        bytes += o.bytes;
    }
    eprintln!(
        "gen_tape: {:<15} {rows:>11} rows {bytes:>14} bytes, {secs:.1} s",
        "total"
    );
    Ok(())
}
