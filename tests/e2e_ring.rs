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
        Cluster::listing(n, n)
    }

    /// `listed` nodes in the nodelist, the first `running` of them started.
    fn listing(listed: u32, running: u32) -> Cluster {
        Cluster::prepared(listed, running, |_, _| {})
    }

    /// Like `listing`, with `tweak(id, conf_dir)` run on each node's files before it starts.
    fn prepared(listed: u32, running: u32, tweak: impl Fn(u32, &Path)) -> Cluster {
        let n = listed;
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
            tweak(id, &conf_dir);
        }
        let mut cluster = Cluster {
            dir,
            port,
            children: (0..n).map(|_| None).collect(),
        };
        for id in 1..=running {
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

    /// Starts node `id`'s daemon, its output appended to `ring.log` in the node's directory.
    fn start(&mut self, id: u32) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path(id))
            .unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_ha-ring"));
        command
            .arg("-f")
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        self.env(&mut command, id);
        self.children[id as usize - 1] = Some(command.spawn().unwrap());
    }

    fn log_path(&self, id: u32) -> PathBuf {
        self.node_dir(id).join("ring.log")
    }

    fn log(&self, id: u32) -> String {
        std::fs::read_to_string(self.log_path(id)).unwrap_or_default()
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
    fn wait_members(&self, id: u32, expected: &[u64], limit: Duration) {
        let start = Instant::now();
        while start.elapsed() < limit {
            if self.members(id).as_deref() == Some(expected) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "node {id} did not reach members {expected:?} within {limit:?}: {:?}\n{}",
            self.members(id),
            self.logs()
        );
    }

    /// Every node's log, for a failure message.
    fn logs(&self) -> String {
        (1..=self.children.len() as u32)
            .map(|id| format!("--- n{id}\n{}", self.log(id)))
            .collect()
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

    let logged_before = [1, 3].map(|id| cluster.log(id).len());
    cluster.signal(2, nix::sys::signal::Signal::SIGTERM);
    cluster.wait_members(1, &[1, 3], Duration::from_secs(10));
    // A clean leave reforms at once, not after the token timeout: the survivors form the
    // new ring because of node 2's leave and none of them lost the token. (How fast is the
    // simulation's business: here the polling itself takes long on a loaded machine.)
    let since_signal: Vec<String> = [1, 3]
        .iter()
        .zip(logged_before)
        .map(|(id, from)| cluster.log(*id)[from..].to_string())
        .collect();
    let reasons: Vec<&str> = since_signal
        .iter()
        .flat_map(|log| log.lines())
        .filter_map(|line| line.split_once("forming a new ring: ").map(|(_, why)| why))
        .collect();
    assert!(reasons.contains(&"Leave(2)"), "{since_signal:?}");
    assert!(!reasons.contains(&"TokenLoss"), "{since_signal:?}");
    cluster.reap(2);
    assert!(
        !socket_exists(&cluster.node_dir(2).join("run/ring.sock")),
        "socket left behind"
    );
}

#[test]
fn junk_datagrams_are_counted_not_fatal() {
    let cluster = Cluster::new(2);
    cluster.wait_members(1, &[1, 2], Duration::from_secs(10));
    let target = format!("127.0.0.1:{}", cluster.port);
    let sender = UdpSocket::bind("127.0.0.9:0").unwrap();
    // Sent in bursts of 25, each counted before the next goes: a burst of all 300 overflows
    // the socket's receive buffer whenever the daemon is not scheduled meanwhile.
    let counted = |sent: u64| {
        let start = Instant::now();
        loop {
            let dropped = source_drops(&cluster, "127.0.0.9:");
            if dropped >= sent {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{dropped} of {sent} junk datagrams counted"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
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
        if (i + 1) % 25 == 0 {
            counted(i as u64 + 1);
        }
    }
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
    // Paced, none was lost before the daemon read it: each is counted as one of these.
    assert_eq!(dropped, 300, "junk not counted: {counters}");
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

    // Ends as soon as every member answered; the limit only matters on a loaded machine.
    let (code, report) = cluster.cfgtool(1, &["sync", "--timeout-ms", "20000"]);
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
    let mut command = Command::new(env!("CARGO_BIN_EXE_ha-cfgtool"));
    command.arg("sync");
    cluster.env(&mut command, 2);
    let out = command.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].starts_with("NODE     NAME             RESULT     DETAIL"),
        "{text}"
    );
    assert!(
        lines[1].starts_with("1        n1               unchanged"),
        "{text}"
    );
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
             to_syslog: no\n    to_logfile: yes\n    logfile: {}\n    timestamp: on\n    debug: on\n}}\n",
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
    let text = log();
    assert!(text.contains("left the ring; stopped"), "{text}");
    // debug: on logs every control request.
    assert!(text.contains("request shutdown"), "{text}");
}

