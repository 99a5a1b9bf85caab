//! The lab for real: namespaces, links, partitions, the example service, crash and teardown.
//! Needs root and `ip netns`; skipped with a message otherwise. Every lab has a name made from
//! this process's pid and is removed by its `Drop` guard even when an assertion fails.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use hakit::lab::{Lab, LabOptions, Member};
use hakit::sys::clock;

fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_ha-lab"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// None (after saying why) when this machine cannot run labs.
fn lab_host() -> Option<()> {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: lab tests need root");
        return None;
    }
    match Command::new("ip").args(["netns", "list"]).output() {
        Ok(out) if out.status.success() => Some(()),
        _ => {
            eprintln!("skipped: `ip netns` is not available (install iproute2)");
            None
        }
    }
}

fn unique(tag: &str) -> String {
    format!("t{}-{tag}", std::process::id())
}

fn options(tag: &str, nodes: u8, base: &Path) -> LabOptions {
    let mut options = LabOptions::new(unique(tag).parse().unwrap(), nodes);
    options.base_dir = base.to_path_buf();
    options.bin_dir = bin_dir();
    options.gohttpd = hakit::lab::find_gohttpd(&bin_dir());
    options.start_stack = false;
    options
}

fn namespaces() -> String {
    String::from_utf8(
        Command::new("ip")
            .args(["netns", "list"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
}

const PROBE: Duration = Duration::from_millis(300);

/// Reachability settles within a couple of seconds after a link change; poll, bounded.
fn eventually_reaches(lab: &Lab, from: Member, to: Ipv4Addr) -> bool {
    clock::until(Duration::from_secs(5), Duration::from_millis(50), || {
        lab.reaches(from, to, PROBE)
    })
}

#[test]
fn nodes_reach_each_other_until_cut_or_partitioned() {
    let Some(()) = lab_host() else { return };
    let base = tempfile::tempdir().unwrap();
    let mut lab = Lab::up(&options("net", 3, base.path()), &mut |_| {}).unwrap();
    let address = |m| lab.topology().address(m);
    let (n1, n2, n3) = (Member::Node(1), Member::Node(2), Member::Node(3));
    let (a1, a2, a3) = (address(n1), address(n2), address(n3));
    let client = Member::Client;

    assert!(eventually_reaches(&lab, n1, a2), "node1 cannot reach node2");
    assert!(eventually_reaches(&lab, n3, a1), "node3 cannot reach node1");
    assert!(
        eventually_reaches(&lab, client, a1),
        "client cannot reach node1"
    );
    // Nothing of the lab appears in the root namespace.
    let root_links = String::from_utf8(
        Command::new("ip")
            .args(["-br", "link"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(!root_links.contains(&unique("net")), "{root_links}");

    lab.cut(n2).unwrap();
    assert!(
        !lab.reaches(n1, a2, PROBE),
        "node2 still reachable after cut"
    );
    assert!(
        !lab.reaches(n2, a1, PROBE),
        "node2 still reaches out after cut"
    );
    assert_eq!(lab.status().members[1].link, "down");
    lab.heal(n2).unwrap();
    assert!(
        eventually_reaches(&lab, n1, a2),
        "node2 unreachable after heal"
    );

    let groups = vec![vec![n1], vec![n2, n3]];
    lab.partition(&groups).unwrap();
    assert!(
        !lab.reaches(n1, a2, PROBE),
        "partition let node1 reach node2"
    );
    assert!(
        !lab.reaches(n3, a1, PROBE),
        "partition let node3 reach node1"
    );
    assert!(
        eventually_reaches(&lab, n2, a3),
        "node2 lost node3 inside its group"
    );
    assert!(
        eventually_reaches(&lab, client, a1),
        "client left the first group"
    );
    assert!(
        !lab.reaches(client, a3, PROBE),
        "client reaches across the partition"
    );
    let status = lab.status();
    assert_eq!(
        status.partition,
        vec![vec!["node1"], vec!["node2", "node3"]]
    );
    assert_eq!(status.members[2].bridge.as_deref(), Some("br1"));

    lab.heal_all().unwrap();
    assert!(
        eventually_reaches(&lab, n1, a3),
        "heal did not join the partition"
    );
    lab.down().unwrap();
    assert!(!namespaces().contains(&unique("net")));
}

#[test]
fn example_service_answers_with_its_node_name() {
    let Some(()) = lab_host() else { return };
    let base = tempfile::tempdir().unwrap();
    let opts = options("web", 1, base.path());
    assert!(
        opts.gohttpd.is_some(),
        "examples/gohttpd is not built: run `cargo build --example gohttpd` (cargo test builds it)"
    );
    let lab = Lab::up(&opts, &mut |_| {}).unwrap();
    let node = Member::Node(1);
    let initd = lab.node_dirs(1).initd;
    assert!(initd.join("gohttpd").is_file());
    let mut server = lab
        .command(
            node,
            &lab.node_dirs(1).bin.join("gohttpd").display().to_string(),
            &["--port", "8080"],
        )
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let address = lab.topology().address(node);
    let mut body = Err(std::io::Error::other("never asked"));
    clock::until(Duration::from_secs(5), Duration::from_millis(50), || {
        body = lab.http_get(Member::Client, address, 8080, PROBE);
        body.is_ok()
    });
    let body = body.expect("gohttpd did not answer in its namespace");
    assert!(body.starts_with("node1 "), "{body:?}");
    lab.down().unwrap();
    // Killed with the namespace's processes; reap it.
    let exited = clock::until(Duration::from_secs(5), Duration::from_millis(20), || {
        server.try_wait().unwrap().is_some()
    });
    assert!(exited, "gohttpd outlived the lab");
}

fn ha_lab(base: &Path, name: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ha-lab"))
        .arg("--base-dir")
        .arg(base)
        .args(["--name", name])
        .args(args)
        .output()
        .unwrap()
}

fn json(output: &Output) -> serde_json::Value {
    let text = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text:?}"))
}

#[test]
fn crash_kills_the_recorded_stack_and_down_removes_everything_twice() {
    let Some(()) = lab_host() else { return };
    let base = tempfile::tempdir().unwrap();
    let name = unique("cli");
    // Removes the lab if an assertion below fails first.
    struct Guard<'a>(&'a Path, &'a str);
    impl Drop for Guard<'_> {
        fn drop(&mut self) {
            ha_lab(self.0, self.1, &["down"]);
        }
    }
    let _guard = Guard(base.path(), &name);

    let up = ha_lab(base.path(), &name, &["--json", "up", "-n", "2"]);
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    let again = ha_lab(base.path(), &name, &["up"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let status = json(&up);
    assert_eq!(status["data"]["members"][0]["address"], "192.168.2.101");
    assert_eq!(status["data"]["members"][0]["stack_alive"], true);

    // Something long-lived in node1's stack, as an agent or the service would be.
    let exec = Command::new(env!("CARGO_BIN_EXE_ha-lab"))
        .arg("--base-dir")
        .arg(base.path())
        .args(["--name", &name, "exec", "node1", "--", "sleep", "60"])
        .spawn()
        .unwrap();
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(base.path().join(&name).join("state.json")).unwrap())
            .unwrap();
    let recorded: Vec<i64> = state["processes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["member"] == "node1")
        .map(|p| p["process"]["pid"].as_i64().unwrap())
        .collect();
    assert_eq!(recorded.len(), 2, "holder and init recorded: {state}");
    let in_node = clock::until(Duration::from_secs(5), Duration::from_millis(20), || {
        let status = json(&ha_lab(base.path(), &name, &["--json", "status"]));
        status["data"]["members"][0]["processes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "sleep")
    });
    assert!(in_node, "exec did not run inside node1");

    let crash = ha_lab(base.path(), &name, &["--json", "crash", "node1"]);
    assert!(crash.status.success());
    let killed = json(&crash)["data"]["killed"].as_array().unwrap().len();
    assert!(killed >= 1);
    for pid in &recorded {
        // Gone, or a zombie waiting for its parent: either way no longer running.
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        assert!(
            stat.is_empty() || stat.contains(") Z "),
            "recorded pid {pid} survived: {stat}"
        );
    }
    let status = json(&ha_lab(base.path(), &name, &["--json", "status"]));
    assert_eq!(status["data"]["members"][0]["stack_alive"], false);
    assert_eq!(
        status["data"]["members"][0]["link"], "down",
        "a crashed node answers nothing"
    );
    assert_eq!(
        status["data"]["members"][0]["processes"],
        serde_json::json!([])
    );
    assert_eq!(
        status["data"]["members"][1]["stack_alive"], true,
        "node2 was hit too"
    );
    let mut exec = exec;
    let _ = exec.wait();

    // Booting again: link up, a fresh stack.
    let start = ha_lab(base.path(), &name, &["--json", "start", "node1"]);
    assert!(
        start.status.success(),
        "{}",
        String::from_utf8_lossy(&start.stderr)
    );
    let status = json(&ha_lab(base.path(), &name, &["--json", "status"]));
    assert_eq!(status["data"]["members"][0]["stack_alive"], true);
    assert_eq!(status["data"]["members"][0]["link"], "up");

    let down = ha_lab(base.path(), &name, &["--json", "down"]);
    assert!(down.status.success());
    assert_eq!(
        json(&down)["data"]["namespaces"].as_array().unwrap().len(),
        4
    );
    assert!(!namespaces().contains(&name), "{}", namespaces());
    assert!(!base.path().join(&name).exists());
    let again = ha_lab(base.path(), &name, &["down"]);
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing to remove"));
}

#[test]
fn down_cleans_up_after_a_lab_whose_state_file_is_gone() {
    let Some(()) = lab_host() else { return };
    let base = tempfile::tempdir().unwrap();
    let mut lab = Lab::up(&options("orphan", 1, base.path()), &mut |_| {}).unwrap();
    lab.keep();
    // Removes the namespaces by name if an assertion below fails first.
    struct Guard(String);
    impl Drop for Guard {
        fn drop(&mut self) {
            let _ = hakit::lab::down(Path::new("/nonexistent"), &self.0.parse().unwrap());
        }
    }
    let _guard = Guard(unique("orphan"));
    let dir = lab.dir().to_path_buf();
    drop(lab);
    std::fs::remove_file(dir.join("state.json")).unwrap();
    let name = unique("orphan");
    assert!(namespaces().contains(&name));
    let down = ha_lab(base.path(), &name, &["--json", "down"]);
    assert!(
        down.status.success(),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
    assert!(!namespaces().contains(&name), "{}", namespaces());
}

#[test]
fn bad_input_gets_usage_or_failure_codes() {
    let base = tempfile::tempdir().unwrap();
    let bad_name = ha_lab(base.path(), "Bad Name", &["status"]);
    assert_eq!(bad_name.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_name.stderr).starts_with("ha-lab: error: bad lab name"));
    let missing = ha_lab(base.path(), &unique("none"), &["--json", "status"]);
    assert_eq!(missing.status.code(), Some(1));
    assert_eq!(json(&missing)["error"]["kind"], "failed");
    let too_big = ha_lab(base.path(), &unique("big"), &["up", "-n", "33"]);
    assert_eq!(
        too_big.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&too_big.stderr)
    );
    let one_group = ha_lab(base.path(), &unique("p"), &["partition", "1,2"]);
    assert_eq!(one_group.status.code(), Some(2));
}

#[test]
fn demo_runs_every_available_step_and_tears_down() {
    let Some(()) = lab_host() else { return };
    let base = tempfile::tempdir().unwrap();
    let name = unique("demo");
    let out = ha_lab(
        base.path(),
        &name,
        &["--json", "demo", "--wait-ms", "15000"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect();
    let step = |prefix: &str| {
        lines
            .iter()
            .find(|l| l["step"].as_str().is_some_and(|s| s.starts_with(prefix)))
            .unwrap_or_else(|| panic!("no step {prefix:?} in {text}"))
    };
    // What exists on this build must work; what does not must say so, never pretend.
    assert_eq!(step("node1# cat ")["outcome"], "ok", "{text}");
    assert_eq!(step("node1# ha-keygen")["outcome"], "ok", "{text}");
    assert_eq!(
        step("node1# ha-cfgtool config export")["outcome"],
        "ok",
        "{text}"
    );
    for line in &lines {
        if line["outcome"] == "skipped" {
            let detail = line["detail"].as_str().unwrap();
            assert!(
                detail.contains("not available yet") || detail.contains("not started"),
                "{line}"
            );
        }
    }
    for fault in ["standby", "crash", "cut"] {
        let step = step(fault);
        if step["outcome"] == "ok" {
            assert!(step["gap_ms"].is_u64(), "{step}");
        }
    }
    let summary = lines.last().unwrap();
    assert_eq!(summary["type"], "summary", "{text}");
    assert_eq!(summary["failed"], 0, "{text}");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!namespaces().contains(&name), "demo left its lab behind");
    assert!(!base.path().join(&name).exists());
}

/// A lab whose nodes have their own pid namespaces but run no daemon: the tests below drive
/// the executor one action at a time.
fn bare_stack_lab(tag: &str, base: &Path) -> Lab {
    let mut opts = options(tag, 2, base);
    assert!(
        opts.gohttpd.is_some(),
        "examples/gohttpd is not built: run `cargo build --example gohttpd`"
    );
    opts.start_stack = true;
    opts.daemons = Vec::new();
    Lab::up(&opts, &mut |_| {}).unwrap()
}

fn run_ok(lab: &Lab, member: Member, line: &[&str]) {
    let out = lab.run(member, line[0], &line[1..], b"");
    assert!(out.success(), "{member}# {}: {out:?}", line.join(" "));
}

fn who_answers(lab: &Lab, address: Ipv4Addr) -> Option<String> {
    let mut answer = None;
    clock::until(Duration::from_secs(5), Duration::from_millis(50), || {
        answer = lab
            .http_get(Member::Client, address, 80, PROBE)
            .ok()
            .and_then(|body| body.split_whitespace().next().map(str::to_string));
        answer.is_some()
    });
    answer
}

#[test]
fn vip_and_service_move_between_nodes_through_the_executor() {
    let Some(()) = lab_host() else { return };
    let base = tempfile::tempdir().unwrap();
    let lab = bare_stack_lab("vip", base.path());
    let vip = lab.topology().vip();
    let ip = format!("ip={vip}");
    let vip_line = |action| {
        vec![
            "ha-lrmd",
            "exec",
            "ocf:heartbeat:IPaddr2",
            action,
            "--param",
            &ip,
            "--param",
            "cidr_netmask=24",
        ]
        .into_iter()
        .map(str::to_string)
        .collect::<Vec<_>>()
    };
    let run_vip = |member, action| {
        let line = vip_line(action);
        let words: Vec<&str> = line.iter().map(String::as_str).collect();
        run_ok(&lab, member, &words);
    };
    let (n1, n2) = (Member::Node(1), Member::Node(2));

    run_vip(n1, "start");
    run_ok(&lab, n1, &["ha-lrmd", "exec", "lsb:gohttpd", "start"]);
    assert_eq!(who_answers(&lab, vip).as_deref(), Some("node1"));

    run_ok(&lab, n1, &["ha-lrmd", "exec", "lsb:gohttpd", "stop"]);
    run_vip(n1, "stop");
    run_vip(n2, "start");
    run_ok(&lab, n2, &["ha-lrmd", "exec", "lsb:gohttpd", "start"]);
    assert_eq!(who_answers(&lab, vip).as_deref(), Some("node2"));
    lab.down().unwrap();
}

#[test]
fn pkill_in_one_node_init_script_leaves_other_nodes_alone() {
    let Some(()) = lab_host() else { return };
    let base = tempfile::tempdir().unwrap();
    let lab = bare_stack_lab("pid", base.path());
    let (n1, n2) = (Member::Node(1), Member::Node(2));
    for node in [n1, n2] {
        run_ok(&lab, node, &["sh", "-c", "\"$HA_INIT_DIR/gohttpd\" start"]);
    }
    let a2 = lab.topology().address(n2);
    assert_eq!(who_answers(&lab, a2).as_deref(), Some("node2"));
    // The script's `pkill -9 gohttpd` sees only node1's processes.
    let _ = lab.run(n1, "sh", &["-c", "\"$HA_INIT_DIR/gohttpd\" stop"], b"");
    let gone = clock::until(Duration::from_secs(5), Duration::from_millis(20), || {
        lab.stack_processes(n1).iter().all(|p| p.name != "gohttpd")
    });
    assert!(gone, "stop did not stop node1's server");
    assert!(
        lab.stack_processes(n2).iter().any(|p| p.name == "gohttpd"),
        "node1's stop killed node2's server"
    );
    assert_eq!(who_answers(&lab, a2).as_deref(), Some("node2"));
    lab.down().unwrap();
}

#[test]
fn client_poller_measures_the_gap_of_a_failover_done_by_hand() {
    use hakit::cli::lab::Poller;
    let Some(()) = lab_host() else { return };
    let base = tempfile::tempdir().unwrap();
    let mut lab = bare_stack_lab("gap", base.path());
    let vip = lab.topology().vip();
    let ip = format!("ip={vip}");
    let vip_start = [
        "ha-lrmd",
        "exec",
        "ocf:heartbeat:IPaddr2",
        "start",
        "--param",
        &ip,
        "--param",
        "cidr_netmask=24",
    ];
    let (n1, n2) = (Member::Node(1), Member::Node(2));
    run_ok(&lab, n1, &vip_start);
    run_ok(&lab, n1, &["ha-lrmd", "exec", "lsb:gohttpd", "start"]);
    let poller = Poller::start(&lab, vip, 80);
    let limit = Duration::from_secs(10);
    assert_eq!(
        poller
            .wait_for_answer(Duration::ZERO, limit, |_| true)
            .as_deref(),
        Some("node1")
    );

    let crashed_at = poller.elapsed();
    lab.crash(n1).unwrap();
    run_ok(&lab, n2, &vip_start);
    run_ok(&lab, n2, &["ha-lrmd", "exec", "lsb:gohttpd", "start"]);
    // The client forgets node1's MAC for the VIP, as a gratuitous ARP would make it do: this
    // test measures the poller and the gap, not how the agent's ARP announcements are timed.
    run_ok(
        &lab,
        Member::Client,
        &["ip", "neigh", "flush", "dev", "eth0"],
    );
    let moved = poller.wait_for_answer(crashed_at, limit, |node| node != "node1");
    let samples = poller.samples();
    poller.stop();
    if moved.is_none() {
        let neigh = lab.run(Member::Client, "ip", &["neigh"], b"");
        let failures = samples.iter().filter(|s| s.answered_by.is_none()).count();
        eprintln!(
            "after crash: {} samples, {failures} failed; client neighbours: {}; node2: {:?} {:?}; get: {:?}",
            samples.len(),
            neigh.stdout,
            lab.run(n2, "ip", &["-br", "link"], b""),
            lab.stack_processes(n2),
            lab.http_get(Member::Client, vip, 80, PROBE),
        );
    }
    assert_eq!(moved.as_deref(), Some("node2"));
    let gap = hakit::lab::gap::gap_until_moved(&samples, crashed_at, "node1");
    assert_eq!(gap.node_before.as_deref(), Some("node1"));
    assert_eq!(gap.node_after.as_deref(), Some("node2"));
    let gap_ms = gap.gap_ms.expect("a gap was measured");
    // Bounded by the probe interval below and the wait limit above.
    assert!((1..10_000).contains(&gap_ms), "{gap:?}");
    eprintln!(
        "hand failover gap: {gap_ms} ms ({} failed probes)",
        gap.failed_probes
    );
    lab.down().unwrap();
}
