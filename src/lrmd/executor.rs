//! The executor core: which op runs when, deadlines, kill escalation, recurring monitors.
//!
//! No processes, clocks or files in here. The shell feeds [`Input`]s with the current time and
//! carries out the returned [`Output`]s in order; `spawn.rs` is what actually runs agents.
//!
//! Calling contract: `now` never decreases between calls; call [`Executor::next_deadline`]
//! after every [`Executor::handle`] and send [`Input::Tick`] once it has passed.
//!
//! Rules kept here:
//! - one op at a time per resource, in arrival order; different resources run in parallel;
//! - an op past its timeout gets SIGTERM on its process group, then SIGKILL after
//!   `kill_grace_ms`; its result is `timeout` once the process is gone;
//! - a recurring op runs every `interval_ms` after the previous run ended; its result is
//!   reported the first time and whenever status or rc changes, never otherwise;
//! - processes a successful `start` left behind are remembered per resource; a successful
//!   `stop` sends them SIGTERM, then SIGKILL after the grace period;
//! - queues are bounded; past a bound the request is rejected, never queued.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::agent::{self, Convention, FailureKind};

/// Identifies one op (a one-shot call, or a recurring registration and all its runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OpId(pub u64);

/// What to execute for an op.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Program {
    /// Execute `path` with `args`.
    Exec {
        /// Program path.
        path: PathBuf,
        /// Arguments after argv\[0\].
        args: Vec<String>,
    },
    /// Run a script through the interpreter named on its `#!` line, reading it from an
    /// inherited file descriptor, so neither the action's process name nor its command line
    /// contains the script's name (a `pkill NAME` inside the script cannot hit the action).
    HiddenScript {
        /// Script path.
        path: PathBuf,
        /// Arguments after the script.
        args: Vec<String>,
    },
    /// No process: answer whether the resource's tracked processes are alive
    /// (rc 0 when any is, 7 when none is).
    TrackedProcesses,
}

/// How to run one op: program, complete environment and the exit-code convention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionSpec {
    /// What runs.
    pub program: Program,
    /// The complete environment (nothing is inherited).
    pub env: Vec<(String, String)>,
    /// How its exit code is read.
    pub convention: Convention,
}

/// A request to run an action on a resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpRequest {
    /// Resource id.
    pub resource: String,
    /// Agent name, as text (kept with the resource and its history).
    pub agent: String,
    /// Action name (`start`, `monitor`, ...).
    pub action: String,
    /// 0 for a one-shot op; otherwise the op recurs at this interval.
    pub interval_ms: u64,
    /// Timeout of each run.
    pub timeout_ms: u64,
    /// What to run.
    pub spec: ActionSpec,
    /// Opaque routing tag of the requester, echoed in replies (0: nobody waits).
    pub client: u64,
}

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChildStatus {
    /// Exited with this code.
    Exited(i32),
    /// Killed by this signal.
    Signaled(i32),
}

/// What a child printed, already bounded by the shell.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapturedOutput {
    /// Standard output (lossy UTF-8, at most the capture bound).
    pub stdout: String,
    /// Standard error (lossy UTF-8, at most the capture bound).
    pub stderr: String,
    /// Bytes read past the bound and dropped.
    pub dropped_bytes: u64,
}

/// Signals the executor sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KillSignal {
    /// SIGTERM: please stop.
    Term,
    /// SIGKILL: stop now.
    Kill,
}

/// Inputs to the executor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Run an op (recurring when `interval_ms > 0`; a registration with the same resource,
    /// action and interval is replaced).
    Exec(OpRequest),
    /// Cancel a recurring op, or one-shot ops still queued, matching these keys.
    Cancel {
        /// Resource id.
        resource: String,
        /// Action name.
        action: String,
        /// Interval (0 matches queued one-shot ops).
        interval_ms: u64,
        /// Requester tag for the reply.
        client: u64,
    },
    /// The op's process was reaped.
    ChildExited {
        /// Which op.
        op: OpId,
        /// Its process group (the leader's pid) when the op asked for leftovers to be
        /// tracked and processes remain in it; 0 otherwise.
        pgid: i32,
        /// How it ended.
        status: ChildStatus,
        /// What it printed.
        output: CapturedOutput,
        /// Wall-clock end, Unix milliseconds (for history `*_at` fields).
        finished_at_ms: u64,
    },
    /// The op could not be started at all.
    SpawnFailed {
        /// Which op.
        op: OpId,
        /// Why.
        error: String,
        /// Wall-clock time, Unix milliseconds.
        finished_at_ms: u64,
    },
    /// Forget a resource: its recurring ops, queued ops, tracked processes and history. An op
    /// running now finishes and is reported.
    Forget {
        /// Resource id.
        resource: String,
    },
    /// Time has passed; fire what is due.
    Tick,
}

/// Outputs of the executor, to be carried out in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Start the op's process in its own process group; report with `ChildExited`.
    Spawn {
        /// Which op.
        op: OpId,
        /// Resource id.
        resource: String,
        /// What to run.
        spec: ActionSpec,
        /// Process groups remembered for the resource (for `TrackedProcesses`).
        tracked_groups: Vec<i32>,
        /// A start: report the process group in `ChildExited` if processes are left in it.
        track_leftovers: bool,
    },
    /// Signal the op's whole process group.
    Kill {
        /// Which op.
        op: OpId,
        /// Which signal.
        signal: KillSignal,
    },
    /// Signal processes a resource left behind (after a successful stop).
    KillGroups {
        /// Resource id.
        resource: String,
        /// Process groups.
        groups: Vec<i32>,
        /// Which signal.
        signal: KillSignal,
    },
    /// The request was taken under this op id.
    Accepted {
        /// Requester tag.
        client: u64,
        /// The new op's id.
        op: OpId,
    },
    /// The request was refused; nothing was queued.
    Rejected {
        /// Requester tag.
        client: u64,
        /// Why.
        reason: RejectReason,
    },
    /// A result to report.
    Completed(OpResult),
    /// The persistent part of the state changed (see [`Executor::snapshot`]).
    StateChanged,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// The resource already has `pending_per_resource_max` ops waiting.
    ResourceQueueFull,
    /// The executor has `pending_total_max` ops waiting or running.
    ExecutorFull,
    /// The executor has `recurring_max` recurring ops.
    TooManyRecurring,
    /// A cancel matched nothing.
    NothingToCancel,
    /// The executor is shutting down.
    ShuttingDown,
}

