//! The `daihou` binary: parse the command line, run it, print an error once, exit with its code.

/// See Cargo.toml: rows made on one thread and freed on another are cheaper to free here.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let code = match daihou::run(std::env::args_os()) {
        Ok(()) => 0,
        Err(err) => {
            let code = daihou::exit::code_for(&err);
            if code != 0 {
                daihou::exit::print_error(&err);
            }
            code
        }
    };
    std::process::exit(code);
}