/// The key `Cluster` gives every node.
fn cluster_key() -> hakit::ring::AuthKey {
    hakit::ring::AuthKey::new((0..256u32).map(|i| (i * 7 + 3) as u8).collect()).unwrap()
}

fn counters(cluster: &Cluster, id: u32) -> Value {
    let (code, status) = cluster.cfgtool(id, &["-s"]);
    assert_eq!(code, 0, "daemon answers: {status}");
    status["data"]["counters"].clone()
}

/// Datagrams from the source address starting with `prefix` that node 1 dropped.
fn source_drops(cluster: &Cluster, prefix: &str) -> u64 {
    let (_, status) = cluster.cfgtool(1, &["-s"]);
    status["data"]["drops_by_source"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["address"].as_str().is_some_and(|a| a.starts_with(prefix)))
        .flat_map(|s| s["counts"].as_object().cloned().unwrap_or_default())
        .map(|(_, n)| n.as_u64().unwrap_or(0))
        .sum()
}

fn delta(before: &Value, after: &Value, key: &str) -> u64 {
    after[key].as_u64().unwrap() - before[key].as_u64().unwrap()
}

/// Issue 3: random, forged, replayed, truncated, oversized, unknown-node and wrong-cluster
/// datagrams sent to a live daemon are each dropped and counted by kind, and none reaches a
/// process group subscriber.
#[test]
fn hostile_datagrams_are_dropped_counted_by_kind_and_never_delivered() {
    use hakit::ring::auth::Auth;
    use hakit::ring::wire::{MAX_DATAGRAM, Message};

    // Node 3 is listed but not running: the test speaks as it.
    let cluster = Cluster::listing(3, 2);
    cluster.wait_members(1, &[1, 2], Duration::from_secs(10));
    let socket = cluster.node_dir(1).join("run/ring.sock");
    let mut subscriber =
        hakit::ipc::Client::connect(&socket, Duration::from_secs(2)).expect("ring.sock");
    subscriber
        .call("group_join", serde_json::json!({ "group": "g" }))
        .unwrap();
    let before = counters(&cluster, 1);

    let target = format!("127.0.0.1:{}", cluster.port);
    let sender = UdpSocket::bind("127.0.0.9:0").unwrap();
    let sent = std::cell::Cell::new(0u64);
    let send = |bytes: &[u8]| {
        sender.send_to(bytes, &target).unwrap();
        sent.set(sent.get() + 1);
    };
    // After each kind, waits until the daemon has counted every drop from this source, so
    // the kernel's receive buffer never overflows, however slowly the daemon is scheduled,
    // and the counts below are exact. The first genuine datagram is taken, not dropped.
    let settle = || {
        let start = Instant::now();
        loop {
            let dropped = source_drops(&cluster, "127.0.0.9:");
            if dropped + 1 >= sent.get() {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "{dropped} of {} datagrams counted",
                sent.get()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let leave = Message::Leave { ring: None }.encode();
    let incarnation = 1 << 40;

    // Authentic datagrams from node 3 (not a member: a leave from it changes nothing);
    // the first is taken, its copies are replays.
    let genuine = Auth::new(&cluster_key(), "e2e", 3, incarnation, true).seal(&leave);
    for _ in 0..21 {
        send(&genuine);
    }
    settle();
    // Forged: right cluster and node, wrong key.
    let wrong_key = hakit::ring::AuthKey::new(vec![9; 64]).unwrap();
    let mut forger = Auth::new(&wrong_key, "e2e", 2, incarnation, true);
    for _ in 0..20 {
        send(&forger.seal(&leave));
    }
    settle();
    // Another cluster's name, right key.
    let mut foreign = Auth::new(&cluster_key(), "other", 2, incarnation, true);
    for _ in 0..10 {
        send(&foreign.seal(&leave));
    }
    settle();
    // A node id the nodelist does not have.
    let mut stranger = Auth::new(&cluster_key(), "e2e", 9, incarnation, true);
    for _ in 0..5 {
        send(&stranger.seal(&leave));
    }
    settle();
    // Truncated copies of a genuine datagram.
    for len in [0, 1, 10, 27, 28, 40, 59] {
        send(&genuine[..len]);
    }
    settle();
    // The largest datagram IPv4 carries, with a valid header: fails authentication. One
    // byte more cannot leave this machine (the kernel refuses it), so the decoder's own
    // oversize check is covered by the unit and fuzz tests.
    let mut big = forger.seal(&leave);
    big.resize(MAX_DATAGRAM, 0x55);
    send(&big);
    settle();
    assert!(sender.send_to(&vec![0; MAX_DATAGRAM + 1], &target).is_err());
    // Random junk (seeded).
    let mut state: u64 = 7;
    let mut junk = 0;
    let mut junk_short = 0;
    for _ in 0..200 {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let len = 1 + (state >> 33) as usize % 1500;
        let bytes: Vec<u8> = (0..len).map(|j| (state >> (j % 56)) as u8).collect();
        if bytes.starts_with(b"HK") {
            continue;
        }
        junk += u64::from(bytes.len() >= 60);
        junk_short += u64::from(bytes.len() < 60);
        send(&bytes);
        if sent.get().is_multiple_of(25) {
            settle();
        }
    }
    settle();

    let after = counters(&cluster, 1);
    assert_eq!(delta(&before, &after, "dropped_replay"), 20, "{after}");
    assert_eq!(delta(&before, &after, "dropped_bad_mac"), 21, "{after}");
    assert_eq!(
        delta(&before, &after, "dropped_foreign_cluster"),
        10,
        "{after}"
    );
    assert_eq!(delta(&before, &after, "dropped_unknown_node"), 5, "{after}");
    assert_eq!(
        delta(&before, &after, "dropped_truncated"),
        7 + junk_short,
        "{after}"
    );
    assert_eq!(delta(&before, &after, "dropped_malformed"), junk, "{after}");

    // The source is named in the per-source counts.
    let (_, status) = cluster.cfgtool(1, &["-s"]);
    let sources = status["data"]["drops_by_source"].as_array().unwrap();
    let ours = sources
        .iter()
        .find(|s| s["address"].as_str().unwrap().starts_with("127.0.0.9:"))
        .unwrap_or_else(|| panic!("no line for 127.0.0.9: {sources:?}"));
    assert_eq!(ours["counts"]["bad_mac"], 21, "{ours}");
    assert_eq!(ours["node"], Value::Null);

    // Still one ring, and the subscriber got no message from any of it; a real message
    // sent afterwards is the first one it sees.
    assert_eq!(cluster.members(1), Some(vec![1, 2]));
    let mut writer = hakit::ipc::Client::connect(
        &cluster.node_dir(2).join("run/ring.sock"),
        Duration::from_secs(2),
    )
    .unwrap();
    writer
        .call("group_join", serde_json::json!({ "group": "g" }))
        .unwrap();
    writer
        .call(
            "group_send",
            serde_json::json!({ "group": "g", "data": "real" }),
        )
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let first_message = loop {
        assert!(Instant::now() < deadline, "the real message never arrived");
        match subscriber.next_event() {
            Ok(Some(event)) if event["type"] == "group_message" => break event,
            Ok(_) => {}
            Err(e) => panic!("subscriber: {e}"),
        }
    };
    assert_eq!(first_message["data"], "real", "{first_message}");
    assert_eq!(first_message["from"], 2);
}

fn findings<'a>(report: &'a Value, check: &str) -> Vec<&'a Value> {
    report["data"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == check)
        .collect()
}

/// Issue 3: a node started with another authkey never joins; `doctor` on a good node names
/// it, says why and how to fix it, and sees the two good members agree.
#[test]
fn doctor_names_the_node_whose_authkey_differs() {
    let mut cluster = Cluster::prepared(3, 0, |id, conf_dir| {
        if id == 3 {
            use std::os::unix::fs::PermissionsExt;
            let key_path = conf_dir.join("authkey");
            std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o600)).unwrap();
            std::fs::write(&key_path, vec![0x42; 256]).unwrap();
        }
    });
    // Node 3 first: once nodes 1 and 2 have formed their ring, only node 1 (its
    // representative) still writes to node 3; node 2's joins while forming it must find
    // node 3 listening for node 3 to see that node 2's key differs too.
    cluster.start(3);
    wait_for("node 3 to answer", Duration::from_secs(10), || {
        cluster.cfgtool(3, &["status"]).0 == 0
    });
    cluster.start(1);
    cluster.start(2);
    cluster.wait_members(1, &[1, 2], Duration::from_secs(10));
    let bad_mac = |at: u32, from: u32| {
        let (_, status) = cluster.cfgtool(at, &["-s"]);
        status["data"]["drops_by_source"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|s| s["node"] == from && s["counts"]["bad_mac"].as_u64().unwrap_or(0) > 0)
    };
    wait_for(
        "node 1 to drop node 3's datagrams",
        Duration::from_secs(10),
        || bad_mac(1, 3),
    );
    wait_for(
        "node 3 to drop node 1's and node 2's datagrams",
        Duration::from_secs(10),
        || bad_mac(3, 1) && bad_mac(3, 2),
    );
    // Members' facts come through the ring: on a loaded machine they can take longer than
    // the default 2 s (the inquiry ends as soon as every member answered).
    let doctor = ["doctor", "--timeout-ms", "20000"];

    let (code, report) = cluster.cfgtool(1, &doctor);
    assert_eq!(code, 1, "an error was found: {report}");
    assert_eq!(report["ok"], false);
    let drops = findings(&report, "drops");
    assert_eq!(drops.len(), 1, "{report}");
    assert_eq!(drops[0]["node"], 3);
    assert_eq!(drops[0]["severity"], "error");
    let message = drops[0]["message"].as_str().unwrap();
    assert!(message.contains("node 3 (n3, 127.0.0.3:"), "{message}");
    assert!(message.contains("authkey differs"), "{message}");
    let fix = drops[0]["fix"].as_str().unwrap();
    assert!(fix.contains("config export --with-key | ssh n3"), "{fix}");
    // Node 2 is fine: same key, config and version; node 3 is reported missing.
    let facts = findings(&report, "member_facts");
    assert!(
        facts
            .iter()
            .any(|f| f["severity"] == "ok" && f["message"].as_str().unwrap().contains("1, 2")),
        "{report}"
    );
    let missing = findings(&report, "members");
    assert_eq!(missing.len(), 1, "{report}");
    assert_eq!(missing[0]["node"], 3);
    assert_eq!(findings(&report, "port")[0]["severity"], "ok", "{report}");
    assert_eq!(report["data"]["errors"], 1, "{report}");

    // Node 3 sees the same from its side: both others fail authentication.
    let (code, report) = cluster.cfgtool(3, &doctor);
    assert_eq!(code, 1);
    let mut blamed: Vec<u64> = findings(&report, "drops")
        .iter()
        .map(|f| f["node"].as_u64().unwrap())
        .collect();
    blamed.sort_unstable();
    assert_eq!(blamed, vec![1, 2], "{report}");

    // The text form names the node and the fix.
    let mut command = Command::new(env!("CARGO_BIN_EXE_ha-cfgtool"));
    command.arg("doctor");
    cluster.env(&mut command, 1);
    let out = command.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    assert!(text.contains("ERROR    drops           "), "{text}");
    assert!(
        text.contains("fix: `ha-cfgtool config export --with-key | ssh n3"),
        "{text}"
    );
}

