//! The event loop around [`Executor`]: child pipes and SIGCHLD through one mio poll.
//!
//! Used by the one-shot commands (`exec`, `test`, `ra info`) and by the daemon, so every
//! action takes the same path. This is the shell: it reads the clocks and carries out the
//! executor's spawn and kill outputs; everything else is handed back to the caller.

use std::collections::BTreeMap;
use std::os::fd::RawFd;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use nix::sys::signal::Signal;

use crate::lrmd::executor::{Executor, Input, OpId, Output};
use crate::lrmd::spawn::{self, RunningChild, Started};
use crate::sys::signal::Signals;

/// Token of the signal descriptor.
pub(crate) const SIGNALS: Token = Token(2);
/// First token of child pipes; tokens below are the caller's.
const CHILD_BASE: usize = 1 << 24;
/// Longest sleep between checks of running children, in case a SIGCHLD went to another thread.
const REAP_CHECK: Duration = Duration::from_millis(250);

/// What one turn of the loop produced for the caller.
#[derive(Debug, Default)]
pub(crate) struct Turn {
    /// Executor outputs other than spawn and kill (replies, results, state changes).
    pub(crate) outputs: Vec<Output>,
    /// Caller tokens that were ready.
    pub(crate) ready: Vec<Token>,
    /// SIGTERM or SIGINT arrived.
    pub(crate) shutdown_requested: bool,
}

/// The executor with its running children.
pub(crate) struct Runtime {
    pub(crate) executor: Executor,
    /// The executor's SIGTERM-to-SIGKILL delay, for callers bounding their waits.
    pub(crate) kill_grace_ms: u64,
    children: BTreeMap<OpId, RunningChild>,
    /// Ops whose leftover processes are reported (starts).
    tracking: std::collections::BTreeSet<OpId>,
    poll: Poll,
    events: Events,
    signals: Signals,
}

impl Runtime {
    /// Blocks SIGCHLD, SIGTERM and SIGINT in this thread (children get a clean mask) and
    /// reads them from a signalfd.
    pub(crate) fn new(executor: Executor, kill_grace_ms: u64) -> anyhow::Result<Runtime> {
        let signals = Signals::block(&[Signal::SIGCHLD, Signal::SIGTERM, Signal::SIGINT])
            .context("blocking signals")?;
        let poll = Poll::new().context("creating poll")?;
        signals
            .register(poll.registry(), SIGNALS)
            .context("registering signalfd")?;
        Ok(Runtime {
            executor,
            kill_grace_ms,
            children: BTreeMap::new(),
            tracking: Default::default(),
            poll,
            events: Events::with_capacity(256),
            signals,
        })
    }

    /// The poll registry, for the caller's own sources (tokens below 2^24, never 2).
    pub(crate) fn registry(&self) -> &mio::Registry {
        self.poll.registry()
    }

    /// Hands one input to the executor and carries out its outputs.
    pub(crate) fn feed(&mut self, input: Input) -> Vec<Output> {
        let mut out = Vec::new();
        let mut pending = vec![input];
        // Spawning can answer at once (a failed exec, a tracked-process check); those answers
        // go back in before returning, so the loop is bounded by the ops they complete.
        while let Some(input) = pending.pop() {
            let outputs = self.executor.handle(Instant::now(), input);
            for output in outputs {
                match output {
                    Output::Spawn {
                        op,
                        resource: _,
                        spec,
                        tracked_groups,
                        track_leftovers,
                    } => match spawn::start(op, &spec, &tracked_groups) {
                        Ok(Started::Running(child)) => self.watch(child, track_leftovers),
                        Ok(Started::Immediate(status)) => pending.push(Input::ChildExited {
                            op,
                            pgid: 0,
                            status,
                            output: Default::default(),
                            finished_at_ms: wall_ms(),
                        }),
                        Err(error) => pending.push(Input::SpawnFailed {
                            op,
                            error: error.to_string(),
                            finished_at_ms: wall_ms(),
                        }),
                    },
                    Output::Kill { op, signal } => {
                        if let Some(child) = self.children.get(&op) {
                            child.signal(signal);
                        }
                    }
                    Output::KillGroups { groups, signal, .. } => {
                        // A remembered group id may since name one of our running actions
                        // (pids wrap); those are never signalled on a resource's behalf.
                        let running: Vec<i32> = self.children.values().map(|c| c.pgid).collect();
                        for group in groups.into_iter().filter(|g| !running.contains(g)) {
                            spawn::signal_group(group, signal);
                        }
                    }
                    other => out.push(other),
                }
            }
        }
        out
    }

