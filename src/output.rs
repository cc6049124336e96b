//! The single renderer: every command hands a `Report` to `render`, which writes table, CSV or JSON
//! (a listing too long to hold is written a row at a time by [`RowWriter`]).
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
    /// A fraction (0.0523 = 5.23 %): plain text keeps it as a decimal, a human table shows a
    /// percentage, xlsx a number formatted as percent.
    Ratio(Decimal),
}

impl Cell {
    fn plain(&self) -> String {
        let mut s = String::new();
        self.write_plain(&mut s);
        s
    }

    /// Appends [`Cell::plain`]'s text to `out` (a renderer's reused buffer).
    fn write_plain(&self, out: &mut String) {
        use std::fmt::Write;
        // Writing to a String cannot fail.
        let _ = match self {
            Cell::Null => Ok(()),
            Cell::Text(s) => {
                out.push_str(s);
                Ok(())
            }
            Cell::Int(i) => write!(out, "{i}"),
            Cell::Money(d) => {
                money::write_amount(out, *d);
                Ok(())
            }
            Cell::Date(d) => write!(out, "{}", d.format("%Y-%m-%d")),
            Cell::Bool(b) => write!(out, "{b}"),
            Cell::Ratio(r) => write!(out, "{r}"),
        };
    }

    /// The text a person reads: thousands separators, percentages.
    pub fn human(&self) -> String {
        match self {
            Cell::Money(d) => money::fmt_thousands(*d),
            Cell::Ratio(r) => fmt_percent(*r),
            other => other.plain(),
        }
    }

    /// Plain text as CSV and JSON carry it.
    pub fn text(&self) -> String {
        self.plain()
    }

    /// Makes this cell the text `s`, in the String it already holds when it is text (a row of
    /// cells refilled from row to row: no allocation a row).
    pub fn set_text(&mut self, s: &str) {
        match self {
            Cell::Text(t) => {
                t.clear();
                t.push_str(s);
            }
            other => *other = Cell::Text(s.to_string()),
        }
    }
}

impl From<Option<Decimal>> for Cell {
    /// A ratio, or empty when it is undefined (a zero denominator).
    fn from(r: Option<Decimal>) -> Cell {
        r.map_or(Cell::Null, Cell::Ratio)
    }
}

/// A fraction as a percentage with 2 decimals, half away from zero: 0.052345 → `5.23%`.
pub fn fmt_percent(r: Decimal) -> String {
    let p = (r * Decimal::ONE_HUNDRED)
        .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    format!("{p:.2}%")
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
    /// The columns a human table sums in a last "total" row (None: no totals row). CSV and JSON
    /// never carry it: their rows are the contract.
    pub totals: Option<Vec<usize>>,
    /// Ratio columns of the totals row: (column, numerator column, denominator column), each
    /// the ratio of the two columns' totals (a ratio of sums, not a sum of ratios).
    pub total_ratios: Vec<(usize, usize, usize)>,
}

impl Report {
    pub fn new(columns: &[&str]) -> Report {
        Report {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: Vec::new(),
            table_columns: None,
            totals: None,
            total_ratios: Vec::new(),
        }
    }

    /// In the totals row, `column` is the ratio of the totals of `numerator` and `denominator`
    /// (both summed columns).
    pub fn with_total_ratio(mut self, column: &str, numerator: &str, denominator: &str) -> Report {
        let at = |n: &str| self.columns.iter().position(|c| c == n);
        if let (Some(c), Some(n), Some(d)) = (at(column), at(numerator), at(denominator)) {
            self.total_ratios.push((c, n, d));
        }
        self
    }

    /// Adds a totals row to the human table, summing these columns (by name).
    pub fn with_totals(mut self, names: &[&str]) -> Report {
        self.totals = Some(
            names
                .iter()
                .filter_map(|n| self.columns.iter().position(|c| c == n))
                .collect(),
        );
        self
    }

