//! The VM through the library API (no subprocess): suite programs with their
//! `// expect:` output, runtime errors with their stack traces, the REPL's
//! persistent globals, and a program under the collector's stress mode.

use std::cell::RefCell;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use tricolor::Config;
use tricolor_lox::cli::InterpretResult;
use tricolor_lox::{Vm, VmOptions};

/// A `Write` whose bytes the test can read back.
#[derive(Clone, Default)]
struct Captured(Rc<RefCell<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8(self.0.borrow().clone()).unwrap()
    }
}

fn vm(options: VmOptions) -> (Vm, Captured, Captured) {
    let out = Captured::default();
    let err = Captured::default();
    let vm = Vm::with_output(options, Box::new(out.clone()), Box::new(err.clone())).unwrap();
    (vm, out, err)
}

fn run(source: &str) -> (InterpretResult, String, String) {
    let (mut vm, out, err) = vm(VmOptions::default());
    let result = vm.interpret(source);
    (result, out.text(), err.text())
}

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/suite/test")
}

/// The `// expect: ` lines of a suite program.
fn expected_output(source: &str) -> String {
    let mut out = String::new();
    for line in source.lines() {
        if let Some(at) = line.find("// expect: ") {
            out.push_str(&line[at + "// expect: ".len()..]);
            out.push('\n');
        }
    }
    out
}

fn check_suite_program(relative: &str, options: VmOptions) {
    let path = suite_dir().join(relative);
    let source = std::fs::read_to_string(&path).unwrap();
    let (mut vm, out, err) = vm(options);
    let result = vm.interpret(&source);
    assert_eq!(result, InterpretResult::Ok, "{relative}: {}", err.text());
    assert_eq!(out.text(), expected_output(&source), "{relative}");
    assert_eq!(err.text(), "", "{relative}");
}

#[test]
fn suite_programs() {
    for program in [
        "closure/assign_to_shadowed_later.lox",
        "closure/close_over_method_parameter.lox",
        "closure/nested_closure.lox",
        "closure/reuse_closure_slot.lox",
        "class/inherited_method.lox",
        "constructor/init_not_method.lox",
        "field/on_instance.lox",
        "for/closure_in_body.lox",
        "function/recursion.lox",
        "inheritance/set_fields_from_base_class.lox",
        "method/print_bound_method.lox",
        "number/literals.lox",
        "operator/equals_method.lox",
        "string/multiline.lox",
        "super/indirectly_inherited.lox",
        "super/closure.lox",
        "this/nested_closure.lox",
        "while/closure_in_body.lox",
        "regression/40.lox",
        "assignment/associativity.lox",
    ] {
        check_suite_program(program, VmOptions::default());
    }
}

#[test]
fn runtime_errors_print_the_stack_trace() {
    let (result, out, err) = run("fun a() { b(); }\nfun b() {\n  c();\n}\nprint 1;\na();\n");
    assert_eq!(result, InterpretResult::RuntimeError);
    assert_eq!(out, "1\n");
    assert_eq!(
        err,
        "Undefined variable 'c'.\n[line 3] in b()\n[line 1] in a()\n[line 6] in script\n"
    );
}

#[test]
fn runtime_error_messages() {
    for (source, message) in [
        ("-\"a\";", "Operand must be a number."),
        ("1 < \"a\";", "Operands must be numbers."),
        ("1 + nil;", "Operands must be two numbers or two strings."),
        ("x;", "Undefined variable 'x'."),
        ("x = 1;", "Undefined variable 'x'."),
        ("1.x;", "Only instances have properties."),
        ("1.x = 2;", "Only instances have fields."),
        ("1.x();", "Only instances have methods."),
        ("class A {} A().x;", "Undefined property 'x'."),
        ("class A {} A().x();", "Undefined property 'x'."),
        ("1();", "Can only call functions and classes."),
        ("fun f(a) {} f();", "Expected 1 arguments but got 0."),
        ("class A {} A(1);", "Expected 0 arguments but got 1."),
        ("var B = 1; class A < B {}", "Superclass must be a class."),
        ("fun f() { f(); } f();", "Stack overflow."),
    ] {
        let (result, _, err) = run(source);
        assert_eq!(result, InterpretResult::RuntimeError, "{source}");
        assert_eq!(err.lines().next(), Some(message), "{source}");
    }
}

#[test]
fn stack_overflow_is_a_lox_error() {
    let (result, _, err) = run("fun f(n) { return f(n + 1) + 1; }\nf(0);\n");
    assert_eq!(result, InterpretResult::RuntimeError);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines[0], "Stack overflow.");
    // 64 frames: 63 calls of f and the script.
    assert_eq!(lines.len(), 1 + 64);
    assert_eq!(lines[64], "[line 2] in script");
}

#[test]
fn compile_errors_are_reported() {
    let (result, out, err) = run("print 1;\nprint ;\n");
    assert_eq!(result, InterpretResult::CompileError);
    assert_eq!(out, "");
    assert_eq!(err, "[line 2] Error at ';': Expect expression.\n");
}

