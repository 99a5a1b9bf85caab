//! The typed configuration [`HaConf`], built from the syntax tree with defaults filled in and
//! validated. Unknown keys and sections become warnings; keys corosync knows but hakit does
//! not use become warnings saying so. Pure: no I/O in here.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::PathBuf;

use super::diag::Diagnostic;
use super::syntax::{Entry, Pos, Section};

/// Default token timeout: a member silent this long is considered lost.
pub const DEFAULT_TOKEN_MS: u64 = 1000;
/// Default join timeout of the membership protocol.
pub const DEFAULT_JOIN_MS: u64 = 50;
/// Default token retransmits before the token counts as lost.
pub const DEFAULT_TOKEN_RETRANSMITS: u32 = 4;
/// Default `netmtu`: largest datagram the ring sends, IP and UDP headers included.
pub const DEFAULT_NETMTU: u32 = 1500;
/// Default `window_size`: most ordered messages outstanding on the ring.
pub const DEFAULT_WINDOW_SIZE: u32 = 1024;
/// Default `max_messages`: most ordered messages one node sends per token visit.
pub const DEFAULT_MAX_MESSAGES: u32 = 256;
/// Accepted `netmtu` range in bytes (loopback and jumbo frames allow up to 65535).
pub const NETMTU_RANGE: (u64, u64) = (576, 65_535);
/// Accepted `window_size` and `max_messages` range.
pub const WINDOW_RANGE: (u64, u64) = (1, 65_536);
/// Default UDP port (the multicast port, and the unicast port with `udpu`).
pub const DEFAULT_MCASTPORT: u16 = 5405;
/// Cluster name used when `totem.cluster_name` is not given.
pub const DEFAULT_CLUSTER_NAME: &str = "hakit";

/// Accepted `token` range in milliseconds.
pub const TOKEN_MS_RANGE: (u64, u64) = (50, 600_000);
/// Accepted `consensus` range in milliseconds.
pub const CONSENSUS_MS_RANGE: (u64, u64) = (60, 1_200_000);
/// Accepted `join` range in milliseconds.
pub const JOIN_MS_RANGE: (u64, u64) = (10, 60_000);
/// Accepted `token_retransmits_before_loss_const` range.
pub const TOKEN_RETRANSMITS_RANGE: (u64, u64) = (1, 100);
/// Most votes one node may carry.
pub const MAX_QUORUM_VOTES: u64 = 255;
/// Longest cluster name, in bytes.
pub const MAX_CLUSTER_NAME_BYTES: usize = 64;

/// The whole effective configuration of one cluster, defaults filled in.
///
/// JSON shape (`ha-cfgtool config show --json`, inside the `data` envelope):
///
/// ```json
/// {"totem":{"version":2,"cluster_name":"hakit","secauth":true,"crypto_cipher":null,
///   "crypto_hash":null,"keyfile":null,"transport":"udpu","token_ms":1000,
///   "consensus_ms":1200,"join_ms":50,"token_retransmits_before_loss_const":4,
///   "netmtu":1500,"window_size":1024,"max_messages":256,
///   "clear_node_high_bit":false,
///   "interfaces":[{"ringnumber":0,"bindnetaddr":"192.168.2.0","mcastaddr":null,
///     "mcastport":5405,"ttl":1}]},
///  "nodes":[{"nodeid":1,"nodeid_from_address":false,"name":"node1",
///     "ring0_addr":"192.168.2.101","quorum_votes":1}],
///  "quorum":{"provider":"corosync_votequorum","expected_votes":null,"two_node":true,
///     "wait_for_all":true},
///  "logging":{"to_stderr":true,"to_logfile":false,"logfile":null,"to_syslog":true,
///     "debug":false,"timestamp":false},
///  "services":[{"name":"pacemaker","ver":0}]}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HaConf {
    /// The `totem` section: protocol, security, timeouts, interfaces.
    pub totem: Totem,
    /// The `nodelist` section's nodes, in file order; empty without a nodelist.
    pub nodes: Vec<NodeConf>,
    /// The `quorum` section.
    pub quorum: Quorum,
    /// The `logging` section.
    pub logging: Logging,
    /// The `service` sections, kept for reference; hakit loads no plugins.
    pub services: Vec<Service>,
}

/// The `totem` section.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Totem {
    /// Protocol version; only 2 exists.
    pub version: u32,
    /// Datagrams naming another cluster are dropped.
    pub cluster_name: String,
    /// `secauth` as written; `None` when the file does not say. With `Some(false)` and no
    /// `crypto_cipher`, traffic is authenticated but not encrypted, and a missing authkey is
    /// acceptable; see [`Totem::encryption`].
    pub secauth: Option<bool>,
    /// `crypto_cipher` as written; `None` when the file does not say.
    pub crypto_cipher: Option<Cipher>,
    /// `crypto_hash` as written; `None` when the file does not say. hakit always
    /// authenticates with HMAC-SHA256 when a key is in use.
    pub crypto_hash: Option<HashAlgorithm>,
    /// `keyfile`: the authkey's path when not the default `$HA_CONF_DIR/authkey`.
    pub keyfile: Option<PathBuf>,
    /// `udpu` (unicast to every node) or `udp` (multicast). Defaults to `udpu` with a
    /// nodelist, `udp` without one.
    pub transport: Transport,
    /// `token`: ms without the token before a member is considered lost.
    pub token_ms: u64,
    /// `consensus`: ms to reach agreement on a new membership; default 1.2 × token.
    pub consensus_ms: u64,
    /// `join`: ms to wait for join messages while forming a membership.
    pub join_ms: u64,
    /// `token_retransmits_before_loss_const`: token retransmits before it counts as lost.
    pub token_retransmits_before_loss_const: u32,
    /// `netmtu`: largest datagram the ring sends (IP and UDP headers included); several
    /// small messages share one datagram up to this size, larger ones are fragmented.
    pub netmtu: u32,
    /// `window_size`: most ordered messages outstanding on the ring (flow control).
    pub window_size: u32,
    /// `max_messages`: most ordered messages one node sends per token visit; at most
    /// `window_size`.
    pub max_messages: u32,
    /// `clear_node_high_bit`: clear bit 31 of node ids derived from IPv4 addresses.
    pub clear_node_high_bit: bool,
    /// `interface` subsections, ordered by ring number.
    pub interfaces: Vec<Interface>,
}

