//! Shared pieces of every command line: the run-and-exit wrapper, JSON envelopes, printing.
//!
//! Each tool's arguments and logic live in a submodule so tests and the completion and man
//! page generators can reach `Args::command()`.

pub mod exit;

use std::io::{self, Write};
use std::process::ExitCode;

pub use exit::{Exit, Failure};

/// The result every command's `run` returns.
pub type CliResult<T = ()> = Result<T, Failure>;

/// Runs a command body and turns its outcome into an exit status.
///
/// Errors print one line on stderr (`TOOL: error: …`), plus `TOOL: hint: …` when a fix is known.
/// With `json` the error envelope `{"ok":false,"error":{"kind","message"}}` also goes to stdout
/// so scripts always get one JSON document. A closed stdout ends the command quietly with 0.
pub fn run_and_exit(tool: &str, json: bool, body: impl FnOnce() -> CliResult) -> ExitCode {
    match body() {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) if is_broken_pipe(&failure.error) => ExitCode::SUCCESS,
        Err(failure) => {
            report(tool, json, &failure);
            ExitCode::from(failure.exit.code())
        }
    }
}

fn report(tool: &str, json: bool, failure: &Failure) {
    let message = format!("{:#}", failure.error);
    let mut stderr = io::stderr().lock();
    let _ = writeln!(stderr, "{tool}: error: {message}");
    if let Some(hint) = &failure.hint {
        let _ = writeln!(stderr, "{tool}: hint: {hint}");
    }
    if json && !failure.json_printed {
        let envelope = serde_json::json!({
            "ok": false,
            "error": { "kind": failure.exit.kind(), "message": message },
        });
        let _ = writeln!(io::stdout().lock(), "{envelope}");
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Prints `{"ok":false,"data":…,"error":{"kind":"failed","message":…}}` on one line: a
/// report that ran but found failures; return the failure `with_json_printed`.
pub fn print_json_failed_report(
    out: &mut dyn Write,
    data: &impl serde::Serialize,
    message: &str,
) -> io::Result<()> {
    let envelope = serde_json::json!({
        "ok": false,
        "data": data,
        "error": { "kind": Exit::Failed.kind(), "message": message },
    });
    writeln!(out, "{envelope}")
}

/// Prints `{"ok":true,"data":…}` on one line.
pub fn print_json_ok(out: &mut dyn Write, data: &impl serde::Serialize) -> io::Result<()> {
    let envelope = serde_json::json!({ "ok": true, "data": data });
    writeln!(out, "{envelope}")
}

/// Turns an IPC error talking to `daemon` (e.g. `ha-ring`) into a failure: unreachable
/// (exit 3, with a `hint: is ha-X running?`) when nothing answered on the socket, else
/// failed (exit 1).
pub fn ipc_failure(daemon: &str, error: crate::ipc::Error) -> Failure {
    match error {
        crate::ipc::Error::Connect { path, source } => {
            let reason = match source.kind() {
                io::ErrorKind::NotFound => "no such socket".to_string(),
                io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
                io::ErrorKind::PermissionDenied => "permission denied".to_string(),
                _ => source.to_string(),
            };
            Failure::unreachable(anyhow::anyhow!(
                "cannot reach {daemon} at {}: {reason}",
                path.display()
            ))
            .with_hint(format!("is {daemon} running?"))
        }
        other => Failure::failed(anyhow::Error::new(other).context(format!("{daemon} request"))),
    }
}

/// Every hakit binary's name and command-line definition. The completion and man page
/// generator (`tests/generated.rs`) and the CLI tests walk this list, so a new binary is
/// one more line here.
pub fn all_commands() -> Vec<(&'static str, clap::Command)> {
    use clap::CommandFactory;
    vec![
        ("ha-keygen", keygen::Args::command()),
        ("ha-ring", ring::Args::command()),
        ("ha-cfgtool", cfgtool::Args::command()),
        ("ha-crm", crm::Args::command()),
        ("ha-lrmd", lrmd::Args::command()),
        ("ha-lab", lab::Args::command()),
    ]
}

/// Says a command exists but its work is not built yet, as a failure (exit 1).
pub fn not_implemented(what: &str) -> Failure {
    Failure::failed(anyhow::anyhow!("{what} is not implemented yet"))
}

pub mod cfgtool;
pub mod crm;
pub mod crm_daemon;
pub mod crm_ops;
pub mod crm_shell;
pub mod crm_simulate;
pub mod doctor;
pub mod keygen;
pub mod lab;
pub mod lrmd;
pub mod ring;
