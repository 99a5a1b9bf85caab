//! `ha-cfgtool doctor`: the checks an administrator makes by hand when a ring will not form.
//!
//! [`observe`] gathers what this machine and the local `ha-ring` can tell (the configuration,
//! the key, local addresses, routes, the host name, the daemon's status and drop counts per
//! source, every member's facts through the configuration group); [`diagnose`] is a pure
//! function from those observations to findings, each with the command that fixes it.
//! Without a running daemon the daemon-side checks are replaced by a port probe.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs, UdpSocket};
use std::path::Path;
use std::time::Duration;

use anyhow::anyhow;
use serde::Serialize;
use serde_json::Value;

use super::{CliResult, Failure, print_json_failed_report, print_json_ok};
use crate::conf::authkey::AuthKey;
use crate::conf::identity::{self, LocalNode};
use crate::conf::model::{Encryption, Transport};
use crate::conf::{self, HaConf};
use crate::paths::Paths;
use crate::ring::cfgsync::sha256_hex;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The check passed.
    Ok,
    /// Worth a look; the ring can still form.
    Warning,
    /// Keeps the ring from forming or from agreeing.
    Error,
}

/// One finding. JSON:
/// `{"check":"drops","severity":"error","node":3,"message":"…","fix":"…"|null}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Which check: `config`, `local_node`, `authkey`, `address`, `route`, `hostname`,
    /// `daemon`, `port`, `running_config`, `drops`, `members`, `member_facts`.
    pub check: &'static str,
    /// How bad.
    pub severity: Severity,
    /// The node concerned, when one is.
    pub node: Option<u32>,
    /// What was found, one line.
    pub message: String,
    /// The command (or edit) that fixes it.
    pub fix: Option<String>,
}

/// A route lookup towards one other node.
#[derive(Debug, Clone)]
pub struct Route {
    /// Node id.
    pub node: u32,
    /// Display name.
    pub name: String,
    /// Its ring address.
    pub address: IpAddr,
    /// The local source address the kernel would use, or why there is no route.
    pub via: Result<IpAddr, String>,
}

/// Why the authkey cannot be used.
#[derive(Debug, Clone)]
pub struct KeyProblem {
    /// The error, one line.
    pub message: String,
    /// The file exists but others may read it.
    pub loose_mode: bool,
}

/// Everything [`diagnose`] looks at.
#[derive(Debug, Clone)]
pub struct Observations {
    /// The configuration file.
    pub conf_path: String,
    /// The parsed configuration, or the first error (`file:line: …`).
    pub conf: Result<HaConf, String>,
    /// Hex SHA-256 of the file, when readable.
    pub file_sha256: Option<String>,
    /// This machine's node, or why it is unknown (absent when the file did not parse).
    pub local: Option<Result<LocalNode, String>>,
    /// The authkey path.
    pub key_path: String,
    /// The key's fingerprint, or why it cannot be used.
    pub key: Result<String, KeyProblem>,
    /// This machine's interface addresses.
    pub local_addresses: Vec<IpAddr>,
    /// Route lookups towards the other nodes.
    pub routes: Vec<Route>,
    /// This machine's host name and what it resolves to.
    pub hostname: Option<(String, Result<Vec<IpAddr>, String>)>,
    /// Where ha-ring should be bound.
    pub expected_bind: Option<SocketAddr>,
    /// The daemon's `status`, or why it could not be reached.
    pub daemon: Result<Value, String>,
    /// Without a daemon: whether the ring port could be bound.
    pub port_probe: Option<Result<(), String>>,
    /// With a daemon: every member's facts (`config_facts`), or why not.
    pub facts: Option<Result<Value, String>>,
}

/// Drops from one source more recent than this are errors; older ones warnings.
const RECENT_DROP_MS: u64 = 60_000;

fn finding(
    check: &'static str,
    severity: Severity,
    node: Option<u32>,
    message: impl Into<String>,
    fix: Option<String>,
) -> Finding {
    Finding {
        check,
        severity,
        node,
        message: message.into(),
        fix,
    }
}

