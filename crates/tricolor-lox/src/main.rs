//! The `tricolor-lox` command: `tricolor-lox [--dump] [--gc-stress]
//! [--gc-stats] [FILE.lox]`. See [`tricolor_lox::cli`].
//!
//! The collector is configured from the `TRICOLOR_*` environment variables
//! (`TRICOLOR_GOGC`, `TRICOLOR_MEMORY_LIMIT`, `TRICOLOR_GCTRACE`, ...);
//! `--gc-stress` turns on its stress mode, `--gc-stats` its per-cycle trace
//! and a statistics summary at exit (both on stderr).
#![forbid(unsafe_code)]

use std::cell::RefCell;

use tricolor::Heap;
use tricolor_lox::cli::run_cli_with;
use tricolor_lox::stats::print_stats;
use tricolor_lox::{Vm, VmOptions};

fn main() {
    let heap: RefCell<Option<(Heap, bool)>> = RefCell::new(None);
    let code = run_cli_with(std::env::args_os().skip(1), |options| {
        let mut vm_options = VmOptions::from_env(options.gc_stress).unwrap_or_else(|e| {
            eprintln!("tricolor-lox: {e}");
            std::process::exit(tricolor_lox::cli::EXIT_USAGE);
        });
        if options.gc_stats {
            vm_options.config.gctrace = true;
        }
        let vm = Vm::new(vm_options).unwrap_or_else(|e| {
            eprintln!("tricolor-lox: {e}");
            std::process::exit(tricolor_lox::cli::EXIT_USAGE);
        });
        *heap.borrow_mut() = Some((vm.heap().clone(), options.gc_stats));
        vm
    });
    if let Some((heap, true)) = heap.into_inner() {
        print_stats(&mut std::io::stderr(), &heap.stats());
    }
    std::process::exit(code);
}