impl std::fmt::Display for RejectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RejectReason::ResourceQueueFull => "too many ops queued for this resource",
            RejectReason::ExecutorFull => "too many ops queued in the executor",
            RejectReason::TooManyRecurring => "too many recurring ops registered",
            RejectReason::NothingToCancel => "no such op to cancel",
            RejectReason::ShuttingDown => "executor is shutting down",
        })
    }
}

/// How an op's execution went, beside the agent's rc.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecStatus {
    /// The agent ran to completion; see `rc`.
    Done,
    /// The agent ran past its timeout and was killed.
    Timeout,
    /// The op was cancelled before it ran (or its recurrence was).
    Cancelled,
    /// The agent was killed by a signal the executor did not send.
    Signaled,
    /// The agent could not be started.
    SpawnFailed,
    /// The agent does not exist or cannot be executed (reported by the daemon for a request
    /// it refused; `rc` is 5).
    NotInstalled,
    /// The request was refused: parameters the agent does not accept (`rc` is 2).
    Invalid,
}

/// The outcome of one op run.
///
/// JSON: `{"op":3,"client":7,"resource":"vip","agent":"ocf:heartbeat:IPaddr2","action":"start",
/// "interval_ms":0,"status":"done","rc":0,"rc_text":"ok","raw_rc":0,"signal":null,
/// "failure":null,"exit_reason":null,"stdout":"","stderr":"","dropped_bytes":0,
/// "duration_ms":41,"finished_at_ms":1764140000000}`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpResult {
    /// Op id.
    pub op: OpId,
    /// Requester tag.
    pub client: u64,
    /// Resource id.
    pub resource: String,
    /// Agent name.
    pub agent: String,
    /// Action name.
    pub action: String,
    /// 0 for one-shot ops.
    pub interval_ms: u64,
    /// Execution status.
    pub status: ExecStatus,
    /// OCF return code (mapped from the agent's convention); `null` unless `done`.
    pub rc: Option<i32>,
    /// Meaning of `rc`.
    pub rc_text: Option<String>,
    /// The exit code as the agent returned it.
    pub raw_rc: Option<i32>,
    /// Signal that ended the agent, if any.
    pub signal: Option<i32>,
    /// How far a failure reaches; `null` when the result is what the action wanted.
    pub failure: Option<FailureKind>,
    /// The agent's `ocf-exit-reason:` line, or the executor's own reason.
    pub exit_reason: Option<String>,
    /// Captured standard output.
    pub stdout: String,
    /// Captured standard error.
    pub stderr: String,
    /// Output bytes dropped past the capture bound.
    pub dropped_bytes: u64,
    /// Run time.
    pub duration_ms: u64,
    /// Wall-clock end, Unix milliseconds.
    pub finished_at_ms: u64,
}

/// Bounds and delays of the executor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutorConfig {
    /// Time between SIGTERM and SIGKILL.
    pub kill_grace_ms: u64,
    /// Ops waiting per resource.
    pub pending_per_resource_max: usize,
    /// Ops waiting or running in total.
    pub pending_total_max: usize,
    /// Recurring ops registered in total.
    pub recurring_max: usize,
    /// Kept results per resource (the last of each action and interval).
    pub history_per_resource_max: usize,
    /// Resources remembered.
    pub resources_max: usize,
    /// Ops running at once (each holds a process and two pipes); the rest wait their turn.
    pub running_max: usize,
}

impl Default for ExecutorConfig {
    fn default() -> ExecutorConfig {
        ExecutorConfig {
            kill_grace_ms: 5_000,
            pending_per_resource_max: 64,
            pending_total_max: 4_096,
            recurring_max: 4_096,
            history_per_resource_max: 32,
            resources_max: 4_096,
            running_max: 64,
        }
    }
}

/// Where a running op is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RunPhase {
    /// Running within its timeout.
    Running { deadline: Instant },
    /// Timed out; SIGTERM sent; SIGKILL at `kill_at`.
    Terminating { kill_at: Instant },
    /// SIGKILL sent; waiting to reap.
    Killed,
}

#[derive(Debug, Clone)]
struct Running {
    op: OpId,
    request: OpRequest,
    started: Instant,
    phase: RunPhase,
}

#[derive(Debug, Clone)]
struct Queued {
    op: OpId,
    request: OpRequest,
}

/// The last result of one action and interval on a resource.
///
/// JSON: `{"action":"monitor","interval_ms":10000,"status":"done","rc":0,"exit_reason":null,
/// "duration_ms":12,"finished_at_ms":1764140000000}`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpRecord {
    /// Action name.
    pub action: String,
    /// Interval (0 for one-shot).
    pub interval_ms: u64,
    /// Execution status.
    pub status: ExecStatus,
    /// OCF rc, when done.
    pub rc: Option<i32>,
    /// Exit reason, if any.
    pub exit_reason: Option<String>,
    /// Run time.
    pub duration_ms: u64,
    /// Wall-clock end, Unix milliseconds.
    pub finished_at_ms: u64,
}

#[derive(Debug, Clone, Default)]
struct Resource {
    agent: String,
    running: Option<Running>,
    queue: VecDeque<Queued>,
    tracked_groups: Vec<i32>,
    history: Vec<OpRecord>,
    /// Groups sent SIGTERM after a stop, to get SIGKILL at the instant.
    reaping: Option<(Instant, Vec<i32>)>,
}

#[derive(Debug, Clone)]
struct Recurring {
    op: OpId,
    request: OpRequest,
    /// `None` while a run is queued or running.
    next_due: Option<Instant>,
    last: Option<(ExecStatus, Option<i32>)>,
}

type RecurringKey = (String, String, u64);

/// What the executor keeps across restarts: per resource its agent, tracked process groups
/// and op history, and the recurring ops.
///
/// JSON: `{"resources":{"web":{"agent":"lsb:gohttpd","tracked_groups":[4242],"history":[…]}},
/// "recurring":[{…OpRequest…}]}`
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Per resource id.
    pub resources: BTreeMap<String, ResourceSnapshot>,
    /// Registered recurring ops.
    pub recurring: Vec<OpRequest>,
    /// The next op id to hand out.
    pub next_op: u64,
}