/// The findings for a set of observations, in the order an administrator checks.
pub fn diagnose(obs: &Observations) -> Vec<Finding> {
    use Severity::{Error, Ok as Pass, Warning};
    let mut out = Vec::new();
    let path = &obs.conf_path;
    let conf = match &obs.conf {
        Ok(conf) => {
            out.push(finding(
                "config",
                Pass,
                None,
                format!(
                    "{path} is valid ({} nodes, transport {})",
                    conf.nodes.len(),
                    transport_name(conf.totem.transport)
                ),
                None,
            ));
            Some(conf)
        }
        Err(e) => {
            out.push(finding(
                "config",
                Error,
                None,
                e.clone(),
                Some(format!("edit {path}, then run `ha-cfgtool config check`")),
            ));
            None
        }
    };
    let local = match &obs.local {
        Some(Ok(local)) => {
            out.push(finding(
                "local_node",
                Pass,
                Some(local.nodeid),
                format!(
                    "this machine is node {} ({}, {})",
                    local.nodeid,
                    local.name.as_deref().unwrap_or("no name"),
                    local.address
                ),
                None,
            ));
            Some(local)
        }
        Some(Err(e)) => {
            out.push(finding(
                "local_node",
                Error,
                None,
                format!("cannot tell which node this machine is: {e}"),
                Some(format!(
                    "add this machine's address as a ring0_addr in {path}, or name the node \
                     with `--node-id N` / HA_NODE_ID"
                )),
            ));
            None
        }
        None => None,
    };
    match (&obs.key, conf) {
        (Ok(fingerprint), _) => out.push(finding(
            "authkey",
            Pass,
            None,
            format!("{} ({fingerprint})", obs.key_path),
            None,
        )),
        (Err(_), Some(conf)) if conf.totem.encryption() == Encryption::None => out.push(finding(
            "authkey",
            Warning,
            None,
            format!(
                "no usable authkey at {}: traffic is only checksummed (secauth off)",
                obs.key_path
            ),
            Some("`ha-keygen`, copy it to every node, and remove `secauth: off`".into()),
        )),
        (Err(e), _) => out.push(finding(
            "authkey",
            Error,
            None,
            e.message.clone(),
            Some(if e.loose_mode {
                format!("`chmod 0400 {}`", obs.key_path)
            } else {
                "`ha-keygen` on one node, then `ha-cfgtool config export --with-key | ssh \
                 OTHER ha-cfgtool config import` on the others"
                    .into()
            }),
        )),
    }
    if let Some(local) = local {
        if obs.local_addresses.contains(&local.address) {
            out.push(finding(
                "address",
                Pass,
                Some(local.nodeid),
                format!("{} is an address of this machine", local.address),
                None,
            ));
        } else {
            out.push(finding(
                "address",
                Error,
                Some(local.nodeid),
                format!(
                    "this node's ring address {} is on no local interface",
                    local.address
                ),
                Some(format!(
                    "`ip addr add {}/24 dev IFACE`, or correct its ring0_addr in {path}",
                    local.address
                )),
            ));
        }
    }
    for route in &obs.routes {
        match &route.via {
            Ok(source) => out.push(finding(
                "route",
                Pass,
                Some(route.node),
                format!(
                    "node {} ({}, {}) is routed via local address {source}",
                    route.node, route.name, route.address
                ),
                None,
            )),
            Err(e) => out.push(finding(
                "route",
                Error,
                Some(route.node),
                format!(
                    "no route to node {} ({}, {}): {e}",
                    route.node, route.name, route.address
                ),
                Some(format!(
                    "`ip route get {}` shows why; fix the network or the node's ring0_addr",
                    route.address
                )),
            )),
        }
    }
    if let (Some(conf), Some((host, resolved))) = (conf, &obs.hostname) {
        diagnose_hostname(conf, host, resolved, &mut out);
    }
    match &obs.daemon {
        Err(why) => {
            out.push(finding(
                "daemon",
                Warning,
                None,
                format!("ha-ring is not running here ({why}); only local checks were made"),
                Some("`ha-ring` (or `systemctl start ha-ring`)".into()),
            ));
            if let (Some(bind), Some(probe)) = (obs.expected_bind, &obs.port_probe) {
                match probe {
                    Ok(()) => out.push(finding(
                        "port",
                        Pass,
                        None,
                        format!("UDP {bind} is free for ha-ring"),
                        None,
                    )),
                    Err(e) => out.push(finding(
                        "port",
                        Error,
                        None,
                        format!("cannot bind UDP {bind}: {e}"),
                        Some(format!(
                            "`ss -ulpn 'sport = :{}'` shows who holds it; stop it or change \
                             mcastport in {path}",
                            bind.port()
                        )),
                    )),
                }
            }
        }
        Ok(status) => diagnose_daemon(obs, conf, local, status, &mut out),
    }
    out
}

