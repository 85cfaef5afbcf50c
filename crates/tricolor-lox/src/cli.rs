//! The command line of the `tricolor-lox` binary: argument parsing, the
//! REPL, and clox's exit codes. The virtual machine plugs in through the
//! [`Backend`] trait.

use std::ffi::OsString;
use std::io::{self, BufRead, Write};
use std::path::PathBuf;
use std::rc::Rc;

use crate::chunk::FunctionProto;
use crate::compiler::compile;
use crate::disassemble::disassemble_function;

/// Exit status for a command-line usage error (clox's, from `sysexits.h`).
pub const EXIT_USAGE: i32 = 64;
/// Exit status after compile errors.
pub const EXIT_COMPILE_ERROR: i32 = 65;
/// Exit status after a runtime error.
pub const EXIT_RUNTIME_ERROR: i32 = 70;
/// Exit status when the script file cannot be read.
pub const EXIT_IO_ERROR: i32 = 74;

const USAGE: &str = "Usage: tricolor-lox [--dump] [--gc-stress] [--gc-stats] [path]";

/// The parsed command line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// The script to run; `None` starts the REPL.
    pub path: Option<PathBuf>,
    /// `--dump`: print the disassembly instead of running.
    pub dump: bool,
    /// `--gc-stress`: collect garbage as often as possible (for the VM).
    pub gc_stress: bool,
    /// `--gc-stats`: print collector statistics at exit (for the VM).
    pub gc_stats: bool,
}

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Run (or dump) a script, or start the REPL.
    Run(Options),
    /// `--help` / `-h`: print the usage line.
    Help,
}

/// Parses the arguments (without the program name). Flags may appear
/// anywhere; at most one path is accepted. An error is a message for
/// stderr.
pub fn parse_args<I, A>(args: I) -> Result<Command, String>
where
    I: IntoIterator<Item = A>,
    A: Into<OsString>,
{
    let mut options = Options::default();
    for arg in args {
        let arg: OsString = arg.into();
        match arg.to_str() {
            Some("--dump") => options.dump = true,
            Some("--gc-stress") => options.gc_stress = true,
            Some("--gc-stats") => options.gc_stats = true,
            Some("--help" | "-h") => return Ok(Command::Help),
            Some(flag) if flag.starts_with("--") => {
                return Err(format!("tricolor-lox: unknown option '{flag}'\n{USAGE}"));
            }
            _ if options.path.is_some() => return Err(USAGE.to_owned()),
            _ => options.path = Some(PathBuf::from(arg)),
        }
    }
    Ok(Command::Run(options))
}

/// The outcome of interpreting a program (clox's `InterpretResult`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InterpretResult {
    /// The program ran to completion.
    Ok,
    /// The program did not compile.
    CompileError,
    /// The program stopped with a runtime error.
    RuntimeError,
}

impl InterpretResult {
    /// The exit status clox uses for this outcome: 0, 65 or 70.
    pub fn exit_code(self) -> i32 {
        match self {
            InterpretResult::Ok => 0,
            InterpretResult::CompileError => EXIT_COMPILE_ERROR,
            InterpretResult::RuntimeError => EXIT_RUNTIME_ERROR,
        }
    }
}

/// What runs compiled programs: the virtual machine.
///
/// One backend serves a whole session, so in the REPL global state carries
/// over from one line to the next, as in clox.
pub trait Backend {
    /// Runs a compiled script, printing its output to stdout and any
    /// runtime error (message, then stack trace) to stderr. Returns
    /// [`InterpretResult::Ok`] or [`InterpretResult::RuntimeError`].
    fn run(&mut self, script: Rc<FunctionProto>) -> InterpretResult;
}

/// The backend used until the VM exists: it runs nothing and reports so.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoVm;

impl Backend for NoVm {
    fn run(&mut self, _script: Rc<FunctionProto>) -> InterpretResult {
        eprintln!("tricolor-lox: the VM is not built yet");
        InterpretResult::RuntimeError
    }
}

/// Runs the command line (arguments without the program name) with the
/// [`NoVm`] backend; returns the process exit status.
pub fn run_cli<I, A>(args: I) -> i32
where
    I: IntoIterator<Item = A>,
    A: Into<OsString>,
{
    run_cli_with(args, |_| NoVm)
}

