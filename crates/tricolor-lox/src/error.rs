//! Compile errors, formatted exactly as clox prints them.

use std::fmt;

/// Where on its line a [`CompileError`] was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorLocation {
    /// At a token: `Error at 'lexeme'`.
    Token(String),
    /// At the end of the source: `Error at end`.
    End,
    /// A lexical error, which names no token: `Error`.
    Scanner,
}

/// One compile error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompileError {
    /// The 1-based source line.
    pub line: u32,
    /// The token the error is reported at.
    pub location: ErrorLocation,
    /// The message, e.g. `Expect expression.`.
    pub message: String,
}

impl fmt::Display for CompileError {
    /// `[line N] Error at 'tok': message`, `[line N] Error at end: message`
    /// or `[line N] Error: message`, as clox prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[line {}] Error", self.line)?;
        match &self.location {
            ErrorLocation::Token(lexeme) => write!(f, " at '{lexeme}'")?,
            ErrorLocation::End => f.write_str(" at end")?,
            ErrorLocation::Scanner => {}
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for CompileError {}

/// The errors of a failed compilation, in the order clox reports them.
/// Never empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompileErrors {
    errors: Vec<CompileError>,
}

impl CompileErrors {
    /// Wraps a list of errors.
    pub fn new(errors: Vec<CompileError>) -> Self {
        CompileErrors { errors }
    }

    /// The errors, in order.
    pub fn errors(&self) -> &[CompileError] {
        &self.errors
    }

    /// The formatted messages, one per error, in order (without newlines).
    pub fn messages(&self) -> Vec<String> {
        self.errors.iter().map(ToString::to_string).collect()
    }
}

impl fmt::Display for CompileErrors {
    /// The formatted messages, one per line (no trailing newline).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for CompileErrors {}

impl IntoIterator for CompileErrors {
    type Item = CompileError;
    type IntoIter = std::vec::IntoIter<CompileError>;

    fn into_iter(self) -> Self::IntoIter {
        self.errors.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_clox() {
        let errors = CompileErrors::new(vec![
            CompileError {
                line: 3,
                location: ErrorLocation::Token("foo".into()),
                message: "Expect ';' after value.".into(),
            },
            CompileError {
                line: 4,
                location: ErrorLocation::End,
                message: "Expect expression.".into(),
            },
            CompileError {
                line: 5,
                location: ErrorLocation::Scanner,
                message: "Unexpected character.".into(),
            },
        ]);
        assert_eq!(
            errors.messages(),
            [
                "[line 3] Error at 'foo': Expect ';' after value.",
                "[line 4] Error at end: Expect expression.",
                "[line 5] Error: Unexpected character.",
            ]
        );
        assert_eq!(errors.to_string(), errors.messages().join("\n"));
    }
}