/// The host-name check through the real resolver: in its own UTS, mount and network
/// namespaces (so nothing it sends leaves them) the host is called n1, and /etc/hosts is
/// replaced there by one that puts n1 on 127.0.1.1, as Debian's installer writes it.
#[test]
fn doctor_flags_a_host_name_that_resolves_to_loopback() {
    let cluster = Cluster::prepared(2, 0, |_, conf_dir| {
        let path = conf_dir.join("ha.conf");
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("ring0_addr: 127.0.0.1\n", "ring0_addr: 192.0.2.1\n");
        std::fs::write(path, text).unwrap();
    });
    let doctor_as_n1 = |hosts: &str| -> Value {
        let hosts_path = cluster.node_dir(1).join("hosts");
        std::fs::write(&hosts_path, hosts).unwrap();
        let mut command = Command::new("unshare");
        command
            .args(["--uts", "--mount", "--net", "sh", "-c"])
            .arg(r#"mount --bind "$1" /etc/hosts && hostname n1 && exec "$2" doctor --json"#)
            .arg("sh")
            .arg(&hosts_path)
            .arg(env!("CARGO_BIN_EXE_ha-cfgtool"));
        cluster.env(&mut command, 1);
        let out = command.output().unwrap();
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!("{e}: {}", String::from_utf8_lossy(&out.stderr));
        })
    };

    let report = doctor_as_n1("127.0.0.1 localhost\n127.0.1.1 n1.example.org n1\n");
    let hostname = findings(&report, "hostname");
    assert_eq!(hostname.len(), 1, "{report}");
    assert_eq!(hostname[0]["severity"], "error", "{report}");
    assert!(
        hostname[0]["message"]
            .as_str()
            .unwrap()
            .contains("resolves to loopback 127.0.1.1"),
        "{report}"
    );
    assert!(
        hostname[0]["fix"]
            .as_str()
            .unwrap()
            .contains("`192.0.2.1 n1`"),
        "{report}"
    );

    let report = doctor_as_n1("127.0.0.1 localhost\n192.0.2.1 n1\n");
    let hostname = findings(&report, "hostname");
    assert_eq!(hostname.len(), 1, "{report}");
    assert_eq!(hostname[0]["severity"], "ok", "{report}");
}

