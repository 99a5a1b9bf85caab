//! `ha-crm daemon`: the mio shell around [`Controller`]. It owns the sockets (the ring's
//! process group, the local executor, the control socket), the clocks and the CIB file, and
//! hands everything else to the core.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::os::unix::net::UnixStream as StdUnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use mio::net::{UnixListener, UnixStream};
use mio::{Events, Interest, Poll, Token};
use nix::sys::signal::Signal;
use serde_json::{Value, json};

use super::{CliResult, Failure};
use crate::crm::cib::{OpRecord, ResourceHistory};
use crate::crm::controller::graph::ResourceOp;
use crate::crm::controller::message::CrmMessage;
use crate::crm::controller::{
    AdminReply, AdminRequest, ClientId, Controller, CrmEvent, Input, Member, Output, plan,
};
use crate::crm::group_link as ring_link;
use crate::crm::store::CibFile;
use crate::ipc::{self, Connection, ErrorBody, PeerPolicy, Upstream, UpstreamMessage};
use crate::paths::Paths;
use crate::sys::signal::Signals;

const LISTENER: Token = Token(0);
const RING: Token = Token(1);
const LRMD: Token = Token(2);
const SIGNALS: Token = Token(3);
const FIRST_CLIENT: usize = 16;
/// Most control clients at once; further connections are closed at once.
const MAX_CLIENTS: usize = 256;

/// How long start-up waits for the ring and the executor to answer.
const CONNECT_PATIENCE: Duration = Duration::from_secs(30);
/// The longest sleep between loop turns, so a stalled peer is noticed.
const MAX_POLL: Duration = Duration::from_secs(1);
/// How long SIGTERM waits for this node's resources to move away before leaving anyway.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(60);

/// `ha-crm daemon` arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct DaemonArgs {
    /// Stay in the foreground (for supervisors and debugging).
    #[arg(short = 'f', long)]
    pub foreground: bool,

    /// This node's id in ha.conf's nodelist (where several nodes share a machine).
    #[arg(long, env = "HA_NODE_ID", value_name = "ID")]
    pub node_id: Option<u32>,
}

/// The CIB file the controller keeps in the state directory.
pub fn cib_path(paths: &Paths) -> std::path::PathBuf {
    paths.state_dir.join("cib.json")
}

/// Runs the controller until SIGTERM.
pub fn run(args: &DaemonArgs, paths: &Paths) -> CliResult {
    if !args.foreground {
        return spawn_background(paths);
    }
    let local = local_member(paths, args.node_id)?;
    let store = CibFile::new(cib_path(paths));
    let stored = store
        .load_or_empty()
        .map_err(|e| anyhow!("reading the stored CIB {}: {e}", cib_path(paths).display()))?;
    // The scheduler runs on every change; its tables are reused memory, not new page faults.
    crate::sys::heap::keep_freed_memory();
    let mut shell = Shell::start(paths, local, stored, store)?;
    shell.run()
}

/// The node as the ring knows it: id from the configuration, name from the nodelist (else
/// the host name).
fn local_member(paths: &Paths, explicit: Option<u32>) -> Result<Member, Failure> {
    let loaded = crate::conf::load(&paths.conf_file())
        .with_context(|| format!("reading {}", paths.conf_file().display()))?;
    let addresses = crate::sys::net::local_addresses().context("listing local addresses")?;
    let node = crate::conf::identity::local_node(&loaded.conf, explicit, &addresses)
        .map_err(|e| anyhow!("{e}"))?;
    let name = match node.name {
        Some(name) => name,
        None => nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_else(|_| format!("node{}", node.nodeid)),
    };
    Ok(Member {
        id: node.nodeid,
        name,
    })
}

