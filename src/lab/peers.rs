//! Other HA stacks in the same lab, for `ha-lab bench --with-peers`: Corosync + Pacemaker
//! (driven with crmsh) and keepalived (VRRP for the VIP, the example server always running
//! on every node). Their programs use fixed paths under /etc, /var/lib, /var/log, /run and
//! /dev/shm, so each node's boot script bind-mounts the node's own copies over those paths
//! inside the node's private mount namespace (the lab starts every node in one) and gives the
//! node a hosts file naming every node. Names resolve, state stays apart, and nothing on the
//! host changes.
//!
//! The rendering functions are pure; [`install`] writes the files into a lab made with
//! `start_stack: false` and [`boot_line`] as its daemon.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use super::topo::{LINK_NAME, Topology};
use super::{Lab, LabError, Member, io_error, set_mode};

/// The stacks the benchmark can run.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Stack {
    /// hakit itself.
    Hakit,
    /// Corosync and Pacemaker, configured with crmsh.
    Pacemaker,
    /// keepalived (VRRP) moving the VIP; the server runs on every node.
    Keepalived,
}

impl Stack {
    /// Its name in tables and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Stack::Hakit => "hakit",
            Stack::Pacemaker => "pacemaker",
            Stack::Keepalived => "keepalived",
        }
    }

    /// Programs that must be installed on the host for this stack.
    pub fn programs(self) -> &'static [&'static str] {
        match self {
            Stack::Hakit => &[],
            Stack::Pacemaker => &["corosync", "pacemakerd", "crm", "crm_mon"],
            Stack::Keepalived => &["keepalived"],
        }
    }

    /// Whether a process (by its `/proc/PID/comm`) belongs to this stack's daemons, for the
    /// memory figure: agents, the service and the lab's own processes are left out.
    pub fn is_daemon(self, comm: &str) -> bool {
        match self {
            Stack::Hakit => ["ha-ring", "ha-lrmd", "ha-crm"].contains(&comm),
            Stack::Pacemaker => comm == "corosync" || comm.starts_with("pacemaker"),
            Stack::Keepalived => comm == "keepalived",
        }
    }

    /// Whether the cluster runs the service on one node at a time (keepalived moves only the
    /// address; the server runs everywhere).
    pub fn moves_the_service(self) -> bool {
        !matches!(self, Stack::Keepalived)
    }

    /// The script name of the node boot script (also the name its log gets).
    fn boot_script(self) -> &'static str {
        match self {
            Stack::Hakit => "hakit-node",
            Stack::Pacemaker => "pacemaker-node",
            Stack::Keepalived => "keepalived-node",
        }
    }
}

/// The daemon line a lab for `stack` starts on each node: the lab-wide boot script, which
/// finds its node through `HA_CONF_DIR`.
pub fn boot_line(lab_dir: &Path, stack: Stack) -> String {
    lab_dir.join(stack.boot_script()).display().to_string()
}

/// The host's missing programs for `stack`, by name (empty when it can run).
pub fn missing_programs(stack: Stack) -> Vec<&'static str> {
    let path = std::env::var("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> = path
        .split(':')
        .chain(["/usr/sbin", "/sbin"])
        .map(PathBuf::from)
        .collect();
    stack
        .programs()
        .iter()
        .copied()
        .filter(|p| !dirs.iter().any(|d| d.join(p).is_file()))
        .collect()
}

/// `/etc/hosts` of every node: each node's name resolves to its lab address.
pub fn hosts_file(topo: &Topology) -> String {
    let mut text = String::from("127.0.0.1 localhost\n");
    for node in 1..=topo.nodes {
        let member = Member::Node(node);
        let _ = writeln!(text, "{} {}", topo.address(member), member.name());
    }
    text
}

/// corosync.conf at Corosync's defaults (knet, token 3000 ms), encrypted like hakit's ring.
pub fn corosync_conf(topo: &Topology) -> String {
    let mut text = format!(
        "totem {{\n    version: 2\n    cluster_name: {}\n    transport: knet\n    \
         crypto_cipher: aes256\n    crypto_hash: sha256\n}}\n\nnodelist {{\n",
        topo.name
    );
    for node in 1..=topo.nodes {
        let member = Member::Node(node);
        let _ = writeln!(
            text,
            "    node {{\n        ring0_addr: {}\n        name: {}\n        nodeid: {node}\n    }}",
            topo.address(member),
            member.name()
        );
    }
    text.push_str("}\n\nquorum {\n    provider: corosync_votequorum\n");
    if topo.nodes == 2 {
        text.push_str("    two_node: 1\n");
    }
    text.push_str("}\n\nlogging {\n    to_stderr: yes\n    to_syslog: no\n    timestamp: on\n}\n");
    text
}

