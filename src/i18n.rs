//! The one table of human labels: column names (the CSV header / JSON key, which never change)
//! and the enumerated values a table shows (actions, buckets, statuses, channels), in English
//! or Chinese. `output.rs` applies it to every table, so a new command gets Chinese headers by
//! naming its columns; a key missing here is shown as it is.

use clap::ValueEnum;

/// The language of tables (and, later, messages meant for people).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    /// 中文
    Zh,
    /// English
    #[default]
    En,
}

impl Lang {
    /// The default when neither `--lang` nor `DAIHOU_LANG` is given: Chinese when the locale
    /// (`LC_ALL`, else `LC_MESSAGES`, else `LANG`, as POSIX orders them) starts with `zh`.
    pub fn from_locale(get: impl Fn(&str) -> Option<String>) -> Lang {
        let locale = ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .filter_map(|k| get(k))
            .find(|v| !v.is_empty())
            .unwrap_or_default();
        if locale.to_ascii_lowercase().starts_with("zh") {
            Lang::Zh
        } else {
            Lang::En
        }
    }
}

/// (key, 中文). English shows the key itself: the contract's names are already English.
const LABELS: &[(&str, &str)] = &[
    // Loans and borrowers.
    ("loan_id", "借据号"),
    ("borrower", "借款人"),
    ("borrower_id", "客户号"),
    ("borrower_name", "借款人"),
    ("borrower_type", "客户类型"),
    ("phone", "联系电话"),
    ("id_number", "证件号码"),
    ("officer", "客户经理"),
    ("branch", "经办机构"),
    ("region", "地区"),
    ("product", "产品"),
    ("principal", "贷款金额"),
    ("annual_rate", "年利率(%)"),
    ("origination_date", "放款日"),
    ("maturity_date", "到期日"),
    // Overdue positions.
    ("as_of", "数据日期"),
    ("dpd", "逾期天数"),
    ("max_dpd", "历史最长逾期天数"),
    ("bucket", "逾期档位"),
    ("term", "期限"),
    ("overdue_since", "逾期起始日"),
    ("installments_overdue", "逾期期数"),
    ("overdue_principal", "逾期本金"),
    ("overdue_interest", "逾期利息"),
    ("overdue_fee", "逾期费用"),
    ("overdue_total", "逾期本息合计"),
    ("penalty_interest", "罚息"),
    ("outstanding_principal", "贷款余额"),
    ("last_payment_date", "最近还款日"),
    ("loans", "贷款笔数"),
    // Collection.
    ("next_action", "下一步措施"),
    ("last_contact", "最近联系日"),
    ("last_contact_channel", "最近联系方式"),
    ("channel", "联系方式"),
    ("outcome", "联系结果"),
    ("sla_breached", "是否超时"),
    ("sla_reason", "超时原因"),
    ("promises_broken", "未兑现承诺次数"),
    ("last_broken_promise", "最近未兑现承诺日"),
    // Installments.
    ("installment_no", "期次"),
    ("due_date", "应还日"),
    ("principal_due", "应还本金"),
    ("interest_due", "应还利息"),
    ("fee_due", "应还费用"),
    ("status", "状态"),
    ("settled_on", "结清日"),
    ("days_late", "逾期天数"),
    // Import.
    ("file", "文件"),
    ("kind", "类型"),
    ("rows", "行数"),
    ("new", "新增"),
    ("changed", "变更"),
    ("unchanged", "未变"),
    ("skipped", "跳过"),
    // Portfolio summaries.
    ("count", "笔数"),
    ("balance", "余额"),
    ("overdue_ratio", "逾期率"),
    ("classification", "五级分类"),
    ("stage", "减值阶段"),
    // Reports (daihou report).
    ("overdue_loans", "逾期贷款笔数"),
    ("overdue_balance", "逾期贷款余额"),
    ("par1_balance", "PAR1 余额"),
    ("par1", "PAR1"),
    ("par30_balance", "PAR30 余额"),
    ("par30", "PAR30"),
    ("par90_balance", "PAR90 余额"),
    ("par90", "PAR90"),
    ("over90_loans", "逾期90天以上笔数"),
    ("over90_balance", "逾期90天以上余额"),
    ("npl_loans", "不良贷款笔数"),
    ("npl_balance", "不良贷款余额"),
    ("npl_ratio", "不良贷款率"),
    ("deviation_90", "逾期90天以上/不良(偏离度)"),
    ("provisions", "贷款损失准备"),
    ("provision_coverage", "拨备覆盖率"),
    ("provision_rate", "贷款拨备率"),
    ("share", "占比"),
    ("from_date", "起始日"),
    ("to_date", "截止日"),
    ("from_bucket", "起始档位"),
    ("to_bucket", "截止档位"),
    ("balance_from", "起始余额"),
    ("balance_to", "截止余额"),
    ("share_loans", "笔数占比"),
    ("share_balance", "余额占比"),
    ("stayed_loans", "档位不变笔数"),
    ("worse_loans", "恶化笔数"),
    ("worse_balance", "恶化余额"),
    ("cured_loans", "好转笔数"),
    ("cured_balance", "好转余额"),
    ("closed_loans", "结清笔数"),
    ("closed_balance", "结清余额"),
    ("new_loans", "新增笔数"),
    ("new_balance", "新增余额"),
    ("roll_rate", "滚动率"),
    ("cohort", "放款月份"),
    ("mob", "账龄(月)"),
    ("original_amount", "放款金额"),
    ("ever_30_amount", "曾逾期30天以上金额"),
    ("ever_30_share", "曾逾期30天以上占比"),
    ("ever_m2_amount", "曾达M2+金额"),
    ("ever_m2_share", "曾达M2+占比"),
    ("ever_90_amount", "曾逾期90天以上金额"),
    ("ever_90_share", "曾逾期90天以上占比"),
    ("date", "日期"),
    ("rule", "规则"),
    ("contacts", "联系次数"),
    ("limit", "上限"),
    ("breaches", "违规次数"),
    ("connected", "接通次数"),
    ("first_contact_due", "应首次联系笔数"),
    ("first_contact_on_time", "7日内首次联系笔数"),
    ("first_contact_rate", "7日内首次联系率"),
    ("promises_made", "承诺还款次数"),
    ("promises_kept", "已兑现"),
    ("promises_pending", "待兑现"),
    ("promise_kept_rate", "承诺兑现率"),
    ("recovered_after_contact", "联系后回收金额"),
    ("overdue_at_start", "期初逾期笔数"),
    ("cured", "转正常笔数"),
    ("cure_rate", "转正常率"),
    ("visits_planned", "计划走访"),
    ("visits_done", "按时走访"),
    ("visits_late", "逾期走访"),
    ("visits_missed", "未走访"),
    ("visit_completion", "走访完成率"),
    ("calls_planned", "计划电话"),
    ("calls_done", "按时电话"),
    ("call_completion", "电话完成率"),
    ("figure", "指标"),
    ("from_grade", "起始分类"),
    ("to_grade", "截止分类"),
    ("previous", "上月末"),
    ("current", "本月末"),
    ("change", "变动"),
];

