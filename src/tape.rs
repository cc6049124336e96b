//! Reading tape files: opening (file or stdin), encodings (UTF-8 with or without BOM,
//! GBK/GB18030), the header check against the CSV contract or a mapping, and a row accessor.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use anyhow::Result;
use sha2::{Digest, Sha256};

use crate::exit;
use crate::mapping::Section;
use crate::records::{Kind, ParseOptions, Row};

/// The text encodings a tape may be in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextEncoding {
    Utf8,
    Gb18030,
}

/// Where a tape comes from.
#[derive(Clone, Debug)]
pub enum Input {
    Path(PathBuf),
    /// Standard input, read whole before the import starts.
    Stdin(Arc<Vec<u8>>),
}

impl Input {
    /// The name used in messages: the file name as given (never its contents).
    pub fn display(&self) -> String {
        match self {
            Input::Path(p) => p.display().to_string(),
            Input::Stdin(_) => "stdin".to_string(),
        }
    }

    pub fn byte_len(&self) -> Option<u64> {
        match self {
            Input::Path(p) => std::fs::metadata(p).ok().map(|m| m.len()),
            Input::Stdin(b) => Some(b.len() as u64),
        }
    }
}

/// Hashes (sha256) and counts the raw bytes as the CSV reader pulls them.
struct Tee<R> {
    inner: R,
    state: Rc<RefCell<TeeState>>,
}

#[derive(Default)]
pub struct TeeState {
    pub hasher: Sha256,
    pub bytes: u64,
    pub progress: Option<indicatif::ProgressBar>,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut st = self.state.borrow_mut();
        st.hasher.update(&buf[..n]);
        st.bytes += n as u64;
        if let Some(p) = &st.progress {
            p.set_position(st.bytes);
        }
        Ok(n)
    }
}

/// How a contract column is filled for each row.
#[derive(Clone, Debug)]
enum Source {
    Index(usize),
    Const(String),
    Template(Vec<Part>),
    Absent,
}

#[derive(Clone, Debug)]
enum Part {
    Lit(String),
    Col(usize),
}

/// The resolved column plan of one file: contract column → where its value comes from.
#[derive(Clone, Debug)]
pub struct Plan {
    cols: Vec<(&'static str, Source)>,
    skip_if_empty: Vec<usize>,
}

/// A tape file opened for reading, with its header checked.
pub struct Tape {
    pub kind: Kind,
    pub input: Input,
    pub name: String,
    pub plan: Plan,
    pub opts: ParseOptions,
    reader: csv::Reader<Box<dyn Read>>,
    line_offset: u64,
    encoding: TextEncoding,
    state: Rc<RefCell<TeeState>>,
}

/// Everything that decides how a file is read.
#[derive(Clone, Debug)]
pub struct ReadSpec<'a> {
    pub kind: Kind,
    pub encoding: TextEncoding,
    pub delimiter: u8,
    pub skip_rows: usize,
    pub section: Option<&'a Section>,
}

/// A reader over standard input's bytes, kept so a file can be read twice.
struct SharedBytes {
    data: Arc<Vec<u8>>,
    pos: usize,
}

impl Read for SharedBytes {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let rest = &self.data[self.pos.min(self.data.len())..];
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.pos += n;
        Ok(n)
    }
}

fn open_raw(input: &Input) -> Result<Box<dyn Read>> {
    Ok(match input {
        Input::Path(p) => {
            let md = std::fs::metadata(p).map_err(|e| match e.kind() {
                io::ErrorKind::NotFound => exit::no_input(format!("{}: no such file", p.display())),
                _ => exit::no_input(format!("{}: cannot read: {e}", p.display())),
            })?;
            if md.is_dir() {
                return Err(exit::no_input(format!(
                    "{}: is a directory, expected a CSV file",
                    p.display()
                )));
            }
            let f = File::open(p)
                .map_err(|e| exit::no_input(format!("{}: cannot open: {e}", p.display())))?;
            Box::new(f)
        }
        Input::Stdin(bytes) => Box::new(SharedBytes {
            data: bytes.clone(),
            pos: 0,
        }),
    })
}

