//! Running one program inside a lab member and classifying what happened: the typed command
//! lines of the demo (`node1# ha-keygen`), pipes between nodes, and "not in this build yet".

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::sys::clock as retry;

const POLL_STEP: Duration = Duration::from_millis(10);

/// The line of a daemon's log that best says why it stopped: the last error line, else the
/// last non-empty one.
pub(crate) fn last_words(log: &str) -> Option<String> {
    let lines = || log.lines().rev().map(str::trim).filter(|l| !l.is_empty());
    lines()
        .find(|l| l.contains("error"))
        .or_else(|| lines().next())
        .map(str::to_string)
}

/// One command line typed on a member (`node1# ha-keygen`) and what it did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Typed {
    /// Member it ran on.
    pub member: String,
    /// The line as a user would type it (pipes to other nodes shown as `ssh nodeN ...`).
    pub command: String,
    /// What the (last) program of the line did.
    pub output: RunOutput,
}

/// How a typed command went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Done,
    /// The program or subcommand is not in this build yet; the text says which.
    Skipped(String),
    /// It ran and failed; the text is its error.
    Failed(String),
}

impl Typed {
    /// Classifies the run.
    pub fn outcome(&self) -> Outcome {
        let program = self.command.split_whitespace().next().unwrap_or_default();
        if self.output.is_unavailable() {
            let words: Vec<&str> = self
                .command
                .split_whitespace()
                .take_while(|w| !w.starts_with('-') && *w != "|")
                .take(2)
                .collect();
            let why = last_words(&self.output.stderr).unwrap_or_default();
            Outcome::Skipped(format!(
                "skipped: {} not available yet ({why})",
                words.join(" ")
            ))
        } else if self.output.success() {
            Outcome::Done
        } else {
            let why = last_words(&self.output.stderr)
                .unwrap_or_else(|| format!("{program} exited with {:?}", self.output.status));
            Outcome::Failed(why)
        }
    }
}

/// `left | right`: runs `right` on `left`'s stdout if `left` worked; the result is the
/// first failure (or unavailability), else `right`'s.
pub(crate) fn piped(
    left_line: &[&str],
    left: RunOutput,
    right_line: &str,
    right: impl FnOnce(&[u8]) -> RunOutput,
) -> Typed {
    let command = format!("{} | {right_line}", left_line.join(" "));
    let output = if left.success() {
        right(&left.raw_stdout)
    } else {
        left
    };
    Typed {
        member: "node1".to_string(),
        command,
        output,
    }
}

/// What a program run in a member did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RunOutput {
    /// Exit status (null when killed by a signal or not started).
    pub status: Option<i32>,
    /// Its stdout, as text.
    pub stdout: String,
    /// Its stderr (or why it could not start).
    pub stderr: String,
    /// Its stdout byte for byte (a key is binary), for piping into the next command.
    #[serde(skip)]
    pub raw_stdout: Vec<u8>,
}

impl RunOutput {
    /// Exit status 0.
    pub fn success(&self) -> bool {
        self.status == Some(0)
    }

    /// The program or the subcommand asked for does not exist in this build yet: it said
    /// "not implemented yet", or its argument parser rejected what a finished version takes.
    pub fn is_unavailable(&self) -> bool {
        self.stderr.contains("not implemented yet")
            || (self.status == Some(2)
                && (self.stderr.contains("unexpected argument")
                    || self.stderr.contains("unrecognized subcommand")))
    }
}

/// Longest a program run through [`Lab::run`] may take before it is killed.
pub const RUN_LIMIT: Duration = Duration::from_secs(60);