/// Values of enumerated columns: (value, 中文).
const VALUES: &[(&str, &str)] = &[
    // The built-in collection ladder's actions.
    ("sms_phone_reminder", "短信电话提醒"),
    ("collection_notice_and_visit", "催收通知及走访核实"),
    ("legal_review_asset_preservation", "法律审查及财产保全"),
    // Buckets (numeric labels such as 1-30 or M2 read the same in both).
    ("current", "正常"),
    // Terms, installment statuses.
    ("short", "短期"),
    ("long", "中长期"),
    ("settled", "已结清"),
    ("overdue", "逾期"),
    ("not_due", "未到期"),
    // Follow-up channels and outcomes.
    ("phone", "电话"),
    ("sms", "短信"),
    ("visit", "上门走访"),
    ("letter", "信函"),
    ("legal", "法律途径"),
    ("wechat", "微信"),
    ("app", "APP"),
    ("no_answer", "未接通"),
    ("contacted", "已联系"),
    ("promise_to_pay", "承诺还款"),
    ("refused", "拒绝还款"),
    ("paid", "已还款"),
    ("other", "其他"),
    // Import kinds, borrower types.
    ("loans", "贷款"),
    ("schedule", "还款计划"),
    ("repayments", "还款流水"),
    ("followups", "催收记录"),
    ("individual", "个人"),
    ("corporate", "对公"),
    // Five-tier classification.
    ("normal", "正常"),
    ("special_mention", "关注"),
    ("substandard", "次级"),
    ("doubtful", "可疑"),
    ("loss", "损失"),
    // Reports: conduct rules, decisions, headline figures, migration edges, the team row.
    ("night", "夜间催收(22:00–08:00)"),
    ("unanswered_per_number_per_day", "单号码每日未接通超限"),
    ("connected_calls_per_day", "每日接通次数超限"),
    ("third_party_while_reachable", "可联系本人时联系第三方"),
    ("over90_not_npl", "逾期90天以上未纳入不良"),
    ("eligible_for_upgrade_review", "可申请上调分类"),
    ("broken_promise", "承诺还款未兑现"),
    ("balance", "贷款余额"),
    ("overdue_ratio", "逾期贷款率"),
    ("npl_ratio", "不良贷款率"),
    ("deviation_90", "偏离度"),
    ("provision_coverage", "拨备覆盖率"),
    ("provision_rate", "贷款拨备率"),
    ("new", "新增"),
    ("closed", "结清"),
];

