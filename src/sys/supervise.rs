//! Keeps a node's helper daemons running: `ha-ring` starts the executor and the controller
//! (when ha.conf asks for `service { name: crm }` or `pacemaker`), restarts a child that dies
//! with growing back-off, and stops them in reverse order at shutdown.

use std::fs::OpenOptions;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{self, Signal};
use nix::unistd::Pid;

/// First restart delay; doubles per quick death up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// Longest restart delay.
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// A child that ran this long is healthy again: its next restart is quick.
const HEALTHY_AFTER: Duration = Duration::from_secs(30);

/// How to start one child.
#[derive(Debug, Clone)]
pub struct ChildSpec {
    /// Name for logs (`ha-lrmd`).
    pub name: String,
    /// Program to run.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Where its stdout and stderr go (appended).
    pub log: PathBuf,
}

struct Supervised {
    spec: ChildSpec,
    child: Option<Child>,
    started_at: Option<Instant>,
    backoff: Duration,
    restart_at: Option<Instant>,
    restarts: u64,
}

/// A child's state for status output.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChildStatus {
    /// Name.
    pub name: String,
    /// Its pid while running.
    pub pid: Option<u32>,
    /// Restarts so far.
    pub restarts: u64,
}

/// The supervised children, in start order.
pub struct Supervisor {
    children: Vec<Supervised>,
    stopping: bool,
    /// During a staged stop: the child signalled last and when it gets SIGKILL.
    stopping_child: Option<(usize, Instant)>,
    stop_grace: Duration,
}

impl Supervisor {
    /// Children to start in this order (and stop in reverse).
    pub fn new(specs: Vec<ChildSpec>) -> Supervisor {
        let children = specs
            .into_iter()
            .map(|spec| Supervised {
                spec,
                child: None,
                started_at: None,
                backoff: FIRST_BACKOFF,
                restart_at: None,
                restarts: 0,
            })
            .collect();
        Supervisor {
            children,
            stopping: false,
            stopping_child: None,
            stop_grace: Duration::ZERO,
        }
    }

    /// Starts every child now. Returns one line per failure to log.
    pub fn start_all(&mut self, now: Instant) -> Vec<String> {
        let mut problems = Vec::new();
        for index in 0..self.children.len() {
            if let Err(e) = self.spawn(index, now) {
                problems.push(e);
            }
        }
        problems
    }