/// Starts `ha-crm daemon -f` detached and waits until its socket answers.
fn spawn_background(paths: &Paths) -> CliResult {
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe().context("finding the ha-crm executable")?;
    std::fs::create_dir_all(&paths.run_dir)
        .with_context(|| format!("creating {}", paths.run_dir.display()))?;
    let log_path = paths.run_dir.join("ha-crm.log");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("opening {}", log_path.display()))?;
    let child = std::process::Command::new(exe)
        .args(["daemon", "-f"])
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone().context("duplicating the log descriptor")?)
        .stderr(log)
        .process_group(0)
        .spawn()
        .context("starting ha-crm daemon")?;
    let socket = paths.crm_socket();
    let ready = crate::sys::clock::until(CONNECT_PATIENCE, Duration::from_millis(50), || {
        StdUnixStream::connect(&socket).is_ok()
    });
    if !ready {
        return Err(Failure::failed(anyhow!(
            "ha-crm daemon (pid {}) did not open {} within {} s; see {}",
            child.id(),
            socket.display(),
            CONNECT_PATIENCE.as_secs(),
            log_path.display()
        )));
    }
    println!("ha-crm daemon started (pid {})", child.id());
    Ok(())
}

/// A connected client and the requests it has waiting on the core.
struct Client {
    conn: Connection<UnixStream>,
    subscribed: bool,
}

struct Shell {
    poll: Poll,
    core: Controller,
    store: CibFile,
    listener: UnixListener,
    ring: ring_link::GroupLink,
    lrmd: Upstream<UnixStream>,
    signals: Signals,
    clients: BTreeMap<Token, Client>,
    next_client: usize,
    policy: PeerPolicy,
    /// Executor request ids of `resources`, answered once at start.
    history_request: Option<u64>,
    shutdown_at: Option<Instant>,
}

impl Shell {
    fn start(
        paths: &Paths,
        local: Member,
        stored: crate::crm::cib::Cib,
        store: CibFile,
    ) -> Result<Shell, Failure> {
        let poll = Poll::new().context("creating poll")?;
        let signals = Signals::block(&[Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP])
            .context("blocking signals")?;
        signals
            .register(poll.registry(), SIGNALS)
            .context("registering signals")?;

        let lrmd_stream = connect_with_patience(&paths.lrmd_socket(), "ha-lrmd")?;
        let mut lrmd = Upstream::new(lrmd_stream);
        poll.registry()
            .register(
                &mut lrmd.stream,
                LRMD,
                Interest::READABLE | Interest::WRITABLE,
            )
            .context("registering the executor connection")?;
        lrmd.send("subscribe", &Value::Null).map_err(ipc_failure)?;
        let history_request = Some(lrmd.send("resources", &Value::Null).map_err(ipc_failure)?);

        let ring_stream = connect_with_patience(&paths.ring_socket(), "ha-ring")?;
        let mut ring = ring_link::GroupLink::new(ring_stream, crate::crm::GROUP_NAME);
        poll.registry()
            .register(
                ring.stream_mut(),
                RING,
                Interest::READABLE | Interest::WRITABLE,
            )
            .context("registering the ring connection")?;
        ring.join().map_err(ipc_failure)?;

        let std_listener = ipc::bind_listener(&paths.crm_socket(), None).map_err(ipc_failure)?;
        let mut listener = UnixListener::from_std(std_listener);
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)
            .context("registering the control socket")?;

