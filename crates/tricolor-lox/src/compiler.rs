//! The single-pass compiler: a Pratt parser that emits bytecode as it
//! parses, exactly as clox's `compiler.c` (chapter 30) does — same grammar,
//! same precedence table, same bytecode, same error messages and limits,
//! and the same panic-mode error recovery.

use std::collections::HashMap;
use std::mem;
use std::rc::Rc;

use crate::chunk::{Chunk, Constant, FunctionKind, FunctionProto};
use crate::error::{CompileError, CompileErrors, ErrorLocation};
use crate::opcode::OpCode;
use crate::scanner::{Scanner, Token, TokenKind};

/// clox's `UINT8_COUNT`: the most locals (including slot 0) and upvalues a
/// function may have.
const UINT8_COUNT: usize = 256;

/// Compiles a Lox program into the function of its top-level script.
///
/// On failure, returns every error reported, in order (panic-mode recovery
/// suppresses the cascade after each error up to the next statement
/// boundary, as in clox).
///
/// ```
/// let script = tricolor_lox::compile("print 1 + 2;").unwrap();
/// assert_eq!(script.name, None);
///
/// let errors = tricolor_lox::compile("print 1 +;").unwrap_err();
/// assert_eq!(errors.messages(), ["[line 1] Error at ';': Expect expression."]);
/// ```
pub fn compile(source: &str) -> Result<Rc<FunctionProto>, CompileErrors> {
    let mut compiler = Compiler::new(source);
    compiler.advance();
    while !compiler.match_token(TokenKind::Eof) {
        compiler.declaration();
    }
    let (script, _) = compiler.end_function();
    if compiler.errors.is_empty() {
        Ok(Rc::new(script))
    } else {
        Err(CompileErrors::new(compiler.errors))
    }
}

/// Operator precedence, lowest first (clox's `Precedence`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Precedence {
    None,
    Assignment, // =
    Or,         // or
    And,        // and
    Equality,   // == !=
    Comparison, // < > <= >=
    Term,       // + -
    Factor,     // * /
    Unary,      // ! -
    Call,       // . ()
    Primary,
}

impl Precedence {
    /// The next-higher precedence (for left-associative binary operators).
    fn next(self) -> Precedence {
        match self {
            Precedence::None => Precedence::Assignment,
            Precedence::Assignment => Precedence::Or,
            Precedence::Or => Precedence::And,
            Precedence::And => Precedence::Equality,
            Precedence::Equality => Precedence::Comparison,
            Precedence::Comparison => Precedence::Term,
            Precedence::Term => Precedence::Factor,
            Precedence::Factor => Precedence::Unary,
            Precedence::Unary => Precedence::Call,
            Precedence::Call | Precedence::Primary => Precedence::Primary,
        }
    }

    /// The precedence of `kind` as an infix operator (the third column of
    /// clox's rules table).
    fn of(kind: TokenKind) -> Precedence {
        match kind {
            TokenKind::LeftParen | TokenKind::Dot => Precedence::Call,
            TokenKind::Minus | TokenKind::Plus => Precedence::Term,
            TokenKind::Slash | TokenKind::Star => Precedence::Factor,
            TokenKind::BangEqual | TokenKind::EqualEqual => Precedence::Equality,
            TokenKind::Greater
            | TokenKind::GreaterEqual
            | TokenKind::Less
            | TokenKind::LessEqual => Precedence::Comparison,
            TokenKind::And => Precedence::And,
            TokenKind::Or => Precedence::Or,
            _ => Precedence::None,
        }
    }
}

/// A local variable in scope (clox's `Local`).
#[derive(Clone, Copy, Debug)]
struct Local<'src> {
    name: &'src str,
    /// The scope depth, or `None` while the initializer is being compiled
    /// (clox's `-1`).
    depth: Option<u32>,
    is_captured: bool,
}

/// A variable captured by the function being compiled (clox's `Upvalue`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Upvalue {
    index: u8,
    is_local: bool,
}

