//! The single renderer: every command hands a `Report` to `render`, which writes table, CSV or JSON.
//! Commands never format values themselves.

use std::io::{self, BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};
use chrono::NaiveDate;
use comfy_table::{presets, Cell as TCell, CellAlignment, ContentArrangement, Table};
use rust_decimal::Decimal;

use crate::cli::Format;
use crate::context::Ctx;
use crate::exit::{fail, Code};
use crate::i18n::{self, Lang};
use crate::money;

/// One value in a report.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Null,
    Text(String),
    Int(i64),
    Money(Decimal),
    Date(NaiveDate),
    Bool(bool),
}

impl Cell {
    fn plain(&self) -> String {
        match self {
            Cell::Null => String::new(),
            Cell::Text(s) => s.clone(),
            Cell::Int(i) => i.to_string(),
            Cell::Money(d) => money::fmt_amount(*d),
            Cell::Date(d) => d.format("%Y-%m-%d").to_string(),
            Cell::Bool(b) => b.to_string(),
        }
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell::Text(s.to_string())
    }
}
impl From<String> for Cell {
    fn from(s: String) -> Cell {
        Cell::Text(s)
    }
}
impl From<Option<NaiveDate>> for Cell {
    fn from(d: Option<NaiveDate>) -> Cell {
        d.map_or(Cell::Null, Cell::Date)
    }
}

/// Rows under named columns; the column names are the CSV header and the JSON keys.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    /// The columns a human table shows, when narrower than the CSV/JSON contract.
    pub table_columns: Option<Vec<usize>>,
}

impl Report {
    pub fn new(columns: &[&str]) -> Report {
        Report {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: Vec::new(),
            table_columns: None,
        }
    }

    /// Shows only these columns (by name) in table format; CSV and JSON keep every column.
    pub fn table_shows(mut self, names: &[&str]) -> Report {
        self.table_columns = Some(
            names
                .iter()
                .filter_map(|n| self.columns.iter().position(|c| c == n))
                .collect(),
        );
        self
    }

    pub fn push(&mut self, row: Vec<Cell>) {
        debug_assert_eq!(row.len(), self.columns.len());
        self.rows.push(row);
    }
}

/// A typed row: an op's result type names its columns (the output contract) and turns itself
/// into cells; [`Report::of`] builds the report.
pub trait Tabular {
    /// The CSV header and JSON keys, in order.
    const COLUMNS: &'static [&'static str];
    /// The columns a human table shows by default (None: all of them).
    const TABLE_SHOWS: Option<&'static [&'static str]> = None;
    /// One cell per column of [`Tabular::COLUMNS`].
    fn cells(&self) -> Vec<Cell>;
}

impl Report {
    /// The report of typed rows.
    pub fn of<T: Tabular>(rows: &[T]) -> Report {
        let mut r = Report::new(T::COLUMNS);
        if let Some(shows) = T::TABLE_SHOWS {
            r = r.table_shows(shows);
        }
        r.rows = rows.iter().map(T::cells).collect();
        r
    }
}

/// Neutralises spreadsheet formula injection: a text cell that a spreadsheet would run as a
/// formula (starting with = + - @, tab or carriage return) gets a leading apostrophe.
pub fn csv_safe(s: &str) -> std::borrow::Cow<'_, str> {
    match s.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => format!("'{s}").into(),
        _ => s.into(),
    }
}

/// How a report is shown beyond its format: for people (tables) and for Excel (CSV).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Style {
    /// Colour in a table.
    pub color: bool,
    /// Language of a table's headers and enumerated values (CSV and JSON never change).
    pub lang: Lang,
    /// A UTF-8 byte-order mark before CSV.
    pub csv_bom: bool,
}

impl Default for Style {
    fn default() -> Style {
        Style {
            color: false,
            lang: Lang::En,
            csv_bom: false,
        }
    }
}