fn diagnose_hostname(
    conf: &HaConf,
    host: &str,
    resolved: &Result<Vec<IpAddr>, String>,
    out: &mut Vec<Finding>,
) {
    let short = host.split('.').next().unwrap_or(host);
    let Some(node) = conf.nodes.iter().find(|n| {
        n.name
            .as_deref()
            .is_some_and(|name| name == host || name == short)
    }) else {
        return; // the nodelist does not use this host's name
    };
    let name = node.display_name();
    match resolved {
        Err(e) => out.push(finding(
            "hostname",
            Severity::Warning,
            Some(node.nodeid),
            format!("host name {host} does not resolve: {e}"),
            Some(format!(
                "add `{} {host}` to /etc/hosts on every node",
                node.ring0_addr
            )),
        )),
        Ok(addresses)
            if addresses.iter().any(IpAddr::is_loopback) && !node.ring0_addr.is_loopback() =>
        {
            out.push(finding(
                "hostname",
                Severity::Error,
                Some(node.nodeid),
                format!(
                    "host name {host} (node {name}) resolves to loopback {}, not to its ring \
                     address {}",
                    join(addresses.iter().filter(|a| a.is_loopback())),
                    node.ring0_addr
                ),
                Some(format!(
                    "in /etc/hosts, remove {host} from the 127.x line and add `{} {host}`",
                    node.ring0_addr
                )),
            ))
        }
        Ok(addresses) => out.push(finding(
            "hostname",
            Severity::Ok,
            Some(node.nodeid),
            format!("host name {host} resolves to {}", join(addresses.iter())),
            None,
        )),
    }
}

fn diagnose_daemon(
    obs: &Observations,
    conf: Option<&HaConf>,
    local: Option<&LocalNode>,
    status: &Value,
    out: &mut Vec<Finding>,
) {
    use Severity::{Error, Ok as Pass, Warning};
    let path = &obs.conf_path;
    let bound = status["bound_address"].as_str().unwrap_or("?");
    match obs.expected_bind {
        Some(expected) if bound != expected.to_string() => out.push(finding(
            "port",
            Error,
            None,
            format!("ha-ring is bound to UDP {bound}, the configuration says {expected}"),
            Some("restart ha-ring (`ha-cfgtool shutdown`, then `ha-ring`)".into()),
        )),
        _ => out.push(finding(
            "port",
            Pass,
            None,
            format!("ha-ring is bound to UDP {bound}"),
            None,
        )),
    }
    let running = status["config_sha256"].as_str();
    if obs.file_sha256.is_some() && running != obs.file_sha256.as_deref() {
        out.push(finding(
            "running_config",
            Warning,
            None,
            format!("{path} changed since ha-ring loaded it"),
            Some("`ha-cfgtool reload` (and `ha-cfgtool sync` to pass it on)".into()),
        ));
    }
    let names = node_names(conf);
    let name_of = |id: u32| names_get(&names, id);
    let mut bad_sources = Vec::new();
    for source in status["drops_by_source"].as_array().into_iter().flatten() {
        let address = source["address"].as_str().unwrap_or("?");
        let node = source["node"].as_u64().map(|n| n as u32);
        let who = match node {
            Some(id) => format!("node {id} ({}, {address})", name_of(id)),
            None => format!("{address} (not in the nodelist)"),
        };
        let recent = source["last_ms_ago"].as_u64().unwrap_or(u64::MAX) < RECENT_DROP_MS;
        let severity = if recent { Error } else { Warning };
        let when = if recent {
            ""
        } else {
            " (not in the last minute)"
        };
        let count = |kind: &str| source["counts"][kind].as_u64().unwrap_or(0);
        let target = node.map_or_else(|| "THAT-NODE".to_string(), name_of);
        // (counter, whether it explains a missing member, severity, what it means, fix)
        let kinds = [
            (
                "bad_mac",
                true,
                severity,
                "failed authentication: its authkey differs",
                format!(
                    "`ha-cfgtool config export --with-key | ssh {target} ha-cfgtool config \
                     import --force`, then restart ha-ring on {target}"
                ),
            ),
            (
                "foreign_cluster",
                true,
                severity,
                "carry another cluster_name",
                format!(
                    "`ha-cfgtool config export | ssh {target} ha-cfgtool config import`, then \
                     restart ha-ring on {target}"
                ),
            ),
            (
                "unknown_node",
                false,
                Warning,
                "name a node id that is not in the nodelist",
                format!("add that node to the nodelist in {path}, then `ha-cfgtool sync`"),
            ),
            (
                "version",
                false,
                severity,
                "speak another wire version",
                "install the same hakit version on every node".to_string(),
            ),
        ];
        for (kind, explains_absence, severity, meaning, fix) in kinds {
            if count(kind) == 0 {
                continue;
            }
            if explains_absence {
                bad_sources.extend(node);
            }
            out.push(finding(
                "drops",
                severity,
                node,
                format!("{} datagrams from {who} {meaning}{when}", count(kind)),
                Some(fix),
            ));
        }
        let junk = count("truncated") + count("oversized") + count("malformed") + count("replay");
        if junk > 0 {
            out.push(finding(
                "drops",
                Warning,
                node,
                format!("{junk} malformed, truncated or replayed datagrams from {who}{when}"),
                Some(format!(
                    "find what sends them: `tcpdump -ni any udp and host {}`",
                    address.rsplit_once(':').map_or(address, |(host, _)| host)
                )),
            ));
        }
    }
    let members: Vec<u32> = status["members"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["id"].as_u64().map(|id| id as u32))
        .collect();
    if let Some(conf) = conf {
        for node in &conf.nodes {
            if members.contains(&node.nodeid) || local.is_some_and(|l| l.nodeid == node.nodeid) {
                continue;
            }
            let cause = if bad_sources.contains(&node.nodeid) {
                " (see the drops above)"
            } else {
                ""
            };
            out.push(finding(
                "members",
                Warning,
                Some(node.nodeid),
                format!(
                    "node {} ({}) is not in the ring{cause}",
                    node.nodeid,
                    node.display_name()
                ),
                Some(format!(
                    "start ha-ring on {} and run `ha-cfgtool doctor` there",
                    node.display_name()
                )),
            ));
        }
    }
    match &obs.facts {
        None => {}
        Some(Err(e)) => out.push(finding(
            "member_facts",
            Warning,
            None,
            format!("could not ask the members for their facts: {e}"),
            None,
        )),
        Some(Ok(report)) => diagnose_facts(status, report, &name_of, out),
    }
}

