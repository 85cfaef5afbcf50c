//! The compiler's bytecode and errors for small programs, checked byte for
//! byte against what clox emits.

use std::rc::Rc;

use tricolor_lox::{Chunk, Constant, FunctionKind, FunctionProto, OpCode, compile};

/// Bytecode from opcode names and operand numbers:
/// `code![Constant, 0, Print]`.
macro_rules! code {
    (@one $op:ident) => { OpCode::$op as u8 };
    (@one $n:literal) => { $n as u8 };
    ($($x:tt),* $(,)?) => { vec![$(code!(@one $x)),*] };
}

fn script(source: &str) -> Rc<FunctionProto> {
    match compile(source) {
        Ok(script) => script,
        Err(errors) => panic!("unexpected compile errors:\n{errors}"),
    }
}

fn errors(source: &str) -> Vec<String> {
    match compile(source) {
        Ok(_) => panic!("expected compile errors for:\n{source}"),
        Err(errors) => errors.messages(),
    }
}

/// The function constant at `index` of `chunk`.
fn function(chunk: &Chunk, index: usize) -> &FunctionProto {
    match &chunk.constants[index] {
        Constant::Function(function) => function,
        other => panic!("constant {index} is {other:?}, not a function"),
    }
}

fn string(chunk: &Chunk, index: usize) -> &str {
    match &chunk.constants[index] {
        Constant::String(s) => s,
        other => panic!("constant {index} is {other:?}, not a string"),
    }
}

#[test]
fn print_addition() {
    let script = script("print 1 + 2;");
    assert_eq!(script.name, None);
    assert_eq!(script.kind, FunctionKind::Script);
    assert_eq!((script.arity, script.upvalue_count), (0, 0));
    assert_eq!(
        script.chunk.code,
        code![Constant, 0, Constant, 1, Add, Print, Nil, Return]
    );
    assert_eq!(
        script.chunk.constants,
        [Constant::Number(1.0), Constant::Number(2.0)]
    );
    assert_eq!(script.chunk.lines, [1; 8]);
}

#[test]
fn precedence_and_comparison_operators() {
    let script = script("print -1 + 2 * 3 >= 4 == !true;");
    assert_eq!(
        script.chunk.code,
        code![
            Constant, 0, Negate, Constant, 1, Constant, 2, Multiply, Add, Constant, 3, Less, Not,
            True, Not, Equal, Print, Nil, Return
        ]
    );
    let script = self::script("1 != 2; 1 <= 2; 1 > 2; 1 < 2; 1 - 2 / 3;");
    assert_eq!(
        script.chunk.code,
        code![
            Constant, 0, Constant, 1, Equal, Not, Pop, //
            Constant, 2, Constant, 3, Greater, Not, Pop, //
            Constant, 4, Constant, 5, Greater, Pop, //
            Constant, 6, Constant, 7, Less, Pop, //
            Constant, 8, Constant, 9, Constant, 10, Divide, Subtract, Pop, //
            Nil, Return
        ]
    );
}

#[test]
fn literals_strings_and_numbers() {
    let script = script("nil; true; false; \"a\"; \"a\"; 1.5; (2);");
    assert_eq!(
        script.chunk.code,
        code![
            Nil, Pop, True, Pop, False, Pop, Constant, 0, Pop, Constant, 1, Pop, Constant, 2, Pop,
            Constant, 3, Pop, Nil, Return
        ]
    );
    // Constants are not reused (as in clox), but equal strings share one
    // allocation.
    let (Constant::String(a), Constant::String(b)) =
        (&script.chunk.constants[0], &script.chunk.constants[1])
    else {
        panic!("expected strings");
    };
    assert_eq!(&**a, "a");
    assert!(Rc::ptr_eq(a, b));
    assert_eq!(script.chunk.constants[2], Constant::Number(1.5));
    assert_eq!(script.chunk.constants[3], Constant::Number(2.0));
}