/// Writes `report` in `format` (English, no BOM).
pub fn render(w: &mut dyn Write, format: Format, report: &Report, color: bool) -> Result<()> {
    render_styled(
        w,
        format,
        report,
        Style {
            color,
            ..Style::default()
        },
    )
}

/// Writes `report` in `format` with `style`.
pub fn render_styled(
    w: &mut dyn Write,
    format: Format,
    report: &Report,
    style: Style,
) -> Result<()> {
    match format {
        Format::Csv => render_csv(w, report, style.csv_bom),
        Format::Json => render_json(w, report),
        Format::Table => render_table(w, report, style),
    }
}

fn render_csv(w: &mut dyn Write, report: &Report, bom: bool) -> Result<()> {
    if bom {
        w.write_all("\u{feff}".as_bytes())?;
    }
    let mut out = csv::WriterBuilder::new().from_writer(w);
    out.write_record(&report.columns)?;
    let mut rec: Vec<String> = Vec::with_capacity(report.columns.len());
    for row in &report.rows {
        rec.clear();
        for cell in row {
            rec.push(match cell {
                Cell::Text(s) => csv_safe(s).into_owned(),
                other => other.plain(),
            });
        }
        out.write_record(&rec)?;
    }
    out.flush()?;
    Ok(())
}

fn render_json(w: &mut dyn Write, report: &Report) -> Result<()> {
    use serde_json::{Map, Value};
    let mut arr = Vec::with_capacity(report.rows.len());
    for row in &report.rows {
        let mut obj = Map::new();
        for (col, cell) in report.columns.iter().zip(row) {
            let v = match cell {
                Cell::Null => Value::Null,
                Cell::Int(i) => Value::from(*i),
                Cell::Bool(b) => Value::Bool(*b),
                other => Value::String(other.plain()),
            };
            obj.insert(col.clone(), v);
        }
        arr.push(Value::Object(obj));
    }
    serde_json::to_writer_pretty(&mut *w, &Value::Array(arr))?;
    w.write_all(b"\n")?;
    Ok(())
}

fn render_table(w: &mut dyn Write, report: &Report, style: Style) -> Result<()> {
    let lang = style.lang;
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED);
    t.set_content_arrangement(ContentArrangement::Disabled);
    if !style.color {
        t.force_no_tty();
    } else {
        t.enforce_styling();
    }
    let shown: Vec<usize> = match &report.table_columns {
        Some(cols) => cols.clone(),
        None => (0..report.columns.len()).collect(),
    };
    t.set_header(
        shown
            .iter()
            .map(|&i| TCell::new(i18n::label(lang, &report.columns[i]))),
    );
    for row in &report.rows {
        t.add_row(shown.iter().map(|&i| {
            let column = report.columns[i].as_str();
            match &row[i] {
                Cell::Money(d) => {
                    TCell::new(money::fmt_thousands(*d)).set_alignment(CellAlignment::Right)
                }
                Cell::Int(i) => TCell::new(i).set_alignment(CellAlignment::Right),
                Cell::Text(s) => TCell::new(i18n::value(lang, column, s)),
                Cell::Bool(b) => TCell::new(i18n::yes_no(lang, *b)),
                other => TCell::new(other.plain()),
            }
        }));
    }
    if report.rows.is_empty() {
        let none = match lang {
            Lang::Zh => "（无数据）",
            Lang::En => "(no rows)",
        };
        writeln!(w, "{none}")?;
    } else {
        writeln!(w, "{t}")?;
    }
    Ok(())
}

/// Renders to `-o FILE` (written as FILE.tmp, then renamed) or to a buffered stdout.
pub fn emit(ctx: &Ctx, report: &Report) -> Result<()> {
    let style = Style {
        color: ctx.color_stdout,
        lang: ctx.lang,
        csv_bom: ctx.csv_bom,
    };
    match &ctx.output {
        // With --show-pii the file holds unmasked names, phones and ID numbers: owner-only.
        Some(path) => write_file(path, ctx.show_pii, |w| {
            render_styled(
                w,
                ctx.format,
                report,
                Style {
                    color: false,
                    ..style
                },
            )
        }),
        None => {
            let stdout = io::stdout();
            let mut w = BufWriter::new(stdout.lock());
            render_styled(&mut w, ctx.format, report, style)?;
            w.flush()?;
            Ok(())
        }
    }
}