/// One resource in a [`Snapshot`] or [`Executor::status`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceSnapshot {
    /// Agent name.
    pub agent: String,
    /// Process groups left by its last successful start.
    pub tracked_groups: Vec<i32>,
    /// Last result per action and interval, oldest first.
    pub history: Vec<OpRecord>,
}

/// Counters and sizes, for `status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutorStatus {
    /// Ops running now.
    pub running: usize,
    /// Ops waiting.
    pub queued: usize,
    /// Recurring ops registered.
    pub recurring: usize,
    /// Requests refused because a bound was reached.
    pub rejected: u64,
    /// Ops completed since start.
    pub completed: u64,
    /// Ops that timed out since start.
    pub timed_out: u64,
}

/// The executor core. See the module documentation for its rules.
#[derive(Debug)]
pub struct Executor {
    config: ExecutorConfig,
    now: Instant,
    next_op: u64,
    resources: BTreeMap<String, Resource>,
    recurring: BTreeMap<RecurringKey, Recurring>,
    counters: ExecutorStatus,
    shutting_down: bool,
}

impl Executor {
    /// An executor with nothing running.
    pub fn new(config: ExecutorConfig, now: Instant) -> Executor {
        Executor {
            config,
            now,
            next_op: 1,
            resources: BTreeMap::new(),
            recurring: BTreeMap::new(),
            counters: ExecutorStatus::default(),
            shutting_down: false,
        }
    }

    /// An executor resuming from a saved snapshot: tracked processes and history are kept,
    /// recurring ops run again at once.
    pub fn restore(config: ExecutorConfig, now: Instant, snapshot: Snapshot) -> Executor {
        let mut executor = Executor::new(config, now);
        executor.next_op = snapshot.next_op.max(1);
        for (id, saved) in snapshot.resources {
            executor.resources.insert(
                id,
                Resource {
                    agent: saved.agent,
                    tracked_groups: saved.tracked_groups,
                    history: saved.history,
                    ..Resource::default()
                },
            );
        }
        for request in snapshot.recurring {
            let op = executor.allocate_op();
            let key = recurring_key(&request);
            executor.recurring.insert(
                key,
                Recurring {
                    op,
                    request: OpRequest {
                        client: 0,
                        ..request
                    },
                    next_due: Some(now),
                    last: None,
                },
            );
        }
        executor
    }

