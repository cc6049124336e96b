//! Deterministic synthetic loan tape for performance runs: see `daihou::synth` for what it holds.
//!
//! ```text
//! cargo run --release --example gen_tape -- --loans 1000000 --seed 7 --as-of 2026-06-30 OUT/
//! ```

use std::process::ExitCode;

fn main() -> ExitCode {
    let args = match daihou::synth::parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("gen_tape: {e}\n{}", daihou::synth::USAGE);
            return ExitCode::from(2);
        }
    };
    match daihou::synth::run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen_tape: {e}");
            ExitCode::from(1)
        }
    }
}
