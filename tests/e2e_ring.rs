//! Real `ha-ring` processes on 127.0.0.x: a three-node ring forms, a killed node is dropped,
//! a restarted one rejoins, SIGTERM leaves at once, and junk datagrams are counted.

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

struct Cluster {
    dir: tempfile::TempDir,
    port: u16,
    children: Vec<Option<Child>>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in self.children.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn free_port() -> u16 {
    // Bound on 127.0.0.1 only to learn a free number; the nodes bind 127.0.0.x.
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Cluster {
    fn new(n: u32) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut nodes = String::new();
        for id in 1..=n {
            nodes += &format!(
                "    node {{\n        ring0_addr: 127.0.0.{id}\n        nodeid: {id}\n        name: n{id}\n    }}\n"
            );
        }
        let conf = format!(
            "totem {{\n    version: 2\n    cluster_name: e2e\n    transport: udpu\n    token: 1000\n    interface {{\n        ringnumber: 0\n        mcastport: {port}\n    }}\n}}\nnodelist {{\n{nodes}}}\nquorum {{\n    provider: corosync_votequorum\n}}\n"
        );
        let key: Vec<u8> = (0..256u32).map(|i| (i * 7 + 3) as u8).collect();
        for id in 1..=n {
            let conf_dir = dir.path().join(format!("n{id}/conf"));
            std::fs::create_dir_all(&conf_dir).unwrap();
            std::fs::create_dir_all(dir.path().join(format!("n{id}/run"))).unwrap();
            std::fs::write(conf_dir.join("ha.conf"), &conf).unwrap();
            let key_path = conf_dir.join("authkey");
            std::fs::write(&key_path, &key).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o400)).unwrap();
        }
        let mut cluster = Cluster {
            dir,
            port,
            children: (0..n).map(|_| None).collect(),
        };
        for id in 1..=n {
            cluster.start(id);
        }
        cluster
    }

    fn node_dir(&self, id: u32) -> PathBuf {
        self.dir.path().join(format!("n{id}"))
    }

    fn env(&self, command: &mut Command, id: u32) {
        command
            .env("HA_CONF_DIR", self.node_dir(id).join("conf"))
            .env("HA_RUN_DIR", self.node_dir(id).join("run"))
            .env("HA_STATE_DIR", self.node_dir(id).join("run"))
            .env("HA_NODE_ID", id.to_string());
    }

    fn start(&mut self, id: u32) {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ha-ring"));
        command
            .arg("-f")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        self.env(&mut command, id);
        self.children[id as usize - 1] = Some(command.spawn().unwrap());
    }

    fn signal(&mut self, id: u32, signal: nix::sys::signal::Signal) {
        let child = self.children[id as usize - 1].as_mut().unwrap();
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), signal).unwrap();
    }

    fn reap(&mut self, id: u32) {
        if let Some(mut child) = self.children[id as usize - 1].take() {
            let _ = child.wait();
        }
    }

    fn cfgtool(&self, id: u32, args: &[&str]) -> (i32, Value) {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ha-cfgtool"));
        command.args(args).arg("--json");
        self.env(&mut command, id);
        let out = command.output().unwrap();
        let value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (out.status.code().unwrap_or(-1), value)
    }

    fn members(&self, id: u32) -> Option<Vec<u64>> {
        let (code, value) = self.cfgtool(id, &["members"]);
        if code != 0 {
            return None;
        }
        Some(
            value["data"]["members"]
                .as_array()?
                .iter()
                .filter_map(|m| m["id"].as_u64())
                .collect(),
        )
    }

    /// Polls (bounded) until node `id` reports exactly `expected` as members.
    fn wait_members(&self, id: u32, expected: &[u64], limit: Duration) -> Duration {
        let start = Instant::now();
        while start.elapsed() < limit {
            if self.members(id).as_deref() == Some(expected) {
                return start.elapsed();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "node {id} did not reach members {expected:?} within {limit:?}: {:?}",
            self.members(id)
        );
    }
}

fn socket_exists(path: &Path) -> bool {
    path.exists()
}

