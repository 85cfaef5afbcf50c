//! A tiny functional language on the GC heap: the interpreter-embedding contract in miniature.
//!
//! ```text
//! e ::= n | true | false | x | e + e | e - e | e * e | e / e | e < e | e == e
//!     | let x = e in e | letrec f = e in e | fn x => e | e e | if e then e else e | (e)
//! ```
//!
//! * The parser builds the AST in the heap (`Gc<Expr>` nodes), with identifiers interned in a
//!   weak-valued symbol table: a symbol lives while some AST or environment uses it.
//! * The evaluator is a CEK machine whose whole state — the expression, the environment (a
//!   `Gc<Env>` chain) and the continuation (a `Gc<Kont>` chain) — is a GC object reached from
//!   a `Root`. Closures capture environments; `letrec` ties a closure into the environment it
//!   captures, a cycle.
//! * It runs `STEPS_PER_SLICE` steps per mutation scope and then returns from the scope, so
//!   that a collection cycle, which needs every mutator to pass a scope boundary, can finish
//!   however long the program runs.
//! * A `WeakKeyTable` keyed by lambda nodes counts calls (a profile that never keeps a
//!   program's code alive).
//!
//! ```text
//! cargo run -p tricolor --example expr_interpreter                        # the demo programs
//! cargo run -p tricolor --example expr_interpreter -- 'let x = 2 in x * 21'
//! TRICOLOR_GC_STRESS=1 cargo run -p tricolor --example expr_interpreter  # check the embedding
//! ```

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use tricolor::{
    Config, Gc, GcCell, Heap, Mutation, Mutator, RefLock, Root, Rootable, Trace, Weak, WeakKeyTable,
};

/// Steps per mutation scope.
const STEPS_PER_SLICE: u64 = 1_000;

// ---------------------------------------------------------------------------------------------
// Heap types.

/// An interned identifier: equal names are the same object (compare with `Gc::ptr_eq`).
type Sym<'gc> = Gc<'gc, String>;

/// A binary operator (plain data: `#[trace(static)]`, never scanned).
#[derive(Trace, Clone, Copy, Debug, PartialEq, Eq)]
#[trace(static)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Lt,
    Eq,
}

type ExprRef<'gc> = Gc<'gc, Expr<'gc>>;

/// An AST node.
#[derive(Trace)]
enum Expr<'gc> {
    Num(i64),
    Bool(bool),
    Var(Sym<'gc>),
    Bin(Op, ExprRef<'gc>, ExprRef<'gc>),
    Let {
        name: Sym<'gc>,
        value: ExprRef<'gc>,
        body: ExprRef<'gc>,
        rec: bool,
    },
    Lambda {
        param: Sym<'gc>,
        body: ExprRef<'gc>,
    },
    App(ExprRef<'gc>, ExprRef<'gc>),
    If(ExprRef<'gc>, ExprRef<'gc>, ExprRef<'gc>),
}

/// A run-time value: small, `Copy`, holding at most one GC pointer.
#[derive(Trace, Clone, Copy)]
enum Value<'gc> {
    Int(i64),
    Bool(bool),
    Closure(Gc<'gc, Closure<'gc>>),
    /// A `letrec` variable before its value is known.
    Uninit,
}

/// A closure: a lambda node and the environment it was created in.
#[derive(Trace)]
struct Closure<'gc> {
    lambda: ExprRef<'gc>,
    env: EnvRef<'gc>,
}

type EnvRef<'gc> = Option<Gc<'gc, Env<'gc>>>;

/// One binding of an environment chain. The value is in a `RefLock` because `letrec` sets it
/// after the closure capturing this environment exists.
#[derive(Trace)]
struct Env<'gc> {
    name: Sym<'gc>,
    value: RefLock<Value<'gc>>,
    parent: EnvRef<'gc>,
}

