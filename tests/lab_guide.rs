//! The guide end to end in a real two-node lab (issue 8): every step's `--json` answer is
//! checked, then the three failovers (standby, crash of the active node's stack, link cut)
//! while a client polls the VIP and a watcher looks at both nodes every 50 ms. Needs root and
//! `ip netns` (skipped with a message otherwise), the example server (`cargo test` builds it)
//! and Debian's resource-agents (IPaddr2).
//!
//! What must hold: after each fault the client gets answers again, from the other node, and
//! never from the old node again in between; the VIP and the server are never on two live
//! nodes at once, except from a cut until the healed cluster has settled (two_node keeps both
//! halves quorate and the guide turns fencing off, so both halves run the group then, as they
//! would under Corosync and Pacemaker). A last step starts a second server by hand and checks
//! that the watcher reports it, so the one-copy check is known to be able to fail.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hakit::cli::lab::{Poller, Watcher};
use hakit::lab::copies::{self, answer_runs};
use hakit::lab::{Lab, LabOptions, Member};
use serde_json::Value;

const IPADDR2: &str = "/usr/lib/ocf/resource.d/heartbeat/IPaddr2";
/// Longest wait for any one thing the cluster must do (form, move, settle).
const LIMIT: Duration = Duration::from_secs(20);
/// How long one node alone must hold the VIP and the server to count as settled.
const SETTLE_SPAN: Duration = Duration::from_millis(1000);

fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_ha-lab"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A lab with the stacks running, or None after saying why this machine cannot have one.
fn guide_lab() -> Option<Lab> {
    let options = match LabOptions::for_test("guide", 2, &bin_dir()) {
        Ok(options) => options,
        Err(why) => {
            eprintln!("skipped: the lab cannot run here: {why}");
            return None;
        }
    };
    if !Path::new(IPADDR2).is_file() {
        eprintln!("skipped: {IPADDR2} is missing (apt-get install resource-agents)");
        return None;
    }
    assert!(
        options.gohttpd.is_some(),
        "examples/gohttpd is not built: run `cargo build --example gohttpd`"
    );
    Some(Lab::up(&options, &mut |_| {}).expect("ha-lab up"))
}

/// The lab and its two observers; failures print both nodes' logs and what was observed.
struct Guide {
    lab: Lab,
    poller: Poller,
    watcher: Watcher,
}

impl Guide {
    fn fail(&self, what: &str) -> ! {
        for node in 1..=2 {
            eprintln!("{}", self.lab.log_tail(node, 60));
        }
        let answers: Vec<String> = self
            .poller
            .samples()
            .iter()
            .map(|s| format!("{}:{:?}", s.at.as_millis(), s.answered_by))
            .collect();
        eprintln!("client answers: {}", answers.join(" "));
        let placements: Vec<String> = self
            .watcher
            .samples()
            .iter()
            .map(|p| format!("{}:{:?}/{:?}", p.at.as_millis(), p.vip, p.service))
            .collect();
        eprintln!("placements (vip/service): {}", placements.join(" "));
        panic!("{what}");
    }

    /// Runs `line` on `node` with `--json` after the program name; it must exit 0 with an
    /// `ok` envelope. Returns `data`.
    fn json(&self, node: u8, line: &[&str]) -> Value {
        let mut args = vec!["--json"];
        args.extend_from_slice(&line[1..]);
        let out = self.lab.run(Member::Node(node), line[0], &args, b"");
        let shown = format!("node{node}# {}", line.join(" "));
        if !out.success() {
            self.fail(&format!("{shown}: exit {:?}: {}", out.status, out.stderr));
        }
        let value: Value = serde_json::from_str(out.stdout.trim())
            .unwrap_or_else(|e| self.fail(&format!("{shown}: {e}: {:?}", out.stdout)));
        if value["ok"] != true {
            self.fail(&format!("{shown}: not ok: {value}"));
        }
        value["data"].clone()
    }

