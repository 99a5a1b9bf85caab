//! Three real nodes in a lab (network namespaces): a 2|1 partition with
//! `no-quorum-policy=stop` leaves the resources on the quorate side only; a configuration
//! change made there survives the merge; after healing there is one CIB and no resource runs
//! twice, sampled continuously through the partition and the heal. The resources are built-in IPaddr2 addresses, so "running" is checked on the nodes'
//! real interfaces.

use std::path::Path;
use std::time::{Duration, Instant};

use hakit::lab::{Lab, LabOptions, Member};

const VIPS: [(&str, &str); 2] = [("vip1", "192.168.2.110"), ("vip2", "192.168.2.111")];

fn lab_or_skip() -> Option<Lab> {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_ha-ring")).parent().unwrap();
    let options = match LabOptions::for_test("part", 3, bin_dir) {
        Ok(options) => options,
        Err(e) => {
            eprintln!("skipped: {e}");
            return None;
        }
    };
    Some(Lab::up(&options, &mut |_| {}).expect("lab up"))
}

fn crm(lab: &Lab, node: u8, args: &[&str]) -> String {
    let out = lab.run(Member::Node(node), "ha-crm", args, b"");
    assert_eq!(
        out.status,
        Some(0),
        "ha-crm {args:?} on node{node}: {}",
        out.stderr
    );
    out.stdout
}

/// For each address, the nodes whose interface holds it (one `ip` call per node, so a sample
/// is short and overlaps are not missed between the nodes' reads).
fn holders_of_all(lab: &Lab) -> Vec<Vec<u8>> {
    let listings: Vec<(u8, String)> = (1..=3)
        .map(|node| {
            let out = lab.run(Member::Node(node), "ip", &["-4", "-o", "addr", "show"], b"");
            (node, out.stdout)
        })
        .collect();
    VIPS.iter()
        .map(|(_, address)| {
            listings
                .iter()
                .filter(|(_, listing)| listing.contains(&format!("{address}/")))
                .map(|(node, _)| *node)
                .collect()
        })
        .collect()
}

/// Nodes whose interface holds the address.
fn holders(lab: &Lab, address: &str) -> Vec<u8> {
    let index = VIPS.iter().position(|(_, a)| *a == address).unwrap();
    holders_of_all(lab).swap_remove(index)
}

fn status(lab: &Lab, node: u8) -> Option<serde_json::Value> {
    let out = lab.run(Member::Node(node), "ha-crm", &["status", "--json"], b"");
    let value: serde_json::Value = serde_json::from_str(&out.stdout).ok()?;
    value.get("data").cloned()
}

fn online_count(lab: &Lab, node: u8) -> usize {
    status(lab, node)
        .and_then(|s| {
            s["nodes"]
                .as_array()
                .map(|n| n.iter().filter(|n| n["online"] == true).count())
        })
        .unwrap_or(0)
}

/// Polls until `ready`, sampling the addresses continuously; returns the addresses seen on
/// two nodes at once meanwhile.
fn wait_until(lab: &Lab, what: &str, limit: Duration, ready: impl Fn(&Lab) -> bool) -> Vec<String> {
    let deadline = Instant::now() + limit;
    let mut overlaps = Vec::new();
    loop {
        for ((rsc, _), on) in VIPS.iter().zip(holders_of_all(lab)) {
            if on.len() > 1 {
                overlaps.push(format!("{rsc} on {on:?}"));
            }
        }
        if ready(lab) {
            return overlaps;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}\n{}",
            logs(lab)
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn logs(lab: &Lab) -> String {
    let mut out = String::new();
    for node in 1..=3 {
        out += &format!("--- node{node}\n{}\n", lab.log_tail(node, 12));
        let controller = lab.node_dirs(node).run.join("ha-crm.log");
        let text = std::fs::read_to_string(&controller).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(25)..].join("\n");
        out += &format!("--- node{node} controller\n{tail}\n");
    }
    out
}

#[test]
fn a_partition_leaves_resources_on_the_quorate_side_and_the_merge_keeps_one_cib() {
    let Some(mut lab) = lab_or_skip() else { return };
    wait_until(&lab, "three nodes online", Duration::from_secs(60), |lab| {
        online_count(lab, 1) == 3
    });
    crm(&lab, 1, &["configure", "property", "stonith-enabled=false"]);
    crm(&lab, 1, &["configure", "property", "no-quorum-policy=stop"]);
    for (rsc, address) in VIPS {
        let ip = format!("ip={address}");
        crm(
            &lab,
            2,
            &[
                "configure",
                "primitive",
                rsc,
                "ocf:heartbeat:IPaddr2",
                "params",
                &ip,
                "cidr_netmask=24",
                "op",
                "monitor",
                "interval=2s",
            ],
        );
    }
    wait_until(&lab, "both addresses up", Duration::from_secs(30), |lab| {
        VIPS.iter()
            .all(|(_, address)| holders(lab, address).len() == 1)
    });

    // Cut the node holding vip1 off alone.
    let alone = holders(&lab, VIPS[0].1)[0];
    let others: Vec<u8> = (1..=3).filter(|n| *n != alone).collect();
    lab.partition(&[
        vec![Member::Node(alone)],
        others.iter().map(|n| Member::Node(*n)).collect(),
    ])
    .expect("partition");
    let overlaps = wait_until(
        &lab,
        "both addresses on the quorate side",
        Duration::from_secs(30),
        |lab| {
            VIPS.iter().all(|(_, address)| {
                let on = holders(lab, address);
                on.len() == 1 && others.contains(&on[0])
            })
        },
    );
    assert!(
        overlaps.is_empty(),
        "active on both sides of the partition: {overlaps:?}\n{}",
        logs(&lab)
    );
    let minority = status(&lab, alone).expect("the minority's controller answers");
    assert_eq!(minority["quorate"], false, "{minority}");

    // A change on the quorate side while partitioned.
    crm(
        &lab,
        others[0],
        &["configure", "property", "cluster-recheck-interval=3min"],
    );

    lab.unpartition().expect("heal");
    let overlaps = wait_until(&lab, "one cluster again", Duration::from_secs(60), |lab| {
        (1..=3).all(|n| online_count(lab, n) == 3)
    });
    assert!(
        overlaps.is_empty(),
        "active twice after the heal: {overlaps:?}"
    );
    let shows: Vec<String> = (1..=3)
        .map(|n| crm(&lab, n, &["configure", "show"]))
        .collect();
    assert!(
        shows[0].contains("cluster-recheck-interval=3min"),
        "{}",
        shows[0]
    );
    assert!(
        shows.iter().all(|s| *s == shows[0]),
        "CIBs differ after the merge: {shows:#?}"
    );
    // Settled: each address exactly once.
    wait_until(
        &lab,
        "both addresses once",
        Duration::from_secs(30),
        |lab| {
            VIPS.iter()
                .all(|(_, address)| holders(lab, address).len() == 1)
        },
    );
    if std::env::var_os("HAKIT_SHOW_LOGS").is_some() {
        eprintln!("{}", logs(&lab));
    }
    lab.heal_all().ok();
}
