//! A local lab: N cluster nodes and a client on one machine, each in its own network
//! namespace, cabled to a bridge in a switch namespace. Nothing is added to the root
//! namespace's interfaces. Each node runs its stack in its own pid and mount namespace (so
//! `pkill` in a node's init script only sees that node) with its own `HA_*` directories.
//!
//! Everything made is recorded in `<base>/<name>/state.json` before or right after it is made
//! (see [`state`]); every fault verb and `down` acts on those records only: namespaces by the
//! names written there, processes by pid *and* start time, never by process name.
//!
//! Other tests use it like this (as root; see `tests/lab.rs`):
//!
//! ```no_run
//! use hakit::lab::{Lab, LabOptions, Member};
//! // In an integration test: Path::new(env!("CARGO_BIN_EXE_ha-ring")).parent().unwrap()
//! let bin_dir = std::path::Path::new("target/debug");
//! let options = match LabOptions::for_test("ring", 3, bin_dir) {
//!     Ok(options) => options,
//!     Err(why) => return eprintln!("skipped: {why}"),
//! };
//! let lab = Lab::up(&options, &mut |line| eprintln!("{line}")).unwrap();
//! let members = lab.wait_for(Member::Node(1), &["ha-cfgtool", "--json", "members"],
//!     std::time::Duration::from_secs(10), |out| out.success());
//! lab.down().unwrap(); // also done on drop, even when an assertion fails
//! ```
//!
//! Submodules [`topo`], [`gap`] and [`http`]'s parser are pure; this module does the I/O.

pub mod copies;
pub mod gap;
pub mod guide;
pub mod http;
pub mod peers;
pub mod run;
pub mod state;
pub mod topo;

use std::fmt;
use std::fs;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use nix::sys::signal::Signal;

use crate::lrmd::agent::ENV_RSC_TMP;
use crate::paths::{ENV_CONF_DIR, ENV_NODE_ID, ENV_RUN_DIR, ENV_STATE_DIR};
use crate::sys::clock as retry;
use crate::sys::netns::{self, netns_path};
use crate::sys::proc::{self, ProcessId};
pub use run::{Outcome, RunOutput, Typed};
use run::{last_words, piped, run_with_input};
pub use state::{LabState, NotStarted, ProcessRecord};
pub use topo::{LabName, Member, Topology};

/// Looks at every node of a lab for the pieces of the service (see [`copies`]); cheap to clone
/// into a sampling thread.
#[derive(Debug, Clone)]
pub struct PlacementProbe {
    topo: Topology,
    state_path: PathBuf,
    vip: Ipv4Addr,
    program: String,
}

impl PlacementProbe {
    /// Which nodes hold the VIP and run the server now; `at` is the caller's clock. A node
    /// the lab has crashed and not booted again counts for nothing: its interfaces keep
    /// their addresses, but a machine without power serves nothing (the state file says which
    /// nodes are down, read at each look).
    pub fn look(&self, at: Duration) -> copies::Placement {
        let crashed = LabState::load(&self.state_path)
            .map(|state| state.crashed)
            .unwrap_or_default();
        let mut placement = copies::Placement {
            at,
            vip: Vec::new(),
            service: Vec::new(),
        };
        for node in 1..=self.topo.nodes {
            let member = Member::Node(node);
            if crashed.contains(&member.name()) {
                continue;
            }
            let namespace = self.topo.namespace(member);
            let processes = proc::processes_in_netns(&netns_path(&namespace));
            if processes
                .iter()
                .any(|p| comm_matches(&proc::command_name(p.pid), &self.program))
            {
                placement.service.push(member.name());
            }
            let vip = self.vip;
            let holds_vip = netns::run_in(&namespace, move || {
                nix::ifaddrs::getifaddrs().is_ok_and(|mut all| {
                    all.any(|a| {
                        a.address
                            .and_then(|s| s.as_sockaddr_in().map(|s| s.ip()))
                            .is_some_and(|ip| ip == vip)
                    })
                })
            })
            .unwrap_or(false);
            if holds_vip {
                placement.vip.push(member.name());
            }
        }
        placement
    }
}

/// Where labs live unless told otherwise: `/run/ha-lab/<name>/`.
pub const DEFAULT_BASE_DIR: &str = "/run/ha-lab";
/// Environment variable naming a node for programs that print it (`gohttpd`).
pub const ENV_NODE_NAME: &str = "HA_NODE_NAME";
/// Environment variable pointing the executor at the node's LSB init scripts (the name
/// `ha-lrmd` reads).
pub const ENV_INIT_DIR: &str = "HA_INIT_DIR";
/// Environment variable naming the lab a process runs in.
pub const ENV_LAB: &str = "HA_LAB";
/// Port the example service listens on inside the lab.
pub const SERVICE_PORT: u16 = 80;
/// The example LSB init script, installed into each node's init.d as `gohttpd`.
pub const GOHTTPD_INIT_SCRIPT: &str = include_str!("../../examples/gohttpd.init");

/// Bound on each `ip` command and on waits for processes to appear or go.
const STEP_LIMIT: Duration = Duration::from_secs(5);
const POLL_STEP: Duration = Duration::from_millis(10);
/// How long a freshly started daemon must stay up to count as started.
const SETTLE: Duration = Duration::from_millis(400);

/// What went wrong in the lab library. Unless a variant says otherwise, the lab is left as
/// the state file describes it.
#[derive(Debug)]
pub enum LabError {
    /// A lab name outside `[a-z0-9-]`, too long or empty; nothing was done.
    BadName(String),
    /// A member name that is not `nodeN`, `N` or `client`; nothing was done.
    BadMember(String),
    /// A lab size outside 1..=32; nothing was done.
    BadSize(u8),
    /// A node number beyond the lab's size; nothing was done.
    NoSuchNode {
        /// Node asked for.
        node: u8,
        /// Nodes in the lab.
        nodes: u8,
    },
    /// Partition groups that overlap, are empty or fewer than two; nothing was done.
    BadPartition(String),
    /// Namespaces need root; nothing was done.
    NotRoot,
    /// A lab of that name already exists; it was left alone.
    Exists(String),
    /// No lab of that name.
    NotFound(String),
    /// A command the lab ran failed; the steps before it stay done (and recorded).
    Command {
        /// The command line.
        command: String,
        /// Its stderr, or why it could not run.
        message: String,
    },
    /// A file or directory operation failed.
    Io {
        /// What was being done.
        what: String,
        /// The OS error.
        source: io::Error,
    },
}

