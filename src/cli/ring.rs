//! `ha-ring`: the mio shell around [`ring::Node`]: the UDP socket, the control socket
//! `$HA_RUN_DIR/ring.sock`, signals (SIGTERM/SIGINT leave the ring, SIGHUP reloads) and the
//! core's deadline. Protocol decisions all live in the core; this file only moves bytes.
//!
//! Control socket commands (JSON lines, see `crate::ipc`): `status`, `members`, `quorum`,
//! `subscribe`, `group_join {group}`, `group_leave {group}`, `group_send {group, data}`,
//! `reload`, `shutdown`. Events: `view`, `quorum`, `gather`, `group_view`, `group_message`.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, anyhow};
use clap::Parser;
use mio::net::{UdpSocket, UnixListener, UnixStream};
use mio::{Events, Interest, Poll, Token};
use nix::sys::signal::Signal;
use serde_json::{Value, json};

use super::{CliResult, Failure};
use crate::conf::authkey::AuthKey as ConfKey;
use crate::conf::identity;
use crate::conf::model::{Encryption, Logging};
use crate::conf::{self, HaConf};
use crate::ipc::{self, Connection, ErrorBody, PeerPolicy};
use crate::paths::Paths;
use crate::ring::cfgsync::{self, ConfigService, Facts, ServiceInput, ServiceOutput, Verdict};
use crate::ring::{
    AuthKey, GroupEvent, Input, Member, Node, Output, Request, RingConfig, RingEvent, RingId,
    Transport,
};
use crate::sys::log::Logger;
use crate::sys::signal::Signals;
use crate::sys::supervise::{self, Supervisor};

const UDP: Token = Token(0);
const LISTENER: Token = Token(1);
const SIGNALS: Token = Token(2);
const FIRST_CLIENT: usize = 16;
/// Upper bound on one poll, so a missed wake-up costs at most this much.
const MAX_POLL: Duration = Duration::from_secs(1);
/// With supervised children, how often exits are collected (no SIGCHLD wake-up).
const SUPERVISE_POLL: Duration = Duration::from_millis(200);
/// How long each supervised child gets to stop before SIGKILL. The controller uses it to move
/// the node's resources away, so it is longer than its own shutdown wait.
const CHILD_STOP_GRACE: Duration = Duration::from_secs(70);
/// After `Stopped`, how long the shell keeps flushing before it exits.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(200);
/// Most control clients at once; further connections are closed at once.
const MAX_CLIENTS: usize = 256;
/// At most one log line per drop reason per this interval.
const DROP_LOG_INTERVAL: Duration = Duration::from_secs(10);
/// Most datagram sources whose drops are counted one by one (the oldest is forgotten).
const MAX_DROP_SOURCES: usize = 64;
/// Longest a client may make a configuration exchange wait for the members.
const MAX_EXCHANGE_TIMEOUT: Duration = Duration::from_secs(60);

/// Cluster membership, ordered messaging and quorum daemon.
///
/// Reads $HA_CONF_DIR/ha.conf and the authkey, joins the ring and serves
/// $HA_RUN_DIR/ring.sock. Exit status: 0 stopped cleanly, 1 failed to start.
#[derive(Debug, Parser)]
#[command(name = "ha-ring", version)]
pub struct Args {
    /// Print JSON for scripts instead of text (start-up errors only).
    #[arg(long, global = true)]
    pub json: bool,

    /// Stay in the foreground (default: detach and write $HA_RUN_DIR/ring.pid).
    #[arg(short = 'f', long)]
    pub foreground: bool,

    /// This node's id, where several nodes share a machine (else found by address).
    #[arg(long, env = "HA_NODE_ID", value_name = "ID")]
    pub node_id: Option<u32>,
}

/// Everything the daemon derives from the configuration files.
struct Setup {
    config: RingConfig,
    /// The `logging` section.
    logging: Logging,
    /// Hex SHA-256 of the configuration text the setup was built from.
    config_sha256: String,
    /// `service { name: crm }` or `pacemaker`: run the executor and controller too.
    runs_crm: bool,
    key: AuthKey,
    fingerprint: Option<String>,
    bind: SocketAddr,
}

fn load_setup(paths: &Paths, node_id: Option<u32>, incarnation: u64) -> Result<Setup, Failure> {
    let path = paths.conf_file();
    let text = conf::read_text(&path).map_err(|e| Failure::failed(anyhow!("{e:#}")))?;
    setup_from_text(paths, &text, &path, node_id, incarnation)
}