/// The per-function state of clox's `Compiler` struct.
#[derive(Debug)]
struct FunctionState<'src> {
    name: Option<Rc<str>>,
    kind: FunctionKind,
    arity: usize,
    chunk: Chunk,
    locals: Vec<Local<'src>>,
    upvalues: Vec<Upvalue>,
    scope_depth: u32,
}

impl<'src> FunctionState<'src> {
    fn new(kind: FunctionKind, name: Option<Rc<str>>) -> Self {
        let mut locals = Vec::with_capacity(UINT8_COUNT);
        // Slot 0 holds the receiver of methods, the callee otherwise.
        locals.push(Local {
            name: if kind == FunctionKind::Function {
                ""
            } else {
                "this"
            },
            depth: Some(0),
            is_captured: false,
        });
        FunctionState {
            name,
            kind,
            arity: 0,
            chunk: Chunk::new(),
            locals,
            upvalues: Vec::new(),
            scope_depth: 0,
        }
    }

    /// clox's `resolveLocal` without the error: the slot of the innermost
    /// local called `name`, and whether it is still uninitialized.
    fn find_local(&self, name: &str) -> Option<(usize, bool)> {
        self.locals
            .iter()
            .rposition(|local| local.name == name)
            .map(|slot| (slot, self.locals[slot].depth.is_none()))
    }
}

/// The per-class state of clox's `ClassCompiler`.
#[derive(Clone, Copy, Debug)]
struct ClassState {
    has_superclass: bool,
}

/// Parser, scanner and code generator in one (clox's globals `parser`,
/// `current` and `currentClass`).
struct Compiler<'src> {
    scanner: Scanner<'src>,
    current: Token<'src>,
    previous: Token<'src>,
    panic_mode: bool,
    errors: Vec<CompileError>,
    /// The function being compiled.
    function: FunctionState<'src>,
    /// The functions enclosing it, outermost first.
    enclosing: Vec<FunctionState<'src>>,
    /// The classes being compiled, outermost first.
    classes: Vec<ClassState>,
    /// Strings already turned into `Rc<str>`, so that equal names and
    /// literals share one allocation.
    strings: HashMap<&'src str, Rc<str>>,
}

impl<'src> Compiler<'src> {
    fn new(source: &'src str) -> Self {
        let eof = Token {
            kind: TokenKind::Eof,
            lexeme: "",
            line: 1,
        };
        Compiler {
            scanner: Scanner::new(source),
            current: eof,
            previous: eof,
            panic_mode: false,
            errors: Vec::new(),
            function: FunctionState::new(FunctionKind::Script, None),
            enclosing: Vec::new(),
            classes: Vec::new(),
            strings: HashMap::new(),
        }
    }

    // ----------------------------------------------------------------------
    // Errors.

    fn error_at(&mut self, token: Token<'src>, message: &str) {
        if self.panic_mode {
            return;
        }
        self.panic_mode = true;
        let location = match token.kind {
            TokenKind::Eof => ErrorLocation::End,
            TokenKind::Error => ErrorLocation::Scanner,
            _ => ErrorLocation::Token(token.lexeme.to_owned()),
        };
        self.errors.push(CompileError {
            line: token.line,
            location,
            message: message.to_owned(),
        });
    }

    /// Reports an error at the previous token.
    fn error(&mut self, message: &str) {
        self.error_at(self.previous, message);
    }

    /// Reports an error at the current token.
    fn error_at_current(&mut self, message: &str) {
        self.error_at(self.current, message);
    }

    // ----------------------------------------------------------------------
    // Token stream.

    fn advance(&mut self) {
        self.previous = self.current;
        loop {
            self.current = self.scanner.scan_token();
            if self.current.kind != TokenKind::Error {
                break;
            }
            self.error_at_current(self.current.lexeme);
        }
    }

    fn consume(&mut self, kind: TokenKind, message: &str) {
        if self.current.kind == kind {
            self.advance();
        } else {
            self.error_at_current(message);
        }
    }

    #[inline]
    fn check(&self, kind: TokenKind) -> bool {
        self.current.kind == kind
    }

    fn match_token(&mut self, kind: TokenKind) -> bool {
        if !self.check(kind) {
            return false;
        }
        self.advance();
        true
    }