impl Tape {
    /// Opens `input`, checks its encoding and header, and resolves the column plan.
    pub fn open(input: Input, spec: &ReadSpec<'_>, progress: bool) -> Result<Tape> {
        // Row errors name the file as the user gave it (a tape folder's files by their path in it).
        let name = input.display();
        let raw = open_raw(&input)?;
        let state = Rc::new(RefCell::new(TeeState::default()));
        if progress {
            if let Some(len) = input.byte_len() {
                let pb = indicatif::ProgressBar::new(len);
                pb.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{msg} [{bar:30}] {bytes}/{total_bytes} ({eta})",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
                pb.set_message(format!("import {name}"));
                state.borrow_mut().progress = Some(pb);
            }
        }
        let mut tee = BufReader::with_capacity(
            256 * 1024,
            Tee {
                inner: raw,
                state: state.clone(),
            },
        );
        // Sniff byte-order marks.
        let head = tee.fill_buf()?.to_vec();
        if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
            return Err(exit::data(format!(
                "{name}: the file is UTF-16; daihou reads UTF-8 or GBK/GB18030 (convert it with `iconv -f UTF-16 -t UTF-8`)"
            )));
        }
        if head.is_empty() {
            return Err(exit::data(format!(
                "{name}: the file is empty; expected a header row"
            )));
        }
        let decoded: Box<dyn Read> = match spec.encoding {
            TextEncoding::Utf8 => {
                if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
                    tee.consume(3);
                }
                Box::new(tee)
            }
            TextEncoding::Gb18030 => Box::new(BufReader::with_capacity(
                256 * 1024,
                encoding_rs_io::DecodeReaderBytesBuilder::new()
                    .encoding(Some(encoding_rs::GB18030))
                    .bom_sniffing(true)
                    .build(tee),
            )),
        };
        let mut decoded = BufReader::with_capacity(64 * 1024, decoded);
        let mut line_offset = 0u64;
        for _ in 0..spec.skip_rows {
            let mut skipped = Vec::new();
            if decoded.read_until(b'\n', &mut skipped)? == 0 {
                break;
            }
            line_offset += 1;
        }
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(spec.delimiter)
            .flexible(false)
            .buffer_capacity(256 * 1024)
            .from_reader(Box::new(decoded) as Box<dyn Read>);
        let headers = match reader.headers() {
            Ok(h) => h.clone(),
            Err(e) => return Err(csv_fatal(&name, line_offset, e)),
        };
        if headers.is_empty() || headers.iter().all(|h| h.trim().is_empty()) {
            return Err(exit::data(format!(
                "{name}: the file is empty; expected a header row"
            )));
        }
        let plan = Plan::resolve(&name, spec.kind, &headers, spec.section)?;
        let opts = ParseOptions {
            date_formats: spec.section.and_then(|s| s.date_formats.clone()),
            term_unit: spec.section.map(|s| s.term_unit).unwrap_or_default(),
        };
        Ok(Tape {
            kind: spec.kind,
            input,
            name,
            plan,
            opts,
            reader,
            line_offset,
            encoding: spec.encoding,
            state,
        })
    }

    /// Reads the next record into `rec`. `Ok(None)` at the end; `Ok(Some(Err(msg)))` is a row
    /// error (ragged row) that the caller counts; `Err` is fatal (encoding, I/O).
    pub fn next(&mut self, rec: &mut csv::StringRecord) -> Result<Option<Result<u64, String>>> {
        match self.reader.read_record(rec) {
            Ok(true) => {
                crate::hooks::pause_at("import-row");
                let line = rec.position().map_or(0, |p| p.line()) + self.line_offset;
                // The GB18030 decoder replaces bytes it cannot read with U+FFFD instead of failing;
                // storing that would silently corrupt names (typically a UTF-8 file read as GBK).
                if self.encoding == TextEncoding::Gb18030 && rec.as_slice().contains('\u{FFFD}') {
                    return Err(exit::data(format!(
                        "{} line {line}: not valid GBK/GB18030; if the file is UTF-8, drop --encoding (or the mapping's encoding)",
                        self.name
                    )));
                }
                Ok(Some(Ok(line)))
            }
            Ok(false) => Ok(None),
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line()) + self.line_offset;
                match e.kind() {
                    csv::ErrorKind::UnequalLengths {
                        expected_len, len, ..
                    } => {
                        // A row running over several lines usually means a quote left open.
                        let end = self.reader.position().line() + self.line_offset;
                        let hint = if end > line + 1 {
                            format!(
                                "; the row runs over {} lines: is a quote left open?",
                                end - line
                            )
                        } else {
                            String::new()
                        };
                        Ok(Some(Err(format!(
                            "{} line {line}: has {len} fields, expected {expected_len} as in the header{hint}",
                            self.name
                        ))))
                    }
                    _ => Err(csv_fatal(&self.name, self.line_offset, e)),
                }
            }
        }
    }

    /// A view of the current record through the column plan.
    pub fn row<'a>(&'a self, rec: &'a csv::StringRecord) -> RowView<'a> {
        RowView {
            plan: &self.plan,
            rec,
        }
    }

    /// True when a mapping's `skip_if_empty` column is empty in this record.
    pub fn skipped(&self, rec: &csv::StringRecord) -> bool {
        self.plan
            .skip_if_empty
            .iter()
            .any(|&i| rec.get(i).is_none_or(|v| v.trim().is_empty()))
    }

    /// The sha256 (hex) and byte count of everything read so far.
    pub fn finish(self) -> (String, u64) {
        let st = self.state.borrow();
        if let Some(p) = &st.progress {
            p.finish_and_clear();
        }
        let digest = st.hasher.clone().finalize();
        (
            digest.iter().map(|b| format!("{b:02x}")).collect(),
            st.bytes,
        )
    }
}

