//! `ha-lrmd daemon`: the control socket around the executor runtime.
//!
//! One mio loop (in [`Runtime`]) over the listener, client connections, child pipes and the
//! signalfd. Requests are decoded by [`crate::ipc`]; this file maps them to executor inputs
//! and results back to replies and `op_result` events. State (tracked processes, history,
//! recurring ops) is saved to `$HA_RUN_DIR/lrmd.json` and read back at start: it says what
//! runs on this machine now, so like a pid file it lives where a reboot empties it (a node
//! that kept it across a reboot would announce resources as running that died with it).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use mio::net::{UnixListener, UnixStream};
use mio::{Interest, Token};
use serde_json::Value;

use super::runtime::Runtime;
use super::{OpPlan, Setup, Verdict, load_snapshot, monitor_choice, prepare, save_snapshot};
use crate::cli::CliResult;
use crate::ipc::{self, Connection, ErrorBody, PeerPolicy, Request, code};
use crate::lrmd::agent::{self, Class, Implementation, MetaData, MonitorMethod, ResolvedAgent};
use crate::lrmd::executor::{
    ExecStatus, Executor, ExecutorConfig, Input, OpId, OpRequest, OpResult, Output,
};
use crate::lrmd::protocol::{
    Accepted, CancelArgs, ExecArgs, ForgetArgs, OpEvent, RaInfoArgs, RaListArgs, Resources, Status,
    cmd,
};

const LISTENER: Token = Token(1);
const FIRST_CLIENT: usize = 16;
/// Connections served at once; more are refused until some close.
const CLIENTS_MAX: usize = 256;
/// Agents whose meta-data is kept for parameter checks.
const META_CACHE_MAX: usize = 256;
/// Longest wait for running ops after SIGTERM.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(60);
/// Resources whose start parameters are remembered for a later stop without parameters.
const START_PARAMS_MAX: usize = 4096;
/// Least time between two state saves (a changed history is saved at most this late).
const SAVE_INTERVAL: Duration = Duration::from_secs(1);

/// What to do when an op ends.
enum Waiter {
    /// Reply to request `id` with the result.
    Reply { conn: Token, id: u64 },
    /// Meta-data arrived: check the parameters, then run the held request.
    ExecAfterMetaData {
        agent: Box<ResolvedAgent>,
        args: Box<ExecArgs>,
        conn: Token,
        id: u64,
    },
    /// Meta-data arrived: answer `ra_info`.
    InfoAfterMetaData {
        agent: Box<ResolvedAgent>,
        conn: Token,
        id: u64,
    },
}

struct Daemon {
    setup: Setup,
    runtime: Runtime,
    listener: UnixListener,
    socket_path: PathBuf,
    policy: PeerPolicy,
    conns: BTreeMap<Token, Connection<UnixStream>>,
    next_token: usize,
    subscribers: BTreeSet<Token>,
    waiters: HashMap<OpId, Waiter>,
    /// Ops the daemon runs for itself (meta-data): no events, resource forgotten after.
    internal: HashMap<OpId, String>,
    meta_cache: HashMap<String, MetaData>,
    /// Each resource's parameters at its last start: a stop that comes without parameters
    /// (the controller stopping a resource deleted from the configuration) runs with these,
    /// so the agent stops what it started instead of failing for a missing parameter.
    start_params: HashMap<String, BTreeMap<String, String>>,
    state_path: PathBuf,
    dirty: bool,
    last_save: Instant,
}

/// Runs the daemon until SIGTERM or SIGINT.
pub(super) fn serve(setup: &Setup) -> CliResult<Verdict> {
    let state_path = setup.paths.run_dir.join("lrmd.json");
    let snapshot = load_snapshot(&state_path);
    let executor = Executor::restore(ExecutorConfig::default(), Instant::now(), snapshot);
    let runtime = Runtime::new(executor, ExecutorConfig::default().kill_grace_ms)?;
    let socket_path = setup.paths.lrmd_socket();
    if let Some(dir) = socket_path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating run directory {}", dir.display()))?;
    }
    let std_listener = ipc::bind_listener(&socket_path, None)?;
    let mut listener = UnixListener::from_std(std_listener);
    runtime
        .registry()
        .register(&mut listener, LISTENER, Interest::READABLE)
        .context("registering the listener")?;
    let mut daemon = Daemon {
        setup: setup.clone(),
        runtime,
        listener,
        socket_path,
        policy: PeerPolicy::system(),
        conns: BTreeMap::new(),
        next_token: FIRST_CLIENT,
        subscribers: BTreeSet::new(),
        waiters: HashMap::new(),
        internal: HashMap::new(),
        meta_cache: HashMap::new(),
        start_params: HashMap::new(),
        state_path,
        dirty: false,
        last_save: Instant::now(),
    };
    eprintln!(
        "ha-lrmd: serving {} (pid {})",
        daemon.socket_path.display(),
        std::process::id()
    );
    let result = daemon.run();
    let _ = std::fs::remove_file(&daemon.socket_path);
    result.map(|()| Verdict::Success)
}