/// What to do with the value being computed.
#[derive(Trace, Clone, Copy)]
enum Frame<'gc> {
    /// Evaluate `right`, then apply `op`.
    BinLeft {
        op: Op,
        right: ExprRef<'gc>,
        env: EnvRef<'gc>,
    },
    BinRight {
        op: Op,
        left: Value<'gc>,
    },
    /// Evaluate the argument, then call.
    AppFun {
        arg: ExprRef<'gc>,
        env: EnvRef<'gc>,
    },
    AppArg {
        fun: Value<'gc>,
    },
    Let {
        name: Sym<'gc>,
        body: ExprRef<'gc>,
        env: EnvRef<'gc>,
    },
    LetRec {
        env: Gc<'gc, Env<'gc>>,
        body: ExprRef<'gc>,
    },
    If {
        then: ExprRef<'gc>,
        otherwise: ExprRef<'gc>,
        env: EnvRef<'gc>,
    },
}

/// The continuation: an immutable linked stack of frames.
#[derive(Trace)]
struct Kont<'gc> {
    frame: Frame<'gc>,
    next: KontRef<'gc>,
}

type KontRef<'gc> = Option<Gc<'gc, Kont<'gc>>>;

/// The machine state. `Copy`: a slice works on a local copy and stores it back when it ends.
#[derive(Trace, Clone, Copy)]
enum State<'gc> {
    Eval {
        expr: ExprRef<'gc>,
        env: EnvRef<'gc>,
        kont: KontRef<'gc>,
    },
    Return {
        value: Value<'gc>,
        kont: KontRef<'gc>,
    },
    Done(Value<'gc>),
    Failed(Gc<'gc, String>),
}

/// Everything the interpreter keeps between scopes, reached from one `Root`.
#[derive(Trace)]
struct Interp<'gc> {
    /// Interned identifiers, held weakly.
    symbols: RefLock<HashMap<String, Weak<'gc, String>>>,
    /// Calls per lambda node; an entry lives only as long as its lambda.
    profile: Gc<'gc, WeakKeyTable<'gc, Expr<'gc>, AtomicU64>>,
    /// The program being run, and the machine state (`None` when idle).
    program: GcCell<Option<ExprRef<'gc>>>,
    state: GcCell<Option<Gc<'gc, State<'gc>>>>,
    steps: AtomicU64,
}

type InterpRoot = Root<Rootable![Interp<'_>]>;

impl<'gc> Interp<'gc> {
    fn new(mc: &Mutation<'gc>) -> Interp<'gc> {
        Interp {
            symbols: RefLock::new(HashMap::new()),
            profile: Gc::new(mc, WeakKeyTable::new()),
            program: GcCell::new(None),
            state: GcCell::new(None),
            steps: AtomicU64::new(0),
        }
    }
}

/// The symbol for `name`: the live one if there is one, else a new one.
fn intern<'gc>(mc: &Mutation<'gc>, interp: Gc<'gc, Interp<'gc>>, name: &str) -> Sym<'gc> {
    if let Some(sym) = interp
        .symbols
        .borrow()
        .get(name)
        .and_then(|w| w.upgrade(mc))
    {
        return sym;
    }
    let sym = Gc::new(mc, name.to_owned());
    let weak = Gc::downgrade(sym, mc);
    // The table is a field of `interp`: open the object for writing, unlock the field.
    let w = interp.write(mc);
    w.unlock(&interp.symbols)
        .borrow_mut()
        .insert(name.to_owned(), weak);
    sym
}

/// Drops the entries of dead symbols; returns how many live ones remain.
fn prune_symbols<'gc>(mc: &Mutation<'gc>, interp: Gc<'gc, Interp<'gc>>) -> usize {
    let w = interp.write(mc);
    let mut symbols = w.unlock(&interp.symbols).borrow_mut();
    symbols.retain(|_, weak| !weak.is_dead(mc));
    symbols.len()
}

// ---------------------------------------------------------------------------------------------
// Parsing, straight into the heap.

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Num(i64),
    Ident(String),
    Punct(&'static str),
    End,
}

const KEYWORDS: [&str; 9] = [
    "let", "letrec", "in", "fn", "if", "then", "else", "true", "false",
];