        let core = Controller::new(
            local.clone(),
            stored,
            Box::new(plan::schedule_plan),
            Instant::now(),
            wall_seconds(),
        );
        log(&format!(
            "controller for node {} (id {}) started",
            local.name, local.id
        ));
        Ok(Shell {
            poll,
            core,
            store,
            listener,
            ring,
            lrmd,
            signals,
            clients: BTreeMap::new(),
            next_client: FIRST_CLIENT,
            policy: PeerPolicy::system(),
            history_request,
            shutdown_at: None,
        })
    }

    fn run(&mut self) -> CliResult {
        let mut events = Events::with_capacity(256);
        loop {
            let timeout = self
                .core
                .next_deadline()
                .map(|at| at.saturating_duration_since(Instant::now()))
                .unwrap_or(MAX_POLL)
                .min(MAX_POLL);
            if let Err(e) = self.poll.poll(&mut events, Some(timeout))
                && e.kind() != io::ErrorKind::Interrupted
            {
                return Err(Failure::failed(anyhow!("poll failed: {e}")));
            }
            let ready: Vec<Token> = events.iter().map(|e| e.token()).collect();
            for token in ready {
                match token {
                    LISTENER => self.accept(),
                    RING => self.read_ring()?,
                    LRMD => self.read_lrmd()?,
                    SIGNALS => self.read_signals(),
                    client => self.read_client(client),
                }
            }
            if self
                .core
                .next_deadline()
                .is_some_and(|at| at <= Instant::now())
            {
                self.feed(Input::Tick);
            }
            self.flush_all();
            if let Some(at) = self.shutdown_at
                && Instant::now() >= at
            {
                log("controller stopped");
                return Ok(());
            }
        }
    }

    fn feed(&mut self, input: Input) {
        let outputs = self.core.handle(Instant::now(), wall_seconds(), input);
        for output in outputs {
            self.carry_out(output);
        }
    }

    fn carry_out(&mut self, output: Output) {
        match output {
            Output::Broadcast(message) => {
                if let Err(e) = self.ring.send(&message) {
                    log(&format!("cannot send to the ring: {e}"));
                }
            }
            Output::Execute { token, op } => {
                let args = exec_args(token, &op);
                if let Err(e) = self.lrmd.send("exec", &args) {
                    log(&format!(
                        "cannot send {} {} to ha-lrmd: {e}",
                        op.rsc, op.operation
                    ));
                }
            }
            Output::CancelRecurring {
                rsc,
                operation,
                interval_ms,
            } => {
                let args =
                    json!({ "resource": rsc, "action": operation, "interval_ms": interval_ms });
                if let Err(e) = self.lrmd.send("cancel", &args) {
                    log(&format!("cannot cancel {rsc} {operation}: {e}"));
                }
            }
            Output::Forget { rsc } => {
                if let Err(e) = self.lrmd.send("forget", &json!({ "resource": rsc })) {
                    log(&format!("cannot forget {rsc}: {e}"));
                }
            }
            Output::Persist(cib) => {
                if let Err(e) = self.store.store(&cib, None) {
                    log(&format!("cannot store the CIB: {e}"));
                }
            }
            Output::Reply { client, reply } => self.reply(client, reply),
            Output::Event(event) => self.publish(&event),
            Output::ShutdownComplete => {
                log("nothing runs here any more; leaving");
                self.shutdown_at = Some(Instant::now());
            }
        }
    }

    fn reply(&mut self, client: ClientId, reply: AdminReply) {
        let token = Token((client >> 32) as usize);
        let id = client & 0xffff_ffff;
        let Some(conn) = self.clients.get_mut(&token) else {
            return;
        };
        let result = match reply {
            AdminReply::Error { code, message } => {
                let code = if code == "not_ready" {
                    ipc::code::UNAVAILABLE.to_string()
                } else {
                    code
                };
                Err(ErrorBody { code, message })
            }
            AdminReply::Status(snapshot) => {
                Ok(serde_json::to_value(&snapshot).unwrap_or(Value::Null))
            }
            AdminReply::Committed { epoch } => Ok(json!({ "epoch": epoch })),
            AdminReply::Done => Ok(json!({})),
        };
        conn.conn.reply(id, &result);
    }

    fn publish(&mut self, event: &CrmEvent) {
        log(&describe(event));
        for client in self.clients.values_mut().filter(|c| c.subscribed) {
            client.conn.send_event(event);
        }
    }

    fn accept(&mut self) {
        let (streams, error) = ipc::accept_pending(&self.listener);
        for stream in streams {
            if self.clients.len() >= MAX_CLIENTS {
                log(&format!("refusing a connection: {MAX_CLIENTS} open"));
                continue;
            }
            let token = Token(self.next_client);
            self.next_client += 1;
            let mut conn = Connection::accept(stream, &self.policy);
            let interest = Interest::READABLE | Interest::WRITABLE;
            if self
                .poll
                .registry()
                .register(&mut conn.stream, token, interest)
                .is_ok()
            {
                self.clients.insert(
                    token,
                    Client {
                        conn,
                        subscribed: false,
                    },
                );
            }
        }
        if let Some(e) = error {
            log(&format!("accept failed: {e}"));
        }
    }

    fn read_client(&mut self, token: Token) {
        let Some(client) = self.clients.get_mut(&token) else {
            return;
        };
        let requests = client.conn.read_requests();
        for request in requests {
            let client_id = ((token.0 as u64) << 32) | (request.id & 0xffff_ffff);
            match request.cmd.as_str() {
                "status" => self.feed(Input::Admin {
                    client: client_id,
                    request: AdminRequest::Status,
                }),
                "cib" => {
                    let cib = serde_json::to_value(self.core.cib()).unwrap_or(Value::Null);
                    if let Some(client) = self.clients.get_mut(&token) {
                        client.conn.reply(request.id, &Ok(cib));
                    }
                }
                "subscribe" => {
                    if let Some(client) = self.clients.get_mut(&token) {
                        client.subscribed = true;
                        client.conn.reply(request.id, &Ok(json!({})));
                    }
                }
                "commit" | "cleanup" => {
                    let parsed = admin_request(&request.cmd, Value::Object(request.args.clone()));
                    match parsed {
                        Ok(admin) => self.feed(Input::Admin {
                            client: client_id,
                            request: admin,
                        }),
                        Err(message) => {
                            if let Some(client) = self.clients.get_mut(&token) {
                                let error = ErrorBody::new(ipc::code::BAD_ARGS, message);
                                client.conn.reply(request.id, &Err(error));
                            }
                        }
                    }
                }
                other => {
                    if let Some(client) = self.clients.get_mut(&token) {
                        let error = ErrorBody::new(
                            ipc::code::UNKNOWN_COMMAND,
                            format!(
                                "unknown command {other:?} (expected status, cib, commit, cleanup, subscribe)"
                            ),
                        );
                        client.conn.reply(request.id, &Err(error));
                    }
                }
            }
        }
    }

    fn read_ring(&mut self) -> CliResult {
        for event in self.ring.read() {
            match event {
                ring_link::GroupEvent::View { view, members } => {
                    let members = members
                        .into_iter()
                        .map(|(id, name)| Member { id, name })
                        .collect();
                    self.feed(Input::View { view, members });
                }
                ring_link::GroupEvent::Quorum { quorate } => self.feed(Input::Quorum { quorate }),
                ring_link::GroupEvent::RingMembers { nodes } => {
                    self.feed(Input::RingMembers { nodes })
                }
                ring_link::GroupEvent::Message { from, payload } => {
                    match serde_json::from_slice::<CrmMessage>(&payload) {
                        Ok(message) => self.feed(Input::Delivered { from, message }),
                        Err(e) => log(&format!(
                            "dropping an unreadable message from node {from}: {e}"
                        )),
                    }
                }
            }
        }
        if self.ring.is_broken() {
            return Err(Failure::unreachable(anyhow!(
                "lost the connection to ha-ring"
            )));
        }
        Ok(())
    }

    fn read_lrmd(&mut self) -> CliResult {
        for message in self.lrmd.read() {
            match message {
                UpstreamMessage::Reply { id, result } if Some(id) == self.history_request => {
                    self.history_request = None;
                    let history = result.map(|data| local_history(&data)).unwrap_or_default();
                    self.feed(Input::LocalHistory { history });
                }
                UpstreamMessage::Reply {
                    result: Err(error), ..
                } => {
                    log(&format!(
                        "ha-lrmd refused a request: {}: {}",
                        error.code, error.message
                    ));
                }
                UpstreamMessage::Reply { .. } => {}
                UpstreamMessage::Event(event) => {
                    if let Some(input) = op_done_input(&event) {
                        self.feed(input);
                    }
                }
            }
        }
        if self.lrmd.is_broken() {
            return Err(Failure::unreachable(anyhow!(
                "lost the connection to ha-lrmd"
            )));
        }
        Ok(())
    }

    fn read_signals(&mut self) {
        for signal in self.signals.pending() {
            match signal {
                Signal::SIGHUP => log("SIGHUP: nothing to reload (the CIB comes from the cluster)"),
                _ if self.shutdown_at.is_none() => {
                    log(&format!("{signal}: moving resources away, then stopping"));
                    self.shutdown_at = Some(Instant::now() + SHUTDOWN_GRACE);
                    self.feed(Input::Shutdown);
                }
                // A second signal means now.
                _ => self.shutdown_at = Some(Instant::now()),
            }
        }
    }

    fn flush_all(&mut self) {
        self.lrmd.flush();
        self.ring.flush();
        let mut finished = Vec::new();
        for (token, client) in &mut self.clients {
            client.conn.flush();
            if client.conn.is_finished() {
                finished.push(*token);
            }
        }
        for token in finished {
            if let Some(mut client) = self.clients.remove(&token) {
                let _ = self.poll.registry().deregister(&mut client.conn.stream);
            }
        }
    }
}