fn csv_fatal(name: &str, line_offset: u64, e: csv::Error) -> anyhow::Error {
    let line = e.position().map_or(0, |p| p.line()) + line_offset;
    match e.kind() {
        csv::ErrorKind::Utf8 { err, .. } => exit::data(format!(
            "{name} line {line}, field {}: not valid UTF-8; if the tape comes from a GBK system, pass --encoding gbk",
            err.field() + 1
        )),
        csv::ErrorKind::Io(io_err) => exit::data(format!("{name} line {line}: cannot read: {io_err}")),
        _ => exit::data(format!("{name} line {line}: {e}")),
    }
}

impl Plan {
    /// Matches the header against the contract (or the mapping section) and lists every missing,
    /// unknown or duplicated column in one error.
    pub fn resolve(
        name: &str,
        kind: Kind,
        headers: &csv::StringRecord,
        section: Option<&Section>,
    ) -> Result<Plan> {
        let header: Vec<String> = headers
            .iter()
            .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
            .collect();
        let find = |col: &str| header.iter().position(|h| h.eq_ignore_ascii_case(col));
        let all: Vec<&'static str> = kind
            .required()
            .iter()
            .chain(kind.optional())
            .copied()
            .collect();
        if section.is_none() && !all.iter().any(|c| find(c).is_some()) {
            // No contract column at all: most likely the header row is missing and this line is
            // data, which may hold borrower names, phones or ID numbers, so none of it is shown.
            return Err(exit::data(format!(
                "{name}: the first line has none of the {} column names: is the header row missing, \
                 or is this a foreign tape (which needs --map)? Its values are not shown, as they may \
                 hold borrower data; expected columns: {}",
                kind.as_str(),
                all.join(", ")
            )));
        }
        let mut problems = Vec::new();
        let mut dups: Vec<&str> = Vec::new();
        for (i, h) in header.iter().enumerate() {
            if header[..i].iter().any(|p| p.eq_ignore_ascii_case(h)) && !dups.contains(&h.as_str())
            {
                dups.push(h);
            }
        }
        if !dups.is_empty() {
            problems.push(format!("duplicated column(s) {}", dups.join(", ")));
        }
        let mut cols = Vec::with_capacity(all.len());
        let mut missing = Vec::new();
        let mut mapped_missing = Vec::new();
        for &col in &all {
            let src = match section {
                Some(sec) if sec.columns.contains_key(col) => {
                    let spec = &sec.columns[col];
                    if spec.contains('{') {
                        match parse_template(spec, &find) {
                            Ok(parts) => Source::Template(parts),
                            Err(missing_col) => {
                                mapped_missing.push(format!(
                                    "{col} = \"{spec}\" ({missing_col} is not a column)"
                                ));
                                Source::Absent
                            }
                        }
                    } else {
                        match find(spec) {
                            Some(i) => Source::Index(i),
                            None => {
                                mapped_missing.push(format!("{col} = \"{spec}\""));
                                Source::Absent
                            }
                        }
                    }
                }
                Some(sec) if sec.constants.contains_key(col) => {
                    Source::Const(sec.constants[col].clone())
                }
                _ => match find(col) {
                    Some(i) => Source::Index(i),
                    None => {
                        if kind.required().contains(&col) {
                            missing.push(col);
                        }
                        Source::Absent
                    }
                },
            };
            cols.push((col, src));
        }
        if !missing.is_empty() {
            problems.push(format!("missing column(s) {}", missing.join(", ")));
        }
        if !mapped_missing.is_empty() {
            problems.push(format!(
                "the mapping names column(s) the file does not have: {}",
                mapped_missing.join(", ")
            ));
        }
        if section.is_none() {
            let unknown: Vec<&str> = header
                .iter()
                .filter(|h| !all.iter().any(|c| c.eq_ignore_ascii_case(h)))
                .map(String::as_str)
                .collect();
            if !unknown.is_empty() {
                problems.push(format!(
                    "unknown column(s) {} (a foreign tape needs --map)",
                    unknown
                        .iter()
                        .map(|u| if u.is_empty() { "(empty name)" } else { u })
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        let mut skip_if_empty = Vec::new();
        if let Some(sec) = section {
            for c in &sec.skip_if_empty {
                match find(c) {
                    Some(i) => skip_if_empty.push(i),
                    None => {
                        problems.push(format!("skip_if_empty names {c}, which is not a column"))
                    }
                }
            }
        }
        if !problems.is_empty() {
            return Err(exit::data(format!(
                "{name}: header does not match the {} contract: {}; expected columns: {}",
                kind.as_str(),
                problems.join("; "),
                all.join(", ")
            )));
        }
        Ok(Plan {
            cols,
            skip_if_empty,
        })
    }
}

fn parse_template(spec: &str, find: &dyn Fn(&str) -> Option<usize>) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut rest = spec;
    while let Some(start) = rest.find('{') {
        if start > 0 {
            parts.push(Part::Lit(rest[..start].to_string()));
        }
        let Some(end) = rest[start..].find('}') else {
            return Err("an unclosed {".to_string());
        };
        let col = &rest[start + 1..start + end];
        parts.push(Part::Col(find(col).ok_or_else(|| col.to_string())?));
        rest = &rest[start + end + 1..];
    }
    if !rest.is_empty() {
        parts.push(Part::Lit(rest.to_string()));
    }
    Ok(parts)
}

/// One record seen through the plan.
pub struct RowView<'a> {
    plan: &'a Plan,
    rec: &'a csv::StringRecord,
}

impl Row for RowView<'_> {
    fn get(&self, column: &str) -> Cow<'_, str> {
        let Some((_, src)) = self.plan.cols.iter().find(|(c, _)| *c == column) else {
            return Cow::Borrowed("");
        };
        match src {
            Source::Index(i) => Cow::Borrowed(self.rec.get(*i).unwrap_or("").trim()),
            Source::Const(s) => Cow::Borrowed(s.as_str()),
            Source::Absent => Cow::Borrowed(""),
            Source::Template(parts) => {
                let mut s = String::new();
                for p in parts {
                    match p {
                        Part::Lit(l) => s.push_str(l),
                        Part::Col(i) => s.push_str(self.rec.get(*i).unwrap_or("").trim()),
                    }
                }
                Cow::Owned(s)
            }
        }
    }
}

