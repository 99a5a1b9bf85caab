//! The only code that starts, signals and reaps agent processes.
//!
//! Every action runs in its own process group (so a timeout can kill everything it started),
//! with stdin on /dev/null and stdout/stderr on non-blocking pipes read up to
//! [`OUTPUT_BYTES_MAX`] each. An action is finished when its own process exits, not when the
//! pipes close: a daemon the agent forked may hold them open for ever.

use std::fmt;
use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, ChildStdout, Command, Stdio};

use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use super::agent::rc;
use super::executor::{ActionSpec, CapturedOutput, ChildStatus, KillSignal, OpId, Program};

/// Bytes kept per output stream of one action; the rest is read and dropped (counted).
pub const OUTPUT_BYTES_MAX: usize = 64 * 1024;

/// A running action.
#[derive(Debug)]
pub struct RunningChild {
    /// The op it carries out.
    pub op: OpId,
    /// Its pid, which is also its process group id.
    pub pgid: i32,
    child: Child,
    stdout: Option<ChildStdout>,
    stderr: Option<ChildStderr>,
    captured_stdout: Vec<u8>,
    captured_stderr: Vec<u8>,
    dropped_bytes: u64,
}

/// What starting an op gave.
#[derive(Debug)]
pub enum Started {
    /// A process runs; watch its pipes and reap it.
    Running(RunningChild),
    /// No process was needed; this is the result.
    Immediate(ChildStatus),
}

/// Why an action could not be started or signalled. The op is abandoned; nothing else changed.
#[derive(Debug)]
pub enum SpawnError {
    /// The program or script could not be executed.
    Exec {
        /// What was to run.
        program: PathBuf,
        /// The system's reason.
        source: io::Error,
    },
    /// A script's `#!` line names no interpreter.
    BadInterpreter {
        /// The script.
        script: PathBuf,
    },
    /// Setting up pipes or descriptors failed.
    Setup {
        /// What was being done.
        what: &'static str,
        /// The system's reason.
        source: io::Error,
    },
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnError::Exec { program, source } => {
                write!(f, "cannot run {}: {source}", program.display())
            }
            SpawnError::BadInterpreter { script } => {
                write!(f, "{}: #! line names no interpreter", script.display())
            }
            SpawnError::Setup { what, source } => write!(f, "{what}: {source}"),
        }
    }
}

impl std::error::Error for SpawnError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SpawnError::Exec { source, .. } | SpawnError::Setup { source, .. } => Some(source),
            SpawnError::BadInterpreter { .. } => None,
        }
    }
}

/// Starts `spec` for `op`. `tracked_groups` are the resource's remembered process groups,
/// used only by [`Program::TrackedProcesses`].
pub fn start(op: OpId, spec: &ActionSpec, tracked_groups: &[i32]) -> Result<Started, SpawnError> {
    let (mut command, _script_fd) = match &spec.program {
        Program::TrackedProcesses => {
            let alive = tracked_groups
                .iter()
                .any(|g| !live_group_members(*g).is_empty());
            let code = if alive { rc::OK } else { rc::NOT_RUNNING };
            return Ok(Started::Immediate(ChildStatus::Exited(code)));
        }
        Program::Exec { path, args } => {
            let mut command = Command::new(path);
            command.args(args);
            (command, None)
        }
        Program::HiddenScript { path, args } => hidden_script_command(path, args)?,
    };
    command
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    crate::sys::child::unblock_signals_in_child(&mut command);
    let program = PathBuf::from(command.get_program());
    let mut child = command
        .spawn()
        .map_err(|source| SpawnError::Exec { program, source })?;
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    for fd in [
        stdout.as_ref().map(|s| s.as_fd()),
        stderr.as_ref().map(|s| s.as_fd()),
    ]
    .into_iter()
    .flatten()
    {
        set_nonblocking(fd)?;
    }
    let pgid = i32::try_from(child.id()).expect("pids fit in i32");
    Ok(Started::Running(RunningChild {
        op,
        pgid,
        child,
        stdout,
        stderr,
        captured_stdout: Vec::new(),
        captured_stderr: Vec::new(),
        dropped_bytes: 0,
    }))
}

