//! The `tricolor-lox` command: `tricolor-lox [--dump] [--gc-stress]
//! [--gc-stats] [FILE.lox]`. See [`tricolor_lox::cli`].

fn main() {
    let code = tricolor_lox::cli::run_cli(std::env::args_os().skip(1));
    std::process::exit(code);
}