/// keepalived.conf for one node at keepalived's defaults (advertisement every second): every
/// node starts as backup without preemption, so a node that comes back does not take the
/// address back (as the other stacks' stickiness does).
pub fn keepalived_conf(topo: &Topology, node: u8) -> String {
    format!(
        "global_defs {{\n    router_id {name}\n}}\n\n\
         vrrp_instance web {{\n    state BACKUP\n    nopreempt\n    interface {LINK_NAME}\n    \
         virtual_router_id 51\n    priority {priority}\n    advert_int 1\n    \
         virtual_ipaddress {{\n        {vip}/24 dev {LINK_NAME}\n    }}\n}}\n",
        name = Member::Node(node).name(),
        priority = 100 + u16::from(node),
        vip = topo.vip(),
    )
}

/// The example init script made LSB-compliant for Pacemaker, which trusts `status` (the
/// original has none; hakit watches the processes it started instead): `status` answers 0
/// or 3, `stop` of a stopped server succeeds, `start` of a running one does nothing. It finds
/// the server with `pidof`, which skips scripts: this script is called gohttpd too.
pub fn compliant_init_script(binary: &Path, node_name: &str, port: u16) -> String {
    format!(
        "#!/bin/sh\n# gohttpd for Pacemaker: the example server with an LSB status action.\n\
         DAEMON={binary}\nDAEMON_OPTS=\"--port {port} --name {node_name}\"\n\
         case \"$1\" in\n    \
         start)\n        pidof gohttpd >/dev/null && exit 0\n        \
         $DAEMON $DAEMON_OPTS >/dev/null 2>&1 &\n        exit 0 ;;\n    \
         stop)\n        pids=$(pidof gohttpd) && kill -9 $pids\n        exit 0 ;;\n    \
         status)\n        pidof gohttpd >/dev/null && exit 0\n        exit 3 ;;\n    \
         *)\n        exit 3 ;;\nesac\n",
        binary = binary.display(),
    )
}

/// The commands that configure the guide's service through crmsh, the same as hakit's
/// (see [`super::guide::service_commands`]) with `crm` for `ha-crm`.
pub fn crmsh_lines(hakit_lines: &[Vec<String>]) -> Vec<Vec<String>> {
    hakit_lines
        .iter()
        .filter(|line| line.get(1).map(String::as_str) != Some("ra"))
        .map(|line| {
            let mut line = line.clone();
            if line[0] == "ha-crm" {
                line[0] = "crm".to_string();
            }
            line
        })
        .collect()
}

/// The boot script shared by every node of a peer lab. It runs under the node's init, in
/// the node's own pid and mount namespaces: it mounts the node's copies over the fixed
/// paths, then starts the stack and waits.
pub fn boot_script(stack: Stack, lab_dir: &Path, port: u16) -> String {
    let mut text = format!(
        "#!/bin/sh\n# Written by ha-lab: boots {stack} on one node of this lab. Runs in the node's\n\
         # own mount namespace, so the mounts below are seen by this node only.\n\
         set -e\nNODE_DIR=$(dirname \"$HA_CONF_DIR\")\nROOT=\"$NODE_DIR/root\"\n\
         LAB_DIR={lab}\n\
         mount --bind \"$ROOT/etc/hosts\" /etc/hosts\n\
         mount -t tmpfs -o mode=1777 tmpfs /dev/shm\n",
        stack = stack.name(),
        lab = lab_dir.display(),
    );
    for path in bind_dirs(stack) {
        let _ = writeln!(text, "mount --bind \"$ROOT{path}\" {path}");
    }
    // An empty /run as after a boot (pid files of the crashed run must not count), with the
    // lab directory still reachable at its path.
    text.push_str(
        "mount -t tmpfs -o mode=755 tmpfs \"$ROOT/run\"\n\
         mkdir -p \"$ROOT/run/resource-agents\"\n\
         case \"$LAB_DIR\" in\n    /run/*)\n        mkdir -p \"$ROOT$LAB_DIR\"\n        \
         mount --bind \"$LAB_DIR\" \"$ROOT$LAB_DIR\" ;;\nesac\n",
    );
    if stack == Stack::Pacemaker {
        text.push_str(
            "mkdir -p \"$ROOT/run/crm\"\nchown hacluster:haclient \"$ROOT/run/crm\"\n\
             chmod 750 \"$ROOT/run/crm\"\n",
        );
    }
    // Recursive: a plain bind would leave the lab directory's mount behind.
    text.push_str("mount --rbind \"$ROOT/run\" /run\n");
    match stack {
        Stack::Hakit => {}
        Stack::Pacemaker => text.push_str(
            "corosync -f &\n\
             # pacemakerd gives up when Corosync is not there yet: wait for it (bounded).\n\
             tries=0\nuntil corosync-cfgtool -s >/dev/null 2>&1; do\n    \
             tries=$((tries + 1)); [ $tries -gt 200 ] && exit 1\n    sleep 0.05\ndone\n\
             pacemakerd &\nwait\n",
        ),
        Stack::Keepalived => {
            let _ = write!(
                text,
                "\"$NODE_DIR/bin/gohttpd\" --port {port} --name \"$HA_NODE_NAME\" >/dev/null 2>&1 &\n\
                 keepalived --dont-fork --log-console --vrrp --use-file /etc/keepalived/keepalived.conf &\n\
                 wait\n"
            );
        }
    }
    text
}