impl fmt::Display for LabError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LabError::BadName(name) => write!(
                f,
                "bad lab name {name:?} (expected 1-{} of a-z, 0-9, '-')",
                topo::MAX_NAME_LEN
            ),
            LabError::BadMember(text) => {
                write!(f, "bad node {text:?} (expected nodeN, N or client)")
            }
            LabError::BadSize(n) => {
                write!(f, "bad node count {n} (expected 1-{})", topo::MAX_NODES)
            }
            LabError::NoSuchNode { node, nodes } => {
                write!(f, "no node{node} in this lab (it has {nodes} node(s))")
            }
            LabError::BadPartition(why) => write!(f, "bad partition: {why}"),
            LabError::NotRoot => write!(f, "network namespaces need root"),
            LabError::Exists(name) => write!(f, "lab {name} already exists"),
            LabError::NotFound(name) => write!(f, "no lab named {name}"),
            LabError::Command { command, message } => write!(f, "`{command}` failed: {message}"),
            LabError::Io { what, source } => write!(f, "{what}: {source}"),
        }
    }
}

impl std::error::Error for LabError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LabError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

fn io_error(what: impl Into<String>) -> impl FnOnce(io::Error) -> LabError {
    let what = what.into();
    move |source| LabError::Io { what, source }
}

/// How to build a lab.
#[derive(Debug, Clone)]
pub struct LabOptions {
    /// Lab name, prefix of every namespace (use the test's pid in tests).
    pub name: LabName,
    /// Number of nodes (1..=32).
    pub nodes: u8,
    /// First three octets of the lab's /24.
    pub subnet: [u8; 3],
    /// Parent of the lab directory.
    pub base_dir: PathBuf,
    /// Directory holding the hakit binaries (`ha-lab`, `ha-ring`, ...).
    pub bin_dir: PathBuf,
    /// The example server binary to install on each node, if built.
    pub gohttpd: Option<PathBuf>,
    /// Whether to write the config, make and sync the key and start the stacks; without it
    /// only the network and directories are made.
    pub start_stack: bool,
    /// Daemon command lines each node's init starts (program names are looked up in
    /// `bin_dir` first). Default: [`DEFAULT_DAEMONS`].
    pub daemons: Vec<String>,
}

/// What a node runs by default: `ha-ring` in the foreground under the node's init. The lab's
/// ha.conf names the `pacemaker` service, so the ring starts and supervises `ha-lrmd` and the
/// controller itself.
pub const DEFAULT_DAEMONS: &[&str] = &["ha-ring -f"];

impl LabOptions {
    /// Defaults: the guide's subnet, `/run/ha-lab`, binaries beside the running program,
    /// stacks started.
    pub fn new(name: LabName, nodes: u8) -> LabOptions {
        let bin_dir = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(Path::to_path_buf))
            .unwrap_or_default();
        LabOptions {
            name,
            nodes,
            subnet: topo::DEFAULT_SUBNET,
            base_dir: DEFAULT_BASE_DIR.into(),
            gohttpd: find_gohttpd(&bin_dir),
            bin_dir,
            start_stack: true,
            daemons: DEFAULT_DAEMONS.iter().map(|d| d.to_string()).collect(),
        }
    }
}

impl LabOptions {
    /// Options for a test: a lab named `<tag><pid>` (unique across parallel test binaries)
    /// under the system temp directory, binaries from `bin_dir` (the directory of
    /// `env!("CARGO_BIN_EXE_ha-ring")`), stacks started. Fails with [`LabError::NotRoot`] or
    /// the `ip` error when this machine cannot run labs, so the test can say why it skips.
    pub fn for_test(tag: &str, nodes: u8, bin_dir: &Path) -> Result<LabOptions, LabError> {
        check_host()?;
        let name: LabName = format!("{tag}{}", std::process::id()).parse()?;
        let mut options = LabOptions::new(name, nodes);
        options.base_dir = std::env::temp_dir().join("ha-lab-tests");
        options.bin_dir = bin_dir.to_path_buf();
        options.gohttpd = find_gohttpd(bin_dir);
        Ok(options)
    }
}

/// Where `cargo build --example gohttpd` puts the example beside the binaries, if it is there.
pub fn find_gohttpd(bin_dir: &Path) -> Option<PathBuf> {
    [bin_dir.join("examples/gohttpd"), bin_dir.join("gohttpd")]
        .into_iter()
        .find(|p| p.is_file())
}

/// A node's directories, as its daemons see them through `HA_*` variables.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NodeDirs {
    /// `HA_CONF_DIR`: ha.conf and authkey.
    pub conf: PathBuf,
    /// `HA_STATE_DIR`.
    pub state: PathBuf,
    /// `HA_RUN_DIR`: sockets.
    pub run: PathBuf,
    /// `HA_INIT_DIR`: LSB init scripts (the example's `gohttpd`).
    pub initd: PathBuf,
    /// Programs installed on the node (the example server).
    pub bin: PathBuf,
    /// Daemon logs.
    pub log: PathBuf,
}

impl NodeDirs {
    /// `HA_RSCTMP`: the agents' own pid and state files, emptied with the run dir at boot.
    pub fn agents_tmp(&self) -> PathBuf {
        self.run.join("resource-agents")
    }
}

/// A daemon of a node's stack, as seen by `status`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProcessView {
    /// Pid in the root namespace.
    pub pid: i32,
    /// Short command name.
    pub name: String,
}

/// One member in `ha-lab status`.
///
/// ```json
/// {"member":"node1","namespace":"hakit-node1","address":"192.168.2.101","namespace_exists":true,
///  "link":"up","bridge":"br0","stack_alive":true,"processes":[{"pid":4242,"name":"ha-ring"}]}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MemberStatus {
    /// `node1` ... or `client`.
    pub member: String,
    /// Its network namespace.
    pub namespace: String,
    /// Its address in the lab.
    pub address: Ipv4Addr,
    /// Whether the namespace exists.
    pub namespace_exists: bool,
    /// Switch port state: `up`, `down` (cut) or `missing`.
    pub link: String,
    /// Bridge its port is on (`br0` unless partitioned), null when missing.
    pub bridge: Option<String>,
    /// Whether the node's pid namespace holder still runs (always false for the client).
    pub stack_alive: bool,
    /// Live processes in its network namespace.
    pub processes: Vec<ProcessView>,
}

/// `ha-lab status`.
///
/// ```json
/// {"name":"hakit","dir":"/run/ha-lab/hakit","nodes":2,"vip":"192.168.2.100","created_at":"...",
///  "members":[...],"partition":[],"not_started":[],"notes":[]}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LabStatus {
    /// Lab name.
    pub name: String,
    /// Lab directory.
    pub dir: PathBuf,
    /// Node count.
    pub nodes: u8,
    /// The virtual IP reserved for the service.
    pub vip: Ipv4Addr,
    /// When it was made.
    pub created_at: String,
    /// Nodes, then the client.
    pub members: Vec<MemberStatus>,
    /// Partition groups, empty when whole.
    pub partition: Vec<Vec<String>>,
    /// Daemons not started and why.
    pub not_started: Vec<NotStarted>,
    /// Skipped steps.
    pub notes: Vec<String>,
}