    /// The persistent part of the state.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            resources: self
                .resources
                .iter()
                .map(|(id, r)| (id.clone(), resource_snapshot(r)))
                .collect(),
            recurring: self.recurring.values().map(|r| r.request.clone()).collect(),
            next_op: self.next_op,
        }
    }

    /// Resources with their tracked processes and history.
    pub fn resources(&self) -> BTreeMap<String, ResourceSnapshot> {
        self.snapshot().resources
    }

    /// Counters and queue sizes.
    pub fn status(&self) -> ExecutorStatus {
        ExecutorStatus {
            running: self
                .resources
                .values()
                .filter(|r| r.running.is_some())
                .count(),
            queued: self.resources.values().map(|r| r.queue.len()).sum(),
            recurring: self.recurring.len(),
            ..self.counters.clone()
        }
    }

    /// Process groups sent SIGTERM after a stop and due for SIGKILL at the next deadline.
    pub fn reaping_groups(&self) -> Vec<i32> {
        self.resources
            .values()
            .filter_map(|r| r.reaping.as_ref())
            .flat_map(|(_, groups)| groups.iter().copied())
            .collect()
    }

    /// Whether nothing is running or queued (a shutting-down shell may exit).
    pub fn is_idle(&self) -> bool {
        self.resources
            .values()
            .all(|r| r.running.is_none() && r.queue.is_empty())
    }

    /// Stops recurring ops and refuses new requests; running ops finish.
    pub fn shut_down(&mut self) {
        self.shutting_down = true;
        self.recurring.clear();
        for resource in self.resources.values_mut() {
            resource.queue.clear();
        }
    }

    /// The earliest instant at which a `Tick` has work to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        let running = self.resources.values().filter_map(|r| {
            r.running.as_ref().and_then(|run| match run.phase {
                RunPhase::Running { deadline } => Some(deadline),
                RunPhase::Terminating { kill_at } => Some(kill_at),
                RunPhase::Killed => None,
            })
        });
        let reaping = self
            .resources
            .values()
            .filter_map(|r| r.reaping.as_ref().map(|(at, _)| *at));
        let recurring = self.recurring.values().filter_map(|r| r.next_due);
        running.chain(reaping).chain(recurring).min()
    }

    /// Handles one input at `now` and returns what to do, in order.
    pub fn handle(&mut self, now: Instant, input: Input) -> Vec<Output> {
        debug_assert!(now >= self.now, "time went backwards");
        self.now = now.max(self.now);
        let mut out = Vec::new();
        match input {
            Input::Exec(request) => self.handle_exec(request, &mut out),
            Input::Cancel {
                resource,
                action,
                interval_ms,
                client,
            } => self.handle_cancel(&resource, &action, interval_ms, client, &mut out),
            Input::ChildExited {
                op,
                pgid,
                status,
                output,
                finished_at_ms,
            } => self.handle_exit(
                op,
                Some(pgid),
                Ok((status, output)),
                finished_at_ms,
                &mut out,
            ),
            Input::SpawnFailed {
                op,
                error,
                finished_at_ms,
            } => self.handle_exit(op, None, Err(error), finished_at_ms, &mut out),
            Input::Forget { resource } => self.handle_forget(&resource, &mut out),
            Input::Tick => self.handle_tick(&mut out),
        }
        self.start_ready(&mut out);
        self.check_invariants();
        out
    }

    fn allocate_op(&mut self) -> OpId {
        let op = OpId(self.next_op);
        self.next_op += 1;
        op
    }

    fn pending_total(&self) -> usize {
        self.resources
            .values()
            .map(|r| r.queue.len() + usize::from(r.running.is_some()))
            .sum()
    }

    fn handle_exec(&mut self, request: OpRequest, out: &mut Vec<Output>) {
        let client = request.client;
        let reject = |reason| Output::Rejected { client, reason };
        if self.shutting_down {
            out.push(reject(RejectReason::ShuttingDown));
            self.counters.rejected += 1;
            return;
        }
        let known = self.resources.contains_key(&request.resource);
        if !known && self.resources.len() >= self.config.resources_max {
            out.push(reject(RejectReason::ExecutorFull));
            self.counters.rejected += 1;
            return;
        }
        if request.interval_ms > 0 {
            let key = recurring_key(&request);
            if !self.recurring.contains_key(&key)
                && self.recurring.len() >= self.config.recurring_max
            {
                out.push(reject(RejectReason::TooManyRecurring));
                self.counters.rejected += 1;
                return;
            }
            let op = self.allocate_op();
            self.resource_entry(&request).agent = request.agent.clone();
            // A replaced registration's queued run goes; a running one finishes unreported.
            if let Some(old) = self.recurring.remove(&key) {
                self.drop_queued(&request.resource, old.op);
            }
            // The first run is queued at once; later ones when their interval has passed.
            let first = Queued {
                op,
                request: request.clone(),
            };
            self.resource_entry(&request).queue.push_back(first);
            self.recurring.insert(
                key,
                Recurring {
                    op,
                    request,
                    next_due: None,
                    last: None,
                },
            );
            out.push(Output::Accepted { client, op });
            out.push(Output::StateChanged);
            return;
        }
        if self.pending_total() >= self.config.pending_total_max {
            out.push(reject(RejectReason::ExecutorFull));
            self.counters.rejected += 1;
            return;
        }
        let per_resource_max = self.config.pending_per_resource_max;
        if self
            .resources
            .get(&request.resource)
            .is_some_and(|r| r.queue.len() >= per_resource_max)
        {
            out.push(reject(RejectReason::ResourceQueueFull));
            self.counters.rejected += 1;
            return;
        }
        let op = self.allocate_op();
        let resource = self.resource_entry(&request);
        resource.agent = request.agent.clone();
        resource.queue.push_back(Queued { op, request });
        out.push(Output::Accepted { client, op });
    }

    fn resource_entry(&mut self, request: &OpRequest) -> &mut Resource {
        self.resources.entry(request.resource.clone()).or_default()
    }

    fn drop_queued(&mut self, resource: &str, op: OpId) {
        if let Some(r) = self.resources.get_mut(resource) {
            r.queue.retain(|q| q.op != op);
        }
    }

    fn handle_cancel(
        &mut self,
        resource: &str,
        action: &str,
        interval_ms: u64,
        client: u64,
        out: &mut Vec<Output>,
    ) {
        let key = (resource.to_string(), action.to_string(), interval_ms);
        let mut cancelled = Vec::new();
        if let Some(recurring) = self.recurring.remove(&key) {
            self.drop_queued(resource, recurring.op);
            cancelled.push((recurring.op, recurring.request));
        }
        if let Some(r) = self.resources.get_mut(resource) {
            let (gone, kept): (VecDeque<Queued>, VecDeque<Queued>) = r
                .queue
                .drain(..)
                .partition(|q| q.request.action == action && q.request.interval_ms == interval_ms);
            r.queue = kept;
            cancelled.extend(gone.into_iter().map(|q| (q.op, q.request)));
        }
        if cancelled.is_empty() {
            self.counters.rejected += 1;
            out.push(Output::Rejected {
                client,
                reason: RejectReason::NothingToCancel,
            });
            return;
        }
        for (op, request) in cancelled {
            out.push(Output::Completed(OpResult {
                client,
                ..self.result_without_run(op, &request, ExecStatus::Cancelled, None)
            }));
        }
        out.push(Output::StateChanged);
    }

    fn handle_forget(&mut self, resource: &str, out: &mut Vec<Output>) {
        self.recurring.retain(|key, _| key.0 != resource);
        let Some(r) = self.resources.get_mut(resource) else {
            return;
        };
        r.queue.clear();
        r.history.clear();
        r.tracked_groups.clear();
        if r.running.is_none() && r.reaping.is_none() {
            self.resources.remove(resource);
        }
        out.push(Output::StateChanged);
    }

    fn result_without_run(
        &self,
        op: OpId,
        request: &OpRequest,
        status: ExecStatus,
        reason: Option<String>,
    ) -> OpResult {
        OpResult {
            op,
            client: request.client,
            resource: request.resource.clone(),
            agent: request.agent.clone(),
            action: request.action.clone(),
            interval_ms: request.interval_ms,
            status,
            rc: None,
            rc_text: None,
            raw_rc: None,
            signal: None,
            failure: None,
            exit_reason: reason,
            stdout: String::new(),
            stderr: String::new(),
            dropped_bytes: 0,
            duration_ms: 0,
            finished_at_ms: 0,
        }
    }

    fn handle_exit(
        &mut self,
        op: OpId,
        pgid: Option<i32>,
        outcome: Result<(ChildStatus, CapturedOutput), String>,
        finished_at_ms: u64,
        out: &mut Vec<Output>,
    ) {
        let Some((resource_id, running)) = self.take_running(op) else {
            return; // A stale or duplicate report: nothing runs under that id.
        };
        let duration_ms = duration_ms(self.now.saturating_duration_since(running.started));
        let request = &running.request;
        let timed_out = !matches!(running.phase, RunPhase::Running { .. });
        let mut result = self.result_without_run(op, request, ExecStatus::Done, None);
        result.duration_ms = duration_ms;
        result.finished_at_ms = finished_at_ms;
        match outcome {
            Err(error) => {
                result.status = ExecStatus::SpawnFailed;
                result.failure = Some(FailureKind::Hard);
                result.exit_reason = Some(error);
            }
            Ok((status, output)) => {
                result.exit_reason = exit_reason(&output.stderr);
                result.stdout = output.stdout;
                result.stderr = output.stderr;
                result.dropped_bytes = output.dropped_bytes;
                match (timed_out, status) {
                    (true, _) => {
                        self.counters.timed_out += 1;
                        result.status = ExecStatus::Timeout;
                        result.failure = Some(FailureKind::Soft);
                        result.exit_reason =
                            Some(format!("timed out after {} ms", request.timeout_ms));
                        if let ChildStatus::Signaled(signal) = status {
                            result.signal = Some(signal);
                        }
                    }
                    (false, ChildStatus::Exited(raw)) => {
                        let code = agent::to_ocf_rc(request.spec.convention, &request.action, raw);
                        result.raw_rc = Some(raw);
                        result.rc = Some(code);
                        result.rc_text = Some(agent::rc_text(code).to_string());
                        result.failure = agent::failure_kind(&request.action, code);
                    }
                    (false, ChildStatus::Signaled(signal)) => {
                        result.status = ExecStatus::Signaled;
                        result.signal = Some(signal);
                        result.failure = Some(FailureKind::Soft);
                        result
                            .exit_reason
                            .get_or_insert_with(|| format!("killed by signal {signal}"));
                    }
                }
            }
        }
        self.counters.completed += 1;
        self.after_result(&resource_id, pgid, &result, out);
        let recurring_key = recurring_key(&running.request);
        let report = match self.recurring.get_mut(&recurring_key) {
            Some(recurring) if recurring.op == op => {
                recurring.next_due =
                    Some(self.now + Duration::from_millis(recurring.request.interval_ms));
                let summary = (result.status, result.rc);
                let changed = recurring.last != Some(summary);
                recurring.last = Some(summary);
                changed
            }
            // A recurring op cancelled or replaced while it ran is not reported.
            _ => running.request.interval_ms == 0,
        };
        if report {
            out.push(Output::Completed(result));
        }
    }

    /// Records the result and keeps process tracking in step with start and stop.
    fn after_result(
        &mut self,
        resource_id: &str,
        pgid: Option<i32>,
        result: &OpResult,
        out: &mut Vec<Output>,
    ) {
        let grace = Duration::from_millis(self.config.kill_grace_ms);
        let history_max = self.config.history_per_resource_max;
        let now = self.now;
        let Some(resource) = self.resources.get_mut(resource_id) else {
            return;
        };
        let succeeded = result.status == ExecStatus::Done && result.failure.is_none();
        match (result.action.as_str(), succeeded, pgid) {
            ("start", true, Some(pgid)) if pgid > 0 => {
                resource.tracked_groups.retain(|g| *g != pgid);
                resource.tracked_groups.push(pgid);
                // Bound: only the newest starts' groups are worth remembering.
                if resource.tracked_groups.len() > 8 {
                    resource.tracked_groups.remove(0);
                }
            }
            ("stop", true, _) if !resource.tracked_groups.is_empty() => {
                let groups = std::mem::take(&mut resource.tracked_groups);
                out.push(Output::KillGroups {
                    resource: resource_id.to_string(),
                    groups: groups.clone(),
                    signal: KillSignal::Term,
                });
                resource.reaping = Some((now + grace, groups));
            }
            _ => {}
        }
        let record = OpRecord {
            action: result.action.clone(),
            interval_ms: result.interval_ms,
            status: result.status,
            rc: result.rc,
            exit_reason: result.exit_reason.clone(),
            duration_ms: result.duration_ms,
            finished_at_ms: result.finished_at_ms,
        };
        let same_key =
            |r: &OpRecord| r.action == record.action && r.interval_ms == record.interval_ms;
        // A recurring op repeating its last answer changes nothing worth saving at once;
        // saving every monitor run of a thousand resources would be a write per run.
        let repeats = record.interval_ms > 0
            && resource
                .history
                .iter()
                .any(|r| same_key(r) && r.status == record.status && r.rc == record.rc);
        resource.history.retain(|r| !same_key(r));
        resource.history.push(record);
        if resource.history.len() > history_max {
            resource.history.remove(0);
        }
        if !repeats {
            out.push(Output::StateChanged);
        }
    }

    fn take_running(&mut self, op: OpId) -> Option<(String, Running)> {
        self.resources.iter_mut().find_map(|(id, r)| {
            if r.running.as_ref().is_some_and(|run| run.op == op) {
                r.running.take().map(|run| (id.clone(), run))
            } else {
                None
            }
        })
    }

    fn handle_tick(&mut self, out: &mut Vec<Output>) {
        let now = self.now;
        let grace = Duration::from_millis(self.config.kill_grace_ms);
        for (id, resource) in &mut self.resources {
            if let Some(run) = resource.running.as_mut() {
                match run.phase {
                    RunPhase::Running { deadline } if now >= deadline => {
                        run.phase = RunPhase::Terminating {
                            kill_at: now + grace,
                        };
                        out.push(Output::Kill {
                            op: run.op,
                            signal: KillSignal::Term,
                        });
                    }
                    RunPhase::Terminating { kill_at } if now >= kill_at => {
                        run.phase = RunPhase::Killed;
                        out.push(Output::Kill {
                            op: run.op,
                            signal: KillSignal::Kill,
                        });
                    }
                    RunPhase::Running { .. } | RunPhase::Terminating { .. } | RunPhase::Killed => {}
                }
            }
            if resource.reaping.as_ref().is_some_and(|(at, _)| now >= *at) {
                let (_, groups) = resource.reaping.take().expect("checked just above");
                out.push(Output::KillGroups {
                    resource: id.clone(),
                    groups,
                    signal: KillSignal::Kill,
                });
            }
        }
        let due: Vec<RecurringKey> = self
            .recurring
            .iter()
            .filter(|(_, r)| r.next_due.is_some_and(|at| now >= at))
            .map(|(key, _)| key.clone())
            .collect();
        for key in due {
            let recurring = self.recurring.get_mut(&key).expect("key listed just above");
            recurring.next_due = None;
            let queued = Queued {
                op: recurring.op,
                request: recurring.request.clone(),
            };
            self.resources
                .entry(key.0.clone())
                .or_default()
                .queue
                .push_back(queued);
        }
    }

    /// Starts the head of every idle resource's queue.
    fn start_ready(&mut self, out: &mut Vec<Output>) {
        let now = self.now;
        let mut running = self
            .resources
            .values()
            .filter(|r| r.running.is_some())
            .count();
        for (id, resource) in &mut self.resources {
            if running >= self.config.running_max {
                break;
            }
            if resource.running.is_some() {
                continue;
            }
            let Some(next) = resource.queue.pop_front() else {
                continue;
            };
            let deadline = now + Duration::from_millis(next.request.timeout_ms);
            out.push(Output::Spawn {
                op: next.op,
                resource: id.clone(),
                spec: next.request.spec.clone(),
                tracked_groups: resource.tracked_groups.clone(),
                track_leftovers: next.request.action == "start",
            });
            resource.running = Some(Running {
                op: next.op,
                request: next.request,
                started: now,
                phase: RunPhase::Running { deadline },
            });
            running += 1;
        }
    }

    fn check_invariants(&self) {
        if !cfg!(debug_assertions) {
            return;
        }
        for (id, resource) in &self.resources {
            if let Some(run) = &resource.running {
                assert_eq!(
                    &run.request.resource, id,
                    "op filed under the wrong resource"
                );
                assert!(
                    resource.queue.iter().all(|q| q.op != run.op),
                    "running op {:?} also queued",
                    run.op
                );
            }
            assert!(
                resource.history.len() <= self.config.history_per_resource_max,
                "history of {id} over its bound"
            );
        }
        for (key, recurring) in &self.recurring {
            assert_eq!(
                *key,
                recurring_key(&recurring.request),
                "recurring key mismatch"
            );
        }
    }
}

