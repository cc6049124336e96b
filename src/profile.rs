//! The bank profile (`daihou.toml`): one file that sets the default of every convention flag of
//! every command, so the nightly run, an analyst's ad-hoc run and next month's report count the
//! same way.
//!
//! * Which file: `--profile FILE`, else `DAIHOU_PROFILE`, else `daihou.toml` beside the ledger
//!   when it exists ([`locate`]).
//! * What it holds: a `[conventions]` section shared by every command and one section per
//!   command (`[overdue]`, `[classify]`, `[schedule-visits]`, `[report]`, `[restructure]`) that
//!   beats it. Keys are the flags' names in snake_case (`grace_days`, `penalty_multiplier`, …);
//!   rule files (`ladder`, `policy`, `calendar`, and `rules`/`staging` when they name a file)
//!   are paths relative to the profile file.
//! * How it applies: each value becomes the clap default of that flag ([`command`]), so it is
//!   parsed by the flag's own value parser and the precedence is clap's own:
//!   built-in < profile < environment (`DAIHOU_GRACE_DAYS`, … on the shared convention flags)
//!   < flag. Every command that flattens [`ConventionArgs`] picks it up without code of its own.
//! * A profile that names an unknown section or key, a value of the wrong type or one its flag
//!   refuses, or a rule file that does not exist is exit 78 naming the file, line and key.
//!
//! [`ConventionArgs::setup`] then turns the resolved flags into the [`Setup`] a portfolio
//! command runs on.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::NaiveDate;
use clap::CommandFactory;
use toml::Spanned;

use crate::cli::{Cli, ConventionArgs};
use crate::collection::{Ladder, LadderFile};
use crate::engine::Conventions;
use crate::ops::portfolio::Setup;
use crate::rulefile::{self, Invalid};

impl ConventionArgs {
    /// The setup for these dates (ascending, not empty): the engine conventions, the buckets and
    /// the ladder (read from `--ladder`: 66 when missing, 78 with file/line/key when bad).
    pub fn setup(&self, dates: Vec<NaiveDate>) -> Result<Setup> {
        let ladder = match &self.ladder {
            None => Ladder::default(),
            Some(p) => rulefile::load_with(p, |f: LadderFile| Ok(Ladder::from_file(f)?))
                .context("--ladder")?,
        };
        Ok(Setup {
            dates,
            conv: self.conventions(),
            buckets: self.buckets.clone(),
            ladder,
            ladder_file: self.ladder.clone(),
        })
    }

    /// The engine's conventions alone.
    pub fn conventions(&self) -> Conventions {
        Conventions {
            grace_days: self.grace_days,
            tolerance: self.tolerance,
            tolerance_pct: self.tolerance_pct,
            order: self.order.0.clone(),
            penalty_first: self.penalty_first,
            penalty_multiplier: self.penalty_multiplier,
            compound_interest: !self.no_compound,
            prepay: self.prepay,
        }
    }
}

/// The section every command reads (a command's own section beats it).
pub const SHARED: &str = "conventions";

/// The commands a profile can configure, in the order `daihou profile` lists them.
pub const COMMANDS: &[&str] = &[
    "overdue",
    "classify",
    "schedule-visits",
    "report",
    "restructure",
];

/// The flags a profile may set (clap ids = profile keys), wherever a command has them. Filters,
/// dates, output and `--save` are per run, never a convention.
pub const KEYS: &[&str] = &[
    "buckets",
    "grace_days",
    "tolerance",
    "tolerance_pct",
    "penalty_multiplier",
    "no_compound",
    "penalty_first",
    "order",
    "prepay",
    "ladder",
    "rules",
    "staging",
    "grade_labels",
    "policy",
    "calendar",
    "par_exclude_restructured",
];

/// Keys whose value is always a file, relative to the profile.
const FILE_KEYS: &[&str] = &["ladder", "policy", "calendar"];
/// Keys whose value is a built-in name or a file (a file when it has a `/` or ends in `.toml`).
const NAME_OR_FILE_KEYS: &[&str] = &["rules", "staging"];

/// How the profile file was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    Flag,
    Env,
    BesideLedger,
}

impl Found {
    pub fn describe(self) -> &'static str {
        match self {
            Found::Flag => "--profile",
            Found::Env => "DAIHOU_PROFILE",
            Found::BesideLedger => "beside the ledger",
        }
    }
}

