//! Diagnostics about a configuration file: `file:line:column: key: message`.

use std::fmt;

use super::syntax::Pos;

/// One finding about a configuration file, an error or a warning.
///
/// JSON shape (in `ha-cfgtool config check --json`):
/// `{"file":"ha.conf","line":12,"column":5,"key":"totem.token","message":"expected ..."}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    /// The file as named by the caller (a path or `<stdin>`).
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// Dotted path of the key or section, e.g. `totem.interface.mcastport`.
    pub key: String,
    /// What is wrong, or what was expected.
    pub message: String,
}

impl Diagnostic {
    /// A diagnostic at `pos` in `file`.
    pub fn new(file: &str, pos: Pos, key: &str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            file: file.into(),
            line: pos.line,
            column: pos.column,
            key: key.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.file, self.line, self.column, self.key, self.message
        )
    }
}