/// What `down` removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DownReport {
    /// Processes killed.
    pub killed: Vec<i32>,
    /// Namespaces deleted.
    pub namespaces: Vec<String>,
    /// Whether the lab directory was removed.
    pub removed_dir: bool,
}

/// A lab that exists (made by [`Lab::up`] or found by [`Lab::open`]). Dropping a lab made by
/// `up` in this process tears it down; one found by `open` is left running.
#[derive(Debug)]
pub struct Lab {
    topo: Topology,
    dir: PathBuf,
    bin_dir: PathBuf,
    state: LabState,
    children: Vec<Child>,
    owned: bool,
}

/// Runs `ip ARGS`, bounded, and returns its stdout.
fn ip(args: &[String]) -> Result<String, LabError> {
    run_bounded(Command::new("ip").args(args))
}

fn run_bounded(command: &mut Command) -> Result<String, LabError> {
    let shown = format!("{command:?}").replace('"', "");
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| LabError::Command {
            command: shown.clone(),
            message: e.to_string(),
        })?;
    let finished = retry::until(STEP_LIMIT, POLL_STEP, || {
        matches!(child.try_wait(), Ok(Some(_)) | Err(_))
    });
    if !finished {
        let _ = child.kill();
    }
    let output = child.wait_with_output().map_err(|e| LabError::Command {
        command: shown.clone(),
        message: e.to_string(),
    })?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr).trim().to_string();
        Err(LabError::Command {
            command: shown,
            message: if finished {
                stderr
            } else {
                format!("no answer within {} s", STEP_LIMIT.as_secs())
            },
        })
    }
}

fn lab_dir(base_dir: &Path, name: &LabName) -> PathBuf {
    base_dir.join(name.as_str())
}

fn state_path(dir: &Path) -> PathBuf {
    dir.join("state.json")
}

fn namespace_exists(name: &str) -> bool {
    netns_path(name).exists()
}

/// Whether this process may make namespaces (root) and `ip netns` works here.
pub fn check_host() -> Result<(), LabError> {
    if !nix::unistd::geteuid().is_root() {
        return Err(LabError::NotRoot);
    }
    ip(&["netns".into(), "list".into()]).map(|_| ())
}

impl Lab {
    /// Builds the lab: namespaces and cabling, per-node directories, then (with
    /// `start_stack`) the config on node1, the key, the sync to the other nodes and each
    /// node's stack. `progress` gets one line per step, phrased for people. Fails if a lab of
    /// that name exists; a failure half-way leaves a recorded lab that `down` removes.
    pub fn up(options: &LabOptions, progress: &mut dyn FnMut(&str)) -> Result<Lab, LabError> {
        check_host()?;
        let topo = Topology::new(options.name.clone(), options.nodes, options.subnet)?;
        let dir = lab_dir(&options.base_dir, &options.name);
        if state_path(&dir).exists() || topo.namespaces().iter().any(|n| namespace_exists(n)) {
            return Err(LabError::Exists(options.name.to_string()));
        }
        fs::create_dir_all(&dir).map_err(io_error(format!("creating {}", dir.display())))?;
        let unix_now = retry::unix_seconds();
        let state = LabState {
            version: state::STATE_VERSION,
            name: options.name.to_string(),
            nodes: options.nodes,
            subnet: options.subnet,
            created_at: state::rfc3339(unix_now),
            namespaces: topo.namespaces(),
            processes: Vec::new(),
            cut: Vec::new(),
            crashed: Vec::new(),
            partition: Vec::new(),
            extra_bridges: 0,
            not_started: Vec::new(),
            notes: Vec::new(),
            daemons: options.daemons.clone(),
        };
        let mut lab = Lab {
            topo,
            dir,
            bin_dir: options.bin_dir.clone(),
            state,
            children: Vec::new(),
            owned: true,
        };
        // Recorded before anything exists, so `down` can always clean up after us.
        lab.save()?;
        lab.build_network(progress)?;
        lab.make_dirs(options.gohttpd.as_deref())?;
        if options.start_stack {
            lab.write_config(progress)?;
            lab.prepare(&mut |typed| {
                let outcome = match typed.outcome() {
                    Outcome::Done => "done".to_string(),
                    Outcome::Skipped(why) | Outcome::Failed(why) => why,
                };
                progress(&format!("{}# {}: {outcome}", typed.member, typed.command));
            })?;
            lab.start_stacks(progress)?;
        }
        Ok(lab)
    }