#[test]
fn globals_and_locals() {
    let script = script("var a = 1;\na = a;\n{\n  var b;\n  b = a;\n  print b;\n}\n");
    assert_eq!(
        script.chunk.code,
        code![
            Constant,
            1,
            DefineGlobal,
            0, //
            GetGlobal,
            3,
            SetGlobal,
            2,
            Pop, //
            Nil, // b
            GetGlobal,
            4,
            SetLocal,
            1,
            Pop, //
            GetLocal,
            1,
            Print, //
            Pop,   // end of block
            Nil,
            Return
        ]
    );
    assert_eq!(string(&script.chunk, 0), "a");
    assert_eq!(
        script.chunk.lines,
        [
            1, 1, 1, 1, 2, 2, 2, 2, 2, 4, 5, 5, 5, 5, 5, 6, 6, 6, 7, 8, 8
        ]
    );
}

#[test]
fn closure_capturing_a_local() {
    let script = script(
        "fun outer() {\n  var x = 1;\n  fun inner() { x = 2; return x; }\n  return inner;\n}",
    );
    assert_eq!(
        script.chunk.code,
        code![Closure, 1, DefineGlobal, 0, Nil, Return]
    );
    let outer = function(&script.chunk, 1);
    assert_eq!(outer.name.as_deref(), Some("outer"));
    assert_eq!(outer.kind, FunctionKind::Function);
    assert_eq!(outer.upvalue_count, 0);
    assert_eq!(
        outer.chunk.code,
        code![
            Constant, 0, // x, slot 1
            Closure, 1, 1, 1, // inner, slot 2, captures local 1
            GetLocal, 2, Return, Nil, Return
        ]
    );
    let inner = function(&outer.chunk, 1);
    assert_eq!(inner.upvalue_count, 1);
    assert_eq!(
        inner.chunk.code,
        code![
            Constant, 0, SetUpvalue, 0, Pop, GetUpvalue, 0, Return, Nil, Return
        ]
    );
}

#[test]
fn captured_block_locals_are_closed() {
    let script = script("{ var a = 1; fun f() { print a; } var b = 2; }");
    assert_eq!(
        script.chunk.code,
        code![
            Constant,
            0,
            Closure,
            1,
            1,
            1,
            Constant,
            2, //
            Pop,
            Pop,
            CloseUpvalue, // b, f, then the captured a
            Nil,
            Return
        ]
    );
}

#[test]
fn upvalues_through_several_functions() {
    let script =
        script("fun a() { var x; var y; fun b() { fun c() { print y; print x; print y; } } }");
    let a = function(&script.chunk, 1);
    assert_eq!(
        a.chunk.code,
        code![Nil, Nil, Closure, 0, 1, 2, 1, 1, Nil, Return]
    );
    let b = function(&a.chunk, 0);
    assert_eq!(b.upvalue_count, 2);
    // c's upvalues are b's upvalues 0 (y) and 1 (x).
    assert_eq!(b.chunk.code, code![Closure, 0, 0, 0, 0, 1, Nil, Return]);
    let c = function(&b.chunk, 0);
    assert_eq!(c.upvalue_count, 2);
    assert_eq!(
        c.chunk.code,
        code![
            GetUpvalue, 0, Print, GetUpvalue, 1, Print, GetUpvalue, 0, Print, Nil, Return
        ]
    );
}

#[test]
fn calls_and_parameters() {
    let script = script("fun f(a, b) { return a + b; }\nprint f(1, 2);");
    assert_eq!(
        script.chunk.code,
        code![
            Closure,
            1,
            DefineGlobal,
            0, //
            GetGlobal,
            2,
            Constant,
            3,
            Constant,
            4,
            Call,
            2,
            Print, //
            Nil,
            Return
        ]
    );
    let f = function(&script.chunk, 1);
    assert_eq!(f.arity, 2);
    assert_eq!(
        f.chunk.code,
        code![GetLocal, 1, GetLocal, 2, Add, Return, Nil, Return]
    );
}

