//! The `daihou` binary: parse the command line, run it, print an error once, exit with its code.

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
