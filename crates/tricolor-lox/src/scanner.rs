//! The scanner: turns Lox source text into [`Token`]s on demand.
//!
//! This is clox's scanner (`scanner.c`), working over bytes. Like clox it
//! produces one token per call to [`Scanner::scan_token`], and reports
//! lexical errors as tokens of kind [`TokenKind::Error`] whose lexeme is the
//! error message. A NUL byte ends the source, as it does for clox.

/// The kind of a [`Token`], one per clox `TokenType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// `(`
    LeftParen,
    /// `)`
    RightParen,
    /// `{`
    LeftBrace,
    /// `}`
    RightBrace,
    /// `,`
    Comma,
    /// `.`
    Dot,
    /// `-`
    Minus,
    /// `+`
    Plus,
    /// `;`
    Semicolon,
    /// `/`
    Slash,
    /// `*`
    Star,
    /// `!`
    Bang,
    /// `!=`
    BangEqual,
    /// `=`
    Equal,
    /// `==`
    EqualEqual,
    /// `>`
    Greater,
    /// `>=`
    GreaterEqual,
    /// `<`
    Less,
    /// `<=`
    LessEqual,
    /// An identifier.
    Identifier,
    /// A string literal; the lexeme includes the quotes.
    String,
    /// A number literal.
    Number,
    /// `and`
    And,
    /// `class`
    Class,
    /// `else`
    Else,
    /// `false`
    False,
    /// `for`
    For,
    /// `fun`
    Fun,
    /// `if`
    If,
    /// `nil`
    Nil,
    /// `or`
    Or,
    /// `print`
    Print,
    /// `return`
    Return,
    /// `super`
    Super,
    /// `this`
    This,
    /// `true`
    True,
    /// `var`
    Var,
    /// `while`
    While,
    /// A lexical error; the lexeme is the error message.
    Error,
    /// The end of the source.
    Eof,
}

/// A token: its kind, its text and the line it ends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token<'src> {
    /// What kind of token this is.
    pub kind: TokenKind,
    /// The token's text in the source (for [`TokenKind::Error`], the error
    /// message; for [`TokenKind::Eof`], the empty string).
    pub lexeme: &'src str,
    /// The 1-based line the token ends on (clox records the scanner's line
    /// when the token is finished, so a multi-line string reports its last
    /// line).
    pub line: u32,
}

/// The scanner: yields tokens from a source string one at a time.
#[derive(Clone, Debug)]
pub struct Scanner<'src> {
    source: &'src str,
    bytes: &'src [u8],
    start: usize,
    current: usize,
    line: u32,
}

impl<'src> Scanner<'src> {
    /// A scanner positioned at the start of `source`, on line 1.
    pub fn new(source: &'src str) -> Self {
        Scanner {
            source,
            bytes: source.as_bytes(),
            start: 0,
            current: 0,
            line: 1,
        }
    }