fn lex(src: &str) -> Result<Vec<Tok>, String> {
    let mut toks = Vec::new();
    let mut chars = src.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c.is_ascii_digit() {
            let mut end = i;
            while let Some(&(j, d)) = chars.peek().filter(|(_, d)| d.is_ascii_digit()) {
                end = j + d.len_utf8();
                chars.next();
            }
            let n = src[i..end].parse().map_err(|e| format!("{e}"))?;
            toks.push(Tok::Num(n));
        } else if c.is_alphabetic() || c == '_' {
            let mut end = i;
            while let Some(&(j, d)) = chars
                .peek()
                .filter(|(_, d)| d.is_alphanumeric() || *d == '_')
            {
                end = j + d.len_utf8();
                chars.next();
            }
            let word = &src[i..end];
            toks.push(match KEYWORDS.iter().find(|k| **k == word) {
                Some(k) => Tok::Punct(k),
                None => Tok::Ident(word.to_owned()),
            });
        } else {
            let rest = &src[i..];
            let punct = ["=>", "==", "+", "-", "*", "/", "<", "=", "(", ")"]
                .into_iter()
                .find(|p| rest.starts_with(p))
                .ok_or_else(|| format!("unexpected character {c:?}"))?;
            for _ in 0..punct.len() {
                chars.next();
            }
            toks.push(Tok::Punct(punct));
        }
    }
    toks.push(Tok::End);
    Ok(toks)
}

struct Parser<'a, 'gc> {
    mc: &'a Mutation<'gc>,
    interp: Gc<'gc, Interp<'gc>>,
    toks: Vec<Tok>,
    pos: usize,
}

type Parsed<'gc> = Result<ExprRef<'gc>, String>;

impl<'gc> Parser<'_, 'gc> {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos]
    }

    fn eat(&mut self, p: &str) -> bool {
        let hit = matches!(self.peek(), Tok::Punct(q) if *q == p);
        self.pos += usize::from(hit);
        hit
    }

    fn expect(&mut self, p: &str) -> Result<(), String> {
        if self.eat(p) {
            Ok(())
        } else {
            Err(format!("expected `{p}`, found {:?}", self.peek()))
        }
    }

    fn ident(&mut self) -> Result<Sym<'gc>, String> {
        match self.peek().clone() {
            Tok::Ident(name) => {
                self.pos += 1;
                Ok(intern(self.mc, self.interp, &name))
            }
            t => Err(format!("expected an identifier, found {t:?}")),
        }
    }

    fn node(&self, e: Expr<'gc>) -> ExprRef<'gc> {
        Gc::new(self.mc, e)
    }

    fn expr(&mut self) -> Parsed<'gc> {
        if self.eat("let") || self.eat("letrec") {
            let rec = self.toks[self.pos - 1] == Tok::Punct("letrec");
            let name = self.ident()?;
            self.expect("=")?;
            let value = self.expr()?;
            self.expect("in")?;
            let body = self.expr()?;
            Ok(self.node(Expr::Let {
                name,
                value,
                body,
                rec,
            }))
        } else if self.eat("fn") {
            let param = self.ident()?;
            self.expect("=>")?;
            let body = self.expr()?;
            Ok(self.node(Expr::Lambda { param, body }))
        } else if self.eat("if") {
            let c = self.expr()?;
            self.expect("then")?;
            let t = self.expr()?;
            self.expect("else")?;
            let e = self.expr()?;
            Ok(self.node(Expr::If(c, t, e)))
        } else {
            self.comparison()
        }
    }

    fn comparison(&mut self) -> Parsed<'gc> {
        let left = self.binary(0)?;
        for (p, op) in [("<", Op::Lt), ("==", Op::Eq)] {
            if self.eat(p) {
                let right = self.binary(0)?;
                return Ok(self.node(Expr::Bin(op, left, right)));
            }
        }
        Ok(left)
    }

    /// Level 0: `+ -`; level 1: `* /`; then application.
    fn binary(&mut self, level: usize) -> Parsed<'gc> {
        const LEVELS: [[(&str, Op); 2]; 2] = [
            [("+", Op::Add), ("-", Op::Sub)],
            [("*", Op::Mul), ("/", Op::Div)],
        ];
        let next = |p: &mut Self| {
            if level + 1 < LEVELS.len() {
                p.binary(level + 1)
            } else {
                p.application()
            }
        };
        let mut left = next(self)?;
        'outer: loop {
            for (p, op) in LEVELS[level] {
                if self.eat(p) {
                    let right = next(self)?;
                    left = self.node(Expr::Bin(op, left, right));
                    continue 'outer;
                }
            }
            return Ok(left);
        }
    }

    fn application(&mut self) -> Parsed<'gc> {
        let mut f = self.atom()?;
        while matches!(self.peek(), Tok::Num(_) | Tok::Ident(_))
            || matches!(self.peek(), Tok::Punct("(" | "true" | "false"))
        {
            let arg = self.atom()?;
            f = self.node(Expr::App(f, arg));
        }
        Ok(f)
    }

    fn atom(&mut self) -> Parsed<'gc> {
        match self.peek().clone() {
            Tok::Num(n) => {
                self.pos += 1;
                Ok(self.node(Expr::Num(n)))
            }
            Tok::Ident(_) => {
                let name = self.ident()?;
                Ok(self.node(Expr::Var(name)))
            }
            Tok::Punct(b @ ("true" | "false")) => {
                self.pos += 1;
                Ok(self.node(Expr::Bool(b == "true")))
            }
            _ if self.eat("(") => {
                let e = self.expr()?;
                self.expect(")")?;
                Ok(e)
            }
            t => Err(format!("unexpected {t:?}")),
        }
    }
}