/// Builds the setup from configuration text (read from `path`, or about to be written
/// there), reading the authkey and the local addresses. Changes nothing.
fn setup_from_text(
    paths: &Paths,
    text: &str,
    path: &std::path::Path,
    node_id: Option<u32>,
    incarnation: u64,
) -> Result<Setup, Failure> {
    let loaded = conf::parse_str(text, &path.display().to_string())
        .map_err(|e| Failure::failed(anyhow!("{:#}", conf::ConfError::Invalid(e))))?;
    let conf: HaConf = loaded.conf;
    let addresses = crate::sys::net::local_addresses().context("listing local addresses")?;
    let local = identity::local_node(&conf, node_id, &addresses)
        .map_err(|e| Failure::failed(anyhow!("{}: {e}", path.display())))?;
    let key_path = conf
        .totem
        .keyfile
        .clone()
        .unwrap_or_else(|| paths.authkey_file());
    let (key, fingerprint, encrypt) = match ConfKey::load(&key_path) {
        Ok(key) => {
            let encrypt = conf.totem.encryption() != Encryption::None;
            let fingerprint = key.fingerprint();
            let key = AuthKey::new(key.as_bytes().to_vec()).map_err(Failure::failed)?;
            (key, Some(fingerprint), encrypt)
        }
        Err(e) if conf.totem.allows_missing_key() => {
            let _ = e;
            // secauth off and no key: the HMAC still catches corruption, keyed from the
            // cluster name (public); the file said it wants no secrecy.
            let mut bytes = conf.totem.cluster_name.as_bytes().to_vec();
            bytes.resize(64, 0);
            (AuthKey::new(bytes).map_err(Failure::failed)?, None, false)
        }
        Err(e) => {
            return Err(Failure::failed(anyhow!("{e}")).with_hint(
                "create one with `ha-keygen`, or set `secauth: off` to run without a key",
            ));
        }
    };
    let config = RingConfig::from_conf(&conf, local.nodeid, local.address, encrypt, incarnation)
        .map_err(|e| Failure::failed(anyhow!("{}: {e}", path.display())))?;
    let bind = match config.transport {
        Transport::Udpu => SocketAddr::new(local.address, conf.port()),
        Transport::Udp { .. } => SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), conf.port()),
    };
    let runs_crm = conf
        .services
        .iter()
        .any(|s| s.name == "crm" || s.name == "pacemaker");
    Ok(Setup {
        config,
        logging: conf.logging.clone(),
        config_sha256: crate::ring::cfgsync::sha256_hex(text.as_bytes()),
        key,
        fingerprint,
        bind,
        runs_crm,
    })
}

/// Runs `ha-ring` with parsed arguments.
pub fn run(args: &Args) -> CliResult {
    let paths = Paths::from_env();
    let incarnation = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(1);
    let setup = load_setup(&paths, args.node_id, incarnation)?;
    let mut logger =
        Logger::open("ha-ring", &setup.logging).map_err(|e| Failure::failed(anyhow!("{e}")))?;
    if !args.foreground && !logger.has_persistent_output() {
        let _ = writeln!(
            io::stderr(),
            "ha-ring: warning: in the background with no log file and no syslog, log lines \
             are lost (set to_logfile: yes and logfile: PATH in the logging section of {})",
            paths.conf_file().display()
        );
    }
    std::fs::create_dir_all(&paths.run_dir)
        .with_context(|| format!("creating {}", paths.run_dir.display()))?;
    let socket_path = paths.ring_socket();
    if ipc::Client::connect(&socket_path, Duration::from_millis(200)).is_ok() {
        return Err(Failure::failed(anyhow!(
            "ha-ring is already running at {}",
            socket_path.display()
        )));
    }
    let std_socket = std::net::UdpSocket::bind(setup.bind)
        .with_context(|| format!("binding UDP {}", setup.bind))?;
    if let Transport::Udp {
        group: SocketAddr::V4(group),
    } = setup.config.transport
    {
        let interface = match setup
            .config
            .node(setup.config.local_id)
            .map(|n| n.addr.ip())
        {
            Some(IpAddr::V4(v4)) => v4,
            _ => Ipv4Addr::UNSPECIFIED,
        };
        std_socket
            .join_multicast_v4(group.ip(), &interface)
            .with_context(|| format!("joining multicast group {}", group.ip()))?;
    }
    grow_socket_buffers(&std_socket);
    std_socket
        .set_nonblocking(true)
        .context("setting the UDP socket non-blocking")?;
    let listener = ipc::bind_listener(&socket_path, None).map_err(Failure::failed)?;
    listener
        .set_nonblocking(true)
        .context("setting the control socket non-blocking")?;
    if !args.foreground {
        nix::unistd::daemon(true, false).context("detaching")?;
        logger.detach_stderr();
    }
    crate::sys::log::install(logger);
    let pid_file = paths.run_dir.join("ring.pid");
    crate::sys::fs::write_atomic(
        &pid_file,
        format!("{}\n", std::process::id()).as_bytes(),
        0o644,
    )
    .with_context(|| format!("writing {}", pid_file.display()))?;
    let result = Shell::start(&paths, args.node_id, setup, std_socket, listener)
        .and_then(|mut shell| shell.run());
    let _ = std::fs::remove_file(&socket_path);
    let _ = std::fs::remove_file(&pid_file);
    result
}

struct Client {
    conn: Connection<UnixStream>,
    subscribed: bool,
}

struct Shell {
    paths: PathsAndId,
    poll: Poll,
    node: Node,
    udp: UdpSocket,
    listener: UnixListener,
    signals: Signals,
    clients: BTreeMap<Token, Client>,
    next_client: usize,
    policy: PeerPolicy,
    fingerprint: Option<String>,
    group_views: BTreeMap<String, u64>,
    send_failures: u64,
    last_drop_log: BTreeMap<&'static str, Instant>,
    stop_at: Option<Instant>,
    supervisor: Option<Supervisor>,
    /// A shutdown was asked for: children are stopping, then the ring is left.
    leaving: bool,
    /// The core was told to leave the ring.
    leave_sent: bool,
    /// `ha-cfgtool sync` and `doctor` exchanges over the daemon's own process group.
    service: ConfigService,
    /// Hex SHA-256 of the configuration text running now.
    config_sha256: String,
    /// Names of every node seen in a configuration, for reports.
    names: BTreeMap<u32, String>,
    /// Node ids by nodelist address, to name the source of dropped datagrams.
    addresses: BTreeMap<IpAddr, u32>,
    /// Dropped datagrams per source address, so a node with another key is named.
    drops: BTreeMap<SocketAddr, SourceDrops>,
    /// Reused buffer for event lines written on the hot path.
    line: Vec<u8>,
}