fn recurring_key(request: &OpRequest) -> RecurringKey {
    (
        request.resource.clone(),
        request.action.clone(),
        request.interval_ms,
    )
}

fn resource_snapshot(resource: &Resource) -> ResourceSnapshot {
    ResourceSnapshot {
        agent: resource.agent.clone(),
        tracked_groups: resource.tracked_groups.clone(),
        history: resource.history.clone(),
    }
}

fn duration_ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The last `ocf-exit-reason:` line an agent printed on stderr (OCF agents' way to explain
/// a failure), trimmed to one line.
pub fn exit_reason(stderr: &str) -> Option<String> {
    stderr
        .lines()
        .rev()
        .find_map(|line| line.split_once("ocf-exit-reason:").map(|(_, r)| r.trim()))
        .filter(|reason| !reason.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> Instant {
        Instant::now()
    }

    fn at(t0: Instant, ms: u64) -> Instant {
        t0 + Duration::from_millis(ms)
    }

    fn request(resource: &str, action: &str, interval_ms: u64, timeout_ms: u64) -> OpRequest {
        OpRequest {
            resource: resource.into(),
            agent: "ocf:heartbeat:Dummy".into(),
            action: action.into(),
            interval_ms,
            timeout_ms,
            spec: ActionSpec {
                program: Program::Exec {
                    path: "/agent".into(),
                    args: vec![action.into()],
                },
                env: vec![],
                convention: Convention::Ocf,
            },
            client: 9,
        }
    }

    fn exited(op: OpId, code: i32) -> Input {
        Input::ChildExited {
            op,
            pgid: 100 + op.0 as i32,
            status: ChildStatus::Exited(code),
            output: CapturedOutput::default(),
            finished_at_ms: 1_000,
        }
    }

    fn spawned(outputs: &[Output]) -> Vec<OpId> {
        outputs
            .iter()
            .filter_map(|o| match o {
                Output::Spawn { op, .. } => Some(*op),
                _ => None,
            })
            .collect()
    }

    fn completed(outputs: &[Output]) -> Vec<OpResult> {
        outputs
            .iter()
            .filter_map(|o| match o {
                Output::Completed(r) => Some(r.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn ops_on_one_resource_run_one_at_a_time_in_order() {
        let t0 = t0();
        let mut ex = Executor::new(ExecutorConfig::default(), t0);
        let out = ex.handle(t0, Input::Exec(request("a", "start", 0, 20_000)));
        assert_eq!(spawned(&out), [OpId(1)]);
        let out = ex.handle(t0, Input::Exec(request("a", "monitor", 0, 20_000)));
        assert_eq!(
            out,
            [Output::Accepted {
                client: 9,
                op: OpId(2)
            }]
        );
        let out = ex.handle(at(t0, 5), exited(OpId(1), 0));
        assert_eq!(spawned(&out), [OpId(2)]);
        let results = completed(&out);
        assert_eq!(results.len(), 1);
        assert_eq!((results[0].rc, results[0].duration_ms), (Some(0), 5));
    }

    #[test]
    fn different_resources_run_in_parallel() {
        let t0 = t0();
        let mut ex = Executor::new(ExecutorConfig::default(), t0);
        let a = ex.handle(t0, Input::Exec(request("a", "start", 0, 20_000)));
        let b = ex.handle(t0, Input::Exec(request("b", "start", 0, 20_000)));
        assert_eq!(spawned(&a), [OpId(1)]);
        assert_eq!(spawned(&b), [OpId(2)]);
        assert_eq!(ex.status().running, 2);
    }

    #[test]
    fn op_past_its_timeout_gets_term_then_kill_and_reports_timeout() {
        let t0 = t0();
        let mut ex = Executor::new(ExecutorConfig::default(), t0);
        ex.handle(t0, Input::Exec(request("a", "start", 0, 1_000)));
        assert_eq!(ex.next_deadline(), Some(at(t0, 1_000)));
        assert!(ex.handle(at(t0, 999), Input::Tick).is_empty());
        let out = ex.handle(at(t0, 1_000), Input::Tick);
        assert_eq!(
            out,
            [Output::Kill {
                op: OpId(1),
                signal: KillSignal::Term
            }]
        );
        assert_eq!(ex.next_deadline(), Some(at(t0, 6_000)));
        let out = ex.handle(at(t0, 6_000), Input::Tick);
        assert_eq!(
            out,
            [Output::Kill {
                op: OpId(1),
                signal: KillSignal::Kill
            }]
        );
        assert_eq!(ex.next_deadline(), None);
        let exit = Input::ChildExited {
            op: OpId(1),
            pgid: 101,
            status: ChildStatus::Signaled(9),
            output: CapturedOutput::default(),
            finished_at_ms: 7,
        };
        let results = completed(&ex.handle(at(t0, 6_001), exit));
        assert_eq!(results[0].status, ExecStatus::Timeout);
        assert_eq!(
            results[0].exit_reason.as_deref(),
            Some("timed out after 1000 ms")
        );
        assert_eq!(results[0].failure, Some(FailureKind::Soft));
        assert_eq!(ex.status().timed_out, 1);
    }

    #[test]
    fn agent_exiting_during_grace_is_still_a_timeout() {
        let t0 = t0();
        let mut ex = Executor::new(ExecutorConfig::default(), t0);
        ex.handle(t0, Input::Exec(request("a", "stop", 0, 100)));
        ex.handle(at(t0, 100), Input::Tick);
        let results = completed(&ex.handle(at(t0, 150), exited(OpId(1), 0)));
        assert_eq!(results[0].status, ExecStatus::Timeout);
        assert_eq!(
            ex.next_deadline(),
            None,
            "no kill left pending for a reaped op"
        );
    }

    #[test]
    fn recurring_monitor_reports_first_and_changed_results_only() {
        let t0 = t0();
        let mut ex = Executor::new(ExecutorConfig::default(), t0);
        let out = ex.handle(t0, Input::Exec(request("a", "monitor", 10_000, 5_000)));
        assert_eq!(spawned(&out), [OpId(1)]);
        assert_eq!(
            completed(&ex.handle(at(t0, 10), exited(OpId(1), 0))).len(),
            1
        );
        assert_eq!(ex.next_deadline(), Some(at(t0, 10_010)));
        let out = ex.handle(at(t0, 10_010), Input::Tick);
        assert_eq!(spawned(&out), [OpId(1)]);
        assert!(completed(&ex.handle(at(t0, 10_020), exited(OpId(1), 0))).is_empty());
        ex.handle(at(t0, 20_020), Input::Tick);
        let results = completed(&ex.handle(at(t0, 20_030), exited(OpId(1), 7)));
        assert_eq!(results[0].rc, Some(7), "a change is reported at once");
        assert_eq!(results[0].failure, None);
    }

    #[test]
    fn repeated_recurring_results_do_not_ask_for_a_save() {
        let t0 = t0();
        let mut ex = Executor::new(ExecutorConfig::default(), t0);
        ex.handle(t0, Input::Exec(request("a", "monitor", 1_000, 500)));
        assert!(
            ex.handle(at(t0, 1), exited(OpId(1), 0))
                .contains(&Output::StateChanged)
        );
        ex.handle(at(t0, 1_001), Input::Tick);
        assert!(
            !ex.handle(at(t0, 1_002), exited(OpId(1), 0))
                .contains(&Output::StateChanged)
        );
        ex.handle(at(t0, 2_002), Input::Tick);
        assert!(
            ex.handle(at(t0, 2_003), exited(OpId(1), 7))
                .contains(&Output::StateChanged)
        );
    }

    #[test]
    fn cancelled_recurring_op_stops_and_its_running_instance_is_not_reported() {
        let t0 = t0();
        let mut ex = Executor::new(ExecutorConfig::default(), t0);
        ex.handle(t0, Input::Exec(request("a", "monitor", 10_000, 5_000)));
        let out = ex.handle(
            at(t0, 1),
            Input::Cancel {
                resource: "a".into(),
                action: "monitor".into(),
                interval_ms: 10_000,
                client: 3,
            },
        );
        let results = completed(&out);
        assert_eq!(
            (results[0].status, results[0].client),
            (ExecStatus::Cancelled, 3)
        );
        assert!(completed(&ex.handle(at(t0, 2), exited(OpId(1), 0))).is_empty());
        assert_eq!(ex.next_deadline(), None);
        let again = ex.handle(
            at(t0, 3),
            Input::Cancel {
                resource: "a".into(),
                action: "monitor".into(),
                interval_ms: 10_000,
                client: 3,
            },
        );
        assert_eq!(
            again,
            [Output::Rejected {
                client: 3,
                reason: RejectReason::NothingToCancel
            }]
        );
    }

    #[test]
    fn running_ops_are_bounded_and_the_rest_start_as_others_end() {
        let t0 = t0();
        let config = ExecutorConfig {
            running_max: 2,
            ..ExecutorConfig::default()
        };
        let mut ex = Executor::new(config, t0);
        let mut started = Vec::new();
        for name in ["a", "b", "c"] {
            started.extend(spawned(
                &ex.handle(t0, Input::Exec(request(name, "start", 0, 1_000))),
            ));
        }
        assert_eq!(started, [OpId(1), OpId(2)]);
        assert_eq!(ex.status().queued, 1);
        assert_eq!(spawned(&ex.handle(t0, exited(OpId(1), 0))), [OpId(3)]);
    }

    #[test]
    fn queues_are_bounded() {
        let t0 = t0();
        let config = ExecutorConfig {
            pending_per_resource_max: 2,
            pending_total_max: 4,
            ..ExecutorConfig::default()
        };
        let mut ex = Executor::new(config, t0);
        for _ in 0..3 {
            ex.handle(t0, Input::Exec(request("a", "monitor", 0, 1_000)));
        }
        let out = ex.handle(t0, Input::Exec(request("a", "monitor", 0, 1_000)));
        assert_eq!(
            out,
            [Output::Rejected {
                client: 9,
                reason: RejectReason::ResourceQueueFull
            }]
        );
        ex.handle(t0, Input::Exec(request("b", "start", 0, 1_000)));
        let out = ex.handle(t0, Input::Exec(request("c", "start", 0, 1_000)));
        assert_eq!(
            out,
            [Output::Rejected {
                client: 9,
                reason: RejectReason::ExecutorFull
            }]
        );
        assert_eq!(ex.status().rejected, 2);
    }

    #[test]
    fn start_tracks_its_group_and_successful_stop_kills_survivors() {
        let t0 = t0();
        let mut ex = Executor::new(ExecutorConfig::default(), t0);
        ex.handle(t0, Input::Exec(request("web", "start", 0, 1_000)));
        ex.handle(at(t0, 1), exited(OpId(1), 0));
        assert_eq!(ex.resources()["web"].tracked_groups, [101]);
        let out = ex.handle(at(t0, 2), Input::Exec(request("web", "stop", 0, 1_000)));
        match &out[..] {
            [
                Output::Spawn { tracked_groups, .. },
                Output::Accepted { .. },
            ]
            | [
                Output::Accepted { .. },
                Output::Spawn { tracked_groups, .. },
            ] => {
                assert_eq!(tracked_groups, &[101])
            }
            other => panic!("unexpected {other:?}"),
        }
        let out = ex.handle(at(t0, 3), exited(OpId(2), 0));
        assert!(out.contains(&Output::KillGroups {
            resource: "web".into(),
            groups: vec![101],
            signal: KillSignal::Term
        }));
        assert_eq!(ex.next_deadline(), Some(at(t0, 5_003)));
        let out = ex.handle(at(t0, 5_003), Input::Tick);
        assert_eq!(
            out,
            [Output::KillGroups {
                resource: "web".into(),
                groups: vec![101],
                signal: KillSignal::Kill
            }]
        );
        assert!(ex.resources()["web"].tracked_groups.is_empty());
    }

    #[test]
    fn failed_stop_keeps_tracked_processes() {
        let t0 = t0();
        let mut ex = Executor::new(ExecutorConfig::default(), t0);
        ex.handle(t0, Input::Exec(request("web", "start", 0, 1_000)));
        ex.handle(at(t0, 1), exited(OpId(1), 0));
        ex.handle(at(t0, 2), Input::Exec(request("web", "stop", 0, 1_000)));
        let out = ex.handle(at(t0, 3), exited(OpId(2), 1));
        assert!(!out.iter().any(|o| matches!(o, Output::KillGroups { .. })));
        assert_eq!(ex.resources()["web"].tracked_groups, [101]);
    }

    #[test]
    fn spawn_failure_and_foreign_signal_and_odd_codes_are_results() {
        let t0 = t0();
        let mut ex = Executor::new(ExecutorConfig::default(), t0);
        ex.handle(t0, Input::Exec(request("a", "start", 0, 1_000)));
        let out = ex.handle(
            t0,
            Input::SpawnFailed {
                op: OpId(1),
                error: "permission denied".into(),
                finished_at_ms: 0,
            },
        );
        assert_eq!(completed(&out)[0].status, ExecStatus::SpawnFailed);
        ex.handle(t0, Input::Exec(request("a", "start", 0, 1_000)));
        let signaled = Input::ChildExited {
            op: OpId(2),
            pgid: 5,
            status: ChildStatus::Signaled(11),
            output: CapturedOutput::default(),
            finished_at_ms: 0,
        };
        let result = &completed(&ex.handle(t0, signaled))[0];
        assert_eq!(
            (result.status, result.signal),
            (ExecStatus::Signaled, Some(11))
        );
        ex.handle(t0, Input::Exec(request("a", "start", 0, 1_000)));
        let result = &completed(&ex.handle(t0, exited(OpId(3), 42)))[0];
        assert_eq!(
            (result.rc, result.failure),
            (Some(42), Some(FailureKind::Soft))
        );
    }

    #[test]
    fn stale_exit_reports_are_ignored() {
        let t0 = t0();
        let mut ex = Executor::new(ExecutorConfig::default(), t0);
        assert!(ex.handle(t0, exited(OpId(77), 0)).is_empty());
    }

    #[test]
    fn history_keeps_the_last_result_per_action_and_interval() {
        let t0 = t0();
        let mut ex = Executor::new(ExecutorConfig::default(), t0);
        for (i, action) in ["start", "monitor", "start"].iter().enumerate() {
            ex.handle(t0, Input::Exec(request("a", action, 0, 1_000)));
            ex.handle(t0, exited(OpId(i as u64 + 1), 0));
        }
        let actions: Vec<String> = ex.resources()["a"]
            .history
            .iter()
            .map(|r| r.action.clone())
            .collect();
        assert_eq!(actions, ["monitor", "start"]);
    }

    #[test]
    fn snapshot_restores_tracking_history_and_recurring_ops() {
        let t0 = t0();
        let mut ex = Executor::new(ExecutorConfig::default(), t0);
        ex.handle(t0, Input::Exec(request("web", "start", 0, 1_000)));
        ex.handle(t0, exited(OpId(1), 0));
        ex.handle(t0, Input::Exec(request("web", "monitor", 10_000, 1_000)));
        let snapshot = ex.snapshot();
        let text = serde_json::to_string(&snapshot).unwrap();
        let back: Snapshot = serde_json::from_str(&text).unwrap();
        let t1 = at(t0, 60_000);
        let mut restored = Executor::restore(ExecutorConfig::default(), t1, back);
        assert_eq!(restored.resources()["web"].tracked_groups, [101]);
        assert_eq!(restored.next_deadline(), Some(t1));
        let out = restored.handle(t1, Input::Tick);
        assert_eq!(spawned(&out).len(), 1, "recurring monitor resumes");
        assert!(spawned(&out)[0].0 > 2, "op ids are not reused");
    }

    #[test]
    fn shutting_down_refuses_new_work_and_becomes_idle() {
        let t0 = t0();
        let mut ex = Executor::new(ExecutorConfig::default(), t0);
        ex.handle(t0, Input::Exec(request("a", "start", 0, 1_000)));
        ex.handle(t0, Input::Exec(request("a", "monitor", 10_000, 1_000)));
        ex.shut_down();
        assert!(!ex.is_idle());
        let out = ex.handle(t0, Input::Exec(request("b", "start", 0, 1_000)));
        assert_eq!(
            out,
            [Output::Rejected {
                client: 9,
                reason: RejectReason::ShuttingDown
            }]
        );
        ex.handle(t0, exited(OpId(1), 0));
        assert!(ex.is_idle());
    }

    #[test]
    fn forget_drops_recurring_ops_history_and_tracking() {
        let t0 = t0();
        let mut ex = Executor::new(ExecutorConfig::default(), t0);
        ex.handle(t0, Input::Exec(request("web", "start", 0, 1_000)));
        ex.handle(t0, exited(OpId(1), 0));
        ex.handle(t0, Input::Exec(request("web", "monitor", 10_000, 1_000)));
        ex.handle(t0, exited(OpId(2), 0));
        let out = ex.handle(
            t0,
            Input::Forget {
                resource: "web".into(),
            },
        );
        assert_eq!(out, [Output::StateChanged]);
        assert!(ex.resources().is_empty());
        assert_eq!(ex.next_deadline(), None, "no monitor left to run");
    }

    #[test]
    fn exit_reason_is_the_last_marked_stderr_line() {
        let stderr = "noise\nocf-exit-reason:first\nmore\nocf-exit-reason: IP address missing\n";
        assert_eq!(exit_reason(stderr).as_deref(), Some("IP address missing"));
        assert_eq!(exit_reason("plain failure"), None);
    }
}