    fn spawn(&mut self, index: usize, now: Instant) -> Result<(), String> {
        let entry = &mut self.children[index];
        let spec = &entry.spec;
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&spec.log)
            .map_err(|e| format!("{}: cannot open log {}: {e}", spec.name, spec.log.display()))?;
        let err = log.try_clone().map_err(|e| format!("{}: {e}", spec.name))?;
        let child = Command::new(&spec.program)
            .args(&spec.args)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            // Its own group, so a terminal's ^C reaches only ha-ring, which stops children in
            // order instead of all dying at once.
            .process_group(0)
            .spawn();
        match child {
            Ok(child) => {
                entry.child = Some(child);
                entry.started_at = Some(now);
                entry.restart_at = None;
                Ok(())
            }
            Err(e) => {
                entry.restart_at = Some(now + entry.backoff);
                entry.backoff = (entry.backoff * 2).min(MAX_BACKOFF);
                Err(format!(
                    "{}: cannot start {}: {e}",
                    spec.name,
                    spec.program.display()
                ))
            }
        }
    }

    /// Collects children that exited and schedules their restart. Call on SIGCHLD and on
    /// every loop turn. Returns log lines.
    pub fn reap(&mut self, now: Instant) -> Vec<String> {
        let mut lines = Vec::new();
        let stopping = self.stopping;
        for entry in &mut self.children {
            let Some(child) = &mut entry.child else {
                continue;
            };
            let Ok(Some(status)) = child.try_wait() else {
                continue;
            };
            let ran = entry
                .started_at
                .map(|t| now.saturating_duration_since(t))
                .unwrap_or_default();
            entry.child = None;
            if stopping {
                lines.push(format!("{} stopped ({status})", entry.spec.name));
                continue;
            }
            if ran >= HEALTHY_AFTER {
                entry.backoff = FIRST_BACKOFF;
            }
            entry.restart_at = Some(now + entry.backoff);
            lines.push(format!(
                "{} exited ({status}) after {} ms; restarting in {} ms",
                entry.spec.name,
                ran.as_millis(),
                entry.backoff.as_millis()
            ));
            entry.backoff = (entry.backoff * 2).min(MAX_BACKOFF);
        }
        if let Some((index, _)) = self.stopping_child
            && self.children[index].child.is_none()
        {
            self.signal_next(now);
        }
        lines
    }

    /// Restarts children whose back-off has passed. Returns log lines.
    pub fn tick(&mut self, now: Instant) -> Vec<String> {
        if self.stopping {
            return Vec::new();
        }
        let mut lines = Vec::new();
        for index in 0..self.children.len() {
            let due = self.children[index].restart_at.is_some_and(|at| at <= now);
            if due && self.children[index].child.is_none() {
                self.children[index].restarts += 1;
                match self.spawn(index, now) {
                    Ok(()) => lines.push(format!("{} restarted", self.children[index].spec.name)),
                    Err(e) => lines.push(e),
                }
            }
        }
        lines
    }

    /// When the next restart (or, while stopping, the next SIGKILL) is due.
    pub fn next_deadline(&self) -> Option<Instant> {
        if self.stopping {
            return self.stopping_child.map(|(_, at)| at);
        }
        self.children.iter().filter_map(|c| c.restart_at).min()
    }

    /// Starts stopping the children without blocking: the last started gets SIGTERM first,
    /// and each next one once the previous has exited ([`Supervisor::reap`]) or was killed
    /// after `grace` ([`Supervisor::advance_stop`]). The caller's loop keeps running meanwhile,
    /// so a controller that moves its resources away before exiting still has its ring.
    pub fn request_stop(&mut self, now: Instant, grace: Duration) {
        if self.stopping {
            return;
        }
        self.stopping = true;
        self.stop_grace = grace;
        self.signal_next(now);
    }

    fn signal_next(&mut self, now: Instant) {
        self.stopping_child = None;
        let next = self.children.iter().rposition(|c| c.child.is_some());
        if let Some(index) = next {
            let child = self.children[index]
                .child
                .as_ref()
                .expect("position found a child");
            let _ = signal::kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM);
            self.stopping_child = Some((index, now + self.stop_grace));
        }
    }

    /// During a staged stop: kills a child past its grace and signals the next one. Returns
    /// log lines.
    pub fn advance_stop(&mut self, now: Instant) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some((index, deadline)) = self.stopping_child {
            let entry = &mut self.children[index];
            match &mut entry.child {
                None => self.signal_next(now),
                Some(child) if now >= deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    lines.push(format!(
                        "{} killed after {} ms",
                        entry.spec.name,
                        self.stop_grace.as_millis()
                    ));
                    entry.child = None;
                    self.signal_next(now);
                }
                Some(_) => {}
            }
        }
        lines
    }

    /// True once a stop was requested and every child is gone.
    pub fn is_stopped(&self) -> bool {
        self.stopping && self.children.iter().all(|c| c.child.is_none())
    }

    /// Stops the children in reverse start order: SIGTERM, then SIGKILL for one still alive
    /// after `grace`. Blocks until all are gone (bounded by `grace` per child).
    pub fn stop_all(&mut self, grace: Duration) -> Vec<String> {
        self.stopping = true;
        let mut lines = Vec::new();
        for entry in self.children.iter_mut().rev() {
            let Some(child) = &mut entry.child else {
                continue;
            };
            let pid = Pid::from_raw(child.id() as i32);
            let _ = signal::kill(pid, Signal::SIGTERM);
            let deadline = Instant::now() + grace;
            let status = loop {
                match child.try_wait() {
                    Ok(Some(status)) => break Some(status),
                    Ok(None) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(20))
                    }
                    _ => break None,
                }
            };
            match status {
                Some(status) => lines.push(format!("{} stopped ({status})", entry.spec.name)),
                None => {
                    let _ = child.kill();
                    let _ = child.wait();
                    lines.push(format!(
                        "{} killed after {} ms",
                        entry.spec.name,
                        grace.as_millis()
                    ));
                }
            }
            entry.child = None;
        }
        lines
    }

    /// Each child's pid and restart count.
    pub fn status(&self) -> Vec<ChildStatus> {
        self.children
            .iter()
            .map(|c| ChildStatus {
                name: c.spec.name.clone(),
                pid: c.child.as_ref().map(Child::id),
                restarts: c.restarts,
            })
            .collect()
    }
}