#[test]
fn class_with_methods_and_a_superclass() {
    let script = script(
        "class A { m() { return 1; } }\n\
         class B < A {\n  init(x) { this.x = x; }\n  m() { return super.m(); }\n}\n\
         B(1).m();",
    );
    assert_eq!(
        script.chunk.code,
        code![
            // class A
            Class,
            0,
            DefineGlobal,
            0,
            GetGlobal,
            1,
            Closure,
            3,
            Method,
            2,
            Pop,
            // class B < A
            Class,
            4,
            DefineGlobal,
            4,
            GetGlobal,
            5,
            GetGlobal,
            6,
            Inherit, //
            GetGlobal,
            7,
            Closure,
            9,
            Method,
            8,
            Closure,
            11,
            1,
            1,
            Method,
            10,
            Pop,          //
            CloseUpvalue, // the captured `super` local
            // B(1).m();
            GetGlobal,
            12,
            Constant,
            13,
            Call,
            1,
            Invoke,
            14,
            0,
            Pop, //
            Nil,
            Return
        ]
    );
    let names: Vec<&str> = [0, 1, 2, 4, 5, 6, 7, 8, 10, 12, 14]
        .iter()
        .map(|&i| string(&script.chunk, i))
        .collect();
    assert_eq!(
        names,
        ["A", "A", "m", "B", "A", "B", "B", "init", "m", "B", "m"]
    );

    let a_m = function(&script.chunk, 3);
    assert_eq!(a_m.kind, FunctionKind::Method);
    assert_eq!(a_m.chunk.code, code![Constant, 0, Return, Nil, Return]);

    let init = function(&script.chunk, 9);
    assert_eq!((init.kind, init.arity), (FunctionKind::Initializer, 1));
    assert_eq!(
        init.chunk.code,
        code![
            GetLocal,
            0,
            GetLocal,
            1,
            SetProperty,
            0,
            Pop,
            GetLocal,
            0,
            Return
        ]
    );

    let b_m = function(&script.chunk, 11);
    assert_eq!(b_m.upvalue_count, 1);
    assert_eq!(
        b_m.chunk.code,
        code![
            GetLocal,
            0,
            GetUpvalue,
            0,
            SuperInvoke,
            0,
            0,
            Return,
            Nil,
            Return
        ]
    );
}

#[test]
fn super_property_and_this() {
    let script = script("class A < B { f() { return super.g; } h() { return this.x; } }");
    let f = function(&script.chunk, 5);
    assert_eq!(
        f.chunk.code,
        code![GetLocal, 0, GetUpvalue, 0, GetSuper, 0, Return, Nil, Return]
    );
    let h = function(&script.chunk, 7);
    assert_eq!(
        h.chunk.code,
        code![GetLocal, 0, GetProperty, 0, Return, Nil, Return]
    );
}

#[test]
fn if_else_jumps() {
    let script = script("if (true) print 1; else print 2;");
    assert_eq!(
        script.chunk.code,
        code![
            True,
            JumpIfFalse,
            0,
            7,
            Pop,
            Constant,
            0,
            Print,
            Jump,
            0,
            4,
            Pop,
            Constant,
            1,
            Print,
            Nil,
            Return
        ]
    );
    let script = self::script("if (false) print 1;");
    assert_eq!(
        script.chunk.code,
        code![
            False,
            JumpIfFalse,
            0,
            7,
            Pop,
            Constant,
            0,
            Print,
            Jump,
            0,
            1,
            Pop,
            Nil,
            Return
        ]
    );
}

#[test]
fn logical_operators() {
    let script = script("print true and false or nil;");
    assert_eq!(
        script.chunk.code,
        code![
            True,
            JumpIfFalse,
            0,
            2,
            Pop,
            False, // and
            JumpIfFalse,
            0,
            3,
            Jump,
            0,
            2,
            Pop,
            Nil, // or
            Print,
            Nil,
            Return
        ]
    );
}