/// One value of the profile, checked against its flag.
#[derive(Debug, Clone)]
pub struct Setting {
    /// `conventions` or a command name.
    pub section: String,
    pub key: String,
    /// As the flag takes it (a relative rule file already made relative to the profile).
    pub value: String,
    /// 1-based line in the profile.
    pub line: usize,
}

/// A loaded, checked profile.
#[derive(Debug, Clone)]
pub struct Profile {
    pub path: PathBuf,
    pub found: Found,
    pub settings: Vec<Setting>,
}

impl Profile {
    /// The setting in effect for `key` of `command`: its own section, else the shared one.
    pub fn get(&self, command: &str, key: &str) -> Option<&Setting> {
        let find = |section: &str| {
            self.settings
                .iter()
                .find(|s| s.section == section && s.key == key)
        };
        find(command).or_else(|| find(SHARED))
    }

    /// `file:line` of a setting, as `daihou profile` shows it.
    pub fn origin(&self, s: &Setting) -> String {
        format!("profile {}:{}", self.path.display(), s.line)
    }
}

/// The value of `--NAME VALUE` / `--NAME=VALUE` on a command line, before clap has parsed it
/// (the profile changes what clap accepts, so it is found first).
fn prescan(args: &[OsString], name: &str) -> Option<OsString> {
    let flag = format!("--{name}");
    let eq = format!("--{name}=");
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        let s = a.to_string_lossy();
        if s == "--" {
            break;
        }
        if s == flag {
            return it.next().cloned();
        }
        if let Some(v) = s.strip_prefix(&eq) {
            return Some(v.into());
        }
    }
    None
}

/// Where the profile is, if there is one: `--profile`, `DAIHOU_PROFILE`, or `daihou.toml`
/// beside the ledger (`--db`, `DAIHOU_DB`, `daihou.db`) when that exists.
pub fn locate(args: &[OsString]) -> Option<(PathBuf, Found)> {
    let nonempty = |v: OsString| (!v.is_empty()).then(|| PathBuf::from(v));
    if let Some(p) = prescan(args, "profile").and_then(nonempty) {
        return Some((p, Found::Flag));
    }
    if let Some(p) = std::env::var_os("DAIHOU_PROFILE").and_then(nonempty) {
        return Some((p, Found::Env));
    }
    let p = beside_ledger(args);
    p.is_file().then_some((p, Found::BesideLedger))
}

/// `daihou.toml` in the ledger's folder.
pub fn beside_ledger(args: &[OsString]) -> PathBuf {
    let db = prescan(args, "db")
        .or_else(|| std::env::var_os("DAIHOU_DB"))
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from("daihou.db"), PathBuf::from);
    match db.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join("daihou.toml"),
        _ => PathBuf::from("daihou.toml"),
    }
}

/// The profile's raw form: sections of keys, with the place of every value.
type Raw = BTreeMap<Spanned<String>, Spanned<toml::Value>>;

/// Reads and checks the profile at `path` against the flags of `cmd` (66 when it is missing,
/// 78 naming the file, line and key when anything in it is wrong).
pub fn load(path: &Path, found: Found, cmd: &clap::Command) -> Result<Profile> {
    let (shown, text) = rulefile::read(path).map_err(|e| {
        let how = found.describe();
        e.context(format!("the profile (from {how})"))
    })?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let settings = rulefile::parse_with(&shown, &text, |raw: Raw| check(&text, &dir, raw, cmd))?;
    Ok(Profile {
        path: path.to_path_buf(),
        found,
        settings,
    })
}

/// 1-based line of byte offset `at`.
fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// The arguments of the commands a section configures.
fn section_commands<'c>(cmd: &'c clap::Command, section: &str) -> Vec<&'c clap::Command> {
    cmd.get_subcommands()
        .filter(|c| section == SHARED || c.get_name() == section)
        .filter(|c| COMMANDS.contains(&c.get_name()))
        .collect()
}