/// What protects ring traffic, from `secauth` and `crypto_cipher` together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Encryption {
    /// HMAC and AES-256-GCM with keys derived from the authkey.
    Aes256,
    /// HMAC only.
    None,
    /// The file does not say: encrypt when an authkey exists, else plain.
    WhenKeyExists,
}

/// `totem.crypto_cipher`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cipher {
    /// No encryption.
    None,
    /// AES-256-GCM.
    Aes256,
}

/// `totem.crypto_hash` (kept as written; hakit authenticates with HMAC-SHA256).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HashAlgorithm {
    /// No authentication asked for.
    None,
    /// MD5.
    Md5,
    /// SHA-1.
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

/// `totem.transport`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    /// Multicast to `mcastaddr:mcastport`; nodes are discovered as they appear.
    Udp,
    /// Unicast to every node's `ring0_addr`.
    Udpu,
}

/// One `totem.interface` subsection.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Interface {
    /// `ringnumber` (or corosync 3's `linknumber`); only ring 0 carries traffic.
    pub ringnumber: u8,
    /// `bindnetaddr`: an address of, or the network address of, the interface to use.
    pub bindnetaddr: Option<IpAddr>,
    /// `mcastaddr`: the multicast group for `transport: udp`.
    pub mcastaddr: Option<IpAddr>,
    /// `mcastport`: the UDP port.
    pub mcastport: u16,
    /// `ttl`: multicast time to live.
    pub ttl: u8,
}

/// One `nodelist.node` subsection.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NodeConf {
    /// `nodeid`, or derived from an IPv4 `ring0_addr` when not given.
    pub nodeid: u32,
    /// True when `nodeid` was derived from the address.
    pub nodeid_from_address: bool,
    /// `name`: the node's name, as the resource manager knows it.
    pub name: Option<String>,
    /// `ring0_addr`: the address the node uses on ring 0.
    pub ring0_addr: IpAddr,
    /// `quorum_votes`: votes this node carries (default 1).
    pub quorum_votes: u32,
}

impl NodeConf {
    /// The node's name, or its address when it has none.
    pub fn display_name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| self.ring0_addr.to_string())
    }
}

/// The `quorum` section.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Quorum {
    /// `provider`: only `corosync_votequorum` exists; `None` means no quorum section.
    pub provider: Option<String>,
    /// `expected_votes` as written; see [`HaConf::expected_votes`] for the effective value.
    pub expected_votes: Option<u32>,
    /// `two_node`: a two-node cluster stays quorate with one vote.
    pub two_node: bool,
    /// `wait_for_all`: quorum first needs every node seen once; defaults to `two_node`.
    pub wait_for_all: bool,
}

/// The `logging` section.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Logging {
    /// `to_stderr` (default yes).
    pub to_stderr: bool,
    /// `to_logfile` (default no); needs `logfile`.
    pub to_logfile: bool,
    /// `logfile`: absolute path.
    pub logfile: Option<PathBuf>,
    /// `to_syslog` (default yes).
    pub to_syslog: bool,
    /// `debug` (`on`, `off` or `trace`; trace counts as on).
    pub debug: bool,
    /// `timestamp` (default off).
    pub timestamp: bool,
}

/// One `service` section (corosync 1.x plugin loading), kept only to be shown.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Service {
    /// `name`.
    pub name: String,
    /// `ver`.
    pub ver: Option<u32>,
}

/// A configuration that parsed and validated, with its warnings.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The effective configuration.
    pub conf: HaConf,
    /// Unknown or unused keys and sections, and other notes; none stops the cluster.
    pub warnings: Vec<Diagnostic>,
}

/// Why a configuration was rejected: every error found, plus the warnings seen on the way.
#[derive(Debug, Clone)]
pub struct Rejected {
    /// At least one error.
    pub errors: Vec<Diagnostic>,
    /// Warnings, as in [`Loaded`].
    pub warnings: Vec<Diagnostic>,
}

impl Totem {
    /// What protects traffic, combining `secauth` and `crypto_cipher` (`crypto_cipher`
    /// wins when both are given; validation refuses contradictions).
    pub fn encryption(&self) -> Encryption {
        match (self.crypto_cipher, self.secauth) {
            (Some(Cipher::Aes256), _) | (None, Some(true)) => Encryption::Aes256,
            (Some(Cipher::None), _) | (None, Some(false)) => Encryption::None,
            (None, None) => Encryption::WhenKeyExists,
        }
    }

    /// True when the ring may run without an authkey: only when the file says so.
    pub fn allows_missing_key(&self) -> bool {
        self.encryption() == Encryption::None
    }
}

impl HaConf {
    /// Total votes expected: `quorum.expected_votes`, else the sum of the nodelist's votes.
    pub fn expected_votes(&self) -> u32 {
        self.quorum
            .expected_votes
            .unwrap_or_else(|| self.nodes.iter().map(|n| n.quorum_votes).sum())
    }

    /// The node with this id, if listed.
    pub fn node(&self, nodeid: u32) -> Option<&NodeConf> {
        self.nodes.iter().find(|n| n.nodeid == nodeid)
    }

    /// Ring 0's interface, if the file has one.
    pub fn ring0_interface(&self) -> Option<&Interface> {
        self.totem.interfaces.iter().find(|i| i.ringnumber == 0)
    }