    /// Finds an existing lab by name (made by this or another process).
    pub fn open(base_dir: &Path, name: &LabName) -> Result<Lab, LabError> {
        let dir = lab_dir(base_dir, name);
        let path = state_path(&dir);
        let state = LabState::load(&path).map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                LabError::NotFound(name.to_string())
            } else {
                io_error(format!("reading {}", path.display()))(e)
            }
        })?;
        let topo = Topology::new(name.clone(), state.nodes, state.subnet)?;
        let bin_dir = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(Path::to_path_buf))
            .unwrap_or_default();
        Ok(Lab {
            topo,
            dir,
            bin_dir,
            state,
            children: Vec::new(),
            owned: false,
        })
    }

    /// Keeps the lab running after this value is dropped (for `ha-lab up`, and tests that
    /// want to inspect a failure).
    pub fn keep(&mut self) {
        self.owned = false;
    }

    /// Sets where the hakit binaries are (defaults to beside the running program).
    pub fn set_bin_dir(&mut self, bin_dir: PathBuf) {
        self.bin_dir = bin_dir;
    }

    /// The lab's shape: names, addresses, plans.
    pub fn topology(&self) -> &Topology {
        &self.topo
    }

    /// The recorded state.
    pub fn state(&self) -> &LabState {
        &self.state
    }

    /// The lab directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn save(&self) -> Result<(), LabError> {
        let path = state_path(&self.dir);
        self.state
            .save(&path)
            .map_err(io_error(format!("writing {}", path.display())))
    }

    fn build_network(&mut self, progress: &mut dyn FnMut(&str)) -> Result<(), LabError> {
        progress(&format!(
            "creating switch {} and {} node namespace(s) plus a client",
            self.topo.switch_namespace(),
            self.topo.nodes
        ));
        for line in self.topo.switch_plan() {
            ip(&line)?;
        }
        for member in self.topo.members() {
            for line in self.topo.member_plan(member) {
                ip(&line)?;
            }
        }
        Ok(())
    }

    /// A node's directories under the lab directory.
    pub fn node_dirs(&self, node: u8) -> NodeDirs {
        let root = self.dir.join(Member::Node(node).name());
        NodeDirs {
            conf: root.join("conf"),
            state: root.join("state"),
            run: root.join("run"),
            initd: root.join("init.d"),
            bin: root.join("bin"),
            log: root.join("log"),
        }
    }

    fn make_dirs(&mut self, gohttpd: Option<&Path>) -> Result<(), LabError> {
        for node in 1..=self.topo.nodes {
            let dirs = self.node_dirs(node);
            for dir in [
                &dirs.conf,
                &dirs.state,
                &dirs.run,
                &dirs.agents_tmp(),
                &dirs.initd,
                &dirs.bin,
                &dirs.log,
            ] {
                fs::create_dir_all(dir).map_err(io_error(format!("creating {}", dir.display())))?;
            }
            // conf holds the key: only root may look inside.
            set_mode(&dirs.conf, 0o700)?;
            match gohttpd {
                Some(binary) => self.install_gohttpd(node, binary)?,
                None if node == 1 => self
                    .note("gohttpd not installed: build it with `cargo build --example gohttpd`"),
                None => {}
            }
        }
        self.save()
    }

    fn install_gohttpd(&self, node: u8, binary: &Path) -> Result<(), LabError> {
        let dirs = self.node_dirs(node);
        let installed = dirs.bin.join("gohttpd");
        fs::copy(binary, &installed).map_err(io_error(format!(
            "copying {} to {}",
            binary.display(),
            installed.display()
        )))?;
        let script = install_script(
            GOHTTPD_INIT_SCRIPT,
            &installed,
            &Member::Node(node).name(),
            SERVICE_PORT,
        );
        crate::sys::fs::write_atomic(&dirs.initd.join("gohttpd"), script.as_bytes(), 0o755).map_err(
            io_error(format!("installing {}/gohttpd", dirs.initd.display())),
        )
    }

    fn note(&mut self, text: &str) {
        if !self.state.notes.iter().any(|n| n == text) {
            self.state.notes.push(text.to_string());
        }
    }

    /// The environment a member's programs get: its `HA_*` directories, node id and name, the
    /// lab's binaries first on `PATH`.
    pub fn env(&self, member: Member) -> Vec<(String, String)> {
        let mut path = self.bin_dir.display().to_string();
        let mut env = vec![(ENV_LAB.to_string(), self.topo.name.to_string())];
        if let Member::Node(node) = member {
            let dirs = self.node_dirs(node);
            path = format!("{}:{path}", dirs.bin.display());
            let show = |p: &Path| p.display().to_string();
            env.extend([
                (ENV_CONF_DIR.to_string(), show(&dirs.conf)),
                (ENV_STATE_DIR.to_string(), show(&dirs.state)),
                (ENV_RUN_DIR.to_string(), show(&dirs.run)),
                (ENV_INIT_DIR.to_string(), show(&dirs.initd)),
                // Agents' pid and state files: shared between nodes, one node's send_arp
                // took another's pid file (pids of other pid namespaces) for its own and
                // stayed silent, so the client never learnt where the VIP had gone.
                (ENV_RSC_TMP.to_string(), show(&dirs.agents_tmp())),
                (ENV_NODE_ID.to_string(), node.to_string()),
            ]);
        }
        env.push((ENV_NODE_NAME.to_string(), member.name()));
        let system_path =
            std::env::var("PATH").unwrap_or_else(|_| "/usr/sbin:/usr/bin:/sbin:/bin".into());
        env.push(("PATH".to_string(), format!("{path}:{system_path}")));
        env
    }

    fn record(&self, member: Member, role: &str) -> Option<ProcessId> {
        self.state
            .processes_of(&member.name())
            .find(|p| p.role == role)
            .map(|p| p.process)
    }

    /// A command that runs `program args` inside `member`: in its network namespace and,
    /// while its stack runs, in its pid and mount namespaces too (so it sees the node's
    /// processes only), with the member's environment. `program` is looked up on the
    /// member's `PATH` (the lab's binaries first).
    pub fn command(&self, member: Member, program: &str, args: &[&str]) -> Command {
        let init = self.record(member, "init").filter(ProcessId::is_alive);
        let mut command = match init {
            Some(init) => {
                let mut c = Command::new("nsenter");
                c.args([
                    "--target",
                    &init.pid.to_string(),
                    "--net",
                    "--pid",
                    "--mount",
                    "--",
                ]);
                c
            }
            None => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", &self.topo.namespace(member)]);
                c
            }
        };
        command.arg(program).args(args).envs(self.env(member));
        command
    }

    fn node_program(&self, program: &str) -> PathBuf {
        self.bin_dir.join(program)
    }

    /// Makes the key on node1 and copies key and config to every other node with the
    /// commands an administrator would type, reporting each through `on_typed`. A command
    /// this build does not have yet is noted and skipped; any other failure stops here.
    pub fn prepare(&mut self, on_typed: &mut dyn FnMut(&Typed)) -> Result<(), LabError> {
        let mut typed = vec![self.typed(Member::Node(1), &["ha-keygen"], b"")];
        self.settle(&typed[0], on_typed)?;
        let have_key = typed[0].output.success();
        for node in 2..=self.topo.nodes {
            typed = self.sync_to(node, have_key);
            for one in &typed {
                self.settle(one, on_typed)?;
            }
        }
        self.save()
    }

    fn settle(&mut self, typed: &Typed, on_typed: &mut dyn FnMut(&Typed)) -> Result<(), LabError> {
        on_typed(typed);
        match typed.outcome() {
            Outcome::Done => Ok(()),
            Outcome::Skipped(why) => {
                self.note(&format!("{}: {why}", typed.command));
                Ok(())
            }
            Outcome::Failed(why) => Err(LabError::Command {
                command: format!("{}# {}", typed.member, typed.command),
                message: why,
            }),
        }
    }

    /// Runs a command line on a member and keeps it as typed.
    pub fn typed(&self, member: Member, line: &[&str], input: &[u8]) -> Typed {
        Typed {
            member: member.name(),
            command: line.join(" "),
            output: self.run(member, line[0], &line[1..], input),
        }
    }

    /// Copies key and config from node1 to `node`: one `ha-cfgtool config export --with-key
    /// | ha-cfgtool config import` bundle when this build has it, else the key through
    /// `cat authkey | ha-keygen --import` and the config file through `cat`.
    pub fn sync_to(&self, node: u8, with_key: bool) -> Vec<Typed> {
        let target = Member::Node(node);
        let node1 = Member::Node(1);
        let remote = format!("ssh {target} ");
        let export = ["ha-cfgtool", "config", "export", "--with-key"];
        let bundle = self.run(node1, export[0], &export[1..], b"");
        if !bundle.is_unavailable() {
            let import = ["ha-cfgtool", "config", "import"];
            return vec![piped(
                &export,
                bundle,
                &format!("{remote}{}", import.join(" ")),
                |bundle| self.run(target, import[0], &import[1..], bundle),
            )];
        }
        let mut steps = Vec::new();
        if with_key {
            let export = ["cat", "$HA_CONF_DIR/authkey"];
            let key = self.run(node1, "sh", &["-c", "cat \"$HA_CONF_DIR/authkey\""], b"");
            steps.push(piped(
                &export,
                key,
                &format!("{remote}ha-keygen --import"),
                |key| self.run(target, "ha-keygen", &["--import"], key),
            ));
        }
        let conf_line = ["cat", "$HA_CONF_DIR/ha.conf"];
        let conf = self.run(node1, "sh", &["-c", "cat \"$HA_CONF_DIR/ha.conf\""], b"");
        steps.push(piped(
            &conf_line,
            conf,
            &format!("{remote}'cat > $HA_CONF_DIR/ha.conf'"),
            |text| {
                self.run(
                    target,
                    "sh",
                    &["-c", "cat > \"$HA_CONF_DIR/ha.conf\""],
                    text,
                )
            },
        ));
        steps
    }

    /// Writes ha.conf for this lab on node1 (as an administrator would with an editor).
    pub fn write_config(&mut self, progress: &mut dyn FnMut(&str)) -> Result<(), LabError> {
        let node1 = self.node_dirs(1);
        let path = node1.conf.join("ha.conf");
        progress(&format!("writing {} on node1", path.display()));
        crate::sys::fs::write_atomic(&path, self.topo.render_config().as_bytes(), 0o644)
            .map_err(io_error(format!("writing {}", path.display())))?;
        self.save()
    }

    /// Runs one program inside a member, stdin from `input`, and returns its outcome.
    pub fn run(&self, member: Member, program: &str, args: &[&str], input: &[u8]) -> RunOutput {
        let mut command = self.command(member, program, args);
        run_with_input(&mut command, input)
    }

    /// Starts every node's stack and records what did not start (see
    /// [`LabState::not_started`]).
    pub fn start_stacks(&mut self, progress: &mut dyn FnMut(&str)) -> Result<(), LabError> {
        let daemons = self.stack_daemons();
        for node in 1..=self.topo.nodes {
            self.start_node(node, &daemons)?;
        }
        progress(&format!(
            "started {} node stack(s): {}",
            self.topo.nodes,
            daemons
                .iter()
                .map(|d| d.join(" "))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        self.check_started(&daemons);
        self.save()
    }

    /// The daemons each node runs, as recorded at `up`, programs resolved against the lab's
    /// binary directory.
    fn stack_daemons(&self) -> Vec<Vec<String>> {
        self.state
            .daemons
            .iter()
            .map(|line| {
                let mut words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
                if let Some(program) = words.first_mut() {
                    let local = self.node_program(program);
                    if !program.contains('/') && local.is_file() {
                        *program = local.display().to_string();
                    }
                }
                words
            })
            .filter(|words| !words.is_empty())
            .collect()
    }

    /// Starts a node's stack: `unshare` makes a pid and mount namespace whose pid 1 is
    /// `ha-lab node-init`, which starts the daemons and reaps orphans. Killing the recorded
    /// `unshare` process kills the whole namespace (`--kill-child`, and a pid namespace dies
    /// with its pid 1).
    fn start_node(&mut self, node: u8, daemons: &[Vec<String>]) -> Result<(), LabError> {
        let member = Member::Node(node);
        let dirs = self.node_dirs(node);
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", &self.topo.namespace(member)])
            .args([
                "unshare",
                "--pid",
                "--fork",
                "--mount-proc",
                "--kill-child",
                "--",
            ])
            .arg(self.node_program("ha-lab"))
            .arg("node-init")
            .arg("--log-dir")
            .arg(&dirs.log);
        for daemon in daemons {
            command.arg("--daemon").arg(daemon.join(" "));
        }
        let log = dirs.log.join("node-init.log");
        let log_file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(io_error(format!("opening {}", log.display())))?;
        let err_file = log_file
            .try_clone()
            .map_err(io_error(format!("opening {}", log.display())))?;
        let child = command
            .envs(self.env(member))
            .current_dir(&dirs.run)
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(err_file)
            // Its own process group: a Ctrl-C meant for `ha-lab` does not reach the nodes.
            .process_group(0)
            .spawn()
            .map_err(|e| LabError::Command {
                command: "ip netns exec ... unshare ... ha-lab node-init".into(),
                message: e.to_string(),
            })?;
        let holder = ProcessId::of(child.id() as i32)
            .map_err(io_error(format!("reading /proc/{}", child.id())))?;
        self.children.push(child);
        self.state.processes.retain(|p| p.member != member.name());
        self.state.processes.push(ProcessRecord {
            member: member.name(),
            role: "holder".into(),
            process: holder,
        });
        self.save()?;
        // pid 1 of the new namespace is unshare's only child.
        let mut init = None;
        retry::until(STEP_LIMIT, POLL_STEP, || {
            init = proc::children_of(holder.pid)
                .into_iter()
                .find_map(|pid| ProcessId::of(pid).ok());
            init.is_some() || !holder.is_alive()
        });
        match init {
            Some(init) => {
                self.state.processes.push(ProcessRecord {
                    member: member.name(),
                    role: "init".into(),
                    process: init,
                });
                self.save()
            }
            None => Err(LabError::Command {
                command: format!("starting node{node}'s namespace"),
                message: format!("no init process; see {}", log.display()),
            }),
        }
    }

    /// After a short settle time, records each daemon that is not running with its last
    /// words from its log.
    fn check_started(&mut self, daemons: &[Vec<String>]) {
        retry::pause(SETTLE);
        self.state.not_started.clear();
        for node in 1..=self.topo.nodes {
            let member = Member::Node(node);
            let running = self.stack_processes(member);
            for daemon in daemons {
                let program = Path::new(&daemon[0])
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                if running.iter().any(|p| comm_matches(&p.name, &program)) {
                    continue;
                }
                let log = self.node_dirs(node).log.join(format!("{program}.log"));
                let text = fs::read_to_string(&log).unwrap_or_default();
                let reason = match last_words(&text) {
                    Some(line) if is_placeholder(&text) => {
                        let args = daemon[1..].join(" ");
                        format!("`{program} {args}` is not available in this build yet ({line})")
                    }
                    Some(line) => format!("exited at once: {line} (see {})", log.display()),
                    None => format!("exited at once; see {}", log.display()),
                };
                self.state.not_started.push(NotStarted {
                    member: member.name(),
                    program,
                    reason,
                });
            }
        }
    }

    /// Live processes of a member's stack (everything in its network namespace except the
    /// `unshare` holder and the node's init).
    pub fn stack_processes(&self, member: Member) -> Vec<ProcessView> {
        let recorded: Vec<i32> = self
            .state
            .processes_of(&member.name())
            .map(|p| p.process.pid)
            .collect();
        proc::processes_in_netns(&netns_path(&self.topo.namespace(member)))
            .into_iter()
            .filter(|p| !recorded.contains(&p.pid))
            .map(|p| ProcessView {
                pid: p.pid,
                name: proc::command_name(p.pid),
            })
            .collect()
    }

    /// Runs `line` on `member` every 100 ms until `ready` accepts its outcome or `limit`
    /// passes; returns the accepted outcome, or the last one as the error.
    pub fn wait_for(
        &self,
        member: Member,
        line: &[&str],
        limit: Duration,
        ready: impl Fn(&RunOutput) -> bool,
    ) -> Result<RunOutput, RunOutput> {
        let mut last = None;
        let done = retry::until(limit, Duration::from_millis(100), || {
            let output = self.run(member, line[0], &line[1..], b"");
            let accepted = ready(&output);
            last = Some(output);
            accepted
        });
        let last = last.expect("until always checks once");
        if done { Ok(last) } else { Err(last) }
    }

    /// Resident memory of a member's stack in KiB: the sum of `VmRSS` over its processes
    /// (the lab's own holder and init excluded).
    pub fn stack_rss_kib(&self, member: Member) -> u64 {
        self.stack_processes(member)
            .iter()
            .filter_map(|p| fs::read_to_string(format!("/proc/{}/status", p.pid)).ok())
            .filter_map(|status| {
                let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
                line.split_whitespace().nth(1)?.parse::<u64>().ok()
            })
            .sum()
    }

    /// Resident memory in KiB of the processes of a member whose command name `is_daemon`
    /// accepts (a stack's daemons, without its agents or the service).
    pub fn daemons_rss_kib(&self, member: Member, is_daemon: impl Fn(&str) -> bool) -> u64 {
        self.stack_processes(member)
            .iter()
            .filter(|p| is_daemon(&p.name))
            .filter_map(|p| fs::read_to_string(format!("/proc/{}/status", p.pid)).ok())
            .filter_map(|status| {
                let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
                line.split_whitespace().nth(1)?.parse::<u64>().ok()
            })
            .sum()
    }

    /// The log files of a node's daemons (`<program>.log`, and `node-init.log`), sorted.
    pub fn log_files(&self, node: u8) -> Vec<PathBuf> {
        let dirs = self.node_dirs(node);
        let mut files: Vec<PathBuf> = fs::read_dir(&dirs.log)
            .map(|entries| entries.filter_map(|e| Some(e.ok()?.path())).collect())
            .unwrap_or_default();
        // The ring's supervisor logs the executor and the controller beside its socket.
        if let Ok(entries) = fs::read_dir(&dirs.run) {
            files.extend(
                entries
                    .filter_map(|e| Some(e.ok()?.path()))
                    .filter(|p| p.extension().is_some_and(|e| e == "log")),
            );
        }
        files.sort();
        files
    }

    /// The last `lines` lines of every log of a node, each file under a `==> path <==` header
    /// (for a failing test to print).
    pub fn log_tail(&self, node: u8, lines: usize) -> String {
        let mut text = String::new();
        for path in self.log_files(node) {
            let content = fs::read_to_string(&path).unwrap_or_default();
            let all: Vec<&str> = content.lines().collect();
            text.push_str(&format!("==> {} <==\n", path.display()));
            for line in &all[all.len().saturating_sub(lines)..] {
                text.push_str(line);
                text.push('\n');
            }
        }
        text
    }

    /// Starts a node's stack again (after [`Lab::crash`]).
    pub fn start(&mut self, member: Member) -> Result<(), LabError> {
        let Member::Node(node) = self.topo.check(member)? else {
            return Err(LabError::BadMember("client".into()));
        };
        if self.record(member, "holder").is_some_and(|p| p.is_alive()) {
            return Ok(());
        }
        if self.state.crashed.contains(&member.name()) {
            // A booting machine has only its own address, whatever it held before the crash
            // (a VIP, say), and its cable works again unless it was cut separately.
            for line in self.topo.boot_plan(member) {
                ip(&line)?;
            }
            if !self.state.cut.contains(&member.name()) {
                for line in self.topo.heal_plan(member) {
                    ip(&line)?;
                }
            }
            self.clear_run_dir(node)?;
            self.state.crashed.retain(|m| *m != member.name());
            self.save()?;
        }
        let daemons = self.stack_daemons();
        self.start_node(node, &daemons)?;
        self.check_started(&daemons);
        self.save()
    }

    /// Empties a node's run dir as a reboot empties `/run`: sockets, pid files and the
    /// executor's record of what runs here describe the machine before its crash. Daemon logs
    /// the supervisor keeps there stay (a reboot keeps `/var/log`).
    fn clear_run_dir(&self, node: u8) -> Result<(), LabError> {
        let run = self.node_dirs(node).run;
        let entries = fs::read_dir(&run).map_err(io_error(format!("reading {}", run.display())))?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "log") {
                continue;
            }
            let removed = if path.is_dir() {
                fs::remove_dir_all(&path)
            } else {
                fs::remove_file(&path)
            };
            removed.map_err(io_error(format!("removing {}", path.display())))?;
        }
        let agents_tmp = self.node_dirs(node).agents_tmp();
        fs::create_dir_all(&agents_tmp)
            .map_err(io_error(format!("creating {}", agents_tmp.display())))
    }

    /// A probe for where the lab's VIP and the server `program` (e.g. `gohttpd`) are.
    pub fn placement_probe(&self, program: &str) -> PlacementProbe {
        PlacementProbe {
            topo: self.topo.clone(),
            state_path: state_path(&self.dir),
            vip: self.topo.vip(),
            program: program.to_string(),
        }
    }

    /// Pulls a member's power: its switch port goes down and its whole stack is killed with
    /// SIGKILL (the recorded holder and init, checked by start time, then anything else still
    /// in its network namespace). [`Lab::start`] boots it again.
    /// Returns the pids killed. Waits (bounded) until they are gone.
    pub fn crash(&mut self, member: Member) -> Result<Vec<i32>, LabError> {
        let member = self.topo.check(member)?;
        // A machine without power answers nothing: its port goes down first, so no address it
        // held (a VIP) keeps answering from the dead node's kernel.
        if !self.state.crashed.contains(&member.name()) {
            self.state.crashed.push(member.name());
        }
        self.save()?;
        for line in self.topo.cut_plan(member) {
            ip(&line)?;
        }
        let killed = kill_member(&self.topo, &self.state, member);
        self.reap_children();
        Ok(killed)
    }

    fn reap_children(&mut self) {
        self.children
            .retain_mut(|child| !matches!(child.try_wait(), Ok(Some(_)) | Err(_)));
    }

    /// Pulls a member's cable: its switch port goes down.
    pub fn cut(&mut self, member: Member) -> Result<(), LabError> {
        let member = self.topo.check(member)?;
        for line in self.topo.cut_plan(member) {
            ip(&line)?;
        }
        if !self.state.cut.contains(&member.name()) {
            self.state.cut.push(member.name());
        }
        self.save()
    }

    /// Plugs a member's cable back in.
    pub fn heal(&mut self, member: Member) -> Result<(), LabError> {
        let member = self.topo.check(member)?;
        // A crashed node stays dark until it is started again.
        if !self.state.crashed.contains(&member.name()) {
            for line in self.topo.heal_plan(member) {
                ip(&line)?;
            }
        }
        self.state.cut.retain(|m| *m != member.name());
        self.save()
    }

    /// Undoes every cut and partition.
    pub fn heal_all(&mut self) -> Result<(), LabError> {
        self.unpartition()?;
        for member in self.topo.members() {
            self.heal(member)?;
        }
        Ok(())
    }

    /// Joins the switch's bridges back into one.
    pub fn unpartition(&mut self) -> Result<(), LabError> {
        for line in self.topo.unpartition_plan(self.state.extra_bridges) {
            ip(&line)?;
        }
        self.state.extra_bridges = 0;
        self.state.partition.clear();
        self.save()
    }

    /// Splits the switch into groups that cannot reach each other (see
    /// [`Topology::partition_plan`]); replaces any earlier partition.
    pub fn partition(&mut self, groups: &[Vec<Member>]) -> Result<(), LabError> {
        let plan = self.topo.partition_plan(groups)?;
        self.unpartition()?;
        self.state.extra_bridges = groups.len() - 1;
        self.state.partition = groups
            .iter()
            .map(|g| g.iter().map(|m| m.name()).collect())
            .collect();
        // Recorded first: a failure half-way still lets `heal` and `down` find the bridges.
        self.save()?;
        for line in plan {
            ip(&line)?;
        }
        Ok(())
    }

    /// Sends `GET /` from inside `from` to `addr:port` and returns the body.
    pub fn http_get(
        &self,
        from: Member,
        addr: Ipv4Addr,
        port: u16,
        timeout: Duration,
    ) -> io::Result<String> {
        let target = SocketAddr::from((addr, port));
        netns::run_in(&self.topo.namespace(from), move || {
            http::get(target, timeout)
        })?
    }

    /// Whether `addr` answers TCP from inside `from` within `timeout` (see [`http::answers`]).
    pub fn reaches(&self, from: Member, addr: Ipv4Addr, timeout: Duration) -> bool {
        let target = SocketAddr::from((addr, 9));
        netns::run_in(&self.topo.namespace(from), move || {
            http::answers(target, timeout)
        })
        .unwrap_or(false)
    }

    /// A snapshot of every member: namespace, link, processes.
    pub fn status(&self) -> LabStatus {
        let ports = switch_ports(&self.topo).unwrap_or_default();
        let members = self
            .topo
            .members()
            .into_iter()
            .map(|member| {
                let namespace = self.topo.namespace(member);
                let port = ports.iter().find(|p| p.name == self.topo.port(member));
                MemberStatus {
                    member: member.name(),
                    namespace_exists: namespace_exists(&namespace),
                    namespace,
                    address: self.topo.address(member),
                    link: match port {
                        Some(p) if p.up => "up".into(),
                        Some(_) => "down".into(),
                        None => "missing".into(),
                    },
                    bridge: port.and_then(|p| p.master.clone()),
                    stack_alive: self.record(member, "holder").is_some_and(|p| p.is_alive()),
                    processes: self.stack_processes(member),
                }
            })
            .collect();
        LabStatus {
            name: self.state.name.clone(),
            dir: self.dir.clone(),
            nodes: self.topo.nodes,
            vip: self.topo.vip(),
            created_at: self.state.created_at.clone(),
            members,
            partition: self.state.partition.clone(),
            not_started: self.state.not_started.clone(),
            notes: self.state.notes.clone(),
        }
    }

    /// Removes everything the lab made: kills its processes, deletes its namespaces and its
    /// directory. Safe to call twice.
    pub fn down(mut self) -> Result<DownReport, LabError> {
        self.owned = false;
        let report = down_recorded(&self.topo, &self.state, &self.dir);
        self.reap_children();
        report
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if self.owned {
            let _ = down_recorded(&self.topo, &self.state, &self.dir);
            self.reap_children();
        }
    }
}