/// Builds the command for an LSB script so that no process of the action carries the
/// script's name: the interpreter from its `#!` line reads it from `/dev/fd/N`. A
/// `pkill NAME` (matching /proc/PID/comm) or `pkill -f NAME` (matching the command line) in
/// the script then hits only the service, not the action running the script.
///
/// Returns the descriptor too: it must stay open until the child is spawned.
fn hidden_script_command(
    path: &Path,
    args: &[String],
) -> Result<(Command, Option<OwnedFd>), SpawnError> {
    let exec_error = |source| SpawnError::Exec {
        program: path.to_path_buf(),
        source,
    };
    let mut head = [0u8; 256];
    let mut file = std::fs::File::open(path).map_err(exec_error)?;
    let read = file.read(&mut head).map_err(exec_error)?;
    let first_line = head[..read]
        .split(|b| *b == b'\n')
        .next()
        .unwrap_or_default();
    let Some(shebang) = first_line.strip_prefix(b"#!") else {
        // Not a script: run it directly (its name is then visible, as with any binary).
        let mut command = Command::new(path);
        command.args(args);
        return Ok((command, None));
    };
    let shebang = String::from_utf8_lossy(shebang);
    let mut words = shebang.split_whitespace();
    let interpreter = words.next().ok_or_else(|| SpawnError::BadInterpreter {
        script: path.to_path_buf(),
    })?;
    let interpreter_arg = words.next().map(str::to_string);
    // Opened without O_CLOEXEC on purpose: the interpreter must inherit it.
    let fd: OwnedFd = nix::fcntl::open(path, OFlag::O_RDONLY, nix::sys::stat::Mode::empty())
        .map_err(|e| exec_error(io::Error::from(e)))?;
    let interpreter_name = Path::new(interpreter)
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    let mut command = Command::new(interpreter);
    command.arg0(interpreter_name);
    command.args(interpreter_arg);
    command.arg(format!("/dev/fd/{}", fd.as_raw_fd()));
    command.args(args);
    Ok((command, Some(fd)))
}

fn set_nonblocking(fd: std::os::fd::BorrowedFd<'_>) -> Result<(), SpawnError> {
    let setup = |source: nix::Error| SpawnError::Setup {
        what: "making an output pipe non-blocking",
        source: source.into(),
    };
    let flags = fcntl(fd, FcntlArg::F_GETFL).map_err(setup)?;
    let flags = OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK;
    fcntl(fd, FcntlArg::F_SETFL(flags)).map_err(setup)?;
    Ok(())
}

impl RunningChild {
    /// The pipe descriptors still open, for registering with a poller.
    pub fn pipe_fds(&self) -> Vec<RawFd> {
        let mut fds = Vec::new();
        fds.extend(self.stdout.as_ref().map(|s| s.as_raw_fd()));
        fds.extend(self.stderr.as_ref().map(|s| s.as_raw_fd()));
        fds
    }

    /// Reads whatever the pipes hold now. Closes a pipe at EOF or on a read error.
    pub fn read_output(&mut self) {
        let bound = OUTPUT_BYTES_MAX;
        if let Some(pipe) = self.stdout.as_mut() {
            let open = drain(
                pipe,
                &mut self.captured_stdout,
                bound,
                &mut self.dropped_bytes,
            );
            if !open {
                self.stdout = None;
            }
        }
        if let Some(pipe) = self.stderr.as_mut() {
            let open = drain(
                pipe,
                &mut self.captured_stderr,
                bound,
                &mut self.dropped_bytes,
            );
            if !open {
                self.stderr = None;
            }
        }
    }

    /// Reaps the action's process if it has exited, and says how it ended.
    pub fn try_reap(&mut self) -> Option<ChildStatus> {
        let status = match self.child.try_wait() {
            Ok(Some(status)) => status,
            Ok(None) => return None,
            // ECHILD: someone else reaped it; nothing better to report than a generic error.
            Err(_) => std::process::ExitStatus::from_raw(rc::ERR_GENERIC << 8),
        };
        Some(match (status.code(), status.signal()) {
            (Some(code), _) => ChildStatus::Exited(code),
            (None, Some(signal)) => ChildStatus::Signaled(signal),
            (None, None) => ChildStatus::Exited(rc::ERR_GENERIC),
        })
    }

    /// After the process was reaped: takes what its pipes still hold and closes them, whoever
    /// else (a daemon it started) still holds their other end.
    pub fn finish(mut self) -> CapturedOutput {
        self.read_output();
        CapturedOutput {
            stdout: String::from_utf8_lossy(&self.captured_stdout).into_owned(),
            stderr: String::from_utf8_lossy(&self.captured_stderr).into_owned(),
            dropped_bytes: self.dropped_bytes,
        }
    }

    /// Signals the action's whole process group.
    pub fn signal(&self, signal: KillSignal) {
        signal_group(self.pgid, signal);
    }
}

