//! The exit-code table shared by every hakit command. Codes are never reused.

use std::fmt;

/// How a command ended. The numeric value is the process exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The command did what was asked.
    Ok = 0,
    /// The command ran and failed, bad input included; nothing was changed.
    Failed = 1,
    /// The command line was wrong (clap's own code).
    Usage = 2,
    /// The daemon the command needs could not be reached.
    Unreachable = 3,
}

impl Exit {
    /// The process exit status for this outcome.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// Every exit status, in numeric order (for man pages and docs).
    pub const ALL: [Exit; 4] = [Exit::Ok, Exit::Failed, Exit::Usage, Exit::Unreachable];

    /// One line on what the status means, as the man pages print it.
    pub fn meaning(self) -> &'static str {
        match self {
            Exit::Ok => "success",
            Exit::Failed => "the command ran and failed, bad input included; nothing was changed",
            Exit::Usage => "the command line was wrong",
            Exit::Unreachable => "the daemon the command needs could not be reached",
        }
    }

    /// The `kind` written in a JSON error envelope.
    pub fn kind(self) -> &'static str {
        match self {
            Exit::Ok => "ok",
            Exit::Failed => "failed",
            Exit::Usage => "usage",
            Exit::Unreachable => "unreachable",
        }
    }
}

/// A failed command: the exit status, the error chain and an optional hint for the user.
#[derive(Debug)]
pub struct Failure {
    /// Exit status to end with.
    pub exit: Exit,
    /// What went wrong, with context added on the way up.
    pub error: anyhow::Error,
    /// A likely fix, printed as `hint:` when known.
    pub hint: Option<String>,
    /// The command already printed its JSON document (a report with `"ok":false`), so no
    /// error envelope follows it on stdout.
    pub json_printed: bool,
}

impl Failure {
    /// A plain failure (exit 1).
    pub fn failed(error: impl Into<anyhow::Error>) -> Failure {
        Failure {
            exit: Exit::Failed,
            error: error.into(),
            hint: None,
            json_printed: false,
        }
    }

    /// The daemon could not be reached (exit 3).
    pub fn unreachable(error: impl Into<anyhow::Error>) -> Failure {
        Failure {
            exit: Exit::Unreachable,
            error: error.into(),
            hint: None,
            json_printed: false,
        }
    }

    /// A usage error found after parsing (exit 2).
    pub fn usage(error: impl Into<anyhow::Error>) -> Failure {
        Failure {
            exit: Exit::Usage,
            error: error.into(),
            hint: None,
            json_printed: false,
        }
    }

    /// Marks the JSON document as already printed by the command.
    pub fn with_json_printed(mut self) -> Failure {
        self.json_printed = true;
        self
    }

    /// Adds a hint line.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Failure {
        self.hint = Some(hint.into());
        self
    }
}

/// Any error (`anyhow::Error`, `io::Error`, a library error) becomes a plain failure (exit 1).
impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(error: E) -> Failure {
        Failure::failed(error)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#}", self.error)
    }
}