/// Removes the lab called `name` under `base_dir`: by its state file when it has one, else by
/// the namespace names a lab of that name would have (a lab whose owner died before writing
/// its state). Returns an empty report when there is nothing to remove.
pub fn down(base_dir: &Path, name: &LabName) -> Result<DownReport, LabError> {
    check_host()?;
    let dir = lab_dir(base_dir, name);
    match Lab::open(base_dir, name) {
        Ok(lab) => lab.down(),
        Err(LabError::NotFound(_)) | Err(LabError::Io { .. }) => {
            let prefix = format!("{name}-");
            let mut namespaces: Vec<String> = fs::read_dir(netns::NETNS_DIR)
                .map(|entries| {
                    entries
                        .filter_map(|e| e.ok()?.file_name().into_string().ok())
                        .filter(|n| n.strip_prefix(&prefix).is_some_and(is_lab_suffix))
                        .collect()
                })
                .unwrap_or_default();
            namespaces.sort();
            let mut report = DownReport::default();
            for namespace in namespaces {
                report.killed.extend(kill_in_namespace(&namespace));
                delete_namespace(&namespace)?;
                report.namespaces.push(namespace);
            }
            report.removed_dir = remove_dir(&dir)?;
            Ok(report)
        }
        Err(other) => Err(other),
    }
}