fn parse<'gc>(mc: &Mutation<'gc>, interp: Gc<'gc, Interp<'gc>>, src: &str) -> Parsed<'gc> {
    let mut p = Parser {
        mc,
        interp,
        toks: lex(src)?,
        pos: 0,
    };
    let e = p.expr()?;
    match p.peek() {
        Tok::End => Ok(e),
        t => Err(format!("unexpected {t:?} after the expression")),
    }
}

// ---------------------------------------------------------------------------------------------
// Evaluation: one step of the CEK machine.

fn push<'gc>(mc: &Mutation<'gc>, frame: Frame<'gc>, next: KontRef<'gc>) -> KontRef<'gc> {
    Some(Gc::new(mc, Kont { frame, next }))
}

fn fail<'gc>(mc: &Mutation<'gc>, msg: String) -> State<'gc> {
    State::Failed(Gc::new(mc, msg))
}

fn lookup<'gc>(mut env: EnvRef<'gc>, name: Sym<'gc>) -> Option<Value<'gc>> {
    while let Some(e) = env {
        if Gc::ptr_eq(e.name, name) {
            return Some(*e.value.borrow());
        }
        env = e.parent;
    }
    None
}

fn show(v: Value<'_>) -> String {
    match v {
        Value::Int(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Closure(c) => match &*c.lambda {
            Expr::Lambda { param, .. } => format!("<fn {param}>"),
            _ => unreachable!("a closure's node is a lambda"),
        },
        Value::Uninit => "<uninitialised>".into(),
    }
}

fn arith<'gc>(op: Op, a: Value<'gc>, b: Value<'gc>) -> Result<Value<'gc>, String> {
    use Value::{Bool, Int};
    let overflow = || format!("overflow in {op:?}");
    Ok(match (op, a, b) {
        (Op::Add, Int(x), Int(y)) => Int(x.checked_add(y).ok_or_else(overflow)?),
        (Op::Sub, Int(x), Int(y)) => Int(x.checked_sub(y).ok_or_else(overflow)?),
        (Op::Mul, Int(x), Int(y)) => Int(x.checked_mul(y).ok_or_else(overflow)?),
        (Op::Div, Int(_), Int(0)) => return Err("division by zero".into()),
        (Op::Div, Int(x), Int(y)) => Int(x.checked_div(y).ok_or_else(overflow)?),
        (Op::Lt, Int(x), Int(y)) => Bool(x < y),
        (Op::Eq, Int(x), Int(y)) => Bool(x == y),
        (Op::Eq, Bool(x), Bool(y)) => Bool(x == y),
        _ => return Err(format!("{op:?} of {} and {}", show(a), show(b))),
    })
}

fn step<'gc>(mc: &Mutation<'gc>, interp: &Interp<'gc>, state: State<'gc>) -> State<'gc> {
    match state {
        State::Eval { expr, env, kont } => match *expr {
            Expr::Num(n) => State::Return {
                value: Value::Int(n),
                kont,
            },
            Expr::Bool(b) => State::Return {
                value: Value::Bool(b),
                kont,
            },
            Expr::Var(name) => match lookup(env, name) {
                Some(Value::Uninit) => fail(mc, format!("`{name}` used in its own definition")),
                Some(value) => State::Return { value, kont },
                None => fail(mc, format!("unbound variable `{name}`")),
            },
            Expr::Bin(op, left, right) => State::Eval {
                expr: left,
                env,
                kont: push(mc, Frame::BinLeft { op, right, env }, kont),
            },
            Expr::Let {
                name,
                value,
                body,
                rec: false,
            } => State::Eval {
                expr: value,
                env,
                kont: push(mc, Frame::Let { name, body, env }, kont),
            },
            Expr::Let {
                name,
                value,
                body,
                rec: true,
            } => {
                // The binding exists (uninitialised) while its value is evaluated, so a closure
                // made there captures it; `Frame::LetRec` closes the cycle.
                let rec_env = Gc::new(
                    mc,
                    Env {
                        name,
                        value: RefLock::new(Value::Uninit),
                        parent: env,
                    },
                );
                State::Eval {
                    expr: value,
                    env: Some(rec_env),
                    kont: push(mc, Frame::LetRec { env: rec_env, body }, kont),
                }
            }
            Expr::Lambda { .. } => State::Return {
                value: Value::Closure(Gc::new(mc, Closure { lambda: expr, env })),
                kont,
            },
            Expr::App(fun, arg) => State::Eval {
                expr: fun,
                env,
                kont: push(mc, Frame::AppFun { arg, env }, kont),
            },
            Expr::If(cond, then, otherwise) => State::Eval {
                expr: cond,
                env,
                kont: push(
                    mc,
                    Frame::If {
                        then,
                        otherwise,
                        env,
                    },
                    kont,
                ),
            },
        },
        State::Return { value, kont: None } => State::Done(value),
        State::Return {
            value,
            kont: Some(k),
        } => match k.frame {
            Frame::BinLeft { op, right, env } => State::Eval {
                expr: right,
                env,
                kont: push(mc, Frame::BinRight { op, left: value }, k.next),
            },
            Frame::BinRight { op, left } => match arith(op, left, value) {
                Ok(value) => State::Return {
                    value,
                    kont: k.next,
                },
                Err(msg) => fail(mc, msg),
            },
            Frame::AppFun { arg, env } => State::Eval {
                expr: arg,
                env,
                kont: push(mc, Frame::AppArg { fun: value }, k.next),
            },
            Frame::AppArg {
                fun: Value::Closure(c),
            } => {
                let Expr::Lambda { param, body } = *c.lambda else {
                    unreachable!("a closure's node is a lambda")
                };
                count_call(mc, interp, c.lambda);
                let env = Gc::new(
                    mc,
                    Env {
                        name: param,
                        value: RefLock::new(value),
                        parent: c.env,
                    },
                );
                // A tail call: the continuation does not grow.
                State::Eval {
                    expr: body,
                    env: Some(env),
                    kont: k.next,
                }
            }
            Frame::AppArg { fun } => fail(mc, format!("{} is not a function", show(fun))),
            Frame::Let { name, body, env } => {
                let env = Gc::new(
                    mc,
                    Env {
                        name,
                        value: RefLock::new(value),
                        parent: env,
                    },
                );
                State::Eval {
                    expr: body,
                    env: Some(env),
                    kont: k.next,
                }
            }
            Frame::LetRec { env, body } => {
                // Close the cycle: the binding now holds the closure that captured it.
                let w = env.write(mc);
                *w.unlock(&env.value).borrow_mut() = value;
                drop(w);
                State::Eval {
                    expr: body,
                    env: Some(env),
                    kont: k.next,
                }
            }
            Frame::If {
                then,
                otherwise,
                env,
            } => match value {
                Value::Bool(b) => State::Eval {
                    expr: if b { then } else { otherwise },
                    env,
                    kont: k.next,
                },
                v => fail(mc, format!("`if` on {}", show(v))),
            },
        },
        done @ (State::Done(_) | State::Failed(_)) => done,
    }
}