impl Daemon {
    fn run(&mut self) -> CliResult {
        let mut shutdown_since: Option<Instant> = None;
        loop {
            let turn = self.runtime.turn(Some(SAVE_INTERVAL))?;
            self.process(turn.outputs);
            for token in turn.ready {
                if token == LISTENER {
                    self.accept();
                } else {
                    self.serve_client(token);
                }
            }
            if turn.shutdown_requested && shutdown_since.is_none() {
                eprintln!("ha-lrmd: shutting down after running ops finish");
                // Saved first: the recurring ops must come back after a restart.
                self.save();
                self.runtime.executor.shut_down();
                shutdown_since = Some(Instant::now());
            }
            if let Some(since) = shutdown_since
                && (self.runtime.executor.is_idle() || since.elapsed() > SHUTDOWN_GRACE)
            {
                self.flush_all();
                self.save_tracking_only();
                return Ok(());
            }
            if self.dirty && self.last_save.elapsed() >= SAVE_INTERVAL && shutdown_since.is_none() {
                self.save();
            }
        }
    }

    fn save(&mut self) {
        save_snapshot(&self.state_path, &self.runtime.executor.snapshot());
        self.dirty = false;
        self.last_save = Instant::now();
    }

    /// After a shutdown the executor has no recurring ops; keep the saved ones and update
    /// only what the last ops changed.
    fn save_tracking_only(&mut self) {
        let mut saved = load_snapshot(&self.state_path);
        let now = self.runtime.executor.snapshot();
        saved.resources = now.resources;
        saved.next_op = now.next_op;
        save_snapshot(&self.state_path, &saved);
    }

    fn accept(&mut self) {
        let (streams, error) = ipc::accept_pending(&self.listener);
        for mut stream in streams {
            if self.conns.len() >= CLIENTS_MAX {
                eprintln!("ha-lrmd: warning: refusing connection: {CLIENTS_MAX} open");
                continue;
            }
            let token = Token(self.next_token);
            self.next_token += 1;
            let interest = Interest::READABLE | Interest::WRITABLE;
            if let Err(e) = self
                .runtime
                .registry()
                .register(&mut stream, token, interest)
            {
                eprintln!("ha-lrmd: warning: cannot register connection: {e}");
                continue;
            }
            let mut conn = Connection::accept(stream, &self.policy);
            conn.flush();
            self.conns.insert(token, conn);
            self.serve_client(token);
        }
        if let Some(e) = error {
            eprintln!("ha-lrmd: warning: accept failed: {e}");
        }
    }

    fn serve_client(&mut self, token: Token) {
        let requests = match self.conns.get_mut(&token) {
            Some(conn) => conn.read_requests(),
            None => return,
        };
        for request in requests {
            self.handle_request(token, request);
        }
        self.flush(token);
    }

