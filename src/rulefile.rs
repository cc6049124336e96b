//! Reading a TOML rules file: one helper for every kind of rule data (the collection ladder,
//! classification rule sets, IFRS 9 staging, …).
//!
//! * [`load`] reads a file and deserialises it into `T`. A missing or unreadable file is exit 66
//!   naming it; bad TOML, an unknown key (`T` must use `#[serde(deny_unknown_fields)]`), a missing
//!   key or a value of the wrong type is exit 78 naming the file, line, column and key.
//! * [`load_with`] does the same and then runs a validation step that turns the file's form into
//!   the domain value; its [`Invalid`] errors may carry the span of the offending value (take it
//!   from a [`toml::Spanned`] field) and are reported the same way, with exit 78.
//! * [`parse`] / [`parse_with`] do the same on text already in memory, and [`parse_builtin`] reads a
//!   compiled-in file (an error there is a bug in daihou, but it is still reported, not a panic).
//!
//! The key is worked out from the error's position: the `[table]` or `[[table]]` header above it
//! and the `key =` on its line, e.g. `step.from_dpd`. Messages read
//! `rules.toml line 3, column 1, key step.colour: unknown field `colour`, expected one of …`.
//! Values from a rules file are configuration, never borrower data, so they may be quoted.

use std::ops::Range;
use std::path::Path;

use anyhow::Result;
use serde::de::DeserializeOwned;

use crate::exit;

/// A problem found after parsing, optionally at a place in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// Byte range of the offending key or value in the text, when known.
    pub span: Option<Range<usize>>,
    /// The dotted key, when the span does not say it well enough (e.g. `grades.次级`).
    pub key: Option<String>,
    pub message: String,
}

impl Invalid {
    /// A problem with no known place (e.g. "no `[[step]]`").
    pub fn new(message: impl Into<String>) -> Invalid {
        Invalid {
            span: None,
            key: None,
            message: message.into(),
        }
    }

    /// A problem at `span`.
    pub fn at(span: Range<usize>, message: impl Into<String>) -> Invalid {
        Invalid {
            span: Some(span),
            key: None,
            message: message.into(),
        }
    }

    /// Names the key explicitly.
    pub fn key(mut self, key: impl Into<String>) -> Invalid {
        self.key = Some(key.into());
        self
    }
}

impl From<String> for Invalid {
    fn from(message: String) -> Invalid {
        Invalid::new(message)
    }
}

/// Reads and deserialises the rules file at `path` (66 when missing, 78 when invalid).
pub fn load<T: DeserializeOwned>(path: &Path) -> Result<T> {
    load_with(path, Ok::<T, Invalid>)
}

/// Reads `path`, deserialises it into `T`, then validates it into `U` (66 when missing, 78 when
/// invalid).
pub fn load_with<T, U>(path: &Path, validate: impl FnOnce(T) -> Result<U, Invalid>) -> Result<U>
where
    T: DeserializeOwned,
{
    let (shown, text) = read(path)?;
    parse_with(&shown, &text, validate)
}

/// Reads the rules file at `path` as UTF-8 text: (the name to show in errors, the text). For a
/// validation that needs the text itself (to place a key), pass both to [`parse_with`].
pub fn read(path: &Path) -> Result<(String, String)> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => exit::no_input(format!("{shown}: no such file")),
        _ if path.is_dir() => exit::no_input(format!("{shown}: is a folder, not a rules file")),
        _ => exit::no_input(format!("{shown}: cannot read: {e}")),
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let (line, col) = line_col(
            &String::from_utf8_lossy(e.as_bytes()),
            e.utf8_error().valid_up_to(),
        );
        exit::config(format!(
            "{shown} line {line}, column {col}: not UTF-8 text (a TOML file must be UTF-8)"
        ))
    })?;
    Ok((shown, text))
}

/// Deserialises `text`, naming it `origin` in errors (78 when invalid).
pub fn parse<T: DeserializeOwned>(origin: &str, text: &str) -> Result<T> {
    parse_with(origin, text, Ok::<T, Invalid>)
}