#[test]
fn three_daemons_form_a_ring_survive_kill_and_restart_and_leave_cleanly() {
    let mut cluster = Cluster::new(3);
    cluster.wait_members(1, &[1, 2, 3], Duration::from_secs(10));
    let (code, status) = cluster.cfgtool(2, &["-s"]);
    assert_eq!(code, 0);
    assert_eq!(
        status["data"]["interfaces"][0]["status"],
        "active with no faults"
    );
    let (_, quorum) = cluster.cfgtool(1, &["quorum"]);
    assert_eq!(quorum["data"]["quorum"]["quorate"], true);

    cluster.signal(3, nix::sys::signal::Signal::SIGKILL);
    cluster.reap(3);
    cluster.wait_members(1, &[1, 2], Duration::from_secs(6));
    let (code, _) = cluster.cfgtool(3, &["status"]);
    assert_eq!(code, 3, "a stopped daemon is unreachable");

    cluster.start(3);
    cluster.wait_members(1, &[1, 2, 3], Duration::from_secs(10));

    cluster.signal(2, nix::sys::signal::Signal::SIGTERM);
    // A clean leave reforms well before the 1000 ms token timeout would.
    let took = cluster.wait_members(1, &[1, 3], Duration::from_secs(3));
    assert!(
        took < Duration::from_millis(900),
        "reform after SIGTERM took {took:?}"
    );
    cluster.reap(2);
    assert!(
        !socket_exists(&cluster.node_dir(2).join("run/ring.sock")),
        "socket left behind"
    );
}

#[test]
fn junk_forged_and_replayed_datagrams_are_counted_not_fatal() {
    let cluster = Cluster::new(2);
    cluster.wait_members(1, &[1, 2], Duration::from_secs(10));
    let target = format!("127.0.0.1:{}", cluster.port);
    let sender = UdpSocket::bind("127.0.0.9:0").unwrap();
    let mut state: u64 = 42;
    for i in 0..300usize {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let len = (state >> 33) as usize % 1500;
        let mut bytes: Vec<u8> = (0..len).map(|j| (state >> (j % 56)) as u8).collect();
        if i % 3 == 0 && bytes.len() > 64 {
            // A well-formed header for our cluster and a known node, with a bad MAC.
            bytes[0..4].copy_from_slice(b"HK\x01\x01");
            bytes[8..12].copy_from_slice(&2u32.to_be_bytes());
        }
        let _ = sender.send_to(&bytes, &target);
    }
    std::thread::sleep(Duration::from_millis(300));
    let (code, status) = cluster.cfgtool(1, &["status"]);
    assert_eq!(code, 0, "daemon still answers");
    let counters = &status["data"]["counters"];
    let dropped: u64 = [
        "dropped_truncated",
        "dropped_malformed",
        "dropped_foreign_cluster",
        "dropped_bad_mac",
        "dropped_version",
    ]
    .iter()
    .map(|k| counters[k].as_u64().unwrap_or(0))
    .sum();
    // The kernel may drop part of a burst before the daemon reads it.
    assert!(dropped >= 100, "junk not counted: {counters}");
    assert_eq!(cluster.members(1), Some(vec![1, 2]));
}

/// The configuration every node of `Cluster::new(n)` starts with.
fn read_conf(cluster: &Cluster, id: u32) -> String {
    std::fs::read_to_string(cluster.node_dir(id).join("conf/ha.conf")).unwrap()
}

/// The same configuration with node `id`'s nodelist entry taken out.
fn without_node(conf: &str, id: u32) -> String {
    let entry = format!(
        "    node {{\n        ring0_addr: 127.0.0.{id}\n        nodeid: {id}\n        name: n{id}\n    }}\n"
    );
    assert!(conf.contains(&entry), "{conf}");
    conf.replace(&entry, "")
}