fn admin_request(cmd: &str, args: Value) -> Result<AdminRequest, String> {
    let mut object = match args {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    let body = Value::Object(std::mem::take(&mut object));
    let tagged = json!({ cmd: body });
    serde_json::from_value(tagged).map_err(|e| format!("bad {cmd} arguments: {e}"))
}

fn exec_args(token: u64, op: &ResourceOp) -> Value {
    let agent = match &op.provider {
        Some(provider) => format!("{}:{}:{}", op.class, provider, op.kind),
        None => format!("{}:{}", op.class, op.kind),
    };
    let params: serde_json::Map<String, Value> = op
        .params
        .iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
        .collect();
    let meta: serde_json::Map<String, Value> = op
        .meta
        .iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
        .collect();
    json!({
        "resource": op.rsc,
        "agent": agent,
        "action": op.operation,
        "params": params,
        "meta": meta,
        "interval_ms": op.interval_ms,
        "timeout_ms": op.timeout_ms,
        "token": token,
        "wait": false,
    })
}

/// An executor `op_result` event as the core's input; `None` for other events.
fn op_done_input(event: &Value) -> Option<Input> {
    if event.get("type").and_then(Value::as_str) != Some("op_result") {
        return None;
    }
    let token = event.get("client")?.as_u64()?;
    let status = event
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or("error");
    // Pacemaker's execution statuses: 0 done, 1 cancelled, 2 timed out, 4 error, 7 not installed.
    let op_status = match status {
        "done" => 0,
        "cancelled" => 1,
        "timeout" => 2,
        "spawn_failed" | "not_installed" => 7,
        _ => 4,
    };
    let rc = event
        .get("rc")
        .and_then(Value::as_i64)
        .map(|rc| rc as i32)
        .unwrap_or(1);
    let exit_reason = event
        .get("exit_reason")
        .and_then(Value::as_str)
        .map(str::to_string);
    let exec_time_ms = event
        .get("duration_ms")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let at = event
        .get("finished_at_ms")
        .and_then(Value::as_u64)
        .map(|ms| (ms / 1000) as i64)
        .unwrap_or_else(wall_seconds);
    Some(Input::OpDone {
        token,
        rc,
        op_status,
        exit_reason,
        exec_time_ms,
        at,
    })
}

/// The executor's `resources` answer as history records, oldest first, so a restarted
/// controller announces what really runs here.
fn local_history(data: &Value) -> Vec<ResourceHistory> {
    let Some(resources) = data.get("resources").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut call_id = 0;
    for (rsc, snapshot) in resources {
        let agent = snapshot
            .get("agent")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let mut parts = agent.splitn(3, ':');
        let class = parts.next().unwrap_or_default().to_string();
        let (provider, kind) = match (parts.next(), parts.next()) {
            (Some(provider), Some(kind)) => (Some(provider.to_string()), kind.to_string()),
            (Some(kind), None) => (None, kind.to_string()),
            _ => (None, String::new()),
        };
        let mut records: Vec<&Value> = snapshot
            .get("history")
            .and_then(Value::as_array)
            .map(|h| h.iter().collect())
            .unwrap_or_default();
        records.sort_by_key(|r| r.get("finished_at_ms").and_then(Value::as_u64).unwrap_or(0));
        let mut history = ResourceHistory {
            id: rsc.clone(),
            class,
            provider,
            kind,
            ops: Vec::new(),
        };
        for record in records {
            let operation = record
                .get("action")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let interval_ms = record
                .get("interval_ms")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            // Recurring monitors are left out: the scheduler then asks for them again and
            // this controller registers them under its own tokens (the executor replaces a
            // registration of the same op), so their results reach it after a restart.
            if interval_ms > 0
                || operation == "cancel"
                || record.get("status").and_then(Value::as_str) == Some("cancelled")
            {
                continue;
            }
            call_id += 1;
            let id = if interval_ms == 0 {
                format!("{rsc}_last_0")
            } else {
                format!("{rsc}_{operation}_{interval_ms}")
            };
            let at = record
                .get("finished_at_ms")
                .and_then(Value::as_u64)
                .map(|ms| (ms / 1000) as i64);
            let entry = OpRecord {
                id,
                operation: operation.to_string(),
                interval_ms,
                call_id,
                rc_code: record.get("rc").and_then(Value::as_i64).unwrap_or(1) as i32,
                op_status: if record.get("status").and_then(Value::as_str) == Some("done") {
                    0
                } else {
                    4
                },
                last_rc_change: at,
                last_run: at,
                exit_reason: record
                    .get("exit_reason")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                // The expected code, as the controller records it (a probe expects 7).
                transition_key: Some(format!(
                    "0:0:{}:hakit",
                    if operation == "monitor" { 7 } else { 0 }
                )),
                ..OpRecord::default()
            };
            match history.ops.iter_mut().find(|r| r.id == entry.id) {
                Some(existing) => *existing = entry,
                None => history.ops.push(entry),
            }
            // A stop ends recurring monitors.
            if operation == "stop" {
                history.ops.retain(|r| r.interval_ms == 0);
            }
        }
        out.push(history);
    }
    out
}

fn connect_with_patience(path: &Path, daemon: &str) -> Result<UnixStream, Failure> {
    let deadline = Instant::now() + CONNECT_PATIENCE;
    loop {
        match StdUnixStream::connect(path) {
            Ok(stream) => {
                stream
                    .set_nonblocking(true)
                    .context("making the socket non-blocking")?;
                return Ok(UnixStream::from_std(stream));
            }
            Err(e) if Instant::now() >= deadline => {
                return Err(Failure::unreachable(anyhow!(
                    "cannot reach {daemon} at {}: {e}",
                    path.display()
                ))
                .with_hint(format!("is {daemon} running?")));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

fn ipc_failure(error: ipc::Error) -> Failure {
    if error.is_unreachable() {
        Failure::unreachable(error)
    } else {
        Failure::failed(error)
    }
}

fn wall_seconds() -> i64 {
    crate::sys::clock::unix_seconds() as i64
}

fn log(line: &str) {
    let _ = writeln!(
        io::stderr().lock(),
        "ha-crm[{}]: {line}",
        std::process::id()
    );
}

fn describe(event: &CrmEvent) -> String {
    match event {
        CrmEvent::Synced { view, members, dc } => {
            let names: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
            format!("view {view}: members [{}], DC node {dc}", names.join(" "))
        }
        CrmEvent::CibConflict {
            kept_from,
            kept,
            dropped_from,
            dropped,
        } => format!(
            "CIB merge: kept node {kept_from}'s version {kept:?}, dropped node {dropped_from}'s {dropped:?}"
        ),
        CrmEvent::CibChanged { epoch } => format!("configuration changed (epoch {epoch})"),
        CrmEvent::TransitionStarted { id, actions } => {
            format!("transition {id}: {actions} actions")
        }
        CrmEvent::ActionSent {
            transition,
            key,
            node,
        } => {
            format!("transition {transition}: {key} on {node}")
        }
        CrmEvent::OpResult {
            node,
            rsc,
            operation,
            interval_ms,
            rc,
        } => {
            format!("result: {rsc} {operation} (interval {interval_ms} ms) on {node}: rc {rc}")
        }
        CrmEvent::TransitionDone { id, aborted } => {
            format!(
                "transition {id} {}",
                if *aborted { "aborted" } else { "complete" }
            )
        }
        CrmEvent::SchedulerError { message } => format!("scheduler error: {message}"),
    }
}