    /// Keeps only these columns, in this order, in every format (`--columns`). An unknown name
    /// is a usage error that lists the report's columns.
    pub fn select(mut self, names: &[String]) -> Result<Report> {
        let idx = self.positions(names)?;
        self.totals = self.totals.as_ref().map(|v| {
            v.iter()
                .filter_map(|o| idx.iter().position(|i| i == o))
                .collect::<Vec<usize>>()
        });
        let pos = |o: usize| idx.iter().position(|&i| i == o);
        self.total_ratios = self
            .total_ratios
            .iter()
            .filter_map(|&(c, n, d)| Some((pos(c)?, pos(n)?, pos(d)?)))
            .collect();
        // The columns asked for are the ones shown, in a table too.
        self.table_columns = None;
        self.columns = idx.iter().map(|&i| self.columns[i].clone()).collect();
        for row in &mut self.rows {
            let old = std::mem::take(row);
            *row = idx.iter().map(|&i| old[i].clone()).collect();
        }
        Ok(self)
    }

    /// Where each named column is; an unknown name is a usage error (exit 2) that lists the
    /// report's columns.
    fn positions(&self, names: &[String]) -> Result<Vec<usize>> {
        names
            .iter()
            .map(|n| {
                self.columns.iter().position(|c| c == n).ok_or_else(|| {
                    crate::exit::usage(format!(
                        "--columns: no column {n:?} in this output (columns: {})",
                        self.columns.join(",")
                    ))
                })
            })
            .collect()
    }

    /// The totals row: the label in the first shown column, sums in the summed ones.
    fn totals_row(&self, shown: &[usize], lang: Lang) -> Option<Vec<Cell>> {
        let sum = self.totals.as_ref()?;
        if self.rows.is_empty() {
            return None;
        }
        let mut row = vec![Cell::Null; self.columns.len()];
        for &i in sum {
            let mut money = Decimal::ZERO;
            let mut int = 0i64;
            let mut is_money = false;
            for r in &self.rows {
                match &r[i] {
                    Cell::Money(d) => {
                        money += *d;
                        is_money = true;
                    }
                    Cell::Int(n) => int = int.saturating_add(*n),
                    _ => {}
                }
            }
            row[i] = if is_money {
                Cell::Money(money)
            } else {
                Cell::Int(int)
            };
        }
        for &(c, n, d) in &self.total_ratios {
            if let (Cell::Money(n), Cell::Money(d)) = (&row[n], &row[d]) {
                row[c] = Cell::from((!d.is_zero()).then(|| (*n / *d).round_dp(6)));
            }
        }
        let first = *shown
            .iter()
            .find(|i| !sum.contains(i) && matches!(row[**i], Cell::Null))?;
        let n = self.rows.len();
        row[first] = Cell::Text(match lang {
            Lang::Zh => format!("合计（{n} 行）"),
            Lang::En => format!("total ({n} rows)"),
        });
        Some(row)
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
    /// The columns a human table sums in a totals row (empty: no totals row).
    const TOTALS: &'static [&'static str] = &[];
    /// One cell per column of [`Tabular::COLUMNS`].
    fn cells(&self) -> Vec<Cell>;
    /// The same cells from a row given up, its text moved rather than copied (a long listing
    /// is not held twice); [`Tabular::cells`] unless the row says otherwise.
    fn into_cells(self) -> Vec<Cell>
    where
        Self: Sized,
    {
        self.cells()
    }
}

impl Report {
    /// The report of typed rows.
    pub fn of<T: Tabular>(rows: &[T]) -> Report {
        let mut r = Report::shaped::<T>();
        r.rows = rows.iter().map(T::cells).collect();
        r
    }

    /// The report of typed rows given up ([`Tabular::into_cells`]); a long listing is turned
    /// into cells by two threads, half each (a command's last serial step, the other core idle).
    pub fn of_owned<T: Tabular + Send>(rows: Vec<T>) -> Report {
        let mut r = Report::shaped::<T>();
        r.rows = cells_of(rows, SPLIT_ROWS);
        r
    }

    /// The columns of `T`, no rows.
    fn shaped<T: Tabular>() -> Report {
        let mut r = Report::new(T::COLUMNS);
        if let Some(shows) = T::TABLE_SHOWS {
            r = r.table_shows(shows);
        }
        if !T::TOTALS.is_empty() {
            r = r.with_totals(T::TOTALS);
        }
        r
    }
}

/// The cells of rows given up, in order; from `split` rows the second half on another thread.
fn cells_of<T: Tabular + Send>(mut rows: Vec<T>, split: usize) -> Vec<Vec<Cell>> {
    if rows.len() < split {
        return rows.into_iter().map(T::into_cells).collect();
    }
    let second = rows.split_off(rows.len() / 2);
    std::thread::scope(|s| {
        let later = s.spawn(|| second.into_iter().map(T::into_cells).collect::<Vec<_>>());
        let mut cells: Vec<Vec<Cell>> = rows.into_iter().map(T::into_cells).collect();
        match later.join() {
            Ok(more) => cells.extend(more),
            Err(panic) => std::panic::resume_unwind(panic),
        }
        cells
    })
}

