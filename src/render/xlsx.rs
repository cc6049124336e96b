//! The report as an Excel workbook (rust_xlsxwriter): one sheet per table, named after it;
//! numbers as numbers (money `#,##0.00`, ratios `0.00%`), dates as dates (`yyyy-mm-dd`), the
//! header row bold and frozen, column widths set from the contents.

use std::path::Path;

use anyhow::{Context, Result};
use chrono::Datelike;
use rust_decimal::prelude::ToPrimitive;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

use crate::exit::{fail, Code};
use crate::output::{Cell, Document};

/// Builds the workbook in memory.
pub fn workbook(doc: &Document) -> Result<Workbook> {
    let mut wb = Workbook::new();
    let head = Format::new().set_bold().set_background_color("#F0F3F7");
    let money = Format::new().set_num_format("#,##0.00");
    let pct = Format::new().set_num_format("0.00%");
    let date = Format::new().set_num_format("yyyy-mm-dd");
    for t in &doc.tables {
        let ws = wb.add_worksheet();
        // Sheet names: at most 31 characters, no []:*?/\ (table names are snake_case).
        let name: String = t.name.chars().take(31).collect();
        ws.set_name(&name)?;
        // Headers in the document's language (CJK characters count double for the width).
        let labels: Vec<&str> = t
            .report
            .columns
            .iter()
            .map(|c| crate::i18n::label(doc.lang, c))
            .collect();
        let mut widths: Vec<usize> = labels
            .iter()
            .map(|c| c.chars().map(|ch| if ch.is_ascii() { 1 } else { 2 }).sum())
            .collect();
        for (j, c) in labels.iter().enumerate() {
            ws.write_string_with_format(0, col(j), *c, &head)?;
        }
        for (i, row) in t.report.rows.iter().enumerate() {
            let r = u32::try_from(i + 1).context("too many rows for a worksheet")?;
            for (j, cell) in row.iter().enumerate() {
                let c = col(j);
                match cell {
                    Cell::Null => {}
                    Cell::Text(s) => {
                        let column = t.report.columns.get(j).map_or("", String::as_str);
                        ws.write_string(r, c, crate::i18n::value(doc.lang, column, s))?;
                    }
                    Cell::Int(n) => {
                        ws.write_number(r, c, *n as f64)?;
                    }
                    Cell::Money(d) => {
                        ws.write_number_with_format(r, c, d.to_f64().unwrap_or(0.0), &money)?;
                    }
                    Cell::Ratio(d) => {
                        ws.write_number_with_format(r, c, d.to_f64().unwrap_or(0.0), &pct)?;
                    }
                    Cell::Date(d) => {
                        let x = ExcelDateTime::from_ymd(
                            u16::try_from(d.year()).unwrap_or(1900),
                            d.month() as u8,
                            d.day() as u8,
                        )?;
                        ws.write_datetime_with_format(r, c, &x, &date)?;
                    }
                    Cell::Bool(b) => {
                        ws.write_boolean(r, c, *b)?;
                    }
                }
                let w = match cell {
                    Cell::Date(_) => 10,
                    other => other.human().chars().count(),
                };
                widths[j] = widths[j].max(w);
            }
        }
        for (j, w) in widths.iter().enumerate() {
            ws.set_column_width(col(j), (*w as f64 + 2.0).min(60.0))?;
        }
        ws.set_freeze_panes(1, 0)?;
    }
    if doc.tables.is_empty() {
        wb.add_worksheet();
    }
    Ok(wb)
}

fn col(j: usize) -> u16 {
    u16::try_from(j).unwrap_or(u16::MAX)
}

/// Writes the workbook to `path` via `path.tmp` and a rename.
pub fn write_file(path: &Path, doc: &Document) -> Result<()> {
    let mut wb = workbook(doc)?;
    let bytes = wb.save_to_buffer().context("building the xlsx workbook")?;
    crate::output::write_atomically(path, |w| {
        w.write_all(&bytes)
            .map_err(|e| fail(Code::CantCreate, format!("writing {}: {e}", path.display())))
    })
}