    /// The UDP port ring 0 uses (its interface's `mcastport`, else the default).
    pub fn port(&self) -> u16 {
        self.ring0_interface()
            .map_or(DEFAULT_MCASTPORT, |i| i.mcastport)
    }

    /// Renders the effective configuration in ha.conf syntax, every default written out.
    /// Parsing the result gives back an equal `HaConf`.
    pub fn to_conf_text(&self) -> String {
        let mut out = String::new();
        let t = &self.totem;
        let yes_no = |b: bool| if b { "yes" } else { "no" };
        let _ = writeln!(out, "totem {{");
        let _ = writeln!(out, "\tversion: {}", t.version);
        let _ = writeln!(out, "\tcluster_name: {}", t.cluster_name);
        if let Some(secauth) = t.secauth {
            let _ = writeln!(out, "\tsecauth: {}", if secauth { "on" } else { "off" });
        }
        if let Some(cipher) = t.crypto_cipher {
            let _ = writeln!(out, "\tcrypto_cipher: {}", enum_name(&cipher));
        }
        if let Some(hash) = t.crypto_hash {
            let _ = writeln!(out, "\tcrypto_hash: {}", enum_name(&hash));
        }
        if let Some(keyfile) = &t.keyfile {
            let _ = writeln!(out, "\tkeyfile: {}", keyfile.display());
        }
        let _ = writeln!(out, "\ttransport: {}", enum_name(&t.transport));
        let _ = writeln!(out, "\ttoken: {}", t.token_ms);
        let _ = writeln!(out, "\tconsensus: {}", t.consensus_ms);
        let _ = writeln!(out, "\tjoin: {}", t.join_ms);
        let _ = writeln!(
            out,
            "\ttoken_retransmits_before_loss_const: {}",
            t.token_retransmits_before_loss_const
        );
        let _ = writeln!(out, "\tnetmtu: {}", t.netmtu);
        let _ = writeln!(out, "\twindow_size: {}", t.window_size);
        let _ = writeln!(out, "\tmax_messages: {}", t.max_messages);
        let _ = writeln!(
            out,
            "\tclear_node_high_bit: {}",
            yes_no(t.clear_node_high_bit)
        );
        for i in &t.interfaces {
            let _ = writeln!(out, "\tinterface {{");
            let _ = writeln!(out, "\t\tringnumber: {}", i.ringnumber);
            if let Some(a) = i.bindnetaddr {
                let _ = writeln!(out, "\t\tbindnetaddr: {a}");
            }
            if let Some(a) = i.mcastaddr {
                let _ = writeln!(out, "\t\tmcastaddr: {a}");
            }
            let _ = writeln!(out, "\t\tmcastport: {}", i.mcastport);
            let _ = writeln!(out, "\t\tttl: {}", i.ttl);
            let _ = writeln!(out, "\t}}");
        }
        let _ = writeln!(out, "}}");
        if !self.nodes.is_empty() {
            let _ = writeln!(out, "\nnodelist {{");
            for n in &self.nodes {
                let _ = writeln!(out, "\tnode {{");
                if let Some(name) = &n.name {
                    let _ = writeln!(out, "\t\tname: {name}");
                }
                if !n.nodeid_from_address {
                    let _ = writeln!(out, "\t\tnodeid: {}", n.nodeid);
                }
                let _ = writeln!(out, "\t\tring0_addr: {}", n.ring0_addr);
                let _ = writeln!(out, "\t\tquorum_votes: {}", n.quorum_votes);
                let _ = writeln!(out, "\t}}");
            }
            let _ = writeln!(out, "}}");
        }
        let q = &self.quorum;
        let _ = writeln!(out, "\nquorum {{");
        if let Some(p) = &q.provider {
            let _ = writeln!(out, "\tprovider: {p}");
        }
        if let Some(v) = q.expected_votes {
            let _ = writeln!(out, "\texpected_votes: {v}");
        }
        let _ = writeln!(out, "\ttwo_node: {}", u8::from(q.two_node));
        let _ = writeln!(out, "\twait_for_all: {}", u8::from(q.wait_for_all));
        let _ = writeln!(out, "}}");
        let l = &self.logging;
        let _ = writeln!(out, "\nlogging {{");
        let _ = writeln!(out, "\tto_stderr: {}", yes_no(l.to_stderr));
        let _ = writeln!(out, "\tto_logfile: {}", yes_no(l.to_logfile));
        if let Some(f) = &l.logfile {
            let _ = writeln!(out, "\tlogfile: {}", f.display());
        }
        let _ = writeln!(out, "\tto_syslog: {}", yes_no(l.to_syslog));
        let _ = writeln!(out, "\tdebug: {}", if l.debug { "on" } else { "off" });
        let _ = writeln!(
            out,
            "\ttimestamp: {}",
            if l.timestamp { "on" } else { "off" }
        );
        let _ = writeln!(out, "}}");
        out
    }
}

