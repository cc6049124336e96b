//! `daihou import`: CSV tapes into the ledger (the work is `ops::import`); prints the counts.

use anyhow::Result;

use crate::cli::{Encoding, ImportArgs, ImportKind};
use crate::context::Ctx;
use crate::exit;
use crate::ops::import::{self, Options};
use crate::output::{self, Report};
use crate::records::Kind;
use crate::tape::TextEncoding;

pub fn run(ctx: &Ctx, args: &ImportArgs) -> Result<()> {
    let mapping = match &args.map {
        Some(p) => Some(import::load_mapping(p)?),
        None => None,
    };
    let encoding = match (
        args.encoding,
        mapping.as_ref().and_then(|m| m.encoding.as_deref()),
    ) {
        (Some(Encoding::Utf8), _) => TextEncoding::Utf8,
        (Some(_), _) => TextEncoding::Gb18030,
        (None, Some(e)) if !e.to_ascii_lowercase().starts_with("utf") => TextEncoding::Gb18030,
        _ => TextEncoding::Utf8,
    };
    let kind = match args.kind {
        ImportKind::Loans => Some(Kind::Loans),
        ImportKind::Schedule => Some(Kind::Schedule),
        ImportKind::Repayments => Some(Kind::Repayments),
        ImportKind::Followups => Some(Kind::Followups),
        ImportKind::Restructures => Some(Kind::Restructures),
        ImportKind::Overrides => Some(Kind::Overrides),
        ImportKind::Events => Some(Kind::Events),
        ImportKind::Tape => None,
    };
    let (jobs, ignored) = import::plan(kind, &args.files, mapping.as_ref())?;
    if !ignored.is_empty() {
        let names: Vec<String> = ignored.iter().map(|p| p.display().to_string()).collect();
        let tape_files = Kind::ALL.map(|k| format!("{}.csv", k.as_str())).join(", ");
        if args.strict {
            return Err(exit::data(format!(
                "--strict: not a tape file, would not be imported: {} (a tape folder holds {tape_files}); nothing was imported",
                names.join(", ")
            )));
        }
        for n in &names {
            ctx.note(&format!(
                "import: warning: {n} is not a tape file ({tape_files}); not imported"
            ));
        }
    }
    let opts = Options {
        jobs,
        encoding,
        delimiter: mapping.as_ref().and_then(|m| m.delimiter).unwrap_or(b','),
        skip_rows: mapping.as_ref().map_or(0, |m| m.skip_rows),
        max_errors: args.max_errors,
        dry_run: args.dry_run,
        verbose: ctx.verbose,
    };
    if args.dry_run {
        // A dry run lists the counts: an unknown --columns name exits 2 before the import.
        output::check_columns(ctx, &Report::of::<import::FileStats>(&[]))?;
    }
    let summary = import::run(ctx, &opts)?;
    for w in &summary.warnings {
        ctx.note(&format!("import: warning: {w}"));
    }
    for c in &summary.changes {
        ctx.debug(c);
    }

    let zh = ctx.lang == crate::i18n::Lang::Zh;
    let prefix = match (args.dry_run, zh) {
        (true, false) => "import (dry run)",
        (false, false) => "import",
        (true, true) => "导入（试运行）",
        (false, true) => "导入",
    };
    for s in &summary.files {
        let secs = s.ms as f64 / 1000.0;
        let mut line = if zh {
            format!(
                "{prefix} {}：{} 行，新增 {}，变更 {}，未变 {}",
                s.file, s.rows, s.new, s.changed, s.unchanged
            )
        } else {
            format!(
                "{prefix} {}: {} rows, {} new, {} changed, {} unchanged",
                s.file, s.rows, s.new, s.changed, s.unchanged
            )
        };
        match (s.skipped > 0, zh) {
            (true, false) => line.push_str(&format!(", {} skipped", s.skipped)),
            (true, true) => line.push_str(&format!("，跳过 {}", s.skipped)),
            _ => {}
        }
        line.push_str(&if zh {
            format!("，{secs:.1} 秒")
        } else {
            format!(", {secs:.1} s")
        });
        ctx.note(&line);
    }
    let generated = summary.generated;
    if generated > 0 {
        ctx.note(&if zh {
            format!("{prefix}：按合同生成了 {generated} 笔贷款的还款计划")
        } else {
            format!(
                "{prefix}: generated repayment schedules for {generated} loan{}",
                if generated == 1 { "" } else { "s" }
            )
        });
    }
    if args.dry_run {
        ctx.note(if zh {
            "试运行：已回滚，账本未改变"
        } else {
            "dry run: rolled back, the ledger was not changed"
        });
        output::emit(ctx, &Report::of(&summary.files))?;
    }
    Ok(())
}
