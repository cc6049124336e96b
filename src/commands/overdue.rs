//! `daihou overdue` (being built).

use anyhow::Result;

use crate::cli::OverdueArgs;
use crate::context::Ctx;
use crate::exit;

pub fn run(_ctx: &Ctx, _args: &OverdueArgs) -> Result<()> {
    Err(exit::usage(
        "`daihou overdue` is not built yet; see the README's roadmap",
    ))
}