/// Names a lab gives its namespaces after `<name>-`.
fn is_lab_suffix(suffix: &str) -> bool {
    suffix == "sw"
        || suffix == "client"
        || suffix.strip_prefix("node").is_some_and(|n| {
            n.parse::<u8>()
                .is_ok_and(|n| (1..=topo::MAX_NODES).contains(&n))
        })
}

fn down_recorded(topo: &Topology, state: &LabState, dir: &Path) -> Result<DownReport, LabError> {
    let mut report = DownReport::default();
    for member in topo.members() {
        report.killed.extend(kill_member(topo, state, member));
    }
    for namespace in &state.namespaces {
        if namespace_exists(namespace) {
            report.killed.extend(kill_in_namespace(namespace));
            delete_namespace(namespace)?;
            report.namespaces.push(namespace.clone());
        }
    }
    report.removed_dir = remove_dir(dir)?;
    Ok(report)
}

fn kill_member(topo: &Topology, state: &LabState, member: Member) -> Vec<i32> {
    let mut killed = Vec::new();
    let records: Vec<ProcessId> = state
        .processes_of(&member.name())
        .map(|p| p.process)
        .collect();
    for process in &records {
        if process.signal_if_alive(Signal::SIGKILL) {
            killed.push(process.pid);
        }
    }
    for pid in kill_in_namespace(&topo.namespace(member)) {
        if !killed.contains(&pid) {
            killed.push(pid);
        }
    }
    // A killed process leaves its namespaces before it is a zombie: wait for the records too.
    retry::until(STEP_LIMIT, POLL_STEP, || {
        !records.iter().any(ProcessId::is_alive)
    });
    killed
}