/// Directories each node gets its own copy of, mounted over the host's.
fn bind_dirs(stack: Stack) -> &'static [&'static str] {
    match stack {
        Stack::Hakit => &[],
        Stack::Pacemaker => &[
            "/etc/corosync",
            "/etc/init.d",
            "/var/lib/corosync",
            "/var/lib/pacemaker",
            "/var/log/pacemaker",
        ],
        Stack::Keepalived => &["/etc/keepalived"],
    }
}

/// Writes the boot script and every node's files into a lab made with `start_stack: false`;
/// [`Lab::start_stacks`] then boots them. `gohttpd` is the example server to install.
pub fn install(lab: &Lab, stack: Stack, gohttpd: &Path, port: u16) -> Result<(), LabError> {
    let topo = lab.topology();
    let script_path = PathBuf::from(boot_line(lab.dir(), stack));
    write(&script_path, &boot_script(stack, lab.dir(), port), 0o755)?;
    let key: Vec<u8> = {
        let mut key = vec![0u8; 256];
        getrandom::fill(&mut key).map_err(|e| LabError::Command {
            command: "getrandom".into(),
            message: e.to_string(),
        })?;
        key
    };
    for node in 1..=topo.nodes {
        let dirs = lab.node_dirs(node);
        let root = dirs.conf.parent().expect("node dir").join("root");
        let name = Member::Node(node).name();
        for path in bind_dirs(stack).iter().chain(&["/run", "/etc"]) {
            let dir = root.join(path.trim_start_matches('/'));
            fs::create_dir_all(&dir).map_err(io_error(format!("creating {}", dir.display())))?;
        }
        write(&root.join("etc/hosts"), &hosts_file(topo), 0o644)?;
        let binary = dirs.bin.join("gohttpd");
        if !binary.is_file() {
            fs::copy(gohttpd, &binary).map_err(io_error(format!(
                "copying {} to {}",
                gohttpd.display(),
                binary.display()
            )))?;
        }
        match stack {
            Stack::Hakit => {}
            Stack::Pacemaker => {
                write(
                    &root.join("etc/corosync/corosync.conf"),
                    &corosync_conf(topo),
                    0o644,
                )?;
                let key_path = root.join("etc/corosync/authkey");
                crate::sys::fs::write_atomic(&key_path, &key, 0o400)
                    .map_err(io_error(format!("writing {}", key_path.display())))?;
                write(
                    &root.join("etc/init.d/gohttpd"),
                    &compliant_init_script(&binary, &name, port),
                    0o755,
                )?;
                for sub in ["cib", "pengine", "blackbox", "cores"] {
                    let dir = root.join("var/lib/pacemaker").join(sub);
                    fs::create_dir_all(&dir)
                        .map_err(io_error(format!("creating {}", dir.display())))?;
                    hand_to_hacluster(&dir)?;
                }
                for dir in ["var/lib/pacemaker", "var/log/pacemaker"] {
                    let dir = root.join(dir);
                    fs::create_dir_all(&dir)
                        .map_err(io_error(format!("creating {}", dir.display())))?;
                    hand_to_hacluster(&dir)?;
                }
            }
            Stack::Keepalived => {
                write(
                    &root.join("etc/keepalived/keepalived.conf"),
                    &keepalived_conf(topo, node),
                    0o644,
                )?;
            }
        }
    }
    Ok(())
}