    fn flush(&mut self, token: Token) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        conn.flush();
        if conn.is_finished() {
            let mut conn = self.conns.remove(&token).expect("present just above");
            let _ = self.runtime.registry().deregister(&mut conn.stream);
            self.subscribers.remove(&token);
        }
    }

    fn flush_all(&mut self) {
        let tokens: Vec<Token> = self.conns.keys().copied().collect();
        for token in tokens {
            self.flush(token);
        }
    }

    fn reply(&mut self, token: Token, id: u64, result: Result<Value, ErrorBody>) {
        if let Some(conn) = self.conns.get_mut(&token) {
            conn.reply(id, &result);
        }
        self.flush(token);
    }

    fn handle_request(&mut self, token: Token, request: Request) {
        let id = request.id;
        let args = Value::Object(request.args);
        let answer: Result<Option<Value>, ErrorBody> = match request.cmd.as_str() {
            cmd::EXEC => parse(args).and_then(|a| self.exec(token, id, a)),
            cmd::CANCEL => parse(args).and_then(|a| self.cancel(a)).map(Some),
            cmd::FORGET => parse::<ForgetArgs>(args).map(|a| {
                self.start_params.remove(&a.resource);
                let outputs = self.runtime.feed(Input::Forget {
                    resource: a.resource,
                });
                self.process(outputs);
                Some(Value::Null)
            }),
            cmd::RESOURCES => Ok(Some(to_value(&Resources {
                resources: self.runtime.executor.resources(),
            }))),
            cmd::STATUS => Ok(Some(to_value(&Status {
                pid: std::process::id(),
                executor: self.runtime.executor.status(),
                subscribers: self.subscribers.len(),
            }))),
            cmd::SUBSCRIBE => {
                self.subscribers.insert(token);
                Ok(Some(Value::Null))
            }
            cmd::RA_CLASSES => Ok(Some(to_value(
                &agent::classes(&self.setup.dirs)
                    .iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>(),
            ))),
            cmd::RA_PROVIDERS => Ok(Some(to_value(&agent::providers(&self.setup.dirs)))),
            cmd::RA_LIST => parse::<RaListArgs>(args).and_then(|a| {
                let class: Class = a.class.parse().map_err(failed)?;
                agent::list(&self.setup.dirs, class, a.provider.as_deref())
                    .map(|list| Some(to_value(&list)))
                    .map_err(failed)
            }),
            cmd::RA_INFO => parse::<RaInfoArgs>(args).and_then(|a| self.ra_info(token, id, &a)),
            other => Err(ErrorBody::new(
                code::UNKNOWN_COMMAND,
                format!("unknown command {other:?}"),
            )),
        };
        match answer {
            Ok(Some(value)) => self.reply(token, id, Ok(value)),
            Ok(None) => {} // Answered when an op ends.
            Err(error) => self.reply(token, id, Err(error)),
        }
    }

    fn resolve(&self, text: &str) -> Result<ResolvedAgent, ErrorBody> {
        let name: agent::AgentName = text.parse().map_err(failed)?;
        agent::resolve(&name, &self.setup.dirs).map_err(failed)
    }

    /// Meta-data known without running anything, or `None` for an OCF script not yet asked.
    fn known_meta_data(&self, agent: &ResolvedAgent) -> Result<Option<MetaData>, ErrorBody> {
        match (&agent.implementation, agent.name.class) {
            (Implementation::Builtin { builtin, .. }, _) => {
                agent::parse_meta_data(&builtin.meta_data())
                    .map(Some)
                    .map_err(failed)
            }
            (Implementation::Script { .. }, Class::Ocf) => {
                Ok(self.meta_cache.get(&agent.name.to_string()).cloned())
            }
            (_, _) => Ok(Some(agent::lsb_meta_data(
                &agent.name.kind,
                &super::read_lsb_info(agent).unwrap_or_default(),
            ))),
        }
    }

    fn exec(
        &mut self,
        token: Token,
        id: u64,
        mut args: ExecArgs,
    ) -> Result<Option<Value>, ErrorBody> {
        if args.resource.is_empty() || args.resource.len() > 256 {
            return Err(bad_args("resource must be 1 to 256 characters"));
        }
        match args.action.as_str() {
            "start"
                if self.start_params.len() < START_PARAMS_MAX
                    || self.start_params.contains_key(&args.resource) =>
            {
                self.start_params
                    .insert(args.resource.clone(), args.params.clone());
            }
            "stop" if args.params.is_empty() => {
                if let Some(params) = self.start_params.get(&args.resource) {
                    args.params = params.clone();
                }
            }
            _ => {}
        }
        if let Some(bad) = args.params.keys().find(|k| !agent::is_valid_param_name(k)) {
            let error = bad_args(format!("parameter name {bad:?} is not valid"));
            return Err(self.refuse(&args, ExecStatus::Invalid, error));
        }
        let agent = match self.resolve(&args.agent) {
            Ok(agent) => agent,
            Err(error) => return Err(self.refuse(&args, ExecStatus::NotInstalled, error)),
        };
        if args.action != "meta-data" && agent.name.class == Class::Ocf {
            let known = match self.known_meta_data(&agent) {
                Ok(known) => known,
                Err(error) => return Err(self.refuse(&args, ExecStatus::NotInstalled, error)),
            };
            match known {
                Some(meta) => {
                    if let Err(e) = meta.check_params(&agent.name, &args.params) {
                        return Err(self.refuse(&args, ExecStatus::Invalid, failed(e)));
                    }
                }
                None => {
                    let waiter = Waiter::ExecAfterMetaData {
                        agent: Box::new(agent.clone()),
                        args: Box::new(args),
                        conn: token,
                        id,
                    };
                    self.fetch_meta_data(&agent, waiter)?;
                    return Ok(None);
                }
            }
        }
        self.submit_exec(token, id, &agent, &args)
    }

    fn submit_exec(
        &mut self,
        token: Token,
        id: u64,
        agent: &ResolvedAgent,
        args: &ExecArgs,
    ) -> Result<Option<Value>, ErrorBody> {
        let (monitor, _) = monitor_choice(agent, &args.meta).map_err(failed)?;
        let timeout_ms = args.timeout_ms.unwrap_or(agent::DEFAULT_TIMEOUT_MS);
        let mut request = prepare(
            &self.setup,
            agent,
            &OpPlan {
                resource: &args.resource,
                action: &args.action,
                params: &args.params,
                meta: &args.meta,
                timeout_ms,
                interval_ms: args.interval_ms,
                monitor,
            },
        );
        request.client = args.token;
        let waits = args.wait && args.interval_ms == 0;
        let waiter = waits.then_some(Waiter::Reply { conn: token, id });
        let op = self.submit(request, waiter)?;
        Ok((!waits).then(|| to_value(&Accepted { op })))
    }

    /// Hands a request to the executor; the waiter is in place before any result is handled.
    fn submit(&mut self, request: OpRequest, waiter: Option<Waiter>) -> Result<OpId, ErrorBody> {
        let outputs = self.runtime.feed(Input::Exec(request));
        let accepted = outputs.iter().find_map(|o| match o {
            Output::Accepted { op, .. } => Some(Ok(*op)),
            Output::Rejected { reason, .. } => {
                Some(Err(ErrorBody::new(code::UNAVAILABLE, reason.to_string())))
            }
            _ => None,
        });
        let op = accepted.unwrap_or_else(|| {
            Err(ErrorBody::new(
                code::FAILED,
                "the executor did not take the op",
            ))
        })?;
        if let Some(waiter) = waiter {
            self.waiters.insert(op, waiter);
        }
        self.process(outputs);
        Ok(op)
    }

    fn fetch_meta_data(&mut self, agent: &ResolvedAgent, waiter: Waiter) -> Result<(), ErrorBody> {
        let resource = format!("meta-data:{}", agent.name);
        let no_params = BTreeMap::new();
        let request = prepare(
            &self.setup,
            agent,
            &OpPlan {
                resource: &resource,
                action: "meta-data",
                params: &no_params,
                meta: &no_params,
                timeout_ms: 10_000,
                interval_ms: 0,
                monitor: MonitorMethod::Agent,
            },
        );
        let op = self.submit(request, Some(waiter))?;
        self.internal.insert(op, resource);
        Ok(())
    }

    fn cancel(&mut self, args: CancelArgs) -> Result<Value, ErrorBody> {
        let outputs = self.runtime.feed(Input::Cancel {
            resource: args.resource,
            action: args.action,
            interval_ms: args.interval_ms,
            client: 0,
        });
        let refused = outputs.iter().find_map(|o| match o {
            Output::Rejected { reason, .. } => Some(reason.to_string()),
            _ => None,
        });
        self.process(outputs);
        match refused {
            Some(reason) => Err(ErrorBody::new(code::FAILED, reason)),
            None => Ok(Value::Null),
        }
    }

    fn ra_info(
        &mut self,
        token: Token,
        id: u64,
        args: &RaInfoArgs,
    ) -> Result<Option<Value>, ErrorBody> {
        let agent = self.resolve(&args.agent)?;
        match self.known_meta_data(&agent)? {
            Some(meta) => self.info_value(&agent, meta).map(Some),
            None => {
                let waiter = Waiter::InfoAfterMetaData {
                    agent: Box::new(agent.clone()),
                    conn: token,
                    id,
                };
                self.fetch_meta_data(&agent, waiter)?;
                Ok(None)
            }
        }
    }

    fn info_value(&self, agent: &ResolvedAgent, meta_data: MetaData) -> Result<Value, ErrorBody> {
        let (monitor, monitor_reason) = monitor_choice(agent, &BTreeMap::new()).map_err(failed)?;
        Ok(to_value(&super::AgentInfo {
            agent: agent.name.to_string(),
            implementation: agent.implementation.clone(),
            monitor,
            monitor_reason,
            meta_data,
        }))
    }

    /// A request refused before it became an op still gets an `op_result` (op 0), so a
    /// caller waiting on its token learns the outcome: rc 5 for a missing agent, rc 2 for
    /// parameters the agent does not take. Returns `error` for the reply.
    fn refuse(&mut self, args: &ExecArgs, status: ExecStatus, error: ErrorBody) -> ErrorBody {
        let rc = match status {
            ExecStatus::NotInstalled => agent::rc::NOT_INSTALLED,
            _ => agent::rc::ERR_ARGS,
        };
        let result = OpResult {
            op: OpId(0),
            client: args.token,
            resource: args.resource.clone(),
            agent: args.agent.clone(),
            action: args.action.clone(),
            interval_ms: args.interval_ms,
            status,
            rc: Some(rc),
            rc_text: Some(agent::rc_text(rc).to_string()),
            raw_rc: None,
            signal: None,
            failure: agent::failure_kind(&args.action, rc),
            exit_reason: Some(error.message.clone()),
            stdout: String::new(),
            stderr: String::new(),
            dropped_bytes: 0,
            duration_ms: 0,
            finished_at_ms: super::runtime::wall_ms(),
        };
        self.broadcast(&OpEvent::new(result));
        error
    }

    fn broadcast(&mut self, event: &OpEvent) {
        for token in self.subscribers.clone() {
            if let Some(conn) = self.conns.get_mut(&token) {
                conn.send_event(event);
            }
            self.flush(token);
        }
    }

    /// Carries out what the executor said: results to waiters and subscribers, state saves.
    fn process(&mut self, outputs: Vec<Output>) {
        for output in outputs {
            match output {
                Output::Completed(result) => self.completed(result),
                Output::StateChanged => self.dirty = true,
                Output::Accepted { .. } | Output::Rejected { .. } => {}
                Output::Spawn { .. } | Output::Kill { .. } | Output::KillGroups { .. } => {
                    unreachable!("the runtime carries out spawn and kill outputs")
                }
            }
        }
    }

    fn completed(&mut self, result: OpResult) {
        if let Some(resource) = self.internal.remove(&result.op) {
            let outputs = self.runtime.feed(Input::Forget { resource });
            self.process(outputs);
        } else {
            self.broadcast(&OpEvent::new(result.clone()));
        }
        let Some(waiter) = self.waiters.remove(&result.op) else {
            return;
        };
        match waiter {
            Waiter::Reply { conn, id } => self.reply(conn, id, Ok(to_value(&result))),
            Waiter::ExecAfterMetaData {
                agent,
                args,
                conn,
                id,
            } => {
                let answer = match self.learn_meta_data(&agent, &result) {
                    Err(error) => Err(self.refuse(&args, ExecStatus::NotInstalled, error)),
                    Ok(meta) => match meta.check_params(&agent.name, &args.params) {
                        Err(e) => Err(self.refuse(&args, ExecStatus::Invalid, failed(e))),
                        Ok(()) => self.submit_exec(conn, id, &agent, &args),
                    },
                };
                match answer {
                    Ok(Some(value)) => self.reply(conn, id, Ok(value)),
                    Ok(None) => {}
                    Err(error) => self.reply(conn, id, Err(error)),
                }
            }
            Waiter::InfoAfterMetaData { agent, conn, id } => {
                let answer = self
                    .learn_meta_data(&agent, &result)
                    .and_then(|meta| self.info_value(&agent, meta));
                self.reply(conn, id, answer);
            }
        }
    }

    fn learn_meta_data(
        &mut self,
        agent: &ResolvedAgent,
        result: &OpResult,
    ) -> Result<MetaData, ErrorBody> {
        if result.status != ExecStatus::Done || result.rc != Some(0) {
            return Err(ErrorBody::new(
                code::FAILED,
                format!(
                    "{} meta-data failed: {}",
                    agent.name,
                    super::summary_line(result)
                ),
            ));
        }
        let meta = agent::parse_meta_data(&result.stdout).map_err(failed)?;
        if self.meta_cache.len() >= META_CACHE_MAX {
            self.meta_cache.clear();
        }
        self.meta_cache.insert(agent.name.to_string(), meta.clone());
        Ok(meta)
    }
}

fn parse<T: serde::de::DeserializeOwned>(args: Value) -> Result<T, ErrorBody> {
    serde_json::from_value(args).map_err(|e| bad_args(e.to_string()))
}

fn to_value(value: &impl serde::Serialize) -> Value {
    serde_json::to_value(value).expect("protocol types serialise")
}

fn bad_args(message: impl Into<String>) -> ErrorBody {
    ErrorBody::new(code::BAD_ARGS, message)
}

fn failed(error: impl std::fmt::Display) -> ErrorBody {
    ErrorBody::new(code::FAILED, error.to_string())
}