fn enum_name(value: &impl serde::Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// Node id corosync-style from an IPv4 address: the address as a big-endian 32-bit number,
/// bit 31 cleared when `clear_high_bit` (some tools treat ids as signed). `None` for IPv6
/// or when the result would be 0, which is not a valid id.
pub fn nodeid_from_ipv4(address: IpAddr, clear_high_bit: bool) -> Option<u32> {
    let IpAddr::V4(v4) = address else {
        return None;
    };
    let mut id = u32::from(v4);
    if clear_high_bit {
        id &= 0x7fff_ffff;
    }
    (id != 0).then_some(id)
}

// ---------------------------------------------------------------------------------------
// Building the typed form from the tree.

const TOTEM_UNUSED: &[&str] = &[
    "threads",
    "rrp_mode",
    "vsftype",
    "send_join",
    "merge",
    "downcheck",
    "fail_recv_const",
    "seqno_unchanged_const",
    "heartbeat_failures_allowed",
    "max_network_delay",
    "token_retransmit",
    "hold",
    "ip_version",
    "link_mode",
    "config_version",
    "miss_count_const",
    "knet_pmtud_interval",
    "knet_compression_model",
    "block_unlisted_ips",
];
const INTERFACE_UNUSED: &[&str] = &[
    "broadcast",
    "knet_link_priority",
    "knet_ping_interval",
    "knet_ping_timeout",
    "knet_transport",
];
const LOGGING_UNUSED: &[&str] = &[
    "fileline",
    "function_name",
    "syslog_facility",
    "syslog_priority",
    "logfile_priority",
    "debug_logfile",
    "blackbox",
];
const QUORUM_UNSUPPORTED: &[&str] = &[
    "last_man_standing",
    "last_man_standing_window",
    "auto_tie_breaker",
    "auto_tie_breaker_node",
    "allow_downscale",
    "expected_votes_tracking",
];

struct Ctx<'a> {
    file: &'a str,
    errors: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
}

impl Ctx<'_> {
    fn error(&mut self, pos: Pos, key: &str, message: impl Into<String>) {
        self.errors
            .push(Diagnostic::new(self.file, pos, key, message));
    }
    fn warn(&mut self, pos: Pos, key: &str, message: impl Into<String>) {
        self.warnings
            .push(Diagnostic::new(self.file, pos, key, message));
    }
}

/// The keys of one section, each taken at most once; what is left over is reported.
struct Keys<'s> {
    section: &'s Section,
    path: String,
    taken: Vec<bool>,
}