fn write(path: &Path, text: &str, mode: u32) -> Result<(), LabError> {
    crate::sys::fs::write_atomic(path, text.as_bytes(), mode)
        .map_err(io_error(format!("writing {}", path.display())))?;
    set_mode(path, mode)
}

/// Pacemaker's daemons run as hacluster:haclient and refuse directories they cannot write.
fn hand_to_hacluster(dir: &Path) -> Result<(), LabError> {
    use nix::unistd::{Group, User, chown};
    let user = User::from_name("hacluster").ok().flatten();
    let group = Group::from_name("haclient").ok().flatten();
    let (Some(user), Some(group)) = (user, group) else {
        return Err(LabError::Command {
            command: "looking up hacluster:haclient".into(),
            message: "no such user or group (is pacemaker installed?)".into(),
        });
    };
    chown(dir, Some(user.uid), Some(group.gid)).map_err(|e| LabError::Io {
        what: format!("chown hacluster:haclient {}", dir.display()),
        source: e.into(),
    })?;
    set_mode(dir, 0o770)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topo() -> Topology {
        Topology::new("bench".parse().unwrap(), 2, [192, 168, 2]).unwrap()
    }

    #[test]
    fn every_node_name_resolves_to_its_lab_address() {
        let hosts = hosts_file(&topo());
        assert!(hosts.contains("192.168.2.101 node1\n"));
        assert!(hosts.contains("192.168.2.102 node2\n"));
    }

    #[test]
    fn corosync_gets_both_nodes_and_two_node_quorum() {
        let conf = corosync_conf(&topo());
        assert!(conf.contains("ring0_addr: 192.168.2.102\n        name: node2\n        nodeid: 2"));
        assert!(conf.contains("two_node: 1"));
        assert!(conf.contains("cluster_name: bench"));
    }

    #[test]
    fn keepalived_moves_the_lab_vip_without_preempting() {
        let conf = keepalived_conf(&topo(), 2);
        assert!(conf.contains("192.168.2.100/24 dev eth0"));
        assert!(conf.contains("nopreempt") && conf.contains("state BACKUP"));
        assert!(conf.contains("priority 102"));
    }

    #[test]
    fn crmsh_gets_the_guide_lines_with_crm_and_no_ra_listing() {
        let hakit = super::super::guide::service_commands("192.168.2.100".parse().unwrap());
        let crm = crmsh_lines(&hakit);
        assert_eq!(crm.len(), hakit.len() - 1);
        assert!(crm.iter().all(|l| l[0] == "crm"));
        assert_eq!(
            crm.last().unwrap().join(" "),
            "crm configure group web ClusterIP website"
        );
    }

    #[test]
    fn boot_script_mounts_run_last_and_keeps_a_lab_under_run_reachable() {
        let script = boot_script(Stack::Pacemaker, Path::new("/run/ha-lab/bench"), 80);
        let run = script.find("mount --rbind \"$ROOT/run\" /run").unwrap();
        let pacemaker = script
            .find("mount --bind \"$ROOT/var/lib/pacemaker\"")
            .unwrap();
        assert!(pacemaker < run);
        assert!(script.contains("mount --bind \"$LAB_DIR\" \"$ROOT$LAB_DIR\""));
        assert!(script.ends_with("pacemakerd &\nwait\n"));
    }

    #[test]
    fn daemons_are_told_from_agents_and_the_service() {
        assert!(Stack::Pacemaker.is_daemon("pacemaker-contr"));
        assert!(Stack::Pacemaker.is_daemon("corosync"));
        assert!(!Stack::Pacemaker.is_daemon("IPaddr2"));
        assert!(Stack::Hakit.is_daemon("ha-crm"));
        assert!(!Stack::Hakit.is_daemon("gohttpd"));
    }

    #[test]
    fn the_compliant_script_has_status() {
        let script = compliant_init_script(Path::new("/x/gohttpd"), "node1", 80);
        assert!(script.contains("status)"));
        assert!(script.contains("DAEMON_OPTS=\"--port 80 --name node1\""));
    }
}
