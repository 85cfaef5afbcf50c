//! Runs the compiler over the book's Lox test suite (`shared/lox/test` in
//! the checkout, outside this repository's crates) and checks that
//!
//! * every test expecting compile errors (`// Error ...`, `// [line N]
//!   Error ...`, `// [c line N] Error ...`; `[java line N]` ones are for
//!   jlox) produces exactly those errors, and
//! * every other test compiles without errors.
//!
//! The expectations are read with the rules of the suite's runner
//! (`run_tests.py`). When the suite is absent the tests print a note and
//! check nothing.

use std::fs;
use std::path::{Path, PathBuf};

/// The suite's `test` folder, if present.
fn suite_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/lox/test");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "note: Lox test suite not found at {}; skipping",
            dir.display()
        );
        None
    }
}

/// All `.lox` files under `dir`, sorted.
fn lox_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).expect("readable test folder") {
            let path = entry.expect("readable folder entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "lox") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// Splits like the runner: on `\n`, `\r\n` or `\r`.
fn split_lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(['\n', '\r']) {
        lines.push(&rest[..at]);
        let skip = if rest[at..].starts_with("\r\n") { 2 } else { 1 };
        rest = &rest[at + skip..];
    }
    if !rest.is_empty() {
        lines.push(rest);
    }
    lines
}

/// Parses `[(java |c )?line N] Error...` (after `// `): the language, the
/// line and the error text.
fn parse_error_line(text: &str) -> Option<(Option<&str>, u32, &str)> {
    let text = text.strip_prefix('[')?;
    let (language, text) = if let Some(rest) = text.strip_prefix("java ") {
        (Some("java"), rest)
    } else if let Some(rest) = text.strip_prefix("c ") {
        (Some("c"), rest)
    } else {
        (None, text)
    };
    let text = text.strip_prefix("line ")?;
    let digits = text.find(|c: char| !c.is_ascii_digit())?;
    let line = text[..digits].parse().ok()?;
    let error = text[digits..].strip_prefix("] ")?;
    error
        .starts_with("Error")
        .then_some((language, line, error))
}

/// What a test file expects of the compiler.
enum Expectation {
    /// Not a test (`// nontest`).
    NotATest,
    /// These compile errors, formatted as clox prints them, sorted.
    Errors(Vec<String>),
}

/// Reads the compile-error expectations of a test with the runner's rules
/// for the `clox` suite.
fn expectations(source: &str) -> Expectation {
    let mut errors = Vec::new();
    for (index, line) in split_lines(source).into_iter().enumerate() {
        let line_number = index + 1;
        if line.contains("// nontest") {
            return Expectation::NotATest;
        }
        if line.contains("// expect:") {
            continue;
        }
        if let Some(at) = line.find("// Error") {
            errors.push(format!("[line {line_number}] {}", &line[at + 3..]));
            continue;
        }
        let explicit = line
            .match_indices("// [")
            .find_map(|(at, _)| parse_error_line(&line[at + 3..]));
        if let Some((language, line, error)) = explicit
            && language.is_none_or(|language| language == "c")
        {
            errors.push(format!("[line {line}] {error}"));
        }
    }
    errors.sort();
    Expectation::Errors(errors)
}

fn relative(path: &Path, dir: &Path) -> String {
    path.strip_prefix(dir).unwrap_or(path).display().to_string()
}

#[test]
fn compile_error_tests_report_the_expected_errors() {
    let Some(dir) = suite_dir() else { return };
    let mut checked = 0;
    let mut failures = Vec::new();
    for path in lox_files(&dir) {
        let source = fs::read_to_string(&path).expect("readable test file");
        let Expectation::Errors(expected) = expectations(&source) else {
            continue;
        };
        if expected.is_empty() {
            continue;
        }
        checked += 1;
        let mut produced = match tricolor_lox::compile(&source) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.messages(),
        };
        produced.sort();
        if produced != expected {
            failures.push(format!(
                "{}:\n  expected {expected:#?}\n  produced {produced:#?}",
                relative(&path, &dir)
            ));
        }
    }
    assert!(
        checked >= 20,
        "only {checked} compile-error tests found in {}",
        dir.display()
    );
    assert!(
        failures.is_empty(),
        "{} of {checked} compile-error tests failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("{checked} compile-error tests passed");
}

#[test]
fn other_tests_compile_without_errors() {
    let Some(dir) = suite_dir() else { return };
    let mut checked = 0;
    let mut failures = Vec::new();
    for path in lox_files(&dir) {
        let name = relative(&path, &dir);
        // Tests of jlox's early chapters, not programs for clox.
        if name.starts_with("scanning") || name.starts_with("expressions") {
            continue;
        }
        let source = fs::read_to_string(&path).expect("readable test file");
        if !matches!(expectations(&source), Expectation::Errors(e) if e.is_empty()) {
            continue;
        }
        checked += 1;
        let result = tricolor_lox::compile(&source);
        if name == "benchmark/string_equality.lox" {
            // clox cannot compile this benchmark either: every reference to
            // a global adds a constant, and the script's chunk runs out
            // (craftinginterpreters issue #1093).
            let too_many =
                |e: &tricolor_lox::CompileError| e.message == "Too many constants in one chunk.";
            if !result.is_err_and(|errors| errors.errors().iter().all(too_many)) {
                failures.push(format!(
                    "{name}: expected to run out of constants, like clox"
                ));
            }
        } else if let Err(errors) = result {
            failures.push(format!("{name}:\n{errors}"));
        }
    }
    assert!(
        checked >= 20,
        "only {checked} tests found in {}",
        dir.display()
    );
    assert!(
        failures.is_empty(),
        "{} of {checked} tests did not compile:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("{checked} other tests compiled");
}