/// Runs the command line (arguments without the program name) with the
/// backend `make_backend` builds from the options; returns the process
/// exit status:
///
/// * `tricolor-lox FILE` compiles and runs the file: 0, 65 after compile
///   errors (printed to stderr), 70 after a runtime error, 74 if the file
///   cannot be read;
/// * `--dump` prints the disassembly instead of running (exit 0);
/// * without a path, a REPL compiles and runs each line of stdin;
/// * a usage error exits 64.
pub fn run_cli_with<I, A, B, F>(args: I, make_backend: F) -> i32
where
    I: IntoIterator<Item = A>,
    A: Into<OsString>,
    B: Backend,
    F: FnOnce(&Options) -> B,
{
    let options = match parse_args(args) {
        Ok(Command::Run(options)) => options,
        Ok(Command::Help) => {
            println!("{USAGE}");
            return 0;
        }
        Err(message) => {
            eprintln!("{message}");
            return EXIT_USAGE;
        }
    };
    let mut backend = make_backend(&options);
    match &options.path {
        Some(path) => run_file(path, &options, &mut backend),
        None => repl(&options, &mut backend),
    }
}

fn run_file(path: &std::path::Path, options: &Options, backend: &mut impl Backend) -> i32 {
    let source = match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes)
            .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned()),
        Err(_) => {
            eprintln!("Could not open file \"{}\".", path.display());
            return EXIT_IO_ERROR;
        }
    };
    interpret(&source, options, backend).exit_code()
}

/// Compiles `source`, then dumps it or hands it to the backend.
fn interpret(source: &str, options: &Options, backend: &mut impl Backend) -> InterpretResult {
    let script = match compile(source) {
        Ok(script) => script,
        Err(errors) => {
            for error in errors.errors() {
                eprintln!("{error}");
            }
            return InterpretResult::CompileError;
        }
    };
    if options.dump {
        let _ = io::stdout()
            .lock()
            .write_all(disassemble_function(&script).as_bytes());
        return InterpretResult::Ok;
    }
    backend.run(script)
}

fn repl(options: &Options, backend: &mut impl Backend) -> i32 {
    let stdin = io::stdin();
    let mut input = stdin.lock();
    let mut line = Vec::new();
    loop {
        {
            let mut stdout = io::stdout().lock();
            let _ = stdout.write_all(b"> ");
            let _ = stdout.flush();
        }
        line.clear();
        match input.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => {
                println!();
                return 0;
            }
            Ok(_) => {
                let source = String::from_utf8_lossy(&line);
                interpret(&source, options, backend);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_flags_and_path() {
        assert_eq!(
            parse_args(["--gc-stress", "a.lox", "--dump", "--gc-stats"]),
            Ok(Command::Run(Options {
                path: Some("a.lox".into()),
                dump: true,
                gc_stress: true,
                gc_stats: true,
            }))
        );
        assert_eq!(
            parse_args(Vec::<String>::new()),
            Ok(Command::Run(Options::default()))
        );
        assert_eq!(parse_args(["-h"]), Ok(Command::Help));
        assert!(parse_args(["a.lox", "b.lox"]).is_err());
        assert!(parse_args(["--bogus"]).is_err());
    }

    #[test]
    fn exit_codes() {
        assert_eq!(InterpretResult::Ok.exit_code(), 0);
        assert_eq!(InterpretResult::CompileError.exit_code(), 65);
        assert_eq!(InterpretResult::RuntimeError.exit_code(), 70);
        let missing = "/nonexistent/definitely/missing.lox";
        assert_eq!(run_cli([missing]), EXIT_IO_ERROR);
        assert_eq!(run_cli(["--bogus"]), EXIT_USAGE);
    }

    #[test]
    fn backend_receives_the_script() {
        struct Recorder(Vec<Rc<FunctionProto>>);
        impl Backend for &mut Recorder {
            fn run(&mut self, script: Rc<FunctionProto>) -> InterpretResult {
                self.0.push(script);
                InterpretResult::Ok
            }
        }
        let dir = std::env::temp_dir().join(format!("tricolor-lox-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.lox");
        let bad = dir.join("bad.lox");
        std::fs::write(&good, "print 1;").unwrap();
        std::fs::write(&bad, "print ;").unwrap();

        let mut recorder = Recorder(Vec::new());
        assert_eq!(run_cli_with([&good], |_| &mut recorder), 0);
        assert_eq!(recorder.0.len(), 1);
        assert_eq!(run_cli_with([&bad], |_| &mut recorder), EXIT_COMPILE_ERROR);
        assert_eq!(recorder.0.len(), 1);
        assert_eq!(run_cli([&good]), EXIT_RUNTIME_ERROR);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
