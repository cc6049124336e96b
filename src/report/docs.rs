//! The reports' figures laid out as a [`Document`]: named tables (their names and column names
//! are the CSV/JSON contract) and the HTML page's charts. Pure: figures in, document out; the
//! titles follow the language, the columns are translated by the renderers (`crate::i18n`).

use chrono::NaiveDate;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

use super::collections::OfficerKpis;
use super::conduct::{AuditRules, Breach};
use super::migration::{self, Edge};
use super::ratios::{self, Dimension, Headline, PortfolioAcc};
use super::vintage::Triangle;
use super::LoanState;
use crate::buckets::Buckets;
use crate::i18n::Lang;
use crate::output::{Cell, Chart, Document, Report};

/// A title in the language of the document.
fn t(lang: Lang, en: &str, zh: &str) -> String {
    match lang {
        Lang::En => en.to_string(),
        Lang::Zh => zh.to_string(),
    }
}

fn f64_of(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

fn int(n: u64) -> Cell {
    Cell::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

fn new_doc(lang: Lang, title: String, notes: Vec<String>) -> Document {
    Document {
        title,
        notes,
        lang,
        ..Document::default()
    }
}

/// The columns of the headline table (one row per date).
const HEADLINE: &[&str] = &[
    "as_of",
    "loans",
    "balance",
    "overdue_loans",
    "overdue_balance",
    "overdue_ratio",
    "par1_balance",
    "par1",
    "par30_balance",
    "par30",
    "par90_balance",
    "par90",
    "over90_loans",
    "over90_balance",
    "npl_loans",
    "npl_balance",
    "npl_ratio",
    "deviation_90",
    "provisions",
    "provision_coverage",
    "provision_rate",
];

fn headline_report(dates: &[NaiveDate], heads: &[Headline]) -> Report {
    let mut r = Report::new(HEADLINE);
    for (d, h) in dates.iter().zip(heads) {
        let mut row = vec![
            Cell::Date(*d),
            int(h.loans),
            Cell::Money(h.balance),
            int(h.overdue_loans),
            Cell::Money(h.overdue_balance),
            h.overdue_ratio.into(),
        ];
        for days in ratios::PAR_DAYS {
            let p = h.par(days);
            row.push(Cell::Money(p.map_or(Decimal::ZERO, |p| p.balance)));
            row.push(p.and_then(|p| p.ratio).into());
        }
        row.push(int(h.over90_loans));
        row.push(Cell::Money(h.over90_balance));
        match &h.graded {
            Some(g) => row.extend([
                int(g.npl_loans),
                Cell::Money(g.npl_balance),
                g.npl_ratio.into(),
                g.deviation.into(),
                Cell::Money(g.provisions),
                g.coverage.into(),
                g.provision_rate.into(),
            ]),
            None => row.extend(std::iter::repeat_n(Cell::Null, 7)),
        }
        r.push(row);
    }
    r
}

fn bucket_report(rows: &[ratios::BucketRow]) -> Report {
    let mut r = Report::new(&["bucket", "loans", "balance", "share"]);
    for b in rows.iter().cloned() {
        r.push(vec![
            Cell::Text(b.bucket),
            int(b.loans),
            Cell::Money(b.balance),
            b.share.into(),
        ]);
    }
    r
}

/// The `portfolio` report of one date from its figures (`book`, the loans in the book at
/// `as_of`). Without grades the grade-based tables are empty and the headline's grade columns
/// blank.
pub fn portfolio(as_of: NaiveDate, book: &PortfolioAcc, lang: Lang) -> Document {
    let (h, par) = (book.headline(), book.par());
    let mut notes = vec![format!(
        "{} loans in the book (originated on or before {as_of}, not closed); PAR_x counts DPD > x{}",
        h.loans,
        if par.include_restructured {
            " plus restructured loans"
        } else {
            ""
        }
    )];
    if h.graded.is_none() {
        notes.push(format!(
            "no grades for {as_of}: NPL, 偏离度, provisions and stages need a saved classify run (daihou classify --as-of {as_of} --save)"
        ));
    }
    let mut doc = new_doc(
        lang,
        t(
            lang,
            &format!("Portfolio as of {as_of}"),
            &format!("贷款质量报告 {as_of}"),
        ),
        notes,
    );
    doc.add(
        "headline",
        &t(lang, "Headline ratios", "主要指标"),
        headline_report(&[as_of], std::slice::from_ref(&h)),
    );
    let by_bucket = book.by_bucket();
    doc.add(
        "by_bucket",
        &t(lang, "Balance by bucket", "逾期档位分布"),
        bucket_report(&by_bucket),
    );
    // Grade-based tables (empty without grades).
    let mut gb = Report::new(&["classification", "bucket", "loans", "balance", "share"]);
    for r in book.by_grade_bucket() {
        gb.push(vec![
            Cell::Text(r.grade),
            Cell::Text(r.bucket),
            int(r.loans),
            Cell::Money(r.balance),
            r.share.into(),
        ]);
    }
    doc.add(
        "by_grade_bucket",
        &t(lang, "Grade × bucket", "五级分类 × 逾期档位"),
        gb,
    );
    let mut st = Report::new(&[
        "stage",
        "loans",
        "balance",
        "share",
        "provisions",
        "provision_rate",
    ]);
    let stages = book.by_stage();
    for r in &stages {
        st.push(vec![
            Cell::Int(i64::from(r.stage)),
            int(r.loans),
            Cell::Money(r.balance),
            r.share.into(),
            Cell::Money(r.provision),
            r.coverage.into(),
        ]);
    }
    doc.add("stages", &t(lang, "IFRS 9 stages", "IFRS 9 减值阶段"), st);
    let mut ov = Report::new(&["loan_id", "officer", "dpd", "balance", "classification"]);
    for l in book.over90_not_npl() {
        ov.push(vec![
            Cell::Text(l.loan_id.clone()),
            Cell::Text(l.officer.clone()),
            Cell::Int(i64::from(l.dpd)),
            Cell::Money(l.balance),
            Cell::Text(l.grade.as_ref().map_or(String::new(), |g| g.label.clone())),
        ]);
    }
    doc.add(
        "over90_not_npl",
        &t(
            lang,
            "Over 90 DPD not graded NPL",
            "逾期90天以上未纳入不良的贷款",
        ),
        ov,
    );
    let mut by_product = Vec::new();
    for dim in Dimension::ALL {
        let rows = book.by_dimension(dim);
        let mut r = Report::new(&[
            dim.name(),
            "loans",
            "balance",
            "share",
            "overdue_balance",
            "overdue_ratio",
            "par30_balance",
            "par30",
        ]);
        for g in &rows {
            r.push(vec![
                Cell::Text(g.key.clone()),
                int(g.loans),
                Cell::Money(g.balance),
                g.share.into(),
                Cell::Money(g.overdue_balance),
                g.overdue_ratio.into(),
                Cell::Money(g.par30_balance),
                g.par30.into(),
            ]);
        }
        if dim == Dimension::Product {
            by_product = rows;
        }
        let (en, zh) = match dim {
            Dimension::Product => ("By product", "按产品"),
            Dimension::Branch => ("By branch", "按机构"),
            Dimension::Region => ("By region", "按地区"),
            Dimension::Officer => ("By officer", "按客户经理"),
        };
        doc.add(&format!("by_{}", dim.name()), &t(lang, en, zh), r);
    }
    if h.graded.is_some() {
        let grades = book.by_grade();
        doc.charts.push(Chart::Bars {
            title: t(lang, "Balance by grade", "五级分类余额"),
            labels: grades.iter().map(|x| x.0.clone()).collect(),
            values: grades.iter().map(|x| f64_of(x.1)).collect(),
            percent: false,
        });
    }
    doc.charts.push(Chart::Bars {
        title: t(lang, "Balance by bucket", "逾期档位余额"),
        labels: by_bucket.iter().map(|b| b.bucket.clone()).collect(),
        values: by_bucket.iter().map(|b| f64_of(b.balance)).collect(),
        percent: false,
    });
    doc.charts.push(Chart::Bars {
        title: t(
            lang,
            "Bucket distribution (share of balance)",
            "逾期档位分布（余额占比）",
        ),
        labels: by_bucket.iter().map(|b| b.bucket.clone()).collect(),
        values: by_bucket
            .iter()
            .map(|b| b.share.map_or(0.0, f64_of))
            .collect(),
        percent: true,
    });
    let mut labels: Vec<String> = vec!["PAR1".into(), "PAR30".into(), "PAR90".into()];
    let mut values: Vec<f64> = ratios::PAR_DAYS
        .iter()
        .map(|d| h.par(*d).and_then(|p| p.ratio).map_or(0.0, f64_of))
        .collect();
    labels.push("逾期贷款率".into());
    values.push(h.overdue_ratio.map_or(0.0, f64_of));
    if let Some(g) = &h.graded {
        labels.push("不良贷款率".into());
        values.push(g.npl_ratio.map_or(0.0, f64_of));
    }
    doc.charts.push(Chart::Bars {
        title: t(lang, "PAR and overdue ratio", "风险贷款率与逾期率"),
        labels,
        values,
        percent: true,
    });
    doc.charts.push(Chart::Bars {
        title: t(lang, "PAR30 by product", "各产品 PAR30"),
        labels: by_product.iter().map(|g| g.key.clone()).collect(),
        values: by_product
            .iter()
            .map(|g| g.par30.map_or(0.0, f64_of))
            .collect(),
        percent: true,
    });
    doc
}

/// The `vintage` report: cohorts by origination month observed at month ends up to `as_of`.
pub fn vintage(as_of: NaiveDate, triangle: &Triangle, lang: Lang) -> Document {
    let thresholds = triangle.thresholds();
    let rows = triangle.rows();
    let mut cols = vec!["cohort", "mob", "loans", "original_amount"];
    let names: Vec<(String, String)> = thresholds
        .iter()
        .map(|t| (format!("{}_amount", t.name), format!("{}_share", t.name)))
        .collect();
    for (a, s) in &names {
        cols.push(a);
        cols.push(s);
    }
    let mut r = Report::new(&cols);
    for v in &rows {
        let mut row = vec![
            Cell::Text(v.cohort.clone()),
            Cell::Int(i64::from(v.mob)),
            int(v.loans),
            Cell::Money(v.original_amount),
        ];
        for (amt, share) in &v.ever {
            row.push(Cell::Money(*amt));
            row.push((*share).into());
        }
        r.push(row);
    }
    let mut doc = new_doc(
        lang,
        t(
            lang,
            &format!("Vintage as of {as_of}"),
            &format!("账龄分析 {as_of}"),
        ),
        vec![format!(
            "share of original amount ever at DPD ≥ 30 (30+), ≥ 31 (M2+), ≥ 90 (90+) by month on book; MOB 0 = the origination month, observed at month ends up to {as_of}"
        )],
    );
    let max_mob = rows.iter().map(|v| v.mob).max().map_or(0, |m| m + 1);
    let mut cohorts: Vec<String> = rows.iter().map(|v| v.cohort.clone()).collect();
    cohorts.dedup();
    // The chart shows the latest 12 cohorts (the table has them all).
    let cohorts = cohorts.split_off(cohorts.len().saturating_sub(12));
    for (ti, en, zh) in [
        (
            0usize,
            "Ever 30+ by month on book",
            "曾逾期30天以上（按账龄）",
        ),
        (1, "Ever M2+ by month on book", "曾达 M2+（按账龄）"),
    ] {
        doc.charts.push(Chart::Lines {
            title: t(lang, en, zh),
            x: (0..max_mob).map(|m| m.to_string()).collect(),
            series: cohorts
                .iter()
                .map(|c| {
                    let mut s = vec![None; max_mob as usize];
                    for v in rows.iter().filter(|v| &v.cohort == c) {
                        s[v.mob as usize] = v.ever[ti].1.map(f64_of);
                    }
                    (c.clone(), s)
                })
                .collect(),
            percent: true,
        });
    }
    doc.add("vintage", &t(lang, "Vintage triangle", "账龄三角表"), r);
    doc
}

fn edge_label(e: Edge, labels: &[&str]) -> String {
    match e {
        Edge::New => "new".into(),
        Edge::Closed => "closed".into(),
        Edge::State(i) => labels.get(i).map_or(String::new(), |s| s.to_string()),
    }
}

/// The `migration` report over `dates` (at least two), from the figures of a
/// [`migration::Series`] over the same dates.
pub fn migration(
    dates: &[NaiveDate],
    fig: &migration::Figures,
    buckets: &Buckets,
    lang: Lang,
) -> Document {
    let labels: Vec<&str> = buckets.labels().collect();
    let (first, last) = (0, dates.len() - 1);
    let cells = &fig.matrix;
    let mut m = Report::new(&[
        "from_date",
        "to_date",
        "from_bucket",
        "to_bucket",
        "loans",
        "balance_from",
        "balance_to",
        "share_loans",
        "share_balance",
    ]);
    for c in cells {
        m.push(vec![
            Cell::Date(dates[first]),
            Cell::Date(dates[last]),
            Cell::Text(edge_label(c.from, &labels)),
            Cell::Text(edge_label(c.to, &labels)),
            int(c.loans),
            Cell::Money(c.balance_from),
            Cell::Money(c.balance_to),
            c.share_loans.into(),
            c.share_balance.into(),
        ]);
    }
    let mut flow = Report::new(&[
        "from_date",
        "to_date",
        "stayed_loans",
        "worse_loans",
        "worse_balance",
        "cured_loans",
        "cured_balance",
        "closed_loans",
        "closed_balance",
        "new_loans",
        "new_balance",
    ]);
    for (k, f) in fig.flows.iter().enumerate() {
        flow.push(vec![
            Cell::Date(dates[k]),
            Cell::Date(dates[k + 1]),
            int(f.stayed_loans),
            int(f.worse_loans),
            Cell::Money(f.worse_balance),
            int(f.cured_loans),
            Cell::Money(f.cured_balance),
            int(f.closed_loans),
            Cell::Money(f.closed_balance),
            int(f.new_loans),
            Cell::Money(f.new_balance),
        ]);
    }
    let totals = &fig.totals;
    let mut rolls = Report::new(&[
        "from_date",
        "to_date",
        "from_bucket",
        "to_bucket",
        "balance_from",
        "balance_to",
        "roll_rate",
    ]);
    for r in migration::roll_rates(totals) {
        rolls.push(vec![
            Cell::Date(dates[r.step]),
            Cell::Date(dates[r.step + 1]),
            Cell::Text(labels[r.from_state].to_string()),
            Cell::Text(labels[r.from_state + 1].to_string()),
            Cell::Money(r.balance_from),
            Cell::Money(r.balance_to),
            r.rate.into(),
        ]);
    }
    // The grade matrix: empty unless every loan at both ends carries a grade (saved runs).
    let grade_labels: Vec<&str> = crate::classify::Grade::ALL.iter().map(|g| g.zh()).collect();
    let mut gm = Report::new(&[
        "from_date",
        "to_date",
        "from_grade",
        "to_grade",
        "loans",
        "balance_from",
        "balance_to",
        "share_loans",
        "share_balance",
    ]);
    let grade_cells = &fig.grade_matrix;
    {
        for c in grade_cells {
            gm.push(vec![
                Cell::Date(dates[first]),
                Cell::Date(dates[last]),
                Cell::Text(edge_label(c.from, &grade_labels)),
                Cell::Text(edge_label(c.to, &grade_labels)),
                int(c.loans),
                Cell::Money(c.balance_from),
                Cell::Money(c.balance_to),
                c.share_loans.into(),
                c.share_balance.into(),
            ]);
        }
    }
    let heads = &fig.heads;
    let mut doc = new_doc(
        lang,
        t(
            lang,
            &format!("Migration {} to {}", dates[first], dates[last]),
            &format!("迁徙分析 {} 至 {}", dates[first], dates[last]),
        ),
        vec![format!(
            "positions computed from the ledger for {} date(s); buckets {buckets}",
            dates.len()
        )],
    );
    doc.charts.push(Chart::Heatmap {
        title: t(
            lang,
            &format!(
                "Transition matrix {} → {} (share of balance)",
                dates[first], dates[last]
            ),
            &format!("迁徙矩阵 {} → {}（余额占比）", dates[first], dates[last]),
        ),
        rows: labels.iter().map(|s| s.to_string()).collect(),
        cols: labels
            .iter()
            .map(|s| s.to_string())
            .chain(std::iter::once("closed".to_string()))
            .collect(),
        values: (0..labels.len())
            .map(|i| {
                cells
                    .iter()
                    .filter(|c| c.from == Edge::State(i))
                    .map(|c| c.share_balance.map(f64_of))
                    .collect()
            })
            .collect(),
    });
    if !grade_cells.is_empty() {
        doc.charts.push(Chart::Heatmap {
            title: t(
                lang,
                &format!(
                    "Grade migration {} → {} (share of balance)",
                    dates[first], dates[last]
                ),
                &format!(
                    "五级分类迁徙 {} → {}（余额占比）",
                    dates[first], dates[last]
                ),
            ),
            rows: grade_labels.iter().map(|s| s.to_string()).collect(),
            cols: grade_labels
                .iter()
                .map(|s| s.to_string())
                .chain(std::iter::once("closed".to_string()))
                .collect(),
            values: (0..grade_labels.len())
                .map(|i| {
                    grade_cells
                        .iter()
                        .filter(|c| c.from == Edge::State(i))
                        .map(|c| c.share_balance.map(f64_of))
                        .collect()
                })
                .collect(),
        });
    }
    doc.charts.push(Chart::Lines {
        title: t(
            lang,
            "PAR30 and overdue ratio over time",
            "PAR30 与逾期贷款率走势",
        ),
        x: dates.iter().map(|d| d.to_string()).collect(),
        series: vec![
            (
                "PAR30".into(),
                heads
                    .iter()
                    .map(|h| h.par(30).and_then(|p| p.ratio).map(f64_of))
                    .collect(),
            ),
            (
                "Overdue ratio (逾期贷款率)".into(),
                heads.iter().map(|h| h.overdue_ratio.map(f64_of)).collect(),
            ),
        ],
        percent: true,
    });
    doc.charts.push(Chart::Bars {
        title: t(
            lang,
            &format!("Balance by bucket at {}", dates[last]),
            &format!("{} 逾期档位余额", dates[last]),
        ),
        labels: labels.iter().map(|s| s.to_string()).collect(),
        values: totals[last].iter().map(|d| f64_of(*d)).collect(),
        percent: false,
    });
    doc.add(
        "matrix",
        &t(
            lang,
            "Transition matrix (first to last date)",
            "迁徙矩阵（首日至末日）",
        ),
        m,
    );
    doc.add(
        "flow",
        &t(lang, "Flow between consecutive dates", "相邻日期间的变动"),
        flow,
    );
    doc.add(
        "grade_matrix",
        &t(
            lang,
            "Grade transition matrix (saved classify runs at both ends)",
            "五级分类迁徙矩阵（两端均有已保存的分类结果）",
        ),
        gm,
    );
    doc.add("roll_rates", &t(lang, "Roll rates", "滚动率"), rolls);
    doc.add(
        "headline",
        &t(lang, "Headline ratios by date", "各日主要指标"),
        headline_report(dates, heads),
    );
    doc
}

/// The `conduct` report: every breach of the log in `from..=to`, and counts per rule and
/// officer.
pub fn conduct(
    from: NaiveDate,
    to: NaiveDate,
    contacts: usize,
    breaches: &[Breach],
    rules: &AuditRules,
    lang: Lang,
) -> Document {
    let l = &rules.limits;
    let mut doc = new_doc(
        lang,
        t(
            lang,
            &format!("Collection conduct {from} to {to}"),
            &format!("催收合规检查 {from} 至 {to}"),
        ),
        vec![format!(
            "{contacts} follow-up(s) checked; limits: no contact {}–{} without consent, ≤ {} unanswered calls per number per day, ≤ {} connected calls per borrower per day, no third party within {} day(s) of reaching the borrower",
            l.no_contact_from,
            l.no_contact_until,
            l.unanswered_per_number_per_day,
            l.connected_calls_per_day,
            rules.reachable_days
        )],
    );
    let mut by: std::collections::BTreeMap<(&str, &str), u64> = Default::default();
    let mut list = Report::new(&[
        "date",
        "rule",
        "officer",
        "borrower_id",
        "loan_id",
        "contacts",
        "limit",
    ]);
    for b in breaches {
        *by.entry((b.officer.as_str(), b.rule)).or_default() += 1;
        list.push(vec![
            Cell::Date(b.date),
            Cell::Text(b.rule.to_string()),
            Cell::Text(b.officer.clone()),
            Cell::Text(b.borrower_id.clone()),
            Cell::Text(b.loan_id.clone()),
            Cell::Int(i64::from(b.count)),
            if b.limit == 0 {
                Cell::Null
            } else {
                Cell::Int(i64::from(b.limit))
            },
        ]);
    }
    let mut sum = Report::new(&["officer", "rule", "breaches"]);
    for ((o, r), n) in &by {
        sum.push(vec![
            Cell::Text(o.to_string()),
            Cell::Text(r.to_string()),
            int(*n),
        ]);
    }
    let mut per_rule: Vec<(&str, u64)> = Vec::new();
    for rule in super::conduct::RULES {
        per_rule.push((
            rule,
            breaches.iter().filter(|b| b.rule == rule).count() as u64,
        ));
    }
    doc.charts.push(Chart::Bars {
        title: t(lang, "Breaches by rule", "按规则的违规次数"),
        labels: per_rule.iter().map(|x| x.0.to_string()).collect(),
        values: per_rule.iter().map(|x| x.1 as f64).collect(),
        percent: false,
    });
    doc.add(
        "by_officer",
        &t(lang, "Breaches by officer and rule", "按客户经理及规则"),
        sum,
    );
    doc.add("breaches", &t(lang, "Breaches", "违规明细"), list);
    doc
}

/// The columns of the officer KPI table.
const KPI: &[&str] = &[
    "officer",
    "contacts",
    "connected",
    "first_contact_due",
    "first_contact_on_time",
    "first_contact_rate",
    "promises_made",
    "promises_kept",
    "promises_broken",
    "promises_pending",
    "promise_kept_rate",
    "recovered_after_contact",
    "overdue_at_start",
    "cured",
    "cure_rate",
    "visits_planned",
    "visits_done",
    "visits_late",
    "visits_missed",
    "visit_completion",
    "calls_planned",
    "calls_done",
    "call_completion",
];

/// The `collections` report: officer KPIs over `from..=to`.
pub fn collections(from: NaiveDate, to: NaiveDate, kpis: &[OfficerKpis], lang: Lang) -> Document {
    let mut doc = new_doc(
        lang,
        t(
            lang,
            &format!("Collections {from} to {to}"),
            &format!("催收工作报告 {from} 至 {to}"),
        ),
        vec![format!(
            "contacts logged {from}..{to} by the officer who logged them; first contact within 7 days of falling overdue, promises, recoveries and cures by the loan's officer; visit plan items dated in the period as the next schedule-visits run recorded them"
        )],
    );
    let mut r = Report::new(KPI);
    let mut ch = Report::new(&["officer", "channel", "contacts"]);
    for k in kpis {
        r.push(vec![
            Cell::Text(k.officer.clone()),
            int(k.contacts),
            int(k.connected),
            int(k.first_contact_due),
            int(k.first_contact_on_time),
            k.first_contact_rate().into(),
            int(k.promises_made),
            int(k.promises_kept),
            int(k.promises_broken),
            int(k.promises_pending),
            k.promise_kept_rate().into(),
            Cell::Money(k.recovered_after_contact),
            int(k.overdue_at_start),
            int(k.cured),
            k.cure_rate().into(),
            int(k.visits.planned),
            int(k.visits.done),
            int(k.visits.late),
            int(k.visits.missed),
            k.visits.completion().into(),
            int(k.calls.planned),
            int(k.calls.done),
            k.calls.completion().into(),
        ]);
        for (c, n) in &k.by_channel {
            ch.push(vec![
                Cell::Text(k.officer.clone()),
                Cell::Text(c.clone()),
                int(*n),
            ]);
        }
    }
    let officers: Vec<&OfficerKpis> = kpis.iter().filter(|k| k.officer != "all").collect();
    doc.charts.push(Chart::Bars {
        title: t(
            lang,
            "First contact within 7 days, by officer",
            "7日内首次联系率（按客户经理）",
        ),
        labels: officers.iter().map(|k| k.officer.clone()).collect(),
        values: officers
            .iter()
            .map(|k| k.first_contact_rate().map_or(0.0, f64_of))
            .collect(),
        percent: true,
    });
    doc.charts.push(Chart::Bars {
        title: t(
            lang,
            "Recovered after contact, by officer",
            "联系后回收金额（按客户经理）",
        ),
        labels: officers.iter().map(|k| k.officer.clone()).collect(),
        values: officers
            .iter()
            .map(|k| f64_of(k.recovered_after_contact))
            .collect(),
        percent: false,
    });
    doc.add("officers", &t(lang, "Officer KPIs", "客户经理催收指标"), r);
    doc.add(
        "contacts_by_channel",
        &t(lang, "Contacts by channel", "按联系方式的联系次数"),
        ch,
    );
    doc
}

/// Appends the tables and charts of `part` to `doc`, each table renamed `{prefix}_{name}`.
pub fn append(doc: &mut Document, prefix: &str, part: Document) {
    for mut n in part.tables {
        n.name = format!("{prefix}_{}", n.name);
        doc.tables.push(n);
    }
    doc.charts.extend(part.charts);
    doc.notes.extend(part.notes);
}

/// How many loans the management report lists among the top exposures at risk (and among the
/// broken promises of its decisions).
pub const TOP: usize = 20;

/// Loans that need a decision, for the management report.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub loan_id: String,
    pub officer: String,
    pub reason: &'static str,
    pub dpd: u32,
    pub balance: Decimal,
}

impl super::Exposure for Decision {
    fn loan_id(&self) -> &str {
        &self.loan_id
    }
    fn balance(&self) -> Decimal {
        self.balance
    }
}

/// The management report's own tables: the headline (`h`, at `as_of`) with the change since
/// the previous month-end (`p`), the top exposures at risk (`at_risk`: the [`TOP`] overdue
/// loans by balance, [`super::Top::by_balance`]) and the loans that need a decision. The
/// sections (portfolio, migration, collections, conduct) are appended by the caller with
/// [`append`].
pub fn management(
    (as_of, h): (NaiveDate, &Headline),
    (previous, p): (NaiveDate, &Headline),
    at_risk: &[LoanState],
    decisions: &[Decision],
    lang: Lang,
) -> Document {
    let mut doc = new_doc(
        lang,
        t(
            lang,
            &format!("Post-loan management report {as_of}"),
            &format!("贷后管理报告 {as_of}"),
        ),
        vec![format!(
            "changes against {previous} (the previous month-end)"
        )],
    );
    let mut ch = Report::new(&["figure", "previous", "current", "change"]);
    let ratio_row = |name: &str, a: Option<Decimal>, b: Option<Decimal>| {
        vec![
            Cell::Text(name.to_string()),
            a.into(),
            b.into(),
            match (a, b) {
                (Some(a), Some(b)) => Cell::Ratio(b - a),
                _ => Cell::Null,
            },
        ]
    };
    ch.push(vec![
        Cell::Text("balance".into()),
        Cell::Money(p.balance),
        Cell::Money(h.balance),
        Cell::Money(h.balance - p.balance),
    ]);
    ch.push(vec![
        Cell::Text("loans".into()),
        int(p.loans),
        int(h.loans),
        Cell::Int(i64::try_from(h.loans).unwrap_or(0) - i64::try_from(p.loans).unwrap_or(0)),
    ]);
    ch.push(ratio_row("overdue_ratio", p.overdue_ratio, h.overdue_ratio));
    for d in ratios::PAR_DAYS {
        ch.push(ratio_row(
            &format!("par{d}"),
            p.par(d).and_then(|x| x.ratio),
            h.par(d).and_then(|x| x.ratio),
        ));
    }
    let g = |x: &Headline, f: fn(&ratios::GradeFigures) -> Option<Decimal>| {
        x.graded.as_ref().and_then(f)
    };
    ch.push(ratio_row(
        "npl_ratio",
        g(p, |x| x.npl_ratio),
        g(h, |x| x.npl_ratio),
    ));
    ch.push(ratio_row(
        "deviation_90",
        g(p, |x| x.deviation),
        g(h, |x| x.deviation),
    ));
    ch.push(ratio_row(
        "provision_coverage",
        g(p, |x| x.coverage),
        g(h, |x| x.coverage),
    ));
    ch.push(ratio_row(
        "provision_rate",
        g(p, |x| x.provision_rate),
        g(h, |x| x.provision_rate),
    ));
    doc.add(
        "changes",
        &t(lang, "Headline ratios and change", "主要指标及较上月末变动"),
        ch,
    );
    let mut tr = Report::new(&[
        "loan_id",
        "officer",
        "product",
        "dpd",
        "balance",
        "classification",
    ]);
    for l in at_risk {
        tr.push(vec![
            Cell::Text(l.loan_id.clone()),
            Cell::Text(l.officer.clone()),
            Cell::Text(l.product.clone()),
            Cell::Int(i64::from(l.dpd)),
            Cell::Money(l.balance),
            Cell::Text(l.grade.as_ref().map_or(String::new(), |g| g.label.clone())),
        ]);
    }
    doc.add(
        "top_at_risk",
        &t(lang, "Top exposures at risk", "重点风险贷款"),
        tr,
    );
    let mut dr = Report::new(&["loan_id", "officer", "reason", "dpd", "balance"]);
    for d in decisions {
        dr.push(vec![
            Cell::Text(d.loan_id.clone()),
            Cell::Text(d.officer.clone()),
            Cell::Text(d.reason.to_string()),
            Cell::Int(i64::from(d.dpd)),
            Cell::Money(d.balance),
        ]);
    }
    doc.add(
        "decisions",
        &t(lang, "Loans that need a decision", "待决策贷款"),
        dr,
    );
    doc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::{book, graded_book};
    use crate::report::ratios::ParOptions;
    use crate::test_support::d;

    #[test]
    fn portfolio_without_grades_keeps_its_tables_and_blank_grade_columns() {
        let doc = portfolio(
            d("2026-03-31"),
            &PortfolioAcc::of(&book(), &Buckets::default_days(), ParOptions::default()),
            Lang::En,
        );
        let names: Vec<&str> = doc.tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "headline",
                "by_bucket",
                "by_grade_bucket",
                "stages",
                "over90_not_npl",
                "by_product",
                "by_branch",
                "by_region",
                "by_officer"
            ]
        );
        let h = doc.table("headline").unwrap();
        let npl = h.columns.iter().position(|c| c == "npl_ratio").unwrap();
        assert_eq!(h.rows[0][npl], Cell::Null);
        assert!(doc.table("stages").unwrap().rows.is_empty());
        assert!(doc.notes.iter().any(|n| n.contains("no grades")));
    }

    #[test]
    fn portfolio_with_grades_lists_over_90_not_npl() {
        let doc = portfolio(
            d("2026-03-31"),
            &PortfolioAcc::of(
                &graded_book(),
                &Buckets::default_days(),
                ParOptions::default(),
            ),
            Lang::Zh,
        );
        assert_eq!(doc.title, "贷款质量报告 2026-03-31");
        let o = doc.table("over90_not_npl").unwrap();
        assert_eq!(o.rows.len(), 1);
        assert_eq!(o.rows[0][0], Cell::Text("E".into()));
        let h = doc.table("headline").unwrap();
        let dev = h.columns.iter().position(|c| c == "deviation_90").unwrap();
        // 1500 over 90 / 600 NPL
        assert_eq!(h.rows[0][dev], Cell::Ratio("2.500000".parse().unwrap()));
        assert_eq!(doc.table("stages").unwrap().rows.len(), 3);
    }
}