/// Writes plain text (e.g. a printed policy) to `-o FILE` or stdout, whatever the format.
pub fn write_text(ctx: &Ctx, text: &str) -> Result<()> {
    match &ctx.output {
        Some(path) => write_atomically(path, |w| Ok(w.write_all(text.as_bytes())?)),
        None => {
            let stdout = io::stdout();
            let mut w = BufWriter::new(stdout.lock());
            w.write_all(text.as_bytes())?;
            w.flush()?;
            Ok(())
        }
    }
}

/// Writes through `FILE.tmp` and renames it over `FILE` only when everything was written.
pub fn write_atomically(path: &Path, f: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<()> {
    write_file(path, false, f)
}

/// [`write_atomically`]; a `private` file (one holding unmasked PII) is created with mode
/// 0600, so neither it nor its .tmp is ever readable by others, whatever the umask.
pub fn write_file(
    path: &Path,
    private: bool,
    f: impl FnOnce(&mut dyn Write) -> Result<()>,
) -> Result<()> {
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp_name);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
        // A .tmp left by an earlier run keeps its mode when reopened: start afresh.
        let _ = std::fs::remove_file(&tmp);
    }
    #[cfg(not(unix))]
    let _ = private;
    let file = options.open(&tmp).map_err(|e| {
        fail(
            Code::CantCreate,
            format!("cannot create {}: {e}", tmp.display()),
        )
    })?;
    let mut w = BufWriter::new(file);
    let result = f(&mut w).and_then(|()| {
        w.flush()?;
        w.get_ref().sync_all()?;
        Ok(())
    });
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("writing {}", path.display()));
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        fail(
            Code::CantCreate,
            format!("cannot rename {} to {}: {e}", tmp.display(), path.display()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        let mut r = Report::new(&["loan_id", "amount", "due", "n", "note"]);
        r.push(vec![
            "L1".into(),
            Cell::Money(Decimal::new(123456, 2)),
            Cell::Date(NaiveDate::from_ymd_opt(2026, 1, 31).unwrap()),
            Cell::Int(3),
            "=HYPERLINK(\"x\")".into(),
        ]);
        r.push(vec![
            "L2".into(),
            Cell::Money(Decimal::new(-5, 2)),
            Cell::Null,
            Cell::Int(0),
            "".into(),
        ]);
        r
    }

    #[test]
    fn csv_is_plain_and_neutralises_formulas() {
        let mut out = Vec::new();
        render(&mut out, Format::Csv, &sample(), false).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert_eq!(
            s,
            "loan_id,amount,due,n,note\nL1,1234.56,2026-01-31,3,\"'=HYPERLINK(\"\"x\"\")\"\nL2,-0.05,,0,\n"
        );
    }

    #[test]
    fn json_has_money_as_strings_and_null() {
        let mut out = Vec::new();
        render(&mut out, Format::Json, &sample(), false).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v[0]["amount"], "1234.56");
        assert_eq!(v[0]["n"], 3);
        assert!(v[1]["due"].is_null());
        let mut empty = Vec::new();
        render(&mut empty, Format::Json, &Report::new(&["a"]), false).unwrap();
        assert_eq!(String::from_utf8(empty).unwrap().trim(), "[]");
    }

    #[test]
    fn csv_safe_leaves_ordinary_text() {
        assert_eq!(csv_safe("张*三"), "张*三");
        assert_eq!(csv_safe("+86 138"), "'+86 138");
        assert_eq!(csv_safe("@SUM(A1)"), "'@SUM(A1)");
    }
}
