//! Benchmark of `ha-lrmd`: dispatch overhead of a trivial action over a plain fork/exec of the
//! same agent, CPU of many recurring monitors, and the RSS of an idle daemon.
//!
//!     cargo build --release --bins --examples
//!     target/release/examples/lrmd_bench [--ops 2000] [--monitors 1000] [--interval-ms 10000]
//!                                        [--seconds 60]
//!
//! Everything runs in a temporary directory with its own OCF root holding one trivial agent
//! (`/bin/sh` script answering meta-data, exit 0 otherwise). Prints one line per figure.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hakit::lrmd::client::LrmdClient;
use hakit::lrmd::protocol::ExecArgs;

const AGENT: &str = r#"#!/bin/sh
if [ "$1" = meta-data ]; then
cat <<'XML'
<?xml version="1.0"?>
<resource-agent name="trivial" version="1.0">
<version>1.0</version>
<shortdesc lang="en">Does nothing</shortdesc>
<longdesc lang="en">Exits 0 at once.</longdesc>
<parameters/>
<actions><action name="start" timeout="20s"/><action name="monitor" timeout="20s"/></actions>
</resource-agent>
XML
fi
exit 0
"#;

fn arg(args: &[String], name: &str, default: u64) -> u64 {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn summarize(name: &str, mut samples: Vec<f64>) -> (f64, f64) {
    samples.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    let (p50, p99) = (percentile(&samples, 0.5), percentile(&samples, 0.99));
    println!(
        "{name}: n={} p50={p50:.3} ms p99={p99:.3} ms",
        samples.len()
    );
    (p50, p99)
}

/// (utime + stime of `pid`, cutime + cstime of its reaped children) in clock ticks.
fn cpu_ticks(pid: u32) -> (u64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("daemon alive");
    let rest = &stat[stat.rfind(')').expect("stat has a name") + 2..];
    let fields: Vec<u64> = rest
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    // After the state letter: utime, stime, cutime, cstime are fields 14-17 of the man page.
    (fields[10] + fields[11], fields[12] + fields[13])
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("daemon alive");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let ops = arg(&args, "--ops", 2000) as usize;
    let monitors = arg(&args, "--monitors", 1000) as usize;
    let interval_ms = arg(&args, "--interval-ms", 10_000);
    let seconds = arg(&args, "--seconds", 60);
    let exe: PathBuf = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("ha-lrmd");
    assert!(
        exe.exists(),
        "{} missing: cargo build --release --bins",
        exe.display()
    );

    let dir = tempfile::tempdir().unwrap();
    let provider = dir.path().join("ocf/resource.d/bench");
    std::fs::create_dir_all(&provider).unwrap();
    let agent = provider.join("trivial");
    std::fs::write(&agent, AGENT).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&agent, std::fs::Permissions::from_mode(0o755)).unwrap();

    // Baseline: the same agent started and waited for directly, output piped like the daemon.
    let direct: Vec<f64> = (0..ops)
        .map(|_| {
            let started = Instant::now();
            Command::new(&agent)
                .arg("monitor")
                .stdin(Stdio::null())
                .output()
                .unwrap();
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    let (direct_p50, direct_p99) = summarize("direct fork/exec+wait of the agent", direct);

    let daemon = Daemon(
        Command::new(&exe)
            .args(["daemon", "-f"])
            .env("OCF_ROOT", dir.path().join("ocf"))
            .env("HA_RUN_DIR", dir.path().join("run"))
            .env("HA_STATE_DIR", dir.path().join("state"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let pid = daemon.0.id();
    let socket = dir.path().join("run/lrmd.sock");
    let deadline = Instant::now() + Duration::from_secs(10);
    while LrmdClient::connect(&socket).is_err() {
        assert!(Instant::now() < deadline, "daemon did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(500));
    println!("idle daemon RSS: {} KiB", rss_kib(pid));

    let mut lrmd = LrmdClient::connect(&socket).unwrap();
    let request = |resource: String, interval_ms: u64| ExecArgs {
        resource,
        agent: "ocf:bench:trivial".into(),
        action: "monitor".into(),
        interval_ms,
        ..ExecArgs::default()
    };
    lrmd.exec_wait(&request("warm".into(), 0)).unwrap();
    let through: Vec<f64> = (0..ops)
        .map(|_| {
            let started = Instant::now();
            let result = lrmd.exec_wait(&request("r".into(), 0)).unwrap();
            assert_eq!(result.rc, Some(0));
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    let (p50, p99) = summarize("exec through the daemon (client round trip)", through);
    println!(
        "dispatch overhead over fork/exec: p50={:.3} ms p99={:.3} ms",
        p50 - direct_p50,
        p99 - direct_p99
    );
    println!("RSS after {ops} ops: {} KiB", rss_kib(pid));

    for i in 0..monitors {
        lrmd.exec(&request(format!("m{i}"), interval_ms)).unwrap();
    }
    // Let the first round (all due at once) pass before measuring the steady state.
    std::thread::sleep(Duration::from_millis(interval_ms.min(10_000)));
    let completed_before = lrmd.status().unwrap().executor.completed;
    let (own_before, children_before) = cpu_ticks(pid);
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(seconds));
    let (own, children) = cpu_ticks(pid);
    let elapsed = started.elapsed().as_secs_f64();
    let hz = 100.0; // USER_HZ on Linux.
    let percent = |ticks: u64| ticks as f64 / hz / elapsed * 100.0;
    let completed = lrmd.status().unwrap().executor.completed - completed_before;
    println!(
        "{monitors} recurring monitors every {interval_ms} ms over {elapsed:.0} s: {completed} \
         runs; daemon CPU {:.2}% of one core, agents' CPU {:.2}%; RSS {} KiB",
        percent(own - own_before),
        percent(children - children_before),
        rss_kib(pid)
    );
}