/// Kills every process in a network namespace the lab made, and waits (bounded) for them to
/// go. These are the node's own processes (daemons, agents, the service, `exec` commands).
fn kill_in_namespace(namespace: &str) -> Vec<i32> {
    let path = netns_path(namespace);
    let mut killed = Vec::new();
    retry::until(STEP_LIMIT, POLL_STEP, || {
        let left = proc::processes_in_netns(&path);
        for process in &left {
            if process.signal_if_alive(Signal::SIGKILL) && !killed.contains(&process.pid) {
                killed.push(process.pid);
            }
        }
        left.is_empty()
    });
    killed
}

fn delete_namespace(namespace: &str) -> Result<(), LabError> {
    match ip(&["netns".into(), "del".into(), namespace.into()]) {
        Ok(_) => Ok(()),
        Err(_) if !namespace_exists(namespace) => Ok(()),
        Err(e) => Err(e),
    }
}

fn remove_dir(dir: &Path) -> Result<bool, LabError> {
    match fs::remove_dir_all(dir) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_error(format!("removing {}", dir.display()))(e)),
    }
}

fn set_mode(path: &Path, mode: u32) -> Result<(), LabError> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(io_error(format!("setting mode of {}", path.display())))
}

/// A daemon's log saying the program, or the flags the lab gave it, are not built yet.
fn is_placeholder(log: &str) -> bool {
    log.contains("not implemented yet")
        || log.contains("unexpected argument")
        || log.contains("unrecognized subcommand")
}

