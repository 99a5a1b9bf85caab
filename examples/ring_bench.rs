//! Benchmark of `ha-ring` on loopback: failure detection and new-ring time after `kill -9`
//! for several ring sizes, ordered group throughput, and the RSS of an idle daemon.
//!
//!     cargo build --release --bins --examples
//!     target/release/examples/ring_bench [--sizes 2,3,5,16,32] [--messages 20000] [--window 256] [--throughput-only [--netmtu N]]
//!
//! Nodes are 127.0.0.1..N on one free UDP port, each with its own directories in a temporary
//! directory, default timeouts (token 1000 ms, consensus 1200 ms). Prints one line per figure.
//! Throughput pipelines `group_send` requests (`--window` unacknowledged at most) and reports
//! the daemons' CPU time per message and what they resent; `--throughput-only` (with
//! `--sizes`) runs only that.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hakit::ipc::Client;
use serde_json::{Value, json};

struct Ring {
    dir: tempfile::TempDir,
    children: Vec<Option<Child>>,
}

impl Drop for Ring {
    fn drop(&mut self) {
        for child in self.children.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn bin(name: &str) -> PathBuf {
    std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join(name)
}

impl Ring {
    fn start(n: u32) -> Ring {
        Ring::start_with(n, "")
    }

    /// `extra` is added to the totem section (e.g. `netmtu: 9000`).
    fn start_with(n: u32, extra: &str) -> Ring {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let nodes: String = (1..=n)
            .map(|id| {
                format!(
                    "    node {{\n        ring0_addr: 127.0.0.{id}\n        nodeid: {id}\n    }}\n"
                )
            })
            .collect();
        let conf = format!(
            "totem {{\n    version: 2\n    cluster_name: bench\n    transport: udpu\n    {extra}\n    interface {{\n        ringnumber: 0\n        mcastport: {port}\n    }}\n}}\nnodelist {{\n{nodes}}}\nquorum {{\n    provider: corosync_votequorum\n}}\n"
        );
        let key: Vec<u8> = (0..256u32).map(|i| (i * 13 + 1) as u8).collect();
        let mut ring = Ring {
            dir,
            children: Vec::new(),
        };
        for id in 1..=n {
            let base = ring.dir.path().join(format!("n{id}"));
            std::fs::create_dir_all(base.join("run")).unwrap();
            std::fs::create_dir_all(base.join("conf")).unwrap();
            std::fs::write(base.join("conf/ha.conf"), &conf).unwrap();
            std::fs::write(base.join("conf/authkey"), &key).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(
                base.join("conf/authkey"),
                std::fs::Permissions::from_mode(0o400),
            )
            .unwrap();
            let child = Command::new(bin("ha-ring"))
                .arg("-f")
                .env("HA_CONF_DIR", base.join("conf"))
                .env("HA_RUN_DIR", base.join("run"))
                .env("HA_NODE_ID", id.to_string())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            ring.children.push(Some(child));
        }
        ring
    }

    fn client(&self, id: u32) -> Client {
        let path = self.dir.path().join(format!("n{id}/run/ring.sock"));
        let start = Instant::now();
        loop {
            match Client::connect(&path, Duration::from_secs(5)) {
                Ok(client) => return client,
                Err(_) if start.elapsed() < Duration::from_secs(10) => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Err(e) => panic!("node {id}: {e}"),
            }
        }
    }

    fn members(&self, id: u32) -> usize {
        let data = self.client(id).call("members", Value::Null).unwrap();
        data["members"].as_array().map_or(0, Vec::len)
    }

    fn wait_members(&self, id: u32, count: usize, limit: Duration) -> Duration {
        let start = Instant::now();
        while self.members(id) != count {
            assert!(
                start.elapsed() < limit,
                "node {id} never saw {count} members"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        start.elapsed()
    }

    fn pid(&self, id: u32) -> u32 {
        self.children[id as usize - 1].as_ref().unwrap().id()
    }
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Nanoseconds a process has run on a CPU (user and system), from `/proc/PID/schedstat`.
fn cpu_ns(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/schedstat"))
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// CPU time of this process, all threads (dead ones included), in nanoseconds.
fn own_cpu_ns() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: u64 = after_name
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|field| field.parse::<u64>().ok())
        .sum();
    // Linux reports these in USER_HZ, 100 per second.
    ticks * 10_000_000
}

fn failover(n: u32) {
    let mut ring = Ring::start(n);
    ring.wait_members(1, n as usize, Duration::from_secs(30));
    std::thread::sleep(Duration::from_secs(2));
    let victim = ring.children[n as usize - 1].as_mut().unwrap();
    victim.kill().unwrap();
    let _ = victim.wait();
    ring.children[n as usize - 1] = None;
    let took = ring.wait_members(1, n as usize - 1, Duration::from_secs(30));
    println!(
        "new ring after kill -9, {n} nodes: {} ms (token 1000 ms, consensus 1200 ms)",
        took.as_millis()
    );
}

/// Sends `count` 1 KiB messages through node 1 with up to `window` requests in flight
/// (pipelined `group_send` lines, each acknowledged), while a client on node N counts them.
/// The fields of a reply or event line the throughput clients look at; the rest (the 1 KiB
/// data of deliveries) is skipped without being copied, so the clients take little of the
/// CPU the daemons need.
#[derive(serde::Deserialize)]
struct LineHead<'a> {
    id: Option<u64>,
    ok: Option<bool>,
    #[serde(rename = "type", borrow)]
    kind: Option<&'a str>,
}

impl LineHead<'_> {
    /// Reply id, reply ok, and whether the line is a group message.
    fn summary(line: &[u8]) -> serde_json::Result<(Option<u64>, Option<bool>, bool)> {
        let head: LineHead = serde_json::from_slice(line)?;
        Ok((head.id, head.ok, head.kind == Some("group_message")))
    }
}

fn throughput(n: u32, messages: usize, window: usize, extra: &str) {
    let ring = Ring::start_with(n, extra);
    ring.wait_members(1, n as usize, Duration::from_secs(30));
    let mut receiver = ring.client(n);
    receiver
        .call("group_join", json!({"group": "bench"}))
        .unwrap();
    let mut sender = ring.client(1);
    sender
        .call("group_join", json!({"group": "bench"}))
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let payload = "x".repeat(1024);
    let pids: Vec<u32> = (1..=n).map(|id| ring.pid(id)).collect();
    let cpu_before: Vec<u64> = pids.iter().map(|pid| cpu_ns(*pid)).collect();
    let clients_cpu_before = own_cpu_ns();
    let start = Instant::now();
    let receiving = std::thread::spawn(move || {
        let mut got = 0;
        while got < messages {
            match receiver.read_line_with(LineHead::summary) {
                Ok(Some((_, _, true))) => got += 1,
                Ok(Some(_)) => {}
                _ => break,
            }
        }
        got
    });
    // The request line is the same but for its id: its arguments are encoded once.
    let args = serde_json::to_string(&json!({"group": "bench", "data": payload})).unwrap();
    let args = args.strip_prefix('{').unwrap();
    let mut next_id = 1_000_000u64;
    let mut acked = 0usize;
    let mut sent = 0usize;
    let mut batch = Vec::new();
    let refill = (window / 8).max(1);
    while acked < messages {
        // Top the window up with one write, then wait until an eighth of it is free again,
        // so requests go out in batches rather than one write per acknowledgement.
        batch.clear();
        while sent < messages && sent - acked < window {
            next_id += 1;
            use std::io::Write;
            writeln!(
                batch,
                "{{\"v\":1,\"id\":{next_id},\"cmd\":\"group_send\",{args}"
            )
            .unwrap();
            sent += 1;
        }
        if !batch.is_empty() {
            sender.send_raw(&batch).unwrap();
        }
        loop {
            let (id, ok, _) = sender
                .read_line_with(LineHead::summary)
                .unwrap()
                .expect("ring closed the connection");
            if id.is_some() {
                assert_eq!(ok, Some(true), "group_send refused");
                acked += 1;
                if acked == sent || sent - acked <= window - refill {
                    break;
                }
            }
        }
    }
    let got = receiving.join().unwrap();
    let seconds = start.elapsed().as_secs_f64();
    let clients_us = (own_cpu_ns() - clients_cpu_before) as f64 / 1000.0 / got.max(1) as f64;
    let per_node: Vec<f64> = pids
        .iter()
        .zip(&cpu_before)
        .map(|(pid, before)| (cpu_ns(*pid) - before) as f64 / 1000.0 / got.max(1) as f64)
        .collect();
    let split: Vec<String> = per_node.iter().map(|us| format!("{us:.1}")).collect();
    // Resent messages and tokens on all nodes: datagrams the kernel or the ring dropped.
    let (mut retransmits, mut token_retransmits) = (0, 0);
    // Node 1 sends the messages; node 2 sends only tokens, one per rotation.
    let (mut sender_datagrams, mut rotations) = (0, 0);
    for id in 1..=n {
        let status = ring.client(id).call("status", Value::Null).unwrap();
        let datagrams = status["counters"]["datagrams_out"].as_u64().unwrap_or(0);
        match id {
            1 => sender_datagrams = datagrams,
            2 => rotations = datagrams,
            _ => {}
        }
        retransmits += status["counters"]["retransmits"].as_u64().unwrap_or(0);
        token_retransmits += status["counters"]["token_retransmits"]
            .as_u64()
            .unwrap_or(0);
    }
    let label = if extra.is_empty() {
        "default config"
    } else {
        extra.trim()
    };
    println!(
        "ordered 1 KiB messages, {n} nodes, one sender, {window} in flight ({label}): {got} in {:.2} s = {:.0} msg/s; ha-ring CPU {:.1} us per message (all nodes; by node {}); clients {clients_us:.1} us; node 1 sent {sender_datagrams} datagrams, the token went round about {rotations} times; {retransmits} messages and {token_retransmits} tokens resent",
        seconds,
        got as f64 / seconds,
        per_node.iter().sum::<f64>(),
        split.join("/")
    );
}

/// Low-load latency: one 1 KiB message at a time from node 1, timed from the request to its
/// delivery back to the sender (a group member gets its own messages in ring order).
fn latency(n: u32, samples: usize) {
    let ring = Ring::start(n);
    ring.wait_members(1, n as usize, Duration::from_secs(30));
    let mut sender = ring.client(1);
    sender
        .call("group_join", json!({"group": "bench"}))
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let payload = "y".repeat(1024);
    let mut times = Vec::with_capacity(samples);
    for _ in 0..samples {
        let start = Instant::now();
        sender
            .call("group_send", json!({"group": "bench", "data": payload}))
            .unwrap();
        loop {
            match sender.next_event() {
                Ok(Some(event)) if event["type"] == "group_message" => break,
                Ok(Some(_)) => {}
                other => panic!("no delivery: {other:?}"),
            }
        }
        times.push(start.elapsed());
        std::thread::sleep(Duration::from_millis(5));
    }
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize].as_secs_f64() * 1000.0;
    println!(
        "latency of one 1 KiB message at low load, {n} nodes: p50 {:.2} ms, p99 {:.2} ms",
        at(0.5),
        at(0.99)
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let sizes: Vec<u32> = value("--sizes")
        .unwrap_or_else(|| "2,3,5,16,32".into())
        .split(',')
        .filter_map(|s| s.parse().ok())
        .collect();
    let messages: usize = value("--messages")
        .and_then(|m| m.parse().ok())
        .unwrap_or(20_000);
    let window = || -> usize {
        value("--window")
            .and_then(|w| w.parse().ok())
            .unwrap_or(256)
    };
    // `--throughput-only`: skip the idle, failover and latency figures; `--netmtu N` sets
    // the totem `netmtu` of those runs.
    let throughput_only = args.iter().any(|a| a == "--throughput-only");
    if throughput_only {
        let extra = value("--netmtu").map_or_else(String::new, |mtu| format!("netmtu: {mtu}"));
        for n in sizes {
            throughput(n, messages, window(), &extra);
        }
        return;
    }
    {
        let ring = Ring::start(3);
        ring.wait_members(1, 3, Duration::from_secs(30));
        std::thread::sleep(Duration::from_secs(5));
        println!(
            "idle RSS of ha-ring in a 3-node ring: {} KiB",
            rss_kib(ring.pid(1))
        );
    }
    for n in sizes {
        failover(n);
    }
    for n in [2, 3, 5] {
        latency(n, 200);
    }
    for n in [2, 3, 5] {
        throughput(n, messages, window(), "");
    }
    // Loopback's MTU is 65,536: with `netmtu` set to match it, the 1 KiB messages of one
    // token visit share datagrams.
    throughput(3, messages, window(), "netmtu: 65000");
}
