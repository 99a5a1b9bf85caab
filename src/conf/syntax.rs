//! The corosync.conf syntax: `name {` opens a section, `}` closes it, `key: value` sets a
//! key, a line whose first non-blank character is `#` is a comment. One statement per line.
//!
//! This layer knows nothing about which sections or keys exist; it only builds a tree in
//! which every key and section remembers its line and column. Pure: no I/O in here.

use std::fmt;

/// Deepest nesting accepted; corosync files use three levels, so this only stops abuse.
pub const MAX_DEPTH: usize = 16;

/// A 1-based line and column in the source text (columns count characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, serde::Serialize)]
pub struct Pos {
    /// Line number, from 1.
    pub line: usize,
    /// Column number, from 1.
    pub column: usize,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// One `key: value` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The key as written (corosync keys are case-sensitive).
    pub key: String,
    /// Where the key starts.
    pub key_pos: Pos,
    /// The value with surrounding blanks removed; may be empty.
    pub value: String,
    /// Where the value starts (just after the colon when the value is empty).
    pub value_pos: Pos,
}

/// A `name { ... }` block.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Section {
    /// The section name; empty for the file's top level.
    pub name: String,
    /// Where the name starts.
    pub pos: Pos,
    /// Keys in file order.
    pub entries: Vec<Entry>,
    /// Nested sections in file order.
    pub sections: Vec<Section>,
}

/// A syntax error: where, and what was expected there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// Where the problem is.
    pub pos: Pos,
    /// The text the problem is about (a section name, `}` or the line's first word).
    pub what: String,
    /// What was expected instead.
    pub message: String,
}

/// Parses corosync.conf syntax into a tree rooted at an unnamed top-level section.
pub fn parse(text: &str) -> Result<Section, SyntaxError> {
    // Open sections, innermost last; the root is never popped.
    let mut stack: Vec<Section> = vec![Section::default()];
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let indent = raw.chars().take_while(|c| c.is_whitespace()).count();
        let trimmed = raw.trim();
        let column = indent + 1;
        let at = Pos { line, column };
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if trimmed == "}" {
            if stack.len() == 1 {
                return Err(SyntaxError {
                    pos: at,
                    what: "}".into(),
                    message: "unexpected `}` with no open section".into(),
                });
            }
            let done = stack.pop().expect("stack holds more than the root");
            stack
                .last_mut()
                .expect("root stays on the stack")
                .sections
                .push(done);
            continue;
        }
        if let Some(head) = trimmed.strip_suffix('{') {
            let name = head.trim_end();
            if !is_name(name) {
                return Err(SyntaxError {
                    pos: at,
                    what: first_word(trimmed),
                    message: "expected a section name before `{` (letters, digits, `_`, `-`)"
                        .into(),
                });
            }
            if stack.len() > MAX_DEPTH {
                return Err(SyntaxError {
                    pos: at,
                    what: name.into(),
                    message: format!("sections nested deeper than {MAX_DEPTH} levels"),
                });
            }
            stack.push(Section {
                name: name.into(),
                pos: at,
                ..Section::default()
            });
            continue;
        }
        let Some(colon) = trimmed.find(':') else {
            return Err(SyntaxError {
                pos: at,
                what: first_word(trimmed),
                message: "expected `key: value`, `name {` or `}`".into(),
            });
        };
        let key = trimmed[..colon].trim_end();
        if !is_name(key) {
            return Err(SyntaxError {
                pos: at,
                what: first_word(trimmed),
                message: "expected a key name before `:` (letters, digits, `_`, `-`)".into(),
            });
        }
        let after = &trimmed[colon + 1..];
        let value = after.trim();
        let value_blank = after.chars().take_while(|c| c.is_whitespace()).count();
        let value_column = column + trimmed[..colon + 1].chars().count() + value_blank;
        stack
            .last_mut()
            .expect("root stays on the stack")
            .entries
            .push(Entry {
                key: key.into(),
                key_pos: at,
                value: value.into(),
                value_pos: Pos {
                    line,
                    column: value_column,
                },
            });
    }
    if stack.len() > 1 {
        let open = stack.pop().expect("checked above");
        return Err(SyntaxError {
            pos: open.pos,
            what: open.name,
            message: "section is not closed (expected `}` before the end of the file)".into(),
        });
    }
    Ok(stack.pop().expect("root stays on the stack"))
}

fn is_name(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
}

fn first_word(text: &str) -> String {
    let word: String = text.chars().take_while(|c| !c.is_whitespace()).collect();
    word.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_sections_keep_positions() {
        let tree =
            parse("# c\ntotem {\n  version: 2\n  interface {\n\tmcastport:5405\n  }\n}\n").unwrap();
        let totem = &tree.sections[0];
        assert_eq!(totem.name, "totem");
        assert_eq!(totem.pos, Pos { line: 2, column: 1 });
        assert_eq!(totem.entries[0].key, "version");
        assert_eq!(totem.entries[0].key_pos, Pos { line: 3, column: 3 });
        assert_eq!(
            totem.entries[0].value_pos,
            Pos {
                line: 3,
                column: 12
            }
        );
        let port = &totem.sections[0].entries[0];
        assert_eq!(
            (port.key.as_str(), port.value.as_str()),
            ("mcastport", "5405")
        );
        assert_eq!(
            port.value_pos,
            Pos {
                line: 5,
                column: 12
            }
        );
    }

    #[test]
    fn value_keeps_inner_colons_and_blanks() {
        let tree = parse("logfile: /var/log/a b:c  \n").unwrap();
        assert_eq!(tree.entries[0].value, "/var/log/a b:c");
    }

    #[test]
    fn stray_close_is_an_error_at_its_line() {
        let err = parse("a: 1\n}\n").unwrap_err();
        assert_eq!(err.pos, Pos { line: 2, column: 1 });
    }

    #[test]
    fn unclosed_section_points_at_its_opening() {
        let err = parse("\n\n  totem {\n version: 2\n").unwrap_err();
        assert_eq!(err.pos, Pos { line: 3, column: 3 });
        assert_eq!(err.what, "totem");
    }

    #[test]
    fn line_without_colon_or_brace_is_an_error() {
        let err = parse("totem {\n  version 2\n}\n").unwrap_err();
        assert_eq!(err.pos, Pos { line: 2, column: 3 });
        assert_eq!(err.what, "version");
    }

    #[test]
    fn too_deep_nesting_is_refused() {
        let text = "a {\n".repeat(MAX_DEPTH + 1);
        assert!(parse(&text).unwrap_err().message.contains("nested deeper"));
    }
}