/// Drops from one source address.
struct SourceDrops {
    counts: BTreeMap<&'static str, u64>,
    last_at: Instant,
}

struct PathsAndId {
    paths: Paths,
    node_id: Option<u32>,
    incarnation: u64,
}

impl Shell {
    fn start(
        paths: &Paths,
        node_id: Option<u32>,
        setup: Setup,
        std_socket: std::net::UdpSocket,
        std_listener: std::os::unix::net::UnixListener,
    ) -> Result<Shell, Failure> {
        let poll = Poll::new().context("creating poll")?;
        let signals = Signals::block(&[Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP])
            .context("blocking signals")?;
        signals
            .register(poll.registry(), SIGNALS)
            .context("registering signals")?;
        let mut udp = UdpSocket::from_std(std_socket);
        poll.registry()
            .register(&mut udp, UDP, Interest::READABLE)
            .context("registering UDP")?;
        let mut listener = UnixListener::from_std(std_listener);
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)
            .context("registering the control socket")?;
        let incarnation = setup.config.incarnation;
        let seed = incarnation ^ u64::from(setup.config.local_id).rotate_left(32);
        log(&format!(
            "node {} starting on {} (cluster {}, {} nodes, token {} ms, {})",
            setup.config.local_id,
            setup.bind,
            setup.config.cluster_name,
            setup.config.nodes.len(),
            setup.config.token_ms,
            if setup.config.encrypt {
                "encrypted"
            } else {
                "authenticated only"
            }
        ));
        let supervisor = if setup.runs_crm {
            let specs =
                supervise::crm_stack(&paths.run_dir).context("locating ha-lrmd and ha-crm")?;
            Some(Supervisor::new(specs))
        } else {
            None
        };
        let now = Instant::now();
        let service = ConfigService::new(
            setup.config.local_id,
            incarnation,
            Facts {
                version: env!("CARGO_PKG_VERSION").into(),
                key_fingerprint: setup.fingerprint.clone(),
                config_sha256: setup.config_sha256.clone(),
                cluster_name: setup.config.cluster_name.clone(),
            },
            now,
        );
        let names = setup
            .config
            .nodes
            .iter()
            .map(|n| (n.id, n.name.clone()))
            .collect();
        let addresses = node_addresses(&setup.config);
        let node = Node::new(setup.config, setup.key, seed, now);
        let mut shell = Shell {
            paths: PathsAndId {
                paths: paths.clone(),
                node_id,
                incarnation,
            },
            poll,
            node,
            udp,
            listener,
            signals,
            clients: BTreeMap::new(),
            next_client: FIRST_CLIENT,
            policy: PeerPolicy::system(),
            fingerprint: setup.fingerprint,
            group_views: BTreeMap::new(),
            send_failures: 0,
            last_drop_log: BTreeMap::new(),
            stop_at: None,
            supervisor,
            leaving: false,
            leave_sent: false,
            service,
            config_sha256: setup.config_sha256,
            names,
            addresses,
            drops: BTreeMap::new(),
            line: Vec::new(),
        };
        if let Some(supervisor) = shell.supervisor.as_mut() {
            for line in supervisor.start_all(Instant::now()) {
                log(&line);
            }
        }
        // Node::new already decided to gather; a tick sends the first joins.
        shell.feed(Input::Tick);
        shell.feed(Input::Request(Request::GroupJoin {
            client: cfgsync::SERVICE_CLIENT,
            group: cfgsync::GROUP.into(),
        }));
        Ok(shell)
    }

    fn run(&mut self) -> CliResult {
        let mut events = Events::with_capacity(256);
        let mut buffer = vec![0u8; 65_536];
        loop {
            let now = Instant::now();
            let timeout = self
                .node
                .next_deadline()
                .map(|at| at.saturating_duration_since(now))
                .unwrap_or(MAX_POLL)
                .min(MAX_POLL)
                .min(if self.supervisor.is_some() {
                    SUPERVISE_POLL
                } else {
                    MAX_POLL
                })
                .min(self.service_timeout(now));
            if let Err(e) = self.poll.poll(&mut events, Some(timeout))
                && e.kind() != io::ErrorKind::Interrupted
            {
                return Err(Failure::failed(anyhow!("poll failed: {e}")));
            }
            let ready: Vec<Token> = events.iter().map(|e| e.token()).collect();
            for token in ready {
                match token {
                    UDP => self.read_udp(&mut buffer),
                    LISTENER => self.accept(),
                    SIGNALS => self.read_signals(),
                    client => self.read_client(client),
                }
            }
            if self
                .node
                .next_deadline()
                .is_some_and(|at| at <= Instant::now())
            {
                self.feed(Input::Tick);
            }
            self.service_tick();
            self.supervise();
            self.flush_clients();
            if let Some(at) = self.stop_at
                && Instant::now() >= at
            {
                log("left the ring; stopped");
                return Ok(());
            }
        }
    }

    fn read_udp(&mut self, buffer: &mut [u8]) {
        // Bounded so a flood cannot starve the control socket and timers.
        for _ in 0..4096 {
            match self.udp.recv_from(buffer) {
                Ok((len, from)) => {
                    self.feed(Input::Datagram {
                        from,
                        bytes: &buffer[..len],
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    log(&format!("UDP receive failed: {e}"));
                    return;
                }
            }
        }
    }

    fn feed(&mut self, input: Input<'_>) -> Option<Result<(), String>> {
        let outputs = self.node.handle(Instant::now(), input);
        let mut reply = None;
        for output in outputs {
            match output {
                Output::Send { to, bytes } => {
                    if let Err(e) = self.udp.send_to(&bytes, to) {
                        self.send_failures += 1;
                        if self.send_failures.is_power_of_two() {
                            log(&format!(
                                "send to {to} failed ({} failures): {e}",
                                self.send_failures
                            ));
                        }
                    }
                    self.node.recycle(bytes);
                }
                Output::Event(event) => self.on_event(event),
                Output::Group { client, event } => self.on_group_event(client, event),
                Output::Reply(result) => reply = Some(result.map_err(|e| e.to_string())),
            }
        }
        reply
    }

    fn on_event(&mut self, event: RingEvent) {
        match &event {
            RingEvent::Delivered { .. } => return,
            RingEvent::Dropped { reason, from } => {
                let now = Instant::now();
                self.count_drop(*from, reason.name(), now);
                crate::sys::log::debug(&format!("dropped a datagram from {from}: {reason}"));
                let last = self.last_drop_log.get(reason.name());
                if last.is_none_or(|at| now.duration_since(*at) >= DROP_LOG_INTERVAL) {
                    self.last_drop_log.insert(reason.name(), now);
                    log(&format!("dropped a datagram from {from}: {reason}"));
                }
                return;
            }
            RingEvent::View {
                ring,
                members,
                joined,
                left,
                ..
            } => log(&format!(
                "ring {ring}: members {members:?} (joined {joined:?}, left {left:?})"
            )),
            RingEvent::Quorum(q) => log(&format!(
                "quorum: {} ({} of {} votes, {} needed)",
                if q.quorate { "quorate" } else { "not quorate" },
                q.total_votes,
                q.expected_votes,
                q.quorum
            )),
            RingEvent::Gather { reason } => log(&format!("forming a new ring: {reason:?}")),
            RingEvent::Stopped => self.stop_at = Some(Instant::now() + SHUTDOWN_GRACE),
        }
        for client in self.clients.values_mut().filter(|c| c.subscribed) {
            client.conn.send_event(&event);
        }
    }

    fn on_group_event(&mut self, client: u64, event: GroupEvent) {
        if client == cfgsync::SERVICE_CLIENT {
            if let GroupEvent::Message { from, data, .. } = event {
                self.serve(ServiceInput::Delivered {
                    from: from.node,
                    data: &data,
                });
            }
            return;
        }
        let token = Token(client as usize);
        let value = match event {
            GroupEvent::Message {
                group,
                from,
                ring,
                data,
            } => {
                // The hot path: serialised straight from the bytes, no `Value` in between.
                if let Some(c) = self.clients.get_mut(&token) {
                    self.line.clear();
                    group_message_line(&mut self.line, &group, from, ring, &data);
                    c.conn.send_event_line(&self.line);
                }
                self.node.recycle(data);
                return;
            }
            GroupEvent::Joined {
                group,
                member,
                members,
            }
            | GroupEvent::Left {
                group,
                member,
                members,
                ..
            } => {
                let view = self.group_views.entry(group.clone()).or_insert(0);
                *view += 1;
                let status = self.node.status();
                let name_of = |id: u32| {
                    status
                        .members
                        .iter()
                        .find(|m| m.id == id)
                        .map(|m| m.name.clone())
                        .unwrap_or_else(|| format!("node{id}"))
                };
                let members: Vec<Value> = members
                    .iter()
                    .map(|m| json!({ "node": m.node, "client": m.client, "name": name_of(m.node) }))
                    .collect();
                json!({
                    "type": "group_view",
                    "group": group,
                    "view": *view,
                    "changed": { "node": member.node, "client": member.client },
                    "members": members,
                })
            }
        };
        if let Some(c) = self.clients.get_mut(&token) {
            c.conn.send_event(&value);
        }
    }

    fn accept(&mut self) {
        let (streams, error) = ipc::accept_pending(&self.listener);
        for mut stream in streams {
            if self.clients.len() >= MAX_CLIENTS {
                continue; // dropped: closes the connection
            }
            let token = Token(self.next_client);
            self.next_client += 1;
            let interest = Interest::READABLE | Interest::WRITABLE;
            if self
                .poll
                .registry()
                .register(&mut stream, token, interest)
                .is_err()
            {
                continue;
            }
            let conn = Connection::accept(stream, &self.policy);
            self.clients.insert(
                token,
                Client {
                    conn,
                    subscribed: false,
                },
            );
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
        for mut request in requests {
            crate::sys::log::debug(&format!("client {}: request {}", token.0, request.cmd));
            if self.start_exchange(token, request.id, &request.cmd, &request.args) {
                continue;
            }
            let result = self.answer(token, &request.cmd, &mut request.args);
            if let Some(client) = self.clients.get_mut(&token) {
                client.conn.reply(request.id, &result);
            }
        }
    }

    fn answer(
        &mut self,
        token: Token,
        cmd: &str,
        args: &mut serde_json::Map<String, Value>,
    ) -> Result<Value, ErrorBody> {
        let client_id = token.0 as u64;
        let group = || {
            args.get("group")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| {
                    ErrorBody::new(ipc::code::BAD_ARGS, "missing string argument \"group\"")
                })
        };
        let core = |shell: &mut Shell, request: Request| match shell.feed(Input::Request(request)) {
            Some(Ok(())) | None => Ok(json!({})),
            Some(Err(message)) => Err(ErrorBody::new(ipc::code::FAILED, message)),
        };
        match cmd {
            "status" => Ok(self.status_value()),
            "members" => Ok(
                json!({ "node_id": self.node.status().node_id, "ring": self.node.status().ring, "members": self.node.status().members }),
            ),
            "quorum" => {
                let status = self.node.status();
                Ok(
                    json!({ "node_id": status.node_id, "ring": status.ring, "members": status.members.len(), "quorum": status.quorum }),
                )
            }
            "subscribe" => {
                if let Some(c) = self.clients.get_mut(&token) {
                    c.subscribed = true;
                    c.conn.send_event(&RingEvent::Quorum(self.node.quorum()));
                }
                Ok(json!({}))
            }
            "group_join" if group()?.starts_with(cfgsync::RESERVED_PREFIX) => Err(ErrorBody::new(
                ipc::code::BAD_ARGS,
                format!(
                    "group names starting with \"{}\" are reserved for ha-ring",
                    cfgsync::RESERVED_PREFIX
                ),
            )),
            "group_join" => core(
                self,
                Request::GroupJoin {
                    client: client_id,
                    group: group()?,
                },
            ),
            "group_leave" => core(
                self,
                Request::GroupLeave {
                    client: client_id,
                    group: group()?,
                },
            ),
            "group_send" => {
                let group = group()?;
                // Taken out of the request rather than copied: it is the bulk of the line.
                let Some(Value::String(data)) = args.remove("data") else {
                    return Err(ErrorBody::new(
                        ipc::code::BAD_ARGS,
                        "missing string argument \"data\"",
                    ));
                };
                core(
                    self,
                    Request::GroupSend {
                        client: client_id,
                        group,
                        data: data.into_bytes(),
                    },
                )
            }
            "reload" => self
                .reload()
                .map(|()| json!({}))
                .map_err(|message| ErrorBody::new(ipc::code::FAILED, message)),
            "shutdown" => {
                log("shutdown requested");
                self.begin_leaving();
                Ok(json!({}))
            }
            other => Err(ErrorBody::new(
                ipc::code::UNKNOWN_COMMAND,
                format!("unknown command \"{other}\""),
            )),
        }
    }

    fn status_value(&self) -> Value {
        let status = self.node.status();
        let local = status
            .members
            .iter()
            .find(|m| m.id == status.node_id)
            .and_then(|m| m.addr.clone());
        let faulty =
            status.phase != "operational" || self.send_failures > 0 && status.members.len() <= 1;
        let mut value = serde_json::to_value(&status).unwrap_or(Value::Null);
        if let Value::Object(map) = &mut value {
            map.insert(
                "interfaces".into(),
                json!([{
                    "ring": 0,
                    "address": local.or_else(|| self.udp.local_addr().ok().map(|a| a.to_string())),
                    "status": if faulty { format!("{} (ring not operational)", status.phase) } else { "active with no faults".into() },
                }]),
            );
            map.insert("key_fingerprint".into(), json!(self.fingerprint));
            map.insert("version".into(), json!(env!("CARGO_PKG_VERSION")));
            map.insert("send_failures".into(), json!(self.send_failures));
            map.insert("pid".into(), json!(std::process::id()));
            map.insert("config_sha256".into(), json!(self.config_sha256));
            map.insert(
                "config_file".into(),
                json!(self.paths.paths.conf_file().display().to_string()),
            );
            map.insert(
                "bound_address".into(),
                json!(self.udp.local_addr().ok().map(|a| a.to_string())),
            );
            map.insert("drops_by_source".into(), self.drops_value());
            map.insert("config_service".into(), json!(self.service.counters()));
            map.insert(
                "logfile".into(),
                json!(
                    crate::sys::log::with(|l| l.logfile().map(|p| p.display().to_string()))
                        .flatten()
                ),
            );
        }
        value
    }

    fn read_signals(&mut self) {
        for signal in self.signals.pending() {
            match signal {
                Signal::SIGHUP => {
                    let _ = self.answer(Token(0), "reload", &mut serde_json::Map::new());
                }
                _ => {
                    log(&format!("{signal:?}: leaving the ring"));
                    self.begin_leaving();
                }
            }
        }
    }

    /// The controller and executor stop first, while the ring still runs under them (the
    /// controller moves this node's resources away through it); then the node leaves.
    fn begin_leaving(&mut self) {
        self.leaving = true;
        if let Some(supervisor) = self.supervisor.as_mut() {
            supervisor.request_stop(Instant::now(), CHILD_STOP_GRACE);
        }
        self.supervise();
    }

    /// Collects and restarts children, advances a staged stop, and leaves the ring once
    /// the children are gone.
    fn supervise(&mut self) {
        if let Some(supervisor) = self.supervisor.as_mut() {
            let now = Instant::now();
            let mut lines = supervisor.reap(now);
            lines.extend(supervisor.tick(now));
            lines.extend(supervisor.advance_stop(now));
            for line in lines {
                log(&line);
            }
        }
        let children_gone = self.supervisor.as_ref().is_none_or(Supervisor::is_stopped);
        if self.leaving && children_gone && !self.leave_sent {
            self.leave_sent = true;
            if !self.node.is_stopped() {
                self.feed(Input::Request(Request::Shutdown));
            }
        }
    }

    fn flush_clients(&mut self) {
        let mut finished = Vec::new();
        for (token, client) in self.clients.iter_mut() {
            client.conn.flush();
            if client.conn.is_finished() {
                finished.push(*token);
            }
        }
        for token in finished {
            if let Some(mut client) = self.clients.remove(&token) {
                let _ = self.poll.registry().deregister(&mut client.conn.stream);
                self.feed(Input::Request(Request::ClientGone {
                    client: token.0 as u64,
                }));
            }
        }
    }
}

/// `ha-cfgtool sync` and `doctor`: the daemon's side of the configuration group, the reload
/// both use, and per-source drop counts.
impl Shell {
    /// Re-reads ha.conf and hands the ring its new nodelist and timeouts.
    fn reload(&mut self) -> Result<(), String> {
        let setup = load_setup(
            &self.paths.paths,
            self.paths.node_id,
            self.paths.incarnation,
        )
        .map_err(|failure| format!("{:#}", failure.error))?;
        log("reloading the configuration");
        if let Some(Err(e)) = crate::sys::log::with(|l| l.reconfigure(&setup.logging)) {
            log(&format!("logging settings kept: {e}"));
        }
        if self.names.len() > 4 * crate::ring::config::MAX_NODES {
            self.names.clear();
        }
        for node in &setup.config.nodes {
            self.names.insert(node.id, node.name.clone());
        }
        let cluster_name = setup.config.cluster_name.clone();
        self.addresses = node_addresses(&setup.config);
        if let Some(Err(e)) = self.feed(Input::Request(Request::Reload(Box::new(setup.config)))) {
            return Err(e);
        }
        self.config_sha256 = setup.config_sha256.clone();
        self.service.set_facts(Facts {
            version: env!("CARGO_PKG_VERSION").into(),
            key_fingerprint: self.fingerprint.clone(),
            config_sha256: setup.config_sha256,
            cluster_name,
        });
        Ok(())
    }

    /// Takes `config_sync {config, timeout_ms}` and `config_facts {timeout_ms}`, whose
    /// replies come once the members answered. Returns false for every other command.
    fn start_exchange(
        &mut self,
        token: Token,
        request: u64,
        cmd: &str,
        args: &serde_json::Map<String, Value>,
    ) -> bool {
        if cmd != "config_sync" && cmd != "config_facts" {
            return false;
        }
        let ticket = cfgsync::Ticket {
            client: token.0 as u64,
            request,
        };
        let timeout = args
            .get("timeout_ms")
            .and_then(Value::as_u64)
            .map_or(ipc::DEFAULT_TIMEOUT, Duration::from_millis)
            .min(MAX_EXCHANGE_TIMEOUT);
        let members: Vec<u32> = self.node.status().members.iter().map(|m| m.id).collect();
        let refuse = |shell: &mut Shell, code: &str, message: String| {
            if let Some(client) = shell.clients.get_mut(&token) {
                client
                    .conn
                    .reply(request, &Err(ErrorBody::new(code, message)));
            }
            true
        };
        if members.is_empty() {
            return refuse(
                self,
                ipc::code::UNAVAILABLE,
                "the ring has not formed yet; no member to ask".into(),
            );
        }
        let input = if cmd == "config_sync" {
            let Some(config) = args.get("config").and_then(Value::as_str) else {
                return refuse(
                    self,
                    ipc::code::BAD_ARGS,
                    "missing string argument \"config\"".into(),
                );
            };
            log(&format!("pushing the configuration to members {members:?}"));
            ServiceInput::Sync {
                ticket,
                config: config.to_string(),
                members,
                timeout,
            }
        } else {
            ServiceInput::Inquire {
                ticket,
                members,
                timeout,
            }
        };
        self.serve(input);
        true
    }

    fn service_timeout(&self, now: Instant) -> Duration {
        self.service
            .next_deadline()
            .map_or(MAX_POLL, |at| at.saturating_duration_since(now))
    }

    fn service_tick(&mut self) {
        if self
            .service
            .next_deadline()
            .is_some_and(|at| at <= Instant::now())
        {
            self.serve(ServiceInput::Tick);
        }
    }

    /// Feeds the configuration service and carries out what it asks.
    fn serve(&mut self, input: ServiceInput<'_>) {
        let outputs = self.service.handle(Instant::now(), input);
        for output in outputs {
            match output {
                ServiceOutput::Send { bytes, ticket } => {
                    let sent = self.feed(Input::Request(Request::GroupSend {
                        client: cfgsync::SERVICE_CLIENT,
                        group: cfgsync::GROUP.into(),
                        data: bytes,
                    }));
                    if let (Some(Err(reason)), Some(ticket)) = (sent, ticket) {
                        self.serve(ServiceInput::SendFailed { ticket, reason });
                    }
                }
                ServiceOutput::Check { id, config } => {
                    let verdict = self.check_offer(id.origin, &config);
                    log(&format!(
                        "configuration from node {}: {}",
                        id.origin,
                        match &verdict {
                            Verdict::Installed { .. } => "installed, reloading on commit".into(),
                            Verdict::Unchanged => "unchanged".into(),
                            Verdict::Rejected { reason } => format!("rejected: {reason}"),
                        }
                    ));
                    self.serve(ServiceInput::Checked { id, verdict });
                }
                ServiceOutput::Reload { id } => {
                    if let Err(e) = self.reload() {
                        log(&format!(
                            "reload after the sync from node {} failed: {e}",
                            id.origin
                        ));
                    }
                }
                ServiceOutput::Reply { ticket, report } => {
                    let result = match report {
                        Ok(report) => Ok(self.named(serde_json::to_value(&report))),
                        Err(message) => Err(ErrorBody::new(ipc::code::FAILED, message)),
                    };
                    if let Some(client) = self.clients.get_mut(&Token(ticket.client as usize)) {
                        client.conn.reply(ticket.request, &result);
                    }
                }
            }
        }
    }

    /// Adds each node's name to the lines of a report.
    fn named(&self, value: serde_json::Result<Value>) -> Value {
        let mut value = value.unwrap_or(Value::Null);
        if let Some(nodes) = value.get_mut("nodes").and_then(Value::as_array_mut) {
            for line in nodes {
                let name = line["node"]
                    .as_u64()
                    .and_then(|id| self.names.get(&(id as u32)).cloned());
                if let Value::Object(map) = line {
                    map.insert("name".into(), json!(name));
                }
            }
        }
        value
    }

    /// Checks an offered configuration and installs it (backup, atomic write), without
    /// reloading. Anything wrong leaves the file as it was.
    fn check_offer(&self, origin: u32, text: &str) -> Verdict {
        let reject = |reason: String| Verdict::Rejected { reason };
        let path = self.paths.paths.conf_file();
        let status = self.node.status();
        let local = status.node_id;
        let label = format!("configuration from node {origin}");
        let loaded = match conf::parse_str(text, &label) {
            Ok(loaded) => loaded,
            Err(rejected) => return reject(conf::ConfError::Invalid(rejected).to_string()),
        };
        if loaded.conf.totem.cluster_name != status.cluster_name {
            return reject(format!(
                "its cluster_name \"{}\" differs from this node's \"{}\"",
                loaded.conf.totem.cluster_name, status.cluster_name
            ));
        }
        if !loaded.conf.nodes.is_empty() && loaded.conf.node(local).is_none() {
            return reject(format!("it drops this node (id {local}) from the nodelist"));
        }
        match setup_from_text(
            &self.paths.paths,
            text,
            std::path::Path::new(&label),
            self.paths.node_id,
            self.paths.incarnation,
        ) {
            Err(failure) => return reject(format!("{:#}", failure.error)),
            Ok(setup) if setup.config.local_id != local => {
                return reject(format!(
                    "it makes this node id {} instead of {local}",
                    setup.config.local_id
                ));
            }
            Ok(_) => {}
        }
        let current = match std::fs::read(&path) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return reject(format!("cannot read {}: {e}", path.display())),
        };
        if current.as_deref() == Some(text.as_bytes()) {
            return Verdict::Unchanged;
        }
        let mut backup = None;
        if let Some(old) = current {
            let mut name = path.file_name().unwrap_or_default().to_os_string();
            name.push(".bak");
            let backup_path = path.with_file_name(name);
            if let Err(e) = crate::sys::fs::write_atomic(&backup_path, &old, 0o644) {
                return reject(format!(
                    "cannot save the previous configuration as {}: {e}; nothing changed",
                    backup_path.display()
                ));
            }
            backup = Some(backup_path.display().to_string());
        }
        if let Err(e) = crate::sys::fs::write_atomic(&path, text.as_bytes(), 0o644) {
            return reject(format!(
                "cannot write {}: {e}; configuration unchanged",
                path.display()
            ));
        }
        Verdict::Installed { backup }
    }

    fn count_drop(&mut self, from: SocketAddr, reason: &'static str, now: Instant) {
        if !self.drops.contains_key(&from)
            && self.drops.len() >= MAX_DROP_SOURCES
            && let Some(oldest) = self
                .drops
                .iter()
                .min_by_key(|(_, d)| d.last_at)
                .map(|(address, _)| *address)
        {
            self.drops.remove(&oldest);
        }
        let entry = self.drops.entry(from).or_insert_with(|| SourceDrops {
            counts: BTreeMap::new(),
            last_at: now,
        });
        *entry.counts.entry(reason).or_insert(0) += 1;
        entry.last_at = now;
    }

    /// `drops_by_source` in status: `[{"address":"127.0.0.3:5405","node":3|null,
    /// "name":"n3"|null,"counts":{"bad_mac":12},"last_ms_ago":350}]`; the node is the
    /// nodelist entry with that address, if any.
    fn drops_value(&self) -> Value {
        let now = Instant::now();
        let lines: Vec<Value> = self
            .drops
            .iter()
            .map(|(address, drops)| {
                let node = self.addresses.get(&address.ip()).copied();
                json!({
                    "address": address.to_string(),
                    "node": node,
                    "name": node.and_then(|id| self.names.get(&id)),
                    "counts": drops.counts,
                    "last_ms_ago": now.saturating_duration_since(drops.last_at).as_millis() as u64,
                })
            })
            .collect();
        Value::Array(lines)
    }
}

