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
    cluster.wait_synced();

    let first = cluster.start_group(2, guide);
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

#[test]
fn sigterm_to_ha_ring_moves_the_group_away_before_the_node_leaves() {
    if !uses_root() {
        eprintln!("skipped: needs root (the daemons' sockets and run directories)");
        return;
    }
    let mut cluster = Cluster::supervised(2);
    cluster.wait_synced();
    let leaving = cluster.start_group(1, guide);
    let staying = 3 - leaving;
    // The group starts on node1, the DC: a leaving DC finishes the transition that starts
    // the group elsewhere before it goes. (A leaving node that is not the DC goes once its
    // own resources are stopped, as under Pacemaker; the starts elsewhere may come later.)
    let dc = cluster.client(leaving).unwrap().status().unwrap().dc;
    assert_eq!(dc.map(|m| m.id), Some(leaving), "the group runs on the DC");
    let pid = cluster.ring_process(leaving).unwrap().id() as i32;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let moved_before_exit;
    loop {
        let moved = cluster.running_on("vip") == vec![staying]
            && cluster.running_on("gohttpd") == vec![staying];
        let exited = cluster
            .ring_process(leaving)
            .unwrap()
            .try_wait()
            .unwrap()
            .is_some();
        if exited {
            moved_before_exit = moved;
            break;
        }
        assert!(
            Instant::now() < deadline,
            "ha-ring did not leave\n{}",
            cluster.logs()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        moved_before_exit,
        "the group was not on node{staying} when node{leaving} left\n{}",
        cluster.logs()
    );
    cluster.wait(
        "the survivor alone and synced",
        Duration::from_secs(10),
        |c| c.synced_members(staying) == Some(1),
    );
    assert_eq!(cluster.running_on("vip"), vec![staying]);
}

/// Kills one supervised daemon of the node running the group; nothing may move while it is
/// restarted and the cluster settles again.
fn kill_one_daemon_and_check_nothing_moves(daemon: &str) {
    if !uses_root() {
        eprintln!("skipped: needs root (the daemons' sockets and run directories)");
        return;
    }
    let cluster = Cluster::supervised(2);
    cluster.wait_synced();
    let active = cluster.start_group(2, guide);
    let old = cluster
        .daemon_pid(active, daemon)
        .expect("a supervised daemon");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(old),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        assert_eq!(
            cluster.running_on("vip"),
            vec![active],
            "vip moved\n{}",
            cluster.logs()
        );
        assert_eq!(cluster.running_on("gohttpd"), vec![active], "gohttpd moved");
        let restarted = cluster
            .daemon_pid(active, daemon)
            .is_some_and(|pid| pid != old);
        if restarted && cluster.synced_members(active) == Some(2) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{daemon} not back\n{}",
            cluster.logs()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // A little longer: the DC's next transition must not move anything.
    let settle = Instant::now() + Duration::from_secs(2);
    while Instant::now() < settle {
        assert_eq!(
            cluster.running_on("vip"),
            vec![active],
            "{}",
            cluster.logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn killing_only_the_controller_moves_nothing_and_it_is_restarted() {
    kill_one_daemon_and_check_nothing_moves("ha-crm");
}

#[test]
fn killing_only_the_executor_moves_nothing_and_it_is_restarted() {
    kill_one_daemon_and_check_nothing_moves("ha-lrmd");
}

#[test]
fn a_monitor_failure_restarts_in_place_then_moves_after_migration_threshold() {
    if !uses_root() {
        eprintln!("skipped: needs root (the daemons' sockets and run directories)");
        return;
    }
    let cluster = Cluster::new(2);
    cluster.wait_synced();
    let active = cluster.start_group(1, |c| {
        guide(c);
        c.rsc_defaults.set("migration-threshold", "2");
    });
    let state = cluster.node_dir(active).join("rsctmp/Dummy-gohttpd.state");

    // First failure: the 2 s monitor notices, the member is recovered where it was.
    std::fs::remove_file(&state).unwrap();
    cluster.wait(
        "gohttpd recovered in place",
        Duration::from_secs(20),
        |_| state.exists(),
    );
    assert_eq!(cluster.running_on("vip"), vec![active]);

    // Second failure reaches migration-threshold=2: the whole group moves.
    std::fs::remove_file(&state).unwrap();
    let other = 3 - active;
    cluster.wait(
        "the group moved after the second failure",
        Duration::from_secs(20),
        |c| c.running_on("vip") == vec![other] && c.running_on("gohttpd") == vec![other],
    );
}