/// One table of a [`Document`]: `name` is the stable key (CSV `table` column, JSON key, sheet
/// name); `title` is the human heading.
#[derive(Clone, Debug)]
pub struct Named {
    pub name: String,
    pub title: String,
    pub report: Report,
}

/// A chart for the HTML page; other formats ignore charts. Values are plain numbers for
/// drawing only: the figures themselves live in the tables.
#[derive(Clone, Debug, PartialEq)]
pub enum Chart {
    /// One bar per label.
    Bars {
        title: String,
        labels: Vec<String>,
        values: Vec<f64>,
        /// Format values as percentages.
        percent: bool,
    },
    /// Lines over x labels (dates, months on book); `None` is a gap.
    Lines {
        title: String,
        x: Vec<String>,
        series: Vec<(String, Vec<Option<f64>>)>,
        percent: bool,
    },
    /// A matrix of shades, rows × columns, values in 0..=1 (shown as percentages).
    Heatmap {
        title: String,
        rows: Vec<String>,
        cols: Vec<String>,
        values: Vec<Vec<Option<f64>>>,
    },
}

/// A report made of several named tables (and charts for HTML). CSV puts them in one file with
/// a leading `table` column over the union of the tables' columns (first appearance order, empty
/// where a table lacks the column); JSON gives an object of named arrays; the human table prints
/// each under its title.
#[derive(Clone, Debug, Default)]
pub struct Document {
    pub title: String,
    /// Lines under the title: the as-of date, conventions, what was computed.
    pub notes: Vec<String>,
    pub tables: Vec<Named>,
    pub charts: Vec<Chart>,
    /// The language of the human labels (titles are written in it; renderers translate the
    /// column headers of tables, HTML and xlsx through `i18n`).
    pub lang: Lang,
}

impl Document {
    pub fn add(&mut self, name: &str, title: &str, report: Report) {
        self.tables.push(Named {
            name: name.to_string(),
            title: title.to_string(),
            report,
        });
    }

    /// The table named `name`.
    pub fn table(&self, name: &str) -> Option<&Report> {
        self.tables
            .iter()
            .find(|t| t.name == name)
            .map(|t| &t.report)
    }
}