    /// Polls `line` on `node` (bounded by [`LIMIT`]) until `ready` accepts its data.
    fn wait_json(&self, node: u8, line: &[&str], ready: impl Fn(&Value) -> bool) -> Value {
        let mut args = vec!["--json"];
        args.extend_from_slice(&line[1..]);
        let begin = Instant::now();
        loop {
            let out = self.lab.run(Member::Node(node), line[0], &args, b"");
            let data = serde_json::from_str::<Value>(out.stdout.trim())
                .ok()
                .filter(|v| out.success() && v["ok"] == true)
                .map(|v| v["data"].clone());
            if let Some(data) = data.filter(&ready) {
                return data;
            }
            if begin.elapsed() > LIMIT {
                self.fail(&format!(
                    "node{node}# {}: not as expected within {LIMIT:?}: {} {}",
                    line.join(" "),
                    out.stdout,
                    out.stderr
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Commits one configure line on `node`; returns the new epoch.
    fn commit(&self, node: u8, line: &[&str]) -> u64 {
        let data = self.json(node, line);
        assert_eq!(data["committed"], true, "{}: {data}", line.join(" "));
        data["epoch"].as_u64().expect("epoch")
    }

    /// Waits until one node alone holds the VIP and runs the server, the client gets its
    /// answers from it, and both nodes' `ha-crm status` agree the group runs there.
    fn settled(&self) -> String {
        let Some(node) = self.watcher.wait_settled(SETTLE_SPAN, LIMIT, true) else {
            self.fail("the service did not settle on one node");
        };
        let since = self.poller.elapsed();
        if self
            .poller
            .wait_for_answer(since, LIMIT, |n| n == node)
            .is_none()
        {
            self.fail(&format!("the client got no answer from {node}"));
        }
        for viewer in 1..=2 {
            self.wait_json(viewer, &["ha-crm", "status"], |s| {
                group_nodes(s) == [node.as_str()]
            });
        }
        node
    }

    /// After a fault on `old` at `event`: the client's answers move to the other node, and
    /// never go back to `old` on the way.
    fn moved(&self, event: Duration, old: &str) -> String {
        let Some(new) = self.poller.wait_for_answer(event, LIMIT, |n| n != old) else {
            self.fail(&format!(
                "no other node answered within {LIMIT:?} of losing {old}"
            ));
        };
        let runs = answer_runs(&self.poller.samples(), event, self.poller.elapsed());
        let clean = runs.last() == Some(&new) && runs.len() <= 2 && runs[0] != new;
        if !clean && runs != [new.clone()] {
            self.fail(&format!("answers went {runs:?} after losing {old}"));
        }
        new
    }
}

/// The nodes each resource of group `web` runs on, when they agree (one list for both).
fn group_nodes(status: &Value) -> Vec<&str> {
    let resources = status["resources"].as_array().cloned().unwrap_or_default();
    let in_web: Vec<&Value> = status["resources"]
        .as_array()
        .map(|all| all.iter().filter(|r| r["group"] == "web").collect())
        .unwrap_or_default();
    if in_web.len() != 2 || resources.len() != 2 || in_web.iter().any(|r| r["running"] != true) {
        return Vec::new();
    }
    let first = resource_nodes(in_web[0]);
    if resource_nodes(in_web[1]) == first {
        first
    } else {
        Vec::new()
    }
}

fn resource_nodes(resource: &Value) -> Vec<&str> {
    resource["nodes"]
        .as_array()
        .map(|n| n.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn node_number(name: &str) -> u8 {
    name.trim_start_matches("node").parse().expect("node name")
}

fn other(name: &str) -> &'static str {
    if name == "node1" { "node2" } else { "node1" }
}

fn online(status: &Value, name: &str) -> Option<bool> {
    status["nodes"]
        .as_array()?
        .iter()
        .find(|n| n["name"] == name)?["online"]
        .as_bool()
}

#[test]
fn guide_steps_and_three_failovers_with_one_copy_of_the_service() {
    let Some(lab) = guide_lab() else { return };
    let vip = lab.topology().vip();
    let poller = Poller::start(&lab, vip, hakit::lab::SERVICE_PORT);
    let watcher = Watcher::start(lab.placement_probe("gohttpd"), poller.epoch());
    let mut guide = Guide {
        lab,
        poller,
        watcher,
    };
    let g = &guide;

    // The ring: both nodes, encrypted, two_node quorum.
    let ring = g.wait_json(1, &["ha-cfgtool", "-s"], |s| {
        s["members"].as_array().is_some_and(|m| m.len() == 2) && s["phase"] == "operational"
    });
    assert_eq!(ring["cluster_name"], g.lab.topology().name.as_str());
    assert_eq!(ring["encrypted"], true);
    assert_eq!(ring["node_id"], 1);
    assert_eq!(ring["interfaces"][0]["address"], "192.168.2.101:5405");
    assert_eq!(ring["interfaces"][0]["status"], "active with no faults");
    let members = g.json(2, &["ha-cfgtool", "members"]);
    let listed: Vec<(u64, &str)> = members["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["id"].as_u64().unwrap(), m["name"].as_str().unwrap()))
        .collect();
    assert_eq!(listed, [(1, "node1"), (2, "node2")]);
    assert_eq!(members["node_id"], 2);
    let quorum = g.json(1, &["ha-cfgtool", "quorum"])["quorum"].clone();
    assert_eq!(quorum["quorate"], true);
    assert_eq!(quorum["two_node"], true);
    assert_eq!(quorum["expected_votes"], 2);
    assert_eq!(quorum["total_votes"], 2);

    // The cluster: a DC, both nodes online, nothing configured.
    let status = g.wait_json(1, &["ha-crm", "status"], |s| {
        s["dc"].is_string() && online(s, "node1") == Some(true) && online(s, "node2") == Some(true)
    });
    assert_eq!(status["quorate"], true);
    assert_eq!(status["resources"], serde_json::json!([]));
    assert_eq!(status["failed"], false);

    // The guide's configuration lines, in its order: two properties, stickiness, the VIP,
    // the LSB script listing, the web server, the group.
    let guide_lines = hakit::lab::guide::service_commands(vip);
    let line =
        |index: usize| -> Vec<&str> { guide_lines[index].iter().map(String::as_str).collect() };
    assert_eq!(guide_lines.len(), 7, "{guide_lines:?}");

    // Properties, committed on node1, seen on node2.
    let first = g.commit(1, &line(0));
    let second = g.commit(1, &line(1));
    assert!(second > first, "epochs {first} then {second}");
    let shown = g.json(2, &["ha-crm", "configure", "show"]);
    assert_eq!(shown["epoch"], second);
    assert_eq!(
        shown["configuration"]["properties"]["stonith-enabled"],
        "false"
    );
    assert_eq!(
        shown["configuration"]["properties"]["no-quorum-policy"],
        "ignore"
    );
    let verify = g.json(1, &["ha-crm", "configure", "verify"]);
    assert_eq!(verify["errors"], 0, "{verify}");
    assert!(
        verify["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["severity"] == "warning" && f["object"] == "cib-bootstrap-options"),
        "verify should warn that this allows split brain: {verify}"
    );

    // The VIP: added, shown, deleted, as the guide tries it out.
    let ip = format!("ip={vip}");
    assert!(line(3).contains(&ip.as_str()), "{:?}", line(3));
    g.commit(1, &line(3));
    let text = g.json(2, &["ha-crm", "configure", "show", "ClusterIP"])["text"].clone();
    let text = text.as_str().unwrap();
    assert!(text.starts_with("primitive ClusterIP IPaddr2"), "{text}");
    assert!(text.contains(&ip) && text.contains("interval=2s"), "{text}");
    g.commit(2, &["ha-crm", "configure", "delete", "ClusterIP"]);
    let shown = g.json(1, &["ha-crm", "configure", "show"]);
    assert_eq!(shown["configuration"]["resources"], serde_json::json!([]));
    // Deleting it stops it: nothing holds the VIP.
    let none_left = hakit::sys::clock::until(LIMIT, Duration::from_millis(50), || {
        g.watcher.samples().last().is_some_and(|p| p.vip.is_empty())
    });
    assert!(none_left, "the deleted VIP is still up");

    // Resources stay where they run once a node comes back (the guide's stickiness step).
    g.commit(1, &line(2));
    let shown = g.json(2, &["ha-crm", "configure", "show"]);
    assert_eq!(
        shown["configuration"]["rsc_defaults"]["resource-stickiness"], "100",
        "{shown}"
    );

    // The service: agent classes, the LSB script, the primitives and the group.
    let classes = g.json(1, &["ha-crm", "ra", "classes"]);
    for class in ["ocf", "lsb"] {
        assert!(
            classes.as_array().unwrap().iter().any(|c| c == class),
            "{classes}"
        );
    }
    let scripts = g.json(1, &line(4));
    assert!(
        scripts.as_array().unwrap().iter().any(|s| s == "gohttpd"),
        "{scripts}"
    );
    g.commit(1, &line(3));
    g.commit(1, &line(5));
    g.commit(1, &line(6));
    let text = g.json(2, &["ha-crm", "configure", "show", "web"])["text"].clone();
    assert_eq!(text, "group web ClusterIP website\n");
    let active = g.settled();

    // 1. Standby: an orderly move; online does not move it back (stickiness).
    let event = g.poller.elapsed();
    let control = node_number(other(&active));
    g.json(control, &["ha-crm", "node", "standby", &active]);
    let moved = g.moved(event, &active);
    let status = g.json(control, &["ha-crm", "status"]);
    let standby = status["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == active.as_str())
        .unwrap()["standby"]
        .clone();
    assert_eq!(standby, true, "{status}");
    g.json(control, &["ha-crm", "node", "online", &active]);
    let active = g.settled();
    assert_eq!(active, moved, "online moved the group back");

    // 2. Crash of the active node's whole stack; it boots again and stays standing by.
    let event = g.poller.elapsed();
    let crashed = active.clone();
    guide
        .lab
        .crash(Member::Node(node_number(&crashed)))
        .unwrap();
    let g = &guide;
    let survivor = g.moved(event, &crashed);
    let control = node_number(&survivor);
    g.wait_json(control, &["ha-crm", "status"], |s| {
        online(s, &crashed) == Some(false) && group_nodes(s) == [survivor.as_str()]
    });
    guide
        .lab
        .start(Member::Node(node_number(&crashed)))
        .unwrap();
    let g = &guide;
    g.wait_json(node_number(&crashed), &["ha-cfgtool", "members"], |m| {
        m["members"].as_array().is_some_and(|m| m.len() == 2)
    });
    let active = g.settled();
    assert_eq!(active, survivor, "the restarted node took the group back");

    // 3. The active node's cable pulled, then plugged back in.
    let event = g.poller.elapsed();
    let cut = active.clone();
    guide.lab.cut(Member::Node(node_number(&cut))).unwrap();
    let g = &guide;
    let survivor = g.moved(event, &cut);
    g.wait_json(node_number(&survivor), &["ha-crm", "status"], |s| {
        online(s, &cut) == Some(false) && group_nodes(s) == [survivor.as_str()]
    });
    guide.lab.heal(Member::Node(node_number(&cut))).unwrap();
    let g = &guide;
    g.wait_json(node_number(&cut), &["ha-cfgtool", "members"], |m| {
        m["members"].as_array().is_some_and(|m| m.len() == 2)
    });
    let active = g.settled();
    let settled_at = g.watcher.elapsed() - SETTLE_SPAN;
    let after = g.poller.elapsed();
    std::thread::sleep(SETTLE_SPAN);
    let runs = answer_runs(&g.poller.samples(), after, g.poller.elapsed());
    if runs != [active.clone()] {
        g.fail(&format!("after the heal answers came from {runs:?}"));
    }

    // Never two copies, except while the cut halves both ran the group.
    let overlaps = copies::overlaps(&g.watcher.samples(), &[(event, settled_at)]);
    if !overlaps.is_empty() {
        g.fail(&format!("two copies at once: {overlaps:?}"));
    }

    // The check above can fail: a second server started by hand is reported.
    let spare = node_number(other(&active));
    let mark = g.watcher.elapsed();
    let out = g.lab.run(
        Member::Node(spare),
        "sh",
        &["-c", "\"$HA_INIT_DIR/gohttpd\" start"],
        b"",
    );
    assert!(out.success(), "{out:?}");
    let seen = hakit::sys::clock::until(LIMIT, Duration::from_millis(50), || {
        !copies::overlaps(&g.watcher.samples(), &[(Duration::ZERO, mark)]).is_empty()
    });
    if !seen {
        g.fail("a second server started by hand was not reported");
    }

    let Guide {
        lab,
        poller,
        watcher,
    } = guide;
    poller.stop();
    watcher.stop();
    lab.down().unwrap();
}

/// The benchmark's quick mode (one run, one fault) measures every figure it reports.
#[test]
fn bench_quick_mode_reports_every_figure() {
    if LabOptions::for_test("bq", 2, &bin_dir()).is_err() || !Path::new(IPADDR2).is_file() {
        eprintln!("skipped: the lab cannot run here (root, ip netns and resource-agents needed)");
        return;
    }
    let base = tempfile::tempdir().unwrap();
    let table = base.path().join("bench.md");
    let name = format!("bq{}", std::process::id());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ha-lab"))
        .arg("--base-dir")
        .arg(base.path())
        .args(["--name", &name, "--json", "bench", "--runs", "1"])
        .args(["--faults", "standby", "--output"])
        .arg(&table)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let figures: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["data"].clone())
        .collect();
    let figure = |metric: &str| {
        figures
            .iter()
            .find(|f| f["metric"] == metric)
            .unwrap_or_else(|| panic!("no {metric} in {stdout}"))
    };
    for metric in [
        "up_to_vip_ms",
        "standby_gap_ms",
        "cli_ms: status",
        "cli_ms: configure show",
        "cli_ms: one-line commit",
        "node_stack_rss_kib",
    ] {
        let f = figure(metric);
        assert_eq!(f["stack"], "hakit", "{f}");
        assert_eq!(f["runs"], 1, "{f}");
        assert!(f["p50"].as_u64().is_some_and(|v| v > 0), "{f}");
    }
    assert!(figure("standby_gap_ms")["p50"].as_u64().unwrap() < LIMIT.as_millis() as u64);
    assert_eq!(figure("runs_with_two_copies")["p50"], 0);
    let table = std::fs::read_to_string(&table).unwrap();
    assert!(table.contains("| standby_gap_ms | 1 |"), "{table}");
    let left = String::from_utf8(
        std::process::Command::new("ip")
            .args(["netns", "list"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(!left.contains(&name), "the bench left its lab: {left}");
}