fn check(text: &str, dir: &Path, raw: Raw, cmd: &clap::Command) -> Result<Vec<Setting>, Invalid> {
    let mut out = Vec::new();
    for (section, table) in raw {
        let name = section.get_ref().as_str();
        let known = name == SHARED || COMMANDS.contains(&name);
        let toml::Value::Table(_) = table.get_ref() else {
            let msg = if known {
                format!("`{name}` is a section: write [{name}] and its settings under it")
            } else {
                format!(
                    "settings go in a section: [{SHARED}] for every command, or [{}]",
                    COMMANDS.join("], [")
                )
            };
            return Err(Invalid::at(section.span(), msg).key(name));
        };
        if !known {
            return Err(Invalid::at(
                section.span(),
                format!(
                    "unknown section [{name}]; expected [{SHARED}] (every command) or [{}]",
                    COMMANDS.join("], [")
                ),
            )
            .key(name));
        }
        // Spans of the keys inside the section: parse the section again as its own map.
        let inner: BTreeMap<Spanned<String>, Spanned<toml::Value>> = toml::from_str::<
            BTreeMap<String, BTreeMap<Spanned<String>, Spanned<toml::Value>>>,
        >(text)
        .ok()
        .and_then(|mut m| m.remove(name))
        .unwrap_or_default();
        let commands = section_commands(cmd, name);
        for (key, value) in inner {
            let k = key.get_ref().as_str();
            let dotted = format!("{name}.{k}");
            let at = value.span();
            let found = commands
                .iter()
                .find_map(|c| c.get_arguments().find(|a| a.get_id() == k).map(|a| (*c, a)))
                .filter(|_| KEYS.contains(&k));
            let Some((sub, arg)) = found else {
                let mut keys: Vec<&str> = KEYS
                    .iter()
                    .copied()
                    .filter(|key| {
                        commands
                            .iter()
                            .any(|c| c.get_arguments().any(|a| a.get_id() == *key))
                    })
                    .collect();
                keys.dedup();
                return Err(Invalid::at(
                    key.span(),
                    format!(
                        "unknown key `{k}` in [{name}]; expected one of {}",
                        keys.join(", ")
                    ),
                )
                .key(dotted));
            };
            let flag = format!("--{}", arg.get_long().unwrap_or(k));
            let takes_value = arg.get_action().takes_values();
            let wrong = |expected: &str| {
                Invalid::at(
                    at.clone(),
                    format!(
                        "expected {expected} (as {flag} takes), found {}",
                        value.get_ref().type_str()
                    ),
                )
                .key(dotted.clone())
            };
            let mut v = match (value.get_ref(), takes_value) {
                (toml::Value::Boolean(b), false) => b.to_string(),
                (_, false) => return Err(wrong("true or false")),
                (toml::Value::String(s), true) => s.clone(),
                (toml::Value::Integer(i), true) => i.to_string(),
                (toml::Value::Float(f), true) => f.to_string(),
                (toml::Value::Array(items), true) if matches!(k, "order" | "buckets") => {
                    let mut parts = Vec::new();
                    for item in items {
                        match item {
                            toml::Value::String(s) => parts.push(s.clone()),
                            toml::Value::Integer(i) => parts.push(i.to_string()),
                            _ => return Err(wrong("a string or a list of strings")),
                        }
                    }
                    parts.join(",")
                }
                (_, true) => return Err(wrong("a string or a number")),
            };
            let is_file = FILE_KEYS.contains(&k)
                || (NAME_OR_FILE_KEYS.contains(&k) && (v.contains('/') || v.ends_with(".toml")));
            if is_file {
                let p = dir.join(&v);
                if !p.is_file() {
                    return Err(Invalid::at(
                        at.clone(),
                        format!(
                            "no such file: {} (rule files are named relative to the profile)",
                            p.display()
                        ),
                    )
                    .key(dotted));
                }
                v = p.display().to_string();
            }
            if takes_value {
                // The flag's own parser, on a command of that flag alone.
                let one = clap::Command::new(leak(sub.get_name()))
                    .no_binary_name(true)
                    .arg(arg.clone());
                if let Err(e) = one.try_get_matches_from([format!("{flag}={v}")]) {
                    return Err(Invalid::at(at.clone(), clap_message(&e)).key(dotted));
                }
            }
            out.push(Setting {
                section: name.to_string(),
                key: k.to_string(),
                value: v,
                line: line_of(text, key.span().start),
            });
        }
    }
    Ok(out)
}

/// The one-line reason of a clap value error, without clap's "error: " and usage lines.
fn clap_message(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let first = text.lines().next().unwrap_or("invalid value").trim();
    first.strip_prefix("error: ").unwrap_or(first).to_string()
}