/// Counts a call of `lambda` in the profile table.
fn count_call<'gc>(mc: &Mutation<'gc>, interp: &Interp<'gc>, lambda: ExprRef<'gc>) {
    match interp.profile.get(mc, lambda) {
        Some(count) => {
            count.fetch_add(1, Ordering::Relaxed);
        }
        None => {
            interp
                .profile
                .insert(mc, lambda, Gc::new(mc, AtomicU64::new(1)));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Driving the machine: one slice per scope.

/// Runs up to `STEPS_PER_SLICE` steps. `Some` when the program has finished.
fn run_slice<'gc>(
    mc: &Mutation<'gc>,
    interp: Gc<'gc, Interp<'gc>>,
) -> Option<Result<String, String>> {
    let mut state = *interp.state.get().expect("a program is loaded");
    let mut steps = 0;
    while steps < STEPS_PER_SLICE && !matches!(state, State::Done(_) | State::Failed(_)) {
        state = step(mc, &interp, state);
        steps += 1;
    }
    interp.steps.fetch_add(steps, Ordering::Relaxed);
    let result = match state {
        State::Done(value) => Ok(show(value)),
        State::Failed(msg) => Err((*msg).clone()),
        _ => {
            // Not finished: store the state back, where the next slice (and the collector)
            // finds it.
            interp.state.set(mc, Some(Gc::new(mc, state)));
            return None;
        }
    };
    interp.state.set(mc, None);
    Some(result)
}

/// The names of the `let`/`letrec`-bound lambdas of a program, with their call counts.
fn profile_report<'gc>(mc: &Mutation<'gc>, interp: &Interp<'gc>, e: ExprRef<'gc>) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![e];
    while let Some(e) = stack.pop() {
        match *e {
            Expr::Let {
                name, value, body, ..
            } => {
                if let Expr::Lambda { .. } = *value {
                    let calls = interp
                        .profile
                        .get(mc, value)
                        .map_or(0, |c| c.load(Ordering::Relaxed));
                    if calls > 0 {
                        out.push(format!("{name} x{calls}"));
                    }
                }
                stack.extend([body, value]);
            }
            Expr::Bin(_, a, b) | Expr::App(a, b) => stack.extend([b, a]),
            Expr::Lambda { body, .. } => stack.push(body),
            Expr::If(c, t, f) => stack.extend([f, t, c]),
            Expr::Num(_) | Expr::Bool(_) | Expr::Var(_) => {}
        }
    }
    out
}