#[test]
fn globals_persist_between_runs_and_errors_reset_the_stack() {
    let (mut vm, out, err) = vm(VmOptions::default());
    assert_eq!(
        vm.interpret("var a = 1; fun f() { return a + 1; }"),
        InterpretResult::Ok
    );
    assert_eq!(vm.interpret("print f();"), InterpretResult::Ok);
    assert_eq!(
        vm.interpret("{ var b = 1; print b + nil; }"),
        InterpretResult::RuntimeError
    );
    assert_eq!(vm.interpret("a = 5; print f();"), InterpretResult::Ok);
    assert_eq!(out.text(), "2\n6\n");
    assert!(
        err.text()
            .starts_with("Operands must be two numbers or two strings.\n")
    );
}

#[test]
fn strings_are_interned_and_dead_ones_collected() {
    let (mut vm, out, _) = vm(VmOptions::default());
    let program = r#"
        var a = "ab";
        var b = "a" + "b";
        print a == b;
        for (var i = 0; i < 3000; i = i + 1) { var s = "x" + "y" + "z"; }
        var keep = "kept" + "!";
    "#;
    assert_eq!(vm.interpret(program), InterpretResult::Ok);
    assert_eq!(out.text(), "true\n");
    assert!(vm.intern_probe("kept!"), "a live string stays interned");
    vm.collect();
    vm.collect();
    // Interning a new string after the collection purges the dead entries
    // once the table has grown enough; force a purge by interning many.
    for i in 0..2100 {
        vm.intern_probe(&format!("probe{i}"));
    }
    assert!(vm.intern_probe("kept!"));
    assert!(
        vm.interned_strings() < 2100 + 100,
        "dead strings were purged: {}",
        vm.interned_strings()
    );
}

#[test]
fn short_slices_give_the_same_results() {
    let options = VmOptions {
        slice: 1,
        ..VmOptions::default()
    };
    check_suite_program("closure/nested_closure.lox", options.clone());
    check_suite_program("super/indirectly_inherited.lox", options);
}

#[test]
fn a_program_under_gc_stress() {
    let mut config = Config::default();
    config.stress = true;
    let options = VmOptions { config, slice: 1 };
    let (mut vm, out, err) = vm(options);
    let program = r#"
        class Node {
          init(value, next) { this.value = value; this.next = next; }
          sum() {
            if (this.next == nil) return this.value;
            return this.value + this.next.sum();
          }
        }
        fun counter() {
          var n = 0;
          fun inc() { n = n + 1; return n; }
          return inc;
        }
        var c = counter();
        var total = 0;
        for (var round = 0; round < 3; round = round + 1) {
          var list = nil;
          for (var i = 1; i <= 5; i = i + 1) list = Node(i, list);
          total = total + list.sum();
          c();
        }
        print total;
        print c();
        print "con" + "cat" + "enated";
    "#;
    assert_eq!(vm.interpret(program), InterpretResult::Ok, "{}", err.text());
    assert_eq!(out.text(), "45\n4\nconcatenated\n");
    assert!(vm.stats().cycles > 0, "stress mode ran collections");
}

#[test]
fn string_text_paces_the_collector() {
    // About 12 MiB of string text, almost all of it garbage at once: the
    // text is outside the collected heap, so only the interner's pacing
    // starts cycles here.
    let (mut vm, out, _) = vm(VmOptions::default());
    let program = r#"
        var s = "";
        for (var i = 0; i < 1600; i = i + 1) s = s + "0123456789";
        print "done";
    "#;
    assert_eq!(vm.interpret(program), InterpretResult::Ok);
    assert_eq!(out.text(), "done\n");
    assert!(
        vm.stats().forced_cycles >= 1,
        "string text requested collections"
    );
}

#[test]
fn fused_ops_report_their_lines() {
    // SUBTRACT with a constant operand, fused with its CONSTANT.
    let (_, _, err) = run("fun f(s) {\n  var t = s;\n  return t\n    - 1;\n}\nf(\"a\");\n");
    assert_eq!(
        err,
        "Operands must be numbers.\n[line 4] in f()\n[line 6] in script\n"
    );
    // GET_PROPERTY on a local, fused with its GET_LOCAL.
    let (_, _, err) = run("fun g(n) {\n  return n\n    .x;\n}\ng(1);\n");
    assert_eq!(
        err,
        "Only instances have properties.\n[line 3] in g()\n[line 5] in script\n"
    );
    // LESS with a constant operand, in a condition (JUMP_IF_FALSE + POP).
    let (_, out, err) = run(
        "var a = 2;\nif (a <\n 3) print \"yes\"; else print \"no\";\na = \"s\";\nif (a <\n 3) print 1;\n",
    );
    assert_eq!(out, "yes\n");
    assert_eq!(err, "Operands must be numbers.\n[line 6] in script\n");
}