#[test]
fn while_and_for_loops() {
    let script = script("while (true) print 1;");
    assert_eq!(
        script.chunk.code,
        code![
            True,
            JumpIfFalse,
            0,
            7,
            Pop,
            Constant,
            0,
            Print,
            Loop,
            0,
            11,
            Pop,
            Nil,
            Return
        ]
    );
    let script = self::script("for (var i = 0; i < 2; i = i + 1) print i;");
    assert_eq!(
        script.chunk.code,
        code![
            Constant,
            0, // 0: var i = 0 (slot 1)
            GetLocal,
            1,
            Constant,
            1,
            Less, // 2: condition
            JumpIfFalse,
            0,
            21,
            Pop, // 7
            Jump,
            0,
            11, // 11: to the body
            GetLocal,
            1,
            Constant,
            2,
            Add,
            SetLocal,
            1,
            Pop, // 14: increment
            Loop,
            0,
            23, // 22: to the condition
            GetLocal,
            1,
            Print, // 25: body
            Loop,
            0,
            17,  // 28: to the increment
            Pop, // 31: condition
            Pop, // i
            Nil,
            Return
        ]
    );
    let script = self::script("for (;;) {}");
    assert_eq!(script.chunk.code, code![Loop, 0, 3, Nil, Return]);
}

#[test]
fn return_statements() {
    let script = script("fun f() { return; }\nclass C { init() { return; } }");
    let f = function(&script.chunk, 1);
    assert_eq!(f.chunk.code, code![Nil, Return, Nil, Return]);
    let init = function(&script.chunk, 5);
    assert_eq!(
        init.chunk.code,
        code![GetLocal, 0, Return, GetLocal, 0, Return]
    );
}

#[test]
fn lines_of_multi_line_code() {
    let script = script("print\n1\n+\n2\n;");
    assert_eq!(
        script.chunk.code,
        code![Constant, 0, Constant, 1, Add, Print, Nil, Return]
    );
    assert_eq!(script.chunk.lines, [2, 2, 4, 4, 4, 5, 5, 5]);
}

#[test]
fn error_messages_and_recovery() {
    assert_eq!(
        errors("print ;\nvar = 1;\nprint 2"),
        [
            "[line 1] Error at ';': Expect expression.",
            "[line 2] Error at '=': Expect variable name.",
            "[line 3] Error at end: Expect ';' after value.",
        ]
    );
    assert_eq!(
        errors("a + b = c;"),
        ["[line 1] Error at '=': Invalid assignment target."]
    );
    assert_eq!(
        errors("print \"abc"),
        ["[line 1] Error: Unterminated string."]
    );
    // Only the first error of a statement is reported.
    assert_eq!(
        errors("print # # ;\nprint $;"),
        [
            "[line 1] Error: Unexpected character.",
            "[line 2] Error: Unexpected character.",
        ]
    );
    assert_eq!(
        errors("{ var a = a; }"),
        ["[line 1] Error at 'a': Can't read local variable in its own initializer."]
    );
    assert_eq!(
        errors("{ var a; var a; }"),
        ["[line 1] Error at 'a': Already a variable with this name in this scope."]
    );
    assert_eq!(
        errors("return 1;"),
        ["[line 1] Error at 'return': Can't return from top-level code."]
    );
    assert_eq!(
        errors("class A { init() { return 1; } }"),
        ["[line 1] Error at 'return': Can't return a value from an initializer."]
    );
    assert_eq!(
        errors("this;\nsuper.a;\nclass A { f() { super.f(); } }\nclass B < B {}"),
        [
            "[line 1] Error at 'this': Can't use 'this' outside of a class.",
            "[line 2] Error at 'super': Can't use 'super' outside of a class.",
            "[line 3] Error at 'super': Can't use 'super' in a class with no superclass.",
            "[line 4] Error at 'B': A class can't inherit from itself.",
        ]
    );
    assert_eq!(
        errors("fun f( {}"),
        ["[line 1] Error at '{': Expect parameter name."]
    );
}

/// `count` comma-separated items made by `item`.
fn list(count: usize, item: impl Fn(usize) -> String) -> String {
    (0..count).map(item).collect::<Vec<_>>().join(", ")
}

#[test]
fn limit_on_constants() {
    let body = |n: usize| (0..n).map(|i| format!("{i};")).collect::<String>();
    script(&body(256));
    assert_eq!(
        errors(&body(257)),
        ["[line 1] Error at '256': Too many constants in one chunk."]
    );
    // The limit is per chunk.
    script(&format!("fun f() {{ {} }} {}", body(256), body(254)));
}