fn diagnose_facts(
    status: &Value,
    report: &Value,
    name_of: &dyn Fn(u32) -> String,
    out: &mut Vec<Finding>,
) {
    use Severity::{Error, Ok as Pass, Warning};
    let own = (
        status["key_fingerprint"].clone(),
        status["config_sha256"].clone(),
        status["version"].clone(),
    );
    let mut agree = Vec::new();
    for line in report["nodes"].as_array().into_iter().flatten() {
        let Some(id) = line["node"].as_u64().map(|n| n as u32) else {
            continue;
        };
        let who = format!("node {id} ({})", name_of(id));
        let facts = &line["facts"];
        if facts.is_null() {
            out.push(finding(
                "member_facts",
                Warning,
                Some(id),
                format!("{who} did not answer"),
                Some(format!("`ha-cfgtool doctor` on {}", name_of(id))),
            ));
            continue;
        }
        let mut differs = false;
        if facts["key_fingerprint"] != own.0 {
            differs = true;
            out.push(finding(
                "member_facts",
                Error,
                Some(id),
                format!(
                    "{who} uses authkey {}, this node {}",
                    facts["key_fingerprint"], own.0
                ),
                Some(format!(
                    "`ha-cfgtool config export --with-key | ssh {} ha-cfgtool config import \
                     --force`, then restart ha-ring there",
                    name_of(id)
                )),
            ));
        }
        if facts["config_sha256"] != own.1 {
            differs = true;
            out.push(finding(
                "member_facts",
                Error,
                Some(id),
                format!("{who} runs another configuration than this node"),
                Some("`ha-cfgtool sync` from the node whose ha.conf is right".into()),
            ));
        }
        if facts["version"] != own.2 {
            differs = true;
            out.push(finding(
                "member_facts",
                Warning,
                Some(id),
                format!("{who} runs hakit {}, this node {}", facts["version"], own.2),
                Some("install the same hakit version on every node".into()),
            ));
        }
        if !differs {
            agree.push(id.to_string());
        }
    }
    if !agree.is_empty() {
        out.push(finding(
            "member_facts",
            Pass,
            None,
            format!(
                "members {} have the same key, configuration and version",
                agree.join(", ")
            ),
            None,
        ));
    }
}