    // ----------------------------------------------------------------------
    // Code emission.

    fn chunk(&mut self) -> &mut Chunk {
        &mut self.function.chunk
    }

    fn emit_byte(&mut self, byte: u8) {
        let line = self.previous.line;
        self.chunk().write(byte, line);
    }

    fn emit_op(&mut self, op: OpCode) {
        self.emit_byte(op as u8);
    }

    fn emit_op_byte(&mut self, op: OpCode, operand: u8) {
        self.emit_op(op);
        self.emit_byte(operand);
    }

    fn emit_loop(&mut self, loop_start: usize) {
        self.emit_op(OpCode::Loop);
        let offset = self.chunk().code.len() - loop_start + 2;
        if offset > usize::from(u16::MAX) {
            self.error("Loop body too large.");
        }
        self.emit_byte(((offset >> 8) & 0xff) as u8);
        self.emit_byte((offset & 0xff) as u8);
    }

    /// Emits a jump with a placeholder offset; returns the offset's position.
    fn emit_jump(&mut self, op: OpCode) -> usize {
        self.emit_op(op);
        self.emit_byte(0xff);
        self.emit_byte(0xff);
        self.chunk().code.len() - 2
    }

    fn emit_return(&mut self) {
        if self.function.kind == FunctionKind::Initializer {
            self.emit_op_byte(OpCode::GetLocal, 0);
        } else {
            self.emit_op(OpCode::Nil);
        }
        self.emit_op(OpCode::Return);
    }

    fn make_constant(&mut self, constant: Constant) -> u8 {
        let index = self.chunk().add_constant(constant);
        match u8::try_from(index) {
            Ok(index) => index,
            Err(_) => {
                self.error("Too many constants in one chunk.");
                0
            }
        }
    }

    fn emit_constant(&mut self, constant: Constant) {
        let index = self.make_constant(constant);
        self.emit_op_byte(OpCode::Constant, index);
    }

    /// Backpatches the jump whose offset is at `offset` to land here.
    fn patch_jump(&mut self, offset: usize) {
        // -2 to adjust for the bytecode for the jump offset itself.
        let jump = self.chunk().code.len() - offset - 2;
        if jump > usize::from(u16::MAX) {
            self.error("Too much code to jump over.");
        }
        let code = &mut self.chunk().code;
        code[offset] = ((jump >> 8) & 0xff) as u8;
        code[offset + 1] = (jump & 0xff) as u8;
    }

    /// clox's `initCompiler` for a function other than the script; its name
    /// is the previous token.
    fn begin_function(&mut self, kind: FunctionKind) {
        let name = self.intern(self.previous.lexeme);
        let inner = FunctionState::new(kind, Some(name));
        let outer = mem::replace(&mut self.function, inner);
        self.enclosing.push(outer);
    }

    /// clox's `endCompiler`: finishes the current function and returns it
    /// with its upvalue descriptors.
    fn end_function(&mut self) -> (FunctionProto, Vec<Upvalue>) {
        self.emit_return();
        let finished = match self.enclosing.pop() {
            Some(outer) => mem::replace(&mut self.function, outer),
            // The script: nothing encloses it, leave an empty state behind.
            None => mem::replace(
                &mut self.function,
                FunctionState::new(FunctionKind::Script, None),
            ),
        };
        let proto = FunctionProto {
            name: finished.name,
            // Only more than 255 after "Can't have more than 255 parameters."
            arity: u8::try_from(finished.arity).unwrap_or(u8::MAX),
            upvalue_count: finished.upvalues.len(),
            kind: finished.kind,
            chunk: finished.chunk,
        };
        (proto, finished.upvalues)
    }

    fn begin_scope(&mut self) {
        self.function.scope_depth += 1;
    }

    fn end_scope(&mut self) {
        self.function.scope_depth -= 1;
        let depth = self.function.scope_depth;
        while let Some(local) = self.function.locals.last().copied() {
            // Like clox, stop at an uninitialized local (depth -1 there).
            if local.depth.is_none_or(|d| d <= depth) {
                break;
            }
            self.emit_op(if local.is_captured {
                OpCode::CloseUpvalue
            } else {
                OpCode::Pop
            });
            self.function.locals.pop();
        }
    }

