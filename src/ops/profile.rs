//! The `profile` op: every convention in effect for every command and where it comes from,
//! and the commented default profile that `profile --init` writes.

use std::io::Write;

use anyhow::Result;
use clap::{ArgMatches, Args, CommandFactory};

use crate::cli::{Cli, ConventionArgs};
use crate::exit;
use crate::output::{Cell, Tabular};
use crate::profile::{self, Profile, COMMANDS, KEYS, SHARED};

/// One convention of one command: its value and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    pub command: &'static str,
    pub key: &'static str,
    pub value: String,
    /// built-in, profile FILE:LINE, environment VAR or flag --x.
    pub origin: String,
}

impl Tabular for Setting {
    const COLUMNS: &'static [&'static str] = &["command", "key", "value", "origin"];

    fn cells(&self) -> Vec<Cell> {
        vec![
            Cell::Text(self.command.to_string()),
            Cell::Text(self.key.to_string()),
            Cell::Text(self.value.clone()),
            Cell::Text(self.origin.clone()),
        ]
    }
}

/// The settings of every command as `daihou profile` was called (`matches`: its flags and
/// environment as clap saw them) under the `active` profile.
pub fn settings(active: Option<&Profile>, matches: Option<&ArgMatches>) -> Vec<Setting> {
    let mut plain = Cli::command();
    plain.build();
    let mut rows = Vec::new();
    for name in COMMANDS {
        let Some(sub) = plain.find_subcommand(name) else {
            continue;
        };
        for key in KEYS {
            let Some(arg) = sub.get_arguments().find(|a| a.get_id() == *key) else {
                continue;
            };
            // Flags and environment variables as clap saw them (the shared convention flags
            // are flags of `daihou profile` too), so an origin is exactly what a command gets.
            use clap::parser::ValueSource;
            let seen = matches.and_then(|m| {
                // try_contains_id first: value_source panics on an id `profile` does not have.
                if !m.try_contains_id(key).unwrap_or(false) {
                    return None;
                }
                let source = m.value_source(key)?;
                let raw: Vec<String> = m
                    .get_raw(key)
                    .into_iter()
                    .flatten()
                    .map(|v| v.to_string_lossy().into_owned())
                    .collect();
                // A switch shows what it resolved to (DAIHOU_NO_COMPOUND=0 is false).
                let shown = match m.try_get_one::<bool>(key) {
                    Ok(Some(b)) if !arg.get_action().takes_values() => b.to_string(),
                    _ => raw.join(","),
                };
                Some((source, shown))
            });
            let (value, origin) = if let Some((ValueSource::CommandLine, raw)) = &seen {
                let long = arg.get_long().unwrap_or(key);
                (raw.clone(), format!("flag --{long}"))
            } else if let (Some((ValueSource::EnvVariable, raw)), Some(e)) = (&seen, arg.get_env())
            {
                (raw.clone(), format!("environment {}", e.to_string_lossy()))
            } else if let Some(s) = active.and_then(|p| p.get(name, key)) {
                (
                    s.value.clone(),
                    active.map(|p| p.origin(s)).unwrap_or_default(),
                )
            } else {
                (builtin(arg), "built-in".into())
            };
            rows.push(Setting {
                command: name,
                key,
                value,
                origin,
            });
        }
    }
    rows
}

/// The built-in default of a flag as text ("" when it has none).
fn builtin(arg: &clap::Arg) -> String {
    let d: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    d.join(",")
}

/// Writes the commented default profile to `--profile` (else daihou.toml beside the ledger),
/// never over an existing file (73).
pub fn init(db: &std::path::Path, given: Option<&std::path::Path>) -> Result<std::path::PathBuf> {
    let path = match given {
        Some(p) => p.to_path_buf(),
        None => profile::beside_ledger(&[
            "daihou".into(),
            "--db".into(),
            db.as_os_str().to_os_string(),
        ]),
    };
    let text = init_text();
    let mut f = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(exit::fail(
                exit::Code::CantCreate,
                format!(
                    "{} exists; `profile --init` never overwrites a profile (edit it, or move it away first)",
                    path.display()
                ),
            ))
        }
        Err(e) => {
            return Err(exit::fail(
                exit::Code::CantCreate,
                format!("cannot create {}: {e}", path.display()),
            ))
        }
    };
    f.write_all(text.as_bytes()).map_err(|e| {
        exit::fail(
            exit::Code::CantCreate,
            format!("cannot write {}: {e}", path.display()),
        )
    })?;
    Ok(path)
}

/// The commented profile holding every key with its built-in default (examples/daihou.toml is
/// this text; a test keeps them equal).
pub fn init_text() -> String {
    let mut plain = Cli::command();
    plain.build();
    // The shared section documents the shared struct's own flags.
    let mut conv = ConventionArgs::augment_args(clap::Command::new("x"));
    conv.build();
    let shared: Vec<String> = conv
        .get_arguments()
        .map(|a| a.get_id().to_string())
        .collect();
    let mut out = String::from(
        "# daihou profile: how this bank counts, read by every command (`daihou profile` shows the\n\
         # settings in effect and where each comes from).\n\
         #\n\
         # Found as: --profile FILE, else $DAIHOU_PROFILE, else daihou.toml beside the ledger.\n\
         # Precedence: built-in < this file < environment (DAIHOU_GRACE_DAYS, …; shared conventions\n\
         # only) < a flag on the command line. A command's own section beats [conventions].\n\
         # Rule files are paths relative to this file. Keys are the flags' names in snake_case.\n\
         # Every value below is the built-in default; keys without one are commented out.\n",
    );
    let mut sections: Vec<(&str, Vec<&clap::Arg>)> = Vec::new();
    let shared_args: Vec<&clap::Arg> = KEYS
        .iter()
        .filter_map(|k| conv.get_arguments().find(|a| a.get_id() == *k))
        .collect();
    sections.push((SHARED, shared_args));
    for name in COMMANDS {
        let Some(sub) = plain.find_subcommand(name) else {
            continue;
        };
        let own: Vec<&clap::Arg> = KEYS
            .iter()
            .filter(|k| !shared.iter().any(|s| s == *k))
            .filter_map(|k| sub.get_arguments().find(|a| a.get_id() == *k))
            .collect();
        sections.push((name, own));
    }
    for (name, args) in sections {
        out.push('\n');
        if name == SHARED {
            out.push_str("# Shared by every command that assesses the book.\n");
        }
        out.push_str(&format!("[{name}]\n"));
        if args.is_empty() {
            out.push_str("# (no settings of its own yet; it reads [conventions])\n");
        }
        for a in args {
            let help = a.get_long_help().or(a.get_help()).map(|h| h.to_string());
            let mut help = help.unwrap_or_default().replace('\n', " ");
            if let Some(e) = a.get_env() {
                help.push_str(&format!(" (env {})", e.to_string_lossy()));
            }
            for line in wrap(&help, 96) {
                out.push_str(&format!("# {line}\n"));
            }
            let id = a.get_id().as_str();
            let d = builtin(a);
            let line = if !a.get_action().takes_values() {
                format!("{id} = {}", if d.is_empty() { "false" } else { &d })
            } else if d.is_empty() {
                format!("# {id} = \"{id}.toml\"")
            } else if d.bytes().all(|b| b.is_ascii_digit()) {
                format!("{id} = {d}")
            } else {
                format!("{id} = \"{d}\"")
            };
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    for w in text.split_whitespace() {
        if !cur.is_empty() && cur.chars().count() + 1 + w.chars().count() > width {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(w);
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}