struct Outcome {
    result: Result<String, String>,
    steps: u64,
    slices: u64,
    cycles: u64,
    profile: Vec<String>,
}

fn run(m: &mut Mutator, interp: &InterpRoot, src: &str) -> Outcome {
    let cycles_before = m.heap().stats().cycles;
    let steps_before = m.enter(|mc| interp.get(mc).steps.load(Ordering::Relaxed));
    // Parse in one scope: the AST goes into the heap, reached from the root.
    let parsed: Result<(), String> = m.enter(|mc| {
        let interp = interp.get(mc);
        let ast = parse(mc, interp, src)?;
        interp.program.set(mc, Some(ast));
        let start = State::Eval {
            expr: ast,
            env: None,
            kont: None,
        };
        interp.state.set(mc, Some(Gc::new(mc, start)));
        Ok(())
    });
    let mut slices = 0;
    let result = match parsed {
        Err(e) => Err(format!("parse error: {e}")),
        Ok(()) => loop {
            slices += 1;
            // Between these scopes the thread holds no GC pointer: collections can finish.
            if let Some(result) = m.enter(|mc| run_slice(mc, interp.get(mc))) {
                break result;
            }
        },
    };
    // Read the profile, then let go of the program.
    let (profile, steps) = m.enter(|mc| {
        let interp = interp.get(mc);
        let profile = interp
            .program
            .take(mc)
            .map_or_else(Vec::new, |ast| profile_report(mc, &interp, ast));
        (profile, interp.steps.load(Ordering::Relaxed) - steps_before)
    });
    Outcome {
        result,
        steps,
        slices,
        cycles: m.heap().stats().cycles - cycles_before,
        profile,
    }
}

const CHURCH: &str = "
    let zero = fn f => fn x => x in
    let succ = fn n => fn f => fn x => f (n f x) in
    let add = fn m => fn n => fn f => fn x => m f (n f x) in
    let mul = fn m => fn n => fn f => m (n f) in
    let to_int = fn n => n (fn k => k + 1) 0 in
    let two = succ (succ zero) in
    let three = succ two in
    to_int (mul (add two three) (mul three three))";