pub(crate) fn run_with_input(command: &mut Command, input: &[u8]) -> RunOutput {
    use std::io::{Read, Write};
    let spawned = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => {
            return RunOutput {
                status: None,
                stdout: String::new(),
                stderr: e.to_string(),
                raw_stdout: Vec::new(),
            };
        }
    };
    // Readers on their own threads so a chatty program never blocks on a full pipe.
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = reader(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = reader(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    if let Some(mut stdin) = child.stdin.take() {
        // A program that exits without reading its input is not an error here.
        let _ = stdin.write_all(input);
    }
    let mut status = None;
    let finished = retry::until(RUN_LIMIT, POLL_STEP, || match child.try_wait() {
        Ok(Some(s)) => {
            status = s.code();
            true
        }
        Ok(None) => false,
        Err(_) => true,
    });
    if !finished {
        let _ = child.kill();
        let _ = child.wait();
    }
    let mut stderr = String::from_utf8_lossy(&stderr.join().unwrap_or_default()).into_owned();
    if !finished {
        stderr.push_str(&format!("killed after {} s\n", RUN_LIMIT.as_secs()));
    }
    let raw_stdout = stdout.join().unwrap_or_default();
    RunOutput {
        status,
        stdout: String::from_utf8_lossy(&raw_stdout).into_owned(),
        stderr,
        raw_stdout,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(command: &str, status: Option<i32>, stderr: &str) -> Typed {
        Typed {
            member: "node1".into(),
            command: command.into(),
            output: RunOutput {
                status,
                stdout: String::new(),
                stderr: stderr.into(),
                raw_stdout: Vec::new(),
            },
        }
    }

    #[test]
    fn placeholders_and_missing_subcommands_are_skipped_with_their_name() {
        let stub = typed(
            "ha-crm status",
            Some(1),
            "ha-crm: error: ha-crm is not implemented yet\n",
        );
        assert_eq!(
            stub.outcome(),
            Outcome::Skipped(
                "skipped: ha-crm status not available yet \
                 (ha-crm: error: ha-crm is not implemented yet)"
                    .into()
            )
        );
        let clap = typed(
            "ha-cfgtool -s",
            Some(2),
            "error: unexpected argument '-s' found\n\nUsage: ha-cfgtool\n",
        );
        assert_eq!(
            clap.outcome(),
            Outcome::Skipped(
                "skipped: ha-cfgtool not available yet (error: unexpected argument '-s' found)"
                    .into()
            )
        );
    }

    #[test]
    fn real_failures_report_their_error_line_and_success_is_done() {
        let failed = typed(
            "ha-keygen",
            Some(1),
            "ha-keygen: error: /etc/ha/authkey exists\nha-keygen: hint: use --force\n",
        );
        assert_eq!(
            failed.outcome(),
            Outcome::Failed("ha-keygen: error: /etc/ha/authkey exists".into())
        );
        assert_eq!(typed("true", Some(0), "").outcome(), Outcome::Done);
    }

    #[test]
    fn a_pipe_stops_at_its_first_failure() {
        let ok = RunOutput {
            status: Some(0),
            stdout: "key".into(),
            stderr: String::new(),
            raw_stdout: b"key".to_vec(),
        };
        let piped_ok = piped(
            &["cat", "authkey"],
            ok.clone(),
            "ssh node2 import",
            |input| {
                assert_eq!(input, b"key");
                ok.clone()
            },
        );
        assert_eq!(piped_ok.command, "cat authkey | ssh node2 import");
        assert!(piped_ok.output.success());
        let broken = RunOutput {
            status: Some(1),
            ..ok.clone()
        };
        let piped_broken = piped(&["cat", "authkey"], broken, "ssh node2 import", |_| {
            panic!("right side must not run")
        });
        assert_eq!(piped_broken.output.status, Some(1));
    }

    #[test]
    fn programs_run_with_input_and_report_their_status() {
        let out = run_with_input(
            Command::new("sh").args(["-c", "cat; echo oops >&2; exit 3"]),
            b"hi",
        );
        assert_eq!(out.status, Some(3));
        assert_eq!(out.stdout, "hi");
        assert_eq!(out.stderr, "oops\n");
        let missing = run_with_input(&mut Command::new("/nonexistent/program"), b"");
        assert_eq!(missing.status, None);
        assert!(!missing.success());
    }
}