#[test]
fn limit_on_locals() {
    let locals = |n: usize| (0..n).map(|i| format!("var v{i};")).collect::<String>();
    script(&format!("{{ {} }}", locals(255)));
    assert_eq!(
        errors(&format!("{{ {} }}", locals(256))),
        ["[line 1] Error at 'v255': Too many local variables in function."]
    );
}

#[test]
fn limit_on_upvalues() {
    // h captures n variables, half of them locals of g, half upvalues of
    // g (locals of f): a function has at most 255 locals of its own.
    let program = |n: usize| {
        let half = n / 2;
        let outer: String = (0..half).map(|i| format!("var v{i};")).collect();
        let inner: String = (half..n).map(|i| format!("var v{i};")).collect();
        let uses: String = (0..n).map(|i| format!("v{i};")).collect();
        format!("fun f() {{ {outer} fun g() {{ {inner} fun h() {{ {uses} }} }} }}")
    };
    let ok = script(&program(256));
    let f = function(&ok.chunk, 1);
    let g = function(&f.chunk, 0);
    let h = function(&g.chunk, 0);
    assert_eq!(h.upvalue_count, 256);
    // g ends with the closure of h (256 byte pairs), then returns (a
    // function's locals are discarded by the return, not popped).
    let code = &g.chunk.code;
    let closure = code.len() - 2 - 512 - 2;
    assert_eq!(code[closure], OpCode::Closure as u8);
    // v0 and v1 are upvalues 0 and 1 of g, v128 and v129 its slots 1 and 2.
    assert_eq!(code[closure + 2..closure + 6], [0, 0, 0, 1]);
    assert_eq!(code[closure + 2 + 256..closure + 2 + 260], [1, 1, 1, 2]);
    assert_eq!(
        errors(&program(257)),
        ["[line 1] Error at 'v256': Too many closure variables in function."]
    );
}

#[test]
fn limit_on_parameters_and_arguments() {
    let params = |n: usize| list(n, |i| format!("p{i}"));
    let f = script(&format!("fun f({}) {{}}", params(255)));
    assert_eq!(function(&f.chunk, 1).arity, 255);
    assert_eq!(
        errors(&format!("fun f({}) {{}}", params(256))),
        ["[line 1] Error at 'p255': Can't have more than 255 parameters."]
    );

    let args = |n: usize| list(n, |_| "nil".to_owned());
    let call = script(&format!("f({});", args(255)));
    assert_eq!(
        call.chunk.code[call.chunk.code.len() - 5..],
        code![Call, 255, Pop, Nil, Return]
    );
    assert_eq!(
        errors(&format!("f({});", args(256))),
        ["[line 1] Error at 'nil': Can't have more than 255 arguments."]
    );
    assert_eq!(
        errors(&format!("a.f({});", args(256))),
        ["[line 1] Error at 'nil': Can't have more than 255 arguments."]
    );
}

#[test]
fn limit_on_jumps() {
    // A body of `nil;` (Nil, Pop: two bytes) `n` times, then `1;`
    // (Constant, index, Pop: three bytes).
    let body = |n: usize| format!("{{ {} 1; }}", "nil;".repeat(n));

    // `if`: the then-jump skips Pop, the body and the else-jump: 4 + 2n + 3
    // bytes, at most 65535.
    let jump = script(&format!("if (true) {}", body(32764)));
    assert_eq!(jump.chunk.code[1..4], code![JumpIfFalse, 255, 255]);
    assert_eq!(
        errors(&format!("if (true) {}", body(32765))),
        ["[line 1] Error at '}': Too much code to jump over."]
    );

    // `while`: the loop jumps back over the condition (True, JumpIfFalse,
    // Pop: 5 bytes), the body and itself (3 bytes): 8 + 2n + 3 bytes.
    let looping = script(&format!("while (true) {}", body(32762)));
    let code = &looping.chunk.code;
    assert_eq!(code[code.len() - 6..code.len() - 3], code![Loop, 255, 255]);
    assert_eq!(
        errors(&format!("while (true) {}", body(32763))),
        ["[line 1] Error at '}': Loop body too large."]
    );
}