const PROGRAMS: &[(&str, &str, Result<&str, &str>)] = &[
    (
        "arithmetic",
        "let x = 6 in let y = 7 in x * y - 2 / 2",
        Ok("41"),
    ),
    (
        "factorial",
        "letrec fact = fn n => if n < 1 then 1 else n * fact (n - 1) in fact 20",
        Ok("2432902008176640000"),
    ),
    (
        "fibonacci",
        "letrec fib = fn n => if n < 2 then n else fib (n - 1) + fib (n - 2) in fib 16",
        Ok("987"),
    ),
    (
        "tail-recursive sum",
        "letrec sum = fn n => fn acc => if n == 0 then acc else sum (n - 1) (acc + n) \
         in sum 20000 0",
        Ok("200010000"),
    ),
    ("church numerals", CHURCH, Ok("45")),
    (
        "mutual recursion by closures",
        "letrec even = fn n => if n == 0 then true else \
           (letrec odd = fn m => if m == 0 then false else even (m - 1) in odd (n - 1)) \
         in even 101",
        Ok("false"),
    ),
    (
        "higher order",
        "let compose = fn f => fn g => fn x => f (g x) in \
         let inc = fn x => x + 1 in let dbl = fn x => x * 2 in compose inc dbl 20",
        Ok("41"),
    ),
    ("division by zero", "1 / (3 - 3)", Err("division by zero")),
    (
        "not a function",
        "let f = 5 in f 1",
        Err("5 is not a function"),
    ),
    ("unbound", "fn x => y", Ok("<fn x>")),
    (
        "unbound, applied",
        "(fn x => y) 1",
        Err("unbound variable `y`"),
    ),
];

fn main() {
    // The environment's settings (TRICOLOR_GC_STRESS=1 to test the embedding), with a small
    // minimum heap goal so that even these small programs see collections.
    let mut config = Config::from_env().expect("TRICOLOR_* variables");
    config.min_heap_goal = 256 << 10;
    let heap = Heap::with_config(config).expect("heap");
    let mut m = heap.mutator();
    let interp: InterpRoot = m.enter(|mc| Root::new(mc, Gc::new(mc, Interp::new(mc))));

    let user: Vec<String> = std::env::args().skip(1).collect();
    if !user.is_empty() {
        let out = run(&mut m, &interp, &user.join(" "));
        match out.result {
            Ok(v) => println!("{v}"),
            Err(e) => println!("error: {e}"),
        }
        return;
    }

    for (name, src, expected) in PROGRAMS {
        let out = run(&mut m, &interp, src);
        let shown = match &out.result {
            Ok(v) => v.clone(),
            Err(e) => format!("error: {e}"),
        };
        println!(
            "{name:>28}: {shown:<32} {:>7} steps, {:>3} slices, {:>2} collections{}",
            out.steps,
            out.slices,
            out.cycles,
            if out.profile.is_empty() {
                String::new()
            } else {
                format!("; calls: {}", out.profile.join(", "))
            }
        );
        let got = out
            .result
            .as_ref()
            .map(String::as_str)
            .map_err(String::as_str);
        assert_eq!(got, *expected, "{name}");
    }

    // Every program is gone: the ASTs, closures, environments and continuations are garbage,
    // and with them the profile entries (keyed by lambda nodes) and the symbols.
    let (profiled, symbols) = m.enter(|mc| {
        let i = interp.get(mc);
        (i.profile.len(mc), i.symbols.borrow().len())
    });
    heap.collect();
    let (profiled_after, symbols_after) = m.enter(|mc| {
        let i = interp.get(mc);
        (i.profile.len(mc), prune_symbols(mc, i))
    });
    println!(
        "after the programs: profile entries {profiled} -> {profiled_after}, \
         symbols {symbols} -> {symbols_after} (collected with the code that used them)"
    );
    assert_eq!(profiled_after, 0);
    assert_eq!(symbols_after, 0);

    let s = heap.stats();
    println!(
        "heap: {} collections, {} objects allocated, {} in use, max collector-caused wait \
         {:.3} ms",
        s.cycles,
        s.total_allocs,
        s.objects_in_use,
        s.mutator_waits.max as f64 / 1e6
    );
}