/// Writes a document as table, CSV or JSON (HTML and xlsx have their own writers).
pub fn render_document(
    w: &mut dyn Write,
    format: Format,
    doc: &Document,
    color: bool,
) -> Result<()> {
    match format {
        Format::Csv => {
            let mut cols: Vec<String> = vec!["table".to_string()];
            for t in &doc.tables {
                for c in &t.report.columns {
                    if !cols.contains(c) {
                        cols.push(c.clone());
                    }
                }
            }
            let mut all = Report::new(&[]);
            all.columns = cols;
            for t in &doc.tables {
                let idx: Vec<usize> = t
                    .report
                    .columns
                    .iter()
                    .map(|c| all.columns.iter().position(|a| a == c).unwrap_or(0))
                    .collect();
                for row in &t.report.rows {
                    let mut r = vec![Cell::Null; all.columns.len()];
                    r[0] = Cell::Text(t.name.clone());
                    for (cell, &i) in row.iter().zip(&idx) {
                        r[i] = cell.clone();
                    }
                    all.rows.push(r);
                }
            }
            render_csv(w, &all, false)
        }
        Format::Json => {
            let mut obj = serde_json::Map::new();
            for t in &doc.tables {
                obj.insert(t.name.clone(), json_rows(&t.report));
            }
            serde_json::to_writer_pretty(&mut *w, &serde_json::Value::Object(obj))?;
            w.write_all(b"\n")?;
            Ok(())
        }
        Format::Table => {
            for (k, t) in doc.tables.iter().enumerate() {
                if k > 0 {
                    writeln!(w)?;
                }
                writeln!(w, "{}", t.title)?;
                render_table(
                    w,
                    &t.report,
                    Style {
                        color,
                        lang: doc.lang,
                        ..Style::default()
                    },
                )?;
            }
            Ok(())
        }
        Format::Html | Format::Xlsx => Err(crate::exit::usage(
            "html and xlsx are written by their own writers (report only)",
        )),
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
    /// A table written to a terminal of this width wraps its widest cells to fit it.
    pub fit: Option<u16>,
}

impl Default for Style {
    fn default() -> Style {
        Style {
            color: false,
            lang: Lang::En,
            csv_bom: false,
            fit: None,
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
        Format::Html | Format::Xlsx => Err(crate::exit::usage(
            "--format html and xlsx are for `daihou report` only",
        )),
    }
}

/// From this many rows a listing is made ready (cells, CSV) by two threads, half each.
const SPLIT_ROWS: usize = 50_000;

fn render_csv(w: &mut dyn Write, report: &Report, bom: bool) -> Result<()> {
    render_csv_split(w, report, bom, SPLIT_ROWS)
}

/// [`render_csv`]; from `split` rows the second half is rendered by another thread into memory
/// while this one writes the first (the same bytes: a CSV record does not depend on the
/// records before it).
fn render_csv_split(w: &mut dyn Write, report: &Report, bom: bool, split: usize) -> Result<()> {
    if bom {
        w.write_all("\u{feff}".as_bytes())?;
    }
    let mut out = csv::WriterBuilder::new().from_writer(w);
    out.write_record(&report.columns)?;
    if report.rows.len() < split {
        csv_rows(&mut out, &report.rows)?;
        out.flush()?;
        return Ok(());
    }
    let (first, second) = report.rows.split_at(report.rows.len() / 2);
    std::thread::scope(|s| -> Result<()> {
        let later = s.spawn(|| -> Result<Vec<u8>> {
            let mut buf = csv::WriterBuilder::new().from_writer(Vec::new());
            csv_rows(&mut buf, second)?;
            buf.into_inner()
                .map_err(|e| anyhow::anyhow!("rendering CSV: {}", e.error()))
        });
        let written = csv_rows(&mut out, first);
        let rendered = match later.join() {
            Ok(r) => r,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        written?;
        out.flush()?;
        let w = out
            .into_inner()
            .map_err(|e| anyhow::anyhow!("writing CSV: {}", e.error()))?;
        w.write_all(&rendered?)?;
        Ok(())
    })
}

/// The records of `rows`, field by field: text borrowed (a million-row listing is not copied
/// again), other values formatted into one reused buffer.
fn csv_rows<W: Write>(out: &mut csv::Writer<W>, rows: &[Vec<Cell>]) -> Result<()> {
    let mut buf = String::new();
    for row in rows {
        for cell in row {
            match cell {
                Cell::Text(s) => out.write_field(csv_safe(s).as_bytes())?,
                other => {
                    buf.clear();
                    other.write_plain(&mut buf);
                    out.write_field(buf.as_bytes())?;
                }
            }
        }
        out.write_record(None::<&[u8]>)?;
    }
    Ok(())
}

fn render_json(w: &mut dyn Write, report: &Report) -> Result<()> {
    serde_json::to_writer_pretty(&mut *w, &json_rows(report))?;
    w.write_all(b"\n")?;
    Ok(())
}

fn json_rows(report: &Report) -> serde_json::Value {
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
    Value::Array(arr)
}

fn render_table(w: &mut dyn Write, report: &Report, style: Style) -> Result<()> {
    let lang = style.lang;
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED);
    if let Some(width) = style.fit {
        t.set_content_arrangement(ContentArrangement::Dynamic);
        t.set_width(width);
    } else {
        t.set_content_arrangement(ContentArrangement::Disabled);
        t.force_no_tty();
    }
    if style.color {
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
    let totals = report.totals_row(&shown, lang);
    for row in report.rows.iter().chain(totals.as_ref()) {
        t.add_row(shown.iter().map(|&i| {
            let column = report.columns[i].as_str();
            match &row[i] {
                Cell::Money(d) => {
                    TCell::new(money::fmt_thousands(*d)).set_alignment(CellAlignment::Right)
                }
                Cell::Int(i) => TCell::new(i).set_alignment(CellAlignment::Right),
                Cell::Ratio(r) => TCell::new(fmt_percent(*r)).set_alignment(CellAlignment::Right),
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

/// Rows written one at a time as CSV or JSON: the same bytes as [`render_styled`] of a report
/// holding them all (`--columns` applied the same way), without holding them. A listing too
/// long to keep (every installment of the book) is written this way as its rows are made.
pub struct RowWriter<'w> {
    columns: Vec<String>,
    /// The report's columns written, in order.
    idx: Vec<usize>,
    sink: Sink<'w>,
    rows: u64,
    /// A value's text (reused).
    text: String,
    /// One JSON record (reused).
    json: Vec<u8>,
}

enum Sink<'w> {
    Csv(csv::Writer<&'w mut dyn Write>),
    Json(&'w mut dyn Write),
}

impl<'w> RowWriter<'w> {
    /// Starts the listing of `columns` (the header, or the array) in `format` (CSV or JSON);
    /// `select` keeps only these columns, in this order, as [`Report::select`] does.
    pub fn new(
        w: &'w mut dyn Write,
        format: Format,
        columns: &[&str],
        select: Option<&[String]>,
        bom: bool,
    ) -> Result<RowWriter<'w>> {
        let all = Report::new(columns);
        let idx = match select {
            Some(names) => all.positions(names)?,
            None => (0..columns.len()).collect(),
        };
        let sink = match format {
            Format::Csv => {
                if bom {
                    w.write_all("\u{feff}".as_bytes())?;
                }
                let mut out = csv::WriterBuilder::new().from_writer(w);
                out.write_record(idx.iter().map(|&i| &all.columns[i]))?;
                Sink::Csv(out)
            }
            Format::Json => {
                w.write_all(b"[")?;
                Sink::Json(w)
            }
            other => {
                return Err(crate::exit::usage(format!(
                    "{other:?} is not written row by row (CSV and JSON are)"
                )))
            }
        };
        Ok(RowWriter {
            columns: all.columns,
            idx,
            sink,
            rows: 0,
            text: String::new(),
            json: Vec::new(),
        })
    }

    /// Writes one row: a cell per column given to [`RowWriter::new`].
    pub fn row(&mut self, cells: &[Cell]) -> Result<()> {
        debug_assert_eq!(cells.len(), self.columns.len());
        let text = &mut self.text;
        match &mut self.sink {
            // As csv_rows writes a report's records.
            Sink::Csv(out) => {
                for &i in &self.idx {
                    match &cells[i] {
                        Cell::Text(s) => out.write_field(csv_safe(s).as_bytes())?,
                        other => {
                            text.clear();
                            other.write_plain(text);
                            out.write_field(text.as_bytes())?;
                        }
                    }
                }
                out.write_record(None::<&[u8]>)?;
            }
            // As serde_json's pretty printer writes json_rows' objects inside the array.
            Sink::Json(w) => {
                let buf = &mut self.json;
                buf.clear();
                buf.extend_from_slice(if self.rows == 0 { b"\n  {" } else { b",\n  {" });
                for (k, &i) in self.idx.iter().enumerate() {
                    buf.extend_from_slice(if k == 0 { b"\n    " } else { b",\n    " });
                    serde_json::to_writer(&mut *buf, &self.columns[i])?;
                    buf.extend_from_slice(b": ");
                    match &cells[i] {
                        Cell::Null => buf.extend_from_slice(b"null"),
                        Cell::Int(n) => write!(buf, "{n}")?,
                        Cell::Bool(b) => buf.extend_from_slice(if *b { b"true" } else { b"false" }),
                        other => {
                            text.clear();
                            other.write_plain(text);
                            serde_json::to_writer(&mut *buf, text.as_str())?;
                        }
                    }
                }
                buf.extend_from_slice(if self.idx.is_empty() { b"}" } else { b"\n  }" });
                w.write_all(buf)?;
            }
        }
        self.rows += 1;
        Ok(())
    }

    /// Ends the listing (JSON's closing bracket) and flushes it.
    pub fn finish(self) -> Result<()> {
        match self.sink {
            Sink::Csv(mut out) => out.flush()?,
            Sink::Json(w) => {
                w.write_all(if self.rows == 0 { b"]\n" } else { b"\n]\n" })?;
                w.flush()?;
            }
        }
        Ok(())
    }
}

/// Runs a writer on `-o FILE` (atomically; owner-only with `--show-pii`, as [`emit`] writes) or
/// on a buffered stdout: for output written as it is made ([`RowWriter`]).
pub fn emit_streamed(ctx: &Ctx, f: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<()> {
    emit_to(ctx, ctx.show_pii, f)
}

/// Runs a writer on `-o FILE` (atomically, owner-only when `private`) or on a buffered stdout.
fn emit_to(ctx: &Ctx, private: bool, f: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<()> {
    match &ctx.output {
        Some(path) => write_file(path, private, f),
        None => {
            let stdout = io::stdout();
            let mut w = BufWriter::new(stdout.lock());
            f(&mut w)?;
            w.flush()?;
            Ok(())
        }
    }
}

/// Renders to `-o FILE` (written as FILE.tmp, then renamed) or to a buffered stdout.
/// Checks `--columns` against the columns of the report a command will emit, built empty before
/// the work (the same constructor, no rows): an unknown name exits 2 before a scan or an import
/// is spent on output that cannot be shown.
pub fn check_columns(ctx: &Ctx, empty: &Report) -> Result<()> {
    match &ctx.columns {
        Some(names) => empty.positions(names).map(drop),
        None => Ok(()),
    }
}

pub fn emit(ctx: &Ctx, report: &Report) -> Result<()> {
    let style = Style {
        color: ctx.color_stdout,
        lang: ctx.lang,
        csv_bom: ctx.csv_bom,
        fit: ctx.terminal_width,
    };
    let selected;
    let report = match &ctx.columns {
        Some(names) => {
            selected = report.clone().select(names)?;
            &selected
        }
        None => report,
    };
    // A file: no colour, no terminal width.
    let style = match &ctx.output {
        Some(_) => Style {
            color: false,
            fit: None,
            ..style
        },
        None => style,
    };
    // With --show-pii the file holds unmasked names, phones and ID numbers: owner-only.
    emit_streamed(ctx, |w| render_styled(w, ctx.format, report, style))
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

/// Renders a document to `-o FILE` or stdout, as [`emit`] does a report.
pub fn emit_document(ctx: &Ctx, doc: &Document) -> Result<()> {
    let color = ctx.output.is_none() && ctx.color_stdout;
    emit_with(ctx, |w| render_document(w, ctx.format, doc, color))
}

/// Runs a writer on `-o FILE` (atomically) or on a buffered stdout.
pub fn emit_with(ctx: &Ctx, f: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<()> {
    emit_to(ctx, false, f)
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

    fn table_of(r: &Report, style: Style) -> String {
        let mut out = Vec::new();
        render_styled(&mut out, Format::Table, r, style).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn totals_row_sums_money_and_ints_and_takes_the_ratio_of_totals() {
        let mut r = Report::new(&["who", "n", "bal", "od", "ratio"]);
        for (who, n, bal, od) in [("a", 1, 10000, 2500), ("b", 3, 30000, 0)] {
            r.push(vec![
                Cell::Text(who.into()),
                Cell::Int(n),
                Cell::Money(Decimal::new(bal, 2)),
                Cell::Money(Decimal::new(od, 2)),
                Cell::Ratio(Decimal::new(od, 0) / Decimal::new(bal, 0)),
            ]);
        }
        let r = r
            .with_totals(&["n", "bal", "od"])
            .with_total_ratio("ratio", "od", "bal");
        let t = table_of(&r, Style::default());
        let total = t.lines().find(|l| l.contains("total (2 rows)")).unwrap();
        // 4 loans, 400.00 balance, 25.00 overdue: 6.25 % (not 25 % + 0 %).
        for part in ["4", "400.00", "25.00", "6.25%"] {
            assert!(total.contains(part), "{part}: {total}");
        }
        // CSV has exactly the two rows.
        let mut out = Vec::new();
        render(&mut out, Format::Csv, &r, false).unwrap();
        assert_eq!(String::from_utf8(out).unwrap().lines().count(), 3);
        // Choosing columns keeps the totals of those that remain.
        let t = table_of(
            &r.select(&["od".into(), "who".into()]).unwrap(),
            Style::default(),
        );
        assert!(t.contains("25.00") && t.contains("total (2 rows)"), "{t}");
    }

    #[test]
    fn select_refuses_an_unknown_column_and_names_the_columns() {
        let e = sample().select(&["due".into(), "x".into()]).unwrap_err();
        let msg = format!("{e:#}");
        assert!(
            msg.contains("no column \"x\"") && msg.contains("loan_id,amount,due,n,note"),
            "{msg}"
        );
        let r = sample().select(&["n".into(), "loan_id".into()]).unwrap();
        assert_eq!(r.columns, ["n", "loan_id"]);
        assert_eq!(r.rows[0], [Cell::Int(3), Cell::Text("L1".into())]);
    }

    #[test]
    fn a_table_on_a_terminal_fits_its_width() {
        let mut r = Report::new(&["loan_id", "reason"]);
        r.push(vec![
            "L1".into(),
            "no visit since reaching 31 dpd (2026-01-04), due by 2026-01-18; no contact within 7 days".into(),
        ]);
        let wide = table_of(&r, Style::default());
        assert!(wide.lines().any(|l| l.chars().count() > 60), "{wide}");
        let fit = table_of(
            &r,
            Style {
                fit: Some(60),
                ..Style::default()
            },
        );
        assert!(fit.lines().all(|l| l.chars().count() <= 60), "{fit}");
        assert!(
            fit.contains("2026-01-18"),
            "nothing is cut, only wrapped: {fit}"
        );
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
    fn rows_given_up_in_two_halves_keep_their_order() {
        struct N(i64);
        impl Tabular for N {
            const COLUMNS: &'static [&'static str] = &["n"];
            fn cells(&self) -> Vec<Cell> {
                vec![Cell::Int(self.0)]
            }
        }
        let rows = || (0..5).map(N).collect::<Vec<_>>();
        let want: Vec<Vec<Cell>> = (0..5).map(|n| vec![Cell::Int(n)]).collect();
        assert_eq!(cells_of(rows(), 1), want);
        assert_eq!(cells_of(rows(), usize::MAX), want);
    }

    #[test]
    fn csv_rendered_in_two_halves_is_the_same_bytes() {
        // Three copies of the sample (odd: the halves differ in length), with a BOM.
        let mut r = sample();
        for row in sample()
            .rows
            .into_iter()
            .chain(sample().rows.into_iter().take(1))
        {
            r.push(row);
        }
        r.push(vec![
            "L3".into(),
            Cell::Bool(true),
            Cell::Ratio(Decimal::new(3, 1)),
            Cell::Int(-7),
            "a,b".into(),
        ]);
        let render = |split| {
            let mut out = Vec::new();
            render_csv_split(&mut out, &r, true, split).unwrap();
            String::from_utf8(out).unwrap()
        };
        let whole = render(usize::MAX);
        assert_eq!(whole.lines().count(), 7);
        assert!(whole.ends_with("L3,true,0.3,-7,\"a,b\"\n"), "{whole}");
        assert_eq!(render(1), whole);
        assert_eq!(render(6), whole);
    }

    #[test]
    fn rows_written_one_at_a_time_are_the_bytes_of_the_whole_report() {
        let mut r = sample();
        r.push(vec![
            "L3 \"q\"\n".into(),
            Cell::Bool(true),
            Cell::Ratio(Decimal::new(3, 1)),
            Cell::Int(-7),
            "-1".into(),
        ]);
        let cols: Vec<&str> = r.columns.iter().map(|c| c.as_str()).collect();
        let pick = vec!["note".to_string(), "loan_id".to_string(), "n".to_string()];
        for format in [Format::Csv, Format::Json] {
            for select in [None, Some(&pick[..])] {
                for (bom, rows) in [(true, &r.rows[..]), (false, &r.rows[..0])] {
                    let mut whole = r.clone();
                    whole.rows = rows.to_vec();
                    if let Some(names) = select {
                        whole = whole.select(names).unwrap();
                    }
                    let style = Style {
                        csv_bom: bom,
                        ..Style::default()
                    };
                    let mut want = Vec::new();
                    render_styled(&mut want, format, &whole, style).unwrap();
                    let mut got = Vec::new();
                    let mut w = RowWriter::new(&mut got, format, &cols, select, bom).unwrap();
                    for row in rows {
                        w.row(row).unwrap();
                    }
                    w.finish().unwrap();
                    assert_eq!(
                        String::from_utf8(got).unwrap(),
                        String::from_utf8(want).unwrap(),
                        "{format:?} {select:?} {bom}"
                    );
                }
            }
        }
        let unknown = vec!["x".to_string()];
        let mut sink = Vec::new();
        assert!(RowWriter::new(&mut sink, Format::Csv, &cols, Some(&unknown), false).is_err());
    }

    #[test]
    fn set_text_overwrites_any_cell() {
        let mut c = Cell::Text("long text".into());
        c.set_text("ab");
        assert_eq!(c, Cell::Text("ab".into()));
        let mut c = Cell::Int(3);
        c.set_text("x");
        assert_eq!(c, Cell::Text("x".into()));
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