impl<'s> Keys<'s> {
    fn new(section: &'s Section, path: &str) -> Keys<'s> {
        Keys {
            section,
            path: path.into(),
            taken: vec![false; section.entries.len()],
        }
    }

    fn path_of(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.into()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// The entry for `key`; a second occurrence is an error (corosync would silently let
    /// the later one win, which hides typos in long files).
    fn take(&mut self, ctx: &mut Ctx<'_>, key: &str) -> Option<&'s Entry> {
        let mut found: Option<&'s Entry> = None;
        for (index, entry) in self.section.entries.iter().enumerate() {
            if entry.key != key {
                continue;
            }
            self.taken[index] = true;
            match found {
                None => found = Some(entry),
                Some(first) => ctx.error(
                    entry.key_pos,
                    &self.path_of(key),
                    format!("given twice (first at line {})", first.key_pos.line),
                ),
            }
        }
        found
    }

    /// Parses `key` with `parse` (which says what it expected on failure).
    fn get<T>(
        &mut self,
        ctx: &mut Ctx<'_>,
        key: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Option<(T, Pos)> {
        let entry = self.take(ctx, key)?;
        match parse(&entry.value) {
            Ok(value) => Some((value, entry.value_pos)),
            Err(expected) => {
                let got = if entry.value.is_empty() {
                    "nothing".to_string()
                } else {
                    format!("{:?}", entry.value)
                };
                ctx.error(
                    entry.value_pos,
                    &self.path_of(key),
                    format!("expected {expected}, got {got}"),
                );
                None
            }
        }
    }

    /// Reports keys nobody took: `unused` ones as known-but-unused, the rest as unknown.
    fn finish(self, ctx: &mut Ctx<'_>, unused: &[&str], unused_note: &str) {
        for (index, entry) in self.section.entries.iter().enumerate() {
            if self.taken[index] {
                continue;
            }
            let path = self.path_of(&entry.key);
            if unused.contains(&entry.key.as_str()) {
                ctx.warn(entry.key_pos, &path, unused_note);
            } else {
                ctx.warn(entry.key_pos, &path, "unknown key, ignored");
            }
        }
    }
}

fn parse_bool(text: &str) -> Result<bool, String> {
    match text {
        "on" | "yes" | "true" | "1" => Ok(true),
        "off" | "no" | "false" | "0" => Ok(false),
        _ => Err("on/off, yes/no or 1/0".into()),
    }
}

fn parse_int_in(low: u64, high: u64) -> impl Fn(&str) -> Result<u64, String> {
    move |text| match text.parse::<u64>() {
        Ok(v) if (low..=high).contains(&v) => Ok(v),
        _ => Err(format!("an integer from {low} to {high}")),
    }
}

fn parse_ip(text: &str) -> Result<IpAddr, String> {
    text.parse::<IpAddr>()
        .map_err(|_| "an IPv4 or IPv6 address (host names are not resolved)".into())
}

/// Narrowing after a range-checked parse; the range makes the fallback unreachable.
fn narrow<T: TryFrom<u64> + Copy>(value: u64, fallback: T) -> T {
    T::try_from(value).unwrap_or(fallback)
}

/// Builds and validates the typed configuration from a parsed tree.
pub fn build(root: &Section, file: &str) -> Result<Loaded, Rejected> {
    let mut ctx = Ctx {
        file,
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    for entry in &root.entries {
        ctx.warn(
            entry.key_pos,
            &entry.key,
            "key outside any section, ignored",
        );
    }
    let mut singles: HashMap<&str, &Section> = HashMap::new();
    let mut services = Vec::new();
    for section in &root.sections {
        match section.name.as_str() {
            "totem" | "nodelist" | "quorum" | "logging" | "aisexec" | "amf" => {
                if let Some(first) = singles.get(section.name.as_str()) {
                    ctx.error(
                        section.pos,
                        &section.name,
                        format!("section given twice (first at line {})", first.pos.line),
                    );
                } else {
                    singles.insert(&section.name, section);
                }
            }
            "service" => services.push(build_service(&mut ctx, section)),
            other => ctx.warn(section.pos, other, "unknown section, ignored"),
        }
    }
    if let Some(aisexec) = singles.get("aisexec") {
        let mut keys = Keys::new(aisexec, "aisexec");
        keys.take(&mut ctx, "user");
        keys.take(&mut ctx, "group");
        keys.finish(&mut ctx, &[], "");
        ctx.warn(
            aisexec.pos,
            "aisexec",
            "accepted, not needed: hakit daemons run as the user that starts them",
        );
    }
    if let Some(amf) = singles.get("amf") {
        ctx.warn(amf.pos, "amf", "accepted, not used by hakit");
    }
    let nodes = singles
        .get("nodelist")
        .map(|s| build_nodelist(&mut ctx, s))
        .unwrap_or_default();
    // Absent sections read as empty ones; problems they cause point at the file's start.
    let empty = Section {
        pos: Pos { line: 1, column: 1 },
        ..Section::default()
    };
    let has_nodelist = singles.contains_key("nodelist");
    let totem = build_totem(
        &mut ctx,
        singles.get("totem").copied().unwrap_or(&empty),
        has_nodelist,
    );
    let nodes = finish_nodes(&mut ctx, nodes, totem.clear_node_high_bit);
    let quorum = build_quorum(
        &mut ctx,
        singles.get("quorum").copied().unwrap_or(&empty),
        &nodes,
    );
    let logging = build_logging(&mut ctx, singles.get("logging").copied().unwrap_or(&empty));
    let conf = HaConf {
        totem,
        nodes: nodes.into_iter().map(|(node, _)| node).collect(),
        quorum,
        logging,
        services,
    };
    // Report in file order, whatever order the sections were checked in.
    ctx.errors.sort_by_key(|d| (d.line, d.column));
    ctx.warnings.sort_by_key(|d| (d.line, d.column));
    if ctx.errors.is_empty() {
        Ok(Loaded {
            conf,
            warnings: ctx.warnings,
        })
    } else {
        Err(Rejected {
            errors: ctx.errors,
            warnings: ctx.warnings,
        })
    }
}

fn build_service(ctx: &mut Ctx<'_>, section: &Section) -> Service {
    let mut keys = Keys::new(section, "service");
    let name = keys.get(ctx, "name", |v| Ok(v.to_string()));
    let ver = keys.get(ctx, "ver", |v| {
        v.parse::<u32>().map_err(|_| "a version number".to_string())
    });
    keys.finish(
        ctx,
        &["use_mgmtd", "use_logd", "clustername"],
        "accepted, not used",
    );
    let name = match name {
        Some((name, _)) => name,
        None => {
            ctx.error(section.pos, "service.name", "expected a service name");
            String::new()
        }
    };
    ctx.warn(
        section.pos,
        "service",
        format!("service {name:?} accepted, not needed: hakit runs its resource manager as ha-crm"),
    );
    Service {
        name,
        ver: ver.map(|(v, _)| v),
    }
}

fn build_totem(ctx: &mut Ctx<'_>, section: &Section, has_nodelist: bool) -> Totem {
    let mut keys = Keys::new(section, "totem");
    let version = match keys.get(ctx, "version", |v| {
        (v == "2")
            .then_some(2)
            .ok_or_else(|| "2 (the only protocol version)".to_string())
    }) {
        Some((v, _)) => v,
        None => 2,
    };
    let cluster_name = keys
        .get(ctx, "cluster_name", |v| {
            if v.is_empty() || v.len() > MAX_CLUSTER_NAME_BYTES || v.contains(char::is_whitespace) {
                Err(format!(
                    "a name of 1 to {MAX_CLUSTER_NAME_BYTES} bytes without blanks"
                ))
            } else {
                Ok(v.to_string())
            }
        })
        .map_or_else(|| DEFAULT_CLUSTER_NAME.to_string(), |(v, _)| v);
    let secauth = keys.get(ctx, "secauth", parse_bool);
    let cipher = keys.get(ctx, "crypto_cipher", |v| match v {
        "none" => Ok(Cipher::None),
        "aes256" => Ok(Cipher::Aes256),
        _ => Err("none or aes256 (aes128 and aes192 are not supported)".into()),
    });
    if let (Some((true, _)), Some((Cipher::None, pos))) = (secauth, cipher) {
        ctx.error(
            pos,
            "totem.crypto_cipher",
            "expected aes256 or no crypto_cipher: secauth is on",
        );
    }
    let crypto_hash = keys
        .get(ctx, "crypto_hash", |v| match v {
            "none" => Ok(HashAlgorithm::None),
            "md5" => Ok(HashAlgorithm::Md5),
            "sha1" => Ok(HashAlgorithm::Sha1),
            "sha256" => Ok(HashAlgorithm::Sha256),
            "sha384" => Ok(HashAlgorithm::Sha384),
            "sha512" => Ok(HashAlgorithm::Sha512),
            _ => Err("none, md5, sha1, sha256, sha384 or sha512".into()),
        })
        .map(|(v, pos)| {
            if !matches!(v, HashAlgorithm::None | HashAlgorithm::Sha256) {
                ctx.warn(
                    pos,
                    "totem.crypto_hash",
                    "hakit authenticates with HMAC-SHA256 whatever the hash named here",
                );
            }
            v
        });
    let keyfile = keys
        .get(ctx, "keyfile", |v| {
            if v.starts_with('/') {
                Ok(PathBuf::from(v))
            } else {
                Err("an absolute path".into())
            }
        })
        .map(|(v, _)| v);
    let transport = match keys.get(ctx, "transport", |v| match v {
        "udp" => Ok(Some(Transport::Udp)),
        "udpu" => Ok(Some(Transport::Udpu)),
        "knet" => Ok(None),
        _ => Err("udp or udpu".into()),
    }) {
        Some((Some(t), _)) => t,
        Some((None, pos)) => {
            ctx.warn(
                pos,
                "totem.transport",
                "knet is not available; unicast udpu is used instead",
            );
            Transport::Udpu
        }
        None if has_nodelist => Transport::Udpu,
        None => Transport::Udp,
    };
    let (lo, hi) = TOKEN_MS_RANGE;
    let token_ms = keys
        .get(ctx, "token", parse_int_in(lo, hi))
        .map_or(DEFAULT_TOKEN_MS, |(v, _)| v);
    let (lo, hi) = CONSENSUS_MS_RANGE;
    let consensus = keys.get(ctx, "consensus", parse_int_in(lo, hi));
    let consensus_ms = match consensus {
        Some((v, pos)) => {
            if v <= token_ms {
                ctx.error(
                    pos,
                    "totem.consensus",
                    format!("expected more than token ({token_ms} ms), got {v}"),
                );
            }
            v
        }
        None => token_ms + token_ms / 5,
    };
    let (lo, hi) = JOIN_MS_RANGE;
    let join_ms = keys
        .get(ctx, "join", parse_int_in(lo, hi))
        .map_or(DEFAULT_JOIN_MS, |(v, _)| v);
    let (lo, hi) = TOKEN_RETRANSMITS_RANGE;
    let token_retransmits_before_loss_const = keys
        .get(
            ctx,
            "token_retransmits_before_loss_const",
            parse_int_in(lo, hi),
        )
        .map_or(DEFAULT_TOKEN_RETRANSMITS, |(v, _)| narrow(v, u32::MAX));
    let (lo, hi) = NETMTU_RANGE;
    let netmtu = keys
        .get(ctx, "netmtu", parse_int_in(lo, hi))
        .map_or(DEFAULT_NETMTU, |(v, _)| narrow(v, DEFAULT_NETMTU));
    let (lo, hi) = WINDOW_RANGE;
    let window_size = keys
        .get(ctx, "window_size", parse_int_in(lo, hi))
        .map_or(DEFAULT_WINDOW_SIZE, |(v, _)| narrow(v, DEFAULT_WINDOW_SIZE));
    let max_messages = match keys.get(ctx, "max_messages", parse_int_in(lo, hi)) {
        Some((v, pos)) => {
            if v > u64::from(window_size) {
                ctx.error(
                    pos,
                    "totem.max_messages",
                    format!("expected at most window_size ({window_size}), got {v}"),
                );
            }
            narrow(v, DEFAULT_MAX_MESSAGES)
        }
        None => DEFAULT_MAX_MESSAGES.min(window_size),
    };
    let clear_node_high_bit = keys
        .get(ctx, "clear_node_high_bit", parse_bool)
        .is_some_and(|(v, _)| v);
    keys.finish(ctx, TOTEM_UNUSED, "accepted, not used by hakit");

    let mut interfaces: Vec<(Interface, Pos)> = Vec::new();
    for sub in &section.sections {
        if sub.name != "interface" {
            ctx.warn(
                sub.pos,
                &format!("totem.{}", sub.name),
                "unknown section, ignored",
            );
            continue;
        }
        let Some(interface) = build_interface(ctx, sub) else {
            continue;
        };
        if let Some((_, first)) = interfaces
            .iter()
            .find(|(i, _)| i.ringnumber == interface.ringnumber)
        {
            ctx.error(
                sub.pos,
                "totem.interface.ringnumber",
                format!(
                    "ring {} given twice (first at line {})",
                    interface.ringnumber, first.line
                ),
            );
            continue;
        }
        if interface.ringnumber > 0 {
            ctx.warn(
                sub.pos,
                "totem.interface.ringnumber",
                "only ring 0 carries traffic; redundant rings are ignored",
            );
        }
        interfaces.push((interface, sub.pos));
    }
    interfaces.sort_by_key(|(i, _)| i.ringnumber);

    if transport == Transport::Udp {
        let ring0 = interfaces.iter().find(|(i, _)| i.ringnumber == 0);
        match ring0 {
            None => ctx.error(
                section.pos,
                "totem.interface",
                "expected an interface { ringnumber: 0, bindnetaddr, mcastaddr } for \
                 transport udp, or a nodelist for udpu",
            ),
            Some((i, pos)) => {
                // A value that failed to parse was reported already; do not say "missing".
                let reported = |ctx: &Ctx<'_>, key: &str| ctx.errors.iter().any(|e| e.key == key);
                if i.bindnetaddr.is_none() && !reported(ctx, "totem.interface.bindnetaddr") {
                    ctx.error(
                        *pos,
                        "totem.interface.bindnetaddr",
                        "expected a bindnetaddr for transport udp",
                    );
                }
                if i.mcastaddr.is_none() && !reported(ctx, "totem.interface.mcastaddr") {
                    ctx.error(
                        *pos,
                        "totem.interface.mcastaddr",
                        "expected a mcastaddr for transport udp",
                    );
                }
            }
        }
    } else if !has_nodelist {
        ctx.error(
            section.pos,
            "totem.transport",
            "expected a nodelist: transport udpu sends to every node's ring0_addr",
        );
    }

    Totem {
        version,
        cluster_name,
        secauth: secauth.map(|(v, _)| v),
        crypto_cipher: cipher.map(|(v, _)| v),
        crypto_hash,
        keyfile,
        transport,
        token_ms,
        consensus_ms,
        join_ms,
        token_retransmits_before_loss_const,
        netmtu,
        window_size,
        max_messages,
        clear_node_high_bit,
        interfaces: interfaces.into_iter().map(|(i, _)| i).collect(),
    }
}

fn build_interface(ctx: &mut Ctx<'_>, section: &Section) -> Option<Interface> {
    let mut keys = Keys::new(section, "totem.interface");
    let ring = keys.get(ctx, "ringnumber", parse_int_in(0, 7));
    let link = keys.get(ctx, "linknumber", parse_int_in(0, 7));
    let ringnumber = ring.or(link).map_or(0, |(v, _)| narrow(v, 0u8));
    let bindnetaddr = keys.get(ctx, "bindnetaddr", parse_ip).map(|(v, _)| v);
    let mcastaddr = keys
        .get(ctx, "mcastaddr", |v| match parse_ip(v) {
            Ok(ip) if ip.is_multicast() => Ok(ip),
            _ => Err("a multicast address (224.0.0.0/4 or ff00::/8)".to_string()),
        })
        .map(|(v, _)| v);
    let mcastport = keys
        .get(ctx, "mcastport", parse_int_in(1, 65535))
        .map_or(DEFAULT_MCASTPORT, |(v, _)| narrow(v, DEFAULT_MCASTPORT));
    let ttl = keys
        .get(ctx, "ttl", parse_int_in(1, 255))
        .map_or(1, |(v, _)| narrow(v, 1u8));
    keys.finish(ctx, INTERFACE_UNUSED, "accepted, not used by hakit");
    for sub in &section.sections {
        ctx.warn(
            sub.pos,
            &format!("totem.interface.{}", sub.name),
            "unknown section, ignored",
        );
    }
    if let (Some(bind), Some(mcast)) = (bindnetaddr, mcastaddr)
        && bind.is_ipv4() != mcast.is_ipv4()
    {
        ctx.error(
            section.pos,
            "totem.interface.mcastaddr",
            "expected the same address family as bindnetaddr",
        );
    }
    Some(Interface {
        ringnumber,
        bindnetaddr,
        mcastaddr,
        mcastport,
        ttl,
    })
}

/// A node as read, before ids are derived from addresses and checked for duplicates.
struct RawNode {
    name: Option<(String, Pos)>,
    nodeid: Option<(u32, Pos)>,
    ring0_addr: (IpAddr, Pos),
    quorum_votes: u32,
    pos: Pos,
}

fn build_nodelist(ctx: &mut Ctx<'_>, section: &Section) -> Vec<RawNode> {
    let keys = Keys::new(section, "nodelist");
    keys.finish(ctx, &[], "");
    let mut nodes = Vec::new();
    for sub in &section.sections {
        if sub.name != "node" {
            ctx.warn(
                sub.pos,
                &format!("nodelist.{}", sub.name),
                "unknown section, ignored",
            );
            continue;
        }
        let mut keys = Keys::new(sub, "nodelist.node");
        let name = keys.get(ctx, "name", |v| {
            if v.is_empty() || v.contains(char::is_whitespace) {
                Err("a node name without blanks".to_string())
            } else {
                Ok(v.to_string())
            }
        });
        let nodeid = keys
            .get(ctx, "nodeid", parse_int_in(1, u64::from(u32::MAX)))
            .map(|(v, pos)| (narrow(v, u32::MAX), pos));
        let ring0 = keys.get(ctx, "ring0_addr", parse_ip);
        let votes = keys
            .get(ctx, "quorum_votes", parse_int_in(0, MAX_QUORUM_VOTES))
            .map_or(1, |(v, _)| narrow(v, 1u32));
        let extra_rings: Vec<String> = (1..8).map(|n| format!("ring{n}_addr")).collect();
        let extra: Vec<&str> = extra_rings.iter().map(String::as_str).collect();
        keys.finish(ctx, &extra, "only ring 0 carries traffic; ignored");
        match ring0 {
            Some(addr) => nodes.push(RawNode {
                name,
                nodeid,
                ring0_addr: addr,
                quorum_votes: votes,
                pos: sub.pos,
            }),
            None => {
                // A ring0_addr that failed to parse was reported already.
                if !sub.entries.iter().any(|e| e.key == "ring0_addr") {
                    ctx.error(
                        sub.pos,
                        "nodelist.node.ring0_addr",
                        "expected a ring0_addr for every node",
                    );
                }
            }
        }
    }
    if section.sections.is_empty() {
        ctx.error(
            section.pos,
            "nodelist",
            "expected at least one node { ring0_addr, nodeid, name }",
        );
    }
    nodes
}

fn finish_nodes(
    ctx: &mut Ctx<'_>,
    raw: Vec<RawNode>,
    clear_high_bit: bool,
) -> Vec<(NodeConf, Pos)> {
    let mut out: Vec<(NodeConf, Pos)> = Vec::new();
    let mut ids: BTreeMap<u32, Pos> = BTreeMap::new();
    let mut names: BTreeMap<String, Pos> = BTreeMap::new();
    let mut addrs: BTreeMap<IpAddr, Pos> = BTreeMap::new();
    for node in raw {
        let (addr, addr_pos) = node.ring0_addr;
        let (nodeid, from_address, id_pos) = match node.nodeid {
            Some((id, pos)) => (id, false, pos),
            None => match nodeid_from_ipv4(addr, clear_high_bit) {
                Some(id) => (id, true, node.pos),
                None => {
                    ctx.error(
                        node.pos,
                        "nodelist.node.nodeid",
                        "expected a nodeid (it cannot be derived from an IPv6 address)",
                    );
                    continue;
                }
            },
        };
        let address_repeated = addrs.contains_key(&addr);
        if let Some(first) = ids.get(&nodeid) {
            // A derived id repeats exactly when the address does; report that once, below.
            if !(from_address && address_repeated) {
                ctx.error(
                    id_pos,
                    "nodelist.node.nodeid",
                    format!(
                        "node id {nodeid} given twice (first at line {})",
                        first.line
                    ),
                );
            }
        } else {
            ids.insert(nodeid, id_pos);
        }
        if let Some((name, pos)) = &node.name {
            if let Some(first) = names.get(name) {
                ctx.error(
                    *pos,
                    "nodelist.node.name",
                    format!(
                        "node name {name:?} given twice (first at line {})",
                        first.line
                    ),
                );
            } else {
                names.insert(name.clone(), *pos);
            }
        }
        if let Some(first) = addrs.get(&addr) {
            ctx.error(
                addr_pos,
                "nodelist.node.ring0_addr",
                format!("address {addr} given twice (first at line {})", first.line),
            );
        } else {
            addrs.insert(addr, addr_pos);
        }
        if addr.is_multicast() || addr.is_unspecified() {
            ctx.error(
                addr_pos,
                "nodelist.node.ring0_addr",
                format!("expected a unicast host address, got {addr}"),
            );
        }
        out.push((
            NodeConf {
                nodeid,
                nodeid_from_address: from_address,
                name: node.name.map(|(n, _)| n),
                ring0_addr: addr,
                quorum_votes: node.quorum_votes,
            },
            node.pos,
        ));
    }
    out
}

fn build_quorum(ctx: &mut Ctx<'_>, section: &Section, nodes: &[(NodeConf, Pos)]) -> Quorum {
    let mut keys = Keys::new(section, "quorum");
    let provider = keys
        .get(ctx, "provider", |v| {
            if v == "corosync_votequorum" {
                Ok(v.to_string())
            } else {
                Err("corosync_votequorum".into())
            }
        })
        .map(|(v, _)| v);
    let expected_votes = keys
        .get(ctx, "expected_votes", parse_int_in(1, 65535))
        .map(|(v, pos)| (narrow(v, 1u32), pos));
    let two_node = keys.get(ctx, "two_node", parse_bool);
    let wait_for_all = keys.get(ctx, "wait_for_all", parse_bool);
    keys.finish(
        ctx,
        QUORUM_UNSUPPORTED,
        "not supported by hakit, ignored: plain vote counting applies",
    );
    if let Some((true, pos)) = two_node {
        let node_count = nodes.len();
        let fits = if node_count > 0 {
            node_count == 2
        } else {
            matches!(expected_votes, Some((2, _)))
        };
        if !fits {
            let message = if node_count > 0 {
                format!("expected exactly two nodes for two_node, the nodelist has {node_count}")
            } else {
                "expected expected_votes: 2 for two_node without a nodelist".to_string()
            };
            ctx.error(pos, "quorum.two_node", message);
        }
    }
    let two = two_node.is_some_and(|(v, _)| v);
    Quorum {
        provider,
        expected_votes: expected_votes.map(|(v, _)| v),
        two_node: two,
        wait_for_all: wait_for_all.map_or(two, |(v, _)| v),
    }
}

fn build_logging(ctx: &mut Ctx<'_>, section: &Section) -> Logging {
    let mut keys = Keys::new(section, "logging");
    let flag = |keys: &mut Keys<'_>, ctx: &mut Ctx<'_>, key: &str, default: bool| {
        keys.get(ctx, key, parse_bool).map_or(default, |(v, _)| v)
    };
    let to_stderr = flag(&mut keys, ctx, "to_stderr", true);
    let to_logfile_entry = keys.get(ctx, "to_logfile", parse_bool);
    let to_syslog = flag(&mut keys, ctx, "to_syslog", true);
    let timestamp = keys
        .get(ctx, "timestamp", |v| match v {
            "hires" => Ok(true),
            other => parse_bool(other).map_err(|_| "on, off or hires".to_string()),
        })
        .is_some_and(|(v, _)| v);
    let debug = keys
        .get(ctx, "debug", |v| match v {
            "on" | "yes" | "trace" => Ok(true),
            "off" | "no" => Ok(false),
            _ => Err("on, off or trace".into()),
        })
        .is_some_and(|(v, _)| v);
    let logfile = keys
        .get(ctx, "logfile", |v| {
            if v.starts_with('/') {
                Ok(PathBuf::from(v))
            } else {
                Err("an absolute path".into())
            }
        })
        .map(|(v, _)| v);
    keys.finish(ctx, LOGGING_UNUSED, "accepted, not used by hakit");
    for sub in &section.sections {
        let path = format!("logging.{}", sub.name);
        if sub.name == "logger_subsys" {
            ctx.warn(sub.pos, &path, "accepted, not used by hakit");
        } else {
            ctx.warn(sub.pos, &path, "unknown section, ignored");
        }
    }
    let to_logfile = match to_logfile_entry {
        Some((true, pos)) if logfile.is_none() => {
            ctx.error(
                pos,
                "logging.to_logfile",
                "expected a logfile: path alongside to_logfile: yes",
            );
            true
        }
        Some((v, _)) => v,
        None => false,
    };
    Logging {
        to_stderr,
        to_logfile,
        logfile,
        to_syslog,
        debug,
        timestamp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_from_ipv4_are_big_endian_and_optionally_masked() {
        let a: IpAddr = "192.168.2.101".parse().unwrap();
        assert_eq!(nodeid_from_ipv4(a, false), Some(0xC0A8_0265));
        assert_eq!(nodeid_from_ipv4(a, true), Some(0x40A8_0265));
        assert_eq!(nodeid_from_ipv4("::1".parse().unwrap(), false), None);
        assert_eq!(nodeid_from_ipv4("0.0.0.0".parse().unwrap(), false), None);
    }

    #[test]
    fn encryption_combines_secauth_and_cipher() {
        let mut t = crate::conf::parse_str(
            "totem {\n interface {\n bindnetaddr: 10.0.0.0\n mcastaddr: 239.1.1.1\n }\n}\n",
            "t",
        )
        .unwrap()
        .conf
        .totem;
        assert_eq!(t.encryption(), Encryption::WhenKeyExists);
        t.secauth = Some(false);
        assert!(t.allows_missing_key());
        t.crypto_cipher = Some(Cipher::Aes256);
        assert_eq!(t.encryption(), Encryption::Aes256);
    }
}
