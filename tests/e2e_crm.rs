//! The whole stack as real processes on 127.0.0.x (see `support`): the guide's group starts
//! once, moves on standby, and fails over when its node's whole stack is killed.

mod support;

use std::time::{Duration, Instant};

use support::*;

#[test]
fn two_nodes_run_the_guide_group_once_move_it_on_standby_and_fail_over_on_crash() {
    if !uses_root() {
        eprintln!("skipped: needs root (the daemons' sockets and run directories)");
        return;
    }
    let mut cluster = Cluster::new(2);
    cluster.wait(
        "both controllers in one synced view",
        Duration::from_secs(30),
        |c| c.synced_members(1) == Some(2) && c.synced_members(2) == Some(2),
    );

    cluster.commit(2, guide);
    cluster.wait(
        "the group running on one node",
        Duration::from_secs(30),
        |c| {
            let vip = c.running_on("vip");
            vip.len() == 1 && c.running_on("gohttpd") == vip
        },
    );
    let first = cluster.running_on("vip")[0];
    let other = 3 - first;
    let cib1 = cluster.client(1).unwrap().cib().unwrap();
    let cib2 = cluster.client(2).unwrap().cib().unwrap();
    assert_eq!(
        cib1.configuration, cib2.configuration,
        "one configuration everywhere"
    );

    cluster.commit(other, |c| set_standby(c, &format!("node{first}"), "on"));
    cluster.wait(
        "the group moved off the standby node",
        Duration::from_secs(30),
        |c| c.running_on("vip") == vec![other] && c.running_on("gohttpd") == vec![other],
    );
    cluster.commit(first, |c| set_standby(c, &format!("node{first}"), "off"));

    // Crash the node now running the group: the survivor takes over.
    let crash_at = Instant::now();
    cluster.crash(other);
    cluster.wait("failover to the survivor", Duration::from_secs(30), |c| {
        c.running_on("vip") == vec![first] && c.running_on("gohttpd") == vec![first]
    });
    eprintln!("crash failover took {} ms", crash_at.elapsed().as_millis());
}