/// The tape files of a folder, by kind.
pub type TapeFiles = Vec<(Kind, PathBuf)>;

/// The tape files in folder `dir` (loans.csv, schedule.csv, repayments.csv, followups.csv,
/// any case), in contract order, and the other files in it, which are not imported (hidden
/// files, starting with `.`, and a README are left out). A folder with no tape file is exit 66.
pub fn tape_files(dir: &Path) -> Result<(TapeFiles, Vec<PathBuf>)> {
    let entries = std::fs::read_dir(dir).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => exit::no_input(format!("{}: no such folder", dir.display())),
        _ => exit::no_input(format!("{}: cannot read the folder: {e}", dir.display())),
    })?;
    let mut names: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    names.sort();
    let mut found = Vec::new();
    for kind in Kind::ALL {
        let want = format!("{}.csv", kind.as_str());
        if let Some(p) = names.iter().find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().eq_ignore_ascii_case(&want))
        }) {
            found.push((kind, p.clone()));
        }
    }
    if found.is_empty() {
        return Err(exit::no_input(format!(
            "{}: no tape files found; expected loans.csv, schedule.csv, repayments.csv, followups.csv or restructures.csv",
            dir.display()
        )));
    }
    let ignored = names
        .into_iter()
        .filter(|p| p.is_file() && !found.iter().any(|(_, f)| f == p))
        .filter(|p| {
            p.file_name().is_some_and(|n| {
                let n = n.to_string_lossy();
                !n.starts_with('.') && !n.to_ascii_lowercase().starts_with("readme")
            })
        })
        .collect();
    Ok((found, ignored))
}