/// The children `ha-ring` runs for the crm service: executor first (the controller needs it),
/// then the controller. Binaries are looked up beside the running `ha-ring`.
pub fn crm_stack(run_dir: &std::path::Path) -> io::Result<Vec<ChildSpec>> {
    let exe = std::env::current_exe()?;
    let dir = exe.parent().map(PathBuf::from).unwrap_or_default();
    Ok(vec![
        ChildSpec {
            name: "ha-lrmd".into(),
            program: dir.join("ha-lrmd"),
            args: vec!["daemon".into(), "-f".into()],
            log: run_dir.join("ha-lrmd.log"),
        },
        ChildSpec {
            name: "ha-crm".into(),
            program: dir.join("ha-crm"),
            args: vec!["daemon".into(), "-f".into()],
            log: run_dir.join("ha-crm.log"),
        },
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sleeper(dir: &std::path::Path, name: &str, seconds: &str) -> ChildSpec {
        ChildSpec {
            name: name.into(),
            program: "/bin/sleep".into(),
            args: vec![seconds.into()],
            log: dir.join(format!("{name}.log")),
        }
    }

    #[test]
    fn a_child_that_dies_is_restarted_after_its_backoff_and_all_stop_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut supervisor = Supervisor::new(vec![
            sleeper(dir.path(), "a", "30"),
            sleeper(dir.path(), "b", "0"),
        ]);
        let t0 = Instant::now();
        assert!(supervisor.start_all(t0).is_empty());
        // `b` exits at once; wait for it (bounded).
        let mut lines = Vec::new();
        for _ in 0..200 {
            lines = supervisor.reap(Instant::now());
            if !lines.is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(lines[0].starts_with("b exited"), "{lines:?}");
        let due = supervisor.next_deadline().expect("a restart is scheduled");
        assert!(supervisor.tick(due - Duration::from_millis(1)).is_empty());
        assert_eq!(supervisor.tick(due), vec!["b restarted".to_string()]);
        assert_eq!(supervisor.status()[1].restarts, 1);
        let a_pid = supervisor.status()[0].pid.unwrap();
        let stopped = supervisor.stop_all(Duration::from_secs(2));
        assert_eq!(stopped.len(), 2);
        assert!(
            stopped[0].starts_with('b') && stopped[1].starts_with('a'),
            "{stopped:?}"
        );
        assert!(
            signal::kill(Pid::from_raw(a_pid as i32), None).is_err(),
            "a is gone"
        );
        assert!(
            supervisor.tick(Instant::now() + MAX_BACKOFF).is_empty(),
            "no restart when stopping"
        );
    }

    #[test]
    fn a_staged_stop_signals_children_one_by_one_in_reverse_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut supervisor = Supervisor::new(vec![
            sleeper(dir.path(), "a", "30"),
            sleeper(dir.path(), "b", "30"),
        ]);
        assert!(supervisor.start_all(Instant::now()).is_empty());
        let a_pid = supervisor.status()[0].pid.unwrap() as i32;
        supervisor.request_stop(Instant::now(), Duration::from_secs(5));
        assert!(!supervisor.is_stopped());
        let mut order = Vec::new();
        for _ in 0..500 {
            order.extend(supervisor.reap(Instant::now()));
            if supervisor.is_stopped() {
                break;
            }
            if order.len() == 1 {
                // b went first; a was signalled only now.
                assert!(order[0].starts_with("b stopped"), "{order:?}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(supervisor.is_stopped(), "{order:?}");
        assert!(order[1].starts_with("a stopped"), "{order:?}");
        assert!(signal::kill(Pid::from_raw(a_pid), None).is_err());
    }

    #[test]
    fn a_staged_stop_kills_a_child_that_outlives_its_grace() {
        let dir = tempfile::tempdir().unwrap();
        let mut stubborn = sleeper(dir.path(), "stubborn", "30");
        stubborn.program = "/bin/sh".into();
        stubborn.args = vec!["-c".into(), "trap '' TERM; sleep 30".into()];
        let mut supervisor = Supervisor::new(vec![stubborn]);
        assert!(supervisor.start_all(Instant::now()).is_empty());
        let t0 = Instant::now();
        supervisor.request_stop(t0, Duration::from_millis(200));
        let deadline = supervisor.next_deadline().expect("a kill deadline");
        assert!(supervisor.advance_stop(t0).is_empty());
        let lines = supervisor.advance_stop(deadline);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].contains("killed"));
        assert!(supervisor.is_stopped());
    }

    #[test]
    fn a_missing_program_is_reported_and_retried_later() {
        let dir = tempfile::tempdir().unwrap();
        let mut spec = sleeper(dir.path(), "ghost", "1");
        spec.program = dir.path().join("no-such-program");
        let mut supervisor = Supervisor::new(vec![spec]);
        let problems = supervisor.start_all(Instant::now());
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("cannot start"));
        assert!(supervisor.next_deadline().is_some());
    }
}