/// The command line's parser with the profile's values as the defaults of their flags.
pub fn command(profile: Option<&Profile>) -> clap::Command {
    let mut cmd = Cli::command();
    let Some(p) = profile else {
        return cmd;
    };
    for name in COMMANDS {
        let Some(sub) = cmd.find_subcommand(name) else {
            continue;
        };
        let present: Vec<(String, &'static str)> = KEYS
            .iter()
            .filter(|k| sub.get_arguments().any(|a| a.get_id() == **k))
            .filter_map(|k| p.get(name, k).map(|s| (k.to_string(), leak(&s.value))))
            .collect();
        if present.is_empty() {
            continue;
        }
        cmd = cmd.mut_subcommand(name, |mut sub| {
            for (k, v) in present {
                sub = sub.mut_arg(k, |a| a.default_value(v));
            }
            sub
        });
    }
    cmd
}

/// clap (without its `string` feature) keeps defaults as `&'static str`; a profile is read once
/// per process.
fn leak(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

/// Finds and loads the profile for this command line. With `--help` or `--version` a bad profile
/// is passed over, so help always works.
pub fn for_args(args: &[OsString]) -> Result<Option<Profile>> {
    let Some((path, found)) = locate(args) else {
        return Ok(None);
    };
    match load(&path, found, &Cli::command()) {
        Ok(p) => Ok(Some(p)),
        Err(_) if asks_help(args) => Ok(None),
        // `profile --init` creates the file --profile names.
        Err(_) if !path.exists() && args.iter().any(|a| a == "--init") => Ok(None),
        Err(e) => Err(e),
    }
}

fn asks_help(args: &[OsString]) -> bool {
    args.iter().skip(1).any(|a| {
        matches!(
            a.to_str(),
            Some("-h" | "--help" | "-V" | "--version" | "help")
        )
    })
}

/// The settings in which two conventions records (the JSON saved with a run) differ, as
/// `key saved (now active)`, in the active record's key order. A key the older record lacks
/// (saved before the setting existed) counts as its built-in value and is not named; so is a key
/// only one side has (a classify run records its rule sets, an overdue run does not). A nested
/// record (classify's `engine`) is read as its settings, so the two kinds of runs compare.
pub fn differences(saved: &str, active: &str) -> Vec<String> {
    fn flat(
        out: &mut serde_json::Map<String, serde_json::Value>,
        m: serde_json::Map<String, serde_json::Value>,
    ) {
        for (k, v) in m {
            match v {
                serde_json::Value::Object(inner) => flat(out, inner),
                v => {
                    out.insert(k, v);
                }
            }
        }
    }
    let parse = |s: &str| {
        let m = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(s)?;
        let mut out = serde_json::Map::new();
        flat(&mut out, m);
        Ok::<_, serde_json::Error>(out)
    };
    let (Ok(saved), Ok(active)) = (parse(saved), parse(active)) else {
        return Vec::new();
    };
    let show = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "built-in".to_string(),
        other => other.to_string(),
    };
    active
        .iter()
        .filter_map(|(k, now)| {
            let then = saved.get(k)?;
            (then != now).then(|| format!("{k} {} (now {})", show(then), show(now)))
        })
        .collect()
}

/// One stderr line when saved results were computed under other conventions than `active`:
/// `PREFIX: note: WHAT saved for D1, D2 … were computed under other conventions: key saved
/// (now active), …`. `runs` are (date, conventions JSON); nothing is said when all agree.
/// Said at most once per process (a process runs one command), so a command that reads saved
/// runs in two places may call it at both.
pub fn note_other_conventions(
    ctx: &crate::context::Ctx,
    prefix: &str,
    what: &str,
    runs: &[(NaiveDate, String)],
    active: &str,
) {
    let mut dates = Vec::new();
    let mut named: Vec<String> = Vec::new();
    for (d, saved) in runs {
        let diff = differences(saved, active);
        if diff.is_empty() {
            continue;
        }
        if !dates.contains(d) {
            dates.push(*d);
        }
        for x in diff {
            if !named.contains(&x) {
                named.push(x);
            }
        }
    }
    static SAID: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if dates.is_empty() || SAID.swap(true, std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    let shown: Vec<String> = dates.iter().take(3).map(|d| d.to_string()).collect();
    let more = match dates.len() {
        n if n > 3 => format!(" and {} more dates", n - 3),
        _ => String::new(),
    };
    ctx.note(&format!(
        "{prefix}: note: {what} saved for {}{more} were computed under other conventions: {}",
        shown.join(", "),
        named.join(", ")
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit;

    fn load_text(text: &str) -> Result<Profile> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("daihou.toml");
        std::fs::write(&path, text).unwrap();
        std::fs::write(dir.path().join("ladder.toml"), "").unwrap();
        load(&path, Found::Flag, &Cli::command())
    }

    fn err(text: &str) -> String {
        let e = load_text(text).unwrap_err();
        assert_eq!(exit::code_for(&e), 78, "{e:#}");
        format!("{e:#}")
    }

    #[test]
    fn a_command_section_beats_the_shared_one() {
        let p = load_text(
            "[conventions]\ngrace_days = 3\ntolerance = 0.5\n[overdue]\ngrace_days = 5\n",
        )
        .unwrap();
        assert_eq!(p.get("overdue", "grace_days").unwrap().value, "5");
        assert_eq!(p.get("overdue", "grace_days").unwrap().line, 5);
        assert_eq!(p.get("overdue", "tolerance").unwrap().value, "0.5");
        assert_eq!(p.get("overdue", "tolerance").unwrap().line, 3);
        assert!(p.get("overdue", "prepay").is_none());
    }

    #[test]
    fn lists_and_booleans_take_their_toml_types() {
        let p = load_text(
            "[overdue]\norder = [\"interest\", \"principal\", \"fee\"]\nno_compound = true\n",
        )
        .unwrap();
        assert_eq!(
            p.get("overdue", "order").unwrap().value,
            "interest,principal,fee"
        );
        assert_eq!(p.get("overdue", "no_compound").unwrap().value, "true");
    }

    #[test]
    fn bad_profiles_name_file_line_and_key() {
        let e = err("[overdue]\ngrace_dayz = 3\n");
        assert!(
            e.contains("line 2") && e.contains("key overdue.grace_dayz"),
            "{e}"
        );
        assert!(
            e.contains("unknown key `grace_dayz`") && e.contains("grace_days"),
            "{e}"
        );
        let e = err("[conventions]\n\ngrace_days = \"three\"\n");
        assert!(
            e.contains("line 3") && e.contains("key conventions.grace_days"),
            "{e}"
        );
        let e = err("[overdue]\nno_compound = \"yes\"\n");
        assert!(
            e.contains("expected true or false") && e.contains("found string"),
            "{e}"
        );
        let e = err("[overdue]\nladder = \"missing.toml\"\n");
        assert!(
            e.contains("no such file") && e.contains("key overdue.ladder"),
            "{e}"
        );
        let e = err("[overdu]\ngrace_days = 1\n");
        assert!(
            e.contains("unknown section [overdu]") && e.contains("line 1"),
            "{e}"
        );
        let e = err("grace_days = 1\n");
        assert!(e.contains("settings go in a section"), "{e}");
        let e = err("[overdue]\npenalty_multiplier = 11\n");
        assert!(e.contains("between 0 and 10"), "{e}");
        // A filter is per run, not a convention.
        let e = err("[overdue]\nofficer = \"x\"\n");
        assert!(e.contains("unknown key `officer`"), "{e}");
    }

    #[test]
    fn differences_name_each_changed_setting_with_both_values() {
        let saved =
            r#"{"grace_days":3,"tolerance":"0.50","ladder":null,"order":"fee,interest,principal"}"#;
        let active = r#"{"grace_days":0,"tolerance":"0.50","tolerance_pct":"1","ladder":"l.toml","order":"fee,interest,principal"}"#;
        assert_eq!(
            differences(saved, active),
            ["grace_days 3 (now 0)", "ladder built-in (now l.toml)"]
        );
        assert!(differences(active, active).is_empty());
        assert!(differences("not json", active).is_empty());
        // A classify run nests the engine's settings and adds its rule sets.
        let classify = r#"{"engine":{"grace_days":3,"tolerance":"0.50"},"rules":"cn2023"}"#;
        assert_eq!(differences(classify, active), ["grace_days 3 (now 0)"]);
        assert_eq!(
            differences(classify, r#"{"engine":{"grace_days":5},"rules":"mine"}"#),
            ["grace_days 3 (now 5)", "rules cn2023 (now mine)"]
        );
    }

    #[test]
    fn rule_files_are_relative_to_the_profile() {
        let p = load_text("[overdue]\nladder = \"ladder.toml\"\n").unwrap();
        let v = &p.get("overdue", "ladder").unwrap().value;
        assert!(
            Path::new(v).is_absolute() && v.ends_with("ladder.toml"),
            "{v}"
        );
    }

    #[test]
    fn the_profile_is_found_by_flag_env_or_beside_the_ledger() {
        let args = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            prescan(&args(&["daihou", "--profile=a.toml", "overdue"]), "profile"),
            Some("a.toml".into())
        );
        assert_eq!(
            prescan(
                &args(&["daihou", "overdue", "--", "--profile", "x"]),
                "profile"
            ),
            None
        );
        assert_eq!(
            beside_ledger(&args(&["daihou", "--db", "/srv/bank/bank.db"])),
            PathBuf::from("/srv/bank/daihou.toml")
        );
    }
}