#[cfg(test)]
mod prop_tests {
    //! The CSV reader never panics, whatever bytes it is given: each kind, each encoding, with
    //! and without a mapping, every row read through `next` and parsed through `row()`.

    use super::*;
    use crate::mapping::Mapping;
    use crate::records;
    use proptest::prelude::*;

    use crate::test_support::prop_config as config;

    const LOANS: &str = "\
loan_id,borrower_id,borrower_name,borrower_type,region,branch,officer,product,currency,principal,annual_rate,origination_date,term_months,repayment_method,repayment_frequency,collateral,phone,id_number
LN1,BR1,张三,individual,浙江省杭州市,西湖支行,陈立新,个人消费贷款,CNY,80000.00,9.0,2023-01-16,24,annuity,monthly,信用,13641016150,330106198304234540
LN2,BR2,\"李, 四\",corporate,江苏,苏州支行,王建国,经营贷,CNY,1000000,4.35%,2023-03-15,36,equal_principal,quarterly,\"房产\"\"抵押\"\"\",,
LN3,BR3,王五,individual,,,,,CNY,5000.5,0,2024-02-29,1,bullet,monthly,,13800000000,
";

    /// A mapping whose sections use the contract names, a template and date formats.
    const MAPPING: &str = r#"
        date_formats = ["%Y-%m-%d", "%d/%m/%Y", "%Y-%m-%d %H:%M"]
        [loans]
        columns = { loan_id = "{loan_id}-{borrower_id}", principal = "principal" }
        constants = { status = "normal" }
        skip_if_empty = ["phone"]
        [schedule]
        columns = { loan_id = "loan_id" }
        [repayments]
        constants = { channel = "x" }
        [followups]
    "#;

    #[derive(Clone, Debug)]
    enum Edit {
        Insert(usize, u8),
        Delete(usize),
        Replace(usize, u8),
    }

    fn edits() -> impl Strategy<Value = Vec<Edit>> {
        let byte = prop_oneof![
            Just(b'\0'),
            Just(b'"'),
            Just(b','),
            Just(b'\r'),
            Just(b'\n'),
            Just(b'{'),
            Just(0xFF),
            Just(0xC3),
            Just(0xE4),
            Just(0xEF),
            Just(0xFE),
            any::<u8>(),
        ];
        let edit = prop_oneof![
            (any::<usize>(), byte.clone()).prop_map(|(i, b)| Edit::Insert(i, b)),
            any::<usize>().prop_map(Edit::Delete),
            (any::<usize>(), byte).prop_map(|(i, b)| Edit::Replace(i, b)),
        ];
        prop::collection::vec(edit, 1..12)
    }

    fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
        for e in edits {
            match *e {
                Edit::Insert(i, b) => {
                    let at = i % (bytes.len() + 1);
                    bytes.insert(at, b);
                }
                Edit::Delete(i) if !bytes.is_empty() => {
                    let at = i % bytes.len();
                    bytes.remove(at);
                }
                Edit::Replace(i, b) if !bytes.is_empty() => {
                    let at = i % bytes.len();
                    bytes[at] = b;
                }
                _ => {}
            }
        }
        bytes
    }

    /// Reads `bytes` as every kind, in both encodings, plain and through the mapping.
    fn read_all(bytes: Vec<u8>, skip_rows: usize) -> usize {
        let data = Arc::new(bytes);
        let mapping = Mapping::parse(MAPPING).unwrap();
        let mut rows = 0;
        for kind in Kind::ALL {
            for encoding in [TextEncoding::Utf8, TextEncoding::Gb18030] {
                for section in [None, mapping.section(kind)] {
                    let spec = ReadSpec {
                        kind,
                        encoding,
                        delimiter: b',',
                        skip_rows,
                        section,
                    };
                    let Ok(mut tape) = Tape::open(Input::Stdin(data.clone()), &spec, false) else {
                        continue;
                    };
                    let mut rec = csv::StringRecord::new();
                    while let Ok(Some(next)) = tape.next(&mut rec) {
                        if next.is_err() || tape.skipped(&rec) {
                            continue;
                        }
                        rows += 1;
                        let row = tape.row(&rec);
                        let _ = match kind {
                            Kind::Loans => records::parse_loan(&row, &tape.opts).map(|_| ()),
                            Kind::Schedule => records::parse_schedule(&row, &tape.opts).map(|_| ()),
                            Kind::Repayments => {
                                records::parse_repayment(&row, &tape.opts).map(|_| ())
                            }
                            Kind::Followups => {
                                records::parse_followup(&row, &tape.opts).map(|_| ())
                            }
                            Kind::Restructures => {
                                records::parse_restructure(&row, &tape.opts).map(|_| ())
                            }
                            Kind::Overrides => {
                                records::parse_override(&row, &tape.opts).map(|_| ())
                            }
                            Kind::Events => records::parse_event(&row, &tape.opts).map(|_| ()),
                        };
                    }
                    let (sha, n) = tape.finish();
                    assert_eq!(sha.len(), 64);
                    assert!(n <= data.len() as u64);
                }
            }
        }
        rows
    }

    #[test]
    fn the_valid_tape_reads_as_loans() {
        let data = Arc::new(LOANS.as_bytes().to_vec());
        let spec = ReadSpec {
            kind: Kind::Loans,
            encoding: TextEncoding::Utf8,
            delimiter: b',',
            skip_rows: 0,
            section: None,
        };
        let mut tape = Tape::open(Input::Stdin(data), &spec, false).unwrap();
        let mut rec = csv::StringRecord::new();
        let mut ok = 0;
        while let Some(next) = tape.next(&mut rec).unwrap() {
            next.unwrap();
            records::parse_loan(&tape.row(&rec), &tape.opts).unwrap();
            ok += 1;
        }
        assert_eq!(ok, 3);
        assert!(read_all(LOANS.as_bytes().to_vec(), 0) >= 3);
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400), skip in 0usize..3) {
            read_all(bytes, skip);
        }

        #[test]
        fn mutated_loans_never_panic(edits in edits(), bom in any::<bool>(), crlf in any::<bool>(), skip in 0usize..2) {
            let mut text = LOANS.to_string();
            if crlf {
                text = text.replace('\n', "\r\n");
            }
            let mut bytes = text.into_bytes();
            if bom {
                bytes.splice(0..0, [0xEF, 0xBB, 0xBF]);
            }
            read_all(apply(bytes, &edits), skip);
        }
    }
}