    /// Scans and returns the next token. After the end of the source, every
    /// call returns a [`TokenKind::Eof`] token.
    pub fn scan_token(&mut self) -> Token<'src> {
        self.skip_whitespace();
        self.start = self.current;
        if self.is_at_end() {
            return self.make_token(TokenKind::Eof);
        }
        let c = self.advance();
        if is_alpha(c) {
            return self.identifier();
        }
        if c.is_ascii_digit() {
            return self.number();
        }
        let kind = match c {
            b'(' => TokenKind::LeftParen,
            b')' => TokenKind::RightParen,
            b'{' => TokenKind::LeftBrace,
            b'}' => TokenKind::RightBrace,
            b';' => TokenKind::Semicolon,
            b',' => TokenKind::Comma,
            b'.' => TokenKind::Dot,
            b'-' => TokenKind::Minus,
            b'+' => TokenKind::Plus,
            b'/' => TokenKind::Slash,
            b'*' => TokenKind::Star,
            b'!' => self.pick(TokenKind::BangEqual, TokenKind::Bang),
            b'=' => self.pick(TokenKind::EqualEqual, TokenKind::Equal),
            b'<' => self.pick(TokenKind::LessEqual, TokenKind::Less),
            b'>' => self.pick(TokenKind::GreaterEqual, TokenKind::Greater),
            b'"' => return self.string(),
            _ => return self.error_token("Unexpected character."),
        };
        self.make_token(kind)
    }

    /// `with_equal` if the next byte is `=` (consuming it), else `without`.
    fn pick(&mut self, with_equal: TokenKind, without: TokenKind) -> TokenKind {
        if self.peek() == b'=' {
            self.current += 1;
            with_equal
        } else {
            without
        }
    }

    #[inline]
    fn is_at_end(&self) -> bool {
        self.peek() == 0
    }

    #[inline]
    fn peek(&self) -> u8 {
        self.bytes.get(self.current).copied().unwrap_or(0)
    }

    #[inline]
    fn peek_next(&self) -> u8 {
        if self.is_at_end() {
            return 0;
        }
        self.bytes.get(self.current + 1).copied().unwrap_or(0)
    }

    #[inline]
    fn advance(&mut self) -> u8 {
        let c = self.peek();
        self.current += 1;
        c
    }

    fn make_token(&self, kind: TokenKind) -> Token<'src> {
        // Every token other than an error starts and ends next to an ASCII
        // byte (or at the end of the source), so this is a char boundary.
        Token {
            kind,
            lexeme: &self.source[self.start..self.current],
            line: self.line,
        }
    }

    fn error_token(&self, message: &'static str) -> Token<'src> {
        Token {
            kind: TokenKind::Error,
            lexeme: message,
            line: self.line,
        }
    }

    fn skip_whitespace(&mut self) {
        loop {
            match self.peek() {
                b' ' | b'\r' | b'\t' => self.current += 1,
                b'\n' => {
                    self.line += 1;
                    self.current += 1;
                }
                b'/' if self.peek_next() == b'/' => {
                    while self.peek() != b'\n' && !self.is_at_end() {
                        self.current += 1;
                    }
                }
                _ => return,
            }
        }
    }

    fn identifier(&mut self) -> Token<'src> {
        while is_alpha(self.peek()) || self.peek().is_ascii_digit() {
            self.current += 1;
        }
        let kind = keyword(&self.bytes[self.start..self.current]);
        self.make_token(kind)
    }

    fn number(&mut self) -> Token<'src> {
        while self.peek().is_ascii_digit() {
            self.current += 1;
        }
        if self.peek() == b'.' && self.peek_next().is_ascii_digit() {
            self.current += 1;
            while self.peek().is_ascii_digit() {
                self.current += 1;
            }
        }
        self.make_token(TokenKind::Number)
    }

    fn string(&mut self) -> Token<'src> {
        while self.peek() != b'"' && !self.is_at_end() {
            if self.peek() == b'\n' {
                self.line += 1;
            }
            self.current += 1;
        }
        if self.is_at_end() {
            return self.error_token("Unterminated string.");
        }
        self.current += 1; // The closing quote.
        self.make_token(TokenKind::String)
    }
}

impl<'src> Iterator for Scanner<'src> {
    type Item = Token<'src>;

    /// The next token, or `None` once the end of the source is reached (the
    /// [`TokenKind::Eof`] token itself is not yielded).
    fn next(&mut self) -> Option<Token<'src>> {
        let token = self.scan_token();
        (token.kind != TokenKind::Eof).then_some(token)
    }
}