#[test]
fn doctor_without_a_daemon_checks_locally_and_probes_the_port() {
    let cluster = Cluster::listing(2, 0);
    let (code, report) = cluster.cfgtool(1, &["doctor"]);
    assert_eq!(code, 0, "nothing is wrong yet: {report}");
    assert_eq!(report["data"]["daemon_running"], false);
    assert_eq!(findings(&report, "daemon")[0]["severity"], "warning");
    let port = findings(&report, "port");
    assert_eq!(port[0]["severity"], "ok", "{report}");
    // Someone else holds the port: an error naming it.
    let squatter = UdpSocket::bind(("127.0.0.1", cluster.port)).unwrap();
    let (code, report) = cluster.cfgtool(1, &["doctor"]);
    assert_eq!(code, 1, "{report}");
    let port = findings(&report, "port");
    assert_eq!(port[0]["severity"], "error", "{report}");
    assert!(
        port[0]["fix"].as_str().unwrap().contains("ss -ulpn"),
        "{report}"
    );
    drop(squatter);
}

/// A member that cannot write keeps its configuration and says why; the others go on.
#[test]
fn sync_reports_a_member_that_cannot_save_its_backup_and_leaves_its_file_alone() {
    let cluster = Cluster::new(2);
    cluster.wait_members(1, &[1, 2], Duration::from_secs(10));
    // A non-empty directory where node 2's backup goes: no rename can replace it, even
    // for root.
    let blocker = cluster.node_dir(2).join("conf/ha.conf.bak");
    std::fs::create_dir_all(blocker.join("x")).unwrap();
    let old = read_conf(&cluster, 1);
    let new = old.replace("token: 1000", "token: 1200");
    assert_ne!(old, new);
    std::fs::write(cluster.node_dir(1).join("conf/ha.conf"), &new).unwrap();

    let (code, report) = cluster.cfgtool(1, &["sync"]);
    assert_eq!(code, 1, "{report}");
    let nodes = report["data"]["nodes"].as_array().unwrap();
    assert_eq!(nodes[0]["result"], "unchanged", "{report}");
    assert_eq!(nodes[1]["result"], "rejected", "{report}");
    let reason = nodes[1]["reason"].as_str().unwrap();
    assert!(
        reason.contains("cannot save the previous configuration") && reason.contains("ha.conf.bak"),
        "{reason}"
    );
    assert_eq!(read_conf(&cluster, 2), old, "node 2 kept its file");
    // The origin reloads what it pushed once its commit comes round the ring.
    wait_for("node 1 to reload", Duration::from_secs(5), || {
        cluster.cfgtool(1, &["-s"]).1["data"]["token_ms"] == 1200
    });
    cluster.wait_members(2, &[1, 2], Duration::from_secs(5));
}