/// Deserialises `text` into `T` and validates it into `U`, naming it `origin` in errors.
pub fn parse_with<T, U>(
    origin: &str,
    text: &str,
    validate: impl FnOnce(T) -> Result<U, Invalid>,
) -> Result<U>
where
    T: DeserializeOwned,
{
    let file: T = toml::from_str(text).map_err(|e| {
        exit::config(describe(
            origin,
            text,
            e.span(),
            None,
            e.message().trim_end(),
        ))
    })?;
    validate(file).map_err(|inv| {
        exit::config(describe(
            origin,
            text,
            inv.span.clone(),
            inv.key.as_deref(),
            &inv.message,
        ))
    })
}

/// Parses a compiled-in rules file called `name` (e.g. `built-in rules cn2023`).
pub fn parse_builtin<T: DeserializeOwned>(name: &str, text: &str) -> Result<T> {
    parse(&format!("built-in {name}"), text)
}

/// `origin line L, column C, key K: message`, leaving out what is not known.
fn describe(
    origin: &str,
    text: &str,
    span: Option<Range<usize>>,
    key: Option<&str>,
    message: &str,
) -> String {
    let mut out = origin.to_string();
    let mut key = key.map(str::to_string);
    if let Some(span) = span {
        let at = span.start.min(text.len());
        let (line, col) = line_col(text, at);
        out.push_str(&format!(" line {line}, column {col}"));
        if key.is_none() {
            key = key_at(text, span);
        }
    }
    if let Some(k) = key.filter(|k| !k.is_empty()) {
        out.push_str(&format!(", key {k}"));
    }
    out.push_str(": ");
    out.push_str(message);
    out
}

/// 1-based line and column (in characters) of byte offset `at`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, text[line_start..at].chars().count() + 1)
}

/// The dotted key at `span`: the nearest table header above it plus the key on its line.
fn key_at(text: &str, span: Range<usize>) -> Option<String> {
    let mut at = span.start.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    let line = &text[line_start..line_end];
    let in_line = at - line_start;
    if let Some(h) = header(line) {
        return Some(h);
    }
    // The table this line belongs to.
    let table = text[..line_start]
        .lines()
        .rev()
        .find_map(header)
        .unwrap_or_default();
    let key = local_key(line, in_line, &text[at..span.end.clamp(at, line_end)]);
    match (table.is_empty(), key) {
        (_, None) if table.is_empty() => None,
        (_, None) => Some(table),
        (true, Some(k)) => Some(k),
        (false, Some(k)) => Some(format!("{table}.{k}")),
    }
}

/// `[a.b]` or `[[a.b]]` → `a.b`.
fn header(line: &str) -> Option<String> {
    let t = line.trim();
    let t = t.split_once('#').map_or(t, |(a, _)| a).trim();
    let inner = t
        .strip_prefix("[[")
        .and_then(|r| r.strip_suffix("]]"))
        .or_else(|| t.strip_prefix('[').and_then(|r| r.strip_suffix(']')))?;
    if inner.contains('=') || inner.contains(',') {
        return None;
    }
    Some(unquote_key(inner))
}

/// The key of the `key = value` pair at `in_line` (a byte offset into `line`), with the keys of
/// any inline tables around it (`limits = { max = 1 }` → `limits.max`).
fn local_key(line: &str, in_line: usize, span_text: &str) -> Option<String> {
    let before = &line[..in_line.min(line.len())];
    let key_before = |upto: usize| -> Option<String> {
        let eq = before[..upto].rfind('=')?;
        let start = before[..eq].rfind(['{', ',']).map_or(0, |i| i + 1);
        let k = before[start..eq].trim();
        (!k.is_empty()).then(|| unquote_key(k))
    };
    // The span is the key itself when `=` follows it; otherwise it is a value and the key is
    // before the last `=` preceding it.
    let after = &line[(in_line + span_text.len()).min(line.len())..];
    let own = if !span_text.trim().is_empty() && after.trim_start().starts_with('=') {
        unquote_key(span_text)
    } else {
        key_before(before.len())?
    };
    let mut open = Vec::new();
    for (i, c) in before.char_indices() {
        match c {
            '{' => open.push(i),
            '}' => {
                open.pop();
            }
            _ => {}
        }
    }
    let mut parts: Vec<String> = open.iter().filter_map(|&p| key_before(p)).collect();
    if parts.last() != Some(&own) {
        parts.push(own);
    }
    Some(parts.join("."))
}