/// `/proc/PID/comm` holds at most 15 bytes of the program name.
fn comm_matches(comm: &str, program: &str) -> bool {
    !comm.is_empty()
        && program.as_bytes().starts_with(comm.as_bytes())
        && (comm.len() == 15 || comm == program)
}

/// A switch port as `ip -j link show` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Port {
    name: String,
    up: bool,
    master: Option<String>,
}

fn switch_ports(topo: &Topology) -> Result<Vec<Port>, LabError> {
    let json = ip(&[
        "-n".into(),
        topo.switch_namespace(),
        "-j".into(),
        "link".into(),
        "show".into(),
    ])?;
    Ok(parse_ports(&json))
}

fn parse_ports(json: &str) -> Vec<Port> {
    let links: Vec<serde_json::Value> = serde_json::from_str(json).unwrap_or_default();
    links
        .iter()
        .filter_map(|link| {
            let flags = link.get("flags")?.as_array()?;
            Some(Port {
                name: link.get("ifname")?.as_str()?.to_string(),
                up: flags.iter().any(|f| f == "UP"),
                master: link
                    .get("master")
                    .and_then(|m| m.as_str())
                    .map(str::to_string),
            })
        })
        .collect()
}

/// Rewrites the example init script for one node: the installed binary's path and the
/// options naming the node and port.
pub fn install_script(template: &str, binary: &Path, node_name: &str, port: u16) -> String {
    template
        .lines()
        .map(|line| {
            if line.starts_with("DAEMON=") {
                format!("DAEMON={}", binary.display())
            } else if line.starts_with("DAEMON_OPTS=") {
                format!("DAEMON_OPTS=\"--port {port} --name {node_name}\"")
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_read_from_ip_json() {
        let json = r#"[{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP"]},
            {"ifindex":3,"ifname":"node1","flags":["BROADCAST","UP","LOWER_UP"],"master":"br0"},
            {"ifindex":4,"ifname":"node2","flags":["BROADCAST"],"master":"br1"}]"#;
        let ports = parse_ports(json);
        assert_eq!(ports.len(), 3);
        assert_eq!(
            ports[1],
            Port {
                name: "node1".into(),
                up: true,
                master: Some("br0".into())
            }
        );
        assert!(!ports[2].up);
        assert!(parse_ports("not json").is_empty());
    }

    #[test]
    fn init_script_is_pointed_at_the_node_copy() {
        let script = install_script(
            GOHTTPD_INIT_SCRIPT,
            Path::new("/lab/node2/bin/gohttpd"),
            "node2",
            80,
        );
        assert!(script.contains("DAEMON=/lab/node2/bin/gohttpd\n"));
        assert!(script.contains("DAEMON_OPTS=\"--port 80 --name node2\"\n"));
        assert!(script.contains("pkill -9 gohttpd"));
        assert!(!script.contains("status)"));
    }

    #[test]
    fn program_names_match_truncated_comm() {
        assert!(comm_matches("ha-ring", "ha-ring"));
        assert!(!comm_matches("ha-ring", "ha-ringer"));
        assert!(comm_matches("a-very-long-pro", "a-very-long-program"));
        assert!(!comm_matches("", "ha-ring"));
    }

    #[test]
    fn only_lab_namespace_suffixes_are_recognised() {
        for ok in ["sw", "client", "node1", "node32"] {
            assert!(is_lab_suffix(ok), "{ok}");
        }
        for bad in ["node0", "node33", "switch", "node1x", ""] {
            assert!(!is_lab_suffix(bad), "{bad}");
        }
    }
}