/// Reads until WouldBlock; returns whether the pipe is still open.
fn drain(pipe: &mut impl Read, kept: &mut Vec<u8>, bound: usize, dropped: &mut u64) -> bool {
    let mut buf = [0u8; 16 * 1024];
    // Bounded: at most this many reads per call, so a flood cannot starve the loop.
    for _ in 0..64 {
        match pipe.read(&mut buf) {
            Ok(0) => return false,
            Ok(n) => {
                let room = bound.saturating_sub(kept.len()).min(n);
                kept.extend_from_slice(&buf[..room]);
                *dropped += (n - room) as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    true
}

/// Sends `signal` to every process of group `pgid`. A group that is already gone is fine.
pub fn signal_group(pgid: i32, signal: KillSignal) {
    // Never signal our own group or "every process": pgid must be a real, positive group.
    if pgid <= 1 || pgid == nix::unistd::getpgrp().as_raw() {
        return;
    }
    let signal = match signal {
        KillSignal::Term => Signal::SIGTERM,
        KillSignal::Kill => Signal::SIGKILL,
    };
    let _ = killpg(Pid::from_raw(pgid), signal);
}

/// Pids of live (not zombie) processes in process group `pgid`, from /proc.
pub fn live_group_members(pgid: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| parse_stat_group(&stat))
                .is_some_and(|(state, group)| group == pgid && state != 'Z' && state != 'X')
        })
        .collect()
}

/// State and process group from a /proc/PID/stat line. The command name is in parentheses
/// and may itself contain spaces and parentheses, so fields are counted after the last ')'.
fn parse_stat_group(stat: &str) -> Option<(char, i32)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let _ppid = fields.next()?;
    let group = fields.next()?.parse().ok()?;
    Some((state, group))
}

/// Runs a short helper tool (`ip`, `systemctl`) to completion and returns its output.
/// For built-in agents, which are themselves bounded by the executor's timeout.
pub fn run_tool(program: &str, args: &[&str]) -> io::Result<std::process::Output> {
    let mut command = Command::new(program);
    command.args(args).stdin(Stdio::null());
    crate::sys::child::unblock_signals_in_child(&mut command);
    command.output()
}

/// A command a built-in agent runs as a daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonSpec {
    /// Shell command line (run by `/bin/sh -c`).
    pub command_line: String,
    /// File its stdout is appended to.
    pub stdout: PathBuf,
    /// File its stderr is appended to.
    pub stderr: PathBuf,
    /// Working directory.
    pub workdir: PathBuf,
}

/// Starts a daemon for a built-in agent and returns its pid without waiting for it. It stays
/// in the caller's process group, so the executor tracks it as the start action's leftover.
/// Its output goes to files, never to the action's pipes.
pub fn start_daemon(spec: &DaemonSpec) -> io::Result<i32> {
    let open = |path: &Path| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
    };
    let mut command = Command::new("/bin/sh");
    command
        .arg("-c")
        .arg(&spec.command_line)
        .current_dir(&spec.workdir)
        .stdin(Stdio::null())
        .stdout(open(&spec.stdout)?)
        .stderr(open(&spec.stderr)?);
    crate::sys::child::unblock_signals_in_child(&mut command);
    let child = command.spawn()?;
    Ok(i32::try_from(child.id()).expect("pids fit in i32"))
}

/// Whether process `pid` exists and is not a zombie.
pub fn is_alive(pid: i32) -> bool {
    crate::sys::proc::stat(pid).is_ok_and(|s| s.state != 'Z' && s.state != 'X')
}

/// Sends SIGTERM to `pid`, waits up to `grace` for it to go, then SIGKILL. Returns whether
/// it is gone.
pub fn terminate(pid: i32, grace: std::time::Duration) -> bool {
    if pid <= 1 {
        return false;
    }
    let target = Pid::from_raw(pid);
    let _ = nix::sys::signal::kill(target, Signal::SIGTERM);
    let step = std::time::Duration::from_millis(20);
    if crate::sys::clock::until(grace, step, || !is_alive(pid)) {
        return true;
    }
    let _ = nix::sys::signal::kill(target, Signal::SIGKILL);
    crate::sys::clock::until(std::time::Duration::from_secs(2), step, || !is_alive(pid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_with_odd_names_parse() {
        assert_eq!(
            parse_stat_group("42 (a b) c)) S 1 42 42 0"),
            Some(('S', 42))
        );
        assert_eq!(parse_stat_group("7 (sh) Z 1 9 9"), Some(('Z', 9)));
        assert_eq!(parse_stat_group("garbage"), None);
    }

    #[test]
    fn drain_keeps_the_bound_and_counts_the_rest() {
        let mut kept = Vec::new();
        let mut dropped = 0;
        let mut input: &[u8] = &[b'x'; 100];
        assert!(!drain(&mut input, &mut kept, 30, &mut dropped));
        assert_eq!((kept.len(), dropped), (30, 70));
    }
}