#[test]
fn sync_installs_on_members_that_accept_and_reports_the_one_that_rejects() {
    let cluster = Cluster::new(3);
    cluster.wait_members(1, &[1, 2, 3], Duration::from_secs(10));
    let old = read_conf(&cluster, 1);
    let new = without_node(&old, 3);
    std::fs::write(cluster.node_dir(1).join("conf/ha.conf"), &new).unwrap();

    let (code, report) = cluster.cfgtool(1, &["sync", "--timeout-ms", "3000"]);
    assert_eq!(code, 1, "node 3 rejects, so the sync fails: {report}");
    assert_eq!(report["ok"], false, "{report}");
    let nodes = report["data"]["nodes"].as_array().unwrap();
    let results: Vec<(u64, &str)> = nodes
        .iter()
        .map(|n| (n["node"].as_u64().unwrap(), n["result"].as_str().unwrap()))
        .collect();
    assert_eq!(
        results,
        vec![(1, "unchanged"), (2, "installed"), (3, "rejected")],
        "{report}"
    );
    assert!(
        nodes[2]["reason"]
            .as_str()
            .unwrap()
            .contains("drops this node (id 3)"),
        "{report}"
    );
    assert_eq!(nodes[2]["name"], "n3");
    let backup = cluster.node_dir(2).join("conf/ha.conf.bak");
    assert_eq!(nodes[1]["backup"], backup.display().to_string());
    assert_eq!(read_conf(&cluster, 2), new, "node 2 took the new file");
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), old);
    assert_eq!(read_conf(&cluster, 3), old, "node 3 kept its own");
    assert!(!cluster.node_dir(3).join("conf/ha.conf.bak").exists());

    // Nodes 1 and 2 reloaded: node 3 is no longer in their ring.
    cluster.wait_members(1, &[1, 2], Duration::from_secs(6));
    cluster.wait_members(2, &[1, 2], Duration::from_secs(3));

    // Everybody left now has it: a second sync succeeds and changes nothing.
    let (code, report) = cluster.cfgtool(1, &["sync"]);
    assert_eq!(code, 0, "{report}");
    let results: Vec<&str> = report["data"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["result"].as_str().unwrap())
        .collect();
    assert_eq!(results, vec!["unchanged", "unchanged"], "{report}");
}

/// Kills a daemon by the pid it wrote, when the test ends.
struct PidGuard(Option<i32>);

impl Drop for PidGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

fn wait_for(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_backgrounded_daemon_writes_its_log_file_as_the_logging_section_says() {
    let dir = tempfile::tempdir().unwrap();
    let conf_dir = dir.path().join("conf");
    let run_dir = dir.path().join("run");
    let logfile = dir.path().join("log/ha-ring.log");
    std::fs::create_dir_all(&conf_dir).unwrap();
    let port = free_port();
    std::fs::write(
        conf_dir.join("ha.conf"),
        format!(
            "totem {{\n    cluster_name: logs\n    secauth: off\n    interface {{\n        \
             ringnumber: 0\n        mcastport: {port}\n    }}\n}}\nnodelist {{\n    node {{\n        \
             ring0_addr: 127.0.0.1\n        nodeid: 1\n    }}\n}}\nlogging {{\n    to_stderr: no\n    \
             to_syslog: no\n    to_logfile: yes\n    logfile: {}\n    timestamp: on\n    debug: off\n}}\n",
            logfile.display()
        ),
    )
    .unwrap();
    let env = |command: &mut Command| {
        command
            .env("HA_CONF_DIR", &conf_dir)
            .env("HA_RUN_DIR", &run_dir)
            .env("HA_STATE_DIR", &run_dir)
            .env("HA_NODE_ID", "1");
    };
    let mut start = Command::new(env!("CARGO_BIN_EXE_ha-ring"));
    env(&mut start);
    let out = start.output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(out.stderr.is_empty(), "nothing on the terminal: {out:?}");
    let pid_file = run_dir.join("ring.pid");
    let mut guard = PidGuard(None);
    wait_for("the pid file", Duration::from_secs(5), || {
        guard.0 = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|t| t.trim().parse().ok());
        guard.0.is_some()
    });
    let pid = guard.0.unwrap();
    let log = || std::fs::read_to_string(&logfile).unwrap_or_default();
    wait_for("the ring in the log", Duration::from_secs(5), || {
        log().contains("members [1]")
    });
    let text = log();
    let first = text.lines().next().unwrap();
    // 2026-11-26T06:12:43.120Z ha-ring[1234]: node 1 starting on 127.0.0.1:…
    assert!(
        first.contains(&format!(
            " ha-ring[{pid}]: node 1 starting on 127.0.0.1:{port}"
        )),
        "{text}"
    );
    assert_eq!(first.find(' '), Some(24), "timestamped: {first}");

    let mut stop = Command::new(env!("CARGO_BIN_EXE_ha-cfgtool"));
    env(&mut stop);
    stop.arg("shutdown").stdout(Stdio::null());
    assert!(stop.status().unwrap().success());
    wait_for("the daemon to stop", Duration::from_secs(5), || {
        !pid_file.exists()
    });
    guard.0 = None;
    assert!(log().contains("left the ring; stopped"), "{}", log());
}