fn unquote_key(k: &str) -> String {
    k.split('.')
        .map(|p| p.trim().trim_matches('"').trim_matches('\''))
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Step {
        from_dpd: u32,
        action: String,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct File {
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        step: Vec<Step>,
        #[serde(default)]
        limits: Option<Limits>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Limits {
        max: u32,
    }

    fn err_of(text: &str) -> (i32, String) {
        let e = parse::<File>("r.toml", text).unwrap_err();
        (exit::code_for(&e), format!("{e:#}"))
    }

    #[test]
    fn errors_name_line_column_and_key() {
        let cases: &[(&str, &str)] = &[
            (
                "[[step]]\nfrom_dpd = 1\naction = \"a\"\ncolour = 1\n",
                "r.toml line 4, column 1, key step.colour: unknown field `colour`",
            ),
            (
                "name = \"x\"\n\n[[step]]\nfrom_dpd = -1\naction = \"a\"\n",
                "r.toml line 4, column 12, key step.from_dpd: invalid value",
            ),
            (
                "[[step]]\nfrom_dpd = \"ten\"\naction = \"a\"\n",
                "r.toml line 2, column 12, key step.from_dpd: invalid type",
            ),
            (
                "name = 3\n",
                "r.toml line 1, column 8, key name: invalid type",
            ),
            (
                "[limits]\nmax = 1\nmin = 0\n",
                "r.toml line 3, column 1, key limits.min: unknown field `min`",
            ),
            (
                "[limit]\nmax = 1\n",
                "line 1, column 2, key limit: unknown field `limit`",
            ),
            (
                "limits = { max = 1, min = 2 }\n",
                "key limits.min: unknown field",
            ),
            ("name = \"x\" [\n", "r.toml line 1, column 12"),
        ];
        for &(text, want) in cases {
            let (code, msg) = err_of(text);
            assert_eq!(code, 78, "{text:?}");
            assert!(msg.contains(want), "{text:?}:\n{msg}\nwanted: {want}");
        }
        // A missing key names the table.
        let (_, msg) = err_of("[[step]]\nfrom_dpd = 1\n");
        assert!(msg.contains("missing field `action`"), "{msg}");
        assert!(msg.contains("key step"), "{msg}");
    }

    #[test]
    fn validation_errors_are_placed_too() {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct F {
            n: toml::Spanned<u32>,
        }
        let v = |f: F| -> Result<u32, Invalid> {
            let n = *f.n.get_ref();
            if n > 5 {
                return Err(Invalid::at(f.n.span(), format!("{n} is more than 5")));
            }
            Ok(n)
        };
        let e = parse_with("r.toml", "# c\nn = 7\n", v).unwrap_err();
        assert_eq!(exit::code_for(&e), 78);
        assert_eq!(
            format!("{e:#}"),
            "r.toml line 2, column 5, key n: 7 is more than 5"
        );
        assert_eq!(parse_with("r.toml", "n = 3", v).unwrap(), 3);
        let e = parse_with("r.toml", "n = 3", |_: F| -> Result<(), Invalid> {
            Err(Invalid::new("no steps").key("step"))
        })
        .unwrap_err();
        assert_eq!(format!("{e:#}"), "r.toml, key step: no steps");
    }

    #[test]
    fn missing_file_is_66_and_bad_bytes_78() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("nope.toml");
        let e = load::<File>(&p).unwrap_err();
        assert_eq!(exit::code_for(&e), 66);
        assert!(format!("{e:#}").contains("nope.toml: no such file"));
        let e = load::<File>(dir.path()).unwrap_err();
        assert_eq!(exit::code_for(&e), 66);
        let p = dir.path().join("gbk.toml");
        std::fs::write(&p, b"name = \"\xc4\xe3\"\n").unwrap();
        let e = load::<File>(&p).unwrap_err();
        assert_eq!(exit::code_for(&e), 78);
        assert!(
            format!("{e:#}").contains("line 1, column 9: not UTF-8"),
            "{e:#}"
        );
        let p = dir.path().join("ok.toml");
        std::fs::write(&p, "[[step]]\nfrom_dpd = 3\naction = \"x\"\n").unwrap();
        assert_eq!(load::<File>(&p).unwrap().step[0].from_dpd, 3);
        let e = parse_builtin::<File>("rules x", "nope = 1").unwrap_err();
        assert!(
            format!("{e:#}").starts_with("built-in rules x line 1"),
            "{e:#}"
        );
    }
}