/// One `group_message` event line: `{"type":"group_message","group":"g","from":2,
/// "client":17,"ring":{"seq":4,"rep":1,"incarnation":7},"data":"..."}` and a newline.
/// `data` is the message as text (invalid UTF-8 replaced). Written by hand: this runs for
/// every message delivered to every local member, and the payload dominates the line.
fn group_message_line(line: &mut Vec<u8>, group: &str, from: Member, ring: RingId, data: &[u8]) {
    use std::io::Write as _;
    let text = match std::str::from_utf8(data) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(data),
    };
    line.reserve(text.len() + group.len() + 160);
    line.extend_from_slice(b"{\"type\":\"group_message\",\"group\":");
    push_json_string(line, group);
    let _ = write!(
        line,
        ",\"from\":{},\"client\":{},\"ring\":{{\"seq\":{},\"rep\":{},\"incarnation\":{}}},\"data\":",
        from.node, from.client, ring.seq, ring.rep, ring.incarnation
    );
    push_json_string(line, &text);
    line.extend_from_slice(b"}\n");
}

/// Appends `text` as a JSON string. Runs of bytes that need no escape are found eight at
/// a time and copied whole.
fn push_json_string(out: &mut Vec<u8>, text: &str) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // Non-zero when some byte of `word` is below `n` (n ≤ 128; exact as a filter).
    let has_below = |word: u64, n: u64| word.wrapping_sub(ONES * n) & !word & HIGHS;
    let has_byte = |word: u64, b: u8| has_below(word ^ (ONES * u64::from(b)), 1);
    let bytes = text.as_bytes();
    out.push(b'"');
    let mut plain_from = 0;
    let mut i = 0;
    while i < bytes.len() {
        if let Some(chunk) = bytes.get(i..i + 8) {
            let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
            if has_below(word, 0x20) | has_byte(word, b'"') | has_byte(word, b'\\') == 0 {
                i += 8;
                continue;
            }
        }
        let escape: &[u8] = match bytes[i] {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            b if b < 0x20 => {
                out.extend_from_slice(&bytes[plain_from..i]);
                let hex = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(hex[usize::from(b >> 4)]);
                out.push(hex[usize::from(b & 15)]);
                i += 1;
                plain_from = i;
                continue;
            }
            _ => {
                i += 1;
                continue;
            }
        };
        out.extend_from_slice(&bytes[plain_from..i]);
        out.extend_from_slice(escape);
        i += 1;
        plain_from = i;
    }
    out.extend_from_slice(&bytes[plain_from..]);
    out.push(b'"');
}

