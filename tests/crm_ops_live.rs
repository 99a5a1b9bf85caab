//! `ha-crm` status, node, resource, configure and events commands against a real two-node
//! cluster (`ha-ring`, `ha-lrmd daemon`, `ha-crm daemon` per node on 127.0.0.x, Dummy agents;
//! see `support`), as tests/e2e_crm.rs runs it.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::*;

const PATIENCE: Duration = Duration::from_secs(30);

/// `ha-crm` as run on node `id`.
fn crm(cluster: &Cluster, id: u32, words: &str) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ha-crm"));
    command.env_remove("HA_CIB_FILE");
    cluster.env(&mut command, id);
    command.args(words.split_whitespace());
    command.output().unwrap()
}

fn ok(cluster: &Cluster, id: u32, words: &str) -> String {
    let out = crm(cluster, id, words);
    assert!(
        out.status.success(),
        "ha-crm {words}: {:?}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        cluster.logs()
    );
    String::from_utf8(out.stdout).unwrap()
}

fn group_on(cluster: &Cluster, node: u32) -> bool {
    cluster.running_on("vip") == vec![node] && cluster.running_on("gohttpd") == vec![node]
}

/// Kills the `ha-crm events` child by its pid if the test ends early.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn commands_drive_a_live_two_node_cluster() {
    let cluster = Cluster::new(2);
    cluster.wait("both controllers synced", PATIENCE, |c| {
        c.synced_members(1) == Some(2) && c.synced_members(2) == Some(2)
    });
    // The guide's configuration through the configure level, on the live CIB.
    for line in [
        "configure property stonith-enabled=false",
        "configure property no-quorum-policy=ignore",
        "configure primitive vip ocf:heartbeat:Dummy op monitor interval=2s",
        "configure primitive gohttpd ocf:heartbeat:Dummy op monitor interval=2s",
        "configure group my_group vip gohttpd",
    ] {
        ok(&cluster, 1, line);
    }
    cluster.wait("the group running", PATIENCE, |c| {
        c.running_on("vip").len() == 1 && c.running_on("gohttpd") == c.running_on("vip")
    });
    let active = cluster.running_on("vip")[0];
    let other = 3 - active;

    let status = ok(&cluster, 2, "status");
    assert!(status.contains("  * Stack: hakit\n"), "{status}");
    assert!(status.contains(" - partition with quorum\n"), "{status}");
    assert!(status.contains("  * Online: [ node1 node2 ]\n"), "{status}");
    assert!(
        status.contains("  * Resource Group: my_group:\n    * vip\t"),
        "{status}"
    );
    cluster.wait("status to show the group started", PATIENCE, |c| {
        let text = String::from_utf8(crm(c, 1, "status").stdout).unwrap();
        text.contains(&format!("Started node{active}\n"))
    });
    let located = ok(&cluster, 1, "resource locate vip");
    assert_eq!(
        located,
        format!("resource vip is running on: node{active}\n")
    );

    // An event stream sees the standby's changes.
    let mut events = Command::new(env!("CARGO_BIN_EXE_ha-crm"));
    cluster.env(&mut events, other);
    let events = Child(
        events
            .args(["--json", "events", "--count", "1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    // Standby of the active node, typed on that node without naming it.
    ok(&cluster, active, "node standby");
    cluster.wait("the group moved off the standby node", PATIENCE, |c| {
        group_on(c, other)
    });
    let deadline = Instant::now() + PATIENCE;
    let mut events = events;
    let output = loop {
        if let Some(status) = events.0.try_wait().unwrap() {
            assert!(status.success(), "events exited with {status}");
            let mut text = String::new();
            use std::io::Read;
            events
                .0
                .stdout
                .take()
                .unwrap()
                .read_to_string(&mut text)
                .unwrap();
            break text;
        }
        assert!(Instant::now() < deadline, "no event within {PATIENCE:?}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let event: serde_json::Value = serde_json::from_str(output.trim()).unwrap();
    assert!(event["type"].is_string(), "{output}");

    let nodes = ok(&cluster, 1, "--json node list");
    let nodes: serde_json::Value = serde_json::from_str(&nodes).unwrap();
    let standby: Vec<bool> = nodes["data"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["standby"].as_bool().unwrap())
        .collect();
    assert_eq!(standby, [active == 1, active == 2]);
    ok(&cluster, 1, &format!("node online node{active}"));

    // move leaves cli-prefer-my_group; clear removes it.
    let moved = ok(&cluster, 1, &format!("resource move my_group node{active}"));
    assert!(
        moved.starts_with(&format!(
            "location constraint cli-prefer-my_group moves my_group to node{active}\n"
        )),
        "{moved}"
    );
    cluster.wait("the group moved back", PATIENCE, |c| group_on(c, active));
    ok(&cluster, 2, "resource clear my_group");
    let shown = ok(&cluster, 1, "configure show");
    assert!(!shown.contains("cli-prefer"), "{shown}");

    // restart waits for the stop, then the group comes back where it was.
    ok(&cluster, 1, "resource restart my_group");
    cluster.wait("the group running again", PATIENCE, |c| {
        group_on(c, 1) || group_on(c, 2)
    });
    let cleaned = ok(&cluster, 1, "--json resource cleanup my_group node1");
    assert!(
        cleaned.contains("\"primitives\":[\"vip\",\"gohttpd\"]"),
        "{cleaned}"
    );
    ok(&cluster, 1, "status");
    // --watch refreshes on events or the interval, as many times as asked.
    let watched = ok(
        &cluster,
        2,
        "--json status --watch --interval 100ms --count 2",
    );
    assert_eq!(watched.lines().count(), 2, "{watched}");
    for line in watched.lines() {
        let status: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(status["data"]["quorate"], true, "{line}");
    }
}