    fn watch(&mut self, child: RunningChild, track_leftovers: bool) {
        if track_leftovers {
            self.tracking.insert(child.op);
        }
        for (index, fd) in child.pipe_fds().into_iter().enumerate() {
            let token = Token(CHILD_BASE + (child.op.0 as usize) * 2 + index);
            if let Err(error) =
                self.poll
                    .registry()
                    .register(&mut SourceFd(&fd), token, Interest::READABLE)
            {
                eprintln!(
                    "ha-lrmd: warning: cannot watch output of op {}: {error}",
                    child.op.0
                );
            }
        }
        self.children.insert(child.op, child);
    }

    fn unwatch(&self, fds: &[RawFd]) {
        for fd in fds {
            let _ = self.poll.registry().deregister(&mut SourceFd(fd));
        }
    }

    /// Waits for something to happen (at most `cap`, and never past the executor's next
    /// deadline), then handles child output, exits, signals and deadlines.
    pub(crate) fn turn(&mut self, cap: Option<Duration>) -> anyhow::Result<Turn> {
        let mut turn = Turn::default();
        let now = Instant::now();
        let mut timeout = self
            .executor
            .next_deadline()
            .map(|at| at.saturating_duration_since(now));
        if !self.children.is_empty() {
            timeout = Some(timeout.map_or(REAP_CHECK, |t| t.min(REAP_CHECK)));
        }
        if let Some(cap) = cap {
            timeout = Some(timeout.map_or(cap, |t| t.min(cap)));
        }
        match self.poll.poll(&mut self.events, timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e).context("polling"),
        }
        let mut output_ops = Vec::new();
        for event in self.events.iter() {
            match event.token() {
                SIGNALS => {}
                Token(t) if t >= CHILD_BASE => output_ops.push(OpId(((t - CHILD_BASE) / 2) as u64)),
                token => turn.ready.push(token),
            }
        }
        for op in output_ops {
            if let Some(child) = self.children.get_mut(&op) {
                child.read_output();
            }
        }
        for signal in self.signals.pending() {
            if matches!(signal, Signal::SIGTERM | Signal::SIGINT) {
                turn.shutdown_requested = true;
            }
        }
        // Every child is checked on each turn: cheap, and nothing depends on SIGCHLD arriving.
        let mut reaped = Vec::new();
        for (op, child) in self.children.iter_mut() {
            if let Some(status) = child.try_reap() {
                reaped.push((*op, status));
            }
        }
        for (op, status) in reaped {
            let child = self.children.remove(&op).expect("reaped just above");
            self.unwatch(&child.pipe_fds());
            let child_pgid = child.pgid;
            let output = child.finish();
            // Only a group with live processes left is worth remembering: an empty group's
            // id can be reused by an unrelated process.
            let pgid =
                if self.tracking.remove(&op) && !spawn::live_group_members(child_pgid).is_empty() {
                    child_pgid
                } else {
                    0
                };
            turn.outputs.extend(self.feed(Input::ChildExited {
                op,
                pgid,
                status,
                output,
                finished_at_ms: wall_ms(),
            }));
        }
        if self
            .executor
            .next_deadline()
            .is_some_and(|at| Instant::now() >= at)
        {
            turn.outputs.extend(self.feed(Input::Tick));
        }
        Ok(turn)
    }
}

/// Wall-clock now as Unix milliseconds.
pub(crate) fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default()
}