fn node_addresses(config: &RingConfig) -> BTreeMap<IpAddr, u32> {
    config.nodes.iter().map(|n| (n.addr.ip(), n.id)).collect()
}

fn log(line: &str) {
    crate::sys::log::info("ha-ring", line);
}

/// Socket buffer size asked for: a token visit may send `max_messages` datagrams to every
/// member at once, which the kernel's default (about 200 KiB) drops on the floor.
const UDP_BUFFER_BYTES: usize = 4 << 20;

/// Raises the UDP receive and send buffers (past `net.core.rmem_max` when running as root);
/// a refusal only costs retransmissions, so it is not an error.
fn grow_socket_buffers(socket: &std::net::UdpSocket) {
    use nix::sys::socket::{setsockopt, sockopt};
    if setsockopt(socket, sockopt::RcvBufForce, &UDP_BUFFER_BYTES).is_err() {
        let _ = setsockopt(socket, sockopt::RcvBuf, &UDP_BUFFER_BYTES);
    }
    if setsockopt(socket, sockopt::SndBufForce, &UDP_BUFFER_BYTES).is_err() {
        let _ = setsockopt(socket, sockopt::SndBuf, &UDP_BUFFER_BYTES);
    }
}

/// Where the pid file of a daemon started with these paths lives.
pub fn pid_file(paths: &Paths) -> PathBuf {
    paths.run_dir.join("ring.pid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_match_serde_json() {
        let samples = [
            "",
            "plain ascii text longer than one word",
            "quote \" and backslash \\ inside",
            "\"\"\"\"\"\"\"\"\"",
            "controls \u{0}\u{1}\u{8}\u{c}\n\r\t\u{1f}\u{7f} end",
            "unicode é ü 日本 🎉 and \\\"mixed\"",
            "{\"json\":\"inside\",\"n\":[1,2,3]}",
        ];
        for text in samples {
            let mut ours = Vec::new();
            push_json_string(&mut ours, text);
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                serde_json::to_string(text).unwrap(),
                "{text:?}"
            );
        }
        // Every single byte value and position within a word.
        for byte in 0u8..128 {
            for at in 0..10 {
                let mut text = "abcdefghij".to_string().into_bytes();
                text[at] = byte;
                let text = String::from_utf8(text).unwrap();
                let mut ours = Vec::new();
                push_json_string(&mut ours, &text);
                assert_eq!(
                    String::from_utf8(ours).unwrap(),
                    serde_json::to_string(&text).unwrap()
                );
            }
        }
    }

    #[test]
    fn group_message_lines_parse_back() {
        let ring = RingId {
            seq: 4,
            rep: 1,
            incarnation: 7,
        };
        let from = Member {
            node: 2,
            client: 17,
        };
        let mut line = Vec::new();
        group_message_line(&mut line, "g\"1", from, ring, b"da\"ta\n\xff");
        assert_eq!(line.last(), Some(&b'\n'));
        let value: Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(
            value,
            json!({"type": "group_message", "group": "g\"1", "from": 2, "client": 17,
                   "ring": {"seq": 4, "rep": 1, "incarnation": 7}, "data": "da\"ta\n\u{fffd}"})
        );
    }
}
