//! A cluster of real processes on 127.0.0.x for tests and benchmarks: per node `ha-ring`,
//! `ha-lrmd daemon` and `ha-crm daemon`, each node with its own directories and agent state
//! (`HA_RSCTMP`), so Dummy agents' state files show where resources really run. Every
//! process is killed by the pid it was started with when the cluster is dropped.
#![allow(dead_code)]

use std::net::UdpSocket;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hakit::crm::cib::{Configuration, Group, Op, Primitive, Resource};
use hakit::crm::client::CrmClient;

const DAEMONS: [&str; 3] = ["ring", "lrmd", "crm"];

pub(crate) struct Node {
    children: Vec<Child>,
}

pub(crate) struct Cluster {
    dir: tempfile::TempDir,
    nodes: Vec<Option<Node>>,
    /// Only `ha-ring` is started; it runs the executor and controller itself.
    supervised: bool,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for id in 1..=self.nodes.len() as u32 {
            self.kill(id);
        }
    }
}

pub(crate) fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Cluster {
    pub(crate) fn new(n: u32) -> Cluster {
        Cluster::with_configuration(n, |_| {})
    }

    /// A cluster whose `ha-ring`s run the executor and controller (`service { name: crm }`).
    pub(crate) fn supervised(n: u32) -> Cluster {
        Cluster::build(n, |_| {}, true)
    }

    /// A cluster whose nodes start with a stored CIB holding this configuration (as after a
    /// reboot of a configured cluster).
    pub(crate) fn with_configuration(n: u32, edit: impl Fn(&mut Configuration)) -> Cluster {
        Cluster::build(n, edit, false)
    }

    fn build(n: u32, edit: impl Fn(&mut Configuration), supervised: bool) -> Cluster {
        let service = if supervised {
            "service {\n    name: crm\n}\n"
        } else {
            ""
        };
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut nodes = String::new();
        for id in 1..=n {
            nodes += &format!(
                "    node {{\n        ring0_addr: 127.0.0.{id}\n        nodeid: {id}\n        name: node{id}\n    }}\n"
            );
        }
        let quorum = if n == 2 { "    two_node: 1\n" } else { "" };
        let conf = format!(
            "totem {{\n    version: 2\n    cluster_name: e2e-crm\n    transport: udpu\n    token: 1000\n    interface {{\n        ringnumber: 0\n        mcastport: {port}\n    }}\n}}\nnodelist {{\n{nodes}}}\nquorum {{\n    provider: corosync_votequorum\n{quorum}}}\n{service}"
        );
        let key: Vec<u8> = (0..256u32).map(|i| (i * 13 + 5) as u8).collect();
        for id in 1..=n {
            let base = dir.path().join(format!("node{id}"));
            for sub in ["conf", "run", "state", "rsctmp"] {
                std::fs::create_dir_all(base.join(sub)).unwrap();
            }
            std::fs::write(base.join("conf/ha.conf"), &conf).unwrap();
            let key_path = base.join("conf/authkey");
            std::fs::write(&key_path, &key).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o400)).unwrap();
        }
        let mut stored = hakit::crm::cib::Cib::default();
        edit(&mut stored.configuration);
        if stored.configuration != Configuration::default() {
            stored.bump_epoch();
            for id in 1..=n {
                let path = dir.path().join(format!("node{id}/state/cib.json"));
                hakit::crm::store::CibFile::new(path)
                    .store(&stored, None)
                    .unwrap();
            }
        }
        let mut cluster = Cluster {
            dir,
            nodes: (0..n).map(|_| None).collect(),
            supervised,
        };
        for id in 1..=n {
            cluster.start(id);
        }
        cluster
    }

    pub(crate) fn node_dir(&self, id: u32) -> PathBuf {
        self.dir.path().join(format!("node{id}"))
    }

    pub(crate) fn env(&self, command: &mut Command, id: u32) {
        let base = self.node_dir(id);
        command
            .env("HA_CONF_DIR", base.join("conf"))
            .env("HA_RUN_DIR", base.join("run"))
            .env("HA_STATE_DIR", base.join("state"))
            .env("HA_RSCTMP", base.join("rsctmp"))
            .env("HA_NODE_ID", id.to_string());
    }

    pub(crate) fn start(&mut self, id: u32) {
        // A crash took the agents' state with the "machine"; a started node has the directory.
        std::fs::create_dir_all(self.node_dir(id).join("rsctmp")).unwrap();
        let mut children = Vec::new();
        let daemons = if self.supervised {
            &DAEMONS[..1]
        } else {
            &DAEMONS[..]
        };
        for daemon in daemons {
            let log =
                std::fs::File::create(self.node_dir(id).join(format!("{daemon}.log"))).unwrap();
            let mut command = match *daemon {
                "ring" => Command::new(env!("CARGO_BIN_EXE_ha-ring")),
                "lrmd" => Command::new(env!("CARGO_BIN_EXE_ha-lrmd")),
                _ => Command::new(env!("CARGO_BIN_EXE_ha-crm")),
            };
            if *daemon == "ring" {
                command.arg("-f");
            } else {
                command.args(["daemon", "-f"]);
            }
            command
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log);
            self.env(&mut command, id);
            children.push(command.spawn().unwrap());
        }
        self.nodes[id as usize - 1] = Some(Node { children });
    }

    /// kill -9 of the node's whole stack (the agents' state files stay, as after a crash
    /// whose resources died with the machine: remove them too).
    pub(crate) fn crash(&mut self, id: u32) {
        self.kill(id);
        let _ = std::fs::remove_dir_all(self.node_dir(id).join("rsctmp"));
    }

    /// Resident memory of the node's three daemons, in KiB.
    pub(crate) fn stack_rss_kib(&self, id: u32) -> u64 {
        let Some(node) = &self.nodes[id as usize - 1] else {
            return 0;
        };
        node.children
            .iter()
            .map(|child| {
                let status = std::fs::read_to_string(format!("/proc/{}/status", child.id()))
                    .unwrap_or_default();
                status
                    .lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                    .unwrap_or(0)
            })
            .sum()
    }

    /// The pids `ha-ring` supervises on node `id` (executor, controller).
    pub(crate) fn supervised_pids(&self, id: u32) -> Vec<i32> {
        match &self.nodes[id as usize - 1] {
            Some(node) if self.supervised => {
                hakit::sys::proc::children_of(node.children[0].id() as i32)
            }
            _ => Vec::new(),
        }
    }

    /// The pid of the supervised daemon `name` (`ha-crm`, `ha-lrmd`) on node `id`.
    pub(crate) fn daemon_pid(&self, id: u32, name: &str) -> Option<i32> {
        self.supervised_pids(id)
            .into_iter()
            .find(|pid| hakit::sys::proc::command_name(*pid) == name)
    }

    /// The node's `ha-ring` process.
    pub(crate) fn ring_process(&mut self, id: u32) -> Option<&mut Child> {
        self.nodes[id as usize - 1]
            .as_mut()
            .map(|n| &mut n.children[0])
    }

    pub(crate) fn kill(&mut self, id: u32) {
        let supervised = self.supervised_pids(id);
        if let Some(mut node) = self.nodes[id as usize - 1].take() {
            for pid in supervised {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            for child in &mut node.children {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }

    pub(crate) fn client(&self, id: u32) -> Option<CrmClient> {
        CrmClient::connect(&self.node_dir(id).join("run/crm.sock")).ok()
    }

    pub(crate) fn log_tail(&self, id: u32) -> String {
        let mut out = String::new();
        let supervised_logs = ["run/ha-lrmd.log", "run/ha-crm.log"];
        let files: Vec<String> = DAEMONS
            .iter()
            .map(|d| format!("{d}.log"))
            .chain(supervised_logs.iter().map(|f| f.to_string()))
            .collect();
        for daemon in files {
            let text = std::fs::read_to_string(self.node_dir(id).join(&daemon)).unwrap_or_default();
            if text.is_empty() {
                continue;
            }
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(15)..].join("\n");
            out += &format!("--- node{id} {daemon}\n{tail}\n");
        }
        out
    }

    /// Waits until the controllers of all `n` nodes share one synced view.
    pub(crate) fn wait_synced(&self) {
        let n = self.nodes.len();
        self.wait("every controller synced", Duration::from_secs(30), |c| {
            (1..=n as u32).all(|id| c.synced_members(id) == Some(n))
        });
    }

    /// Commits `edit` from node `from` and waits until the guide's group runs on one node;
    /// returns that node.
    pub(crate) fn start_group(&self, from: u32, edit: impl Fn(&mut Configuration)) -> u32 {
        self.commit(from, edit);
        self.wait(
            "the group running on one node",
            Duration::from_secs(30),
            |c| {
                let vip = c.running_on("vip");
                vip.len() == 1 && c.running_on("gohttpd") == vip
            },
        );
        self.running_on("vip")[0]
    }

    /// Keeps each reachable node's CIB for looking into a failure.
    pub(crate) fn save_cibs(&self) {
        for id in 1..=self.nodes.len() as u32 {
            let fetched = CrmClient::connect(&self.node_dir(id).join("run/crm.sock"))
                .and_then(|mut c| c.cib());
            match fetched {
                Ok(cib) => {
                    let path = std::env::temp_dir().join(format!("e2e-crm-node{id}-cib.json"));
                    let _ = std::fs::write(&path, serde_json::to_vec_pretty(&cib).unwrap());
                    eprintln!("node{id}'s CIB saved in {}", path.display());
                }
                Err(e) => eprintln!("node{id}'s CIB: {e}"),
            }
        }
    }

    pub(crate) fn logs(&self) -> String {
        (1..=self.nodes.len() as u32)
            .map(|id| self.log_tail(id))
            .collect()
    }

    /// Where the Dummy agent `rsc` really runs: the nodes holding its state file.
    pub(crate) fn running_on(&self, rsc: &str) -> Vec<u32> {
        (1..=self.nodes.len() as u32)
            .filter(|id| {
                self.node_dir(*id)
                    .join(format!("rsctmp/Dummy-{rsc}.state"))
                    .exists()
            })
            .collect()
    }

    pub(crate) fn wait(
        &self,
        what: &str,
        limit: Duration,
        mut ready: impl FnMut(&Cluster) -> bool,
    ) {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if ready(self) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.save_cibs();
        panic!(
            "timed out after {limit:?} waiting for {what}\n{}",
            self.logs()
        );
    }

    pub(crate) fn synced_members(&self, id: u32) -> Option<usize> {
        let status = self.client(id)?.status().ok()?;
        status.synced.then_some(status.members.len())
    }

    pub(crate) fn commit(&self, id: u32, edit: impl Fn(&mut Configuration)) {
        let mut client = self.client(id).expect("controller reachable");
        for _ in 0..5 {
            let cib = client.cib().unwrap();
            let mut configuration = cib.configuration.clone();
            edit(&mut configuration);
            match client.commit(cib.epoch, &configuration) {
                Ok(_) => return,
                Err(e) if e.to_string().contains("conflict") => continue,
                Err(e) => panic!("commit failed: {e}\n{}", self.logs()),
            }
        }
        panic!("commit kept conflicting");
    }
}

pub(crate) fn dummy(id: &str) -> Resource {
    let mut primitive = Primitive {
        id: id.into(),
        class: "ocf".into(),
        provider: Some("heartbeat".into()),
        kind: "Dummy".into(),
        ..Primitive::default()
    };
    primitive.ops.push(Op {
        id: None,
        name: "monitor".into(),
        attrs: [("interval", "2s")].into_iter().collect(),
        params: Default::default(),
    });
    Resource::Primitive(primitive)
}

pub(crate) fn guide(c: &mut Configuration) {
    c.properties.set("stonith-enabled", "false");
    c.properties.set("no-quorum-policy", "ignore");
    c.resources.push(Resource::Group(Group {
        id: "my_group".into(),
        children: vec![dummy("vip"), dummy("gohttpd")],
        ..Group::default()
    }));
}

pub(crate) fn set_standby(c: &mut Configuration, node: &str, value: &str) {
    let entry = c
        .nodes
        .iter_mut()
        .find(|n| n.uname == node)
        .expect("node in CIB");
    entry.attributes.set("standby", value);
}

pub(crate) fn uses_root() -> bool {
    nix::unistd::Uid::effective().is_root()
}