/// A member that stops answering (SIGSTOP) during a sync is reported as such at the
/// timeout; the members that answered install the configuration.
#[test]
fn sync_reports_a_member_that_does_not_answer_in_time() {
    let mut cluster = Cluster::new(3);
    cluster.wait_members(1, &[1, 2, 3], Duration::from_secs(10));
    let old = read_conf(&cluster, 1);
    let new = old.replace("token: 1000", "token: 1100");
    std::fs::write(cluster.node_dir(1).join("conf/ha.conf"), &new).unwrap();
    cluster.signal(3, nix::sys::signal::Signal::SIGSTOP);
    // The others' answers can only come round once the ring has dropped node 3 (token
    // timeout, then consensus: over 2 s, longer on a loaded machine); the sync waits the
    // whole limit for node 3.
    let (code, report) = cluster.cfgtool(1, &["sync", "--timeout-ms", "10000"]);
    cluster.signal(3, nix::sys::signal::Signal::SIGCONT);
    assert_eq!(code, 1, "{report}");
    let results: Vec<&str> = report["data"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["result"].as_str().unwrap())
        .collect();
    assert_eq!(
        results,
        vec!["unchanged", "installed", "no_answer"],
        "{report}"
    );
    assert_eq!(read_conf(&cluster, 2), new);
    assert_eq!(read_conf(&cluster, 3), old);
}