fn node_names(conf: Option<&HaConf>) -> Vec<(u32, String)> {
    conf.map(|c| {
        c.nodes
            .iter()
            .map(|n| (n.nodeid, n.display_name()))
            .collect()
    })
    .unwrap_or_default()
}

fn names_get(names: &[(u32, String)], id: u32) -> String {
    names
        .iter()
        .find(|(n, _)| *n == id)
        .map_or_else(|| format!("node{id}"), |(_, name)| name.clone())
}

fn transport_name(transport: Transport) -> &'static str {
    match transport {
        Transport::Udp => "udp",
        Transport::Udpu => "udpu",
    }
}

fn join<'a>(addresses: impl Iterator<Item = &'a IpAddr>) -> String {
    addresses
        .map(IpAddr::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

// ---------------------------------------------------------------------------------------
// Gathering (I/O).

/// Looks at the configuration, this machine and the local ha-ring (if running).
pub fn observe(paths: &Paths, node_id: Option<u32>, timeout: Duration) -> Observations {
    let path = paths.conf_file();
    let text = conf::read_text(&path);
    let file_sha256 = text.as_ref().ok().map(|t| sha256_hex(t.as_bytes()));
    let conf = match &text {
        Err(e) => Err(format!("{e:#}")),
        Ok(text) => conf::parse_str(text, &path.display().to_string())
            .map(|loaded| loaded.conf)
            .map_err(|rejected| conf::ConfError::Invalid(rejected).to_string()),
    };
    let local_list = crate::sys::net::local_addresses().unwrap_or_default();
    let local_addresses: Vec<IpAddr> = local_list.iter().map(|l| l.address).collect();
    let local = conf
        .as_ref()
        .ok()
        .map(|conf| identity::local_node(conf, node_id, &local_list).map_err(|e| e.to_string()));
    let key_path = conf
        .as_ref()
        .ok()
        .and_then(|c| c.totem.keyfile.clone())
        .unwrap_or_else(|| paths.authkey_file());
    let key = AuthKey::load(&key_path)
        .map(|k| k.fingerprint())
        .map_err(|e| KeyProblem {
            loose_mode: matches!(e, crate::conf::authkey::KeyError::LoosePermissions { .. }),
            message: format!("{:#}", anyhow::Error::new(e)),
        });
    let port = conf.as_ref().map_or(0, HaConf::port);
    let local_id = local
        .as_ref()
        .and_then(|l| l.as_ref().ok())
        .map(|l| l.nodeid);
    let routes = conf
        .as_ref()
        .map(|conf| {
            conf.nodes
                .iter()
                .filter(|n| Some(n.nodeid) != local_id)
                .map(|n| Route {
                    node: n.nodeid,
                    name: n.display_name(),
                    address: n.ring0_addr,
                    via: route_source(SocketAddr::new(n.ring0_addr, port)),
                })
                .collect()
        })
        .unwrap_or_default();
    // Resolved only when a node carries this host's name: that is when it matters, and it
    // spares a DNS query otherwise.
    let names_host = |host: &str| {
        let short = host.split('.').next().unwrap_or(host);
        conf.as_ref().is_ok_and(|c| {
            c.nodes.iter().any(|n| {
                n.name
                    .as_deref()
                    .is_some_and(|name| name == host || name == short)
            })
        })
    };
    let hostname = nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .filter(|host| names_host(host))
        .map(|host| {
            let resolved = (host.as_str(), 0)
                .to_socket_addrs()
                .map(|addrs| {
                    let mut ips: Vec<IpAddr> = addrs.map(|a| a.ip()).collect();
                    ips.sort_unstable();
                    ips.dedup();
                    ips
                })
                .map_err(|e| e.to_string());
            (host, resolved)
        });
    let expected_bind = match (&conf, &local) {
        (Ok(conf), Some(Ok(local))) => Some(match conf.totem.transport {
            Transport::Udpu => SocketAddr::new(local.address, port),
            Transport::Udp => SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
        }),
        _ => None,
    };
    let daemon = ring_request(paths, "status", Value::Null, crate::ipc::DEFAULT_TIMEOUT);
    let port_probe = match (&daemon, expected_bind) {
        (Err(_), Some(bind)) => Some(UdpSocket::bind(bind).map(drop).map_err(|e| e.to_string())),
        _ => None,
    };
    let facts = daemon.as_ref().ok().map(|_| {
        ring_request(
            paths,
            "config_facts",
            serde_json::json!({ "timeout_ms": timeout.as_millis() as u64 }),
            timeout + Duration::from_secs(5),
        )
    });
    Observations {
        conf_path: path.display().to_string(),
        conf,
        file_sha256,
        local,
        key_path: key_path.display().to_string(),
        key,
        local_addresses,
        routes,
        hostname,
        expected_bind,
        daemon,
        port_probe,
        facts,
    }
}

/// The local address the kernel would send from towards `to` (a route lookup; a UDP
/// `connect` sends nothing).
fn route_source(to: SocketAddr) -> Result<IpAddr, String> {
    let any: SocketAddr = if to.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(any).map_err(|e| e.to_string())?;
    socket.connect(to).map_err(|e| e.to_string())?;
    socket
        .local_addr()
        .map(|a| a.ip())
        .map_err(|e| e.to_string())
}

fn ring_request(paths: &Paths, cmd: &str, args: Value, timeout: Duration) -> Result<Value, String> {
    let socket = paths.ring_socket();
    let mut client = crate::ipc::Client::connect(&socket, crate::ipc::DEFAULT_TIMEOUT)
        .map_err(|e| format!("{:#}", super::ipc_failure("ha-ring", e).error))?;
    client.set_timeout(timeout).map_err(|e| e.to_string())?;
    client.call(cmd, args).map_err(|e| e.to_string())
}

/// `doctor --json` data: `{"errors":1,"warnings":0,"daemon_running":true,
/// "findings":[Finding…]}`.
#[derive(Debug, Serialize)]
struct DoctorReport<'a> {
    errors: usize,
    warnings: usize,
    daemon_running: bool,
    findings: &'a [Finding],
}

/// Runs the checks and prints the findings; fails (exit 1) when any is an error.
pub fn run(
    json: bool,
    node_id: Option<u32>,
    paths: &Paths,
    timeout: Duration,
    stdout: &mut dyn Write,
) -> CliResult {
    let observations = observe(paths, node_id, timeout);
    let findings = diagnose(&observations);
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    let report = DoctorReport {
        errors: count(Severity::Error),
        warnings: count(Severity::Warning),
        daemon_running: observations.daemon.is_ok(),
        findings: &findings,
    };
    let message = format!(
        "{} errors, {} warnings (configuration {})",
        report.errors,
        report.warnings,
        Path::new(&observations.conf_path).display()
    );
    if json {
        if report.errors == 0 {
            print_json_ok(stdout, &report)?;
            return Ok(());
        }
        print_json_failed_report(stdout, &report, &message)?;
        return Err(Failure::failed(anyhow!("{message}")).with_json_printed());
    }
    for f in &findings {
        let label = match f.severity {
            Severity::Ok => "ok",
            Severity::Warning => "warning",
            Severity::Error => "ERROR",
        };
        writeln!(stdout, "{label:<8} {:<15} {}", f.check, f.message)?;
        if let Some(fix) = &f.fix
            && f.severity != Severity::Ok
        {
            writeln!(stdout, "{:<8} {:<15} fix: {fix}", "", "")?;
        }
    }
    if report.errors > 0 {
        return Err(Failure::failed(anyhow!("{message}")));
    }
    writeln!(stdout, "{message}")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observations(conf_text: &str) -> Observations {
        let conf = conf::parse_str(conf_text, "ha.conf")
            .map(|l| l.conf)
            .map_err(|r| conf::ConfError::Invalid(r).to_string());
        let local = conf
            .as_ref()
            .ok()
            .map(|c| identity::local_node(c, Some(1), &[]).map_err(|e| e.to_string()));
        Observations {
            conf_path: "ha.conf".into(),
            conf,
            file_sha256: Some("f".into()),
            local,
            key_path: "authkey".into(),
            key: Ok("SHA256:k".into()),
            local_addresses: vec!["10.0.0.1".parse().unwrap()],
            routes: Vec::new(),
            hostname: None,
            expected_bind: None,
            daemon: Err("no such socket".into()),
            port_probe: None,
            facts: None,
        }
    }

    const TWO_NODES: &str = "totem {\n cluster_name: t\n}\nnodelist {\n node {\n  ring0_addr: \
        10.0.0.1\n  nodeid: 1\n  name: alpha\n }\n node {\n  ring0_addr: 10.0.0.2\n  nodeid: 2\n  \
        name: beta\n }\n}\n";

    fn severities(findings: &[Finding], check: &str) -> Vec<Severity> {
        findings
            .iter()
            .filter(|f| f.check == check)
            .map(|f| f.severity)
            .collect()
    }

    #[test]
    fn a_host_name_on_loopback_is_an_error_with_the_hosts_line_to_write() {
        let mut obs = observations(TWO_NODES);
        obs.hostname = Some((
            "alpha.example".into(),
            Ok(vec!["127.0.1.1".parse().unwrap()]),
        ));
        let findings = diagnose(&obs);
        let hostname: Vec<&Finding> = findings.iter().filter(|f| f.check == "hostname").collect();
        assert_eq!(hostname.len(), 1, "{findings:?}");
        assert_eq!(hostname[0].severity, Severity::Error);
        assert_eq!(hostname[0].node, Some(1));
        assert!(hostname[0].message.contains("127.0.1.1"), "{hostname:?}");
        assert!(
            hostname[0]
                .fix
                .as_deref()
                .unwrap()
                .contains("`10.0.0.1 alpha.example`"),
            "{hostname:?}"
        );
        // A host name that is no node's name is not checked.
        obs.hostname = Some(("gamma".into(), Ok(vec!["127.0.1.1".parse().unwrap()])));
        assert!(severities(&diagnose(&obs), "hostname").is_empty());
    }

    #[test]
    fn a_broken_config_is_one_error_with_its_line_and_no_daemon_is_a_warning() {
        let broken = TWO_NODES.replace("cluster_name: t\n", "cluster_name: t\n token: soon\n");
        let findings = diagnose(&observations(&broken));
        assert_eq!(severities(&findings, "config"), vec![Severity::Error]);
        let config = findings.iter().find(|f| f.check == "config").unwrap();
        assert!(config.message.starts_with("ha.conf:3:"), "{config:?}");
        assert!(severities(&findings, "local_node").is_empty());
        assert_eq!(severities(&findings, "daemon"), vec![Severity::Warning]);
    }

    #[test]
    fn a_missing_address_and_an_unroutable_peer_are_errors() {
        let mut obs = observations(TWO_NODES);
        obs.local_addresses.clear();
        obs.routes.push(Route {
            node: 2,
            name: "beta".into(),
            address: "10.0.0.2".parse().unwrap(),
            via: Err("Network is unreachable".into()),
        });
        let findings = diagnose(&obs);
        assert_eq!(severities(&findings, "address"), vec![Severity::Error]);
        assert_eq!(severities(&findings, "route"), vec![Severity::Error]);
    }

    #[test]
    fn members_facts_that_differ_are_named_per_node() {
        let mut obs = observations(TWO_NODES);
        let status = serde_json::json!({
            "bound_address": "10.0.0.1:5405",
            "config_sha256": "f",
            "key_fingerprint": "SHA256:k",
            "version": "1",
            "members": [{"id": 1}, {"id": 2}],
            "drops_by_source": [],
        });
        obs.daemon = Ok(status);
        obs.expected_bind = Some("10.0.0.1:5405".parse().unwrap());
        obs.facts = Some(Ok(serde_json::json!({"nodes": [
            {"node": 1, "facts": {"key_fingerprint": "SHA256:k", "config_sha256": "f", "version": "1"}},
            {"node": 2, "facts": {"key_fingerprint": "SHA256:k", "config_sha256": "g", "version": "2"}},
        ]})));
        let findings = diagnose(&obs);
        let facts: Vec<(Option<u32>, Severity)> = findings
            .iter()
            .filter(|f| f.check == "member_facts")
            .map(|f| (f.node, f.severity))
            .collect();
        assert_eq!(
            facts,
            vec![
                (Some(2), Severity::Error),
                (Some(2), Severity::Warning),
                (None, Severity::Ok)
            ]
        );
        assert!(severities(&findings, "members").is_empty());
        assert_eq!(severities(&findings, "port"), vec![Severity::Ok]);
    }
}