    // ----------------------------------------------------------------------
    // Variables.

    fn intern(&mut self, text: &'src str) -> Rc<str> {
        self.strings
            .entry(text)
            .or_insert_with(|| Rc::from(text))
            .clone()
    }

    fn identifier_constant(&mut self, name: &'src str) -> u8 {
        let name = self.intern(name);
        self.make_constant(Constant::String(name))
    }

    /// clox's `resolveLocal` on the function at `level` (an index into
    /// `enclosing`, or `enclosing.len()` for the current function).
    fn resolve_local(&mut self, level: usize, name: &str) -> Option<usize> {
        let (slot, uninitialized) = self.function_at(level).find_local(name)?;
        if uninitialized {
            self.error("Can't read local variable in its own initializer.");
        }
        Some(slot)
    }

    fn function_at(&mut self, level: usize) -> &mut FunctionState<'src> {
        if level == self.enclosing.len() {
            &mut self.function
        } else {
            &mut self.enclosing[level]
        }
    }

    fn add_upvalue(&mut self, level: usize, index: u8, is_local: bool) -> usize {
        let upvalue = Upvalue { index, is_local };
        let upvalues = &self.function_at(level).upvalues;
        if let Some(existing) = upvalues.iter().position(|u| *u == upvalue) {
            return existing;
        }
        if upvalues.len() == UINT8_COUNT {
            self.error("Too many closure variables in function.");
            return 0;
        }
        let upvalues = &mut self.function_at(level).upvalues;
        upvalues.push(upvalue);
        upvalues.len() - 1
    }

    /// clox's `resolveUpvalue` on the function at `level`.
    fn resolve_upvalue(&mut self, level: usize, name: &str) -> Option<usize> {
        let outer = level.checked_sub(1)?;
        if let Some(local) = self.resolve_local(outer, name) {
            self.function_at(outer).locals[local].is_captured = true;
            return Some(self.add_upvalue(level, local as u8, true));
        }
        let upvalue = self.resolve_upvalue(outer, name)?;
        Some(self.add_upvalue(level, upvalue as u8, false))
    }

    fn add_local(&mut self, name: &'src str) {
        if self.function.locals.len() == UINT8_COUNT {
            self.error("Too many local variables in function.");
            return;
        }
        self.function.locals.push(Local {
            name,
            depth: None,
            is_captured: false,
        });
    }

    /// Declares the variable named by the previous token (locals only).
    fn declare_variable(&mut self) {
        let depth = self.function.scope_depth;
        if depth == 0 {
            return;
        }
        let name = self.previous.lexeme;
        let duplicate = self
            .function
            .locals
            .iter()
            .rev()
            .take_while(|local| local.depth.is_none_or(|d| d >= depth))
            .any(|local| local.name == name);
        if duplicate {
            self.error("Already a variable with this name in this scope.");
        }
        self.add_local(name);
    }

    fn parse_variable(&mut self, message: &str) -> u8 {
        self.consume(TokenKind::Identifier, message);
        self.declare_variable();
        if self.function.scope_depth > 0 {
            return 0;
        }
        self.identifier_constant(self.previous.lexeme)
    }

    fn mark_initialized(&mut self) {
        let depth = self.function.scope_depth;
        if depth == 0 {
            return;
        }
        if let Some(local) = self.function.locals.last_mut() {
            local.depth = Some(depth);
        }
    }

    fn define_variable(&mut self, global: u8) {
        if self.function.scope_depth > 0 {
            self.mark_initialized();
            return;
        }
        self.emit_op_byte(OpCode::DefineGlobal, global);
    }

    fn argument_list(&mut self) -> u8 {
        let mut count: u8 = 0;
        if !self.check(TokenKind::RightParen) {
            loop {
                self.expression();
                if count == 255 {
                    self.error("Can't have more than 255 arguments.");
                }
                count = count.wrapping_add(1);
                if !self.match_token(TokenKind::Comma) {
                    break;
                }
            }
        }
        self.consume(TokenKind::RightParen, "Expect ')' after arguments.");
        count
    }

    fn named_variable(&mut self, name: &'src str, can_assign: bool) {
        let level = self.enclosing.len();
        let (get, set, arg) = if let Some(slot) = self.resolve_local(level, name) {
            (OpCode::GetLocal, OpCode::SetLocal, slot as u8)
        } else if let Some(index) = self.resolve_upvalue(level, name) {
            (OpCode::GetUpvalue, OpCode::SetUpvalue, index as u8)
        } else {
            let constant = self.identifier_constant(name);
            (OpCode::GetGlobal, OpCode::SetGlobal, constant)
        };
        if can_assign && self.match_token(TokenKind::Equal) {
            self.expression();
            self.emit_op_byte(set, arg);
        } else {
            self.emit_op_byte(get, arg);
        }
    }

    // ----------------------------------------------------------------------
    // Expressions.

    fn expression(&mut self) {
        self.parse_precedence(Precedence::Assignment);
    }

    fn parse_precedence(&mut self, precedence: Precedence) {
        self.advance();
        let can_assign = precedence <= Precedence::Assignment;
        if !self.prefix_rule(self.previous.kind, can_assign) {
            self.error("Expect expression.");
            return;
        }
        while precedence <= Precedence::of(self.current.kind) {
            self.advance();
            self.infix_rule(self.previous.kind, can_assign);
        }
        if can_assign && self.match_token(TokenKind::Equal) {
            self.error("Invalid assignment target.");
        }
    }

    /// Runs the prefix parse function of `kind` (first column of clox's
    /// rules table); false if it has none.
    fn prefix_rule(&mut self, kind: TokenKind, can_assign: bool) -> bool {
        match kind {
            TokenKind::LeftParen => self.grouping(),
            TokenKind::Minus | TokenKind::Bang => self.unary(),
            TokenKind::Identifier => self.variable(can_assign),
            TokenKind::String => self.string(),
            TokenKind::Number => self.number(),
            TokenKind::False | TokenKind::Nil | TokenKind::True => self.literal(),
            TokenKind::Super => self.super_(),
            TokenKind::This => self.this(),
            _ => return false,
        }
        true
    }

    /// Runs the infix parse function of `kind` (second column of clox's
    /// rules table). Only called for kinds whose precedence is not `None`,
    /// which all have one.
    fn infix_rule(&mut self, kind: TokenKind, can_assign: bool) {
        match kind {
            TokenKind::LeftParen => self.call(),
            TokenKind::Dot => self.dot(can_assign),
            TokenKind::And => self.and(),
            TokenKind::Or => self.or(),
            _ => self.binary(),
        }
    }

    fn and(&mut self) {
        let end_jump = self.emit_jump(OpCode::JumpIfFalse);
        self.emit_op(OpCode::Pop);
        self.parse_precedence(Precedence::And);
        self.patch_jump(end_jump);
    }

    fn or(&mut self) {
        let else_jump = self.emit_jump(OpCode::JumpIfFalse);
        let end_jump = self.emit_jump(OpCode::Jump);
        self.patch_jump(else_jump);
        self.emit_op(OpCode::Pop);
        self.parse_precedence(Precedence::Or);
        self.patch_jump(end_jump);
    }

    fn binary(&mut self) {
        let operator = self.previous.kind;
        self.parse_precedence(Precedence::of(operator).next());
        match operator {
            TokenKind::BangEqual => {
                self.emit_op(OpCode::Equal);
                self.emit_op(OpCode::Not);
            }
            TokenKind::EqualEqual => self.emit_op(OpCode::Equal),
            TokenKind::Greater => self.emit_op(OpCode::Greater),
            TokenKind::GreaterEqual => {
                self.emit_op(OpCode::Less);
                self.emit_op(OpCode::Not);
            }
            TokenKind::Less => self.emit_op(OpCode::Less),
            TokenKind::LessEqual => {
                self.emit_op(OpCode::Greater);
                self.emit_op(OpCode::Not);
            }
            TokenKind::Plus => self.emit_op(OpCode::Add),
            TokenKind::Minus => self.emit_op(OpCode::Subtract),
            TokenKind::Star => self.emit_op(OpCode::Multiply),
            TokenKind::Slash => self.emit_op(OpCode::Divide),
            _ => {}
        }
    }

    fn call(&mut self) {
        let count = self.argument_list();
        self.emit_op_byte(OpCode::Call, count);
    }

    fn dot(&mut self, can_assign: bool) {
        self.consume(TokenKind::Identifier, "Expect property name after '.'.");
        let name = self.identifier_constant(self.previous.lexeme);
        if can_assign && self.match_token(TokenKind::Equal) {
            self.expression();
            self.emit_op_byte(OpCode::SetProperty, name);
        } else if self.match_token(TokenKind::LeftParen) {
            let count = self.argument_list();
            self.emit_op_byte(OpCode::Invoke, name);
            self.emit_byte(count);
        } else {
            self.emit_op_byte(OpCode::GetProperty, name);
        }
    }

    fn literal(&mut self) {
        match self.previous.kind {
            TokenKind::False => self.emit_op(OpCode::False),
            TokenKind::Nil => self.emit_op(OpCode::Nil),
            TokenKind::True => self.emit_op(OpCode::True),
            _ => {}
        }
    }

    fn grouping(&mut self) {
        self.expression();
        self.consume(TokenKind::RightParen, "Expect ')' after expression.");
    }

    fn number(&mut self) {
        // The scanner only makes `digits` or `digits.digits` lexemes, which
        // always parse; Rust rounds correctly, like glibc's `strtod`.
        let value: f64 = self.previous.lexeme.parse().unwrap_or(f64::NAN);
        self.emit_constant(Constant::Number(value));
    }

    fn string(&mut self) {
        let lexeme = self.previous.lexeme;
        let contents = &lexeme[1..lexeme.len() - 1];
        let string = self.intern(contents);
        self.emit_constant(Constant::String(string));
    }

    fn variable(&mut self, can_assign: bool) {
        self.named_variable(self.previous.lexeme, can_assign);
    }

    fn super_(&mut self) {
        match self.classes.last() {
            None => self.error("Can't use 'super' outside of a class."),
            Some(class) if !class.has_superclass => {
                self.error("Can't use 'super' in a class with no superclass.");
            }
            Some(_) => {}
        }
        self.consume(TokenKind::Dot, "Expect '.' after 'super'.");
        self.consume(TokenKind::Identifier, "Expect superclass method name.");
        let name = self.identifier_constant(self.previous.lexeme);
        self.named_variable("this", false);
        if self.match_token(TokenKind::LeftParen) {
            let count = self.argument_list();
            self.named_variable("super", false);
            self.emit_op_byte(OpCode::SuperInvoke, name);
            self.emit_byte(count);
        } else {
            self.named_variable("super", false);
            self.emit_op_byte(OpCode::GetSuper, name);
        }
    }

    fn this(&mut self) {
        if self.classes.is_empty() {
            self.error("Can't use 'this' outside of a class.");
            return;
        }
        self.variable(false);
    }

    fn unary(&mut self) {
        let operator = self.previous.kind;
        self.parse_precedence(Precedence::Unary);
        match operator {
            TokenKind::Bang => self.emit_op(OpCode::Not),
            TokenKind::Minus => self.emit_op(OpCode::Negate),
            _ => {}
        }
    }

    // ----------------------------------------------------------------------
    // Declarations and statements.

    fn declaration(&mut self) {
        if self.match_token(TokenKind::Class) {
            self.class_declaration();
        } else if self.match_token(TokenKind::Fun) {
            self.fun_declaration();
        } else if self.match_token(TokenKind::Var) {
            self.var_declaration();
        } else {
            self.statement();
        }
        if self.panic_mode {
            self.synchronize();
        }
    }

    fn synchronize(&mut self) {
        self.panic_mode = false;
        while self.current.kind != TokenKind::Eof {
            if self.previous.kind == TokenKind::Semicolon {
                return;
            }
            match self.current.kind {
                TokenKind::Class
                | TokenKind::Fun
                | TokenKind::Var
                | TokenKind::For
                | TokenKind::If
                | TokenKind::While
                | TokenKind::Print
                | TokenKind::Return => return,
                _ => {}
            }
            self.advance();
        }
    }

    fn block(&mut self) {
        while !self.check(TokenKind::RightBrace) && !self.check(TokenKind::Eof) {
            self.declaration();
        }
        self.consume(TokenKind::RightBrace, "Expect '}' after block.");
    }

    /// Compiles a function's parameters and body (the previous token is its
    /// name) and emits the closure that creates it.
    fn function(&mut self, kind: FunctionKind) {
        self.begin_function(kind);
        self.begin_scope();
        self.consume(TokenKind::LeftParen, "Expect '(' after function name.");
        if !self.check(TokenKind::RightParen) {
            loop {
                self.function.arity += 1;
                if self.function.arity > 255 {
                    self.error_at_current("Can't have more than 255 parameters.");
                }
                let constant = self.parse_variable("Expect parameter name.");
                self.define_variable(constant);
                if !self.match_token(TokenKind::Comma) {
                    break;
                }
            }
        }
        self.consume(TokenKind::RightParen, "Expect ')' after parameters.");
        self.consume(TokenKind::LeftBrace, "Expect '{' before function body.");
        self.block();
        let (function, upvalues) = self.end_function();
        let constant = self.make_constant(Constant::Function(Rc::new(function)));
        self.emit_op_byte(OpCode::Closure, constant);
        for upvalue in upvalues {
            self.emit_byte(u8::from(upvalue.is_local));
            self.emit_byte(upvalue.index);
        }
    }

    fn method(&mut self) {
        self.consume(TokenKind::Identifier, "Expect method name.");
        let constant = self.identifier_constant(self.previous.lexeme);
        let kind = if self.previous.lexeme == "init" {
            FunctionKind::Initializer
        } else {
            FunctionKind::Method
        };
        self.function(kind);
        self.emit_op_byte(OpCode::Method, constant);
    }

    fn class_declaration(&mut self) {
        self.consume(TokenKind::Identifier, "Expect class name.");
        let class_name = self.previous.lexeme;
        let name_constant = self.identifier_constant(class_name);
        self.declare_variable();
        self.emit_op_byte(OpCode::Class, name_constant);
        self.define_variable(name_constant);

        self.classes.push(ClassState {
            has_superclass: false,
        });

        if self.match_token(TokenKind::Less) {
            self.consume(TokenKind::Identifier, "Expect superclass name.");
            self.variable(false);
            if class_name == self.previous.lexeme {
                self.error("A class can't inherit from itself.");
            }
            self.begin_scope();
            self.add_local("super");
            self.define_variable(0);
            self.named_variable(class_name, false);
            self.emit_op(OpCode::Inherit);
            if let Some(class) = self.classes.last_mut() {
                class.has_superclass = true;
            }
        }

        self.named_variable(class_name, false);
        self.consume(TokenKind::LeftBrace, "Expect '{' before class body.");
        while !self.check(TokenKind::RightBrace) && !self.check(TokenKind::Eof) {
            self.method();
        }
        self.consume(TokenKind::RightBrace, "Expect '}' after class body.");
        self.emit_op(OpCode::Pop);

        if self.classes.pop().is_some_and(|class| class.has_superclass) {
            self.end_scope();
        }
    }

    fn fun_declaration(&mut self) {
        let global = self.parse_variable("Expect function name.");
        self.mark_initialized();
        self.function(FunctionKind::Function);
        self.define_variable(global);
    }

    fn var_declaration(&mut self) {
        let global = self.parse_variable("Expect variable name.");
        if self.match_token(TokenKind::Equal) {
            self.expression();
        } else {
            self.emit_op(OpCode::Nil);
        }
        self.consume(
            TokenKind::Semicolon,
            "Expect ';' after variable declaration.",
        );
        self.define_variable(global);
    }

    fn statement(&mut self) {
        if self.match_token(TokenKind::Print) {
            self.print_statement();
        } else if self.match_token(TokenKind::For) {
            self.for_statement();
        } else if self.match_token(TokenKind::If) {
            self.if_statement();
        } else if self.match_token(TokenKind::Return) {
            self.return_statement();
        } else if self.match_token(TokenKind::While) {
            self.while_statement();
        } else if self.match_token(TokenKind::LeftBrace) {
            self.begin_scope();
            self.block();
            self.end_scope();
        } else {
            self.expression_statement();
        }
    }

    fn expression_statement(&mut self) {
        self.expression();
        self.consume(TokenKind::Semicolon, "Expect ';' after expression.");
        self.emit_op(OpCode::Pop);
    }

    fn for_statement(&mut self) {
        self.begin_scope();
        self.consume(TokenKind::LeftParen, "Expect '(' after 'for'.");
        if self.match_token(TokenKind::Semicolon) {
            // No initializer.
        } else if self.match_token(TokenKind::Var) {
            self.var_declaration();
        } else {
            self.expression_statement();
        }

        let mut loop_start = self.chunk().code.len();
        let mut exit_jump = None;
        if !self.match_token(TokenKind::Semicolon) {
            self.expression();
            self.consume(TokenKind::Semicolon, "Expect ';' after loop condition.");
            // Jump out of the loop if the condition is false.
            exit_jump = Some(self.emit_jump(OpCode::JumpIfFalse));
            self.emit_op(OpCode::Pop); // Condition.
        }

        if !self.match_token(TokenKind::RightParen) {
            let body_jump = self.emit_jump(OpCode::Jump);
            let increment_start = self.chunk().code.len();
            self.expression();
            self.emit_op(OpCode::Pop);
            self.consume(TokenKind::RightParen, "Expect ')' after for clauses.");
            self.emit_loop(loop_start);
            loop_start = increment_start;
            self.patch_jump(body_jump);
        }

        self.statement();
        self.emit_loop(loop_start);

        if let Some(exit_jump) = exit_jump {
            self.patch_jump(exit_jump);
            self.emit_op(OpCode::Pop); // Condition.
        }
        self.end_scope();
    }

    fn if_statement(&mut self) {
        self.consume(TokenKind::LeftParen, "Expect '(' after 'if'.");
        self.expression();
        self.consume(TokenKind::RightParen, "Expect ')' after condition.");

        let then_jump = self.emit_jump(OpCode::JumpIfFalse);
        self.emit_op(OpCode::Pop);
        self.statement();
        let else_jump = self.emit_jump(OpCode::Jump);
        self.patch_jump(then_jump);
        self.emit_op(OpCode::Pop);
        if self.match_token(TokenKind::Else) {
            self.statement();
        }
        self.patch_jump(else_jump);
    }

    fn print_statement(&mut self) {
        self.expression();
        self.consume(TokenKind::Semicolon, "Expect ';' after value.");
        self.emit_op(OpCode::Print);
    }

    fn return_statement(&mut self) {
        if self.function.kind == FunctionKind::Script {
            self.error("Can't return from top-level code.");
        }
        if self.match_token(TokenKind::Semicolon) {
            self.emit_return();
        } else {
            if self.function.kind == FunctionKind::Initializer {
                self.error("Can't return a value from an initializer.");
            }
            self.expression();
            self.consume(TokenKind::Semicolon, "Expect ';' after return value.");
            self.emit_op(OpCode::Return);
        }
    }

    fn while_statement(&mut self) {
        let loop_start = self.chunk().code.len();
        self.consume(TokenKind::LeftParen, "Expect '(' after 'while'.");
        self.expression();
        self.consume(TokenKind::RightParen, "Expect ')' after condition.");

        let exit_jump = self.emit_jump(OpCode::JumpIfFalse);
        self.emit_op(OpCode::Pop);
        self.statement();
        self.emit_loop(loop_start);

        self.patch_jump(exit_jump);
        self.emit_op(OpCode::Pop);
    }
}
