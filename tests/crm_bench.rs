//! Controller benchmarks on real processes (see `support`): crash failover, standby
//! switchover, commit latency, cold start and a node's memory. Not run by `cargo test`;
//! reproduce the figures in docs/BENCHMARKS.md with
//!
//!     cargo test --release --test crm_bench -- --ignored --nocapture

mod support;

use std::time::{Duration, Instant};

use support::*;

const RUNS: usize = 20;

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    let index = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[index]
}

fn report(what: &str, samples: &mut [Duration]) {
    let p50 = percentile(samples, 0.5);
    let p95 = percentile(samples, 0.95);
    let max = *samples.iter().max().unwrap();
    println!(
        "{what:<40} runs {:>3}  p50 {:>6} ms  p95 {:>6} ms  max {:>6} ms",
        samples.len(),
        p50.as_millis(),
        p95.as_millis(),
        max.as_millis()
    );
}

fn group_on(cluster: &Cluster, node: u32) -> bool {
    cluster.running_on("vip") == vec![node] && cluster.running_on("gohttpd") == vec![node]
}

fn started_two_node_cluster() -> Cluster {
    let cluster = Cluster::new(2);
    cluster.wait_synced();
    cluster.start_group(1, guide);
    cluster
}

#[test]
#[ignore = "benchmark"]
fn crash_failover() {
    let mut cluster = started_two_node_cluster();
    let mut samples = Vec::new();
    for _ in 0..RUNS {
        let active = cluster.running_on("vip")[0];
        let survivor = 3 - active;
        let crash = Instant::now();
        cluster.crash(active);
        cluster.wait("failover", Duration::from_secs(30), |c| {
            group_on(c, survivor)
        });
        samples.push(crash.elapsed());
        cluster.start(active);
        cluster.wait("the crashed node back", Duration::from_secs(30), |c| {
            c.synced_members(survivor) == Some(2) && c.synced_members(active) == Some(2)
        });
        // The scheduler may rebalance once the node is back: wait until it has settled.
        cluster.wait("the group running once", Duration::from_secs(30), |c| {
            c.running_on("vip").len() == 1 && c.running_on("gohttpd") == c.running_on("vip")
        });
        std::thread::sleep(Duration::from_millis(500));
    }
    report("crash (kill -9 stack) -> started", &mut samples);
}

#[test]
#[ignore = "benchmark"]
fn standby_switchover() {
    let cluster = started_two_node_cluster();
    let mut samples = Vec::new();
    for _ in 0..RUNS {
        let active = cluster.running_on("vip")[0];
        let other = 3 - active;
        let start = Instant::now();
        cluster.commit(other, |c| set_standby(c, &format!("node{active}"), "on"));
        cluster.wait("switchover", Duration::from_secs(30), |c| {
            group_on(c, other)
        });
        samples.push(start.elapsed());
        cluster.commit(other, |c| set_standby(c, &format!("node{active}"), "off"));
    }
    report("node standby -> started elsewhere", &mut samples);
}

#[test]
#[ignore = "benchmark"]
fn commit_latency_three_nodes() {
    let cluster = Cluster::new(3);
    cluster.wait_synced();
    let mut client = cluster.client(2).expect("controller reachable");
    let mut samples = Vec::new();
    for run in 0..100 {
        let cib = client.cib().unwrap();
        let mut configuration = cib.configuration.clone();
        configuration
            .properties
            .set("cluster-recheck-interval", format!("{}s", 60 + run));
        let start = Instant::now();
        client.commit(cib.epoch, &configuration).unwrap();
        samples.push(start.elapsed());
    }
    report("one-line commit, 3 nodes (all stored)", &mut samples);
}

#[test]
#[ignore = "benchmark"]
fn cold_start_and_memory() {
    let mut samples = Vec::new();
    let mut rss_kib = 0;
    for _ in 0..5 {
        let start = Instant::now();
        let cluster = Cluster::with_configuration(2, guide);
        cluster.wait(
            "the group running after a cold start",
            Duration::from_secs(30),
            |c| c.running_on("vip").len() == 1 && c.running_on("gohttpd") == c.running_on("vip"),
        );
        samples.push(start.elapsed());
        rss_kib = cluster.stack_rss_kib(1);
    }
    report("cold start of 2 nodes -> group running", &mut samples);
    println!(
        "RSS of one node's stack (ha-ring + ha-lrmd + ha-crm): {} KiB",
        rss_kib
    );
}
