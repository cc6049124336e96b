//! `Ctx`: everything the global flags decide, resolved once (as fd's `Config`).
//! The as-of date is read from the clock here and nowhere else.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use chrono::NaiveDate;

use crate::cli::{ColorChoice, Format, GlobalArgs};
use crate::exit;
use crate::i18n::Lang;

/// Resolved global settings.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub db: PathBuf,
    pub as_of: NaiveDate,
    /// True when `--as-of` (or DAIHOU_AS_OF) was given rather than defaulted to today.
    pub as_of_given: bool,
    pub format: Format,
    pub output: Option<PathBuf>,
    pub quiet: bool,
    pub verbose: bool,
    /// Colour in a table written to a terminal.
    pub color_stdout: bool,
    /// Colour in messages on stderr.
    pub color_stderr: bool,
    pub busy_timeout: Duration,
    pub show_pii: bool,
    /// Language of tables.
    pub lang: Lang,
    /// A UTF-8 BOM before CSV output.
    pub csv_bom: bool,
    /// The width of the terminal standard output writes to (not with `-o`): tables fit it.
    pub terminal_width: Option<u16>,
    /// `--columns`: only these columns, in this order.
    pub columns: Option<Vec<String>>,
}

/// `--as-of latest`: the date of the latest repayment or follow-up in the ledger (the day the
/// tape was cut, in practice).
fn latest_fact_date(db: &std::path::Path, busy_timeout: u64) -> Result<NaiveDate> {
    let conn = crate::db::open(db, crate::db::Mode::Read, Duration::from_secs(busy_timeout))?;
    crate::db::latest_fact_date(&conn)?.ok_or_else(|| {
        exit::data(format!(
            "--as-of latest: the ledger {} holds no repayment or follow-up to take the date from",
            db.display()
        ))
    })
}

impl Ctx {
    /// Resolves the global flags. `today` is passed in so tests can pin it.
    pub fn from_args(g: &GlobalArgs, today: NaiveDate) -> Result<Ctx> {
        let (as_of, as_of_given) = match g.as_of.as_deref().map(str::trim) {
            None | Some("") => (today, false),
            Some("latest") => (latest_fact_date(&g.db, g.busy_timeout)?, true),
            Some(s) => match crate::dates::parse_iso(s) {
                Ok(d) => (d, true),
                Err(e) => {
                    // Name where the value came from: a bad DAIHOU_AS_OF in a crontab is not
                    // found by reading the command line.
                    let from_env = std::env::var("DAIHOU_AS_OF").is_ok_and(|v| v.trim() == s);
                    let source = if from_env {
                        "DAIHOU_AS_OF (the environment variable behind --as-of)"
                    } else {
                        "--as-of"
                    };
                    return Err(exit::usage(format!("{source} \"{s}\" {e}")));
                }
            },
        };
        let env_allows_color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            && std::env::var("TERM").map_or(true, |t| t != "dumb");
        let decide = |tty: bool| match g.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => tty && env_allows_color,
        };
        let stdout_tty = g.output.is_none() && std::io::stdout().is_terminal();
        Ok(Ctx {
            db: g.db.clone(),
            as_of,
            as_of_given,
            format: g.format,
            output: g.output.clone(),
            quiet: g.quiet,
            verbose: g.verbose,
            color_stdout: decide(stdout_tty) && g.format == Format::Table,
            color_stderr: decide(std::io::stderr().is_terminal()),
            busy_timeout: Duration::from_secs(g.busy_timeout),
            show_pii: g.show_pii,
            lang: g
                .lang
                .unwrap_or_else(|| Lang::from_locale(|k| std::env::var(k).ok())),
            csv_bom: g.csv_bom,
            terminal_width: if stdout_tty {
                comfy_table::Table::new().width()
            } else {
                None
            },
            columns: g.columns.clone(),
        })
    }

    /// A summary or warning line on stderr, unless `-q`.
    pub fn note(&self, line: &str) {
        if !self.quiet {
            eprintln!("{line}");
        }
    }

    /// A per-step timing line on stderr, only with `-v`.
    pub fn debug(&self, line: &str) {
        if self.verbose {
            eprintln!("daihou: {line}");
        }
    }
}