/// The columns whose values are enumerations (translated in tables); free text (names,
/// branches, products) is never looked up.
const ENUM_COLUMNS: &[&str] = &[
    "next_action",
    "bucket",
    "term",
    "status",
    "last_contact_channel",
    "channel",
    "outcome",
    "kind",
    "borrower_type",
    "classification",
    "rule",
    "reason",
    "figure",
    "from_bucket",
    "to_bucket",
    "from_grade",
    "to_grade",
];

fn find(table: &[(&'static str, &'static str)], key: &str) -> Option<&'static str> {
    table.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

/// The table header of a column (or the wording of a summary key).
pub fn label(lang: Lang, key: &str) -> &str {
    match lang {
        Lang::En => key,
        Lang::Zh => find(LABELS, key).unwrap_or(key),
    }
}

/// A value as a table shows it in `column`.
pub fn value<'a>(lang: Lang, column: &str, text: &'a str) -> &'a str {
    match lang {
        Lang::Zh if ENUM_COLUMNS.contains(&column) => find(VALUES, text).unwrap_or(text),
        _ => text,
    }
}

/// A yes/no as a table shows it.
pub fn yes_no(lang: Lang, b: bool) -> &'static str {
    match (lang, b) {
        (Lang::Zh, true) => "是",
        (Lang::Zh, false) => "否",
        (Lang::En, true) => "true",
        (Lang::En, false) => "false",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_values() {
        assert_eq!(label(Lang::Zh, "dpd"), "逾期天数");
        assert_eq!(label(Lang::Zh, "penalty_interest"), "罚息");
        assert_eq!(label(Lang::En, "dpd"), "dpd");
        assert_eq!(label(Lang::Zh, "no_such_column"), "no_such_column");
        assert_eq!(
            value(Lang::Zh, "next_action", "sms_phone_reminder"),
            "短信电话提醒"
        );
        assert_eq!(value(Lang::Zh, "bucket", "current"), "正常");
        assert_eq!(value(Lang::Zh, "bucket", "31-60"), "31-60");
        // Free text is never translated, even when it spells a known value.
        assert_eq!(value(Lang::Zh, "branch", "current"), "current");
        assert_eq!(value(Lang::En, "bucket", "current"), "current");
        assert_eq!(yes_no(Lang::Zh, true), "是");
    }

    #[test]
    fn every_key_is_listed_once() {
        for table in [LABELS, VALUES] {
            let mut keys: Vec<&str> = table.iter().map(|(k, _)| *k).collect();
            keys.sort_unstable();
            let n = keys.len();
            keys.dedup();
            assert_eq!(keys.len(), n, "a key is listed twice");
        }
    }

    #[test]
    fn the_locale_decides_the_default() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(Lang::from_locale(env(&[("LANG", "zh_CN.UTF-8")])), Lang::Zh);
        assert_eq!(Lang::from_locale(env(&[("LANG", "C")])), Lang::En);
        assert_eq!(Lang::from_locale(env(&[])), Lang::En);
        assert_eq!(
            Lang::from_locale(env(&[("LC_ALL", "en_US.UTF-8"), ("LANG", "zh_CN.UTF-8")])),
            Lang::En
        );
        assert_eq!(
            Lang::from_locale(env(&[("LC_ALL", ""), ("LANG", "zh_TW.UTF-8")])),
            Lang::Zh
        );
    }
}
