//! `daihou profile`: every convention in effect for every command, and where it comes from
//! (like `git config --show-origin`); `--init` writes a commented profile to start from.
//! The work is `ops::profile`.

use anyhow::Result;
use clap::ArgMatches;

use crate::cli::ProfileArgs;
use crate::context::Ctx;
use crate::ops::profile as op;
use crate::output::{self, Report};
use crate::profile::{self, Profile};

pub use op::init_text;

pub fn run(
    ctx: &Ctx,
    args: &ProfileArgs,
    active: Option<&Profile>,
    matches: Option<&ArgMatches>,
    given: Option<&std::path::Path>,
) -> Result<()> {
    if args.init {
        let path = op::init(&ctx.db, given)?;
        ctx.note(&format!(
            "profile: wrote {} (every built-in default; edit what your bank counts differently)",
            path.display()
        ));
        return Ok(());
    }
    match active {
        Some(p) => ctx.note(&format!(
            "profile: {} (from {})",
            p.path.display(),
            p.found.describe()
        )),
        None => ctx.note(&format!(
            "profile: none ({} not found; `daihou profile --init` writes one)",
            profile::beside_ledger(&[
                "daihou".into(),
                "--db".into(),
                ctx.db.clone().into_os_string()
            ])
            .display()
        )),
    }
    output::emit(ctx, &Report::of(&op::settings(active, matches)))
}