#[inline]
fn is_alpha(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

/// The keyword kind of an identifier's text, or [`TokenKind::Identifier`].
fn keyword(text: &[u8]) -> TokenKind {
    match text {
        b"and" => TokenKind::And,
        b"class" => TokenKind::Class,
        b"else" => TokenKind::Else,
        b"false" => TokenKind::False,
        b"for" => TokenKind::For,
        b"fun" => TokenKind::Fun,
        b"if" => TokenKind::If,
        b"nil" => TokenKind::Nil,
        b"or" => TokenKind::Or,
        b"print" => TokenKind::Print,
        b"return" => TokenKind::Return,
        b"super" => TokenKind::Super,
        b"this" => TokenKind::This,
        b"true" => TokenKind::True,
        b"var" => TokenKind::Var,
        b"while" => TokenKind::While,
        _ => TokenKind::Identifier,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(source: &str) -> Vec<TokenKind> {
        Scanner::new(source).map(|t| t.kind).collect()
    }

    fn all(source: &str) -> Vec<(TokenKind, &str, u32)> {
        Scanner::new(source)
            .map(|t| (t.kind, t.lexeme, t.line))
            .collect()
    }

    #[test]
    fn punctuation_and_operators() {
        use TokenKind::*;
        assert_eq!(
            kinds("(){};,.-+/*! != = == > >= < <="),
            vec![
                LeftParen,
                RightParen,
                LeftBrace,
                RightBrace,
                Semicolon,
                Comma,
                Dot,
                Minus,
                Plus,
                Slash,
                Star,
                Bang,
                BangEqual,
                Equal,
                EqualEqual,
                Greater,
                GreaterEqual,
                Less,
                LessEqual
            ]
        );
        // Two-character operators are matched greedily, with no space.
        assert_eq!(kinds("!==="), vec![BangEqual, EqualEqual]);
        assert_eq!(kinds("<=>"), vec![LessEqual, Greater]);
    }

    #[test]
    fn keywords_and_identifiers() {
        use TokenKind::*;
        assert_eq!(
            kinds("and class else false for fun if nil or print return super this true var while"),
            vec![
                And, Class, Else, False, For, Fun, If, Nil, Or, Print, Return, Super, This, True,
                Var, While
            ]
        );
        assert_eq!(
            all("andy formless fo _ _123 _abc ab123 classy"),
            vec![
                (Identifier, "andy", 1),
                (Identifier, "formless", 1),
                (Identifier, "fo", 1),
                (Identifier, "_", 1),
                (Identifier, "_123", 1),
                (Identifier, "_abc", 1),
                (Identifier, "ab123", 1),
                (Identifier, "classy", 1),
            ]
        );
    }

    #[test]
    fn numbers() {
        use TokenKind::*;
        assert_eq!(
            all("123 123.456 .456 123."),
            vec![
                (Number, "123", 1),
                (Number, "123.456", 1),
                (Dot, ".", 1),
                (Number, "456", 1),
                (Number, "123", 1),
                (Dot, ".", 1),
            ]
        );
        assert_eq!(
            all("1.2.3"),
            vec![(Number, "1.2", 1), (Dot, ".", 1), (Number, "3", 1)]
        );
        assert_eq!(all("-7"), vec![(Minus, "-", 1), (Number, "7", 1)]);
    }

    #[test]
    fn strings() {
        use TokenKind::*;
        assert_eq!(
            all("\"\" \"abc\""),
            vec![(String, "\"\"", 1), (String, "\"abc\"", 1)]
        );
        // A string token reports the line it ends on.
        assert_eq!(
            all("\"a\nb\nc\" x"),
            vec![(String, "\"a\nb\nc\"", 3), (Identifier, "x", 3)]
        );
        // Non-ASCII text inside a string is kept as is.
        assert_eq!(all("\"héllo ✓\""), vec![(String, "\"héllo ✓\"", 1)]);
    }

    #[test]
    fn unterminated_string() {
        let mut scanner = Scanner::new("x\n\"abc\ndef");
        assert_eq!(scanner.scan_token().kind, TokenKind::Identifier);
        let token = scanner.scan_token();
        assert_eq!(
            (token.kind, token.lexeme, token.line),
            (TokenKind::Error, "Unterminated string.", 3)
        );
        assert_eq!(scanner.scan_token().kind, TokenKind::Eof);
    }

    #[test]
    fn unexpected_characters() {
        use TokenKind::*;
        assert_eq!(
            all("a | b"),
            vec![
                (Identifier, "a", 1),
                (Error, "Unexpected character.", 1),
                (Identifier, "b", 1)
            ]
        );
        // A non-ASCII character gives one error per byte, as in clox.
        assert_eq!(kinds("é"), vec![Error, Error]);
        assert_eq!(kinds("#@"), vec![Error, Error]);
    }

    #[test]
    fn comments_whitespace_and_lines() {
        use TokenKind::*;
        assert_eq!(
            all("// comment\n a // another\r\n\t\tb /\n/ // end"),
            vec![
                (Identifier, "a", 2),
                (Identifier, "b", 3),
                (Slash, "/", 3),
                (Slash, "/", 4)
            ]
        );
        assert_eq!(all("// only a comment"), vec![]);
    }

    #[test]
    fn eof_is_sticky_and_reports_last_line() {
        let mut scanner = Scanner::new("a\n\n");
        assert_eq!(scanner.scan_token().kind, TokenKind::Identifier);
        for _ in 0..3 {
            let token = scanner.scan_token();
            assert_eq!(
                (token.kind, token.lexeme, token.line),
                (TokenKind::Eof, "", 3)
            );
        }
    }

    #[test]
    fn nul_ends_the_source() {
        assert_eq!(kinds("a\0b"), vec![TokenKind::Identifier]);
    }
}
